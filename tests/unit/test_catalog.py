"""Catalog loading: every mistake is named by its key path."""

from pathlib import Path

import pytest

from federation.catalog import load_catalog, parse_catalog
from federation.errors import CatalogError

GOOD = {
    "sources": {
        "salesforce": {
            "type": "salesforce",
            "url": "http://127.0.0.1:1",
            "auth": {"client_id": "x", "client_secret": {"env": "CONCORD_TEST_SECRET"}},
        }
    }
}


def source(**changes):
    entry = {**GOOD["sources"]["salesforce"], **changes}
    return {"sources": {"salesforce": entry}}


def error_of(raw) -> str:
    with pytest.raises(CatalogError) as info:
        parse_catalog(raw, base_dir=Path("."))
    return str(info.value)


def test_committed_catalog_is_valid():
    catalog = load_catalog(Path(__file__).parents[2] / "catalog.yaml")
    assert catalog.sources["salesforce"].type == "salesforce"
    assert catalog.credentials("salesforce").get("client_secret")


@pytest.mark.parametrize("raw, expected", [
    (source(type="salesfroce"), "sources.salesforce.type: unknown source type 'salesfroce'"),
    (source(url="ftp://x"), "sources.salesforce.url: must start with http:// or https://"),
    (source(retry={"budgett": 3}), "sources.salesforce.retry.budgett: unknown key (did you mean "
                                   "budget?)"),
    (source(retry={"budget": -1}), "sources.salesforce.retry.budget: Input should be greater"),
    (source(options={"batch_size": 5}), "sources.salesforce.options.batch_size: Input should be "
                                        "greater than or equal to 200"),
    (source(auth={"client_secret": {"env": "A", "file": "b"}}),
     "sources.salesforce.auth.client_secret: give exactly one of env: or file:"),
    ({"sources": {"Sales Force": GOOD["sources"]["salesforce"]}}, "must be a lowercase identifier"),
    ({"source": {}}, "source: unknown key (did you mean sources?)"),
    ({"sources": {"concord": GOOD["sources"]["salesforce"]}}, "'concord' is reserved"),
    ({**GOOD, "model": {"fiscal_year_start_month": 13}},
     "model.fiscal_year_start_month: Input should be less than or equal to 12"),
    ({**GOOD, "model": {"identity": {"auto_merge_probabilty": 0.9}}},
     "model.identity.auto_merge_probabilty: unknown key (did you mean auto_merge_probability?)"),
    ({**GOOD, "model": {"identity": {"auto_merge_probability": 0.5,
                                     "review_probability": 0.9}}},
     "review_probability must not exceed auto_merge_probability"),
    ({**GOOD, "model": {"system_of_record": {"credit_limit": {"systems": ["netsuite"]}}}},
     "model.system_of_record.credit_limit.systems names 'netsuite', not a source in this "
     "catalog (sources: salesforce)"),
    ({**GOOD, "model": {"system_of_record": {"credit_limit": {"systems": ["salesforce"],
                                                              "rule": "newest"}}}},
     "model.system_of_record.credit_limit.rule: Input should be 'priority', 'most_recent' or "
     "'most_frequent'"),
    ({**GOOD, "governance": {"users": {"ann": {"role": "analyst"}}, "roles": {"analyst": {
        "row_filters": {"salesforce.Account": "Id IN (SELECT AccountId FROM x)"}}}}},
     "governance.roles.analyst: row_filters['salesforce.Account'] reads another relation"),
    ({**GOOD, "governance": {"roles": {"analyst": {"masks": {"*.email": "left({column}, "}}}}},
     "governance.roles.analyst: masks['*.email'] does not parse as SQL"),
    ({**GOOD, "governance": {"users": {"ann": {"role": "analist"}}, "roles": {"analyst": {}}}},
     "governance.users.ann.role names 'analist', not a role in governance.roles"),
    ({**GOOD, "governance": {"dashboard_login": True, "users": {"ann": {"role": "a"}},
                             "roles": {"a": {}}}},
     "governance.dashboard_login needs users with a password"),
    ([], "expected a mapping"),
])
def test_invalid_entries_name_their_key_path(raw, expected):
    assert expected in error_of(raw)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(CatalogError, match="cannot read catalog"):
        load_catalog(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  sf: [unclosed\n")
    with pytest.raises(CatalogError, match="invalid YAML at line"):
        load_catalog(bad)


def test_secrets_from_env_and_file(tmp_path, monkeypatch):
    (tmp_path / "secret.txt").write_text("from-file\n")
    raw = source(auth={"client_id": "id", "client_secret": {"file": "secret.txt"},
                       "access_token": {"env": "CONCORD_TEST_TOKEN"}})
    catalog = parse_catalog(raw, base_dir=tmp_path)
    creds = catalog.credentials("salesforce")
    assert creds.get("client_secret") == "from-file"
    assert creds.describe("client_secret") == "file secret.txt"
    monkeypatch.delenv("CONCORD_TEST_TOKEN", raising=False)
    with pytest.raises(CatalogError, match="environment variable CONCORD_TEST_TOKEN is not set"):
        creds.get("access_token")
    monkeypatch.setenv("CONCORD_TEST_TOKEN", "tok")
    assert creds.get("access_token") == "tok"
    missing = parse_catalog(source(auth={"client_secret": {"file": "gone"}}), base_dir=tmp_path)
    with pytest.raises(CatalogError, match="sources.salesforce.auth.client_secret: cannot read"):
        missing.credentials("salesforce").get("client_secret")


# -- secrets only from env: or file: -----------------------------------------------------


@pytest.mark.parametrize("key", ["client_secret", "access_token", "refresh_token", "password",
                                 "token_secret", "consumer_secret", "consumer_key", "token_id",
                                 "private_key", "api_key", "Client_Secret", "something_new"])
def test_inline_secret_is_refused_naming_its_key_path(key):
    message = error_of(source(auth={"client_id": "x", key: "inline-secret-value"}))
    assert (f"sources.salesforce.auth.{key}: a secret must not be written in the catalog, "
            "use {env: VAR} or {file: PATH}") in message
    assert "inline-secret-value" not in message


def test_each_inline_secret_is_named():
    message = error_of(source(auth={"client_secret": "s1", "access_token": "t1"}))
    assert "sources.salesforce.auth.client_secret: a secret" in message
    assert "sources.salesforce.auth.access_token: a secret" in message


@pytest.mark.parametrize("key", ["user", "username", "client_id", "account_id", "realm_id",
                                 "tenant_id"])
def test_identifiers_may_be_plain(key):
    raw = source(auth={key: "concord", "client_secret": {"env": "CONCORD_TEST_SECRET"}})
    assert parse_catalog(raw, base_dir=Path(".")).credentials("salesforce").get(key) == "concord"


def test_sandbox_catalog_references_every_secret(tmp_path):
    from sandbox.run import PORT_OFFSETS, sandbox_catalog

    urls = {name: f"http://127.0.0.1:{18100 + offset}" for name, offset in PORT_OFFSETS.items()}
    raw = sandbox_catalog(urls, tenant_id="t", account_id="TSTDRV1", realm_id="1",
                          data_dir=tmp_path)
    catalog = parse_catalog(raw, base_dir=tmp_path)
    assert catalog.credentials("salesforce").describe("client_secret").startswith("file ")


# -- every problem at once ---------------------------------------------------------------


def test_every_problem_is_reported_at_once():
    bad = {**GOOD["sources"]["salesforce"], "url": "ftp://x", "retry": {"budgett": 3},
           "options": {"batch_size": 5}, "auth": {"client_secret": "inline"}}
    raw = {"sources": {"Sales": bad,
                       "hubspot": {"type": "hubspot", "url": "http://127.0.0.1:1",
                                   "auth": {"access_token": {"env": "X"}},
                                   "options": {"search_requests_per_secnd": 4}}},
           "model": {"system_of_record": {"credit_limit": {"systems": ["netsuite"]}}}}
    message = error_of(raw)
    for expected in [
        "sources.Sales: source name 'Sales' must be a lowercase identifier",
        "sources.Sales.url: must start with http:// or https://",
        "sources.Sales.retry.budgett: unknown key (did you mean budget?)",
        "sources.Sales.auth.client_secret: a secret must not be written in the catalog",
        "sources.Sales.options.batch_size: Input should be greater than or equal to 200",
        "sources.hubspot.options.search_requests_per_secnd: unknown key (did you mean "
        "search_requests_per_second?)",
        "model.system_of_record.credit_limit.systems names 'netsuite', not a source",
    ]:
        assert expected in message
    assert message.count("; ") == 6 and "\n" not in message
