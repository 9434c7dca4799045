"""Starlette app simulating the QuickBooks Online Accounting API query endpoint for one realm.

``GET /v3/company/{realmId}/query?query=<text>&minorversion=N`` and ``POST`` of the same
path with the statement as the body (``Content-Type: application/text``, what
python-quickbooks sends), as documented in Intuit's "Query operations and syntax". The
parts that break naive clients are reproduced:

* the query language and its semantics (``query.py``): AND-only, no OR, ``%``-only LIKE,
  case-insensitive strings (configurable), 1-based ``STARTPOSITION``, ``MAXRESULTS``
  default 100 and at most 1,000 (larger values are clamped, configurable);
* ``{"QueryResponse": {"<Entity>": [...], "startPosition": n, "maxResults": k}, "time": ...}``
  with ``maxResults`` the number of objects returned, ``{"QueryResponse": {}}`` when nothing
  matches, ``{"QueryResponse": {"totalCount": n}}`` for ``COUNT(*)``;
* objects exactly as projected: unset properties omitted, plus ``domain``/``sparse``;
* Fault bodies (``{"Fault": {"Error": [{Message, Detail, code, element}], "type": ...}}``):
  400 ``ValidationFault`` 4000 for syntax errors, 4001 for unknown properties or entities,
  401 ``AuthenticationFault`` 3200 for a missing or unknown bearer token, 403 for another
  realm;
* throttling: 500 requests per minute per realm and 10 concurrent requests, each answered
  429 with a ``ThrottleExceeded`` Fault (both limits configurable);
* ``minorversion`` accepted and recorded, not interpreted.

Test hooks (fault queue, counters, ``/__sandbox/...``) come from ``SimulatorBase``.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from sandbox.projections.erp_model import QuickBooksCompany
from sandbox.simulators.base import Fault as BaseFault
from sandbox.simulators.base import SimulatorBase

from .query import (
    COMPANY_TZ,
    DEFAULT_MAX_RESULTS,
    MAX_RESULTS_CAP,
    ParsedQuery,
    QueryError,
    evaluate,
    parse,
    project,
)

__all__ = [
    "DOCUMENTED_PROPERTIES",
    "Fault",
    "QboApiError",
    "QuickBooksSimConfig",
    "QuickBooksSimulator",
    "SimStats",
    "create_app",
]

log = logging.getLogger(__name__)

_TXN = frozenset({"Id", "SyncToken", "MetaData", "DocNumber", "TxnDate", "CurrencyRef",
                  "ExchangeRate", "CustomerRef", "Line", "TotalAmt", "HomeTotalAmt",
                  "PrivateNote", "CustomerMemo", "CustomField", "LinkedTxn", "TxnTaxDetail",
                  "BillEmail", "BillAddr", "ShipAddr", "ClassRef", "DepartmentRef"})
#: Properties each entity documents (API reference), so a filter on one that no stored
#: object happens to carry is still valid; properties seen in the data are known as well.
DOCUMENTED_PROPERTIES: dict[str, frozenset[str]] = {
    "Customer": frozenset({
        "Id", "SyncToken", "MetaData", "DisplayName", "CompanyName", "GivenName",
        "FamilyName", "MiddleName", "Title", "Suffix", "PrintOnCheckName", "FullyQualifiedName",
        "PrimaryEmailAddr", "PrimaryPhone", "Mobile", "Fax", "WebAddr", "BillAddr", "ShipAddr",
        "Notes", "Balance", "BalanceWithJobs", "OpenBalanceDate", "CurrencyRef", "Active",
        "Job", "BillWithParent", "ParentRef", "Level", "Taxable", "PreferredDeliveryMethod"}),
    "Item": frozenset({
        "Id", "SyncToken", "MetaData", "Name", "Sku", "Description", "Type", "UnitPrice",
        "PurchaseCost", "PurchaseDesc", "Active", "Taxable", "TrackQtyOnHand", "QtyOnHand",
        "InvStartDate", "FullyQualifiedName", "IncomeAccountRef", "ExpenseAccountRef",
        "AssetAccountRef", "SubItem", "ParentRef", "Level"}),
    "Invoice": _TXN | {"DueDate", "Balance", "EmailStatus", "PrintStatus", "ShipDate",
                       "SalesTermRef", "Deposit", "AllowOnlineCreditCardPayment"},
    "Estimate": _TXN | {"ExpirationDate", "TxnStatus", "AcceptedBy", "AcceptedDate",
                        "EmailStatus", "PrintStatus", "DueDate"},
    "SalesReceipt": _TXN | {"Balance", "PaymentRefNum", "PaymentMethodRef",
                            "DepositToAccountRef", "EmailStatus", "PrintStatus"},
    "CreditMemo": _TXN | {"Balance", "RemainingCredit", "EmailStatus", "PrintStatus"},
    "Payment": frozenset({"Id", "SyncToken", "MetaData", "TxnDate", "CurrencyRef",
                          "ExchangeRate", "CustomerRef", "TotalAmt", "UnappliedAmt", "Line",
                          "PaymentRefNum", "PaymentMethodRef", "DepositToAccountRef",
                          "PrivateNote", "ProcessPayment", "ARAccountRef"}),
}


@dataclass
class QuickBooksSimConfig:
    """Knobs for one simulated realm; defaults follow Intuit's documented limits."""

    bearer_tokens: tuple[str, ...] = ("qbo-sandbox-token",)
    #: string =, IN, LIKE, ranges and ORDERBY ignore case (the reference marks it unclear)
    case_insensitive: bool = True
    default_max_results: int = DEFAULT_MAX_RESULTS
    max_results_cap: int = MAX_RESULTS_CAP
    #: MAXRESULTS above the cap: "clamp" (answer at most the cap) or "error" (400)
    max_results_over_cap: str = "clamp"
    #: per realm; None disables the limit
    requests_per_minute: int | None = 500
    concurrency_limit: int | None = 10
    #: include ``totalCount`` in ordinary (non-COUNT) answers; QBO does not
    include_total_count: bool = False
    #: properties known per entity; None = ``DOCUMENTED_PROPERTIES`` plus those in the data
    known_properties: dict[str, frozenset[str]] | None = None
    latency_ms: float = 0.0


