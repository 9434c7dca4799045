"""Compile pushed-down predicates to Dataverse OData v4 ``$filter`` text.

Dataverse compares strings case-insensitively (so string ``eq``, ``In`` and the
``startswith``/``endswith``/``contains`` functions are inexact, and string ``ne`` and
ranges stay local) and treats comparisons with null as not true, like SQL.

SQL ``IN`` lists become Dataverse's ``Microsoft.Dynamics.CRM.In`` query function, whose
``PropertyValues`` is ``Collection(Edm.String)``; where Microsoft does not document how
those strings convert (dates, times, booleans) or the function cannot name the column
(lookups, whose OData name ``_x_value`` is not an attribute name), ``eq``/``or`` chains
stay.
"""

from __future__ import annotations

import datetime as dt
import json
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

_OPS = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_IN_VALUES = 100
LABEL_SUFFIX = "_label"
LOOKUP_TYPES = {"Lookup", "Owner", "Customer"}
GUID_TYPES = {"Uniqueidentifier"} | LOOKUP_TYPES
IN_FUNCTION = "Microsoft.Dynamics.CRM.In"
CHOICE_TYPES = {"Picklist", "State", "Status"}


def odata_name(column: str, native: str) -> str:
    """How OData names a column: lookups are ``_<name>_value``."""
    return f"_{column}_value" if native in LOOKUP_TYPES else column


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class FilterCompiler:
    """Compiles predicates for one table; ``choices`` maps label columns to their options."""

    def __init__(self, choices: dict[str, dict[int, str]]) -> None:
        self.choices = choices  # label column name → {value: label}

    def compile(self, table: TableInfo, node: exp.Expression) -> Compiled | None:
        predicate = lower(table, node)
        if predicate is None:
            return None
        return combine(predicate, self._leaf,
                       lambda word, parts: f"({f' {word.lower()} '.join(parts)})",
                       lambda text: f"(not {text})")

    def _leaf(self, leaf: Leaf) -> Compiled | None:
        column = leaf.column
        if column.name in self.choices:
            return self._label_leaf(leaf)
        name = odata_name(column.name, column.native_type)
        if isinstance(leaf, Flag):
            return Compiled(f"{name} eq {'true' if leaf.value else 'false'}", Pushdown.EXACT)
        if isinstance(leaf, IsNull):
            return Compiled(f"{name} {'ne' if leaf.negated else 'eq'} null", Pushdown.EXACT)
        is_text = pa.types.is_string(column.type) and column.native_type not in GUID_TYPES
        if isinstance(leaf, Compare):
            literal = _literal(column.native_type, column.type, leaf.value)
            if literal is None:
                return None
            if is_text:
                if leaf.op != "=":
                    return None  # case-insensitive ne and ranges can lose rows
                return Compiled(f"{name} eq {literal}", Pushdown.INEXACT)
            if column.native_type in GUID_TYPES | {"Boolean"} and leaf.op not in ("=", "!="):
                return None
            fidelity = Pushdown.INEXACT if leaf.op == "!=" else Pushdown.EXACT
            return Compiled(f"{name} {_OPS[leaf.op]} {literal}", fidelity)
        if isinstance(leaf, InList):
            literals = [_literal(column.native_type, column.type, v) for v in leaf.values]
            if any(lit is None for lit in literals) or len(literals) > MAX_IN_VALUES:
                return None
            fidelity = Pushdown.INEXACT if is_text else Pushdown.EXACT
            values = _in_values(column, leaf.values)
            if values is not None:
                return Compiled(in_function(name, values), fidelity)
            return Compiled("(" + " or ".join(f"{name} eq {lit}" for lit in literals) + ")",
                            fidelity)
        if isinstance(leaf, Like) and is_text:
            return _like(name, leaf.pattern)
        return None

    def _label_leaf(self, leaf: Leaf) -> Compiled | None:
        """A label equals one option's label exactly: filter on its integer value."""
        options = self.choices[leaf.column.name]
        base = leaf.column.name.removesuffix(LABEL_SUFFIX)
        if isinstance(leaf, Compare) and leaf.op == "=" and isinstance(leaf.value, str):
            wanted = {leaf.value}
        elif isinstance(leaf, InList) and all(isinstance(v, str) for v in leaf.values):
            wanted = set(leaf.values)
        elif isinstance(leaf, IsNull):
            return Compiled(f"{base} {'ne' if leaf.negated else 'eq'} null", Pushdown.EXACT)
        else:
            return None
        values = sorted(v for v, label in options.items() if label in wanted)
        if not values:
            return None
        if len(values) > 1:
            return Compiled(in_function(base, [str(v) for v in values]), Pushdown.EXACT)
        return Compiled(f"({base} eq {values[0]})", Pushdown.EXACT)


