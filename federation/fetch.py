"""Fetch every planned scan, concurrently, from the cache or the source.

Scans run in a thread pool; each source has its own concurrency cap shared across
queries and its own retry budget per query. If any scan fails, the others are told
to stop and the query fails: a partial answer is never returned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx
import pyarrow as pa

from adapters.contract import Adapter, RetryBudget, ScanContext, ScanMetrics
from federation.cache import ScanCache
from federation.errors import ConcordError, SourceError
from federation.planner import PlannedScan
from federation.stats import ScanStats

Progress = Callable[[PlannedScan, int], None]


@dataclass
class SourceRuntime:
    """Per-source things that live across queries."""

    adapter: Adapter
    semaphore: threading.Semaphore
    ttl: float
    retry_budget: int


def fetch_scans(
    scans: list[PlannedScan],
    runtimes: dict[str, SourceRuntime],
    cache: ScanCache,
    *,
    max_workers: int,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> tuple[dict[str, pa.Table], list[ScanStats]]:
    """Return relation name → Arrow table, and one ScanStats per planned scan."""
    stats = [_stats_for(scan, runtimes) for scan in scans]
    tables: dict[str, pa.Table] = {}
    # identical requests (e.g. a self-join) are fetched once
    unique: dict[tuple, list[int]] = {}
    for i, scan in enumerate(scans):
        unique.setdefault((scan.source, scan.request.key(), scan.pruned), []).append(i)

    budgets = {name: RetryBudget(rt.retry_budget) for name, rt in runtimes.items()}
    cancelled = cancelled or threading.Event()  # set by a failing scan or the caller
    pending: dict[Future, list[int]] = {}
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="scan") as pool:
        for indexes in unique.values():
            scan = scans[indexes[0]]
            if scan.pruned:
                empty = scan.table.arrow_schema(scan.request.columns).empty_table()
                for i in indexes:
                    tables[scans[i].relation] = empty
                continue
            cached = cache.get(scan.source, scan.request)
            if cached is not None:
                table = cached.table.select(list(scan.request.columns))
                for i in indexes:
                    tables[scans[i].relation] = table
                    stats[i].cache_hit = True
                    stats[i].rows = table.num_rows
                    stats[i].data_age_seconds = round(time.time() - cached.fetched_at, 3)
                continue
            ctx = ScanContext(metrics=ScanMetrics(), retry_budget=budgets[scan.source],
                              cancelled=cancelled)
            future = pool.submit(_run_scan, scan, runtimes[scan.source], ctx, progress)
            pending[future] = indexes
        done, not_done = wait(pending, return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:
            cancelled.set()
            for future in not_done:
                future.cancel()
            wait(not_done)
            first = min(failed, key=lambda f: pending[f][0])
            raise first.exception()  # type: ignore[misc]
    for future, indexes in pending.items():
        table, metrics, elapsed = future.result()
        scan = scans[indexes[0]]
        cache.put(scan.source, scan.request, table, runtimes[scan.source].ttl)
        for n, i in enumerate(indexes):
            tables[scans[i].relation] = table
            if n == 0:
                _record(stats[i], metrics, elapsed)
            else:
                stats[i].cache_hit = True
                stats[i].rows = table.num_rows
    return tables, stats


def _run_scan(scan: PlannedScan, runtime: SourceRuntime, ctx: ScanContext,
              progress: Progress | None) -> tuple[pa.Table, ScanMetrics, float]:
    started = time.perf_counter()
    schema = scan.table.arrow_schema(scan.request.columns)
    batches = []
    with runtime.semaphore:
        try:
            if scan.query is not None:
                batches_in = runtime.adapter.scan_query(scan.query, schema, ctx)
            else:
                batches_in = runtime.adapter.scan(scan.table, scan.request, ctx)
            for batch in batches_in:
                if ctx.cancelled.is_set():
                    raise SourceError("cancelled because another scan failed",
                                      source=scan.source, object=scan.table.name)
                batches.append(batch)
                if progress is not None:
                    progress(scan, ctx.metrics.rows)
        except ConcordError:
            raise
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise SourceError(
                f"unexpected response while reading: {exc.__class__.__name__}: {exc}",
                source=scan.source, object=scan.table.name,
                hint="the source answered in a shape Concord does not understand",
            ) from exc
    table = pa.Table.from_batches(batches, schema=schema)
    return table, ctx.metrics, (time.perf_counter() - started) * 1000


def _stats_for(scan: PlannedScan, runtimes: dict[str, SourceRuntime]) -> ScanStats:
    adapter = runtimes[scan.source].adapter
    return ScanStats(
        source=scan.source,
        object=scan.table.name,
        relation=scan.relation,
        native_request=("(not sent: the query's filter excludes every row of this branch)"
                        if scan.pruned else
                        scan.query or adapter.native_request(scan.table, scan.request)),
        columns=list(scan.request.columns),
        pushed=[{"predicate": p, "fidelity": f.name.lower()} for p, f in scan.pushed],
        local=list(scan.local),
        limit=scan.request.limit,
    )


def _record(stats: ScanStats, metrics: ScanMetrics, elapsed_ms: float) -> None:
    stats.pages = metrics.pages
    stats.http_requests = metrics.http_requests
    stats.rows = metrics.rows
    stats.bytes = metrics.bytes
    stats.retries = metrics.retries
    stats.elapsed_ms = round(elapsed_ms, 2)
    stats.rate_limit = metrics.rate_limit
    if metrics.native_requests:
        stats.native_request = metrics.native_requests[-1]
