"""The local DuckDB every query finishes in.

One in-memory database per Federation, opened once (opening one costs ~30 ms); each
query gets its own cursor, whose registered Arrow relations no other query can see.
External access is disabled and the configuration locked for the whole database.

Every session runs in UTC, whatever the host's time zone: pushed timestamp predicates are
compiled as UTC instants (``adapters/predicates.py``), so DuckDB must read a naive
timestamp literal the same way or pushdown would change answers on a host outside UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

DUCKDB_CONFIG = {"enable_external_access": False}


class LocalDuckDB:
    def __init__(self) -> None:
        self._db = duckdb.connect(":memory:", config=DUCKDB_CONFIG)
        # TimeZone needs ICU, which loads on first use: set it (globally, for every cursor)
        # before the configuration is locked
        self._db.sql("SET GLOBAL TimeZone = 'UTC'")
        self._db.sql("SET GLOBAL lock_configuration = true")
        self._lock = threading.Lock()

    def cursor(self, relations: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
        """A private cursor with ``relations`` registered; the caller closes it."""
        with self._lock:
            cursor = self._db.cursor()
        try:
            for name, table in relations.items():
                cursor.register(name, table)
        except BaseException:
            cursor.close()
            raise
        return cursor

    @contextmanager
    def session(self, relations: dict[str, pa.Table]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A private cursor with ``relations`` registered, closed afterwards."""
        cursor = self.cursor(relations)
        try:
            yield cursor
        finally:
            cursor.close()

    def close(self) -> None:
        self._db.close()
