"""Compile pushed-down predicates and scan requests to SuiteQL (NetSuite's Oracle SQL).

SuiteQL runs on NetSuite's Oracle-based analytics engine, so the rules follow Oracle:

- strings compare case-sensitively (binary collation), like DuckDB, so string ``=``,
  ``!=`` and ``IN`` are exact; but Oracle stores ``''`` as NULL, so a comparison with an
  empty string means something else there and stays local;
- string ranges and ``ORDER BY`` on strings are not pushed: NetSuite's collation for
  ordering is not documented to be byte order (DuckDB's);
- ``LIKE`` has no default escape character in Oracle, so a pattern is exact as long as it
  has no backslash (DuckDB would read the backslash as an escape); ``ILIKE`` has no
  Oracle equivalent that folds case the way DuckDB does, so it stays local;
- booleans are the strings ``'T'``/``'F'``;
- dates and datetimes are written with ``TO_DATE``/``TO_TIMESTAMP`` and an explicit format,
  and read back with ``TO_CHAR`` in ISO form, because SuiteQL REST renders them in the
  account's date preference and drops the time of day.

Comparisons with NULL are false in both engines (three-valued logic), so the only shared
caveat is ``NOT``, which ``combine`` already makes inexact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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

#: Oracle refuses IN lists longer than this (ORA-01795)
MAX_IN_VALUES = 1000
#: native types: the JSON Schema ``type`` of a field, or its ``format`` for dates
INTEGER, NUMBER, BOOLEAN, DATE, DATETIME, STRING = (
    "integer", "number", "boolean", "date", "date-time", "string")
_NUMERIC = {INTEGER, NUMBER}
_SORTABLE = {INTEGER, NUMBER, DATE, DATETIME}
DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DD HH24:MI:SS"

ARROW_TYPES: dict[str, pa.DataType] = {
    INTEGER: pa.int64(),
    NUMBER: pa.float64(),
    BOOLEAN: pa.bool_(),
    DATE: pa.date32(),
    DATETIME: pa.timestamp("ms", tz="UTC"),
    STRING: pa.string(),
}


def native_type(schema_type: str, schema_format: str | None) -> str | None:
    """The native type of a metadata-catalog property, or None when it is not a plain
    column (sublists and subrecords are ``object``/``array``)."""
    if schema_type == "string" and schema_format in (DATE, DATETIME):
        return schema_format
    return schema_type if schema_type in ARROW_TYPES else None


def quote_string(value: str) -> str | None:
    """An Oracle string literal, or None when the value cannot be sent faithfully.

    Oracle doubles quotes and knows no backslash escapes; ``''`` is NULL there, and a NUL
    character cannot travel in SuiteQL text.
    """
    if value == "" or "\x00" in value:
        return None
    return "'" + value.replace("'", "''") + "'"


def compile_predicate(table: TableInfo, node: exp.Expression) -> Compiled | None:
    """SuiteQL for ``node`` and its fidelity, or None when it must stay local."""
    predicate = lower(table, _explicit_not(node))
    if predicate is None:
        return None
    return combine(predicate, _leaf, _join, lambda text: f"NOT ({text})")


def _explicit_not(node: exp.Expression) -> exp.Expression:
    """sqlglot parses ``x NOT LIKE p`` as ``Like(negate=True)``, which the shared ``lower``
    would read as ``x LIKE p``; spell it ``NOT (x LIKE p)`` so the negation is kept."""

    def spell(n: exp.Expression) -> exp.Expression:
        if isinstance(n, (exp.Like, exp.ILike, exp.Is)) and n.args.get("negate"):
            positive = n.copy()
            positive.set("negate", None)
            return exp.Not(this=positive)
        return n

    return node.transform(spell)


def _join(word: str, parts: list[str]) -> str:
    return f"({f' {word} '.join(parts)})"


def _leaf(leaf: Leaf) -> Compiled | None:
    native = leaf.column.native_type
    name = leaf.column.name
    if isinstance(leaf, Flag):
        if native != BOOLEAN:
            return None
        return Compiled(f"{name} = {literal_sql(BOOLEAN, leaf.value)}", Pushdown.EXACT)
    if isinstance(leaf, IsNull):
        return Compiled(f"{name} IS {'NOT ' if leaf.negated else ''}NULL", Pushdown.EXACT)
    if isinstance(leaf, Compare):
        literal = literal_sql(native, leaf.value)
        if literal is None:
            return None
        if native in (STRING, BOOLEAN) and leaf.op not in ("=", "!="):
            return None  # collation of string ranges is not DuckDB's byte order
        op = "<>" if leaf.op == "!=" else leaf.op
        return Compiled(f"{name} {op} {literal}", Pushdown.EXACT)
    if isinstance(leaf, InList):
        if len(leaf.values) > MAX_IN_VALUES:
            return None
        literals = [literal_sql(native, v) for v in leaf.values]
        if any(lit is None for lit in literals):
            return None
        return Compiled(f"{name} IN ({', '.join(literals)})", Pushdown.EXACT)  # type: ignore
    if isinstance(leaf, Like):
        if native != STRING or leaf.case_insensitive or "\\" in leaf.pattern:
            return None  # DuckDB escapes with backslash, Oracle has no default escape
        quoted = quote_string(leaf.pattern)
        return None if quoted is None else Compiled(f"{name} LIKE {quoted}", Pushdown.EXACT)
    return None


def literal_sql(native: str, value: Any) -> str | None:
    """``value`` as a SuiteQL literal for a field of type ``native``, or None."""
    if isinstance(value, bool):
        return ("'T'" if value else "'F'") if native == BOOLEAN else None
    if isinstance(value, str):
        return quote_string(value) if native == STRING else None
    if isinstance(value, Decimal):
        return format(value, "f") if native in _NUMERIC else None
    if isinstance(value, dt.datetime):
        if native != DATETIME or value.microsecond:
            return None  # TO_TIMESTAMP with this format carries whole seconds
        text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"TO_TIMESTAMP('{text}', '{DATETIME_FORMAT}')"
    if isinstance(value, dt.date):
        if native != DATE:
            return None
        return f"TO_DATE('{value.isoformat()}', '{DATE_FORMAT}')"
    return None


def can_sort(table: TableInfo, key: SortKey) -> bool:
    """Numbers and dates order the same in Oracle and DuckDB (NULL placement is explicit);
    strings may not (collation), and booleans are 'T'/'F' text."""
    col = table.column(key.column)
    return bool(col and col.sortable and col.native_type in _SORTABLE)


def key_columns(table: TableInfo) -> tuple[str, ...] | None:
    """Columns that identify a row, for stable paging and keyset splits (None: none known).

    ``transactionline.id`` is the line number within its transaction in NetSuite, so lines
    use ``uniquekey`` or, failing that, ``(transaction, id)``.
    """
    def integer(name: str) -> str | None:
        col = table.column(name)
        return col.name if col is not None and col.native_type == INTEGER else None

    unique = integer("uniquekey")
    if unique:
        return (unique,)
    if table.name.lower() == "transactionline":
        parts = (integer("transaction"), integer("id"))
        return None if None in parts else parts  # type: ignore[return-value]
    ident = integer("id")
    return (ident,) if ident else None


def select_item(table: TableInfo, name: str) -> str:
    """A column as the scan selects it: dates and datetimes through ``TO_CHAR`` in ISO
    form, since REST renders them in the account's preference without the time."""
    col = table.column(name)
    native = col.native_type if col is not None else STRING
    if native == DATE:
        return f"TO_CHAR({name}, '{DATE_FORMAT}') AS {name}"
    if native == DATETIME:
        return f"TO_CHAR({name}, '{DATETIME_FORMAT}') AS {name}"
    return name


