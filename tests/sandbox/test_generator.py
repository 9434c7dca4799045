"""The demo company generator and its Salesforce projection: the ground truth must be right.

(HubSpot, Dynamics 365 and the crosswalk are in test_projections.py.)

Every federated-query test compares against these tables, so a bug here would make wrong
answers look right. Small scales keep the file fast.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import duckdb
import pyarrow as pa
import pytest

from sandbox.company import (
    BUSINESS_UNITS,
    CASE_ORIGINS,
    CASE_PRIORITIES,
    CASE_STATUSES,
    CASE_TYPES,
    DECIMALS,
    STAGE_BY_NAME,
    STAGES,
    SUBSIDIARY_CURRENCIES,
    SUBSIDIARY_DOMAIN,
    generate_company,
)
from sandbox.projections.salesforce import (
    FORECAST_CATEGORY_API,
    KEY_PREFIXES,
    arrow_type_for,
    org_truth_tables,
    project_salesforce,
    salesforce_id,
)
from sandbox.projections.salesforce_model import SalesforceOrg, SObjectField

TODAY = dt.date(2026, 5, 15)
SCALE = 0.2


@pytest.fixture(scope="module")
def company():
    return generate_company(seed=42, scale=SCALE, today=TODAY)


@pytest.fixture(scope="module")
def org(company) -> SalesforceOrg:
    return project_salesforce(company)


@pytest.fixture(scope="module")
def tables(org) -> dict[str, pa.Table]:
    return org_truth_tables(org)


@pytest.fixture(scope="module")
def all_tables(org) -> dict[str, pa.Table]:
    return org_truth_tables(org, include_deleted=True)


def _col(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()


def _records(org: SalesforceOrg) -> dict[str, list[dict]]:
    return {name: obj.records for name, obj in org.objects.items()}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_company_and_org(company, org):
    again = generate_company(seed=42, scale=SCALE, today=TODAY)
    assert again == company
    assert _records(project_salesforce(again)) == _records(org)


def test_different_seed_gives_different_data(org):
    other = project_salesforce(generate_company(seed=43, scale=SCALE, today=TODAY))
    assert _records(other)["Opportunity"] != _records(org)["Opportunity"]
    assert _records(other)["Account"] != _records(org)["Account"]


def test_sizes_scale_linearly():
    small = generate_company(seed=1, scale=0.05, today=TODAY)
    big = generate_company(seed=1, scale=0.2, today=TODAY)
    assert len(small.opportunities) == 250 and len(big.opportunities) == 1000
    assert len(small.customers) == 50 and len(big.customers) == 200
    assert 2.5 <= len(big.contacts) / len(big.customers) <= 3.5
    lines = sum(len(o.line_items) for o in big.opportunities)
    assert 1.6 <= lines / len(big.opportunities) <= 2.4
    assert len(small.users) < len(big.users) <= 40


# --------------------------------------------------------------------------- integrity


def _ids(tables: dict[str, pa.Table], name: str) -> set[str]:
    return set(_col(tables[name], "Id"))


@pytest.mark.parametrize("which", ["tables", "all_tables"])
def test_references_resolve(which, request):
    t = request.getfixturevalue(which)
    users, accounts = _ids(t, "User"), _ids(t, "Account")
    opps, products = _ids(t, "Opportunity"), _ids(t, "Product2")
    assert set(_col(t["Opportunity"], "AccountId")) <= accounts
    assert set(_col(t["Opportunity"], "OwnerId")) <= users
    assert set(_col(t["Account"], "OwnerId")) <= users
    assert set(_col(t["Contact"], "AccountId")) <= accounts
    assert set(_col(t["Contact"], "OwnerId")) <= users
    assert set(_col(t["OpportunityLineItem"], "OpportunityId")) <= opps
    assert set(_col(t["OpportunityLineItem"], "Product2Id")) <= products
    assert set(_col(t["OpportunityHistory"], "OpportunityId")) <= opps
    assert set(_col(t["Competitor__c"], "Opportunity__c")) <= opps


def test_reference_fields_describe_their_target(org):
    opp = org.objects["Opportunity"]
    assert opp.field("AccountId").reference_to == ("Account",)
    assert opp.field("AccountId").relationship_name == "Account"
    assert opp.field("OwnerId").reference_to == ("User",)
    assert opp.field("OwnerId").relationship_name == "Owner"
    comp = org.objects["Competitor__c"]
    assert comp.custom and comp.field("Opportunity__c").relationship_name == "Opportunity__r"
    for obj in org.objects.values():
        for f in obj.fields:
            if f.type == "reference":
                assert f.reference_to and f.reference_to[0] in org.objects
                assert f.relationship_name


def test_ids_are_unique_18_chars_with_prefix_and_checksum(org):
    seen: set[str] = set()
    for name, obj in org.objects.items():
        assert obj.key_prefix == KEY_PREFIXES[name]
        for r in obj.records:
            sid = r["Id"]
            assert len(sid) == 18 and sid.startswith(obj.key_prefix), sid
            assert sid[15:] == _checksum(sid[:15])
            seen.add(sid)
    assert len(seen) == sum(len(o.records) for o in org.objects.values())


def _checksum(id15: str) -> str:
    # Independent of the implementation: Salesforce's documented case-safe suffix.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        out += alphabet[bits]
    return out


def test_salesforce_id_slow_path_matches_fast_path():
    assert salesforce_id("006", 1) == "0065g000000000" + "1" + "AAA"
    for n in (61, 62, 3843, 3844, 62**4 - 1):
        fast = salesforce_id("006", n)
        assert fast[15:] == _checksum(fast[:15])
    big = salesforce_id("006", 62**4)
    assert len(big) == 18 and big[15:] == _checksum(big[:15])


def test_line_items_sum_to_opportunity_amount(tables):
    totals: Counter[str] = Counter()
    for opp_id, total in zip(
        _col(tables["OpportunityLineItem"], "OpportunityId"),
        _col(tables["OpportunityLineItem"], "TotalPrice"),
        strict=True,
    ):
        totals[opp_id] += total
    opp = tables["Opportunity"].to_pylist()
    with_lines = [o for o in opp if o["HasOpportunityLineItem"]]
    assert with_lines
    for o in with_lines:
        assert o["Amount"] == round(totals[o["Id"]], DECIMALS[o["CurrencyIsoCode"]])
    assert all(o["Id"] not in totals for o in opp if not o["HasOpportunityLineItem"])


# --------------------------------------------------------------------------- stages


def test_stage_fields_follow_the_stage_table(tables):
    opps = tables["Opportunity"].to_pylist()
    for o in opps:
        stage = STAGE_BY_NAME[o["StageName"]]
        assert o["Probability"] == stage.probability
        assert o["IsClosed"] is stage.is_closed
        assert o["IsWon"] is stage.is_won
        assert o["ForecastCategoryName"] == stage.forecast_category
        if o["Amount"] is None:
            assert o["ExpectedRevenue"] is None
        else:
            assert o["ExpectedRevenue"] == round(o["Amount"] * stage.probability / 100, 2)
        assert o["FiscalYear"] == o["CloseDate"].year
        assert o["FiscalQuarter"] == (o["CloseDate"].month - 1) // 3 + 1
        if stage.is_closed:
            assert o["CloseDate"] < TODAY
    assert {o["StageName"] for o in opps} == {s.name for s in STAGES}
    open_close = [o["CloseDate"] for o in opps if not o["IsClosed"]]
    future = sum(d >= TODAY for d in open_close)
    assert 0.8 * len(open_close) <= future < len(open_close)  # mostly future, a few overdue
    closes = [o["CloseDate"] for o in opps]
    assert min(closes) >= TODAY - dt.timedelta(days=731)
    assert max(closes) <= TODAY + dt.timedelta(days=366)


def test_history_ends_in_current_state(company):
    now = dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
    for o in company.opportunities:
        h = o.history
        assert h[0].changed_at == o.created_at
        assert all(a.changed_at < b.changed_at for a, b in zip(h, h[1:], strict=False))
        assert h[-1].changed_at < now and o.last_modified_at < now
        assert (h[-1].stage, h[-1].amount, h[-1].close_date) == (o.stage, o.amount, o.close_date)
        if o.is_closed:
            assert h[-1].changed_at.date() == o.close_date


def test_history_forecast_category_uses_api_values(tables):
    for row in tables["OpportunityHistory"].to_pylist():
        label = STAGE_BY_NAME[row["StageName"]].forecast_category
        assert row["ForecastCategory"] == FORECAST_CATEGORY_API[label]
        assert row["Probability"] == STAGE_BY_NAME[row["StageName"]].probability


# --------------------------------------------------------------------------- types


def test_arrow_type_mapping():
    def t(kind: str) -> pa.DataType:
        return arrow_type_for(SObjectField(name="X", type=kind, label="X"))

    for kind in ("id", "string", "picklist", "reference", "email", "phone", "url", "textarea"):
        assert t(kind) == pa.string()
    for kind in ("currency", "percent", "double"):
        assert t(kind) == pa.float64()
    assert t("int") == pa.int64()
    assert t("boolean") == pa.bool_()
    assert t("date") == pa.date32()
    assert t("datetime") == pa.timestamp("ms", tz="UTC")
    with pytest.raises(ValueError):
        t("location")


def test_truth_tables_follow_describe(org, tables):
    assert set(tables) == set(org.objects)
    for name, obj in org.objects.items():
        table = tables[name]
        assert table.column_names == [f.name for f in obj.fields]
        for f in obj.fields:
            assert table.schema.field(f.name).type == arrow_type_for(f)
            if not f.nillable:
                assert table.column(f.name).null_count == 0, (name, f.name)


def test_record_values_have_the_promised_python_types(org):
    for name, obj in org.objects.items():
        for f in obj.fields:
            values = [r[f.name] for r in obj.records]
            assert len(values) == len(obj.records)  # every record carries every field
            if f.type == "boolean":
                assert all(isinstance(v, bool) for v in values), (name, f.name)
            elif f.type == "datetime":
                for v in values:
                    if v is not None:
                        assert v.tzinfo is not None and v.utcoffset() == dt.timedelta(0)
                        assert v.microsecond % 1000 == 0
            elif f.type == "date":
                assert all(
                    v is None or (type(v) is dt.date) for v in values
                ), (name, f.name)
            elif f.type == "id":
                assert all(isinstance(v, str) for v in values)


def test_truth_tables_load_into_duckdb(tables):
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    won = con.execute(
        'SELECT count(*), sum("Amount") FROM Opportunity o JOIN Account a ON o.AccountId = a.Id '
        "WHERE o.IsWon"
    ).fetchone()
    expected = [o for o in tables["Opportunity"].to_pylist() if o["IsWon"]]
    assert won[0] == len(expected)
    assert won[1] == pytest.approx(sum(o["Amount"] or 0 for o in expected))


# --------------------------------------------------------------------------- realism


def test_edge_case_values_are_present(tables):
    names = _col(tables["Account"], "Name")
    assert any("'" in n for n in names)
    assert any("\\" in n for n in names)
    assert any("ü" in n for n in names) and any("東京" in n for n in names)
    assert any(n != n.strip() for n in names)
    assert any("%" in n and "_" in n for n in names)
    contacts = tables["Contact"].to_pylist()
    assert any("'" in c["LastName"] for c in contacts)
    assert any("\\" in c["LastName"] for c in contacts)
    assert any(c["Phone"] is None for c in contacts)
    assert any(c["FirstName"] is None for c in contacts)
    assert any(i is None for i in _col(tables["Account"], "Industry"))
    amounts = _col(tables["Opportunity"], "Amount")
    assert any(a is None for a in amounts)
    assert any(a == 0 for a in amounts)
    assert any(a is not None and a > 10_000_000 for a in amounts)
    assert any(a is not None and a != int(a) for a in amounts)  # cents
    none_share = sum(a is None for a in amounts) / len(amounts)
    assert 0.01 <= none_share <= 0.06
    assert len(set(_col(tables["Opportunity"], "CurrencyIsoCode"))) >= 4


def test_salesforce_inconsistencies(company, all_tables):
    keys = Counter(_col(all_tables["Account"], "Customer_Key__c"))
    assert any(n > 1 for n in keys.values()), "expected a few duplicate accounts"
    assert set(keys) == {
        c.customer_id for c in company.customers if c.business_unit in ("main", "both")
    }
    by_key = {c.customer_id: c for c in company.customers}
    differ = sum(
        r["Name"] != by_key[r["Customer_Key__c"]].name for r in all_tables["Account"].to_pylist()
    )
    assert differ > 0


def test_deleted_records_only_in_query_all(all_tables, tables):
    for name in ("Account", "Contact", "Opportunity"):
        deleted = sum(_col(all_tables[name], "IsDeleted"))
        assert not any(_col(tables[name], "IsDeleted"))
        assert tables[name].num_rows == all_tables[name].num_rows - deleted
    total = sum(all_tables[n].num_rows for n in ("Account", "Contact", "Opportunity"))
    deleted = sum(
        sum(_col(all_tables[n], "IsDeleted")) for n in ("Account", "Contact", "Opportunity")
    )
    assert 0 < deleted <= 0.02 * total


def test_fx_rates_cover_the_period(company):
    for cur in company.currencies:
        rate_then = company.rate_to_usd(cur.code, TODAY - dt.timedelta(days=730))
        rate_now = company.rate_to_usd(cur.code, TODAY)
        assert rate_then > 0 and rate_now > 0
        if cur.code == "USD":
            assert rate_then == rate_now == 1.0
    assert company.to_usd(100.0, "EUR", TODAY) == round(100 * company.rate_to_usd("EUR", TODAY), 2)


# --------------------------------------------------------------------------- business units


@pytest.fixture(scope="module")
def company_1():
    return generate_company(seed=42, scale=1.0, today=TODAY)


def test_business_unit_split_at_scale_1(company_1):
    units = Counter(c.business_unit for c in company_1.customers)
    n = len(company_1.customers)
    assert set(units) == set(BUSINESS_UNITS)
    assert 0.70 <= units["main"] / n <= 0.79
    assert 0.12 <= units["acquired"] / n <= 0.18
    assert 0.07 <= units["both"] / n <= 0.13
    assert 0 < units["service"] / n <= 0.03
    deals = Counter(o.business_unit for o in company_1.opportunities)
    assert set(deals) == {"main", "acquired"}
    assert 0.12 <= deals["acquired"] / len(company_1.opportunities) <= 0.25


def test_deals_belong_to_their_units_crm(company_1):
    by_id = {c.customer_id: c for c in company_1.customers}
    main_ids = {u.user_id for u in company_1.users}
    sub_ids = {u.user_id for u in company_1.subsidiary_owners}
    shared_sold_by = Counter()
    for o in company_1.opportunities:
        unit = by_id[o.customer_id].business_unit
        assert unit != "service"
        if o.business_unit == "acquired":
            assert unit in ("acquired", "both")
            assert o.currency in SUBSIDIARY_CURRENCIES
            assert o.owner_id in sub_ids
        else:
            assert unit in ("main", "both")
            assert o.owner_id in main_ids
        if unit == "both":
            shared_sold_by[o.business_unit] += 1
    assert shared_sold_by["main"] and shared_sold_by["acquired"]
    for c in company_1.customers:
        assert (c.acquired_owner_id is not None) == (c.business_unit in ("acquired", "both"))
        assert c.owner_id in main_ids
        if c.business_unit == "service":
            assert c.service_contract


def test_people_of_the_three_teams(company_1):
    shared = [u for u in company_1.users if u.alt_email]
    assert 1 <= len(shared) <= 4
    for u in shared:
        assert u.email.split("@")[0] == u.alt_email.split("@")[0]
        assert u.alt_email.endswith("@" + SUBSIDIARY_DOMAIN)
    assert all(u.business_unit == "acquired" for u in company_1.subsidiary_users)
    assert all(u.business_unit == "service" for u in company_1.agents)
    everyone = company_1.users + company_1.subsidiary_users + company_1.agents
    assert len({u.user_id for u in everyone}) == len(everyone)
    assert len({u.email for u in everyone}) == len(everyone)


def test_contact_units_follow_their_customer(company_1):
    unit_of = {c.customer_id: c.business_unit for c in company_1.customers}
    seen = Counter()
    for ct in company_1.contacts:
        unit = unit_of[ct.customer_id]
        if unit == "both":
            assert ct.business_unit in ("main", "acquired", "both")
            seen[ct.business_unit] += 1
        else:
            assert ct.business_unit == unit
    assert len(seen) == 3


def test_support_cases(company_1):
    cases = company_1.cases
    assert len(cases) == 2500
    now = dt.datetime.combine(TODAY, dt.time(), tzinfo=dt.UTC)
    customers = {c.customer_id: c for c in company_1.customers}
    contact_of = {ct.contact_id: ct.customer_id for ct in company_1.contacts}
    agents = {a.user_id for a in company_1.agents}
    assert len({c.case_id for c in cases}) == len(cases)
    for c in cases:
        assert c.priority in CASE_PRIORITIES and c.status in CASE_STATUSES
        assert c.origin in CASE_ORIGINS and c.case_type in CASE_TYPES
        assert c.owner_id in agents
        assert c.contact_id is None or contact_of[c.contact_id] == c.customer_id
        assert c.created_at < now and c.last_modified_at < now
        assert c.created_at >= customers[c.customer_id].created_at
        assert (c.resolved_at is None) == (c.status == "active")
        if c.resolved_at is not None:
            assert c.created_at < c.resolved_at <= c.last_modified_at
    assert {customers[c.customer_id].business_unit for c in cases} == set(BUSINESS_UNITS)
    assert {c.status for c in cases} == set(CASE_STATUSES)
    assert any(c.description is None for c in cases)
    assert [c.created_at for c in cases] == sorted(c.created_at for c in cases)


def test_salesforce_holds_only_the_main_org(company, tables):
    units = {c.customer_id: c.business_unit for c in company.customers}
    assert {units[k] for k in _col(tables["Account"], "Customer_Key__c")} == {"main", "both"}
    main_deals = {o.opportunity_id for o in company.opportunities if o.business_unit == "main"}
    assert set(_col(tables["Opportunity"], "Deal_Key__c")) <= main_deals
    assert len(company.opportunities) > len(main_deals)
