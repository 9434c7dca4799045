"""HubSpot specifics: the 10,000 search cap, filter limits, rate limits, schema drift."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from adapters.contract import RetryBudget, ScanContext, ScanMetrics, ScanRequest
from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import AuthenticationError, SchemaMismatchError, SourceError
from sandbox.simulators.hubspot import HubSpotSimConfig, HubSpotSimulator
from tests.sandbox.test_hubspot_simulator import NO_LIMITS, TOKEN, big_portal, make_portal


def federation(url: str, monkeypatch, **options: Any) -> Federation:
    monkeypatch.setenv("CONCORD_TEST_HUBSPOT_TOKEN", TOKEN)
    raw = {
        "settings": {"cache_max_bytes": 0},
        "sources": {"hubspot": {
            "type": "hubspot", "url": url,
            "auth": {"access_token": {"env": "CONCORD_TEST_HUBSPOT_TOKEN"}},
            "retry": {"budget": 30, "max_attempts": 8, "backoff_initial_seconds": 0.2,
                      "backoff_max_seconds": 1.0},
            "options": {"search_requests_per_second": 100, **options},
        }},
    }
    return Federation(parse_catalog(raw, base_dir=Path(".")))


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[HubSpotSimulator, str]]:
    sim = HubSpotSimulator(big_portal(10_450), HubSpotSimConfig(**NO_LIMITS))
    with sim.serve() as server:
        yield sim, server.url


@pytest.mark.slow
def test_search_beyond_10000_returns_every_row(big, monkeypatch):
    sim, url = big
    with federation(url, monkeypatch, objects=["contacts"]) as fed:
        fed.tables("hubspot")
        sim.reset_stats()
        result = fed.sql("SELECT id, email FROM hubspot.contacts WHERE email IS NOT NULL")
    ids = result.column("id").to_pylist()
    assert len(ids) == 10_450 and len(set(ids)) == 10_450
    # 50 pages up to the cap, then 3 more after restarting past the last id
    assert sim.stats.requests_by_kind["search"] == 53
    restarted = [b for b in sim.stats.search_bodies
                 if any(f["propertyName"] == "hs_object_id" for g in b["filterGroups"]
                        for f in g["filters"])]
    assert restarted and all(int(b.get("after", 0)) < 10_000 for b in sim.stats.search_bodies)


@pytest.fixture()
def small() -> Iterator[tuple[HubSpotSimulator, str]]:
    sim = HubSpotSimulator(make_portal(n_filler_deals=600), HubSpotSimConfig(**NO_LIMITS))
    with sim.serve() as server:
        yield sim, server.url


def test_more_filters_than_hubspot_allows_still_answer_correctly(small, monkeypatch):
    sim, url = small
    amounts = " OR ".join(f"amount = {n}" for n in range(1, 9))  # 8 groups > 5
    sql = (f"SELECT id FROM hubspot.deals WHERE ({amounts}) AND amount > 2 AND amount < 8 "
           "AND dealname IS NOT NULL")
    with federation(url, monkeypatch) as fed:
        pushed = fed.sql(sql)
        local = fed.sql(sql, pushdown=False)
    assert sorted(pushed.column("id").to_pylist()) == sorted(local.column("id").to_pylist())
    for body in sim.stats.search_bodies:
        groups = body["filterGroups"]
        assert len(groups) <= 5 and all(len(g["filters"]) <= 6 for g in groups)
        assert sum(len(g["filters"]) for g in groups) <= 18


def test_repeated_429s_are_survived_within_the_retry_budget(monkeypatch):
    sim = HubSpotSimulator(make_portal(n_filler_deals=600),
                           HubSpotSimConfig(search_requests_per_second=5,
                                            ten_secondly_limit=None))
    # the client-side throttle is set too high on purpose, so HubSpot answers 429
    with sim.serve() as server, federation(server.url, monkeypatch, search_page_size=50,
                                           search_requests_per_second=20) as fed:
        fed.tables("hubspot")
        sim.reset_stats()
        result = fed.sql("SELECT id FROM hubspot.deals WHERE amount >= 0")
        expected = fed.sql("SELECT id FROM hubspot.deals WHERE amount >= 0", pushdown=False)
    assert sorted(result.column("id").to_pylist()) == sorted(expected.column("id").to_pylist())
    pages = -(-result.num_rows // 50)
    searches = sim.stats.requests_by_kind["search"]
    assert sim.stats.responses_by_status[429] > 0
    assert searches <= pages + 30  # every page once, plus at most the retry budget


def test_wrong_token(small, monkeypatch):
    _, url = small
    with federation(url, monkeypatch) as fed:
        monkeypatch.setenv("CONCORD_TEST_HUBSPOT_TOKEN", "pat-na1-wrong")
        with pytest.raises(AuthenticationError, match=r"hubspot\.\w+: token refused"):
            fed.sql("SELECT id FROM hubspot.deals")


def _retype(sim: HubSpotSimulator, obj: str, prop: str, new_type: str | None,
            value: str | None) -> None:
    target = sim.portal.objects[obj]
    props = []
    for p in target.properties:
        if p.name != prop:
            props.append(p)
        elif new_type is not None:
            props.append(dataclasses.replace(p, type=new_type, field_type="text"))
    target.properties = props
    for record in target.records:
        if new_type is None:
            record.properties.pop(prop, None)
        else:
            record.properties[prop] = value
    sim.reload()


def test_property_that_changed_type_names_both_types(small, monkeypatch):
    sim, url = small
    with federation(url, monkeypatch) as fed:
        fed.tables("hubspot")
        _retype(sim, "deals", "amount", "string", "n/a")
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT id, amount FROM hubspot.deals")
    message = str(info.value)
    assert message.startswith("hubspot.deals.amount:")
    assert "'n/a'" in message and "discovered as number, now string" in message


def test_property_that_disappeared_is_named(small, monkeypatch):
    sim, url = small
    with federation(url, monkeypatch) as fed:
        fed.tables("hubspot")
        _retype(sim, "deals", "dealname", None, None)
        with pytest.raises(SchemaMismatchError, match="hubspot.deals.dealname: is no longer "
                                                      "returned: discovered as string, now "
                                                      "missing"):
            fed.sql("SELECT id, dealname FROM hubspot.deals")


def test_malformed_response_is_a_clear_source_error(small, monkeypatch):
    sim, url = small
    with federation(url, monkeypatch) as fed:
        fed.tables("hubspot")
        sim.inject(status=200, body="<html>gateway</html>", kinds=["list"])
        with pytest.raises(Exception, match="hubspot.deals: answered .* not JSON"):
            fed.sql("SELECT id FROM hubspot.deals")


def test_search_body_shape(small, monkeypatch):
    sim, url = small
    with federation(url, monkeypatch) as fed:
        fed.sql("SELECT id FROM hubspot.deals WHERE dealstage = 'closedwon' AND amount > 5")
    body = sim.stats.search_bodies[-1]
    assert json.loads(json.dumps(body))["sorts"] == [{"propertyName": "hs_object_id",
                                                      "direction": "ASCENDING"}]
    assert body["filterGroups"] == [{"filters": [
        {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"},
        {"propertyName": "amount", "operator": "GT", "value": "5"},
    ]}] or body["filterGroups"] == [{"filters": [
        {"propertyName": "amount", "operator": "GT", "value": "5"},
        {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"},
    ]}]


def test_date_versioned_api_gives_the_same_answer(small, monkeypatch):
    _, url = small
    sql = "SELECT id, dealname, amount FROM hubspot.deals WHERE amount > 10"
    with federation(url, monkeypatch) as v3, \
            federation(url, monkeypatch, api_version="2026-03") as dated:
        expected = sorted(v3.sql(sql).to_pylist(), key=str)
        assert sorted(dated.sql(sql).to_pylist(), key=str) == expected
        assert dated.last_stats.scans[0].native_request.startswith(
            "POST /crm/objects/2026-03/deals/search")


# -- audit fixes: LIMIT, multi-checkboxes, case folding, ids, body size, dates, bodies ----


def _ids(table) -> list[str]:
    return sorted(table.column("id").to_pylist(), key=int)


def _same_with_and_without_pushdown(fed: Federation, sql: str) -> list[str]:
    pushed, local = _ids(fed.sql(sql)), _ids(fed.sql(sql, pushdown=False))
    assert pushed == local, sql
    return pushed


def _search_bodies_within_limits(sim: HubSpotSimulator) -> None:
    for body in sim.stats.search_bodies:
        groups = body["filterGroups"]
        assert len(groups) <= 5 and all(len(g["filters"]) <= 6 for g in groups)
        assert sum(len(g["filters"]) for g in groups) <= 18
        assert len(json.dumps(body, ensure_ascii=False, separators=(",", ":"))) <= 3000


def test_limit_with_a_filter_too_big_for_one_search_reads_enough_rows(small, monkeypatch):
    sim, url = small
    # filler deals n = 7.. have amount n * 10; these are past the first list page
    amounts = " OR ".join(f"amount = {n * 10}" for n in range(500, 508))  # 8 groups > 5
    sql = f"SELECT id FROM hubspot.deals WHERE {amounts} LIMIT 3"
    with federation(url, monkeypatch) as fed:
        assert fed.sql(sql).num_rows == fed.sql(sql, pushdown=False).num_rows == 3
        fed.sql(sql)
        scan = fed.last_stats.scans[0]
        assert scan.limit is None and scan.pushed == []  # left to DuckDB, LIMIT too
    _search_bodies_within_limits(sim)


def test_scan_honours_a_limit_only_when_every_filter_was_sent(small, monkeypatch):
    """Called directly, as a planner trusting classify() would: the LIMIT counts matches."""
    sim, url = small
    amounts = " OR ".join(f"amount = {n * 10}" for n in range(500, 508))
    wanted = {str(n) for n in range(500, 508)}
    with federation(url, monkeypatch) as fed:
        adapter, info = fed.adapter("hubspot"), fed.tables("hubspot")["deals"]
        for filters in ([amounts], [amounts, "amount > 0"], ["amount > 0", amounts, amounts]):
            request = ScanRequest(table="deals", columns=("id",), limit=3, filters=tuple(
                sqlglot.parse_one(f, read="duckdb") for f in filters))
            ctx = ScanContext(ScanMetrics(), RetryBudget(5))
            ids = {i for batch in adapter.scan(info, request, ctx)
                   for i in batch.column(0).to_pylist()}
            assert wanted <= ids, filters  # DuckDB re-applies the filters and the LIMIT
    _search_bodies_within_limits(sim)


@pytest.mark.parametrize("where, expected", [
    ("hobbies != 'golf'", ["1", "2"]),
    ("NOT (hobbies = 'golf')", ["1", "2"]),
    ("hobbies NOT IN ('chess')", ["1", "2"]),
    ("hobbies = 'chess;golf'", ["1"]),
    ("hobbies IN ('chess;golf', 'tennis')", ["1", "2"]),
    ("hobbies = 'golf'", []),
    ("hobbies IN ('tennis', 'golf')", ["2"]),
    ("hobbies IS NOT NULL", ["1", "2"]),
])
def test_multiple_checkbox_properties_lose_no_rows(small, monkeypatch, where, expected):
    sim, url = small
    sql = f"SELECT id FROM hubspot.contacts WHERE {where}"
    with federation(url, monkeypatch, objects=["contacts"]) as fed:
        assert _same_with_and_without_pushdown(fed, sql) == expected
        fed.sql(sql)
        assert all(p["fidelity"] == "inexact" for p in fed.last_stats.scans[0].pushed)
    for body in sim.stats.search_bodies:  # only single options, never a negation
        for group in body["filterGroups"]:
            for f in group["filters"]:
                if f["propertyName"] == "hobbies":
                    assert f["operator"] in ("EQ", "IN", "HAS_PROPERTY")
                    assert ";" not in json.dumps(f)


def _add_company(sim: HubSpotSimulator, rid: str, name: str) -> None:
    companies = sim.portal.objects["companies"]
    companies.records.append(dataclasses.replace(
        companies.records[0], id=rid, properties={"hs_object_id": rid, "name": name},
        archived=False, archived_at=None))
    sim.reload()


@pytest.mark.parametrize("where", [
    "name IN ('Straße GmbH')", "name IN ('Straße GmbH', 'Globex')", "name = 'Straße GmbH'",
    "name IN ('ΟΔΟΣ')",
])
def test_string_in_keeps_its_superset_when_lower_and_casefold_differ(small, monkeypatch,
                                                                     where):
    sim, url = small
    _add_company(sim, "7", "Straße GmbH")
    _add_company(sim, "8", "ΟΔΟΣ")
    sql = f"SELECT id FROM hubspot.companies WHERE {where}"
    with federation(url, monkeypatch, objects=["companies"]) as fed:
        assert _same_with_and_without_pushdown(fed, sql)


@pytest.mark.parametrize("where, expected", [
    ("id = 'abc'", []),
    ("id IN ('1', 'x')", ["1"]),
    ("id = '01'", []),
    ("id IN ('2', '3')", ["2", "3"]),
])
def test_ids_hubspot_cannot_parse_are_not_sent(small, monkeypatch, where, expected):
    sim, url = small
    sql = f"SELECT id FROM hubspot.deals WHERE {where}"
    with federation(url, monkeypatch) as fed:
        assert _same_with_and_without_pushdown(fed, sql) == expected
    for body in sim.stats.search_bodies:
        for group in body["filterGroups"]:
            for f in group["filters"]:
                assert all(v.isdigit() for v in [f.get("value", "0"), *f.get("values", [])])


def test_long_in_lists_stay_under_the_3000_character_body_limit(small, monkeypatch):
    sim, url = small
    names = ", ".join(f"'company number {n:04d}'" for n in range(120))
    domains = ", ".join(f"'domain-{n:04d}.example.com'" for n in range(70))
    names70 = ", ".join(f"'company number {n:04d}'" for n in range(70))
    with federation(url, monkeypatch, objects=["companies"]) as fed:
        # one IN too long on its own; then two that fit alone but not together
        alone = f"SELECT id FROM hubspot.companies WHERE name IN ({names}, 'Globex')"
        assert _same_with_and_without_pushdown(fed, alone) == ["4"]
        both = (f"SELECT id FROM hubspot.companies WHERE name IN ({names70}, 'acme labs') "
                f"AND domain IN ({domains}, 'labs.acme.io')")
        assert _same_with_and_without_pushdown(fed, both) == ["2"]
        assert fed.sql(both + " LIMIT 1").num_rows == 1
    assert sim.stats.search_bodies  # the part that fits is still searched
    _search_bodies_within_limits(sim)
    assert sim.stats.responses_by_status[400] == 0


def test_a_page_mixing_iso_and_epoch_dates_reads(small, monkeypatch):
    sim, url = small
    deals = {r.id: r for r in sim.portal.objects["deals"].records}
    deals["2"].properties["closedate"] = "1705521304281"  # 2024-01-17T19:55:04.281Z
    companies = {r.id: r for r in sim.portal.objects["companies"].records}
    companies["2"].properties["founded"] = "1422662400000"  # 2015-01-31
    sim.reload()
    with federation(url, monkeypatch, objects=["deals", "companies"]) as fed:
        dates = fed.sql("SELECT id, closedate FROM hubspot.deals WHERE id IN ('1', '2')")
        founded = fed.sql("SELECT id, founded FROM hubspot.companies WHERE id IN ('1', '2')")
    by_id = {r["id"]: r["closedate"] for r in dates.to_pylist()}
    assert by_id["2"].isoformat() == "2024-01-17T19:55:04.281000+00:00"
    assert by_id["1"].isoformat() == "2024-03-01T10:00:00+00:00"
    assert {r["id"]: str(r["founded"]) for r in founded.to_pylist()} == {
        "1": "1999-05-01", "2": "2015-01-31"}


@pytest.mark.parametrize("kind, body", [
    ("list", {}), ("list", {"results": "oops"}), ("list", {"paging": "x"}),
    ("list", {"results": [], "paging": "x"}), ("list", {"results": [{"id": "1"}]}),
    ("list", ["not", "an", "object"]),
    ("search", {}), ("search", {"results": "oops"}), ("search", {"paging": "x"}),
    ("search", {"results": [{"id": "1", "properties": {"amount": "10"}}],
                "paging": {"next": {"after": "x"}}}),
])
def test_json_without_the_documented_shape_is_a_source_error(small, monkeypatch, kind, body):
    sim, url = small
    sql = "SELECT id FROM hubspot.deals" + (" WHERE amount > 5" if kind == "search" else "")
    with federation(url, monkeypatch) as fed:
        fed.tables("hubspot")
        sim.inject(status=200, body=body, kinds=[kind])
        with pytest.raises(SourceError, match=r"^hubspot\.deals: answered /crm/v3/objects/deals"):
            fed.sql(sql)


def test_standard_objects_need_no_custom_schema_scope(small, monkeypatch):
    sim, url = small
    sim.inject(status=403, count=100, kinds=["schemas"])
    with federation(url, monkeypatch, objects=["deals", "companies"]) as fed:
        assert fed.sql("SELECT count(*) AS n FROM hubspot.deals").column("n")[0].as_py() > 0
        assert "cars" not in fed.tables("hubspot")
    assert sim.stats.requests_by_kind["schemas"] == 0


def test_without_the_schema_scope_all_objects_means_standard_ones(small, monkeypatch, caplog):
    sim, url = small
    sim.inject(status=403, count=100, kinds=["schemas"])
    with federation(url, monkeypatch) as fed, caplog.at_level("WARNING"):
        tables = fed.tables("hubspot")
        assert "deals" in tables and "cars" not in tables
        assert fed.sql("SELECT id FROM hubspot.deals WHERE amount > 5").num_rows > 0
    assert "custom objects" in caplog.text and "MISSING_SCOPES" in caplog.text


def test_a_named_custom_object_without_the_schema_scope_says_which_scope(small, monkeypatch):
    sim, url = small
    sim.inject(status=403, count=100, kinds=["schemas"])
    with federation(url, monkeypatch, objects=["deals", "cars"]) as fed, \
            pytest.raises(AuthenticationError, match="crm.schemas.custom.read"):
        fed.tables("hubspot")
    sim.clear_faults()
    with federation(url, monkeypatch, objects=["deals", "cars"]) as fed:
        assert "cars" in fed.tables("hubspot")
