"""Simulator responses must match HubSpot's published OpenAPI response schemas.

The specs come from ``HubSpot/HubSpot-public-api-spec-collection`` (copied to
``shared/specs/hubspot`` beside the repository). Schemas are looked up through the spec's
own ``paths`` (operation, status code, content) and validated with jsonschema after turning
OpenAPI 3.0's ``nullable`` into JSON Schema. Object schemas are made closed
(``additionalProperties: false`` where the spec leaves them open) so a misspelled or invented
field fails too.

Where the real API is known to differ from its spec, the simulator follows the real API
and the difference is patched here explicitly (``REAL_API_PATCHES``), each one named:
requested-but-empty properties are ``null``; v4 ``toObjectId`` is a number; unlabeled
association types have ``label: null``; 207 association errors carry ``subCategory`` as a
string without ``errors``/``links``. A separate test checks the strict, unpatched spec on
responses where those cases do not arise.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT4

from sandbox.simulators.hubspot import HubSpotSimConfig, HubSpotSimulator
from sandbox.simulators.serve import RunningServer
from tests.sandbox.test_hubspot_simulator import AUTH, NO_LIMITS, make_portal

SPEC_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "hubspot-openapi"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

pytestmark = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"specs not found at {SPEC_DIR}")


def _nullable(schema: dict[str, Any]) -> None:
    schema["nullable"] = True


def _to_id_number_or_string(schema: dict[str, Any]) -> None:
    schema["properties"]["toObjectId"] = {"type": ["string", "integer"]}


def _label_nullable(schema: dict[str, Any]) -> None:
    schema["properties"]["label"]["nullable"] = True


def _standard_error_as_sent(schema: dict[str, Any]) -> None:
    schema["properties"]["subCategory"] = {"type": "string"}
    schema["required"] = ["category", "message", "status"]


# (spec file, JSON pointer inside the spec, patch): real-API behaviour the spec omits.
REAL_API_PATCHES: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = [
    *(
        (
            name,
            f"/components/schemas/{schema}/properties/properties/additionalProperties",
            _nullable,
        )
        for name in ("crm-objects-v3.json", "crm-objects-2026-03.json", "deals-v3.json")
        for schema in ("SimplePublicObject", "SimplePublicObjectWithAssociations")
    ),
    (
        "associations-v4.json",
        "/components/schemas/MultiAssociatedObjectWithLabel",
        _to_id_number_or_string,
    ),
    ("associations-v4.json", "/components/schemas/AssociationSpecWithLabel", _label_nullable),
    ("associations-v4.json", "/components/schemas/StandardError", _standard_error_as_sent),
]


def _pointer(doc: dict[str, Any], pointer: str) -> Any:
    node: Any = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _to_json_schema(node: Any, closed: bool) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema (draft 4) in place of the whole spec."""
    if isinstance(node, list):
        return [_to_json_schema(n, closed) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v, closed) for k, v in node.items()}
    if out.pop("nullable", False) is True and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    if (
        closed
        and out.get("type") == "object"
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


@cache
def load_spec(name: str, patched: bool = True, closed: bool = True) -> dict[str, Any]:
    spec = json.loads((SPEC_DIR / name).read_text())
    spec = copy.deepcopy(spec)
    if patched:
        for file, pointer, patch in REAL_API_PATCHES:
            if file == name:
                patch(_pointer(spec, pointer))
    return _to_json_schema(spec, closed)


def validate(
    spec_name: str,
    path: str,
    method: str,
    status: int,
    body: Any,
    patched: bool = True,
    closed: bool = True,
) -> None:
    """Validate ``body`` against the schema the spec declares for this operation/status."""
    spec = load_spec(spec_name, patched, closed)
    responses = spec["paths"][path][method]["responses"]
    response = responses.get(str(status)) or responses["default"]
    if "$ref" in response:
        response = _pointer(spec, response["$ref"][1:])
    schema = next(iter(response["content"].values()))["schema"]
    registry = referencing.Registry().with_resource(
        "urn:spec", referencing.Resource(contents=spec, specification=DRAFT4)
    )
    root = {"$ref": "urn:spec" + schema["$ref"]} if "$ref" in schema else schema
    validator = jsonschema.Draft4Validator(root, registry=registry)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _timestamps_are_iso(body: Any) -> None:
    if isinstance(body, dict):
        for k, v in body.items():
            if k in ("createdAt", "updatedAt", "archivedAt", "startedAt", "completedAt"):
                assert isinstance(v, str) and ISO_MS.match(v), (k, v)
            _timestamps_are_iso(v)
    elif isinstance(body, list):
        for v in body:
            _timestamps_are_iso(v)


@pytest.fixture(scope="module")
def sim() -> HubSpotSimulator:
    return HubSpotSimulator(make_portal(n_line_items=120), HubSpotSimConfig(**NO_LIMITS))


@pytest.fixture(scope="module")
def server(sim: HubSpotSimulator) -> Iterator[RunningServer]:
    with sim.serve() as running:
        yield running


@pytest.fixture(scope="module")
def client(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as c:
        yield c


OBJECTS = "crm-objects-v3.json"
# The spec's Error schema plus ``status`` (always "error") and the rate-limit fields that
# real 429 bodies carry; Error bodies are validated open and checked against this set.
ERROR_FIELDS = {
    "status",
    "message",
    "correlationId",
    "category",
    "subCategory",
    "context",
    "errors",
    "links",
    "errorType",
    "policyName",
    "groupName",
}
DATED = "crm-objects-2026-03.json"


def test_spec_files_present() -> None:
    names = {p.name for p in SPEC_DIR.glob("*.json")}
    assert {
        "crm-objects-v3.json",
        "crm-objects-2026-03.json",
        "deals-v3.json",
        "properties-v3.json",
        "associations-v4.json",
    } <= names


@pytest.mark.parametrize("obj", ["deals", "companies", "contacts", "line_items", "cars", "0-5"])
def test_list_matches_spec(client: httpx.Client, obj: str) -> None:
    body = client.get(f"/crm/v3/objects/{obj}", params={"limit": 100}).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 200, body)
    _timestamps_are_iso(body)
    with_props = client.get(
        f"/crm/v3/objects/{obj}", params={"properties": "amount,closedate,industry,nope"}
    ).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 200, with_props)
    archived = client.get(f"/crm/v3/objects/{obj}", params={"archived": "true"}).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 200, archived)


