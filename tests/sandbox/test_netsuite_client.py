"""The PyPI ``netsuite`` client (jacobsvante/netsuite) runs SuiteQL against the simulator.

The client signs every request with TBA (OAuth 1.0a HMAC-SHA256 via authlib, realm = the
account id, ``limit``/``offset`` in the signed URL, an ``oauth_body_hash`` of the JSON body),
so this proves the simulator verifies signatures the way a real, independent client makes
them. ``suiteql(..., url=...)`` is the client's documented way to override the URL.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.simulators.netsuite import (
    SUITEQL_PATH,
    NetSuiteSimConfig,
    NetSuiteSimulator,
    TbaCredential,
)
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_netsuite_simulator import ACCOUNT, make_account

with warnings.catch_warnings():
    # authlib warns that its httpx integration prefers the httpx2 package.
    warnings.simplefilter("ignore")
    import netsuite
    from netsuite.exceptions import NetsuiteAPIRequestError

CRED = TbaCredential("client-ck", "client-cs", "client-tk", "client-ts")


@pytest.fixture(scope="module")
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(make_account(), NetSuiteSimConfig(tba_credentials=(CRED,)))


@pytest.fixture(scope="module")
def server(sim: NetSuiteSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


def _client(cred: TbaCredential = CRED) -> Any:
    auth = netsuite.TokenAuth(
        consumer_key=cred.consumer_key,
        consumer_secret=cred.consumer_secret,
        token_id=cred.token_id,
        token_secret=cred.token_secret,
    )
    return netsuite.NetSuite(netsuite.Config(account=ACCOUNT, auth=auth))


def test_netsuite_client_pages_through_suiteql(
    server: RunningServer, sim: NetSuiteSimulator
) -> None:
    ns = _client()
    url = server.url + SUITEQL_PATH
    q = "SELECT id, tranid, trandate, BUILTIN.DF(entity) AS customer FROM transaction ORDER BY id"

    async def all_pages() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await ns.rest_api.suiteql(q=q, limit=2, offset=offset, url=url)
            rows.extend(page["items"])
            if not page["hasMore"]:
                return rows
            offset += page["count"]

    sim.reset_stats()
    rows = asyncio.run(all_pages())
    assert [r["tranid"] for r in rows] == ["SO1001", "INV1002", "PYMT1003", "CM1004", "INV1005"]
    assert rows[0] == {
        "links": [],
        "id": "1001",
        "tranid": "SO1001",
        "trandate": "1/15/2024",
        "customer": "Acme Corp",
    }
    assert sim.stats.pages_served == 3 and not sim.stats.auth_failures
    assert sim.stats.queries == [q] * 3


def test_netsuite_client_sees_netsuite_errors(
    server: RunningServer, sim: NetSuiteSimulator
) -> None:
    url = server.url + SUITEQL_PATH
    with pytest.raises(NetsuiteAPIRequestError) as bad_field:
        asyncio.run(_client().rest_api.suiteql(q="SELECT nope FROM item", url=url))
    assert bad_field.value.status_code == 400
    assert "Unknown identifier 'nope'" in bad_field.value.response_text

    wrong = TbaCredential(CRED.consumer_key, CRED.consumer_secret, CRED.token_id, "wrong")
    with pytest.raises(NetsuiteAPIRequestError) as denied:
        asyncio.run(_client(wrong).rest_api.suiteql(q="SELECT id FROM item", url=url))
    assert denied.value.status_code == 401
    assert "INVALID_LOGIN" in denied.value.response_text
    assert sim.tba.last_reason == "signature mismatch"
