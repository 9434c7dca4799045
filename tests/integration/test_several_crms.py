"""Several CRMs as one: same-type sources side by side, the demo catalog, the crosswalk."""

from __future__ import annotations

from pathlib import Path

import yaml

from federation.catalog import load_catalog, parse_catalog
from federation.engine import Federation
from sandbox.run import DEFAULT_DATA_DIR, DEFAULT_PORT_BASE, PORT_OFFSETS, sandbox_catalog
from sandbox.world import CROSSWALK_SCHEMA
from tests.conftest import normalize

ROOT = Path(__file__).resolve().parents[2]


def test_two_orgs_of_the_same_crm_are_two_schemas(sandbox, truth):
    raw = sandbox.catalog()
    sf = raw["sources"].pop("salesforce")
    raw["sources"] = {"salesforce_us": dict(sf), "salesforce_emea": dict(sf)}
    raw["model"]["system_of_record"] = {}  # the sandbox's rules name the other sources
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        both = fed.sql("SELECT 'us' AS org, count(*) AS n FROM salesforce_us.Opportunity "
                       "UNION ALL SELECT 'emea', count(*) FROM salesforce_emea.Opportunity")
        scans = {s.source for s in fed.last_stats.scans}
    expected = truth.sql("SELECT count(*) FROM salesforce.Opportunity").fetchall()[0][0]
    assert sorted(both.to_pylist(), key=str) == [{"org": "emea", "n": expected},
                                                 {"org": "us", "n": expected}]
    assert scans == {"salesforce_us", "salesforce_emea"}


def test_committed_catalog_is_the_sandbox_on_default_ports():
    committed = load_catalog(ROOT / "catalog.yaml")
    urls = {name: f"http://127.0.0.1:{DEFAULT_PORT_BASE + offset}"
            for name, offset in PORT_OFFSETS.items()}
    tenant = committed.sources["dynamics"].options["tenant_id"]
    account = committed.sources["netsuite"].options["account_id"]
    realm = committed.sources["quickbooks"].options["realm_id"]
    expected = sandbox_catalog(urls, tenant_id=tenant, account_id=account, realm_id=realm,
                               data_dir=DEFAULT_DATA_DIR, secret_dir=Path("sandbox/demo-secrets"),
                               steward_file=Path("sandbox/stewardship/account_overrides.csv"))
    raw = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    assert raw == expected
    assert set(committed.sources) == {"salesforce", "hubspot", "dynamics", "netsuite", "sap",
                                      "oracle", "quickbooks", "legacy_erp", "files"}
    for name in committed.sources:  # every referenced secret file exists
        creds = committed.credentials(name)
        if committed.sources[name].auth:
            assert any(creds.get(k) for k in ("client_secret", "access_token", "password"))


def test_one_query_across_all_three_crms(fed, truth):
    sql = """
        SELECT 'salesforce' AS crm, count(*) AS open_deals FROM salesforce.Opportunity
        WHERE NOT IsClosed
        UNION ALL
        SELECT 'hubspot', count(*) FROM hubspot.deals WHERE NOT hs_is_closed
        UNION ALL
        SELECT 'dynamics', count(*) FROM dynamics.opportunities WHERE statecode = 0
    """
    assert normalize(fed.sql(sql)) == normalize(truth.sql(sql).to_arrow_table())
    assert {s.source for s in fed.last_stats.scans} == {"salesforce", "hubspot", "dynamics"}


def test_crosswalk_links_records_across_systems(sandbox, fed):
    crosswalk = sandbox.world.crosswalk
    assert crosswalk.schema.names == CROSSWALK_SCHEMA.names
    customers = [r for r in crosswalk.to_pylist() if r["entity"] == "customer"]
    sf_keys = {r["Id"]: r["Customer_Key__c"] for r in
               fed.sql("SELECT Id, Customer_Key__c FROM salesforce.Account").to_pylist()}
    hubspot_ids = set(fed.sql("SELECT id FROM hubspot.companies").column("id").to_pylist())
    in_sf = {r["truth_id"] for r in customers
             if r["system"] == "salesforce" and r["record_id"] in sf_keys}
    in_hs = {r["truth_id"] for r in customers
             if r["system"] == "hubspot" and r["record_id"] in hubspot_ids}
    assert len(in_sf & in_hs) > 10, "customers of both business units live in both CRMs"
    for row in customers:  # every live Salesforce record maps back to its truth customer
        if row["system"] == "salesforce" and row["record_id"] in sf_keys:
            assert sf_keys[row["record_id"]] == row["truth_id"]
