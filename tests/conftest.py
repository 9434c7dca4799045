"""Shared fixtures: one sandbox company per test process, served over real loopback HTTP."""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import hashlib
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import yaml

from federation.catalog import parse_catalog
from federation.engine import Federation
from sandbox.run import Sandbox, start_sandbox
from sandbox.world import world_truth_tables

SEED = 7
SCALE = 0.2
TODAY = dt.date(2026, 6, 15)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    box = start_sandbox(seed=SEED, scale=SCALE, port_base=0, today=TODAY)
    yield box
    box.stop()


@pytest.fixture(scope="session")
def salesforce_sim(sandbox: Sandbox) -> Any:
    return sandbox.simulators["salesforce"]


def make_federation(sandbox: Sandbox, **settings: Any) -> Federation:
    raw = sandbox.catalog()
    raw["settings"].update(settings)
    return Federation(parse_catalog(raw, base_dir=Path(".")))


@pytest.fixture(scope="session")
def fed(sandbox: Sandbox) -> Iterator[Federation]:
    """A federation with the scan cache on (as users run it)."""
    with make_federation(sandbox) as federation:
        yield federation


@pytest.fixture()
def fresh_fed(sandbox: Sandbox) -> Iterator[Federation]:
    """A federation with no cache, so every query reaches the simulator."""
    with make_federation(sandbox, cache_max_bytes=0) as federation:
        yield federation


@pytest.fixture(scope="session")
def truth_tables(sandbox: Sandbox) -> dict[str, dict[str, pa.Table]]:
    return world_truth_tables(sandbox.world)


@pytest.fixture(scope="session")
def truth(truth_tables: dict[str, dict[str, pa.Table]]) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB over the generator's own tables: the answer every query must match."""
    con = duckdb.connect(":memory:")
    for system, tables in truth_tables.items():
        con.execute(f"CREATE SCHEMA {system}")
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f'CREATE TABLE {system}."{name}" AS SELECT * FROM incoming')
            con.unregister("incoming")
    yield con
    con.close()


def normalize(table: pa.Table, *, ordered: bool = False) -> list[tuple[Any, ...]]:
    """Rows as comparable tuples: floats rounded (sums differ in the last bits)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float):
            if math.isnan(value):
                return None
            value = round(value, 4)
            return int(value) if value.is_integer() else value  # 5.0 and 5 compare alike
        return value

    rows = [tuple(clean(v) for v in row.values()) for row in table.to_pylist()]
    return rows if ordered else sorted(rows, key=repr)


def assert_matches_truth(fed: Federation, truth: duckdb.DuckDBPyConnection, sql: str) -> None:
    """The differential check: pushdown on == pushdown off == DuckDB on the truth."""
    ordered = "ORDER BY" in sql and "OVER" not in sql
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=ordered)
    assert normalize(fed.sql(sql), ordered=ordered) == expected, sql
    assert normalize(fed.sql(sql, pushdown=False), ordered=ordered) == expected, sql


def write_catalog(path: Path, raw: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# -- differential checks that really reach the sources -----------------------------------


@pytest.fixture(scope="session")
def uncached_fed(sandbox: Sandbox) -> Iterator[Federation]:
    """A session federation with the scan cache off: every query's scans reach the
    simulators with their pushed filters (schemas and plans are still reused). The cached
    ``fed`` would answer a filtered scan from an earlier whole-table scan instead."""
    with make_federation(sandbox, cache_max_bytes=0) as federation:
        yield federation


def assert_filters_sent(federation: Federation, sql: str) -> None:
    """Every scan of ``federation``'s last query (``sql``) went to its source, and a scan
    with pushed predicates sent a request that differs from the unfiltered one."""
    stats = federation.last_stats
    assert stats is not None and stats.sql == sql
    planned = {scan.relation: scan for scan in federation.explain(sql).scans}
    fetched = {(s.source, s.native_request) for s in stats.scans if not s.cache_hit}
    for scan in stats.scans:
        if scan.native_request.startswith("(not sent"):
            continue  # a UNION branch the filter rules out: nothing to send
        assert (scan.source, scan.native_request) in fetched, (
            f"{scan.source}.{scan.object} was answered from the cache: {sql}")
        if scan.cache_hit:
            continue  # an identical scan of the same query (a self-join) went out
        assert scan.http_requests >= 1, f"{scan.source}.{scan.object} sent nothing: {sql}"
        plan = planned[scan.relation]
        if scan.pushed and plan.query is None:
            bare = dataclasses.replace(plan.request, filters=())
            unfiltered = federation.adapter(scan.source).native_request(plan.table, bare)
            assert scan.native_request != unfiltered, (
                f"{scan.source}.{scan.object} claims {scan.pushed} but sent no filter: {sql}")


def assert_pushdown_matches_truth(uncached: Federation, fed: Federation,
                                  truth: duckdb.DuckDBPyConnection, sql: str, *,
                                  ordered: bool | None = None) -> None:
    """The differential check with the pushdown side sent to the sources (no cache):
    pushdown on == pushdown off == DuckDB on the truth. The pushdown-off side may come
    from ``fed``'s cache: it is the whole table either way."""
    if ordered is None:
        ordered = "ORDER BY" in sql and "OVER" not in sql
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=ordered)
    assert normalize(uncached.sql(sql), ordered=ordered) == expected, sql
    assert_filters_sent(uncached, sql)
    assert normalize(fed.sql(sql, pushdown=False), ordered=ordered) == expected, sql


_SECRET_DIR: list[Path] = []


def secret_ref(value: str) -> dict[str, str]:
    """``{"file": PATH}`` holding ``value``, for test catalogs: a catalog refuses secrets
    written inline (``sources.x.auth.access_token: a secret must not be written ...``).
    Usable where no fixture is at hand (module-level catalog builders)."""
    if not _SECRET_DIR:
        _SECRET_DIR.append(Path(tempfile.mkdtemp(prefix="concord-test-secrets-")))
        atexit.register(shutil.rmtree, _SECRET_DIR[0], True)
    path = _SECRET_DIR[0] / hashlib.sha256(value.encode()).hexdigest()[:16]
    path.write_text(value, encoding="utf-8")
    return {"file": str(path)}
