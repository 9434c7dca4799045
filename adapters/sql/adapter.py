"""SQL databases over ADBC (PostgreSQL, SQLite): Arrow straight from the driver.

Legacy ERPs live in ordinary databases. Discovery reads the database's own catalog
(information_schema or PRAGMA); scans send one SELECT with the pushed filters and
top-N, and results arrive as Arrow record batches, cast to the discovered types
(PostgreSQL's NUMERIC arrives as text, SQLite's dates as text).
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

from adapters.contract import (
    Adapter,
    Column,
    Credentials,
    Pushdown,
    ScanContext,
    ScanRequest,
    SortKey,
    TableInfo,
)
from adapters.predicates import combine, lower
from adapters.sql.dialect import Dialect, dialect_for, quote_ident
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
    SourceUnavailableError,
)


class SqlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_name: str | None = None  # default: public (PostgreSQL), main (SQLite)
    tables: list[str] | None = None  # expose only these tables
    pool_size: int = 4


class SqlAdapter(Adapter):
    """One database. ``url``: ``postgresql://user@host:port/db`` or ``sqlite:///path``."""

    type_name = "sql"
    Options = SqlOptions
    url_schemes = ("postgresql", "postgres", "sqlite")
    uses_http = False

    def __init__(self, name: str, http: Any, options: SqlOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        try:
            self.dialect: Dialect = dialect_for(url)
        except ValueError as exc:
            raise CatalogError(str(exc), source=name, object="url",
                               hint="use postgresql://... or sqlite:///path") from exc
        self.sql_dialect = "sqlite" if self.dialect.name == "sqlite" else "postgres"
        self.schema = options.schema_name or ("main" if self.dialect.name == "sqlite"
                                              else "public")
        self._pool: queue.LifoQueue = queue.LifoQueue()

    # -- connections --------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            if self.dialect.name == "sqlite":
                import adbc_driver_sqlite.dbapi as sqlite

                path = Path(urlsplit(self.url).path)
                if not path.is_absolute():  # sqlite:relative/path starts at the catalog
                    path = self.base_dir / path
                if not path.exists():
                    raise SourceUnavailableError(f"no database file at {path}", source=self.name,
                                                 hint="check the sqlite: url in the catalog")
                return sqlite.connect(str(path))
            import adbc_driver_postgresql.dbapi as postgres

            return postgres.connect(_with_password(self.url, self.credentials.get("password")))
        except (CatalogError, SourceUnavailableError):
            raise
        except Exception as exc:  # noqa: BLE001 - ADBC raises driver-specific errors
            text = str(exc)
            if "password" in text.lower() or "authentication" in text.lower():
                raise AuthenticationError(f"login refused ({_first_line(text)})",
                                          source=self.name,
                                          hint="check the user in url and auth.password "
                                               f"({self.credentials.describe('password')})") \
                    from None
            raise SourceUnavailableError(f"cannot connect: {_first_line(text)}",
                                         source=self.name,
                                         hint="check that the database is up and the url is "
                                              "right") from None

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            con = self._pool.get_nowait()
        except queue.Empty:
            con = self._connect()
        try:
            yield con
        except BaseException:
            con.close()
            raise
        if self._pool.qsize() < self.options.pool_size:
            self._pool.put(con)
        else:
            con.close()

    def _query(self, sql: str, object: str | None = None) -> pa.Table:
        with self._connection() as con, con.cursor() as cur:
            try:
                cur.execute(sql)
                return cur.fetch_arrow_table()
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, object) from None

    def _error(self, exc: Exception, object: str | None) -> SourceError:
        text = _first_line(str(exc))
        if "does not exist" in text or "no such" in text:
            return SchemaMismatchError(text, source=self.name, object=object,
                                       hint="the table or column changed since discovery; "
                                            "Concord rediscovers on the next query")
        return SourceQueryError(text, source=self.name, object=object,
                                hint="the database refused the SQL Concord sent; rerun with "
                                     "--no-pushdown and report it")

    # -- discovery ----------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        columns: dict[str, list[Column]] = {}
        for table, name, declared, precision, scale in self._catalog_rows():
            if self.options.tables is not None and table not in self.options.tables:
                continue
            arrow = self.dialect.arrow_type(declared, precision, scale)
            columns.setdefault(table, []).append(Column(name, arrow, native_type=declared))
        return {t: TableInfo(t, tuple(cols), description=f"{self.schema}.{t}")
                for t, cols in columns.items()}

    def _catalog_rows(self) -> list[tuple[str, str, str, int | None, int | None]]:
        if self.dialect.name == "sqlite":
            tables = self._query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                 "AND name NOT LIKE 'sqlite_%' ORDER BY name")
            rows = []
            for table in tables.column("name").to_pylist():
                info = self._query(f"PRAGMA table_info({quote_ident(table)})")
                for r in info.to_pylist():
                    rows.append((table, r["name"], r["type"] or "", None, None))
            return rows
        schema = self.schema.replace("'", "''")
        result = self._query(
            "SELECT table_name, column_name, data_type, numeric_precision, numeric_scale "
            f"FROM information_schema.columns WHERE table_schema = '{schema}' "
            "ORDER BY table_name, ordinal_position")
        return [(r["table_name"], r["column_name"], r["data_type"], r["numeric_precision"],
                 r["numeric_scale"]) for r in result.to_pylist()]

    # -- pushdown -----------------------------------------------------------------------

    def _compile(self, table: TableInfo, node: exp.Expression):
        predicate = lower(table, node)
        if predicate is None:
            return None
        return combine(predicate, self.dialect.leaf,
                       lambda word, parts: "(" + f" {word} ".join(parts) + ")",
                       lambda text: f"(NOT {text})")

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = self._compile(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return self.dialect.can_sort(table, key)

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        columns = ", ".join(quote_ident(c) for c in request.columns)
        sql = f"SELECT {columns} FROM {quote_ident(self.schema)}.{quote_ident(table.name)}"
        clauses = []
        for predicate in request.filters:
            compiled = self._compile(table, predicate)
            if compiled is None:
                raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
            clauses.append(compiled.text)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if request.order_by:
            sql += " ORDER BY " + ", ".join(
                self.dialect.order_key(table.column(k.column), k)  # type: ignore[arg-type]
                for k in request.order_by)
        if request.limit is not None:
            sql += f" LIMIT {request.limit}"
        return sql

    # -- scanning -----------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        yield from self._run(table, self.native_request(table, request),
                             table.arrow_schema(request.columns), ctx)

    def scan_query(self, sql: str, schema: pa.Schema,
                   ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        table = TableInfo("query", tuple(Column(f.name, f.type, native_type=str(f.type))
                                         for f in schema))
        yield from self._run(table, sql, schema, ctx)

    def _run(self, table: TableInfo, sql: str, schema: pa.Schema,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        ctx.metrics.native_requests.append(sql)
        with self._connection() as con, con.cursor() as cur:
            try:
                cur.execute(sql)
                reader = cur.fetch_record_batch()
                ctx.metrics.http_requests += 1
                for batch in reader:
                    ctx.metrics.pages += 1
                    ctx.metrics.rows += batch.num_rows
                    ctx.metrics.bytes += batch.nbytes
                    yield self._conform(table, batch, schema)
            except SourceError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise self._error(exc, table.name) from None

    def _conform(self, table: TableInfo, batch: pa.RecordBatch,
                 schema: pa.Schema) -> pa.RecordBatch:
        """Cast driver types to the discovered ones (NUMERIC text, SQLite dates, int32)."""
        arrays = []
        for i, field in enumerate(schema):
            array = batch.column(i)
            if array.type != field.type:
                try:
                    if isinstance(array.type, pa.ExtensionType):
                        array = array.storage
                    if pa.types.is_null(array.type) or array.null_count == len(array):
                        array = pa.nulls(len(array), field.type)
                    elif pa.types.is_date(field.type) and pa.types.is_string(array.type):
                        array = pc.cast(pc.utf8_slice_codeunits(array, 0, 10), field.type)
                    elif pa.types.is_decimal(field.type) and not pa.types.is_string(array.type):
                        array = _to_decimal(array, field.type)
                    else:
                        array = pc.cast(array, field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    sample = next((v for v in batch.column(i).to_pylist() if v is not None), None)
                    raise SchemaMismatchError(
                        f"sent {sample!r} ({array.type}), which does not fit {field.type}: "
                        f"discovered as {table.column(field.name).native_type}",  # type: ignore
                        source=self.name, object=table.name, field=field.name,
                        hint="the column changed in the database; Concord rediscovers on the "
                             "next query") from None
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def close(self) -> None:
        while not self._pool.empty():
            self._pool.get_nowait().close()


def _to_decimal(array: pa.Array, target: pa.DataType) -> pa.Array:
    """Numbers to DECIMAL(p, s): SQLite stores NUMERIC values as INTEGER or REAL."""
    wide = pa.decimal128(38, target.scale)
    if pa.types.is_floating(array.type):
        array = pc.cast(pc.round(array, target.scale), wide, safe=False)
    return pc.cast(pc.cast(array, wide), target)


def _with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` in its userinfo, both percent-encoded: a password with
    ``@``, ``/``, ``#`` or ``:`` would otherwise move the host, path or fragment."""
    if password is None:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = quote(unquote(parts.username or ""), safe="")  # the url may spell it encoded
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
