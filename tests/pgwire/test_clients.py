"""The PostgreSQL wire server with real clients: psql and psycopg 3 over loopback, against
the sandbox through the same engine as every other entry point."""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pandas
import pg8000.native
import psycopg
import psycopg2
import pytest
import sqlalchemy
import trustme

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.pgwire.server import WireServer, running
from sandbox.run import DEMO_USER, demo_secret

PASSWORD = demo_secret(DEMO_USER)
PSQL = shutil.which("psql")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (trustme, no network)."""
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(folder / "server.key")
    cert.cert_chain_pems[0].write_to_path(folder / "server.crt")
    ca.cert_pem.write_to_path(folder / "ca.crt")
    return folder / "server.crt", folder / "server.key", folder / "ca.crt"


MD5_USER, MD5_PASSWORD = "legacy", "md5-only-client"


@pytest.fixture(scope="module")
def server(sandbox, tls_files) -> Iterator[WireServer]:
    raw = sandbox.catalog()
    raw["server"]["tls"] = {"cert_file": str(tls_files[0]), "key_file": str(tls_files[1])}
    secret = tls_files[0].parent / "legacy-password"
    secret.write_text(MD5_PASSWORD, encoding="utf-8")
    raw["server"]["users"][MD5_USER] = {"password": {"file": str(secret)}, "auth": "md5"}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed, running(fed) as srv:
        yield srv


def dsn(server: WireServer, **extra: str) -> str:
    parts = {"host": "127.0.0.1", "port": str(server.port), "user": DEMO_USER,
             "password": PASSWORD, "dbname": "concord", "sslmode": "disable", **extra}
    return " ".join(f"{k}={v}" for k, v in parts.items())


@pytest.fixture()
def con(server) -> Iterator[psycopg.Connection]:
    with psycopg.connect(dsn(server), autocommit=True) as connection:
        yield connection


def test_psycopg_server_side_parameters_match_the_engine(con, fed):
    sql = ("SELECT Id, Amount, StageName FROM salesforce.Opportunity "
           "WHERE Amount > {} AND StageName <> {} ORDER BY Id")
    got = con.execute(sql.format("%s", "%s"), (50000, "Closed Lost")).fetchall()
    expected = fed.sql(sql.format(50000, "'Closed Lost'")).to_pylist()
    assert got == [(r["Id"], r["Amount"], r["StageName"]) for r in expected]
    assert got  # the comparison saw rows


def test_client_side_binding_and_a_prepared_statement_reused(server, fed):
    with psycopg.connect(dsn(server), autocommit=True,
                         cursor_factory=psycopg.ClientCursor) as client:
        names = client.execute("SELECT Name FROM salesforce.Account WHERE Name LIKE %s "
                               "AND Name <> %s ORDER BY Name", ("%a%", "it's")).fetchall()
    expected = fed.sql("SELECT Name FROM salesforce.Account WHERE Name LIKE '%a%' "
                       "AND Name <> 'it''s' ORDER BY Name").to_pylist()
    assert [n for (n,) in names] == [r["Name"] for r in expected] and expected
    with psycopg.connect(dsn(server), autocommit=True) as prepared:
        sql = "SELECT count(*) FROM salesforce.Opportunity WHERE Amount > %s"
        counts = [prepared.execute(sql, (v,), prepare=True).fetchone()[0]
                  for v in (0, 100000, 0, 100000)]
        assert counts[0] == counts[2] > counts[1] == counts[3]


def test_binary_results_decode_to_python_types(con):
    cur = con.cursor(binary=True)
    row = cur.execute(
        "SELECT CAST(42 AS BIGINT) AS i8, CAST(7 AS INTEGER) AS i4, "
        "CAST(12.345 AS DECIMAL(10, 3)) AS num, CAST(-0.5 AS DECIMAL(6, 2)) AS neg, "
        "DATE '2026-06-15' AS d, TIMESTAMPTZ '2026-06-15 10:30:00.25+00' AS ts, "
        "'héllo' AS t, TRUE AS b, CAST(NULL AS INTEGER) AS nothing, 1.5 :: DOUBLE AS f"
    ).fetchone()
    assert row == (42, 7, decimal.Decimal("12.345"), decimal.Decimal("-0.50"),
                   dt.date(2026, 6, 15), dt.datetime(2026, 6, 15, 10, 30, 0, 250000,
                                                     tzinfo=dt.UTC),
                   "héllo", True, None, 1.5)
    assert [c.type_code for c in cur.description] == [20, 23, 1700, 1700, 1082, 1184, 25, 16,
                                                      23, 701]


def test_text_results_of_a_view(con, fed):
    rows = con.execute("SELECT fiscal_year, fiscal_quarter, crm_closed_won_amount "
                       "FROM pipeline_vs_booked WHERE dimension = 'total' "
                       "ORDER BY 1, 2").fetchall()
    expected = fed.sql("SELECT fiscal_year, fiscal_quarter, crm_closed_won_amount "
                       "FROM pipeline_vs_booked WHERE dimension = 'total' ORDER BY 1, 2")
    want = [tuple(r.values()) for r in expected.to_pylist()]
    assert [r[:2] for r in rows] == [w[:2] for w in want]
    # a float sum may differ in its last bit between two runs of the aggregate
    assert [r[2] for r in rows] == pytest.approx([w[2] for w in want], rel=1e-12)


def test_errors_carry_sqlstates_and_the_session_recovers(server):
    with psycopg.connect(dsn(server)) as tx:  # not autocommit: psycopg opens a transaction
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            tx.execute("DELETE FROM salesforce.Opportunity")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            tx.execute("SELECT 1")
        tx.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            tx.execute("SELECT * FROM salesforce.NoSuchObject")
        tx.rollback()
        assert tx.execute("SELECT 2").fetchone() == (2,)


def test_pipeline_mode_with_a_failing_middle_statement(con):
    with pytest.raises(psycopg.errors.UndefinedTable), con.pipeline():
        first = con.execute("SELECT 1")
        con.execute("SELECT * FROM nowhere.nothing")
        con.execute("SELECT 3")
    assert first.fetchone() == (1,)
    assert con.execute("SELECT 4").fetchone() == (4,)  # usable after Sync


def test_session_statements_never_reach_the_engine(con):
    con.execute("SET application_name = 'concord-tests'")
    assert con.execute("SHOW application_name").fetchone() == ("concord-tests",)
    assert con.execute("SHOW transaction isolation level").fetchone() == ("read committed",)
    version = con.execute("SELECT pg_catalog.version()").fetchone()[0]
    assert version.startswith("PostgreSQL 15")
    assert con.execute("SELECT current_schema()").fetchone() == ("public",)
    # the engine refuses anything but queries, so these succeed only if answered here
    for statement, tag, status in (
            ("BEGIN READ ONLY", "BEGIN", psycopg.pq.TransactionStatus.INTRANS),
            ("COMMIT", "COMMIT", psycopg.pq.TransactionStatus.IDLE),
            ("DISCARD ALL", "DISCARD ALL", psycopg.pq.TransactionStatus.IDLE),
            ("RESET ALL", "RESET", psycopg.pq.TransactionStatus.IDLE)):
        assert con.execute(statement).statusmessage == tag
        assert con.info.transaction_status == status


def test_wrong_password_is_refused(server):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(server, password="wrong"))


def test_md5_login_for_clients_without_scram(server):
    with psycopg.connect(dsn(server, user=MD5_USER, password=MD5_PASSWORD)) as md5:
        assert md5.execute("SELECT 1").fetchone() == (1,)
        assert md5.pgconn.used_password
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(server, user=MD5_USER, password="wrong"))


def test_a_newer_protocol_minor_is_negotiated_down_to_3_0(server):
    """A client asking for 3.2 with a protocol option learns we speak 3.0 and ignore the
    option (NegotiateProtocolVersion), then logs in as usual."""
    import socket
    import struct

    params = b"".join(k + b"\x00" + v + b"\x00" for k, v in (
        (b"user", DEMO_USER.encode()), (b"database", b"concord"), (b"_pq_.test", b"1")))
    body = struct.pack(">i", (3 << 16) | 2) + params + b"\x00"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(struct.pack(">i", len(body) + 4) + body)
        kind, length = sock.recv(1), struct.unpack(">i", sock.recv(4))[0]
        payload = sock.recv(length - 4)
        assert kind == b"v"
        assert struct.unpack(">ii", payload[:8]) == (0, 1)
        assert payload[8:] == b"_pq_.test\x00"
        assert sock.recv(1) == b"R"  # authentication follows


def test_tls_with_sslmode_require(server, tls_files):
    with psycopg.connect(dsn(server, sslmode="verify-full", sslrootcert=str(tls_files[2]))
                         ) as secure:
        assert secure.execute("SELECT 1").fetchone() == (1,)
        assert secure.pgconn.ssl_in_use


@pytest.mark.skipif(PSQL is None, reason="psql is not installed (apt-get install "
                    "postgresql-client)")
def test_psql(server):
    env = {**os.environ, "PGPASSWORD": PASSWORD}
    base = [PSQL, "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(server.port), "-U", DEMO_USER,
            "-d", "concord"]
    out = subprocess.run([*base, "-c", "select 1 as one"], capture_output=True, text=True,
                         env={**env, "PGSSLMODE": "require"}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"
    bad = subprocess.run([*base, "-c", "select 1"], capture_output=True, text=True,
                         env={**env, "PGPASSWORD": "wrong"}, timeout=60)
    assert bad.returncode == 2
    assert 'password authentication failed for user "analyst"' in bad.stderr


def psql(server: WireServer, *commands: str) -> subprocess.CompletedProcess:
    args = [PSQL, "-X", "-A", "-F", "|", "-h", "127.0.0.1", "-p", str(server.port),
            "-U", DEMO_USER, "-d", "concord"]
    for command in commands:
        args += ["-c", command]
    return subprocess.run(args, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PGPASSWORD": PASSWORD, "PGSSLMODE": "disable"})


@pytest.mark.skipif(PSQL is None, reason="psql is not installed (apt-get install "
                    "postgresql-client)")
def test_psql_describes_the_catalog(server, fed):
    """psql's own catalog queries: schemas are the sources plus public, the views are in
    public, a view's columns carry PostgreSQL type names, the database is listed."""
    out = psql(server, r"\dn", r"\dv", r"\l", r"\d pipeline_summary", r"\dt hubspot.*")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for source in ("salesforce", "hubspot", "netsuite", "public"):
        assert f"\n{source}|concord" in text
    views = [line.split("|")[1] for line in text.splitlines()
             if line.startswith("public|") and line.endswith("|view|concord")]
    assert sorted(views) == fed.views.names()
    assert "\nconcord|concord|UTF8" in text
    columns = fed.describe("SELECT * FROM pipeline_summary")
    assert "fiscal_year|bigint" in text.replace(" ", "") or "fiscal_year|integer" in text
    assert len([c for c in columns.names if f"\n{c}|" in text]) == len(columns.names)
    assert "hubspot|deals|table|concord" in text


