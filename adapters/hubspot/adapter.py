"""HubSpot CRM adapter: properties API for discovery, list and search for scans.

Unfiltered scans page the list endpoint; filtered scans use search. Search stops at
10,000 results, so a larger scan is split: results are sorted by ``hs_object_id`` and,
when the cap nears, the search restarts after the last id seen. Filters beyond
HubSpot's group/filter limits or its 3,000-character body limit are left to DuckDB
(which re-applies every filter anyway); a pushed LIMIT is then not honoured, since the
source no longer decides alone which rows qualify.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from adapters.contract import (
    Adapter,
    Column,
    Credentials,
    Pushdown,
    ScanContext,
    ScanRequest,
    TableInfo,
    drift_error,
)
from adapters.http import SourceHTTP
from adapters.hubspot import search
from adapters.hubspot.types import arrow_type, convert
from adapters.predicates import Compare, InList, lower
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)

log = logging.getLogger(__name__)


class MissingScopeError(AuthenticationError):
    """The token is valid but lacks a scope the call needs (HubSpot's 403 MISSING_SCOPES)."""


STANDARD_OBJECTS = ("companies", "contacts", "deals", "line_items", "products", "tickets")
SINGULAR = {"companies": "company", "contacts": "contact", "deals": "deal",
            "line_items": "line_item", "products": "product", "tickets": "ticket"}
LINKS = {  # table → (from object, to object)
    "deal_companies": ("deals", "companies"),
    "deal_contacts": ("deals", "contacts"),
    "contact_companies": ("contacts", "companies"),
    "line_item_deals": ("line_items", "deals"),
    "ticket_contacts": ("tickets", "contacts"),
    "ticket_companies": ("tickets", "companies"),
}
_S, _I, _B, _F = pa.string(), pa.int64(), pa.bool_(), pa.float64()
_TS = pa.timestamp("ms", tz="UTC")
FIXED_TABLES = {
    "owners": [("id", _S), ("email", _S), ("first_name", _S), ("last_name", _S),
               ("user_id", _I), ("created_at", _TS), ("updated_at", _TS), ("archived", _B)],
    "deal_pipelines": [("id", _S), ("label", _S), ("display_order", _I), ("archived", _B)],
    "deal_stages": [("pipeline_id", _S), ("id", _S), ("label", _S), ("display_order", _I),
                    ("probability", _F), ("is_closed", _B), ("is_won", _B), ("archived", _B)],
}


class HubSpotOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_version: str = Field("v3", pattern=r"^(v3|\d{4}-\d{2})$")
    objects: list[str] | None = None  # standard/custom objects to expose (None: all)
    list_page_size: int = Field(100, ge=1, le=100)
    search_page_size: int = Field(200, ge=1, le=200)
    search_result_cap: int = Field(10000, ge=200)
    search_requests_per_second: int = Field(4, ge=1, le=100)
    max_filter_groups: int = Field(5, ge=1)
    max_filters_per_group: int = Field(6, ge=2)
    max_filters_total: int = Field(18, ge=2)
    max_search_body_chars: int = Field(3000, ge=500)
    association_batch_size: int = Field(1000, ge=1, le=1000)


@dataclass(frozen=True)
class _ObjectInfo:
    api_name: str  # what goes in the URL: name or objectTypeId


class HubSpotAdapter(Adapter):
    """Reads one HubSpot account with a private-app ``access_token``."""

    type_name = "hubspot"
    rate_limit_headers = ("X-HubSpot-RateLimit-Remaining",)
    Options = HubSpotOptions

    def __init__(self, name: str, http: SourceHTTP, options: HubSpotOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        if credentials.get("access_token") is None:
            raise CatalogError("needs an access_token (a private app token)", source=name,
                               object="auth",
                               hint="set sources.<name>.auth.access_token to an env: or file: "
                                    "reference")
        http.limit("search", options.search_requests_per_second)
        self._objects: dict[str, _ObjectInfo] = {}

    # -- HTTP ---------------------------------------------------------------------------

    def _objects_path(self, api_name: str) -> str:
        if self.options.api_version == "v3":
            return f"/crm/v3/objects/{api_name}"
        return f"/crm/objects/{self.options.api_version}/{api_name}"

    def _call(self, method: str, path: str, ctx: ScanContext | None, *, object: str | None = None,
              bucket: str | None = None, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.credentials.get('access_token')}"}
        response = self.http.send(method, path, ctx, headers=headers, bucket=bucket,
                                  classify=lambda r: self._classify(r, object), **kwargs)
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError(f"answered {path} with something that is not JSON",
                              source=self.name, object=object,
                              hint="check the source URL in the catalog") from exc
        if not isinstance(body, dict):
            raise self._malformed(path, object, "a JSON object")
        return body

    def _malformed(self, path: str, object: str | None, what: str) -> SourceError:
        """A JSON answer without HubSpot's documented shape: never read as zero rows."""
        return SourceError(f"answered {path} without {what}", source=self.name, object=object,
                           hint="HubSpot (or a proxy in front of it) sent an unexpected body; "
                                "retry, and check the source URL in the catalog")

    def _results(self, body: dict[str, Any], path: str,
                 object: str | None) -> list[dict[str, Any]]:
        """``results``, which every list/search/batch answer carries, as a list of objects."""
        results = body.get("results")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise self._malformed(path, object, "a results array")
        return results

    def _records(self, body: dict[str, Any], path: str,
                 object: str | None) -> list[dict[str, Any]]:
        """CRM records: each with an ``id`` and a ``properties`` object."""
        records = self._results(body, path, object)
        for r in records:
            if r.get("id") is None or not isinstance(r.get("properties"), dict):
                raise self._malformed(path, object, "an id and properties on every record")
        return records

    def _after(self, body: dict[str, Any], path: str, object: str | None) -> str | None:
        """The ``paging.next.after`` cursor, None on the last page."""
        paging = body.get("paging")
        nxt = paging.get("next") if isinstance(paging, dict) else paging
        after = nxt.get("after") if isinstance(nxt, dict) else nxt
        if after is None or after == "":
            return None
        if isinstance(after, bool) or not isinstance(after, (str, int)) \
                or not isinstance(paging, dict) or not isinstance(nxt, dict):
            raise self._malformed(path, object, "a valid paging.next.after")
        return str(after)

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = str(body.get("message", response.text[:300])) if isinstance(body, dict) \
            else response.text[:300]
        category = body.get("category", "") if isinstance(body, dict) else ""
        common = {"source": self.name, "object": object}
        if status == 401 or category == "INVALID_AUTHENTICATION":
            return AuthenticationError(f"token refused ({message})", **common,
                                       hint=f"check access_token "
                                            f"({self.credentials.describe('access_token')})")
        if status == 429 or status >= 500:
            return None  # transient: retried
        if status == 403 or category == "MISSING_SCOPES":
            return MissingScopeError(f"permission denied ({category or status}: {message})",
                                     **common,
                                     hint="give the private app the read scope for this "
                                          "object (crm.objects.*.read, "
                                          "crm.schemas.custom.read for custom objects)")
        if status == 404 or category == "OBJECT_NOT_FOUND":
            return SchemaMismatchError(f"not found ({message})", **common,
                                       hint="the object changed since discovery")
        return SourceQueryError(f"{category or status}: {message}", **common,
                                hint="HubSpot refused the request Concord sent; rerun with "
                                     "--no-pushdown and report it")

    # -- discovery ----------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        wanted = set(self.options.objects) if self.options.objects else None
        tables: dict[str, TableInfo] = {}
        for name in STANDARD_OBJECTS:
            if wanted is None or name in wanted:
                tables[name] = self._object_table(name, name, custom=False)
                self._objects[name] = _ObjectInfo(name)
        for schema in self._custom_schemas(wanted):
            name = schema.get("name")
            if not isinstance(name, str) or not name or (wanted is not None
                                                         and name not in wanted):
                continue
            api_name = schema.get("objectTypeId") or name
            labels = schema.get("labels")
            label = labels.get("plural", "") if isinstance(labels, dict) else ""
            tables[name] = self._object_table(name, api_name, custom=True, label=label)
            self._objects[name] = _ObjectInfo(api_name)
        for name, columns in FIXED_TABLES.items():
            tables[name] = TableInfo(name, tuple(Column(c, t, native_type="fixed",
                                                        filterable=False) for c, t in columns))
        for name, (source, target) in LINKS.items():
            if source in tables and target in tables:
                tables[name] = _link_table(name, source, target)
        return tables

    def _custom_schemas(self, wanted: set[str] | None) -> list[dict[str, Any]]:
        """Custom object schemas, asked for only when a custom object could be wanted.

        Reading schemas needs its own scope (crm.schemas.custom.read); a token without it
        still reads every standard object when the catalog did not name a custom one.
        """
        if wanted is not None and wanted <= set(STANDARD_OBJECTS):
            return []
        path = "/crm/v3/schemas"
        try:
            body = self._call("GET", path, None, object="schemas")
        except MissingScopeError as exc:
            if wanted is None:
                log.warning("%s: cannot list custom objects (%s); exposing standard objects "
                            "only", self.name, exc.message)
                return []
            raise MissingScopeError(
                exc.message, source=self.name, object="schemas",
                hint="options.objects names a custom object, which needs the "
                     "crm.schemas.custom.read scope; grant it or list only standard "
                     "objects") from exc
        return self._results(body, path, "schemas")

    def _properties(self, api_name: str, object: str) -> list[dict[str, Any]]:
        path = f"/crm/v3/properties/{api_name}"
        body = self._call("GET", path, None, object=object)
        props = self._results(body, path, object)
        if not all(isinstance(p.get("name"), str) for p in props):
            raise self._malformed(path, object, "a name on every property")
        return [p for p in props if not p.get("archived")]

    def _object_table(self, name: str, api_name: str, *, custom: bool,
                      label: str = "") -> TableInfo:
        columns = [Column("id", pa.string(), native_type="id", nullable=False,
                          description="record id (hs_object_id)")]
        for prop in self._properties(api_name, name):
            if prop["name"] == "id":
                continue
            columns.append(Column(prop["name"], arrow_type(prop.get("type", "string")),
                                  native_type=_native_type(prop),
                                  description=prop.get("label", "")))
        return TableInfo(name, tuple(columns), description=label or name, custom=custom)

    # -- pushdown -----------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        if table.name in FIXED_TABLES:
            return Pushdown.UNSUPPORTED
        if table.name in LINKS:
            return Pushdown.EXACT if _link_ids(table, predicate) is not None else \
                Pushdown.UNSUPPORTED
        compiled = search.compile_groups(table, predicate)
        if compiled is None or not self._sendable(compiled.text, [search.ID_PROPERTY]):
            return Pushdown.UNSUPPORTED  # too big for one search request: DuckDB filters
        return compiled.pushdown

    def _sendable(self, groups: search.Groups, properties: list[str]) -> bool:
        """Whether ``groups`` fit HubSpot's search limits, even with the restart filter.

        One slot per group is kept for the ``hs_object_id`` split past the 10,000 cap, and
        the body is measured as it would be sent then (largest id and offset).
        """
        o = self.options
        if not search.fits(groups, max_groups=o.max_filter_groups,
                           max_per_group=o.max_filters_per_group - 1,
                           max_total=o.max_filters_total - len(groups)):
            return False
        plan = _SearchPlan(groups=groups, properties=properties, page_size=o.search_page_size,
                           cap=o.search_result_cap, complete=False)
        worst = plan.body("9" * 20, o.search_result_cap)
        return search.body_chars(worst) <= o.max_search_body_chars

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        if table.name in FIXED_TABLES:
            return f"GET {_fixed_path(table.name)}"
        if table.name in LINKS:
            source, target = LINKS[table.name]
            return f"POST /crm/v4/associations/{source}/{target}/batch/read"
        plan = self._search_plan(table, request)
        api = self._objects.get(table.name, _ObjectInfo(table.name)).api_name
        if plan is None:
            return f"GET {self._objects_path(api)}?properties={','.join(_props(request))}"
        return f"POST {self._objects_path(api)}/search {json.dumps(plan.body(None))}"

    # -- scanning -----------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        ctx.metrics.native_requests.append(self.native_request(table, request))
        schema = table.arrow_schema(request.columns)
        if table.name in FIXED_TABLES:
            rows = self._fixed_rows(table.name, ctx)
            ctx.metrics.rows += len(rows)
            yield _rows_batch(rows, schema)
            return
        if table.name in LINKS:
            yield from self._scan_links(table, request, schema, ctx)
            return
        api = self._objects[table.name].api_name
        plan = self._search_plan(table, request)
        pages = self._list_pages(api, request, ctx) if plan is None else \
            self._search_pages(api, table.name, plan, ctx)
        # the LIMIT counts rows that match; only a search carrying every filter says so
        sent_all = plan.complete if plan is not None else not request.filters
        limit = request.limit if sent_all else None
        returned = 0
        for records in pages:
            ctx.metrics.pages += 1
            ctx.metrics.rows += len(records)
            yield self._records_batch(table, schema, records)
            returned += len(records)
            if limit is not None and returned >= limit:
                return

    def _list_pages(self, api: str, request: ScanRequest,
                    ctx: ScanContext) -> Iterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {"limit": self.options.list_page_size,
                                  "properties": ",".join(_props(request)), "archived": "false"}
        path, object = self._objects_path(api), request.table
        while True:
            body = self._call("GET", path, ctx, object=object, params=params)
            yield self._records(body, path, object)
            after = self._after(body, path, object)
            if not after:
                return
            params = {**params, "after": after}

    def _search_plan(self, table: TableInfo, request: ScanRequest) -> _SearchPlan | None:
        if not request.filters:
            return None
        o = self.options
        properties = _props(request)
        groups: search.Groups = [[]]
        sent = 0
        for predicate in request.filters:
            compiled = search.compile_groups(table, predicate)
            if compiled is None:
                continue
            merged = [a + b for a in groups for b in compiled.text]
            if self._sendable(merged, properties):
                groups = merged
                sent += 1
        if sent == 0:
            return None
        return _SearchPlan(groups=groups, properties=properties,
                           page_size=o.search_page_size, cap=o.search_result_cap,
                           complete=sent == len(request.filters))

    def _search_pages(self, api: str, object: str, plan: _SearchPlan,
                      ctx: ScanContext) -> Iterator[list[dict[str, Any]]]:
        path = f"{self._objects_path(api)}/search"
        after_id: str | None = None
        while True:
            offset = 0
            while True:
                body = self._call("POST", path, ctx, object=object, bucket="search",
                                  json=plan.body(after_id, offset))
                results = self._records(body, path, object)
                yield results
                nxt = self._after(body, path, object)
                if not nxt or not results:
                    return
                if not nxt.isdigit():
                    raise self._malformed(path, object, "a numeric paging.next.after")
                offset = int(nxt)
                if offset + plan.page_size > plan.cap:
                    after_id = str(results[-1]["id"])  # restart past the cap
                    break

    def _records_batch(self, table: TableInfo, schema: pa.Schema,
                       records: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays = []
        for field in schema:
            if field.name == "id":
                values = [r.get("id") for r in records]
            else:
                if records and all(field.name not in r.get("properties", {}) for r in records):
                    raise self._drift(table, field.name, None, "is no longer returned")
                values = [r.get("properties", {}).get(field.name) for r in records]
            try:
                arrays.append(convert(values, field.type))
            except ValueError as exc:
                raise self._drift(table, field.name, str(exc), "sent a value that does not "
                                  "fit") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _drift(self, table: TableInfo, field: str, value: str | None,
               what: str) -> SchemaMismatchError:
        """Name the discovered type and the type the source reports now."""
        api = self._objects.get(table.name, _ObjectInfo(table.name)).api_name
        try:
            now = {p["name"]: _native_type(p) for p in self._properties(api, table.name)}
        except SourceError:
            now = {}
        sample = f" ({value})" if value else ""
        return drift_error(self.name, table, field, f"{what}{sample}", now.get(field))

    def _fixed_rows(self, name: str, ctx: ScanContext) -> list[dict[str, Any]]:
        path = _fixed_path(name)
        try:
            return self._fixed_rows_from(name, path, ctx)
        except (AttributeError, KeyError, TypeError):
            raise self._malformed(path, name, "the documented fields") from None

    def _fixed_rows_from(self, name: str, path: str,
                         ctx: ScanContext) -> list[dict[str, Any]]:
        if name == "owners":
            rows = []
            params: dict[str, Any] = {"limit": 100}
            while True:
                body = self._call("GET", path, ctx, object=name, params=params)
                ctx.metrics.pages += 1
                for o in self._results(body, path, name):
                    rows.append({"id": o.get("id"), "email": o.get("email"),
                                 "first_name": o.get("firstName"),
                                 "last_name": o.get("lastName"), "user_id": o.get("userId"),
                                 "created_at": o.get("createdAt"),
                                 "updated_at": o.get("updatedAt"),
                                 "archived": bool(o.get("archived"))})
                after = self._after(body, path, name)
                if not after:
                    return rows
                params["after"] = after
        body = self._call("GET", path, ctx, object=name)
        ctx.metrics.pages += 1
        pipelines = self._results(body, path, name)
        if name == "deal_pipelines":
            return [{"id": p["id"], "label": p.get("label"),
                     "display_order": p.get("displayOrder"), "archived": bool(p.get("archived"))}
                    for p in pipelines]
        rows = []
        for p in pipelines:
            for s in p.get("stages", []):
                meta = s.get("metadata", {})
                probability = _float(meta.get("probability"))
                closed = str(meta.get("isClosed", "false")).lower() == "true"
                rows.append({"pipeline_id": p["id"], "id": s["id"], "label": s.get("label"),
                             "display_order": s.get("displayOrder"),
                             "probability": probability, "is_closed": closed,
                             "is_won": closed and probability == 1.0,
                             "archived": bool(s.get("archived"))})
        return rows

    def _scan_links(self, table: TableInfo, request: ScanRequest, schema: pa.Schema,
                    ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        source, target = LINKS[table.name]
        ids: list[str] | None = None
        for predicate in request.filters:
            found = _link_ids(table, predicate)
            if found is not None:
                ids = found if ids is None else [i for i in ids if i in set(found)]
        if ids is None:  # every record of the source object
            ids = []
            listing = ScanRequest(table=source, columns=("id",))
            for records in self._list_pages(self._objects[source].api_name, listing, ctx):
                ctx.metrics.pages += 1
                ids.extend(str(r["id"]) for r in records)
        from_col, to_col = table.columns[0].name, table.columns[1].name
        size = self.options.association_batch_size
        path = f"/crm/v4/associations/{source}/{target}/batch/read"
        for start in range(0, len(ids), size):
            chunk = ids[start:start + size]
            body = self._call("POST", path, ctx, object=table.name,
                              json={"inputs": [{"id": i} for i in chunk]})
            ctx.metrics.pages += 1
            rows = []
            for result in self._results(body, path, table.name):
                try:
                    rows.extend(self._link_rows(table, result, path, ctx, from_col, to_col))
                except (AttributeError, KeyError, TypeError):
                    raise self._malformed(path, table.name, "the documented fields") from None
            ctx.metrics.rows += len(rows)
            yield _rows_batch(rows, schema)

    def _link_rows(self, table: TableInfo, result: dict[str, Any], batch_path: str,
                   ctx: ScanContext, from_col: str, to_col: str) -> list[dict[str, Any]]:
        """One batch-read result's rows, following its own association pages."""
        source, target = LINKS[table.name]
        from_id = str(result["from"]["id"])
        targets = list(result.get("to") or [])
        after = self._after(result, batch_path, table.name)
        while after:  # more than one page of associations for this record
            path = f"/crm/v4/objects/{source}/{from_id}/associations/{target}"
            more = self._call("GET", path, ctx, object=table.name,
                              params={"after": after, "limit": 500})
            targets.extend(self._results(more, path, table.name))
            after = self._after(more, path, table.name)
        rows = []
        for to in targets:
            for kind in to.get("associationTypes") or []:
                rows.append({from_col: from_id, to_col: str(to["toObjectId"]),
                             "type_id": kind.get("typeId"), "category": kind.get("category"),
                             "label": kind.get("label")})
        return rows



@dataclass(frozen=True)
class _SearchPlan:
    groups: search.Groups
    properties: list[str]
    page_size: int
    cap: int
    complete: bool  # every requested filter was sent

    def body(self, after_id: str | None, offset: int = 0) -> dict[str, Any]:
        groups = self.groups
        if after_id is not None:
            split = {"propertyName": search.ID_PROPERTY, "operator": "GT", "value": after_id}
            groups = [g + [split] for g in groups]
        body: dict[str, Any] = {
            "filterGroups": [{"filters": g} for g in groups],
            "sorts": [{"propertyName": search.ID_PROPERTY, "direction": "ASCENDING"}],
            "properties": self.properties,
            "limit": self.page_size,
        }
        if offset:
            body["after"] = str(offset)
        return body


def _native_type(prop: dict[str, Any]) -> str:
    """HubSpot's type, marking multiple-checkbox enumerations (they hold ``a;b``)."""
    kind = str(prop.get("type") or "string")
    if kind == "enumeration" and prop.get("fieldType") == "checkbox":
        return search.MULTI
    return kind


def _props(request: ScanRequest) -> list[str]:
    props = [c for c in request.columns if c != "id"]
    return props or [search.ID_PROPERTY]


def _fixed_path(name: str) -> str:
    return "/crm/v3/owners" if name == "owners" else "/crm/v3/pipelines/deals"


def _link_table(name: str, source: str, target: str) -> TableInfo:
    from_col, to_col = f"{SINGULAR[source]}_id", f"{SINGULAR[target]}_id"
    return TableInfo(name, (
        Column(from_col, pa.string(), native_type="id", nullable=False),
        Column(to_col, pa.string(), native_type="fixed", nullable=False, filterable=False),
        Column("type_id", pa.int64(), native_type="fixed", filterable=False),
        Column("category", pa.string(), native_type="fixed", filterable=False),
        Column("label", pa.string(), native_type="fixed", filterable=False),
    ), description=f"{source} → {target} associations (v4)")


def _link_ids(table: TableInfo, node: exp.Expression) -> list[str] | None:
    """Ids of the source object named by ``from_id = 'x'`` or ``from_id IN (...)``."""
    predicate = lower(table, node)
    if isinstance(predicate, Compare) and predicate.op == "=" and isinstance(predicate.value,
                                                                            str):
        return [predicate.value]
    if isinstance(predicate, InList) and all(isinstance(v, str) for v in predicate.values):
        return list(predicate.values)
    return None


def _rows_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for field in schema:
        values = [r.get(field.name) for r in rows]
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values, type=pa.string()).cast(field.type))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