def test_list_paging_and_dated_and_deals_spec(client: httpx.Client) -> None:
    page = client.get("/crm/v3/objects/line_items", params={"limit": 5}).json()
    assert "paging" in page
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 200, page)
    dated = client.get("/crm/objects/2026-03/line_items", params={"limit": 5}).json()
    validate(DATED, "/crm/objects/2026-03/{objectType}", "get", 200, dated)
    deals = client.get("/crm/v3/objects/0-3").json()
    validate("deals-v3.json", "/crm/v3/objects/0-3", "get", 200, deals)


def test_strict_spec_where_no_nulls_arise(client: httpx.Client) -> None:
    """Companies' default properties all have values: no patch needed."""
    body = client.get("/crm/v3/objects/companies").json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 200, body, patched=False)
    found = client.post(
        "/crm/v3/objects/companies/search", json={"properties": ["name"], "limit": 2}
    ).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}/search", "post", 200, found, patched=False)


def test_search_matches_spec(client: httpx.Client) -> None:
    body = client.post(
        "/crm/v3/objects/deals/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "amount", "operator": "GT", "value": "0"}]}
            ],
            "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
            "properties": ["dealname", "amount", "closedate"],
            "limit": 2,
        },
    ).json()
    assert body["paging"]["next"]["after"] == "2"
    validate(OBJECTS, "/crm/v3/objects/{objectType}/search", "post", 200, body)
    _timestamps_are_iso(body)
    dated = client.post("/crm/objects/2026-03/deals/search", json={"limit": 200}).json()
    validate(DATED, "/crm/objects/2026-03/{objectType}/search", "post", 200, dated)
    deals = client.post("/crm/v3/objects/0-3/search", json={}).json()
    validate("deals-v3.json", "/crm/v3/objects/0-3/search", "post", 200, deals)


def test_read_and_batch_read_match_spec(client: httpx.Client) -> None:
    one = client.get("/crm/v3/objects/deals/4", params={"properties": "amount"}).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}/{objectId}", "get", 200, one)
    gone = client.get("/crm/v3/objects/deals/6", params={"archived": "true"}).json()
    validate(OBJECTS, "/crm/v3/objects/{objectType}/{objectId}", "get", 200, gone)
    ok = client.post("/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": "1"}]})
    validate(OBJECTS, "/crm/v3/objects/{objectType}/batch/read", "post", 200, ok.json())
    partial = client.post(
        "/crm/v3/objects/deals/batch/read", json={"inputs": [{"id": "1"}, {"id": "404"}]}
    )
    assert partial.status_code == 207
    validate(OBJECTS, "/crm/v3/objects/{objectType}/batch/read", "post", 207, partial.json())


