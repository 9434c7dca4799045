"""Shared fixtures: one sandbox company per test process, served over real loopback HTTP."""

from __future__ import annotations

import datetime as dt
import math
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
