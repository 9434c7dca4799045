"""Read an OData v2 ``$metadata`` (EDMX) document into Concord columns.

Our own small parse with the standard library, independent of the sandbox simulator, so a
mistake there cannot agree with a mistake here. Elements are matched on their local names:
SAP services use different EDM namespace versions (2006/04, 2007/05, 2008/09), while the
``sap:`` annotations always use the same URI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pyarrow as pa

from adapters.contract import Column

SAP_NS = "{http://www.sap.com/Protocols/SAPData}"

_STRING = frozenset({"Edm.String", "Edm.Guid", "Edm.Time"})
_INTEGER = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
_FLOAT = frozenset({"Edm.Double", "Edm.Single"})
TIMESTAMP = pa.timestamp("ms", tz="UTC")


@dataclass(frozen=True)
class EntitySet:
    """One entity set as discovered: its key and its properties in document order."""

    name: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]
    edm_types: dict[str, str]  # every property (read or not) → its Edm type


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _int(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.strip().isdigit() else None


def arrow_type(edm: str, precision: int | None, scale: int | None,
               display_format: str | None) -> pa.DataType | None:
    """Concord's Arrow type for an Edm type, or None for types we do not read (Binary)."""
    if edm in _STRING:
        return pa.string()
    if edm == "Edm.Decimal":
        if precision is None or not 0 < precision <= 38:
            return pa.float64()
        return pa.decimal128(precision, min(scale or 0, precision))
    if edm == "Edm.DateTime":
        return pa.date32() if display_format == "Date" else TIMESTAMP
    if edm == "Edm.DateTimeOffset":
        return TIMESTAMP
    if edm == "Edm.Boolean":
        return pa.bool_()
    if edm in _INTEGER:
        return pa.int64()
    if edm in _FLOAT:
        return pa.float64()
    return None


def _column(prop: ET.Element) -> Column | None:
    edm = prop.get("Type", "")
    kind = arrow_type(edm, _int(prop.get("Precision")), _int(prop.get("Scale")),
                      prop.get(f"{SAP_NS}display-format"))
    if kind is None:
        return None
    return Column(
        prop.get("Name", ""), kind, native_type=edm,
        nullable=prop.get("Nullable", "true").lower() != "false",
        filterable=prop.get(f"{SAP_NS}filterable", "true").lower() != "false",
        sortable=prop.get(f"{SAP_NS}sortable", "true").lower() != "false",
        description=prop.get(f"{SAP_NS}label", ""),
    )


def parse_metadata(data: bytes) -> dict[str, EntitySet]:
    """Every entity set of the document, keyed by its name.

    Raises ``ValueError`` when the document is not EDMX.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"not an EDMX document ({exc})") from None
    types: dict[str, ET.Element] = {}
    sets: list[ET.Element] = []
    for schema in (e for e in root.iter() if _local(e.tag) == "Schema"):
        namespace = schema.get("Namespace", "")
        alias = schema.get("Alias")
        for child in schema:
            tag = _local(child.tag)
            if tag == "EntityType":
                types[f"{namespace}.{child.get('Name', '')}"] = child
                if alias:
                    types[f"{alias}.{child.get('Name', '')}"] = child
            elif tag == "EntityContainer":
                sets.extend(es for es in child if _local(es.tag) == "EntitySet")
    if not types and not sets:
        raise ValueError("not an EDMX document (no Schema with entity types)")
    out: dict[str, EntitySet] = {}
    for es in sets:
        entity_type = types.get(es.get("EntityType", ""))
        if entity_type is None:
            continue
        keys = tuple(ref.get("Name", "") for key in entity_type if _local(key.tag) == "Key"
                     for ref in key if _local(ref.tag) == "PropertyRef")
        props = [p for p in entity_type if _local(p.tag) == "Property"]
        columns = tuple(c for c in (_column(p) for p in props) if c is not None)
        out[es.get("Name", "")] = EntitySet(
            es.get("Name", ""), keys, columns,
            {p.get("Name", ""): p.get("Type", "") for p in props})
    return out


def edm_types(data: bytes, entity_set: str) -> dict[str, str]:
    """Property name → Edm type of one entity set (to name what a drifted column is now)."""
    found = parse_metadata(data).get(entity_set)
    return {} if found is None else found.edm_types
