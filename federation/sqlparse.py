"""Parse SQL and refuse anything that is not a read-only query.

This is the first wall; DuckDB running with external access disabled and its
configuration locked is the second.
"""

from __future__ import annotations

import logging
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from federation.errors import NotAllowedError, QueryError

QUERY_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)

# Functions that read files, reach the network, or run SQL text the guard never saw.
DENIED_FUNCTIONS = frozenset({
    "glob", "query", "query_table", "sniff_csv", "parquet_scan", "parquet_metadata",
    "parquet_schema", "parquet_file_metadata", "parquet_kv_metadata", "delta_scan",
    "iceberg_scan", "iceberg_metadata", "iceberg_snapshots", "sqlite_scan", "sqlite_attach",
    "postgres_scan", "postgres_query", "postgres_attach", "mysql_scan", "mysql_query",
    "load_aws_credentials", "getenv", "duckdb_secrets", "which_secret", "checkpoint",
    "force_checkpoint", "install", "load", "export_database", "import_database",
})
DENIED_PREFIXES = ("read_", "scan_", "write_", "copy_")

_STATEMENT_WORDS = frozenset({
    "ALTER", "ATTACH", "CALL", "CHECKPOINT", "COMMENT", "COPY", "CREATE", "DELETE", "DETACH",
    "DROP", "EXPORT", "GRANT", "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PRAGMA",
    "RESET", "REVOKE", "SET", "TRUNCATE", "UPDATE", "UPSERT", "USE", "VACUUM",
})
_FIRST_WORD = re.compile(r"^(?:\s|--[^\n]*\n|/\*.*?\*/)*([A-Za-z]+)", re.S)

# sqlglot warns when it falls back to a generic Command; we refuse those anyway.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def parse_query(sql: str, dialect: str = "duckdb") -> exp.Expression:
    """Parse one statement; PostgreSQL syntax is accepted when DuckDB's parser balks."""
    first = _FIRST_WORD.match(sql)
    if first and first.group(1).upper() in _STATEMENT_WORDS:
        raise NotAllowedError(
            f"{first.group(1).upper()} statements are not allowed: Concord is read-only",
            hint="only SELECT queries (with WITH, UNION, joins, subqueries) run",
        )
    dialects = [dialect] + [d for d in ("duckdb", "postgres") if d != dialect]
    first_error: Exception | None = None
    for name in dialects:
        try:
            statements = [s for s in sqlglot.parse(sql, read=name) if s is not None]
        except (ParseError, TokenError) as exc:
            first_error = first_error or exc
            continue
        if not statements:
            raise QueryError("empty query", hint="write a SELECT statement")
        if len(statements) > 1:
            raise NotAllowedError("only one statement per query is allowed",
                                  hint="send statements one at a time")
        return statements[0]
    raise _syntax_error(sql, first_error)


def _syntax_error(sql: str, exc: Exception | None) -> QueryError:
    if isinstance(exc, ParseError) and exc.errors:
        err = exc.errors[0]
        line, col = err.get("line"), err.get("col")
        near = (err.get("highlight") or "").strip()
        desc = str(err.get("description", "syntax error")).split(". Line")[0]
        near_text = f" near {near!r}" if near else ""
        return QueryError(f"syntax error at line {line}, column {col}{near_text}: {desc}",
                          hint="check the SQL around that position")
    return QueryError(f"syntax error: {exc}", hint="check the SQL")


def refuse_non_queries(tree: exp.Expression) -> None:
    """Raise NotAllowedError unless ``tree`` only reads."""
    if not isinstance(tree, QUERY_ROOTS):
        what = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
        raise NotAllowedError(
            f"{what} statements are not allowed: Concord is read-only",
            hint="only SELECT queries (with WITH, UNION, joins, subqueries) run",
        )
    for node in tree.walk():
        if isinstance(node, (exp.DML, exp.DDL, exp.Command, exp.Into)) or (
            isinstance(node, exp.Set) and node is not tree
        ):
            raise NotAllowedError(f"{node.key.upper()} inside a query is not allowed",
                                  hint="Concord only runs read-only queries")
        name = _function_name(node)
        if name and (name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)):
            raise NotAllowedError(
                f"function {name}() is not allowed: it reads files, the network or raw SQL",
                hint="query sources through their tables, e.g. salesforce.Opportunity",
            )


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def is_source_table(node: object) -> bool:
    """A bound ``<source>.<object>`` reference (not a CTE name, view or table function)."""
    return isinstance(node, exp.Table) and bool(node.db) and isinstance(node.this,
                                                                         exp.Identifier)


def source_tables(tree: exp.Expression) -> list[exp.Table]:
    """Table references that are not CTE names or table functions."""
    found: list[exp.Table] = []
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
                found.append(source)
    # tables inside scopes traverse_scope does not list as sources (e.g. lateral) still count
    seen = {id(t) for t in found}
    for table in tree.find_all(exp.Table):
        if id(table) not in seen and is_source_table(table):
            found.append(table)
    return found
