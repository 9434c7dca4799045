"""The HubSpot simulator must behave like HubSpot's documented CRM APIs, over real HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.projections.hubspot_model import (
    HubSpotAssociation,
    HubSpotObject,
    HubSpotOption,
    HubSpotOwner,
    HubSpotPipeline,
    HubSpotPortal,
    HubSpotProperty,
    HubSpotRecord,
    HubSpotStage,
)
from sandbox.simulators.hubspot import HubSpotSimConfig, HubSpotSimulator, SearchLimits
from sandbox.simulators.serve import RunningServer

TOKEN = "pat-na1-sandbox"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NO_LIMITS = {"search_requests_per_second": None, "ten_secondly_limit": None}
P = HubSpotProperty
BASE = dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)


def _ts(days: float) -> dt.datetime:
    return BASE + dt.timedelta(days=days)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _opts(*values: str) -> tuple[HubSpotOption, ...]:
    return tuple(HubSpotOption(v.title(), v, i) for i, v in enumerate(values))


def _records(rows: list[dict[str, str | None]], archived: set[str] = frozenset()) -> list:
    """Records in creation order; createdate/hs_object_id filled like HubSpot does."""
    out = []
    for i, props in enumerate(rows):
        rid = props["hs_object_id"]
        assert rid is not None
        created = _ts(i)
        props.setdefault("createdate", _iso(created))
        props.setdefault("hs_lastmodifieddate", _iso(created + dt.timedelta(hours=1)))
        out.append(
            HubSpotRecord(
                id=rid,
                properties=props,
                created_at=created,
                updated_at=created + dt.timedelta(hours=1),
                archived=rid in archived,
                archived_at=_ts(400) if rid in archived else None,
            )
        )
    return out


def _stamps() -> list[HubSpotProperty]:
    return [
        P("createdate", "Create Date", "datetime", "date", "objectinformation", default=True),
        P("hs_lastmodifieddate", "Last Modified", "datetime", "date", "objectinformation"),
        P("hs_object_id", "Record ID", "number", "number", "objectinformation"),
    ]


def make_portal(n_filler_deals: int = 0, n_line_items: int = 250) -> HubSpotPortal:
    """A small hand-made portal with every object kind the adapter reads."""
    companies = HubSpotObject(
        "companies",
        "0-2",
        "Company",
        "Companies",
        [
            P("name", "Name", "string", "text", "companyinformation", default=True),
            P("domain", "Domain", "string", "text", "companyinformation", default=True),
            P(
                "industry",
                "Industry",
                "enumeration",
                "select",
                "companyinformation",
                options=_opts("TECH", "RETAIL"),
            ),
            P("annualrevenue", "Annual Revenue", "number", "number", "companyinformation"),
            P("founded", "Founded", "date", "date", "companyinformation", hubspot_defined=False),
            *_stamps(),
        ],
    )
    companies.records = _records(
        [
            {
                "hs_object_id": "1",
                "name": "Acme Corp",
                "domain": "acme.com",
                "industry": "TECH",
                "annualrevenue": "5000000",
                "founded": "1999-05-01",
            },
            {
                "hs_object_id": "2",
                "name": "acme labs",
                "domain": "labs.acme.io",
                "industry": "TECH",
                "annualrevenue": "250000",
                "founded": "2015-01-31",
            },
            {
                "hs_object_id": "3",
                "name": "O'Brien & Sons",
                "domain": "obrien.ie",
                "industry": "RETAIL",
                "annualrevenue": None,
                "founded": None,
            },
            {
                "hs_object_id": "4",
                "name": "Globex",
                "domain": "",
                "industry": None,
                "annualrevenue": "10",
                "founded": "2020-02-29",
            },
            {"hs_object_id": "5", "name": "Deleted Co", "domain": "gone.com", "industry": "TECH"},
        ],
        archived={"5"},
    )
    contacts = HubSpotObject(
        "contacts",
        "0-1",
        "Contact",
        "Contacts",
        [
            P("firstname", "First Name", "string", "text", "contactinformation", default=True),
            P("lastname", "Last Name", "string", "text", "contactinformation", default=True),
            P("email", "Email", "string", "text", "contactinformation", default=True),
            P("phone", "Phone", "phone_number", "phonenumber", "contactinformation"),
            P(
                "lifecyclestage",
                "Lifecycle Stage",
                "enumeration",
                "radio",
                "contactinformation",
                options=_opts("lead", "customer"),
            ),
            P(
                "hobbies",
                "Hobbies",
                "enumeration",
                "checkbox",
                "contactinformation",
                hubspot_defined=False,
                options=_opts("chess", "golf", "tennis"),
            ),
            P("lastmodifieddate", "Last Modified", "datetime", "date", "contactinformation"),
            P("createdate", "Create Date", "datetime", "date", "contactinformation", default=True),
            P("hs_object_id", "Record ID", "number", "number", "contactinformation"),
        ],
    )
    contacts.records = _records(
        [
            {
                "hs_object_id": "1",
                "firstname": "Ada",
                "lastname": "Lovelace",
                "email": "ada@acme.com",
                "lifecyclestage": "customer",
                "hobbies": "chess;golf",
                "phone": "+44 20 7946 0000",
            },
            {
                "hs_object_id": "2",
                "firstname": "Bob",
                "lastname": "Builder",
                "email": "bob@labs.acme.io",
                "lifecyclestage": "lead",
                "hobbies": "tennis",
            },
            {
                "hs_object_id": "3",
                "firstname": "Carla",
                "lastname": "de la Cruz",
                "email": "carla@hubspot.com",
                "lifecyclestage": None,
                "hobbies": None,
            },
        ]
    )
    deal_props = [
        P("dealname", "Deal Name", "string", "text", "dealinformation", default=True),
        P("amount", "Amount", "number", "number", "dealinformation", default=True),
        P("closedate", "Close Date", "datetime", "date", "dealinformation", default=True),
        P(
            "pipeline",
            "Pipeline",
            "enumeration",
            "select",
            "dealinformation",
            default=True,
            options=_opts("default"),
        ),
        P(
            "dealstage",
            "Deal Stage",
            "enumeration",
            "radio",
            "dealinformation",
            default=True,
            options=_opts("appointmentscheduled", "contractsent", "closedwon", "closedlost"),
        ),
        P("hubspot_owner_id", "Deal owner", "enumeration", "select", "dealinformation"),
        P(
            "hs_is_closed",
            "Is Closed",
            "bool",
            "booleancheckbox",
            "dealinformation",
            calculated=True,
        ),
        *_stamps(),
    ]
    deal_props[-3] = P(
        "createdate", "Create Date", "datetime", "date", "dealinformation", default=True
    )
    deal_props[-2] = P(
        "hs_lastmodifieddate", "Last Modified", "datetime", "date", "dealinformation", default=True
    )
    deals = HubSpotObject("deals", "0-3", "Deal", "Deals", deal_props)
    deal_rows: list[dict[str, str | None]] = [
        {
            "hs_object_id": "1",
            "dealname": "Big Deal",
            "amount": "1000000",
            "closedate": "2024-03-01T10:00:00.000Z",
            "dealstage": "closedwon",
            "hubspot_owner_id": "101",
            "hs_is_closed": "true",
        },
        {
            "hs_object_id": "2",
            "dealname": "small deal",
            "amount": "99.5",
            "closedate": "2024-02-15T00:00:00.000Z",
            "dealstage": "appointmentscheduled",
            "hubspot_owner_id": "102",
            "hs_is_closed": "false",
        },
        {
            "hs_object_id": "3",
            "dealname": "Medium Deal",
            "amount": "5000",
            "closedate": None,
            "dealstage": "closedlost",
            "hubspot_owner_id": "101",
            "hs_is_closed": "true",
        },
        {
            "hs_object_id": "4",
            "dealname": "No Amount",
            "amount": None,
            "closedate": "2024-06-30T23:59:59.999Z",
            "dealstage": "closedwon",
            "hubspot_owner_id": None,
            "hs_is_closed": "true",
        },
        {
            "hs_object_id": "5",
            "dealname": "Euro Deal",
            "amount": "20000",
            "closedate": "2025-01-10T12:00:00.000Z",
            "dealstage": "contractsent",
            "hubspot_owner_id": "102",
            "hs_is_closed": "false",
        },
        {
            "hs_object_id": "6",
            "dealname": "Old Deal",
            "amount": "777",
            "dealstage": "closedwon",
            "hs_is_closed": "true",
        },
    ]
    for n in range(7, 7 + n_filler_deals):
        deal_rows.append(
            {
                "hs_object_id": str(n),
                "dealname": f"Filler {n}",
                "amount": str(n * 10),
                "closedate": "2030-01-01T00:00:00.000Z",
                "dealstage": "appointmentscheduled",
                "hs_is_closed": "false",
            }
        )
    for row in deal_rows:
        row["pipeline"] = "default"
    deals.records = _records(deal_rows, archived={"6"})
    products = HubSpotObject(
        "products",
        "0-7",
        "Product",
        "Products",
        [
            P("name", "Name", "string", "text", "productinformation", default=True),
            P("price", "Price", "number", "number", "productinformation", default=True),
            P("hs_sku", "SKU", "string", "text", "productinformation"),
            *_stamps(),
        ],
    )
    products.records = _records(
        [
            {"hs_object_id": "11", "name": "Widget", "price": "10.5", "hs_sku": "W-1"},
            {"hs_object_id": "12", "name": "Gadget", "price": "99", "hs_sku": "G-1"},
        ]
    )
    line_items = HubSpotObject(
        "line_items",
        "0-8",
        "Line Item",
        "Line Items",
        [
            P("name", "Name", "string", "text", "lineiteminformation", default=True),
            P("quantity", "Quantity", "number", "number", "lineiteminformation", default=True),
            P("price", "Price", "number", "number", "lineiteminformation", default=True),
            P("amount", "Amount", "number", "number", "lineiteminformation", default=True),
            P("hs_product_id", "Product ID", "number", "number", "lineiteminformation"),
            *_stamps(),
        ],
    )
    line_items.records = _records(
        [
            {
                "hs_object_id": str(1000 + n),
                "name": f"Line {n}",
                "quantity": str(n % 5 + 1),
                "price": "10.5",
                "amount": str((n % 5 + 1) * 10.5),
                "hs_product_id": "11",
            }
            for n in range(n_line_items)
        ]
    )
    tickets = HubSpotObject(
        "tickets",
        "0-5",
        "Ticket",
        "Tickets",
        [
            P("subject", "Subject", "string", "text", "ticketinformation", default=True),
            P("content", "Description", "string", "textarea", "ticketinformation", default=True),
            P("hs_pipeline", "Pipeline", "enumeration", "select", "ticketinformation"),
            P("hs_pipeline_stage", "Status", "enumeration", "select", "ticketinformation"),
            P(
                "hs_ticket_priority",
                "Priority",
                "enumeration",
                "select",
                "ticketinformation",
                options=_opts("HIGH", "LOW"),
            ),
            *_stamps(),
        ],
    )
    tickets.records = _records(
        [
            {
                "hs_object_id": "21",
                "subject": "Printer on fire",
                "content": "It is on fire.",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "1",
                "hs_ticket_priority": "HIGH",
            },
            {
                "hs_object_id": "22",
                "subject": "Password reset",
                "content": "Forgot it again",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "4",
                "hs_ticket_priority": "LOW",
            },
        ]
    )
    cars = HubSpotObject(
        "cars",
        "2-3456789",
        "Car",
        "Cars",
        [
            P("vin", "VIN", "string", "text", "car_information", False, default=True),
            P("model", "Model", "string", "text", "car_information", False),
            P("year", "Year", "number", "number", "car_information", False),
            *_stamps(),
        ],
        custom=True,
        primary_display_property="vin",
        fully_qualified_name="p4400123_cars",
    )
    cars.records = _records(
        [
            {"hs_object_id": "31", "vin": "VIN-A", "model": "Roadster", "year": "2019"},
            {"hs_object_id": "32", "vin": "VIN-B", "model": "Wagon", "year": "2021"},
        ]
    )
    A = HubSpotAssociation
    associations = [
        A("deals", "1", "companies", "1", 5, label="Primary"),
        A("deals", "1", "companies", "1", 341),
        A("deals", "2", "companies", "2", 5, label="Primary"),
        A("deals", "1", "contacts", "1", 3),
        A("deals", "1", "contacts", "2", 3),
        A("contacts", "1", "companies", "1", 1, label="Primary"),
        A("contacts", "1", "companies", "1", 279),
        *(A("deals", "1", "line_items", str(1000 + n), 19) for n in range(3)),
        A("cars", "31", "contacts", "1", 77, "USER_DEFINED", "Driver"),
    ]
    owners = [
        HubSpotOwner(
            str(100 + n), f"owner{n}@example.com", f"Own{n}", f"Er{n}", 9000 + n, _ts(0), _ts(1)
        )
        for n in range(1, 6)
    ]
    owners.append(
        HubSpotOwner("199", "gone@example.com", "Gone", "Owner", 9099, _ts(0), _ts(2), True)
    )
    S = HubSpotStage
    pipelines = [
        HubSpotPipeline(
            "default",
            "deals",
            "Sales Pipeline",
            0,
            [
                S(
                    "appointmentscheduled",
                    "Appointment",
                    0,
                    (("isClosed", "false"), ("probability", "0.2")),
                ),
                S(
                    "contractsent",
                    "Contract Sent",
                    1,
                    (("isClosed", "false"), ("probability", "0.9")),
                ),
                S("closedwon", "Closed Won", 2, (("isClosed", "true"), ("probability", "1.0"))),
                S("closedlost", "Closed Lost", 3, (("isClosed", "true"), ("probability", "0.0"))),
            ],
            _ts(0),
            _ts(1),
        ),
        HubSpotPipeline(
            "0",
            "tickets",
            "Support Pipeline",
            0,
            [
                S("1", "New", 0, (("ticketState", "OPEN"),)),
                S("4", "Closed", 1, (("ticketState", "CLOSED"),)),
            ],
            _ts(0),
            _ts(1),
        ),
    ]
    objects = [companies, contacts, deals, products, line_items, tickets, cars]
    return HubSpotPortal(
        objects={o.name: o for o in objects},
        associations=associations,
        owners=owners,
        pipelines=pipelines,
        portal_id=4400123,
        today=dt.date(2024, 6, 15),
    )


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def sim() -> HubSpotSimulator:
    return HubSpotSimulator(make_portal(), HubSpotSimConfig(**NO_LIMITS))


@pytest.fixture(scope="module")
def server(sim: HubSpotSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture(scope="module")
def shared_client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        yield c


@pytest.fixture()
def client(shared_client: httpx.Client, sim: HubSpotSimulator) -> httpx.Client:
    sim.reset_stats()
    sim.clear_faults()
    return shared_client


def search(client: httpx.Client, obj: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(f"/crm/v3/objects/{obj}/search", json=body)


def ids(client: httpx.Client, obj: str, *filters: dict[str, Any], **body: Any) -> list[str]:
    """Ids matching one AND-group of ``filters`` (all pages)."""
    if filters:
        body["filterGroups"] = [{"filters": list(filters)}]
    body.setdefault("limit", 200)
    r = search(client, obj, body)
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()["results"]]


def f(name: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"propertyName": name, "operator": op}
    if value is not None:
        out["value"] = value
    out.update(extra)
    return out


def error(r: httpx.Response, status: int = 400, category: str = "VALIDATION_ERROR") -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    return body


# ---------------------------------------------------------------------- list / read
def test_list_paging_cursor_and_last_page(client: httpx.Client, sim: HubSpotSimulator) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 500}  # above the cap: clamped to 100
        if after:
            params["after"] = after
        r = client.get("/crm/v3/objects/line_items", params=params)
        assert r.status_code == 200
        body = r.json()
        pages += 1
        assert len(body["results"]) <= 100
        seen += [o["id"] for o in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
        assert not after.isdigit()  # opaque cursor, not an offset
        assert body["paging"]["next"]["link"].endswith(after)
    assert pages == 3
    assert seen == [str(1000 + n) for n in range(250)]
    assert sim.stats.pages_served == 3
    assert sim.stats.rows_returned == 250
    assert sim.stats.requests_by_kind["list"] == 3


def test_list_default_limit_is_10(client: httpx.Client) -> None:
    body = client.get("/crm/v3/objects/line_items").json()
    assert len(body["results"]) == 10
    assert "after" in body["paging"]["next"]


def test_list_bad_cursor_is_400(client: httpx.Client) -> None:
    error(client.get("/crm/v3/objects/deals", params={"after": "bm9wZQ"}))


def test_default_and_requested_properties(client: httpx.Client) -> None:
    deals = client.get("/crm/v3/objects/deals").json()["results"]
    first = deals[0]
    assert set(first) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(first["properties"]) == {
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
    }
    assert first["createdAt"] == "2024-01-01T09:00:00.000Z"
    assert first["archived"] is False
    r = client.get(
        "/crm/v3/objects/deals", params={"properties": "hubspot_owner_id,nope,amount"}
    ).json()["results"]
    # requested + always-sent timestamps + hs_object_id; unknown names silently ignored
    assert set(r[0]["properties"]) == {
        "hubspot_owner_id",
        "amount",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    # repeated parameters (what the SDKs send) work like the comma form
    rep = client.get("/crm/v3/objects/deals?properties=hubspot_owner_id&properties=amount").json()[
        "results"
    ]
    assert rep == r
    for obj in r:
        assert obj["properties"]["hs_object_id"] == obj["id"]
        for v in obj["properties"].values():
            assert v is None or isinstance(v, str)
    no_amount = next(o for o in r if o["id"] == "4")
    assert no_amount["properties"]["amount"] is None  # requested but empty -> null


def test_values_are_strings(client: httpx.Client) -> None:
    body = client.get("/crm/v3/objects/companies", params={"properties": "annualrevenue"}).json()
    assert body["results"][0]["properties"]["annualrevenue"] == "5000000"
    assert body["results"][0]["properties"]["hs_object_id"] == "1"


@pytest.mark.parametrize("alias", ["deals", "0-3", "DEAL", "deal", "Deals", "DEALS"])
def test_object_type_aliases(client: httpx.Client, alias: str) -> None:
    r = client.get(f"/crm/v3/objects/{alias}", params={"limit": 100})
    assert r.status_code == 200
    assert [o["id"] for o in r.json()["results"]] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("alias", ["cars", "car", "p4400123_cars", "2-3456789", "CARS"])
def test_custom_object_aliases(client: httpx.Client, alias: str) -> None:
    r = client.get(f"/crm/v3/objects/{alias}")
    assert r.status_code == 200
    assert [o["properties"]["vin"] for o in r.json()["results"]] == ["VIN-A", "VIN-B"]


def test_unknown_object_type(client: httpx.Client) -> None:
    body = error(client.get("/crm/v3/objects/spaceships"))
    assert body["message"] == "Unable to infer object type from: spaceships"


@pytest.mark.parametrize("version", ["2026-03", "2025-09"])
def test_date_versioned_paths(client: httpx.Client, version: str) -> None:
    base = f"/crm/objects/{version}"
    listed = client.get(f"{base}/deals", params={"limit": 2}).json()
    classic = client.get("/crm/v3/objects/deals", params={"limit": 2}).json()
    assert listed["results"] == classic["results"]
    assert client.get(f"{base}/0-3/2").json()["properties"]["dealname"] == "small deal"
    found = client.post(f"{base}/deals/search", json={"limit": 1}).json()
    assert found["total"] == 5
    assoc = client.get(f"{base}/deals/1/associations/companies").json()
    assert assoc["results"][0]["toObjectId"] == 1


def test_read_one_and_404(client: httpx.Client) -> None:
    r = client.get("/crm/v3/objects/deals/2", params={"properties": "dealname"})
    assert r.status_code == 200
    assert r.json()["properties"]["dealname"] == "small deal"
    error(client.get("/crm/v3/objects/deals/999"), 404, "OBJECT_NOT_FOUND")
    # archived records are only read with archived=true
    error(client.get("/crm/v3/objects/deals/6"), 404, "OBJECT_NOT_FOUND")
    gone = client.get("/crm/v3/objects/deals/6", params={"archived": "true"}).json()
    assert gone["archived"] is True and "archivedAt" in gone
    by_sku = client.get("/crm/v3/objects/products/G-1", params={"idProperty": "hs_sku"})
    assert by_sku.json()["id"] == "12"


def test_batch_read(client: httpx.Client) -> None:
    r = client.post(
        "/crm/v3/objects/deals/batch/read",
        json={"inputs": [{"id": "1"}, {"id": "5"}], "properties": ["amount"]},
    )
    assert r.status_code == 200
    assert [o["properties"]["amount"] for o in r.json()["results"]] == ["1000000", "20000"]
    r = client.post(
        "/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": "1"}, {"id": "77"}]}
    )
    assert r.status_code == 207
    assert r.json()["errors"][0]["context"] == {"ids": ["77"]}


def test_archived_listed_only_with_archived_true(client: httpx.Client) -> None:
    active = client.get("/crm/v3/objects/companies", params={"limit": 100}).json()["results"]
    assert "5" not in [o["id"] for o in active]
    archived = client.get("/crm/v3/objects/companies", params={"archived": "true"}).json()
    assert [o["id"] for o in archived["results"]] == ["5"]
    assert archived["results"][0]["archived"] is True
    assert ids(client, "companies", f("name", "EQ", "Deleted Co")) == []


# ---------------------------------------------------------------------- search semantics
def test_search_response_shape_and_default_order(
    client: httpx.Client, sim: HubSpotSimulator
) -> None:
    r = search(client, "deals", {})
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 5
    assert [o["id"] for o in body["results"]] == ["1", "2", "3", "4", "5"]  # creation order
    assert "paging" not in body
    assert set(body["results"][0]["properties"]) >= {"dealname", "hs_object_id"}
    assert sim.stats.search_bodies == [{}]
    assert sim.stats.search_objects == ["deals"]
    assert sim.stats.requests_by_kind["search"] == 1


def test_search_paging_offsets(client: httpx.Client) -> None:
    r = search(client, "line_items", {"limit": 100}).json()
    assert r["total"] == 250
    assert r["paging"] == {"next": {"after": "100"}}
    r2 = search(client, "line_items", {"limit": 100, "after": "200"}).json()
    assert len(r2["results"]) == 50 and "paging" not in r2
    default = search(client, "line_items", {}).json()
    assert len(default["results"]) == 10
    error(search(client, "line_items", {"limit": 201}))


def test_eq_strings_case_insensitive(client: httpx.Client) -> None:
    assert ids(client, "companies", f("name", "EQ", "ACME CORP")) == ["1"]
    assert ids(client, "companies", f("name", "NEQ", "acme corp")) == ["2", "3", "4"]


def test_enumerations_case_sensitive(client: httpx.Client) -> None:
    assert ids(client, "companies", f("industry", "EQ", "TECH")) == ["1", "2"]
    assert ids(client, "companies", f("industry", "EQ", "tech")) == []
    assert ids(client, "companies", f("industry", "IN", values=["RETAIL"])) == ["3"]
    assert ids(client, "companies", f("industry", "IN", values=["retail"])) == []
    assert ids(client, "companies", f("industry", "NOT_IN", values=["TECH"])) == ["3"]


def test_string_in_needs_lowercase_values(client: httpx.Client) -> None:
    assert ids(client, "companies", f("name", "IN", values=["acme corp", "globex"])) == ["1", "4"]
    assert ids(client, "companies", f("name", "IN", values=["Acme Corp"])) == []
    # NOT_IN with a non-lowercase value excludes nothing
    assert ids(client, "companies", f("name", "NOT_IN", values=["Globex"])) == ["1", "2", "3", "4"]
    assert ids(client, "companies", f("name", "NOT_IN", values=["globex"])) == ["1", "2", "3"]


def test_numbers_compare_numerically(client: httpx.Client) -> None:
    # as strings "99.5" > "5000"; numerically it is not
    assert ids(client, "deals", f("amount", "GT", "5000")) == ["1", "5"]
    assert ids(client, "deals", f("amount", "GTE", "5000")) == ["1", "3", "5"]
    assert ids(client, "deals", f("amount", "LT", "5000")) == ["2"]
    assert ids(client, "deals", f("amount", "LTE", "99.5")) == ["2"]
    assert ids(client, "deals", f("amount", "EQ", "1e6")) == ["1"]
    assert ids(client, "deals", f("amount", "BETWEEN", "100", highValue="20000")) == ["3", "5"]
    assert ids(client, "deals", f("hs_object_id", "GT", "3")) == ["4", "5"]
    error(search(client, "deals", {"filterGroups": [{"filters": [f("amount", "GT", "lots")]}]}))


def test_dates_as_epoch_ms_and_iso(client: httpx.Client) -> None:
    march_1 = int(dt.datetime(2024, 3, 1, tzinfo=dt.UTC).timestamp() * 1000)
    assert ids(client, "deals", f("closedate", "GTE", str(march_1))) == ["1", "4", "5"]
    assert ids(client, "deals", f("closedate", "GTE", "2024-03-01")) == ["1", "4", "5"]
    assert ids(client, "deals", f("closedate", "LT", "2024-03-01T10:00:00Z")) == ["2"]
    assert ids(client, "deals", f("closedate", "EQ", "2024-03-01T10:00:00.000Z")) == ["1"]
    assert ids(
        client, "deals", f("closedate", "BETWEEN", "2024-01-01", highValue="2024-12-31")
    ) == ["1", "2", "4"]
    # date-type property: stored at midnight UTC
    feb29 = int(dt.datetime(2020, 2, 29, tzinfo=dt.UTC).timestamp() * 1000)
    assert ids(client, "companies", f("founded", "EQ", str(feb29))) == ["4"]
    assert ids(client, "companies", f("founded", "LT", "2000-01-01")) == ["1"]
    created = ids(client, "deals", f("createdate", "GT", "2024-01-03T00:00:00Z"))
    assert created == ["3", "4", "5"]


def test_has_property_and_missing_values(client: httpx.Client) -> None:
    assert ids(client, "deals", f("amount", "HAS_PROPERTY")) == ["1", "2", "3", "5"]
    assert ids(client, "deals", f("amount", "NOT_HAS_PROPERTY")) == ["4"]
    # empty string counts as no value
    assert ids(client, "companies", f("domain", "NOT_HAS_PROPERTY")) == ["4"]
    # records without a value do not match negations (documented choice)
    assert ids(client, "deals", f("amount", "NEQ", "5000")) == ["1", "2", "5"]
    assert ids(client, "companies", f("industry", "NOT_IN", values=["TECH"])) == ["3"]


def test_negation_matches_missing_is_configurable() -> None:
    sim = HubSpotSimulator(
        make_portal(), HubSpotSimConfig(negation_matches_missing=True, **NO_LIMITS)
    )
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        assert ids(c, "deals", f("amount", "NEQ", "5000")) == ["1", "2", "4", "5"]


def test_contains_token(client: httpx.Client) -> None:
    assert ids(client, "contacts", f("email", "CONTAINS_TOKEN", "*@hubspot.com")) == ["3"]
    assert ids(client, "contacts", f("email", "CONTAINS_TOKEN", "*@ACME.COM")) == ["1"]
    assert ids(client, "contacts", f("lastname", "CONTAINS_TOKEN", "cruz")) == ["3"]
    assert ids(client, "contacts", f("lastname", "CONTAINS_TOKEN", "cru")) == []
    assert ids(client, "contacts", f("lastname", "CONTAINS_TOKEN", "cru*")) == ["3"]
    assert ids(client, "contacts", f("email", "NOT_CONTAINS_TOKEN", "*acme*")) == ["3"]


def test_multi_checkbox_and_bool(client: httpx.Client) -> None:
    assert ids(client, "contacts", f("hobbies", "EQ", "golf")) == ["1"]
    assert ids(client, "contacts", f("hobbies", "IN", values=["tennis", "golf"])) == ["1", "2"]
    assert ids(client, "contacts", f("hobbies", "NOT_IN", values=["chess"])) == ["2"]
    assert ids(client, "deals", f("hs_is_closed", "EQ", "TRUE")) == ["1", "3", "4"]


def test_or_of_groups_and_within_group(client: httpx.Client) -> None:
    body = {
        "filterGroups": [
            {"filters": [f("dealstage", "EQ", "closedwon"), f("amount", "GT", "0")]},
            {"filters": [f("dealname", "EQ", "euro deal")]},
        ],
        "limit": 100,
    }
    r = search(client, "deals", body).json()
    assert [o["id"] for o in r["results"]] == ["1", "5"]
    assert r["total"] == 2


def test_association_pseudo_property(client: httpx.Client) -> None:
    assert ids(client, "deals", f("associations.company", "EQ", "2")) == ["2"]
    assert ids(client, "deals", f("associations.contact", "EQ", "1")) == ["1"]


def test_free_text_query(client: httpx.Client) -> None:
    assert ids(client, "contacts", query="ada") == ["1"]
    assert ids(client, "deals", query="DEAL") == ["1", "2", "3", "5"]


def test_sorts(client: httpx.Client) -> None:
    sort = {"propertyName": "amount", "direction": "DESCENDING"}
    assert ids(client, "deals", sorts=[sort]) == ["1", "5", "3", "2", "4"]  # missing last
    asc = {"propertyName": "amount", "direction": "ASCENDING"}
    assert ids(client, "deals", sorts=[asc]) == ["2", "3", "5", "1", "4"]
    # only the first rule is honoured; plain strings (spec form) accepted
    assert ids(client, "deals", sorts=["amount", "-dealname"]) == ["2", "3", "5", "1", "4"]
    assert ids(client, "deals", sorts=["-closedate"]) == ["5", "4", "1", "2", "3"]
    assert ids(client, "companies", sorts=["name"]) == ["1", "2", "4", "3"]  # case-insensitive
    error(search(client, "deals", {"sorts": ["nope"]}))


def test_filter_limits(client: httpx.Client) -> None:
    one = [f("amount", "GT", "0")]
    r = search(client, "deals", {"filterGroups": [{"filters": one}] * 5})
    assert r.status_code == 200
    error(search(client, "deals", {"filterGroups": [{"filters": one}] * 6}))
    error(search(client, "deals", {"filterGroups": [{"filters": one * 7}]}))
    assert search(client, "deals", {"filterGroups": [{"filters": one * 6}] * 3}).status_code == 200
    body = error(
        search(client, "deals", {"filterGroups": [{"filters": one * 6}] * 3 + [{"filters": one}]})
    )
    assert "19" in body["message"]


def test_filter_limits_configurable() -> None:
    cfg = HubSpotSimConfig(search_limits=SearchLimits(6, 10, 25), **NO_LIMITS)
    sim = HubSpotSimulator(make_portal(), cfg)
    one = [f("amount", "GT", "0")]
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        assert search(c, "deals", {"filterGroups": [{"filters": one * 4}] * 6}).status_code == 200


def test_unknown_filter_property_and_operator(client: httpx.Client) -> None:
    body = error(search(client, "deals", {"filterGroups": [{"filters": [f("nope", "EQ", "x")]}]}))
    assert body["context"] == {"propertyName": ["nope"]}
    error(search(client, "deals", {"filterGroups": [{"filters": [f("amount", "LIKE", "x")]}]}))


def test_body_over_3000_chars(client: httpx.Client) -> None:
    values = [f"value-{n:05d}" for n in range(300)]
    body = {"filterGroups": [{"filters": [f("dealname", "IN", values=values)]}]}
    assert len(json.dumps(body)) > 3000
    msg = error(search(client, "deals", body))["message"]
    assert "3000" in msg
    error(client.post("/crm/v3/objects/deals/search", content=b"{not json"))


def test_archived_never_in_search(client: httpx.Client) -> None:
    assert ids(client, "deals", f("dealname", "EQ", "old deal")) == []
    assert search(client, "deals", {}).json()["total"] == 5


# ---------------------------------------------------------------------- 10,000 cap
def big_portal(n: int) -> HubSpotPortal:
    contacts = HubSpotObject(
        "contacts",
        "0-1",
        "Contact",
        "Contacts",
        [
            P("email", "Email", "string", "text", "contactinformation", default=True),
            P("createdate", "Create Date", "datetime", "date", "contactinformation"),
        ],
    )
    contacts.records = [
        HubSpotRecord(
            str(i),
            {"hs_object_id": str(i), "email": f"c{i}@example.com", "createdate": None},
            BASE,
            BASE,
        )
        for i in range(1, n + 1)
    ]
    return HubSpotPortal(objects={"contacts": contacts})


def test_search_cap_at_10000_then_400() -> None:
    sim = HubSpotSimulator(big_portal(10_100), HubSpotSimConfig(**NO_LIMITS))
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        after: str | None = "0"
        seen = 0
        last: dict[str, Any] = {}
        while after is not None and int(after) < 10_000:
            last = search(c, "contacts", {"limit": 200, "after": after}).json()
            assert last["total"] == 10_100
            seen += len(last["results"])
            after = last.get("paging", {}).get("next", {}).get("after")
        assert seen == 10_000
        assert last["results"][-1]["id"] == "10000"
        assert after == "10000"  # HubSpot still offers the next page ...
        body = error(search(c, "contacts", {"limit": 10, "after": after}))  # ... which fails
        assert "10000" in body["message"]
        # a page crossing the cap is cut at the cap
        cut = search(c, "contacts", {"limit": 200, "after": "9950"}).json()
        assert len(cut["results"]) == 50
        # listing is not capped
        page = c.get("/crm/v3/objects/contacts", params={"limit": 100}).json()
        assert len(page["results"]) == 100


# ---------------------------------------------------------------------- metadata
def test_properties_api(client: httpx.Client, sim: HubSpotSimulator) -> None:
    body = client.get("/crm/v3/properties/deals").json()
    by_name = {p["name"]: p for p in body["results"]}
    stage = by_name["dealstage"]
    assert stage["type"] == "enumeration" and stage["fieldType"] == "radio"
    assert stage["options"][0] == {
        "label": "Appointmentscheduled",
        "value": "appointmentscheduled",
        "displayOrder": 0,
        "hidden": False,
    }
    for key in (
        "label",
        "groupName",
        "description",
        "calculated",
        "hasUniqueValue",
        "hidden",
        "hubspotDefined",
        "createdAt",
        "updatedAt",
        "archived",
        "modificationMetadata",
    ):
        assert key in stage
    assert by_name["hs_is_closed"]["calculated"] is True
    assert by_name["amount"]["type"] == "number"
    assert client.get("/crm/v3/properties/0-3/amount").json()["name"] == "amount"
    error(client.get("/crm/v3/properties/deals/nope"), 404, "OBJECT_NOT_FOUND")
    custom = client.get("/crm/v3/properties/p4400123_cars").json()["results"]
    assert {p["name"] for p in custom} >= {"vin", "model", "year"}
    assert sim.stats.requests_by_kind["properties"] == 4


def test_schemas(client: httpx.Client) -> None:
    body = client.get("/crm/v3/schemas").json()
    assert len(body["results"]) == 1
    car = body["results"][0]
    assert car["objectTypeId"] == "2-3456789"
    assert car["fullyQualifiedName"] == "p4400123_cars"
    assert car["labels"] == {"singular": "Car", "plural": "Cars"}
    assert car["primaryDisplayProperty"] == "vin"
    assert {p["name"] for p in car["properties"]} >= {"vin", "model", "year"}
    assert any(a["toObjectTypeId"] == "0-1" and a["id"] == "77" for a in car["associations"])
    for key in ("id", "name", "createdAt", "updatedAt", "archived"):
        assert key in car
    assert client.get("/crm/v3/schemas/2-3456789").json()["name"] == "cars"


def test_owners_paging(client: httpx.Client) -> None:
    first = client.get("/crm/v3/owners", params={"limit": 2}).json()
    assert [o["id"] for o in first["results"]] == ["101", "102"]
    owner = first["results"][0]
    assert owner == {
        "id": "101",
        "email": "owner1@example.com",
        "type": "PERSON",
        "firstName": "Own1",
        "lastName": "Er1",
        "userId": 9001,
        "userIdIncludingInactive": 9001,
        "createdAt": "2024-01-01T09:00:00.000Z",
        "updatedAt": "2024-01-02T09:00:00.000Z",
        "archived": False,
        "teams": [],
    }
    seen = [o["id"] for o in first["results"]]
    after = first["paging"]["next"]["after"]
    while after:
        page = client.get("/crm/v3/owners", params={"limit": 2, "after": after}).json()
        seen += [o["id"] for o in page["results"]]
        after = page.get("paging", {}).get("next", {}).get("after")
    assert seen == ["101", "102", "103", "104", "105"]
    archived = client.get("/crm/v3/owners", params={"archived": "true"}).json()["results"]
    assert [o["id"] for o in archived] == ["199"]
    by_email = client.get("/crm/v3/owners", params={"email": "OWNER3@example.com"}).json()
    assert [o["id"] for o in by_email["results"]] == ["103"]


def test_pipelines(client: httpx.Client) -> None:
    body = client.get("/crm/v3/pipelines/deals").json()
    (pipe,) = body["results"]
    assert pipe["id"] == "default" and pipe["label"] == "Sales Pipeline"
    assert [s["id"] for s in pipe["stages"]] == [
        "appointmentscheduled",
        "contractsent",
        "closedwon",
        "closedlost",
    ]
    won = pipe["stages"][2]
    assert won["metadata"] == {"isClosed": "true", "probability": "1.0"}
    for key in ("label", "displayOrder", "createdAt", "updatedAt", "archived"):
        assert key in won
    tickets = client.get("/crm/v3/pipelines/0-5").json()["results"]
    assert tickets[0]["stages"][1]["metadata"] == {"ticketState": "CLOSED"}
    assert client.get("/crm/v3/pipelines/deals/default/stages").json()["results"][0]["id"] == (
        "appointmentscheduled"
    )
    assert client.get("/crm/v3/pipelines/companies").json() == {"results": []}


# ---------------------------------------------------------------------- associations v4
def test_v4_batch_read(client: httpx.Client, sim: HubSpotSimulator) -> None:
    r = client.post(
        "/crm/v4/associations/deals/companies/batch/read",
        json={"inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}]},
    )
    assert r.status_code == 207  # deal 3 has no company
    body = r.json()
    assert body["status"] == "COMPLETE"
    assert "startedAt" in body and "completedAt" in body
    assert [x["from"]["id"] for x in body["results"]] == ["1", "2"]
    deal1 = body["results"][0]["to"]
    assert deal1 == [
        {
            "toObjectId": 1,
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"},
                {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None},
            ],
        }
    ]
    assert body["numErrors"] == 1
    err = body["errors"][0]
    assert err["subCategory"] == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert err["context"]["fromObjectId"] == ["3"]
    assert err["message"] == "No company is associated with deal 3."
    assert sim.stats.requests_by_kind["associations"] == 1
    ok = client.post("/crm/v4/associations/0-3/0-1/batch/read", json={"inputs": [{"id": "1"}]})
    assert ok.status_code == 200 and "errors" not in ok.json()
    assert [t["toObjectId"] for t in ok.json()["results"][0]["to"]] == [1, 2]


def test_v4_reverse_direction_and_custom(client: httpx.Client) -> None:
    r = client.post(
        "/crm/v4/associations/companies/deals/batch/read", json={"inputs": [{"id": "1"}]}
    ).json()
    types = r["results"][0]["to"][0]["associationTypes"]
    assert [t["typeId"] for t in types] == [6, 342]
    r = client.post(
        "/crm/v4/associations/contacts/cars/batch/read", json={"inputs": [{"id": "1"}]}
    ).json()
    assert r["results"][0]["to"] == [
        {
            "toObjectId": 31,
            "associationTypes": [{"category": "USER_DEFINED", "typeId": 77, "label": "Driver"}],
        }
    ]


def test_v4_batch_input_limit() -> None:
    sim = HubSpotSimulator(
        make_portal(n_line_items=0),
        HubSpotSimConfig(association_batch_max_inputs=3, **NO_LIMITS),
    )
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        inputs = [{"id": str(i)} for i in range(4)]
        error(c.post("/crm/v4/associations/deals/companies/batch/read", json={"inputs": inputs}))


def test_v4_get_object_associations_paging(client: httpx.Client) -> None:
    first = client.get(
        "/crm/v4/objects/deals/1/associations/line_items", params={"limit": 2}
    ).json()
    assert [t["toObjectId"] for t in first["results"]] == [1000, 1001]
    after = first["paging"]["next"]["after"]
    rest = client.get(
        "/crm/v4/objects/deals/1/associations/line_items", params={"limit": 2, "after": after}
    ).json()
    assert [t["toObjectId"] for t in rest["results"]] == [1002]
    assert "paging" not in rest
    assert client.get("/crm/v4/objects/deals/3/associations/companies").json() == {"results": []}


# ---------------------------------------------------------------------- auth, errors, limits
def test_401_body(server: RunningServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(f"{server.url}/crm/v3/objects/deals", headers=headers)
        body = error(r, 401, "INVALID_AUTHENTICATION")
        assert body["message"].startswith("Authentication credentials not found.")
        assert "oauth-overview" in body["message"]


def test_every_response_has_correlation_id(client: httpx.Client) -> None:
    for r in (
        client.get("/crm/v3/objects/deals"),
        client.get("/crm/v3/nope"),
        search(client, "deals", {}),
    ):
        assert r.headers["X-HubSpot-Correlation-Id"]
    assert (
        client.get("/crm/v3/objects/deals").headers["content-type"].startswith("application/json")
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_search_429_after_five_per_second() -> None:
    clock = FakeClock()
    sim = HubSpotSimulator(make_portal(n_line_items=0), HubSpotSimConfig(clock=clock))
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        for n in range(5):
            r = search(c, "deals", {})
            assert r.status_code == 200
            assert r.headers["X-HubSpot-RateLimit-Secondly"] == "5"
            assert r.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == str(4 - n)
        r = search(c, "deals", {})
        assert r.status_code == 429
        body = r.json()
        assert body["message"] == "You have reached your secondly limit."
        assert body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "SECONDLY"
        assert body["groupName"] == "publicapi:crm-search"
        assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
        assert r.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "0"
        assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert "X-HubSpot-RateLimit-Daily-Remaining" in r.headers
        # search is exempt from the ten-secondly bucket; other calls still work
        assert c.get("/crm/v3/objects/deals").status_code == 200
        assert sim.stats.throttled == 1
        clock.now += 1.0  # the sliding window moves on
        assert search(c, "deals", {}).status_code == 200


def test_ten_secondly_limit_and_headers() -> None:
    clock = FakeClock()
    cfg = HubSpotSimConfig(ten_secondly_limit=3, clock=clock, retry_after_header=True)
    sim = HubSpotSimulator(make_portal(n_line_items=0), cfg)
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        r = c.get("/crm/v3/objects/deals")
        assert r.headers["X-HubSpot-RateLimit-Max"] == "3"
        assert r.headers["X-HubSpot-RateLimit-Remaining"] == "2"
        assert r.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert r.headers["X-HubSpot-RateLimit-Daily"] == str(cfg.daily_limit)
        c.get("/crm/v3/owners")
        c.get("/crm/v3/pipelines/deals")
        clock.now += 5
        r = c.get("/crm/v3/objects/deals")
        assert r.status_code == 429
        assert r.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        assert r.headers["Retry-After"] == "5"
        clock.now += 5
        assert c.get("/crm/v3/objects/deals").status_code == 200


def test_injected_faults(client: httpx.Client, sim: HubSpotSimulator) -> None:
    sim.inject(503, count=2, retry_after=2, kinds=["search"])
    assert client.get("/crm/v3/objects/deals").status_code == 200  # other kinds unaffected
    for _ in range(2):
        r = search(client, "deals", {})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "2"
        assert r.json()["status"] == "error"
    assert search(client, "deals", {}).status_code == 200
    sim.inject(502, body="<html>Bad Gateway</html>")
    r = client.get("/crm/v3/objects/deals")
    assert r.status_code == 502 and r.text.startswith("<html>")
    sim.inject(429)
    assert client.get("/crm/v3/owners").json()["errorType"] == "RATE_LIMIT"
    assert sim.stats.faults_served == 4
    # over HTTP
    assert client.post("/__sandbox/faults", json={"status": 500, "kinds": ["list"]}).json()["ok"]
    assert client.get("/crm/v3/objects/deals").status_code == 500
    stats = client.get("/__sandbox/stats").json()
    assert stats["faults_served"] == 5
    assert stats["responses_by_status"]["500"] == 1
    assert stats["search_bodies"] == [{}]  # faulted requests never reach the handler
    client.post("/__sandbox/faults", json={"status": 500})
    client.delete("/__sandbox/faults")
    assert client.get("/crm/v3/objects/deals").status_code == 200


def test_list_and_search_20000_records_fast() -> None:
    """Not a timing assertion: a smoke check that big portals are served without stalls."""
    sim = HubSpotSimulator(big_portal(20_000), HubSpotSimConfig(**NO_LIMITS))
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        flt = f("email", "CONTAINS_TOKEN", "*9@example.com")
        r = search(c, "contacts", {"filterGroups": [{"filters": [flt]}], "limit": 200})
        assert r.json()["total"] == 2000
        sort = [{"propertyName": "email", "direction": "DESCENDING"}]
        assert (
            search(c, "contacts", {"sorts": sort, "limit": 1}).json()["results"][0]["id"] == "9"
        )  # "c9@" > "c9999@"
        last = c.get("/crm/v3/objects/contacts", params={"limit": 100}).json()
        assert len(last["results"]) == 100
