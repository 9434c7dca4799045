"""In-memory scan cache: bounded in bytes, each entry expiring with its source's TTL.

A cached scan answers a later one on the same table when it has every column the
later one needs and its filters are a subset of the later one's (so it holds a
superset of the rows). DuckDB re-applies every predicate, so answering from a
superset never changes the result. Nothing is ever written to disk.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import pyarrow as pa
from cachetools import TLRUCache

from adapters.contract import ScanRequest


@dataclass(frozen=True)
class CachedScan:
    source: str
    request: ScanRequest
    table: pa.Table
    fetched_at: float  # time.time()
    ttl: float

    def answers(self, source: str, request: ScanRequest) -> bool:
        if source != self.source or request.table != self.request.table:
            return False
        if self.request.limit is not None:
            return request.key() == self.request.key()
        if not set(request.columns) <= set(self.request.columns):
            return False
        return set(self.request.filter_sql()) <= set(request.filter_sql())


class ScanCache:
    def __init__(self, max_bytes: int) -> None:
        self._lock = threading.Lock()
        self._entries: TLRUCache = TLRUCache(
            maxsize=max(1, max_bytes),
            ttu=lambda _key, value, now: now + value.ttl,
            timer=time.monotonic,
            getsizeof=lambda value: max(1, value.table.nbytes),
        )
        self.enabled = max_bytes > 0

    def get(self, source: str, request: ScanRequest) -> CachedScan | None:
        if not self.enabled:
            return None
        with self._lock:
            self._entries.expire()
            best: CachedScan | None = None
            for entry in list(self._entries.values()):
                if entry.answers(source, request) and (
                    best is None or entry.table.num_rows < best.table.num_rows
                ):
                    best = entry
            if best is not None:
                self._entries.get((best.source, best.request.key()))  # mark as recently used
            return best

    def put(self, source: str, request: ScanRequest, table: pa.Table, ttl: float) -> None:
        if not self.enabled or ttl <= 0:
            return
        entry = CachedScan(source, request, table, time.time(), ttl)
        # an entry larger than the whole cache is served but not kept
        with self._lock, contextlib.suppress(ValueError):
            self._entries[(source, request.key())] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def bytes_used(self) -> int:
        return int(self._entries.currsize)
