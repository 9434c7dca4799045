"""Replays of what BI tools send on connect and while browsing, recorded from a real
PostgreSQL 15 log (tests/pgwire/replays, written by record.py): every statement succeeds
against Concord in both the simple and the extended protocol, the writes of Tableau's
temporary-table probes get a clean 25006, and statements that listed relations on
PostgreSQL list Concord's views. Plus the Power BI (Npgsql) proxies: its type-loading
batch, pipelined, answered in order with the types PostgreSQL itself answers."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.pgwire.server import WireServer, running
from federation.pgwire.types import ARRAY_OIDS, pg_type
from sandbox.run import DEMO_USER, demo_secret
from tests import postgres
from tests.pgwire.replays import sources

REPLAYS = Path(__file__).with_name("replays")
FILES = sorted(p.name for p in REPLAYS.glob("*.sql"))


@dataclass
class Entry:
    """One recorded statement and what the recording saw of it."""

    sql: str
    expect: str | None = None  # a SQLSTATE Concord must answer instead of rows
    lists: list[str] = field(default_factory=list)  # relations the answer must name


def load(name: str) -> list[Entry]:
    """The entries of a replay file: a header (up to the first blank line), then
    statements each ended by a line ';' and possibly preceded by '-- expect: SQLSTATE' and
    '-- lists: name, ...' marks."""
    text = (REPLAYS / name).read_text(encoding="utf-8")
    body = text.split("\n\n", 1)[1]
    entries = []
    for block in body.split("\n;\n"):
        lines = block.strip("\n").split("\n")
        marks: dict[str, str] = {}
        while lines and re.match(r"-- (expect|lists): ", lines[0]):
            key, _, value = lines.pop(0)[3:].partition(": ")
            marks[key] = value
        if lines and "".join(lines).strip():
            entries.append(Entry("\n".join(lines), marks.get("expect"),
                                 [n.strip() for n in marks.get("lists", "").split(",")
                                  if n.strip()]))
    return entries


@pytest.fixture(scope="module")
def server(sandbox) -> Iterator[WireServer]:
    with Federation(parse_catalog(sandbox.catalog(), base_dir=Path("."))) as fed, \
            running(fed) as srv:
        yield srv


def connect(server: WireServer) -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={server.port} user={DEMO_USER} "
                           f"password={demo_secret(DEMO_USER)} dbname=concord "
                           "sslmode=disable", autocommit=True)


def run(con: psycopg.Connection, sql: str, mode: str) -> list[tuple]:
    """One statement in the simple protocol (a Query message) or the extended one
    (Parse/Bind/Describe/Execute/Sync: psycopg's pipeline mode sends nothing else)."""
    if mode == "simple":
        cur = psycopg.ClientCursor(con)
        cur.execute(sql)
        return cur.fetchall() if cur.description is not None else []
    cur = con.cursor()
    with con.pipeline():
        cur.execute(sql, prepare=False)
    return cur.fetchall() if cur.description is not None else []


def test_the_replays_were_recorded():
    assert {"pgjdbc.sql", "metabase.sql", "dbeaver.sql", "tableau.sql",
            "powerbi_npgsql.sql"} <= set(FILES)
    for name in FILES:
        entries = load(name)
        assert entries and all(e.sql.strip() for e in entries), name


@pytest.mark.parametrize("mode", ["simple", "extended"])
@pytest.mark.parametrize("name", FILES)
def test_replay(server, name, mode):
    views = server.ctx.federation.views.names()
    failures = []
    with connect(server) as con:
        for entry in load(name):
            head = entry.sql.split("\n")[0][:120]
            if entry.expect:
                with pytest.raises(psycopg.Error) as info:
                    run(con, entry.sql, mode)
                assert info.value.sqlstate == entry.expect, (head, info.value)
                assert run(con, "SELECT 1", mode) == [(1,)]  # the session stays usable
                continue
            try:
                rows = run(con, entry.sql, mode)
            except psycopg.Error as exc:
                failures.append(f"{head}\n    -> {exc.sqlstate} {exc}")
                continue
            if entry.lists:
                names = {v for row in rows for v in row if isinstance(v, str)}
                missing = set(entry.lists) - names
                if {"customer_360", "pipeline"} <= set(entry.lists) and not any(
                        n in entry.sql for n in entry.lists):  # not filtered by name:
                    missing |= set(views) - names  # a listing of public shows every view
                if missing:
                    failures.append(f"{head}\n    -> does not list {sorted(missing)}")
    assert not failures, f"{name} ({mode}): {len(failures)} statements failed:\n" + \
        "\n".join(failures)


# -- Power BI / Npgsql proxies -------------------------------------------------------------


@pytest.fixture(scope="module")
def real_postgres() -> Iterator[str]:
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries are missing; ./run test installs them")
    server = postgres.start_postgres()
    try:
        yield f"host=127.0.0.1 port={server.port} user=concord dbname=postgres sslmode=disable"
    finally:
        server.stop()


def test_npgsql_type_loading_answers_what_postgresql_answers(server, real_postgres):
    """Npgsql maps result columns by these rows: every row Concord answers is PostgreSQL's
    own, and the base types Concord emits, their arrays and the standard ranges are there."""
    types_query = sources.NPGSQL_BATCH[0]
    with psycopg.connect(real_postgres, autocommit=True) as pg:
        expected = {row[2]: row for row in pg.execute(types_query).fetchall()}
    with connect(server) as con:
        rows = con.execute(types_query).fetchall()
    got = {row[2]: row for row in rows}
    assert len(got) == len(rows)  # one row per type
    wrong = {oid: (row, expected.get(oid)) for oid, row in got.items()
             if expected.get(oid) != row}
    assert not wrong
    emitted = {pg_type(t).oid for t in (
        pa.bool_(), pa.int16(),
        pa.int32(), pa.int64(),
        pa.float32(), pa.float64(),
        pa.decimal128(18, 2), pa.date32(),
        pa.time64("us"), pa.timestamp("us"),
        pa.timestamp("us", tz="UTC"),
        pa.month_day_nano_interval(), pa.binary(),
        pa.string())}
    arrays = {ARRAY_OIDS[oid] for oid in emitted}
    ranges = {oid for oid, row in expected.items() if row[5] == "r"}
    assert emitted | arrays | ranges <= set(got)
    assert {got[oid][5] for oid in arrays} == {"a"}
    assert {got[oid][6] for oid in ranges} <= emitted  # a range's subtype is known first


def test_npgsql_pipelines_its_type_loading_batch_and_gets_the_replies_in_order(
        server, real_postgres):
    """Npgsql sends the three statements as Parse/Bind/Describe/Execute each and one Sync;
    every reply must belong to its statement: the columns are those PostgreSQL describes."""
    def pipelined(con: psycopg.Connection) -> list[tuple[list[str], int]]:
        with con.pipeline():  # libpq's pipeline mode: one Sync when the block ends
            cursors = [con.execute(sql, prepare=False) for sql in sources.NPGSQL_BATCH]
        return [([c.name for c in cur.description], len(cur.fetchall())) for cur in cursors]

    with psycopg.connect(real_postgres, autocommit=True) as pg:
        expected = pipelined(pg)
    with connect(server) as con:
        got = pipelined(con)
        assert con.execute("DISCARD ALL").statusmessage == "DISCARD ALL"
        assert con.execute("SELECT 1").fetchone() == (1,)
    assert [names for names, _ in got] == [names for names, _ in expected]
    assert got[0][1] > 0  # the types; composites and enums: as many as PostgreSQL's, none
    assert [n for _, n in got[1:]] == [n for _, n in expected[1:]]


BINARY_TYPES = ("SELECT CAST(7 AS SMALLINT) AS i2, CAST(1.5 AS REAL) AS f4, "
                "TIME '10:30:00.25' AS t, TIMESTAMP '2026-06-15 10:30:00.5' AS ts, "
                "INTERVAL '1 year 2 months 3 days 04:05:06' AS iv, CAST('abc' AS BYTEA) AS b, "
                "ARRAY[1, 2, NULL]::BIGINT[] AS a8, ARRAY['x', NULL, 'y'] AS at, "
                "ARRAY[DATE '2026-01-01'] AS ad, ARRAY[1.5, 2.25] AS an, "
                "ARRAY[CAST(0.5 AS DOUBLE PRECISION)] AS af, ARRAY[TRUE, FALSE] AS ab")


def test_binary_results_of_the_other_types_concord_emits(server):
    """Npgsql asks for every column in binary. The types not covered by test_clients'
    binary test: binary and text decode to the same values, with the OIDs types.py maps
    the engine's Arrow types to, and the values are the engine's own."""
    fed = server.ctx.federation
    table = fed.sql(BINARY_TYPES, dialect="postgres")
    with connect(server) as con:
        answers = {}
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            answers[binary] = (cur.execute(BINARY_TYPES).fetchone(),
                               [c.type_code for c in cur.description])
    assert answers[True] == answers[False]
    row, oids = answers[True]
    assert oids == [pg_type(f.type).oid for f in table.schema]
    assert set(oids) >= {21, 700, 1083, 1114, 1186, 17, 1016, 1009, 1182, 1231, 1022, 1000}
    engine = table.to_pylist()[0]
    for name, value in zip(table.schema.names, row, strict=True):
        if name == "iv":  # psycopg reads months as 30 days, years as 365
            months, days, nanos = engine[name].months, engine[name].days, \
                engine[name].nanoseconds
            assert value == dt.timedelta(days=months // 12 * 365 + months % 12 * 30 + days,
                                         microseconds=nanos // 1000)
        else:
            assert value == engine[name], name
    assert isinstance(row[9][0], decimal.Decimal)