def keyset_condition(keys: Sequence[str], after: Sequence[int]) -> str:
    """Rows after ``after`` in ``keys`` order: ``id > 5``, or the lexicographic form
    ``(a > 1 OR (a = 1 AND b > 7))`` for a compound key."""
    (first, *rest), (value, *values) = keys, after
    if not rest:
        return f"{first} > {int(value)}"
    return f"({first} > {int(value)} OR ({first} = {int(value)} AND "\
           f"{keyset_condition(rest, values)}))"


def build_suiteql(table: TableInfo, request: ScanRequest, *,
                  after: Sequence[int] | None = None, limit: int | None = None) -> str:
    """The SuiteQL text for a scan; every filter in the request must be compilable.

    Without a requested order, rows are ordered by the table's key columns so offset
    paging is stable and a scan past the result cap can continue ``after`` the last key.
    ``limit`` overrides ``request.limit`` (what is left of a top-N after a split).
    """
    keys = key_columns(table)
    columns = list(request.columns)
    order: list[str] = []
    if request.order_by:
        for k in request.order_by:
            order.append(f"{table.name}.{k.column} {'DESC' if k.descending else 'ASC'} "
                         f"{'NULLS FIRST' if k.nulls_first else 'NULLS LAST'}")
        sorted_by = {k.column.lower() for k in request.order_by}
        order += [f"{table.name}.{k} ASC" for k in keys or () if k.lower() not in sorted_by]
    elif keys:
        wanted = {c.lower() for c in columns}
        columns += [k for k in keys if k.lower() not in wanted]  # to know where to resume
        order = [f"{k} ASC" for k in keys]
    text = f"SELECT {', '.join(select_item(table, c) for c in columns)} FROM {table.name}"
    clauses = []
    for predicate in request.filters:
        compiled = compile_predicate(table, predicate)
        if compiled is None:
            raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
        clauses.append(compiled.text)
    if after is not None:
        if not keys or request.order_by:
            raise ValueError("a keyset split needs a scan ordered by the table's key")
        clauses.append(keyset_condition(keys, after))
    if clauses:
        text += " WHERE " + " AND ".join(clauses)
    if order:
        text += " ORDER BY " + ", ".join(order)
    count = request.limit if limit is None else limit
    if count is not None:
        text += f" FETCH FIRST {count} ROWS ONLY"
    return text
