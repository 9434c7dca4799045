"""Starlette app simulating NetSuite's SuiteQL REST endpoint for one account.

``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``{"q": "<SuiteQL>"}`` and
``Prefer: transient``, as documented in "Executing SuiteQL Queries Through REST Web
Services" and "Collection Paging". The simulator follows the documented wire behaviour,
including the parts that break naive clients:

* pages of at most 1,000 rows (``limit`` default 1000), ``offset`` a multiple of ``limit``;
* ``links`` (``first``/``prev``/``next``/``last``/``self``), ``count``, ``hasMore``,
  ``offset``, ``totalResults``; every item carries ``"links": []`` and lowercase keys;
* values as SuiteQL REST renders them: every value a JSON string, booleans ``"T"``/``"F"``,
  dates in the account's date preference (``M/D/YYYY`` by default), NULL columns omitted;
* the 100,000-result cap: rows past 100,000 are never returned; ``totalResults`` still says
  how many rows matched and ``hasMore`` stays true at the cap, and asking for an offset at or
  past 100,000 is a 400, so a client cannot mistake a truncated scan for a complete one;
* OAuth 2.0 bearer tokens and TBA (OAuth 1.0a HMAC-SHA256, signatures really verified);
* per-account concurrency governance: the request over the limit gets 429
  ``CONCURRENCY_LIMIT_EXCEEDED``;
* every error in NetSuite's ``o:errorDetails`` shape;
* NetSuite's documented REST metadata catalog, ``GET /services/rest/record/v1/metadata-catalog/
  {record}`` with ``Accept: application/schema+json`` (see ``metadata.py``), so clients can
  learn field types before they query.

Test hooks (fault queue, counters, ``/__sandbox/...``) come from ``SimulatorBase``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.erp_model import NetSuiteAccount
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .auth import TbaCredential, TbaVerifier
from .errors import (
    NetSuiteApiError,
    bad_param,
    bad_query,
    concurrency_limited,
    invalid_login,
)
from .metadata import METADATA_PATH, SCHEMA_TYPE, catalog_listing, record_schema
from .suiteql import QueryResult, SuiteQLEngine, SuiteQLError, format_date, number_text

__all__ = [
    "SUITEQL_PATH",
    "Fault",
    "NetSuiteSimConfig",
    "NetSuiteSimulator",
    "SimStats",
    "create_app",
    "render_value",
]

log = logging.getLogger(__name__)

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
COLLECTION_TYPE = "application/vnd.oracle.resource+json; type=collection; charset=UTF-8"
ERROR_TYPE = "application/vnd.oracle.resource+json; type=error; charset=UTF-8"


@dataclass
class NetSuiteSimConfig:
    """Knobs for one simulated account; defaults follow NetSuite's documented limits."""

    # OAuth 2.0 access tokens accepted as ``Authorization: Bearer <token>``.
    bearer_tokens: tuple[str, ...] = ("ns-oauth2-sandbox",)
    # TBA: integration record + access token pairs accepted for OAuth 1.0a signatures.
    tba_credentials: tuple[TbaCredential, ...] = (
        TbaCredential(
            "sandbox-consumer-key",
            "sandbox-consumer-secret",
            "sandbox-token-id",
            "sandbox-token-secret",
        ),
    )
    # Allowed clock skew for oauth_timestamp, seconds.
    tba_timestamp_tolerance_s: float = 300.0
    # Concurrent requests per account (developer accounts: 5; base tier: 15).
    concurrency_limit: int | None = 5
    default_limit: int = 1000
    max_limit: int = 1000
    result_cap: int = 100_000  # "Using SuiteQL queries, you can return a maximum of 100,000"
    offset_must_be_multiple_of_limit: bool = True
    # NetSuite date preference used to render DATE values (M/D/YYYY, D/M/YYYY, YYYY-MM-DD,
    # DD-Mon-YYYY, D.M.YYYY, ...).
    date_format: str = "M/D/YYYY"
    # How DATETIME values render; None = like dates (SuiteQL REST drops the time of day;
    # use TO_CHAR(field, 'YYYY-MM-DD HH24:MI:SS') to get it). Example: "M/D/YYYY h:mi a".
    datetime_format: str | None = None
    # SuiteQL REST sends every value as a JSON string; False sends numbers as JSON numbers.
    numbers_as_strings: bool = True
    require_prefer_transient: bool = True
    latency_ms: float = 0.0
    # Select-field targets and display fields for BUILTIN.DF (None = suiteql defaults).
    references: dict[str, str] | None = None
    display_fields: dict[str, tuple[str, ...]] | None = None
    # Wall clock in seconds (TBA timestamps); tests may replace it.
    clock: Callable[[], float] = time.time


class Fault(BaseFault):
    """A queued failure whose default answer is NetSuite's error body for the status."""

    def default_error(self) -> NetSuiteApiError:
        if self.status == 401:
            return invalid_login()
        if self.status == 429:
            return concurrency_limited()
        code, detail = _FAULT_DEFAULTS.get(
            self.status, ("UNEXPECTED_ERROR", "An unexpected error occurred.")
        )
        return NetSuiteApiError(self.status, code, detail)


