"""pgJDBC (Debian's libpostgresql-jdbc-java, Java 17) against the wire server: what
DBeaver, Metabase and Tableau need from DatabaseMetaData, prepared statements and
setFetchSize. `./run test` installs the driver with apt when it is missing."""

from __future__ import annotations

import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.pgwire.server import running
from sandbox.run import DEMO_USER, demo_secret

JAR = Path("/usr/share/java/postgresql.jar")
PROBE = Path(__file__).with_name("JdbcProbe.java")
pytestmark = pytest.mark.skipif(
    not JAR.exists() or shutil.which("javac") is None,
    reason="pgJDBC or a JDK is missing (apt-get install libpostgresql-jdbc-java "
           "openjdk-17-jdk-headless); ./run test installs the driver")


def test_jdbc_metadata_prepared_statements_and_fetch_size(sandbox, tmp_path):
    subprocess.run(["javac", "-d", str(tmp_path), "-cp", str(JAR), str(PROBE)], check=True,
                   capture_output=True, timeout=120)
    with Federation(parse_catalog(sandbox.catalog(), base_dir=Path("."))) as fed, \
            running(fed) as server:
        out = subprocess.run(
            ["java", "-cp", f"{JAR}:{tmp_path}", "JdbcProbe", str(server.port), DEMO_USER,
             demo_secret(DEMO_USER), "pipeline_summary"],
            capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-2000:]
        seen: dict[str, list[str]] = defaultdict(list)
        for line in out.stdout.splitlines():
            key, _, value = line.partition(" ")
            seen[key].append(value)
        assert seen["product"] == ["PostgreSQL"]
        assert {"public", "salesforce", "hubspot", "netsuite"} <= set(seen["schema"])
        assert sorted(seen["view"]) == fed.views.names()
        assert sorted(seen["table"]) == sorted(fed.tables("salesforce"))
        columns = fed.describe("SELECT * FROM pipeline_summary")
        assert [c.split()[0] for c in seen["column"]] == columns.names
        assert "fiscal_year int8 -5" in seen["column"]  # java.sql.Types.BIGINT
        expected = [fed.sql("SELECT count(*) AS n FROM salesforce.Opportunity "
                            f"WHERE Amount > {i * 10000.0}").to_pylist()[0]["n"]
                    for i in range(6)]
        assert [int(n) for n in seen["count"]] == expected
        total = fed.sql("SELECT count(*) AS n FROM salesforce.Opportunity").to_pylist()[0]["n"]
        assert seen["fetched"] == [str(total)] and total > 50  # several fetches of 50
