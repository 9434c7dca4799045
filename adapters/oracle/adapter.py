"""Oracle Fusion Cloud adapter: ``/describe`` for discovery, REST collections for scans.

Each resource lives under the REST application that owns it (``/crmRestApi`` for customer
``accounts``, ``/fscmRestApi`` for ``receivablesInvoices`` and ``salesOrdersForOrderHub``;
``options.apps`` overrides) and API version ``options.api_version``. Scans send
``REST-Framework-Version: 4`` (version 1, Fusion's default, reads ``q`` only as
query-by-example), ``fields`` + ``onlyData=true`` for projection, ``q`` rowmatch filters and
``orderBy`` on the requested keys then the resource's primary key, and page with
``limit``/``offset`` until ``hasMore`` is false. Offsets advance by the rows actually
received, because Fusion serves at most 500 rows whatever ``limit`` asks.

The primary key comes from the ``PrimaryKey`` finder of ``/describe``; without one the scan
is still correct for a static resource but offset paging is not guaranteed stable.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
    SortKey,
    TableInfo,
    drift_error,
)
from adapters.http import SourceHTTP
from adapters.oracle import rowmatch
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)

DEFAULT_RESOURCES = ("accounts", "salesOrdersForOrderHub", "receivablesInvoices")
DEFAULT_APPS = {"accounts": "crmRestApi"}
FRAMEWORK_VERSION = "4"
MAX_PAGE = 500  # Fusion serves at most this many rows per request


class OracleOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resources: list[str] = Field(default_factory=lambda: list(DEFAULT_RESOURCES))
    api_version: str = "11.13.18.05"
    page_size: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE)
    # REST application per resource; resources not listed are under fscmRestApi
    apps: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_APPS))


class _Misfit(ValueError):
    def __init__(self, value: Any) -> None:
        super().__init__(repr(value))
        self.value = value


class OracleAdapter(Adapter):
    """Reads one Fusion pod. Auth: ``user`` + ``password`` (Basic) or ``access_token``."""

    type_name = "oracle"
    Options = OracleOptions

    def __init__(self, name: str, http: SourceHTTP, options: OracleOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        self._bearer = credentials.get("access_token") is not None
        if not self._bearer and (credentials.get("user") is None
                                 or credentials.get("password") is None):
            raise CatalogError(
                "needs user and password (Basic) or access_token", source=name, object="auth",
                hint="set them in the catalog under sources.<name>.auth (env: or file: "
                     "references for secrets)")
        self._keys: dict[str, str | None] = {}  # resource (lowercase) -> primary key

    # -- requests ---------------------------------------------------------------------

    def _path(self, resource: str) -> str:
        app = self.options.apps.get(resource, "fscmRestApi")
        return f"/{app}/resources/{self.options.api_version}/{resource}"

    def _headers(self) -> dict[str, str]:
        """Secrets are read on first use, so a catalog can be validated without them."""
        if self._bearer:
            auth = f"Bearer {self.credentials.get('access_token')}"
        else:
            pair = f"{self.credentials.get('user')}:{self.credentials.get('password')}"
            auth = "Basic " + base64.b64encode(pair.encode()).decode()
        return {"Authorization": auth, "REST-Framework-Version": FRAMEWORK_VERSION}

    def _where_credentials(self) -> str:
        if self._bearer:
            return f"access_token ({self.credentials.describe('access_token')})"
        return (f"user ({self.credentials.describe('user')}) and password "
                f"({self.credentials.describe('password')})")

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        """Map Fusion's answers to typed errors (None: transient, retried)."""
        status = response.status_code
        common = {"source": self.name, "object": object}
        if status == 401:
            return AuthenticationError(
                "Oracle Fusion refused the credentials (HTTP 401)", **common,
                hint=f"check {self._where_credentials()}")
        if status == 429 or status >= 500:
            return None
        code, detail = _error_detail(response)
        if status == 403:
            return AuthenticationError(
                f"permission denied ({code or status}: {detail})", **common,
                hint="give the integration user a role that can read this resource")
        if status == 404:
            return SchemaMismatchError(
                f"Oracle Fusion does not know the resource ({detail})", **common,
                hint="check options.resources, options.apps and options.api_version")
        return SourceQueryError(f"{code or status}: {detail}", **common,
                                hint="Oracle Fusion refused the request Concord sent; rerun "
                                     "with --no-pushdown and report it")

    def _get(self, url: str, ctx: ScanContext | None, resource: str) -> dict[str, Any]:
        response = self.http.send("GET", url, ctx, headers=self._headers(),
                                  classify=lambda r: self._classify(r, resource))
        try:
            body = response.json()
        except ValueError:
            raise SourceError(
                f"answered HTTP {response.status_code} with a body that is not JSON "
                f"({response.text[:80]!r})", source=self.name, object=resource,
                hint="a proxy or an outage page may be in the way; try again") from None
        if not isinstance(body, dict):
            raise SourceError("answered with JSON that is not an object", source=self.name,
                              object=resource)
        return body

    # -- discovery --------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        tables = {}
        for resource in self.options.resources:
            info, key = self._describe(resource)
            tables[info.name] = info
            self._keys[info.name.lower()] = key
        return tables

    def _describe(self, resource: str) -> tuple[TableInfo, str | None]:
        """Columns and primary key of one resource from its ``/describe``."""
        body = self._get(f"{self._path(resource)}/describe", None, resource)
        meta = (body.get("Resources") or {}).get(resource)
        if not isinstance(meta, dict) or not isinstance(meta.get("attributes"), list):
            raise SourceError("the describe answer has no attributes for the resource",
                              source=self.name, object=resource,
                              hint="Oracle Fusion answered in an unexpected shape")
        columns = []
        for attr in meta["attributes"]:
            if not isinstance(attr, dict) or attr.get("type") not in rowmatch.ARROW_TYPES:
                continue  # child collections and unsupported types are not columns
            queryable = bool(attr.get("queryable", True))
            columns.append(Column(
                name=str(attr["name"]), type=rowmatch.ARROW_TYPES[attr["type"]],
                native_type=str(attr["type"]), nullable=not attr.get("mandatory", False),
                filterable=queryable, sortable=queryable,
                description=str(attr.get("title", ""))))
        key = None
        for finder in (meta.get("collection") or {}).get("finders") or []:
            attrs = finder.get("attributes") or [] if isinstance(finder, dict) else []
            if finder.get("name") == "PrimaryKey" and len(attrs) == 1:
                key = str(attrs[0].get("name"))
        if key is not None and not any(c.name == key for c in columns):
            key = None
        return TableInfo(name=resource, columns=tuple(columns)), key

    # -- pushdown ---------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = rowmatch.compile_predicate(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return rowmatch.can_sort(table, key)

    def _params(self, table: TableInfo, request: ScanRequest) -> dict[str, str]:
        key = self._keys.get(table.name.lower())
        return rowmatch.build_params(table, request, key, self.options.page_size)

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        return f"GET {self._path(table.name)}?{urlencode(self._params(table, request))}"

    # -- scanning ---------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        schema = table.arrow_schema(request.columns)
        params = self._params(table, request)
        ctx.metrics.native_requests.append(self.native_request(table, request))
        remaining = request.limit
        offset = 0
        while remaining is None or remaining > 0:
            if remaining is not None:
                params["limit"] = str(min(int(params["limit"]), remaining))
            url = f"{self._path(table.name)}?{urlencode({**params, 'offset': offset})}"
            try:
                body = self._get(url, ctx, table.name)
            except SourceQueryError as error:
                raise self._gone(table, request, error) from error
            items = body.get("items")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise SourceError("the collection answer has no items list", source=self.name,
                                  object=table.name,
                                  hint="Oracle Fusion answered in an unexpected shape")
            if remaining is not None:
                items = items[:remaining]
                remaining -= len(items)
            ctx.metrics.pages += 1
            ctx.metrics.rows += len(items)
            if items:
                yield self._batch(table, schema, items)
            if not body.get("hasMore") or not items:
                return
            offset += len(items)

    def _batch(self, table: TableInfo, schema: pa.Schema,
               items: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays = []
        for arrow_field in schema:
            col = table.column(arrow_field.name)
            native = col.native_type if col is not None else rowmatch.STRING
            if items and arrow_field.name not in items[0]:
                raise self._drift(table, arrow_field.name, "the attribute is not in the answer")
            try:
                values = [_value(item.get(arrow_field.name), native) for item in items]
                arrays.append(pa.array(values, arrow_field.type))
            except _Misfit as misfit:
                raise self._drift(table, arrow_field.name,
                                  f"sent a value that does not fit ({misfit.value!r})") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _now(self, table: TableInfo, field: str) -> str:
        """The attribute's type as ``/describe`` reports it now."""
        try:
            info, _ = self._describe(table.name)
        except SourceError:
            return "unknown (describe did not answer)"
        col = info.column(field)
        return col.native_type if col is not None else "missing"

    def _drift(self, table: TableInfo, field: str, what: str) -> SchemaMismatchError:
        """Name the discovered type and the one ``/describe`` reports now."""
        return drift_error(self.name, table, field, what, self._now(table, field))

    def _gone(self, table: TableInfo, request: ScanRequest,
              error: SourceQueryError) -> SourceError:
        """A 400 for a request built from discovery: an attribute may be gone."""
        try:
            info, _ = self._describe(table.name)
        except SourceError:
            return error
        for name in request.columns:
            if info.column(name) is None:
                return drift_error(self.name, table, name, "Oracle Fusion no longer knows the "
                                   f"attribute ({error.message})", None)
        return error


def _value(value: Any, native: str) -> Any:
    """One JSON value as the Python value of the attribute's Arrow type."""
    if value is None:
        return None
    if native == rowmatch.STRING:
        if isinstance(value, (dict, list)):
            raise _Misfit(value)
        return value if isinstance(value, str) else str(value)
    if native == rowmatch.BOOLEAN:
        if isinstance(value, bool):
            return value
        raise _Misfit(value)
    if native in (rowmatch.INTEGER, rowmatch.NUMBER):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Misfit(value)
        if native == rowmatch.INTEGER:
            if isinstance(value, float) and not value.is_integer():
                raise _Misfit(value)
            return int(value)
        return float(value)
    if not isinstance(value, str) or (native == rowmatch.DATE and len(value) != 10):
        raise _Misfit(value)
    try:
        if native == rowmatch.DATE:
            return dt.date.fromisoformat(value)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Misfit(value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """(o:errorCode, detail) from Oracle's REST error body, or the raw text."""
    try:
        body = response.json()
        first = (body.get("o:errorDetails") or [{}])[0]
        return str(first.get("o:errorCode", "")), str(first.get("detail") or body.get("title"))
    except (ValueError, AttributeError, IndexError, TypeError):
        return "", response.text[:300].strip()
