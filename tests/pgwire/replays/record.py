"""Record the BI clients' startup and catalog statements from a real PostgreSQL 15 log.

Run by hand (the test suite only reads what it writes), as root or not:

    PYTHONPATH=/work/main .venv/bin/python -m tests.pgwire.replays.record

It starts PostgreSQL 15 with ``log_statement=all``, creates a small schema shaped like
Concord's (a view ``public.customer_360``, a view ``public.pipeline``, a table
``hubspot.deals``), runs the clients one after the other and writes, per client, the
statements the server logged: one per entry, verbatim, with the ``$n`` parameters of
extended-protocol statements replaced by the values logged in ``DETAIL: parameters``.

* pgjdbc.sql: Debian's pgJDBC driving DatabaseMetaData (what DBeaver, Metabase and Tableau
  call through it), a prepared statement past prepareThreshold and a setFetchSize read.
* metabase.sql, dbeaver.sql, tableau.sql: the statements of sources.py (reconstructed from
  those tools' public sources), sent through pgJDBC with the connection set-up each tool
  does, so the driver's own statements (SET, BEGIN, type look-ups) are recorded with them.
* powerbi_npgsql.sql: Npgsql 4.0's type-loading batch and DISCARD ALL, sent by psycopg in
  pipeline mode as Npgsql sends them.

Statements PostgreSQL rejected are left out (the log shows the ERROR). Every kept statement
is then run once more on the same server to check it, and its answer decides two marks the
replay test reads: ``-- expect: 25006`` before the writes Concord refuses (temporary tables
and DROP TABLE), ``-- lists: name, ...`` with the relations the statement listed (only for
statements that name no object by a server-specific OID).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests import postgres
from tests.pgwire.replays import sources

HERE = Path(__file__).parent
JAR = Path("/usr/share/java/postgresql.jar")
SETTINGS = {"log_statement": "all", "log_line_prefix": "<<%p>> ",
            "log_min_error_statement": "error", "log_parameter_max_length": "-1"}
SCHEMA = """
-- shaped like Concord's catalog: views in public, a source schema, no keys or indexes
CREATE SCHEMA hubspot;
CREATE TABLE hubspot.deals (
    id text NOT NULL,
    dealname text NOT NULL,
    amount numeric(18,2),
    closedate timestamptz,
    hs_object_id integer,
    createdate timestamptz
);
INSERT INTO hubspot.deals VALUES
    ('1', 'Acme renewal', 12000.50, '2026-03-31 12:00+00', 1, '2025-11-02 09:00+00'),
    ('2', 'Globex expansion', 48000.00, '2026-06-30 12:00+00', 2, '2026-01-15 10:30+00'),
    ('3', 'Initech pilot', 2500.00, NULL, 3, '2026-05-20 16:45+00');
CREATE VIEW public.customer_360 AS
    SELECT 'C-0001'::text AS customer_id, 'Acme'::text AS customer_name,
           50000.00::numeric(18,2) AS credit_limit, 3::integer AS open_opportunity_count,
           DATE '2024-02-01' AS first_seen_date, DATE '2026-05-30' AS last_order_date;
CREATE VIEW public.pipeline AS
    SELECT id, dealname, amount, closedate FROM hubspot.deals WHERE closedate IS NOT NULL;
