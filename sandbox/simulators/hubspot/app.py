"""Starlette app simulating HubSpot's CRM APIs (objects, search, properties, schemas,
owners, pipelines, associations v4) for one portal.

Adapters are written against HubSpot's documentation, so the simulator follows the
documented wire behaviour, including the parts that break naive clients: every property
value a string, list pages of at most 100 behind an opaque cursor, search pages of at most
200 behind an integer-offset cursor with a hard 10,000-result cap, filter-count limits,
case rules per property type, the 5 requests/second search throttle with HubSpot's 429 body
and rate-limit headers, and 207 multi-status association reads. Test hooks (fault queue,
counters) sit beside the real endpoints under ``/__sandbox/`` and on ``HubSpotSimulator``.

Known deviations of real HubSpot from its own OpenAPI specs that the simulator follows
(the real API, not the spec): requested-but-empty properties are ``null``; v4
``toObjectId`` is a JSON number; unlabeled association types carry ``"label": null``;
207 error items carry ``subCategory`` as a string and omit ``errors``/``links``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.hubspot_model import (
    HubSpotAssociation,
    HubSpotObject,
    HubSpotOwner,
    HubSpotPipeline,
    HubSpotPortal,
    HubSpotProperty,
    HubSpotRecord,
)
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .errors import HubSpotApiError, not_found, rate_limited, unauthenticated, validation_error
from .search import SearchError, SearchIndex, SearchLimits

__all__ = ["Fault", "HubSpotSimConfig", "HubSpotSimulator", "SimStats", "create_app"]

log = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=utf-8"
# Timestamp for metadata HubSpot defines itself (properties, schemas without records).
METADATA_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

STANDARD_ALIASES: dict[str, tuple[str, ...]] = {
    "contacts": ("contact", "0-1"),
    "companies": ("company", "0-2"),
    "deals": ("deal", "0-3"),
    "tickets": ("ticket", "0-5"),
    "products": ("product", "0-7"),
    "line_items": ("line_item", "lineitem", "lineitems", "line-items", "line-item", "0-8"),
    "quotes": ("quote", "0-14"),
}
SINGULAR = {
    "contacts": "contact",
    "companies": "company",
    "deals": "deal",
    "tickets": "ticket",
    "products": "product",
    "line_items": "line_item",
    "quotes": "quote",
}
# HubSpot-defined association type ids and their reverse direction.
_REVERSE_TYPE = {
    1: 2,  # contact -> company (primary)
    279: 280,  # contact -> company
    3: 4,  # deal -> contact
    5: 6,  # deal -> company (primary)
    341: 342,  # deal -> company
    15: 16,  # ticket -> contact
    26: 25,  # ticket -> company (primary)
    339: 340,  # ticket -> company
    27: 28,  # ticket -> deal
    19: 20,  # deal -> line_item
    13: 14,  # parent company -> child company
}
_REVERSE_TYPE.update({v: k for k, v in list(_REVERSE_TYPE.items())})

DEFAULT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "deals": (
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "createdate",
        "hs_lastmodifieddate",
    ),
    "line_items": ("quantity", "amount", "price", "createdate", "hs_lastmodifieddate"),
    "tickets": (
        "content",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_ticket_category",
        "hs_ticket_priority",
        "subject",
        "createdate",
        "hs_lastmodifieddate",
    ),
    "companies": ("name", "domain", "createdate", "hs_lastmodifieddate"),
    "contacts": ("firstname", "lastname", "email", "lastmodifieddate", "createdate"),
    "products": ("name", "description", "price", "createdate", "hs_lastmodifieddate"),
}


@dataclass
class HubSpotSimConfig:
    """Knobs for one simulated portal; defaults follow HubSpot's documented limits."""

    # Private-app / OAuth bearer tokens accepted.
    tokens: tuple[str, ...] = ("pat-na1-sandbox",)
    # Search: requests per sliding 1 s window per portal (None = no throttle).
    search_requests_per_second: int | None = 5
    # Everything else: requests per sliding 10 s window (None = no throttle).
    ten_secondly_limit: int | None = 190
    daily_limit: int = 1_000_000
    search_limits: SearchLimits = field(default_factory=SearchLimits)
    search_result_cap: int = 10_000
    search_max_page: int = 200
    search_default_page: int = 10
    search_body_max_chars: int = 3000
    list_max_page: int = 100
    list_default_page: int = 10
    owners_max_page: int = 500
    batch_read_max_inputs: int = 100
    association_batch_max_inputs: int = 1000
    association_page_size: int = 500
    latency_ms: float = 0.0
    # Do NEQ / NOT_IN / NOT_CONTAINS_TOKEN match records without a value? (see search.py)
    negation_matches_missing: bool = False
    # Returned with every object even when ``properties`` names others (as HubSpot does),
    # when the object defines them.
    always_properties: tuple[str, ...] = (
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
        "lastmodifieddate",
    )
    # v4 associations send toObjectId as a JSON number (real API) rather than a string (spec).
    association_ids_as_numbers: bool = True
    # HubSpot does not document Retry-After on 429; off by default so clients use the
    # window headers, on to help clients that only honour Retry-After.
    retry_after_header: bool = False
    # Monotonic clock in seconds; tests may replace it.
    clock: Callable[[], float] = time.monotonic


