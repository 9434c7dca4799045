"""The NetSuite adapter against the SuiteQL simulator over loopback HTTP.

Answers with pushdown must equal answers without and DuckDB's answers over our own typed
copy of the account; beyond that: both auth modes, paging, the 100,000-row cap (scaled
down) split by keyset, 429 concurrency limits, malformed answers and schema drift.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from adapters.netsuite import NetSuiteAdapter
from adapters.registry import ADAPTERS
from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import (
    AuthenticationError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)
from sandbox.projections.erp_model import ErpField, ErpTable, NetSuiteAccount
from sandbox.simulators.netsuite import (
    NetSuiteSimConfig,
    NetSuiteSimulator,
    SuiteQLEngine,
    TbaCredential,
)
from tests.conftest import normalize, secret_ref
from tests.predicates import predicates

ADAPTERS.setdefault("netsuite", NetSuiteAdapter)  # until adapters/registry.py lists it

ACCOUNT = "TSTDRV7654321"
BEARER = "ns-bearer-test"
TBA = TbaCredential("ck-concord", "cs-concord", "tk-concord", "ts-concord-secret")
F = ErpField
TYPES = {"integer": pa.int64(), "select": pa.int64(), "float": pa.float64(),
         "currency": pa.float64(), "text": pa.string(), "boolean": pa.bool_(),
         "date": pa.date32(), "datetime": pa.timestamp("ms", tz="UTC")}
NAMES = ["Acme Corp", "acme corp", "ACME, INC.", "O'Brien & Sons", "Back\\slash Ltd",
         "Müller GmbH", "東京 Trading", "100% Pure", "under_score", "Zeta", "zeta", "a", ""]
TX_TYPES = ["SalesOrd", "CustInvc", "CustPymt", "CustCred"]


def _table(name: str, fields: list[ErpField], rows: list[dict[str, Any]],
           key: str = "id") -> ErpTable:
    return ErpTable(name, fields, rows, key=key)


def make_account(n_customers: int = 300, n_transactions: int = 3000) -> NetSuiteAccount:
    """A deterministic account with the records the adapter reads and their edge cases:
    quotes, backslashes, unicode, case variants, '' (NULL in NetSuite), NULL amounts and
    dates, negative credit memos, datetimes with seconds."""
    rand = random.Random(11)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    customers = []
    for i in range(1, n_customers + 1):
        name = NAMES[i % len(NAMES)] + ("" if i % 3 else f" {i}")
        customers.append({
            "id": i, "entityid": f"CUST{i:04d}", "companyname": name,
            "email": None if i % 7 == 0 else ("" if i % 11 == 0 else f"ap{i}@example.test"),
            "isinactive": i % 5 == 0, "subsidiary": 1 + i % 2,
            "salesrep": None if i % 4 == 0 else 7,
            "creditlimit": None if i % 6 == 0 else Decimal(rand.randint(0, 500)) * 100,
            "datecreated": start + dt.timedelta(seconds=rand.randint(0, 60_000_000)),
        })
    transactions, lines = [], []
    for i in range(1, n_transactions + 1):
        typ = TX_TYPES[i % 4]
        amount = Decimal(rand.randint(-5000, 900_000)) / 100
        transactions.append({
            "id": i, "tranid": f"{typ[:3].upper()}{i}", "type": typ,
            "entity": rand.randint(1, n_customers),
            "trandate": None if i % 97 == 0 else dt.date(2024, 1, 1) + dt.timedelta(
                days=rand.randint(0, 900)),
            "foreigntotal": None if i % 13 == 0 else (-abs(amount) if typ == "CustCred"
                                                      else abs(amount)),
            "status": None if typ == "CustPymt" else rand.choice("ABCEGH"),
            "memo": rand.choice([None, "rush", "Rush", "net 30", "O'Hara's order", "50%"]),
            "createddate": start + dt.timedelta(seconds=rand.randint(0, 60_000_000)),
            "isreversal": rand.random() < 0.1,
        })
        if typ in ("SalesOrd", "CustInvc") and i % 2:
            for seq in range(1, rand.randint(1, 3) + 1):
                qty = rand.choice([1.0, 2.0, 2.5, 10.0, None])
                rate = Decimal(rand.randint(100, 99_999)) / 100
                lines.append({
                    "uniquekey": len(lines) + 1, "transaction": i,
                    "linesequencenumber": seq, "item": rand.choice([501, 502, 503]),
                    "quantity": qty, "rate": rate,
                    "netamount": None if qty is None else rate * Decimal(str(qty)),
                })
    tables = [
        _table("customer", [F("id", "integer"), F("entityid", "text"),
                            F("companyname", "text"), F("email", "text"),
                            F("isinactive", "boolean"), F("subsidiary", "select"),
                            F("salesrep", "select"), F("creditlimit", "currency"),
                            F("datecreated", "datetime")], customers),
        _table("transaction", [F("id", "integer"), F("tranid", "text"), F("type", "text"),
                               F("entity", "select"), F("trandate", "date"),
                               F("foreigntotal", "currency"), F("status", "text"),
                               F("memo", "text"), F("createddate", "datetime"),
                               F("isreversal", "boolean")], transactions),
        _table("transactionline", [F("uniquekey", "integer"), F("transaction", "select"),
                                   F("linesequencenumber", "integer"), F("item", "select"),
                                   F("quantity", "float"), F("rate", "currency"),
                                   F("netamount", "currency")], lines, key="uniquekey"),
        _table("item", [F("id", "integer"), F("itemid", "text"), F("baseprice", "currency")],
               [{"id": 501, "itemid": "WIDGET", "baseprice": Decimal("10")},
                {"id": 502, "itemid": "SERVICE", "baseprice": Decimal("99.5")},
                {"id": 503, "itemid": "widget", "baseprice": None}]),
        _table("currency", [F("id", "integer"), F("symbol", "text"),
                            F("isbasecurrency", "boolean")],
               [{"id": 1, "symbol": "USD", "isbasecurrency": True},
                {"id": 2, "symbol": "EUR", "isbasecurrency": False}]),
        _table("currencyrate", [F("id", "integer"), F("exchangerate", "float"),
                                F("effectivedate", "date")],
               [{"id": 1, "exchangerate": 1.0875, "effectivedate": dt.date(2024, 1, 1)}]),
        _table("subsidiary", [F("id", "integer"), F("name", "text")],
               [{"id": 1, "name": "Concord Inc."}, {"id": 2, "name": "Concord GmbH"}]),
        _table("employee", [F("id", "integer"), F("entityid", "text")],
               [{"id": 7, "entityid": "Dana Rep"}]),
        # a record without a unique key, to show a scan past the cap cannot be split
        _table("systemnote", [F("recordid", "integer"), F("field", "text")],
               [{"recordid": i % 50, "field": f"f{i}"} for i in range(3000)], key=""),
    ]
    return NetSuiteAccount({t.name: t for t in tables}, account_id=ACCOUNT)


def truth_tables(account: NetSuiteAccount) -> dict[str, pa.Table]:
    """The account typed as the adapter exposes it ('' is NULL, as NetSuite stores it)."""
    out = {}
    for name, table in account.tables.items():
        columns = {}
        for f in table.fields:
            values = [r.get(f.name) for r in table.rows]
            if f.type == "text":
                values = [v or None for v in values]
            elif f.type in ("float", "currency"):
                values = [None if v is None else float(v) for v in values]
            columns[f.name] = pa.array(values, TYPES[f.type])
        out[name] = pa.table(columns)
    return out


def config(**kw: Any) -> NetSuiteSimConfig:
    return NetSuiteSimConfig(bearer_tokens=(BEARER,), tba_credentials=(TBA,), **kw)


def catalog(url: str, auth: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {
        "settings": {"cache_max_bytes": 0},
        "sources": {"netsuite": {
            "type": "netsuite", "url": url,
            "auth": {k: secret_ref(v) if isinstance(v, str) else v for k, v in auth.items()},
            "retry": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
            "options": {"account_id": ACCOUNT, **options},
        }},
    }


def tba_auth(monkeypatch: pytest.MonkeyPatch, token_secret: str = TBA.token_secret
             ) -> dict[str, Any]:
    monkeypatch.setenv("CONCORD_TEST_NS_CS", TBA.consumer_secret)
    monkeypatch.setenv("CONCORD_TEST_NS_TS", token_secret)
    return {"consumer_key": TBA.consumer_key, "consumer_secret": {"env": "CONCORD_TEST_NS_CS"},
            "token_id": TBA.token_id, "token_secret": {"env": "CONCORD_TEST_NS_TS"}}


@pytest.fixture(scope="module")
def account() -> NetSuiteAccount:
    return make_account()


@pytest.fixture(scope="module")
def sim(account: NetSuiteAccount) -> Iterator[NetSuiteSimulator]:
    simulator = NetSuiteSimulator(account, config())
    with simulator.serve() as server:
        simulator.url = server.url  # type: ignore[attr-defined]
        yield simulator


@pytest.fixture(scope="module")
def fed(sim: NetSuiteSimulator, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Federation]:
    secret = tmp_path_factory.mktemp("ns") / "token"
    secret.write_text(BEARER)
    raw = catalog(sim.url, {"access_token": {"file": str(secret)}})  # type: ignore[attr-defined]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation:
        yield federation


@pytest.fixture(scope="module")
def cached_fed(sim: NetSuiteSimulator) -> Iterator[Federation]:
    """With the scan cache on: a full scan fetched once answers every unpushed query."""
    raw = catalog(sim.url, {"access_token": BEARER})  # type: ignore[attr-defined]
    raw["settings"]["cache_max_bytes"] = 64 * 1024 * 1024
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation:
        yield federation


@pytest.fixture(scope="module")
def truth(account: NetSuiteAccount) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA netsuite")
    for name, table in truth_tables(account).items():
        con.register("incoming", table)
        con.execute(f'CREATE TABLE netsuite."{name}" AS SELECT * FROM incoming')
        con.unregister("incoming")
    yield con
    con.close()


# -- discovery ---------------------------------------------------------------------------


def test_discovery_types_columns_from_the_metadata_catalog(fed: Federation,
                                                           account: NetSuiteAccount) -> None:
    tables = fed.tables("netsuite")
    assert list(tables) == ["customer", "transaction", "transactionline", "item", "currency",
                            "currencyrate", "subsidiary", "employee"]
    expected = truth_tables(account)
    for name, info in tables.items():
        assert info.arrow_schema() == expected[name].schema, name


# -- differential ------------------------------------------------------------------------

CORPUS = [
    "SELECT id, companyname FROM netsuite.customer WHERE companyname = 'Acme Corp'",
    "SELECT id FROM netsuite.customer WHERE companyname IN ('zeta', 'O''Brien & Sons', 'a')",
    "SELECT id FROM netsuite.customer WHERE companyname LIKE '%o''b%' OR companyname LIKE '_cme%'",
    "SELECT id FROM netsuite.customer WHERE companyname LIKE '%\\%' OR companyname ILIKE 'acme%'",
    "SELECT id FROM netsuite.customer WHERE companyname NOT LIKE 'A%' AND NOT isinactive",
    "SELECT id FROM netsuite.customer WHERE email IS NULL OR email = ''",
    "SELECT id FROM netsuite.customer WHERE companyname != 'Zeta' AND companyname < 'M'",
    "SELECT id FROM netsuite.customer WHERE datecreated >= TIMESTAMP '2024-03-01 12:30:00'",
    "SELECT id FROM netsuite.customer WHERE creditlimit BETWEEN 1000 AND 20000 OR salesrep IS NULL",
    "SELECT id, foreigntotal FROM netsuite.transaction WHERE foreigntotal > 5000",
    "SELECT id FROM netsuite.transaction WHERE foreigntotal IS NULL OR foreigntotal < 0",
    "SELECT id FROM netsuite.transaction WHERE type IN ('CustInvc', 'CustCred') "
    "AND trandate >= DATE '2025-01-01'",
    "SELECT id FROM netsuite.transaction WHERE trandate < '2024-03-31' OR trandate IS NULL",
    "SELECT id FROM netsuite.transaction WHERE type NOT IN ('SalesOrd') AND status != 'A'",
    "SELECT id FROM netsuite.transaction WHERE NOT (foreigntotal > 100 OR isreversal)",
    "SELECT id FROM netsuite.transaction WHERE memo = 'Rush' OR memo LIKE '%''%'",
    "SELECT id FROM netsuite.transaction WHERE lower(memo) = 'rush' AND foreigntotal > 0",
    "SELECT id FROM netsuite.transaction WHERE createddate < TIMESTAMP '2023-06-01 00:00:00' "
    "AND id % 3 = 0",
    # aggregates
    "SELECT type, count(*), sum(foreigntotal), min(trandate), max(createddate) "
    "FROM netsuite.transaction GROUP BY type",
    "SELECT count(*) FROM netsuite.transaction WHERE isreversal",
    "SELECT status, avg(foreigntotal) FROM netsuite.transaction WHERE type = 'SalesOrd' "
    "GROUP BY status",
    # top-N
    "SELECT id, foreigntotal FROM netsuite.transaction ORDER BY foreigntotal DESC NULLS LAST, id "
    "LIMIT 7",
    "SELECT id, trandate FROM netsuite.transaction WHERE type = 'CustInvc' "
    "ORDER BY trandate NULLS FIRST, id LIMIT 5",
    "SELECT id, createddate FROM netsuite.transaction ORDER BY createddate DESC, id LIMIT 3 "
    "OFFSET 2",
    "SELECT id, companyname FROM netsuite.customer ORDER BY companyname, id LIMIT 5",
    # joins
    "SELECT c.companyname, sum(t.foreigntotal) FROM netsuite.transaction t "
    "JOIN netsuite.customer c ON t.entity = c.id WHERE t.type = 'CustInvc' "
    "AND c.companyname LIKE 'Acme%' GROUP BY c.companyname",
    "SELECT t.id, l.linesequencenumber, l.netamount FROM netsuite.transaction t "
    "JOIN netsuite.transactionline l ON l.transaction = t.id WHERE t.foreigntotal > 8000 "
    "AND l.quantity >= 2",
    "SELECT c.id FROM netsuite.customer c LEFT JOIN netsuite.transaction t "
    "ON t.entity = c.id AND t.type = 'CustPymt' WHERE t.id IS NULL",
    "SELECT i.itemid, count(*), sum(l.netamount) FROM netsuite.transactionline l "
    "JOIN netsuite.item i ON i.id = l.item GROUP BY i.itemid",
    "SELECT c.companyname, count(DISTINCT l.item) FROM netsuite.customer c "
    "JOIN netsuite.transaction t ON t.entity = c.id JOIN netsuite.transactionline l "
    "ON l.transaction = t.id WHERE NOT c.isinactive GROUP BY c.companyname",
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
    "customer": ["companyname", "email", "isinactive", "salesrep", "creditlimit",
                 "datecreated"],
    "transaction": ["tranid", "type", "trandate", "foreigntotal", "status", "memo",
                    "createddate", "isreversal", "entity"],
}


@pytest.mark.parametrize("table", sorted(GENERATED))
def test_generated_predicates_match_truth(fed: Federation, cached_fed: Federation,
                                          truth: duckdb.DuckDBPyConnection,
                                          account: NetSuiteAccount, table: str) -> None:
    data = truth_tables(account)[table]

    @settings(max_examples=35, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(predicate=predicates(data, GENERATED[table]))
    def check(predicate: str) -> None:
        sql = f'SELECT id FROM netsuite."{table}" WHERE {predicate}'
        expected = normalize(truth.sql(sql).to_arrow_table())
        assert normalize(fed.sql(sql)) == expected, sql
        assert normalize(cached_fed.sql(sql, pushdown=False)) == expected, sql

    check()


def test_pushdown_sends_only_the_matching_rows(fed: Federation, sim: NetSuiteSimulator) -> None:
    sim.reset_stats()
    result = fed.sql("SELECT id, trandate FROM netsuite.transaction WHERE type = 'CustCred' "
                     "AND trandate >= DATE '2025-06-01'")
    assert sim.stats.rows_returned == result.num_rows > 0
    assert sim.stats.queries[-1] == (
        "SELECT id, type, TO_CHAR(trandate, 'YYYY-MM-DD') AS trandate FROM transaction "
        "WHERE trandate >= TO_DATE('2025-06-01', 'YYYY-MM-DD') AND type = 'CustCred' "
        "ORDER BY id ASC")
    sim.reset_stats()
    fed.sql("SELECT id FROM netsuite.transaction ORDER BY foreigntotal DESC NULLS LAST LIMIT 4")
    assert sim.stats.rows_returned == 4
    assert sim.stats.queries[-1].endswith(
        "ORDER BY transaction.foreigntotal DESC NULLS LAST, transaction.id ASC "
        "FETCH FIRST 4 ROWS ONLY")


# -- auth --------------------------------------------------------------------------------


def test_tba_signs_every_request(sim: NetSuiteSimulator, monkeypatch: pytest.MonkeyPatch,
                                 truth: duckdb.DuckDBPyConnection) -> None:
    raw = catalog(sim.url, tba_auth(monkeypatch), page_size=1000)  # type: ignore[attr-defined]
    sim.reset_stats()
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        result = fed.sql("SELECT id, foreigntotal FROM netsuite.transaction")  # three pages
    assert result.num_rows == 3000
    assert sim.stats.pages_served == 3 and not sim.stats.auth_failures


def test_tba_wrong_token_secret(sim: NetSuiteSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = catalog(sim.url, tba_auth(monkeypatch, "wrong-secret-value"))  # type: ignore
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed, \
            pytest.raises(AuthenticationError) as info:
        fed.sql("SELECT id FROM netsuite.customer")
    message = str(info.value)
    assert message.startswith("netsuite.customer: NetSuite refused the login (INVALID_LOGIN)")
    assert "env CONCORD_TEST_NS_TS" in message
    assert "wrong-secret-value" not in message and TBA.consumer_secret not in message
    assert sim.tba.last_reason == "signature mismatch"


def test_wrong_bearer_token_and_missing_credentials(sim: NetSuiteSimulator) -> None:
    with Federation(parse_catalog(catalog(sim.url, {"access_token": "nope"}),  # type: ignore
                                  base_dir=Path("."))) as fed, \
            pytest.raises(AuthenticationError, match="check access_token"):
        fed.tables("netsuite")
    with Federation(parse_catalog(catalog(sim.url, {"consumer_key": "ck"}),  # type: ignore
                                  base_dir=Path("."))) as fed, \
            pytest.raises(Exception, match="missing: consumer_secret, token_id, token_secret"):
        fed.tables("netsuite")


# -- paging and the result cap -----------------------------------------------------------


def test_paging_follows_has_more(sim: NetSuiteSimulator) -> None:
    raw = catalog(sim.url, {"access_token": BEARER}, page_size=400)  # type: ignore
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        fed.tables("netsuite")
        sim.reset_stats()
        result = fed.sql("SELECT id FROM netsuite.transaction")
        scan = fed.last_stats.scans[0]  # type: ignore[union-attr]
    assert sorted(result.column("id").to_pylist()) == list(range(1, 3001))
    assert scan.pages == sim.stats.pages_served == 8  # 7 × 400 + 200


@contextmanager
def capped_netsuite() -> Iterator[tuple[NetSuiteSimulator, Federation]]:
    """A NetSuite whose SuiteQL stops at 2,500 rows (NetSuite's own cap is 100,000), with
    its tables discovered."""
    simulator = NetSuiteSimulator(make_account(), config(result_cap=2500))
    with simulator.serve() as server:
        raw = catalog(server.url, {"access_token": BEARER}, result_cap=2500,
                      tables=["transaction", "systemnote"])
        with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
            fed.tables("netsuite")
            yield simulator, fed


def test_result_cap_is_split_by_keyset() -> None:
    """The simulator stops at 2,500 rows (NetSuite: 100,000); every row still arrives."""
    with capped_netsuite() as (simulator, fed):
        simulator.reset_stats()
        result = fed.sql("SELECT tranid FROM netsuite.transaction WHERE foreigntotal > 0 "
                         "OR foreigntotal IS NULL OR type = 'CustCred'")
        assert result.num_rows == 3000 == len(set(result.column("tranid").to_pylist()))
        base = ("SELECT tranid, type, foreigntotal, id FROM transaction WHERE "
                "((foreigntotal > 0 OR "
                "foreigntotal IS NULL) OR type = 'CustCred')")
        assert simulator.stats.queries == [base + " ORDER BY id ASC"] * 3 + [
            base + " AND id > 2500 ORDER BY id ASC"]
        assert simulator.stats.responses_by_status == {200: 4}
        # a bare LIMIT past the cap continues with what is left of it
        simulator.reset_stats()
        assert fed.sql("SELECT id FROM netsuite.transaction LIMIT 2700").num_rows == 2700
        assert simulator.stats.queries[-1] == (
            "SELECT id FROM transaction WHERE id > 2500 ORDER BY id ASC "
            "FETCH FIRST 200 ROWS ONLY")
        with pytest.raises(SourceError, match="more than the 2,500 SuiteQL returns"):
            fed.sql("SELECT field FROM netsuite.systemnote")


def test_top_n_past_the_cap_is_split_by_keyset(truth: duckdb.DuckDBPyConnection) -> None:
    """An ordered LIMIT larger than the cap used to fail ("no unique key to continue
    after"); it is scanned by id without ORDER BY/LIMIT and DuckDB sorts and limits."""
    with capped_netsuite() as (simulator, fed):
        sql = ("SELECT id, foreigntotal FROM netsuite.transaction "
               "ORDER BY foreigntotal DESC NULLS LAST, id LIMIT 2700")
        simulator.reset_stats()
        result = fed.sql(sql)
        assert result.num_rows == 2700
        assert normalize(result, ordered=True) == normalize(
            truth.sql(sql).to_arrow_table(), ordered=True)
        base = "SELECT id, foreigntotal FROM transaction"
        assert simulator.stats.queries == [base + " ORDER BY id ASC"] * 3 + [
            base + " WHERE id > 2500 ORDER BY id ASC"]
        scan = fed.explain(sql).scans[0]
        assert fed.adapter("netsuite").native_request(scan.table, scan.request) == (
            base + " ORDER BY id ASC")  # what explain shows is what is sent
        # a filtered top-N past the cap, with an OFFSET: the same rows as without pushdown
        sql = ("SELECT id, trandate FROM netsuite.transaction WHERE foreigntotal > 0 "
               "ORDER BY trandate DESC NULLS FIRST, id LIMIT 2000 OFFSET 900")
        assert normalize(fed.sql(sql), ordered=True) == normalize(
            fed.sql(sql, pushdown=False), ordered=True) == normalize(
            truth.sql(sql).to_arrow_table(), ordered=True)
        # a top-N within the cap is still pushed whole
        simulator.reset_stats()
        sql = ("SELECT id FROM netsuite.transaction "
               "ORDER BY foreigntotal DESC NULLS LAST, id LIMIT 2500")
        assert fed.sql(sql).num_rows == 2500 == simulator.stats.rows_returned
        assert simulator.stats.queries[-1].endswith("FETCH FIRST 2500 ROWS ONLY")
        # without a key an ordered scan past the cap still cannot continue, and says so
        with pytest.raises(SourceError, match="no unique key to continue after"):
            fed.sql("SELECT field FROM netsuite.systemnote ORDER BY recordid LIMIT 2700")


# -- failures ----------------------------------------------------------------------------


def test_concurrency_429_is_retried(fed: Federation, sim: NetSuiteSimulator) -> None:
    sim.clear_faults()
    sim.inject(429, count=2)
    result = fed.sql("SELECT id FROM netsuite.customer WHERE isinactive")
    assert result.num_rows == 60
    assert fed.last_stats.scans[0].retries == 2  # type: ignore[union-attr]


def test_malformed_response_is_a_source_error(fed: Federation, sim: NetSuiteSimulator) -> None:
    sim.clear_faults()
    sim.inject(200, body="<html>maintenance</html>")
    with pytest.raises(SourceError, match="not JSON"):
        fed.sql("SELECT id FROM netsuite.item")
    sim.inject(400, body={"type": "x", "title": "Bad Request", "status": 400,
                          "o:errorDetails": [{"detail": "Some limit hit.",
                                              "o:errorCode": "INVALID_PARAMETER"}]})
    with pytest.raises(SourceQueryError, match="INVALID_PARAMETER: Some limit hit."):
        fed.sql("SELECT id FROM netsuite.item")


def _replace_customer(simulator: NetSuiteSimulator, field: str, new: ErpField | None,
                      value: Any = None) -> None:
    """Change one customer field in the served account (the engine reloads the data)."""
    customer = simulator.account.tables["customer"]
    fields = [f for f in customer.fields if f.name != field] if new is None else [
        new if f.name == field else f for f in customer.fields]
    rows = [{**r, field: value} if new is not None else r for r in customer.rows]
    tables = {**simulator.account.tables,
              "customer": dataclasses.replace(customer, fields=fields, rows=rows)}
    simulator.account = dataclasses.replace(simulator.account, tables=tables)
    simulator.engine = SuiteQLEngine(simulator.account)


def test_field_whose_type_changed_names_both_types() -> None:
    simulator = NetSuiteSimulator(make_account(40, 10), config())
    with simulator.serve() as server, Federation(parse_catalog(
            catalog(server.url, {"access_token": BEARER}), base_dir=Path("."))) as fed:
        fed.tables("netsuite")
        _replace_customer(simulator, "creditlimit", F("creditlimit", "text"), "n/a")
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT id, creditlimit FROM netsuite.customer")
        assert str(info.value).startswith(
            "netsuite.customer.creditlimit: sent a value that does not fit ('n/a'): "
            "discovered as number, now string")
        # rediscovered on the next query: the column is text now
        assert fed.sql("SELECT DISTINCT creditlimit FROM netsuite.customer").to_pylist() == [
            {"creditlimit": "n/a"}]
        _replace_customer(simulator, "email", None)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT id, email FROM netsuite.customer")
        assert str(info.value).startswith("netsuite.customer.email: NetSuite no longer knows "
                                          "the field")
        assert "discovered as string, now missing" in str(info.value)


@pytest.mark.slow
def test_more_than_100000_rows_arrive_past_the_real_cap() -> None:
    """SuiteQL stops at 100,000 rows per query; the adapter continues by id, so all arrive."""
    n = 100_600
    lines = _table("transaction", [F("id", "integer"), F("type", "text")],
                   [{"id": i, "type": "CustInvc" if i % 2 else "SalesOrd"}
                    for i in range(1, n + 1)], key="id")
    simulator = NetSuiteSimulator(NetSuiteAccount({"transaction": lines}, ACCOUNT), config())
    with simulator.serve() as server:
        raw = catalog(server.url, {"access_token": BEARER}, tables=["transaction"])
        with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
            ids = fed.sql("SELECT id FROM netsuite.transaction").column("id").to_pylist()
            stats = fed.last_stats.scans[0]
    assert len(ids) == n and len(set(ids)) == n
    assert any("id > 100000" in q for q in simulator.stats.queries)  # split past the cap
    assert stats.pages == 101