_FAULT_DEFAULTS = {
    400: ("INVALID_PARAMETER", "Injected bad request."),
    403: (
        "INSUFFICIENT_PERMISSION",
        "Permission Violation: You need a higher level of the "
        "'REST Web Services' permission to access this page.",
    ),
    404: ("NONEXISTENT_ID", "The requested resource was not found."),
    500: ("UNEXPECTED_ERROR", "An unexpected error occurred. Error ID: sandbox0injected"),
    502: ("UNEXPECTED_ERROR", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
    504: ("UNEXPECTED_ERROR", "Gateway Timeout"),
}


@dataclass
class SimStats:
    """Counters for tests and benchmarks (what the adapter actually asked for)."""

    requests_total: int = 0
    requests_by_kind: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[int] = field(default_factory=Counter)
    rows_returned: int = 0
    pages_served: int = 0
    faults_served: int = 0
    throttled: int = 0  # 429s from concurrency governance (not injected faults)
    max_in_flight: int = 0
    auth_failures: Counter[str] = field(default_factory=Counter)  # reason -> count
    queries: list[str] = field(default_factory=list)  # SuiteQL texts, as received

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "max_in_flight": self.max_in_flight,
            "auth_failures": dict(self.auth_failures),
            "queries": list(self.queries),
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    media = COLLECTION_TYPE if status < 400 else ERROR_TYPE
    return Response(data, status_code=status, headers=headers, media_type=media)


def render_value(
    value: Any, date_format: str, datetime_format: str | None, numbers_as_strings: bool = True
) -> Any:
    """One SuiteQL value as NetSuite REST sends it (None = omit the column)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int | float | decimal.Decimal):
        text = number_text(value)
        if numbers_as_strings:
            return text
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if isinstance(value, dt.datetime):
        return format_date(value, datetime_format or date_format)
    if isinstance(value, dt.date):
        return format_date(value, date_format)
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return str(value)


def _param_int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_param(name, f"Invalid '{name}' query parameter value: {raw}.") from None


class NetSuiteSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated account: the ASGI ``app`` plus test hooks (``stats``, ``inject``)."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    unknown_hook_body = NetSuiteApiError(404, "NONEXISTENT_ID", "unknown sandbox hook").body()

    def __init__(self, account: NetSuiteAccount, config: NetSuiteSimConfig | None = None) -> None:
        super().__init__()
        self.account = account
        self.config = config or NetSuiteSimConfig()
        self.engine = SuiteQLEngine(account, self.config.references, self.config.display_fields)
        self.tba = TbaVerifier(
            self.config.tba_credentials,
            realm=account.account_id,
            timestamp_tolerance_s=self.config.tba_timestamp_tolerance_s,
            clock=self.config.clock,
        )
        self.in_flight = 0

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        if path.rstrip("/") == SUITEQL_PATH:
            kind = "suiteql"
        elif path.rstrip("/") == METADATA_PATH or path.startswith(METADATA_PATH + "/"):
            kind = "metadata"
        else:
            kind = "other"
        stats = self.stats
        stats.requests_total += 1
        stats.requests_by_kind[kind] += 1
        limit = self.config.concurrency_limit
        if limit is not None and self.in_flight >= limit:
            stats.throttled += 1
            response = _json(concurrency_limited().body(), 429)
        else:
            self.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, self.in_flight)
            try:
                if self.config.latency_ms:
                    await asyncio.sleep(self.config.latency_ms / 1000.0)
                response = await self._handle(request, kind)
            finally:
                self.in_flight -= 1
        self.stats.responses_by_status[response.status_code] += 1
        return response

    async def _handle(self, request: Request, kind: str) -> Response:
        fault = self._take_fault(kind)
        if fault is not None:
            return self._fault_response(fault)
        try:
            if kind == "metadata":
                return await self._metadata(request)
            if kind != "suiteql":
                raise NetSuiteApiError(
                    404, "INVALID_URL", f"The request URL {request.url.path} is not valid."
                )
            if request.method != "POST":
                raise NetSuiteApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"The HTTP method {request.method} is not allowed for this resource.",
                )
            body = await request.body()
            self._authenticate(request, body)
            return await self._suiteql(request, body)
        except NetSuiteApiError as e:
            return _json(e.body(), e.status, e.headers)
        except Exception:  # a simulator bug or bad model data: answer like NetSuite does
            log.exception("simulator error on %s", request.url.path)
            return _json(Fault(500).default_error().body(), 500)

    # ------------------------------------------------------------------ auth
    def _authenticate(self, request: Request, body: bytes) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "bearer":
            if rest.strip() in self.config.bearer_tokens:
                return
            reason = "unknown bearer token"
        elif scheme.lower() == "oauth":
            reason = self.tba.verify(request.method, str(request.url), header, body) or ""
            if not reason:
                return
        else:
            reason = "no credentials"
        self.tba.last_reason = reason
        self.stats.auth_failures[reason] += 1
        raise invalid_login()

    # ------------------------------------------------------------------ metadata
    async def _metadata(self, request: Request) -> Response:
        """The record list, or one record's JSON Schema (``Accept: application/schema+json``)."""
        if request.method != "GET":
            raise NetSuiteApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"The HTTP method {request.method} is not allowed for this resource.",
            )
        self._authenticate(request, await request.body())
        base = f"{request.url.scheme}://{request.url.netloc}"
        record = request.url.path[len(METADATA_PATH) :].strip("/").lower()
        if not record:
            return _json(catalog_listing(self.account.tables, base))
        tables = {name.lower(): table for name, table in self.account.tables.items()}
        table = tables.get(record)
        if table is None or "/" in record:
            raise NetSuiteApiError(
                404, "NONEXISTENT_ID", f"Record type '{record}' does not exist."
            )
        body = json.dumps(record_schema(table, base), ensure_ascii=False).encode()
        return Response(body, media_type=SCHEMA_TYPE)

    # ------------------------------------------------------------------ suiteql
    async def _suiteql(self, request: Request, body: bytes) -> Response:
        cfg = self.config
        if cfg.require_prefer_transient and "transient" not in [
            p.strip().lower() for v in request.headers.getlist("prefer") for p in v.split(",")
        ]:
            raise NetSuiteApiError(
                400,
                "INVALID_HEADER",
                "Invalid 'Prefer' header value. The 'transient' preference is required for "
                "SuiteQL queries.",
                header="Prefer",
            )
        limit = _param_int(request, "limit", cfg.default_limit)
        offset = _param_int(request, "offset", 0)
        if not 1 <= limit <= cfg.max_limit:
            raise bad_param(
                "limit",
                f"Invalid 'limit' query parameter value: {limit}. "
                f"The value must be between 1 and {cfg.max_limit}.",
            )
        if offset < 0:
            raise bad_param("offset", f"Invalid 'offset' query parameter value: {offset}.")
        if cfg.offset_must_be_multiple_of_limit and offset % limit:
            raise bad_param(
                "offset",
                f"Invalid 'offset' query parameter value: {offset}. "
                f"The offset must be a multiple of the limit ({limit}).",
            )
        if offset >= cfg.result_cap:
            raise bad_param(
                "offset",
                f"Invalid 'offset' query parameter value: {offset}. SuiteQL returns at most "
                f"{cfg.result_cap:,} results; use SuiteAnalytics Connect for more, or narrow "
                "the query.",
            )
        try:
            payload = json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise NetSuiteApiError(
                400, "INVALID_CONTENT", "The request body is not valid JSON."
            ) from None
        q = payload.get("q") if isinstance(payload, dict) else None
        if not isinstance(q, str) or not q.strip():
            raise NetSuiteApiError(
                400,
                "INVALID_CONTENT",
                "The request body must be a JSON object with a SuiteQL query in 'q'.",
                path="q",
            )
        self.stats.queries.append(q)
        try:
            result = await asyncio.to_thread(self._run, q)
        except SuiteQLError as e:
            raise bad_query(e.detail) from None
        if offset > 0 and offset >= min(result.total, cfg.result_cap):
            raise bad_param(
                "offset",
                f"Invalid 'offset' query parameter value: {offset}. The query has "
                f"{result.total} results.",
            )
        return self._page(request, result, limit, offset)

    def _run(self, q: str) -> QueryResult:
        compiled = self.engine.compile(q)
        return self.engine.execute(compiled, self.config.result_cap)

    def _page(self, request: Request, result: QueryResult, limit: int, offset: int) -> Response:
        cfg = self.config
        rows = result.rows[offset : offset + limit]
        items = []
        for row in rows:
            item: dict[str, Any] = {"links": []}
            for key, value in zip(result.columns, row, strict=False):
                shown = render_value(
                    value, cfg.date_format, cfg.datetime_format, cfg.numbers_as_strings
                )
                if shown is not None:
                    item[key.lower()] = shown
            items.append(item)
        reachable = min(result.total, cfg.result_cap)
        has_more = offset + len(rows) < result.total
        base = f"{request.url.scheme}://{request.url.netloc}{SUITEQL_PATH}"

        def href(at: int) -> str:
            return f"{base}?{urlencode({'limit': limit, 'offset': at})}"

        links: list[dict[str, str]] = []
        if offset > 0:
            links.append({"rel": "first", "href": href(0)})
            links.append({"rel": "prev", "href": href(max(0, offset - limit))})
        if has_more:
            links.append({"rel": "next", "href": href(offset + limit)})
        last = ((max(reachable, 1) - 1) // limit) * limit
        links.append({"rel": "last", "href": href(last)})
        links.append({"rel": "self", "href": href(offset)})
        self.stats.pages_served += 1
        self.stats.rows_returned += len(items)
        body = {
            "links": links,
            "count": len(items),
            "hasMore": has_more,
            "items": items,
            "offset": offset,
            "totalResults": result.total,
        }
        return _json(body)


def create_app(account: NetSuiteAccount, config: NetSuiteSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``NetSuiteSimulator`` is at ``app.state.simulator``."""
    return NetSuiteSimulator(account, config).app
