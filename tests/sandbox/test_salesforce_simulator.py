"""The Salesforce simulator must behave like the documented REST API, over real HTTP."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.projections.salesforce_model import SalesforceOrg, SObject, SObjectField
from sandbox.simulators.salesforce import SalesforceSimConfig, SalesforceSimulator
from sandbox.simulators.salesforce.soql import relative_date_range
from sandbox.simulators.serve import RunningServer

TODAY = dt.date(2024, 6, 15)  # a Saturday
V = "/services/data/v59.0"
TOKEN = "sandbox-token"
N_CONTACTS = 2500


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:012d}AAA"


def _dt(d: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, hour, 0, 0, tzinfo=dt.UTC)


def make_org(n_contacts: int = N_CONTACTS) -> SalesforceOrg:
    """A small hand-made org: User, Account, Contact, Opportunity and a custom object."""
    F = SObjectField
    user = SObject(
        "User",
        "User",
        [F("Id", "id", "User ID"), F("Name", "string", "Full Name"), F("Email", "email", "Email")],
        key_prefix="005",
    )
    user.records = [
        {"Id": _id("005", 1), "Name": "Ada Owner", "Email": "ada@example.com"},
        {"Id": _id("005", 2), "Name": "Bob Owner", "Email": "bob@example.com"},
    ]
    owner_ref = F(
        "OwnerId", "reference", "Owner ID", reference_to=("User",), relationship_name="Owner"
    )
    account = SObject(
        "Account",
        "Account",
        [
            F("Id", "id", "Account ID"),
            F("Name", "string", "Account Name", length=255),
            F("Industry", "picklist", "Industry", picklist_values=("Tech", "Retail")),
            F("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
            F("NumberOfEmployees", "int", "Employees", precision=8),
            owner_ref,
            F("CreatedDate", "datetime", "Created Date"),
            F("IsDeleted", "boolean", "Deleted", nillable=False),
            F("Description", "textarea", "Description", filterable=False, sortable=False),
        ],
        key_prefix="001",
        label_plural="Accounts",
    )
    acc_rows = [
        ("Acme Corp", "Tech", 5_000_000.0, 120, 1, TODAY, False),
        ("acme labs", "tech", 250_000.0, 12, 2, TODAY - dt.timedelta(days=1), False),
        ("O'Brien & Sons", "Retail", None, 7, 1, TODAY - dt.timedelta(days=40), False),
        ("Back\\slash Ltd", None, 10.0, None, 2, TODAY - dt.timedelta(days=400), False),
        ("50% Off Inc", "Retail", 99.0, 3, 1, TODAY - dt.timedelta(days=3), False),
        ("Deleted Co", "Tech", 1.0, 1, 1, TODAY - dt.timedelta(days=5), True),
    ]
    account.records = [
        {
            "Id": _id("001", i + 1),
            "Name": name,
            "Industry": ind,
            "AnnualRevenue": rev,
            "NumberOfEmployees": emp,
            "OwnerId": _id("005", owner),
            "CreatedDate": _dt(created),
            "IsDeleted": deleted,
            "Description": None,
        }
        for i, (name, ind, rev, emp, owner, created, deleted) in enumerate(acc_rows)
    ]
    contact = SObject(
        "Contact",
        "Contact",
        [
            F("Id", "id", "Contact ID"),
            F(
                "AccountId",
                "reference",
                "Account ID",
                reference_to=("Account",),
                relationship_name="Account",
            ),
            F("LastName", "string", "Last Name"),
            F("IsDeleted", "boolean", "Deleted", nillable=False),
        ],
        key_prefix="003",
    )
    contact.records = [
        {
            "Id": _id("003", i),
            "AccountId": _id("001", 1 + i % 5),
            "LastName": f"Person{i:05d}",
            "IsDeleted": False,
        }
        for i in range(n_contacts)
    ]
    opp = SObject(
        "Opportunity",
        "Opportunity",
        [
            F("Id", "id", "Opportunity ID"),
            F("Name", "string", "Name"),
            F(
                "AccountId",
                "reference",
                "Account ID",
                reference_to=("Account",),
                relationship_name="Account",
            ),
            owner_ref,
            F("Amount", "currency", "Amount", precision=18, scale=2),
            F("CloseDate", "date", "Close Date", nillable=False),
            F("StageName", "picklist", "Stage", picklist_values=("Prospecting", "Closed Won")),
            F("IsWon", "boolean", "Won", nillable=False),
            F("CreatedDate", "datetime", "Created Date"),
            F("IsDeleted", "boolean", "Deleted", nillable=False),
        ],
        key_prefix="006",
    )
    opp_rows = [
        # name, account n, amount, close date, stage, won, created
        ("Big Deal", 1, 100_000.0, TODAY, "Closed Won", True, _dt(TODAY, 9)),
        ("Small Deal", 2, 500.0, TODAY - dt.timedelta(days=10), "Prospecting", False, None),
        ("No Amount", 3, None, TODAY + dt.timedelta(days=20), "Prospecting", False, None),
        ("Orphan", None, 42.5, TODAY - dt.timedelta(days=30), "Prospecting", False, None),
        (
            "Last Year",
            4,
            7.0,
            dt.date(2023, 3, 1),
            "Closed Won",
            True,
            _dt(TODAY - dt.timedelta(days=1), 23),
        ),
    ]
    opp.records = [
        {
            "Id": _id("006", i + 1),
            "Name": name,
            "AccountId": _id("001", acc) if acc else None,
            "OwnerId": _id("005", 1 + i % 2),
            "Amount": amount,
            "CloseDate": close,
            "StageName": stage,
            "IsWon": won,
            "CreatedDate": created,
            "IsDeleted": False,
        }
        for i, (name, acc, amount, close, stage, won, created) in enumerate(opp_rows)
    ]
    competitor = SObject(
        "Competitor__c",
        "Competitor",
        [
            F("Id", "id", "Record ID"),
            F("Name", "string", "Competitor Name"),
            F(
                "Opportunity__c",
                "reference",
                "Opportunity",
                custom=True,
                reference_to=("Opportunity",),
                relationship_name="Opportunity__r",
            ),
            F("Strength__c", "double", "Strength", custom=True, precision=5, scale=2),
            F("IsDeleted", "boolean", "Deleted", nillable=False),
        ],
        custom=True,
        key_prefix="a01",
    )
    competitor.records = [
        {
            "Id": _id("a01", 1),
            "Name": "Initech",
            "Opportunity__c": _id("006", 1),
            "Strength__c": 0.5,
            "IsDeleted": False,
        },
        {
            "Id": _id("a01", 2),
            "Name": "Hooli",
            "Opportunity__c": None,
            "Strength__c": None,
            "IsDeleted": False,
        },
    ]
    return SalesforceOrg(
        objects={o.name: o for o in (user, account, contact, opp, competitor)}, today=TODAY
    )


class FakeClock:
    """Settable monotonic clock so cursor expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def sim(clock: FakeClock) -> SalesforceSimulator:
    config = SalesforceSimConfig(clients={"concord": "s3cret"}, static_tokens=(TOKEN,), clock=clock)
    return SalesforceSimulator(make_org(), config)


