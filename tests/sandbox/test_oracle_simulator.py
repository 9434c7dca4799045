"""The Oracle Fusion simulator must behave like Fusion's documented REST API, over real
loopback HTTP: paths, paging and the 500-row cap, ``q`` operators and Oracle semantics,
``fields``/``onlyData``, ``orderBy``, ``/describe``, errors, auth and throttling."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.projections.erp_model import ErpField, ErpTable, OracleFusion
from sandbox.simulators.oracle import OracleFusionSimulator, OracleSimConfig

TOKEN = "oracle-test-token"
V2 = {"Authorization": f"Bearer {TOKEN}", "REST-Framework-Version": "4"}
INV = "/fscmRestApi/resources/11.13.18.05/receivablesInvoices"
F = ErpField
NAMES = ["Acme Corp", "acme corp", "Zeta", None, "", "O'Brien", "100% Pure", "A*B"]


def make_pod() -> OracleFusion:
    rows = []
    for i in range(1, 61):
        rows.append({
            "CustomerTransactionId": 1000 + i, "BillToCustomerName": NAMES[i % len(NAMES)],
            "EnteredAmount": None if i % 9 == 0 else (i * 10.5 if i % 4 else -i * 1.0),
            "TransactionDate": dt.date(2024, 1, 1) + dt.timedelta(days=i),
            "CreationDate": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i,
                                                                                 milliseconds=7),
            "Paid": i % 2 == 0,
        })
    invoices = ErpTable("receivablesInvoices", [
        F("CustomerTransactionId", "integer"), F("BillToCustomerName", "string"),
        F("EnteredAmount", "number"), F("TransactionDate", "date"),
        F("CreationDate", "datetime"), F("Paid", "boolean")], rows, key="CustomerTransactionId")
    accounts = ErpTable("accounts", [F("CustomerAccountId", "integer"),
                                     F("AccountName", "string")],
                        [{"CustomerAccountId": 1, "AccountName": "Acme"}], key="CustomerAccountId")
    return OracleFusion({"receivablesInvoices": invoices, "accounts": accounts})


@pytest.fixture(scope="module")
def sim() -> Iterator[OracleFusionSimulator]:
    simulator = OracleFusionSimulator(make_pod(), OracleSimConfig(
        users={"alice": "pw"}, bearer_tokens=(TOKEN,), max_limit=50))
    with simulator.serve() as server:
        simulator.url = server.url  # type: ignore[attr-defined]
        yield simulator


@pytest.fixture(scope="module")
def client(sim: OracleFusionSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers=V2) as http:  # type: ignore[attr-defined]
        yield http


def ids(client: httpx.Client, q: str, **params: Any) -> list[int]:
    response = client.get(INV, params={"q": q, "limit": 500, "onlyData": "true",
                                       "orderBy": "CustomerTransactionId", **params})
    assert response.status_code == 200, response.text
    return [item["CustomerTransactionId"] - 1000 for item in response.json()["items"]]


def expected(test: Any) -> list[int]:
    return [r["CustomerTransactionId"] - 1000 for r in make_pod().resources[
        "receivablesInvoices"].rows if test(r)]


def test_paging_limits_and_links(client: httpx.Client) -> None:
    first = client.get(INV, params={"orderBy": "CustomerTransactionId:asc"}).json()
    assert (first["count"], first["limit"], first["offset"], first["hasMore"]) == (25, 25, 0,
                                                                                    True)
    assert "totalResults" not in first and first["links"][0]["rel"] == "self"
    assert first["items"][0]["links"][0]["kind"] == "item"
    last = client.get(INV, params={"limit": 1000, "offset": 50, "totalResults": "true",
                                   "orderBy": "CustomerTransactionId:asc"}).json()
    assert (last["count"], last["limit"], last["hasMore"], last["totalResults"]) == (10, 50,
                                                                                     False, 60)
    capped = client.get(INV, params={"limit": 1000}).json()
    assert capped["count"] == 50 and capped["hasMore"] is True  # the max-limit cap
    assert client.get(INV, params={"limit": "x"}).status_code == 400


def test_default_order_is_unspecified(client: httpx.Client) -> None:
    pages = [[i["CustomerTransactionId"] for i in client.get(INV).json()["items"]]
             for _ in range(3)]
    assert len({tuple(p) for p in pages}) > 1


def test_values_fields_and_only_data(client: httpx.Client) -> None:
    body = client.get(INV, params={"fields": "CustomerTransactionId,EnteredAmount,"
                                             "TransactionDate,CreationDate,Paid",
                                   "onlyData": "true", "q": "CustomerTransactionId = 1009"
                                   }).json()
    assert "links" not in body
    assert body["items"] == [{"CustomerTransactionId": 1009, "EnteredAmount": None,
                              "TransactionDate": "2024-01-10",
                              "CreationDate": "2024-01-01T09:00:00.007+00:00", "Paid": False}]
    bad = client.get(INV, params={"fields": "Nope"})
    assert bad.status_code == 400 and "Nope" in bad.json()["o:errorDetails"][0]["detail"]


@pytest.mark.parametrize("q, test", [
    ("BillToCustomerName = 'Acme Corp'", lambda r: r["BillToCustomerName"] == "Acme Corp"),
    ("BillToCustomerName != 'Zeta'",
     lambda r: r["BillToCustomerName"] not in (None, "", "Zeta")),
    ("BillToCustomerName <> 'Zeta'",
     lambda r: r["BillToCustomerName"] not in (None, "", "Zeta")),
    ("BillToCustomerName = ''", lambda r: False),  # '' is NULL in Oracle
    ("BillToCustomerName IS NULL", lambda r: r["BillToCustomerName"] in (None, "")),
    ("BillToCustomerName is not null", lambda r: r["BillToCustomerName"] not in (None, "")),
    ("BillToCustomerName = 'O''Brien'", lambda r: r["BillToCustomerName"] == "O'Brien"),
    ("BillToCustomerName LIKE 'A%'", lambda r: (r["BillToCustomerName"] or "").startswith("A")),
    ("BillToCustomerName like 'a%'", lambda r: (r["BillToCustomerName"] or "").startswith("a")),
    ("BillToCustomerName LIKE '_cme%'",
     lambda r: (r["BillToCustomerName"] or "")[1:4] == "cme"),
    ("BillToCustomerName LIKE 'A*'", lambda r: (r["BillToCustomerName"] or "").startswith("A")),
    ("BillToCustomerName NOT LIKE '%e%'",
     lambda r: r["BillToCustomerName"] and "e" not in r["BillToCustomerName"]),
    ("BillToCustomerName IN ('Zeta', 'acme corp')",
     lambda r: r["BillToCustomerName"] in ("Zeta", "acme corp")),
    ("BillToCustomerName NOT IN ('Zeta')",
     lambda r: r["BillToCustomerName"] not in (None, "", "Zeta")),
    ("BillToCustomerName > 'Z'", lambda r: (r["BillToCustomerName"] or "") > "Z"),
    ("EnteredAmount > 100", lambda r: (r["EnteredAmount"] or 0) > 100),
    ("EnteredAmount >= 105 AND EnteredAmount <= 210.0",
     lambda r: r["EnteredAmount"] is not None and 105 <= r["EnteredAmount"] <= 210),
    ("EnteredAmount BETWEEN -20 AND 0",
     lambda r: r["EnteredAmount"] is not None and -20 <= r["EnteredAmount"] <= 0),
    ("EnteredAmount NOT BETWEEN -20 AND 600",
     lambda r: r["EnteredAmount"] is not None and not -20 <= r["EnteredAmount"] <= 600),
    ("EnteredAmount < 0 OR EnteredAmount IS NULL",
     lambda r: r["EnteredAmount"] is None or r["EnteredAmount"] < 0),
    ("NOT (EnteredAmount < 0)", lambda r: r["EnteredAmount"] is not None
     and r["EnteredAmount"] >= 0),
    ("CustomerTransactionId IN (1001, 1002, 1060)",
     lambda r: r["CustomerTransactionId"] in (1001, 1002, 1060)),
    ("TransactionDate < '2024-01-05'", lambda r: r["TransactionDate"] < dt.date(2024, 1, 5)),
    ("CreationDate >= '2024-01-03T00:00:00.007+00:00'",
     lambda r: r["CreationDate"] >= dt.datetime(2024, 1, 3, 0, 0, 0, 7000, tzinfo=dt.UTC)),
    ("CreationDate > '2024-01-03T02:00:00+02:00'",
     lambda r: r["CreationDate"] > dt.datetime(2024, 1, 3, tzinfo=dt.UTC)),
    ("Paid = true AND (EnteredAmount > 300 OR BillToCustomerName = 'Zeta')",
     lambda r: r["Paid"] and ((r["EnteredAmount"] or 0) > 300
                              or r["BillToCustomerName"] == "Zeta")),
    ("Paid = false;EnteredAmount < 50", lambda r: not r["Paid"] and r["EnteredAmount"]
     is not None and r["EnteredAmount"] < 50),
])
def test_q_operators(client: httpx.Client, q: str, test: Any) -> None:
    assert ids(client, q) == expected(test)


def test_framework_version_1_reads_query_by_example_only(sim: OracleFusionSimulator) -> None:
    with httpx.Client(base_url=sim.url,  # type: ignore[attr-defined]
                      headers={"Authorization": f"Bearer {TOKEN}"}) as v1:
        simple = v1.get(INV, params={"q": "Paid=true;TransactionDate<=2024-01-04",
                                     "onlyData": "true"}).json()
        assert sorted(i["CustomerTransactionId"] for i in simple["items"]) == [1002]
        refused = v1.get(INV, params={"q": "Paid = true AND EnteredAmount > 1"})
        assert refused.status_code == 400
        assert "REST-Framework-Version" in refused.json()["o:errorDetails"][0]["detail"]


@pytest.mark.parametrize("q", ["EnteredAmount >", "Nope = 1", "EnteredAmount = 'x'",
                               "TransactionDate = '31/01/2024'", "(Paid = true",
                               "EnteredAmount LIKE '1%'"])
def test_bad_q_is_an_oracle_400(client: httpx.Client, q: str) -> None:
    response = client.get(INV, params={"q": q})
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "Bad Request" and body["status"] == "400"
    assert body["o:errorDetails"][0]["o:errorCode"] == "BAD_QUERY"


def test_order_by_puts_nulls_as_oracle_does(client: httpx.Client) -> None:
    def amounts(order: str) -> list[Any]:
        return [i["EnteredAmount"] for i in client.get(INV, params={
            "orderBy": order, "limit": 500, "fields": "EnteredAmount",
            "q": "EnteredAmount < 100 OR EnteredAmount IS NULL"}).json()["items"]]

    up, down = amounts("EnteredAmount:asc"), amounts("EnteredAmount:desc,CustomerTransactionId")
    assert None in up and len(up) < 50  # one page
    assert up[-1] is None and up[0] == min(a for a in up if a is not None)
    assert down[0] is None and down[-1] == min(a for a in down if a is not None)
    assert client.get(INV, params={"orderBy": "EnteredAmount:up"}).status_code == 400


def test_describe(client: httpx.Client) -> None:
    body = client.get(f"{INV}/describe").json()
    meta = body["Resources"]["receivablesInvoices"]
    assert {a["name"]: a["type"] for a in meta["attributes"]} == {
        "CustomerTransactionId": "integer", "BillToCustomerName": "string",
        "EnteredAmount": "number", "TransactionDate": "date", "CreationDate": "datetime",
        "Paid": "boolean"}
    assert all(a["queryable"] for a in meta["attributes"])
    finder = meta["collection"]["finders"][0]
    assert finder["name"] == "PrimaryKey"
    assert [a["name"] for a in finder["attributes"]] == ["CustomerTransactionId"]


def test_paths_and_404s(client: httpx.Client) -> None:
    assert client.get("/fscmRestApi/resources/latest/receivablesInvoices").status_code == 200
    assert client.get("/crmRestApi/resources/11.13.18.05/accounts").status_code == 200
    for path in ("/fscmRestApi/resources/11.13.18.05/accounts",  # wrong application
                 "/fscmRestApi/resources/11.13.18.05/nothingHere",
                 "/fscmRestApi/resources/9.9/receivablesInvoices"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["title"] == "Not Found"


def test_auth(sim: OracleFusionSimulator) -> None:
    url = sim.url  # type: ignore[attr-defined]
    good = base64.b64encode(b"alice:pw").decode()
    bad = base64.b64encode(b"alice:nope").decode()
    assert httpx.get(url + INV, headers={"Authorization": f"Basic {good}"}).status_code == 200
    for header in (f"Basic {bad}", "Bearer wrong", None):
        response = httpx.get(url + INV, headers={"Authorization": header} if header else {})
        assert response.status_code == 401 and "Basic" in response.headers["WWW-Authenticate"]


def test_throttling_and_faults(sim: OracleFusionSimulator, client: httpx.Client) -> None:
    throttled = OracleFusionSimulator(make_pod(), OracleSimConfig(
        bearer_tokens=(TOKEN,), requests_per_window=2, window_seconds=30))
    with throttled.serve() as server, httpx.Client(base_url=server.url, headers=V2) as http:
        statuses = [http.get(INV).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        last = http.get(INV)
        assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
        assert throttled.stats.throttled == 2
    sim.reset_stats()
    sim.inject(503, count=1, retry_after=2)
    failed = client.get(INV)
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "2"
    assert client.get(INV, params={"q": "Paid = true"}).status_code == 200
    assert sim.stats.faults_served == 1 and sim.stats.queries == ["Paid = true"]
    assert sim.stats.responses_by_status == {503: 1, 200: 1}
