"""The Dataverse simulator must behave like the documented Web API, over real HTTP."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from sandbox.projections.dataverse_model import (
    DataverseAttribute,
    DataverseEntity,
    DataverseOption,
    DataverseOrg,
)
from sandbox.simulators.dynamics import DataverseSimConfig, DataverseSimulator
from sandbox.simulators.serve import RunningServer

TOKEN = "sandbox-token"
API = "/api/data/v9.2"
N_CONTACTS = 12_000  # three pages at the default page size of 5000
TODAY = dt.date(2024, 6, 15)
FV = "OData.Community.Display.V1.FormattedValue"


def gid(prefix: int, n: int) -> str:
    """Deterministic GUIDs: the prefix tells the table apart in failures."""
    return str(uuid.UUID(int=(prefix << 96) + n))


def _utc(d: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, hour, 0, tzinfo=dt.UTC)


A = DataverseAttribute
O = DataverseOption  # noqa: E741


def make_org(n_contacts: int = N_CONTACTS) -> DataverseOrg:
    """A small hand-made environment: users, accounts, contacts, opportunities, incidents."""
    state = A("statecode", "State", "Status", options=(O(0, "Active"), O(1, "Inactive")))
    status = A("statuscode", "Status", "Status Reason", options=(O(1, "Active"), O(2, "Inactive")))
    users = DataverseEntity(
        "systemuser",
        "systemusers",
        "systemuserid",
        "fullname",
        "User",
        [
            A("systemuserid", "Uniqueidentifier", "User", is_primary_id=True),
            A("fullname", "String", "Full Name", is_primary_name=True, max_length=200),
            A("internalemailaddress", "String", "Primary Email"),
        ],
    )
    users.records = [
        {"systemuserid": gid(5, 1), "fullname": "Ada Owner", "internalemailaddress": "a@x.io"},
        {"systemuserid": gid(5, 2), "fullname": "Bob Owner", "internalemailaddress": None},
    ]
    accounts = DataverseEntity(
        "account",
        "accounts",
        "accountid",
        "name",
        "Account",
        [
            A("accountid", "Uniqueidentifier", "Account", is_primary_id=True),
            A("name", "String", "Account Name", is_primary_name=True, max_length=160),
            A("accountnumber", "String", "Account Number"),
            A("revenue", "Money", "Annual Revenue", precision=2),
            A("numberofemployees", "Integer", "Number of Employees"),
            A(
                "industrycode",
                "Picklist",
                "Industry",
                options=(O(1, "Accounting"), O(2, "Agriculture"), O(3, "Consulting")),
            ),
            A(
                "donotemail",
                "Boolean",
                "Do not allow Emails",
                options=(O(0, "Allow"), O(1, "Do Not Allow")),
            ),
            A("new_region", "String", "Region", is_custom=True),
            A("ownerid", "Owner", "Owner", targets=("systemuser", "team")),
            A("primarycontactid", "Lookup", "Primary Contact", targets=("contact",)),
            A("createdon", "DateTime", "Created On"),
            A("new_foundedon", "DateTime", "Founded On", date_only=True, is_custom=True),
            state,
            status,
        ],
    )
    acc_rows = [
        # name, number, revenue, employees, industry, donotemail, region, owner, created, founded
        ("Acme Corp", "A-1", 5_000_000.0, 120, 1, False, "EMEA", 1, 0, dt.date(1990, 1, 31)),
        ("acme labs", "A-2", 250_000.5, 12, 3, True, "emea", 2, 1, dt.date(2001, 5, 2)),
        ("O'Brien & Sons", None, None, 7, None, False, None, 1, 40, None),
        ("Zürich Versicherung", "A-4", 10.0, None, 2, False, "DACH", 2, 400, dt.date(1872, 1, 1)),
        ("50% Off Inc", "A-5", 99.0, 3, 2, False, "NA", 1, 3, dt.date(2020, 2, 29)),
        ("under_score Ltd", "A-6", 1.0, 1, 1, None, "NA", 2, 5, dt.date(2024, 1, 31)),
    ]
    accounts.records = [
        {
            "accountid": gid(1, i + 1),
            "name": name,
            "accountnumber": num,
            "revenue": rev,
            "numberofemployees": emp,
            "industrycode": ind,
            "donotemail": dne,
            "new_region": region,
            "ownerid": gid(5, owner),
            "primarycontactid": gid(2, i + 1),
            "createdon": _utc(TODAY - dt.timedelta(days=days)),
            "new_foundedon": founded,
            "statecode": 1 if i == 5 else 0,
            "statuscode": 2 if i == 5 else 1,
            "versionnumber": 1000 + i,
        }
        for i, (name, num, rev, emp, ind, dne, region, owner, days, founded) in enumerate(acc_rows)
    ]
    contacts = DataverseEntity(
        "contact",
        "contacts",
        "contactid",
        "fullname",
        "Contact",
        [
            A("contactid", "Uniqueidentifier", "Contact", is_primary_id=True),
            A("fullname", "String", "Full Name", is_primary_name=True),
            A("firstname", "String", "First Name"),
            A("lastname", "String", "Last Name"),
            A("emailaddress1", "String", "Email"),
            A("parentcustomerid", "Customer", "Company Name", targets=("account", "contact")),
            A("birthdate", "DateTime", "Birthday", date_only=True),
            A("createdon", "DateTime", "Created On"),
            state,
        ],
    )
    firsts = ["Ann", "Bob", "Émile", "Dora", "Eve"]
    lasts = ["O'Neil", "Smith", "Ng", "dora", "Müller"]
    contacts.records = [
        {
            "contactid": gid(2, i + 1),
            "firstname": firsts[i % 5],
            "lastname": lasts[i % 5] if i % 7 else None,
            "fullname": f"{firsts[i % 5]} {lasts[i % 5]} {i:05d}",
            "emailaddress1": f"c{i}@example.com" if i % 3 else None,
            "parentcustomerid": gid(1, i % 6 + 1) if i % 4 else None,
            "birthdate": dt.date(1970 + i % 40, 1 + i % 12, 1 + i % 28),
            "createdon": _utc(TODAY - dt.timedelta(days=i % 500), hour=i % 24),
            "statecode": i % 2,
        }
        for i in range(n_contacts)
    ]
    opportunities = DataverseEntity(
        "opportunity",
        "opportunities",
        "opportunityid",
        "name",
        "Opportunity",
        [
            A("opportunityid", "Uniqueidentifier", "Opportunity", is_primary_id=True),
            A("name", "String", "Topic", is_primary_name=True),
            A("estimatedvalue", "Money", "Est. Revenue", precision=2),
            A("closeprobability", "Integer", "Probability"),
            A("estimatedclosedate", "DateTime", "Est. Close Date", date_only=True),
            A("parentaccountid", "Lookup", "Account", targets=("account",)),
            A(
                "statecode",
                "State",
                "Status",
                options=(O(0, "Open"), O(1, "Won"), O(2, "Lost")),
            ),
            A(
                "statuscode",
                "Status",
                "Status Reason",
                options=(O(1, "In Progress"), O(2, "On Hold"), O(3, "Won"), O(4, "Canceled")),
            ),
        ],
    )
    opportunities.records = [
        {
            "opportunityid": gid(3, i + 1),
            "name": f"Deal {i}",
            "estimatedvalue": 1000.0 * (i + 1),
            "closeprobability": (i * 10) % 100,
            "estimatedclosedate": TODAY + dt.timedelta(days=i),
            "parentaccountid": gid(1, i % 6 + 1),
            "statecode": [0, 0, 1, 2][i % 4],
            "statuscode": [1, 2, 3, 4][i % 4],
        }
        for i in range(8)
    ]
    incidents = DataverseEntity(
        "incident",
        "incidents",
        "incidentid",
        "title",
        "Case",
        [
            A("incidentid", "Uniqueidentifier", "Case", is_primary_id=True),
            A("title", "String", "Case Title", is_primary_name=True),
            A("customerid", "Customer", "Customer", targets=("account", "contact")),
            A("prioritycode", "Picklist", "Priority", options=(O(1, "High"), O(2, "Normal"))),
        ],
    )
    incidents.records = [
        {
            "incidentid": gid(4, 1),
            "title": "Printer on fire",
            "customerid": gid(1, 1),
            "prioritycode": 1,
        },
        {
            "incidentid": gid(4, 2),
            "title": "Login fails",
            "customerid": gid(2, 3),
            "prioritycode": None,
        },
    ]
    entities = {e.logical_name: e for e in (accounts, contacts, opportunities, incidents, users)}
    return DataverseOrg(entities=entities, today=TODAY)


@pytest.fixture(scope="module")
def sim() -> DataverseSimulator:
    return DataverseSimulator(make_org(), DataverseSimConfig(static_tokens=(TOKEN,)))


@pytest.fixture(scope="module")
def server(sim: DataverseSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture()
def client(server: RunningServer, sim: DataverseSimulator) -> Iterator[httpx.Client]:
    sim.reset_stats()
    sim.clear_faults()
    sim.reset_limits()
    headers = {
        "Authorization": f"Bearer {TOKEN}",
        "Accept": "application/json",
        "OData-MaxVersion": "4.0",
        "OData-Version": "4.0",
    }
    with httpx.Client(base_url=server.url, headers=headers, timeout=30, trust_env=False) as c:
        yield c


def get(client: httpx.Client, path: str, prefer: str | None = None, **params: Any) -> Any:
    headers = {"Prefer": prefer} if prefer else {}
    r = client.get(API + path, params=params or None, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["OData-Version"] == "4.0"
    return r.json()


def names(
    client: httpx.Client, flt: str, entity: str = "accounts", field: str = "name"
) -> set[str]:
    body = get(client, f"/{entity}", **{"$select": field, "$filter": flt})
    return {row[field] for row in body["value"]}


def error(client: httpx.Client, path: str, status: int = 400, **params: Any) -> dict[str, Any]:
    r = client.get(API + path, params=params or None)
    assert r.status_code == status, r.text
    return r.json()["error"]


# ----------------------------------------------------------------------------- auth


def test_token_flow_and_bad_secret(server: RunningServer, sim: DataverseSimulator) -> None:
    tenant = sim.org.tenant_id
    url = f"{server.url}/{tenant}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": "concord",
        "client_secret": "concord-secret",
        "scope": f"{server.url}/.default",
    }
    with httpx.Client(trust_env=False) as c:
        r = c.post(url, data=form)
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
        token = body["access_token"]
        ok = c.get(f"{server.url}{API}/accounts", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and len(ok.json()["value"]) == 6

        bad = c.post(url, data={**form, "client_secret": "nope"})
        assert bad.status_code == 401
        err = bad.json()
        assert err["error"] == "invalid_client"
        assert err["error_codes"] == [7000215]
        assert err["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")

        unknown = c.post(url, data={**form, "client_id": "who"})
        assert unknown.status_code == 400 and unknown.json()["error_codes"] == [700016]
        no_scope = c.post(url, data={**form, "scope": server.url})
        assert no_scope.status_code == 400 and no_scope.json()["error"] == "invalid_scope"
        wrong_tenant = c.post(f"{server.url}/other/oauth2/v2.0/token", data=form)
        assert wrong_tenant.status_code == 400 and wrong_tenant.json()["error_codes"] == [90002]

        sim.revoke_tokens()
        expired = c.get(f"{server.url}{API}/accounts", headers={"Authorization": f"Bearer {token}"})
        assert expired.status_code == 401


def test_missing_bearer_is_401_with_challenge(
    server: RunningServer, sim: DataverseSimulator
) -> None:
    with httpx.Client(trust_env=False) as c:
        r = c.get(f"{server.url}{API}/accounts")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"].startswith(
            f"Bearer authorization_uri=https://login.microsoftonline.com/{sim.org.tenant_id}/"
        )
        assert "code" in r.json()["error"]
        r = c.get(f"{server.url}{API}/accounts", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401


# ----------------------------------------------------------------------------- metadata


def test_entity_definitions(client: httpx.Client) -> None:
    select = (
        "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,DisplayName,"
        "IsCustomEntity"
    )
    body = get(client, "/EntityDefinitions", **{"$select": select})
    assert body["@odata.context"].endswith(f"$metadata#EntityDefinitions({select})")
    by_name = {d["LogicalName"]: d for d in body["value"]}
    assert set(by_name) == {"account", "contact", "opportunity", "incident", "systemuser"}
    acc = by_name["account"]
    assert acc["EntitySetName"] == "accounts"
    assert acc["PrimaryIdAttribute"] == "accountid" and acc["PrimaryNameAttribute"] == "name"
    assert acc["IsCustomEntity"] is False
    assert acc["DisplayName"]["UserLocalizedLabel"]["Label"] == "Account"
    assert acc["DisplayName"]["LocalizedLabels"][0]["LanguageCode"] == 1033
    assert "MetadataId" in acc  # always returned
    assert "ObjectTypeCode" not in acc  # not selected

    # The official SDK resolves entity sets exactly like this.
    one = get(
        client,
        "/EntityDefinitions",
        **{
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'opportunity'",
        },
    )
    assert [d["EntitySetName"] for d in one["value"]] == ["opportunities"]

    single = get(
        client, "/EntityDefinitions(LogicalName='account')", **{"$select": "EntitySetName"}
    )
    assert single["EntitySetName"] == "accounts"
    assert single["@odata.context"].endswith("/$entity")
    by_id = get(client, f"/EntityDefinitions({single['MetadataId']})", **{"$select": "LogicalName"})
    assert by_id["LogicalName"] == "account"
    err = error(client, "/EntityDefinitions", **{"$select": "Bogus"})
    assert err["message"] == (
        "Could not find a property named 'Bogus' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."
    )


def test_attribute_definitions(client: httpx.Client) -> None:
    select = (
        "LogicalName,AttributeType,DisplayName,IsCustomAttribute,IsPrimaryId,IsPrimaryName,"
        "AttributeOf,IsValidForRead"
    )
    body = get(
        client, "/EntityDefinitions(LogicalName='account')/Attributes", **{"$select": select}
    )
    attrs = {a["LogicalName"]: a for a in body["value"]}
    assert attrs["name"]["AttributeType"] == "String" and attrs["name"]["IsPrimaryName"]
    assert attrs["name"]["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata"
    assert (
        attrs["accountid"]["IsPrimaryId"]
        and attrs["accountid"]["AttributeType"] == "Uniqueidentifier"
    )
    assert attrs["revenue"]["AttributeType"] == "Money"
    assert attrs["industrycode"]["AttributeType"] == "Picklist"
    assert attrs["primarycontactid"]["AttributeType"] == "Lookup"
    assert attrs["ownerid"]["AttributeType"] == "Owner"
    assert attrs["createdon"]["AttributeType"] == "DateTime"
    assert attrs["new_region"]["IsCustomAttribute"] is True
    assert attrs["name"]["DisplayName"]["UserLocalizedLabel"]["Label"] == "Account Name"
    # Virtual companions exist and point at their column: adapters must skip them.
    assert attrs["industrycodename"]["AttributeOf"] == "industrycode"
    assert attrs["primarycontactidname"]["AttributeOf"] == "primarycontactid"
    assert attrs["name"]["AttributeOf"] is None
    # Type-specific properties need a cast segment.
    full = get(client, "/EntityDefinitions(LogicalName='account')/Attributes")
    typed = {a["LogicalName"]: a for a in full["value"]}
    assert typed["name"]["AttributeTypeName"] == {"Value": "StringType"}
    assert typed["revenue"]["AttributeTypeName"] == {"Value": "MoneyType"}
    error(
        client,
        "/EntityDefinitions(LogicalName='account')/Attributes",
        **{"$select": "LogicalName,Targets"},
    )
    only_strings = get(
        client,
        "/EntityDefinitions(LogicalName='account')/Attributes",
        **{
            "$select": "LogicalName",
            "$filter": "AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'",
        },
    )
    assert [a["LogicalName"] for a in only_strings["value"]] == ["industrycode"]


def test_picklist_state_status_boolean_options(client: httpx.Client) -> None:
    base = "/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM."
    body = get(
        client,
        base + "PicklistAttributeMetadata",
        **{"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )
    assert [a["LogicalName"] for a in body["value"]] == ["industrycode"]
    options = body["value"][0]["OptionSet"]["Options"]
    assert [(o["Value"], o["Label"]["UserLocalizedLabel"]["Label"]) for o in options] == [
        (1, "Accounting"),
        (2, "Agriculture"),
        (3, "Consulting"),
    ]
    assert "PicklistAttributeMetadata(LogicalName)" in body["@odata.context"]
    for cast, attr in (
        ("StateAttributeMetadata", "statecode"),
        ("StatusAttributeMetadata", "statuscode"),
    ):
        got = get(client, base + cast, **{"$select": "LogicalName", "$expand": "OptionSet"})
        assert [a["LogicalName"] for a in got["value"]] == [attr]
        assert (
            got["value"][0]["OptionSet"]["Options"][0]["Label"]["UserLocalizedLabel"]["Label"]
            == "Active"
        )
    boolean = get(
        client,
        base + "BooleanAttributeMetadata",
        **{"$select": "LogicalName", "$expand": "OptionSet"},
    )
    opt = boolean["value"][0]["OptionSet"]
    assert opt["TrueOption"]["Label"]["UserLocalizedLabel"]["Label"] == "Do Not Allow"
    assert opt["FalseOption"]["Value"] == 0
    single = get(
        client,
        "/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='industrycode')"
        "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata/OptionSet",
        **{"$select": "Options"},
    )
    assert len(single["Options"]) == 3


def test_datetime_behaviour_and_lookup_targets(client: httpx.Client) -> None:
    base = "/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM."
    dates = get(
        client, base + "DateTimeAttributeMetadata", **{"$select": "LogicalName,DateTimeBehavior"}
    )
    behaviour = {a["LogicalName"]: a["DateTimeBehavior"]["Value"] for a in dates["value"]}
    assert behaviour == {"createdon": "UserLocal", "new_foundedon": "DateOnly"}
    lookups = get(client, base + "LookupAttributeMetadata", **{"$select": "LogicalName,Targets"})
    targets = {a["LogicalName"]: a["Targets"] for a in lookups["value"]}
    assert targets == {"ownerid": ["systemuser", "team"], "primarycontactid": ["contact"]}
    error(
        client,
        "/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.Nope",
        404,
    )


def test_service_document_and_csdl(client: httpx.Client) -> None:
    doc = get(client, "/")
    assert {"name": "accounts", "kind": "EntitySet", "url": "accounts"} in doc["value"]
    r = client.get(API + "/$metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    assert '<EntitySet Name="accounts" EntityType="mscrm.account" />' in r.text
    assert '<Property Name="_primarycontactid_value" Type="Edm.Guid" />' in r.text


# ----------------------------------------------------------------------------- rows


def test_select_renders_documented_shapes(client: httpx.Client) -> None:
    body = get(
        client,
        "/accounts",
        **{
            "$select": "name,revenue,industrycode,donotemail,_primarycontactid_value,"
            "createdon,new_foundedon",
            "$filter": "name eq 'Acme Corp'",
        },
    )
    base = str(client.base_url).rstrip("/")
    assert body["@odata.context"] == (
        f"{base}{API}/$metadata#accounts(name,revenue,industrycode,donotemail,"
        "_primarycontactid_value,createdon,new_foundedon)"
    )
    (row,) = body["value"]
    assert row["@odata.etag"] == 'W/"1000"'
    assert row["accountid"] == gid(1, 1)  # primary id even though not selected
    assert row["name"] == "Acme Corp"
    assert row["revenue"] == 5_000_000.0
    assert row["industrycode"] == 1
    assert row["donotemail"] is False
    assert row["_primarycontactid_value"] == gid(2, 1)
    assert row["createdon"] == "2024-06-15T12:00:00Z"
    assert row["new_foundedon"] == "1990-01-31"
    assert not any("@" in k for k in row if k != "@odata.etag")  # no annotations unasked
    assert "numberofemployees" not in row
    # Without $select every column comes back; lookups only as _x_value.
    full = get(client, "/accounts", **{"$top": "1"})["value"][0]
    assert "_ownerid_value" in full and "ownerid" not in full and "new_region" in full
    # Lookups cannot be selected by their attribute name.
    err = error(client, "/accounts", **{"$select": "primarycontactid"})
    assert err == {
        "code": "0x80060888",
        "message": "Could not find a property named 'primarycontactid' on type "
        "'Microsoft.Dynamics.CRM.account'.",
    }
    nulls = get(
        client,
        "/accounts",
        **{"$select": "revenue,new_foundedon", "$filter": "startswith(name,'O''B')"},
    )
    assert nulls["value"][0]["revenue"] is None and nulls["value"][0]["new_foundedon"] is None


def test_formatted_values_only_when_requested(client: httpx.Client) -> None:
    params = {
        "$select": "name,revenue,industrycode,donotemail,_primarycontactid_value,_ownerid_value,"
        "createdon,new_foundedon,numberofemployees",
        "$filter": "name eq 'Acme Corp'",
    }
    r = client.get(
        API + "/accounts", params=params, headers={"Prefer": f'odata.include-annotations="{FV}"'}
    )
    assert r.headers["Preference-Applied"] == f'odata.include-annotations="{FV}"'
    row = r.json()["value"][0]
    assert row[f"revenue@{FV}"] == "$5,000,000.00"
    assert row[f"industrycode@{FV}"] == "Accounting"
    assert row[f"donotemail@{FV}"] == "Allow"
    assert row[f"_primarycontactid_value@{FV}"] == "Ann O'Neil 00000"
    assert row[f"_ownerid_value@{FV}"] == "Ada Owner"
    assert row[f"createdon@{FV}"] == "6/15/2024 12:00 PM"
    assert row[f"new_foundedon@{FV}"] == "1/31/1990"
    assert row[f"numberofemployees@{FV}"] == "120"
    assert f"name@{FV}" not in row
    assert "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname" not in row
    everything = get(client, "/accounts", prefer='odata.include-annotations="*"', **params)[
        "value"
    ][0]
    assert everything["_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "systemuser"
    assert everything[
        "_primarycontactid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"
    ] == ("primarycontactid")
    assert everything[f"industrycode@{FV}"] == "Accounting"
    plain = client.get(API + "/accounts", params=params)
    assert "Preference-Applied" not in plain.headers
    assert not [k for k in plain.json()["value"][0] if k.endswith(FV)]
    contact = get(
        client,
        "/contacts",
        prefer='odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"',
        **{
            "$select": "_parentcustomerid_value",
            "$filter": "_parentcustomerid_value ne null",
            "$top": "1",
        },
    )["value"][0]
    assert contact["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert f"_parentcustomerid_value@{FV}" not in contact


def test_retrieve_single_row_and_count_segment(client: httpx.Client) -> None:
    row = get(client, f"/accounts({gid(1, 2)})", **{"$select": "name"})
    assert row["name"] == "acme labs" and row["accountid"] == gid(1, 2)
    assert row["@odata.context"].endswith("#accounts(name)/$entity")
    err = error(client, f"/accounts({gid(1, 99)})", 404)
    assert "Does Not Exist" in err["message"]
    r = client.get(API + "/contacts/$count")
    assert (
        r.status_code == 200
        and r.text == "5000"
        and r.headers["content-type"].startswith("text/plain")
    )


# ----------------------------------------------------------------------------- paging


def _all_pages(
    client: httpx.Client, path: str, prefer: str | None, **params: Any
) -> list[list[dict[str, Any]]]:
    headers = {"Prefer": prefer} if prefer else {}
    r = client.get(API + path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    pages = [r.json()["value"]]
    link = r.json().get("@odata.nextLink")
    while link:
        assert link.startswith(str(client.base_url).rstrip("/") + API)
        r = client.get(link, headers=headers)  # verbatim
        assert r.status_code == 200, r.text
        pages.append(r.json()["value"])
        link = r.json().get("@odata.nextLink")
    return pages


def test_default_paging_and_next_link(client: httpx.Client, sim: DataverseSimulator) -> None:
    pages = _all_pages(client, "/contacts", None, **{"$select": "fullname"})
    assert [len(p) for p in pages] == [5000, 5000, 2000]
    ids = [row["contactid"] for page in pages for row in page]
    assert len(ids) == len(set(ids)) == N_CONTACTS
    stats = sim.stats.to_dict()
    assert stats["requests_by_kind"] == {"data": 1, "data_next": 2}
    assert stats["pages_served"] == 3 and stats["rows_returned"] == N_CONTACTS
    assert stats["data_requests"][0] == f"{API}/contacts?$select=fullname"
    assert '$skiptoken=<cookie pagenumber="2"' in stats["data_requests"][1]
    served = client.get("/__sandbox/stats").json()
    assert served["rows_returned"] == N_CONTACTS


def test_maxpagesize_and_orderby_paging(client: httpx.Client) -> None:
    params = {
        "$select": "fullname,createdon",
        "$filter": "statecode eq 1",
        "$orderby": "createdon desc",
    }
    r = client.get(API + "/contacts", params=params, headers={"Prefer": "odata.maxpagesize=700"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=700"
    link = r.json()["@odata.nextLink"]
    assert "$select=fullname,createdon&" in unquote(link)  # the original options, verbatim
    assert (
        "%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522"
        in link
    )
    pages = _all_pages(client, "/contacts", "odata.maxpagesize=700", **params)
    assert all(len(p) == 700 for p in pages[:-1])
    rows = [row for page in pages for row in page]
    assert len(rows) == N_CONTACTS // 2 == len({r["contactid"] for r in rows})
    stamps = [r["createdon"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    # Over the cap: ignored, so pages are 5000 and nothing is echoed.
    big = client.get(
        API + "/contacts",
        params={"$select": "fullname"},
        headers={"Prefer": "odata.maxpagesize=9000"},
    )
    assert len(big.json()["value"]) == 5000 and "Preference-Applied" not in big.headers


def test_skip_refused_top_and_maxpagesize(client: httpx.Client) -> None:
    err = error(client, "/accounts", **{"$skip": "2"})
    assert err["code"] == "0x80060888" and "$skip" in err["message"]
    top = get(client, "/contacts", **{"$select": "fullname", "$top": "3"})
    assert len(top["value"]) == 3 and "@odata.nextLink" not in top
    # Documented: with both, $top is ignored and paging goes on.
    both = get(
        client, "/contacts", prefer="odata.maxpagesize=10", **{"$select": "fullname", "$top": "3"}
    )
    assert len(both["value"]) == 10 and "@odata.nextLink" in both
    many = _all_pages(client, "/contacts", None, **{"$select": "fullname", "$top": "7000"})
    assert [len(p) for p in many] == [5000, 2000]
    error(client, "/accounts", **{"$top": "-1"})


def test_count_capped_at_5000(client: httpx.Client) -> None:
    body = get(
        client,
        "/contacts",
        prefer="odata.maxpagesize=2",
        **{"$select": "fullname", "$count": "true"},
    )
    assert body["@odata.count"] == 5000 and len(body["value"]) == 2
    small = get(client, "/accounts", **{"$count": "true", "$filter": "new_region eq 'emea'"})
    assert small["@odata.count"] == 2
    annotated = get(
        client,
        "/contacts",
        prefer='odata.maxpagesize=1,odata.include-annotations="Microsoft.Dynamics.CRM.*"',
        **{"$count": "true"},
    )
    assert annotated["@Microsoft.Dynamics.CRM.totalrecordcount"] == 5000
    assert annotated["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] is True
    no_count = get(client, "/accounts", prefer='odata.include-annotations="*"')
    assert no_count["@Microsoft.Dynamics.CRM.totalrecordcount"] == -1
    assert "@odata.count" not in no_count


# ----------------------------------------------------------------------------- $filter


def test_comparison_operators(client: httpx.Client) -> None:
    assert names(client, "revenue eq 99") == {"50% Off Inc"}
    assert names(client, "revenue ne 99") == {
        "Acme Corp",
        "acme labs",
        "Zürich Versicherung",
        "under_score Ltd",
    }
    assert names(client, "revenue gt 250000") == {"Acme Corp", "acme labs"}
    assert names(client, "revenue ge 250000.5") == {"Acme Corp", "acme labs"}
    assert names(client, "revenue lt 10") == {"under_score Ltd"}
    assert names(client, "revenue le 10") == {"under_score Ltd", "Zürich Versicherung"}
    assert names(client, "numberofemployees gt 10 and numberofemployees lt 100") == {"acme labs"}
    assert names(client, "industrycode eq 2 or donotemail eq true") == {
        "Zürich Versicherung",
        "50% Off Inc",
        "acme labs",
    }
    assert names(client, "not (industrycode eq 1) and statecode eq 0") == {
        "acme labs",
        "Zürich Versicherung",
        "50% Off Inc",
    }
    assert names(client, "(industrycode eq 1 or industrycode eq 3) and revenue gt 1") == {
        "Acme Corp",
        "acme labs",
    }
    assert names(client, "donotemail") == {"acme labs"}


def test_strings_case_insensitive_quotes_unicode(client: httpx.Client) -> None:
    assert names(client, "name eq 'ACME CORP'") == {"Acme Corp"}
    assert names(client, "new_region eq 'EMEA'") == {"Acme Corp", "acme labs"}
    assert names(client, "name eq 'O''Brien & Sons'") == {"O'Brien & Sons"}
    assert names(client, "name eq 'zürich versicherung'") == {"Zürich Versicherung"}
    assert names(client, "contains(name,'ÜRICH')") == {"Zürich Versicherung"}
    assert names(client, "startswith(name,'acme')") == {"Acme Corp", "acme labs"}
    assert names(client, "endswith(name,'LTD')") == {"under_score Ltd"}
    assert names(client, "name gt 'b' and name lt 'p'") == {"O'Brien & Sons"}
    assert names(client, "not contains(name,'acme')") == {
        "O'Brien & Sons",
        "Zürich Versicherung",
        "50% Off Inc",
        "under_score Ltd",
    }


def test_like_wildcards_in_string_functions(client: httpx.Client) -> None:
    # % and _ are SQL wildcards inside contains/startswith/endswith (documented).
    assert names(client, "contains(name,'50%')") == {"50% Off Inc"}
    assert names(client, "contains(name,'a%e')") == {"Acme Corp", "acme labs"}
    assert names(client, "startswith(name,'acme_')") == {"Acme Corp", "acme labs"}
    assert names(client, "contains(name,'under_score')") == {"under_score Ltd"}
    assert names(client, "contains(name,'under%score')") == {"under_score Ltd"}
    assert names(client, "startswith(name,'[a-b]')") == {"Acme Corp", "acme labs"}
    assert names(client, "startswith(name,'[^a]')") == {
        "O'Brien & Sons",
        "Zürich Versicherung",
        "50% Off Inc",
        "under_score Ltd",
    }
    # eq is not LIKE: % is literal there.
    assert names(client, "name eq '50%'") == set()


def test_null_semantics(client: httpx.Client) -> None:
    assert names(client, "revenue eq null") == {"O'Brien & Sons"}
    assert names(client, "revenue ne null") == {
        "Acme Corp",
        "acme labs",
        "Zürich Versicherung",
        "50% Off Inc",
        "under_score Ltd",
    }
    # Three-valued logic: comparisons with a null column are unknown and never returned.
    assert names(client, "new_region ne 'NA'") == {"Acme Corp", "acme labs", "Zürich Versicherung"}
    assert names(client, "not (new_region eq 'NA')") == {
        "Acme Corp",
        "acme labs",
        "Zürich Versicherung",
    }
    assert names(client, "new_region ne 'NA' or revenue eq null") == {
        "Acme Corp",
        "acme labs",
        "Zürich Versicherung",
        "O'Brien & Sons",
    }
    assert names(client, "industrycode ne 1") == {"acme labs", "Zürich Versicherung", "50% Off Inc"}
    assert names(client, "donotemail ne true") == {
        "Acme Corp",
        "O'Brien & Sons",
        "Zürich Versicherung",
        "50% Off Inc",
    }


def test_in_notin_between(client: httpx.Client) -> None:
    flt = "Microsoft.Dynamics.CRM.In(PropertyName='industrycode',PropertyValues=['1','3'])"
    assert names(client, flt) == {"Acme Corp", "acme labs", "under_score Ltd"}
    flt = "Microsoft.Dynamics.CRM.NotIn(PropertyName='industrycode',PropertyValues=['1','3'])"
    assert names(client, flt) == {"Zürich Versicherung", "50% Off Inc"}  # null excluded
    flt = (
        "Microsoft.Dynamics.CRM.In(PropertyName='name',"
        'PropertyValues=["o\'brien & sons","ACME CORP"])'
    )
    assert names(client, flt) == {"O'Brien & Sons", "Acme Corp"}
    flt = (
        "Microsoft.Dynamics.CRM.Between(PropertyName='numberofemployees',"
        'PropertyValues=["5","20"])'
    )
    assert names(client, flt) == {"acme labs", "O'Brien & Sons"}
    body = get(
        client,
        "/accounts",
        **{
            "$select": "name",
            "$filter": "Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)",
            "@p1": "'new_region'",
            "@p2": '["dach","na"]',
        },
    )
    assert {r["name"] for r in body["value"]} == {
        "Zürich Versicherung",
        "50% Off Inc",
        "under_score Ltd",
    }


def test_dates_guids_and_column_comparison(client: httpx.Client) -> None:
    assert names(client, "createdon ge 2024-06-10T00:00:00Z") == {
        "Acme Corp",
        "acme labs",
        "50% Off Inc",
        "under_score Ltd",
    }
    assert names(client, "createdon lt 2024-06-12") == {
        "O'Brien & Sons",
        "Zürich Versicherung",
        "under_score Ltd",
    }
    assert names(client, "new_foundedon eq 2024-01-31") == {"under_score Ltd"}
    assert names(client, "new_foundedon lt 1900-01-01") == {"Zürich Versicherung"}
    assert names(client, f"_ownerid_value eq {gid(5, 2)}") == {
        "acme labs",
        "Zürich Versicherung",
        "under_score Ltd",
    }
    assert names(client, f"_ownerid_value eq '{gid(5, 2).upper()}'") == {
        "acme labs",
        "Zürich Versicherung",
        "under_score Ltd",
    }
    assert names(client, f"accountid eq {gid(1, 3)}") == {"O'Brien & Sons"}
    assert names(
        client, "Microsoft.Dynamics.CRM.On(PropertyName='new_foundedon',PropertyValue='2020-02-29')"
    ) == {"50% Off Inc"}
    same = get(
        client,
        "/contacts",
        **{"$select": "firstname", "$filter": "firstname eq lastname", "$count": "true"},
    )
    assert same["@odata.count"] > 0 and {r["firstname"] for r in same["value"]} == {"Dora"}
    assert names(client, "primarycontactid/fullname eq 'ann o''neil 00000'") == {"Acme Corp"}


def test_orderby(client: httpx.Client) -> None:
    body = get(client, "/accounts", **{"$select": "name", "$orderby": "name asc"})
    assert [r["name"] for r in body["value"]] == [
        "50% Off Inc",
        "Acme Corp",
        "acme labs",
        "O'Brien & Sons",
        "under_score Ltd",
        "Zürich Versicherung",
    ]
    body = get(
        client, "/accounts", **{"$select": "name,revenue", "$orderby": "revenue asc,name desc"}
    )
    assert [r["revenue"] for r in body["value"]] == [None, 1.0, 10.0, 99.0, 250000.5, 5000000.0]
    body = get(client, "/accounts", **{"$select": "name", "$orderby": "new_region desc,name"})
    assert [r["name"] for r in body["value"]] == [
        "50% Off Inc",
        "under_score Ltd",
        "Acme Corp",
        "acme labs",
        "Zürich Versicherung",
        "O'Brien & Sons",
    ]
    # Lookups sort by the related row's primary name (documented).
    body = get(client, "/accounts", **{"$select": "name", "$orderby": "_ownerid_value desc,name"})
    assert [r["name"] for r in body["value"]][:3] == [
        "acme labs",
        "under_score Ltd",
        "Zürich Versicherung",
    ]


def test_error_bodies(client: httpx.Client) -> None:
    err = error(client, "/accounts", **{"$filter": "bogus eq 1"})
    assert err == {
        "code": "0x80060888",
        "message": "Could not find a property named 'bogus' on type "
        "'Microsoft.Dynamics.CRM.account'.",
    }
    assert "'bogus'" in error(client, "/accounts", **{"$orderby": "bogus desc"})["message"]
    err = error(client, "/acounts", 404)
    assert err == {"code": "0x80060888", "message": "Resource not found for the segment 'acounts'."}
    assert error(client, "/accounts", **{"$filter": "name eq"})["message"] == (
        "Expression expected at position 7 in 'name eq'."
    )
    assert error(client, "/contacts", **{"$filter": "lastname eq 'O'Bryan'"})["message"] == (
        "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''."
    )
    assert error(client, "/accounts", **{"$filter": "name eq 'x' xor 1"})["message"] == (
        "Syntax error at position 12 in 'name eq 'x' xor 1'."
    )
    assert (
        "incompatible types"
        in error(client, "/accounts", **{"$filter": "revenue eq 'x'"})["message"]
    )
    assert (
        "unknown function"
        in error(client, "/accounts", **{"$filter": "tolower(name) eq 'x'"})["message"]
    )


# ----------------------------------------------------------------------------- limits and faults


def test_service_protection_429(server: RunningServer) -> None:
    now = [1000.0]
    sim = DataverseSimulator(
        make_org(10),
        DataverseSimConfig(
            static_tokens=(TOKEN,), requests_per_window=3, window_seconds=300, clock=lambda: now[0]
        ),
    )
    with sim.serve() as running, httpx.Client(base_url=running.url, trust_env=False) as c:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        remaining = []
        for _ in range(3):
            r = c.get(API + "/accounts", headers=headers)
            assert r.status_code == 200
            remaining.append(int(r.headers["x-ms-ratelimit-burst-remaining-xrm-requests"]))
            assert "x-ms-ratelimit-time-remaining-xrm-requests" in r.headers
            now[0] += 10
        assert remaining == [2, 1, 0]
        r = c.get(API + "/accounts", headers=headers)
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "270"
        assert r.json()["error"] == {
            "code": "0x80072322",
            "message": "Number of requests exceeded the limit of 3 over time window of 300 "
            "seconds.",
        }
        now[0] += 271  # the oldest request leaves the sliding window
        assert c.get(API + "/accounts", headers=headers).status_code == 200
        assert sim.stats.throttled == 1


def test_concurrency_limit_429() -> None:
    sim = DataverseSimulator(
        make_org(10), DataverseSimConfig(static_tokens=(TOKEN,), max_concurrent=2, latency_ms=300)
    )
    import concurrent.futures

    with sim.serve() as running:

        def call(_: int) -> httpx.Response:
            with httpx.Client(base_url=running.url, trust_env=False) as c:
                return c.get(API + "/accounts", headers={"Authorization": f"Bearer {TOKEN}"})

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(call, range(4)))
    codes = sorted(r.status_code for r in results)
    assert codes.count(429) >= 1 and codes.count(200) >= 1
    throttled = next(r for r in results if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "0x80072326"
    assert "Retry-After" in throttled.headers


def test_injected_faults(client: httpx.Client, sim: DataverseSimulator) -> None:
    sim.inject(503, count=2, retry_after=2, kinds=["data"])
    assert client.get(API + "/EntityDefinitions").status_code == 200  # metadata unaffected
    first = client.get(API + "/accounts")
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert first.json()["error"]["code"] == "0x80040216"
    assert client.get(API + "/accounts").status_code == 503
    assert client.get(API + "/accounts").status_code == 200
    r = client.post("/__sandbox/faults", json={"status": 502, "body": "<html>Bad Gateway</html>"})
    assert r.status_code == 200
    html = client.get(API + "/accounts")
    assert html.status_code == 502 and html.text.startswith("<html>")
    client.post("/__sandbox/faults", json={"status": 500, "count": 5})
    assert client.delete("/__sandbox/faults").status_code == 200
    assert client.get(API + "/accounts").status_code == 200
    stats = client.get("/__sandbox/stats").json()
    assert stats["faults_served"] == 3
    assert stats["responses_by_status"]["503"] == 2


def test_filtered_ordered_paging_over_20k_rows() -> None:
    """Paging cookies over a non-unique sort key must neither drop nor repeat rows.

    Timing is measured in benchmarks/, not asserted here (a request over 20k rows takes
    well under a second; see the module report).
    """
    org = make_org(20_000)
    sim = DataverseSimulator(org, DataverseSimConfig(static_tokens=(TOKEN,)))
    since = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    expected_rows = [
        r
        for r in org.entities["contact"].records
        if ("o" in r["fullname"].casefold() and r["createdon"] >= since)
        or r["emailaddress1"] is None
    ]
    expected_rows.sort(key=lambda r: r["contactid"])
    expected_rows.sort(key=lambda r: r["createdon"])
    expected_rows.sort(
        key=lambda r: (r["lastname"] is not None, (r["lastname"] or "").casefold()), reverse=True
    )
    with sim.serve() as running, httpx.Client(base_url=running.url, trust_env=False) as c:
        c.headers["Authorization"] = f"Bearer {TOKEN}"
        params = {
            "$select": "fullname,emailaddress1,createdon,_parentcustomerid_value",
            "$filter": "contains(fullname,'o') and createdon ge 2023-01-01T00:00:00Z "
            "or emailaddress1 eq null",
            "$orderby": "lastname desc,createdon",
        }
        pages = _all_pages(c, "/contacts", "odata.maxpagesize=4000", **params)
    got = [row["contactid"] for page in pages for row in page]
    assert got == [r["contactid"] for r in expected_rows]
    assert len(pages) == -(-len(expected_rows) // 4000)