def in_function(name: str, values: list[str]) -> str:
    """``Microsoft.Dynamics.CRM.In``: one short clause instead of an ``or`` chain."""
    return (f"{IN_FUNCTION}(PropertyName={quote(name)},"
            f"PropertyValues=[{','.join(_in_value(v) for v in values)}])")


def _in_value(text: str) -> str:
    """Microsoft's documented ``'value'`` form; OData's JSON string when a quote or
    backslash is inside (Microsoft documents no escape within the single quotes)."""
    if any(c in text for c in "'\"\\"):
        return json.dumps(text, ensure_ascii=False)
    return f"'{text}'"


def _in_values(column: Column, values: tuple[Any, ...]) -> list[str] | None:
    """``PropertyValues`` strings for ``column``, or None where ``In`` does not apply."""
    if column.native_type in LOOKUP_TYPES:
        return None  # In names attributes; a lookup's OData property is _x_value
    if pa.types.is_string(column.type):
        return [str(v) for v in values]
    if not all(isinstance(v, Decimal) for v in values):
        return None
    if pa.types.is_integer(column.type):
        if any(v != v.to_integral_value() for v in values):
            return None  # Dataverse cannot convert '1.5' to an integer; eq compares fine
        return [str(int(v)) for v in values]
    if pa.types.is_floating(column.type):
        return [format(v, "f") for v in values]
    return None  # dates, times, booleans: how Dataverse converts the strings is undocumented


def _like(name: str, pattern: str) -> Compiled | None:
    """``X%`` → startswith, ``%X`` → endswith, ``%X%`` → contains (no other wildcards)."""
    if "[" in pattern:
        return None  # SQL Server reads [..] as a character set: could drop rows
    core = pattern.strip("%")
    if not core or "%" in core or "_" in core:
        return None
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    if starts and ends:
        function = "contains"
    elif ends:
        function = "startswith"
    elif starts:
        function = "endswith"
    else:
        return Compiled(f"{name} eq {quote(core)}", Pushdown.INEXACT)
    return Compiled(f"{function}({name},{quote(core)})", Pushdown.INEXACT)


def _literal(native: str, arrow: pa.DataType, value: Any) -> str | None:
    if isinstance(value, bool):
        return ("true" if value else "false") if native == "Boolean" else None
    if isinstance(value, str):
        if native in GUID_TYPES:
            return value if _GUID.match(value) else None
        return quote(value) if pa.types.is_string(arrow) else None
    if isinstance(value, Decimal):
        return format(value, "f") if pa.types.is_integer(arrow) or pa.types.is_floating(
            arrow) else None
    if isinstance(value, dt.datetime):
        if not pa.types.is_timestamp(arrow) or value.microsecond:
            return None
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat() if pa.types.is_date(arrow) else None
    return None


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """Dataverse sorts NULLs first ascending and last descending, like SQL Server."""
    col = table.column(key.column)
    if col is None or not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                           or pa.types.is_date(col.type) or pa.types.is_timestamp(col.type)):
        return False
    if col.name.endswith(LABEL_SUFFIX) and col.native_type == "label":
        return False
    return key.nulls_first != key.descending
