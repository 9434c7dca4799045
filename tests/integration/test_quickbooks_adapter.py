"""The QuickBooks adapter against the QBO simulator over loopback HTTP.

Answers with pushdown must equal answers without and DuckDB's answers over
``quickbooks_truth_tables`` (the company flattened independently of the adapter); beyond
that: OR split into several queries, paging past 1,000 rows, wrong token, 429 throttling,
malformed answers and drift.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings

from adapters.quickbooks import QuickBooksAdapter
from adapters.registry import ADAPTERS
from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import (
    AuthenticationError,
    CatalogError,
    RateLimitedError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)
from sandbox.company import generate_company
from sandbox.projections.erp_model import QuickBooksCompany
from sandbox.projections.quickbooks import (
    iso_pacific,
    project_quickbooks,
    quickbooks_truth_tables,
)
from sandbox.simulators.quickbooks import QuickBooksSimConfig, QuickBooksSimulator
from tests.conftest import normalize, secret_ref
from tests.predicates import predicates

ADAPTERS.setdefault("quickbooks", QuickBooksAdapter)  # until adapters/registry.py lists it

TOKEN = "qbo-test-token"
REALM = "9130350000000001"
NAMES = ["Acme Corp", "acme corp", "ACME, INC.", "O'Brien & Sons", "Back\\slash Ltd",
         "Müller GmbH", "東京 Trading", "100% Pure", "under_score", "Zeta", "zeta", "a"]


def make_company(n_customers: int = 60, n_invoices: int = 1500) -> QuickBooksCompany:
    """A deterministic realm with QBO-shaped objects and their edge cases: quotes,
    backslashes, unicode, case variants, omitted properties, sub-total lines."""
    rand = random.Random(5)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customers = []
    for i in range(1, n_customers + 1):
        obj: dict[str, Any] = {
            "Id": str(i), "SyncToken": "0",
            "MetaData": {"CreateTime": iso_pacific(start + dt.timedelta(hours=7 * i + 0.5)),
                         "LastUpdatedTime": iso_pacific(start + dt.timedelta(hours=9 * i))},
            "DisplayName": NAMES[i % len(NAMES)] + ("" if i % 3 else f" {i}"),
            "Balance": round(rand.uniform(0, 5000), 2) if i % 4 else 0.0,
            "Active": i % 5 != 0, "Job": False,
            "CurrencyRef": {"value": "GBP", "name": "British Pound Sterling"},
        }
        if i % 7:
            obj["CompanyName"] = obj["DisplayName"] + " Ltd"
            obj["PrimaryEmailAddr"] = {"Address": f"ap{i}@example.test"}
            obj["BillAddr"] = {"City": rand.choice(["London", "Leeds", "leeds"])}
        customers.append(obj)
    items = [{"Id": str(n), "SyncToken": "0", "Name": name, "Type": kind, "UnitPrice": price,
              "Active": True, "MetaData": {"CreateTime": "2023-05-01T09:00:00-07:00",
                                           "LastUpdatedTime": "2023-05-01T09:00:00-07:00"}}
             for n, name, kind, price in [(1, "Widget", "Inventory", 10.0),
                                          (2, "Support", "Service", 99.5),
                                          (3, "widget kit", "NonInventory", 12.25)]]
    invoices = []
    for i in range(1, n_invoices + 1):
        cust = customers[rand.randrange(n_customers)]
        lines = []
        for n in range(1, rand.randint(1, 3) + 1):
            item = rand.choice(items)
            qty = rand.choice([1.0, 2.0, 2.5, 10.0])
            lines.append({"Id": str(n), "LineNum": n, "Amount": round(qty * item["UnitPrice"], 2),
                          "Description": item["Name"], "DetailType": "SalesItemLineDetail",
                          "SalesItemLineDetail": {
                              "ItemRef": {"value": item["Id"], "name": item["Name"]},
                              "Qty": qty, "UnitPrice": item["UnitPrice"]}})
        total = round(sum(li["Amount"] for li in lines) + i / 100, 2)
        lines.append({"Amount": total, "DetailType": "SubTotalLineDetail",
                      "SubTotalLineDetail": {}})
        created = start + dt.timedelta(minutes=97 * i)
        obj = {
            "Id": str(1000 + i), "SyncToken": "0",
            "MetaData": {"CreateTime": iso_pacific(created),
                         "LastUpdatedTime": iso_pacific(created + dt.timedelta(days=2))},
            "DocNumber": f"INV-{i:05d}", "TxnDate": (created.date()).isoformat(),
            "CustomerRef": {"value": cust["Id"], "name": cust["DisplayName"]},
            "CurrencyRef": {"value": "GBP", "name": "British Pound Sterling"},
            "Line": lines, "TotalAmt": total,
            "Balance": 0.0 if i % 3 == 0 else round(total / (1 + i % 2), 2),
        }
        if i % 4:
            obj["DueDate"] = (created.date() + dt.timedelta(days=30)).isoformat()
        if i % 5 == 0:
            obj["PrivateNote"] = rand.choice(["rush", "Rush", "O'Hara's order", "50%"])
        invoices.append(obj)
    payments = [{"Id": str(5000 + i), "SyncToken": "0", "TxnDate": inv["TxnDate"],
                 "CustomerRef": inv["CustomerRef"], "TotalAmt": inv["TotalAmt"],
                 "UnappliedAmt": 0.0, "MetaData": inv["MetaData"],
                 "Line": [{"Amount": inv["TotalAmt"],
                           "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}
                for i, inv in enumerate(invoices[::9])]
    return QuickBooksCompany(entities={
        "Customer": customers, "Item": items, "Invoice": invoices, "Payment": payments,
        "Estimate": [], "SalesReceipt": [], "CreditMemo": []}, realm_id=REALM)


def catalog(url: str, token: Any = TOKEN, **options: Any) -> dict[str, Any]:
    return {
        "settings": {"cache_max_bytes": 0},
        "sources": {"quickbooks": {
            "type": "quickbooks", "url": url,
            "auth": {"access_token": secret_ref(token) if isinstance(token, str) else token},
            "retry": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
            "options": {"realm_id": REALM, "requests_per_minute": None, **options},
        }},
    }


def config(**kw: Any) -> QuickBooksSimConfig:
    return QuickBooksSimConfig(**{"bearer_tokens": (TOKEN,), "requests_per_minute": None, **kw})


@pytest.fixture(scope="module")
def company() -> QuickBooksCompany:
    return make_company()


@pytest.fixture(scope="module")
def sim(company: QuickBooksCompany) -> Iterator[QuickBooksSimulator]:
    simulator = QuickBooksSimulator(company, config())
    with simulator.serve() as server:
        simulator.url = server.url  # type: ignore[attr-defined]
        yield simulator


@pytest.fixture(scope="module")
def fed(sim: QuickBooksSimulator) -> Iterator[Federation]:
    raw = catalog(sim.url)  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation:
        yield federation


def _truth_db(company: QuickBooksCompany) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA quickbooks")
    for name, table in quickbooks_truth_tables(company).items():
        con.register("incoming", table)
        con.execute(f'CREATE TABLE quickbooks."{name}" AS SELECT * FROM incoming')
        con.unregister("incoming")
    return con


@pytest.fixture(scope="module")
def truth(company: QuickBooksCompany) -> Iterator[duckdb.DuckDBPyConnection]:
    con = _truth_db(company)
    yield con
    con.close()


# -- discovery and the projected company -------------------------------------------------


def test_declared_schema_matches_truth_and_projected_company() -> None:
    """The sandbox's own projected realm reads back exactly as the truth tables say."""
    projected = project_quickbooks(generate_company(seed=3, scale=0.3))
    simulator = QuickBooksSimulator(projected, config())
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url), base_dir=Path("."))) as fed:
        tables = fed.tables("quickbooks")
        expected = quickbooks_truth_tables(projected)
        assert set(tables) == set(expected)
        for name, info in tables.items():
            assert info.arrow_schema() == expected[name].schema, name
        con = _truth_db(projected)
        for sql in ["SELECT * FROM quickbooks.Invoice", "SELECT * FROM quickbooks.InvoiceLine",
                    "SELECT * FROM quickbooks.Customer", "SELECT * FROM quickbooks.Payment",
                    "SELECT * FROM quickbooks.EstimateLine", "SELECT * FROM quickbooks.Item",
                    "SELECT c.DisplayName, sum(l.Amount) FROM quickbooks.Invoice i "
                    "JOIN quickbooks.Customer c ON c.Id = i.CustomerRef_value "
                    "JOIN quickbooks.InvoiceLine l ON l.InvoiceId = i.Id "
                    "WHERE l.DetailType = 'SalesItemLineDetail' GROUP BY 1"]:
            assert normalize(fed.sql(sql)) == normalize(con.sql(sql).to_arrow_table()), sql


