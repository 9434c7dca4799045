"""Starlette app simulating SAP S/4HANA Cloud OData **v2** APIs (SAP Gateway), read-only.

Follows SAP's documented behaviour and the real payloads in /work/shared/reference, not any
adapter:

- services under ``/sap/opu/odata/sap/{SERVICE}/`` (ICF paths are case-insensitive); the
  ``$metadata`` document is the real EDMX file downloaded from an S/4HANA Cloud tenant,
  byte for byte; the service document is AtomPub XML, or ``{"d": {"EntitySets": [...]}}``
  when JSON is asked for;
- entity sets answer the v2 JSON format only when asked for (``$format=json`` or an
  ``Accept: application/json`` header) — SAP's default is Atom XML, which this simulator does
  not produce (406), so an adapter that forgets to ask for JSON fails here as it would in
  production; errors are the v2 JSON error body (or the v2 XML ``<error>`` when JSON was not
  asked for);
- JSON: ``{"d": {"__count": "12", "results": [...], "__next": "<absolute same-origin url>"}}``
  with ``__metadata`` (id, uri, type, and an ETag from the ``ConcurrencyMode="Fixed"``
  property), ``/Date(ms)/`` for Edm.DateTime, ``/Date(ms+0000)/`` for Edm.DateTimeOffset,
  ``PT12H30M00S`` for Edm.Time, Edm.Decimal as a string (amounts with a currency unit use the
  currency's decimals, e.g. ``"2656.24"`` for a 16,3 EUR amount; other decimals their scale),
  Int64/Double as strings, navigation properties as ``__deferred`` links;
- server-driven paging as in SAP KBA 3072317: without ``$top`` a page holds 1000 rows, with
  ``$top`` at most 5000, and ``__next`` carries ``$skiptoken=<rows already sent>``;
- ``$filter`` is OData v2 (see ``filter.py``: no ``in``, case-sensitive strings,
  ``sap:filterable``), ``$orderby`` honours ``sap:sortable``; ``$expand`` and navigation
  reads answer 501 (not implemented here) rather than something wrong;
- Basic auth (SAP user names are case-insensitive) or bearer tokens; failures are the ICF
  HTML 401 with ``WWW-Authenticate: Basic realm="SAP NetWeaver Application Server [SID/CLNT]"``;
- an optional requests-per-minute limit answers 429 with ``Retry-After`` and an API
  management (Apigee) quota fault body, as SAP API Management in front of S/4HANA would.

Test hooks (fault queue, counters) sit under ``/__sandbox/`` and on ``SapSimulator``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hmac
import json
import logging
import math
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.erp_model import ErpTable, SapSystem
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .edmx import EdmEntitySet, EdmEntityType, EdmProperty, EdmxService, load_service
from .filter import (
    CODE_SYNTAX,
    FilterError,
    compile_filter,
    normalize,
    parse_key_predicate,
    parse_orderby,
    parse_select,
    sort_key,
)

__all__ = ["Fault", "SapSimConfig", "SapSimulator", "SimStats", "create_app"]

log = logging.getLogger(__name__)

ODATA_PREFIX = "/sap/opu/odata/sap/"
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml"
EPOCH = dt.datetime(1970, 1, 1)
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"

# Gateway message ids (the v2 error "code"), from real error bodies.
CODE_NOT_FOUND_SEGMENT = "005056A509B11EE1B9A8FEC11C21D78E"  # Resource not found for the segment
CODE_NOT_ACCEPTABLE = "005056A509B11ED19BEB6513AA349DA5"  # 406 content characteristics
CODE_NO_SERVICE = "/IWFND/MED/170"
CODE_RT = "/IWBEP/CM_MGW_RT/020"
CODE_NOT_IMPLEMENTED = "/IWBEP/CM_MGW_RT/021"

# ABAP currency decimals (table TCURX); every currency not listed has 2.
CURRENCY_DECIMALS = {
    "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "PYG": 0, "UGX": 0, "XAF": 0, "XOF": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
}  # fmt: skip

_SYSTEM_OPTIONS = {
    "$filter", "$select", "$orderby", "$top", "$skip", "$inlinecount", "$format",
    "$skiptoken", "$expand",
}  # fmt: skip
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$", re.S)


@dataclass
class SapSimConfig:
    """Knobs for one simulated S/4HANA Cloud tenant; defaults follow SAP's documented limits."""

    # Communication users (Basic auth); SAP user names are case-insensitive.
    users: dict[str, str] = field(default_factory=lambda: {"CONCORD_COMM": "Sandbox-Passw0rd"})
    # Bearer tokens accepted (OAuth 2.0 SAML-bearer / client-credentials tokens in real life).
    bearer_tokens: tuple[str, ...] = ("sandbox-token",)
    system_id: str = "S4H"  # appears in the Basic realm "[SID/CLIENT]"
    client: str = "100"
    # Absolute base URL for __metadata and __next; None = the request's own scheme://host:port.
    base_url: str | None = None
    # Server-driven paging (SAP KBA 3072317): page when no $top, and cap when $top is sent.
    server_paging: bool = True
    page_size: int = 1000
    max_page_size: int = 5000
    # API management quota in front of the tenant; None = unlimited.
    requests_per_minute: int | None = None
    latency_ms: float = 0.0
    # Monotonic clock in seconds; tests replace it to move the rate-limit window.
    clock: Callable[[], float] = time.monotonic


