"""One client connection: startup, SCRAM authentication, the simple and extended query
protocols. Every query runs through the engine (in a worker thread), as any other client's.

Session statements (SET, SHOW, BEGIN, COMMIT, DISCARD ...) are answered here without the
engine: Concord is read-only, so a transaction is only a status to report. The functions
clients call on connect (``version()``, ``current_schema()``, ``current_setting(...)``)
are replaced by their values before the engine sees the query.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from federation.engine import Cancel, Federation
from federation.errors import (
    ConcordError,
    NotAllowedError,
    PermissionDeniedError,
    QueryCancelledError,
    QueryError,
    SourceError,
)
from federation.pgwire import messages as m
from federation.pgwire.colnames import name_columns_as_postgres
from federation.pgwire.copy import CopyOut, parse_copy
from federation.pgwire.encode import data_rows
from federation.pgwire.params import parameter_types
from federation.pgwire.pgcatalog import PgCatalog, references_catalog
from federation.pgwire.scram import ScramError, ScramServer
from federation.pgwire.types import TEXT, PgType, decode_parameter, pg_type
from federation.results import Answer, TableStream

log = logging.getLogger("concord.pgwire")
SERVER_VERSION = "15.0"
VERSION_TEXT = f"PostgreSQL {SERVER_VERSION} (Concord) on x86_64-pc-linux-gnu"
DATABASE = "concord"
DISCONNECT_POLL = 0.2  # seconds between checks that a client waiting for an answer is there

#: session statements answered without the engine: first keyword -> command tag
SESSION_TAGS = {"SET": "SET", "RESET": "RESET", "BEGIN": "BEGIN", "START": "START TRANSACTION",
                "COMMIT": "COMMIT", "END": "COMMIT", "ROLLBACK": "ROLLBACK", "ABORT": "ROLLBACK",
                "DISCARD": "DISCARD ALL", "SAVEPOINT": "SAVEPOINT", "RELEASE": "RELEASE",
                "DEALLOCATE": "DEALLOCATE", "UNLISTEN": "UNLISTEN", "LISTEN": "LISTEN"}
_DECLARE = re.compile(r"^\s*DECLARE\s+(\"[^\"]+\"|\w+)\s+(?:(?:BINARY|INSENSITIVE|ASENSITIVE|"
                      r"(?:NO\s+)?SCROLL)\s+)*CURSOR\s+(?:(WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(.+?)"
                      r"\s*;?\s*$", re.I | re.S)
_FETCH = re.compile(r"^\s*FETCH\s+(?:(?:FORWARD|NEXT)\s+)?(ALL|\d+)?\s*(?:FROM|IN)?\s*"
                    r"(\"[^\"]+\"|\w+)\s*;?\s*$", re.I)
_CLOSE = re.compile(r"^\s*CLOSE\s+(ALL|\"[^\"]+\"|\w+)\s*;?\s*$", re.I)
_LEADING = re.compile(r"^\s*(?:(?:--[^\n]*\n)|(?:/\*.*?\*/)|\s)*", re.S)


class TransactionAborted(QueryError):
    """A statement after an error inside BEGIN ... before ROLLBACK (as PostgreSQL)."""


#: a query error's SQLSTATE by what its message says (first match wins)
QUERY_SQLSTATES = (
    (("unknown table", "unknown source"), "42P01"),  # undefined_table
    (("unknown column", "referenced column"), "42703"),  # undefined_column
    (("function with name",), "42883"),  # undefined_function
    (("division by zero",), "22012"),  # division_by_zero
    (("date field value out of range", "timestamp field value out of range"), "22008"),
    (("out of range",), "22003"),  # numeric_value_out_of_range
    (("invalid date", "invalid timestamp", "invalid time"), "22007"),  # bad datetime text
    (("conversion error", "could not convert"), "22P02"),  # invalid_text_representation
    (("syntax", "parse"), "42601"),  # syntax_error
)


def sqlstate(error: ConcordError) -> str:
    """The SQLSTATE a PostgreSQL client expects for a Concord error."""
    if isinstance(error, QueryCancelledError):
        return "57014"  # query_canceled
    if isinstance(error, TransactionAborted):
        return "25P02"  # in_failed_sql_transaction
    if isinstance(error, NotAllowedError):
        return "25006"  # read_only_sql_transaction
    if isinstance(error, PermissionDeniedError):
        return "42501"  # insufficient_privilege
    if isinstance(error, QueryError):
        text = error.message.lower()
        return next((code for needles, code in QUERY_SQLSTATES
                     if any(n in text for n in needles)), "42000")
    if isinstance(error, SourceError):
        return "58000"  # system_error: an external system failed
    return "XX000"


@dataclass
class ServerContext:
    """What every session shares: the engine, the logins, TLS, cancel keys."""

    federation: Federation
    password_of: Callable[[str], str | None]
    auth_method_of: Callable[[str], str] = lambda user: "scram-sha-256"
    tls: ssl.SSLContext | None = None
    catalog: PgCatalog | None = None
    sessions: dict[tuple[int, int], Session] = field(default_factory=dict)

    def answer(self, sql: str, application: str, cancel: Cancel, user: str) -> Answer:
        """A query's answer: the catalog's for pg_catalog/information_schema queries, the
        engine's stream, as the logged-in user, for everything else."""
        if self.catalog is not None and references_catalog(sql):
            return TableStream(self.catalog.query(sql, application,
                                                  self.federation.guard(user)))
        return self.federation.stream(name_columns_as_postgres(sql), dialect="postgres",
                                      cancel=cancel, user=user)

    def describe(self, sql: str, application: str, user: str) -> pa.Schema:
        if self.catalog is not None and references_catalog(sql):
            return self.catalog.query(sql, application, self.federation.guard(user)).schema
        return self.federation.describe(name_columns_as_postgres(sql), dialect="postgres",
                                        user=user)


