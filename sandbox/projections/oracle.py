"""Project the Industrial Division's books into Oracle Fusion Cloud ERP REST resources.

Resources (camelCase names as in the REST API, attribute names as Fusion spells them):
``accounts`` (customer accounts with their party), ``salesOrdersForOrderHub`` (order
headers) and ``receivablesInvoices`` (invoices and credit memos; credit memos carry
negative ``EnteredAmount``). Fusion ids are 15-digit integers (300000001234567).

Orders that came from a CRM deal were imported through Order Hub: their
``SourceTransactionSystem`` names the CRM ("SFDC" or "HUBSPOT") and
``SourceTransactionNumber`` holds the CRM deal id; orders keyed in Fusion itself have
system "OPS" and their own order number there. Only the division's customers and
documents are here.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from sandbox.company import Company
from sandbox.projections.erp_model import ErpField, ErpTable, OracleFusion

__all__ = [
    "ARROW_TYPES",
    "RESOURCE_FIELDS",
    "oracle_truth_tables",
    "project_oracle",
    "project_oracle_crosswalk",
]

CrosswalkRow = tuple[str, str, str, str, str]
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "integer": pa.int64(), "number": pa.float64(),
    "date": pa.date32(), "datetime": pa.timestamp("ms", tz="UTC"), "boolean": pa.bool_(),
}
RESOURCE_FIELDS: dict[str, str] = {
    "accounts": "CustomerAccountId:integer AccountNumber:string AccountName:string "
                "PartyId:integer PartyNumber:string PartyName:string "
                "OrganizationName:string AccountType:string Status:string "
                "CreditLimit:number CurrencyCode:string OrigSystemReference:string "
                "CreationDate:datetime LastUpdateDate:datetime",
    "salesOrdersForOrderHub": "HeaderId:integer OrderKey:string OrderNumber:string "
                              "SourceTransactionId:string SourceTransactionNumber:string "
                              "SourceTransactionSystem:string BusinessUnitName:string "
                              "BuyingPartyId:integer BuyingPartyNumber:string "
                              "BuyingPartyName:string CustomerPONumber:string "
                              "TransactionalCurrencyCode:string OrderedDate:datetime "
                              "RequestedShipDate:datetime StatusCode:string Status:string "
                              "TotalAmount:number CreationDate:datetime "
                              "LastUpdateDate:datetime",
    "receivablesInvoices": "CustomerTransactionId:integer TransactionNumber:string "
                           "TransactionDate:date AccountingDate:date TransactionType:string "
                           "TransactionSource:string BusinessUnit:string "
                           "BillToCustomerNumber:string BillToCustomerName:string "
                           "InvoiceCurrencyCode:string ConversionRate:number "
                           "ConversionRateType:string ConversionDate:date "
                           "EnteredAmount:number InvoiceBalanceAmount:number "
                           "InvoiceStatus:string DueDate:date PaymentTerms:string "
                           "PurchaseOrder:string CrossReference:string "
                           "CreationDate:datetime LastUpdateDate:datetime",
}
_KEYS = {"accounts": "CustomerAccountId", "salesOrdersForOrderHub": "HeaderId",
         "receivablesInvoices": "CustomerTransactionId"}
_BU = "Helix Industrial BU"
_STATUS = {"open": ("OPEN", "Open"), "partially_billed": ("OPEN", "Open"),
           "billed": ("CLOSED", "Closed"), "cancelled": ("CANCELED", "Canceled"),
           "pending_approval": ("DOO_DRAFT", "Draft")}
_CRM_SYSTEM = {"main": "SFDC", "acquired": "HUBSPOT"}


def _fields(spec: str) -> list[ErpField]:
    out = []
    for part in spec.split():
        name, typ = part.split(":")
        out.append(ErpField(name, typ, label=name))
    return out


def project_oracle(company: Company, crm_refs: Mapping[str, str] | None = None
                   ) -> OracleFusion:
    """The Fusion pod; ``crm_refs`` maps truth deal ids to CRM record ids."""
    return project_oracle_crosswalk(company, crm_refs)[0]


def project_oracle_crosswalk(
    company: Company, crm_refs: Mapping[str, str] | None = None
) -> tuple[OracleFusion, list[CrosswalkRow]]:
    """The pod plus one crosswalk row per account, order, invoice and credit memo."""
    if crm_refs is None:
        from sandbox.world import crm_opportunity_refs  # lazy: world imports this module

        crm_refs = crm_opportunity_refs(company)
    rng = random.Random(f"oracle:{company.seed}")
    rand = rng.random
    xwalk: list[CrosswalkRow] = []
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in RESOURCE_FIELDS}
    cust_by_id = {c.customer_id: c for c in company.customers}
    opp_unit = {o.opportunity_id: o.business_unit for o in company.opportunities}
    conflicts = {(m.customer_id, m.field): m.system_value
                 for m in company.master_conflicts if m.system == "oracle"}
    now = company.now
    orders = [o for o in company.orders if o.system == "oracle"]
    first: dict[str, dt.datetime] = {}
    for o in orders:
        first.setdefault(o.customer_id, o.created_at)
    accounts = sorted((a for a in company.erp_accounts if a.entity_id == "IND"),
                      key=lambda a: (first.get(a.customer_id, now), a.customer_id))
    acct: dict[str, dict[str, Any]] = {}
    big = 300000001000000
    for n, a in enumerate(accounts, 1):
        c = cust_by_id[a.customer_id]
        created = first.get(a.customer_id, now) - dt.timedelta(hours=1 + int(rand() * 72))
        name = conflicts.get((a.customer_id, "name"), c.legal_name)
        row = {
            "CustomerAccountId": big + 7 * n, "AccountNumber": str(1000 + n),
            "AccountName": name, "PartyId": big + 500000 + 11 * n,
            "PartyNumber": str(20000 + n), "PartyName": name, "OrganizationName": name,
            "AccountType": "R", "Status": "A", "CreditLimit": a.credit_limit,
            "CurrencyCode": conflicts.get((a.customer_id, "currency"), a.currency),
            "OrigSystemReference": a.customer_id, "CreationDate": created,
            "LastUpdateDate": created + dt.timedelta(seconds=int(rand() * max(
                1, (now - created).total_seconds() - 1))),
        }
        acct[a.customer_id] = row
        rows["accounts"].append(row)
        xwalk.append(("customer", a.customer_id, "oracle", "accounts",
                      str(row["CustomerAccountId"])))

    order_no: dict[str, str] = {}
    po_of: dict[str, str | None] = {}
    for n, o in enumerate(orders, 1):
        a = acct[o.customer_id]
        number = order_no[o.order_id] = str(100000 + n)
        ref = crm_refs.get(o.opportunity_id) if o.opportunity_id else None
        system = _CRM_SYSTEM[opp_unit[o.opportunity_id]] if ref and o.opportunity_id else "OPS"
        source_no = ref if system != "OPS" else number
        po_of[o.order_id] = o.customer_po
        code, label = _STATUS[o.status]
        header = big + 900000 + 13 * n
        rows["salesOrdersForOrderHub"].append({
            "HeaderId": header, "OrderKey": f"{system}:{source_no}", "OrderNumber": number,
            "SourceTransactionId": source_no, "SourceTransactionNumber": source_no,
            "SourceTransactionSystem": system, "BusinessUnitName": _BU,
            "BuyingPartyId": a["PartyId"], "BuyingPartyNumber": a["PartyNumber"],
            "BuyingPartyName": a["PartyName"], "CustomerPONumber": o.customer_po,
            "TransactionalCurrencyCode": o.currency, "OrderedDate": o.created_at,
            "RequestedShipDate": o.created_at + dt.timedelta(days=14),
            "StatusCode": code, "Status": label, "TotalAmount": o.amount,
            "CreationDate": o.created_at, "LastUpdateDate": o.last_modified_at,
        })
        xwalk.append(("order", o.order_id, "oracle", "salesOrdersForOrderHub", str(header)))

    docs = [d for d in company.invoices if d.order_id in order_no]
    inv_ids = {d.doc_id for d in docs}
    docs += [d for d in company.credit_memos if d.invoice_id in inv_ids]
    docs.sort(key=lambda d: d.created_at)
    paid_at = {p.invoice_id: p.created_at for p in company.payments if p.invoice_id in inv_ids}
    for n, d in enumerate(docs, 1):
        a = acct[d.customer_id]
        credit = d.kind == "credit_memo"
        trx = big + 2000000 + 17 * n
        usd = company.rate_to_usd(d.currency, d.doc_date)
        rows["receivablesInvoices"].append({
            "CustomerTransactionId": trx, "TransactionNumber": str(300000 + n),
            "TransactionDate": d.doc_date, "AccountingDate": d.doc_date,
            "TransactionType": "Credit Memo" if credit else "Invoice",
            "TransactionSource": "Manual" if credit else "Distributed Order Orchestration",
            "BusinessUnit": _BU, "BillToCustomerNumber": a["AccountNumber"],
            "BillToCustomerName": a["AccountName"], "InvoiceCurrencyCode": d.currency,
            "ConversionRate": None if d.currency == "USD" else usd,
            "ConversionRateType": None if d.currency == "USD" else "Corporate",
            "ConversionDate": None if d.currency == "USD" else d.doc_date,
            "EnteredAmount": -d.amount if credit else d.amount,
            "InvoiceBalanceAmount": 0.0 if credit else round(d.amount - d.amount_paid, 2),
            "InvoiceStatus": "Complete", "DueDate": d.due_date,
            "PaymentTerms": None if credit else "30 NET", "PurchaseOrder": po_of[d.order_id],
            "CrossReference": order_no[d.order_id], "CreationDate": d.created_at,
            "LastUpdateDate": paid_at.get(d.doc_id, d.created_at),
        })
        xwalk.append(("credit_memo" if credit else "invoice", d.doc_id, "oracle",
                      "receivablesInvoices", str(trx)))

    resources = {name: ErpTable(name, _fields(spec), rows[name], key=_KEYS[name])
                 for name, spec in RESOURCE_FIELDS.items()}
    return OracleFusion(resources=resources, today=company.today), xwalk


def oracle_truth_tables(pod: OracleFusion) -> dict[str, pa.Table]:
    """Resource -> typed Arrow table (for the adapter that comes later)."""
    out = {}
    for name, table in pod.resources.items():
        arrays = [pa.array([r.get(f.name) for r in table.rows], ARROW_TYPES[f.type])
                  for f in table.fields]
        out[name] = pa.Table.from_arrays(arrays, names=[f.name for f in table.fields])
    return out
