"""Dynamics 365 / Dataverse adapter: EntityDefinitions for discovery, OData v4 scans.

Choice columns appear twice: the integer value (``industrycode``) and its label
(``industrycode_label``, from the FormattedValue annotation). Lookups appear under
their attribute name (``parentcustomerid``) holding the target's GUID.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
from adapters.dynamics import odata
from adapters.http import SourceHTTP
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)

API = "/api/data/v9.2"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
_UNKNOWN_PROPERTY = re.compile(r"Could not find a property named '([^']+)'")
_ARROW = {
    "Uniqueidentifier": pa.string(), "String": pa.string(), "Memo": pa.string(),
    "Integer": pa.int64(), "BigInt": pa.int64(), "Decimal": pa.float64(),
    "Double": pa.float64(), "Money": pa.float64(), "Boolean": pa.bool_(),
    "DateTime": pa.timestamp("ms", tz="UTC"), "Picklist": pa.int64(), "State": pa.int64(),
    "Status": pa.int64(), "Lookup": pa.string(), "Owner": pa.string(), "Customer": pa.string(),
}


class DynamicsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entities: list[str] = ["account", "contact", "opportunity", "incident", "systemuser"]
    tenant_id: str | None = None
    authority: str = Field("https://login.microsoftonline.com", pattern=r"^https?://")
    page_size: int = Field(5000, ge=1, le=5000)


class DynamicsAdapter(Adapter):
    """Reads one Dataverse environment. Auth: ``access_token`` or Entra ID client secret."""

    type_name = "dynamics"
    rate_limit_headers = ("x-ms-ratelimit-burst-remaining-xrm-requests",
                          "x-ms-ratelimit-time-remaining-xrm-requests")
    Options = DynamicsOptions

    def __init__(self, name: str, http: SourceHTTP, options: DynamicsOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        if credentials.get("access_token") is None and (
            credentials.get("client_id") is None or credentials.get("client_secret") is None
            or options.tenant_id is None
        ):
            raise CatalogError(
                "needs access_token, or client_id, client_secret and options.tenant_id",
                source=name, object="auth",
                hint="set them under sources.<name> (secrets as env: or file: references)")
        self.token = BearerToken(credentials.get("access_token"), self._fetch_token)
        self._sets: dict[str, str] = {}  # table (entity set) → logical name
        self._choices: dict[str, dict[str, dict[int, str]]] = {}  # table → label col → options

    # -- auth and HTTP ------------------------------------------------------------------

    def _fetch_token(self, ctx: ScanContext | None) -> str:
        url = f"{self.options.authority.rstrip('/')}/{self.options.tenant_id}/oauth2/v2.0/token"
        form = {"grant_type": "client_credentials",
                "client_id": self.credentials.get("client_id") or "",
                "client_secret": self.credentials.get("client_secret") or "",
                "scope": f"{str(self.http.client.base_url).rstrip('/')}/.default"}
        response = self.http.send("POST", url, ctx, data=form, classify=self._token_error)
        return str(response.json()["access_token"])

    def _token_error(self, response: httpx.Response) -> SourceError | None:
        if response.status_code == 429 or response.status_code >= 500:
            return None
        try:
            detail = response.json().get("error_description", response.text)
        except ValueError:
            detail = response.text
        return AuthenticationError(
            f"token request refused ({response.status_code}: {str(detail)[:200]})",
            source=self.name,
            hint=f"check client_id ({self.credentials.describe('client_id')}), client_secret "
                 f"({self.credentials.describe('client_secret')}) and options.tenant_id")

    def _get(self, url: str, ctx: ScanContext | None, *, object: str | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        odata = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", **(headers or {})}
        response = self.token.call(lambda auth: self.http.send(
            "GET", url, ctx, headers={**odata, **auth},
            classify=lambda r: self._classify(r, object), **kwargs), ctx)
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError("answered with something that is not JSON", source=self.name,
                              object=object, hint="check the source URL") from exc

    def _classify(self, response: httpx.Response, object: str | None) -> SourceError | None:
        status = response.status_code
        try:
            error = response.json().get("error", {})
        except (ValueError, AttributeError):
            error = {}
        message = str(error.get("message", response.text[:300]))
        code = str(error.get("code", status))
        common = {"source": self.name, "object": object}
        if status == 401:
            return AuthenticationError(f"token refused ({message})", **common,
                                       hint="check the catalog credentials for this source")
        if status == 429 or status >= 500:
            return None  # transient (service protection limits send Retry-After)
        if status == 404 or "Could not find a property" in message:
            return SchemaMismatchError(f"{code}: {message}", **common,
                                       hint="the table or column changed since discovery; "
                                            "Concord rediscovers on the next query")
        return SourceQueryError(f"{code}: {message}", **common,
                                hint="Dataverse refused the OData request Concord sent; rerun "
                                     "with --no-pushdown and report it")

    # -- discovery ----------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        body = self._get(f"{API}/EntityDefinitions", None, params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,"
                       "DisplayName,IsCustomEntity",
        })
        found = {e["LogicalName"]: e for e in self._rows(body, "EntityDefinitions")}
        missing = [n for n in self.options.entities if n not in found]
        if missing:
            raise CatalogError(f"entities not found: {', '.join(missing)}", source=self.name,
                               hint="fix options.entities (logical names, e.g. account)")
        tables = {}
        for logical in self.options.entities:
            entity = found[logical]
            table = self._entity_table(entity)
            tables[table.name] = table
            self._sets[table.name] = logical
        return tables

    def _attributes(self, logical: str, cast: str | None = None,
                    **params: str) -> list[dict[str, Any]]:
        path = f"{API}/EntityDefinitions(LogicalName='{logical}')/Attributes"
        if cast:
            path += f"/Microsoft.Dynamics.CRM.{cast}"
        return self._rows(self._get(path, None, object=logical, params=params), logical)

    def _entity_table(self, entity: dict[str, Any]) -> TableInfo:
        logical = entity["LogicalName"]
        table_name = entity["EntitySetName"]
        attributes = self._attributes(
            logical, **{"$select": "LogicalName,AttributeType,DisplayName,IsValidForRead,"
                                   "AttributeOf"})
        date_only = {a["LogicalName"] for a in self._attributes(
            logical, "DateTimeAttributeMetadata", **{"$select": "LogicalName,DateTimeBehavior"})
            if (a.get("DateTimeBehavior") or {}).get("Value") == "DateOnly"}
        options: dict[str, dict[int, str]] = {}
        for cast in ("PicklistAttributeMetadata", "StateAttributeMetadata",
                     "StatusAttributeMetadata"):
            for a in self._attributes(logical, cast, **{"$select": "LogicalName",
                                                        "$expand": "OptionSet($select=Options)"}):
                options[a["LogicalName"]] = {
                    int(o["Value"]): _label(o.get("Label"))
                    for o in (a.get("OptionSet") or {}).get("Options", [])
                }
        columns: list[Column] = []
        choices: dict[str, dict[int, str]] = {}
        for a in attributes:
            kind = a.get("AttributeType")
            name = a["LogicalName"]
            if kind not in _ARROW or a.get("AttributeOf") or a.get("IsValidForRead") is False:
                continue
            arrow = pa.date32() if name in date_only else _ARROW[kind]
            columns.append(Column(name, arrow, native_type=kind,
                                  description=_label(a.get("DisplayName"))))
            if kind in odata.CHOICE_TYPES:
                label_col = f"{name}{odata.LABEL_SUFFIX}"
                columns.append(Column(label_col, pa.string(), native_type="label",
                                      description=f"label of {name}"))
                choices[label_col] = options.get(name, {})
        self._choices[table_name] = choices
        return TableInfo(table_name, tuple(columns),
                         description=_label(entity.get("DisplayName")) or table_name,
                         custom=bool(entity.get("IsCustomEntity")))

    # -- pushdown -----------------------------------------------------------------------

    def _compiler(self, table: TableInfo) -> odata.FilterCompiler:
        return odata.FilterCompiler(self._choices.get(table.name, {}))

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = self._compiler(table).compile(table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled.pushdown

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return odata.can_sort(table, key)

    def _params(self, table: TableInfo, request: ScanRequest) -> dict[str, str]:
        select = []
        for name in request.columns:
            col = table.column(name)
            assert col is not None
            base = name.removesuffix(odata.LABEL_SUFFIX) if col.native_type == "label" else name
            native = (table.column(base) or col).native_type
            odata_col = odata.odata_name(base, native)
            if odata_col not in select:
                select.append(odata_col)
        params = {"$select": ",".join(select)}
        compiler = self._compiler(table)
        clauses = []
        for predicate in request.filters:
            compiled = compiler.compile(table, predicate)
            if compiled is None:
                raise ValueError(f"predicate cannot be pushed: {predicate.sql()}")
            clauses.append(compiled.text)
        if clauses:
            params["$filter"] = " and ".join(clauses)
        if request.order_by:
            params["$orderby"] = ",".join(
                f"{odata.odata_name(k.column, table.column(k.column).native_type)} "  # type: ignore[union-attr]
                f"{'desc' if k.descending else 'asc'}" for k in request.order_by)
        if request.limit is not None:
            params["$top"] = str(request.limit)
        return params

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        query = "&".join(f"{k}={v}" for k, v in self._params(table, request).items())
        return f"GET {API}/{table.name}?{query}"

    # -- scanning -----------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        ctx.metrics.native_requests.append(self.native_request(table, request))
        params = self._params(table, request)
        prefer = ['odata.include-annotations="OData.Community.Display.V1.FormattedValue"']
        if "$top" not in params:  # Dataverse ignores $top when a page size is preferred
            prefer.append(f"odata.maxpagesize={self.options.page_size}")
        headers = {"Prefer": ",".join(prefer)}
        schema = table.arrow_schema(request.columns)
        labelled: set[str] = set()  # choice columns whose missing labels were checked
        url: str | None = f"{API}/{table.name}"
        while url:
            rows, url = self._page(table, url, ctx, headers, params)
            params = None  # the next link carries the query
            ctx.metrics.pages += 1
            ctx.metrics.rows += len(rows)
            yield self._batch(table, schema, rows, labelled)

    def _page(self, table: TableInfo, url: str, ctx: ScanContext, headers: dict[str, str],
              params: dict[str, str] | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page's rows and next link; a refused removed column becomes drift."""
        try:
            body = self._get(url, ctx, object=table.name, headers=headers, params=params)
        except SchemaMismatchError as exc:
            drift = self._unknown_property(table, exc)
            if drift is None:
                raise
            raise drift from exc
        rows = self._rows(body, table.name)
        next_link = body.get("@odata.nextLink")
        if next_link is not None and not isinstance(next_link, str):
            raise self._malformed(table.name, f"@odata.nextLink is {next_link!r}")
        return rows, next_link or None

    def _rows(self, body: Any, object: str) -> list[dict[str, Any]]:
        """The ``value`` array, checked: a proxy or a broken gateway must not read as 0 rows."""
        rows = body.get("value") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            what = (f"'value' is {type(rows).__name__}, not an array" if rows is not None
                    else "no 'value' array")
            raise self._malformed(object, what)
        if not all(isinstance(row, dict) for row in rows):
            raise self._malformed(object, "a row in 'value' is not an object")
        return rows

    def _malformed(self, object: str, what: str) -> SourceError:
        return SourceError(f"malformed response: {what}", source=self.name, object=object,
                           hint="Dataverse (or a proxy in front of it) answered JSON that is "
                                "not an OData collection; check the source URL and retry")

    def _unknown_property(self, table: TableInfo,
                          exc: SchemaMismatchError) -> SchemaMismatchError | None:
        """Dataverse names the OData property it no longer knows: report it as its column."""
        match = _UNKNOWN_PROPERTY.search(exc.message)
        if match is None:
            return None
        for col in table.columns:
            if (col.native_type != "label"
                    and odata.odata_name(col.name, col.native_type) == match.group(1)):
                return self._drift(table, col.name, "is no longer returned")
        return None

    def _batch(self, table: TableInfo, schema: pa.Schema, rows: list[dict[str, Any]],
               labelled: set[str]) -> pa.RecordBatch:
        arrays = []
        for field in schema:
            col = table.column(field.name)
            assert col is not None
            if col.native_type == "label":
                base = field.name.removesuffix(odata.LABEL_SUFFIX)
                if rows and base not in rows[0]:
                    raise self._drift(table, base, "is no longer returned")
                key = f"{base}{FORMATTED}"
                values = [row.get(key) for row in rows]
                if base not in labelled:
                    unlabelled = next((row[base] for row in rows
                                       if row.get(base) is not None and row.get(key) is None),
                                      None)
                    if unlabelled is not None:
                        self._check_still_choice(table, base, field.name, unlabelled)
                        labelled.add(base)
            else:
                key = odata.odata_name(field.name, col.native_type)
                if rows and key not in rows[0]:
                    raise self._drift(table, field.name, "is no longer returned")
                values = [row.get(key) for row in rows]
            try:
                if pa.types.is_date(field.type) or pa.types.is_timestamp(field.type):
                    texts = [None if v is None else str(v)[:10] if pa.types.is_date(field.type)
                             else str(v) for v in values]
                    arrays.append(pa.array(texts, type=pa.string()).cast(field.type))
                else:
                    arrays.append(pa.array(values, type=field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                sample = next((v for v in values if v is not None), None)
                raise self._drift(table, field.name, f"sent {sample!r}, which does not fit "
                                                     f"{field.type}") from None
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _check_still_choice(self, table: TableInfo, base: str, label: str, value: Any) -> None:
        """A value without its FormattedValue: fine for a value outside the option set,
        drift when the column is no longer a choice (its labels would all read NULL)."""
        now = self._current_types(table)
        if now.get(base) not in odata.CHOICE_TYPES:
            raise drift_error(self.name, table, base,
                              f"sent {value!r} with no FormattedValue annotation ({label} "
                              f"would read NULL)",
                              now.get(base) if now else "unknown (cannot read its metadata)")

    def _current_types(self, table: TableInfo) -> dict[str, str | None]:
        """Attribute types as Dataverse reports them now (empty if it cannot say)."""
        logical = self._sets.get(table.name, table.name)
        try:
            return {a["LogicalName"]: a.get("AttributeType") for a in self._attributes(
                logical, **{"$select": "LogicalName,AttributeType"})}
        except SourceError:
            return {}

    def _drift(self, table: TableInfo, field: str, what: str) -> SchemaMismatchError:
        """Name the discovered type and the type Dataverse reports now."""
        return drift_error(self.name, table, field, what, self._current_types(table).get(field))



def _label(label: Any) -> str:
    if isinstance(label, dict):
        user = label.get("UserLocalizedLabel") or {}
        if user.get("Label"):
            return str(user["Label"])
        localized = label.get("LocalizedLabels") or []
        return str(localized[0].get("Label", "")) if localized else ""
    return str(label or "")
