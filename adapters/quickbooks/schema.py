"""The tables the QuickBooks adapter exposes, declared in code.

QuickBooks Online has no metadata endpoint, so each entity's columns are the documented
properties (Intuit API reference), flattened: top-level scalars by name, nested objects one
level deep joined with ``_`` (``CustomerRef_value``, ``MetaData_CreateTime``,
``BillAddr_City``), arrays left out. Line arrays become their own tables (``InvoiceLine``
...), read from the parent's query, one row per element of ``Line`` (sub-total lines
included, as QBO sends them; ``DetailType`` tells them apart).

``filter`` names the property a pushed filter compares (``CustomerRef`` compares its value,
``MetaData.CreateTime``); only properties Intuit lists as filterable carry one. ``sortable``
marks properties every object carries (so ORDERBY never meets a missing value, whose
placement QBO does not document).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

STRING, NUMBER, INTEGER, DATE, TIMESTAMP, BOOLEAN = (
    "string", "number", "integer", "date", "timestamp", "boolean")
ARROW_TYPES: dict[str, pa.DataType] = {
    STRING: pa.string(), NUMBER: pa.float64(), INTEGER: pa.int64(), DATE: pa.date32(),
    TIMESTAMP: pa.timestamp("ms", tz="UTC"), BOOLEAN: pa.bool_(),
}
#: a path step meaning "the line's detail object" (``line[line["DetailType"]]``)
DETAIL = "<detail>"
#: a path meaning "the parent object's Id" (line tables)
PARENT_ID = ("<parent>", "Id")
#: a path step meaning "the element of ``CustomField`` whose Name is the next step"
CUSTOM = "<custom>"
LINE_ENTITIES = ("Invoice", "Estimate", "SalesReceipt", "CreditMemo")
DEFAULT_ENTITIES = ("Customer", "Invoice", "Payment", "Item", "Estimate", "SalesReceipt",
                    "CreditMemo")


@dataclass(frozen=True)
class Field:
    column: str
    path: tuple[str, ...]
    kind: str
    filter: str | None = None  # the QBO property a pushed filter names; None: local only
    sortable: bool = False


@dataclass(frozen=True)
class EntityTable:
    name: str  # the SQL table name
    entity: str  # the QBO entity queried
    fields: tuple[Field, ...]
    lines: bool = False  # one row per element of the entity's Line array

    def field(self, column: str) -> Field | None:
        wanted = column.lower()
        return next((f for f in self.fields if f.column.lower() == wanted), None)


def _f(path: str, kind: str = STRING, *, filterable: bool = False,
       sortable: bool = False) -> Field:
    steps = tuple(path.split("."))
    return Field("_".join(steps), steps, kind, path if filterable else None, sortable)


def _ref(name: str, *, filterable: bool = False) -> tuple[Field, ...]:
    return (Field(f"{name}_value", (name, "value"), STRING, name if filterable else None),
            Field(f"{name}_name", (name, "name"), STRING))


def _head() -> tuple[Field, ...]:
    return (_f("Id", filterable=True), _f("SyncToken"),
            _f("MetaData.CreateTime", TIMESTAMP, filterable=True, sortable=True),
            _f("MetaData.LastUpdatedTime", TIMESTAMP, filterable=True, sortable=True))


def _txn(*extra: Field) -> tuple[Field, ...]:
    return (*_head(), _f("DocNumber", filterable=True),
            _f("TxnDate", DATE, filterable=True, sortable=True), *extra,
            *_ref("CustomerRef", filterable=True), *_ref("CurrencyRef"),
            _f("ExchangeRate", NUMBER), _f("TotalAmt", NUMBER, filterable=True, sortable=True),
            _f("HomeTotalAmt", NUMBER), _f("PrivateNote"), _f("CustomerMemo.value"),
            _f("BillEmail.Address"))


ENTITIES: dict[str, tuple[Field, ...]] = {
    "Customer": (*_head(), _f("DisplayName", filterable=True),
                 _f("CompanyName", filterable=True), _f("GivenName", filterable=True),
                 _f("FamilyName", filterable=True), _f("FullyQualifiedName"),
                 _f("PrimaryEmailAddr.Address"), _f("PrimaryPhone.FreeFormNumber"),
                 _f("BillAddr.Line1"), _f("BillAddr.City"), _f("BillAddr.PostalCode"),
                 _f("BillAddr.Country"), _f("BillAddr.CountrySubDivisionCode"),
                 *_ref("CurrencyRef"), _f("Balance", NUMBER, filterable=True),
                 _f("Active", BOOLEAN, filterable=True), _f("Job", BOOLEAN),
                 _f("BillWithParent", BOOLEAN), _f("Taxable", BOOLEAN), _f("Notes")),
    "Item": (*_head(), _f("Name", filterable=True), _f("Sku", filterable=True),
             _f("Description"), _f("Type", filterable=True), _f("UnitPrice", NUMBER),
             _f("PurchaseCost", NUMBER), _f("Active", BOOLEAN, filterable=True),
             _f("Taxable", BOOLEAN), _f("TrackQtyOnHand", BOOLEAN), _f("QtyOnHand", NUMBER),
             _f("InvStartDate", DATE), _f("FullyQualifiedName"),
             *_ref("IncomeAccountRef")),
    "Invoice": _txn(_f("DueDate", DATE, filterable=True), _f("Balance", NUMBER,
                                                             filterable=True),
                    _f("EmailStatus")),
    "Estimate": _txn(_f("ExpirationDate", DATE, filterable=True),
                     _f("TxnStatus", filterable=True), _f("AcceptedBy"),
                     _f("AcceptedDate", DATE)),
    "SalesReceipt": _txn(_f("Balance", NUMBER), _f("PaymentRefNum"),
                         *_ref("PaymentMethodRef"), *_ref("DepositToAccountRef")),
    "CreditMemo": _txn(_f("Balance", NUMBER, filterable=True),
                       _f("RemainingCredit", NUMBER, filterable=True)),
    "Payment": (*_head(), _f("TxnDate", DATE, filterable=True, sortable=True),
                *_ref("CustomerRef", filterable=True), *_ref("CurrencyRef"),
                _f("ExchangeRate", NUMBER),
                _f("TotalAmt", NUMBER, filterable=True, sortable=True),
                _f("UnappliedAmt", NUMBER), _f("PaymentRefNum"), _f("PrivateNote"),
                *_ref("PaymentMethodRef"), *_ref("DepositToAccountRef")),
}


def line_fields(entity: str) -> tuple[Field, ...]:
    """``<Entity>Id`` (filterable: it is the parent's Id) and the line's own columns."""
    return (Field(f"{entity}Id", PARENT_ID, STRING, "Id"),
            Field("Id", ("Id",), STRING), Field("LineNum", ("LineNum",), INTEGER),
            Field("Description", ("Description",), STRING),
            Field("Amount", ("Amount",), NUMBER),
            Field("DetailType", ("DetailType",), STRING),
            Field("ItemRef_value", (DETAIL, "ItemRef", "value"), STRING),
            Field("ItemRef_name", (DETAIL, "ItemRef", "name"), STRING),
            Field("Qty", (DETAIL, "Qty"), NUMBER),
            Field("UnitPrice", (DETAIL, "UnitPrice"), NUMBER))


def custom_fields(names: Mapping[str, str]) -> tuple[Field, ...]:
    """Columns for the company's sales-form custom fields (column -> the field's Name).

    QBO sends them as ``CustomField: [{DefinitionId, Name, Type, StringValue}]`` and its
    query language cannot filter on them, so they are read-only, local-filter columns.
    """
    return tuple(Field(column, (CUSTOM, name), STRING) for column, name in names.items())


def tables_for(entities: tuple[str, ...] | list[str],
               custom: Mapping[str, str] | None = None) -> dict[str, EntityTable]:
    """The tables for the configured entities, line tables right after their parent;
    sales forms (the entities with lines) also carry the ``custom`` fields."""
    out: dict[str, EntityTable] = {}
    for entity in entities:
        extra = custom_fields(custom or {}) if entity in LINE_ENTITIES else ()
        out[entity] = EntityTable(entity, entity, (*ENTITIES[entity], *extra))
        if entity in LINE_ENTITIES:
            name = f"{entity}Line"
            out[name] = EntityTable(name, entity, line_fields(entity), lines=True)
    return out
