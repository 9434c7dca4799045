"""The SAP S/4HANA OData v2 simulator must behave like SAP Gateway documents, over real HTTP.

Expected values are computed from the hand-made rows with plain Python (not with the
simulator's own filter code), so a wrong evaluator cannot agree with itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from sandbox.projections.erp_model import ErpTable, SapSystem
from sandbox.simulators.sap import SapSimConfig, SapSimulator, load_service
from sandbox.simulators.sap.edmx import EDMX_DIR, erp_fields
from sandbox.simulators.serve import RunningServer

USER, PASSWORD = "CONCORD_COMM", "Sandbox-Passw0rd"
SO = "/sap/opu/odata/sap/API_SALES_ORDER_SRV"
BP = "/sap/opu/odata/sap/API_BUSINESS_PARTNER"
N_ORDERS = 2500  # three pages at SAP's default server page size of 1000
PARTIES = ["ACME", "acme", "Globex", "INITECH", "O'Brien & Co", None]
CURRENCIES = ["EUR", "USD", "JPY", "EUR", "KWD"]


def order_row(i: int) -> dict[str, Any]:
    """Deterministic sales order headers; every tenth has no amount, every seventh no date."""
    created = dt.date(2024, 1, 1) + dt.timedelta(days=i % 400)
    return {
        "SalesOrder": f"{i:010d}",
        "SalesOrderType": "OR",
        "SalesOrganization": "1010",
        "SoldToParty": PARTIES[i % len(PARTIES)],
        "CreationDate": None if i % 7 == 0 else created,
        "SalesOrderDate": created,
        "LastChangeDateTime": dt.datetime(2024, 1, 1, 8, 30, tzinfo=dt.UTC) + dt.timedelta(hours=i),
        "TotalNetAmount": None if i % 10 == 0 else Decimal(i * 7 % 5000) + Decimal("0.5"),
        "TransactionCurrency": CURRENCIES[i % len(CURRENCIES)],
        "AccountingExchangeRate": Decimal("1"),
        "CompleteDeliveryIsDefined": i % 2 == 0,
        "OverallSDProcessStatus": "ABC"[i % 3],
        "PurchaseOrderByCustomer": f"PO-{i}",
    }


ORDERS = [order_row(i) for i in range(1, N_ORDERS + 1)]


def make_system(n_orders: int = N_ORDERS) -> SapSystem:
    so = load_service("API_SALES_ORDER_SRV")
    bp = load_service("API_BUSINESS_PARTNER")
    orders = ErpTable(
        "A_SalesOrder",
        erp_fields(so.entity_sets["A_SalesOrder"].entity_type),
        ORDERS[:n_orders],
        key="SalesOrder",
    )
    items = ErpTable(
        "A_SalesOrderItem",
        erp_fields(so.entity_sets["A_SalesOrderItem"].entity_type),
        [
            {"SalesOrder": f"{i:010d}", "SalesOrderItem": f"{n * 10}", "Material": f"M-{n}"}
            for i in range(1, 4)
            for n in range(1, 3)
        ],
    )
    partners = ErpTable(
        "A_BusinessPartner",
        erp_fields(bp.entity_sets["A_BusinessPartner"].entity_type),
        [
            {
                "BusinessPartner": "1000001",
                "BusinessPartnerFullName": "Acme GmbH",
                "CreationDate": dt.date(2024, 1, 1),
                "CreationTime": dt.time(12, 30),
                "BusinessPartnerUUID": uuid.UUID(int=1),
                "BusinessPartnerIsBlocked": False,
            }
        ],
    )
    return SapSystem(
        {
            "API_SALES_ORDER_SRV": {"A_SalesOrder": orders, "A_SalesOrderItem": items},
            "API_BUSINESS_PARTNER": {"A_BusinessPartner": partners},
        },
        today=dt.date(2024, 6, 15),
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sim() -> SapSimulator:
    return SapSimulator(make_system())


@pytest.fixture(scope="module")
def server(sim: SapSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture()
def http(server: RunningServer, sim: SapSimulator) -> Iterator[httpx.Client]:
    sim.clear_faults()
    sim.reset_stats()
    with httpx.Client(
        base_url=server.url, auth=(USER, PASSWORD), headers={"Accept": "application/json"}
    ) as client:
        yield client


def get(http: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def fetch_all(http: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow __next verbatim (it must be absolute and same-origin, like pyodata requires)."""
    body = get(http, path, **params)
    rows = list(body["d"]["results"])
    pages = 1
    origin = urlparse(str(http.base_url))
    while "__next" in body["d"]:
        nxt = urlparse(body["d"]["__next"])
        assert (nxt.scheme, nxt.netloc) == (origin.scheme, origin.netloc)
        assert "$skiptoken=" in nxt.query
        response = http.get(body["d"]["__next"])
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["d"]["results"])
        pages += 1
    return rows, pages


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["SalesOrder"] for r in rows]