class SapError(Exception):
    """An error SAP Gateway answers with its v2 error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_FAULT_DEFAULTS: dict[int, tuple[str, str]] = {
    400: (CODE_SYNTAX, "Injected bad request."),
    401: ("/IWFND/CM_CONSUMER/101", "Logon failed."),
    403: ("/IWBEP/CM_MGW_RT/000", "User does not have the sufficient authorizations"),
    404: (CODE_NOT_FOUND_SEGMENT, "Resource not found for the segment 'injected'."),
    429: ("/IWFND/CM_BEC/026", "Too many requests."),
    500: (
        "/IWBEP/CM_MGW_RT/000",
        "In the context of Data Services an unknown internal server error occurred",
    ),
    502: ("/IWFND/CM_BEC/026", "HTTP request failed: Bad Gateway"),
    503: ("/IWFND/CM_BEC/026", "Service temporarily unavailable"),
    504: ("/IWFND/CM_BEC/026", "Gateway timeout"),
}


class Fault(BaseFault):
    """A queued failure whose default body is SAP Gateway's v2 error body."""

    def default_body(self, service: str = "") -> dict[str, Any]:
        code, message = _FAULT_DEFAULTS.get(self.status, _FAULT_DEFAULTS[500])
        return error_body(code, message, service)


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
    auth_failures: int = 0
    data_requests: list[str] = field(default_factory=list)  # path + decoded query

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "auth_failures": self.auth_failures,
            "data_requests": list(self.data_requests),
        }


# ----------------------------------------------------------------------------- wire helpers


def error_body(code: str, message: str, service: str = "") -> dict[str, Any]:
    """SAP Gateway's v2 error body, innererror included (transaction id, timestamp, ...)."""
    now = dt.datetime.now(dt.UTC)
    return {
        "error": {
            "code": code,
            "message": {"lang": "en", "value": message},
            "innererror": {
                "application": {
                    "component_id": "",
                    "service_namespace": "/SAP/",
                    "service_id": service,
                    "service_version": "0001",
                },
                "transactionid": uuid.uuid4().hex.upper(),
                "timestamp": now.strftime("%Y%m%d%H%M%S.") + f"{now.microsecond:06d}0",
                "Error_Resolution": {
                    "SAP_Transaction": "For backend administrators: use ADT feed reader "
                    '"SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG on SAP '
                    "Gateway hub system and search for entries with the timestamp above for "
                    "more details",
                    "SAP_Note": "See SAP Note 1797736 for error analysis "
                    "(https://service.sap.com/sap/support/notes/1797736)",
                },
                "errordetails": [],
            },
        }
    }


