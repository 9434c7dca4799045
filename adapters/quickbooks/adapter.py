"""QuickBooks Online adapter: declared entity schemas, the query endpoint for scans.

Scans ``POST /v3/company/{realm}/query?minorversion=N`` with the statement as an
``application/text`` body (as python-quickbooks does; long IN lists never meet a URL
limit), page with ``STARTPOSITION``/``MAXRESULTS`` until a page comes back short, and turn
each object into one flattened row (or, for line tables, one row per ``Line`` element).
Pushed OR conjuncts become several queries whose answers are unioned by Id (``qbo.py``).

QBO allows 500 requests a minute per realm and 10 at once; the adapter throttles itself to
``options.requests_per_minute`` and retries 429s within the query's retry budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pyrate_limiter import Duration, Limiter, Rate
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
)
from adapters.http import SourceHTTP
from adapters.quickbooks import qbo
from adapters.quickbooks.schema import (
    ARROW_TYPES,
    BOOLEAN,
    CUSTOM,
    DATE,
    DEFAULT_ENTITIES,
    DETAIL,
    ENTITIES,
    INTEGER,
    LINE_ENTITIES,
    NUMBER,
    PARENT_ID,
    TIMESTAMP,
    EntityTable,
    tables_for,
)
from federation.errors import (
    AuthenticationError,
    CatalogError,
    SchemaMismatchError,
    SourceError,
    SourceQueryError,
)


class QuickBooksOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    realm_id: str = Field(min_length=1)  # the company id in every request path
    minorversion: int = Field(75, ge=1)  # Intuit ignores minor versions below 75 since 2025
    entities: list[str] = Field(default_factory=lambda: list(DEFAULT_ENTITIES))
    page_size: int = Field(1000, ge=1, le=1000)  # MAXRESULTS; QBO answers at most 1,000
    requests_per_minute: int | None = Field(450, ge=1)  # below QBO's 500 per realm
    max_queries_per_scan: int = Field(16, ge=1, le=64)  # OR splits beyond stay local
    # sales-form custom fields as columns: column name -> the custom field's Name in QBO
    custom_fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("entities")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in ENTITIES]
        if unknown:
            raise ValueError(f"unknown entities {unknown}; known: {', '.join(ENTITIES)}")
        return value

    @field_validator("custom_fields")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        taken = {f.column.lower() for e in LINE_ENTITIES for f in ENTITIES[e]}
        for column in value:
            if not column.isidentifier() or column.lower() in taken:
                raise ValueError(f"custom field column {column!r} must be an identifier "
                                 "that is not already a column of the sales forms")
        return value


class _Misfit(ValueError):
    def __init__(self, value: Any) -> None:
        super().__init__(repr(value))
        self.value = value


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else type(value).__name__


def _convert(value: Any, kind: str) -> Any:
    """One JSON value as the Python value of an Arrow column of ``kind``; ``_Misfit`` if
    it does not fit (never coerced: a changed type must surface as drift)."""
    if value is None:
        return None
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
    elif kind == NUMBER:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif kind == INTEGER:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == DATE:
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
    elif kind == TIMESTAMP:
        if isinstance(value, str) and "T" in value:
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment.astimezone(dt.UTC)
    elif isinstance(value, str):
        return value
    raise _Misfit(value)


_ABSENT = object()


def _resolve(obj: dict[str, Any], path: tuple[str, ...], parent: dict[str, Any] | None) -> Any:
    """The value at ``path``; None when absent (QBO omits unset properties); ``_Misfit``
    when a step that should be an object is not one."""
    if path == PARENT_ID:
        return parent.get("Id") if parent else None
    if path[0] == CUSTOM:
        return _custom_value(obj.get("CustomField"), path[1])
    value: Any = obj
    for step in path:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _Misfit(value)
        if step == DETAIL:
            detail_type = value.get("DetailType")
            value = value.get(detail_type) if isinstance(detail_type, str) else None
        else:
            value = value.get(step)
    return value


def _describe(path: tuple[str, ...]) -> str:
    if path[0] == CUSTOM:
        return f"CustomField[Name={path[1]!r}].StringValue"
    return ".".join(path)


def _custom_value(fields: Any, name: str) -> Any:
    """The StringValue of the custom field called ``name``; None when the sale has none
    (QBO omits ``CustomField`` or the element when no value was entered)."""
    if fields is None:
        return None
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        raise _Misfit(fields)
    found = next((f for f in fields if f.get("Name") == name), None)
    return None if found is None else found.get("StringValue")


class QuickBooksAdapter(Adapter):
    """Reads one QuickBooks Online company (realm). Auth: ``access_token`` (OAuth 2.0)."""

    type_name = "quickbooks"
    Options = QuickBooksOptions

    def __init__(self, name: str, http: SourceHTTP, options: QuickBooksOptions,
                 credentials: Credentials, *, url: str = "",
                 base_dir: Path | None = None) -> None:
        super().__init__(name, http, options, credentials, url=url, base_dir=base_dir)
        if credentials.get("access_token") is None:
            raise CatalogError(
                "needs access_token (an OAuth 2.0 bearer token for the realm)",
                source=name, object="auth",
                hint="set sources.<name>.auth.access_token (env: or file: reference)")
        self._specs = tables_for(options.entities, options.custom_fields)
        self._limiter = (Limiter(Rate(options.requests_per_minute, Duration.MINUTE))
                         if options.requests_per_minute else None)

    # -- discovery --------------------------------------------------------------------

    def discover(self) -> dict[str, TableInfo]:
        """The declared tables (QBO has no metadata endpoint to ask)."""
        tables = {}
        for name, spec in self._specs.items():
            columns = tuple(
                Column(name=f.column, type=ARROW_TYPES[f.kind], native_type=f.kind,
                       filterable=f.filter is not None, sortable=f.sortable,
                       description=_describe(f.path))
                for f in spec.fields)
            tables[name] = TableInfo(name=name, columns=columns,
                                     description=f"QuickBooks {spec.entity}"
                                     + (" lines" if spec.lines else ""))
        return tables

    def _spec(self, table: TableInfo) -> EntityTable:
        return self._specs[table.name]

    # -- pushdown ---------------------------------------------------------------------

    def classify(self, table: TableInfo, predicate: exp.Expression) -> Pushdown:
        compiled = qbo.compile_filter(self._spec(table), table, predicate)
        return Pushdown.UNSUPPORTED if compiled is None else compiled[1]

    def can_sort(self, table: TableInfo, key: SortKey) -> bool:
        return qbo.can_sort(self._spec(table), key)

    def _plan(self, table: TableInfo, request: ScanRequest
              ) -> tuple[list[qbo.Branch], tuple[str, bool] | None, int | None]:
        """The queries' WHERE branches, the ORDERBY and the row limit per branch."""
        spec = self._spec(table)
        dnfs = []
        for node in request.filters:
            compiled = qbo.compile_filter(spec, table, node)
            if compiled is None:
                raise ValueError(f"predicate cannot be pushed: {node.sql()}")
            dnfs.append(compiled[0])
        branches, dropped = qbo.combine_filters(dnfs, self.options.max_queries_per_scan)
        order = None
        limit = request.limit
        if dropped or len(request.order_by) > 1:
            limit = None  # fetch every match; DuckDB applies ORDER BY ... LIMIT
        elif request.order_by:
            key = request.order_by[0]
            field = spec.field(key.column)
            order = (field.filter or "", key.descending) if field else None
        return branches, order, limit

    def native_request(self, table: TableInfo, request: ScanRequest) -> str:
        branches, order, limit = self._plan(table, request)
        size = min(self.options.page_size, limit) if limit else self.options.page_size
        return " ; ".join(qbo.build_query(self._spec(table).entity, b, order=order, size=size)
                          for b in branches)

    # -- HTTP -------------------------------------------------------------------------

    def _classify(self, response: httpx.Response, object: str) -> SourceError | None:
        """Map QBO Fault bodies to typed errors (None: retry)."""
        status = response.status_code
        code, message, detail, kind = _fault(response)
        common = {"source": self.name, "object": object}
        where = self.credentials.describe("access_token")
        if status == 401:
            return AuthenticationError(
                f"QuickBooks refused the access token ({code or status} {kind}: {detail})",
                **common, hint=f"check access_token ({where}); QBO access tokens expire "
                               "after an hour and must be refreshed")
        if status == 403:
            return AuthenticationError(
                f"QuickBooks refused access to realm {self.options.realm_id} "
                f"({code or status}: {detail})", **common,
                hint=f"check options.realm_id and that access_token ({where}) was issued "
                     "for that company")
        if status == 429 or status >= 500:
            return None
        if "is not queryable" in detail and "'" in detail:
            prop = detail.split("'")[1]
            return SchemaMismatchError(
                f"QuickBooks no longer knows the property ({detail}): declared by Concord, "
                "now missing", **common, field=prop.replace(".", "_"),
                hint="the property was removed from this entity or the minorversion "
                     "changed; filter it locally (--no-pushdown) and report it")
        if "Entity" in detail and ("not supported" in detail or "does not exist" in detail):
            return SchemaMismatchError(f"QuickBooks does not know the entity ({detail})",
                                       **common, hint="remove it from options.entities")
        return SourceQueryError(f"{code or status} {message}: {detail}", **common,
                                hint="QuickBooks refused the query Concord sent; rerun with "
                                     "--no-pushdown and report it")

    def _query(self, text: str, entity: str, ctx: ScanContext, object: str) -> dict[str, Any]:
        if self._limiter is not None:
            self._limiter.try_acquire(self.options.realm_id)
        ctx.metrics.native_requests.append(text)
        token = self.credentials.get("access_token") or ""
        response = self.http.send(
            "POST", f"/v3/company/{self.options.realm_id}/query", ctx,
            params={"minorversion": str(self.options.minorversion)},
            content=text.encode(), headers={"Content-Type": "application/text",
                                            "Authorization": f"Bearer {token}"},
            classify=lambda r: self._classify(r, object))
        try:
            body = response.json()
        except ValueError:
            raise SourceError(
                f"answered HTTP {response.status_code} with a body that is not JSON "
                f"({response.text[:80]!r})", source=self.name, object=object,
                hint="a proxy or an outage page may be in the way; try again") from None
        answer = body.get("QueryResponse") if isinstance(body, dict) else None
        if not isinstance(answer, dict):
            if isinstance(body, dict) and ("Fault" in body or "fault" in body):
                error = self._classify(response, object)
                if error is not None:
                    raise error
            raise SourceError("the answer has no QueryResponse object", source=self.name,
                              object=object, hint="QuickBooks answered in an unexpected shape")
        objects = answer.get(entity, [])
        if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
            raise SourceError(f"QueryResponse.{entity} is not a list of objects",
                              source=self.name, object=object,
                              hint="QuickBooks answered in an unexpected shape")
        return answer

    # -- scanning ---------------------------------------------------------------------

    def scan(self, table: TableInfo, request: ScanRequest,
             ctx: ScanContext) -> Iterator[pa.RecordBatch]:
        spec = self._spec(table)
        schema = table.arrow_schema(request.columns)
        branches, order, limit = self._plan(table, request)
        seen: set[str] | None = set() if len(branches) > 1 else None
        page_size = self.options.page_size
        for branch in branches:
            start, received = 1, 0
            while True:
                size = page_size if limit is None else min(page_size, limit - received)
                if size <= 0:
                    break
                text = qbo.build_query(spec.entity, branch, order=order, start=start,
                                       size=size)
                objects = self._query(text, spec.entity, ctx, table.name).get(spec.entity, [])
                ctx.metrics.pages += 1
                received += len(objects)
                if seen is not None:
                    fresh = []
                    for obj in objects:
                        key = obj.get("Id")
                        if key is None or key not in seen:
                            fresh.append(obj)
                            if key is not None:
                                seen.add(key)
                    objects = fresh
                if objects:
                    batch = self._batch(table, spec, schema, objects)
                    ctx.metrics.rows += batch.num_rows
                    yield batch
                if received < start - 1 + size:
                    break  # a short page: the last one
                start += size

    def _batch(self, table: TableInfo, spec: EntityTable, schema: pa.Schema,
               objects: list[dict[str, Any]]) -> pa.RecordBatch:
        rows: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        if spec.lines:
            for obj in objects:
                lines = obj.get("Line", [])
                if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
                    raise self._drift(table, "Line", "array of objects", lines)
                rows.extend((line, obj) for line in lines)
        else:
            rows = [(obj, None) for obj in objects]
        arrays = []
        for arrow_field in schema:
            field = spec.field(arrow_field.name)
            assert field is not None
            values = []
            for obj, parent in rows:
                try:
                    values.append(_convert(_resolve(obj, field.path, parent), field.kind))
                except _Misfit as misfit:
                    raise self._drift(table, field.column, f"{field.kind} "
                                      f"({ARROW_TYPES[field.kind]})", misfit.value) from None
            arrays.append(pa.array(values, arrow_field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _drift(self, table: TableInfo, column: str, declared: str,
               value: Any) -> SchemaMismatchError:
        """Name the declared type and the JSON type that arrived."""
        return SchemaMismatchError(
            f"sent a value that does not fit ({value!r:.80}): declared as {declared}, "
            f"arrived as {_json_type(value)}", source=self.name, object=table.name,
            field=column, hint="the property changed shape in QuickBooks (minorversion?); "
                               "Concord's declared schema needs updating")


def _fault(response: httpx.Response) -> tuple[str, str, str, str]:
    """(code, Message, Detail, type) of a Fault body; also its lowercase ``fault`` form."""
    try:
        body = response.json()
    except ValueError:
        return "", "", response.text[:200].strip(), ""
    if not isinstance(body, dict):
        return "", "", str(body)[:200], ""
    fault = body.get("Fault") or body.get("fault") or {}
    if not isinstance(fault, dict):
        return "", "", str(fault)[:200], ""
    errors = fault.get("Error") or fault.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors and isinstance(
        errors[0], dict) else {}
    return (str(first.get("code", "")), str(first.get("Message") or first.get("message") or ""),
            str(first.get("Detail") or first.get("detail") or ""),
            str(fault.get("type", "")))