@pytest.mark.parametrize("obj", ["deals", "contacts", "companies", "cars"])
def test_properties_match_spec(client: httpx.Client, obj: str) -> None:
    body = client.get(f"/crm/v3/properties/{obj}").json()
    validate("properties-v3.json", "/crm/v3/properties/{objectType}", "get", 200, body)
    _timestamps_are_iso(body)
    name = body["results"][0]["name"]
    one = client.get(f"/crm/v3/properties/{obj}/{name}").json()
    validate(
        "properties-v3.json", "/crm/v3/properties/{objectType}/{propertyName}", "get", 200, one
    )


V4_BATCH = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"
V4_GET = "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}"


def test_v4_associations_match_spec(client: httpx.Client) -> None:
    ok = client.post(
        "/crm/v4/associations/deals/contacts/batch/read", json={"inputs": [{"id": "1"}]}
    )
    assert ok.status_code == 200
    validate("associations-v4.json", V4_BATCH, "post", 200, ok.json())
    _timestamps_are_iso(ok.json())
    partial = client.post(
        "/crm/v4/associations/deals/companies/batch/read",
        json={"inputs": [{"id": "1"}, {"id": "3"}]},
    )
    assert partial.status_code == 207
    validate("associations-v4.json", V4_BATCH, "post", 207, partial.json())
    paged = client.get("/crm/v4/objects/deals/1/associations/line_items", params={"limit": 1})
    assert "paging" in paged.json()
    validate("associations-v4.json", V4_GET, "get", 200, paged.json())


def test_v4_strict_spec_with_string_ids() -> None:
    """With string ids and labelled associations the unpatched spec holds as well."""
    cfg = HubSpotSimConfig(association_ids_as_numbers=False, **NO_LIMITS)
    sim = HubSpotSimulator(make_portal(n_line_items=0), cfg)
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        r = c.post("/crm/v4/associations/contacts/cars/batch/read", json={"inputs": [{"id": "1"}]})
        assert r.json()["results"][0]["to"][0]["toObjectId"] == "31"
        validate("associations-v4.json", V4_BATCH, "post", 200, r.json(), patched=False)


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("get", "/crm/v3/objects/deals/999", None, 404),
        ("get", "/crm/v3/objects/nope", None, 400),
        ("post", "/crm/v3/objects/deals/search", {"filterGroups": [{"filters": [{}]}]}, 400),
        ("post", "/crm/v3/objects/deals/search", {"after": "10000"}, 400),
    ],
)
def test_error_bodies_match_spec(
    client: httpx.Client, method: str, path: str, payload: Any, status: int
) -> None:
    r = client.request(method, path, json=payload)
    assert r.status_code == status
    spec_path = (
        "/crm/v3/objects/{objectType}/search"
        if path.endswith("search")
        else ("/crm/v3/objects/{objectType}/{objectId}")
    )
    validate(OBJECTS, spec_path, method, status, r.json(), closed=False)
    assert r.json()["status"] == "error"
    assert set(r.json()) <= ERROR_FIELDS


def test_auth_and_rate_limit_errors_match_spec(server: RunningServer) -> None:
    r = httpx.get(f"{server.url}/crm/v3/objects/deals")
    assert r.status_code == 401
    validate(OBJECTS, "/crm/v3/objects/{objectType}", "get", 401, r.json(), closed=False)
    assert set(r.json()) <= ERROR_FIELDS
    sim = HubSpotSimulator(
        make_portal(n_line_items=0), HubSpotSimConfig(search_requests_per_second=1)
    )
    with sim.serve() as srv, httpx.Client(base_url=srv.url, headers=AUTH) as c:
        c.post("/crm/v3/objects/deals/search", json={})
        throttled = c.post("/crm/v3/objects/deals/search", json={})
        assert throttled.status_code == 429
        # the 429 body carries errorType/policyName/groupName beyond the spec's Error
        validate(
            OBJECTS,
            "/crm/v3/objects/{objectType}/search",
            "post",
            429,
            throttled.json(),
            closed=False,
        )
