"""Project HQ's orders from before the NetSuite go-live into the old on-premises ERP.

The legacy database is plain SQL (PostgreSQL in the demo, SQLite in light tests), so the
tables are Arrow tables typed as a driver reads them back: ``int64`` keys, ``string``
text, ``date32`` dates, naive ``timestamp("us")`` (the old system stored local wall-clock
time without a zone; here it equals UTC) and ``decimal128`` money.

Tables: ``customers`` (every HQ customer with an order before the go-live), ``orders``,
``order_lines`` and ``invoices``. ``orders.crm_ref`` holds the CRM record id of the deal
(Salesforce Opportunity Id or HubSpot deal id) when the order came from one. The old
system knew nothing of payments or credit memos. Credit limits here are the pre-migration
values; where they differ from NetSuite's the truth records a master-data conflict.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from decimal import Decimal

import pyarrow as pa

from sandbox.company import Company
from sandbox.projections.erp_model import LegacyDatabase

__all__ = ["SCHEMAS", "project_legacy", "project_legacy_crosswalk"]

CrosswalkRow = tuple[str, str, str, str, str]
MONEY = pa.decimal128(14, 2)
SCHEMAS: dict[str, pa.Schema] = {
    "customers": pa.schema([
        ("cust_no", pa.int64()), ("name", pa.string()), ("country", pa.string()),
        ("currency", pa.string()), ("credit_limit", MONEY), ("created_at", pa.timestamp("us")),
    ]),
    "orders": pa.schema([
        ("order_no", pa.int64()), ("cust_no", pa.int64()), ("order_date", pa.date32()),
        ("currency", pa.string()), ("total_amount", MONEY), ("status", pa.string()),
        ("crm_ref", pa.string()),
    ]),
    "order_lines": pa.schema([
        ("order_no", pa.int64()), ("line_no", pa.int64()), ("sku", pa.string()),
        ("qty", pa.decimal128(12, 2)), ("unit_price", pa.decimal128(12, 2)),
        ("amount", MONEY),
    ]),
    "invoices": pa.schema([
        ("invoice_no", pa.int64()), ("order_no", pa.int64()), ("invoice_date", pa.date32()),
        ("amount", MONEY), ("currency", pa.string()),
    ]),
}
# The old system's status words.
_STATUS = {"open": "OPEN", "partially_billed": "PART_INVOICED", "billed": "INVOICED",
           "cancelled": "CANCELLED", "pending_approval": "HOLD"}


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def project_legacy(company: Company, crm_refs: Mapping[str, str] | None = None
                   ) -> LegacyDatabase:
    """The legacy database; ``crm_refs`` maps truth deal ids to CRM record ids."""
    return project_legacy_crosswalk(company, crm_refs)[0]


def project_legacy_crosswalk(
    company: Company, crm_refs: Mapping[str, str] | None = None
) -> tuple[LegacyDatabase, list[CrosswalkRow]]:
    """The database plus one crosswalk row per customer, order and invoice."""
    if crm_refs is None:
        from sandbox.world import crm_opportunity_refs  # lazy: world imports this module

        crm_refs = crm_opportunity_refs(company)
    rng = random.Random(f"legacy:{company.seed}")
    xwalk: list[CrosswalkRow] = []
    cust_by_id = {c.customer_id: c for c in company.customers}
    prod_by_id = {p.product_id: p for p in company.products}
    conflicts = {(m.customer_id, m.field): m.system_value
                 for m in company.master_conflicts if m.system == "legacy_erp"}
    orders = [o for o in company.orders if o.system == "legacy_erp"]
    accounts = sorted((a for a in company.erp_accounts if a.legacy_credit_limit is not None),
                      key=lambda a: cust_by_id[a.customer_id].created_at)
    cust_no: dict[str, int] = {}
    customers: dict[str, list] = {f.name: [] for f in SCHEMAS["customers"]}
    first_order = {}
    for o in orders:
        first_order.setdefault(o.customer_id, o.created_at)
    for n, a in enumerate(accounts, 1):
        c = cust_by_id[a.customer_id]
        no = cust_no[a.customer_id] = 10000 + n
        created = min(first_order[a.customer_id], max(
            c.created_at, first_order[a.customer_id] - dt.timedelta(days=30)))
        created -= dt.timedelta(minutes=int(rng.random() * 600))
        for key, value in (
            ("cust_no", no),
            ("name", conflicts.get((a.customer_id, "name"), c.legal_name)),
            ("country", c.country_code),
            ("currency", conflicts.get((a.customer_id, "currency"), a.currency)),
            ("credit_limit", _money(a.legacy_credit_limit or 0.0)),
            ("created_at", created.replace(tzinfo=None, microsecond=0)),
        ):
            customers[key].append(value)
        xwalk.append(("customer", a.customer_id, "legacy_erp", "customers", str(no)))

    order_cols: dict[str, list] = {f.name: [] for f in SCHEMAS["orders"]}
    line_cols: dict[str, list] = {f.name: [] for f in SCHEMAS["order_lines"]}
    order_no: dict[str, int] = {}
    for n, o in enumerate(orders, 1):
        no = order_no[o.order_id] = 500000 + n
        ref = crm_refs.get(o.opportunity_id) if o.opportunity_id else None
        for key, value in (
            ("order_no", no), ("cust_no", cust_no[o.customer_id]), ("order_date", o.order_date),
            ("currency", o.currency), ("total_amount", _money(o.amount)),
            ("status", _STATUS[o.status]), ("crm_ref", ref),
        ):
            order_cols[key].append(value)
        for li in o.lines:
            for key, value in (
                ("order_no", no), ("line_no", li.line_no), ("sku", prod_by_id[li.product_id].sku),
                ("qty", _money(li.quantity)), ("unit_price", _money(li.rate)),
                ("amount", _money(li.amount)),
            ):
                line_cols[key].append(value)
        xwalk.append(("order", o.order_id, "legacy_erp", "orders", str(no)))

    inv_cols: dict[str, list] = {f.name: [] for f in SCHEMAS["invoices"]}
    invoices = [d for d in company.invoices if d.order_id in order_no]
    for n, d in enumerate(invoices, 1):
        no = 700000 + n
        for key, value in (("invoice_no", no), ("order_no", order_no[d.order_id]),
                           ("invoice_date", d.doc_date), ("amount", _money(d.amount)),
                           ("currency", d.currency)):
            inv_cols[key].append(value)
        xwalk.append(("invoice", d.doc_id, "legacy_erp", "invoices", str(no)))

    data = {"customers": customers, "orders": order_cols, "order_lines": line_cols,
            "invoices": inv_cols}
    tables = {name: pa.Table.from_pydict(data[name], schema=schema)
              for name, schema in SCHEMAS.items()}
    return LegacyDatabase(tables=tables), xwalk
