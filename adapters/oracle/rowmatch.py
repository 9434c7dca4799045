"""Compile pushed-down predicates and scan requests to Fusion REST ``q`` rowmatch expressions.

Fusion's REST framework (version 2 and later, which the adapter asks for with the
``REST-Framework-Version`` header) turns ``q`` into a WHERE clause on Oracle Database, so:

- strings compare case-sensitively in binary order, as in DuckDB, so string ``=``, ``!=``
  and ``IN`` are exact; but Oracle stores ``''`` as NULL, so comparisons with an empty
  string stay local, and so do values with quotes (how rowmatch escapes a quote inside a
  literal is not documented) or control characters;
- string ranges stay local (ordering may follow a linguistic NLS_SORT, not byte order);
- ``LIKE`` is pushed for patterns whose only wildcard is ``%``: ``_`` is left to DuckDB to
  be safe, ``*`` is a wildcard to ADF's query-by-example, and a backslash is an escape to
  DuckDB but not to Oracle; ``ILIKE`` stays local;
- ``NOT`` stays local: the framework's support for ``NOT (...)`` is not documented;
- numbers, dates (``'2024-01-31'``), datetimes (``'2024-01-31T10:00:00.000+00:00'``) and
  booleans (``true``/``false``) compare exactly; ``IS [NOT] NULL`` is exact.

Comparisons with NULL are unknown in both engines, so AND/OR of exact parts stay exact.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters.contract import Pushdown, ScanRequest, SortKey, TableInfo
from adapters.predicates import (
    Compare,
    Compiled,
    Flag,
    InList,
    IsNull,
    Leaf,
    Like,
    combine,
    lower,
)

STRING, INTEGER, NUMBER, DATE, DATETIME, BOOLEAN = (
    "string", "integer", "number", "date", "datetime", "boolean")
ARROW_TYPES: dict[str, pa.DataType] = {
    STRING: pa.string(), INTEGER: pa.int64(), NUMBER: pa.float64(), DATE: pa.date32(),
    DATETIME: pa.timestamp("ms", tz="UTC"), BOOLEAN: pa.bool_(),
}
#: keep URLs well under gateway limits: longer IN lists stay local
MAX_IN_VALUES = 200
_SORTABLE = {INTEGER, NUMBER, DATE, DATETIME}


def quote_string(value: str) -> str | None:
    """A rowmatch string literal, or None when the value cannot be sent faithfully."""
    if value == "" or "'" in value or any(ord(ch) < 32 for ch in value):
        return None
    return f"'{value}'"


def literal(native: str, value: Any) -> str | None:
    """``value`` as a rowmatch literal for an attribute of type ``native``, or None."""
    if isinstance(value, bool):
        return ("true" if value else "false") if native == BOOLEAN else None
    if isinstance(value, str):
        return quote_string(value) if native == STRING else None
    if isinstance(value, Decimal):
        return format(value, "f") if native in (INTEGER, NUMBER) else None
    if isinstance(value, dt.datetime):
        if native != DATETIME:
            return None
        moment = value.astimezone(dt.UTC)
        fraction = f"{moment.microsecond:06d}" if moment.microsecond % 1000 else \
            f"{moment.microsecond // 1000:03d}"
        return f"'{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{fraction}+00:00'"
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'" if native == DATE else None
    return None


def compile_predicate(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """The ``q`` text for ``node`` and its fidelity, or None when it must stay local."""
    predicate = lower(table, node)
    if predicate is None:
        return None
    return combine(predicate, _leaf, _join, lambda _text: None)


def _join(word: str, parts: list[str]) -> str:
    return f"({f' {word} '.join(parts)})"


def _leaf(leaf: Leaf) -> Compiled | None:
    native = leaf.column.native_type
    name = leaf.column.name
    if isinstance(leaf, Flag):
        if native != BOOLEAN:
            return None
        return Compiled(f"{name} = {'true' if leaf.value else 'false'}", Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        return Compiled(f"{name} IS {'NOT ' if leaf.negated else ''}NULL", Pushdown.EXACT)
    if isinstance(leaf, Compare):
        text = literal(native, leaf.value)
        if text is None or (native in (STRING, BOOLEAN) and leaf.op not in ("=", "!=")):
            return None
        return Compiled(f"{name} {leaf.op} {text}", Pushdown.EXACT)
    if isinstance(leaf, InList):
        texts = [literal(native, v) for v in leaf.values]
        if len(texts) > MAX_IN_VALUES or any(t is None for t in texts):
            return None
        return Compiled(f"{name} IN ({', '.join(texts)})", Pushdown.EXACT)  # type: ignore
    if isinstance(leaf, Like):
        pattern = leaf.pattern
        if (native != STRING or leaf.case_insensitive
                or any(ch in pattern for ch in "_*\\") or pattern.strip("%") == ""):
            return None
        quoted = quote_string(pattern)
        return None if quoted is None else Compiled(f"{name} LIKE {quoted}", Pushdown.EXACT)
    return None


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """Oracle sorts NULL as the largest value (last ascending, first descending); push only
    number and date keys whose requested NULL placement is that one. Strings may sort by a
    linguistic NLS_SORT, so they stay local."""
    col = table.column(key.column)
    return bool(col and col.sortable and col.native_type in _SORTABLE
                and key.nulls_first == key.descending)


def build_params(table: TableInfo, request: ScanRequest, key: str | None,
                 page_size: int) -> dict[str, str]:
    """The query parameters of a scan's first page (``offset`` is added per page).

    Rows are ordered by the requested sort keys, then the resource's key, so offset paging
    is stable (Fusion's default order is unspecified).
    """
    fields = list(request.columns) or ([key] if key else [table.columns[0].name])
    params = {"onlyData": "true", "fields": ",".join(fields)}
    clauses = []
    for predicate in request.filters:
        compiled = compile_predicate(table, predicate)
        if compiled is None:
            raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
        clauses.append(compiled.text)
    if clauses:
        params["q"] = " AND ".join(clauses)
    order = [f"{k.column}:{'desc' if k.descending else 'asc'}" for k in request.order_by]
    if key and key.lower() not in {k.column.lower() for k in request.order_by}:
        order.append(f"{key}:asc")
    if order:
        params["orderBy"] = ",".join(order)
    size = page_size if request.limit is None else min(page_size, max(request.limit, 1))
    params["limit"] = str(size)
    return params
