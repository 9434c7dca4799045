"""Side-by-side performance ratios for the core engine, measured in one run.

    .venv/bin/python -m benchmarks.run [--scale 25] [--repeat 5]

Scale 25 is about 100,000 Salesforce opportunities (plus the subsidiary's HubSpot
deals). Results print as a table and are written to ``benchmarks/results/latest.json``;
copy the figures into ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.planner import plan_query
from sandbox.run import DEMO_CLIENT_ID, demo_salesforce_secret, start_sandbox
from sandbox.world import world_truth_tables

SELECTIVE = [
    "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 150000",
    "SELECT Id FROM salesforce.Opportunity WHERE CloseDate BETWEEN DATE '2026-01-01' "
    "AND DATE '2026-01-31'",
    "SELECT Id, Name FROM salesforce.Opportunity WHERE StageName = 'Negotiation/Review' "
    "AND Amount > 50000",
    "SELECT Id FROM salesforce.Opportunity WHERE IsWon AND FiscalYear = 2025 AND Probability = 100",
    "SELECT Id FROM salesforce.Account WHERE Industry IN ('Technology', 'Retail') "
    "AND NumberOfEmployees > 5000",
    "SELECT Id FROM salesforce.Opportunity WHERE Name LIKE 'Acme%'",
]
CRM_SELECTIVE = [
    "SELECT id, amount FROM hubspot.deals WHERE amount > 100000",
    "SELECT id FROM hubspot.deals WHERE dealstage = 'closedwon' "
    "AND closedate >= DATE '2026-01-01'",
    "SELECT id FROM hubspot.companies WHERE numberofemployees > 5000",
    "SELECT incidentid FROM dynamics.incidents WHERE prioritycode_label = 'High' "
    "AND statecode = 0",
    "SELECT accountid FROM dynamics.accounts WHERE revenue > 5000000",
    "SELECT opportunityid FROM dynamics.opportunities WHERE estimatedclosedate "
    ">= DATE '2026-01-01'",
]
ERP_SELECTIVE = [
    "SELECT id, total FROM netsuite.transaction WHERE type = 'CustInvc' AND total > 50000",
    "SELECT id FROM netsuite.customer WHERE creditlimit >= 250000",
    "SELECT SalesOrder FROM sap.A_SalesOrder WHERE TotalNetAmount > 20000 "
    "AND TransactionCurrency = 'EUR'",
    "SELECT BillingDocument FROM sap.A_BillingDocument WHERE BillingDocumentType = 'G2'",
    "SELECT order_no FROM legacy_erp.orders WHERE order_date >= DATE '2025-01-01' "
    "AND status = 'INVOICED'",
    "SELECT product_code FROM files.price_book WHERE currency = 'EUR' AND list_price > 1000",
    "SELECT Id FROM quickbooks.Invoice WHERE TotalAmt > 5000 AND TxnDate >= DATE '2025-06-01'",
    "SELECT CustomerTransactionId FROM oracle.receivablesInvoices WHERE EnteredAmount > 10000",
]
THREE_CRMS = {
    "salesforce": "SELECT count(*) AS n FROM salesforce.Opportunity WHERE Amount > 0",
    "hubspot": "SELECT count(*) AS n FROM hubspot.deals WHERE amount > 50000",
    "dynamics": "SELECT count(*) AS n FROM dynamics.incidents WHERE statecode = 0",
}
LATENCY_MS = 100
COLD = ("SELECT Id, Name, Amount, StageName, CloseDate FROM salesforce.Opportunity "
        "WHERE Amount > 1000")
WARM = ("SELECT StageName, count(*) AS deals, sum(Amount) AS amount, avg(Probability) AS p "
        "FROM salesforce.Opportunity WHERE CloseDate >= DATE '2025-01-01' "
        "GROUP BY StageName ORDER BY amount DESC")
PLANNING = SELECTIVE + [COLD, WARM,
    "SELECT a.Name, sum(o.Amount) FROM salesforce.Opportunity o JOIN salesforce.Account a "
    "ON o.AccountId = a.Id WHERE o.IsWon GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    "WITH won AS (SELECT * FROM salesforce.Opportunity WHERE IsWon) SELECT AccountId, count(*) "
    "FROM won WHERE Amount > 20000 GROUP BY AccountId",
]


def federation(box: Any, cache: bool) -> Federation:
    raw = box.catalog()
    raw["settings"]["cache_max_bytes"] = 1 << 30 if cache else 0
    return Federation(parse_catalog(raw, base_dir=Path(".")))


def median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rows_ratio(box: Any, truth: duckdb.DuckDBPyConnection,
               queries: list[str]) -> dict[str, Any]:
    per_query = []
    with federation(box, cache=False) as fed:
        for sql in queries:
            source = sql.split(" FROM ")[1].split(".")[0]
            fed.tables(source)
            result = fed.sql(sql)
            transferred = sum(s.rows for s in fed.last_stats.scans)  # rows the source sent
            matching = truth.sql(sql).to_arrow_table().num_rows
            assert result.num_rows == matching, sql
            per_query.append({"sql": sql, "transferred": transferred, "matching": matching})
    transferred = sum(q["transferred"] for q in per_query)
    matching = sum(q["matching"] for q in per_query)
    return {"ratio": transferred / max(1, matching), "queries": per_query}


def parallel_ratio(box: Any, repeat: int) -> dict[str, Any]:
    """A three-CRM query against the slowest of its sources fetched alone (cold)."""

    def cold(sql: str) -> float:
        box.simulators["hubspot"].reset_rate_limits()  # earlier runs must not throttle this one
        box.simulators["dynamics"].reset_limits()
        with federation(box, cache=False) as fed:
            for source in THREE_CRMS:
                fed.tables(source)  # discovery is not part of the comparison
            started = time.perf_counter()
            fed.sql(sql)
            return (time.perf_counter() - started) * 1000

    union = " UNION ALL ".join(THREE_CRMS.values())
    # Real SaaS APIs answer in tens to hundreds of ms; without that, in-process simulators
    # would only measure how three servers and the client share one Python interpreter.
    for sim in box.simulators.values():
        sim.config.latency_ms = LATENCY_MS
    try:
        alone = {source: statistics.median(cold(sql) for _ in range(repeat))
                 for source, sql in THREE_CRMS.items()}
        together = statistics.median(cold(union) for _ in range(repeat))
    finally:
        for sim in box.simulators.values():
            sim.config.latency_ms = 0
    slowest = max(alone.values())
    return {"latency_ms_per_request": LATENCY_MS, "alone_ms": alone,
            "three_crms_ms": together, "ratio": together / slowest}


SQL_AGGREGATE = ("SELECT c.country, count(*) AS orders, sum(o.total_amount) AS amount "
                 "FROM legacy.orders o JOIN legacy.customers c ON o.cust_no = c.cust_no "
                 "WHERE o.status <> 'cancelled' GROUP BY c.country")


def sql_subplan_ratio(repeat: int) -> dict[str, Any]:
    """A cross-table aggregate pushed whole to PostgreSQL vs fetched and joined locally."""
    from tests import postgres

    server = postgres.start_postgres()
    try:
        server.psql(
            "CREATE TABLE customers AS SELECT g AS cust_no, 'C' || g AS name, "
            "(ARRAY['US','DE','GB','FR','JP'])[1 + g % 5] AS country FROM generate_series(1, "
            "20000) g; CREATE TABLE orders AS SELECT g AS order_no, 1 + g % 20000 AS cust_no, "
            "(g % 100000)::numeric(14,2) / 7 AS total_amount, (ARRAY['open','shipped',"
            "'cancelled'])[1 + g % 3] AS status FROM generate_series(1, 300000) g")
        raw = {"settings": {"cache_max_bytes": 0},
               "sources": {"legacy": {"type": "sql", "url": server.url}}}
        with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
            fed.tables("legacy")
            pushed = median_ms(lambda: fed.sql(SQL_AGGREGATE), repeat)
            fed.sql(SQL_AGGREGATE)
            pushed_rows = sum(s.rows for s in fed.last_stats.scans)
            local = median_ms(lambda: fed.sql(SQL_AGGREGATE, pushdown=False), repeat)
            fed.sql(SQL_AGGREGATE, pushdown=False)
            local_rows = sum(s.rows for s in fed.last_stats.scans)
            assert normalize_rows(fed.sql(SQL_AGGREGATE)) == normalize_rows(
                fed.sql(SQL_AGGREGATE, pushdown=False))
    finally:
        server.stop()
    return {"pushed_ms": pushed, "fetched_and_joined_ms": local, "ratio": pushed / local,
            "rows_transferred_pushed": pushed_rows, "rows_transferred_local": local_rows}


def normalize_rows(table: Any) -> list[tuple]:
    return sorted((tuple(round(v, 4) if isinstance(v, float) else v for v in r.values())
                   for r in table.to_pylist()), key=repr)


def plain_httpx_fetch(base_url: str, soql: str) -> int:
    """The floor: fetch and decode the same pages with a bare httpx loop."""
    with httpx.Client(base_url=base_url) as client:
        token = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID,
            "client_secret": demo_salesforce_secret()}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = client.get("/services/data/v59.0/query/", params={"q": soql},
                          headers=headers).json()
        rows = len(body["records"])
        while not body["done"]:
            body = client.get(body["nextRecordsUrl"], headers=headers).json()
            rows += len(body["records"])
        return rows


def cold_ratio(box: Any, repeat: int) -> dict[str, Any]:
    fed_times, loop_times = [], []
    soql = None
    for _ in range(repeat):
        with federation(box, cache=False) as fed:
            fed.tables("salesforce")  # discovery is not part of the comparison
            started = time.perf_counter()
            rows = fed.sql(COLD).num_rows
            fed_times.append((time.perf_counter() - started) * 1000)
            soql = fed.last_stats.scans[0].native_request
        started = time.perf_counter()
        loop_rows = plain_httpx_fetch(box.urls()["salesforce"], soql)
        loop_times.append((time.perf_counter() - started) * 1000)
        assert rows == loop_rows
    fed_ms, loop_ms = statistics.median(fed_times), statistics.median(loop_times)
    return {"federated_ms": fed_ms, "httpx_loop_ms": loop_ms, "ratio": fed_ms / loop_ms,
            "rows": rows, "soql": soql}


def warm_ratio(box: Any, truth: duckdb.DuckDBPyConnection, repeat: int) -> dict[str, Any]:
    with federation(box, cache=True) as fed:
        fed.sql(WARM)
        warm_ms = median_ms(lambda: fed.sql(WARM), repeat * 4)
        assert all(s.cache_hit for s in fed.last_stats.scans)
    native_ms = median_ms(lambda: truth.sql(WARM).fetchall(), repeat * 4)
    return {"warm_ms": warm_ms, "native_duckdb_ms": native_ms, "ratio": warm_ms / native_ms}


def planning_times(box: Any, repeat: int) -> dict[str, Any]:
    with federation(box, cache=True) as fed:
        fed.tables("salesforce")
        samples = []
        for _ in range(repeat):
            for sql in PLANNING:
                started = time.perf_counter()
                plan_query(sql, fed, fed.local)  # uncached: the engine caches plans
                samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(samples), "p90_ms": statistics.quantiles(
        samples, n=10)[-1], "queries": len(PLANNING), "samples": len(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/latest.json"))
    parser.add_argument("--erp-only", action="store_true",
                        help="only (h), with each ERP query's rows")
    args = parser.parse_args()

    started = time.perf_counter()
    box = start_sandbox(seed=42, scale=args.scale, port_base=0)
    setup_s = time.perf_counter() - started
    truth = duckdb.connect()
    for system, tables in world_truth_tables(box.world).items():
        truth.execute(f"CREATE SCHEMA {system}")
        for name, table in tables.items():
            truth.register("t", table)
            truth.execute(f'CREATE TABLE {system}."{name}" AS SELECT * FROM t')
            truth.unregister("t")
    opportunities = truth.sql("SELECT count(*) FROM salesforce.Opportunity").fetchall()[0][0]
    if args.erp_only:
        try:
            erp = rows_ratio(box, truth, ERP_SELECTIVE)
        finally:
            box.stop()
        print("| query | rows transferred | rows matching |\n| --- | --- | --- |")
        for q in erp["queries"]:
            print(f"| `{q['sql']}` | {q['transferred']:,} | {q['matching']:,} |")
        print(f"| all | {sum(q['transferred'] for q in erp['queries']):,} | "
              f"{sum(q['matching'] for q in erp['queries']):,} (ratio {erp['ratio']:.3f}) |")
        return
    try:
        results = {
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": __import__("os").cpu_count()},
            "scale": args.scale, "opportunities": opportunities,
            "sandbox_setup_s": round(setup_s, 1),
            "a_rows_transferred_over_matching": rows_ratio(box, truth, SELECTIVE),
            "e_crm_rows_transferred_over_matching": rows_ratio(box, truth, CRM_SELECTIVE),
            "h_erp_rows_transferred_over_matching": rows_ratio(box, truth, ERP_SELECTIVE),
            "f_three_crms_vs_slowest_alone": parallel_ratio(box, args.repeat),
            "g_sql_subplan_pushed_vs_local": sql_subplan_ratio(args.repeat),
            "b_cold_vs_httpx_loop": cold_ratio(box, args.repeat),
            "c_warm_vs_native_duckdb": warm_ratio(box, truth, args.repeat),
            "d_planning": planning_times(box, args.repeat),
        }
    finally:
        box.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    a = results["a_rows_transferred_over_matching"]
    b = results["b_cold_vs_httpx_loop"]
    c = results["c_warm_vs_native_duckdb"]
    d = results["d_planning"]
    e = results["e_crm_rows_transferred_over_matching"]
    f = results["f_three_crms_vs_slowest_alone"]
    g = results["g_sql_subplan_pushed_vs_local"]
    h = results["h_erp_rows_transferred_over_matching"]
    print(f"opportunities: {opportunities:,}")
    print("| measure | value | goal |\n| --- | --- | --- |")
    print(f"| (a) rows transferred / rows matching | {a['ratio']:.3f} | <= 1.05 |")
    print(f"| (b) cold federated / plain httpx loop | {b['ratio']:.2f} "
          f"({b['federated_ms']:.0f} ms vs {b['httpx_loop_ms']:.0f} ms, {b['rows']:,} rows) "
          f"| <= 1.2 |")
    print(f"| (c) warm cache / native DuckDB | {c['ratio']:.2f} "
          f"({c['warm_ms']:.1f} ms vs {c['native_duckdb_ms']:.1f} ms) | <= 2 |")
    print(f"| (d) planning median | {d['median_ms']:.1f} ms (p90 {d['p90_ms']:.1f} ms) "
          f"| < 20 ms |")
    print(f"| (e) HubSpot + Dataverse rows transferred / matching | {e['ratio']:.3f} | <= 1.05 |")
    print(f"| (f) three-CRM query / slowest source alone | {f['ratio']:.2f} "
          f"({f['three_crms_ms']:.0f} ms vs "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in f["alone_ms"].items()) + ") | <= 1.2 |")
    print(f"| (h) NetSuite, SAP, QuickBooks, Oracle, legacy, files: transferred / matching | "
          f"{h['ratio']:.3f} | <= 1.05 |")
    print(f"| (g) SQL aggregate pushed whole / fetched and joined locally | {g['ratio']:.2f} "
          f"({g['pushed_ms']:.0f} ms, {g['rows_transferred_pushed']:,} rows vs "
          f"{g['fetched_and_joined_ms']:.0f} ms, {g['rows_transferred_local']:,} rows) | < 1 |")


if __name__ == "__main__":
    main()
