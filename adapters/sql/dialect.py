"""Per-database details: type mapping and how predicates render as SQL.

PostgreSQL compares strings case-sensitively, as DuckDB does; ranges on strings carry
``COLLATE "C"`` so they order by bytes like DuckDB whatever the column's collation.
SQLite's LIKE ignores ASCII case (inexact) and stores dates and decimals loosely, so
only its integer, string and ISO-date comparisons are pushed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pyarrow as pa

from adapters.contract import Column, Pushdown, SortKey, TableInfo
from adapters.predicates import Compare, Compiled, Flag, InList, IsNull, Leaf, Like

_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", re.I)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_text(value: str) -> str | None:
    if "\x00" in value:
        return None
    return "'" + value.replace("'", "''") + "'"


class Dialect:
    name = "sql"

    def arrow_type(self, declared: str, precision: int | None = None,
                   scale: int | None = None) -> pa.DataType:
        raise NotImplementedError

    def leaf(self, leaf: Leaf) -> Compiled | None:
        raise NotImplementedError

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        raise NotImplementedError

    def order_key(self, column: Column, key: SortKey) -> str:
        direction = "DESC" if key.descending else "ASC"
        nulls = "NULLS FIRST" if key.nulls_first else "NULLS LAST"
        return f"{quote_ident(column.name)} {direction} {nulls}"


def _number(value: Any) -> str | None:
    return format(value, "f") if isinstance(value, Decimal) else None


class PostgresDialect(Dialect):
    name = "postgresql"

    def arrow_type(self, declared: str, precision: int | None = None,
                   scale: int | None = None) -> pa.DataType:
        t = declared.lower()
        if t in ("smallint", "integer", "bigint", "int2", "int4", "int8"):
            return pa.int64()
        if t in ("real", "double precision", "float4", "float8"):
            return pa.float64()
        if t in ("numeric", "decimal"):
            if precision:
                return pa.decimal128(precision, scale or 0)
            return pa.float64()
        if t == "boolean":
            return pa.bool_()
        if t == "date":
            return pa.date32()
        if t.startswith("timestamp with time zone"):
            return pa.timestamp("us", tz="UTC")
        if t.startswith("timestamp"):
            return pa.timestamp("us")
        return pa.string()

    def _literal(self, column: Column, value: Any) -> str | None:
        kind = column.type
        if isinstance(value, bool):
            return ("TRUE" if value else "FALSE") if pa.types.is_boolean(kind) else None
        if isinstance(value, str):
            return quote_text(value) if pa.types.is_string(kind) else None
        if isinstance(value, Decimal):
            numeric = (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                       or pa.types.is_decimal(kind))
            return _number(value) if numeric else None
        if isinstance(value, dt.datetime):
            if not pa.types.is_timestamp(kind):
                return None
            if kind.tz:
                return f"TIMESTAMPTZ '{value.isoformat()}'"
            naive = value.astimezone(dt.UTC).replace(tzinfo=None)
            return f"TIMESTAMP '{naive.isoformat(sep=' ')}'"
        if isinstance(value, dt.date):
            return f"DATE '{value.isoformat()}'" if pa.types.is_date(kind) else None
        return None

    def leaf(self, leaf: Leaf) -> Compiled | None:
        col = leaf.column
        name = quote_ident(col.name)
        if isinstance(leaf, Flag):
            return Compiled(f"{name} = {'TRUE' if leaf.value else 'FALSE'}", Pushdown.EXACT)
        if isinstance(leaf, IsNull):
            return Compiled(f"{name} IS {'NOT ' if leaf.negated else ''}NULL", Pushdown.EXACT)
        if isinstance(leaf, Compare):
            literal = self._literal(col, leaf.value)
            if literal is None:
                return None
            collate = ' COLLATE "C"' if pa.types.is_string(col.type) and leaf.op not in (
                "=", "!=") else ""
            return Compiled(f"{name}{collate} {leaf.op} {literal}", Pushdown.EXACT)
        if isinstance(leaf, InList):
            literals = [self._literal(col, v) for v in leaf.values]
            if any(lit is None for lit in literals) or len(literals) > 1000:
                return None
            return Compiled(f"{name} IN ({', '.join(literals)})", Pushdown.EXACT)  # type: ignore
        if isinstance(leaf, Like):
            if "\\" in leaf.pattern:
                return None  # PostgreSQL's LIKE escapes with backslash, DuckDB's does not
            quoted = quote_text(leaf.pattern)
            if quoted is None or leaf.case_insensitive:
                return None  # ILIKE folds case by the server's locale, DuckDB by Unicode
            return Compiled(f"{name} LIKE {quoted}", Pushdown.EXACT)
        return None

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        col = table.column(key.column)
        return col is not None and not pa.types.is_boolean(col.type)

    def order_key(self, column: Column, key: SortKey) -> str:
        if pa.types.is_string(column.type):
            direction = "DESC" if key.descending else "ASC"
            nulls = "NULLS FIRST" if key.nulls_first else "NULLS LAST"
            return f'{quote_ident(column.name)} COLLATE "C" {direction} {nulls}'
        return super().order_key(column, key)


class SqliteDialect(Dialect):
    name = "sqlite"

    def arrow_type(self, declared: str, precision: int | None = None,
                   scale: int | None = None) -> pa.DataType:
        t = declared.lower().strip()
        numeric = _NUMERIC.match(t)
        if numeric:
            return pa.decimal128(int(numeric.group(1)), int(numeric.group(2) or 0))
        if "int" in t:
            return pa.int64()
        if any(word in t for word in ("real", "floa", "doub")):
            return pa.float64()
        if t in ("bool", "boolean"):
            return pa.bool_()
        if t == "date":
            return pa.date32()
        if t.startswith(("timestamp", "datetime")):
            return pa.timestamp("us")
        return pa.string()

    def leaf(self, leaf: Leaf) -> Compiled | None:
        col = leaf.column
        name = quote_ident(col.name)
        kind = col.type
        if isinstance(leaf, IsNull):
            return Compiled(f"{name} IS {'NOT ' if leaf.negated else ''}NULL", Pushdown.EXACT)
        if isinstance(leaf, Flag):
            return Compiled(f"{name} = {1 if leaf.value else 0}", Pushdown.EXACT)
        if isinstance(leaf, (Compare, InList)):
            values = [leaf.value] if isinstance(leaf, Compare) else list(leaf.values)
            literals = [self._literal(kind, v) for v in values]
            if any(lit is None for lit in literals) or len(literals) > 500:
                return None
            target = f"date({name})" if pa.types.is_date(kind) else name
            if isinstance(leaf, Compare):
                return Compiled(f"{target} {leaf.op} {literals[0]}", Pushdown.EXACT)
            return Compiled(f"{target} IN ({', '.join(literals)})", Pushdown.EXACT)  # type: ignore
        if isinstance(leaf, Like) and pa.types.is_string(kind) and not leaf.case_insensitive:
            quoted = quote_text(leaf.pattern)
            # SQLite's LIKE ignores ASCII case only: a superset of DuckDB's LIKE (not ILIKE)
            return None if quoted is None else Compiled(f"{name} LIKE {quoted}", Pushdown.INEXACT)
        return None

    def _literal(self, kind: pa.DataType, value: Any) -> str | None:
        if isinstance(value, str):
            return quote_text(value) if pa.types.is_string(kind) else None
        if isinstance(value, Decimal):
            # decimals are stored as REAL in SQLite: only integers compare exactly
            integral = value == value.to_integral_value()
            return _number(value) if pa.types.is_integer(kind) and integral else None
        if isinstance(value, dt.datetime):
            return None  # timestamps are free-form text in SQLite
        if isinstance(value, dt.date):
            return f"'{value.isoformat()}'" if pa.types.is_date(kind) else None
        return None

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        col = table.column(key.column)
        return col is not None and (pa.types.is_integer(col.type) or pa.types.is_string(col.type))


def dialect_for(url: str) -> Dialect:
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDialect()
    if url.startswith("sqlite:"):
        return SqliteDialect()
    raise ValueError(f"unsupported database URL {url.split(':', 1)[0]}://")