def _xml_error(body: dict[str, Any]) -> str:
    err = body["error"]
    inner = err.get("innererror", {})
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<error xmlns="{M_NS}"><code>{escape(str(err.get("code", "")))}</code>'
        f'<message xml:lang="en">{escape(str(err.get("message", {}).get("value", "")))}'
        "</message><innererror>"
        f"<transactionid>{escape(str(inner.get('transactionid', '')))}</transactionid>"
        f"<timestamp>{escape(str(inner.get('timestamp', '')))}</timestamp>"
        "<errordetails/></innererror></error>"
    )


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    out = {"dataserviceversion": "2.0"}
    if headers:
        out.update(headers)
    return Response(data, status_code=status, headers=out, media_type=JSON_TYPE)


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _ms(value: dt.datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    delta = value - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def render_value(
    prop: EdmProperty,
    value: Any,
    row: Mapping[str, Any] | None = None,
    currency_units: frozenset[str] = frozenset(),
) -> Any:
    """One property value in SAP's v2 JSON representation.

    ``row`` and ``currency_units`` (names of the type's ``sap:semantics="currency-code"``
    properties) let amounts follow their currency's decimals.
    """
    if value is None:
        return None
    t = prop.type
    if t == "Edm.String":
        return str(value)
    if t == "Edm.Boolean":
        return bool(value)
    if t in ("Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32"):
        return int(value)
    if t == "Edm.Int64":
        return str(int(value))
    if t == "Edm.Decimal":
        return _fmt_decimal(prop, value, row, currency_units)
    if t == "Edm.Double":
        return f"{float(value):.16E}"
    if t == "Edm.Single":
        return f"{float(value):.7E}"
    if t == "Edm.DateTime":
        return f"/Date({_ms(normalize(t, value))})/"
    if t == "Edm.DateTimeOffset":
        return f"/Date({_ms(normalize(t, value))}+0000)/"
    if t == "Edm.Time":
        td: dt.timedelta = normalize(t, value)
        total = int(td.total_seconds())
        return f"PT{total // 3600:02d}H{total % 3600 // 60:02d}M{total % 60:02d}S"
    if t == "Edm.Guid":
        return str(value).lower()
    if t == "Edm.Binary":
        raw = value if isinstance(value, bytes) else str(value).encode()
        return base64.b64encode(raw).decode()
    return str(value)


def _fmt_decimal(
    prop: EdmProperty,
    value: Any,
    row: Mapping[str, Any] | None,
    currency_units: frozenset[str],
) -> str:
    """ABAP CURR amounts follow their currency's decimals; other decimals their scale.

    The real A_SalesOrder payload sends TotalNetAmount (Precision 16, Scale 3) as "2656.24"
    for EUR: Gateway renders a CURR field with the decimals of its currency (table TCURX).
    """
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    places = prop.scale if prop.scale is not None else 0
    if prop.unit and row is not None and prop.unit in currency_units:
        currency = row.get(prop.unit)
        if isinstance(currency, str) and currency:
            places = min(places, CURRENCY_DECIMALS.get(currency.upper(), 2))
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):f}"