@dataclass
class Statement:
    sql: str
    param_oids: list[int]  # as the client declared them (0: unspecified)
    inferred: dict[int, int] = field(default_factory=dict)  # $n -> OID, set by Describe


@dataclass
class Portal:
    """A bound statement; once executed, its answer read a batch at a time (a DECLAREd
    cursor is a portal too, read by FETCH)."""

    sql: str  # parameters substituted
    result_formats: list[int]
    schema: pa.Schema | None = None
    executed: bool = False
    answer: Answer | None = None  # rows still to send
    pending: pa.RecordBatch | None = None  # the rest of a batch an Execute limit cut
    cancel: Cancel = field(default_factory=Cancel)
    sent: int = 0
    holdable: bool = False  # DECLARE ... WITH HOLD: survives COMMIT

    def close(self) -> None:
        if self.answer is not None:
            self.answer.close()
            self.answer = None
        self.pending = None


class Session:
    """The protocol state of one client connection."""

    def __init__(self, ctx: ServerContext, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.ctx, self.reader, self.writer = ctx, reader, writer
        self.pid, self.secret = secrets.randbelow(2**31 - 1) + 1, secrets.randbits(31)
        self.params: dict[str, str] = {}
        self.status = "I"  # I idle, T in a transaction block, E failed transaction
        self.statements: dict[str, Statement] = {}
        self.portals: dict[str, Portal] = {}
        self.running: Cancel | None = None  # the query in flight, for CancelRequest
        self.cursors: dict[str, Portal] = {}  # DECLARE ... CURSOR, read by FETCH

    # -- connection phase ---------------------------------------------------------------

    async def run(self) -> None:
        try:
            if not await self._startup():
                return
            self.ctx.sessions[(self.pid, self.secret)] = self
            await self._loop()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        except m.ProtocolError as exc:
            await self._send(m.error("FATAL", "08P01", str(exc)))
        finally:
            self.ctx.sessions.pop((self.pid, self.secret), None)
            self._close_portals(cursors=True)
            self.writer.close()

    async def _startup(self) -> bool:
        while True:
            code, payload = await m.read_startup(self.reader)
            if code == m.SSL_REQUEST:
                if self.ctx.tls is None:
                    await self._send(b"N")
                    continue
                await self._send(b"S")
                await self.writer.start_tls(self.ctx.tls)
                continue
            if code == m.GSSENC_REQUEST:
                await self._send(b"N")
                continue
            if code == m.CANCEL_REQUEST:
                pid, secret = int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:8],
                                                                                  "big")
                target = self.ctx.sessions.get((pid, secret))
                log.info("cancel request for session %s: %s", pid,
                         "running" if target and target.running else "nothing to cancel")
                if target is not None:
                    target.cancel()
                return False
            if code >> 16 != 3:
                await self._send(m.error("FATAL", "0A000",
                                         f"unsupported protocol {code >> 16}.{code & 0xFFFF}"))
                return False
            params = m.startup_parameters(payload)
            options = sorted(k for k in params if k.startswith("_pq_."))
            if code != m.PROTOCOL_3 or options:  # a newer 3.x or protocol options: we speak 3.0
                await self._send(m.negotiate_protocol_version(0, options))
            self.params = {k: v for k, v in params.items() if not k.startswith("_pq_.")}
            return await self._authenticate()

    async def _authenticate(self) -> bool:
        user = self.params.get("user", "")
        password = self.ctx.password_of(user)
        if password is None:
            await self._send(m.error("FATAL", "28000", f'role "{user}" does not exist',
                                     hint="users are declared under server.users in the "
                                          "catalog"))
            return False
        try:
            self.ctx.federation.guard(user)
        except PermissionDeniedError as exc:
            await self._send(m.error("FATAL", "28000", str(exc)))
            return False
        method = self.ctx.auth_method_of(user)
        try:
            if method == "md5":
                final = await self._md5(user, password)
            else:
                final = await self._scram(password)
        except (ScramError, UnicodeDecodeError, ValueError) as exc:
            log.info("session %s: %s authentication failed for %s: %s", self.pid, method,
                     user, exc)
            await self._send(m.error("FATAL", "28P01",
                                     f'password authentication failed for user "{user}"'))
            return False
        now = dt.datetime.now(dt.UTC)
        await self._send(
            final + m.auth(0)
            + b"".join(m.parameter_status(k, v) for k, v in {
                "server_version": SERVER_VERSION, "server_encoding": "UTF8",
                "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "TimeZone": "UTC",
                "IntervalStyle": "postgres", "integer_datetimes": "on",
                "standard_conforming_strings": "on", "is_superuser": "off",
                "session_authorization": user, "default_transaction_read_only": "on",
                "in_hot_standby": "off",
                "application_name": self.params.get("application_name", ""),
            }.items())
            + m.backend_key(self.pid, self.secret) + m.ready(self.status))
        log.info("session %s: %s connected at %s", self.pid, user, now.isoformat())
        return True

    async def _scram(self, password: str) -> bytes:
        """SCRAM-SHA-256 (RFC 7677); returns the AuthenticationSASLFinal to send."""
        scram = ScramServer(password)
        await self._send(m.auth(10, m.cstr("SCRAM-SHA-256") + b"\x00"))
        _, payload = await m.read_message(self.reader)
        buf = m.Buffer(payload)
        if buf.cstring() != "SCRAM-SHA-256":
            raise ScramError("unsupported SASL mechanism")
        first = scram.server_first_message(buf.bytes(buf.int32()).decode())
        await self._send(m.auth(11, first.encode()))
        _, payload = await m.read_message(self.reader)
        return m.auth(12, scram.server_final_message(payload.decode()).encode())

    async def _md5(self, user: str, password: str) -> bytes:
        """MD5 with a random salt, as PostgreSQL's ``md5`` method: the client answers
        ``"md5" + md5(md5(password + user) + salt)``."""
        salt = secrets.token_bytes(4)
        await self._send(m.auth(5, salt))
        _, payload = await m.read_message(self.reader)
        inner = hashlib.md5((password + user).encode()).hexdigest().encode()
        expected = b"md5" + hashlib.md5(inner + salt).hexdigest().encode()
        if not hmac.compare_digest(m.Buffer(payload).cstring().encode(), expected):
            raise ValueError("wrong password")
        return b""

    def cancel(self) -> None:
        """CancelRequest: stop the running query (its fetches and DuckDB work)."""
        running = self.running
        if running is not None:
            running.cancel()

    # -- query phase --------------------------------------------------------------------

    async def _loop(self) -> None:
        failed = False  # extended protocol: skip to Sync after an error
        while True:
            kind, payload = await m.read_message(self.reader)
            if kind == b"X":
                return
            if kind == b"S":
                failed = False
                if self.status == "I":  # the implicit transaction ends: so do its portals
                    self._close_portals()
                await self._send(m.ready(self.status))
                continue
            if kind == b"H":
                await self.writer.drain()
                continue
            if failed and kind in b"PBDECd":
                continue
            try:
                if kind == b"Q":
                    await self._simple(m.Buffer(payload).cstring())
                elif kind == b"P":
                    self._parse(m.Buffer(payload))
                    self.writer.write(m.PARSE_COMPLETE)
                elif kind == b"B":
                    self._bind(m.Buffer(payload))
                    self.writer.write(m.BIND_COMPLETE)
                elif kind == b"D":
                    await self._describe(m.Buffer(payload))
                elif kind == b"E":
                    await self._execute(m.Buffer(payload))
                elif kind == b"C":
                    buf = m.Buffer(payload)
                    which, name = buf.bytes(1), buf.cstring()
                    if which == b"S":
                        self.statements.pop(name, None)
                    elif (closed := self.portals.pop(name, None)) is not None:
                        closed.close()
                    self.writer.write(m.CLOSE_COMPLETE)
                else:
                    raise QueryError(f"unsupported message type {kind!r}")
            except ConcordError as exc:
                failed = kind != b"Q"
                self._fail(exc)
                if kind == b"Q":
                    await self._send(m.ready(self.status))
            except (asyncio.IncompleteReadError, ConnectionError):
                raise
            except Exception as exc:  # noqa: BLE001 - a bug must not take the session down
                log.exception("session %s: internal error", self.pid)
                failed = kind != b"Q"
                self._fail(ConcordError(f"internal error: {exc.__class__.__name__}: {exc}"))
                if kind == b"Q":
                    await self._send(m.ready(self.status))

    def _fail(self, exc: ConcordError) -> None:
        if self.status == "T":
            self.status = "E"
        text = str(exc).removesuffix(f" — {exc.hint}") if exc.hint else str(exc)
        self.writer.write(m.error("ERROR", sqlstate(exc), text, exc.hint))

    async def _simple(self, sql: str) -> None:
        statements = [s for s in _split(sql) if s.strip()]
        if not statements:
            await self._send(m.EMPTY_QUERY + m.ready(self.status))
            return
        for text in statements:
            portal = Portal(text, [0])
            if (copy := parse_copy(text)) is not None:
                await self._copy_out(Portal(copy.sql, [0]), copy)
                continue
            if await self._cursor_statement(portal, describe=True):
                continue
            if not await self._session_statement(portal, describe=True):
                try:
                    await self._run(portal)
                    self.writer.write(m.row_description(*self._row_shape(portal)))
                    await self._send_rows(portal, None, portal.result_formats)
                    self.writer.write(m.command_complete(f"SELECT {portal.sent}"))
                finally:
                    portal.close()
        await self._send(m.ready(self.status))

    def _parse(self, buf: m.Buffer) -> None:
        name, sql = buf.cstring(), buf.cstring()
        oids = [buf.int32() for _ in range(buf.int16())]
        self.statements[name] = Statement(sql, oids)

    def _bind(self, buf: m.Buffer) -> None:
        portal, name = buf.cstring(), buf.cstring()
        statement = self.statements.get(name)
        if statement is None:
            raise QueryError(f'prepared statement "{name}" does not exist')
        formats = [buf.int16() for _ in range(buf.int16())]
        values = [buf.value() for _ in range(buf.int16())]
        result_formats = [buf.int16() for _ in range(buf.int16())]
        params = []
        for i, raw in enumerate(values):
            fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
            oid = statement.param_oids[i] if i < len(statement.param_oids) else 0
            oid = oid or statement.inferred.get(i + 1, 0)
            params.append(decode_parameter(raw, oid, fmt == 1))
        declare = _DECLARE.match(statement.sql)
        sql = (statement.sql[:declare.start(3)] + substitute(declare.group(3), params)
               if declare else substitute(statement.sql, params))
        replaced = self.portals.pop(portal, None)
        if replaced is not None:
            replaced.close()
        self.portals[portal] = Portal(sql, result_formats or [0])

    async def _describe(self, buf: m.Buffer) -> None:
        which, name = buf.bytes(1), buf.cstring()
        if which == b"S":
            statement = self.statements.get(name)
            if statement is None:
                raise QueryError(f'prepared statement "{name}" does not exist')
            count = max([len(statement.param_oids), *_parameter_numbers(statement.sql)])
            statement.inferred = await asyncio.to_thread(
                parameter_types, statement.sql,
                lambda sql: self._describe_sql(sql))
            declared = statement.param_oids + [0] * count
            self.writer.write(m.parameter_description(
                [declared[i] or statement.inferred.get(i + 1, TEXT) for i in range(count)]))
            portal = Portal(substitute(statement.sql, [None] * count), [0])
        elif name in self.cursors and name not in self.portals:  # a DECLAREd cursor
            self.writer.write(m.row_description(*self._row_shape(self.cursors[name])))
            return
        else:
            portal = self.portals.get(name)
            if portal is None:
                raise QueryError(f'portal "{name}" does not exist')
        if self._cursor_shape(portal) or await self._session_statement(
                portal, describe=True, send=False):
            if portal.schema is None:
                self.writer.write(m.NO_DATA)
            else:
                self.writer.write(m.row_description(*self._row_shape(portal)))
            return
        portal.schema = await asyncio.to_thread(self._describe_sql, portal.sql)
        self.writer.write(m.row_description(*self._row_shape(portal)))

    async def _execute(self, buf: m.Buffer) -> None:
        name, limit = buf.cstring(), buf.int32()
        portal = self.portals.get(name)
        if portal is None:
            raise QueryError(f'portal "{name}" does not exist')
        if not portal.executed:
            if await self._cursor_statement(portal, describe=False):
                return
            if await self._session_statement(portal, describe=False):
                return
            await self._run(portal)
        if await self._send_rows(portal, limit or None, portal.result_formats):
            self.writer.write(m.command_complete(f"SELECT {portal.sent}"))
        else:
            self.writer.write(m.PORTAL_SUSPENDED)

    # -- cursors (DECLARE / FETCH / CLOSE) ---------------------------------------------

    def _cursor_shape(self, portal: Portal) -> bool:
        """For Describe: a cursor statement's result shape (FETCH: the cursor's columns)."""
        fetch = _FETCH.match(portal.sql)
        if fetch:
            cursor = self.cursors.get(_name(fetch.group(2)))
            portal.schema = cursor.schema if cursor else None
            return True
        return bool(_DECLARE.match(portal.sql) or _CLOSE.match(portal.sql))

    async def _cursor_statement(self, portal: Portal, *, describe: bool) -> bool:
        """Answer DECLARE, FETCH and CLOSE; False for any other statement."""
        declare, fetch, close = (_DECLARE.match(portal.sql), _FETCH.match(portal.sql),
                                 _CLOSE.match(portal.sql))
        if not (declare or fetch or close):
            return False
        portal.executed = True
        if declare:
            cursor = Portal(declare.group(3), [0],
                            holdable=(declare.group(2) or "").upper() == "WITH")
            await self._run(cursor)
            name = _name(declare.group(1))
            if name in self.cursors:
                self.cursors.pop(name).close()
            self.cursors[name] = cursor
            self.writer.write(m.command_complete("DECLARE CURSOR"))
        elif fetch:
            name = _name(fetch.group(2))
            cursor = self.cursors.get(name)
            if cursor is None:
                raise QueryError(f'cursor "{name}" does not exist')
            count = (fetch.group(1) or "1").upper()  # FETCH with no count reads one row
            if describe:
                self.writer.write(m.row_description(
                    *self._row_shape(cursor, portal.result_formats)))
            before = cursor.sent
            await self._send_rows(cursor, None if count == "ALL" else int(count),
                                  portal.result_formats)
            self.writer.write(m.command_complete(f"FETCH {cursor.sent - before}"))
        else:
            target = close.group(1) if close else ""
            for name in list(self.cursors) if target.upper() == "ALL" else [_name(target)]:
                if name in self.cursors:
                    self.cursors.pop(name).close()
            self.writer.write(m.command_complete("CLOSE CURSOR"))
        return True

    # -- running ------------------------------------------------------------------------

    async def _run(self, portal: Portal) -> None:
        """Start the portal's query through the engine: sources are fetched, DuckDB's
        answer is read later, a batch at a time, by ``_send_rows``."""
        if self.status == "E":
            raise TransactionAborted("current transaction is aborted, commands ignored until "
                                     "end of transaction block")
        sql = rewrite_session_functions(portal.sql, self)
        application = self.params.get("application_name", "")
        user = self.params.get("user", "")
        portal.answer = await self._work(
            lambda: self.ctx.answer(sql, application, portal.cancel, user), portal.cancel)
        portal.schema, portal.executed = portal.answer.schema, True

    async def _send_rows(self, portal: Portal, limit: int | None, formats: list[int],
                         encode: Callable[[pa.RecordBatch], bytes] | None = None) -> bool:
        """Send up to ``limit`` more rows (None: all) as DataRows, or as ``encode`` frames
        them (COPY); True when the answer is finished. One batch is read and encoded at a
        time, and the next is read only once the client has taken this one, so a slow
        client or a huge answer holds one batch in memory."""
        if portal.answer is None and portal.pending is None:
            return True  # read to the end already, or a statement without rows
        assert portal.schema is not None
        types = [pg_type(f.type) for f in portal.schema]
        formats = _formats(formats, len(types))
        if encode is None:
            def encode(batch: pa.RecordBatch) -> bytes:
                return data_rows(batch, types, formats)
        goal = None if limit is None else portal.sent + limit

        def next_rows() -> tuple[bytes, int] | None:  # in a worker thread
            batch = portal.pending
            portal.pending = None
            if batch is None and portal.answer is not None:
                batch = portal.answer.read_next()
            if batch is None:
                return None
            if goal is not None and batch.num_rows > goal - portal.sent:
                batch, portal.pending = (batch.slice(0, goal - portal.sent),
                                         batch.slice(goal - portal.sent))
            return encode(batch), batch.num_rows

        while goal is None or portal.sent < goal:
            chunk = await self._work(next_rows, portal.cancel)
            if chunk is None:
                portal.close()
                return True
            self.writer.write(chunk[0])
            portal.sent += chunk[1]
            await self.writer.drain()  # bounded buffering: wait for a slow client
        return False

    async def _copy_out(self, portal: Portal, copy: CopyOut) -> None:
        """COPY ... TO STDOUT: the answer as CopyData messages, a batch at a time."""
        try:
            await self._run(portal)
            assert portal.schema is not None and portal.answer is not None
            types = [pg_type(f.type) for f in portal.schema]
            self.writer.write(copy.response(len(types)) + copy.start(portal.schema.names))
            await self._send_rows(portal, None, [], lambda batch: copy.rows(batch, types))
            self.writer.write(copy.end() + m.command_complete(f"COPY {portal.sent}"))
        finally:
            portal.close()

    async def _work(self, work: Callable[[], Any], cancel: Cancel) -> Any:
        """Run ``work`` off the event loop; a CancelRequest, or the client going away,
        interrupts it."""
        self.running = cancel
        try:
            task = asyncio.ensure_future(asyncio.to_thread(work))
            while not (await asyncio.wait([task], timeout=DISCONNECT_POLL))[0]:
                if self.writer.is_closing() or _client_gone(self.reader):
                    cancel.cancel()  # the client went away: free the work it asked for
            return task.result()
        finally:
            self.running = None

    def _close_portals(self, *, cursors: bool = False) -> None:
        """End of a transaction: its portals go, and its cursors unless WITH HOLD (or all
        of them when the session ends)."""
        for portal in self.portals.values():
            portal.close()
        self.portals.clear()
        for name, cursor in list(self.cursors.items()):
            if cursors or not cursor.holdable:
                cursor.close()
                del self.cursors[name]

    def _describe_sql(self, sql: str) -> pa.Schema:
        return self.ctx.describe(rewrite_session_functions(sql, self),
                                 self.params.get("application_name", ""),
                                 self.params.get("user", ""))

    def _row_shape(self, portal: Portal, formats: list[int] | None = None
                   ) -> tuple[list[str], list[PgType], list[int]]:
        assert portal.schema is not None
        types = [pg_type(f.type) for f in portal.schema]
        return (portal.schema.names, types,
                _formats(portal.result_formats if formats is None else formats,
                         len(portal.schema)))

    async def _session_statement(self, portal: Portal, *, describe: bool,
                                 send: bool = True) -> bool:
        """Answer SET/SHOW/BEGIN/... here; False when the engine must answer."""
        words = _LEADING.sub("", portal.sql).split(None, 2)
        keyword = words[0].upper().rstrip(";") if words else ""
        if keyword == "SHOW" and len(words) > 1:
            setting = " ".join(words[1:]).rstrip("; ").strip('"').lower()
            value = self.setting(setting)
            column = {"transaction isolation level": "transaction_isolation",
                      "time zone": "timezone"}.get(setting, setting.split()[-1])
            portal.schema = pa.schema([(column, pa.string())])
            if send:
                portal.executed = True
                portal.answer = TableStream(pa.table([[value]], schema=portal.schema))
                if describe:
                    self.writer.write(m.row_description(*self._row_shape(portal)))
                await self._send_rows(portal, None, portal.result_formats)
                self.writer.write(m.command_complete("SHOW"))
            return True
        tag = SESSION_TAGS.get(keyword)
        if tag is None:
            return False
        if not send:
            return True
        if keyword == "SET" and len(words) > 1:
            self._set(" ".join(words[1:]))
        if keyword in ("BEGIN", "START"):
            self.status = "T"
        elif keyword in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            self.status = "I"
            self._close_portals()
        if keyword == "DISCARD":
            self.statements.clear()
            self._close_portals(cursors=True)
        portal.executed = True
        self.writer.write(m.command_complete(tag))
        return True

    def _set(self, assignment: str) -> None:
        characteristics = re.match(r"SESSION\s+CHARACTERISTICS\s+AS\s+TRANSACTION\s+(.+?)"
                                   r"\s*;?$", assignment, re.I | re.S)
        if characteristics:  # Metabase's isolation level: the default of later transactions
            for mode in re.split(r"\s*,\s*", characteristics.group(1)):
                level = re.match(r"ISOLATION\s+LEVEL\s+(.+)", mode, re.I)
                if level:
                    self.params["default_transaction_isolation"] = " ".join(
                        level.group(1).lower().split())
            return
        match = re.match(r"(?:SESSION\s+|LOCAL\s+)?([\w.]+)\s*(?:=|\bTO\b)\s*(.+?)\s*;?$",
                         assignment, re.I)
        if match:
            self.params[match.group(1).lower()] = match.group(2).strip("'\"")

    def setting(self, name: str) -> str:
        known = {"server_version": SERVER_VERSION, "server_encoding": "UTF8",
                 "client_encoding": "UTF8", "datestyle": "ISO, MDY", "timezone": "UTC",
                 "standard_conforming_strings": "on", "transaction isolation level":
                 "read committed", "transaction_isolation": "read committed",
                 "default_transaction_isolation": "read committed",
                 "default_transaction_read_only": "on", "transaction_read_only": "on",
                 "search_path": '"$user", public', "integer_datetimes": "on",
                 "max_identifier_length": "63", "lc_collate": "C", "lc_ctype": "C"}
        if name in ("transaction isolation level", "transaction_isolation"):
            # a transaction's level: SET SESSION CHARACTERISTICS sets the default
            return self.params.get("transaction_isolation", self.params.get(
                "default_transaction_isolation", known[name]))
        return self.params.get(name, known.get(name, ""))

    async def _send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


