"""How each source has fared lately: the engine's record, read by dashboards and the CLI.

Every query's scans update their source's entry (latency of the last real fetch, totals of
requests, rows and retries, the rate-limit budget the source reported, how old the cached
data is); a failure records the error against the source it names. Nothing here calls a
source: health is what queries saw, so it costs nothing to read.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, replace

from federation.errors import ConcordError
from federation.stats import ScanStats


@dataclass(frozen=True)
class SourceHealth:
    source: str
    status: str = "not read yet"  # ok | error | not read yet
    last_read_at: dt.datetime | None = None  # the last query that used the source
    last_fetch_ms: float | None = None  # slowest scan of the last fetch that reached it
    requests: int = 0  # HTTP requests since the engine started
    rows: int = 0  # rows fetched (not from the cache) since the engine started
    retries: int = 0
    rate_limit: str | None = None  # what the source last said is left
    data_fetched_at: dt.datetime | None = None  # when the freshest data in the cache was read
    last_error: str | None = None
    last_error_at: dt.datetime | None = None

    def cache_age_seconds(self, now: dt.datetime | None = None) -> float | None:
        if self.data_fetched_at is None:
            return None
        return ((now or dt.datetime.now(dt.UTC)) - self.data_fetched_at).total_seconds()


class HealthBoard:
    """One SourceHealth per source, updated from every query's statistics. Thread-safe."""

    def __init__(self, sources: list[str]) -> None:
        self._lock = threading.Lock()
        self._health = {name: SourceHealth(name) for name in sources}

    def record_scans(self, scans: list[ScanStats]) -> None:
        now = dt.datetime.now(dt.UTC)
        by_source: dict[str, list[ScanStats]] = {}
        for scan in scans:
            by_source.setdefault(scan.source, []).append(scan)
        with self._lock:
            for source, group in by_source.items():
                old = self._health.get(source, SourceHealth(source))
                fetched = [s for s in group if not s.cache_hit and s.http_requests + s.rows]
                ages = [s.data_age_seconds for s in group]
                self._health[source] = replace(
                    old, status="ok", last_read_at=now,
                    last_fetch_ms=max((s.elapsed_ms for s in fetched),
                                      default=old.last_fetch_ms),
                    requests=old.requests + sum(s.http_requests for s in group),
                    rows=old.rows + sum(s.rows for s in fetched),
                    retries=old.retries + sum(s.retries for s in group),
                    rate_limit=next((s.rate_limit for s in reversed(group) if s.rate_limit),
                                    old.rate_limit),
                    data_fetched_at=now - dt.timedelta(seconds=min(ages)),
                )

    def record_error(self, error: ConcordError) -> None:
        if not error.source:
            return
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            old = self._health.get(error.source, SourceHealth(error.source))
            self._health[error.source] = replace(old, status="error", last_read_at=now,
                                                 last_error=str(error), last_error_at=now)

    def snapshot(self) -> list[SourceHealth]:
        with self._lock:
            return list(self._health.values())
