"""Starlette app simulating the Microsoft Dataverse (Dynamics 365) Web API, OData v4.

Follows Microsoft's documentation (powerapps-docs: query/filter/page/count/select pages,
service protection limits, metadata queries), not any adapter: the token endpoint is Entra
ID's client-credentials flow; data is served under ``/api/data/v9.2`` with ``@odata.nextLink``
paging cookies (``$skiptoken``), the 5000 caps on page size and ``@odata.count``, ``$skip``
refused, ``$top`` ignored when ``odata.maxpagesize`` is also sent, FormattedValue annotations
only on request, case-insensitive string filters, and 429 service-protection errors with
``Retry-After``. Test hooks (fault queue, counters) sit beside the real endpoints under
``/__sandbox/`` and on the ``DataverseSimulator`` object.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import logging
import math
import re
import secrets
import time
import uuid
import zlib
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.dataverse_model import DataverseAttribute, DataverseEntity, DataverseOrg
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .metadata import (
    CAST_TYPES,
    LOOKUP_TYPES,
    NAVIGATION,
    attribute_definitions,
    entity_definition,
    option_set,
)
from .odata import (
    Column,
    ODataError,
    compile_filter,
    order_rows,
    parse_expand,
    parse_orderby,
    parse_select,
)

__all__ = ["DataverseSimConfig", "DataverseSimulator", "Fault", "SimStats", "create_app"]

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 5000
COUNT_CAP = 5000
API_PREFIX = "/api/data/v"
JSON_TYPE = "application/json; odata.metadata=minimal"
CRM = "Microsoft.Dynamics.CRM."
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV = "Microsoft.Dynamics.CRM.associatednavigationproperty"
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
TOTAL_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


@dataclass
class DataverseSimConfig:
    """Knobs for one simulated environment; defaults follow the documented limits."""

    # Entra ID client-credentials pairs accepted by /{tenant}/oauth2/v2.0/token.
    clients: dict[str, str] = field(default_factory=lambda: {"concord": "concord-secret"})
    # Bearer tokens accepted without calling the token endpoint.
    static_tokens: tuple[str, ...] = ("sandbox-token",)
    api_versions: tuple[str, ...] = ("9.0", "9.1", "9.2")
    token_lifetime_seconds: int = 3599
    # Absolute base URL used in @odata.context/nextLink; None = the request's own origin.
    base_url: str | None = None
    latency_ms: float = 0.0
    # Service protection limits per user, sliding window (documented defaults).
    requests_per_window: int = 6000
    window_seconds: float = 300.0
    execution_ms_per_window: float = 1_200_000.0
    max_concurrent: int = 52
    # Monotonic clock in seconds; tests replace it to move the sliding window.
    clock: Callable[[], float] = time.monotonic


class Fault(BaseFault):
    """A queued failure whose default body is Dataverse's OData error."""

    def default_body(self) -> Any:
        code, message = _FAULT_DEFAULTS.get(
            self.status, ("0x80040216", "An unexpected error occurred.")
        )
        return {"error": {"code": code, "message": message}}