class Fault(BaseFault):
    """A queued failure whose default answer is HubSpot's error for the status."""

    def default_error(self) -> HubSpotApiError:
        category, message = _FAULT_DEFAULTS.get(
            self.status, ("INTERNAL_ERROR", "An unexpected error occurred.")
        )
        if self.status == 429:
            return rate_limited("TEN_SECONDLY_ROLLING", "publicapi:crm-objects", {})
        return HubSpotApiError(self.status, category, message)


_FAULT_DEFAULTS = {
    400: ("VALIDATION_ERROR", "Injected bad request"),
    401: ("INVALID_AUTHENTICATION", "The OAuth token used to make this call expired."),
    403: ("MISSING_SCOPES", "This app hasn't been granted all required scopes to make this call."),
    404: ("OBJECT_NOT_FOUND", "resource not found"),
    500: ("INTERNAL_ERROR", "internal error"),
    502: ("BAD_GATEWAY", "Bad Gateway"),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
    504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
}


@dataclass
class SimStats:
    """Counters for tests and benchmarks (what the adapter actually asked for)."""

    requests_total: int = 0
    requests_by_kind: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[int] = field(default_factory=Counter)
    rows_returned: int = 0  # CRM object records in list/search/read responses
    association_rows: int = 0  # associated-object entries in v4 responses
    pages_served: int = 0  # list and search pages
    faults_served: int = 0
    throttled: int = 0  # 429s from the rate limits (not injected faults)
    search_bodies: list[Any] = field(default_factory=list)  # parsed JSON, as received
    search_objects: list[str] = field(default_factory=list)  # object name per search body

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "association_rows": self.association_rows,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "search_bodies": list(self.search_bodies),
            "search_objects": list(self.search_objects),
        }


@dataclass
class _ObjectIndex:
    """One object pre-indexed: records in creation order, ids to positions, properties."""

    obj: HubSpotObject
    active: list[HubSpotRecord]
    archived: list[HubSpotRecord]
    by_id: dict[str, HubSpotRecord]
    active_pos: dict[str, int]
    archived_pos: dict[str, int]
    props: dict[str, HubSpotProperty]
    defaults: tuple[str, ...]
    always: tuple[str, ...]
    search: SearchIndex
    singular: str


class _Window:
    """Sliding-window request counter."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.hits: deque[float] = deque()

    def used(self, now: float) -> int:
        hits = self.hits
        while hits and now - hits[0] >= self.seconds:
            hits.popleft()
        return len(hits)

    def retry_after(self, now: float) -> float:
        return max(0.0, self.seconds - (now - self.hits[0])) if self.hits else 0.0


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, headers=headers, media_type=JSON_TYPE)


def _iso(moment: dt.datetime) -> str:
    """HubSpot's timestamp format: UTC, milliseconds, ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str | None:
    try:
        pad = "=" * (-len(cursor) % 4)
        return base64.urlsafe_b64decode(cursor + pad).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


_VERSIONED = re.compile(
    r"^/crm/(?P<api>objects|properties|pipelines|owners|schemas|associations)"
    r"/(?P<ver>\d{4}-\d{2})(?P<rest>/.*)?$"
)
_CLASSIC = re.compile(r"^/crm/(?P<ver>v3|v4)/(?P<api>[a-z]+)(?P<rest>/.*)?$")


def _parse_path(path: str) -> tuple[str, str, list[str]] | None:
    """(api, version, remaining segments) for ``/crm/v3/...``, ``/crm/v4/...`` and
    date-versioned ``/crm/<api>/<YYYY-MM>/...`` paths."""
    m = _VERSIONED.match(path) or _CLASSIC.match(path)
    if m is None:
        return None
    parts = [p for p in (m.group("rest") or "").split("/") if p]
    return m.group("api"), m.group("ver"), parts


def _classify(method: str, api: str, version: str, parts: list[str]) -> str:
    if api == "objects":
        if len(parts) == 1:
            return "list"
        if len(parts) == 2 and parts[1] == "search":
            return "search"
        if len(parts) >= 3 and parts[2] == "associations":
            return "associations"
        return "read"
    if api in ("properties", "schemas", "owners", "pipelines", "associations"):
        return api
    return "other"


class HubSpotSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated portal: the ASGI ``app`` plus test hooks (``stats``, ``inject``)."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    sandbox_resets = {"/__sandbox/rate-limits/reset": "reset_rate_limits"}
    unknown_hook_body = {"status": "error", "message": "unknown sandbox hook"}

    def __init__(self, portal: HubSpotPortal, config: HubSpotSimConfig | None = None) -> None:
        super().__init__()
        self.portal = portal
        self.config = config or HubSpotSimConfig()
        self.daily_usage = 0
        self._search_window = _Window(1.0)
        self._general_window = _Window(10.0)
        self.reload()

    # ------------------------------------------------------------------ indexes
    def reload(self) -> None:
        """Rebuild the indexes from ``portal`` (call after changing the portal's data)."""
        self._objects: dict[str, _ObjectIndex] = {}
        self._aliases: dict[str, str] = {}
        for name, obj in self.portal.objects.items():
            self._objects[name] = self._index_object(obj)
            keys = {name, obj.name, obj.object_type_id, obj.singular, obj.plural}
            keys.update(STANDARD_ALIASES.get(obj.name, ()))
            if obj.fully_qualified_name:
                keys.add(obj.fully_qualified_name)
            if obj.custom:
                keys.add(f"p{self.portal.portal_id}_{obj.name}")
                if obj.name.endswith("s"):
                    keys.add(obj.name[:-1])
            for key in keys:
                if key:
                    self._aliases.setdefault(key.lower().replace(" ", "_"), name)
        self._build_associations()

    def _index_object(self, obj: HubSpotObject) -> _ObjectIndex:
        def order(rec: HubSpotRecord) -> tuple[int, int]:
            return (0, int(rec.id)) if rec.id.isdigit() else (1, 0)

        records = sorted(obj.records, key=order)  # stable: creation order == id order
        active = [r for r in records if not r.archived]
        archived = [r for r in records if r.archived]
        props = {p.name: p for p in obj.properties}
        if "hs_object_id" not in props:
            props["hs_object_id"] = HubSpotProperty(
                "hs_object_id", "Record ID", "number", "number", "objectinformation", True
            )
        declared = [p.name for p in obj.properties if p.default]
        if not declared:
            declared = [n for n in DEFAULT_PROPERTIES.get(obj.name, ()) if n in props]
        if not declared and obj.primary_display_property in props:
            declared = [obj.primary_display_property]
        defaults = tuple(dict.fromkeys([*declared, "hs_object_id"]))
        always = tuple(n for n in self.config.always_properties if n in props)
        singular = SINGULAR.get(obj.name) or obj.singular.lower().replace(" ", "_") or obj.name
        return _ObjectIndex(
            obj=obj,
            active=active,
            archived=archived,
            by_id={r.id: r for r in records},
            active_pos={r.id: i for i, r in enumerate(active)},
            archived_pos={r.id: i for i, r in enumerate(archived)},
            props=props,
            defaults=defaults,
            always=always,
            search=SearchIndex.build(obj, active, props, self.config.negation_matches_missing),
            singular=singular,
        )

    def _build_associations(self) -> None:
        """Index associations both ways; the reverse direction is synthesized (with the
        reverse HubSpot-defined type id) unless the portal lists that direction itself."""
        explicit_pairs = {(a.from_object, a.to_object) for a in self.portal.associations}
        # (from object, to object) -> from id -> to id -> association types
        index: dict[tuple[str, str], dict[str, dict[str, list[HubSpotAssociation]]]] = {}
        # archived (deleted) records keep their associations for a restore, but the
        # associations API does not return them
        archived = {(name, r.id) for name, obj in self.portal.objects.items()
                    for r in obj.records if r.archived}

        def add(a: HubSpotAssociation) -> None:
            if (a.from_object, a.from_id) in archived or (a.to_object, a.to_id) in archived:
                return
            by_from = index.setdefault((a.from_object, a.to_object), {})
            types = by_from.setdefault(a.from_id, {}).setdefault(a.to_id, [])
            if all((t.type_id, t.category) != (a.type_id, a.category) for t in types):
                types.append(a)

        for a in self.portal.associations:
            add(a)
        for a in self.portal.associations:
            if (a.to_object, a.from_object) in explicit_pairs:
                continue
            add(
                HubSpotAssociation(
                    a.to_object,
                    a.to_id,
                    a.from_object,
                    a.from_id,
                    _REVERSE_TYPE.get(a.type_id, a.type_id),
                    a.category,
                    a.label,
                )
            )
        self._assoc = index

    def _resolve(self, text: str) -> _ObjectIndex:
        name = self._aliases.get(text.lower())
        if name is None:
            raise validation_error(f"Unable to infer object type from: {text}")
        return self._objects[name]

    # ------------------------------------------------------------------ test hooks
    def reset_rate_limits(self) -> None:
        """Forget recent requests and the day's usage (a fresh window and day)."""
        with self._lock:
            self._search_window.hits.clear()
            self._general_window.hits.clear()
            self.daily_usage = 0

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        correlation = str(uuid.uuid4())
        if path.startswith("/__sandbox/"):
            response = await self._sandbox(request, path)
        else:
            parsed = _parse_path(path)
            kind = "other" if parsed is None else _classify(request.method, *parsed)
            self.stats.requests_total += 1
            self.stats.requests_by_kind[kind] += 1
            if self.config.latency_ms:
                await asyncio.sleep(self.config.latency_ms / 1000.0)
            try:
                response = await self._handle(request, parsed, kind, correlation)
            except HubSpotApiError as e:
                response = self._error(e, correlation)
            except Exception:  # a simulator bug or bad model data: answer like HubSpot does
                log.exception("simulator error on %s", path)
                response = self._error(
                    HubSpotApiError(500, "INTERNAL_ERROR", "internal error"), correlation
                )
            self.stats.responses_by_status[response.status_code] += 1
        response.headers["X-HubSpot-Correlation-Id"] = correlation
        return response

    def _error(self, err: HubSpotApiError, correlation: str) -> Response:
        return _json(err.body(correlation), err.status, dict(err.headers))

    async def _handle(
        self,
        request: Request,
        parsed: tuple[str, str, list[str]] | None,
        kind: str,
        correlation: str,
    ) -> Response:
        fault = self._take_fault(kind)
        if fault is not None:
            self.stats.faults_served += 1
            headers: dict[str, str] = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _fmt_seconds(fault.retry_after)
            if isinstance(fault.body, str):
                return Response(fault.body, fault.status, headers, media_type="text/html")
            if fault.body is not None:
                return _json(fault.body, fault.status, headers)
            err = fault.default_error()
            err.headers.update(headers)
            return self._error(err, correlation)
        if parsed is None:
            raise not_found("Not Found")
        token = _bearer(request)
        if token is None or token not in self.config.tokens:
            raise unauthenticated()
        now = self.config.clock()
        self._throttle(kind, now)
        api, version, parts = parsed
        response = await self._route(request, api, version, parts, kind)
        response.headers.update(self._rate_headers(kind, now))
        return response

    # ------------------------------------------------------------------ rate limits
    def _throttle(self, kind: str, now: float) -> None:
        cfg = self.config
        if self.daily_usage >= cfg.daily_limit:
            self.stats.throttled += 1
            raise rate_limited("DAILY", "publicapi:daily", self._rate_headers(kind, now))
        if kind == "search":
            # Search has its own per-portal secondly bucket and is exempt from the
            # ten-secondly one.
            window, limit = self._search_window, cfg.search_requests_per_second
            policy, group = "SECONDLY", "publicapi:crm-search"
        else:
            window, limit = self._general_window, cfg.ten_secondly_limit
            policy, group = "TEN_SECONDLY_ROLLING", f"publicapi:crm-{kind}"
        if limit is not None and window.used(now) >= limit:
            self.stats.throttled += 1
            headers = self._rate_headers(kind, now)
            if cfg.retry_after_header:
                headers["Retry-After"] = str(max(1, int(window.retry_after(now) + 0.999)))
            raise rate_limited(policy, group, headers)
        window.hits.append(now)
        self.daily_usage += 1

    def _rate_headers(self, kind: str, now: float) -> dict[str, str]:
        cfg = self.config
        headers = {
            "X-HubSpot-RateLimit-Daily": str(cfg.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, cfg.daily_limit - self.daily_usage)),
        }
        if cfg.ten_secondly_limit is not None:
            used = self._general_window.used(now)
            headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = "10000"
            headers["X-HubSpot-RateLimit-Max"] = str(cfg.ten_secondly_limit)
            headers["X-HubSpot-RateLimit-Remaining"] = str(max(0, cfg.ten_secondly_limit - used))
        if kind == "search" and cfg.search_requests_per_second is not None:
            per_second = cfg.search_requests_per_second
            used_s = self._search_window.used(now)
        elif cfg.ten_secondly_limit is not None:
            per_second = max(1, cfg.ten_secondly_limit // 10)
            used_s = sum(1 for t in self._general_window.hits if now - t < 1.0)
        else:
            return headers
        headers["X-HubSpot-RateLimit-Secondly"] = str(per_second)
        headers["X-HubSpot-RateLimit-Secondly-Remaining"] = str(max(0, per_second - used_s))
        return headers

    # ------------------------------------------------------------------ routing
    async def _route(
        self, request: Request, api: str, version: str, parts: list[str], kind: str
    ) -> Response:
        method = request.method
        get = method in ("GET", "HEAD")
        post = method == "POST"
        q = request.query_params
        if api == "objects" and parts:
            if len(parts) == 1 and get:
                return self._list(self._resolve(parts[0]), q)
            if len(parts) == 2 and parts[1] == "search" and post:
                return await self._search(request, self._resolve(parts[0]))
            if len(parts) == 3 and parts[1:] == ["batch", "read"] and post:
                return self._batch_read(self._resolve(parts[0]), await _body(request))
            if len(parts) == 2 and get:
                return self._read(self._resolve(parts[0]), parts[1], q)
            if len(parts) == 4 and parts[2] == "associations" and get and version != "v3":
                return self._object_associations(parts[0], parts[1], parts[3], q)
        elif api == "properties" and parts and get:
            return self._properties(parts, q)
        elif api == "schemas" and get:
            return self._schemas(parts, q)
        elif api == "owners" and get:
            return self._owners(parts, q)
        elif api == "pipelines" and parts and get:
            return self._pipelines(parts)
        elif (
            api == "associations"
            and version != "v3"
            and len(parts) == 4
            and parts[2:] == ["batch", "read"]
            and post
        ):
            return self._association_batch(parts[0], parts[1], await _body(request))
        if method not in ("GET", "HEAD", "POST"):
            raise HubSpotApiError(
                405, "METHOD_NOT_ALLOWED", f"HTTP method {method} is not supported (read-only)"
            )
        raise not_found("Not Found")

    # ------------------------------------------------------------------ objects
    def _requested(self, values: list[str]) -> list[str] | None:
        names = [n.strip() for v in values for n in v.split(",") if n.strip()]
        return names or None

    def _record_json(
        self, idx: _ObjectIndex, rec: HubSpotRecord, names: list[str] | None
    ) -> dict[str, Any]:
        # Unknown names are silently ignored, as documented.
        keys = set(idx.defaults) if names is None else {n for n in names if n in idx.props}
        keys.update(idx.always)
        values = rec.properties
        props = {k: values.get(k) for k in sorted(keys)}
        if props.get("hs_object_id") is None:
            props["hs_object_id"] = rec.id
        body: dict[str, Any] = {
            "id": rec.id,
            "properties": props,
            "createdAt": _iso(rec.created_at),
            "updatedAt": _iso(rec.updated_at),
            "archived": rec.archived,
        }
        if rec.archived:
            body["archivedAt"] = _iso(rec.archived_at or rec.updated_at)
        return body

    def _list(self, idx: _ObjectIndex, q: Any) -> Response:
        limit = _int_param(q.get("limit"), self.config.list_default_page, "limit")
        limit = max(1, min(limit, self.config.list_max_page))
        archived = _bool_param(q.get("archived"))
        records, positions = (
            (idx.archived, idx.archived_pos) if archived else (idx.active, idx.active_pos)
        )
        start = 0
        after = q.get("after")
        if after:
            rid = _decode_cursor(after)
            if rid is None or rid not in positions:
                raise validation_error(f"Invalid paging cursor after={after}", {"after": [after]})
            start = positions[rid]
        names = self._requested(q.getlist("properties"))
        page = records[start : start + limit]
        body: dict[str, Any] = {"results": [self._record_json(idx, r, names) for r in page]}
        end = start + len(page)
        if end < len(records):
            cursor = _encode_cursor(records[end].id)
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        self.stats.pages_served += 1
        self.stats.rows_returned += len(page)
        return _json(body)

    def _find(self, idx: _ObjectIndex, ident: str, id_property: str | None) -> HubSpotRecord | None:
        if not id_property or id_property == "hs_object_id":
            return idx.by_id.get(ident)
        if id_property not in idx.props:
            raise validation_error(
                f"Property {id_property} does not exist", {"idProperty": [id_property]}
            )
        for rec in idx.by_id.values():
            if rec.properties.get(id_property) == ident:
                return rec
        return None

    def _read(self, idx: _ObjectIndex, ident: str, q: Any) -> Response:
        rec = self._find(idx, ident, q.get("idProperty"))
        if rec is None or rec.archived != _bool_param(q.get("archived")):
            raise not_found("resource not found")
        names = self._requested(q.getlist("properties"))
        self.stats.rows_returned += 1
        return _json(self._record_json(idx, rec, names))

    def _batch_read(self, idx: _ObjectIndex, body: Any) -> Response:
        started = _iso(dt.datetime.now(dt.UTC))
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise validation_error("inputs is required")
        if len(inputs) > self.config.batch_read_max_inputs:
            raise validation_error(
                f"Batch input of {len(inputs)} exceeds the limit of "
                f"{self.config.batch_read_max_inputs} inputs"
            )
        names = body.get("properties") or None
        id_property = body.get("idProperty")
        results, missing = [], []
        for item in inputs:
            ident = str(item.get("id")) if isinstance(item, dict) else str(item)
            rec = self._find(idx, ident, id_property)
            if rec is None or rec.archived != bool(body.get("archived", False)):
                missing.append(ident)
            else:
                results.append(self._record_json(idx, rec, names))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        status = 200
        if missing:
            status = 207
            out["numErrors"] = 1
            out["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {idx.singular.upper()} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                    "errors": [],
                    "links": {},
                }
            ]
        out["startedAt"] = started
        out["completedAt"] = _iso(dt.datetime.now(dt.UTC))
        self.stats.rows_returned += len(results)
        return _json(out, status)

    async def _search(self, request: Request, idx: _ObjectIndex) -> Response:
        cfg = self.config
        raw = (await request.body()).decode("utf-8", "replace")
        if len(raw) > cfg.search_body_max_chars:
            raise validation_error(
                f"Search request body of {len(raw)} characters exceeds the maximum of "
                f"{cfg.search_body_max_chars} characters"
            )
        body = _parse_json(raw) if raw.strip() else {}
        self.stats.search_bodies.append(body)
        self.stats.search_objects.append(idx.obj.name)
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object")
        limit = _int_param(body.get("limit"), cfg.search_default_page, "limit")
        if limit < 0 or limit > cfg.search_max_page:
            raise validation_error(
                f"limit must be between 0 and {cfg.search_max_page}, got {limit}",
                {"limit": [str(limit)]},
            )
        after = _int_param(body.get("after"), 0, "after")
        if after < 0:
            raise validation_error(f"Invalid after: {after}", {"after": [str(after)]})
        if after >= cfg.search_result_cap:
            raise validation_error(
                f"Paging past {cfg.search_result_cap} results is not supported: "
                f"after={after}. Narrow the search with filters.",
                {"after": [str(after)]},
            )
        names = body.get("properties") or None
        if names is not None and not (
            isinstance(names, list) and all(isinstance(n, str) for n in names)
        ):
            raise validation_error("properties must be an array of strings")
        try:
            matched = idx.search.run(
                body.get("filterGroups"),
                body.get("sorts"),
                body.get("query"),
                cfg.search_limits,
                lambda target, to_id: self._associated_from(idx, target, to_id),
            )
        except SearchError as e:
            raise validation_error(e.message, e.context) from None
        total = len(matched)
        end = min(after + limit, cfg.search_result_cap, total)
        page = [idx.search.records[i] for i in matched[after:end]]
        out: dict[str, Any] = {
            "total": total,
            "results": [self._record_json(idx, r, names) for r in page],
        }
        # The next cursor may point at the cap itself; following it answers 400, which
        # is how HubSpot behaves for result sets larger than 10,000.
        if page and end < total:
            out["paging"] = {"next": {"after": str(end)}}
        self.stats.pages_served += 1
        self.stats.rows_returned += len(page)
        return _json(out)

    def _associated_from(self, idx: _ObjectIndex, target: str, to_id: str) -> set[str] | None:
        """Ids of ``idx`` records associated with ``target`` record ``to_id``."""
        name = self._aliases.get(target.lower())
        if name is None:
            return None
        reverse = self._assoc.get((name, idx.obj.name), {})
        return set(reverse.get(to_id, {}))

    # ------------------------------------------------------------------ properties
    def _property_json(self, prop: HubSpotProperty, order: int) -> dict[str, Any]:
        stamp = _iso(METADATA_EPOCH)
        body: dict[str, Any] = {
            "updatedAt": stamp,
            "createdAt": stamp,
            "name": prop.name,
            "label": prop.label,
            "type": prop.type,
            "fieldType": prop.field_type,
            "description": prop.description,
            "groupName": prop.group_name or "",
            "options": [
                {
                    "label": o.label,
                    "value": o.value,
                    "displayOrder": o.display_order,
                    "hidden": o.hidden,
                }
                for o in prop.options
            ],
            "displayOrder": -1 if prop.hubspot_defined else order,
            "calculated": prop.calculated,
            "externalOptions": False,
            "hasUniqueValue": prop.has_unique_value,
            "hidden": False,
            "hubspotDefined": prop.hubspot_defined,
            "modificationMetadata": {
                "archivable": not prop.hubspot_defined,
                "readOnlyDefinition": prop.hubspot_defined,
                "readOnlyValue": prop.calculated,
            },
            "formField": not prop.calculated,
            "dataSensitivity": "non_sensitive",
            "archived": False,
        }
        if prop.type == "number" and prop.name in ("amount", "price", "hs_forecast_amount"):
            body["showCurrencySymbol"] = True
        return body

    def _properties(self, parts: list[str], q: Any) -> Response:
        idx = self._resolve(parts[0])
        props = list(idx.props.values())
        if len(parts) == 1:
            if _bool_param(q.get("archived")):
                return _json({"results": []})
            return _json({"results": [self._property_json(p, i) for i, p in enumerate(props)]})
        if len(parts) == 2 and parts[1] == "groups":
            groups = dict.fromkeys(p.group_name for p in props if p.group_name)
            return _json(
                {
                    "results": [
                        {
                            "name": g,
                            "label": g.replace("_", " ").title(),
                            "displayOrder": i,
                            "archived": False,
                        }
                        for i, g in enumerate(groups)
                    ]
                }
            )
        if len(parts) == 2:
            for i, p in enumerate(props):
                if p.name == parts[1]:
                    return _json(self._property_json(p, i))
            raise not_found(f"Unable to find property {parts[1]} on object type {idx.obj.name}")
        raise not_found("Not Found")

    # ------------------------------------------------------------------ schemas
    def _schema_json(self, idx: _ObjectIndex) -> dict[str, Any]:
        obj = idx.obj
        records = idx.active + idx.archived
        created = min((r.created_at for r in records), default=METADATA_EPOCH)
        updated = max((r.updated_at for r in records), default=METADATA_EPOCH)
        fqn = obj.fully_qualified_name or f"p{self.portal.portal_id}_{obj.name}"
        associations = []
        seen: set[tuple[str, str, int]] = set()
        for (frm, to), by_from in self._assoc.items():
            if obj.name not in (frm, to) or frm not in self._objects or to not in self._objects:
                continue
            for targets in by_from.values():
                for types in targets.values():
                    for a in types:
                        key = (frm, to, a.type_id)
                        if key in seen:
                            continue
                        seen.add(key)
                        associations.append(
                            {
                                "id": str(a.type_id),
                                "fromObjectTypeId": self._objects[frm].obj.object_type_id,
                                "toObjectTypeId": self._objects[to].obj.object_type_id,
                                "name": f"{self._objects[frm].singular}_to_"
                                f"{self._objects[to].singular}".upper(),
                                "createdAt": _iso(created),
                                "updatedAt": _iso(created),
                            }
                        )
        primary = obj.primary_display_property or next(iter(idx.defaults), "hs_object_id")
        return {
            "id": obj.object_type_id.split("-", 1)[-1],
            "name": obj.name,
            "labels": {"singular": obj.singular, "plural": obj.plural},
            "objectTypeId": obj.object_type_id,
            "fullyQualifiedName": fqn,
            "primaryDisplayProperty": primary,
            "requiredProperties": [primary],
            "searchableProperties": [primary],
            "secondaryDisplayProperties": [],
            "properties": [self._property_json(p, i) for i, p in enumerate(idx.props.values())],
            "associations": associations,
            "metaType": "PORTAL_SPECIFIC",
            "portalId": self.portal.portal_id,
            "createdAt": _iso(created),
            "updatedAt": _iso(updated),
            "archived": False,
        }

    def _schemas(self, parts: list[str], q: Any) -> Response:
        if not parts:
            if _bool_param(q.get("archived")):
                return _json({"results": []})
            customs = [i for i in self._objects.values() if i.obj.custom]
            return _json({"results": [self._schema_json(i) for i in customs]})
        if len(parts) == 1:
            name = self._aliases.get(parts[0].lower())
            if name is None or not self._objects[name].obj.custom:
                raise not_found(f"Unable to find object schema for {parts[0]}")
            return _json(self._schema_json(self._objects[name]))
        raise not_found("Not Found")

    # ------------------------------------------------------------------ owners
    def _owner_json(self, o: HubSpotOwner) -> dict[str, Any]:
        return {
            "id": o.id,
            "email": o.email,
            "type": "PERSON",
            "firstName": o.first_name,
            "lastName": o.last_name,
            "userId": o.user_id,
            "userIdIncludingInactive": o.user_id,
            "createdAt": _iso(o.created_at),
            "updatedAt": _iso(o.updated_at),
            "archived": o.archived,
            "teams": [],
        }

    def _owners(self, parts: list[str], q: Any) -> Response:
        archived = _bool_param(q.get("archived"))
        owners = [o for o in self.portal.owners if o.archived == archived]
        if len(parts) == 1:
            id_property = q.get("idProperty") or "id"
            for o in owners:
                key = str(o.user_id) if id_property == "userId" else o.id
                if key == parts[0]:
                    return _json(self._owner_json(o))
            raise not_found(f"Owner {parts[0]} not found")
        if parts:
            raise not_found("Not Found")
        email = q.get("email")
        if email:
            owners = [o for o in owners if o.email.lower() == email.lower()]
        limit = _int_param(q.get("limit"), 100, "limit")
        limit = max(1, min(limit, self.config.owners_max_page))
        start = 0
        if q.get("after"):
            decoded = _decode_cursor(q["after"])
            if decoded is None or not decoded.isdigit():
                raise validation_error(f"Invalid paging cursor after={q['after']}")
            start = int(decoded)
        page = owners[start : start + limit]
        body: dict[str, Any] = {"results": [self._owner_json(o) for o in page]}
        if start + len(page) < len(owners):
            cursor = _encode_cursor(str(start + len(page)))
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return _json(body)

    # ------------------------------------------------------------------ pipelines
    def _pipeline_json(self, p: HubSpotPipeline) -> dict[str, Any]:
        return {
            "id": p.id,
            "label": p.label,
            "displayOrder": p.display_order,
            "stages": [
                {
                    "id": s.id,
                    "label": s.label,
                    "displayOrder": s.display_order,
                    "metadata": dict(s.metadata),
                    "createdAt": _iso(p.created_at),
                    "updatedAt": _iso(p.updated_at),
                    "archived": s.archived,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for s in sorted(p.stages, key=lambda s: s.display_order)
            ],
            "createdAt": _iso(p.created_at),
            "updatedAt": _iso(p.updated_at),
            "archived": p.archived,
        }

    def _pipelines(self, parts: list[str]) -> Response:
        name = self._aliases.get(parts[0].lower())
        if name is None:
            raise validation_error(f"Unable to infer object type from: {parts[0]}")
        pipelines = sorted(
            (p for p in self.portal.pipelines if p.object_type == name),
            key=lambda p: p.display_order,
        )
        if len(parts) == 1:
            return _json({"results": [self._pipeline_json(p) for p in pipelines]})
        found = next((p for p in pipelines if p.id == parts[1]), None)
        if found is None:
            raise not_found(f"Unable to find pipeline {parts[1]} for object type {name}")
        body = self._pipeline_json(found)
        if len(parts) == 2:
            return _json(body)
        if len(parts) == 3 and parts[2] == "stages":
            return _json({"results": body["stages"]})
        if len(parts) == 4 and parts[2] == "stages":
            stage = next((s for s in body["stages"] if s["id"] == parts[3]), None)
            if stage is not None:
                return _json(stage)
            raise not_found(f"Unable to find stage {parts[3]} in pipeline {parts[1]}")
        raise not_found("Not Found")

    # ------------------------------------------------------------------ associations v4
    def _to_entries(self, targets: dict[str, list[HubSpotAssociation]]) -> list[dict[str, Any]]:
        as_number = self.config.association_ids_as_numbers
        out = []
        for to_id, types in targets.items():
            out.append(
                {
                    "toObjectId": int(to_id) if as_number and to_id.isdigit() else to_id,
                    "associationTypes": [
                        {"category": a.category, "typeId": a.type_id, "label": a.label}
                        for a in types
                    ],
                }
            )
        return out

    def _page_entries(
        self, entries: list[dict[str, Any]], after: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        start = 0
        if after:
            decoded = _decode_cursor(after)
            if decoded is None or not decoded.isdigit():
                raise validation_error(f"Invalid paging cursor after={after}")
            start = int(decoded)
        page = entries[start : start + limit]
        if start + len(page) < len(entries):
            cursor = _encode_cursor(str(start + len(page)))
            return page, {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return page, None

    def _association_batch(self, from_type: str, to_type: str, body: Any) -> Response:
        started = _iso(dt.datetime.now(dt.UTC))
        src, dst = self._resolve(from_type), self._resolve(to_type)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            raise validation_error("inputs is required", {"inputs": []})
        if len(inputs) > self.config.association_batch_max_inputs:
            raise validation_error(
                f"Batch input of {len(inputs)} exceeds the limit of "
                f"{self.config.association_batch_max_inputs} inputs",
                {"inputs": [str(len(inputs))]},
            )
        index = self._assoc.get((src.obj.name, dst.obj.name), {})
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            if not isinstance(item, dict) or item.get("id") is None:
                raise validation_error("each input needs an id")
            from_id = str(item["id"])
            targets = index.get(from_id)
            if not targets:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No {dst.singular} is associated with {src.singular} "
                        f"{from_id}.",
                        "context": {
                            "fromObjectId": [from_id],
                            "fromObjectType": [src.singular],
                            "toObjectType": [dst.singular],
                        },
                    }
                )
                continue
            page, paging = self._page_entries(
                self._to_entries(targets), item.get("after"), self.config.association_page_size
            )
            entry: dict[str, Any] = {"from": {"id": from_id}, "to": page}
            if paging is not None:
                entry["paging"] = paging
            results.append(entry)
            self.stats.association_rows += len(page)
        out: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
        out["startedAt"] = started
        out["completedAt"] = _iso(dt.datetime.now(dt.UTC))
        return _json(out, 207 if errors else 200)

    def _object_associations(self, from_type: str, obj_id: str, to_type: str, q: Any) -> Response:
        src, dst = self._resolve(from_type), self._resolve(to_type)
        limit = _int_param(q.get("limit"), self.config.association_page_size, "limit")
        limit = max(1, min(limit, self.config.association_page_size))
        targets = self._assoc.get((src.obj.name, dst.obj.name), {}).get(obj_id, {})
        page, paging = self._page_entries(self._to_entries(targets), q.get("after"), limit)
        body: dict[str, Any] = {"results": page}
        if paging is not None:
            body["paging"] = paging
        self.stats.association_rows += len(page)
        return _json(body)

    # ------------------------------------------------------------------ sandbox hooks
    def _stats_body(self) -> dict[str, Any]:
        return {**self.stats.to_dict(), "daily_usage": self.daily_usage}


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def _body(request: Request) -> Any:
    raw = (await request.body()).decode("utf-8", "replace")
    return _parse_json(raw) if raw.strip() else {}


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as e:
        raise validation_error(
            f"Invalid input JSON on line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None


def _int_param(value: Any, default: int, name: str) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise validation_error(f"Invalid {name}: {value}", {name: [str(value)]})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise validation_error(f"Invalid {name}: {value}", {name: [str(value)]}) from None


def _bool_param(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def create_app(portal: HubSpotPortal, config: HubSpotSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``HubSpotSimulator`` is at ``app.state.simulator``."""
    return HubSpotSimulator(portal, config).app
