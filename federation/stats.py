"""What happened while answering a query: per scan and overall."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ScanStats:
    source: str
    object: str
    relation: str
    native_request: str
    columns: list[str]
    pushed: list[dict[str, str]]  # {"predicate", "fidelity": exact|inexact}
    local: list[str]  # predicates only DuckDB applies
    limit: int | None
    pages: int = 0
    http_requests: int = 0
    rows: int = 0
    bytes: int = 0
    elapsed_ms: float = 0.0
    retries: int = 0
    cache_hit: bool = False
    data_age_seconds: float = 0.0
    rate_limit: str | None = None


@dataclass
class QueryStats:
    sql: str
    pushdown: bool
    planning_ms: float = 0.0
    fetch_ms: float = 0.0
    duckdb_ms: float = 0.0
    total_ms: float = 0.0
    rows_returned: int = 0
    scans: list[ScanStats] = field(default_factory=list)
    # oldest data in the answer, so callers can say "as of" honestly
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
