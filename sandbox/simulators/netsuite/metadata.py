"""NetSuite's REST metadata catalog for the simulated account.

NetSuite documents ``GET /services/rest/record/v1/metadata-catalog/`` (the records the role
can see) and ``GET /services/rest/record/v1/metadata-catalog/{record}`` with
``Accept: application/schema+json``, which answers the record's JSON Schema: one entry
under ``properties`` per field with ``type``, ``format`` for dates and times, ``title``
(the field label) and ``nullable``. Clients use it to learn field types before running
SuiteQL, so the simulator serves it from the same ``ErpField`` list the SuiteQL engine
loads, in the record's field order.

The simulator types fields the way SuiteQL returns them (a select field is the referenced
record's integer internal id), which keeps the schema and the query results consistent.
"""

from __future__ import annotations

from typing import Any

from sandbox.projections.erp_model import ErpTable

__all__ = ["METADATA_PATH", "SCHEMA_TYPE", "catalog_listing", "record_schema"]

METADATA_PATH = "/services/rest/record/v1/metadata-catalog"
SCHEMA_TYPE = "application/schema+json"

# ErpField.type -> (JSON Schema type, format)
_TYPES: dict[str, tuple[str, str | None]] = {
    "integer": ("integer", None),
    "select": ("integer", None),
    "float": ("number", "double"),
    "currency": ("number", "double"),
    "text": ("string", None),
    "date": ("string", "date"),
    "datetime": ("string", "date-time"),
    "boolean": ("boolean", None),
}


def record_schema(table: ErpTable, base_url: str) -> dict[str, Any]:
    """The JSON Schema NetSuite answers for one record type."""
    properties: dict[str, Any] = {}
    for f in table.fields:
        kind, fmt = _TYPES.get(f.type, ("string", None))
        prop: dict[str, Any] = {"type": kind}
        if fmt is not None:
            prop["format"] = fmt
        prop["title"] = f.label or f.name
        prop["nullable"] = f.nullable
        properties[f.name.lower()] = prop
    return {
        "type": "object",
        "properties": properties,
        "links": [
            {"rel": "self", "href": f"{base_url}{METADATA_PATH}/{table.name.lower()}"},
        ],
    }


def catalog_listing(tables: dict[str, ErpTable], base_url: str) -> dict[str, Any]:
    """The metadata catalog's record list (``items`` with a ``describes`` link each)."""
    items = []
    for name in tables:
        href = f"{base_url}{METADATA_PATH}/{name.lower()}"
        items.append({
            "name": name.lower(),
            "links": [
                {"rel": "canonical", "href": href},
                {"rel": "alternate", "href": href, "mediaType": SCHEMA_TYPE},
                {"rel": "describes", "href": f"{base_url}/services/rest/record/v1/{name.lower()}"},
            ],
        })
    return {"items": items, "links": [{"rel": "self", "href": f"{base_url}{METADATA_PATH}"}]}