# -- other clients ---------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_sqlalchemy_inspector_and_pandas(server, fed, driver):
    """What Superset and pandas do: connect, reflect schemas, views and typed columns, and
    read a query in chunks."""
    engine = sqlalchemy.create_engine(
        f"postgresql+{driver}://{DEMO_USER}:{PASSWORD}@127.0.0.1:{server.port}/concord")
    try:
        inspector = sqlalchemy.inspect(engine)
        assert {"public", "salesforce", "hubspot", "netsuite"} <= set(
            inspector.get_schema_names())
        assert sorted(inspector.get_view_names()) == fed.views.names()
        assert "Opportunity" in inspector.get_table_names(schema="salesforce")
        columns = {c["name"]: c["type"] for c in inspector.get_columns("pipeline_summary")}
        expected = fed.describe("SELECT * FROM pipeline_summary")
        assert list(columns) == expected.names
        assert isinstance(columns["fiscal_year"], sqlalchemy.BigInteger)
        assert isinstance(columns["owner_name"], sqlalchemy.Text)
        assert isinstance(columns["pipeline_amount"], sqlalchemy.Float)
        chunks = list(pandas.read_sql("SELECT Id, Name FROM salesforce.Account ORDER BY Id",
                                      engine, chunksize=50))
        total = fed.sql("SELECT count(*) AS n FROM salesforce.Account").to_pylist()[0]["n"]
        assert sum(len(c) for c in chunks) == total and len(chunks[0]) == 50
    finally:
        engine.dispose()


