"""Project the UK subsidiary's books into one QuickBooks Online company (realm).

The acquired subsidiary keeps small-business books: no sales orders. A sale is an
Invoice (or a SalesReceipt when paid at once), sometimes preceded by an Estimate; then
Payments and CreditMemos. Objects are shaped as the Accounting API returns them: string
Ids, SyncToken, MetaData with Pacific-time ISO timestamps ("2024-01-31T10:00:00-08:00"),
refs as {value, name}, amounts as JSON numbers, and every property without a value left
out (QBO omits them). Home currency GBP; documents in another currency carry
``ExchangeRate`` (GBP per unit) and ``HomeTotalAmt``.

The CRM deal id rides on the sale as the custom field "CRM Deal ID" (how the HubSpot and
Salesforce connectors for QBO store it). Only the subsidiary's customers and documents
are here.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Mapping
from typing import Any

from sandbox.company import CURRENCIES, Company, DocLine
from sandbox.projections.erp_model import QuickBooksCompany

__all__ = ["ENTITIES", "iso_pacific", "project_quickbooks", "project_quickbooks_crosswalk",
           "quickbooks_truth_tables"]

CrosswalkRow = tuple[str, str, str, str, str]
ENTITIES = ("Customer", "Item", "Estimate", "Invoice", "SalesReceipt", "Payment", "CreditMemo")
_PACIFIC = zoneinfo.ZoneInfo("America/Los_Angeles")
_CURRENCY_NAMES = {c.code: c.name for c in CURRENCIES}
_CURRENCY_NAMES.update({"USD": "United States Dollar", "GBP": "British Pound Sterling"})
_ITEM_TYPES = {"Hardware": "Inventory", "Services": "Service"}
_EMPTY_OK = frozenset({"SubTotalLineDetail"})  # QBO sends this one as {}


def iso_pacific(t: dt.datetime) -> str:
    """QBO's MetaData timestamp: seconds, Pacific offset."""
    return t.astimezone(_PACIFIC).isoformat(timespec="seconds")


