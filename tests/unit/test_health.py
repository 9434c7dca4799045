"""The health board: what queries saw of each source, read without calling any."""

from __future__ import annotations

from federation.errors import SourceUnavailableError
from federation.health import HealthBoard
from federation.stats import ScanStats


def scan(source: str, **kw) -> ScanStats:
    return ScanStats(source=source, object="T", relation="r", native_request="GET /",
                     columns=[], pushed=[], local=[], limit=None, **kw)


def test_scans_add_up_per_source_and_errors_name_theirs():
    board = HealthBoard(["crm", "erp", "files"])
    board.record_scans([scan("crm", http_requests=3, rows=250, elapsed_ms=120.0, retries=1,
                             rate_limit="api-usage=3/5000"),
                        scan("crm", http_requests=1, rows=10, elapsed_ms=40.0),
                        scan("erp", cache_hit=True, data_age_seconds=30.0)])
    board.record_scans([scan("crm", http_requests=2, rows=5, elapsed_ms=10.0)])
    board.record_error(SourceUnavailableError("refused the connection", source="erp"))
    health = {h.source: h for h in board.snapshot()}
    crm, erp, files = health["crm"], health["erp"], health["files"]
    assert (crm.status, crm.requests, crm.rows, crm.retries) == ("ok", 6, 265, 1)
    assert crm.last_fetch_ms == 10.0 and crm.rate_limit == "api-usage=3/5000"
    assert crm.cache_age_seconds() < 5
    assert erp.status == "error" and erp.last_error.startswith("erp: refused the connection")
    assert 29 < erp.cache_age_seconds() < 60  # the cached data it last served was 30 s old
    assert erp.last_fetch_ms is None and erp.rows == 0  # a cache hit is not a fetch
    assert files.status == "not read yet" and files.cache_age_seconds() is None
