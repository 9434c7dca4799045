"""HubSpot's official Python SDK (hubspot-api-client) must work against the simulator.

The SDK is generated from HubSpot's OpenAPI specs, so it deserializes responses into typed
models and follows ``paging.next.after`` itself; if the simulator's shapes drift from the
real API, these calls fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.deals import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
)
from hubspot.crm.deals.exceptions import ApiException

from sandbox.simulators.hubspot import HubSpotSimConfig, HubSpotSimulator
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_hubspot_simulator import NO_LIMITS, TOKEN, make_portal

N_FILLER = 240  # 5 active hand-made deals + 240 fillers = 245 -> 3 pages of 100


@pytest.fixture(scope="module")
def sim() -> HubSpotSimulator:
    return HubSpotSimulator(
        make_portal(n_filler_deals=N_FILLER, n_line_items=0), HubSpotSimConfig(**NO_LIMITS)
    )


@pytest.fixture(scope="module")
def server(sim: HubSpotSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture()
def client(server: RunningServer, sim: HubSpotSimulator) -> HubSpot:
    sim.reset_stats()
    return HubSpot(access_token=TOKEN, host=server.url)


def test_get_all_deals_follows_pages(client: HubSpot, sim: HubSpotSimulator) -> None:
    deals = client.crm.deals.get_all(properties=["dealname", "amount", "dealstage"])
    assert len(deals) == 5 + N_FILLER
    assert sim.stats.requests_by_kind["list"] == 3
    assert sim.stats.pages_served == 3
    first = deals[0]
    assert first.id == "1"
    assert first.properties["dealname"] == "Big Deal"
    assert first.properties["amount"] == "1000000"
    assert first.archived is False
    assert first.created_at.year == 2024  # parsed into a datetime by the SDK
    assert [d.id for d in deals] == [str(n) for n in (1, 2, 3, 4, 5, *range(7, 7 + N_FILLER))]


def test_search_deals(client: HubSpot, sim: HubSpotSimulator) -> None:
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[
                    Filter(property_name="amount", operator="GTE", value="5000"),
                    Filter(
                        property_name="dealstage", operator="IN", values=["closedwon", "closedlost"]
                    ),
                ]
            )
        ],
        sorts=[{"propertyName": "amount", "direction": "DESCENDING"}],
        properties=["dealname", "amount"],
        limit=10,
    )
    page = client.crm.deals.search_api.do_search(public_object_search_request=request)
    assert page.total == 2
    assert [r.id for r in page.results] == ["1", "3"]
    assert page.results[1].properties["dealname"] == "Medium Deal"
    assert page.paging is None
    body = sim.stats.search_bodies[-1]
    assert body["filterGroups"][0]["filters"][1]["values"] == ["closedwon", "closedlost"]


def test_search_paging_with_sdk(client: HubSpot) -> None:
    after = None
    seen: list[str] = []
    while True:
        request = PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[
                        Filter(property_name="dealname", operator="CONTAINS_TOKEN", value="filler")
                    ]
                )
            ],
            limit=100,
            after=after,
        )
        page = client.crm.deals.search_api.do_search(public_object_search_request=request)
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(seen) == N_FILLER
    assert page.total == N_FILLER


def test_sdk_raises_on_validation_error(client: HubSpot) -> None:
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="nope", operator="EQ", value="x")])
        ]
    )
    with pytest.raises(ApiException) as info:
        client.crm.deals.search_api.do_search(public_object_search_request=request)
    assert info.value.status == 400
    assert "VALIDATION_ERROR" in info.value.body


def test_sdk_reads_one_deal_and_associations(client: HubSpot) -> None:
    deal = client.crm.deals.basic_api.get_by_id(deal_id="2", properties=["dealname"])
    assert deal.properties["dealname"] == "small deal"
    page = client.crm.associations.v4.basic_api.get_page(
        object_type="deals", object_id="1", to_object_type="contacts"
    )
    assert [str(r.to_object_id) for r in page.results] == ["1", "2"]
    pipelines = client.crm.pipelines.pipelines_api.get_all(object_type="deals")
    assert pipelines.results[0].stages[2].id == "closedwon"
    props = client.crm.properties.core_api.get_all(object_type="deals")
    assert "dealstage" in {p.name for p in props.results}
    owners = client.crm.owners.owners_api.get_page(limit=2)
    assert owners.results[0].email == "owner1@example.com"
