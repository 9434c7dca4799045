"""HubSpot and Dynamics 365 projections, the crosswalk and their truth tables.

Identity resolution and every HubSpot/Dynamics query test are judged against these, so
the checks here are independent restatements of the vendors' rules (value formats,
association pairs, lookups, choice labels, Arrow shapes), not calls back into the code.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections import Counter, defaultdict

import pyarrow as pa
import pytest

from sandbox.company import SUBSIDIARY_CURRENCIES
from sandbox.projections.hubspot import DEAL_STAGES, LINK_TABLES, STAGE_OF_TRUTH
from sandbox.world import CROSSWALK_SCHEMA, SYSTEMS, World, build_world, world_truth_tables

TODAY = dt.date(2026, 5, 15)
SCALE = 0.2
TS = pa.timestamp("ms", tz="UTC")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=42, scale=SCALE, today=TODAY)


@pytest.fixture(scope="module")
def truth(world: World) -> dict[str, dict[str, pa.Table]]:
    return world_truth_tables(world)


def _hs_records(world: World) -> dict[str, list]:
    return {n: [(r.id, r.properties, r.archived) for r in o.records]
            for n, o in world.hubspot.objects.items()}


def _d365_records(world: World) -> dict[str, list]:
    return {n: e.records for n, e in world.dynamics.entities.items()}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_world(world):
    again = build_world(seed=42, scale=SCALE, today=TODAY)
    assert again.crosswalk.equals(world.crosswalk)
    assert _hs_records(again) == _hs_records(world)
    assert again.hubspot.associations == world.hubspot.associations
    assert again.hubspot.owners == world.hubspot.owners
    assert _d365_records(again) == _d365_records(world)


def test_different_seed_gives_different_world(world):
    other = build_world(seed=43, scale=SCALE, today=TODAY)
    assert _hs_records(other)["deals"] != _hs_records(world)["deals"]
    assert _d365_records(other)["incident"] != _d365_records(world)["incident"]


def test_scale_02_world_is_fast():
    start = time.perf_counter()
    build_world(seed=5, scale=SCALE, today=TODAY)
    assert time.perf_counter() - start < 3.0


# --------------------------------------------------------------------------- crosswalk


def _xwalk(world: World) -> list[dict]:
    return world.crosswalk.to_pylist()


def test_crosswalk_schema_and_uniqueness(world):
    assert world.crosswalk.schema.equals(CROSSWALK_SCHEMA)
    rows = _xwalk(world)
    keys = [(r["system"], r["object"], r["record_id"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert {r["entity"] for r in rows} >= {"customer", "contact", "opportunity", "case", "user"}
    assert {r["system"] for r in rows} == set(SYSTEMS)


def test_crosswalk_covers_every_projected_record(world):
    got: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _xwalk(world):
        got[(r["system"], r["object"])].add(r["record_id"])
    for name in ("User", "Account", "Contact", "Product2", "Opportunity"):
        ids = {r["Id"] for r in world.salesforce.objects[name].records}
        assert got[("salesforce", name)] == ids, name
    for name in ("companies", "contacts", "deals", "products", "tickets"):
        ids = {r.id for r in world.hubspot.objects[name].records}
        assert got[("hubspot", name)] == ids, name
    assert got[("hubspot", "owners")] == {o.id for o in world.hubspot.owners}
    for entity in world.dynamics.entities.values():
        ids = {r[entity.primary_id] for r in entity.records}
        assert got[("dynamics", entity.entity_set_name)] == ids, entity.logical_name


def test_crosswalk_truth_ids_exist_and_match_keys(world):
    c = world.company
    known = {
        "customer": {x.customer_id for x in c.customers},
        "contact": {x.contact_id for x in c.contacts},
        "opportunity": {x.opportunity_id for x in c.opportunities},
        "case": {x.case_id for x in c.cases},
        "user": {x.user_id for x in c.users + c.subsidiary_users + c.agents},
        "product": {x.product_id for x in c.products},
    }
    for r in _xwalk(world):
        if r["system"] in ("salesforce", "hubspot", "dynamics"):  # ERP rows: test_erp_projections
            assert r["truth_id"] in known[r["entity"]], r
    sf_keys = {r["Id"]: r["Customer_Key__c"] for r in world.salesforce.objects["Account"].records}
    for r in _xwalk(world):
        if r["object"] == "Account":
            assert sf_keys[r["record_id"]] == r["truth_id"]


def test_business_units_decide_which_crm_holds_a_customer(world):
    systems: dict[str, set[str]] = defaultdict(set)
    for r in _xwalk(world):
        if r["entity"] == "customer":
            systems[r["truth_id"]].add(r["system"])
    for cust in world.company.customers:
        crms = systems[cust.customer_id] & {"salesforce", "hubspot"}
        expected = {"main": {"salesforce"}, "acquired": {"hubspot"},
                    "both": {"salesforce", "hubspot"}, "service": set()}[cust.business_unit]
        assert crms == expected, cust.customer_id
        if cust.business_unit == "service":
            assert systems[cust.customer_id] == {"dynamics"}
    per_system = Counter(r["truth_id"] for r in _xwalk(world)
                         if r["entity"] == "customer" and r["system"] == "hubspot")
    assert any(n > 1 for n in per_system.values()), "expected a duplicate HubSpot company"


def test_deals_and_cases_land_in_their_systems(world):
    where: dict[str, set[str]] = defaultdict(set)
    for r in _xwalk(world):
        if r["entity"] in ("opportunity", "case"):
            where[r["truth_id"]].add(r["system"])
    for o in world.company.opportunities:
        crm = "salesforce" if o.business_unit == "main" else "hubspot"
        assert crm in where[o.opportunity_id]
        assert where[o.opportunity_id] <= {crm, "dynamics"}
    assert any("dynamics" in s for s in where.values() if len(s) == 2)  # service upsells
    for case in world.company.cases:
        assert "dynamics" in where[case.case_id]


# --------------------------------------------------------------------------- overlap


def _record_for(world: World, system: str, obj: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in _xwalk(world):
        if r["system"] == system and r["object"] == obj:
            out[r["truth_id"]].append(r["record_id"])
    return out


def test_shared_customers_disagree_between_crms(world):
    sf = {r["Id"]: r for r in world.salesforce.objects["Account"].records}
    hs = {r.id: r.properties for r in world.hubspot.objects["companies"].records}
    sf_of, hs_of = _record_for(world, "salesforce", "Account"), _record_for(world, "hubspot",
                                                                          "companies")
    both = [c for c in world.company.customers if c.business_unit == "both"]
    names_differ = domains_differ = owners_differ = 0
    for c in both:
        a, h = sf[sf_of[c.customer_id][0]], hs[hs_of[c.customer_id][0]]
        names_differ += a["Name"] != h["name"]
        domains_differ += bool(h["domain"]) and h["domain"] != c.domain
        owners_differ += c.owner_id != c.acquired_owner_id
    assert names_differ and domains_differ
    assert owners_differ >= len(both) // 2  # a rep with seats in both may own it in both
    sf_cur = {(o.customer_id, o.currency) for o in world.company.opportunities
              if o.business_unit == "main"}
    hs_cur = {(o.customer_id, o.currency) for o in world.company.opportunities
              if o.business_unit == "acquired"}
    assert {c for c, _ in sf_cur} & {c for c, _ in hs_cur}
    assert any(cur not in SUBSIDIARY_CURRENCIES for _, cur in sf_cur)


def test_shared_contacts_sometimes_differ_in_email_case():
    w = build_world(seed=42, scale=1.0, today=TODAY)  # enough shared contacts to see it
    truth_email = {ct.contact_id: ct.email for ct in w.company.contacts}
    hs = {r.id: r.properties["email"] for r in w.hubspot.objects["contacts"].records}
    differ = sum(
        1
        for tid, ids in _record_for(w, "hubspot", "contacts").items()
        for rid in ids
        if hs[rid] and truth_email[tid] and hs[rid] != truth_email[tid]
        and hs[rid].lower() == truth_email[tid].lower()
    )
    assert differ > 0


# --------------------------------------------------------------------------- HubSpot


def test_hubspot_values_are_strings_that_parse_by_type(world):
    seen_blank = False
    for obj in world.hubspot.objects.values():
        names = [p.name for p in obj.properties]
        assert len(names) == len(set(names))
        for rec in obj.records:
            assert set(rec.properties) == set(names), obj.name
            assert rec.properties["hs_object_id"] == rec.id
            for p in obj.properties:
                v = rec.properties[p.name]
                if v is None:
                    continue
                assert isinstance(v, str), (obj.name, p.name)
                if v == "":
                    seen_blank = True
                    continue
                if p.type == "number":
                    assert NUMBER.match(v) and not v.endswith(".0"), (p.name, v)
                elif p.type == "bool":
                    assert v in ("true", "false")
                elif p.type == "date":
                    assert dt.date.fromisoformat(v) and len(v) == 10
                elif p.type == "datetime":
                    assert ISO_MS.match(v), (p.name, v)
                elif p.type == "enumeration" and p.options:
                    assert v in {o.value for o in p.options}, (obj.name, p.name, v)
    assert seen_blank


def test_hubspot_objects_metadata(world):
    objs = world.hubspot.objects
    assert set(objs) == {"companies", "contacts", "deals", "line_items", "products", "tickets",
                         "subscriptions"}
    custom = objs["subscriptions"]
    assert custom.custom and re.match(r"^2-\d+$", custom.object_type_id)
    assert custom.fully_qualified_name == f"p{world.hubspot.portal_id}_subscriptions"
    defaults = {n: {p.name for p in o.properties if p.default} for n, o in objs.items()}
    assert defaults["deals"] == {"dealname", "amount", "closedate", "pipeline", "dealstage",
                                 "createdate", "hs_lastmodifieddate", "hs_object_id"}
    assert defaults["contacts"] == {"firstname", "lastname", "email", "lastmodifieddate",
                                    "hs_object_id", "createdate"}
    assert defaults["companies"] == {"name", "domain", "createdate", "hs_lastmodifieddate",
                                     "hs_object_id"}
    legacy = next(p for p in objs["deals"].properties if p.name == "legacy_region")
    assert not legacy.hubspot_defined
    for o in objs.values():
        if o.name != "products":  # products are archived when retired in the truth
            assert sum(r.archived for r in o.records) >= 1, o.name
        for r in o.records:
            assert r.archived == (r.archived_at is not None)


def test_hubspot_ids_are_unique_numeric_and_ranged(world):
    firsts = {}
    all_ids: list[str] = []
    for name, obj in world.hubspot.objects.items():
        ids = [r.id for r in obj.records]
        assert all(i.isdigit() for i in ids)
        firsts[name] = {i[0] for i in ids}
        assert len(firsts[name]) == 1, name
        all_ids += ids
    assert len(set(all_ids)) == len(all_ids)
    assert firsts["companies"] == {"1"} and firsts["deals"] == {"9"}
    owner_ids = [o.id for o in world.hubspot.owners]
    assert len(set(owner_ids)) == len(owner_ids) and all(len(i) == 8 for i in owner_ids)


def test_hubspot_associations_are_recorded_both_ways(world):
    pairs = {1: 2, 279: 280, 5: 6, 3: 4, 20: 19, 16: 15, 339: 340}
    pairs |= {v: k for k, v in pairs.items()}
    ids = {n: {r.id for r in o.records} for n, o in world.hubspot.objects.items()}
    edges = {(a.from_object, a.from_id, a.to_object, a.to_id, a.type_id)
             for a in world.hubspot.associations}
    for f, fid, t, tid, typ in edges:
        assert fid in ids[f] and tid in ids[t]
        assert (t, tid, f, fid, pairs[typ]) in edges
    primary = Counter((f, fid) for f, fid, t, _, typ in edges if typ == 1)
    assert primary and max(primary.values()) == 1  # one primary company per contact
    deal_company = Counter(fid for f, fid, t, _, typ in edges if typ == 5)
    assert set(deal_company) == ids["deals"] and max(deal_company.values()) == 1


def test_hubspot_deals_follow_truth_stages(world):
    truth = {o.opportunity_id: o for o in world.company.opportunities}
    deal_of = {rid: tid for tid, rids in _record_for(world, "hubspot", "deals").items()
               for rid in rids}
    stages = {s[0]: s for s in DEAL_STAGES}
    owners = {o.id for o in world.hubspot.owners}
    for r in world.hubspot.objects["deals"].records:
        o, p = truth[deal_of[r.id]], r.properties
        assert p["dealstage"] == STAGE_OF_TRUTH[o.stage]
        _, _, prob, closed = stages[p["dealstage"]]
        assert float(p["hs_deal_stage_probability"]) == prob
        assert p["hs_is_closed"] == ("true" if closed else "false")
        assert p["hs_is_closed_won"] == ("true" if o.is_won else "false")
        assert p["deal_currency_code"] == o.currency
        assert p["hubspot_owner_id"] in owners
        if o.amount is not None:
            assert float(p["amount"]) == o.amount


# --------------------------------------------------------------------------- Dynamics


def test_dynamics_guids_unique_lowercase(world):
    seen: list[str] = []
    for e in world.dynamics.entities.values():
        for r in e.records:
            gid = r[e.primary_id]
            assert str(uuid.UUID(gid)) == gid and gid == gid.lower()
            seen.append(gid)
    assert len(set(seen)) == len(seen)


def test_dynamics_lookups_point_to_existing_rows(world):
    ents = world.dynamics.entities
    ids = {n: {r[e.primary_id] for r in e.records} for n, e in ents.items()}
    for e in ents.values():
        for a in e.attributes:
            if a.attribute_type not in ("Lookup", "Owner", "Customer"):
                continue
            assert a.targets and set(a.targets) <= set(ents)
            allowed = set().union(*(ids[t] for t in a.targets))
            for r in e.records:
                v = r[a.logical_name]
                assert v is None or v in allowed, (e.logical_name, a.logical_name)
    cases = ents["incident"].records
    assert all(r["customerid"] is not None for r in cases)
    assert any(r["primarycontactid"] is not None for r in cases)


def test_dynamics_choices_are_valid_options(world):
    for e in world.dynamics.entities.values():
        for a in e.attributes:
            if a.attribute_type not in ("Picklist", "State", "Status"):
                continue
            valid = {o.value for o in a.options}
            for r in e.records:
                v = r[a.logical_name]
                assert v is None or v in valid, (e.logical_name, a.logical_name, v)
    ents = world.dynamics.entities
    states = {(r["statecode"], r["statuscode"]) for r in ents["incident"].records}
    allowed = {(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 1000), (2, 6), (2, 2000)}
    assert states <= allowed
    opp = {(r["statecode"], r["statuscode"]) for r in ents["opportunity"].records}
    assert opp <= {(0, 1), (0, 2), (1, 3), (2, 4), (2, 5)}


def test_dynamics_rows_carry_every_attribute_with_dataverse_types(world):
    for e in world.dynamics.entities.values():
        names = [a.logical_name for a in e.attributes]
        for r in e.records:
            assert list(r) == names
        for a in e.attributes:
            for r in e.records:
                v = r[a.logical_name]
                if v is None:
                    continue
                if a.attribute_type == "DateTime":
                    if a.date_only:
                        assert type(v) is dt.date
                    else:
                        assert v.utcoffset() == dt.timedelta(0) and v.microsecond == 0
                elif a.attribute_type == "Boolean":
                    assert isinstance(v, bool)
                elif a.attribute_type in ("Integer", "Picklist", "State", "Status"):
                    assert type(v) is int
    numbers = [r["ticketnumber"] for r in world.dynamics.entities["incident"].records]
    assert all(re.match(r"^CAS-\d{5}-[A-Z0-9]{6}$", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_dynamics_accounts_cover_customers_with_cases(world):
    with_cases = {c.customer_id for c in world.company.cases}
    covered = set(_record_for(world, "dynamics", "accounts"))
    assert with_cases <= covered
    assert {c.customer_id for c in world.company.customers if c.service_contract} <= covered


# --------------------------------------------------------------------------- truth tables


HS_TYPES = {"number": pa.float64(), "bool": pa.bool_(), "date": pa.date32(), "datetime": TS,
            "enumeration": pa.string(), "string": pa.string(), "phone_number": pa.string()}


def test_hubspot_truth_table_shapes(world, truth):
    t = truth["hubspot"]
    assert set(t) == {*world.hubspot.objects, "owners", "deal_pipelines", "deal_stages",
                      *LINK_TABLES}
    for name, obj in world.hubspot.objects.items():
        table = t[name]
        assert table.column_names == ["id", *(p.name for p in obj.properties)]
        assert table.schema.field("id").type == pa.string()
        for p in obj.properties:
            assert table.schema.field(p.name).type == HS_TYPES[p.type], (name, p.name)
        assert table.num_rows == sum(not r.archived for r in obj.records)
        blanks = sum(1 for r in obj.records if not r.archived
                     for p in obj.properties if r.properties[p.name] in (None, ""))
        assert sum(c.null_count for c in table.columns) == blanks
    assert t["owners"].schema == pa.schema([
        ("id", pa.string()), ("email", pa.string()), ("first_name", pa.string()),
        ("last_name", pa.string()), ("user_id", pa.int64()), ("created_at", TS),
        ("updated_at", TS), ("archived", pa.bool_())])
    assert t["owners"].num_rows == sum(not o.archived for o in world.hubspot.owners)
    assert t["deal_pipelines"].schema == pa.schema([
        ("id", pa.string()), ("label", pa.string()), ("display_order", pa.int64()),
        ("archived", pa.bool_())])
    assert t["deal_stages"].schema == pa.schema([
        ("pipeline_id", pa.string()), ("id", pa.string()), ("label", pa.string()),
        ("display_order", pa.int64()), ("probability", pa.float64()), ("is_closed", pa.bool_()),
        ("is_won", pa.bool_()), ("archived", pa.bool_())])
    won = [r["id"] for r in t["deal_stages"].to_pylist() if r["is_won"]]
    assert won == ["closedwon"]
    for name, (_, _, fcol, tcol) in LINK_TABLES.items():
        assert t[name].schema == pa.schema([
            (fcol, pa.string()), (tcol, pa.string()), ("type_id", pa.int64()),
            ("category", pa.string()), ("label", pa.string())]), name
        assert t[name].num_rows > 0, name


def test_hubspot_link_tables_skip_archived_ends(world, truth):
    t = truth["hubspot"]
    live_deals = set(t["deals"].column("id").to_pylist())
    live_companies = set(t["companies"].column("id").to_pylist())
    rows = t["deal_companies"].to_pylist()
    assert {r["deal_id"] for r in rows} <= live_deals
    assert {r["company_id"] for r in rows} <= live_companies
    expected = {(a.from_id, a.to_id, a.type_id) for a in world.hubspot.associations
                if a.from_object == "deals" and a.to_object == "companies"
                and a.from_id in live_deals and a.to_id in live_companies}
    assert {(r["deal_id"], r["company_id"], r["type_id"]) for r in rows} == expected
    assert len(rows) == len(expected)
    types = set(t["contact_companies"].column("type_id").to_pylist())
    assert types == {1, 279}


def test_hubspot_truth_values_parse_exactly(world, truth):
    deals = {r["id"]: r for r in truth["hubspot"]["deals"].to_pylist()}
    for rec in world.hubspot.objects["deals"].records:
        if rec.archived:
            continue
        row, p = deals[rec.id], rec.properties
        assert row["amount"] == (float(p["amount"]) if p["amount"] else None)
        assert row["hs_is_closed_won"] is (p["hs_is_closed_won"] == "true")
        close = dt.datetime.strptime(p["closedate"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert row["closedate"] == close.replace(tzinfo=dt.UTC)
    subs = truth["hubspot"]["subscriptions"].to_pylist()
    assert all(type(r["start_date"]) is dt.date for r in subs)


DV_TYPES = {"Uniqueidentifier": pa.string(), "String": pa.string(), "Memo": pa.string(),
            "Integer": pa.int64(), "BigInt": pa.int64(), "Decimal": pa.float64(),
            "Double": pa.float64(), "Money": pa.float64(), "Boolean": pa.bool_(),
            "Picklist": pa.int64(), "State": pa.int64(), "Status": pa.int64(),
            "Lookup": pa.string(), "Owner": pa.string(), "Customer": pa.string()}


def test_dynamics_truth_table_shapes(world, truth):
    t = truth["dynamics"]
    assert set(t) == {"accounts", "contacts", "opportunities", "incidents", "systemusers"}
    for e in world.dynamics.entities.values():
        table = t[e.entity_set_name]
        expected: list[tuple[str, pa.DataType]] = []
        for a in e.attributes:
            if a.attribute_type == "DateTime":
                expected.append((a.logical_name, pa.date32() if a.date_only else TS))
            else:
                expected.append((a.logical_name, DV_TYPES[a.attribute_type]))
            if a.attribute_type in ("Picklist", "State", "Status"):
                expected.append((f"{a.logical_name}_label", pa.string()))
        assert [(f.name, f.type) for f in table.schema] == expected, e.logical_name
        assert table.num_rows == len(e.records)
        for a in e.attributes:
            if a.attribute_type in ("Picklist", "State", "Status"):
                labels = {o.value: o.label for o in a.options}
                for v, lab in zip(table.column(a.logical_name).to_pylist(),
                                  table.column(f"{a.logical_name}_label").to_pylist(),
                                  strict=True):
                    assert lab == (None if v is None else labels[v])


def test_world_truth_tables_include_salesforce(world, truth):
    assert set(truth) >= {"salesforce", "hubspot", "dynamics"}
    assert truth["salesforce"]["Account"].num_rows > 0