def expected(pred: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [r["SalesOrder"] for r in ORDERS if pred(r)]


# ----------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("service", ["API_SALES_ORDER_SRV", "API_BUSINESS_PARTNER"])
def test_metadata_is_the_real_edmx_byte_for_byte(http: httpx.Client, service: str) -> None:
    response = http.get(f"/sap/opu/odata/sap/{service}/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.content == (EDMX_DIR / f"{service}.edmx").read_bytes()


def test_service_document_json_and_atom(http: httpx.Client) -> None:
    body = get(http, SO + "/")
    assert "A_SalesOrder" in body["d"]["EntitySets"]
    atom = http.get(SO + "/", headers={"Accept": "application/atomsvc+xml"})
    assert atom.headers["content-type"].startswith("application/atomsvc+xml")
    assert '<app:collection href="A_SalesOrder">' in atom.text


def test_icf_paths_are_case_insensitive_and_unknown_service_is_404(http: httpx.Client) -> None:
    assert http.get("/sap/opu/odata/SAP/api_sales_order_srv/$metadata").status_code == 200
    response = http.get("/sap/opu/odata/sap/API_NOPE_SRV/A_X")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "/IWFND/MED/170"


# ----------------------------------------------------------------------------- JSON format


def test_json_shape_metadata_and_count(http: httpx.Client, server: RunningServer) -> None:
    body = get(http, SO + "/A_SalesOrder", **{"$top": "3", "$inlinecount": "allpages"})
    d = body["d"]
    assert list(d) == ["__count", "results"]  # no __next: $top satisfied in one page
    assert d["__count"] == str(N_ORDERS)
    first = d["results"][0]
    uri = f"{server.url}{SO}/A_SalesOrder('0000000001')"
    assert first["__metadata"]["id"] == uri
    assert first["__metadata"]["uri"] == uri
    assert first["__metadata"]["type"] == "API_SALES_ORDER_SRV.A_SalesOrderType"
    assert first["__metadata"]["etag"] == ("W/\"datetimeoffset'2024-01-01T09%3A30%3A00.0000000Z'\"")
    assert first["to_Item"] == {"__deferred": {"uri": f"{uri}/to_Item"}}
    # every EDMX property is present, unset ones as null
    et = load_service("API_SALES_ORDER_SRV").entity_sets["A_SalesOrder"].entity_type
    assert set(et.properties) | set(et.navigations) | {"__metadata"} == set(first)
    assert first["SalesGroup"] is None


def test_value_formats(http: httpx.Client) -> None:
    rows = get(http, SO + "/A_SalesOrder", **{"$top": "5"})["d"]["results"]
    r1, r2, r3, r5 = rows[0], rows[1], rows[2], rows[4]
    assert r1["CreationDate"] == "/Date(1704153600000)/"  # 2024-01-02, midnight UTC
    assert r1["LastChangeDateTime"] == "/Date(1704101400000+0000)/"  # 2024-01-01T09:30Z
    assert r1["TotalNetAmount"] == "7.50"  # USD: Scale 3 property, currency has 2 decimals
    assert r2["TotalNetAmount"] == "15"  # JPY has no decimals (half up from 14.5)
    assert r3["TotalNetAmount"] == "21.50"  # EUR
    assert r5["TransactionCurrency"] == "EUR"
    assert r1["AccountingExchangeRate"] == "1.00000"  # not a currency amount: full scale
    assert r1["CompleteDeliveryIsDefined"] is False and r2["CompleteDeliveryIsDefined"] is True
    partner = get(http, BP + "/A_BusinessPartner")["d"]["results"][0]
    assert partner["CreationTime"] == "PT12H30M00S"
    assert partner["BusinessPartnerUUID"] == "00000000-0000-0000-0000-000000000001"
    assert partner["BusinessPartnerIsBlocked"] is False
    assert partner["CreationDate"] == "/Date(1704067200000)/"
    kwd = get(http, SO + "/A_SalesOrder('0000000004')")["d"]
    assert kwd["TransactionCurrency"] == "KWD" and kwd["TotalNetAmount"] == "28.500"
    nulls = get(http, SO + "/A_SalesOrder('0000000070')")["d"]
    assert nulls["TotalNetAmount"] is None and nulls["CreationDate"] is None


def test_json_must_be_asked_for(server: RunningServer) -> None:
    """SAP answers Atom XML by default; the simulator refuses instead of sending JSON."""
    with httpx.Client(base_url=server.url, auth=(USER, PASSWORD)) as plain:
        response = plain.get(SO + "/A_SalesOrder", params={"$top": "1"})
        assert response.status_code == 406
        assert response.headers["content-type"].startswith("application/xml")
        assert "<code>005056A509B11ED19BEB6513AA349DA5</code>" in response.text
        ok = plain.get(SO + "/A_SalesOrder", params={"$top": "1", "$format": "json"})
        assert ok.status_code == 200 and len(ok.json()["d"]["results"]) == 1


# ----------------------------------------------------------------------------- paging


def test_server_paging_default_page_size(http: httpx.Client, sim: SapSimulator) -> None:
    first = get(http, SO + "/A_SalesOrder", **{"$inlinecount": "allpages"})
    assert len(first["d"]["results"]) == 1000
    assert first["d"]["__next"].endswith("$skiptoken=1000")
    rows, pages = fetch_all(http, SO + "/A_SalesOrder", **{"$select": "SalesOrder"})
    assert pages == 3
    assert ids(rows) == [r["SalesOrder"] for r in ORDERS]  # all, once, in key order
    stats = sim.stats.to_dict()
    assert stats["requests_by_kind"]["next"] == 2
    assert stats["pages_served"] == 4
    assert stats["rows_returned"] == 1000 + N_ORDERS
    assert any("$skiptoken=2000" in u for u in stats["data_requests"])


def test_paging_keeps_filter_order_and_top(server: RunningServer) -> None:
    """With small page sizes: $top beyond the page cap pages via __next up to $top rows."""
    sim = SapSimulator(make_system(400), SapSimConfig(page_size=50, max_page_size=120))
    with (
        sim.serve() as running,
        httpx.Client(
            base_url=running.url, auth=(USER, PASSWORD), headers={"Accept": "application/json"}
        ) as client,
    ):
        rows, pages = fetch_all(
            client,
            SO + "/A_SalesOrder",
            **{"$filter": "OverallSDProcessStatus ne 'B'", "$orderby": "SalesOrder desc"},
        )
        want = [r["SalesOrder"] for r in ORDERS[:400] if r["OverallSDProcessStatus"] != "B"]
        assert ids(rows) == sorted(want, reverse=True)
        assert pages == -(-len(want) // 50)
        rows, pages = fetch_all(
            client, SO + "/A_SalesOrder", **{"$top": "300", "$skip": "10", "$select": "SalesOrder"}
        )
        assert ids(rows) == [r["SalesOrder"] for r in ORDERS[10:310]]
        assert pages == 3  # 120 + 120 + 60
        body = get(client, SO + "/A_SalesOrder", **{"$top": "100"})
        assert len(body["d"]["results"]) == 100 and "__next" not in body["d"]


def test_no_server_paging_when_disabled(server: RunningServer) -> None:
    sim = SapSimulator(make_system(1200), SapSimConfig(server_paging=False))
    with (
        sim.serve() as running,
        httpx.Client(
            base_url=running.url, auth=(USER, PASSWORD), headers={"Accept": "application/json"}
        ) as client,
    ):
        body = get(client, SO + "/A_SalesOrder", **{"$select": "SalesOrder"})
        assert len(body["d"]["results"]) == 1200 and "__next" not in body["d"]


def test_top_skip_select_orderby(http: httpx.Client) -> None:
    body = get(http, SO + "/A_SalesOrder", **{"$top": "4", "$skip": "2", "$select": "SalesOrder"})
    rows = body["d"]["results"]
    assert ids(rows) == [r["SalesOrder"] for r in ORDERS[2:6]]
    assert set(rows[0]) == {"__metadata", "SalesOrder"}
    sel = get(http, SO + "/A_SalesOrder", **{"$top": "1", "$select": "SoldToParty,to_Item"})
    assert set(sel["d"]["results"][0]) == {"__metadata", "SoldToParty", "to_Item"}
    # multi-key order: amount descending (nulls last), then key ascending
    body = get(
        http,
        SO + "/A_SalesOrder",
        **{"$orderby": "TotalNetAmount desc,SalesOrder", "$select": "SalesOrder", "$top": "5000"},
    )
    got = ids(body["d"]["results"])
    with_amount = sorted(
        (r for r in ORDERS if r["TotalNetAmount"] is not None),
        key=lambda r: (-r["TotalNetAmount"], r["SalesOrder"]),
    )
    assert got[: len(with_amount)] == [r["SalesOrder"] for r in with_amount]
    assert got[len(with_amount) :] == expected(lambda r: r["TotalNetAmount"] is None)


def test_orderby_strings_binary_with_nulls_first(http: httpx.Client) -> None:
    body = get(
        http,
        SO + "/A_SalesOrder",
        **{"$orderby": "SoldToParty", "$select": "SoldToParty", "$top": "5000"},
    )
    got = [r["SoldToParty"] for r in body["d"]["results"]]
    distinct = list(dict.fromkeys(got))
    assert distinct == [None, "ACME", "Globex", "INITECH", "O'Brien & Co", "acme"]


# ----------------------------------------------------------------------------- $filter

FILTERS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("SoldToParty eq 'ACME'", lambda r: r["SoldToParty"] == "ACME"),
    ("SoldToParty eq 'acme'", lambda r: r["SoldToParty"] == "acme"),  # case-sensitive
    ("SoldToParty ne 'ACME'", lambda r: r["SoldToParty"] not in ("ACME", None)),
    ("SoldToParty eq 'O''Brien & Co'", lambda r: r["SoldToParty"] == "O'Brien & Co"),
    ("SoldToParty eq null", lambda r: r["SoldToParty"] is None),
    ("SoldToParty ne null", lambda r: r["SoldToParty"] is not None),
    (
        "substringof('CM', SoldToParty) eq true",
        lambda r: r["SoldToParty"] is not None and "CM" in r["SoldToParty"],
    ),
    (
        "substringof('cm',SoldToParty)",
        lambda r: r["SoldToParty"] is not None and "cm" in r["SoldToParty"],
    ),
    (
        "startswith(SoldToParty,'G') eq true",
        lambda r: r["SoldToParty"] is not None and r["SoldToParty"].startswith("G"),
    ),
    (
        "endswith(SoldToParty,'Co') eq true",
        lambda r: r["SoldToParty"] is not None and r["SoldToParty"].endswith("Co"),
    ),
    (
        "substringof('CM',SoldToParty) eq false",
        lambda r: r["SoldToParty"] is not None and "CM" not in r["SoldToParty"],
    ),
    (
        "tolower(SoldToParty) eq 'acme'",
        lambda r: r["SoldToParty"] is not None and r["SoldToParty"].lower() == "acme",
    ),
    (
        "TotalNetAmount gt 4000.5M",
        lambda r: r["TotalNetAmount"] is not None and r["TotalNetAmount"] > Decimal("4000.5"),
    ),
    (
        "TotalNetAmount le 10.5m",
        lambda r: r["TotalNetAmount"] is not None and r["TotalNetAmount"] <= Decimal("10.5"),
    ),
    (
        "TotalNetAmount ge 4990",
        lambda r: r["TotalNetAmount"] is not None and r["TotalNetAmount"] >= 4990,
    ),
    (
        "TotalNetAmount lt 2.5",
        lambda r: r["TotalNetAmount"] is not None and r["TotalNetAmount"] < Decimal("2.5"),
    ),
    ("TotalNetAmount eq null", lambda r: r["TotalNetAmount"] is None),
    (
        "not (TotalNetAmount gt 100M)",
        lambda r: r["TotalNetAmount"] is not None and not r["TotalNetAmount"] > 100,
    ),
    (
        "CreationDate ge datetime'2024-12-31T00:00:00'",
        lambda r: r["CreationDate"] is not None and r["CreationDate"] >= dt.date(2024, 12, 31),
    ),
    (
        "CreationDate lt datetime'2024-01-05T00:00'",
        lambda r: r["CreationDate"] is not None and r["CreationDate"] < dt.date(2024, 1, 5),
    ),
    (
        "LastChangeDateTime gt datetimeoffset'2024-04-01T00:00:00Z'",
        lambda r: r["LastChangeDateTime"] > dt.datetime(2024, 4, 1, tzinfo=dt.UTC),
    ),
    (
        "LastChangeDateTime le datetimeoffset'2024-01-01T12:30:00+02:00'",
        lambda r: r["LastChangeDateTime"] <= dt.datetime(2024, 1, 1, 10, 30, tzinfo=dt.UTC),
    ),
    ("CompleteDeliveryIsDefined eq true", lambda r: r["CompleteDeliveryIsDefined"]),
    (
        "(OverallSDProcessStatus eq 'A' or OverallSDProcessStatus eq 'C') and "
        "SoldToParty eq 'Globex'",
        lambda r: r["OverallSDProcessStatus"] in "AC" and r["SoldToParty"] == "Globex",
    ),
    (
        "SalesOrder eq '0000000001' or SalesOrder eq '0000000002' or SalesOrder eq '0000002500'",
        lambda r: r["SalesOrder"] in ("0000000001", "0000000002", "0000002500"),
    ),
    (
        "year(CreationDate) eq 2025 and month(CreationDate) eq 1",
        lambda r: (
            r["CreationDate"] is not None
            and r["CreationDate"].year == 2025
            and r["CreationDate"].month == 1
        ),
    ),
    (
        "length(PurchaseOrderByCustomer) eq 6",
        lambda r: len(r["PurchaseOrderByCustomer"]) == 6,
    ),
]


@pytest.mark.parametrize("text,pred", FILTERS, ids=[f for f, _ in FILTERS])
def test_filter(http: httpx.Client, text: str, pred: Callable[[dict[str, Any]], bool]) -> None:
    body = get(
        http,
        SO + "/A_SalesOrder",
        **{"$filter": text, "$select": "SalesOrder", "$top": "5000", "$inlinecount": "allpages"},
    )
    want = expected(pred)
    assert want, "a filter test that matches nothing proves little"
    assert ids(body["d"]["results"]) == want
    assert body["d"]["__count"] == str(len(want))


BAD_FILTERS: list[tuple[str, str]] = [
    ("SoldToParty in ('ACME','Globex')", "Invalid token detected at position 12"),
    ("TotalNetAmount gte 5", "Invalid token detected at position 15"),  # pyodata's range
    ("contains(SoldToParty,'A')", "Invalid function 'contains'"),  # OData v4 only
    ("SoldToParty eq 5", "Invalid parametertype used at function 'eq'"),
    ("LastChangeDateTime gt datetime'2024-01-01T00:00:00'", "Invalid parametertype"),
    ("CreationDate gt '2024-01-01'", "Invalid parametertype"),
    ("Nope eq 'x'", "Property 'Nope' not found in type 'A_SalesOrderType'"),
    ("SoldToParty eq 'ACME' and", "Invalid token detected"),
    ("SoldToParty eq 'unterminated", "Invalid token detected"),
    ("SoldToParty", "is not a boolean expression"),
    ("TotalNetAmount gt null", "Invalid parametertype"),
]


@pytest.mark.parametrize("text,message", BAD_FILTERS, ids=[f for f, _ in BAD_FILTERS])
def test_bad_filter_is_400_with_sap_error_body(http: httpx.Client, text: str, message: str) -> None:
    response = http.get(SO + "/A_SalesOrder", params={"$filter": text})
    assert response.status_code == 400
    error = response.json()["error"]
    assert message in error["message"]["value"]
    assert error["message"]["lang"] == "en"
    inner = error["innererror"]
    assert inner["application"]["service_id"] == "API_SALES_ORDER_SRV"
    assert len(inner["transactionid"]) == 32
    assert set(inner["Error_Resolution"]) == {"SAP_Transaction", "SAP_Note"}
    assert inner["errordetails"] == []


def test_non_filterable_and_non_sortable_properties_are_refused(http: httpx.Client) -> None:
    path = SO + "/A_SalesOrderText"
    bad = http.get(path, params={"$filter": "LongText eq 'x'"})
    assert bad.status_code == 400 and "not filterable" in bad.text
    bad = http.get(path, params={"$orderby": "LongText"})
    assert bad.status_code == 400 and "not sortable" in bad.text
    assert get(http, path)["d"]["results"] == []  # in the EDMX, no rows in this system


# ----------------------------------------------------------------------------- keys and errors


def test_key_access_single_and_composite(http: httpx.Client, server: RunningServer) -> None:
    d = get(http, SO + "/A_SalesOrder('0000000002')", **{"$select": "SalesOrder,SoldToParty"})["d"]
    assert d["SoldToParty"] == "Globex"
    assert d["__metadata"]["uri"] == f"{server.url}{SO}/A_SalesOrder('0000000002')"
    item = get(http, SO + "/A_SalesOrderItem(SalesOrder='0000000001',SalesOrderItem='20')")["d"]
    assert item["Material"] == "M-2"
    assert item["__metadata"]["uri"].endswith(
        "A_SalesOrderItem(SalesOrder='0000000001',SalesOrderItem='20')"
    )
    missing = http.get(SO + "/A_SalesOrder('9999999999')")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/020"
    assert http.get(SO + "/A_SalesOrder(1)").status_code == 400  # wrong literal type
    assert http.get(SO + "/A_SalesOrderItem('0000000001')").status_code == 400


def test_unknown_set_option_and_unsupported_features(http: httpx.Client) -> None:
    response = http.get(SO + "/A_Nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "005056A509B11EE1B9A8FEC11C21D78E"
    assert "Resource not found for the segment 'A_Nope'" in response.text
    assert http.get(SO + "/A_SalesOrder", params={"$top": "x"}).status_code == 400
    assert http.get(SO + "/A_SalesOrder", params={"$count": "true"}).status_code == 400
    assert http.get(SO + "/A_SalesOrder", params={"$select": "Nope"}).status_code == 400
    assert http.get(SO + "/A_SalesOrder", params={"$expand": "to_Item"}).status_code == 501
    assert http.get(SO + "/A_SalesOrder('0000000001')/to_Item").status_code == 501
    assert http.post(SO + "/A_SalesOrder", json={}).status_code == 405


def test_count_endpoint(http: httpx.Client) -> None:
    response = http.get(SO + "/A_SalesOrder/$count", params={"$filter": "SoldToParty eq 'ACME'"})
    assert response.status_code == 200
    assert response.text == str(len(expected(lambda r: r["SoldToParty"] == "ACME")))


def test_errors_are_xml_when_json_was_not_asked_for(server: RunningServer) -> None:
    with httpx.Client(base_url=server.url, auth=(USER, PASSWORD)) as plain:
        response = plain.get(SO + "/A_Nope")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/xml")
    assert "Resource not found for the segment" in response.text


# ----------------------------------------------------------------------------- auth


def test_basic_auth_and_bearer(server: RunningServer) -> None:
    url = server.url + SO + "/A_SalesOrder?$top=1&$format=json"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == (
        'Basic realm="SAP NetWeaver Application Server [S4H/100]"'
    )
    assert anonymous.headers["content-type"].startswith("text/html")
    assert httpx.get(url, auth=(USER, "wrong")).status_code == 401
    assert httpx.get(url, auth=("concord_comm", PASSWORD)).status_code == 200  # user case-free
    assert httpx.get(url, headers={"Authorization": "Bearer sandbox-token"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    garbage = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
    assert httpx.get(url, headers=garbage).status_code == 401


# ----------------------------------------------------------------------------- limits, faults


def test_throttling_429_with_retry_after() -> None:
    clock = FakeClock()
    sim = SapSimulator(make_system(5), SapSimConfig(requests_per_minute=3, clock=clock))
    with (
        sim.serve() as running,
        httpx.Client(
            base_url=running.url, auth=(USER, PASSWORD), headers={"Accept": "application/json"}
        ) as client,
    ):
        for _ in range(3):
            assert client.get(SO + "/A_SalesOrder").status_code == 200
            clock.now += 10
        throttled = client.get(SO + "/A_SalesOrder")
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "30"  # oldest request leaves in 30 s
        assert throttled.json()["fault"]["detail"]["errorcode"] == (
            "policies.ratelimit.QuotaViolation"
        )
        clock.now += 30
        assert client.get(SO + "/A_SalesOrder").status_code == 200
        assert sim.stats.throttled == 1


def test_injected_faults_and_hooks(http: httpx.Client, sim: SapSimulator) -> None:
    sim.inject(503, count=1, retry_after=2)
    response = http.get(SO + "/A_SalesOrder", params={"$top": "1"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"]["innererror"]["application"]["service_id"] == (
        "API_SALES_ORDER_SRV"
    )
    assert http.get(SO + "/A_SalesOrder", params={"$top": "1"}).status_code == 200
    # a fault only for the second page: the first page still works
    hook = http.post("/__sandbox/faults", json={"status": 500, "kinds": ["next"]})
    assert hook.status_code == 200
    first = get(http, SO + "/A_SalesOrder", **{"$select": "SalesOrder"})
    assert http.get(first["d"]["__next"]).status_code == 500
    assert http.get(first["d"]["__next"]).status_code == 200
    stats = http.get("/__sandbox/stats").json()
    assert stats["faults_served"] == 2
    assert stats["requests_by_kind"]["next"] == 2
    assert http.post("/__sandbox/stats/reset").status_code == 200
    assert http.get("/__sandbox/stats").json()["requests_total"] == 0


def test_latency(server: RunningServer) -> None:
    sim = SapSimulator(make_system(5), SapSimConfig(latency_ms=80))
    with sim.serve() as running:
        started = time.perf_counter()
        response = httpx.get(running.url + SO + "/A_SalesOrder?$format=json", auth=(USER, PASSWORD))
        assert response.status_code == 200
        assert time.perf_counter() - started >= 0.08


def test_system_with_set_missing_from_edmx_is_refused(tmp_path: Path) -> None:
    system = SapSystem({"API_SALES_ORDER_SRV": {"A_NotInEdmx": ErpTable("A_NotInEdmx", [])}})
    with pytest.raises(ValueError, match="A_NotInEdmx"):
        SapSimulator(system)
