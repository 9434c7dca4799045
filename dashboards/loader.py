"""Dashboard data through the engine, kept exactly as long as the sources allow.

A panel's answer is memoized until the first of the scans behind it would expire in the
engine's scan cache (each source's ``cache_ttl_seconds`` less the age of the data it
served), so a dashboard rerun never shows data older than the sources' TTLs permit and a
warm page does no planning, fetching or DuckDB work. Errors are never memoized.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
from cachetools import TLRUCache

from federation.engine import Federation
from federation.errors import ConcordError
from federation.planner import PlannedScan
from federation.stats import QueryStats


@dataclass(frozen=True)
class Result:
    """One panel's answer and where it came from."""

    table: pa.Table
    stats: QueryStats
    expires_at: float  # time.monotonic() after which it must be asked again

    @property
    def sources(self) -> list[str]:
        return sorted({s.source for s in self.stats.scans})

    @property
    def as_of(self) -> str | None:
        return self.stats.as_of


@dataclass
class Progress:
    """Rows received so far per scan, written by the engine's scan threads."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, relation)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, scan: PlannedScan, rows: int) -> None:
        with self._lock:  # the engine reports each scan's running total
            self.rows[(scan.source, scan.relation)] = rows

    def by_source(self) -> dict[str, int]:
        with self._lock:
            totals: dict[str, int] = {}
            for (source, _), rows in self.rows.items():
                totals[source] = totals.get(source, 0) + rows
        return totals

    def summary(self) -> str:
        parts = [f"{source} {rows:,} rows" for source, rows in sorted(self.by_source().items())]
        return ", ".join(parts) or "planning"


class Loader:
    """Answers dashboard SQL through one Federation. Thread-safe; one per process."""

    def __init__(self, federation: Federation, maxsize: int = 512,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.federation = federation
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: TLRUCache = TLRUCache(maxsize, ttu=lambda _k, r, _now: r.expires_at,
                                           timer=clock)

    def cached(self, sql: str, user: str | None = None) -> Result | None:
        with self._lock:
            return self._cache.get((user, sql))

    def load(self, sql: str, progress: Progress | None = None,
             user: str | None = None) -> Result:
        """The answer to ``sql`` as ``user`` sees it (None: the catalog's default user):
        memoized per user, or live through the engine. Raises ConcordError (naming the
        source) when a source fails, PermissionDeniedError when the user may not read it."""
        hit = self.cached(sql, user)
        if hit is not None:
            return hit
        started = self._clock()
        table = self.federation.sql(sql, progress=progress, user=user)
        stats = self.federation.last_stats
        assert stats is not None
        result = Result(table, stats, started + self._lifetime(stats))
        with self._lock:
            self._cache[(user, sql)] = result
        return result

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def _lifetime(self, stats: QueryStats) -> float:
        lifetimes = [self.federation.runtime(s.source).ttl - s.data_age_seconds
                     for s in stats.scans]
        return max(0.0, min(lifetimes, default=0.0))


__all__ = ["ConcordError", "Loader", "Progress", "Result"]
