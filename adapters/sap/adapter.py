"""SAP S/4HANA Cloud adapter: OData v2 services (``$metadata`` discovery, JSON scans).

Tables are entity sets (``A_SalesOrder``), from the services listed in
``options.entity_sets``; columns are the entity type's properties in document order.
Navigation properties are not columns: each entity set is its own scan and DuckDB joins
them, as for every other source.

Scans send ``$format=json`` (SAP answers Atom XML otherwise), ``$select`` and ``$filter``,
plus ``$orderby``/``$top`` for a top-N, and follow ``d.__next`` verbatim: SAP Gateway pages
on the server (``$skiptoken``) and the next link is the only cursor it promises to honour.
A ``__next`` on another origin (scheme, host, port) than the source's url is refused, not
followed: the request would carry the Basic or Bearer credentials there (pyodata refuses too).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from adapters.contract import (
    Adapter,
    Credentials,
    Pushdown,
    ScanContext,
    ScanRequest,
    SortKey,
    TableInfo,
    drift_error,
)
from adapters.http import TRANSIENT_STATUS, SourceHTTP
from adapters.sap import filter as sap_filter
from adapters.sap.metadata import EntitySet, parse_metadata
from adapters.sap.values import to_array
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)

DEFAULT_ENTITY_SETS = {
    "API_BUSINESS_PARTNER": ["A_BusinessPartner", "A_Customer"],
    "API_SALES_ORDER_SRV": ["A_SalesOrder", "A_SalesOrderItem"],
    "API_BILLING_DOCUMENT_SRV": ["A_BillingDocument", "A_BillingDocumentItem"],
}
# characters left readable in the query string; everything else is percent-encoded (a '+'
# in a literal must not turn into a space, so spaces are sent as %20)
_SAFE = "$,'()*:/"


class SapOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_sets: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_ENTITY_SETS.items()})
    service_root: str = Field("/sap/opu/odata/sap", pattern=r"^/")
    # when set, rows are requested in $top/$skip chunks of this size (for services that do
    # not page on the server); otherwise SAP's server-driven paging is followed
    page_size: int | None = Field(None, ge=1, le=100_000)


class SapAdapter(Adapter):
    """Reads one S/4HANA Cloud tenant. Auth: ``user`` + ``password`` (Basic) or ``access_token``."""

    type_name = "sap"
    Options = SapOptions

    def __init__(self, name: str, http: SourceHTTP, options: SapOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        self._bearer = credentials.get("access_token") is not None
        if not self._bearer and (credentials.get("user") is None
                                 or credentials.get("password") is None):
            raise CatalogError(
                "needs user and password (Basic) or access_token", source=name, object="auth",
                hint="set them under sources.<name>.auth (secrets as env: or file: references)")
        self._services: dict[str, str] = {}  # table (entity set) → service
        self._sets: dict[str, EntitySet] = {}
        self._lock = threading.Lock()

    # -- HTTP ---------------------------------------------------------------------------

    def _auth_header(self) -> dict[str, str]:
        if self._bearer:
            return {"Authorization": f"Bearer {self.credentials.get('access_token')}"}
        pair = f"{self.credentials.get('user')}:{self.credentials.get('password')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    def _send(self, url: str, ctx: ScanContext | None, *, object: str | None,
              accept: str = "application/json") -> httpx.Response:
        return self.http.send("GET", url, ctx, headers={**self._auth_header(), "Accept": accept},
                              classify=lambda r: self._classify(r, object))

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        status = response.status_code
        common: dict[str, Any] = {"source": self.name, "object": object}
        if status == 401:  # the ICF logon page (HTML): never echo it, nor the secret
            if self._bearer:
                hint = f"check access_token ({self.credentials.describe('access_token')})"
            else:
                hint = (f"check user ({self.credentials.describe('user')}) and password "
                        f"({self.credentials.describe('password')}) of the communication user")
            return AuthenticationError("logon failed (HTTP 401)", **common, hint=hint)
        if status in TRANSIENT_STATUS:
            return None  # throttled by API management, or Gateway briefly down: retried
        code, message = _sap_error(response)
        text = f"{code}: {message}" if code else message
        if status == 403:
            return AuthenticationError(
                f"not authorized ({text})", **common,
                hint="the communication arrangement must include this service")
        if status == 404 or "not found in type" in message or "Resource not found" in message:
            return SchemaMismatchError(text, **common,
                                       hint="the service, entity set or property changed since "
                                            "discovery; Concord rediscovers on the next query")
        return SourceQueryError(text, **common,
                                hint="SAP refused the OData request Concord sent; rerun with "
                                     "--no-pushdown and report it")

    def _json(self, url: str, ctx: ScanContext | None,
              object: str) -> tuple[dict[str, Any], httpx.URL]:
        """The ``d`` object of an OData v2 collection, and the URL it came from."""
        response = self._send(url, ctx, object=object)
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceError("answered with something that is not JSON", source=self.name,
                              object=object, hint="check the source URL and service_root"
                              ) from exc
        d = body.get("d") if isinstance(body, dict) else None
        if isinstance(d, list):  # the OData v1 shape some services still send
            d = {"results": d}
        if not isinstance(d, dict) or not isinstance(d.get("results"), list):
            raise SourceError("answered JSON that is not an OData v2 collection ({\"d\": "
                              "{\"results\": [...]}})", source=self.name, object=object,
                              hint="check the source URL and service_root")
        return d, response.url

    # -- discovery ----------------------------------------------------------------------

    def _metadata(self, service: str) -> dict[str, EntitySet]:
        url = f"{self.options.service_root.rstrip('/')}/{service}/$metadata"
        response = self._send(url, None, object=service, accept="application/xml")
        try:
            return parse_metadata(response.content)
        except ValueError as exc:
            raise SourceError(f"$metadata of {service} is not EDMX: {exc}", source=self.name,
                              object=service, hint="check the source URL and service_root"
                              ) from exc

    def discover(self) -> dict[str, TableInfo]:
        tables: dict[str, TableInfo] = {}
        services: dict[str, str] = {}
        sets: dict[str, EntitySet] = {}
        for service, wanted in self.options.entity_sets.items():
            try:
                found = self._metadata(service)
            except SchemaMismatchError as exc:
                raise CatalogError(f"service {service} not found ({exc.message})",
                                   source=self.name,
                                   hint="fix options.entity_sets (service names such as "
                                        "API_SALES_ORDER_SRV) or options.service_root") from exc
            missing = [n for n in wanted if n not in found]
            if missing:
                raise CatalogError(
                    f"{service} has no entity set {', '.join(missing)}", source=self.name,
                    hint=f"fix options.entity_sets; {service} offers "
                         f"{', '.join(sorted(found)[:12])}")
            for set_name in wanted:
                if set_name in services:
                    raise CatalogError(
                        f"entity set {set_name} is listed under both {services[set_name]} "
                        f"and {service}", source=self.name,
                        hint="list each entity set once in options.entity_sets")
                entity_set = found[set_name]
                services[set_name] = service
                sets[set_name] = entity_set
                tables[set_name] = TableInfo(set_name, entity_set.columns,
                                             description=f"{service}/{set_name}")
        with self._lock:
            self._services, self._sets = services, sets
        return tables

    # -- pushdown -----------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = sap_filter.compile_predicate(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return sap_filter.can_sort(table, key)

    def _path(self, table: TableInfo) -> str:
        service = self._services.get(table.name)
        if service is None:
            raise SchemaMismatchError("not discovered", source=self.name, object=table.name)
        return f"{self.options.service_root.rstrip('/')}/{service}/{table.name}"

    def _params(self, table: TableInfo, request: ScanRequest) -> dict[str, str]:
        """The query options, unencoded, in the order they are sent."""
        params = {"$format": "json", "$select": ",".join(request.columns)}
        clauses = []
        for predicate in request.filters:
            compiled = sap_filter.compile_predicate(table, predicate)
            if compiled is None:
                raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
            clauses.append(compiled.text)
        if clauses:
            params["$filter"] = " and ".join(clauses)
        order = [f"{k.column} {'desc' if k.descending else 'asc'}" for k in request.order_by]
        if self.options.page_size is not None:
            # chunks must not overlap or skip rows: make the order total with the key
            entity_set = self._sets.get(table.name)
            keys = entity_set.keys if entity_set else ()
            ordered = {k.column for k in request.order_by}
            order += [f"{k} asc" for k in keys if k not in ordered]
        if order:
            params["$orderby"] = ",".join(order)
        top = request.limit
        if self.options.page_size is not None:
            top = self.options.page_size if top is None else min(top, self.options.page_size)
        if top is not None:
            params["$top"] = str(top)
        return params

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        query = "&".join(f"{k}={v}" for k, v in self._params(table, request).items())
        return f"GET {self._path(table)}?{query}"

    # -- scanning -----------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        params = self._params(table, request)
        path = self._path(table)
        ctx.metrics.native_requests.append(
            path + "?" + "&".join(f"{k}={v}" for k, v in params.items()))
        schema = table.arrow_schema(request.columns)
        if self.options.page_size is None:
            yield from self._follow(table, schema, _url(path, params), ctx)
            return
        fetched, chunk = 0, self.options.page_size
        while True:
            wanted = chunk if request.limit is None else min(chunk, request.limit - fetched)
            if wanted <= 0:
                return
            page = {**params, "$top": str(wanted)}
            if fetched:
                page["$skip"] = str(fetched)
            got = 0
            for batch in self._follow(table, schema, _url(path, page), ctx):
                got += batch.num_rows
                yield batch
            fetched += got
            if got < wanted:
                return

    def _follow(self, table: TableInfo, schema: pa.Schema, url: str,
                ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        """One request and its ``__next`` pages, followed verbatim until there is none."""
        while True:
            d, came_from = self._json(url, ctx, table.name)
            rows = d["results"]
            ctx.metrics.pages += 1
            ctx.metrics.rows += len(rows)
            yield self._batch(table, schema, rows)
            next_link = d.get("__next")
            if not next_link:
                return
            url = self._next_url(came_from, str(next_link), table.name)

    def _next_url(self, came_from: httpx.URL, link: str, object: str) -> str:
        """``__next`` resolved against the page it came with, refused when its origin is not
        the source's: following it would hand the credentials to another server."""
        target = came_from.join(link)
        expected = httpx.URL(self.url)
        if _origin(target) != _origin(expected):
            raise SourceError(
                f"the next-page link (__next) points at {_origin_text(target)}, not "
                f"{_origin_text(expected)}; Concord does not send the credentials there",
                source=self.name, object=object,
                hint="the catalog url must be the address SAP Gateway itself uses for links "
                     "(a proxy that rewrites the host makes Gateway name its internal one)")
        return str(target)

    def _batch(self, table: TableInfo, schema: pa.Schema,
               rows: list[dict[str, Any]]) -> pa.RecordBatch:
        names = set(schema.names)
        for row in rows:
            if not isinstance(row, dict) or not names <= row.keys():
                gone = sorted(names - set(row)) if isinstance(row, dict) else schema.names
                raise self._drift(table, gone[0], "is no longer returned")
        arrays = []
        for field in schema:
            values = [row[field.name] for row in rows]
            try:
                arrays.append(to_array(values, field.type))
            except ValueError as exc:
                value = exc.args[0] if exc.args else None
                raise self._drift(table, field.name,
                                  f"sent a value that does not fit ({value!r})") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _drift(self, table: TableInfo, field: str, what: str) -> SchemaMismatchError:
        """Name the type discovered and the type ``$metadata`` reports now."""
        service = self._services.get(table.name, "")
        try:
            now = self._metadata(service).get(table.name)
            current = now.edm_types.get(field) if now else None
        except SourceError:
            current = "unknown (cannot read $metadata)"
        return drift_error(self.name, table, field, what, current)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port spelled out, as browsers compare."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port or default


def _origin_text(url: httpx.URL) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def _url(path: str, params: dict[str, str]) -> str:
    """Encode the query ourselves: spaces as %20, the OData punctuation kept readable."""
    return path + "?" + "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in params.items())


def _sap_error(response: httpx.Response) -> tuple[str, str]:
    """``(code, message)`` from SAP's v2 JSON error body, or the start of whatever came."""
    try:
        error = response.json().get("error", {})
        message = error.get("message", {})
        text = message.get("value", "") if isinstance(message, dict) else str(message)
        return str(error.get("code", "")), str(text) or f"HTTP {response.status_code}"
    except (ValueError, AttributeError):
        return "", f"HTTP {response.status_code}: {response.text[:200]}"
