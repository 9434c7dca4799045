"""Reshaping answers the engine already returned, for display: plain functions over rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

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
