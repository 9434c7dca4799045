"""Dataverse table and column definitions (EntityMetadata, AttributeMetadata) as JSON.

Adapters discover tables and columns from ``EntityDefinitions`` rather than ``$metadata``
(the official Python SDK does), so these shapes follow the documented JSON: Label complex
types, ``AttributeTypeName: {"Value": ...}``, per-type ``@odata.type`` and type-specific
properties that are only visible through a cast segment. Lookups and choices also get the
virtual ``<name>name`` companions (``AttributeOf`` set, not valid for OData) that real
environments list and that an adapter must skip.
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.projections.dataverse_model import DataverseAttribute, DataverseEntity

__all__ = [
    "CAST_TYPES",
    "LOOKUP_TYPES",
    "attribute_definitions",
    "entity_definition",
    "label",
    "metadata_id",
    "option_set",
]

_NS = uuid.UUID("6d6f6465-6c00-4000-8000-00000000d365")
LOOKUP_TYPES = frozenset({"Lookup", "Owner", "Customer"})
CHOICE_TYPES = frozenset({"Picklist", "State", "Status"})

# AttributeType -> (metadata entity type, AttributeTypeName value)
_TYPE_INFO: dict[str, tuple[str, str]] = {
    "Uniqueidentifier": ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
    "String": ("StringAttributeMetadata", "StringType"),
    "Memo": ("MemoAttributeMetadata", "MemoType"),
    "Integer": ("IntegerAttributeMetadata", "IntegerType"),
    "BigInt": ("BigIntAttributeMetadata", "BigIntType"),
    "Decimal": ("DecimalAttributeMetadata", "DecimalType"),
    "Double": ("DoubleAttributeMetadata", "DoubleType"),
    "Money": ("MoneyAttributeMetadata", "MoneyType"),
    "Boolean": ("BooleanAttributeMetadata", "BooleanType"),
    "DateTime": ("DateTimeAttributeMetadata", "DateTimeType"),
    "Picklist": ("PicklistAttributeMetadata", "PicklistType"),
    "State": ("StateAttributeMetadata", "StateType"),
    "Status": ("StatusAttributeMetadata", "StatusType"),
    "Lookup": ("LookupAttributeMetadata", "LookupType"),
    "Owner": ("LookupAttributeMetadata", "OwnerType"),
    "Customer": ("LookupAttributeMetadata", "CustomerType"),
    "EntityName": ("EntityNameAttributeMetadata", "EntityNameType"),
    "Virtual": ("AttributeMetadata", "VirtualType"),
}

# Cast segment -> the properties it adds on top of AttributeMetadata (navigation props last).
CAST_TYPES: dict[str, tuple[str, ...]] = {
    "StringAttributeMetadata": ("MaxLength", "Format", "FormatName", "DatabaseLength"),
    "MemoAttributeMetadata": ("MaxLength", "Format"),
    "IntegerAttributeMetadata": ("MinValue", "MaxValue", "Format"),
    "BigIntAttributeMetadata": ("MinValue", "MaxValue"),
    "DecimalAttributeMetadata": ("Precision", "MinValue", "MaxValue"),
    "DoubleAttributeMetadata": ("Precision", "MinValue", "MaxValue"),
    "MoneyAttributeMetadata": ("Precision", "PrecisionSource", "MinValue", "MaxValue"),
    "BooleanAttributeMetadata": ("DefaultValue", "OptionSet", "GlobalOptionSet"),
    "DateTimeAttributeMetadata": ("Format", "DateTimeBehavior", "CanChangeDateTimeBehavior"),
    "PicklistAttributeMetadata": ("DefaultFormValue", "OptionSet", "GlobalOptionSet"),
    "StateAttributeMetadata": ("DefaultFormValue", "OptionSet", "GlobalOptionSet"),
    "StatusAttributeMetadata": ("DefaultFormValue", "OptionSet", "GlobalOptionSet"),
    "LookupAttributeMetadata": ("Targets", "Format"),
    "UniqueIdentifierAttributeMetadata": (),
    "EntityNameAttributeMetadata": (),
}
NAVIGATION = frozenset({"OptionSet", "GlobalOptionSet"})


def metadata_id(*parts: str) -> str:
    """Deterministic MetadataId so repeated discovery sees stable ids."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