"""
LISTED = ("customer_360", "pipeline", "deals")  # relations whose listing the test checks
FIRST_USER_OID = 16384  # PostgreSQL's first OID for user objects
_ENTRY = re.compile(r"^<<(\d+)>> (LOG|ERROR|DETAIL|STATEMENT|WARNING|NOTICE|HINT|CONTEXT|"
                    r"FATAL):  ", re.M)
_PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
_READ_ONLY = re.compile(r"^\s*(CREATE\s+(LOCAL\s+|GLOBAL\s+)?TEMP(ORARY)?\s+TABLE|DROP\s+TABLE|"
                        r"SELECT\b.*?\bINTO\s+TEMP(ORARY)?\s+TABLE)", re.I | re.S)


@dataclass
class Logged:
    """One statement as the server logged it."""

    pid: str
    sql: str
    parameters: dict[int, str] = field(default_factory=dict)
    failed: bool = False

    def text(self) -> str:
        """The statement with its $n placeholders replaced by the logged values."""
        return substitute(self.sql, self.parameters) if self.parameters else self.sql


def substitute(sql: str, values: dict[int, str]) -> str:
    """``$n`` outside quotes and comments replaced by ``values[n]`` (a logged literal)."""
    out, i = [], 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"":
            end = i + 1
            while end < len(sql):
                if sql[end] == ch:
                    if end + 1 < len(sql) and sql[end + 1] == ch:
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i:end + 1])
            i = end + 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            end = sql.find("\n" if ch == "-" else "*/", i)
            end = len(sql) if end < 0 else end + (0 if ch == "-" else 2)
            out.append(sql[i:end])
            i = end
        elif ch == "$" and (m := re.match(r"\$(\d+)", sql[i:])) and int(m.group(1)) in values:
            out.append(values[int(m.group(1))])
            i += len(m.group(0))
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_log(text: str) -> list[Logged]:
    """The statements of a stretch of server log, in order, failures marked (an ERROR
    whose STATEMENT is the pid's last logged statement; a statement refused at Parse
    was never logged as executed)."""
    statements: list[Logged] = []
    last: dict[str, Logged] = {}
    marks = list(_ENTRY.finditer(text))
    for n, mark in enumerate(marks):
        body = text[mark.end():marks[n + 1].start() if n + 1 < len(marks) else len(text)]
        body = body.rstrip("\n").replace("\n\t", "\n")  # the log indents continuations
        pid, level = mark.group(1), mark.group(2)
        if level == "LOG":
            if body.startswith("statement: "):
                sql = body[len("statement: "):]
            elif (m := re.match(r"execute ([^:]+): ", body)) and not body.startswith(
                    "execute fetch from"):  # fetch from: more rows of a portal
                sql = body[m.end():]
            else:
                continue
            entry = Logged(pid, sql)
            statements.append(entry)
            last[pid] = entry
        elif level == "DETAIL" and body.startswith("parameters: ") and pid in last:
            last[pid].parameters = {int(k): v for k, v in _PARAMETER.findall(body)}
        elif level == "STATEMENT":
            if pid in last and last[pid].sql == body:
                last[pid].failed = True
            else:  # refused at Parse: never executed, so never logged before
                statements.append(Logged(pid, body, failed=True))
    return statements


class Recorder:
    """The recording server and the clients run against it."""

    def __init__(self, server: postgres.PostgresServer, work: Path) -> None:
        self.server, self.work = server, work
        assert server.log is not None
        self.log = server.log

    def window(self, run: Callable[[], object]) -> list[Logged]:
        """What the server logged while ``run()`` ran, successful statements only."""
        time.sleep(0.3)
        start = self.log.stat().st_size
        run()
        time.sleep(0.5)  # the backend writes its log lines before answering; be generous
        with open(self.log, encoding="utf-8", errors="replace") as log:
            log.seek(start)
            entries = parse_log(log.read())
        rejected = [e.sql.splitlines()[0][:90] for e in entries if e.failed]
        for sql in rejected:
            print(f"  rejected by PostgreSQL, left out: {sql}")
        return [e for e in entries if not e.failed]

    def script(self, mode: str, script: sources.Script) -> None:
        """Write the script ReplayRecorder runs in ``mode`` (OIDs looked up now, before
        the recording window)."""
        path = self.work / f"{mode}.script"
        path.write_text("\n;\n".join(self._block(sql, params) for sql, params in script))

    def java(self, mode: str) -> None:
        args = ["java", "-cp", f"{JAR}:{self.work}", "ReplayRecorder", mode,
                str(self.server.port), "concord"]
        if (self.work / f"{mode}.script").exists():
            args.append(str(self.work / f"{mode}.script"))
        out = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"{mode}: {out.stderr[-3000:]}")
        sys.stdout.write("".join(f"  {line}\n" for line in out.stdout.splitlines()))

    def _block(self, sql: str, params: list[tuple[str, str]]) -> str:
        lines = [f"-- param {kind}: {self._oids(value)}" for kind, value in params]
        return "\n".join([*lines, sql])

    def _oids(self, value: str) -> str:
        """``{oid:schema}`` / ``{oid:schema.table}`` as this server's OID."""
        def oid(m: re.Match) -> str:
            name = m.group(1)
            kind = "regclass" if "." in name else "regnamespace"
            return str(self.value(f"SELECT '{name}'::{kind}::oid"))
        return re.sub(r"\{oid:([\w.]+)\}", oid, value)

    def psycopg(self, run: Callable[[psycopg.Connection], None]) -> None:
        with psycopg.connect(dsn(self.server), autocommit=True) as con:
            run(con)

    def value(self, sql: str) -> object:
        with psycopg.connect(dsn(self.server), autocommit=True) as con:
            return con.execute(sql).fetchone()[0]


def dsn(server: postgres.PostgresServer) -> str:
    return f"host=127.0.0.1 port={server.port} user=concord dbname=postgres sslmode=disable"


