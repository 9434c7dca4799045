"""Compile pushed-down predicates to HubSpot search filter groups.

A predicate becomes a small DNF: a list of groups (OR-ed), each a list of filters
(AND-ed). HubSpot matches strings case-insensitively (inexact) except enumerations,
which are case-sensitive (exact); string IN values must be sent lowercase. ``NOT`` is
pushed only over a single exact filter, by inverting its operator.

Multiple-checkbox enumerations hold several options joined by ``;`` and HubSpot does not
document how EQ/IN/NEQ/NOT_IN treat them (the simulator matches them as sets), so only
forms that return a superset under any reading are sent: ``=``/``IN`` of single options,
inexact. Record ids are numbers to HubSpot, so ids that are not canonical integers stay
local (HubSpot would reject them, or match ``'007'`` to record 7).
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
#: native type of a multiple-checkbox enumeration (``fieldType`` ``checkbox``)
MULTI = "enumeration/checkbox"
_ID = re.compile(r"0|[1-9][0-9]*")  # ASCII only: str.isdigit() accepts "²"


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
    if native == MULTI:
        return _multi(prop, leaf)
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
            values = _folded(values)
        fidelity = Pushdown.INEXACT if native in _STRINGS else Pushdown.EXACT
        return Compiled([[{"propertyName": prop, "operator": "IN", "values": values}]],
                        fidelity)
    return None  # LIKE: CONTAINS_TOKEN matches words, not substrings


def _multi(prop: str, leaf: Leaf) -> Compiled | None:
    """``=``/``IN`` of single options: a superset whether HubSpot matches sets or strings.

    ``!=``/``NOT IN`` would drop ``'chess;golf'`` for ``!= 'golf'`` under set matching, and
    ``= 'chess;golf'`` matches nothing there, so those stay local.
    """
    if isinstance(leaf, Compare) and leaf.op == "=":
        values = [leaf.value]
    elif isinstance(leaf, InList):
        values = list(leaf.values)
    else:
        return None
    if not all(isinstance(v, str) and v and ";" not in v for v in values):
        return None
    if len(values) == 1:
        return _one(prop, "EQ", values[0], Pushdown.INEXACT)
    return Compiled([[{"propertyName": prop, "operator": "IN", "values": values}]],
                    Pushdown.INEXACT)


def _folded(values: list[str]) -> list[str]:
    """IN values as HubSpot's index stores them: lowercase, plus the casefolded form.

    HubSpot compares IN values with a case-folded index without folding the values; the
    fold may be ``lower()`` or ``casefold()`` (``'Straße'``: ``'straße'``/``'strasse'``),
    so both are sent to keep the superset.
    """
    out: dict[str, None] = {}
    for v in values:
        out[v.lower()] = None
        out[v.casefold()] = None
    return list(out)


def _one(prop: str, operator: str, value: str, fidelity: Pushdown) -> Compiled:
    return Compiled([[{"propertyName": prop, "operator": operator, "value": value}]], fidelity)


def _value(native: str, value: Any) -> str | None:
    if isinstance(value, bool):
        return ("true" if value else "false") if native == "bool" else None
    if isinstance(value, str):
        if native == "id":
            return value if _ID.fullmatch(value) else None  # hs_object_id is a number
        return value if native in _STRINGS | {"enumeration"} else None
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
    """Whether ``groups`` stay within HubSpot's filter-count limits."""
    return (len(groups) <= max_groups and all(len(g) <= max_per_group for g in groups)
            and sum(len(g) for g in groups) <= max_total)


def body_chars(body: dict[str, Any]) -> int:
    """Size of a search body as sent (compact UTF-8 JSON, as httpx encodes it).

    HubSpot refuses bodies over 3,000 characters; UTF-8 bytes are never fewer than
    characters, so counting bytes is safe whichever HubSpot counts.
    """
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
