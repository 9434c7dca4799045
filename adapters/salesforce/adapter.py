"""Salesforce REST adapter: describe for discovery, SOQL for scans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from adapters.auth import BearerToken
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
from adapters.salesforce import soql as soql_compiler
from adapters.salesforce.types import arrow_type, to_arrow
from federation.errors import (
    AuthenticationError,
    CatalogError,
    RateLimitedError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)


class SalesforceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_version: str = Field("59.0", pattern=r"^\d+\.\d$")
    batch_size: int = Field(2000, ge=200, le=2000)
    objects: list[str] | None = None  # limit discovery to these objects (None: all queryable)


class SalesforceAdapter(Adapter):
    """Reads one org. Auth: ``access_token`` or OAuth2 ``client_id`` + ``client_secret``."""

    type_name = "salesforce"
    rate_limit_headers = ("Sforce-Limit-Info",)
    Options = SalesforceOptions

    def __init__(self, name: str, http: SourceHTTP, options: SalesforceOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        self._instance: str | None = None
        self.token = BearerToken(credentials.get("access_token"), self._fetch_token)
        if credentials.get("access_token") is None and (
            credentials.get("client_id") is None or credentials.get("client_secret") is None
        ):
            raise CatalogError(
                "needs either access_token or client_id and client_secret",
                source=name, object="auth",
                hint="set them in the catalog under sources.<name>.auth (env: or file: references)",
            )

    # -- auth -------------------------------------------------------------------------

    def _fetch_token(self, ctx: ScanContext | None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.credentials.get("client_id") or "",
            "client_secret": self.credentials.get("client_secret") or "",
        }
        response = self.http.send("POST", "/services/oauth2/token", ctx, data=form,
                                  classify=self._classify_token_error)
        body = response.json()
        instance = body.get("instance_url")
        if instance:
            parts = urlsplit(instance)
            self._instance = f"{parts.scheme}://{parts.netloc}"
        return str(body["access_token"])

    def _classify_token_error(self, response: httpx.Response) -> SourceError | None:
        if response.status_code >= 500 or response.status_code == 429:
            return None
        try:
            detail = response.json().get("error_description") or response.text
        except ValueError:
            detail = response.text
        return AuthenticationError(
            f"OAuth token request refused ({response.status_code}: {detail})",
            source=self.name,
            hint=f"check client_id ({self.credentials.describe('client_id')}) and client_secret "
                 f"({self.credentials.describe('client_secret')})",
        )

    def _url(self, path: str) -> str:
        return f"{self._instance}{path}" if self._instance else path

    def _get(self, path: str, ctx: ScanContext | None, *, object: str | None = None,
             **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        response = self.token.call(lambda auth: self.http.send(
            "GET", self._url(path), ctx, headers={**headers, **auth},
            classify=lambda r: self._classify(r, object), **kwargs), ctx)
        return response

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        """Map Salesforce's JSON-array error bodies to typed errors."""
        status = response.status_code
        try:
            body = response.json()
            first = body[0] if isinstance(body, list) and body else {}
        except ValueError:
            first = {}
        code = str(first.get("errorCode", ""))
        message = str(first.get("message", response.text[:300])).strip()
        common = {"source": self.name, "object": object}
        if status == 401 or code == "INVALID_SESSION_ID":
            return AuthenticationError(f"session refused ({code or status}: {message})", **common,
                                       hint="check the catalog credentials for this source")
        if code == "REQUEST_LIMIT_EXCEEDED":
            return RateLimitedError(f"API request limit exceeded ({message})", **common,
                                    hint="the org's daily API quota is used up; wait or raise it")
        if status == 429 or status >= 500:
            return None  # transient: retried by the HTTP layer
        if code in {"INVALID_FIELD", "INVALID_TYPE", "NOT_FOUND"}:
            return SchemaMismatchError(
                f"{code}: {message.splitlines()[-1] if message else ''}", **common,
                hint="the object or field changed since discovery; run `concord sources` again",
            )
        return SourceQueryError(f"{code or status}: {message}", **common,
                                hint="Salesforce refused the SOQL Concord sent; rerun with "
                                     "--no-pushdown and report it")

    # -- discovery --------------------------------------------------------------------

    def _data(self, path: str) -> str:
        return f"/services/data/v{self.options.api_version}{path}"

    def discover(self) -> dict[str, TableInfo]:
        listing = self._get(self._data("/sobjects/"), None).json()
        wanted = {o.lower() for o in self.options.objects} if self.options.objects else None
        names = [
            o["name"] for o in listing.get("sobjects", [])
            if o.get("queryable", True) and (wanted is None or o["name"].lower() in wanted)
        ]
        tables = {}
        for name in names:
            tables[name] = self._describe(name)
        return tables

    def _describe(self, name: str) -> TableInfo:
        body = self._get(self._data(f"/sobjects/{name}/describe/"), None, object=name).json()
        columns = []
        for f in body.get("fields", []):
            native = str(f.get("type", "string")).lower()
            if native in {"address", "location", "base64", "anytype", "complexvalue", "json"}:
                continue  # compound or binary fields are not queryable as plain columns
            columns.append(Column(
                name=f["name"],
                type=arrow_type(native),
                native_type=native,
                nullable=bool(f.get("nillable", True)),
                filterable=bool(f.get("filterable", True)),
                sortable=bool(f.get("sortable", True)),
                description=str(f.get("label", "")),
            ))
        return TableInfo(name=body.get("name", name), columns=tuple(columns),
                         description=str(body.get("label", "")), custom=bool(body.get("custom")))

    # -- pushdown ---------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = soql_compiler.compile_predicate(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return soql_compiler.can_sort(table, key)

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        return soql_compiler.build_soql(table, request)

    # -- scanning ---------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        soql = self.native_request(table, request)
        ctx.metrics.native_requests.append(soql)
        schema = table.arrow_schema(request.columns)
        headers = {"Sforce-Query-Options": f"batchSize={self.options.batch_size}"}
        response = self._get(self._data("/query/"), ctx, object=table.name,
                             params={"q": soql}, headers=headers)
        while True:
            body = response.json()
            records = body.get("records", [])
            ctx.metrics.pages += 1
            ctx.metrics.rows += len(records)
            yield self._batch(table, schema, records)
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return
            response = self._get(next_url, ctx, object=table.name, headers=headers)

    def _batch(self, table: TableInfo, schema: pa.Schema,
               records: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays = []
        for field in schema:
            values = []
            append = values.append
            name = field.name
            try:
                for record in records:
                    append(record[name])
            except KeyError as exc:
                raise SchemaMismatchError(
                    "field missing from the query response", source=self.name,
                    object=table.name, field=name,
                    hint="the field may have been removed or hidden from this user",
                ) from exc
            try:
                arrays.append(to_arrow(values, field.type))
            except ValueError as exc:
                raise self._drift(table, name, f"sent a value that does not fit ({exc})") \
                    from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _drift(self, table: TableInfo, field: str, what: str) -> SchemaMismatchError:
        """Name the discovered type and the type describe reports now."""
        try:
            now = {c.name: c.native_type for c in self._describe(table.name).columns}
        except SourceError:
            now = {}
        return drift_error(self.name, table, field, what, now.get(field))
