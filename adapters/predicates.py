"""A small predicate language between sqlglot and each source's filter syntax.

``lower`` turns one conjunct (columns unqualified, spelled as the source spells them)
into typed nodes with Python literal values, or None when it is not a shape any source
could evaluate. Each adapter then compiles the nodes it can express; ``combine`` holds
the rules every adapter shares for AND, OR and NOT:

- AND and OR are as faithful as their weakest side;
- NOT is only pushed over an *exact* operand (NOT of a superset would drop rows) and is
  then inexact, since a source may treat comparisons with NULL as false.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
from sqlglot import exp

from adapters.contract import Column, Pushdown, TableInfo

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMPNTZ", "TIMESTAMPTZ", "DATETIME"}
_OPS = {exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
FLIPPED = {"=": "=", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


@dataclass(frozen=True)
class Compare:
    column: Column
    op: str  # = != < <= > >=
    value: Any  # str, Decimal, bool, date, aware UTC datetime


@dataclass(frozen=True)
class InList:
    column: Column
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Like:
    column: Column
    pattern: str  # SQL LIKE pattern: % and _
    case_insensitive: bool


@dataclass(frozen=True)
class IsNull:
    column: Column
    negated: bool  # IS NOT NULL


@dataclass(frozen=True)
class Flag:
    """A bare boolean column (``IsWon``) or its negation (``NOT IsWon``)."""

    column: Column
    value: bool


@dataclass(frozen=True)
class And:
    left: Predicate
    right: Predicate


@dataclass(frozen=True)
class Or:
    left: Predicate
    right: Predicate


@dataclass(frozen=True)
class Not:
    operand: Predicate


Predicate = Compare | InList | Like | IsNull | Flag | And | Or | Not
Leaf = Compare | InList | Like | IsNull | Flag


@dataclass(frozen=True)
class Compiled:
    text: Any  # the source's filter: a string, or a structure (HubSpot filter groups)
    pushdown: Pushdown


def lower(table: TableInfo, node: exp.Expression) -> Predicate | None:
    """The typed predicate for ``node``, or None if no source could evaluate it."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.And, exp.Or)):
        left, right = lower(table, node.left), lower(table, node.right)
        if left is None or right is None:
            return None
        return And(left, right) if isinstance(node, exp.And) else Or(left, right)
    if isinstance(node, exp.Not):
        inner = node.this
        while isinstance(inner, exp.Paren):
            inner = inner.this
        if isinstance(inner, exp.Is):
            return _is_null(table, inner, negated=True)
        flag = _flag(table, inner)
        if flag is not None:
            return Flag(flag, False)
        operand = lower(table, inner)
        return None if operand is None else Not(operand)
    flag = _flag(table, node)
    if flag is not None:
        return Flag(flag, True)
    if isinstance(node, exp.Is):
        return _is_null(table, node, negated=False)
    if isinstance(node, tuple(_OPS)):
        return _compare(table, node)
    if isinstance(node, exp.Between):
        low = _compare(table, exp.GTE(this=node.this.copy(), expression=node.args["low"].copy()))
        high = _compare(table, exp.LTE(this=node.this.copy(), expression=node.args["high"].copy()))
        return None if low is None or high is None else And(low, high)
    if isinstance(node, exp.In):
        return _in_list(table, node)
    if isinstance(node, (exp.Like, exp.ILike)):
        like = _like(table, node)
        if like is not None and node.args.get("negate"):  # sqlglot's x NOT LIKE p
            return Not(like)
        return like
    return None


def combine(predicate: Predicate, leaf: Callable[[Leaf], Compiled | None],
            join: Callable[[str, list[Any]], Any | None],
            negate: Callable[[Any], Any | None]) -> Compiled | None:
    """Compile ``predicate`` with an adapter's ``leaf`` compiler and connectives.

    ``join("AND"|"OR", parts)`` and ``negate(part)`` return the source's text, or None
    when the source cannot express that connective.
    """
    if isinstance(predicate, (And, Or)):
        word = "AND" if isinstance(predicate, And) else "OR"
        parts = [combine(p, leaf, join, negate) for p in (predicate.left, predicate.right)]
        if any(p is None for p in parts):
            return None
        text = join(word, [p.text for p in parts])  # type: ignore[union-attr]
        if text is None:
            return None
        return Compiled(text, min(p.pushdown for p in parts))  # type: ignore[union-attr]
    if isinstance(predicate, Not):
        inner = combine(predicate.operand, leaf, join, negate)
        if inner is None or inner.pushdown is not Pushdown.EXACT:
            return None  # NOT over a superset would drop rows DuckDB keeps
        text = negate(inner.text)
        return None if text is None else Compiled(text, Pushdown.INEXACT)
    return leaf(predicate)


