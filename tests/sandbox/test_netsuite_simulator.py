"""The NetSuite simulator must behave like NetSuite's documented SuiteQL REST API, over real
loopback HTTP: paging and caps, value rendering, SuiteQL semantics, errors, auth, throttling."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from sandbox.projections.erp_model import ErpField, ErpTable, NetSuiteAccount
from sandbox.simulators.netsuite import (
    SUITEQL_PATH,
    NetSuiteSimConfig,
    NetSuiteSimulator,
    TbaCredential,
)
from sandbox.simulators.serve import RunningServer

ACCOUNT = "TSTDRV1234567"
BEARER = "ns-oauth2-test"
TBA = TbaCredential("ck-test", "cs-test", "tk-test", "ts-test")
AUTH = {"Authorization": f"Bearer {BEARER}", "Prefer": "transient"}
F = ErpField


def _table(name: str, fields: list[ErpField], rows: list[dict[str, Any]]) -> ErpTable:
    return ErpTable(name, fields, rows, key="id")


def make_account() -> NetSuiteAccount:
    """A small hand-made account with every record the adapter reads."""
    currency = _table(
        "currency",
        [
            F("id", "integer"),
            F("name", "text"),
            F("symbol", "text"),
            F("isbasecurrency", "boolean"),
        ],
        [
            {"id": 1, "name": "US Dollar", "symbol": "USD", "isbasecurrency": True},
            {"id": 2, "name": "Euro", "symbol": "EUR", "isbasecurrency": False},
        ],
    )
    currencyrate = _table(
        "currencyrate",
        [
            F("id", "integer"),
            F("basecurrency", "select"),
            F("transactioncurrency", "select"),
            F("exchangerate", "float"),
            F("effectivedate", "date"),
        ],
        [
            {
                "id": 1,
                "basecurrency": 1,
                "transactioncurrency": 2,
                "exchangerate": 1.0875,
                "effectivedate": dt.date(2024, 1, 1),
            },
        ],
    )
    subsidiary = _table(
        "subsidiary",
        [F("id", "integer"), F("name", "text"), F("currency", "select")],
        [
            {"id": 1, "name": "Concord Inc.", "currency": 1},
            {"id": 2, "name": "Concord GmbH", "currency": 2},
        ],
    )
    employee = _table(
        "employee",
        [F("id", "integer"), F("entityid", "text"), F("email", "text")],
        [{"id": 7, "entityid": "Dana Rep", "email": "dana@concord.test"}],
    )
    customer = _table(
        "customer",
        [
            F("id", "integer"),
            F("entityid", "text"),
            F("companyname", "text"),
            F("email", "text"),
            F("isinactive", "boolean"),
            F("subsidiary", "select"),
            F("salesrep", "select"),
            F("datecreated", "datetime"),
        ],
        [
            {
                "id": 101,
                "entityid": "CUST101",
                "companyname": "Acme Corp",
                "email": "ap@acme.test",
                "isinactive": False,
                "subsidiary": 1,
                "salesrep": 7,
                "datecreated": dt.datetime(2023, 5, 4, 13, 7, 9, tzinfo=dt.UTC),
            },
            {
                "id": 102,
                "entityid": "CUST102",
                "companyname": "acme labs",
                "email": None,
                "isinactive": True,
                "subsidiary": 1,
                "salesrep": None,
                "datecreated": dt.datetime(2023, 6, 1, 0, 0, tzinfo=dt.UTC),
            },
            {
                "id": 103,
                "entityid": "CUST103",
                "companyname": "Bravo GmbH",
                "email": "",
                "isinactive": False,
                "subsidiary": 2,
                "salesrep": 7,
                "datecreated": dt.datetime(2024, 1, 31, 23, 59, tzinfo=dt.UTC),
            },
        ],
    )
    item = _table(
        "item",
        [
            F("id", "integer"),
            F("itemid", "text"),
            F("itemtype", "text"),
            F("baseprice", "currency"),
        ],
        [
            {"id": 501, "itemid": "WIDGET", "itemtype": "InvtPart", "baseprice": Decimal("10")},
            {"id": 502, "itemid": "SERVICE", "itemtype": "Service", "baseprice": Decimal("99.5")},
        ],
    )
    tx_fields = [
        F("id", "integer"),
        F("tranid", "text"),
        F("type", "text"),
        F("entity", "select"),
        F("currency", "select"),
        F("trandate", "date"),
        F("foreigntotal", "currency"),
        F("status", "text"),
    ]
    transaction = _table(
        "transaction",
        tx_fields,
        [
            {
                "id": 1001,
                "tranid": "SO1001",
                "type": "SalesOrd",
                "entity": 101,
                "currency": 1,
                "trandate": dt.date(2024, 1, 15),
                "foreigntotal": Decimal("1234.56"),
                "status": "B",
            },
            {
                "id": 1002,
                "tranid": "INV1002",
                "type": "CustInvc",
                "entity": 101,
                "currency": 1,
                "trandate": dt.date(2024, 1, 31),
                "foreigntotal": Decimal("1234.56"),
                "status": "A",
            },
            {
                "id": 1003,
                "tranid": "PYMT1003",
                "type": "CustPymt",
                "entity": 101,
                "currency": 1,
                "trandate": dt.date(2024, 2, 10),
                "foreigntotal": Decimal("1000"),
                "status": None,
            },
            {
                "id": 1004,
                "tranid": "CM1004",
                "type": "CustCred",
                "entity": 103,
                "currency": 2,
                "trandate": dt.date(2024, 2, 29),
                "foreigntotal": Decimal("-0.5"),
                "status": "A",
            },
            {
                "id": 1005,
                "tranid": "INV1005",
                "type": "CustInvc",
                "entity": 103,
                "currency": 2,
                "trandate": dt.date(2024, 3, 1),
                "foreigntotal": Decimal("500"),
                "status": "B",
            },
        ],
    )
    lines = [
        {
            "id": n,
            "transaction": tx,
            "linesequencenumber": seq,
            "item": item_id,
            "quantity": qty,
            "rate": rate,
            "netamount": None if qty is None else Decimal(str(qty * rate)),
            "mainline": mainline,
        }
        for n, (tx, seq, item_id, qty, rate, mainline) in enumerate(
            [
                (1001, 0, None, None, None, True),
                (1001, 1, 501, 2, 10.0, False),
                (1001, 2, 502, 12, 101.21333, False),
                (1002, 0, None, None, None, True),
                (1002, 1, 501, 2, 10.0, False),
                (1005, 1, 502, 5, 100.0, False),
            ],
            start=1,
        )
    ]
    transactionline = _table(
        "transactionline",
        [
            F("id", "integer"),
            F("transaction", "select"),
            F("linesequencenumber", "integer"),
            F("item", "select"),
            F("quantity", "float"),
            F("rate", "float"),
            F("netamount", "currency"),
            F("mainline", "boolean"),
        ],
        lines,
    )
    tables = [
        currency,
        currencyrate,
        subsidiary,
        employee,
        customer,
        item,
        transaction,
        transactionline,
    ]
    return NetSuiteAccount({t.name: t for t in tables}, account_id=ACCOUNT)


def _config(**kw: Any) -> NetSuiteSimConfig:
    return NetSuiteSimConfig(bearer_tokens=(BEARER,), tba_credentials=(TBA,), **kw)


@pytest.fixture(scope="module")
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(make_account(), _config())


@pytest.fixture(scope="module")
def server(sim: NetSuiteSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture(scope="module")
def shared_client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture()
def client(shared_client: httpx.Client, sim: NetSuiteSimulator) -> httpx.Client:
    sim.clear_faults()
    sim.reset_stats()
    return shared_client


def post(
    client: httpx.Client, q: str, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return client.post(SUITEQL_PATH, params=params, json={"q": q}, headers=headers or AUTH)


def ok(client: httpx.Client, q: str, **params: Any) -> dict[str, Any]:
    r = post(client, q, **params)
    assert r.status_code == 200, r.text
    return r.json()


def items(client: httpx.Client, q: str) -> list[dict[str, Any]]:
    body = ok(client, q)
    assert not body["hasMore"]
    return [{k: v for k, v in i.items() if k != "links"} for i in body["items"]]


def error_of(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert body["status"] == r.status_code
    assert body["type"].startswith("https://www.rfc-editor.org/rfc/rfc9110.html")
    return body["o:errorDetails"][0]


# ---------------------------------------------------------------------------- paging
def test_pages_with_limit_and_offset_links_and_counts(client: httpx.Client) -> None:
    q = "SELECT id FROM transaction ORDER BY id"
    first = ok(client, q, limit=2, offset=0)
    assert [i["id"] for i in first["items"]] == ["1001", "1002"]
    assert (first["count"], first["hasMore"], first["offset"], first["totalResults"]) == (
        2,
        True,
        0,
        5,
    )
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert set(rels) == {"next", "last", "self"}
    assert rels["next"].endswith(f"{SUITEQL_PATH}?limit=2&offset=2")
    assert rels["last"].endswith("limit=2&offset=4")
    assert all(i["links"] == [] for i in first["items"])

    last = ok(client, q, limit=2, offset=4)
    assert [i["id"] for i in last["items"]] == ["1005"]
    assert (last["count"], last["hasMore"]) == (1, False)
    assert {link["rel"] for link in last["links"]} == {"first", "prev", "last", "self"}

    # Following ``next`` verbatim works (absolute same-origin URL).
    middle = client.post(rels["next"], json={"q": q}, headers=AUTH).json()
    assert [i["id"] for i in middle["items"]] == ["1003", "1004"]


def test_default_page_is_1000_and_limit_above_1000_is_rejected(
    client: httpx.Client, sim: NetSuiteSimulator
) -> None:
    body = ok(client, "SELECT id FROM transaction")
    assert body["count"] == 5 and "limit=1000" in body["links"][-1]["href"]
    r = post(client, "SELECT id FROM transaction", limit=1001)
    assert r.status_code == 400
    detail = error_of(r)
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert detail["o:errorQueryParam"] == "limit"
    for bad in ({"limit": 0}, {"limit": "x"}, {"offset": -2}):
        assert post(client, "SELECT id FROM transaction", **bad).status_code == 400


def test_offset_must_be_a_multiple_of_limit_and_inside_the_results(client: httpx.Client) -> None:
    r = post(client, "SELECT id FROM transaction", limit=2, offset=3)
    assert r.status_code == 400 and error_of(r)["o:errorQueryParam"] == "offset"
    r = post(client, "SELECT id FROM transaction", limit=2, offset=6)
    assert r.status_code == 400 and "5 results" in error_of(r)["detail"]
    empty = ok(client, "SELECT id FROM transaction WHERE id < 0")
    assert (empty["count"], empty["hasMore"], empty["totalResults"], empty["items"]) == (
        0,
        False,
        0,
        [],
    )


def test_the_100000_result_cap_never_returns_rows_past_it() -> None:
    """~100,500 lines: the page at the cap says hasMore, the page past it is a 400."""
    n = 100_500
    lines = _table(
        "transactionline",
        [F("id", "integer"), F("transaction", "select")],
        [{"id": i, "transaction": 1} for i in range(1, n + 1)],
    )
    big = NetSuiteSimulator(NetSuiteAccount({"transactionline": lines}, ACCOUNT), _config())
    with big.serve() as running, httpx.Client(base_url=running.url, timeout=30) as c:
        q = "SELECT id FROM transactionline ORDER BY id"
        at_cap = ok(c, q, limit=1000, offset=99_000)
        assert at_cap["count"] == 1000 and at_cap["items"][-1]["id"] == "100000"
        assert at_cap["totalResults"] == n and at_cap["hasMore"] is True
        last = {link["rel"]: link["href"] for link in at_cap["links"]}["last"]
        assert last.endswith("offset=99000")
        r = post(c, q, limit=1000, offset=100_000)
        assert r.status_code == 400
        detail = error_of(r)
        assert detail["o:errorQueryParam"] == "offset" and "100,000" in detail["detail"]
        # Small pages reach the same wall.
        assert post(c, q, limit=10, offset=100_000).status_code == 400
        assert ok(c, q, limit=10, offset=99_990)["items"][-1]["id"] == "100000"
        # Narrowing the query (keyset) is how clients get the rest.
        tail = ok(c, "SELECT id FROM transactionline WHERE id > 100000 ORDER BY id")
        assert tail["totalResults"] == 500 and tail["items"][0]["id"] == "100001"
        assert big.stats.rows_returned == 1000 + 10 + 500


# ---------------------------------------------------------------------------- rendering
def test_values_render_as_netsuite_strings(client: httpx.Client) -> None:
    rows = items(client, "SELECT * FROM customer ORDER BY id")
    assert rows[0] == {
        "id": "101",
        "entityid": "CUST101",
        "companyname": "Acme Corp",
        "email": "ap@acme.test",
        "isinactive": "F",
        "subsidiary": "1",
        "salesrep": "7",
        "datecreated": "5/4/2023",
    }
    # NULL and empty-string columns are omitted from the item.
    assert "email" not in rows[1] and "salesrep" not in rows[1] and "email" not in rows[2]
    assert rows[1]["isinactive"] == "T"
    tx = items(client, "SELECT id, trandate, foreigntotal FROM transaction ORDER BY id")
    assert tx[0] == {"id": "1001", "trandate": "1/15/2024", "foreigntotal": "1234.56"}
    assert tx[2]["foreigntotal"] == "1000" and tx[3]["foreigntotal"] == "-0.5"
    rate = items(client, "SELECT exchangerate FROM currencyrate")
    assert rate == [{"exchangerate": "1.0875"}]


def test_date_format_is_the_account_preference() -> None:
    sim = NetSuiteSimulator(
        make_account(), _config(date_format="DD.MM.YYYY", datetime_format="YYYY-MM-DD HH:mi:ss")
    )
    with sim.serve() as running, httpx.Client(base_url=running.url, timeout=10) as c:
        rows = items(c, "SELECT trandate FROM transaction WHERE id = 1001")
        assert rows == [{"trandate": "15.01.2024"}]
        rows = items(c, "SELECT datecreated FROM customer WHERE id = 101")
        assert rows == [{"datecreated": "2023-05-04 13:07:09"}]


def test_to_char_gives_the_time_of_day_and_keys_are_lowercase(client: httpx.Client) -> None:
    rows = items(
        client,
        "SELECT ID, TO_CHAR(DateCreated, 'YYYY-MM-DD HH24:MI:SS') AS Created FROM Customer "
        "WHERE Id = 101",
    )
    assert rows == [{"id": "101", "created": "2023-05-04 13:07:09"}]


# ---------------------------------------------------------------------------- SuiteQL
def test_filters_follow_oracle_semantics(client: httpx.Client) -> None:
    def ids(where: str) -> list[str]:
        return [
            r["id"] for r in items(client, f"SELECT id FROM customer WHERE {where} ORDER BY id")
        ]

    assert ids("isinactive = 'F'") == ["101", "103"]
    assert ids("companyname = 'Acme Corp'") == ["101"]
    assert ids("companyname = 'ACME CORP'") == []  # case-sensitive
    assert ids("companyname LIKE 'Acme%'") == ["101"]
    assert ids("companyname LIKE '_cme%'") == ["101", "102"]
    assert ids("UPPER(companyname) LIKE 'ACME%'") == ["101", "102"]
    assert ids("email IS NULL") == ["102", "103"]  # '' is NULL
    assert ids("email = ''") == []
    assert ids("email != 'ap@acme.test'") == []  # NULLs never match !=
    assert ids("email <> 'x' OR salesrep IS NULL") == ["101", "102"]
    assert ids("id IN (101, 103) AND NOT isinactive = 'T'") == ["101", "103"]
    assert ids("id BETWEEN 102 AND 103") == ["102", "103"]
    assert ids("datecreated >= TO_DATE('2023-06-01', 'YYYY-MM-DD')") == ["102", "103"]
    assert ids("datecreated < DATE '2023-06-01'") == ["101"]
    assert ids("NVL(email, 'none') = 'none'") == ["102", "103"]


def test_joins_builtin_df_order_by_and_aggregates(client: httpx.Client) -> None:
    rows = items(
        client,
        "SELECT t.tranid, BUILTIN.DF(t.entity) AS customer, BUILTIN.DF(t.type) AS type, "
        "BUILTIN.DF(t.currency) AS cur, c.email FROM transaction t "
        "JOIN customer c ON c.id = t.entity WHERE t.type IN ('CustInvc', 'CustCred') "
        "ORDER BY t.foreigntotal DESC, t.id",
    )
    assert rows == [
        {
            "tranid": "INV1002",
            "customer": "Acme Corp",
            "type": "Invoice",
            "cur": "US Dollar",
            "email": "ap@acme.test",
        },
        {"tranid": "INV1005", "customer": "Bravo GmbH", "type": "Invoice", "cur": "Euro"},
        {"tranid": "CM1004", "customer": "Bravo GmbH", "type": "Credit Memo", "cur": "Euro"},
    ]
    totals = items(
        client,
        "SELECT BUILTIN.DF(entity) AS cust, COUNT(*) AS n, SUM(foreigntotal) FROM transaction "
        "GROUP BY entity HAVING COUNT(*) > 1 ORDER BY cust",
    )
    assert totals == [
        {"cust": "Acme Corp", "n": "3", "expr1": "3469.12"},
        {"cust": "Bravo GmbH", "n": "2", "expr1": "499.5"},
    ]
    lines = items(
        client,
        "SELECT tl.transaction, BUILTIN.DF(tl.item) AS item, tl.netamount "
        "FROM transactionline tl, transaction t WHERE tl.transaction = t.id "
        "AND tl.mainline = 'F' AND t.type = 'SalesOrd' ORDER BY tl.linesequencenumber",
    )
    assert lines == [
        {"transaction": "1001", "item": "WIDGET", "netamount": "20"},
        {"transaction": "1001", "item": "SERVICE", "netamount": "1214.55996"},
    ]
    # BUILTIN.DF of a plain field is the value; of an empty select it is omitted.
    assert items(client, "SELECT BUILTIN.DF(salesrep) AS rep FROM customer ORDER BY id") == [
        {"rep": "Dana Rep"},
        {},
        {"rep": "Dana Rep"},
    ]


def test_rownum_fetch_first_and_top(client: httpx.Client) -> None:
    q = "SELECT id FROM transaction WHERE ROWNUM <= 2 ORDER BY id DESC"
    # ROWNUM is taken before ORDER BY: two rows of the scan, then sorted.
    assert [r["id"] for r in items(client, q)] == ["1002", "1001"]
    assert items(client, "SELECT id FROM transaction WHERE ROWNUM > 1") == []
    assert items(client, "SELECT id FROM transaction WHERE ROWNUM = 2") == []
    q = "SELECT id FROM transaction ORDER BY id DESC FETCH FIRST 2 ROWS ONLY"
    assert [r["id"] for r in items(client, q)] == ["1005", "1004"]
    assert items(client, "SELECT TOP 1 id FROM transaction ORDER BY id DESC") == [{"id": "1005"}]
    paged = (
        "SELECT * FROM (SELECT ROWNUM AS rn, x.* FROM (SELECT id FROM transaction ORDER BY id) x)"
        " WHERE rn BETWEEN 2 AND 3"
    )
    assert items(client, paged) == [{"rn": "2", "id": "1002"}, {"rn": "3", "id": "1003"}]


def test_unknown_record_or_field_is_a_400_with_netsuite_details(client: httpx.Client) -> None:
    r = post(client, "SELECT xyz FROM customer")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    assert r.json()["title"] == "Bad Request"
    assert error_of(r) == {
        "detail": "Invalid search query. Detailed unprocessed description follows. Search "
        "error occurred: Unknown identifier 'xyz'. Available identifiers are: "
        "{customer=customer}.",
        "o:errorQueryParam": "q",
        "o:errorCode": "INVALID_PARAMETER",
    }
    detail = error_of(post(client, "SELECT c.xyz FROM customer c"))["detail"]
    assert detail.endswith(
        "Search error occurred: Field 'xyz' for record 'customer' was not found. "
        "Reason: NOT_EXPOSED - Not available for channel SEARCH"
    )
    detail = error_of(post(client, "SELECT id FROM customers"))["detail"]
    assert detail.endswith("Invalid search type: customers.")
    for bad in (
        "SELEC id FROM customer",
        "DELETE FROM customer",
        "SELECT id FROM customer; SELECT id FROM item",
        "SELECT * FROM read_csv('/etc/passwd')",
    ):
        r = post(client, bad)
        assert r.status_code == 400, bad
        assert error_of(r)["o:errorCode"] == "INVALID_PARAMETER"


def test_prefer_transient_and_a_json_body_are_required(client: httpx.Client) -> None:
    r = post(client, "SELECT id FROM item", headers={"Authorization": f"Bearer {BEARER}"})
    assert r.status_code == 400
    assert error_of(r)["o:errorHeader"] == "Prefer"
    r = client.post(SUITEQL_PATH, content=b"not json", headers=AUTH)
    assert r.status_code == 400 and error_of(r)["o:errorCode"] == "INVALID_CONTENT"
    r = client.post(SUITEQL_PATH, json={"query": "x"}, headers=AUTH)
    assert r.status_code == 400
    assert client.get(SUITEQL_PATH, headers=AUTH).status_code == 405
    assert client.post("/services/rest/record/v1/nothing", headers=AUTH).status_code == 404


def test_stats_count_requests_rows_pages_and_queries(
    client: httpx.Client, sim: NetSuiteSimulator
) -> None:
    ok(client, "SELECT id FROM item", limit=1)
    ok(client, "SELECT id FROM item", limit=1, offset=1)
    post(client, "SELECT nope FROM item")
    stats = client.get("/__sandbox/stats").json()
    assert stats["requests_total"] == 3 and stats["requests_by_kind"] == {"suiteql": 3}
    assert stats["pages_served"] == 2 and stats["rows_returned"] == 2
    assert stats["queries"] == ["SELECT id FROM item"] * 2 + ["SELECT nope FROM item"]
    assert stats["responses_by_status"] == {"200": 2, "400": 1}
    client.post("/__sandbox/stats/reset")
    assert sim.stats.requests_total == 0


# ---------------------------------------------------------------------------- auth
def _tba_headers(
    url: str, cred: TbaCredential = TBA, realm: str = ACCOUNT, method: str = "POST"
) -> dict[str, str]:
    signer = Client(
        cred.consumer_key,
        client_secret=cred.consumer_secret,
        resource_owner_key=cred.token_id,
        resource_owner_secret=cred.token_secret,
        signature_method=SIGNATURE_HMAC_SHA256,
        realm=realm,
    )
    _, headers, _ = signer.sign(url, http_method=method)
    return {"Authorization": headers["Authorization"], "Prefer": "transient"}


def test_bearer_tokens_are_checked(client: httpx.Client, sim: NetSuiteSimulator) -> None:
    r = post(
        client,
        "SELECT id FROM item",
        headers={"Authorization": "Bearer nope", "Prefer": "transient"},
    )
    assert r.status_code == 401
    assert r.json()["title"] == "Unauthorized"
    assert error_of(r)["o:errorCode"] == "INVALID_LOGIN"
    assert error_of(r)["detail"].startswith("Invalid login attempt.")
    assert post(client, "SELECT id FROM item", headers={"Prefer": "transient"}).status_code == 401


def test_tba_signatures_are_verified(
    client: httpx.Client, server: RunningServer, sim: NetSuiteSimulator
) -> None:
    url = f"{server.url}{SUITEQL_PATH}?limit=1&offset=0"
    body = {"q": "SELECT itemid FROM item ORDER BY id"}
    good = _tba_headers(url)
    r = client.post(url, json=body, headers=good)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["itemid"] == "WIDGET"

    # The same nonce+timestamp again is a replay.
    r = client.post(url, json=body, headers=good)
    assert r.status_code == 401 and sim.tba.last_reason == "nonce already used"

    # limit/offset are part of the signed URL: changing them breaks the signature.
    headers = _tba_headers(url)
    r = client.post(url.replace("offset=0", "offset=1"), json=body, headers=headers)
    assert r.status_code == 401 and sim.tba.last_reason == "signature mismatch"

    tampered = _tba_headers(url)
    tampered["Authorization"] = tampered["Authorization"].replace(
        'oauth_signature="', 'oauth_signature="A'
    )
    assert client.post(url, json=body, headers=tampered).status_code == 401

    wrong_secret = TbaCredential(TBA.consumer_key, TBA.consumer_secret, TBA.token_id, "nope")
    r = client.post(url, json=body, headers=_tba_headers(url, wrong_secret))
    assert r.status_code == 401 and sim.tba.last_reason == "signature mismatch"

    r = client.post(url, json=body, headers=_tba_headers(url, realm="OTHER"))
    assert r.status_code == 401 and "realm" in (sim.tba.last_reason or "")
    unknown = TbaCredential("other", TBA.consumer_secret, TBA.token_id, TBA.token_secret)
    assert client.post(url, json=body, headers=_tba_headers(url, unknown)).status_code == 401
    assert error_of(client.post(url, json=body, headers=tampered))["o:errorCode"] == (
        "INVALID_LOGIN"
    )
    assert sum(sim.stats.auth_failures.values()) == 7


def test_tba_rejects_stale_timestamps() -> None:
    skewed = NetSuiteSimulator(make_account(), _config(clock=lambda: time.time() + 3600))
    with skewed.serve() as running, httpx.Client(timeout=10) as c:
        url = f"{running.url}{SUITEQL_PATH}"
        r = c.post(url, json={"q": "SELECT id FROM item"}, headers=_tba_headers(url))
        assert r.status_code == 401
        assert skewed.tba.last_reason == "timestamp outside the allowed window"


# ---------------------------------------------------------------------------- throttling
def test_concurrency_limit_answers_429(sim: NetSuiteSimulator, server: RunningServer) -> None:
    sim.reset_stats()
    sim.config.latency_ms = 300
    sim.config.concurrency_limit = 2

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
            calls = [
                c.post(SUITEQL_PATH, json={"q": "SELECT id FROM item"}, headers=AUTH)
                for _ in range(4)
            ]
            return await asyncio.gather(*calls)

    try:
        responses = asyncio.run(burst())
    finally:
        sim.config.latency_ms = 0
        sim.config.concurrency_limit = 5
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 429, 429]
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["title"] == "Too Many Requests"
    assert error_of(limited)["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert sim.stats.throttled == 2 and sim.stats.max_in_flight == 2


def test_injected_faults_use_netsuite_bodies(client: httpx.Client, sim: NetSuiteSimulator) -> None:
    sim.inject(503, count=1, retry_after=2)
    r = post(client, "SELECT id FROM item")
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert error_of(r)["o:errorCode"] == "SERVICE_UNAVAILABLE"
    client.post("/__sandbox/faults", json={"status": 429, "count": 2})
    assert [post(client, "SELECT id FROM item").status_code for _ in range(3)] == [429, 429, 200]
    sim.inject(502, body="<html>Bad Gateway</html>")
    r = post(client, "SELECT id FROM item")
    assert r.status_code == 502 and r.text.startswith("<html>")
    assert sim.stats.faults_served == 4