# -- differential ------------------------------------------------------------------------

CORPUS = [
    "SELECT Id, DisplayName FROM quickbooks.Customer WHERE DisplayName = 'acme corp'",
    "SELECT Id FROM quickbooks.Customer WHERE DisplayName IN ('zeta', 'O''Brien & Sons', 'a')",
    "SELECT Id FROM quickbooks.Customer WHERE DisplayName LIKE '%o''b%' OR "
    "DisplayName LIKE 'acme%'",
    "SELECT Id FROM quickbooks.Customer WHERE DisplayName LIKE 'under_score%' "
    "OR DisplayName LIKE '%\\%'",
    "SELECT Id FROM quickbooks.Customer WHERE NOT Active AND Balance > 100",
    "SELECT Id FROM quickbooks.Customer WHERE CompanyName IS NULL OR Balance = 0",
    "SELECT Id FROM quickbooks.Customer WHERE DisplayName != 'Zeta' AND DisplayName < 'M'",
    "SELECT Id FROM quickbooks.Customer WHERE MetaData_CreateTime >= "
    "TIMESTAMP '2024-01-05 12:30:00' AND BillAddr_City = 'leeds'",
    "SELECT Id, TotalAmt FROM quickbooks.Invoice WHERE TotalAmt > 150.5",
    "SELECT Id FROM quickbooks.Invoice WHERE TotalAmt BETWEEN 20 AND 30.25 "
    "OR DueDate IS NULL",
    "SELECT Id FROM quickbooks.Invoice WHERE CustomerRef_value IN ('3', '17') "
    "AND TxnDate >= DATE '2024-03-01'",
    "SELECT Id FROM quickbooks.Invoice WHERE (TxnDate < '2024-02-01' OR TotalAmt > 240) "
    "AND (Balance = 0 OR CustomerRef_value = '5')",
    "SELECT Id FROM quickbooks.Invoice WHERE PrivateNote = 'Rush' OR PrivateNote LIKE '%''%'",
    "SELECT Id FROM quickbooks.Invoice WHERE lower(PrivateNote) = 'rush' AND TotalAmt > 0",
    "SELECT Id FROM quickbooks.Invoice WHERE DocNumber IN ('INV-00007', 'inv-00008')",
    "SELECT Id FROM quickbooks.Invoice WHERE MetaData_LastUpdatedTime < "
    "TIMESTAMP '2024-01-20 00:00:00' AND NOT (TotalAmt > 100)",
    # aggregates
    "SELECT CustomerRef_value, count(*), sum(TotalAmt), min(TxnDate), max(MetaData_CreateTime) "
    "FROM quickbooks.Invoice GROUP BY 1",
    "SELECT count(*), sum(Balance) FROM quickbooks.Invoice WHERE Balance > 0",
    "SELECT ItemRef_name, DetailType, count(*), sum(Amount), avg(Qty) "
    "FROM quickbooks.InvoiceLine GROUP BY 1, 2",
    # top-N
    "SELECT Id, TotalAmt FROM quickbooks.Invoice ORDER BY TotalAmt DESC LIMIT 7",
    "SELECT Id, MetaData_CreateTime FROM quickbooks.Invoice WHERE TxnDate >= '2024-03-01' "
    "ORDER BY MetaData_CreateTime LIMIT 5",
    "SELECT Id, TxnDate FROM quickbooks.Invoice ORDER BY TxnDate DESC, Id LIMIT 4",
    # joins
    "SELECT c.DisplayName, sum(i.TotalAmt) FROM quickbooks.Invoice i "
    "JOIN quickbooks.Customer c ON i.CustomerRef_value = c.Id WHERE i.TotalAmt > 200 "
    "AND c.DisplayName LIKE 'Acme%' GROUP BY 1",
    "SELECT i.DocNumber, l.LineNum, l.Amount FROM quickbooks.Invoice i "
    "JOIN quickbooks.InvoiceLine l ON l.InvoiceId = i.Id WHERE i.TotalAmt > 240 "
    "AND l.Qty >= 2",
    "SELECT c.Id FROM quickbooks.Customer c LEFT JOIN quickbooks.Invoice i "
    "ON i.CustomerRef_value = c.Id AND i.TotalAmt > 1500 WHERE i.Id IS NULL",
    "SELECT l.ItemRef_value, count(DISTINCT c.Id) FROM quickbooks.Customer c "
    "JOIN quickbooks.Invoice i ON i.CustomerRef_value = c.Id "
    "JOIN quickbooks.InvoiceLine l ON l.InvoiceId = i.Id WHERE c.Active "
    "AND l.InvoiceId IN ('1001', '1002', '1500') GROUP BY 1",
]