def npgsql(con: psycopg.Connection) -> None:
    """Npgsql 4.0 opening a connection: the type-loading batch pipelined with one Sync,
    then the pool's reset."""
    with con.pipeline():
        cursors = [con.execute(sql, prepare=False) for sql in sources.NPGSQL_BATCH]
    for cur in cursors:
        cur.fetchall()
    con.execute("DISCARD ALL", prepare=False)


def tableau_odbc(con: psycopg.Connection) -> None:
    """psqlODBC's declare/fetch read, one simple-protocol message each (ClientCursor)."""
    cur = psycopg.ClientCursor(con)
    for sql in sources.TABLEAU_ODBC:
        cur.execute(sql)
        if cur.description is not None:
            cur.fetchall()


def check(server: postgres.PostgresServer, statements: list[str]) -> list[tuple[str, list]]:
    """Run each statement again, in order, on one session: (statement, marks) for those
    the server accepts. Marks: expect 25006 for the temp-table probes, the relations
    the answer listed."""
    kept = []
    with psycopg.connect(dsn(server), autocommit=True) as con:
        cur = psycopg.ClientCursor(con)
        for sql in statements:
            try:
                cur.execute(sql)
                rows = cur.fetchall() if cur.description is not None else []
            except psycopg.Error as exc:
                print(f"  fails when replayed, left out: {sql.splitlines()[0][:80]} ({exc})")
                if con.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    con.execute("ROLLBACK")
                continue
            marks = []
            if _READ_ONLY.match(sql):
                marks.append("expect: 25006")
            values = {v for row in rows for v in row if isinstance(v, str)}
            listed = [name for name in LISTED if name in values]
            numbers = [int(n) for n in re.findall(r"\b\d{5,}\b", sql)]
            if listed and not any(n >= FIRST_USER_OID for n in numbers):
                marks.append("lists: " + ", ".join(listed))
            kept.append((sql, marks))
    return kept


def write(name: str, source: str, statements: list[tuple[str, list]], version: str) -> None:
    header = [f"-- {name}: recorded {dt.date.today().isoformat()} from the log of PostgreSQL "
              f"{version} (log_statement=all) by tests/pgwire/replays/record.py.",
              f"-- Source: {source}.",
              "-- One statement per entry, ended by a line ';'. Parameters of extended-protocol",
              "-- statements are replaced by their logged values. Marks: '-- expect: 25006'",
              "-- (Concord refuses the write), '-- lists: ...' (relations the answer named).",
              ""]
    body = []
    for sql, marks in statements:
        body.extend(f"-- {mark}" for mark in marks)
        body.extend([sql.strip(), ";"])
    (HERE / name).write_text("\n".join(header + body) + "\n", encoding="utf-8")
    print(f"wrote {name}: {len(statements)} statements")


def main() -> None:
    if shutil.which("javac") is None or not JAR.exists():
        sys.exit("needs javac and Debian's pgJDBC (/usr/share/java/postgresql.jar)")
    server = postgres.start_postgres(SETTINGS)
    try:
        server.psql(SCHEMA)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            subprocess.run(["javac", "-d", str(work), "-cp", str(JAR),
                            str(HERE / "ReplayRecorder.java")], check=True, timeout=180)
            rec = Recorder(server, work)
            version = str(rec.value("SHOW server_version")).split()[0]
            with zipfile.ZipFile(JAR) as jar:
                manifest = jar.read("META-INF/MANIFEST.MF").decode()
            driver = re.search(r"Implementation-Version: (\S+)", manifest)
            pgjdbc = f"pgJDBC {driver.group(1) if driver else '?'} (Debian)"
            clients = [
                ("pgjdbc.sql", f"{pgjdbc} DatabaseMetaData calls (ReplayRecorder.java)",
                 lambda: rec.java("pgjdbc")),
                ("metabase.sql", f"{sources.METABASE_SOURCE}; {pgjdbc}",
                 lambda: rec.java("metabase")),
                ("dbeaver.sql", f"{sources.DBEAVER_SOURCE}; {pgjdbc}",
                 lambda: rec.java("dbeaver")),
                ("tableau.sql", f"{sources.TABLEAU_SOURCE}; {pgjdbc}, psycopg for the ODBC "
                 "cursor", lambda: (rec.java("tableau"),
                                    rec.psycopg(tableau_odbc))),
                ("powerbi_npgsql.sql", sources.POWERBI_SOURCE,
                 lambda: rec.psycopg(npgsql)),
            ]
            for mode, script in (("metabase", sources.METABASE), ("dbeaver", sources.DBEAVER),
                                 ("tableau", sources.TABLEAU)):
                rec.script(mode, script)
            for name, source, run in clients:
                print(f"{name}:")
                logged = rec.window(run)
                write(name, source, check(server, [e.text() for e in logged]), version)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