def label(text: str | None, *key: str) -> dict[str, Any]:
    """The Label complex type (LocalizedLabels + UserLocalizedLabel), LCID 1033."""
    if text is None:
        return {"LocalizedLabels": [], "UserLocalizedLabel": None}
    localized = {
        "Label": text,
        "LanguageCode": 1033,
        "IsManaged": True,
        "MetadataId": metadata_id("label", *key, text),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


def _schema_name(logical: str, custom: bool) -> str:
    if custom and "_" in logical:
        prefix, _, rest = logical.partition("_")
        return f"{prefix}_{rest[:1].upper()}{rest[1:]}"
    return logical[:1].upper() + logical[1:]


def entity_definition(entity: DataverseEntity, object_type_code: int) -> dict[str, Any]:
    """One EntityMetadata record (the commonly read subset of its ~100 properties)."""
    name = entity.logical_name
    plural = entity.display_name + ("es" if entity.display_name.endswith("s") else "s")
    return {
        "@odata.type": "#Microsoft.Dynamics.CRM.EntityMetadata",
        "MetadataId": metadata_id("entity", name),
        "LogicalName": name,
        "SchemaName": _schema_name(name, entity.is_custom),
        "EntitySetName": entity.entity_set_name,
        "LogicalCollectionName": entity.entity_set_name,
        "CollectionSchemaName": _schema_name(entity.entity_set_name, entity.is_custom),
        "PrimaryIdAttribute": entity.primary_id,
        "PrimaryNameAttribute": entity.primary_name,
        "ObjectTypeCode": object_type_code,
        "DisplayName": label(entity.display_name, name, "DisplayName"),
        "DisplayCollectionName": label(plural, name, "DisplayCollectionName"),
        "Description": label(None),
        "IsCustomEntity": entity.is_custom,
        "IsManaged": not entity.is_custom,
        "IsActivity": False,
        "IsIntersect": False,
        "IsPrivate": False,
        "IsLogicalEntity": False,
        "IsValidForAdvancedFind": True,
        "ChangeTrackingEnabled": True,
        "OwnershipType": "UserOwned",
        "TableType": "Standard",
        "HasActivities": True,
        "HasNotes": True,
        "CanCreateAttributes": {
            "Value": True,
            "CanBeChanged": False,
            "ManagedPropertyLogicalName": "cancreateattributes",
        },
    }


def _attribute_base(
    entity: DataverseEntity, logical: str, attr_type: str, display: str, number: int
) -> dict[str, Any]:
    odata_type, type_name = _TYPE_INFO.get(attr_type, ("AttributeMetadata", "VirtualType"))
    return {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{odata_type}",
        "MetadataId": metadata_id("attribute", entity.logical_name, logical),
        "LogicalName": logical,
        "SchemaName": logical,
        "EntityLogicalName": entity.logical_name,
        "AttributeType": attr_type,
        "AttributeTypeName": {"Value": type_name},
        "DisplayName": label(display, entity.logical_name, logical),
        "Description": label(None),
        "ColumnNumber": number,
        "IsCustomAttribute": False,
        "IsPrimaryId": False,
        "IsPrimaryName": False,
        "AttributeOf": None,
        "IsValidForRead": True,
        "IsValidForCreate": True,
        "IsValidForUpdate": True,
        "IsValidODataAttribute": True,
        "IsFilterable": True,
        "IsRetrievable": True,
        "IsLogical": False,
        "IsManaged": True,
        "SourceType": 0,
        "RequiredLevel": {
            "Value": "None",
            "CanBeChanged": True,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
    }


def _specific(entity: DataverseEntity, a: DataverseAttribute) -> dict[str, Any]:
    t = a.attribute_type
    if t == "String":
        length = a.max_length or 100
        return {
            "MaxLength": length,
            "DatabaseLength": length * 2,
            "Format": "Text",
            "FormatName": {"Value": "Text"},
        }
    if t == "Memo":
        return {"MaxLength": a.max_length or 2000, "Format": "TextArea"}
    if t == "Integer":
        return {"MinValue": -2147483648, "MaxValue": 2147483647, "Format": "None"}
    if t == "BigInt":
        return {"MinValue": -9223372036854775808, "MaxValue": 9223372036854775807}
    if t in ("Decimal", "Double"):
        return {
            "Precision": a.precision if a.precision is not None else 2,
            "MinValue": -100000000000.0,
            "MaxValue": 100000000000.0,
        }
    if t == "Money":
        return {
            "Precision": a.precision if a.precision is not None else 2,
            "PrecisionSource": 2,
            "MinValue": -922337203685477.0,
            "MaxValue": 922337203685477.0,
        }
    if t == "Boolean":
        return {"DefaultValue": False}
    if t == "DateTime":
        return {
            "Format": "DateOnly" if a.date_only else "DateAndTime",
            "DateTimeBehavior": {"Value": "DateOnly" if a.date_only else "UserLocal"},
            "CanChangeDateTimeBehavior": {
                "Value": False,
                "CanBeChanged": False,
                "ManagedPropertyLogicalName": "canchangedatetimebehavior",
            },
        }
    if t in CHOICE_TYPES:
        return {"DefaultFormValue": a.options[0].value if a.options else None}
    if t in LOOKUP_TYPES:
        return {"Targets": list(a.targets), "Format": "None"}
    return {}


def attribute_definitions(entity: DataverseEntity) -> list[dict[str, Any]]:
    """All AttributeMetadata of a table, type-specific properties included (callers filter).

    Each definition carries a private ``_cast`` key: the metadata type it can be cast to.
    """
    out: list[dict[str, Any]] = []
    number = 1
    for a in entity.attributes:
        d = _attribute_base(entity, a.logical_name, a.attribute_type, a.display_name, number)
        d["IsCustomAttribute"] = a.is_custom
        d["IsPrimaryId"] = a.is_primary_id or a.logical_name == entity.primary_id
        d["IsPrimaryName"] = a.is_primary_name or a.logical_name == entity.primary_name
        if d["IsPrimaryId"]:
            d["IsValidForUpdate"] = False
        d.update(_specific(entity, a))
        d["_cast"] = _TYPE_INFO.get(a.attribute_type, ("AttributeMetadata", ""))[0]
        d["_attr"] = a
        out.append(d)
        number += 1
        # Virtual companions that real environments list; not OData properties.
        if a.attribute_type in LOOKUP_TYPES | CHOICE_TYPES | {"Boolean"}:
            is_lookup = a.attribute_type in LOOKUP_TYPES
            v = _attribute_base(
                entity,
                f"{a.logical_name}name",
                "String" if is_lookup else "Virtual",
                a.display_name,
                number,
            )
            v.update(
                AttributeOf=a.logical_name,
                IsValidForCreate=False,
                IsValidForUpdate=False,
                IsValidODataAttribute=False,
                IsCustomAttribute=a.is_custom,
                IsLogical=True,
            )
            if is_lookup:
                v.update(MaxLength=100, DatabaseLength=200, Format="Text")
                v["FormatName"] = {"Value": "Text"}
            v["_cast"] = "StringAttributeMetadata" if is_lookup else "AttributeMetadata"
            out.append(v)
            number += 1
        if a.attribute_type in ("Customer", "Owner"):
            v = _attribute_base(
                entity, f"{a.logical_name}type", "EntityName", a.display_name, number
            )
            v.update(
                AttributeOf=a.logical_name,
                IsValidForCreate=False,
                IsValidForUpdate=False,
                IsValidODataAttribute=False,
                IsLogical=True,
            )
            v["_cast"] = "EntityNameAttributeMetadata"
            out.append(v)
            number += 1
    return out


def _option(value: int, text: str, key: tuple[str, ...], kind: str) -> dict[str, Any]:
    opt: dict[str, Any] = {
        "Value": value,
        "Color": None,
        "IsManaged": True,
        "ExternalValue": None,
        "ParentValues": [],
        "MetadataId": None,
        "HasChanged": None,
        "Label": label(text, *key, str(value)),
        "Description": label(None),
    }
    if kind == "State":
        opt["@odata.type"] = "#Microsoft.Dynamics.CRM.StateOptionMetadata"
        opt["InvariantName"] = text.replace(" ", "")
        opt["DefaultStatus"] = None
    elif kind == "Status":
        opt["@odata.type"] = "#Microsoft.Dynamics.CRM.StatusOptionMetadata"
    return opt


def option_set(entity: DataverseEntity, a: DataverseAttribute) -> dict[str, Any]:
    """OptionSetMetadata (or BooleanOptionSetMetadata) for a choice/yes-no column."""
    key = (entity.logical_name, a.logical_name)
    base: dict[str, Any] = {
        "MetadataId": metadata_id("optionset", *key),
        "Name": f"{entity.logical_name}_{a.logical_name}",
        "IsGlobal": False,
        "IsCustomOptionSet": a.is_custom,
        "IsManaged": not a.is_custom,
        "DisplayName": label(a.display_name, *key, "optionset"),
        "Description": label(None),
        "IntroducedVersion": None,
        "HasChanged": None,
    }
    if a.attribute_type == "Boolean":
        labels = {o.value: o.label for o in a.options}
        base["@odata.type"] = "#Microsoft.Dynamics.CRM.BooleanOptionSetMetadata"
        base["OptionSetType"] = "Boolean"
        base["TrueOption"] = _option(1, labels.get(1, "Yes"), key, "Boolean")
        base["FalseOption"] = _option(0, labels.get(0, "No"), key, "Boolean")
        return base
    base["@odata.type"] = "#Microsoft.Dynamics.CRM.OptionSetMetadata"
    base["OptionSetType"] = a.attribute_type
    base["Options"] = [_option(o.value, o.label, key, a.attribute_type) for o in a.options]
    return base