class QboApiError(Exception):
    """An error the simulator answers with a QBO Fault body."""

    def __init__(self, status: int, code: str, message: str, detail: str,
                 fault_type: str = "ValidationFault", element: str = "") -> None:
        super().__init__(f"{code}: {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.fault_type = fault_type
        self.element = element

    def body(self) -> dict[str, Any]:
        return {"Fault": {"Error": [{"Message": self.message, "Detail": self.detail,
                                     "code": self.code, "element": self.element}],
                          "type": self.fault_type},
                "time": _now()}


def authentication_failed(detail: str = "Token invalid") -> QboApiError:
    return QboApiError(401, "3200", "message=AuthenticationFailed; errorCode=003200; "
                       "statusCode=401", detail, "AuthenticationFault")


def throttled() -> QboApiError:
    return QboApiError(429, "3001", "message=ThrottleExceeded; errorCode=003001; "
                       "statusCode=429", "The request limit was reached.", "ThrottleExceeded")


class Fault(BaseFault):
    """A queued failure whose default answer is QBO's Fault body for the status."""

    def default_error(self) -> QboApiError:
        if self.status == 401:
            return authentication_failed()
        if self.status == 429:
            return throttled()
        if self.status == 400:
            return QboApiError(400, "4000", "Error parsing query", "QueryParserError: injected")
        return QboApiError(self.status, "10000", "An application error has occurred while "
                           "processing your request", "System Failure Error: injected",
                           "SystemFault")


@dataclass
class SimStats:
    """Counters for tests and benchmarks (what the client actually asked for)."""

    requests_total: int = 0
    requests_by_kind: Counter[str] = field(default_factory=Counter)
    responses_by_status: Counter[int] = field(default_factory=Counter)
    rows_returned: int = 0
    pages_served: int = 0
    faults_served: int = 0
    throttled: int = 0  # 429s from the rate or concurrency limit (not injected faults)
    max_in_flight: int = 0
    auth_failures: int = 0
    queries: list[str] = field(default_factory=list)  # query texts, as received
    minorversions: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_kind": dict(self.requests_by_kind),
            "responses_by_status": {str(k): v for k, v in self.responses_by_status.items()},
            "rows_returned": self.rows_returned,
            "pages_served": self.pages_served,
            "faults_served": self.faults_served,
            "throttled": self.throttled,
            "max_in_flight": self.max_in_flight,
            "auth_failures": self.auth_failures,
            "queries": list(self.queries),
            "minorversions": dict(self.minorversions),
        }


