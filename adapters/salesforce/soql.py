"""Compile pushed-down predicates and scan requests to SOQL.

SOQL compares strings case-insensitively and treats comparisons with NULL as false.
So string ``=``/``IN``/``LIKE`` return a superset (inexact), while string ``!=``,
ranges and ``NOT IN``/``NOT LIKE`` could lose rows and stay local.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

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

MAX_IN_VALUES = 200
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0e-\x1f]")
_NUMERIC = {"currency", "percent", "double", "int", "long"}
_STRINGS = {"id", "string", "picklist", "combobox", "reference", "email", "phone", "url",
            "encryptedstring"}
_DATES = {"date", "datetime"}


def quote_string(value: str) -> str | None:
    """A SOQL string literal, or None if the value has characters SOQL cannot carry."""
    if _CONTROL.search(value):
        return None
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def compile_predicate(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """SOQL for ``node`` and its fidelity, or None when it must stay local."""
    predicate = lower(table, node)
    if predicate is None:
        return None
    return combine(predicate, _leaf, _join, lambda text: f"(NOT {text})")


def _join(word: str, parts: list[str]) -> str:
    return f"({f' {word} '.join(parts)})"


def _leaf(leaf: Leaf) -> Compiled | None:
    native = leaf.column.native_type
    name = leaf.column.name
    if isinstance(leaf, Flag):
        return Compiled(f"{name} = {'TRUE' if leaf.value else 'FALSE'}", Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        if native == "boolean":
            return None  # SOQL's boolean = null means = false
        return Compiled(f"{name} {'!=' if leaf.negated else '='} null", Pushdown.EXACT)
    if isinstance(leaf, Compare):
        literal = _literal(native, leaf.value)
        if literal is None:
            return None
        if native in _STRINGS:
            if leaf.op != "=":
                return None  # case-insensitive != and ranges can lose rows
            return Compiled(f"{name} = {literal}", Pushdown.INEXACT)
        if native == "boolean" and leaf.op not in ("=", "!="):
            return None
        return Compiled(f"{name} {leaf.op} {literal}", Pushdown.EXACT)
    if isinstance(leaf, InList):
        if len(leaf.values) > MAX_IN_VALUES or native not in _STRINGS | _NUMERIC | {"date"}:
            return None
        literals = [_literal(native, v) for v in leaf.values]
        if any(lit is None for lit in literals):
            return None
        fidelity = Pushdown.INEXACT if native in _STRINGS else Pushdown.EXACT
        return Compiled(f"{name} IN ({', '.join(literals)})", fidelity)  # type: ignore[arg-type]
    if isinstance(leaf, Like):
        if native not in _STRINGS or "\\" in leaf.pattern:
            return None  # backslashes in patterns are not worth the double escaping
        quoted = quote_string(leaf.pattern)
        return None if quoted is None else Compiled(f"{name} LIKE {quoted}", Pushdown.INEXACT)
    return None


def _literal(native: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if native == "boolean" else None
    if isinstance(value, str):
        return quote_string(value) if native in _STRINGS else None
    if isinstance(value, Decimal):
        return format(value, "f") if native in _NUMERIC else None
    if isinstance(value, dt.datetime):
        if native != "datetime" or value.microsecond:
            return None  # SOQL datetime literals have whole seconds
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat() if native == "date" else None
    return None


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """SOQL orders strings case-insensitively, so only non-string keys sort like DuckDB."""
    col = table.column(key.column)
    return bool(col and col.sortable and col.native_type in _NUMERIC | _DATES)


def build_soql(table: TableInfo, request: ScanRequest) -> str:
    """The SOQL text for a scan; every filter in the request must be compilable."""
    soql = f"SELECT {', '.join(request.columns)} FROM {table.name}"
    clauses = []
    for predicate in request.filters:
        compiled = compile_predicate(table, predicate)
        if compiled is None:
            raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
        clauses.append(compiled.text)
    if clauses:
        soql += " WHERE " + " AND ".join(clauses)
    if request.order_by:
        keys = ", ".join(
            f"{k.column} {'DESC' if k.descending else 'ASC'} "
            f"{'NULLS FIRST' if k.nulls_first else 'NULLS LAST'}"
            for k in request.order_by
        )
        soql += f" ORDER BY {keys}"
    if request.limit is not None:
        soql += f" LIMIT {request.limit}"
    return soql
