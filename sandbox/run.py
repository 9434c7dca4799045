"""Start the whole sandbox company: every simulated system on its own loopback port.

Used by ``concord sandbox`` (foreground), ``concord demo`` (background, free ports),
tests and benchmarks. The default ports match the committed ``catalog.yaml``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox.projections.salesforce import demo_org
from sandbox.simulators.salesforce.app import SalesforceSimConfig, SalesforceSimulator
from sandbox.simulators.serve import RunningServer, serve_in_thread

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT_BASE = 18100
# system name → port offset from the base; later systems take the next offsets
PORT_OFFSETS = {"salesforce": 1}
DEMO_CLIENT_ID = "concord-demo"
SECRETS_DIR = Path(__file__).resolve().parent / "demo-secrets"
SALESFORCE_SECRET_FILE = SECRETS_DIR / "salesforce-client-secret"


def demo_salesforce_secret() -> str:
    return SALESFORCE_SECRET_FILE.read_text(encoding="utf-8").strip()


@dataclass
class Sandbox:
    """Running simulators plus the catalog that points at them."""

    simulators: dict[str, Any]
    servers: dict[str, RunningServer] = field(default_factory=dict)
    seed: int = 42
    scale: float = 1.0

    def urls(self) -> dict[str, str]:
        return {name: server.url for name, server in self.servers.items()}

    def catalog(self, secret_dir: Path | None = None) -> dict[str, Any]:
        return sandbox_catalog(self.urls(), secret_dir=secret_dir)

    def write_catalog(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.catalog(), sort_keys=False), encoding="utf-8")
        return path

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def sandbox_catalog(urls: dict[str, str], *, secret_dir: Path | None = None) -> dict[str, Any]:
    """The catalog for a sandbox at ``urls``; secrets are referenced, never inlined."""
    secret = (secret_dir or SECRETS_DIR) / SALESFORCE_SECRET_FILE.name
    return {
        "version": 1,
        "settings": {"cache_max_bytes": 268435456, "max_parallel_scans": 8},
        "sources": {
            "salesforce": {
                "type": "salesforce",
                "url": urls["salesforce"],
                "description": "Main sales org (Salesforce REST API, SOQL)",
                "cache_ttl_seconds": 300,
                "max_concurrency": 4,
                "timeout_seconds": 30,
                "retry": {"max_attempts": 5, "budget": 20},
                "auth": {"client_id": DEMO_CLIENT_ID, "client_secret": {"file": str(secret)}},
                "options": {"api_version": "59.0"},
            }
        },
    }


def build_simulators(seed: int = 42, scale: float = 1.0,
                     today: dt.date | None = None) -> dict[str, Any]:
    org = demo_org(seed=seed, scale=scale, today=today)
    config = SalesforceSimConfig(clients={DEMO_CLIENT_ID: demo_salesforce_secret()})
    return {"salesforce": SalesforceSimulator(org, config)}


def start_sandbox(*, seed: int = 42, scale: float = 1.0, port_base: int = DEFAULT_PORT_BASE,
                  host: str = DEFAULT_HOST, today: dt.date | None = None) -> Sandbox:
    """Serve every simulator; ``port_base=0`` picks free ports."""
    sandbox = Sandbox(build_simulators(seed, scale, today), seed=seed, scale=scale)
    try:
        for name, simulator in sandbox.simulators.items():
            port = port_base + PORT_OFFSETS[name] if port_base else 0
            sandbox.servers[name] = serve_in_thread(simulator.app, host=host, port=port)
    except BaseException:
        sandbox.stop()
        raise
    return sandbox
