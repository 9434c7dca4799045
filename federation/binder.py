"""Bind the query as written with DuckDB over empty tables of the discovered types.

This catches unknown columns, type errors and bad function calls before any request
reaches a source, phrases them in the source's terms, and yields the result's column
names exactly as DuckDB would name them.
"""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from federation.errors import QueryError
from federation.local import LocalDuckDB

_MISSING_COLUMN = re.compile(r'Referenced column "([^"]+)" not found')
_CANDIDATES = re.compile(r"Candidate bindings: (.*)")
_PROBE = re.compile(r'"?(__probe_\d+)"?')


def explain_error(message: str, names: dict[str, str]) -> QueryError:
    """DuckDB's binder message, in the source's terms, with a fix."""
    text = _PROBE.sub(lambda m: names.get(m.group(1), m.group(0)), message.strip())
    missing = _MISSING_COLUMN.search(text)
    if missing:
        column = missing.group(1)
        candidates = _CANDIDATES.search(text)
        hint = "run `concord sources --columns` to list the columns"
        if candidates:
            first = candidates.group(1).split(",")[0].strip().strip('"')
            hint = f"did you mean {first.split('.')[-1].strip(chr(34))}?"
        tables = set(names.values())
        prefix = f"{next(iter(tables))}." if len(tables) == 1 else ""
        return QueryError(f"unknown column {prefix}{column}", hint=hint)
    first_line = next((line for line in text.splitlines() if line.strip()), text)
    return QueryError(first_line, hint="check the query against `concord sources --columns`")


def bind_schema(local: LocalDuckDB, sql: str, relations: dict[str, pa.Schema],
                names: dict[str, str]) -> pa.Schema:
    """The output columns of ``sql``: names as DuckDB gives them to the query as written
    (duplicates kept) and Arrow types, bound over empty relations without running it;
    ``names`` maps each relation to ``source.object`` for error messages."""
    empty = {relation: schema.empty_table() for relation, schema in relations.items()}
    with local.session(empty) as con:
        try:
            relation = con.sql(sql)
            columns = relation.columns
            types = relation.limit(0).to_arrow_table().schema.types  # binds, runs nothing
        except duckdb.Error as exc:
            raise explain_error(str(exc), names) from None
    return pa.schema([pa.field(name, kind) for name, kind in
                      zip(columns, types, strict=True)])