def test_pg8000_native_parameters(server, fed):
    con = pg8000.native.Connection(DEMO_USER, host="127.0.0.1", port=server.port, password=PASSWORD,
                            database="concord")
    try:
        got = con.run("SELECT count(*) FROM salesforce.Opportunity WHERE Amount > :amount",
                      amount=50000)
    finally:
        con.close()
    expected = fed.sql("SELECT count(*) AS n FROM salesforce.Opportunity "
                       "WHERE Amount > 50000").to_pylist()[0]["n"]
    assert got == [[expected]]


def test_asyncpg_prepared_statement_with_inferred_parameter_types(server, fed):
    """asyncpg encodes parameters by the types ParameterDescription reports: Amount > $1
    is typed as Amount, $2::date by its cast."""
    async def run() -> list:
        con = await asyncpg.connect(user=DEMO_USER, password=PASSWORD, host="127.0.0.1",
                                    port=server.port, database="concord")
        try:
            statement = await con.prepare(
                "SELECT count(*) FROM salesforce.Opportunity WHERE Amount > $1 "
                "AND CloseDate >= $2::date")
            return [await statement.fetchval(v, dt.date(2025, 1, 1)) for v in (0, 50000)]
        finally:
            await con.close()

    got = asyncio.run(run())
    expected = [fed.sql("SELECT count(*) AS n FROM salesforce.Opportunity WHERE Amount > "
                        f"{v} AND CloseDate >= DATE '2025-01-01'").to_pylist()[0]["n"]
                for v in (0, 50000)]
    assert got == expected and got[0] > got[1]


