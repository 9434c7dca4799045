"""The local DuckDB every query finishes in.

One in-memory database per Federation, opened once (opening one costs ~30 ms); each
query gets its own cursor, whose registered Arrow relations no other query can see.
External access is disabled and the configuration locked for the whole database.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

DUCKDB_CONFIG = {"enable_external_access": False, "lock_configuration": True}


class LocalDuckDB:
    def __init__(self) -> None:
        self._db = duckdb.connect(":memory:", config=DUCKDB_CONFIG)
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
