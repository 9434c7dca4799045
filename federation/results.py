"""A query's answer as DuckDB produces it, a record batch at a time.

The wire server sends a million-row answer without ever holding it: each batch is read
from DuckDB's streaming result only when the client has taken the previous one. The
stream owns its DuckDB cursor (and the fetched source tables registered on it) until it
is read to the end or closed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import duckdb
import pyarrow as pa

from federation.errors import QueryCancelledError, QueryError
from federation.stats import QueryStats

#: rows per record batch read from DuckDB
BATCH_ROWS = 16_384


class ResultStream:
    """Iterate for record batches; ``read_all()`` for a table. Close when done early.

    ``outcome`` ends as ``ok`` (read to the end), ``incomplete`` (closed before) or
    ``error``; ``digest`` is the SHA-256 of the batches sent (their Arrow IPC bytes), so the
    audit ledger can record what a user was given."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, local_sql: str,
                 output_names: list[str], stats: QueryStats, *,
                 on_close: Callable[[ResultStream], None], batch_rows: int = BATCH_ROWS,
                 relations: dict[str, str] | None = None) -> None:
        self.stats = stats
        self.outcome, self.error = "incomplete", None  # type: str, BaseException | None
        self._cursor, self._on_close = cursor, on_close
        self._relations = relations or {}  # engine relation -> source.object, for errors
        self._digest = hashlib.sha256()
        self._started = time.perf_counter()
        self._closed = False
        try:
            self._reader = cursor.sql(local_sql).to_arrow_reader(batch_rows)
        except BaseException as exc:
            self._fail(exc)
        schema = self._reader.schema
        if len(output_names) == len(schema):
            schema = pa.schema([f.with_name(n) for f, n in zip(schema, output_names,
                                                               strict=True)])
        self.schema: pa.Schema = schema

    def read_next(self) -> pa.RecordBatch | None:
        """The next batch, or None at the end (the stream is then closed)."""
        if self._closed:
            return None
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            self.outcome = "ok"
            self.close()
            return None
        except BaseException as exc:
            self._fail(exc)
        self.stats.rows_returned += batch.num_rows
        batch = pa.RecordBatch.from_arrays(batch.columns, schema=self.schema)
        self._digest.update(batch.serialize())
        return batch

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    def _fail(self, exc: BaseException) -> None:
        error = _concord_error(exc, self._relations)
        self.outcome, self.error = "error", error
        self.close()
        raise error from None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while (batch := self.read_next()) is not None:
            yield batch

    def read_all(self) -> pa.Table:
        return pa.Table.from_batches(list(self), schema=self.schema)

    def close(self) -> None:
        """Release the DuckDB cursor (interrupting work still running); idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stats.duckdb_ms = round((time.perf_counter() - self._started) * 1000, 2)
        self.stats.total_ms = round(self.stats.planning_ms + self.stats.fetch_ms
                                    + self.stats.duckdb_ms, 2)
        self._on_close(self)

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _concord_error(exc: BaseException, relations: dict[str, str] | None = None
                   ) -> BaseException:
    """DuckDB's failure as Concord's: an interrupt while streaming arrives as an OSError
    from the Arrow reader, other failures as duckdb.Error or ArrowException. The message is
    DuckDB's first line, with the engine's relations (``__scan_0``) named as the user
    knows them (``salesforce.Account``); the rewritten SQL DuckDB quotes is left out."""
    text = str(exc)
    if isinstance(exc, duckdb.InterruptException) or "INTERRUPT" in text:
        return QueryCancelledError("the query was cancelled")
    if isinstance(exc, duckdb.Error | pa.ArrowException | OSError):
        first = next((line for line in text.splitlines() if line.strip()), text).strip()
        for relation, name in sorted((relations or {}).items(), key=lambda r: -len(r[0])):
            first = first.replace(relation, name)
        return QueryError(first, hint="DuckDB could not run the query")
    return exc


class Answer(Protocol):
    """What the wire server reads an answer through: a stream or a ready table."""

    schema: pa.Schema

    def read_next(self) -> pa.RecordBatch | None: ...

    def close(self) -> None: ...


class TableStream:
    """A ready table (a catalog query's, SHOW's) read like a ResultStream."""

    def __init__(self, table: pa.Table, batch_rows: int = BATCH_ROWS) -> None:
        self.schema = table.schema
        self._batches = iter(table.to_batches(max_chunksize=batch_rows))

    def read_next(self) -> pa.RecordBatch | None:
        return next(self._batches, None)

    def close(self) -> None:
        self._batches = iter(())
