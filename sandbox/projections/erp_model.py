"""The shapes the ERP simulators serve, filled from the company's truth.

One small tabular model serves NetSuite (SuiteQL records), SAP S/4HANA (OData v2 entity
sets, field names as in the real EDMX documents) and Oracle Fusion (REST resources).
QuickBooks keeps its entities as the JSON objects the API returns, because its query
language works on those objects. The legacy database and the spreadsheet exports are
plain Arrow tables.

Row values are plain Python: str, int, float, decimal.Decimal, bool, datetime.date,
tz-aware UTC datetime.datetime, or None. Each simulator renders them in its vendor's wire
format (NetSuite 'T'/'F' booleans, SAP /Date(ms)/ and decimal strings, ...).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class ErpField:
    name: str
    # the vendor's type vocabulary:
    #   NetSuite: integer, float, currency, text, date, datetime, boolean, select (FK id)
    #   SAP: Edm.String, Edm.Decimal, Edm.DateTime, Edm.DateTimeOffset, Edm.Boolean,
    #        Edm.Guid, Edm.Int16, Edm.Int32, Edm.Byte, Edm.Time
    #   Oracle: string, integer, number, date, datetime, boolean
    type: str
    label: str = ""
    nullable: bool = True
    precision: int | None = None  # SAP Edm.Decimal
    scale: int | None = None
    date_only: bool = False  # SAP Edm.DateTime with sap:display-format="Date"


@dataclass
class ErpTable:
    name: str
    fields: list[ErpField]
    rows: list[dict[str, Any]] = field(default_factory=list)
    key: str = ""  # primary key field name


@dataclass
class NetSuiteAccount:
    """SuiteQL records: customer, transaction, transactionline, item, currency,
    currencyrate, subsidiary, employee (lowercase SuiteQL field names)."""

    tables: dict[str, ErpTable]
    account_id: str = "TSTDRV1234567"
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class SapSystem:
    """service name (API_SALES_ORDER_SRV, ...) → entity set name (A_SalesOrder) → rows.
    Fields are named exactly as in the service's EDMX; unset properties may be absent."""

    services: dict[str, dict[str, ErpTable]]
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class QuickBooksCompany:
    """Entity name (Customer, Invoice, Payment, Item, Estimate, SalesReceipt, CreditMemo)
    → objects shaped exactly as the QuickBooks Online API returns them (Id, SyncToken,
    MetaData, CustomerRef {value, name}, Line [...], TotalAmt, ...)."""

    entities: dict[str, list[dict[str, Any]]]
    realm_id: str = "9130350000000001"
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class OracleFusion:
    """REST resource name (receivablesInvoices, salesOrdersForOrderHub, ...) → rows with
    the resource's camelCase attribute names."""

    resources: dict[str, ErpTable]
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class LegacyDatabase:
    """The old on-premises ERP: table name → typed rows, loaded into PostgreSQL or SQLite."""

    tables: dict[str, pa.Table]


@dataclass
class FileExports:
    """Spreadsheet exports: relative path (quotas/2026.xlsx, price_book.csv, ...) → rows."""

    files: dict[str, pa.Table]