def _client_gone(reader: asyncio.StreamReader) -> bool:
    """The client closed its side, even if a Terminate it sent first is still unread
    (``at_eof()`` waits for the buffer to be read)."""
    return reader.at_eof() or bool(getattr(reader, "_eof", False))


def _name(identifier: str) -> str:
    return identifier[1:-1] if identifier.startswith('"') else identifier.lower()


def _formats(requested: list[int], n: int) -> list[int]:
    if len(requested) == 1:
        return requested * n
    return requested if len(requested) == n else [0] * n


def _split(sql: str) -> list[str]:
    """Statements of a simple Query message (semicolons outside quotes)."""
    parts, current, quote = [], [], ""
    for ch in sql:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _parameter_numbers(sql: str) -> list[int]:
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return []
    return [int(p.this.this) for p in tree.find_all(exp.Parameter)
            if isinstance(p.this, exp.Literal)]


def substitute(sql: str, params: list[Any]) -> str:
    """``$n`` placeholders replaced by their values as SQL literals (never pasted raw)."""
    if not params:
        return sql
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError as exc:
        raise QueryError(f"cannot parse the statement: {exc}") from None
    for node in list(tree.find_all(exp.Parameter)):
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            index = int(node.this.this) - 1
            if not 0 <= index < len(params):
                raise QueryError(f"there is no parameter ${index + 1}")
            node.replace(_literal(params[index]))
    return tree.sql("postgres")


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


