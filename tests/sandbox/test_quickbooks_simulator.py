"""The QuickBooks Online simulator speaks Intuit's documented query endpoint: GET and POST,
the AND-only query language, 1-based paging, Fault bodies, bearer tokens and throttling."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sandbox.projections.erp_model import QuickBooksCompany
from sandbox.simulators.quickbooks import QuickBooksSimConfig, QuickBooksSimulator, parse

REALM = "4620816365000000001"
TOKEN = "sim-token"
PATH = f"/v3/company/{REALM}/query"


def company(n: int = 250) -> QuickBooksCompany:
    customers = [{"Id": str(i), "SyncToken": "0", "DisplayName": name, "Active": i % 2 == 0,
                  "Balance": float(i * 10),
                  "MetaData": {"CreateTime": f"2024-01-{i:02d}T10:00:00-08:00"}}
                 for i, name in enumerate(["Acme", "acme ltd", "O'Brien", "Zeta", "50% Off"], 1)]
    customers[3].pop("Balance")
    invoices = [{"Id": str(100 + i), "DocNumber": f"D{i}", "TxnDate": f"2024-02-{1 + i % 28:02d}",
                 "TotalAmt": round(i * 1.5, 2), "CustomerRef": {"value": str(1 + i % 5),
                                                                "name": "x"},
                 "Line": []} for i in range(n)]
    return QuickBooksCompany({"Customer": customers, "Invoice": invoices}, realm_id=REALM)


class AsgiClient:
    """Synchronous requests straight into the ASGI app (no socket needed)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://qbo") as ac:
                return await ac.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._send("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._send("POST", url, **kw)


def client(**kw: Any) -> tuple[QuickBooksSimulator, AsgiClient]:
    sim = QuickBooksSimulator(company(), QuickBooksSimConfig(bearer_tokens=(TOKEN,), **kw))
    return sim, AsgiClient(sim.app)


def get(c: AsgiClient, query: str, token: str = TOKEN) -> httpx.Response:
    return c.get(PATH, params={"query": query, "minorversion": "75"},
                 headers={"Authorization": f"Bearer {token}"})


def ids(response: httpx.Response, entity: str = "Customer") -> list[str]:
    return [o["Id"] for o in response.json()["QueryResponse"].get(entity, [])]


def test_get_and_post_answer_alike() -> None:
    sim, c = client()
    got = get(c, "SELECT * FROM Customer WHERE Active = true")
    posted = c.post(PATH, params={"minorversion": "75"}, content="select * from Customer "
                    "where Active = true", headers={"Authorization": f"Bearer {TOKEN}",
                                                    "Content-Type": "application/text"})
    assert got.status_code == posted.status_code == 200
    body = got.json()
    assert set(body) == {"QueryResponse", "time"}
    assert body["QueryResponse"]["startPosition"] == 1
    assert body["QueryResponse"]["maxResults"] == 2
    assert ids(got) == ids(posted) == ["2", "4"]
    assert sim.stats.minorversions == {"75": 2}
    assert sim.stats.queries[0] == "SELECT * FROM Customer WHERE Active = true"


def test_paging_is_one_based_with_default_100_and_cap_1000() -> None:
    _, c = client()
    assert len(ids(get(c, "SELECT * FROM Invoice"), "Invoice")) == 100
    page = get(c, "SELECT * FROM Invoice STARTPOSITION 101 MAXRESULTS 100")
    assert ids(page, "Invoice")[0] == "200"
    assert page.json()["QueryResponse"]["startPosition"] == 101
    assert len(ids(get(c, "SELECT * FROM Invoice MAXRESULTS 5000"), "Invoice")) == 250
    empty = get(c, "SELECT * FROM Invoice STARTPOSITION 251")
    assert empty.json()["QueryResponse"] == {}
    count = get(c, "SELECT COUNT(*) FROM Invoice WHERE TotalAmt >= 300")
    assert count.json()["QueryResponse"] == {"totalCount": 50}


@pytest.mark.parametrize(("where", "expected"), [
    ("DisplayName = 'ACME'", ["1"]),  # case-insensitive
    ("DisplayName = 'O\\'Brien'", ["3"]),
    ("DisplayName LIKE 'acme%'", ["1", "2"]),
    ("DisplayName LIKE '%\\'b%'", ["3"]),
    ("DisplayName LIKE '50%'", ["5"]),
    ("Balance > 20", ["3", "5"]),  # Zeta has no Balance: never matches
    ("Balance >= 20 AND Balance < 50", ["2", "3"]),
    ("Balance <= 10", ["1"]),
    ("Id IN ('1', '3', '9')", ["1", "3"]),
    ("MetaData.CreateTime > '2024-01-03T17:59:59Z'", ["3", "4", "5"]),
    ("MetaData.CreateTime < '2024-01-02'", ["1"]),
    ("Active = false", ["1", "3", "5"]),
])
def test_operators(where: str, expected: list[str]) -> None:
    _, c = client()
    response = get(c, f"SELECT * FROM Customer WHERE {where}")
    assert response.status_code == 200, response.text
    assert ids(response) == expected


def test_case_sensitivity_is_configurable_and_refs_compare_their_value() -> None:
    _, c = client(case_insensitive=False)
    assert ids(get(c, "SELECT * FROM Customer WHERE DisplayName = 'ACME'")) == []
    refs = get(c, "SELECT * FROM Invoice WHERE CustomerRef = '2' MAXRESULTS 3")
    assert ids(refs, "Invoice") == ["101", "106", "111"]
    ordered = get(c, "SELECT * FROM Invoice ORDERBY TotalAmt DESC MAXRESULTS 2")
    assert ids(ordered, "Invoice") == ["349", "348"]
    ordered = get(c, "SELECT * FROM Customer ORDER BY Balance")
    assert ids(ordered) == ["4", "1", "2", "3", "5"]


@pytest.mark.parametrize("query", [
    "SELECT * FROM Customer WHERE Active = true OR Balance > 1",
    "SELECT * FROM Customer WHERE Balance != 1",
    "SELECT * FROM Customer WHERE NOT Active = true",
    "SELECT * FROM Customer WHERE DisplayName IS NULL",
    "SELECT * FROM Customer WHERE (Balance > 1)",
    "SELEC * FROM Customer",
])
def test_or_and_unknown_syntax_are_refused(query: str) -> None:
    _, c = client()
    response = get(c, query)
    assert response.status_code == 400
    fault = response.json()["Fault"]
    assert fault["type"] == "ValidationFault"
    assert fault["Error"][0]["code"] == "4000"
    assert fault["Error"][0]["Detail"].startswith("QueryParserError")
    with pytest.raises(Exception, match="QueryParserError"):
        parse(query)


def test_unknown_property_and_entity_are_validation_errors() -> None:
    _, c = client()
    response = get(c, "SELECT * FROM Customer WHERE Nickname = 'x'")
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0] == {
        "Message": "Invalid query", "Detail": "QueryValidationError: property 'Nickname' is "
        "not queryable", "code": "4001", "element": ""}
    assert get(c, "SELECT * FROM customer").status_code == 400  # entity names are case-sensitive