def _key_literal(prop: EdmProperty, value: Any) -> str:
    """A key value in URI literal form, percent-encoded as SAP writes it in __metadata."""
    t = prop.type
    if t == "Edm.String":
        text = "'" + str(value).replace("'", "''") + "'"
    elif t == "Edm.Guid":
        text = f"guid'{str(value).lower()}'"
    elif t == "Edm.DateTime":
        text = f"datetime'{normalize(t, value).strftime('%Y-%m-%dT%H:%M:%S')}'"
    elif t == "Edm.DateTimeOffset":
        moment = normalize(t, value).astimezone(dt.UTC)
        text = f"datetimeoffset'{moment.strftime('%Y-%m-%dT%H:%M:%S')}Z'"
    elif t == "Edm.Time":
        text = f"time'{render_value(prop, value)}'"
    elif t == "Edm.Decimal":
        text = f"{value}M"
    elif t == "Edm.Int64":
        text = f"{int(value)}L"
    elif t == "Edm.Boolean":
        text = "true" if value else "false"
    else:
        text = str(value)
    return quote(text, safe="'")


def key_predicate(et: EdmEntityType, row: Mapping[str, Any]) -> str:
    props = et.key_properties()
    if len(props) == 1:
        return _key_literal(props[0], row.get(props[0].name))
    return ",".join(f"{p.name}={_key_literal(p, row.get(p.name))}" for p in props)


def _etag(et: EdmEntityType, row: Mapping[str, Any]) -> str | None:
    parts = []
    for p in et.etag_properties():
        value = row.get(p.name)
        if value is None:
            return None
        if p.type == "Edm.DateTimeOffset":
            moment = normalize(p.type, value).astimezone(dt.UTC)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}0Z"
            parts.append("datetimeoffset'" + quote(stamp, safe="") + "'")
        else:
            parts.append(_key_literal(p, value))
    return f'W/"{",".join(parts)}"' if parts else None


# ----------------------------------------------------------------------------- the simulator


@dataclass
class _Set:
    """An entity set as served: its EDMX definition and its rows (possibly none)."""

    service: EdmxService
    es: EdmEntitySet
    table: ErpTable | None
    currency_units: frozenset[str]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.table.rows if self.table is not None else []


class SapSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated S/4HANA Cloud tenant: the ASGI ``app`` plus test hooks."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    sandbox_resets = {"/__sandbox/limits/reset": "reset_limits"}
    unknown_hook_body = {
        "error": {"code": "NOT_FOUND", "message": {"lang": "en", "value": "unknown sandbox hook"}}
    }

    def __init__(self, system: SapSystem, config: SapSimConfig | None = None) -> None:
        super().__init__()
        self.system = system
        self.config = config or SapSimConfig()
        self._window: deque[float] = deque()
        self.services: dict[str, EdmxService] = {}
        self._sets: dict[tuple[str, str], _Set] = {}
        for name, tables in system.services.items():
            service = load_service(name)
            self.services[name.upper()] = service
            for set_name in tables:
                if set_name not in service.entity_sets:
                    raise ValueError(
                        f"{name}: entity set {set_name!r} is not in the service's EDMX document"
                    )
            for set_name, es in service.entity_sets.items():
                units = frozenset(
                    p.name
                    for p in es.entity_type.properties.values()
                    if p.semantics == "currency-code"
                )
                self._sets[(name.upper(), set_name)] = _Set(
                    service, es, tables.get(set_name), units
                )

    # ------------------------------------------------------------------ test hooks
    def reset_limits(self) -> None:
        """Empty the requests-per-minute window."""
        with self._lock:
            self._window.clear()

    def service_url(self, origin: str, service: str) -> str:
        """The service root as clients configure it (with trailing slash, like pyodata)."""
        return f"{origin.rstrip('/')}{ODATA_PREFIX}{service}/"

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        kind = self._classify(request, path)
        with self._lock:
            self.stats.requests_total += 1
            self.stats.requests_by_kind[kind] += 1
            if kind in ("data", "next", "entity", "count"):
                query = request.url.query
                self.stats.data_requests.append(path + (f"?{unquote(query)}" if query else ""))
        response = await self._handle(request, path, kind)
        with self._lock:
            self.stats.responses_by_status[response.status_code] += 1
        return response

    def _classify(self, request: Request, path: str) -> str:
        if not path.lower().startswith(ODATA_PREFIX):
            return "other"
        rest = path[len(ODATA_PREFIX) :].split("/")
        tail = [s for s in rest[1:] if s]
        if not tail:
            return "service"
        if tail[0] == "$metadata":
            return "metadata"
        if tail[-1] == "$count":
            return "count"
        m = _SEGMENT.match(unquote(tail[0]))
        if m is not None and m.group("key") is not None:
            return "entity"
        if "$skiptoken" in request.query_params:
            return "next"
        return "data"

    def _service_of(self, path: str) -> str:
        if not path.lower().startswith(ODATA_PREFIX):
            return ""
        return path[len(ODATA_PREFIX) :].split("/", 1)[0].upper()

    async def _handle(self, request: Request, path: str, kind: str) -> Response:
        wants_json = _wants_json(request)
        service = self._service_of(path)
        fault = self._take_fault(kind)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        if fault is not None:
            with self._lock:
                self.stats.faults_served += 1
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _fmt_seconds(fault.retry_after)
            if isinstance(fault.body, str):
                return Response(fault.body, fault.status, headers, media_type="text/html")
            body = fault.body if fault.body is not None else fault.default_body(service)
            return _json(body, fault.status, headers)
        throttled = self._admit()
        if throttled is not None:
            return throttled
        if not self._authenticated(request):
            with self._lock:
                self.stats.auth_failures += 1
            return self._unauthorized()
        try:
            if request.method not in ("GET", "HEAD"):
                raise SapError(
                    405,
                    CODE_NOT_IMPLEMENTED,
                    f"The Concord sandbox simulator is read-only; method {request.method} is "
                    "not supported.",
                )
            return self._route(request, path, wants_json)
        except SapError as e:
            return self._error(e, service, wants_json)
        except FilterError as e:
            return self._error(SapError(e.status, e.code, e.message), service, wants_json)
        except Exception:  # a simulator bug or bad model data: answer like Gateway does
            log.exception("SAP simulator error on %s", path)
            code, message = _FAULT_DEFAULTS[500]
            return self._error(SapError(500, code, message), service, wants_json)

    def _error(self, err: SapError, service: str, wants_json: bool) -> Response:
        body = error_body(err.code, err.message, service)
        if wants_json:
            return _json(body, err.status)
        return Response(
            _xml_error(body), err.status, {"dataserviceversion": "1.0"}, media_type=XML_TYPE
        )

    # ------------------------------------------------------------------ auth and limits
    def _authenticated(self, request: Request) -> bool:
        """Basic (communication user; ABAP upper-cases user names) or a known bearer token."""
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials:
            given = credentials.encode()
            return any(hmac.compare_digest(given, t.encode()) for t in self.config.bearer_tokens)
        if scheme == "basic" and credentials:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, sep, password = decoded.partition(":")
            if not sep:
                return False
            for known, secret in self.config.users.items():
                if known.upper() == user.upper():
                    return hmac.compare_digest(secret.encode(), password.encode())
        return False

    def _unauthorized(self) -> Response:
        realm = f"SAP NetWeaver Application Server [{self.config.system_id}/{self.config.client}]"
        html = (
            "<!DOCTYPE html><html><head><title>Logon Error Message</title></head><body>"
            "<h1>Logon failed</h1><p>401 Unauthorized: the user could not be authenticated "
            "(wrong user name or password, or no credentials).</p></body></html>"
        )
        return Response(
            html,
            401,
            {"WWW-Authenticate": f'Basic realm="{realm}"', "sap-server": "true"},
            media_type="text/html",
        )

    def _admit(self) -> Response | None:
        """API-management quota: a sliding 60 s window in front of the tenant (before auth)."""
        limit = self.config.requests_per_minute
        if limit is None:
            return None
        now = self.config.clock()
        with self._lock:
            while self._window and now - self._window[0] >= 60.0:
                self._window.popleft()
            if len(self._window) >= limit:
                self.stats.throttled += 1
                retry = max(1, math.ceil(60.0 - (now - self._window[0])))
                body = {
                    "fault": {
                        "faultstring": "Rate limit quota violation. Quota limit  exceeded. "
                        "Identifier : _default",
                        "detail": {"errorcode": "policies.ratelimit.QuotaViolation"},
                    }
                }
                return _json(body, 429, {"Retry-After": str(retry)})
            self._window.append(now)
        return None

    # ------------------------------------------------------------------ routing
    def _origin(self, request: Request) -> str:
        if self.config.base_url:
            return self.config.base_url.rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    def _route(self, request: Request, path: str, wants_json: bool) -> Response:
        if not path.lower().startswith(ODATA_PREFIX):
            raise SapError(
                404, CODE_NOT_FOUND_SEGMENT, f"Resource not found for the segment '{path}'."
            )
        raw_service, _, tail = path[len(ODATA_PREFIX) :].partition("/")
        service = self.services.get(raw_service.upper())
        if service is None:
            raise SapError(
                404,
                CODE_NO_SERVICE,
                f"No service found for namespace '/SAP/', name '{raw_service.upper()}', "
                "version '0001'",
            )
        svc_url = f"{self._origin(request)}{ODATA_PREFIX}{service.name}"
        segments = [unquote(s) for s in tail.split("/") if s]
        options = self._options(request)
        if not segments:
            return self._service_document(service, svc_url, wants_json)
        if segments[0] == "$metadata" and len(segments) == 1:
            return Response(service.raw, 200, {"dataserviceversion": "2.0"}, media_type=XML_TYPE)
        if segments[0] == "$batch":
            raise SapError(
                501,
                CODE_NOT_IMPLEMENTED,
                "$batch is not supported by the Concord sandbox simulator.",
            )
        m = _SEGMENT.match(segments[0])
        entry = self._sets.get((service.name.upper(), m.group("name"))) if m else None
        if m is None or entry is None:
            raise SapError(
                404, CODE_NOT_FOUND_SEGMENT, f"Resource not found for the segment '{segments[0]}'."
            )
        if "$expand" in options:
            raise SapError(
                501,
                CODE_NOT_IMPLEMENTED,
                "$expand is not supported by the Concord sandbox simulator.",
            )
        key = m.group("key")
        if key is not None:
            if len(segments) > 1:
                if segments[1] in entry.es.entity_type.navigations:
                    raise SapError(
                        501,
                        CODE_NOT_IMPLEMENTED,
                        f"Reading navigation property '{segments[1]}' is not supported by the "
                        "Concord sandbox simulator.",
                    )
                raise SapError(
                    404,
                    CODE_NOT_FOUND_SEGMENT,
                    f"Resource not found for the segment '{segments[1]}'.",
                )
            self._require_json(wants_json)
            return self._entity(svc_url, entry, key, options)
        if len(segments) == 2 and segments[1] == "$count":
            return self._count(entry, options)
        if len(segments) > 1:
            raise SapError(
                404, CODE_NOT_FOUND_SEGMENT, f"Resource not found for the segment '{segments[1]}'."
            )
        self._require_json(wants_json)
        return self._collection(request, svc_url, entry, options)

    def _require_json(self, wants_json: bool) -> None:
        if not wants_json:
            raise SapError(
                406,
                CODE_NOT_ACCEPTABLE,
                "SAP answers Atom XML unless JSON is requested; the Concord sandbox simulator "
                "only produces JSON: send $format=json or 'Accept: application/json'.",
            )

    def _options(self, request: Request) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in request.query_params.multi_items():
            if k.startswith("$"):
                if k not in _SYSTEM_OPTIONS:
                    raise SapError(400, CODE_SYNTAX, f"Invalid system query option '{k}'")
                if k in out:
                    raise SapError(400, CODE_SYNTAX, f"Duplicate system query option '{k}'")
                out[k] = v
            elif k == "search":
                raise SapError(
                    400,
                    CODE_SYNTAX,
                    "Search is not supported: the entity set is not annotated "
                    'sap:searchable="true"',
                )
            # custom query options (sap-client, sap-language, ...) are accepted and ignored
        fmt = out.get("$format")
        if fmt is not None and fmt not in ("json", "xml", "atom"):
            raise SapError(
                400, CODE_SYNTAX, f"Invalid value '{fmt}' for system query option $format"
            )
        return out

    # ------------------------------------------------------------------ documents
    def _service_document(self, service: EdmxService, svc_url: str, wants_json: bool) -> Response:
        names = list(service.entity_sets)
        if wants_json:
            return _json({"d": {"EntitySets": names}})
        collections = "".join(
            f'<app:collection href="{escape(n)}"><atom:title>{escape(n)}</atom:title>'
            "</app:collection>"
            for n in names
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<app:service xml:base="{escape(svc_url)}/" '
            'xmlns:app="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<app:workspace><atom:title>Data</atom:title>{collections}</app:workspace>"
            "</app:service>"
        )
        return Response(
            xml, 200, {"dataserviceversion": "1.0"}, media_type="application/atomsvc+xml"
        )

    # ------------------------------------------------------------------ data
    def _filtered(self, entry: _Set, options: Mapping[str, str]) -> list[dict[str, Any]]:
        rows = entry.rows
        text = options.get("$filter")
        if text is not None:
            pred = compile_filter(text, entry.es.entity_type)
            rows = [r for r in rows if pred(r)]
        return list(rows)

    def _collection(
        self, request: Request, svc_url: str, entry: _Set, options: Mapping[str, str]
    ) -> Response:
        """One page of an entity set: filter, order (key last), $skip/$top, server paging."""
        et = entry.es.entity_type
        names = self._select(et, options)
        order = parse_orderby(options["$orderby"], et) if "$orderby" in options else []
        top = _int_option(options, "$top")
        skip = _int_option(options, "$skip") or 0
        token = _int_option(options, "$skiptoken") or 0
        inline = options.get("$inlinecount")
        if inline is not None and inline not in ("allpages", "none"):
            raise SapError(
                400, CODE_SYNTAX, f"Invalid value '{inline}' for system query option $inlinecount"
            )
        rows = self._filtered(entry, options)
        total = len(rows)
        # A total order (the key last) so that $skip/$skiptoken pages never overlap.
        keys = [(p, False) for p in et.key_properties()]
        ordering = order + [k for k in keys if k[0] not in [p for p, _ in order]]
        rows.sort(key=lambda r: tuple(sort_key(p, r, d) for p, d in ordering))
        end = total if top is None else min(total, skip + top)
        start = skip + token
        stop = end
        if self.config.server_paging:
            page = self.config.page_size if top is None else self.config.max_page_size
            stop = min(end, start + page)
        page_rows = rows[start:stop] if start < stop else []
        results = [self._render(svc_url, entry, r, names) for r in page_rows]
        d: dict[str, Any] = {}
        if inline == "allpages":
            d["__count"] = str(total)
        d["results"] = results
        if stop < end:
            d["__next"] = self._next_link(request, stop - skip)
        with self._lock:
            self.stats.pages_served += 1
            self.stats.rows_returned += len(results)
        return _json({"d": d})

    def _next_link(self, request: Request, token: int) -> str:
        """Absolute, same-origin (pyodata refuses anything else), all other options kept."""
        raw = request.scope.get("query_string", b"").decode("latin-1")
        kept = [p for p in raw.split("&") if p and not unquote(p).startswith("$skiptoken=")]
        kept.append(f"$skiptoken={token}")
        return f"{self._origin(request)}{request.url.path}?" + "&".join(kept)

    def _select(self, et: EdmEntityType, options: Mapping[str, str]) -> list[str]:
        if "$select" in options:
            return parse_select(options["$select"], et)
        return list(et.properties) + list(et.navigations)

    def _render(
        self, svc_url: str, entry: _Set, row: Mapping[str, Any], names: list[str]
    ) -> dict[str, Any]:
        et = entry.es.entity_type
        uri = f"{svc_url}/{entry.es.name}({key_predicate(et, row)})"
        meta: dict[str, Any] = {"id": uri, "uri": uri, "type": et.qualified_name}
        etag = _etag(et, row)
        if etag is not None:
            meta["etag"] = etag
        out: dict[str, Any] = {"__metadata": meta}
        for name in names:
            prop = et.properties.get(name)
            if prop is not None:
                out[name] = render_value(prop, row.get(name), row, entry.currency_units)
            else:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        return out

    def _entity(
        self, svc_url: str, entry: _Set, key_text: str, options: Mapping[str, str]
    ) -> Response:
        et = entry.es.entity_type
        for opt in ("$filter", "$orderby", "$top", "$skip", "$inlinecount", "$skiptoken"):
            if opt in options:
                raise SapError(
                    400,
                    CODE_SYNTAX,
                    f"System query option '{opt}' is not allowed for a single entity",
                )
        wanted = self._parse_key(et, key_text)
        names = self._select(et, options)
        for row in entry.rows:
            if all(normalize(p.type, row.get(p.name)) == v for p, v in wanted):
                body = self._render(svc_url, entry, row, names)
                with self._lock:
                    self.stats.pages_served += 1
                    self.stats.rows_returned += 1
                headers = {}
                if "etag" in body["__metadata"]:
                    headers["etag"] = body["__metadata"]["etag"]
                return _json({"d": body}, 200, headers)
        raise SapError(404, CODE_RT, f"Resource not found for segment '{et.name}'.")

    def _parse_key(self, et: EdmEntityType, text: str) -> list[tuple[EdmProperty, Any]]:
        try:
            parts = parse_key_predicate(text)
        except FilterError:
            raise SapError(400, CODE_SYNTAX, f"Invalid key predicate '({text})'") from None
        props = et.key_properties()
        if len(parts) != len(props):
            raise SapError(
                400,
                CODE_SYNTAX,
                f"Invalid key predicate '({text})': type '{et.name}' has "
                f"{len(props)} key propert{'y' if len(props) == 1 else 'ies'}",
            )
        out: list[tuple[EdmProperty, Any]] = []
        if len(parts) == 1 and parts[0][0] is None:
            pairs = [(props[0], parts[0][1])]
        else:
            by_name = {p.name: p for p in props}
            pairs = []
            for name, lit in parts:
                if name is None or name not in by_name:
                    raise SapError(400, CODE_SYNTAX, f"Invalid key predicate '({text})'")
                pairs.append((by_name[name], lit))
        for prop, lit in pairs:
            same = lit.edm == prop.type or (
                lit.edm.startswith("Edm.Int") and prop.type.startswith("Edm.Int")
            )
            if not same:
                raise SapError(
                    400,
                    CODE_SYNTAX,
                    f"Invalid key predicate '({text})': key '{prop.name}' is {prop.type}",
                )
            out.append((prop, normalize(prop.type, lit.value)))
        return out

    def _count(self, entry: _Set, options: Mapping[str, str]) -> Response:
        rows = self._filtered(entry, options)
        return Response(str(len(rows)), 200, {"dataserviceversion": "2.0"}, media_type="text/plain")


# ----------------------------------------------------------------------------- helpers


def _wants_json(request: Request) -> bool:
    fmt = request.query_params.get("$format")
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept.lower()


def _int_option(options: Mapping[str, str], name: str) -> int | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise SapError(400, CODE_SYNTAX, f"Invalid value '{raw}' for system query option {name}")
    return int(raw)


def create_app(system: SapSystem, config: SapSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``SapSimulator`` is at ``app.state.simulator``."""
    return SapSimulator(system, config).app
