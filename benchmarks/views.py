"""Unified views: cold and warm wall time, and warm ÷ the same SQL over native copies.

    .venv/bin/python -m benchmarks.views [--scale 1] [--repeat 5]

Scale 1 is the demo's default company. "Native" is DuckDB running the fully expanded view
SQL over in-memory copies of every source table the view reads (the concord tables
included, identity resolution already done), so the ratio is what federation costs on top
of DuckDB once the scan cache is warm: planning, cache lookups, registering Arrow tables.
Results print as a table and go to ``benchmarks/results/views.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.run import federation, median_ms
from federation.sqlparse import parse_query
from federation.views import expand_views
from sandbox.run import start_sandbox

QUERIES = {
    "customer_360": "SELECT * FROM customer_360",
    "pipeline_vs_booked": "SELECT * FROM pipeline_vs_booked WHERE dimension = 'total'",
}


def native_copy(fed: Any, sql: str) -> tuple[duckdb.DuckDBPyConnection, str]:
    """A DuckDB holding every table ``sql`` reads, and the SQL with views expanded."""
    expanded = expand_views(parse_query(sql, "duckdb"), fed.views).sql("duckdb")
    con = duckdb.connect()
    for scan in fed.explain(sql).scans:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {scan.source}")
        table = fed.sql(f'SELECT * FROM {scan.source}."{scan.table.name}"')
        con.register("t", table)
        con.execute(f'CREATE OR REPLACE TABLE {scan.source}."{scan.table.name}" AS '
                    "SELECT * FROM t")
        con.unregister("t")
    return con, expanded


def measure(box: Any, name: str, sql: str, repeat: int) -> dict[str, Any]:
    with federation(box, cache=False) as cold_fed:
        started = time.perf_counter()
        rows = cold_fed.sql(sql).num_rows
        cold_ms = (time.perf_counter() - started) * 1000
    with federation(box, cache=True) as fed:
        fed.sql(sql)
        warm_ms = median_ms(lambda: fed.sql(sql), repeat)
        con, expanded = native_copy(fed, sql)
    native_ms = median_ms(lambda: con.sql(expanded).fetchall(), repeat)
    con.close()
    return {"view": name, "rows": rows, "cold_ms": cold_ms, "warm_ms": warm_ms,
            "native_ms": native_ms, "warm_over_native": warm_ms / native_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/views.json"))
    args = parser.parse_args()
    box = start_sandbox(seed=42, scale=args.scale, port_base=0)
    try:
        results = [measure(box, name, sql, args.repeat) for name, sql in QUERIES.items()]
    finally:
        box.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"scale": args.scale, "views": results}, indent=1))
    print("| view | rows | cold | warm | native | warm ÷ native (goal ≤ 2) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['view']} | {r['rows']:,} | {r['cold_ms']:.0f} ms | {r['warm_ms']:.0f} ms "
              f"| {r['native_ms']:.0f} ms | {r['warm_over_native']:.2f} |")


if __name__ == "__main__":
    main()
