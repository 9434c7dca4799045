"""Start the whole sandbox company: every simulated system on its own loopback port.

Used by ``concord sandbox`` (foreground), ``concord demo`` (background, free ports),
tests and benchmarks. The default ports match the committed ``catalog.yaml``.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox.company import (
    AMOUNT_TOLERANCE_MIN_USD,
    AMOUNT_TOLERANCE_PCT,
    CORPORATE_CURRENCY,
    WON_GRACE_DAYS,
)
from sandbox.simulators.dynamics import DataverseSimConfig, DataverseSimulator
from sandbox.simulators.hubspot import HubSpotSimConfig, HubSpotSimulator
from sandbox.simulators.netsuite import NetSuiteSimConfig, NetSuiteSimulator
from sandbox.simulators.oracle import OracleFusionSimulator, OracleSimConfig
from sandbox.simulators.quickbooks import QuickBooksSimConfig, QuickBooksSimulator
from sandbox.simulators.salesforce.app import SalesforceSimConfig, SalesforceSimulator
from sandbox.simulators.sap import SapSimConfig, SapSimulator
from sandbox.simulators.serve import RunningServer, serve_in_thread
from sandbox.storage import write_exports, write_legacy_sqlite
from sandbox.world import World, build_world

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT_BASE = 18100
# system name → port offset from the base; later systems take the next offsets
PORT_OFFSETS = {"salesforce": 1, "hubspot": 2, "dynamics": 3, "netsuite": 4, "sap": 5,
                "oracle": 6, "quickbooks": 7}
SAP_USER = "CONCORD_COMM"
ORACLE_USER = "concord.integration"
LEGACY_FILE = "legacy_erp.sqlite"
EXPORTS_DIR = "exports"
DEFAULT_DATA_DIR = Path("sandbox-data")  # what the committed catalog points at
DEMO_CLIENT_ID = "concord-demo"
SECRETS_DIR = Path(__file__).resolve().parent / "demo-secrets"
# the data steward's must-link / cannot-link decisions (empty until a steward decides)
STEWARD_FILE = Path(__file__).resolve().parent / "stewardship" / "account_overrides.csv"
SECRET_FILES = {
    "salesforce": "salesforce-client-secret",
    "hubspot": "hubspot-access-token",
    "dynamics": "dynamics-client-secret",
    "netsuite": "netsuite-access-token",
    "sap": "sap-password",
    "oracle": "oracle-password",
    "quickbooks": "quickbooks-access-token",
    "analyst": "concord-analyst-password",  # the wire server's demo login (concord serve)
}
DEMO_USER = "analyst"
SALESFORCE_SECRET_FILE = SECRETS_DIR / SECRET_FILES["salesforce"]


def demo_secret(system: str) -> str:
    return (SECRETS_DIR / SECRET_FILES[system]).read_text(encoding="utf-8").strip()


def demo_salesforce_secret() -> str:
    return demo_secret("salesforce")


@dataclass
class Sandbox:
    """Running simulators plus the catalog that points at them."""

    simulators: dict[str, Any]
    world: World
    data_dir: Path
    servers: dict[str, RunningServer] = field(default_factory=dict)
    owns_data_dir: bool = False
    seed: int = 42
    scale: float = 1.0
    # the day the world was generated for, when pinned (tests): views use it as "today"
    today: dt.date | None = None

    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}

    def catalog(self, secret_dir: Path | None = None) -> dict[str, Any]:
        return sandbox_catalog(self.urls(), tenant_id=self.world.dynamics.tenant_id,
                               account_id=self.world.netsuite.account_id,
                               realm_id=self.world.quickbooks.realm_id,
                               data_dir=self.data_dir.resolve(), secret_dir=secret_dir,
                               as_of_date=self.today)

    def write_catalog(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.catalog(), sort_keys=False), encoding="utf-8")
        return path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        if self.owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def sandbox_catalog(urls: dict[str, str], *, tenant_id: str, account_id: str, realm_id: str,
                    data_dir: Path, secret_dir: Path | None = None,
                    as_of_date: dt.date | None = None,
                    steward_file: Path = STEWARD_FILE) -> dict[str, Any]:
    """The catalog for a sandbox at ``urls``; secrets are referenced, never inlined."""
    secrets = secret_dir or SECRETS_DIR

    def secret(system: str) -> dict[str, str]:
        return {"file": str(secrets / SECRET_FILES[system])}

    return {
        "version": 1,
        "settings": {"cache_max_bytes": 268435456, "max_parallel_scans": 8},
        "model": model_settings(as_of_date, steward_file),
        "server": {"users": {DEMO_USER: {"password": secret(DEMO_USER)}}},
        "sources": {
            "salesforce": {
                "type": "salesforce",
                "url": urls["salesforce"],
                "description": "Main sales org (Salesforce REST API, SOQL)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"client_id": DEMO_CLIENT_ID, "client_secret": secret("salesforce")},
                "options": {"api_version": "59.0"},
            },
            "hubspot": {
                "type": "hubspot",
                "url": urls["hubspot"],
                "description": "Acquired subsidiary's CRM (HubSpot CRM API v3)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "requests_per_second": 15,  # HubSpot allows 150-190 per 10 s per app
                "retry": {"max_attempts": 6, "budget": 30},
                "auth": {"access_token": secret("hubspot")},
                "options": {"search_requests_per_second": 4},
            },
            "dynamics": {
                "type": "dynamics",
                "url": urls["dynamics"],
                "description": "Customer service (Dynamics 365 / Dataverse Web API)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"client_id": DEMO_CLIENT_ID, "client_secret": secret("dynamics")},
                "options": {"tenant_id": tenant_id, "authority": urls["dynamics"]},
            },
            "netsuite": {
                "type": "netsuite",
                "url": urls["netsuite"],
                "description": "Main ERP (NetSuite SuiteQL over REST)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,  # NetSuite allows 5 concurrent requests per account
                "timeout_seconds": 30,
                "retry": {"max_attempts": 6, "budget": 30},
                "auth": {"access_token": secret("netsuite")},
                "options": {"account_id": account_id},
            },
            "sap": {
                "type": "sap",
                "url": urls["sap"],
                "description": "European subsidiary's ERP (SAP S/4HANA Cloud, OData v2)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"user": SAP_USER, "password": secret("sap")},
            },
            "oracle": {
                "type": "oracle",
                "url": urls["oracle"],
                "description": "Industrial division's ERP (Oracle Fusion Cloud REST)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"user": ORACLE_USER, "password": secret("oracle")},
            },
            "quickbooks": {
                "type": "quickbooks",
                "url": urls["quickbooks"],
                "description": "UK subsidiary's books (QuickBooks Online Accounting API)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,  # QuickBooks allows 10 concurrent requests per realm
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"access_token": secret("quickbooks")},
                # the sale's "CRM Deal ID" custom field links it to its CRM deal
                "options": {"realm_id": realm_id,
                            "custom_fields": {"CRMDealId": "CRM Deal ID"}},
            },
            "legacy_erp": {
                "type": "sql",
                "url": f"sqlite:{data_dir / LEGACY_FILE}",
                "description": "Old on-premises ERP: orders before the NetSuite migration",
                "cache_ttl_seconds": 3600,
            },
            "files": {
                "type": "files",
                "url": f"file:{data_dir / EXPORTS_DIR}",
                "description": "Finance exports: quotas and the price book",
                "cache_ttl_seconds": 3600,
                "options": {"tables": {
                    "quotas": {"path": "quotas/quotas_*.xlsx", "format": "xlsx",
                               "add_source_column": "source_file"},
                    "price_book": {"path": "price_book.csv", "format": "csv"},
                }},
            },
        },
    }


CRMS = ["salesforce", "hubspot", "dynamics"]
ERPS = ["netsuite", "sap", "quickbooks", "oracle", "legacy_erp"]


def system_of_record() -> dict[str, dict[str, Any]]:
    """Who owns which customer field: the CRMs own relationship data (owner, segment,
    industry, web domain, phone), the ERPs own what an order makes binding (legal name,
    tax id, billing address, currency, credit, payment terms); the old ERP comes last
    because its customer master was migrated into NetSuite."""
    def crm_first(rule: str = "priority") -> dict[str, Any]:
        return {"systems": CRMS + ERPS, "rule": rule}

    def erp_first(rule: str = "priority") -> dict[str, Any]:
        return {"systems": ERPS + CRMS, "rule": rule}

    def erp_only() -> dict[str, Any]:
        return {"systems": list(ERPS), "rule": "priority"}

    def crm_only() -> dict[str, Any]:
        return {"systems": list(CRMS), "rule": "priority"}

    return {
        "customer_name": crm_first(), "legal_name": erp_only(), "tax_id": erp_only(),
        "domain": crm_first(), "email": erp_first(), "phone": crm_first(),
        "billing_street": erp_first(), "billing_city": erp_first(),
        "billing_state": erp_first(), "billing_postal_code": erp_first(),
        "billing_country": erp_first(), "industry": crm_only(), "segment": crm_only(),
        "region": crm_only(), "account_owner": crm_only(), "currency_code": erp_only(),
        "credit_limit": erp_only(), "balance": erp_only(), "payment_terms": erp_only(),
    }


def model_settings(as_of_date: dt.date | None = None,
                   steward_file: Path = STEWARD_FILE) -> dict[str, Any]:
    """The unified model as the sandbox company runs it (the catalog's ``model:``)."""
    model: dict[str, Any] = {
        "corporate_currency": CORPORATE_CURRENCY,
        "fiscal_year_start_month": 1,
        "reconciliation": {"amount_tolerance_pct": AMOUNT_TOLERANCE_PCT,
                           "amount_tolerance_min": AMOUNT_TOLERANCE_MIN_USD,
                           "won_grace_days": WON_GRACE_DAYS},
        "identity": {"auto_merge_probability": 0.99, "review_probability": 0.5,
                     "steward_overrides": str(steward_file)},
        "system_of_record": system_of_record(),
    }
    if as_of_date is not None:
        model["as_of_date"] = as_of_date
    return model


def build_simulators(world: World) -> dict[str, Any]:
    return {
        "salesforce": SalesforceSimulator(
            world.salesforce,
            SalesforceSimConfig(clients={DEMO_CLIENT_ID: demo_secret("salesforce")})),
        "hubspot": HubSpotSimulator(
            world.hubspot, HubSpotSimConfig(tokens=(demo_secret("hubspot"),))),
        "dynamics": DataverseSimulator(
            world.dynamics,
            DataverseSimConfig(clients={DEMO_CLIENT_ID: demo_secret("dynamics")})),
        "netsuite": NetSuiteSimulator(
            world.netsuite, NetSuiteSimConfig(bearer_tokens=(demo_secret("netsuite"),))),
        "sap": SapSimulator(world.sap, SapSimConfig(users={SAP_USER: demo_secret("sap")})),
        "quickbooks": QuickBooksSimulator(
            world.quickbooks,
            QuickBooksSimConfig(bearer_tokens=(demo_secret("quickbooks"),))),
        "oracle": OracleFusionSimulator(
            world.oracle, OracleSimConfig(users={ORACLE_USER: demo_secret("oracle")})),
    }


def start_sandbox(*, seed: int = 42, scale: float = 1.0, port_base: int = DEFAULT_PORT_BASE,
                  host: str = DEFAULT_HOST, today: dt.date | None = None,
                  data_dir: Path | None = None) -> Sandbox:
    """Serve every simulator; ``port_base=0`` picks free ports.

    The legacy ERP database and the file exports are written under ``data_dir`` (a
    temporary folder, removed at stop, when not given).
    """
    world = build_world(seed=seed, scale=scale, today=today)
    owns = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="concord-sandbox-")) if owns else Path(data_dir)
    write_legacy_sqlite(world.legacy, folder / LEGACY_FILE)
    write_exports(world.files, folder / EXPORTS_DIR)
    sandbox = Sandbox(build_simulators(world), world, folder, seed=seed, scale=scale,
                      owns_data_dir=owns, today=today)
    try:
        for name, simulator in sandbox.simulators.items():
            port = port_base + PORT_OFFSETS[name] if port_base else 0
            sandbox.servers[name] = serve_in_thread(simulator.app, host=host, port=port)
    except BaseException:
        sandbox.stop()
        raise
    return sandbox
