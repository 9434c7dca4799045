"""Compile pushed-down predicates to SAP Gateway OData **v2** ``$filter`` text.

SAP (ABAP on HANA) compares strings case-sensitively and in binary, and treats a comparison
with null as unknown (the row is not returned), exactly like DuckDB. So, unlike Dataverse and
Salesforce, string ``eq``/``ne`` and the ``startswith``/``endswith``/``substringof``
functions are *exact*. What stays local, and why:

- string ranges: HANA may order by a collation rather than by code point, so a range could
  drop rows DuckDB keeps;
- ``ILIKE`` and ``LIKE`` with ``_``, a backslash or an inner ``%``: v2 has no equivalent;
- Edm.Double/Single: SAP renders them in E notation and may compare a decimal literal with a
  binary float differently from DuckDB at the last digit;
- Edm.Time (a duration, read as text) and non-filterable (``sap:filterable="false"``)
  properties, which SAP refuses.

v2 has no ``in`` operator, so ``IN`` becomes an ``or`` chain (at most ``MAX_IN_VALUES``).

Timestamps arrive as ``/Date(ms)/``, truncated to the millisecond, while SAP compares its
stored value (DateTimeOffset keeps 7 fractional digits). To filter exactly the rows whose
*truncated* value matches, comparisons are sent on the millisecond grid: ``<= X`` is sent as
``lt X+1ms``, ``> X`` as ``ge X+1ms`` and ``= X`` as ``ge X and lt X+1ms``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters.contract import Column, Pushdown, SortKey, TableInfo
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

MAX_IN_VALUES = 50
_OPS = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
INTEGER_TYPES = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
TIMESTAMP_TYPES = frozenset({"Edm.DateTime", "Edm.DateTimeOffset"})
_MS = dt.timedelta(milliseconds=1)


def quote(value: str) -> str:
    """A v2 string literal: single quotes doubled (``'O''Brien'``)."""
    return "'" + value.replace("'", "''") + "'"


def compile_predicate(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """The ``$filter`` text and fidelity for one conjunct, or None when it stays local."""
    predicate = lower(table, _explicit_not(node))
    if predicate is None:
        return None
    return combine(predicate, _leaf, _join, lambda text: f"not ({text})")


def _explicit_not(node: exp.Expression) -> exp.Expression:
    """Spell ``x NOT LIKE p`` as ``NOT (x LIKE p)``.

    sqlglot parses ``NOT LIKE``/``NOT ILIKE`` as a Like node with ``negate=True``, which the
    shared ``lower`` does not look at: left alone, ``NOT LIKE 'A%'`` would be pushed as
    ``startswith`` and SAP would return exactly the rows the query excludes.
    """

    def rewrite(n: exp.Expression) -> exp.Expression:
        if isinstance(n, (exp.Like, exp.ILike)) and n.args.get("negate"):
            positive = n.copy()
            positive.set("negate", None)
            return exp.Not(this=exp.Paren(this=positive))
        return n

    return node.copy().transform(rewrite)


def _join(word: str, parts: list[str]) -> str:
    return "(" + f" {word.lower()} ".join(parts) + ")"


def _leaf(leaf: Leaf) -> Compiled | None:
    column = leaf.column
    name = column.name
    if not column.filterable or column.native_type == "Edm.Time":
        return None
    if isinstance(leaf, Flag):
        return Compiled(f"{name} eq {'true' if leaf.value else 'false'}", Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        return Compiled(f"{name} {'ne' if leaf.negated else 'eq'} null", Pushdown.EXACT)
    if isinstance(leaf, Compare):
        text = _compare(column, leaf.op, leaf.value)
        return None if text is None else Compiled(text, Pushdown.EXACT)
    if isinstance(leaf, InList):
        values = list(dict.fromkeys(leaf.values))
        if len(values) > MAX_IN_VALUES:
            return None  # keeps the URL well under Gateway's length limits
        texts = [_compare(column, "=", v) for v in values]
        if any(t is None for t in texts):
            return None
        if len(texts) == 1:
            return Compiled(texts[0], Pushdown.EXACT)
        return Compiled("(" + " or ".join(texts) + ")", Pushdown.EXACT)  # type: ignore[arg-type]
    if isinstance(leaf, Like):
        return _like(column, leaf)
    return None


def _compare(column: Column, op: str, value: Any) -> str | None:
    """One comparison in v2 syntax, or None when SAP would not answer it as DuckDB does."""
    native, name = column.native_type, column.name
    if native in TIMESTAMP_TYPES and pa.types.is_timestamp(column.type):
        return _timestamp_compare(column, op, value)
    if native == "Edm.String":
        if not isinstance(value, str) or op not in ("=", "!="):
            return None  # string ranges: HANA's collation may differ from DuckDB's order
        return f"{name} {_OPS[op]} {quote(value)}"
    literal = literal_text(column, value)
    if literal is None:
        return None
    if native in ("Edm.Boolean", "Edm.Guid") and op not in ("=", "!="):
        return None
    return f"{name} {_OPS[op]} {literal}"


def literal_text(column: Column, value: Any) -> str | None:
    """A typed v2 literal for ``value`` compared with ``column`` (not timestamps)."""
    native = column.native_type
    if isinstance(value, bool):
        return ("true" if value else "false") if native == "Edm.Boolean" else None
    if native == "Edm.String":
        return quote(value) if isinstance(value, str) else None
    if native == "Edm.Guid":
        # SAP sends GUIDs lower-case; an upper-case literal matches nothing in DuckDB but
        # would match in SAP, so only the canonical spelling is pushed
        return f"guid'{value}'" if isinstance(value, str) and _GUID.match(value) else None
    if isinstance(value, Decimal):
        if native in INTEGER_TYPES:
            if value != value.to_integral_value():
                return None
            text = str(int(value))
            return f"{text}L" if native == "Edm.Int64" else text
        if native == "Edm.Decimal" and pa.types.is_decimal(column.type):
            return f"{format(value, 'f')}M"
        return None  # Edm.Double/Single (and float-typed decimals): see the module docstring
    is_day = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if is_day and native == "Edm.DateTime" and pa.types.is_date(column.type):
        return f"datetime'{value.isoformat()}T00:00:00'"
    return None


def _timestamp_literal(native: str, moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    if native == "Edm.DateTimeOffset":
        return f"datetimeoffset'{text}Z'"
    return f"datetime'{text}'"  # Edm.DateTime carries no zone; SAP reads it as UTC


def _timestamp_compare(column: Column, op: str, value: Any) -> str | None:
    """Compare on the millisecond grid the values arrive on (see the module docstring)."""
    if not isinstance(value, dt.datetime) or value.microsecond % 1000:
        return None
    name, native = column.name, column.native_type
    low = _timestamp_literal(native, value)
    high = _timestamp_literal(native, value + _MS)
    if op == "<":
        return f"{name} lt {low}"
    if op == ">=":
        return f"{name} ge {low}"
    if op == "<=":
        return f"{name} lt {high}"
    if op == ">":
        return f"{name} ge {high}"
    if op == "=":
        return f"({name} ge {low} and {name} lt {high})"
    return f"({name} lt {low} or {name} ge {high})"  # != (nulls excluded, as in DuckDB)


def _like(column: Column, leaf: Like) -> Compiled | None:
    """``x%`` → startswith, ``%x`` → endswith, ``%x%`` → substringof; case-sensitive = exact."""
    pattern = leaf.pattern
    if leaf.case_insensitive or column.native_type != "Edm.String":
        return None
    if "\\" in pattern or "_" in pattern:
        return None
    core = pattern.strip("%")
    if not core or "%" in core:
        return None
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    name, literal = column.name, quote(core)
    if starts and ends:
        text = f"substringof({literal},{name}) eq true"
    elif ends:
        text = f"startswith({name},{literal}) eq true"
    elif starts:
        text = f"endswith({name},{literal}) eq true"
    else:
        text = f"{name} eq {literal}"
    return Compiled(text, Pushdown.EXACT)


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """SAP sorts NULLs lowest (first ascending, last descending); strings may use a collation."""
    col = table.column(key.column)
    if col is None or not col.sortable:
        return False
    kind = col.type
    ordered = (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
               or pa.types.is_date(kind) or pa.types.is_timestamp(kind))
    return ordered and key.nulls_first != key.descending
