"""Result column names as PostgreSQL gives them (its FigureColname rules), so a client
sees ``count``, not DuckDB's ``count_star()``, for ``SELECT count(*)``.

PostgreSQL names an unaliased output column after the column it reads, else the function
it calls (``sum``, ``coalesce``, ``exists``, ``case``), else the type it casts to
(``1::int`` is ``int4``), else ``?column?``; unquoted aliases fold to lower case. Only the
outermost select list (the first branch of a set operation) is renamed.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

UNNAMED = "?column?"
_CALL = re.compile(r"^\s*(?:pg_catalog\.)?([A-Za-z_][\w$]*)\s*(\(|$)")
_TYPE_NAMES = {
    "INT": "int4", "INTEGER": "int4", "BIGINT": "int8", "SMALLINT": "int2", "TINYINT": "int2",
    "TEXT": "text", "VARCHAR": "varchar", "CHAR": "bpchar", "DECIMAL": "numeric",
    "NUMERIC": "numeric", "DOUBLE": "float8", "FLOAT": "float4", "REAL": "float4",
    "BOOLEAN": "bool", "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMPTZ": "timestamptz",
    "TIME": "time", "INTERVAL": "interval", "JSON": "json", "JSONB": "jsonb", "UUID": "uuid",
    "VARBINARY": "bytea", "BINARY": "bytea", "BLOB": "bytea",
}


def name_columns_as_postgres(sql: str) -> str:
    """``sql`` with PostgreSQL's names as explicit aliases; unchanged when nothing needs
    one (or when sqlglot cannot parse it: the engine reports that error)."""
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return sql
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return sql
    changed = False
    for projection in select.expressions:
        renamed = _named(projection)
        if renamed is not projection:
            projection.replace(renamed)
            changed = True
    return tree.sql("postgres") if changed else sql


def _named(projection: exp.Expression) -> exp.Expression:
    if isinstance(projection, exp.Alias):
        alias = projection.args["alias"]
        if isinstance(alias, exp.Identifier) and not alias.quoted:
            return exp.alias_(projection.this, alias.name.lower(), quoted=True)
        return projection
    if isinstance(projection, exp.Star | exp.Column | exp.Dot):
        return projection  # DuckDB names a column after the column: as PostgreSQL
    return exp.alias_(projection, column_name(projection), quoted=True)


def column_name(node: exp.Expression) -> str:
    """PostgreSQL's name for an unaliased output expression."""
    name, _ = _figure(node)
    return name or UNNAMED


def _figure(node: exp.Expression) -> tuple[str | None, int]:
    """(name, strength) as FigureColnameInternal: 2 for a column, call or sublink, 1 for
    CASE and casts, 0 for anything else."""
    if isinstance(node, exp.Paren):
        return _figure(node.this)
    if isinstance(node, exp.Column):
        return node.name, 2
    if isinstance(node, exp.Cast | exp.TryCast):
        name, strength = _figure(node.this)
        if strength > 1:
            return name, strength
        to = node.to
        return _TYPE_NAMES.get(to.this.name, to.sql("postgres").split("(")[0].lower()), 1
    if isinstance(node, exp.Case):
        return "case", 1
    if isinstance(node, exp.Exists):
        return "exists", 2
    if isinstance(node, exp.Window):
        return _figure(node.this)
    if isinstance(node, exp.Subquery):  # (SELECT x ...) is named after x
        inner = node.this
        if isinstance(inner, exp.Select) and inner.expressions:
            first = inner.expressions[0]
            if isinstance(first, exp.Alias | exp.Column):
                return first.alias_or_name, 2
        return None, 0
    if isinstance(node, exp.Array):
        return "array", 2
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower(), 2
    if isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Predicate):
        call = _CALL.match(node.sql("postgres"))
        return (call.group(1).lower(), 2) if call else (None, 0)
    return None, 0
