"""The engine every entry point calls: plan, fetch, run in DuckDB, report.

One ``Federation`` per catalog. It owns the adapters (and their HTTP connection
pools), discovered schemas, the scan cache and per-source concurrency limits; each
query gets its own short-lived in-memory DuckDB connection that cannot reach files
or the network.
"""

from __future__ import annotations

import datetime as dt
import hmac
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
from cachetools import LRUCache

from adapters.concord import ModelAdapter
from adapters.contract import Adapter, TableInfo
from adapters.http import RetryPolicy, SourceHTTP
from adapters.registry import ADAPTERS
from federation.audit import AuditLedger, query_record
from federation.binder import schema_as_seen
from federation.cache import ScanCache
from federation.catalog import MODEL_SOURCE, Catalog, load_catalog
from federation.errors import (
    CatalogError,
    ConcordError,
    PermissionDeniedError,
    QueryCancelledError,
    SchemaMismatchError,
    SourceError,
)
from federation.fetch import Progress, SourceRuntime, fetch_scans
from federation.health import HealthBoard, SourceHealth
from federation.local import LocalDuckDB
from federation.planner import Plan, describe_query, plan_query
from federation.policy import Guard, guard_for
from federation.results import BATCH_ROWS, ResultStream
from federation.signin import SignInLimiter
from federation.stats import QueryStats
from federation.views import BUILTIN as BUILTIN_VIEWS
from federation.views import Views