def test_bad_token_and_other_realm() -> None:
    _, c = client()
    response = get(c, "SELECT * FROM Customer", token="nope")
    assert response.status_code == 401
    fault = response.json()["Fault"]
    assert fault["type"] == "AuthenticationFault" and fault["Error"][0]["code"] == "3200"
    other = c.get("/v3/company/1/query", params={"query": "SELECT * FROM Customer"},
                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert other.status_code == 403


def test_rate_limit_per_minute_and_injected_faults() -> None:
    sim, c = client(requests_per_minute=3)
    assert [get(c, "SELECT * FROM Customer").status_code for _ in range(4)] == [200, 200, 200,
                                                                                429]
    throttled = get(c, "SELECT * FROM Customer").json()["Fault"]
    assert throttled["Error"][0]["Message"].startswith("message=ThrottleExceeded")
    assert sim.stats.throttled == 2
    sim, c = client()
    sim.inject(503)
    assert get(c, "SELECT * FROM Customer").status_code == 503
    assert get(c, "SELECT * FROM Customer").status_code == 200


def test_concurrency_limit_of_ten() -> None:
    sim = QuickBooksSimulator(company(), QuickBooksSimConfig(bearer_tokens=(TOKEN,),
                                                             latency_ms=200))

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qbo") as ac:
            calls = [ac.get(PATH, params={"query": "SELECT * FROM Customer"},
                            headers={"Authorization": f"Bearer {TOKEN}"}) for _ in range(12)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    statuses = asyncio.run(run())
    assert statuses.count(200) == 10 and statuses.count(429) == 2
    assert sim.stats.max_in_flight == 10