_FAULT_DEFAULTS = {
    400: ("0x80060888", "Injected bad request."),
    401: ("0x80072243", "Authentication failed: the access token is invalid or expired."),
    403: ("0x80040220", "Principal user is missing prvReadAccount privilege."),
    404: ("0x80060888", "Resource not found for the segment 'injected'."),
    429: (
        "0x80072322",
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    ),
    500: ("0x80040216", "An unexpected error occurred."),
    502: ("0x80040216", "Bad gateway."),
    503: ("0x80040216", "The service is temporarily unavailable. Please try again later."),
    504: ("0x80040216", "The request timed out."),
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
    throttled: int = 0
    data_requests: list[str] = field(default_factory=list)  # path + query, as received

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "data_requests": list(self.data_requests),
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    out = {"OData-Version": "4.0"}
    if headers:
        out.update(headers)
    return Response(data, status_code=status, headers=out, media_type=JSON_TYPE)


def _odata_error(err: ODataError, headers: dict[str, str] | None = None) -> Response:
    return _json(err.body(), err.status, headers)


# ----------------------------------------------------------------------------- rendering


def _iso_datetime(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.datetime(value.year, value.month, value.day).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat()


def _fmt_date(value: Any) -> str:
    d = value.date() if isinstance(value, dt.datetime) else value
    return f"{d.month}/{d.day}/{d.year}"


def _fmt_datetime(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d} {ampm}"


def _fmt_money(value: Any, precision: int) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{precision}f}"


_EDM = {
    "Uniqueidentifier": "Edm.Guid",
    "String": "Edm.String",
    "Memo": "Edm.String",
    "EntityName": "Edm.String",
    "Integer": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Lookup": "Edm.Guid",
    "Owner": "Edm.Guid",
    "Customer": "Edm.Guid",
}


@dataclass
class _Prop:
    """One OData property of an entity type: how to read, render and annotate it."""

    name: str  # OData property name (``_x_value`` for lookups)
    attr: DataverseAttribute
    column: Column
    render: Callable[[Any], Any]
    formatted: Callable[[Any], str | None] | None = None
    lookup: bool = False


class _EntityView:
    """An entity's OData shape: property map, renderers, and the id -> row index."""

    def __init__(self, sim: DataverseSimulator, entity: DataverseEntity) -> None:
        self.sim = sim
        self.entity = entity
        self.type_name = f"{CRM}{entity.logical_name}"
        self.props: dict[str, _Prop] = {}
        self.navigation: dict[str, DataverseAttribute] = {}
        for a in entity.attributes:
            prop = self._make_prop(a)
            self.props[prop.name] = prop
            if prop.lookup:
                self.navigation[a.logical_name] = a
        self.primary = self.props.get(entity.primary_id)

    def _make_prop(self, a: DataverseAttribute) -> _Prop:
        key = a.logical_name
        t = a.attribute_type

        def getter(row: Mapping[str, Any], k: str = key) -> Any:
            return row.get(k)

        if t in LOOKUP_TYPES:
            name = f"_{key}_value"
            names = self.sim._primary_name_of

            def sort_name(row: Mapping[str, Any], k: str = key) -> Any:
                target = row.get(k)
                return None if target is None else names(target)

            column = Column(name, "Edm.Guid", getter, sort_getter=sort_name)
            return _Prop(
                name,
                a,
                column,
                lambda v: str(v).lower(),
                lambda v: names(v),
                lookup=True,
            )
        edm = _EDM.get(t, "Edm.String")
        if t == "DateTime" and a.date_only:
            edm = "Edm.Date"
        column = Column(key, edm, getter)
        render: Callable[[Any], Any] = lambda v: v  # noqa: E731
        formatted: Callable[[Any], str | None] | None = None
        if t in ("Picklist", "State", "Status"):
            labels = {o.value: o.label for o in a.options}
            render = int
            formatted = labels.get
        elif t == "Boolean":
            labels = {o.value: o.label for o in a.options}
            yes, no = labels.get(1, "Yes"), labels.get(0, "No")
            render = bool
            formatted = lambda v: yes if v else no  # noqa: E731
        elif t == "Money":
            precision = a.precision if a.precision is not None else 2
            render = float
            formatted = lambda v: _fmt_money(v, precision)  # noqa: E731
        elif t in ("Decimal", "Double"):
            precision = a.precision if a.precision is not None else 2
            render = float
            formatted = lambda v: f"{v:,.{precision}f}"  # noqa: E731
        elif t in ("Integer", "BigInt"):
            render = int
            formatted = lambda v: f"{v:,}"  # noqa: E731
        elif t == "DateTime":
            render = _iso_date if a.date_only else _iso_datetime
            formatted = _fmt_date if a.date_only else _fmt_datetime
        elif t == "Uniqueidentifier":
            render = lambda v: str(v).lower()  # noqa: E731
        else:
            render = str
        return _Prop(key, a, column, render, formatted)

    # -- resolving names used in $select/$filter/$orderby
    def unknown(self, name: str) -> ODataError:
        return ODataError(f"Could not find a property named '{name}' on type '{self.type_name}'.")

    def resolve(self, path: tuple[str, ...]) -> Column:
        if len(path) == 1:
            prop = self.props.get(path[0])
            if prop is None:
                raise self.unknown(path[0])
            return prop.column
        nav = self.navigation.get(path[0])
        if nav is None:
            raise self.unknown(path[0])
        if len(nav.targets) != 1 or len(path) != 2:
            raise ODataError(
                f"Filtering on '{'/'.join(path)}' through a multi-table lookup or more than "
                "one level is not supported by the Concord sandbox simulator.",
                status=501,
            )
        target = self.sim._entity_by_logical(nav.targets[0])
        if target is None:
            raise self.unknown(path[0])
        inner = self.sim._view(target).resolve(path[1:])
        rows_by_id = self.sim._row_of
        key = nav.logical_name
        inner_get = inner.getter

        def through(row: Mapping[str, Any]) -> Any:
            ref = row.get(key)
            if ref is None:
                return None
            found = rows_by_id(ref)
            return None if found is None else inner_get(found[1])

        return Column("/".join(path), inner.edm, through)

    def select(self, text: str | None) -> list[_Prop]:
        if text is None:
            return list(self.props.values())
        out: list[_Prop] = []
        for name in parse_select(text):
            if name == "*":
                out.extend(p for p in self.props.values() if p not in out)
                continue
            prop = self.props.get(name)
            if prop is None:
                raise self.unknown(name)
            if prop not in out:
                out.append(prop)
        return out

    def etag(self, row: Mapping[str, Any]) -> str:
        version = row.get("versionnumber")
        if version is None:
            version = zlib.crc32(str(row.get(self.entity.primary_id)).encode()) % 90_000_000
            version += 10_000_000
        return f'W/"{version}"'


# ----------------------------------------------------------------------------- Prefer header


@dataclass
class _Prefer:
    maxpagesize: int | None = None  # honoured value
    maxpagesize_sent: bool = False
    annotations: str | None = None  # raw include-annotations value

    def wants(self, term: str) -> bool:
        """Does the include-annotations preference cover ``term`` (``*`` and ``ns.*`` too)?"""
        if not self.annotations:
            return False
        verdict = False
        for raw in self.annotations.split(","):
            pattern = raw.strip()
            exclude = pattern.startswith("-")
            pattern = pattern.lstrip("-")
            if (
                pattern == "*"
                or pattern == term
                or (pattern.endswith(".*") and term.startswith(pattern[:-1]))
            ):
                if exclude:
                    return False
                verdict = True
        return verdict

    def applied(self) -> str | None:
        parts = []
        if self.maxpagesize is not None:
            parts.append(f"odata.maxpagesize={self.maxpagesize}")
        if self.annotations is not None:
            parts.append(f'odata.include-annotations="{self.annotations}"')
        return ",".join(parts) or None


_PREF = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*(?:=\s*("[^"]*"|[^,;]*))?[^,]*(?:,|$)')


def _parse_prefer(request: Request) -> _Prefer:
    out = _Prefer()
    for header in request.headers.getlist("prefer"):
        for m in _PREF.finditer(header):
            name, value = m.group(1).lower(), (m.group(2) or "").strip()
            if not name:
                continue
            if name == "odata.maxpagesize":
                out.maxpagesize_sent = True
                if value.isdigit() and 0 < int(value) <= MAX_PAGE_SIZE:
                    out.maxpagesize = int(value)
            elif name == "odata.include-annotations":
                out.annotations = value.strip('"')
    return out


# ----------------------------------------------------------------------------- paging cookie


def _make_skiptoken(page: int, pid: str, first: str, last: str) -> str:
    ids = f'last="{{{last.upper()}}}" first="{{{first.upper()}}}"'
    inner = f'<cookie page="{page}"><{pid} {ids} /></cookie>'
    encoded = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(inner, safe=""))
    return f'<cookie pagenumber="{page + 1}" pagingcookie="{encoded}" istracking="False" />'


def _read_skiptoken(token: str) -> tuple[int, str | None]:
    m = re.search(r'pagenumber="(\d+)"', token)
    if not m:
        raise ODataError("The $skiptoken value is not a valid paging cookie.")
    last = None
    c = re.search(r'pagingcookie="([^"]*)"', token)
    if c:
        cookie = unquote(c.group(1))
        lm = re.search(r'last="\{?([0-9A-Fa-f-]{36})\}?"', cookie)
        last = lm.group(1).lower() if lm else None
    return int(m.group(1)), last


# ----------------------------------------------------------------------------- the simulator


_TOKEN_PATH = re.compile(r"^/(?P<tenant>[^/]+)/oauth2/v2\.0/token/?$")
_KEY = re.compile(r"^(?P<name>[^(]+)(?:\((?P<key>.*)\))?$")
_GUID = re.compile(r"^\{?([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})\}?$")
_SYSTEM_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$expand"}


class DataverseSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated Dataverse environment: the ASGI ``app`` plus test hooks."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    sandbox_resets = {"/__sandbox/limits/reset": "reset_limits"}
    unknown_hook_body = {"error": {"code": "NOT_FOUND", "message": "unknown sandbox hook"}}

    def __init__(self, org: DataverseOrg, config: DataverseSimConfig | None = None) -> None:
        super().__init__()
        self.org = org
        self.config = config or DataverseSimConfig()
        self._issued_tokens: dict[str, float] = {}  # token -> expiry (time.time)
        self._window: deque[tuple[float, float]] = deque()  # (start, duration_ms)
        self._in_flight = 0
        self._views: dict[str, _EntityView] = {}
        self._index: dict[str, tuple[DataverseEntity, Mapping[str, Any]]] = {}
        self._index_sig: tuple[int, ...] | None = None

    # ------------------------------------------------------------------ test hooks
    def reset_limits(self) -> None:
        """Empty the service-protection sliding window."""
        with self._lock:
            self._window.clear()

    def issue_token(self) -> str:
        """Mint a bearer token directly (what the token endpoint would return)."""
        now = int(time.time())
        claims = {
            "aud": "dataverse",
            "tid": self.org.tenant_id,
            "iat": now,
            "exp": now + self.config.token_lifetime_seconds,
            "jti": secrets.token_hex(8),
        }
        token = (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                for part in ({"typ": "JWT", "alg": "none"}, claims)
            )
            + "."
            + secrets.token_urlsafe(32)
        )
        with self._lock:
            self._issued_tokens[token] = time.time() + self.config.token_lifetime_seconds
        return token

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (simulates expiry)."""
        with self._lock:
            self._issued_tokens.clear()

    # ------------------------------------------------------------------ model helpers
    def _entity_by_logical(self, logical: str) -> DataverseEntity | None:
        return self.org.entities.get(logical)

    def _entity_by_set(self, set_name: str) -> DataverseEntity | None:
        for e in self.org.entities.values():
            if e.entity_set_name == set_name:
                return e
        return None

    def _view(self, entity: DataverseEntity) -> _EntityView:
        view = self._views.get(entity.logical_name)
        if view is None or view.entity is not entity:
            view = _EntityView(self, entity)
            self._views[entity.logical_name] = view
        return view

    def _ensure_index(self) -> None:
        sig = tuple(len(e.records) for e in self.org.entities.values())
        if sig == self._index_sig:
            return
        index: dict[str, tuple[DataverseEntity, Mapping[str, Any]]] = {}
        for e in self.org.entities.values():
            pid = e.primary_id
            for row in e.records:
                ident = row.get(pid)
                if ident is not None:
                    index[str(ident).lower()] = (e, row)
        self._index, self._index_sig = index, sig

    def _row_of(self, ident: Any) -> tuple[DataverseEntity, Mapping[str, Any]] | None:
        return self._index.get(str(ident).lower())

    def _primary_name_of(self, ident: Any) -> str | None:
        found = self._index.get(str(ident).lower())
        if found is None:
            return None
        entity, row = found
        value = row.get(entity.primary_name)
        return None if value is None else str(value)

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        kind = self._classify(request, path)
        with self._lock:
            self.stats.requests_total += 1
            self.stats.requests_by_kind[kind] += 1
            if kind in ("data", "data_next"):
                query = request.url.query
                self.stats.data_requests.append(path + (f"?{unquote(query)}" if query else ""))
        response = await self._handle(request, path, kind)
        with self._lock:
            self.stats.responses_by_status[response.status_code] += 1
        return response

    def _classify(self, request: Request, path: str) -> str:
        if _TOKEN_PATH.match(path):
            return "token"
        if not path.startswith(API_PREFIX):
            return "other"
        rest = path.split("/", 4)[4] if path.count("/") >= 4 else ""
        head = rest.split("/", 1)[0].split("(", 1)[0]
        if head in ("", "$metadata", "EntityDefinitions"):
            return "metadata"
        if "$skiptoken" in request.query_params:
            return "data_next"
        return "data"

    async def _handle(self, request: Request, path: str, kind: str) -> Response:
        fault = self._take_fault(kind)
        if fault is not None:
            with self._lock:
                self.stats.faults_served += 1
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _fmt_seconds(fault.retry_after)
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            if isinstance(fault.body, str):
                return Response(fault.body, fault.status, headers, media_type="text/html")
            body = fault.body if fault.body is not None else fault.default_body()
            return _json(body, fault.status, headers)
        if kind == "token":
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            return await self._token(request, path)
        if not path.startswith(API_PREFIX):
            return _odata_error(ODataError(f"Resource not found for the segment '{path}'.", 404))
        token = _bearer(request)
        if token is None or not self._token_valid(token):
            tenant = self.org.tenant_id
            origin = self._origin(request)
            challenge = (
                f"Bearer authorization_uri=https://login.microsoftonline.com/{tenant}"
                f"/oauth2/authorize, resource_id={origin}/"
            )
            err = ODataError(
                "Authentication failed: a valid bearer token is required.", 401, "0x80072243"
            )
            return _odata_error(err, {"WWW-Authenticate": challenge})
        throttled = self._admit()
        if throttled is not None:
            return throttled
        started = time.perf_counter()
        try:
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            if request.method not in ("GET", "HEAD"):
                raise ODataError(
                    f"The requested resource does not support http method '{request.method}'. "
                    "(The Concord sandbox simulator is read-only.)",
                    405,
                )
            response = self._route(request, path)
        except ODataError as e:
            response = _odata_error(e)
        except Exception:  # a simulator bug or bad model data: answer like Dataverse does
            log.exception("simulator error on %s", path)
            code, message = _FAULT_DEFAULTS[500]
            response = _json({"error": {"code": code, "message": message}}, 500)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            self._release(elapsed_ms)
        remaining, time_left = self._remaining()
        response.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = str(remaining)
        response.headers["x-ms-ratelimit-time-remaining-xrm-requests"] = f"{time_left:,.2f}"
        return response

    # ------------------------------------------------------------------ service protection
    def _trim(self, now: float) -> None:
        window = self._window
        while window and now - window[0][0] >= self.config.window_seconds:
            window.popleft()

    def _admit(self) -> Response | None:
        cfg = self.config
        now = cfg.clock()
        with self._lock:
            self._trim(now)
            if self._in_flight >= cfg.max_concurrent:
                self.stats.throttled += 1
                return self._throttle_response(
                    "0x80072326",
                    f"Number of concurrent requests exceeded the limit of {cfg.max_concurrent}.",
                    1,
                )
            if len(self._window) >= cfg.requests_per_window:
                self.stats.throttled += 1
                oldest = self._window[0][0]
                retry = max(1, math.ceil(cfg.window_seconds - (now - oldest)))
                return self._throttle_response(
                    "0x80072322",
                    f"Number of requests exceeded the limit of {cfg.requests_per_window} over "
                    f"time window of {cfg.window_seconds:g} seconds.",
                    retry,
                )
            used_ms = sum(d for _, d in self._window)
            if used_ms >= cfg.execution_ms_per_window:
                self.stats.throttled += 1
                oldest = self._window[0][0]
                retry = max(1, math.ceil(cfg.window_seconds - (now - oldest)))
                return self._throttle_response(
                    "0x80072321",
                    "Combined execution time of incoming requests exceeded limit of "
                    f"{cfg.execution_ms_per_window:,.0f} milliseconds over time window of "
                    f"{cfg.window_seconds:g} seconds. Decrease number of concurrent requests "
                    "or reduce the duration of requests and try again later.",
                    retry,
                )
            self._window.append((now, 0.0))
            self._in_flight += 1
        return None

    def _release(self, elapsed_ms: float) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._window:
                start, _ = self._window[-1]
                self._window[-1] = (start, elapsed_ms)

    def _remaining(self) -> tuple[int, float]:
        cfg = self.config
        with self._lock:
            self._trim(cfg.clock())
            used = sum(d for _, d in self._window)
            left = max(0, cfg.requests_per_window - len(self._window))
        return left, max(0.0, (cfg.execution_ms_per_window - used) / 1000.0)

    def _throttle_response(self, code: str, message: str, retry: int) -> Response:
        return _json(
            {"error": {"code": code, "message": message}},
            429,
            {"Retry-After": str(retry)},
        )

    # ------------------------------------------------------------------ auth
    def _token_valid(self, token: str) -> bool:
        if token in self.config.static_tokens:
            return True
        expiry = self._issued_tokens.get(token)
        return expiry is not None and expiry > time.time()

    async def _token(self, request: Request, path: str) -> Response:
        m = _TOKEN_PATH.match(path)
        assert m is not None
        tenant = m.group("tenant")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        trace = str(uuid.uuid4())

        def aad_error(status: int, error: str, code: int, text: str) -> Response:
            return Response(
                json.dumps(
                    {
                        "error": error,
                        "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
                        f"Correlation ID: {uuid.uuid4()} Timestamp: {stamp}",
                        "error_codes": [code],
                        "timestamp": stamp,
                        "trace_id": trace,
                        "correlation_id": str(uuid.uuid4()),
                        "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
                    }
                ),
                status,
                media_type="application/json; charset=utf-8",
            )

        if request.method != "POST":
            return aad_error(
                405, "invalid_request", 900561, "The endpoint only accepts POST requests."
            )
        if tenant not in (self.org.tenant_id, "organizations", "common"):
            return aad_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        raw = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return aad_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{form.get('grant_type', '')}'.",
            )
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        expected = self.config.clients.get(client_id)
        if expected is None:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'.",
            )
        if not hmac.compare_digest(expected, secret):
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        token = self.issue_token()
        life = self.config.token_lifetime_seconds
        return Response(
            json.dumps(
                {
                    "token_type": "Bearer",
                    "expires_in": life,
                    "ext_expires_in": life,
                    "access_token": token,
                }
            ),
            200,
            media_type="application/json; charset=utf-8",
        )

    # ------------------------------------------------------------------ routing
    def _origin(self, request: Request) -> str:
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    def _route(self, request: Request, path: str) -> Response:
        rest = path[len(API_PREFIX) :]
        version, _, tail = rest.partition("/")
        if version not in self.config.api_versions:
            raise ODataError(f"Resource not found for the segment 'v{version}'.", 404)
        api = f"{self._origin(request)}{API_PREFIX}{version}"
        segments = [unquote(s) for s in tail.split("/") if s]
        options = self._options(request)
        if not segments:
            return _json(self._service_document(api))
        head = segments[0]
        if head == "$metadata" and len(segments) == 1:
            return Response(
                self._csdl(),
                200,
                {"OData-Version": "4.0"},
                media_type="application/xml",
            )
        m = _KEY.match(head)
        if m is None:
            raise ODataError(f"Resource not found for the segment '{head}'.", 404)
        name, key = m.group("name"), m.group("key")
        if name == "EntityDefinitions":
            return self._entity_definitions(api, key, segments[1:], options)
        entity = self._entity_by_set(name)
        if entity is None:
            raise ODataError(f"Resource not found for the segment '{name}'.", 404)
        if key is not None:
            if len(segments) > 1:
                raise ODataError(f"Resource not found for the segment '{segments[1]}'.", 404)
            return self._retrieve(request, api, entity, key, options)
        if len(segments) == 2 and segments[1] == "$count":
            return self._count(entity, options)
        if len(segments) > 1:
            raise ODataError(f"Resource not found for the segment '{segments[1]}'.", 404)
        return self._query(request, api, entity, options)

    def _options(self, request: Request) -> dict[str, str]:
        """System query options (``$...``) and parameter aliases (``@...``), validated."""
        out: dict[str, str] = {}
        for k, v in request.query_params.multi_items():
            if not (k.startswith("$") or k.startswith("@")):
                continue
            if k in out:
                raise ODataError(
                    f"Query option '{k}' was specified more than once, but it must be "
                    "specified at most once."
                )
            if k.startswith("$") and k not in _SYSTEM_OPTIONS:
                if k == "$skip":
                    raise ODataError(
                        "The query parameter $skip is not supported. Use the "
                        "@odata.nextLink returned in the response to page results."
                    )
                if k in ("$apply", "$search", "$compute", "$format"):
                    raise ODataError(
                        f"The query parameter {k} is not supported by the Concord sandbox "
                        "simulator.",
                        501,
                    )
                raise ODataError(f"The query parameter '{k}' is not supported.")
            out[k] = v
        return out

    # ------------------------------------------------------------------ data
    def _filtered(self, entity: DataverseEntity, options: dict[str, str]) -> list[Any]:
        view = self._view(entity)
        rows: list[Any] = entity.records
        text = options.get("$filter")
        if text is not None:
            aliases = {k: v for k, v in options.items() if k.startswith("@")}
            pred = compile_filter(text, view.resolve, aliases)
            rows = [r for r in rows if pred(r)]
        return rows

    def _query(
        self, request: Request, api: str, entity: DataverseEntity, options: dict[str, str]
    ) -> Response:
        self._ensure_index()
        view = self._view(entity)
        prefer = _parse_prefer(request)
        if "$expand" in options:
            raise ODataError("$expand is not supported by the Concord sandbox simulator.", 501)
        select_text = options.get("$select")
        props = view.select(select_text)
        order_keys: list[tuple[Column, bool]] = []
        if "$orderby" in options:
            order_keys = [(view.resolve(p), d) for p, d in parse_orderby(options["$orderby"])]
        top = _int_option(options, "$top")
        count = _bool_option(options, "$count")
        rows = self._filtered(entity, options)
        matched = len(rows)
        if view.primary is not None:
            order_keys.append((view.primary.column, False))  # paging needs a total order
        rows = order_rows(rows, order_keys)
        # Documented: with both $top and odata.maxpagesize, $top is ignored.
        if top is not None and not prefer.maxpagesize_sent:
            rows = rows[:top]
        page_size = prefer.maxpagesize or MAX_PAGE_SIZE
        start, page_number = 0, 1
        if "$skiptoken" in options:
            page_number, last = _read_skiptoken(options["$skiptoken"])
            start = (page_number - 1) * page_size
            if last is not None and view.primary is not None:
                pid = entity.primary_id
                for i, r in enumerate(rows):
                    if str(r.get(pid)).lower() == last:
                        start = i + 1
                        break
        page = rows[start : start + page_size]
        body: dict[str, Any] = {"@odata.context": f"{api}/$metadata#{entity.entity_set_name}"}
        if select_text is not None:
            body["@odata.context"] += "(" + ",".join(p.name for p in props) + ")"
        if count:
            body["@odata.count"] = min(matched, COUNT_CAP)
        if prefer.wants(TOTAL_COUNT):
            body[f"@{TOTAL_COUNT}"] = min(matched, COUNT_CAP) if count else -1
        if prefer.wants(TOTAL_EXCEEDED):
            body[f"@{TOTAL_EXCEEDED}"] = matched > COUNT_CAP
        body["value"] = [self._render(view, props, r, prefer) for r in page]
        if start + len(page) < len(rows) and page:
            pid = entity.primary_id
            token = _make_skiptoken(page_number, pid, str(page[0].get(pid)), str(page[-1].get(pid)))
            body["@odata.nextLink"] = self._next_link(request, api, entity, token)
        with self._lock:
            self.stats.pages_served += 1
            self.stats.rows_returned += len(page)
        headers = {}
        applied = prefer.applied()
        if applied:
            headers["Preference-Applied"] = applied
        return _json(body, 200, headers)

    def _next_link(self, request: Request, api: str, entity: DataverseEntity, token: str) -> str:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        kept = [
            part for part in raw.split("&") if part and not unquote(part).startswith("$skiptoken=")
        ]
        kept.append("$skiptoken=" + quote(token, safe="=/"))
        return f"{api}/{entity.entity_set_name}?" + "&".join(kept)

    def _render(
        self, view: _EntityView, props: list[_Prop], row: Mapping[str, Any], prefer: _Prefer
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": view.etag(row)}
        formatted = prefer.wants(FORMATTED)
        lookup_name = prefer.wants(LOOKUP_LOGICAL)
        nav_name = prefer.wants(ASSOCIATED_NAV)
        for p in props:
            value = row.get(p.attr.logical_name)
            if value is None:
                out[p.name] = None
                continue
            if formatted and p.formatted is not None:
                text = p.formatted(value)
                if text is not None:
                    out[f"{p.name}@{FORMATTED}"] = text
            if p.lookup:
                if nav_name:
                    nav = p.attr.logical_name
                    if len(p.attr.targets) > 1:
                        found = self._row_of(value)
                        if found is not None:
                            nav = f"{nav}_{found[0].logical_name}"
                    out[f"{p.name}@{ASSOCIATED_NAV}"] = nav
                if lookup_name:
                    found = self._row_of(value)
                    target = found[0].logical_name if found else (p.attr.targets or ("",))[0]
                    out[f"{p.name}@{LOOKUP_LOGICAL}"] = target
            out[p.name] = p.render(value)
        primary = view.primary
        if primary is not None and primary.name not in out:
            value = row.get(primary.attr.logical_name)
            out[primary.name] = None if value is None else primary.render(value)
        return out

    def _retrieve(
        self,
        request: Request,
        api: str,
        entity: DataverseEntity,
        key: str,
        options: dict[str, str],
    ) -> Response:
        self._ensure_index()
        m = _GUID.match(key.strip())
        if m is None:
            raise ODataError(f"Bad Request - Error in query syntax: '{key}' is not a valid key.")
        view = self._view(entity)
        prefer = _parse_prefer(request)
        select_text = options.get("$select")
        props = view.select(select_text)
        found = self._row_of(m.group(1))
        if found is None or found[0] is not entity:
            raise ODataError(
                f"{entity.logical_name} With Id = {m.group(1).lower()} Does Not Exist",
                404,
                "0x80040217",
            )
        body: dict[str, Any] = {"@odata.context": f"{api}/$metadata#{entity.entity_set_name}"}
        if select_text is not None:
            body["@odata.context"] += "(" + ",".join(p.name for p in props) + ")"
        body["@odata.context"] += "/$entity"
        body.update(self._render(view, props, found[1], prefer))
        with self._lock:
            self.stats.rows_returned += 1
            self.stats.pages_served += 1
        headers = {}
        applied = prefer.applied()
        if applied:
            headers["Preference-Applied"] = applied
        return _json(body, 200, headers)

    def _count(self, entity: DataverseEntity, options: dict[str, str]) -> Response:
        self._ensure_index()
        rows = self._filtered(entity, options)
        return Response(
            str(min(len(rows), COUNT_CAP)),
            200,
            {"OData-Version": "4.0"},
            media_type="text/plain",
        )

    # ------------------------------------------------------------------ metadata
    def _service_document(self, api: str) -> dict[str, Any]:
        sets = [
            {"name": e.entity_set_name, "kind": "EntitySet", "url": e.entity_set_name}
            for e in self.org.entities.values()
        ]
        sets.append({"name": "EntityDefinitions", "kind": "EntitySet", "url": "EntityDefinitions"})
        return {"@odata.context": f"{api}/$metadata", "value": sets}

    def _entity_defs(self) -> list[tuple[DataverseEntity, dict[str, Any]]]:
        return [
            (e, entity_definition(e, 1 if i == 0 else 10000 + i))
            for i, e in enumerate(self.org.entities.values())
        ]

    def _entity_definitions(
        self, api: str, key: str | None, rest: list[str], options: dict[str, str]
    ) -> Response:
        defs = self._entity_defs()
        if key is None:
            if rest:
                raise ODataError(f"Resource not found for the segment '{rest[0]}'.", 404)
            rows = [d for _, d in defs]
            rows = _meta_filter(rows, options.get("$filter"), "EntityMetadata")
            select = _meta_select_names(options.get("$select"), rows, "EntityMetadata")
            expand = parse_expand(options["$expand"]) if "$expand" in options else []
            value = []
            for entity, d in defs:
                if d not in rows:
                    continue
                item = _project(d, select)
                self._expand_entity(entity, item, expand)
                value.append(item)
            ctx = f"{api}/$metadata#EntityDefinitions" + (f"({','.join(select)})" if select else "")
            return _json({"@odata.context": ctx, "value": value})
        entity, d = self._find_entity_def(defs, key)
        if not rest:
            select = _meta_select_names(options.get("$select"), [d], "EntityMetadata")
            expand = parse_expand(options["$expand"]) if "$expand" in options else []
            item = _project(d, select)
            self._expand_entity(entity, item, expand)
            ctx = f"{api}/$metadata#EntityDefinitions" + (f"({','.join(select)})" if select else "")
            return _json({"@odata.context": ctx + "/$entity", **item})
        am = _KEY.match(rest[0])
        if am is None or am.group("name") != "Attributes":
            raise ODataError(f"Resource not found for the segment '{rest[0]}'.", 404)
        return self._attributes(api, entity, am.group("key"), rest[1:], options)

    def _find_entity_def(
        self, defs: list[tuple[DataverseEntity, dict[str, Any]]], key: str
    ) -> tuple[DataverseEntity, dict[str, Any]]:
        km = re.fullmatch(r"\s*LogicalName\s*=\s*'([^']*)'\s*", key)
        gm = _GUID.match(key.strip())
        for entity, d in defs:
            if (km and d["LogicalName"] == km.group(1)) or (
                gm and d["MetadataId"] == gm.group(1).lower()
            ):
                return entity, d
        if not km and not gm:
            raise ODataError(f"Bad Request - Error in query syntax: invalid key '{key}'.")
        raise ODataError("Could not find an entity with the specified key.", 404, "0x80060888")

    def _expand_entity(
        self, entity: DataverseEntity, item: dict[str, Any], expand: list[Any]
    ) -> None:
        for ex in expand:
            if ex.name != "Attributes":
                raise ODataError(
                    f"Could not find a property named '{ex.name}' on type "
                    "'Microsoft.Dynamics.CRM.EntityMetadata'."
                )
            attrs = attribute_definitions(entity)
            names = _meta_select_names(
                ",".join(ex.select) if ex.select else None, attrs, "AttributeMetadata"
            )
            item["Attributes"] = [_project(a, names) for a in attrs]

    def _attributes(
        self,
        api: str,
        entity: DataverseEntity,
        key: str | None,
        rest: list[str],
        options: dict[str, str],
    ) -> Response:
        """``Attributes[(key)][/Microsoft.Dynamics.CRM.<Type>][/OptionSet]``."""
        attrs = attribute_definitions(entity)
        cast: str | None = None
        option_set_only = False
        for i, seg in enumerate(rest):
            if i == 0 and seg.startswith(CRM):
                cast = seg[len(CRM) :]
                if cast not in CAST_TYPES:
                    raise ODataError(f"Resource not found for the segment '{seg}'.", 404)
            elif seg in NAVIGATION and cast is not None and key is not None and i == len(rest) - 1:
                if seg not in CAST_TYPES[cast]:
                    raise ODataError(f"Resource not found for the segment '{seg}'.", 404)
                option_set_only = True
            else:
                raise ODataError(f"Resource not found for the segment '{seg}'.", 404)
        type_name = cast or "AttributeMetadata"
        extra = CAST_TYPES.get(cast, ()) if cast else ()
        ctx = f"{api}/$metadata#EntityDefinitions('{entity.logical_name}')/Attributes"
        rows = [a for a in attrs if cast is None or a["_cast"] == cast]
        if key is not None:
            km = re.fullmatch(r"\s*LogicalName\s*=\s*'([^']*)'\s*", key)
            gm = _GUID.match(key.strip())
            rows = [
                a
                for a in rows
                if (km and a["LogicalName"] == km.group(1))
                or (gm and a["MetadataId"] == gm.group(1).lower())
            ]
            if not rows:
                raise ODataError("Could not find an attribute with the specified key.", 404)
            if option_set_only:
                attr = rows[0].get("_attr")
                if attr is None:
                    return _json({"@odata.context": ctx, "value": None})
                os_def = self._option_set(entity, attr, options.get("$select"))
                return _json({"@odata.context": f"{ctx}/OptionSet/$entity", **os_def})
        rows = _meta_filter(rows, options.get("$filter"), type_name, attrs)
        select = _meta_select_names(options.get("$select"), attrs, type_name, extra)
        expand = parse_expand(options["$expand"]) if "$expand" in options else []
        for ex in expand:
            if ex.name not in NAVIGATION or ex.name not in extra:
                raise ODataError(
                    f"Could not find a property named '{ex.name}' on type "
                    f"'Microsoft.Dynamics.CRM.{type_name}'."
                )
        value = []
        for a in rows:
            item = _project(a, select)
            for ex in expand:
                attr: DataverseAttribute | None = a.get("_attr")
                if ex.name == "GlobalOptionSet" or attr is None:
                    item[ex.name] = None
                else:
                    sel = ",".join(ex.select) if ex.select else None
                    item[ex.name] = self._option_set(entity, attr, sel)
            value.append(item)
        if cast:
            ctx += f"/{CRM}{cast}"
        if select:
            ctx += f"({','.join(select)})"
        if key is not None:
            return _json({"@odata.context": ctx + "/$entity", **value[0]})
        return _json({"@odata.context": ctx, "value": value})

    def _option_set(
        self, entity: DataverseEntity, attr: DataverseAttribute, select: str | None
    ) -> dict[str, Any]:
        os_def = option_set(entity, attr)
        if select is None:
            return os_def
        names = parse_select(select)
        for name in names:
            if name not in os_def:
                raise ODataError(
                    f"Could not find a property named '{name}' on type "
                    f"'{os_def['@odata.type'][1:]}'."
                )
        return {k: v for k, v in os_def.items() if k in names or k == "MetadataId"}

    def _csdl(self) -> str:
        """A minimal CSDL document: entity types with keys and primitive properties."""
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
            "<edmx:DataServices>",
            '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" '
            'xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        ]
        for e in self.org.entities.values():
            view = self._view(e)
            lines.append(f'<EntityType Name="{e.logical_name}">')
            lines.append(f'<Key><PropertyRef Name="{e.primary_id}" /></Key>')
            for p in view.props.values():
                lines.append(f'<Property Name="{p.name}" Type="{p.column.edm}" />')
            for nav, a in view.navigation.items():
                if len(a.targets) == 1 and a.targets[0] in self.org.entities:
                    lines.append(f'<NavigationProperty Name="{nav}" Type="mscrm.{a.targets[0]}" />')
            lines.append("</EntityType>")
        lines.append('<EntityContainer Name="System">')
        for e in self.org.entities.values():
            lines.append(
                f'<EntitySet Name="{e.entity_set_name}" EntityType="mscrm.{e.logical_name}" />'
            )
        lines += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- helpers


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _int_option(options: dict[str, str], name: str) -> int | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise ODataError(
            f"Invalid value '{raw}' for {name} query option found. The {name} query option "
            "requires a non-negative integer value."
        )
    return int(raw)


def _bool_option(options: dict[str, str], name: str) -> bool:
    raw = options.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise ODataError(f"'{raw}' is not a valid count option.")
    return raw == "true"


def _meta_resolver(
    sample: list[dict[str, Any]], type_name: str
) -> Callable[[tuple[str, ...]], Column]:
    def resolve(path: tuple[str, ...]) -> Column:
        head = path[0]
        known = [d for d in sample if head in d and not head.startswith("_")]
        if not known or head in NAVIGATION:
            raise ODataError(
                f"Could not find a property named '{head}' on type "
                f"'Microsoft.Dynamics.CRM.{type_name}'."
            )
        probe: Any = next((d[head] for d in known if d[head] is not None), None)
        for part in path[1:]:
            probe = probe.get(part) if isinstance(probe, dict) else None
        if isinstance(probe, bool):
            edm = "Edm.Boolean"
        elif isinstance(probe, int):
            edm = "Edm.Int32"
        elif isinstance(probe, float):
            edm = "Edm.Double"
        else:
            edm = "Edm.String"

        def getter(row: Mapping[str, Any]) -> Any:
            value: Any = row.get(head)
            for part in path[1:]:
                value = value.get(part) if isinstance(value, dict) else None
            return value

        return Column("/".join(path), edm, getter)

    return resolve


def _meta_filter(
    rows: list[dict[str, Any]],
    text: str | None,
    type_name: str,
    sample: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    if text is None:
        return rows
    pred = compile_filter(text, _meta_resolver(sample or rows, type_name))
    return [r for r in rows if pred(r)]


def _meta_select_names(
    text: str | None,
    sample: list[dict[str, Any]],
    type_name: str,
    extra: tuple[str, ...] = (),
) -> list[str]:
    if text is None:
        return []
    names = parse_select(text)
    known: set[str] = set()
    for d in sample:
        known.update(k for k in d if not k.startswith("_") and not k.startswith("@"))
    if type_name != "EntityMetadata":
        known -= {k for ks in CAST_TYPES.values() for k in ks}
        known |= set(extra)
    for name in names:
        if name not in known or name in NAVIGATION:
            raise ODataError(
                f"Could not find a property named '{name}' on type "
                f"'Microsoft.Dynamics.CRM.{type_name}'."
            )
    return names


def _project(d: dict[str, Any], select: list[str]) -> dict[str, Any]:
    """Apply ``$select`` to a metadata record; MetadataId and @odata.type always stay."""
    if not select:
        return {k: v for k, v in d.items() if not k.startswith("_") and k not in NAVIGATION}
    out = {k: d[k] for k in ("@odata.type",) if k in d}
    for name in select:
        if name in d:
            out[name] = d[name]
    out["MetadataId"] = d["MetadataId"]
    return out


def create_app(org: DataverseOrg, config: DataverseSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``DataverseSimulator`` is at ``app.state.simulator``."""
    return DataverseSimulator(org, config).app