@pytest.fixture(scope="module")
def server(sim: SalesforceSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture(scope="module")
def shared_client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as c:
        yield c


@pytest.fixture()
def client(shared_client: httpx.Client, sim: SalesforceSimulator) -> httpx.Client:
    sim.clear_faults()
    sim.reset_stats()
    return shared_client


def query(client: httpx.Client, soql: str, path: str = "query", **headers: str) -> httpx.Response:
    return client.get(f"{V}/{path}", params={"q": soql}, headers=headers)


def ok(client: httpx.Client, soql: str, path: str = "query") -> dict[str, Any]:
    r = query(client, soql, path)
    assert r.status_code == 200, r.text
    return r.json()


def names(client: httpx.Client, soql: str) -> list[str]:
    return [rec["Name"] for rec in ok(client, soql)["records"]]


def error(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    return body[0]


# ------------------------------------------------------------------------ transport


def test_server_sets_tcp_nodelay_on_accepted_connections(
    server: RunningServer, client: httpx.Client
) -> None:
    assert client.get(f"{V}/limits").status_code == 200
    conns = list(server.server.server_state.connections)
    assert conns
    for proto in conns:
        sock = proto.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


# ------------------------------------------------------------------------ OAuth


def test_token_flow_issues_usable_bearer(server: RunningServer, client: httpx.Client) -> None:
    r = httpx.post(
        f"{server.url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "concord",
            "client_secret": "s3cret",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == server.url
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    r2 = httpx.get(
        f"{body['instance_url']}{V}/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert r2.status_code == 200 and r2.json()["totalSize"] == 5


def test_token_bad_secret_and_grant(server: RunningServer) -> None:
    url = f"{server.url}/services/oauth2/token"
    r = httpx.post(
        url,
        data={"grant_type": "client_credentials", "client_id": "concord", "client_secret": "x"},
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
    r = httpx.post(url, data={"grant_type": "magic", "client_id": "concord"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_invalid_session_is_401_json_array(server: RunningServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = httpx.get(f"{server.url}{V}/sobjects/", headers=headers)
        assert error(r, 401) == {
            "message": "Session expired or invalid",
            "errorCode": "INVALID_SESSION_ID",
        }


# ------------------------------------------------------------------------ versions, describe


def test_versions_list_without_auth_or_limit_header(server: RunningServer) -> None:
    r = httpx.get(f"{server.url}/services/data/")
    assert r.status_code == 200
    assert "sforce-limit-info" not in r.headers
    versions = {v["version"]: v for v in r.json()}
    assert {"59.0", "62.0"} <= set(versions)
    assert versions["59.0"] == {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    }


def test_describe_global_and_object(client: httpx.Client) -> None:
    r = client.get(f"{V}/sobjects/")
    assert r.status_code == 200
    body = r.json()
    assert body["encoding"] == "UTF-8" and "maxBatchSize" in body
    by_name = {s["name"]: s for s in body["sobjects"]}
    assert by_name["Competitor__c"]["custom"] is True
    assert by_name["Account"]["keyPrefix"] == "001"
    for s in body["sobjects"]:
        assert {"name", "label", "labelPlural", "custom", "queryable", "keyPrefix", "urls"} <= set(
            s
        )

    d = client.get(f"{V}/sobjects/opportunity/describe/").json()  # case-insensitive name
    assert d["name"] == "Opportunity"
    fields = {f["name"]: f for f in d["fields"]}
    expected_keys = {
        "name", "label", "type", "soapType", "length", "precision", "scale", "digits",
        "byteLength", "nillable", "filterable", "sortable", "groupable", "custom",
        "calculated", "createable", "updateable", "unique", "caseSensitive", "externalId",
        "idLookup", "nameField", "defaultValue", "picklistValues", "referenceTo",
        "relationshipName",
    }  # fmt: skip
    for f in d["fields"]:
        assert expected_keys <= set(f)
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["CloseDate"]["soapType"] == "xsd:date"
    assert fields["CreatedDate"]["type"] == "datetime"
    assert fields["Amount"]["precision"] == 18 and fields["Amount"]["scale"] == 2
    assert [p["value"] for p in fields["StageName"]["picklistValues"]] == [
        "Prospecting",
        "Closed Won",
    ]
    assert fields["Id"]["idLookup"] is True and fields["Name"]["nameField"] is True
    # without trailing slash too
    assert client.get(f"{V}/sobjects/Account/describe").status_code == 200


def test_describe_unknown_object_is_404(client: httpx.Client) -> None:
    r = client.get(f"{V}/sobjects/Nope__c/describe/")
    assert error(r, 404) == {
        "errorCode": "NOT_FOUND",
        "message": "The requested resource does not exist",
    }
    assert error(client.get("/services/data/v12.0/sobjects/"), 404)["errorCode"] == "NOT_FOUND"


def test_wrong_method_is_405(client: httpx.Client) -> None:
    r = client.post(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert error(r, 405)["errorCode"] == "METHOD_NOT_ALLOWED"


# ------------------------------------------------------------------------ query shape & paging


def test_query_response_shape_and_formats(client: httpx.Client) -> None:
    body = ok(
        client,
        "select name, amount, closedate, createddate, iswon, account.name "
        "from opportunity where name = 'big deal'",
    )
    assert body["totalSize"] == 1 and body["done"] is True and "nextRecordsUrl" not in body
    rec = body["records"][0]
    assert list(rec) == ["attributes", "Name", "Amount", "CloseDate", "CreatedDate", "IsWon",
                         "Account"]  # fmt: skip
    assert rec["attributes"] == {
        "type": "Opportunity",
        "url": f"{V}/sobjects/Opportunity/{_id('006', 1)}",
    }
    assert rec["Amount"] == 100000.0
    assert rec["CloseDate"] == "2024-06-15"
    assert rec["CreatedDate"] == "2024-06-15T09:00:00.000+0000"
    assert rec["IsWon"] is True
    assert rec["Account"] == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{_id('001', 1)}"},
        "Name": "Acme Corp",
    }


def test_parent_fields_nested_null_multilevel_and_custom(client: httpx.Client) -> None:
    recs = ok(
        client,
        "SELECT Name, Account.Name, Account.Owner.Name, Owner.Email FROM Opportunity ORDER BY Name",
    )["records"]
    by = {r["Name"]: r for r in recs}
    assert by["Orphan"]["Account"] is None
    assert by["Big Deal"]["Account"]["Name"] == "Acme Corp"
    assert by["Big Deal"]["Account"]["Owner"]["Name"] == "Ada Owner"
    assert by["Big Deal"]["Account"]["Owner"]["attributes"]["type"] == "User"
    assert by["Small Deal"]["Owner"]["Email"] == "bob@example.com"
    recs = ok(client, "SELECT Name, Opportunity__r.Name FROM Competitor__c ORDER BY Name")[
        "records"
    ]
    assert [(r["Name"], r["Opportunity__r"]) for r in recs][0] == ("Hooli", None)
    assert recs[1]["Opportunity__r"]["Name"] == "Big Deal"
    # Filtering on a parent field of a missing parent treats it as null.
    assert names(client, "SELECT Name FROM Opportunity WHERE Account.Name = null") == ["Orphan"]


def test_query_paging_default_batch(client: httpx.Client) -> None:
    first = ok(client, "SELECT Id, LastName FROM Contact")
    assert first["totalSize"] == N_CONTACTS and first["done"] is False
    assert len(first["records"]) == 2000
    nxt = first["nextRecordsUrl"]
    assert nxt.startswith(f"{V}/query/01g") and nxt.endswith("-2000")
    second = client.get(nxt)
    assert second.status_code == 200
    body = second.json()
    assert body["done"] is True and "nextRecordsUrl" not in body
    assert body["totalSize"] == N_CONTACTS
    ids = [r["Id"] for r in first["records"] + body["records"]]
    assert len(ids) == len(set(ids)) == N_CONTACTS


@pytest.mark.parametrize(("requested", "page"), [(500, 500), (50, 200), (5000, 2000)])
def test_query_batch_size_header_clamped(client: httpx.Client, requested: int, page: int) -> None:
    r = query(
        client, "SELECT Id FROM Contact", **{"Sforce-Query-Options": f"batchSize={requested}"}
    )
    body = r.json()
    ids = [x["Id"] for x in body["records"]]
    pages = 1
    assert len(ids) == page
    while not body["done"]:
        body = client.get(
            body["nextRecordsUrl"], headers={"Sforce-Query-Options": f"batchSize={requested}"}
        ).json()
        ids += [x["Id"] for x in body["records"]]
        pages += 1
    assert len(ids) == len(set(ids)) == N_CONTACTS
    assert pages == -(-N_CONTACTS // page)


def test_query_all_pages_under_queryall_and_counts_stats(
    client: httpx.Client, sim: SalesforceSimulator
) -> None:
    body = ok(client, "SELECT Id FROM Contact", path="queryAll")
    assert body["nextRecordsUrl"].startswith(f"{V}/queryAll/")
    client.get(body["nextRecordsUrl"])
    st = sim.stats
    assert st.requests_by_kind["query"] == 1 and st.requests_by_kind["query_more"] == 1
    assert st.rows_returned == N_CONTACTS and st.pages_served == 2
    assert st.soql == ["SELECT Id FROM Contact"]
    remote = client.get("/__sandbox/stats").json()
    assert remote["rows_returned"] == N_CONTACTS
    assert remote["requests_by_kind"] == {"query": 1, "query_more": 1}


def test_queryall_returns_deleted_rows(client: httpx.Client) -> None:
    assert "Deleted Co" not in names(client, "SELECT Name FROM Account")
    body = ok(client, "SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true", "queryAll")
    assert [(r["Name"], r["IsDeleted"]) for r in body["records"]] == [("Deleted Co", True)]
    assert ok(client, "SELECT COUNT() FROM Account", "queryAll")["totalSize"] == 6


def test_count_returns_total_size_only(client: httpx.Client) -> None:
    body = ok(client, "SELECT COUNT() FROM Contact WHERE LastName LIKE 'Person000%'")
    assert body == {"totalSize": 100, "done": True, "records": []}


# ------------------------------------------------------------------------ WHERE semantics

WHERE_CASES = [
    ("Name = 'ACME CORP'", ["Acme Corp"]),
    ("Name != 'acme corp'", ["50% Off Inc", "acme labs", "Back\\slash Ltd", "O'Brien & Sons"]),
    ("Name <> 'acme corp'", ["50% Off Inc", "acme labs", "Back\\slash Ltd", "O'Brien & Sons"]),
    ("Name LIKE 'acme%'", ["Acme Corp", "acme labs"]),
    ("Name LIKE '_cme%'", ["Acme Corp", "acme labs"]),
    ("NOT Name LIKE 'ACME%'", ["50% Off Inc", "Back\\slash Ltd", "O'Brien & Sons"]),
    ("Name LIKE '50\\% %'", ["50% Off Inc"]),
    ("Name LIKE 'back\\\\%'", ["Back\\slash Ltd"]),
    ("Industry IN ('TECH')", ["Acme Corp", "acme labs"]),
    ("Industry NOT IN ('tech')", ["50% Off Inc", "Back\\slash Ltd", "O'Brien & Sons"]),
    ("Industry = null", ["Back\\slash Ltd"]),
    ("Industry != null", ["50% Off Inc", "Acme Corp", "acme labs", "O'Brien & Sons"]),
    ("AnnualRevenue > 100", ["Acme Corp", "acme labs"]),
    ("AnnualRevenue < 100", ["50% Off Inc", "Back\\slash Ltd"]),
    ("NOT AnnualRevenue > 100", ["50% Off Inc", "Back\\slash Ltd", "O'Brien & Sons"]),
    ("AnnualRevenue >= 99 AND AnnualRevenue <= 250000.0", ["50% Off Inc", "acme labs"]),
    ("NumberOfEmployees IN (7, 3)", ["50% Off Inc", "O'Brien & Sons"]),
    ("(Industry = 'Tech' OR Industry = null) AND NumberOfEmployees > 100", ["Acme Corp"]),
    ("Industry = 'Retail' OR (Name = 'acme labs' AND NOT NumberOfEmployees = 1)",
     ["50% Off Inc", "acme labs", "O'Brien & Sons"]),
    ("Name = 'O\\'Brien & Sons'", ["O'Brien & Sons"]),
    ("Name = 'Back\\\\slash Ltd'", ["Back\\slash Ltd"]),
    ("Owner.Name = 'ada owner'", ["50% Off Inc", "Acme Corp", "O'Brien & Sons"]),
    ("OwnerId = '005000000000001'", ["50% Off Inc", "Acme Corp", "O'Brien & Sons"]),
    ("CreatedDate = TODAY", ["Acme Corp"]),
    ("CreatedDate = YESTERDAY", ["acme labs"]),
    ("CreatedDate = LAST_N_DAYS:3", ["50% Off Inc", "Acme Corp", "acme labs"]),
    ("CreatedDate < LAST_N_DAYS:3", ["Back\\slash Ltd", "O'Brien & Sons"]),
    ("CreatedDate > 2024-06-14T12:00:00Z", ["Acme Corp"]),
    ("CreatedDate >= 2024-06-14T14:00:00+02:00", ["Acme Corp", "acme labs"]),
    ("CreatedDate = LAST_YEAR", ["Back\\slash Ltd"]),
    ("CreatedDate = THIS_MONTH", ["50% Off Inc", "Acme Corp", "acme labs"]),
    ("CreatedDate = LAST_MONTH", ["O'Brien & Sons"]),
]  # fmt: skip


@pytest.mark.parametrize(("where", "expected"), WHERE_CASES)
def test_where_semantics(client: httpx.Client, where: str, expected: list[str]) -> None:
    got = names(client, f"SELECT Name FROM Account WHERE {where} ORDER BY Name")
    assert got == expected


OPP_CASES = [
    ("IsWon = null", ["No Amount", "Orphan", "Small Deal"]),  # boolean null means false
    ("IsWon != null", ["Big Deal", "Last Year"]),
    ("IsWon = TRUE", ["Big Deal", "Last Year"]),
    ("Amount > 5", ["Big Deal", "Last Year", "Orphan", "Small Deal"]),  # null excluded
    ("CloseDate = TODAY", ["Big Deal"]),
    ("CloseDate = THIS_MONTH", ["Big Deal", "Small Deal"]),
    ("CloseDate > TODAY", ["No Amount"]),
    ("CloseDate = NEXT_N_DAYS:30", ["No Amount"]),
    ("CloseDate = LAST_N_DAYS:10", ["Big Deal", "Small Deal"]),
    ("CloseDate = LAST_N_DAYS:9", ["Big Deal"]),
    ("CloseDate < THIS_YEAR", ["Last Year"]),
    ("CloseDate = LAST_YEAR", ["Last Year"]),
    ("CloseDate = THIS_QUARTER", ["Big Deal", "Orphan", "Small Deal"]),
    ("CloseDate = NEXT_MONTH", ["No Amount"]),
    ("CloseDate >= 2024-05-16 AND CloseDate <= 2024-06-05", ["Orphan", "Small Deal"]),
    ("CloseDate IN (2024-06-15, 2023-03-01)", ["Big Deal", "Last Year"]),
    ("CreatedDate = null", ["No Amount", "Orphan", "Small Deal"]),
    ("Account.Industry = 'tech'", ["Big Deal", "Small Deal"]),
    ("StageName IN ('closed won') AND Amount < 10", ["Last Year"]),
]


@pytest.mark.parametrize(("where", "expected"), OPP_CASES)
def test_where_semantics_opportunity(client: httpx.Client, where: str, expected: list[str]) -> None:
    assert names(client, f"SELECT Name FROM Opportunity WHERE {where} ORDER BY Name") == expected


def test_relative_date_ranges() -> None:
    assert relative_date_range("THIS_WEEK", None, TODAY) == (dt.date(2024, 6, 9), TODAY)
    assert relative_date_range("LAST_N_DAYS", 2, TODAY) == (dt.date(2024, 6, 13), TODAY)
    assert relative_date_range("NEXT_N_DAYS", 2, TODAY) == (
        dt.date(2024, 6, 16),
        dt.date(2024, 6, 17),
    )
    assert relative_date_range("THIS_QUARTER", None, TODAY) == (
        dt.date(2024, 4, 1),
        dt.date(2024, 6, 30),
    )
    assert relative_date_range("LAST_N_MONTHS", 2, TODAY) == (
        dt.date(2024, 4, 1),
        dt.date(2024, 5, 31),
    )
    assert relative_date_range("LAST_MONTH", None, dt.date(2024, 1, 10)) == (
        dt.date(2023, 12, 1),
        dt.date(2023, 12, 31),
    )


# ------------------------------------------------------------------------ ORDER BY, LIMIT, OFFSET


def test_order_by_nulls_and_case_insensitive(client: httpx.Client) -> None:
    q = "SELECT Name, AnnualRevenue FROM Account ORDER BY "
    revs = [r["AnnualRevenue"] for r in ok(client, q + "AnnualRevenue")["records"]]
    assert revs == [None, 10.0, 99.0, 250000.0, 5000000.0]  # ASC NULLS FIRST by default
    revs = [r["AnnualRevenue"] for r in ok(client, q + "AnnualRevenue DESC")["records"]]
    assert revs == [None, 5000000.0, 250000.0, 99.0, 10.0]  # still NULLS FIRST
    revs = [r["AnnualRevenue"] for r in ok(client, q + "AnnualRevenue DESC NULLS LAST")["records"]]
    assert revs == [5000000.0, 250000.0, 99.0, 10.0, None]
    revs = [r["AnnualRevenue"] for r in ok(client, q + "AnnualRevenue ASC NULLS LAST")["records"]]
    assert revs == [10.0, 99.0, 250000.0, 5000000.0, None]
    assert names(client, "SELECT Name FROM Account ORDER BY Name DESC") == [
        "O'Brien & Sons",
        "Back\\slash Ltd",
        "acme labs",
        "Acme Corp",
        "50% Off Inc",
    ]
    # multi-key: Industry (case-insensitive ties keep secondary order)
    got = names(client, "SELECT Name FROM Account ORDER BY Industry NULLS LAST, Name DESC")
    assert got == ["O'Brien & Sons", "50% Off Inc", "acme labs", "Acme Corp", "Back\\slash Ltd"]


def test_limit_offset(client: httpx.Client) -> None:
    q = "SELECT Name FROM Account ORDER BY Name"
    assert names(client, q + " LIMIT 2") == ["50% Off Inc", "Acme Corp"]
    assert names(client, q + " LIMIT 2 OFFSET 3") == ["Back\\slash Ltd", "O'Brien & Sons"]
    body = ok(client, "SELECT Id FROM Contact LIMIT 2100")
    assert body["totalSize"] == 2100 and len(body["records"]) == 2000
    body = ok(client, "SELECT Id FROM Contact ORDER BY LastName OFFSET 2000")
    assert body["totalSize"] == N_CONTACTS - 2000
    assert body["records"][0]["Id"] == _id("003", 2000)
    e = error(query(client, "SELECT Id FROM Contact OFFSET 2001"))
    assert e["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "2000" in e["message"]


# ------------------------------------------------------------------------ errors


def test_malformed_query_message_has_caret_and_position(client: httpx.Client) -> None:
    soql = 'SELECT Id FROM Account WHERE Name = "x"'
    e = error(query(client, soql))
    assert e["errorCode"] == "MALFORMED_QUERY"
    lines = e["message"].split("\n")
    assert lines[1] == soql
    assert lines[2] == " " * 36 + "^"
    assert lines[3] == "ERROR at Row:1:Column:37"
    e = error(query(client, "SELECT Id FROM Account WHERE"))
    assert e["errorCode"] == "MALFORMED_QUERY" and "ERROR at Row:1:Column:" in e["message"]
    e = error(query(client, "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Id = 'c'"))
    assert e["errorCode"] == "MALFORMED_QUERY" and "Column:56" in e["message"]
    e = error(query(client, "SELECT Id FROM Account WHERE Name = 'bad \\q escape'"))
    assert e["errorCode"] == "MALFORMED_QUERY"
    e = error(client.get(f"{V}/query"))
    assert e["errorCode"] == "MALFORMED_QUERY"


def test_invalid_field_and_type_messages(client: httpx.Client) -> None:
    e = error(query(client, "SELECT Id, Nme FROM Account"))
    assert e["errorCode"] == "INVALID_FIELD"
    assert e["message"] == (
        "\nSELECT Id, Nme FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Nme' on entity 'Account'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference "
        "your WSDL or the describe call for the appropriate names."
    )
    e = error(query(client, "SELECT Id\nFROM Account\nWHERE Nme = 'x'"))
    assert e["message"].startswith("\nWHERE Nme = 'x'\n      ^\nERROR at Row:3:Column:7\n")
    e = error(query(client, "SELECT Id FROM Acount"))
    assert e["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Acount' is not supported." in e["message"]
    assert "ERROR at Row:1:Column:16" in e["message"]
    e = error(query(client, "SELECT Acount.Name FROM Contact"))
    assert e["errorCode"] == "INVALID_FIELD" and "Didn't understand relationship" in e["message"]
    e = error(query(client, "SELECT Id FROM Account WHERE Description = 'x'"))
    assert e["errorCode"] == "INVALID_FIELD" and "can not be filtered" in e["message"]


@pytest.mark.parametrize(
    ("where", "word"),
    [
        ("CloseDate = 2024-01-01T00:00:00Z", "type date and should not be enclosed"),
        ("CloseDate > '2024-01-01'", "type date and should not be enclosed"),
        ("CreatedDate = 2024-01-01", "type dateTime and should not be enclosed"),
        ("Amount > '5'", "type double and should not be enclosed"),
        ("Name = 5", "type string and should be enclosed"),
        ("IsWon = 'true'", "type boolean and should not be enclosed"),
    ],
)
def test_literal_type_mismatch_errors(client: httpx.Client, where: str, word: str) -> None:
    e = error(query(client, f"SELECT Id FROM Opportunity WHERE {where}"))
    assert e["errorCode"] == "INVALID_FIELD"
    assert word in e["message"] and "ERROR at Row:1:Column:34" in e["message"]


# ------------------------------------------------------------------------ limits & faults


def test_limit_info_header_present_and_incrementing(
    client: httpx.Client, sim: SalesforceSimulator
) -> None:
    def used(r: httpx.Response) -> int:
        info = r.headers["Sforce-Limit-Info"]
        assert info.endswith("/15000") and info.startswith("api-usage=")
        return int(info.split("=")[1].split("/")[0])

    a = used(client.get(f"{V}/sobjects/"))
    b = used(query(client, "SELECT Id FROM Account"))
    c = used(query(client, "SELECT Nope FROM Account"))  # errors carry it too
    assert b == a + 1 and c == b + 1


def test_daily_limit_exceeded_is_403(client: httpx.Client, sim: SalesforceSimulator) -> None:
    saved = sim.api_usage
    sim.api_usage = sim.config.daily_api_limit
    try:
        e = error(client.get(f"{V}/sobjects/"), 403)
        assert e == {
            "message": "TotalRequests Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    finally:
        sim.api_usage = saved


def test_injected_faults(client: httpx.Client, sim: SalesforceSimulator) -> None:
    sim.inject(status=503, count=2)
    assert client.get(f"{V}/sobjects/").status_code == 503
    r = query(client, "SELECT Id FROM Account")
    assert error(r, 503)["errorCode"] == "SERVER_UNAVAILABLE"
    assert query(client, "SELECT Id FROM Account").status_code == 200

    sim.inject(status=429, retry_after=3)
    r = query(client, "SELECT Id FROM Account")
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert isinstance(r.json(), list)

    # Only query_more fails: the first page works, the follow-up does not.
    sim.inject(status=500, kinds=["query_more"])
    first = ok(client, "SELECT Id FROM Contact")
    assert client.get(first["nextRecordsUrl"]).status_code == 500
    assert client.get(first["nextRecordsUrl"]).status_code == 200

    # Out-of-process hook.
    r = client.post("/__sandbox/faults", json={"status": 401, "count": 1})
    assert r.status_code == 200
    assert error(client.get(f"{V}/sobjects/"), 401)["errorCode"] == "INVALID_SESSION_ID"
    assert sim.stats.faults_served == 5


def test_requests_per_second_throttle(sim: SalesforceSimulator) -> None:
    clock = FakeClock()
    throttled = SalesforceSimulator(
        make_org(10), SalesforceSimConfig(requests_per_second=2, clock=clock)
    )
    with (
        throttled.serve() as srv,
        httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {TOKEN}"}) as c,
    ):
        assert c.get(f"{V}/limits").status_code == 200
        assert c.get(f"{V}/limits").status_code == 200
        r = c.get(f"{V}/limits")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert error(r, 429)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        clock.now += 1.0
        assert c.get(f"{V}/limits").status_code == 200


def test_locator_expires_after_inactivity(client: httpx.Client, clock: FakeClock) -> None:
    first = ok(client, "SELECT Id FROM Contact")
    clock.now += 15 * 60 + 1
    e = error(client.get(first["nextRecordsUrl"]))
    assert e["errorCode"] == "INVALID_QUERY_LOCATOR"
    e = error(client.get(f"{V}/query/01gBOGUS-2000"))
    assert e["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_oldest_locator_evicted_after_ten(client: httpx.Client) -> None:
    urls = [ok(client, "SELECT Id FROM Contact")["nextRecordsUrl"] for _ in range(11)]
    assert error(client.get(urls[0]))["errorCode"] == "INVALID_QUERY_LOCATOR"
    for url in urls[1:]:
        assert client.get(url).status_code == 200
