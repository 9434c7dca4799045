"""The audit ledger as users meet it: every entry point appends a record (the Python API,
the CLI, the wire server), failures included, and ``concord audit verify|show`` check and
read it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import QueryError
from federation.pgwire.server import running
from sandbox.run import DEMO_USER, demo_secret
from tests.conftest import write_catalog

CONCORD = str(Path(sys.executable).parent / "concord")
SQL = "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 90000 ORDER BY Id"


def _catalog(sandbox, folder: Path) -> dict:
    raw = sandbox.catalog()
    raw["governance"] = {"audit_ledger": str(folder / "audit" / "ledger.jsonl")}
    return raw


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CONCORD, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_every_query_is_recorded_with_what_it_read_and_returned(sandbox, tmp_path):
    with Federation(parse_catalog(_catalog(sandbox, tmp_path), base_dir=tmp_path)) as fed:
        answer = fed.sql(SQL, user="ana")
        with pytest.raises(QueryError):
            fed.sql("SELECT Amout FROM salesforce.Opportunity", user="ana")
        with running(fed) as server, psycopg.connect(
                f"host=127.0.0.1 port={server.port} user={DEMO_USER} "
                f"password={demo_secret(DEMO_USER)} dbname=concord sslmode=disable",
                autocommit=True) as con:
            wire_rows = con.execute(SQL).fetchall()
        records = list(fed.ledger.records())
    assert [(r["user"], r["outcome"]) for r in records] == [
        ("ana", "ok"), ("ana", "error"), (DEMO_USER, "ok")]
    first, failed, wire = records
    assert first["sql"] == SQL and first["sources"] == ["salesforce"]
    assert first["rows"] == answer.num_rows == len(wire_rows) == wire["rows"] > 0
    assert "Amount > 90000" in first["requests"][0]["request"]
    assert first["rewritten_sql"] and "__scan_0" in first["rewritten_sql"]
    digest = hashlib.sha256()
    for batch in answer.to_batches():
        digest.update(batch.serialize())
    assert first["result_sha256"] == digest.hexdigest()
    assert "Amout" in failed["error"] and failed["rows"] == 0
    assert fed.ledger.verify().ok


def test_concord_audit_show_and_verify(sandbox, tmp_path):
    catalog = str(write_catalog(tmp_path / "catalog.yaml", _catalog(sandbox, tmp_path)))
    for user in ("bob", "cleo"):
        done = cli("query", "-c", catalog, "--user", user, "--format", "json", SQL)
        assert done.returncode == 0, done.stderr
    shown = cli("audit", "show", "-c", catalog, "--user", "bob", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["user"], r["sql"]) for r in records] == [("bob", SQL)]
    assert cli("audit", "show", "-c", catalog, "--source", "hubspot", "-f", "json"
               ).stdout == ""
    since = cli("audit", "show", "-c", catalog, "--since", "2999-01-01", "-f", "json")
    assert since.returncode == 0 and since.stdout == ""
    verified = cli("audit", "verify", "-c", catalog)
    assert verified.returncode == 0 and "2 records, chain intact" in verified.stdout
    ledger = tmp_path / "audit" / "ledger.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    ledger.write_text(lines[0].replace('"user":"bob"', '"user":"eve"') + lines[1],
                      encoding="utf-8")
    tampered = cli("audit", "verify", "-c", catalog)
    assert tampered.returncode == 1
    assert "record 1 (line 1) was edited" in tampered.stdout