def ordered(sql: str) -> bool:
    return "ORDER BY" in sql


@pytest.mark.parametrize("sql", CORPUS)
def test_corpus_matches_truth(fed: Federation, truth: duckdb.DuckDBPyConnection,
                              sql: str) -> None:
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=ordered(sql))
    assert normalize(fed.sql(sql), ordered=ordered(sql)) == expected
    assert normalize(fed.sql(sql, pushdown=False), ordered=ordered(sql)) == expected


GENERATED = {
    "Customer": ["DisplayName", "CompanyName", "Active", "Balance", "MetaData_CreateTime"],
    "Invoice": ["DocNumber", "TxnDate", "DueDate", "TotalAmt", "Balance", "PrivateNote",
                "CustomerRef_value", "MetaData_LastUpdatedTime"],
}


@pytest.mark.parametrize("table", sorted(GENERATED))
def test_generated_predicates_match_truth(fed: Federation, truth: duckdb.DuckDBPyConnection,
                                          company: QuickBooksCompany, table: str) -> None:
    data = quickbooks_truth_tables(company)[table]

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(predicate=predicates(data, GENERATED[table]))
    def check(predicate: str) -> None:
        sql = f'SELECT Id FROM quickbooks."{table}" WHERE {predicate}'
        assert normalize(fed.sql(sql)) == normalize(truth.sql(sql).to_arrow_table()), sql

    check()


