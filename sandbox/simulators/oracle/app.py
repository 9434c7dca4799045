"""Starlette app simulating Oracle Fusion Cloud ERP/CX REST resources for one pod.

Paths follow Fusion: ``/{app}/resources/{version}/{resource}`` where ``version`` is
``11.13.18.05`` (or its alias ``latest``) and ``app`` is the REST application that owns the
resource: customer ``accounts`` live under ``/crmRestApi`` (the Sales and Service "Accounts"
resource), ``receivablesInvoices`` and ``salesOrdersForOrderHub`` under ``/fscmRestApi``.
A resource asked for under the wrong application is a 404, as in Fusion.

Collections (``GET``) take the documented query parameters:

* ``q``: a filter (see ``query.py``; expressions need ``REST-Framework-Version: 2`` or later,
  version 1 — the default — reads only ``Attr=value;Attr2=value``);
* ``fields=a,b``: only those attributes (an unknown one is a 400);
* ``onlyData=true``: no ``links`` in items or the collection;
* ``limit`` (default 25; more than 500 is silently served as 500, the response's ``limit``
  says so) and ``offset``; ``hasMore`` tells whether rows remain;
* ``totalResults=true``: adds ``totalResults``;
* ``orderBy=Attr:asc,Attr2:desc``: Oracle orders NULLs as the largest value (last ascending,
  first descending). Without ``orderBy`` the order is unspecified, and unless
  ``stable_default_order`` is set the simulator shuffles it per request, so a client paging
  with ``offset`` must sort by a key.

``GET .../{resource}/describe`` answers the resource's metadata in Fusion's shape:
``{"Resources": {name: {"title", "attributes": [{name, type, queryable, ...}], "collection":
{"finders": [{"name": "PrimaryKey", "attributes": [...]}]}, ...}}}``.

Values render as Fusion renders them: integers and numbers as JSON numbers, dates
``"2024-01-31"``, datetimes ``"2024-01-31T10:00:00.123+00:00"``, booleans as JSON booleans,
NULL as ``null``. Auth is HTTP Basic (configured user and password) or a bearer token;
anything else is 401 with an empty body and ``WWW-Authenticate``. Errors other than 401 use
the Oracle REST error shape (``title``, ``status``, ``o:errorDetails[{detail, o:errorCode}]``).
Requests beyond ``requests_per_window`` within ``window_seconds`` get 429 with
``Retry-After``. Test hooks (faults, counters, ``/__sandbox/...``) come from
``SimulatorBase``.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import random
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.erp_model import ErpTable, OracleFusion
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .query import QueryError, compile_q

__all__ = [
    "API_VERSION",
    "DEFAULT_APPS",
    "Fault",
    "OracleApiError",
    "OracleFusionSimulator",
    "OracleSimConfig",
    "SimStats",
    "create_app",
    "render_value",
]

log = logging.getLogger(__name__)

API_VERSION = "11.13.18.05"
#: the REST application each projected resource belongs to in Fusion (others: fscmRestApi)
DEFAULT_APPS = {"accounts": "crmRestApi"}
COLLECTION_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
DESCRIBE_TYPE = "application/vnd.oracle.adf.description+json"
ERROR_TYPE = "application/vnd.oracle.adf.error+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


class OracleApiError(Exception):
    """An error the simulator answers in Oracle's REST error shape."""

    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "type": f"http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.{self.status}",
            "title": _TITLES.get(self.status, "Error"),
            "status": str(self.status),
            "o:errorDetails": [{"detail": self.detail, "o:errorCode": self.code}],
        }


@dataclass
class OracleSimConfig:
    """Knobs for one simulated pod; defaults follow Fusion's documented behaviour."""

    users: dict[str, str] = field(default_factory=lambda: {"concord.integration": "Welcome1"})
    bearer_tokens: tuple[str, ...] = ("oracle-sandbox-token",)
    default_limit: int = 25
    max_limit: int = 500  # larger limits are served as this many rows
    # REST application per resource (others under fscmRestApi)
    apps: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APPS))
    stable_default_order: bool = False  # False: shuffle rows per request when no orderBy
    requests_per_window: int | None = None  # throttle: requests per window, then 429
    window_seconds: float = 1.0
    latency_ms: float = 0.0


class Fault(BaseFault):
    """A queued failure whose default answer is Oracle's error body for the status."""

    def default_error(self) -> OracleApiError:
        codes = {400: "BAD_REQUEST", 404: "NOT_FOUND", 429: "TOO_MANY_REQUESTS",
                 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE",
                 504: "GATEWAY_TIMEOUT"}
        return OracleApiError(self.status, codes.get(self.status, "ERROR"),
                              f"Injected {_TITLES.get(self.status, 'error').lower()}.")


