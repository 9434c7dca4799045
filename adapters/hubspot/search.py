"""Compile pushed-down predicates to HubSpot search filter groups.

A predicate becomes a small DNF: a list of groups (OR-ed), each a list of filters
(AND-ed). HubSpot matches strings case-insensitively (inexact) except enumerations,
which are case-sensitive (exact); string IN values must be sent lowercase. ``NOT`` is
pushed only over a single exact filter, by inverting its operator.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlglot import exp

from adapters.contract import Pushdown, TableInfo
from adapters.predicates import (
    Compare,
    Compiled,
    Flag,
    InList,
    IsNull,
    Leaf,
    combine,
    lower,
)

Filter = dict[str, Any]
Groups = list[list[Filter]]

_OPS = {"=": "EQ", "!=": "NEQ", "<": "LT", "<=": "LTE", ">": "GT", ">=": "GTE"}
_INVERSE = {"EQ": "NEQ", "NEQ": "EQ", "LT": "GTE", "LTE": "GT", "GT": "LTE", "GTE": "LT",
            "IN": "NOT_IN", "NOT_IN": "IN", "HAS_PROPERTY": "NOT_HAS_PROPERTY"}
_STRINGS = {"string", "phone_number"}
ID_COLUMN = "id"
ID_PROPERTY = "hs_object_id"


def compile_groups(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """Filter groups for ``node`` with their fidelity, or None when it must stay local."""
    predicate = lower(table, node)
    if predicate is None:
        return None
    return combine(predicate, _leaf, _join, _negate)


def _join(word: str, parts: list[Groups]) -> Groups:
    left, right = parts
    if word == "OR":
        return left + right
    return [a + b for a in left for b in right]


def _negate(groups: Groups) -> Groups | None:
    if len(groups) != 1 or len(groups[0]) != 1:
        return None
    inverted = dict(groups[0][0])
    operator = _INVERSE.get(inverted["operator"])
    if operator is None:
        return None
    inverted["operator"] = operator
    return [[inverted]]


def _leaf(leaf: Leaf) -> Compiled | None:
    native = leaf.column.native_type
    prop = ID_PROPERTY if leaf.column.name == ID_COLUMN else leaf.column.name
    if isinstance(leaf, Flag):
        return _one(prop, "EQ", "true" if leaf.value else "false", Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        if not leaf.negated:
            return None  # NOT_HAS_PROPERTY may skip "" values we read as NULL
        return Compiled([[{"propertyName": prop, "operator": "HAS_PROPERTY"}]], Pushdown.INEXACT)
    if isinstance(leaf, Compare):
        value = _value(native, leaf.value)
        if value is None:
            return None
        operator = _OPS[leaf.op]
        if native in _STRINGS or native == "id":
            if operator != "EQ":
                return None  # case-insensitive != and string ranges can lose rows
            return _one(prop, "EQ", value, Pushdown.EXACT if native == "id"
                        else Pushdown.INEXACT)
        if native in ("enumeration", "bool") and operator not in ("EQ", "NEQ"):
            return None
        fidelity = Pushdown.INEXACT if operator == "NEQ" else Pushdown.EXACT
        return _one(prop, operator, value, fidelity)
    if isinstance(leaf, InList):
        values = [_value(native, v) for v in leaf.values]
        if any(v is None for v in values) or native == "bool":
            return None
        if native in _STRINGS:
            values = [v.lower() for v in values]  # HubSpot matches IN on lowercase values
        fidelity = Pushdown.INEXACT if native in _STRINGS else Pushdown.EXACT
        return Compiled([[{"propertyName": prop, "operator": "IN", "values": values}]],
                        fidelity)
    return None  # LIKE: CONTAINS_TOKEN matches words, not substrings


def _one(prop: str, operator: str, value: str, fidelity: Pushdown) -> Compiled:
    return Compiled([[{"propertyName": prop, "operator": operator, "value": value}]], fidelity)


def _value(native: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return ("true" if value else "false") if native == "bool" else None
    if isinstance(value, str):
        return value if native in _STRINGS | {"enumeration", "id"} else None
    if isinstance(value, Decimal):
        return format(value, "f") if native == "number" else None
    if isinstance(value, dt.datetime):
        if native != "datetime" or value.microsecond % 1000:
            return None  # HubSpot keeps milliseconds
        return str(int(value.timestamp() * 1000))
    if isinstance(value, dt.date):
        if native != "date":
            return None
        midnight = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return str(int(midnight.timestamp() * 1000))
    return None


def fits(groups: Groups, *, max_groups: int, max_per_group: int, max_total: int) -> bool:
    return (len(groups) <= max_groups and all(len(g) <= max_per_group for g in groups)
            and sum(len(g) for g in groups) <= max_total)