def _now() -> str:
    moment = dt.datetime.now(COMPANY_TZ)
    return moment.isoformat(timespec="milliseconds")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, headers={"intuit_tid": "sandbox-tid",
                                                       **(headers or {})},
                    media_type="application/json;charset=UTF-8")


class QuickBooksSimulator(SimulatorBase[SimStats, Fault]):
    """One simulated realm: the ASGI ``app`` plus test hooks (``stats``, ``inject``)."""

    fault_class = Fault
    stats_class = SimStats
    json_response = staticmethod(_json)
    unknown_hook_body = QboApiError(404, "610", "Object Not Found", "unknown sandbox hook",
                                    "ValidationFault").body()

    def __init__(self, company: QuickBooksCompany,
                 config: QuickBooksSimConfig | None = None) -> None:
        super().__init__()
        self.company = company
        self.config = config or QuickBooksSimConfig()
        self.in_flight = 0
        self._recent: collections.deque[float] = collections.deque()

    def known_properties(self, entity: str) -> frozenset[str]:
        """Top-level properties a query may name on ``entity``."""
        if self.config.known_properties is not None:
            return self.config.known_properties.get(entity, frozenset())
        seen = {key for obj in self.company.entities.get(entity, ()) for key in obj}
        return DOCUMENTED_PROPERTIES.get(entity, frozenset()) | seen

    # ------------------------------------------------------------------ dispatch
    async def _dispatch(self, request: Request) -> Response:
        path = request.url.path
        if path.startswith("/__sandbox/"):
            return await self._sandbox(request, path)
        parts = path.strip("/").split("/")
        is_query = len(parts) == 4 and parts[:2] == ["v3", "company"] and parts[3] == "query"
        kind = "query" if is_query else "other"
        stats = self.stats
        stats.requests_total += 1
        stats.requests_by_kind[kind] += 1
        response = self._throttle()
        if response is None:
            self.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, self.in_flight)
            try:
                if self.config.latency_ms:
                    await asyncio.sleep(self.config.latency_ms / 1000.0)
                response = await self._handle(request, kind, parts)
            finally:
                self.in_flight -= 1
        stats.responses_by_status[response.status_code] += 1
        return response

    def _throttle(self) -> Response | None:
        """429 past 10 concurrent requests or 500 in the last minute (per realm)."""
        cfg = self.config
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        over_rate = cfg.requests_per_minute is not None and (
            len(self._recent) >= cfg.requests_per_minute)
        over_concurrency = cfg.concurrency_limit is not None and (
            self.in_flight >= cfg.concurrency_limit)
        if over_rate or over_concurrency:
            self.stats.throttled += 1
            return _json(throttled().body(), 429)
        self._recent.append(now)
        return None

    async def _handle(self, request: Request, kind: str, parts: list[str]) -> Response:
        fault = self._take_fault(kind)
        if fault is not None:
            return self._fault_response(fault)
        try:
            self._authenticate(request)
            if kind != "query":
                raise QboApiError(404, "610", "Object Not Found",
                                  f"The resource {request.url.path} is not served here")
            if parts[2] != self.company.realm_id:
                raise QboApiError(403, "3100", "message=ApplicationAuthorizationFailed; "
                                  "errorCode=003100; statusCode=403",
                                  "The token is not authorized for this realm",
                                  "AuthorizationFault")
            return await self._query(request)
        except QboApiError as e:
            return _json(e.body(), e.status)
        except Exception:  # a simulator bug or bad model data: answer like QBO does
            log.exception("simulator error on %s", request.url.path)
            return _json(Fault(500).default_error().body(), 500)

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip() in self.config.bearer_tokens:
            return
        self.stats.auth_failures += 1
        raise authentication_failed("Token invalid" if token else "No bearer token")

    # ------------------------------------------------------------------ query
    async def _query(self, request: Request) -> Response:
        minor = request.query_params.get("minorversion")
        if minor is not None:
            self.stats.minorversions[minor] += 1
        if request.method == "GET":
            text = request.query_params.get("query", "")
        elif request.method == "POST":
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in ("application/text", "text/plain"):
                raise QboApiError(415, "4000", "Unsupported Media Type",
                                  f"Content-Type {media or '(none)'} is not supported for "
                                  "query; use application/text")
            text = (await request.body()).decode("utf-8", "replace")
        else:
            raise QboApiError(405, "4000", "Method Not Allowed",
                              f"{request.method} is not supported for query")
        if not text.strip():
            raise QboApiError(400, "4000", "Error parsing query",
                              "QueryParserError: Encountered \"<EOF>\" at line 1, column 0.")
        self.stats.queries.append(text)
        try:
            query = parse(text)
        except QueryError as e:
            raise QboApiError(400, e.code, e.message, e.detail) from None
        self._validate(query)
        return self._answer(query)

    def _validate(self, query: ParsedQuery) -> None:
        if query.entity not in self.company.entities:
            raise QboApiError(400, "4001", "Invalid query",
                              f"QueryValidationError: Entity {query.entity} is not supported "
                              "or does not exist")
        known = self.known_properties(query.entity)
        for path in sorted(query.paths):
            if path[0] not in known:
                raise QboApiError(400, "4001", "Invalid query",
                                  f"QueryValidationError: property '{'.'.join(path)}' is not "
                                  "queryable")
        cfg = self.config
        if (query.max_results is not None and query.max_results > cfg.max_results_cap
                and cfg.max_results_over_cap == "error"):
            raise QboApiError(400, "4001", "Invalid query",
                              f"QueryValidationError: MAXRESULTS must be at most "
                              f"{cfg.max_results_cap}")

    def _answer(self, query: ParsedQuery) -> Response:
        cfg = self.config
        rows = evaluate(self.company.entities[query.entity], query, fold=cfg.case_insensitive)
        if query.count:
            return _json({"QueryResponse": {"totalCount": len(rows)}, "time": _now()})
        size = query.max_results if query.max_results is not None else cfg.default_max_results
        size = max(0, min(size, cfg.max_results_cap))
        page = rows[query.start_position - 1: query.start_position - 1 + size]
        self.stats.pages_served += 1
        self.stats.rows_returned += len(page)
        body: dict[str, Any] = {}
        if page:
            body[query.entity] = [{**project(o, query), "domain": "QBO",
                                   "sparse": not query.star} for o in page]
            body["startPosition"] = query.start_position
            body["maxResults"] = len(page)
        if cfg.include_total_count and page:
            body["totalCount"] = len(rows)
        return _json({"QueryResponse": body, "time": _now()})


def create_app(company: QuickBooksCompany,
               config: QuickBooksSimConfig | None = None) -> Starlette:
    """Build the ASGI app; the ``QuickBooksSimulator`` is at ``app.state.simulator``."""
    return QuickBooksSimulator(company, config).app
