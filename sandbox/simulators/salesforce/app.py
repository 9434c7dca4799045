"""Starlette app simulating the Salesforce REST API (OAuth token, describe, query).

Adapters are written against Salesforce's documentation, so the simulator follows the
documented wire behaviour, including the awkward parts: JSON-array error bodies, relative
``nextRecordsUrl`` cursors that expire, ``Sforce-Limit-Info`` on every call, batch sizes
clamped to 200..2000. Test hooks (fault queue, counters) sit beside the real endpoints
under ``/__sandbox/`` and on the ``SalesforceSimulator`` object.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.salesforce_model import SalesforceOrg, SObject, SObjectField
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .errors import SalesforceApiError, invalid_session, not_found
from .soql import STRING_TYPES, QueryResult, SoqlEngine

__all__ = ["Fault", "SalesforceSimConfig", "SalesforceSimulator", "SimStats", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000
USER_ID = "005000000000001AAA"
JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class SalesforceSimConfig:
    """Knobs for one simulated org; defaults match a plain Enterprise Edition org."""

    # OAuth client_credentials pairs accepted by /services/oauth2/token.
    clients: dict[str, str] = field(default_factory=lambda: {"concord": "concord-secret"})
    # Bearer tokens accepted without calling the token endpoint.
    static_tokens: tuple[str, ...] = ("sandbox-token",)
    api_versions: tuple[str, ...] = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
    daily_api_limit: int = 15000
    latency_ms: float = 0.0
    # Per-second request cap; exceeding it answers 429 with Retry-After (None = no cap).
    requests_per_second: float | None = None
    locator_ttl_seconds: float = 15 * 60
    max_open_locators: int = 10
    # SOQL: do !=, NOT IN and NOT ... LIKE match rows whose field is null? (two-valued logic)
    null_negation_matches: bool = True
    # Monotonic clock in seconds; tests replace it to expire cursors instantly.
    clock: Callable[[], float] = time.monotonic


class Fault(BaseFault):
    """A queued failure whose default body is Salesforce's JSON-array error."""

    def default_body(self) -> Any:
        code, message = _FAULT_DEFAULTS.get(
            self.status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        )
        return [{"message": message, "errorCode": code}]


_FAULT_DEFAULTS = {
    400: ("MALFORMED_QUERY", "Injected bad request"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests. Retry after the indicated time."),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
        "1234567890-12345 (-1234567890)",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."),
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
    soql: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "soql": list(self.soql),
        }


@dataclass
class _Cursor:
    result: QueryResult
    version: str
    endpoint: str  # query | queryAll
    batch_size: int
    last_access: float


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, headers=headers, media_type=JSON_TYPE)


_DATA_PATH = re.compile(r"^/services/data/v(?P<ver>\d+\.\d)(?P<rest>/.*)?$")

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "double": "xsd:double",
    "int": "xsd:int",
    "long": "xsd:long",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}


class SalesforceSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated org: the ASGI ``app`` plus test hooks (``stats``, ``inject``)."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    sandbox_resets = {"/__sandbox/usage/reset": "reset_usage"}
    unknown_hook_body = [{"message": "unknown sandbox hook", "errorCode": "NOT_FOUND"}]

    def __init__(self, org: SalesforceOrg, config: SalesforceSimConfig | None = None) -> None:
        super().__init__()
        self.org = org
        self.config = config or SalesforceSimConfig()
        self.engine = SoqlEngine(org, null_negation_matches=self.config.null_negation_matches)
        self.api_usage = 0
        self._issued_tokens: dict[str, str] = {}  # token -> client_id
        self._cursors: dict[str, OrderedDict[str, _Cursor]] = {}
        self._locator_seq = itertools.count(1)
        self._recent: deque[float] = deque()

    # ------------------------------------------------------------------ test hooks
    def reset_usage(self) -> None:
        """Start a new 'day' for the daily API request limit."""
        with self._lock:
            self.api_usage = 0

    def issue_token(self, client_id: str = "sandbox") -> str:
        """Mint a bearer token directly (what the token endpoint would return)."""
        token = f"{self.org.org_id[:15]}!{secrets.token_urlsafe(48)}"
        with self._lock:
            self._issued_tokens[token] = client_id
        return token

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (simulates session expiry)."""
        with self._lock:
            self._issued_tokens.clear()
            self._cursors.clear()

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        kind = _classify(path)
        stats = self.stats
        stats.requests_total += 1
        stats.requests_by_kind[kind] += 1
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        response = await self._handle(request, path, kind)
        self.stats.responses_by_status[response.status_code] += 1
        return response

    async def _handle(self, request: Request, path: str, kind: str) -> Response:
        fault = self._take_fault(kind)
        if fault is not None:
            self.stats.faults_served += 1
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _fmt_seconds(fault.retry_after)
            if isinstance(fault.body, str):
                return Response(fault.body, fault.status, headers, media_type="text/html")
            body = fault.body if fault.body is not None else fault.default_body()
            return _json(body, fault.status, headers)
        throttled = self._throttle()
        if throttled is not None:
            return throttled
        if kind == "token":
            return await self._token(request)
        if kind == "versions":
            if request.method not in ("GET", "HEAD"):
                return self._error(_method_not_allowed(request.method))
            return _json(self._versions())
        if not path.startswith("/services/"):
            return self._error(not_found())
        # Every REST call from here on carries Sforce-Limit-Info.
        token = _bearer(request)
        if token is None or not self._token_valid(token):
            return self._error(invalid_session(), limit=True)
        if self.api_usage >= self.config.daily_api_limit:
            return self._error(
                SalesforceApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                limit=True,
            )
        with self._lock:
            self.api_usage += 1
        try:
            if request.method not in ("GET", "HEAD"):
                raise _method_not_allowed(request.method)
            response = self._route(request, path, token)
        except SalesforceApiError as e:
            return self._error(e, limit=True)
        except Exception:  # a simulator bug or bad model data: answer like Salesforce does
            log.exception("simulator error on %s", path)
            code, message = _FAULT_DEFAULTS[500]
            return self._error(SalesforceApiError(500, code, message), limit=True)
        response.headers["Sforce-Limit-Info"] = self._limit_info()
        return response

    def _throttle(self) -> Response | None:
        rps = self.config.requests_per_second
        if not rps:
            return None
        now = self.config.clock()
        recent = self._recent
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= rps:
            retry = max(1, int(1.0 - (now - recent[0]) + 0.999))
            err = SalesforceApiError(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                f"Request rate limit of {rps:g} requests per second exceeded.",
                headers={"Retry-After": str(retry)},
            )
            return self._error(err)
        recent.append(now)
        return None

    def _limit_info(self) -> str:
        return f"api-usage={self.api_usage}/{self.config.daily_api_limit}"

    def _error(self, err: SalesforceApiError, limit: bool = False) -> Response:
        headers = dict(err.headers)
        if limit:
            headers["Sforce-Limit-Info"] = self._limit_info()
        return _json(err.body(), err.status, headers)

    def _token_valid(self, token: str) -> bool:
        return token in self._issued_tokens or token in self.config.static_tokens

    # ------------------------------------------------------------------ endpoints
    async def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return self._error(_method_not_allowed(request.method))
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return _json(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        expected = self.config.clients.get(client_id)
        if expected is None or not hmac.compare_digest(expected, secret):
            return _json(
                {"error": "invalid_client", "error_description": "invalid client credentials"},
                400,
            )
        token = self.issue_token(client_id)
        instance = f"{request.url.scheme}://{request.url.netloc}"
        issued_at = str(int(time.time() * 1000))
        ident = f"{instance}/id/{self.org.org_id}/{USER_ID}"
        signature = base64.b64encode(
            hmac.new(expected.encode(), (ident + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        return _json(
            {
                "access_token": token,
                "instance_url": instance,
                "id": ident,
                "token_type": "Bearer",
                "issued_at": issued_at,
                "signature": signature,
                "scope": "api",
            }
        )

    def _versions(self) -> list[dict[str, str]]:
        out = []
        for v in self.config.api_versions:
            # v59.0 is Winter '24; three releases a year (Winter, Spring, Summer).
            major = int(float(v))
            season = ("Winter", "Spring", "Summer")[(major - 59) % 3]
            year = 24 + (major - 59) // 3
            out.append(
                {"label": f"{season} '{year:02d}", "url": f"/services/data/v{v}", "version": v}
            )
        return out

    def _route(self, request: Request, path: str, token: str) -> Response:
        m = _DATA_PATH.match(path)
        if m is None:
            raise not_found()
        ver = m.group("ver")
        if ver not in self.config.api_versions:
            raise not_found()
        parts = [p for p in (m.group("rest") or "").split("/") if p]
        base = f"/services/data/v{ver}"
        if not parts:
            return _json(
                {
                    "limits": f"{base}/limits",
                    "sobjects": f"{base}/sobjects",
                    "query": f"{base}/query",
                    "queryAll": f"{base}/queryAll",
                }
            )
        head = parts[0]
        if head == "limits" and len(parts) == 1:
            limit = self.config.daily_api_limit
            return _json(
                {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - self.api_usage)}}
            )
        if head == "sobjects":
            if len(parts) == 1:
                return _json(self._describe_global(ver))
            obj = self.engine.find_object(parts[1])
            if obj is None:
                raise not_found()
            if len(parts) == 2:
                return _json({"objectDescribe": self._sobject_summary(obj, ver), "recentItems": []})
            if len(parts) == 3 and parts[2] == "describe":
                return _json(self._describe(obj, ver))
            raise not_found()
        if head in ("query", "queryAll"):
            if len(parts) == 1:
                return self._query(request, ver, head, token)
            if len(parts) == 2:
                return self._query_more(request, ver, parts[1], token)
        raise not_found()

    # -- describe
    def _sobject_summary(self, obj: SObject, ver: str) -> dict[str, Any]:
        base = f"/services/data/v{ver}/sobjects/{obj.name}"
        return {
            "activateable": False,
            "createable": True,
            "custom": obj.custom,
            "customSetting": False,
            "deletable": True,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "keyPrefix": obj.key_prefix or None,
            "label": obj.label,
            "labelPlural": obj.label_plural or obj.label + "s",
            "layoutable": True,
            "mergeable": False,
            "mruEnabled": False,
            "name": obj.name,
            "queryable": True,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": True,
            "updateable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def _describe_global(self, ver: str) -> dict[str, Any]:
        return {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [self._sobject_summary(o, ver) for o in self.org.objects.values()],
        }

    def _describe(self, obj: SObject, ver: str) -> dict[str, Any]:
        body = self._sobject_summary(obj, ver)
        children = []
        for other in self.org.objects.values():
            for f in other.fields:
                if f.type == "reference" and obj.name in f.reference_to:
                    children.append(
                        {
                            "cascadeDelete": False,
                            "childSObject": other.name,
                            "deprecatedAndHidden": False,
                            "field": f.name,
                            "relationshipName": None,
                            "restrictedDelete": False,
                        }
                    )
        body["childRelationships"] = children
        body["fields"] = [_describe_field(obj, f) for f in obj.fields]
        return body

    # -- query
    def _batch_size(self, request: Request, default: int = DEFAULT_BATCH_SIZE) -> int:
        header = request.headers.get("sforce-query-options", "")
        m = re.search(r"batchSize\s*=\s*(\d+)", header, re.IGNORECASE)
        if not m:
            return default
        return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(m.group(1))))

    def _query(self, request: Request, ver: str, endpoint: str, token: str) -> Response:
        q = request.query_params.get("q")
        if q is None or not q.strip():
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        self.stats.soql.append(q)
        result = self.engine.run(q, include_deleted=endpoint == "queryAll")
        batch = self._batch_size(request)
        if result.count_only:
            self.stats.pages_served += 1
            return _json({"totalSize": result.total_size, "done": True, "records": []})
        locator = None
        if result.total_size > batch:
            locator = self._open_cursor(token, _Cursor(result, ver, endpoint, batch, 0.0))
        return self._page(result, ver, endpoint, 0, batch, locator, token)

    def _open_cursor(self, token: str, cursor: _Cursor) -> str:
        seq = next(self._locator_seq)
        locator = f"01g{seq:012X}AAA"
        cursor.last_access = self.config.clock()
        with self._lock:
            cursors = self._cursors.setdefault(token, OrderedDict())
            cursors[locator] = cursor
            while len(cursors) > self.config.max_open_locators:
                cursors.popitem(last=False)  # the oldest cursor is released
        return locator

    def _query_more(self, request: Request, ver: str, ident: str, token: str) -> Response:
        locator, sep, offset_text = ident.rpartition("-")
        cursors = self._cursors.get(token)
        cursor = cursors.get(locator) if (cursors and sep) else None
        now = self.config.clock()
        if (
            cursor is None
            or not offset_text.isdigit()
            or now - cursor.last_access > self.config.locator_ttl_seconds
        ):
            if cursor is not None and cursors is not None:
                with self._lock:
                    cursors.pop(locator, None)
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start = int(offset_text)
        if start >= cursor.result.total_size:
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_access = now
        if cursors is not None:
            cursors.move_to_end(locator)
        batch = self._batch_size(request, cursor.batch_size)
        return self._page(cursor.result, ver, cursor.endpoint, start, batch, locator, token)

    def _page(
        self,
        result: QueryResult,
        ver: str,
        endpoint: str,
        start: int,
        batch: int,
        locator: str | None,
        token: str,
    ) -> Response:
        rows = result.rows[start : start + batch]
        project = result.project
        records = [project(r, ver) for r in rows]
        end = start + len(rows)
        done = end >= result.total_size
        body: dict[str, Any] = {"totalSize": result.total_size, "done": done}
        if not done and locator is not None:
            body["nextRecordsUrl"] = f"/services/data/v{ver}/{endpoint}/{locator}-{end}"
        elif locator is not None:
            cursors = self._cursors.get(token)
            if cursors is not None:
                with self._lock:
                    cursors.pop(locator, None)  # a finished cursor is released
        body["records"] = records
        self.stats.pages_served += 1
        self.stats.rows_returned += len(records)
        return _json(body)

    # ------------------------------------------------------------------ sandbox hooks
    def _stats_body(self) -> dict[str, Any]:
        return {**self.stats.to_dict(), "api_usage": self.api_usage}


def _classify(path: str) -> str:
    if path.rstrip("/") == "/services/oauth2/token":
        return "token"
    if path.rstrip("/") == "/services/data":
        return "versions"
    m = _DATA_PATH.match(path)
    if m is None:
        return "other"
    parts = [p for p in (m.group("rest") or "").split("/") if p]
    if not parts:
        return "resources"
    if parts[0] in ("query", "queryAll"):
        return "query" if len(parts) == 1 else "query_more"
    if parts[0] == "sobjects":
        return "describe"
    if parts[0] == "limits":
        return "limits"
    return "other"


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def _method_not_allowed(method: str) -> SalesforceApiError:
    return SalesforceApiError(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD"
    )


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _describe_field(obj: SObject, f: SObjectField) -> dict[str, Any]:
    t = f.type
    is_text = t in STRING_TYPES
    length = f.length or (
        18 if t in ("id", "reference") else 255 if is_text and t != "textarea" else 0
    )
    if t == "textarea" and not f.length:
        length = 32000
    is_id = t == "id"
    return {
        "aggregatable": t not in ("textarea", "multipicklist"),
        "autoNumber": False,
        "byteLength": length * 3 if (is_text or t in ("id", "reference")) else 0,
        "calculated": False,
        "calculatedFormula": None,
        "caseSensitive": False,
        "createable": not is_id and f.name not in ("IsDeleted", "SystemModstamp"),
        "custom": f.custom,
        "defaultValue": False if t == "boolean" else None,
        "defaultedOnCreate": is_id or t == "boolean",
        "digits": f.precision if t in ("int", "long") else 0,
        "externalId": False,
        "filterable": f.filterable,
        "groupable": t not in ("double", "currency", "percent", "datetime", "textarea"),
        "idLookup": is_id,
        "label": f.label,
        "length": length if (is_text or t in ("id", "reference")) else 0,
        "name": f.name,
        "nameField": f.name == "Name",
        "nillable": f.nillable and not is_id and t != "boolean",
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in f.picklist_values
        ],
        "precision": f.precision if t in ("currency", "percent", "double") else 0,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "scale": f.scale if t in ("currency", "percent", "double") else 0,
        "soapType": _SOAP_TYPES.get(t, "xsd:string"),
        "sortable": f.sortable,
        "type": t,
        "unique": False,
        "updateable": not is_id and f.name not in ("IsDeleted", "SystemModstamp"),
    }


def create_app(org: SalesforceOrg, config: SalesforceSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``SalesforceSimulator`` is at ``app.state.simulator``."""
    return SalesforceSimulator(org, config).app
