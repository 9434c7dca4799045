"""NetSuite adapter: the REST metadata catalog for discovery, SuiteQL over REST for scans.

Scans post SuiteQL to ``/services/rest/query/v1/suiteql`` with ``Prefer: transient`` and
page with ``limit``/``offset`` while ``hasMore`` says so. SuiteQL never returns more than
100,000 rows of one query (an offset at the cap is refused), so a scan ordered by the
table's key that reaches the cap continues with a new query for the rows after the last
key (keyset split): every row arrives, never a silent 100,000. A top-N whose LIMIT could
pass the cap is scanned the same way, by key without its ORDER BY and LIMIT, and DuckDB sorts
and limits (continuing after the last sort value is not attempted: datetimes come back only
to the second and numbers as text, so that value may not be exact). A table without a known
key that matches more than the cap fails with a clear error instead.

Authentication is an OAuth 2.0 access token, or token-based authentication (OAuth 1.0a
HMAC-SHA256 over the exact URL, ``limit`` and ``offset`` included, signed afresh for every
attempt because NetSuite refuses a nonce it has seen).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256
from oauthlib.oauth1 import Client as OAuth1Client
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
from adapters.netsuite import suiteql
from adapters.netsuite.types import Misfit, to_arrow
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
METADATA_PATH = "/services/rest/record/v1/metadata-catalog"
DEFAULT_TABLES = ("customer", "transaction", "transactionline", "item", "currency",
                  "currencyrate", "subsidiary", "employee")
TBA_KEYS = ("consumer_key", "consumer_secret", "token_id", "token_secret")
_UNKNOWN_FIELD = re.compile(r"Unknown identifier '(?:[\w$]+\.)?([\w$]+)'|"
                            r"Field '([\w$]+)' for record '[\w$]+' was not found")
_UNKNOWN_RECORD = re.compile(r"Invalid search type: ([\w$]+)")


class NetSuiteOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str | None = None  # the realm TBA signatures name, e.g. 1234567_SB1
    tables: list[str] = Field(default_factory=lambda: list(DEFAULT_TABLES))
    page_size: int = Field(1000, ge=1, le=1000)
    result_cap: int = Field(100_000, ge=1)  # rows SuiteQL returns for one query at most


class _BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class _TbaAuth(httpx.Auth):
    """OAuth 1.0a signing at send time, so each attempt (retries too) gets its own nonce
    and timestamp and the signature covers the URL exactly as sent."""

    def __init__(self, keys: dict[str, str], realm: str) -> None:
        self._keys = keys
        self._realm = realm

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signer = OAuth1Client(
            self._keys["consumer_key"],
            client_secret=self._keys["consumer_secret"],
            resource_owner_key=self._keys["token_id"],
            resource_owner_secret=self._keys["token_secret"],
            signature_method=SIGNATURE_HMAC_SHA256,
            realm=self._realm,
        )
        _, headers, _ = signer.sign(str(request.url), http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


class NetSuiteAdapter(Adapter):
    """Reads one NetSuite account. Auth: ``access_token`` (OAuth 2.0) or TBA
    ``consumer_key`` + ``consumer_secret`` + ``token_id`` + ``token_secret``."""

    type_name = "netsuite"
    Options = NetSuiteOptions

    def __init__(self, name: str, http: SourceHTTP, options: NetSuiteOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        self._auth: httpx.Auth | None = None
        self._tables: dict[str, TableInfo] = {}  # last discovery, to name types in errors
        token = credentials.get("access_token")
        given = {k: credentials.get(k) for k in TBA_KEYS}
        if token is None and any(v is None for v in given.values()):
            missing = ", ".join(k for k, v in given.items() if v is None)
            raise CatalogError(
                f"needs either access_token or all of {', '.join(TBA_KEYS)} (missing: {missing})",
                source=name, object="auth",
                hint="set them in the catalog under sources.<name>.auth (env: or file: references)",
            )
        if token is None and not options.account_id:
            raise CatalogError(
                "token-based authentication needs options.account_id (the realm it signs)",
                source=name, object="options",
                hint="set options.account_id to the NetSuite account id, e.g. 1234567_SB1",
            )

    # -- auth -------------------------------------------------------------------------

    def _httpx_auth(self) -> httpx.Auth:
        """Secrets are read on first use, so a catalog can be validated without them."""
        if self._auth is None:
            token = self.credentials.get("access_token")
            if token is not None:
                self._auth = _BearerAuth(token)
            else:
                keys = {k: self.credentials.get(k) or "" for k in TBA_KEYS}
                self._auth = _TbaAuth(keys, self.options.account_id or "")
        return self._auth

    def _where_credentials(self) -> str:
        if self.credentials.get("access_token") is not None:
            return f"access_token ({self.credentials.describe('access_token')})"
        return ", ".join(f"{k} ({self.credentials.describe(k)})" for k in TBA_KEYS) + (
            f" and options.account_id ({self.options.account_id})")

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        """Map NetSuite's ``o:errorDetails`` bodies to typed errors."""
        status = response.status_code
        try:
            body = response.json()
            details = body.get("o:errorDetails") or [{}]
            first = details[0] if isinstance(details[0], dict) else {}
        except (ValueError, AttributeError, IndexError):
            first = {}
        code = str(first.get("o:errorCode", ""))
        detail = str(first.get("detail") or response.text[:300]).strip()
        common = {"source": self.name, "object": object}
        if status == 401:
            return AuthenticationError(
                f"NetSuite refused the login ({code or status})", **common,
                hint=f"check {self._where_credentials()}; NetSuite's Login Audit Trail says why")
        if status == 429 or status >= 500:
            return None  # concurrency governance or an outage: retried with backoff
        if status == 403:
            return AuthenticationError(
                f"permission denied ({code or status}: {detail})", **common,
                hint="give the integration role the SuiteAnalytics and REST permissions")
        unknown = _UNKNOWN_FIELD.search(detail)
        if unknown:
            field = unknown.group(1) or unknown.group(2)
            return SchemaMismatchError(
                f"NetSuite no longer knows the field ({detail}): discovered as "
                f"{self._discovered(object, field)}, now missing",
                **common, field=field,
                hint="the field was removed or hidden from this role; Concord rediscovers "
                     "on the next query")
        record = _UNKNOWN_RECORD.search(detail)
        if record:
            return SchemaMismatchError(
                f"NetSuite no longer knows the record ({detail})", **common,
                hint="the record type is gone or hidden from this role; fix options.tables")
        return SourceQueryError(f"{code or status}: {detail}", **common,
                                hint="NetSuite refused the request Concord sent; rerun with "
                                     "--no-pushdown and report it")

    def _discovered(self, object: str | None, field: str) -> str:
        table = self._tables.get((object or "").lower())
        col = table.column(field) if table is not None else None
        return col.native_type if col is not None else "?"

    # -- discovery --------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        tables = {}
        for record in self.options.tables:
            info = self._describe(record)
            tables[info.name] = info
        self._tables = {name.lower(): info for name, info in tables.items()}
        return tables

    def _describe(self, record: str) -> TableInfo:
        """One record's columns from NetSuite's metadata catalog (JSON Schema)."""
        response = self.http.send(
            "GET", f"{METADATA_PATH}/{record}", None, auth=self._httpx_auth(),
            headers={"Accept": "application/schema+json"},
            classify=lambda r: self._classify(r, record))
        body = self._json(response, record)
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise SourceError("the metadata catalog answered without properties",
                              source=self.name, object=record)
        columns = []
        for name, prop in properties.items():
            if not isinstance(prop, dict):
                continue
            native = suiteql.native_type(str(prop.get("type", "")), prop.get("format"))
            if native is None:
                continue  # sublists and subrecords are not SuiteQL columns
            columns.append(Column(
                name=name, type=suiteql.ARROW_TYPES[native], native_type=native,
                nullable=bool(prop.get("nullable", True)),
                description=str(prop.get("title", "")),
            ))
        return TableInfo(name=record.lower(), columns=tuple(columns))

    # -- pushdown ---------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = suiteql.compile_predicate(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return suiteql.can_sort(table, key)

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        return suiteql.build_suiteql(table, self._splittable(table, request))

    def _splittable(self, table: TableInfo, request: ScanRequest) -> ScanRequest:
        """The request without its ORDER BY and LIMIT when it is ordered and its LIMIT could
        pass the result cap, so the scan can split by key; the engine sorts and limits."""
        if not request.order_by or suiteql.key_columns(table) is None:
            return request
        if request.limit is None or request.limit > self.options.result_cap:
            return dataclasses.replace(request, order_by=(), limit=None)
        return request

    # -- scanning ---------------------------------------------------------------------

    def _json(self, response: httpx.Response, record: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise SourceError(
                f"answered HTTP {response.status_code} with a body that is not JSON "
                f"({response.text[:80]!r})", source=self.name, object=record,
                hint="a proxy or an outage page may be in the way; try again") from None
        if not isinstance(body, dict):
            raise SourceError("answered with JSON that is not an object", source=self.name,
                              object=record)
        return body

    def _page(self, text: str, offset: int, ctx: ScanContext, record: str) -> dict[str, Any]:
        url = f"{SUITEQL_PATH}?limit={self.options.page_size}&offset={offset}"
        response = self.http.send(
            "POST", url, ctx, auth=self._httpx_auth(), json={"q": text},
            headers={"Prefer": "transient"}, classify=lambda r: self._classify(r, record))
        body = self._json(response, record)
        if not isinstance(body.get("items"), list):
            raise SourceError("the SuiteQL answer has no items list", source=self.name,
                              object=record, hint="NetSuite answered in an unexpected shape")
        return body

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        request = self._splittable(table, request)
        schema = table.arrow_schema(request.columns)
        keys = None if request.order_by else suiteql.key_columns(table)
        cap = self.options.result_cap
        remaining = request.limit
        after: list[int] | None = None
        while True:
            text = suiteql.build_suiteql(table, request, after=after, limit=remaining)
            ctx.metrics.native_requests.append(text)
            offset = received = 0
            last: dict[str, Any] | None = None
            while True:
                body = self._page(text, offset, ctx, table.name)
                items = body["items"]
                total = int(body.get("totalResults") or 0)
                if offset == 0 and total > cap and keys is None and (
                        request.limit is None or request.limit > cap):
                    raise SourceError(
                        f"the query matches {total:,} rows, more than the {cap:,} SuiteQL "
                        "returns, and the table has no unique key to continue after",
                        source=self.name, object=table.name,
                        hint="add a filter so fewer rows match; Concord never returns a "
                             "truncated answer")
                ctx.metrics.pages += 1
                ctx.metrics.rows += len(items)
                if items:
                    last = items[-1]
                    yield self._batch(table, schema, items)
                received += len(items)
                if not body.get("hasMore"):
                    return
                offset += self.options.page_size
                if offset >= cap or not items:
                    break  # at the cap: continue after the last key
            if remaining is not None:
                remaining -= received
                if remaining <= 0:
                    return
            if keys is None or last is None:
                raise SourceError(
                    f"more than {cap:,} rows match and the scan cannot continue past them",
                    source=self.name, object=table.name,
                    hint="add a filter so fewer rows match")
            try:
                after = [int(last[k.lower()]) for k in keys]
            except (KeyError, ValueError, TypeError):
                raise SourceError(f"a row came without its key ({', '.join(keys)})",
                                  source=self.name, object=table.name) from None

    def _batch(self, table: TableInfo, schema: pa.Schema,
               items: list[dict[str, Any]]) -> pa.RecordBatch:
        arrays = []
        for field in schema:
            col = table.column(field.name)
            native = col.native_type if col is not None else suiteql.STRING
            key = field.name.lower()
            values = [item.get(key) for item in items]
            try:
                arrays.append(to_arrow(values, native))
            except Misfit as misfit:
                raise self._drift(table, field.name, misfit.value) from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _drift(self, table: TableInfo, field: str, value: Any) -> SchemaMismatchError:
        """Name the discovered type and the type the metadata catalog reports now."""
        try:
            now_col = self._describe(table.name).column(field)
            now = now_col.native_type if now_col is not None else None
        except SourceError:
            now = "unknown (the metadata catalog did not answer)"
        return drift_error(self.name, table, field,
                           f"sent a value that does not fit ({value!r})", now)
