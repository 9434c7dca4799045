"""The narrow contract every adapter implements.

The engine talks to a system only through this: discover its tables, ask whether a
predicate can be pushed and how faithfully, and scan into Arrow record batches.
Predicates are sqlglot expressions over *unqualified* column names as the source
spells them, so each adapter compiles them to its own dialect.
"""

from __future__ import annotations

import enum
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from federation.errors import SchemaMismatchError

if TYPE_CHECKING:
    from adapters.http import SourceHTTP


class Pushdown(enum.IntEnum):
    """How a source answers a predicate. Ordered so min() combines children."""

    UNSUPPORTED = 0  # evaluated locally only
    INEXACT = 1  # source returns a superset (e.g. case-insensitive); DuckDB re-applies
    EXACT = 2  # source returns exactly the matching rows


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    native_type: str = ""
    nullable: bool = True
    filterable: bool = True
    sortable: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[Column, ...]
    description: str = ""
    custom: bool = False

    def column(self, name: str) -> Column | None:
        wanted = name.lower()
        for col in self.columns:
            if col.name.lower() == wanted:
                return col
        return None

    def arrow_schema(self, names: tuple[str, ...] | None = None) -> pa.Schema:
        cols = self.columns if names is None else tuple(self.column(n) for n in names)
        return pa.schema([pa.field(c.name, c.type) for c in cols if c is not None])


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False
    nulls_first: bool = False


@dataclass(frozen=True)
class ScanRequest:
    """What the engine needs from one table: columns, filters, and maybe a top-N."""

    table: str
    columns: tuple[str, ...]
    filters: tuple[exp.Expression, ...] = ()
    limit: int | None = None
    order_by: tuple[SortKey, ...] = ()

    def filter_sql(self) -> tuple[str, ...]:
        return tuple(f.sql("duckdb") for f in self.filters)

    def key(self) -> tuple[Any, ...]:
        return (self.table, self.columns, self.filter_sql(), self.limit, self.order_by)


class RetryBudget:
    """Retries one source may spend within one query, shared by all its scans."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True


@dataclass
class ScanMetrics:
    """Filled in by the adapter while it scans; reported in the query statistics."""

    native_requests: list[str] = field(default_factory=list)
    pages: int = 0
    http_requests: int = 0
    rows: int = 0
    bytes: int = 0
    retries: int = 0
    rate_limit: str | None = None  # what the source said is left, e.g. "api-usage=18/5000"
    started: float = field(default_factory=time.monotonic)


@dataclass
class ScanContext:
    metrics: ScanMetrics
    retry_budget: RetryBudget
    cancelled: threading.Event = field(default_factory=threading.Event)


class Adapter(ABC):
    """One configured source. Instances are shared across queries and threads."""

    #: catalog ``type`` this adapter serves
    type_name: str = ""
    #: pydantic model validating the source's ``options`` in the catalog
    Options: Any = None
    #: URL schemes the catalog accepts for this source type
    url_schemes: tuple[str, ...] = ("http", "https")
    #: whether the engine should give the adapter an HTTP client (``http``)
    uses_http: bool = True
    #: response headers in which the source says how much of its rate limit is left
    rate_limit_headers: tuple[str, ...] = ()

    def __init__(self, name: str, http: SourceHTTP | None, options: Any,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        self.name = name
        self.http = http  # type: ignore[assignment]
        self.options = options
        self.credentials = credentials
        self.url = url
        self.base_dir = base_dir or Path.cwd()  # the catalog's folder: relative paths start here

    @abstractmethod
    def discover(self) -> dict[str, TableInfo]:
        """Tables and typed columns from the system's own metadata."""

    @abstractmethod
    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        """How faithfully the source can evaluate ``predicate`` on ``table``."""

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        """Whether the source orders ``key`` exactly as DuckDB would (for top-N pushdown)."""
        return False

    @abstractmethod
    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        """The request text a scan would send (SOQL, URL, ...), for explain and stats."""

    @abstractmethod
    def scan(
        self, table: TableInfo, request: ScanRequest, ctx: ScanContext
    ) -> Iterator[pa.RecordBatch]:
        """Yield the rows as record batches with exactly ``request.columns``."""

    #: sqlglot dialect when the source runs SQL itself (whole sub-plans may be pushed)
    sql_dialect: str | None = None

    def scan_query(self, sql: str, schema: pa.Schema,
                   ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        """Run a whole pushed sub-plan; only sources with ``sql_dialect`` implement it."""
        raise NotImplementedError(f"{self.type_name} does not run SQL")

    def close(self) -> None:
        """Release connections."""
        if self.http is not None:
            self.http.close()


def drift_error(source: str, table: TableInfo, field: str, what: str,
                now: str | None) -> SchemaMismatchError:
    """The one way adapters report schema drift: the discovered type and the current one.

    ``now`` is the type the source's metadata reports today (None: the field is gone).
    The engine rediscovers the schema after any SchemaMismatchError.
    """
    before = table.column(field)
    return SchemaMismatchError(
        f"{what}: discovered as {before.native_type if before else '?'}, now "
        f"{now or 'missing'}", source=source, object=table.name, field=field,
        hint=f"the field changed in {source}; Concord rediscovers the schema on the next query")


class Credentials(ABC):
    """Secrets for one source, revealed only when a connection needs them."""

    @abstractmethod
    def get(self, key: str) -> str | None:
        """The secret's value, or None when the catalog does not set ``key``."""

    @abstractmethod
    def describe(self, key: str) -> str:
        """Where ``key`` comes from (``env CONCORD_X``), safe to show in errors."""