def test_pushdown_sends_only_matching_rows_and_splits_or(fed: Federation,
                                                         sim: QuickBooksSimulator) -> None:
    sim.reset_stats()
    result = fed.sql("SELECT Id FROM quickbooks.Invoice WHERE TotalAmt > 240 "
                     "AND TxnDate >= DATE '2024-03-01'")
    assert sim.stats.rows_returned == result.num_rows > 0
    assert sim.stats.queries == [
        "SELECT * FROM Invoice WHERE TotalAmt > 240 AND TxnDate >= '2024-03-01' "
        "STARTPOSITION 1 MAXRESULTS 1000"]
    sim.reset_stats()
    result = fed.sql("SELECT Id FROM quickbooks.Customer WHERE DisplayName = 'zeta' "
                     "OR Balance > 4900")
    assert sorted(sim.stats.queries) == [
        "SELECT * FROM Customer WHERE Balance > 4900 STARTPOSITION 1 MAXRESULTS 1000",
        "SELECT * FROM Customer WHERE DisplayName = 'zeta' STARTPOSITION 1 MAXRESULTS 1000"]
    sim.reset_stats()
    fed.sql("SELECT Id FROM quickbooks.Invoice ORDER BY TotalAmt DESC LIMIT 4")
    assert sim.stats.queries == [
        "SELECT * FROM Invoice ORDERBY TotalAmt DESC STARTPOSITION 1 MAXRESULTS 4"]
    assert sim.stats.minorversions == {"75": 1}


def test_scan_past_1000_rows_pages_until_a_short_page(fed: Federation,
                                                      sim: QuickBooksSimulator) -> None:
    sim.reset_stats()
    result = fed.sql("SELECT Id FROM quickbooks.Invoice")
    assert sorted(result.column("Id").to_pylist(), key=int) == [
        str(1000 + i) for i in range(1, 1501)]
    assert [q.split("STARTPOSITION ")[1] for q in sim.stats.queries] == [
        "1 MAXRESULTS 1000", "1001 MAXRESULTS 1000"]
    lines = fed.sql("SELECT count(*) AS n FROM quickbooks.InvoiceLine").to_pylist()[0]["n"]
    assert lines > 1500 * 2


# -- failures ----------------------------------------------------------------------------


def test_wrong_token_names_where_it_comes_from(sim: QuickBooksSimulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_TEST_QBO_TOKEN", "expired-token-value")
    raw = catalog(sim.url, {"env": "CONCORD_TEST_QBO_TOKEN"})  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed, \
            pytest.raises(AuthenticationError) as info:
        fed.sql("SELECT Id FROM quickbooks.Customer")
    message = str(info.value)
    assert message.startswith("quickbooks.Customer: QuickBooks refused the access token (3200")
    assert "env CONCORD_TEST_QBO_TOKEN" in message and "expired-token-value" not in message
    with pytest.raises(Exception, match="access_token"):
        Federation(parse_catalog({"sources": {"quickbooks": {
            "type": "quickbooks", "url": sim.url,  # type: ignore[attr-defined]
            "options": {"realm_id": REALM}}}}, base_dir=Path("."))).tables("quickbooks")


def test_429_is_retried_then_succeeds(fed: Federation, sim: QuickBooksSimulator) -> None:
    sim.clear_faults()
    sim.inject(429, count=2)
    result = fed.sql("SELECT Id FROM quickbooks.Customer WHERE NOT Active")
    assert result.num_rows == 12
    assert fed.last_stats.scans[0].retries == 2  # type: ignore[union-attr]


def test_rate_limit_over_the_minute_is_a_rate_limited_error(company: QuickBooksCompany) -> None:
    simulator = QuickBooksSimulator(company, config(requests_per_minute=2))
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url), base_dir=Path("."))) as fed:
        assert fed.sql("SELECT Id FROM quickbooks.Item").num_rows == 3
        fed.sql("SELECT Id FROM quickbooks.Customer")
        with pytest.raises(RateLimitedError):
            fed.sql("SELECT Id FROM quickbooks.Payment")
    assert simulator.stats.throttled >= 1


