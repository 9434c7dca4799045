"""Compile pushed-down predicates to pyarrow compute expressions.

The files adapter evaluates pushed predicates itself, on Arrow data, so a predicate is
only pushed when pyarrow's answer is exactly DuckDB's for every row that could be in a
file. Deliberately left local:

- timestamp comparisons: DuckDB casts a literal with a UTC offset to a naive TIMESTAMP
  by dropping the offset, while the shared predicate language converts it to UTC, and
  time-zone-aware columns depend on the DuckDB session's time zone;
- string ranges and ``LIKE``: pyarrow's and DuckDB's collation and escaping rules are
  not promised to agree, and these filters save no I/O on files anyway;
- integer columns compared with fractional literals, and other types (decimal, time,
  binary, nested).

Floats need care: DuckDB orders NaN above every number and treats it as equal to
itself, while pyarrow follows IEEE 754, so ``x > v`` and ``x >= v`` also keep NaN rows.
SQL ``NULL`` handling matches because pyarrow's ``&``/``|`` are Kleene (three-valued)
and a filter drops NULL like ``WHERE`` does.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from adapters.contract import Column, Pushdown, TableInfo
from adapters.predicates import (
    Compare,
    Compiled,
    Flag,
    InList,
    IsNull,
    Leaf,
    columns_of,
    combine,
    lower,
)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge,
}


def compile_filter(table: TableInfo, node: exp.Expression) -> tuple[Compiled, set[str]] | None:
    """The pyarrow expression for one conjunct and the columns it reads, or None."""
    predicate = lower(table, node)
    if predicate is None:
        return None
    compiled = combine(predicate, _leaf, _join, lambda text: ~text)
    if compiled is None:
        return None
    return compiled, columns_of(predicate)


def _join(word: str, parts: list[Any]) -> Any:
    return functools.reduce(operator.and_ if word == "AND" else operator.or_, parts)


def _leaf(leaf: Leaf) -> Compiled | None:
    column = leaf.column
    field = pc.field(column.name)
    if isinstance(leaf, Flag):
        return Compiled(field == leaf.value, Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        # pyarrow's is_null leaves NaN alone by default, as DuckDB's IS NULL does
        return Compiled(field.is_valid() if leaf.negated else field.is_null(), Pushdown.EXACT)
    if isinstance(leaf, Compare):
        if not _op_allowed(column, leaf.op):
            return None
        value = _scalar(column, leaf.value)
        if value is None:
            return None
        expression = _OPS[leaf.op](field, value)
        if pa.types.is_floating(column.type) and leaf.op in (">", ">="):
            expression = expression | pc.is_nan(field)  # DuckDB: NaN is above every number
        return Compiled(expression, Pushdown.EXACT)
    if isinstance(leaf, InList):
        if not _op_allowed(column, "="):
            return None
        values = [_scalar(column, v) for v in leaf.values]
        if any(v is None for v in values):
            return None
        members = pa.array([v.as_py() for v in values], values[0].type)  # type: ignore[union-attr]
        return Compiled(field.isin(members), Pushdown.EXACT)
    return None  # LIKE / ILIKE stay local


def _op_allowed(column: Column, op: str) -> bool:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return op in ("=", "!=")
    return (pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_date(kind))


def _scalar(column: Column, value: Any) -> pa.Scalar | None:
    """The literal as a scalar of the column's type, or None when that would change it."""
    kind = column.type
    if pa.types.is_integer(kind):
        if not isinstance(value, Decimal) or value != value.to_integral_value():
            return None
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            return None
        return pa.scalar(number, pa.int64())
    if pa.types.is_floating(kind):
        return pa.scalar(float(value), pa.float64()) if isinstance(value, Decimal) else None
    try:
        return pa.scalar(value, kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
