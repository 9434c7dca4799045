"""Reshaping answers the engine already returned, for display: plain functions over rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from dashboards.queries import Slice

Rows = Sequence[dict[str, Any]]
SEVERITIES = ("high", "medium", "low")


def exception_summary(rows: Rows) -> list[dict[str, Any]]:
    """Exceptions per (check, severity), most frequent first."""
    counts = Counter((r["check_code"], r["severity"]) for r in rows)
    return [{"check_code": check, "severity": severity, "exceptions": n}
            for (check, severity), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def filter_exceptions(rows: Rows, checks: Sequence[str], severities: Sequence[str],
                      tolerance_pct: float | None = None) -> list[dict[str, Any]]:
    """The exceptions of the chosen checks and severities. ``tolerance_pct`` tightens the
    list: amount mismatches within that share of the deal amount (never below the
    catalog's tolerance, which the view applied) are left out."""
    def within(r: dict[str, Any]) -> bool:
        if tolerance_pct is None or r["check_code"] != "AMOUNT_MISMATCH":
            return False
        limit = max(r["tolerance"] or 0.0, tolerance_pct * abs(r["crm_amount_corporate"] or 0))
        return abs(r["difference_corporate"] or 0.0) <= limit

    wanted_checks, wanted_severities = set(checks), set(severities)
    return [r for r in rows if r["check_code"] in wanted_checks
            and r["severity"] in wanted_severities and not within(r)]


def slice_rows(rows: Rows, slice_: Slice) -> list[dict[str, Any]]:
    """The pipeline_vs_booked rows of one slice (never mixing dimensions)."""
    return [r for r in rows if r["dimension"] == slice_.dimension and slice_.matches(r)]


def slice_values(rows: Rows, label: str) -> list[str]:
    """The values a slice can take, as pipeline_vs_booked knows them."""
    probe = Slice(label)
    if probe.column is None:
        return []
    return sorted({r[probe.column] for r in rows
                   if r["dimension"] == probe.dimension and r[probe.column] is not None})


def in_quarter(table: pa.Table, slice_: Slice, year: int, quarter: int) -> pa.Table:
    """Detail rows (deals or orders) of one fiscal quarter and slice."""
    mask = pc.and_(pc.equal(table["fiscal_year"], year),
                   pc.equal(table["fiscal_quarter"], quarter))
    if slice_.column is not None and slice_.value is not None:
        mask = pc.and_(mask, pc.equal(table[slice_.column], slice_.value))
    return table.filter(pc.fill_null(mask, False)).drop_columns(["fiscal_year",
                                                                  "fiscal_quarter"])


def of_customer(table: pa.Table, customer_id: str) -> pa.Table:
    """One customer's rows of an answer keyed by customer_id, without that column."""
    mask = pc.fill_null(pc.equal(table["customer_id"], customer_id), False)
    return table.filter(mask).drop_columns(["customer_id"])


def search_customers(rows: Rows, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Customers whose name, legal name or web domain contains ``text`` (any case)."""
    wanted = text.strip().casefold()
    found = [r for r in rows if any(wanted in (r[c] or "").casefold()
                                    for c in ("customer_name", "legal_name", "domain"))]
    return found[:limit]


def with_id(table: pa.Table, column: str, value: str) -> pa.Table:
    """The rows of ``table`` whose ``column`` is ``value``."""
    return table.filter(pc.fill_null(pc.equal(table[column], value), False))
