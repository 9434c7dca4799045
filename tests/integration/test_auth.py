"""Authentication modes: OAuth client credentials, a given token, and session refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import AuthenticationError, CatalogError


def federation_with_auth(sandbox, auth) -> Federation:
    raw = sandbox.catalog()
    raw["settings"]["cache_max_bytes"] = 0
    raw["sources"]["salesforce"]["auth"] = auth
    return Federation(parse_catalog(raw, base_dir=Path(".")))


def test_given_access_token_from_environment(sandbox, salesforce_sim, truth, monkeypatch):
    monkeypatch.setenv("CONCORD_TEST_SF_TOKEN", salesforce_sim.config.static_tokens[0])
    with federation_with_auth(sandbox, {"access_token": {"env": "CONCORD_TEST_SF_TOKEN"}}) as fed:
        salesforce_sim.reset_stats()
        users = fed.sql("SELECT count(*) AS n FROM salesforce.User").column("n")[0].as_py()
        assert users == truth.sql("SELECT count(*) FROM salesforce.User").fetchall()[0][0]
        assert salesforce_sim.stats.requests_by_kind.get("token", 0) == 0


def test_bad_access_token_is_an_authentication_error(sandbox, monkeypatch):
    monkeypatch.setenv("CONCORD_TEST_SF_TOKEN", "forged")
    with federation_with_auth(sandbox, {"access_token": {"env": "CONCORD_TEST_SF_TOKEN"}}) as fed, \
            pytest.raises(AuthenticationError, match="INVALID_SESSION_ID"):
        fed.sql("SELECT Id FROM salesforce.User")


def test_expired_session_is_renewed_once(sandbox, salesforce_sim):
    auth = sandbox.catalog()["sources"]["salesforce"]["auth"]
    with federation_with_auth(sandbox, auth) as fed:
        fed.sql("SELECT Id FROM salesforce.User")
        salesforce_sim.revoke_tokens()  # the org expires every session
        salesforce_sim.reset_stats()
        assert fed.sql("SELECT Id FROM salesforce.Account").num_rows > 0
        assert salesforce_sim.stats.requests_by_kind["token"] == 1
        assert salesforce_sim.stats.responses_by_status[401] == 1


def test_catalog_without_credentials_is_refused(sandbox):
    with federation_with_auth(sandbox, {"client_id": "x"}) as fed, \
            pytest.raises(CatalogError, match="needs either access_token or client_id and "
                                           "client_secret"):
        fed.sql("SELECT Id FROM salesforce.User")