def _clean(obj: Any) -> Any:
    """Drop None values and empty containers, recursively: QBO omits them."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = _clean(v)
            if v is None or v == [] or (v == {} and k not in _EMPTY_OK):
                continue
            out[k] = v
        return out
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def project_quickbooks(company: Company, crm_refs: Mapping[str, str] | None = None
                       ) -> QuickBooksCompany:
    """The QBO company; ``crm_refs`` maps truth deal ids to CRM record ids."""
    return project_quickbooks_crosswalk(company, crm_refs)[0]


def project_quickbooks_crosswalk(
    company: Company, crm_refs: Mapping[str, str] | None = None
) -> tuple[QuickBooksCompany, list[CrosswalkRow]]:
    """The company plus one crosswalk row per customer, item, sale (entity "order":
    Invoice or SalesReceipt), credit memo and payment."""
    if crm_refs is None:
        from sandbox.world import crm_opportunity_refs  # lazy: world imports this module

        crm_refs = crm_opportunity_refs(company)
    rng = random.Random(f"quickbooks:{company.seed}")
    rand = rng.random
    xwalk: list[CrosswalkRow] = []
    ents: dict[str, list[dict[str, Any]]] = {e: [] for e in ENTITIES}
    cust_by_id = {c.customer_id: c for c in company.customers}
    prod_by_id = {p.product_id: p for p in company.products}
    conflicts = {(m.customer_id, m.field): m.system_value
                 for m in company.master_conflicts if m.system == "quickbooks"}
    now = company.now
    rate = company.rate_to_usd

    def meta(created: dt.datetime, updated: dt.datetime | None = None) -> dict[str, str]:
        return {"CreateTime": iso_pacific(created),
                "LastUpdatedTime": iso_pacific(min(updated or created, now))}

    def currency_ref(code: str) -> dict[str, str]:
        return {"value": code, "name": _CURRENCY_NAMES[code]}

    def fx(code: str, day: dt.date) -> float | None:
        return None if code == "GBP" else round(rate(code, day) / rate("GBP", day), 6)

    # Items ---------------------------------------------------------------------------------
    price = {ip.product_id: ip.price for ip in company.item_prices if ip.entity_id == "UK"}
    stock = {s.product_id: s.quantity_on_hand for s in company.inventory if s.entity_id == "UK"}
    item_ref: dict[str, dict[str, str]] = {}
    for n, p in enumerate(company.products, 1):
        kind = _ITEM_TYPES.get(p.family, "NonInventory")
        item_ref[p.product_id] = {"value": str(n), "name": p.name}
        ents["Item"].append(_clean({
            "Id": str(n), "SyncToken": "0", "MetaData": meta(p.created_at),
            "Name": p.name, "Sku": p.sku, "Description": p.description, "Type": kind,
            "UnitPrice": price[p.product_id], "Active": p.active,
            "TrackQtyOnHand": kind == "Inventory",
            "QtyOnHand": stock.get(p.product_id) if kind == "Inventory" else None,
        }))
        xwalk.append(("product", p.product_id, "quickbooks", "Item", str(n)))

    # Customers ----------------------------------------------------------------------------
    orders = [o for o in company.orders if o.system == "quickbooks"]
    first: dict[str, dt.datetime] = {}
    for o in orders:
        first.setdefault(o.customer_id, o.created_at)
    accounts = sorted((a for a in company.erp_accounts if a.entity_id == "UK"),
                      key=lambda a: (first.get(a.customer_id, now), a.customer_id))
    cust_ref: dict[str, dict[str, str]] = {}
    customer_obj: dict[str, dict[str, Any]] = {}
    next_id = 57  # a realm's first ids go to the chart of accounts and defaults
    for a in accounts:
        c = cust_by_id[a.customer_id]
        next_id += 1
        cid = str(next_id)
        name = conflicts.get((a.customer_id, "name"), c.legal_name)
        display = conflicts.get((a.customer_id, "name"), c.name.strip())
        created = first.get(a.customer_id, now) - dt.timedelta(minutes=10 + int(rand() * 4000))
        cust_ref[a.customer_id] = {"value": cid, "name": display}
        obj = {
            "Id": cid, "SyncToken": "0", "MetaData": meta(created),
            "DisplayName": display, "CompanyName": name,
            "PrimaryEmailAddr": {"Address": conflicts.get((a.customer_id, "email"),
                                                          f"accounts@{c.domain}")},
            "PrimaryPhone": {"FreeFormNumber": conflicts.get((a.customer_id, "phone"),
                                                             c.phone)},
            "BillAddr": {"Line1": c.street.split("\n")[0], "City": c.city,
                         "PostalCode": c.postal_code, "Country": c.country_code},
            "CurrencyRef": currency_ref(conflicts.get((a.customer_id, "currency"), a.currency)),
            "Balance": 0.0, "Active": True, "Job": False, "BillWithParent": False,
        }
        customer_obj[a.customer_id] = obj
        ents["Customer"].append(obj)
        xwalk.append(("customer", a.customer_id, "quickbooks", "Customer", cid))

    # Transactions, in creation order, with one id sequence and one document number.
    order_ids = {o.order_id for o in orders}
    order_by_id = {o.order_id: o for o in orders}
    sales = [d for d in company.invoices if d.order_id in order_ids]
    sale_ids = {d.doc_id for d in sales}
    credits = [d for d in company.credit_memos if d.invoice_id in sale_ids]
    payments = [p for p in company.payments if p.invoice_id in sale_ids]
    estimates = []
    for o in orders:
        if o.opportunity_id and rand() < 0.35:
            est_date = o.order_date - dt.timedelta(days=1 + int(rand() * 14))
            created = dt.datetime.combine(est_date, dt.time(10), tzinfo=o.created_at.tzinfo)
            estimates.append((created, o))
    events: list[tuple[dt.datetime, int, str, Any]] = []
    events += [(t, 0, "Estimate", o) for t, o in estimates]
    events += [(d.created_at, 1, "SalesReceipt" if d.cash_sale else "Invoice", d) for d in sales]
    events += [(d.created_at, 2, "CreditMemo", d) for d in credits]
    events += [(p.created_at, 3, "Payment", p) for p in payments]
    events.sort(key=lambda e: (e[0], e[1]))
    txn_id = 130
    doc_no = 1000
    id_of: dict[str, str] = {}
    est_of: dict[str, dict[str, Any]] = {}
    paid_at: dict[str, dt.datetime] = {p.invoice_id: p.created_at for p in payments}

    def lines(doc_lines: tuple[DocLine, ...], total: float) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {"Id": str(li.line_no), "LineNum": li.line_no, "Amount": li.amount,
             "Description": prod_by_id[li.product_id].name,
             "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": item_ref[li.product_id], "Qty": li.quantity,
                                     "UnitPrice": li.rate}}
            for li in doc_lines
        ]
        out.append({"Amount": total, "DetailType": "SubTotalLineDetail",
                    "SubTotalLineDetail": {}})
        return out

    for created, _, kind, doc in events:
        txn_id += 1 if rand() < 0.8 else 2
        tid = str(txn_id)
        if kind == "Estimate":
            o = doc
            doc_no += 1
            obj = {
                "Id": tid, "SyncToken": "1", "MetaData": meta(created, o.created_at),
                "DocNumber": str(doc_no), "TxnDate": (created.date()).isoformat(),
                "ExpirationDate": (created.date() + dt.timedelta(days=30)).isoformat(),
                "TxnStatus": "Closed", "CurrencyRef": currency_ref(o.currency),
                "ExchangeRate": fx(o.currency, created.date()),
                "CustomerRef": cust_ref[o.customer_id], "Line": lines(o.lines, o.amount),
                "TotalAmt": o.amount,
            }
            est_of[o.order_id] = obj  # cleaned at the end, once its LinkedTxn is known
            continue
        if kind in ("Invoice", "SalesReceipt"):
            d = doc
            o = order_by_id[d.order_id]
            doc_no += 1
            id_of[d.doc_id] = tid
            ref = crm_refs.get(o.opportunity_id) if o.opportunity_id else None
            rate_gbp = fx(d.currency, d.doc_date)
            balance = 0.0 if kind == "SalesReceipt" else round(d.amount - d.amount_paid, 2)
            updated = paid_at.get(d.doc_id, created)
            est = est_of.get(d.order_id)
            obj = {
                "Id": tid, "SyncToken": "0" if updated == created else "1",
                "MetaData": meta(created, updated), "DocNumber": str(doc_no),
                "TxnDate": d.doc_date.isoformat(),
                "DueDate": None if kind == "SalesReceipt" else d.due_date.isoformat(),
                "CurrencyRef": currency_ref(d.currency), "ExchangeRate": rate_gbp,
                "CustomerRef": cust_ref[d.customer_id], "Line": lines(d.lines, d.amount),
                "TotalAmt": d.amount, "Balance": balance,
                "HomeTotalAmt": round(d.amount * rate_gbp, 2) if rate_gbp else None,
                "CustomField": [{"DefinitionId": "1", "Name": "CRM Deal ID",
                                 "Type": "StringType", "StringValue": ref}] if ref else None,
                "PrivateNote": f"Customer PO {o.customer_po}" if o.customer_po else None,
                "LinkedTxn": [{"TxnId": est["Id"], "TxnType": "Estimate"}] if est else None,
            }
            if est:
                est["LinkedTxn"] = [{"TxnId": tid, "TxnType": kind}]
            ents[kind].append(obj)
            xwalk.append(("order", d.order_id, "quickbooks", kind, tid))
            customer_obj[d.customer_id]["Balance"] += balance
        elif kind == "CreditMemo":
            d = doc
            doc_no += 1
            rate_gbp = fx(d.currency, d.doc_date)
            ents[kind].append(_clean({
                "Id": tid, "SyncToken": "0", "MetaData": meta(created),
                "DocNumber": str(doc_no), "TxnDate": d.doc_date.isoformat(),
                "CurrencyRef": currency_ref(d.currency), "ExchangeRate": rate_gbp,
                "CustomerRef": cust_ref[d.customer_id], "Line": lines(d.lines, d.amount),
                "TotalAmt": d.amount, "Balance": 0.0, "RemainingCredit": 0.0,
            }))
            xwalk.append(("credit_memo", d.doc_id, "quickbooks", kind, tid))
        else:
            p = doc
            ents[kind].append(_clean({
                "Id": tid, "SyncToken": "0", "MetaData": meta(created),
                "TxnDate": p.payment_date.isoformat(), "CurrencyRef": currency_ref(p.currency),
                "ExchangeRate": fx(p.currency, p.payment_date),
                "CustomerRef": cust_ref[p.customer_id], "TotalAmt": p.amount,
                "UnappliedAmt": 0.0,
                "Line": [{"Amount": p.amount,
                          "LinkedTxn": [{"TxnId": id_of[p.invoice_id], "TxnType": "Invoice"}]}],
            }))
            xwalk.append(("payment", p.payment_id, "quickbooks", kind, tid))
    for kind in ("Invoice", "SalesReceipt"):
        ents[kind] = [_clean(obj) for obj in ents[kind]]
    ents["Estimate"] = sorted((_clean(obj) for obj in est_of.values()),
                              key=lambda e: int(e["Id"]))
    for obj in customer_obj.values():
        obj["Balance"] = round(obj["Balance"], 2) + 0.0
    ents["Customer"] = [_clean(obj) for obj in ents["Customer"]]
    return QuickBooksCompany(entities=ents, today=company.today), xwalk


# -- truth tables ----------------------------------------------------------------------------
# The company flattened the way the QuickBooks adapter exposes it, written independently of
# the adapter (its own column lists and conversions) so differential tests compare two
# implementations: top-level scalars by name, nested objects one level deep joined with "_",
# arrays left out, and one line table per Line array. Types: s string, f float64, i int64,
# d date32, t timestamp[ms, UTC], b bool.

_HEAD = "Id:s SyncToken:s MetaData_CreateTime:t MetaData_LastUpdatedTime:t"
_TXN_HEAD = _HEAD + " DocNumber:s TxnDate:d"
_TXN_TAIL = ("CustomerRef_value:s CustomerRef_name:s CurrencyRef_value:s CurrencyRef_name:s "
             "ExchangeRate:f TotalAmt:f HomeTotalAmt:f PrivateNote:s CustomerMemo_value:s "
             "BillEmail_Address:s")
_TRUTH_COLUMNS = {
    "Customer": _HEAD + " DisplayName:s CompanyName:s GivenName:s FamilyName:s "
    "FullyQualifiedName:s PrimaryEmailAddr_Address:s PrimaryPhone_FreeFormNumber:s "
    "BillAddr_Line1:s BillAddr_City:s BillAddr_PostalCode:s BillAddr_Country:s "
    "BillAddr_CountrySubDivisionCode:s CurrencyRef_value:s CurrencyRef_name:s Balance:f "
    "Active:b Job:b BillWithParent:b Taxable:b Notes:s",
    "Item": _HEAD + " Name:s Sku:s Description:s Type:s UnitPrice:f PurchaseCost:f Active:b "
    "Taxable:b TrackQtyOnHand:b QtyOnHand:f InvStartDate:d FullyQualifiedName:s "
    "IncomeAccountRef_value:s IncomeAccountRef_name:s",
    "Invoice": f"{_TXN_HEAD} DueDate:d Balance:f EmailStatus:s {_TXN_TAIL}",
    "Estimate": f"{_TXN_HEAD} ExpirationDate:d TxnStatus:s AcceptedBy:s AcceptedDate:d "
    f"{_TXN_TAIL}",
    "SalesReceipt": f"{_TXN_HEAD} Balance:f PaymentRefNum:s PaymentMethodRef_value:s "
    f"PaymentMethodRef_name:s DepositToAccountRef_value:s DepositToAccountRef_name:s "
    f"{_TXN_TAIL}",
    "CreditMemo": f"{_TXN_HEAD} Balance:f RemainingCredit:f {_TXN_TAIL}",
    "Payment": _HEAD + " TxnDate:d CustomerRef_value:s CustomerRef_name:s CurrencyRef_value:s "
    "CurrencyRef_name:s ExchangeRate:f TotalAmt:f UnappliedAmt:f PaymentRefNum:s "
    "PrivateNote:s PaymentMethodRef_value:s PaymentMethodRef_name:s "
    "DepositToAccountRef_value:s DepositToAccountRef_name:s",
}
_LINE_ENTITIES = ("Invoice", "Estimate", "SalesReceipt", "CreditMemo")


def _truth_type(code: str) -> Any:
    import pyarrow as pa

    return {"s": pa.string(), "f": pa.float64(), "i": pa.int64(), "d": pa.date32(),
            "t": pa.timestamp("ms", tz="UTC"), "b": pa.bool_()}[code]


def _truth_value(value: Any, code: str) -> Any:
    if value is None:
        return None
    if code == "f":
        return float(value)
    if code == "d":
        return dt.date.fromisoformat(value)
    if code == "t":
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    return value


def _truth_get(obj: dict[str, Any], column: str) -> Any:
    head, _, rest = column.partition("_")
    value = obj.get(head)
    if rest:  # one level deep: CustomerRef_value, MetaData_CreateTime
        return value.get(rest) if isinstance(value, dict) else None
    return None if isinstance(value, dict | list) else value


def quickbooks_truth_tables(company_obj: QuickBooksCompany) -> dict[str, Any]:
    """Every entity (and line table) of ``company_obj`` as a ``pa.Table``, typed and named
    as the QuickBooks adapter exposes them; absent properties are NULL."""
    import pyarrow as pa

    out: dict[str, pa.Table] = {}
    for entity, spec in _TRUTH_COLUMNS.items():
        objects = company_obj.entities.get(entity, [])
        columns = [c.split(":") for c in spec.split()]
        out[entity] = pa.table({
            name: pa.array([_truth_value(_truth_get(o, name), code) for o in objects],
                           _truth_type(code))
            for name, code in columns})
        if entity not in _LINE_ENTITIES:
            continue
        rows: dict[str, list[Any]] = {k: [] for k in (
            f"{entity}Id", "Id", "LineNum", "Description", "Amount", "DetailType",
            "ItemRef_value", "ItemRef_name", "Qty", "UnitPrice")}
        for obj in objects:
            for line in obj.get("Line", []):
                detail = line.get(line.get("DetailType", ""), {}) or {}
                item = detail.get("ItemRef") or {}
                rows[f"{entity}Id"].append(obj["Id"])
                rows["Id"].append(line.get("Id"))
                rows["LineNum"].append(line.get("LineNum"))
                rows["Description"].append(line.get("Description"))
                rows["Amount"].append(_truth_value(line.get("Amount"), "f"))
                rows["DetailType"].append(line.get("DetailType"))
                rows["ItemRef_value"].append(item.get("value"))
                rows["ItemRef_name"].append(item.get("name"))
                rows["Qty"].append(_truth_value(detail.get("Qty"), "f"))
                rows["UnitPrice"].append(_truth_value(detail.get("UnitPrice"), "f"))
        types = {"LineNum": pa.int64(), "Amount": pa.float64(), "Qty": pa.float64(),
                 "UnitPrice": pa.float64()}
        out[f"{entity}Line"] = pa.table({k: pa.array(v, types.get(k, pa.string()))
                                         for k, v in rows.items()})
    return out