def test_malformed_and_refused_answers(fed: Federation, sim: QuickBooksSimulator) -> None:
    sim.clear_faults()
    sim.inject(200, body="<html>maintenance</html>")
    with pytest.raises(SourceError, match="not JSON"):
        fed.sql("SELECT Id FROM quickbooks.Item")
    sim.inject(200, body={"time": "x"})
    with pytest.raises(SourceError, match="no QueryResponse"):
        fed.sql("SELECT Id FROM quickbooks.Item")
    sim.inject(200, body={"QueryResponse": {"Item": {"Id": "1"}}})
    with pytest.raises(SourceError, match="not a list"):
        fed.sql("SELECT Id FROM quickbooks.Item")
    sim.inject(400, body={"Fault": {"Error": [{"Message": "Error parsing query",
                                               "Detail": "QueryParserError: odd",
                                               "code": "4000"}], "type": "ValidationFault"}})
    with pytest.raises(SourceQueryError, match="4000 Error parsing query: QueryParserError"):
        fed.sql("SELECT Id FROM quickbooks.Item")


def test_drift_names_field_and_both_types(company: QuickBooksCompany) -> None:
    drifted = copy.deepcopy(company)
    drifted.entities["Customer"][3]["Balance"] = "n/a"
    simulator = QuickBooksSimulator(drifted, config(
        known_properties={"Customer": frozenset({"Id", "Balance", "Active", "MetaData"}),
                          "Invoice": frozenset({"Id"})}))
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url), base_dir=Path("."))) as fed:
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT Id, Balance FROM quickbooks.Customer")
        assert str(info.value).startswith(
            "quickbooks.Customer.Balance: sent a value that does not fit ('n/a'): "
            "declared as number (double), arrived as string")
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT Id FROM quickbooks.Invoice WHERE TotalAmt > 5")
        assert str(info.value).startswith("quickbooks.Invoice.TotalAmt: QuickBooks no longer "
                                          "knows the property")


def test_custom_fields_are_columns_named_in_the_catalog(company: QuickBooksCompany) -> None:
    """A sales form's CustomField element (matched by Name) becomes a string column; a sale
    without it reads NULL; the column is filtered locally (QBO cannot query it)."""
    tagged = copy.deepcopy(company)
    for i, inv in enumerate(tagged.entities["Invoice"][:40]):
        inv["CustomField"] = [
            {"DefinitionId": "2", "Name": "Region", "Type": "StringType", "StringValue": "N"},
            {"DefinitionId": "1", "Name": "CRM Deal ID", "Type": "StringType",
             "StringValue": f"deal-{i}"}]
    simulator = QuickBooksSimulator(tagged, config())
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url, custom_fields={"CRMDealId": "CRM Deal ID"}),
            base_dir=Path("."))) as fed:
        got = fed.sql("SELECT Id, CRMDealId FROM quickbooks.Invoice").to_pylist()
        assert {r["Id"]: r["CRMDealId"] for r in got} == {
            inv["Id"]: (f"deal-{i}" if i < 40 else None)
            for i, inv in enumerate(tagged.entities["Invoice"])}
        one = fed.sql("SELECT Id FROM quickbooks.Invoice WHERE CRMDealId = 'deal-7'")
        assert one.to_pylist() == [{"Id": tagged.entities["Invoice"][7]["Id"]}]
        assert "CRMDealId" not in fed.last_stats.scans[0].native_request
        assert "CRMDealId" not in {c.name for c in fed.tables("quickbooks")["Customer"].columns}
    with pytest.raises(CatalogError, match="custom field column 'TotalAmt'"):
        parse_catalog(catalog("http://127.0.0.1:9", custom_fields={"TotalAmt": "x"}),
                      base_dir=Path("."))
