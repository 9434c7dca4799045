"""Read the real S/4HANA Cloud EDMX documents the SAP simulator serves as ``$metadata``.

The simulator does not invent a model: entity types, keys, property types and the ``sap:``
annotations that change behaviour (``sap:filterable``, ``sap:sortable``, ``sap:display-format``,
``sap:unit``) come from the EDMX files downloaded from S/4HANA Cloud tenants
(``edmx/<SERVICE>.edmx``). The same parse is what an adapter should do against
``$metadata`` to discover columns, so :func:`erp_fields` maps an entity type onto
``sandbox.projections.erp_model.ErpField`` the way the generator fills rows.

Parsing works on local element names, so the EDM namespace version (2006/04, 2007/05,
2008/09) does not matter; the ``sap:`` and ``m:`` annotations use their fixed URIs.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.projections.erp_model import ErpField

__all__ = [
    "EDMX_DIR",
    "EdmEntitySet",
    "EdmEntityType",
    "EdmNavigation",
    "EdmProperty",
    "EdmxService",
    "available_services",
    "erp_fields",
    "load_service",
    "parse_edmx",
]

EDMX_DIR = Path(__file__).with_name("edmx")
SAP_NS = "http://www.sap.com/Protocols/SAPData"
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"


def _sap(name: str) -> str:
    return f"{{{SAP_NS}}}{name}"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flag(elem: ET.Element, name: str, default: bool = True) -> bool:
    """``sap:<name>="false"`` style booleans; absent means the OData default (true)."""
    raw = elem.get(_sap(name))
    if raw is None:
        return default
    return raw.strip().lower() == "true"


def _int(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


@dataclass(frozen=True)
class EdmProperty:
    """One primitive property with the facets and SAP annotations that change behaviour."""

    name: str
    type: str  # Edm.String, Edm.Decimal, ...
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    display_format: str | None = None  # sap:display-format: Date, UpperCase, NonNegative
    filterable: bool = True
    sortable: bool = True
    label: str = ""
    unit: str | None = None  # sap:unit: name of the currency / unit-of-measure property
    semantics: str | None = None  # sap:semantics: currency-code, unit-of-measure, ...
    concurrency_fixed: bool = False  # ConcurrencyMode="Fixed": the property feeds the ETag

    @property
    def date_only(self) -> bool:
        """Edm.DateTime with ``sap:display-format="Date"``: an ABAP DATS, sent at midnight UTC."""
        return self.type == "Edm.DateTime" and self.display_format == "Date"


@dataclass(frozen=True)
class EdmNavigation:
    name: str
    relationship: str
    from_role: str
    to_role: str
    target_type: str | None  # qualified entity type name of the to-role end
    multiplicity: str | None  # "1", "0..1" or "*"


@dataclass
class EdmEntityType:
    namespace: str
    name: str
    keys: list[str]
    properties: dict[str, EdmProperty]
    navigations: dict[str, EdmNavigation] = field(default_factory=dict)
    label: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    def key_properties(self) -> list[EdmProperty]:
        return [self.properties[k] for k in self.keys]

    def etag_properties(self) -> list[EdmProperty]:
        return [p for p in self.properties.values() if p.concurrency_fixed]


@dataclass
class EdmEntitySet:
    name: str
    entity_type: EdmEntityType
    creatable: bool = True
    updatable: bool = True
    deletable: bool = True
    pageable: bool = True
    addressable: bool = True
    requires_filter: bool = False


@dataclass
class EdmxService:
    """A parsed service document: the schema namespace is the service name for SAP APIs."""

    name: str
    namespace: str
    entity_types: dict[str, EdmEntityType]  # qualified name -> type
    entity_sets: dict[str, EdmEntitySet]  # entity set name -> set
    raw: bytes = field(repr=False, default=b"")

    def set_of_type(self, qualified_type: str) -> EdmEntitySet | None:
        for es in self.entity_sets.values():
            if es.entity_type.qualified_name == qualified_type:
                return es
        return None


def _parse_property(elem: ET.Element) -> EdmProperty:
    return EdmProperty(
        name=elem.get("Name", ""),
        type=elem.get("Type", "Edm.String"),
        nullable=elem.get("Nullable", "true").lower() != "false",
        max_length=_int(elem.get("MaxLength")),
        precision=_int(elem.get("Precision")),
        scale=_int(elem.get("Scale")),
        display_format=elem.get(_sap("display-format")),
        filterable=_flag(elem, "filterable"),
        sortable=_flag(elem, "sortable"),
        label=elem.get(_sap("label"), ""),
        unit=elem.get(_sap("unit")),
        semantics=elem.get(_sap("semantics")),
        concurrency_fixed=elem.get("ConcurrencyMode", "").lower() == "fixed",
    )


def parse_edmx(data: bytes, name: str | None = None) -> EdmxService:
    """Parse an OData v2 EDMX document (entity types, keys, properties, entity sets)."""
    root = ET.fromstring(data)
    schemas = [e for e in root.iter() if _local(e.tag) == "Schema"]
    if not schemas:
        raise ValueError("EDMX document has no Schema element")
    entity_types: dict[str, EdmEntityType] = {}
    # association name -> role -> (type, multiplicity)
    ends: dict[str, dict[str, tuple[str, str | None]]] = {}
    containers: list[ET.Element] = []
    namespace = schemas[0].get("Namespace", "")
    for schema in schemas:
        ns = schema.get("Namespace", "")
        for child in schema:
            tag = _local(child.tag)
            if tag == "EntityType":
                keys = [
                    ref.get("Name", "")
                    for k in child
                    if _local(k.tag) == "Key"
                    for ref in k
                    if _local(ref.tag) == "PropertyRef"
                ]
                props: dict[str, EdmProperty] = {}
                navs_raw: list[ET.Element] = []
                for p in child:
                    ptag = _local(p.tag)
                    if ptag == "Property":
                        prop = _parse_property(p)
                        props[prop.name] = prop
                    elif ptag == "NavigationProperty":
                        navs_raw.append(p)
                et = EdmEntityType(ns, child.get("Name", ""), keys, props)
                et.label = child.get(_sap("label"), "")
                et.navigations = {
                    n.get("Name", ""): EdmNavigation(
                        n.get("Name", ""),
                        n.get("Relationship", ""),
                        n.get("FromRole", ""),
                        n.get("ToRole", ""),
                        None,
                        None,
                    )
                    for n in navs_raw
                }
                entity_types[et.qualified_name] = et
            elif tag == "Association":
                roles = {}
                for end in child:
                    if _local(end.tag) == "End":
                        roles[end.get("Role", "")] = (end.get("Type", ""), end.get("Multiplicity"))
                ends[f"{ns}.{child.get('Name', '')}"] = roles
            elif tag == "EntityContainer":
                containers.append(child)
    # resolve navigation targets through the association ends
    for et in entity_types.values():
        for nav_name, nav in list(et.navigations.items()):
            target = ends.get(nav.relationship, {}).get(nav.to_role)
            et.navigations[nav_name] = EdmNavigation(
                nav.name,
                nav.relationship,
                nav.from_role,
                nav.to_role,
                target[0] if target else None,
                target[1] if target else None,
            )
    sets: dict[str, EdmEntitySet] = {}
    for container in containers:
        for es in container:
            if _local(es.tag) != "EntitySet":
                continue
            type_name = es.get("EntityType", "")
            et = entity_types.get(type_name)
            if et is None:
                raise ValueError(f"entity set {es.get('Name')} refers to unknown type {type_name}")
            sets[es.get("Name", "")] = EdmEntitySet(
                name=es.get("Name", ""),
                entity_type=et,
                creatable=_flag(es, "creatable"),
                updatable=_flag(es, "updatable"),
                deletable=_flag(es, "deletable"),
                pageable=_flag(es, "pageable"),
                addressable=_flag(es, "addressable"),
                requires_filter=_flag(es, "requires-filter", default=False),
            )
    return EdmxService(name or namespace, namespace, entity_types, sets, data)


def available_services() -> list[str]:
    """Service names for which a real EDMX document ships with the simulator."""
    return sorted(p.stem for p in EDMX_DIR.glob("*.edmx"))


@functools.cache
def load_service(name: str) -> EdmxService:
    """Parse ``edmx/<name>.edmx`` once per process (the largest is ~700 KB)."""
    path = EDMX_DIR / f"{name}.edmx"
    if not path.is_file():
        raise KeyError(f"no EDMX document for SAP service {name!r} in {EDMX_DIR}")
    return parse_edmx(path.read_bytes(), name)


def erp_fields(entity_type: EdmEntityType) -> list[ErpField]:
    """The entity type's properties as ``ErpField``s (what the generator and adapter share)."""
    return [
        ErpField(
            name=p.name,
            type=p.type,
            label=p.label,
            nullable=p.nullable,
            precision=p.precision if p.type == "Edm.Decimal" else None,
            scale=p.scale if p.type == "Edm.Decimal" else None,
            date_only=p.date_only,
        )
        for p in entity_type.properties.values()
    ]
