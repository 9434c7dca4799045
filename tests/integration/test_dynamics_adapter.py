"""Dataverse specifics: paging, service-protection 429s, auth, drift, labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import AuthenticationError, SchemaMismatchError, SourceError
from sandbox.projections.dataverse_model import DataverseOrg
from sandbox.simulators.dynamics import DataverseSimConfig, DataverseSimulator
from tests.sandbox.test_dynamics_simulator import make_org

SECRET = "dv-secret"


def federation(url: str, org: DataverseOrg, monkeypatch, secret: str = SECRET,
               **retry: Any) -> Federation:
    monkeypatch.setenv("CONCORD_TEST_DV_SECRET", secret)
    raw = {
        "settings": {"cache_max_bytes": 0},
        "sources": {"dynamics": {
            "type": "dynamics", "url": url,
            "auth": {"client_id": "concord", "client_secret": {"env": "CONCORD_TEST_DV_SECRET"}},
            "retry": {"backoff_initial_seconds": 0.05, **retry},
            "options": {"tenant_id": org.tenant_id, "authority": url},
        }},
    }
    return Federation(parse_catalog(raw, base_dir=Path(".")))


@pytest.fixture()
def env() -> Iterator[tuple[DataverseSimulator, str]]:
    sim = DataverseSimulator(make_org(6000), DataverseSimConfig(clients={"concord": SECRET}))
    with sim.serve() as server:
        yield sim, server.url


def test_paging_follows_next_links(env, monkeypatch):
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        sim.reset_stats()
        result = fed.sql("SELECT contactid FROM dynamics.contacts")
    assert result.num_rows == 6000 == len(set(result.column("contactid").to_pylist()))
    assert sim.stats.requests_by_kind["data_next"] == 1  # 5000 + 1000


def test_service_protection_429_honours_retry_after(monkeypatch):
    config = DataverseSimConfig(clients={"concord": SECRET}, requests_per_window=6,
                                window_seconds=3)
    sim = DataverseSimulator(make_org(50), config)
    with sim.serve() as server, federation(server.url, sim.org, monkeypatch,
                                           budget=20) as fed:
        fed.tables("dynamics")
        sim.reset_limits()
        sim.reset_stats()
        retries = 0
        for _ in range(10):
            assert fed.sql("SELECT name FROM dynamics.accounts").num_rows == len(
                sim.org.entities["account"].records)
            retries += sum(s.retries for s in fed.last_stats.scans)
    assert sim.stats.responses_by_status[429] > 0
    assert retries == sim.stats.responses_by_status[429]  # each 429 retried, none lost


def test_wrong_secret(env, monkeypatch):
    sim, url = env
    with federation(url, sim.org, monkeypatch, secret="nope") as fed, \
            pytest.raises(AuthenticationError, match="dynamics: token request refused") as info:
        fed.sql("SELECT name FROM dynamics.accounts")
    assert "nope" not in str(info.value)


def test_column_that_changed_type_names_both_types(env, monkeypatch):
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        account = sim.org.entities["account"]
        attributes = [dataclasses.replace(a, attribute_type="String")
                      if a.logical_name == "revenue" else a for a in account.attributes]
        records = [{**r, "revenue": "lots"} for r in account.records]
        sim.org.entities["account"] = dataclasses.replace(account, attributes=attributes,
                                                          records=records)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT name, revenue FROM dynamics.accounts")
    message = str(info.value)
    assert message.startswith("dynamics.accounts.revenue:")
    assert "'lots'" in message and "discovered as Money, now String" in message


def test_removed_column_is_named(env, monkeypatch):
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        account = sim.org.entities["account"]
        attributes = [a for a in account.attributes if a.logical_name != "accountnumber"]
        sim.org.entities["account"] = dataclasses.replace(account, attributes=attributes)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT accountnumber FROM dynamics.accounts")
    message = str(info.value)
    assert message.startswith("dynamics.accounts.accountnumber: is no longer returned")
    assert "discovered as String, now missing" in message
    assert "rediscovers the schema on the next query" in message
    assert info.value.field == "accountnumber"


def test_choice_labels_and_label_pushdown(env, monkeypatch):
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        sim.reset_stats()
        labels = fed.sql("SELECT industrycode, industrycode_label FROM dynamics.accounts "
                         "WHERE industrycode_label = 'Accounting'")
    assert set(labels.column("industrycode_label").to_pylist()) == {"Accounting"}
    assert "$filter=(industrycode eq 1)" in sim.stats.data_requests[-1].replace("+", " ")


def test_in_lists_use_the_in_function(env, monkeypatch):
    sim, url = env
    sql = ("SELECT name, industrycode FROM dynamics.accounts WHERE industrycode IN (1, 3) "
           "AND name IN ('Acme Corp', 'ACME LABS', 'O''Brien & Sons', 'under_score Ltd')")
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        sim.reset_stats()
        pushed = fed.sql(sql)
        sent = sim.stats.data_requests[-1].replace("+", " ")
        superset = sim.stats.rows_returned
        local = fed.sql(sql, pushdown=False)
    assert "Microsoft.Dynamics.CRM.In(PropertyName='industrycode',PropertyValues=['1','3'])" \
        in sent
    assert "Microsoft.Dynamics.CRM.In(PropertyName='name',PropertyValues=['Acme Corp'," in sent
    assert " or " not in sent
    # Dataverse matches 'ACME LABS' to 'acme labs' (case-insensitive); DuckDB drops it again
    assert superset == 3
    assert sorted(pushed.to_pylist(), key=str) == sorted(local.to_pylist(), key=str) == [
        {"name": "Acme Corp", "industrycode": 1}, {"name": "under_score Ltd", "industrycode": 1}]


def test_choice_that_became_text_fails_its_label(env, monkeypatch):
    """Only the label selected: the missing FormattedValue must not read as NULL labels."""
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        account = sim.org.entities["account"]
        attributes = [dataclasses.replace(a, attribute_type="String", options=())
                      if a.logical_name == "industrycode" else a for a in account.attributes]
        sim.org.entities["account"] = dataclasses.replace(account, attributes=attributes)
        with pytest.raises(SchemaMismatchError) as info:
            fed.sql("SELECT industrycode_label FROM dynamics.accounts")
    message = str(info.value)
    assert message.startswith("dynamics.accounts.industrycode:")
    assert "industrycode_label" in message and "discovered as Picklist, now String" in message


def test_value_outside_the_option_set_has_a_null_label(env, monkeypatch):
    """Still a choice column: a value without a label is NULL, not drift."""
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        account = sim.org.entities["account"]
        records = [{**r, "industrycode": 99} if i == 0 else r
                   for i, r in enumerate(account.records)]
        sim.org.entities["account"] = dataclasses.replace(account, records=records)
        result = fed.sql("SELECT industrycode, industrycode_label FROM dynamics.accounts "
                         "WHERE industrycode = 99")
    assert result.to_pylist() == [{"industrycode": 99, "industrycode_label": None}]


@pytest.mark.parametrize("body", [{}, {"value": "x"}, {"value": ["x"]}, [],
                                  {"value": [], "@odata.nextLink": 5}])
def test_malformed_json_is_a_source_error(env, monkeypatch, body):
    sim, url = env
    with federation(url, sim.org, monkeypatch) as fed:
        fed.tables("dynamics")
        sim.inject(status=200, body=body, kinds=["data"])
        try:
            with pytest.raises(SourceError) as info:
                fed.sql("SELECT name FROM dynamics.accounts")
        finally:
            sim.clear_faults()
    assert type(info.value) is SourceError  # not drift: the schema did not change
    assert str(info.value).startswith("dynamics.accounts: malformed response")
