"""The Oracle Fusion adapter against the REST simulator over loopback HTTP.

Answers with pushdown must equal answers without and DuckDB's answers over
``oracle_truth_tables``; beyond that: discovery types, paging past one page, Basic and
bearer auth, 429 then success, malformed answers and schema drift.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from adapters.oracle import OracleAdapter
from adapters.registry import ADAPTERS
from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import (
    AuthenticationError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)
from sandbox.company import generate_company
from sandbox.projections.erp_model import ErpField, OracleFusion
from sandbox.projections.oracle import oracle_truth_tables, project_oracle
from sandbox.simulators.oracle import OracleFusionSimulator, OracleSimConfig
from tests.conftest import normalize, secret_ref
from tests.predicates import predicates

ADAPTERS.setdefault("oracle", OracleAdapter)  # until adapters/registry.py lists it

USER, PASSWORD, TOKEN = "concord.integration", "S3cret-Fusion", "fusion-bearer-test"


def config(**kw: Any) -> OracleSimConfig:
    return OracleSimConfig(users={USER: PASSWORD}, bearer_tokens=(TOKEN,), **kw)


def catalog(url: str, auth: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {
        "settings": {"cache_max_bytes": 0},
        "sources": {"oracle": {
            "type": "oracle", "url": url,
            "auth": {k: secret_ref(v) if isinstance(v, str) and k != "user" else v
                     for k, v in auth.items()},
            "retry": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
            "options": options,
        }},
    }


def basic(monkeypatch: pytest.MonkeyPatch, password: str = PASSWORD) -> dict[str, Any]:
    monkeypatch.setenv("CONCORD_TEST_ORACLE_PW", password)
    return {"user": USER, "password": {"env": "CONCORD_TEST_ORACLE_PW"}}


@pytest.fixture(scope="module")
def pod() -> OracleFusion:
    return project_oracle(generate_company(seed=3, scale=0.5))


@pytest.fixture(scope="module")
def sim(pod: OracleFusion) -> Iterator[OracleFusionSimulator]:
    simulator = OracleFusionSimulator(pod, config())
    with simulator.serve() as server:
        simulator.url = server.url  # type: ignore[attr-defined]
        yield simulator


@pytest.fixture(scope="module")
def fed(sim: OracleFusionSimulator) -> Iterator[Federation]:
    """Small pages, so every full scan spans several pages."""
    raw = catalog(sim.url, {"access_token": TOKEN}, page_size=10)  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation:
        yield federation


@pytest.fixture(scope="module")
def truth(pod: OracleFusion) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA oracle")
    for name, table in oracle_truth_tables(pod).items():
        con.register("incoming", table)
        con.execute(f'CREATE TABLE oracle."{name}" AS SELECT * FROM incoming')
        con.unregister("incoming")
    yield con
    con.close()


def test_discovery_types_equal_the_truth_tables(fed: Federation, pod: OracleFusion) -> None:
    tables = fed.tables("oracle")
    expected = oracle_truth_tables(pod)
    assert list(tables) == ["accounts", "salesOrdersForOrderHub", "receivablesInvoices"]
    for name, info in tables.items():
        assert info.arrow_schema() == expected[name].schema, name


INV = "oracle.receivablesInvoices"
CORPUS = [
    f"SELECT CustomerTransactionId FROM {INV} WHERE TransactionType = 'Credit Memo'",
    f"SELECT CustomerTransactionId FROM {INV} WHERE TransactionType = 'credit memo'",
    f"SELECT CustomerTransactionId FROM {INV} WHERE InvoiceCurrencyCode IN ('EUR', 'GBP') "
    "OR EnteredAmount < 0",
    f"SELECT CustomerTransactionId FROM {INV} WHERE InvoiceCurrencyCode NOT IN ('USD')",
    f"SELECT CustomerTransactionId FROM {INV} WHERE BillToCustomerName LIKE 'T%' "
    "OR BillToCustomerName LIKE '%Inc%' OR BillToCustomerName ILIKE 'a%'",
    f"SELECT CustomerTransactionId FROM {INV} WHERE BillToCustomerName LIKE '_i%' "
    "AND NOT BillToCustomerName LIKE '%Corp%'",
    f"SELECT CustomerTransactionId FROM {INV} WHERE ConversionRate IS NULL "
    "AND PaymentTerms IS NOT NULL",
    f"SELECT CustomerTransactionId FROM {INV} WHERE TransactionDate BETWEEN DATE '2025-01-01' "
    "AND DATE '2025-06-30' AND EnteredAmount >= 5000",
    f"SELECT CustomerTransactionId FROM {INV} WHERE DueDate < '2025-03-01' OR "
    "ConversionDate IS NOT NULL",
    f"SELECT CustomerTransactionId FROM {INV} WHERE CreationDate >= "
    "TIMESTAMP '2025-01-15 12:30:00' AND InvoiceBalanceAmount != 0",
    f"SELECT CustomerTransactionId FROM {INV} WHERE PurchaseOrder != 'x' OR "
    "BillToCustomerName < 'M'",
    f"SELECT CustomerTransactionId FROM {INV} WHERE CustomerTransactionId > 300000003000300 "
    "AND lower(TransactionType) = 'invoice'",
    "SELECT HeaderId, OrderKey FROM oracle.salesOrdersForOrderHub WHERE "
    "SourceTransactionSystem IN ('SFDC', 'HUBSPOT') AND TotalAmount > 10000.5",
    "SELECT HeaderId FROM oracle.salesOrdersForOrderHub WHERE OrderedDate < "
    "TIMESTAMP '2025-01-01 00:00:00' OR Status = 'Open'",
    "SELECT AccountName FROM oracle.accounts WHERE CreditLimit > 100000 AND "
    "CurrencyCode = 'USD'",
    # aggregates
    f"SELECT TransactionType, InvoiceCurrencyCode, count(*), sum(EnteredAmount), "
    f"min(TransactionDate), max(CreationDate) FROM {INV} GROUP BY ALL",
    "SELECT Status, avg(TotalAmount), count(CustomerPONumber) "
    "FROM oracle.salesOrdersForOrderHub GROUP BY Status",
    # joins invoices <-> accounts (and orders)
    f"SELECT a.AccountName, sum(i.EnteredAmount) FROM {INV} i JOIN oracle.accounts a "
    "ON i.BillToCustomerNumber = a.AccountNumber WHERE i.TransactionType = 'Invoice' "
    "AND a.CreditLimit >= 50000 GROUP BY a.AccountName",
    f"SELECT a.AccountNumber FROM oracle.accounts a LEFT JOIN {INV} i "
    "ON i.BillToCustomerNumber = a.AccountNumber AND i.TransactionType = 'Credit Memo' "
    "WHERE i.CustomerTransactionId IS NULL",
    f"SELECT o.OrderNumber, i.TransactionNumber FROM oracle.salesOrdersForOrderHub o "
    f"JOIN {INV} i ON i.CrossReference = o.OrderNumber WHERE o.SourceTransactionSystem = 'OPS'",
    # top-N
    f"SELECT CustomerTransactionId, EnteredAmount FROM {INV} ORDER BY EnteredAmount DESC "
    "NULLS FIRST, CustomerTransactionId LIMIT 7",
    f"SELECT CustomerTransactionId, ConversionRate FROM {INV} ORDER BY ConversionRate "
    "NULLS LAST, CustomerTransactionId LIMIT 5",
    f"SELECT CustomerTransactionId, ConversionRate FROM {INV} ORDER BY ConversionRate DESC, "
    "CustomerTransactionId LIMIT 5",
    f"SELECT CustomerTransactionId, DueDate FROM {INV} WHERE TransactionType = 'Invoice' "
    "ORDER BY DueDate, CustomerTransactionId LIMIT 12 OFFSET 3",
    "SELECT AccountName FROM oracle.accounts ORDER BY AccountName LIMIT 4",
]


@pytest.mark.parametrize("sql", CORPUS)
def test_corpus_matches_truth(fed: Federation, truth: duckdb.DuckDBPyConnection,
                              sql: str) -> None:
    ordered = "ORDER BY" in sql
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=ordered)
    assert normalize(fed.sql(sql), ordered=ordered) == expected
    assert normalize(fed.sql(sql, pushdown=False), ordered=ordered) == expected


GENERATED = {
    "receivablesInvoices": ("CustomerTransactionId", [
        "TransactionDate", "TransactionType", "BillToCustomerName", "InvoiceCurrencyCode",
        "ConversionRate", "ConversionDate", "EnteredAmount", "PaymentTerms", "PurchaseOrder",
        "CreationDate"]),
    "salesOrdersForOrderHub": ("HeaderId", [
        "SourceTransactionSystem", "CustomerPONumber", "OrderedDate", "Status", "TotalAmount"]),
}


@pytest.mark.parametrize("table", sorted(GENERATED))
def test_generated_predicates_match_truth(fed: Federation, truth: duckdb.DuckDBPyConnection,
                                          pod: OracleFusion, table: str) -> None:
    key, columns = GENERATED[table]
    data = oracle_truth_tables(pod)[table]

    @settings(max_examples=30, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(predicate=predicates(data, columns))
    def check(predicate: str) -> None:
        sql = f'SELECT "{key}" FROM oracle."{table}" WHERE {predicate}'
        expected = normalize(truth.sql(sql).to_arrow_table())
        assert normalize(fed.sql(sql)) == expected, sql
        assert normalize(fed.sql(sql, pushdown=False)) == expected, sql

    check()


def test_pushdown_sends_q_fields_and_order(fed: Federation, sim: OracleFusionSimulator) -> None:
    sim.reset_stats()
    result = fed.sql(f"SELECT TransactionNumber FROM {INV} WHERE TransactionType = "
                     "'Credit Memo' AND EnteredAmount < -100")
    assert sim.stats.rows_returned == result.num_rows > 0
    assert sim.stats.queries[-1] == "EnteredAmount < -100 AND TransactionType = 'Credit Memo'"
    params = sim.stats.requests[-1]
    assert params["fields"] == "TransactionNumber,TransactionType,EnteredAmount"
    assert params["onlyData"] == "true" and params["orderBy"] == "CustomerTransactionId:asc"
    sim.reset_stats()
    top = fed.sql(f"SELECT CustomerTransactionId FROM {INV} ORDER BY EnteredAmount DESC "
                  "NULLS FIRST LIMIT 4")
    assert top.num_rows == sim.stats.rows_returned == 4
    assert sim.stats.requests[-1]["orderBy"] == "EnteredAmount:desc,CustomerTransactionId:asc"
    assert sim.stats.requests[-1]["limit"] == "4"


def test_paging_past_one_page_and_the_500_row_cap(sim: OracleFusionSimulator,
                                                  pod: OracleFusion) -> None:
    raw = catalog(sim.url, {"access_token": TOKEN}, page_size=7)  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        fed.tables("oracle")
        sim.reset_stats()
        result = fed.sql(f"SELECT CustomerTransactionId FROM {INV}")
    rows = pod.resources["receivablesInvoices"].rows
    assert sorted(result.column(0).to_pylist()) == sorted(r["CustomerTransactionId"]
                                                          for r in rows)
    assert sim.stats.pages_served == -(-len(rows) // 7) > 1
    # the simulator serves at most max_limit rows whatever limit asks: offsets must follow
    small = OracleFusionSimulator(pod, config(max_limit=5))
    with small.serve() as server, Federation(parse_catalog(
            catalog(server.url, {"access_token": TOKEN}), base_dir=Path("."))) as fed:
        assert fed.sql(f"SELECT count(DISTINCT CustomerTransactionId) FROM {INV}"
                       ).to_pylist() == [{"count(DISTINCT CustomerTransactionId)": len(rows)}]
        assert small.stats.requests[-1]["limit"] == "500"


def test_basic_auth_and_wrong_password(sim: OracleFusionSimulator,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    raw = catalog(sim.url, basic(monkeypatch))  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        assert fed.sql("SELECT count(*) FROM oracle.accounts").to_pylist()[0]["count_star()"] > 0
    raw = catalog(sim.url, basic(monkeypatch, "wrong-password-value"))  # type: ignore
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed, \
            pytest.raises(AuthenticationError) as info:
        fed.sql("SELECT AccountName FROM oracle.accounts")
    message = str(info.value)
    assert "refused the credentials" in message and "env CONCORD_TEST_ORACLE_PW" in message
    assert "wrong-password-value" not in message and PASSWORD not in message
    with Federation(parse_catalog(catalog(sim.url, {"user": USER}),  # type: ignore
                                  base_dir=Path("."))) as fed, \
            pytest.raises(Exception, match="needs user and password"):
        fed.tables("oracle")


def test_429_then_success(fed: Federation, sim: OracleFusionSimulator) -> None:
    sim.clear_faults()
    sim.inject(429, count=2, retry_after=0, kinds=["collection"])
    result = fed.sql("SELECT AccountNumber FROM oracle.accounts WHERE CurrencyCode = 'USD'")
    assert result.num_rows > 0
    assert fed.last_stats.scans[0].retries == 2  # type: ignore[union-attr]


def test_throttle_window_is_retried_after_retry_after(pod: OracleFusion) -> None:
    throttled = OracleFusionSimulator(pod, config(requests_per_window=3, window_seconds=0.5))
    with throttled.serve() as server, Federation(parse_catalog(
            catalog(server.url, {"access_token": TOKEN}, page_size=10),
            base_dir=Path("."))) as fed:
        assert fed.sql("SELECT count(*) FROM oracle.receivablesInvoices").to_pylist() == [
            {"count_star()": len(pod.resources["receivablesInvoices"].rows)}]
    assert throttled.stats.throttled > 0


def test_malformed_and_refused_answers(fed: Federation, sim: OracleFusionSimulator) -> None:
    sim.clear_faults()
    sim.inject(200, body="<html>maintenance</html>", kinds=["collection"])
    with pytest.raises(SourceError, match="not JSON"):
        fed.sql("SELECT AccountName FROM oracle.accounts")
    sim.inject(200, body={"count": 3}, kinds=["collection"])
    with pytest.raises(SourceError, match="no items list"):
        fed.sql("SELECT AccountName FROM oracle.accounts")
    sim.inject(400, kinds=["collection"], body={
        "title": "Bad Request", "status": "400",
        "o:errorDetails": [{"detail": "Some limit hit.", "o:errorCode": "BAD_QUERY"}]})
    with pytest.raises(SourceQueryError, match="BAD_QUERY: Some limit hit."):
        fed.sql("SELECT AccountName FROM oracle.accounts")


def _replace(simulator: OracleFusionSimulator, field: str, new: ErpField | None,
             value: Any = None) -> None:
    """Change one accounts attribute in the served pod."""
    accounts = simulator.fusion.resources["accounts"]
    fields = [f for f in accounts.fields if f.name != field] if new is None else [
        new if f.name == field else f for f in accounts.fields]
    rows = [{**r, field: value} if new is not None else r for r in accounts.rows]
    resources = {**simulator.fusion.resources,
                 "accounts": dataclasses.replace(accounts, fields=fields, rows=rows)}
    simulator.fusion = dataclasses.replace(simulator.fusion, resources=resources)


def test_drift_names_the_attribute_and_both_types(pod: OracleFusion) -> None:
    simulator = OracleFusionSimulator(pod, config())
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url, {"access_token": TOKEN}), base_dir=Path("."))) as fed:
        fed.tables("oracle")
        _replace(simulator, "CreditLimit", ErpField("CreditLimit", "string"), "n/a")
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT AccountNumber, CreditLimit FROM oracle.accounts")
        assert str(info.value).startswith(
            "oracle.accounts.CreditLimit: sent a value that does not fit ('n/a'): "
            "discovered as number, now string")
        assert fed.sql("SELECT DISTINCT CreditLimit FROM oracle.accounts").to_pylist() == [
            {"CreditLimit": "n/a"}]
        _replace(simulator, "CurrencyCode", None)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT AccountNumber, CurrencyCode FROM oracle.accounts")
        assert str(info.value).startswith("oracle.accounts.CurrencyCode: Oracle Fusion no "
                                          "longer knows the attribute")
        assert "discovered as string, now missing" in str(info.value)


def test_truth_schema_is_what_arrow_reads(pod: OracleFusion) -> None:
    """Guard: the projection's truth tables use the documented type mapping."""
    schema = oracle_truth_tables(pod)["receivablesInvoices"].schema
    assert schema.field("TransactionDate").type == pa.date32()
    assert schema.field("CreationDate").type == pa.timestamp("ms", tz="UTC")