def columns_of(predicate: Predicate) -> set[str]:
    if isinstance(predicate, (And, Or)):
        return columns_of(predicate.left) | columns_of(predicate.right)
    if isinstance(predicate, Not):
        return columns_of(predicate.operand)
    return {predicate.column.name}


# -- leaves -------------------------------------------------------------------------------


def _column(table: TableInfo, node: exp.Expression) -> Column | None:
    if isinstance(node, exp.Column) and not node.table:
        col = table.column(node.name)
        if col is not None and col.filterable:
            return col
    return None


def _flag(table: TableInfo, node: exp.Expression) -> Column | None:
    col = _column(table, node)
    return col if col is not None and pa.types.is_boolean(col.type) else None


def _is_null(table: TableInfo, node: exp.Is, *, negated: bool) -> IsNull | None:
    col = _column(table, node.this)
    if col is None or not isinstance(node.expression, exp.Null):
        return None
    return IsNull(col, negated)


def _compare(table: TableInfo, node: exp.Expression) -> Compare | None:
    op = _OPS[type(node)]
    left, right = node.this, node.expression
    if _column(table, left) is None:
        left, right, op = right, left, FLIPPED[op]
    col = _column(table, left)
    if col is None:
        return None
    value = literal_for(col, right)
    return None if value is None else Compare(col, op, value)


def _in_list(table: TableInfo, node: exp.In) -> InList | None:
    col = _column(table, node.this)
    if col is None or not node.expressions or node.args.get("query"):
        return None
    values = tuple(literal_for(col, v) for v in node.expressions)
    return None if any(v is None for v in values) else InList(col, values)


def _like(table: TableInfo, node: exp.Expression) -> Like | None:
    col = _column(table, node.this)
    pattern = node.expression
    if (col is None or not pa.types.is_string(col.type) or node.args.get("escape")
            or not isinstance(pattern, exp.Literal) or not pattern.is_string):
        return None
    return Like(col, pattern.this, isinstance(node, exp.ILike))


def literal_for(col: Column, node: exp.Expression) -> Any | None:
    """The Python value of a literal compared with ``col``, typed as DuckDB would cast it."""
    while isinstance(node, exp.Paren):
        node = node.this
    kind = col.type
    if isinstance(node, exp.Neg):
        inner = literal_for(col, node.this)
        return -inner if isinstance(inner, Decimal) else None
    if isinstance(node, exp.Boolean):
        return bool(node.this) if pa.types.is_boolean(kind) else None
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        target = node.to.this.name
        if target == "DATE":
            return _date_value(kind, node.this.this)
        if target in _TIMESTAMP_TYPES:
            return _timestamp_value(kind, node.this.this)
        return None
    if not isinstance(node, exp.Literal):
        return None
    text = node.this
    if node.is_string:
        if pa.types.is_string(kind):
            return text
        if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
            return _date_value(kind, text) if _DATE.match(text) else _timestamp_value(kind, text)
        return None
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    if numeric and _NUMBER.match(text):
        try:
            return Decimal(text)
        except InvalidOperation:
            return None
    return None


def _date_value(kind: pa.DataType, text: str) -> Any | None:
    if not _DATE.match(text):
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    if pa.types.is_date(kind):
        return day
    if pa.types.is_timestamp(kind):  # DuckDB casts the date to midnight UTC
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return None


def _timestamp_value(kind: pa.DataType, text: str) -> dt.datetime | None:
    if not pa.types.is_timestamp(kind):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:  # DuckDB reads naive timestamps in its UTC session
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
