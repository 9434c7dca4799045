"""The PyPI ``python-quickbooks`` client (0.9.x) reads invoices from the simulator.

The client POSTs statements as ``application/text`` to ``{api_url_v3}/company/{id}/query``
with ``minorversion``; ``api_url_v3`` is a class attribute, so setting it on the instance
points one client at the loopback simulator. ``auth_client`` is duck-typed (intuit-oauth's
``AuthClient`` would fetch a discovery document over the network at construction). The
client sends through requests-oauthlib's ``OAuth2Session``, which refuses plain http unless
oauthlib's documented ``OAUTHLIB_INSECURE_TRANSPORT`` switch is set, as the tests do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from quickbooks import QuickBooks
from quickbooks.exceptions import AuthorizationException, ValidationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice

from sandbox.company import generate_company
from sandbox.projections.erp_model import QuickBooksCompany
from sandbox.projections.quickbooks import project_quickbooks
from sandbox.simulators.quickbooks import QuickBooksSimConfig, QuickBooksSimulator

TOKEN = "python-quickbooks-token"


@dataclass
class FakeAuthClient:
    """What ``QuickBooks`` reads from intuit-oauth's ``AuthClient``."""

    access_token: str | None = TOKEN
    refresh_token: str = "refresh"
    client_id: str = "client-id"
    environment: str = "production"


@pytest.fixture(scope="module")
def company() -> QuickBooksCompany:
    return project_quickbooks(generate_company(seed=3, scale=0.3))


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture(scope="module")
def server(company: QuickBooksCompany) -> Iterator[QuickBooksSimulator]:
    sim = QuickBooksSimulator(company, QuickBooksSimConfig(bearer_tokens=(TOKEN,)))
    with sim.serve() as running:
        sim.url = running.url  # type: ignore[attr-defined]
        yield sim


def client(server: QuickBooksSimulator, company: QuickBooksCompany,
           token: str = TOKEN) -> QuickBooks:
    qb = QuickBooks(auth_client=FakeAuthClient(access_token=token),
                    company_id=company.realm_id, minorversion=75)
    qb.api_url_v3 = server.url + "/v3"  # type: ignore[attr-defined]
    return qb


def test_all_filter_and_count_invoices(server: QuickBooksSimulator,
                                       company: QuickBooksCompany) -> None:
    qb = client(server, company)
    invoices = Invoice.all(max_results=1000, qb=qb)
    assert sorted(i.Id for i in invoices) == sorted(o["Id"] for o in company.entities["Invoice"])
    first = company.entities["Invoice"][0]
    got = next(i for i in invoices if i.Id == first["Id"])
    assert got.TotalAmt == first["TotalAmt"] and got.DocNumber == first["DocNumber"]
    assert got.CustomerRef.value == first["CustomerRef"]["value"]
    assert len([li for li in got.Line if li.DetailType == "SalesItemLineDetail"]) == len(
        first["Line"]) - 1
    paged = Invoice.all(start_position=3, max_results=5, order_by="TotalAmt DESC", qb=qb)
    amounts = sorted((o["TotalAmt"] for o in company.entities["Invoice"]), reverse=True)
    assert [i.TotalAmt for i in paged] == amounts[2:7]
    since = dt.date(2025, 6, 1).isoformat()
    recent = Invoice.where(f"TxnDate >= '{since}'", qb=qb)
    assert {i.Id for i in recent} == {o["Id"] for o in company.entities["Invoice"]
                                      if o["TxnDate"] >= since}
    assert Invoice.count(qb=qb) == len(company.entities["Invoice"])
    name = company.entities["Customer"][0]["DisplayName"]
    assert [c.DisplayName for c in Customer.filter(DisplayName=name, qb=qb)] == [name]
    assert server.stats.minorversions["75"] >= 5


def test_errors_surface_as_client_exceptions(server: QuickBooksSimulator,
                                             company: QuickBooksCompany) -> None:
    with pytest.raises(ValidationException):
        Invoice.where("TotalAmt > 1 OR TotalAmt < 0", qb=client(server, company))
    with pytest.raises(AuthorizationException):
        Invoice.all(qb=client(server, company, token="wrong"))
