"""The `concord` command as users run it: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import write_catalog

CONCORD = str(Path(sys.executable).parent / "concord")


def run(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([CONCORD, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def catalog(sandbox, tmp_path_factory) -> str:
    return str(write_catalog(tmp_path_factory.mktemp("cli") / "catalog.yaml", sandbox.catalog()))


def test_query_json_with_stats(catalog, truth):
    sql = "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 90000 ORDER BY Id"
    proc = run("query", "-c", catalog, "--format", "json", "--stats", sql)
    rows = json.loads(proc.stdout)
    assert [r["Id"] for r in rows] == [r[0] for r in truth.sql(sql).fetchall()]
    stats = json.loads(proc.stderr)
    assert stats["scans"][0]["native_request"].endswith("WHERE Amount > 90000")
    assert stats["rows_returned"] == len(rows)


def test_no_pushdown_same_answer_no_filters_sent(catalog):
    sql = "SELECT count(*) AS n FROM salesforce.Opportunity WHERE IsWon"
    pushed = json.loads(run("query", "-c", catalog, "-f", "json", sql).stdout)
    proc = run("query", "-c", catalog, "-f", "json", "--stats", "--no-pushdown", sql)
    assert json.loads(proc.stdout) == pushed
    scan = json.loads(proc.stderr)["scans"][0]
    assert "WHERE" not in scan["native_request"] and scan["pushed"] == []


def test_csv_and_parquet_outputs(catalog, tmp_path):
    sql = "SELECT Id, Name FROM salesforce.Account ORDER BY Id LIMIT 3"
    run("query", "-c", catalog, "-f", "csv", "-o", str(tmp_path / "a.csv"), sql)
    lines = (tmp_path / "a.csv").read_text().splitlines()
    assert lines[0] == '"Id","Name"' and len(lines) == 4
    run("query", "-c", catalog, "-f", "parquet", "-o", str(tmp_path / "a.parquet"), sql)
    assert pq.read_table(tmp_path / "a.parquet").num_rows == 3


def test_table_output(catalog):
    proc = run("query", "-c", catalog, "SELECT count(*) AS n FROM salesforce.User")
    assert "n" in proc.stdout and "1 row" in proc.stdout


def test_explain_text_and_json(catalog):
    sql = ("SELECT Name FROM salesforce.Opportunity "
           "WHERE StageName = 'Closed Won' AND lower(Name) LIKE 'a%'")
    text = run("explain", "-c", catalog, sql).stdout
    assert "native request: SELECT Name, StageName FROM Opportunity WHERE StageName = " \
           "'Closed Won'" in text
    assert "inexact, re-applied by DuckDB" in text
    assert "local only: LOWER(Name) LIKE 'a%'" in text
    plan = json.loads(run("explain", "-c", catalog, "--format", "json", sql).stdout)
    assert plan["scans"][0]["local_only"] == ["LOWER(Name) LIKE 'a%'"]
    assert plan["scans"][0]["pushed"][0]["fidelity"] == "inexact"


def test_sources_lists_tables_and_columns(catalog):
    listing = run("sources", "-c", catalog).stdout
    assert "Opportunity" in listing and "Competitor__c" in listing
    columns = run("sources", "-c", catalog, "--table", "Opportunity").stdout
    assert "CloseDate" in columns and "date32" in columns and "Region__c" in columns


def test_errors_are_one_line_without_traceback(catalog):
    proc = run("query", "-c", catalog, "SELECT Amout FROM salesforce.Opportunity", check=False)
    assert proc.returncode == 1
    assert "error: unknown column salesforce.Opportunity.Amout — did you mean Amount?" in \
        proc.stderr.replace("\n", " ")
    assert "Traceback" not in proc.stderr
    debug = run("--debug", "query", "-c", catalog, "SELECT Amout FROM salesforce.Opportunity",
                check=False)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_invalid_catalog_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  salesforce:\n    type: salesforce\n    url: ftp://x\n")
    proc = run("query", "-c", str(bad), "SELECT 1", check=False)
    assert proc.returncode == 1
    assert "sources.salesforce.url: must start with http:// or https://" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_sandbox_command_serves_until_interrupted(tmp_path):
    out = tmp_path / "catalog.yaml"
    proc = subprocess.Popen(
        [CONCORD, "sandbox", "--port-base", "0", "--scale", "0.05",
         "--catalog-out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not out.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert out.exists(), proc.stderr.read() if proc.poll() is not None else "timeout"
        result = run("query", "-c", str(out), "-f", "json",
                     "SELECT count(*) AS n FROM salesforce.Opportunity")
        assert json.loads(result.stdout)[0]["n"] > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode == 0


@pytest.mark.slow
def test_demo_runs_end_to_end():
    proc = run("demo", "--scale", "0.05", timeout=180)
    assert "sent: SELECT" in proc.stdout  # SOQL
    assert "sent: POST /crm/v3/objects/deals/search" in proc.stdout  # HubSpot search
    assert "sent: GET /api/data/v9.2/incidents?$select=" in proc.stdout  # Dataverse OData
    assert "LIMIT 5" in proc.stdout  # the top-N example is pushed
    assert "applied locally" in proc.stdout or "inexact" in proc.stdout


def test_dashboard_refuses_a_bad_catalog_without_a_traceback(tmp_path):
    proc = run("dashboard", "-c", str(tmp_path / "missing.yaml"), "--port", "1", check=False)
    assert proc.returncode == 1
    assert "missing.yaml" in proc.stderr and "Traceback" not in proc.stderr