def test_psycopg2_implicit_transactions(server, fed):
    con = psycopg2.connect(dsn(server))
    try:
        cur = con.cursor()
        cur.execute("SELECT Name FROM salesforce.Account WHERE Name LIKE %s ORDER BY Name",
                    ("A%",))
        got = [r[0] for r in cur.fetchall()]
        con.rollback()
    finally:
        con.close()
    expected = [r["Name"] for r in fed.sql("SELECT Name FROM salesforce.Account "
                                           "WHERE Name LIKE 'A%' ORDER BY Name").to_pylist()]
    assert got == expected


# -- cursors, cancel, many clients ------------------------------------------------------


def test_named_server_side_cursor(server, fed):
    """psycopg's named cursor: DECLARE ... CURSOR, FETCH in batches, CLOSE."""
    expected = [r["Id"] for r in fed.sql(
        "SELECT Id FROM salesforce.Opportunity ORDER BY Id").to_pylist()]
    with psycopg.connect(dsn(server)) as tx:
        with tx.cursor(name="deals") as cur:
            cur.itersize = 100
            cur.execute("SELECT Id FROM salesforce.Opportunity WHERE Amount > %s OR TRUE "
                        "ORDER BY Id", (0,))
            got = [row[0] for row in cur]
        assert got == expected and len(got) > 100  # more than one FETCH
        tx.rollback()


CANCEL_CLIENT = """
import sys, threading, time, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as con:
    threading.Timer(1.0, con.cancel).start()
    started = time.monotonic()
    try:
        con.execute("SELECT count(*) FROM range(20000000000) AS t(x) WHERE x % 7 = 3")
        print("finished")
    except psycopg.errors.QueryCanceled:
        print(f"cancelled {time.monotonic() - started:.1f}")
    print(con.execute("SELECT 1").fetchone()[0])
"""