class Cancel:
    """Lets another thread stop a running query: its pending fetches stop and its DuckDB
    work is interrupted. One per query."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._cursors: list[duckdb.DuckDBPyConnection] = []

    def cancel(self) -> None:
        self.event.set()
        with self._lock:
            for cursor in self._cursors:
                cursor.interrupt()

    def attach(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._cursors.append(cursor)
        if self.event.is_set():
            cursor.interrupt()

    def detach(self, cursor: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._cursors.remove(cursor)


class Federation:
    """Live SQL over the catalog's sources. Thread-safe; share one per process."""

    def __init__(self, catalog: Catalog, *, pushdown: bool = True,
                 ledger: AuditLedger | None = None) -> None:
        self.catalog = catalog
        self.default_pushdown = pushdown
        ledger_path = catalog.audit_ledger_path()
        if ledger is None and ledger_path is not None:
            ledger = AuditLedger(ledger_path)
        self.ledger = ledger
        self.cache = ScanCache(catalog.settings.cache_max_bytes)
        self.local = LocalDuckDB()
        self.views = Views([BUILTIN_VIEWS] + [catalog.base_dir / folder
                                              for folder in catalog.settings.views])
        self._runtimes: dict[str, SourceRuntime] = {}
        self._schemas: dict[str, tuple[float, dict[str, TableInfo]]] = {}
        # Plans depend only on the SQL and the discovered schemas, so repeated queries
        # (dashboards, BI tools) skip planning; any rediscovery empties this.
        self._plans: LRUCache = LRUCache(maxsize=512)
        self._guards: dict[str | None, Guard] = {}  # keeps each guard's memo across queries
        self._sign_ins = SignInLimiter()
        self._health = HealthBoard(self.source_names())
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- sources (the planner's view of the catalog) ----------------------------------

    def source_names(self) -> list[str]:
        return [*self.catalog.sources, MODEL_SOURCE]

    def runtime(self, source: str) -> SourceRuntime:
        with self._lock:
            runtime = self._runtimes.get(source)
            if runtime is None:
                runtime = self._runtimes[source] = self._build_runtime(source)
            return runtime

    def adapter(self, source: str) -> Adapter:
        return self.runtime(source).adapter

    def tables(self, source: str) -> dict[str, TableInfo]:
        """Discovered tables, refreshed after ``schema_ttl_seconds``."""
        ttl = self.catalog.settings.schema_ttl_seconds
        cached = self._schemas.get(source)
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
        tables = self.adapter(source).discover()
        self._schemas[source] = (time.monotonic(), tables)
        self._plans.clear()
        return tables

    def _build_runtime(self, source: str) -> SourceRuntime:
        if source == MODEL_SOURCE:
            model = ModelAdapter(source, self.catalog.unified, query=self._internal_sql,
                                 base_dir=self.catalog.base_dir)
            refresh = self.catalog.unified.identity.refresh_seconds
            return SourceRuntime(adapter=model, semaphore=threading.Semaphore(4),
                                 ttl=refresh, retry_budget=0)
        config = self.catalog.sources[source]
        adapter_cls = ADAPTERS[config.type]
        retry = config.retry
        http = None
        if adapter_cls.uses_http:
            http = SourceHTTP(
                source, config.url,
                policy=RetryPolicy(
                    max_attempts=retry.max_attempts, budget=retry.budget,
                    backoff_initial=retry.backoff_initial_seconds,
                    backoff_max=retry.backoff_max_seconds,
                    retry_after_max=retry.retry_after_max_seconds,
                ),
                timeout=config.timeout_seconds,
                max_connections=config.max_concurrency,
                requests_per_second=config.requests_per_second,
                rate_limit_headers=adapter_cls.rate_limit_headers,
            )
        options = adapter_cls.Options.model_validate(config.options)
        adapter = adapter_cls(source, http, options, self.catalog.credentials(source),
                              url=config.url, base_dir=self.catalog.base_dir)
        return SourceRuntime(adapter=adapter,
                             semaphore=threading.Semaphore(config.max_concurrency),
                             ttl=config.cache_ttl_seconds, retry_budget=retry.budget)

    # -- queries ----------------------------------------------------------------------

    def describe(self, sql: str, *, dialect: str = "duckdb",
                 user: str | None = None) -> pa.Schema:
        """The result's column names and types, without fetching or planning the fetch."""
        return describe_query(sql, self, self.local, dialect=dialect, views=self.views,
                              guard=self.guard(user))

    def view_schema(self, view: str) -> pa.Schema:
        """A view's columns for catalogs that list it (no data is read): as defined, not
        as any user sees it, since the catalog lists each role's granted views itself."""
        return describe_query(f"SELECT * FROM {view}", self, self.local, views=self.views)

    def schema_as_seen(self, guard: Guard | None, relation: str,
                       schema: pa.Schema) -> pa.Schema:
        """A relation's columns as ``guard``'s role reads them (masked columns take their
        mask's type), for catalogs that describe relations to a user."""
        return schema_as_seen(self.local, guard, relation, schema)

    def explain(self, sql: str, *, pushdown: bool | None = None,
                dialect: str = "duckdb", user: str | None = None) -> Plan:
        return self._plan(sql, self._pushdown(pushdown), dialect, self.guard(user))

    def guard(self, user: str | None) -> Guard | None:
        """What ``user`` may see (None: the catalog declares no users). Unknown users are
        refused with PermissionDeniedError."""
        governance = self.catalog.model.governance
        guard = self._guards.get(user)
        if guard is None:
            guard = guard_for(governance.users, governance.roles, governance.default_user,
                              user)
            if guard is not None:
                self._guards[user] = guard
        return guard

    def authenticate(self, user: str, password: str) -> Guard | None:
        """Check a sign-in (the dashboards' login) against the catalog's logins
        (``server.users``, as the wire server does) and return the user's guard. A wrong
        user or password is refused alike, so the refusal does not say which users
        exist. Five failures in a row lock a name out for a minute (``SignInLimiter``)."""
        self._sign_ins.check(user)
        expected = self.catalog.server_password(user) if user else None
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            self._sign_ins.failed(user)
            raise PermissionDeniedError("wrong user or password",
                                        hint="sign in with your Concord login")
        self._sign_ins.succeeded(user)
        return self.guard(user)

    def sql(self, sql: str, *, pushdown: bool | None = None, dialect: str = "duckdb",
            progress: Progress | None = None, cancel: Cancel | None = None,
            user: str | None = None) -> pa.Table:
        """Answer ``sql`` live; statistics land in ``last_stats``. ``cancel`` lets another
        thread stop it (QueryCancelledError)."""
        with self.stream(sql, pushdown=pushdown, dialect=dialect, progress=progress,
                         cancel=cancel, user=user) as result:
            return result.read_all()

    def stream(self, sql: str, *, pushdown: bool | None = None, dialect: str = "duckdb",
               progress: Progress | None = None, cancel: Cancel | None = None,
               batch_rows: int = BATCH_ROWS, user: str | None = None) -> ResultStream:
        """Answer ``sql`` as DuckDB produces it, a record batch at a time. Sources are
        fetched before this returns; the answer is computed as it is read. Close the
        stream (or use it as a context manager) if it is not read to the end. The query
        is recorded in the audit ledger (when the catalog keeps one) once it ends."""
        return self._stream(sql, pushdown=pushdown, dialect=dialect, progress=progress,
                            cancel=cancel, batch_rows=batch_rows, user=user, audited=True)

    def _internal_sql(self, sql: str) -> pa.Table:
        """A query the engine asks itself (the unified model's sources): not a user's, so
        not a ledger record of its own."""
        with self._stream(sql, audited=False) as result:
            return result.read_all()

    def _stream(self, sql: str, *, pushdown: bool | None = None, dialect: str = "duckdb",
                progress: Progress | None = None, cancel: Cancel | None = None,
                batch_rows: int = BATCH_ROWS, user: str | None = None,
                audited: bool) -> ResultStream:
        started = time.perf_counter()
        plan: Plan | None = None
        stats: QueryStats | None = None
        guard: Guard | None = None
        try:
            guard = self.guard(user) if audited else None
            try:
                plan = self._plan(sql, self._pushdown(pushdown), dialect, guard)
            except SourceError as exc:  # discovery reached a source and failed
                self._health.record_error(exc)
                raise
            planned = time.perf_counter()
            stats = QueryStats(sql=sql, pushdown=plan.pushdown,
                               planning_ms=round((planned - started) * 1000, 2))
            self._local.stats = stats
            tables = self._fetch(plan, stats, progress, cancel)
        except ConcordError as exc:
            if audited:
                self._audit(sql, user, guard, plan, stats, started, outcome="error",
                            error=exc)
            raise
        stats.fetch_ms = round((time.perf_counter() - planned) * 1000, 2)
        oldest = max((s.data_age_seconds for s in stats.scans), default=0.0)
        stats.as_of = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=oldest)).isoformat(
            timespec="seconds")
        cursor = self.local.cursor(tables)
        if cancel is not None:
            cancel.attach(cursor)

        def release(result: ResultStream) -> None:
            if cancel is not None:
                cancel.detach(cursor)
            cursor.close()
            if audited:
                self._audit(sql, user, guard, plan, result.stats, started,
                            outcome=result.outcome, error=result.error, digest=result.digest)

        return ResultStream(cursor, plan.local_sql, plan.output_names, stats,
                            on_close=release, batch_rows=batch_rows,
                            relations={s.relation: s.name for s in plan.scans})

    def _audit(self, sql: str, user: str | None, guard: Guard | None, plan: Plan | None,
               stats: QueryStats | None, started: float, *, outcome: str,
               error: BaseException | None = None, digest: str | None = None) -> None:
        if self.ledger is None:
            return
        self.ledger.append(query_record(
            user=guard.user if guard else user or self.catalog.model.governance.default_user,
            role=guard.role if guard else None, sql=sql, plan=plan, stats=stats,
            outcome=outcome, error=error, digest=digest,
            duration_ms=(time.perf_counter() - started) * 1000))

    def _fetch(self, plan: Plan, stats: QueryStats, progress: Progress | None,
               cancel: Cancel | None) -> dict[str, pa.Table]:
        """The plan's scans as Arrow tables (from the cache or the sources)."""
        runtimes = {scan.source: self.runtime(scan.source) for scan in plan.scans}
        try:
            tables, stats.scans = fetch_scans(
                plan.scans, runtimes, self.cache,
                max_workers=self.catalog.settings.max_parallel_scans, progress=progress,
                cancelled=cancel.event if cancel else None,
            )
        except SourceError as exc:
            self._health.record_error(exc)
            if isinstance(exc, SchemaMismatchError):
                self._schemas.pop(exc.source or "", None)  # rediscover on the next query
                self._plans.clear()
            raise
        self._health.record_scans(stats.scans)
        if cancel is not None and cancel.event.is_set():
            raise QueryCancelledError("the query was cancelled")
        return tables

    def health(self) -> list[SourceHealth]:
        """Each catalog source as the queries so far saw it (no source is called)."""
        return self._health.snapshot()

    @property
    def last_stats(self) -> QueryStats | None:
        """Statistics of the last query this thread ran."""
        return getattr(self._local, "stats", None)

    def _plan(self, sql: str, pushdown: bool, dialect: str, guard: Guard | None = None
              ) -> Plan:
        key = (sql, pushdown, dialect, guard.role if guard else None)
        plan = self._plans.get(key)
        if plan is None or self._schemas_expired(plan):
            plan = plan_query(sql, self, self.local, pushdown=pushdown, dialect=dialect,
                              views=self.views, guard=guard)
            self._plans[key] = plan
        return plan

    def _schemas_expired(self, plan: Plan) -> bool:
        ttl = self.catalog.settings.schema_ttl_seconds
        now = time.monotonic()
        return any(now - self._schemas.get(s.source, (-ttl - 1.0, {}))[0] >= ttl
                   for s in plan.scans)

    def _pushdown(self, override: bool | None) -> bool:
        return self.default_pushdown if override is None else override

    def close(self) -> None:
        for runtime in self._runtimes.values():
            runtime.adapter.close()
        self._runtimes.clear()
        self.local.close()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(catalog: str | Path | Catalog = "catalog.yaml", **kwargs: object) -> Federation:
    """Open a federation over a catalog file (or an already loaded Catalog)."""
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    if not catalog.sources:
        raise CatalogError("the catalog defines no sources")
    return Federation(catalog, **kwargs)  # type: ignore[arg-type]
