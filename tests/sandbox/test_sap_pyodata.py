"""SAP's own Python OData v2 client (pyodata) must work against the SAP simulator unchanged.

pyodata builds its model from ``$metadata`` (the real EDMX), sends ``Accept:
application/json``, parses ``d.results``/``__count``/``__next`` and the ``/Date(...)/``
forms, and rejects a ``__next`` whose scheme/host differ from the service root; it does not
follow ``__next`` by itself: the caller loops with ``.next_url(...)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyodata
import pytest
import requests
from pyodata.exceptions import HttpError

from sandbox.simulators.sap import SapSimConfig, SapSimulator
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_sap_simulator import ORDERS, PASSWORD, USER, make_system

N = 700
PAGE = 250


@pytest.fixture(scope="module")
def sim() -> SapSimulator:
    return SapSimulator(make_system(N), SapSimConfig(page_size=PAGE, max_page_size=300))


@pytest.fixture(scope="module")
def server(sim: SapSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Any:
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    return pyodata.Client(f"{server.url}/sap/opu/odata/sap/API_SALES_ORDER_SRV/", session)


def read_all(client: Any, select: str) -> tuple[list[Any], int, int | None]:
    """The pyodata idiom for server-driven paging: re-issue with next_url until it is None."""
    entity_set = client.entity_sets.A_SalesOrder
    batch = entity_set.get_entities().select(select).count(inline=True).execute()
    total = batch.total_count
    rows, pages = list(batch), 1
    while batch.next_url is not None:
        batch = entity_set.get_entities().next_url(batch.next_url).execute()
        rows.extend(batch)
        pages += 1
    return rows, pages, total


def test_pyodata_reads_all_pages(client: Any, sim: SapSimulator) -> None:
    sim.reset_stats()
    rows, pages, total = read_all(client, select="SalesOrder,SoldToParty,CreationDate")
    assert total == N
    assert pages == -(-N // PAGE)
    assert [r.SalesOrder for r in rows] == [o["SalesOrder"] for o in ORDERS[:N]]
    assert sim.stats.requests_by_kind["metadata"] == 0  # fetched once, at client creation
    assert sim.stats.requests_by_kind["next"] == pages - 1


def test_pyodata_typed_values(client: Any) -> None:
    order = client.entity_sets.A_SalesOrder.get_entity("0000000003").execute()
    src = ORDERS[2]
    assert order.SalesOrder == "0000000003"
    assert order.CreationDate == dt.datetime(2024, 1, 4, tzinfo=dt.UTC)
    assert order.LastChangeDateTime == src["LastChangeDateTime"]
    assert order.CompleteDeliveryIsDefined is False
    # pyodata has no Edm.Decimal conversion: it hands the string through (adapters must parse)
    assert order.TotalNetAmount == "21.50"


def test_pyodata_filters(client: Any) -> None:
    entity_set = client.entity_sets.A_SalesOrder
    acme = entity_set.get_entities().filter("SoldToParty eq 'ACME'").execute()
    assert {r.SoldToParty for r in acme} == {"ACME"}
    assert len(acme) == sum(1 for o in ORDERS[:N] if o["SoldToParty"] == "ACME")
    # pyodata's own expression builders: substringof, datetime literals, `in` as an or-chain
    contains = entity_set.get_entities().filter(SoldToParty__contains="cm").execute()
    assert {r.SoldToParty for r in contains} == {"acme"}  # case-sensitive like ABAP
    request = entity_set.get_entities()
    since = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    recent = request.filter(request.CreationDate >= since).execute()
    assert {r.SalesOrder for r in recent} == {
        o["SalesOrder"]
        for o in ORDERS[:N]
        if o["CreationDate"] is not None and o["CreationDate"] >= since.date()
    }
    chosen = entity_set.get_entities().filter(SoldToParty__in=["Globex", "INITECH"]).execute()
    assert {r.SoldToParty for r in chosen} == {"Globex", "INITECH"}


def test_pyodata_range_filter_is_refused_like_sap(client: Any) -> None:
    """pyodata's ``__range`` emits ``ge``-less ``gte``/``lte``, which SAP rejects with 400."""
    request = client.entity_sets.A_SalesOrder.get_entities().filter(
        SalesOrder__range=("0000000001", "0000000009")
    )
    with pytest.raises(HttpError) as excinfo:
        request.execute()
    assert excinfo.value.response.status_code == 400


def test_pyodata_count_and_top_skip(client: Any) -> None:
    entity_set = client.entity_sets.A_SalesOrder
    assert entity_set.get_entities().count().execute() == N
    page = entity_set.get_entities().top(5).skip(10).order_by("SalesOrder desc").execute()
    assert [r.SalesOrder for r in page] == [
        o["SalesOrder"] for o in sorted(ORDERS[:N], key=lambda o: o["SalesOrder"])[::-1][10:15]
    ]


def test_pyodata_refuses_cross_origin_next(server: RunningServer) -> None:
    """A simulator configured with a foreign base_url would break pyodata paging: prove it."""
    foreign = SapSimulator(
        make_system(20), SapSimConfig(page_size=5, base_url="http://elsewhere.example:1")
    )
    with foreign.serve() as running:
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        client = pyodata.Client(f"{running.url}/sap/opu/odata/sap/API_SALES_ORDER_SRV/", session)
        batch = client.entity_sets.A_SalesOrder.get_entities().execute()
        assert batch.next_url.startswith("http://elsewhere.example:1/")
        with pytest.raises(pyodata.exceptions.PyODataException, match="cross-origin"):
            client.entity_sets.A_SalesOrder.get_entities().next_url(batch.next_url).execute()
