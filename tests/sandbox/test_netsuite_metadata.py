"""The simulator's REST metadata catalog: NetSuite's documented JSON Schema per record."""

from __future__ import annotations

import httpx

from sandbox.simulators.netsuite import METADATA_PATH, NetSuiteSimulator
from tests.sandbox.test_netsuite_simulator import BEARER, _config, make_account


def test_metadata_catalog_serves_json_schema_in_field_order() -> None:
    sim = NetSuiteSimulator(make_account(), _config())
    headers = {"Authorization": f"Bearer {BEARER}", "Accept": "application/schema+json"}
    with sim.serve() as running, httpx.Client(base_url=running.url, timeout=10) as c:
        r = c.get(f"{METADATA_PATH}/customer", headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/schema+json")
        props = r.json()["properties"]
        assert list(props) == ["id", "entityid", "companyname", "email", "isinactive",
                               "subsidiary", "salesrep", "datecreated"]
        assert props["id"]["type"] == "integer" and props["subsidiary"]["type"] == "integer"
        assert props["isinactive"]["type"] == "boolean"
        assert (props["datecreated"]["type"], props["datecreated"]["format"]) == (
            "string", "date-time")
        tx = c.get(f"{METADATA_PATH}/transaction", headers=headers).json()["properties"]
        assert (tx["trandate"]["type"], tx["trandate"]["format"]) == ("string", "date")
        assert tx["foreigntotal"]["type"] == "number" and tx["tranid"]["type"] == "string"
        listing = c.get(METADATA_PATH, headers=headers).json()
        assert "customer" in [i["name"] for i in listing["items"]]
        missing = c.get(f"{METADATA_PATH}/nothing", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
        assert c.get(f"{METADATA_PATH}/customer").status_code == 401
        assert c.post(f"{METADATA_PATH}/customer", headers=headers).status_code == 405
    assert sim.stats.requests_by_kind["metadata"] == 6