@dataclass
class SimStats:
    """Counters for tests and benchmarks (what the client actually asked for)."""

    requests_total: int = 0
    requests_by_kind: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[int] = field(default_factory=Counter)
    rows_returned: int = 0
    pages_served: int = 0
    faults_served: int = 0
    throttled: int = 0
    auth_failures: Counter[str] = field(default_factory=Counter)
    queries: list[str] = field(default_factory=list)  # q texts, as received
    requests: list[dict[str, str]] = field(default_factory=list)  # collection params

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "auth_failures": dict(self.auth_failures),
            "queries": list(self.queries),
            "requests": list(self.requests),
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None,
          media: str | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, headers=headers,
                    media_type=media or (COLLECTION_TYPE if status < 400 else ERROR_TYPE))


def render_value(value: Any, kind: str) -> Any:
    """One attribute value as Fusion's JSON carries it."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if kind == "integer" and not isinstance(value, bool):
        return int(value)
    if kind == "number" and not isinstance(value, bool):
        return float(value)
    if kind == "boolean":
        return bool(value)
    return value if isinstance(value, str) else str(value)


class OracleFusionSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated pod: the ASGI ``app`` plus test hooks (``stats``, ``inject``).

    ``fusion`` may be replaced between requests (schema-drift tests); every request reads
    the current one.
    """

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    unknown_hook_body = OracleApiError(404, "NOT_FOUND", "unknown sandbox hook").body()

    def __init__(self, fusion: OracleFusion, config: OracleSimConfig | None = None) -> None:
        super().__init__()
        self.fusion = fusion
        self.config = config or OracleSimConfig()
        self._window: deque[float] = deque()
        self._shuffle = random.Random(20240131)

    # ------------------------------------------------------------------ paths
    def path_of(self, resource: str, version: str = API_VERSION) -> str:
        """The collection path Fusion serves ``resource`` at."""
        app = self.config.apps.get(resource, "fscmRestApi")
        return f"/{app}/resources/{version}/{resource}"

    def _route(self, path: str) -> tuple[ErpTable, bool]:
        """(resource, is_describe) for a request path; OracleApiError 404 otherwise."""
        parts = [p for p in path.split("/") if p]
        describe = len(parts) == 5 and parts[4] == "describe"
        if len(parts) in (4, 5) and parts[1] == "resources" and (len(parts) == 4 or describe):
            app, _, version, name = parts[:4]
            table = self.fusion.resources.get(name)
            if (table is not None and version in (API_VERSION, "latest")
                    and app == self.config.apps.get(name, "fscmRestApi")):
                return table, describe
        raise OracleApiError(404, "NOT_FOUND", f"The requested URL {path} was not found.")

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        kind = "describe" if path.rstrip("/").endswith("/describe") else "collection"
        stats = self.stats
        stats.requests_total += 1
        stats.requests_by_kind[kind] += 1
        response = await self._handle(request, kind)
        stats.responses_by_status[response.status_code] += 1
        return response

    async def _handle(self, request: Request, kind: str) -> Response:
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        fault = self._take_fault(kind)
        if fault is not None:
            return self._fault_response(fault)
        try:
            self._throttle()
            self._authenticate(request)
            if request.method != "GET":
                raise OracleApiError(405, "METHOD_NOT_ALLOWED",
                                     f"The HTTP method {request.method} is not allowed.")
            table, describe = self._route(request.url.path.rstrip("/"))
            if describe:
                return _json(self._describe(request, table), media=DESCRIBE_TYPE)
            return self._collection(request, table)
        except OracleApiError as e:
            if e.status == 401:
                return Response(b"", 401, {"WWW-Authenticate": 'Basic realm="Fusion"',
                                           **e.headers})
            return _json(e.body(), e.status, e.headers)
        except Exception:  # a simulator bug or bad model data: answer like Fusion would
            log.exception("simulator error on %s", request.url.path)
            return _json(Fault(500).default_error().body(), 500)

    def _throttle(self) -> None:
        cap = self.config.requests_per_window
        if cap is None:
            return
        now = time.monotonic()
        with self._lock:
            while self._window and now - self._window[0] >= self.config.window_seconds:
                self._window.popleft()
            if len(self._window) >= cap:
                wait = self.config.window_seconds - (now - self._window[0])
                self.stats.throttled += 1
                raise OracleApiError(429, "TOO_MANY_REQUESTS",
                                     "The request was throttled. Try again later.",
                                     {"Retry-After": str(max(1, int(wait + 0.999)))})
            self._window.append(now)

    # ------------------------------------------------------------------ auth
    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "bearer":
            if rest.strip() in self.config.bearer_tokens:
                return
            reason = "unknown bearer token"
        elif scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(rest.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", None  # type: ignore[assignment]
            if user in self.config.users and self.config.users[user] == password:
                return
            reason = "wrong user or password"
        else:
            reason = "no credentials"
        self.stats.auth_failures[reason] += 1
        raise OracleApiError(401, "UNAUTHORIZED", reason)

    # ------------------------------------------------------------------ describe
    def _describe(self, request: Request, table: ErpTable) -> dict[str, Any]:
        base = f"{request.url.scheme}://{request.url.netloc}{self.path_of(table.name)}"
        attributes = [{
            "name": f.name, "type": f.type, "updatable": False, "mandatory": not f.nullable,
            "queryable": True, "allowChanges": "never", "title": f.label or f.name,
            "properties": {"fnDefaultSearch": "false"},
        } for f in table.fields]
        key = [a for a in attributes if a["name"] == table.key]
        return {"Resources": {table.name: {
            "discrColumnType": False,
            "title": table.name,
            "titlePlural": table.name,
            "attributes": attributes,
            "collection": {
                "rangeSize": self.config.default_limit,
                "finders": [{"name": "PrimaryKey", "attributes": [
                    {"name": a["name"], "type": a["type"], "updatable": True,
                     "required": "Required", "queryable": False} for a in key]}],
                "links": [{"rel": "self", "href": base, "name": "self", "kind": "collection"}],
                "actions": [{"name": "get", "method": "GET",
                             "responseType": [COLLECTION_TYPE]}],
            },
            "item": {"links": [{"rel": "self", "href": f"{base}/{{id}}", "name": "self",
                                "kind": "item"}]},
            "children": {},
        }}}

    # ------------------------------------------------------------------ collections
    @staticmethod
    def _int_param(request: Request, name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise OracleApiError(400, "BAD_PARAMETER",
                                 f"URL request parameter {name} with value {raw} is not valid.")
        return value

    def _collection(self, request: Request, table: ErpTable) -> Response:
        cfg = self.config
        params = request.query_params
        self.stats.requests.append(dict(params))
        types = {f.name: f.type for f in table.fields}
        limit = self._int_param(request, "limit", cfg.default_limit)
        if limit == 0:
            raise OracleApiError(400, "BAD_PARAMETER",
                                 "URL request parameter limit with value 0 is not valid.")
        limit = min(limit, cfg.max_limit)
        offset = self._int_param(request, "offset", 0)
        only_data = params.get("onlyData", "false").lower() == "true"
        total_wanted = params.get("totalResults", "false").lower() == "true"
        fields = [f.name for f in table.fields]
        if params.get("fields"):
            fields = [f.strip() for f in params["fields"].split(",") if f.strip()]
            for name in fields:
                if name not in types:
                    raise OracleApiError(
                        400, "BAD_PARAMETER",
                        f"URL request parameter fields with value {params['fields']} is not "
                        f"valid: {name} is not an attribute of {table.name}.")
        rows = list(table.rows)
        q = params.get("q")
        if q is not None:
            self.stats.queries.append(q)
            version = self._framework_version(request)
            try:
                keep = compile_q(q, types, framework_version=version)
            except QueryError as exc:
                raise OracleApiError(400, "BAD_QUERY", exc.detail) from None
            rows = [r for r in rows if keep(r) is True]
        order = params.get("orderBy")
        if order:
            rows = self._ordered(rows, order, types)
        elif not cfg.stable_default_order:
            self._shuffle.shuffle(rows)
        page = rows[offset:offset + limit]
        items = []
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        for row in page:
            item = {name: render_value(row.get(name), types[name]) for name in fields}
            if not only_data:
                item["links"] = [{"rel": "self", "href": f"{base}/{row.get(table.key)}",
                                  "name": table.name, "kind": "item"}]
            items.append(item)
        has_more = offset + len(page) < len(rows)
        body: dict[str, Any] = {"items": items}
        if total_wanted:
            body["totalResults"] = len(rows)
        body.update({"count": len(items), "hasMore": has_more, "limit": limit,
                     "offset": offset})
        if not only_data:
            query = {k: v for k, v in params.items() if k != "offset"}
            body["links"] = [{"rel": "self", "href": f"{base}?{urlencode(query)}",
                              "name": table.name, "kind": "collection"}]
        self.stats.pages_served += 1
        self.stats.rows_returned += len(items)
        return _json(body)

    @staticmethod
    def _framework_version(request: Request) -> int:
        raw = request.headers.get("REST-Framework-Version", "1")
        try:
            return int(raw)
        except ValueError:
            raise OracleApiError(400, "BAD_HEADER",
                                 f"REST-Framework-Version {raw} is not supported.") from None

    @staticmethod
    def _ordered(rows: list[dict[str, Any]], order: str,
                 types: dict[str, str]) -> list[dict[str, Any]]:
        """Sort by ``Attr:asc,Attr2:desc`` with Oracle's NULL placement."""
        keys = []
        for part in order.split(","):
            name, _, direction = part.strip().partition(":")
            direction = (direction or "asc").lower()
            if name not in types or direction not in ("asc", "desc"):
                raise OracleApiError(
                    400, "BAD_PARAMETER",
                    f"URL request parameter orderBy with value {order} is not valid.")
            keys.append((name, direction == "desc"))
        for name, descending in reversed(keys):  # stable sorts, last key first
            present = [r for r in rows if r.get(name) is not None]
            missing = [r for r in rows if r.get(name) is None]
            present.sort(key=lambda r, n=name: r[n], reverse=descending)
            rows = missing + present if descending else present + missing
        return rows


def create_app(fusion: OracleFusion, config: OracleSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``OracleFusionSimulator`` is at ``app.state.simulator``."""
    return OracleFusionSimulator(fusion, config).app
