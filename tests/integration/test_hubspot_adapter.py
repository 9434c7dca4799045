"""HubSpot specifics: the 10,000 search cap, filter limits, rate limits, schema drift."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import AuthenticationError, SchemaMismatchError
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
