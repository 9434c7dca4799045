"""The real simple-salesforce client (hard-coded https) must work against the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from sandbox.simulators.salesforce import SalesforceSimConfig, SalesforceSimulator
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_salesforce_simulator import make_org

TOKEN = "sandbox-token"
N_CONTACTS = 4500  # three pages at the default batch size of 2000


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway CA and a server certificate for localhost/127.0.0.1."""
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_path, server_pem = d / "ca.pem", d / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    return ca_path, server_pem


@pytest.fixture(scope="module")
def sim() -> SalesforceSimulator:
    return SalesforceSimulator(make_org(N_CONTACTS), SalesforceSimConfig(static_tokens=(TOKEN,)))


@pytest.fixture(scope="module")
def server(sim: SalesforceSimulator, tls: tuple[Path, Path]) -> Iterator[RunningServer]:
    _, pem = tls
    with sim.serve(ssl_certfile=str(pem), ssl_keyfile=str(pem)) as running:
        yield running


def _client(server: RunningServer, ca: Path, token: str = TOKEN) -> Salesforce:
    session = requests.Session()
    # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify (psf/requests
    # #3829), so ignore the environment: trust only the test CA, no proxies for loopback.
    session.trust_env = False
    session.verify = str(ca)
    return Salesforce(
        session_id=token,
        instance_url=f"https://127.0.0.1:{server.port}",
        session=session,
        version="59.0",
    )


def test_query_all_follows_every_page_over_tls(
    server: RunningServer, sim: SalesforceSimulator, tls: tuple[Path, Path]
) -> None:
    assert server.url.startswith("https://")
    sf = _client(server, tls[0])
    sim.reset_stats()
    result = sf.query_all("SELECT Id, LastName, Account.Name FROM Contact")
    ids = [r["Id"] for r in result["records"]]
    assert result["totalSize"] == N_CONTACTS
    assert len(ids) == len(set(ids)) == N_CONTACTS
    assert result["records"][0]["Account"]["Name"] == "Acme Corp"
    assert sim.stats.requests_by_kind["query"] == 1
    assert sim.stats.requests_by_kind["query_more"] == 2
    usage = sf.api_usage["api-usage"]
    assert usage.total == 15000 and usage.used == sim.api_usage


def test_include_deleted_uses_query_all_endpoint(
    server: RunningServer, tls: tuple[Path, Path]
) -> None:
    sf = _client(server, tls[0])
    live = sf.query("SELECT Name FROM Account")
    every = sf.query("SELECT Name FROM Account", include_deleted=True)
    assert every["totalSize"] == live["totalSize"] + 1


def test_errors_map_to_simple_salesforce_exceptions(
    server: RunningServer, tls: tuple[Path, Path]
) -> None:
    with pytest.raises(SalesforceExpiredSession) as expired:
        _client(server, tls[0], token="bogus").query("SELECT Id FROM Account")
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    with pytest.raises(SalesforceMalformedRequest) as bad:
        _client(server, tls[0]).query("SELECT Nme FROM Account")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