_SESSION_FUNCTIONS = {"version", "current_schema", "current_database", "current_user",
                      "session_user", "current_setting", "pg_backend_pid", "current_catalog",
                      "user"}
# a call of one of them: a function call, or a SQL value function (no parentheses); other
# queries are left as they are, not round-tripped through sqlglot
_SESSION_CALL = re.compile(r"\b(?:version|current_schema|current_database|current_setting|"
                           r"pg_backend_pid)\s*\(|\b(?:current_user|session_user|"
                           r"current_catalog|current_schema)\b|(?<![\w.\"])user\b(?!\s*[(\"])",
                           re.I)


def rewrite_session_functions(sql: str, session: Session) -> str:
    """``version()``, ``current_schema()``, ``current_setting('x')`` ... as literals, named
    as PostgreSQL names them."""
    if not _SESSION_CALL.search(re.sub(r"'(?:[^']|'')*'", "''", sql)):
        return sql
    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.ParseError:
        return sql
    user = session.params.get("user", "")
    values = {"version": VERSION_TEXT, "current_schema": "public",
              "current_database": DATABASE, "current_catalog": DATABASE,
              "current_user": user, "session_user": user, "user": user,
              "pg_backend_pid": session.pid}
    for node in list(tree.walk()):
        name = _function_name(node)
        if name is None or name not in _SESSION_FUNCTIONS:
            continue
        if name == "current_setting":
            args = node.expressions if isinstance(node, exp.Anonymous) else []
            setting = args[0].name if args else ""
            value: Any = session.setting(setting.lower())
        else:
            value = values[name]
        literal = _literal(value)
        parent = node.parent
        if isinstance(parent, exp.Dot):
            node = parent  # pg_catalog.version()
            parent = node.parent
        if isinstance(parent, exp.Select) or (parent is not None
                                              and parent.key == "select"):
            node.replace(exp.alias_(literal, name))
        else:
            node.replace(literal)
    return tree.sql("postgres")


def _function_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    if isinstance(node, exp.CurrentSchema):
        return "current_schema"
    if isinstance(node, exp.CurrentUser):
        return "current_user"
    if type(node).__name__ == "SessionUser":
        return "session_user"
    if type(node).__name__ == "CurrentCatalog":
        return "current_catalog"
    if (isinstance(node, exp.Column) and not node.table and isinstance(node.this, exp.Identifier)
            and not node.this.quoted and node.name.lower() == "user"):
        return "user"  # a reserved word: never a column unless quoted
    if type(node).__name__ == "CurrentDatabase":
        return "current_database"
    if type(node).__name__ == "CurrentVersion":
        return "version"
    return None