def test_cancel_interrupts_a_long_query_and_the_session_stays_usable(server):
    """psycopg's cancel() from its own process (libpq's PQcancel holds the GIL while it
    waits for the server, so client and server cannot share one)."""
    import sys

    out = subprocess.run([sys.executable, "-c", CANCEL_CLIENT, dsn(server)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    verdict, after = out.stdout.split()[:2], out.stdout.split()[2:]
    assert verdict[0] == "cancelled", out.stdout
    assert float(verdict[1]) < 10  # minutes without the interrupt
    assert after == ["1"]  # the same session answers the next query


def test_twenty_sessions_at_once_and_a_silent_client_stalls_nobody(server, fed):
    """A long query and a client that never reads do not block short queries."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    silent = socket.create_connection(("127.0.0.1", server.port))  # sends nothing at all
    expected = fed.sql("SELECT count(*) AS n FROM salesforce.Account").to_pylist()[0]["n"]

    def short(_: int) -> int:
        with psycopg.connect(dsn(server), autocommit=True) as c:
            return c.execute("SELECT count(*) FROM salesforce.Account").fetchone()[0]

    def long() -> str:
        with psycopg.connect(dsn(server), autocommit=True) as c:
            c.execute("SELECT count(*) FROM range(1500000000) AS t(x) WHERE x % 7 = 3")
            return "done"

    try:
        with ThreadPoolExecutor(max_workers=21) as pool:
            slow = pool.submit(long)
            answers = list(pool.map(short, range(20)))
            assert answers == [expected] * 20
            assert not slow.done()  # the short ones did not wait for it
            assert slow.result(timeout=120) == "done"
    finally:
        silent.close()


def test_a_client_that_disconnects_mid_query_frees_its_work(server):
    """The server notices the closed connection while DuckDB works and interrupts it."""
    import time

    before = set(server.ctx.sessions)
    con = psycopg.connect(dsn(server), autocommit=True)
    con.pgconn.send_query(b"SELECT count(*) FROM range(20000000000) AS t(x) WHERE x % 7 = 3")
    time.sleep(1.0)
    session = next(s for key, s in server.ctx.sessions.items() if key not in before)
    assert session.running is not None  # the query is running
    con.pgconn.finish()  # the socket closes; nobody will read the answer
    deadline = time.monotonic() + 10  # minutes if the query ran to the end
    while session.running is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session.running is None


# -- streaming: answers are never held whole ---------------------------------------------

HUGE = "SELECT x AS n, x * 2 AS twice FROM range(10000000000) AS t(x)"  # ten billion rows


def test_a_named_cursor_over_ten_billion_rows_reads_its_first_rows(server):
    """DECLARE/FETCH read DuckDB's answer a batch at a time: materialising ten billion
    rows first would never finish."""
    with psycopg.connect(dsn(server)) as tx:
        with tx.cursor(name="huge") as cur:
            cur.itersize = 500
            cur.execute(HUGE)
            first = cur.fetchmany(1200)  # three FETCH 500s
        assert [row[0] for row in first] == list(range(1200))
        assert first[-1][1] == 2 * 1199
        tx.rollback()
        assert tx.execute("SELECT 1").fetchone() == (1,)


def test_asyncpg_cursor_pages_through_execute_row_limits(server):
    """asyncpg's cursor: Execute with a row limit, PortalSuspended, Execute again."""
    async def first_rows() -> list[int]:
        con = await asyncpg.connect(host="127.0.0.1", port=server.port, user=DEMO_USER,
                                    password=PASSWORD, database="concord", ssl=False)
        try:
            rows = []
            async with con.transaction():
                async for record in con.cursor(HUGE, prefetch=400):
                    rows.append(record["n"])
                    if len(rows) == 1000:
                        break
            return rows
        finally:
            await con.close()

    assert asyncio.run(first_rows()) == list(range(1000))


def test_a_client_that_leaves_mid_answer_frees_its_work(server):
    """The server stops reading DuckDB's answer when the client stops reading it."""
    import time

    before = set(server.ctx.sessions)
    con = psycopg.connect(dsn(server), autocommit=True)
    con.pgconn.send_query(HUGE.encode())
    deadline = time.monotonic() + 30
    session = None
    while session is None and time.monotonic() < deadline:
        session = next((s for k, s in server.ctx.sessions.items() if k not in before), None)
        time.sleep(0.05)
    assert session is not None
    con.pgconn.finish()  # rows are streaming; nobody reads them any more
    while session in server.ctx.sessions.values() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session not in server.ctx.sessions.values()  # the session ended, its work freed
    assert session.running is None and not session.portals
