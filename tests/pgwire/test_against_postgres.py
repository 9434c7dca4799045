"""The same statements against a real PostgreSQL 15 and against Concord's wire server:
where the answers must match (column names, type OIDs, values in both formats, SQLSTATEs,
session settings), they do. PostgreSQL is the oracle for what "correct" looks like."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.pgwire.server import running
from sandbox.run import DEMO_USER, demo_secret
from tests import postgres

pytestmark = pytest.mark.skipif(not postgres.available(),
                                reason="PostgreSQL server binaries are missing; "
                                       "./run test installs them")

TYPED = ("SELECT CAST(42 AS BIGINT) AS i8, CAST(7 AS INTEGER) AS i4, "
         "CAST(12.345 AS NUMERIC(10, 3)) AS num, DATE '2026-06-15' AS d, "
         "CAST('2026-06-15 10:30:00.25+00' AS TIMESTAMPTZ) AS ts, CAST('héllo' AS TEXT) AS t, "
         "TRUE AS b, CAST(1.5 AS DOUBLE PRECISION) AS f, CAST(NULL AS INTEGER) AS n")
ERRORS = {
    "SELECT * FROM no_such_table": "42P01",
    "SELECT no_such_column FROM (SELECT 1 AS a) AS s": "42703",
}


@pytest.fixture(scope="module")
def dsns(sandbox) -> Iterator[dict[str, str]]:
    real = postgres.start_postgres()
    try:
        with Federation(parse_catalog(sandbox.catalog(), base_dir=Path("."))) as fed, \
                running(fed) as server:
            yield {"postgres": f"host=127.0.0.1 port={real.port} user=concord "
                               "dbname=postgres sslmode=disable",
                   "concord": f"host=127.0.0.1 port={server.port} user={DEMO_USER} "
                              f"password={demo_secret(DEMO_USER)} dbname=concord "
                              "sslmode=disable"}
    finally:
        real.stop()


def both(dsns: dict[str, str], run) -> dict[str, object]:
    out = {}
    for name, dsn in dsns.items():
        with psycopg.connect(dsn, autocommit=True) as con:
            out[name] = run(con)
    return out


@pytest.mark.parametrize("binary", [False, True])
def test_types_names_and_values_match(dsns, binary):
    def run(con):
        cur = con.cursor(binary=binary)
        row = cur.execute(TYPED).fetchone()
        return [(c.name, c.type_code) for c in cur.description], row

    answers = both(dsns, run)
    assert answers["concord"] == answers["postgres"]


def test_sqlstates_match_and_sessions_recover(dsns):
    def run(con):
        codes = {}
        for sql in ERRORS:
            with pytest.raises(psycopg.Error) as info:
                con.execute(sql)
            codes[sql] = info.value.sqlstate
        return codes, con.execute("SELECT 1").fetchone()

    answers = both(dsns, run)
    assert answers["concord"] == answers["postgres"] == (ERRORS, (1,))


def test_writes_in_a_read_only_transaction(dsns):
    def run(con):
        con.read_only = True
        con.autocommit = False
        with pytest.raises(psycopg.Error) as info:
            con.execute("CREATE TABLE t (a INTEGER)")
        con.rollback()
        return info.value.sqlstate

    assert both(dsns, run) == {"postgres": "25006", "concord": "25006"}


def test_session_settings_match(dsns):
    def run(con):
        return [con.execute(sql).fetchone()[0] for sql in (
            "SHOW transaction isolation level", "SHOW standard_conforming_strings",
            "SHOW client_encoding", "SELECT current_schema()")] + [
            con.execute("SELECT version()").fetchone()[0].split()[:2][0],
            con.info.parameter_status("integer_datetimes")]

    answers = both(dsns, run)
    assert answers["concord"] == answers["postgres"]
