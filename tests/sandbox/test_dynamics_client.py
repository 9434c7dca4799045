"""Microsoft's own Dataverse Python SDK must read rows from the simulator.

``PowerPlatform-Dataverse-Client`` refuses non-https base URLs, so the simulator is served
with TLS from a throwaway CA (trustme) that requests is told to trust through
``REQUESTS_CA_BUNDLE``. Authentication goes through a duck-typed azure-core
``TokenCredential`` that runs the Entra ID client-credentials flow against the simulator's
token endpoint, as ``ClientSecretCredential`` would against login.microsoftonline.com.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.config import DataverseConfig

from sandbox.simulators.dynamics import DataverseSimConfig, DataverseSimulator
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_dynamics_simulator import N_CONTACTS, make_org

FV = "OData.Community.Display.V1.FormattedValue"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_path, server_pem = d / "ca.pem", d / "server.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    return ca_path, server_pem


@pytest.fixture(scope="module")
def sim() -> DataverseSimulator:
    # No static tokens: the SDK must come through the token endpoint.
    return DataverseSimulator(make_org(), DataverseSimConfig(static_tokens=()))


@pytest.fixture(scope="module")
def server(sim: DataverseSimulator, tls: tuple[Path, Path]) -> Iterator[RunningServer]:
    _, pem = tls
    with sim.serve(ssl_certfile=str(pem), ssl_keyfile=str(pem)) as running:
        yield running


class SimulatorCredential:
    """azure-core TokenCredential: client credentials against the simulator's Entra endpoint."""

    def __init__(self, authority: str, tenant: str, ca: Path) -> None:
        self.url = f"{authority}/{tenant}/oauth2/v2.0/token"
        self.ca = str(ca)
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        form = {
            "grant_type": "client_credentials",
            "client_id": "concord",
            "client_secret": "concord-secret",
            "scope": " ".join(scopes),
        }
        verify = ssl.create_default_context(cafile=self.ca)
        with httpx.Client(verify=verify, trust_env=False) as c:
            r = c.post(self.url, data=form)
        r.raise_for_status()
        body = r.json()
        return AccessToken(body["access_token"], int(time.time()) + body["expires_in"])


@pytest.fixture()
def client(
    server: RunningServer,
    sim: DataverseSimulator,
    tls: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[DataverseClient]:
    ca, _ = tls
    # requests reads the CA bundle from the environment; keep loopback off any proxy.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    sim.reset_stats()
    base = server.url  # https://127.0.0.1:<port>
    credential = SimulatorCredential(base, sim.org.tenant_id, ca)
    with DataverseClient(base, credential, DataverseConfig()) as dv:
        yield dv
    assert credential.scopes and credential.scopes[0] == f"{base}/.default"


def test_sdk_reads_accounts_across_pages(client: DataverseClient, sim: DataverseSimulator) -> None:
    pages = list(
        client.records.list_pages(
            "account",
            select=["name", "revenue", "industrycode", "_ownerid_value"],
            filter="statecode eq 0",
            orderby=["name asc"],
            page_size=2,
            include_annotations=FV,
        )
    )
    assert [len(p) for p in pages] == [2, 2, 1]
    rows = [r for page in pages for r in page]
    assert [r["name"] for r in rows] == [
        "50% Off Inc",
        "Acme Corp",
        "acme labs",
        "O'Brien & Sons",
        "Zürich Versicherung",
    ]
    acme = rows[1]
    assert acme["revenue"] == 5_000_000.0
    assert acme[f"industrycode@{FV}"] == "Accounting"
    assert acme[f"_ownerid_value@{FV}"] == "Ada Owner"
    stats = sim.stats.to_dict()
    # The SDK resolved the entity set through EntityDefinitions, then followed nextLinks.
    assert stats["requests_by_kind"]["metadata"] >= 1
    assert stats["requests_by_kind"]["data"] == 1 and stats["requests_by_kind"]["data_next"] == 2


def test_sdk_default_paging_over_many_rows(
    client: DataverseClient, sim: DataverseSimulator
) -> None:
    result = client.records.list("contact", select=["fullname", "emailaddress1"])
    ids = {r["contactid"] for r in result}
    assert len(ids) == N_CONTACTS
    assert sim.stats.pages_served == 3  # 5000 + 5000 + 2000


def test_sdk_table_metadata_and_single_record(client: DataverseClient) -> None:
    info = client.tables.get("account")
    assert info is not None
    assert info["entity_set_name"] == "accounts"
    assert info["primary_id_attribute"] == "accountid"
    rows = client.records.list("account", filter="contains(name,'acme')", select=["name"])
    assert sorted(r["name"] for r in rows) == ["Acme Corp", "acme labs"]
