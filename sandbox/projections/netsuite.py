"""Project the headquarters' books into one NetSuite account (SuiteQL records).

NetSuite has kept HQ's books since the go-live (``Company.erp_go_live``): sales orders,
invoices, customer payments and credit memos of the HQ entity, its customers (those
migrated from the legacy ERP are stamped with the go-live as ``datecreated``), items with
the HQ price and stock, currencies and dated exchange rates, the four subsidiaries and
the sales employees. Integer internal ids, deterministic; SuiteQL's lowercase field names.

Conventions a reader needs (the simulator renders them as SuiteQL would):
- ``transaction.type``: SalesOrd, CustInvc, CustPymt, CustCred; ``status`` is the
  one-letter code (``STATUS_LABELS`` has the labels). Sales orders A (pending approval)
  and C (cancelled) are not bookings.
- ``foreigntotal`` is in the transaction currency, ``total`` in the base currency (USD):
  round(foreigntotal * exchangerate, 2). Credit memos carry negative totals, so billings
  are ``sum(total)`` over CustInvc and CustCred; lines are positive.
- ``createdfrom``: invoice -> its sales order, credit memo -> its invoice; payments name
  the invoice they pay in ``memo``.
- ``otherrefnum`` on orders and their invoices: the CRM record id of the deal (Salesforce
  Opportunity Id or HubSpot deal id) when the order came from one, else the customer's
  PO number or nothing.
- ``transactionline.foreignamount`` is the line's net amount in the transaction currency,
  ``netamount`` the same in base currency.

Mess added here, not in the truth: ~3% of customers were keyed a second time (no
``externalid``, the trading name instead of the legal name) and some of their later
orders were booked to that duplicate. Master-data conflicts come from the truth facts.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from sandbox.company import (
    CURRENCIES,
    LEGAL_ENTITIES,
    UTC,
    BillingDocument,
    Company,
    SalesOrder,
)
from sandbox.projections.erp_model import ErpField, ErpTable, NetSuiteAccount

__all__ = [
    "ARROW_TYPES",
    "CURRENCY_IDS",
    "STATUS_LABELS",
    "TABLE_FIELDS",
    "netsuite_truth_tables",
    "project_netsuite",
    "project_netsuite_crosswalk",
]

CrosswalkRow = tuple[str, str, str, str, str]

ARROW_TYPES: dict[str, pa.DataType] = {
    "integer": pa.int64(),
    "select": pa.int64(),
    "float": pa.float64(),
    "currency": pa.float64(),
    "text": pa.string(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "boolean": pa.bool_(),
}
# NetSuite's own numbering of a fresh account: USD first, then the others.
CURRENCY_IDS = {"USD": 1, "GBP": 2, "CAD": 3, "EUR": 4, "JPY": 5, "AUD": 6}
SUBSIDIARY_IDS = {e.entity_id: i for i, e in enumerate(LEGAL_ENTITIES, 1)}
STATUS_LABELS: dict[str, dict[str, str]] = {
    "SalesOrd": {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
                 "E": "Pending Billing/Partially Fulfilled", "G": "Billed", "H": "Closed"},
    "CustInvc": {"A": "Open", "B": "Paid In Full"},
    "CustCred": {"A": "Open", "B": "Fully Applied"},
    "CustPymt": {"B": "Not Deposited", "C": "Deposited"},
}
_ORDER_STATUS = {"pending_approval": "A", "open": "B", "cancelled": "C",
                 "partially_billed": "E", "billed": "G"}
_ITEM_TYPES = {"Hardware": "InvtPart", "Services": "Service"}

TABLE_FIELDS: dict[str, str] = {
    "subsidiary": "id:integer name:text country:text currency:select",
    "currency": "id:integer symbol:text name:text isbasecurrency:boolean",
    "currencyrate": "id:integer basecurrency:select transactioncurrency:select "
                    "exchangerate:float effectivedate:date",
    "employee": "id:integer entityid:text firstname:text lastname:text email:text "
                "subsidiary:select isinactive:boolean",
    "item": "id:integer itemid:text displayname:text itemtype:text baseprice:currency "
            "quantityonhand:float isinactive:boolean",
    "customer": "id:integer entityid:text companyname:text email:text phone:text "
                "subsidiary:select currency:select creditlimit:currency balance:currency "
                "isinactive:boolean datecreated:datetime lastmodifieddate:datetime "
                "externalid:text",
    "transaction": "id:integer tranid:text type:text entity:select trandate:date status:text "
                   "currency:select exchangerate:float foreigntotal:currency total:currency "
                   "createdfrom:select memo:text otherrefnum:text subsidiary:select "
                   "postingperiod:text createddate:datetime lastmodifieddate:datetime",
    "transactionline": "uniquekey:integer transaction:select linesequencenumber:integer "
                       "item:select quantity:float rate:currency foreignamount:currency "
                       "netamount:currency",
}
_KEYS = {"transactionline": "uniquekey"}


def _fields(spec: str) -> list[ErpField]:
    out = []
    for part in spec.split():
        name, typ = part.split(":")
        out.append(ErpField(name, typ, label=name, nullable=name != "id"))
    return out


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def _at(ms: int) -> dt.datetime:
    """NetSuite keeps datetimes to the second."""
    return dt.datetime.fromtimestamp(ms // 1000, UTC)


def project_netsuite(company: Company, crm_refs: Mapping[str, str] | None = None
                     ) -> NetSuiteAccount:
    """The NetSuite account; ``crm_refs`` maps truth deal ids to CRM record ids."""
    return project_netsuite_crosswalk(company, crm_refs)[0]


def project_netsuite_crosswalk(
    company: Company, crm_refs: Mapping[str, str] | None = None
) -> tuple[NetSuiteAccount, list[CrosswalkRow]]:
    """The account plus one crosswalk row per customer, item, employee, order, invoice,
    credit memo and payment record (duplicate customer records included)."""
    if crm_refs is None:
        from sandbox.world import crm_opportunity_refs  # lazy: world imports this module

        crm_refs = crm_opportunity_refs(company)
    rng = random.Random(f"netsuite:{company.seed}")
    rand = rng.random
    now_ms = _ms(company.now)
    go_live = company.erp_go_live or company.today
    go_live_ms = _ms(dt.datetime.combine(go_live, dt.time(), tzinfo=UTC))
    rate = company.rate_to_usd
    xwalk: list[CrosswalkRow] = []
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLE_FIELDS}
    cust_by_id = {c.customer_id: c for c in company.customers}
    opp_by_id = {o.opportunity_id: o for o in company.opportunities}

    # Reference data ---------------------------------------------------------------------
    for e in LEGAL_ENTITIES:
        rows["subsidiary"].append({"id": SUBSIDIARY_IDS[e.entity_id], "name": e.name,
                                   "country": e.country_code,
                                   "currency": CURRENCY_IDS[e.currency]})
    for c in sorted(CURRENCIES, key=lambda c: CURRENCY_IDS[c.code]):
        rows["currency"].append({"id": CURRENCY_IDS[c.code], "symbol": c.code, "name": c.name,
                                 "isbasecurrency": c.code == "USD"})
    for r in company.fx_rates:
        if r.currency == "USD":
            continue
        rows["currencyrate"].append({
            "id": len(rows["currencyrate"]) + 1, "basecurrency": CURRENCY_IDS["USD"],
            "transactioncurrency": CURRENCY_IDS[r.currency], "exchangerate": r.rate_to_usd,
            "effectivedate": r.effective_from,
        })
    for n, u in enumerate(company.users, 101):
        rows["employee"].append({"id": n, "entityid": f"{u.first_name} {u.last_name}",
                                 "firstname": u.first_name, "lastname": u.last_name,
                                 "email": u.email, "subsidiary": SUBSIDIARY_IDS["HQ"],
                                 "isinactive": not u.active})
        xwalk.append(("user", u.user_id, "netsuite", "employee", str(n)))
    price = {(p.entity_id, p.product_id): p.price for p in company.item_prices}
    stock = {(s.entity_id, s.product_id): s.quantity_on_hand for s in company.inventory}
    item_ids: dict[str, int] = {}
    for n, p in enumerate(company.products, 201):
        item_ids[p.product_id] = n
        rows["item"].append({
            "id": n, "itemid": p.sku, "displayname": p.name,
            "itemtype": _ITEM_TYPES.get(p.family, "NonInvtPart"),
            "baseprice": price[("HQ", p.product_id)],
            "quantityonhand": stock.get(("HQ", p.product_id)), "isinactive": not p.active,
        })
        xwalk.append(("product", p.product_id, "netsuite", "item", str(n)))

    # Customers ----------------------------------------------------------------------------
    orders = [o for o in company.orders if o.system == "netsuite"]
    first_order: dict[str, int] = {}
    last_order: dict[str, dt.date] = {}
    for o in orders:
        first_order.setdefault(o.customer_id, _ms(o.created_at))
        last_order[o.customer_id] = max(last_order.get(o.customer_id, o.order_date),
                                        o.order_date)
    accounts = [a for a in company.erp_accounts if a.entity_id == "HQ"]
    conflicts = {(m.customer_id, m.field): m.system_value
                 for m in company.master_conflicts if m.system == "netsuite"}

    def created_of(a: Any) -> int:
        if a.legacy_credit_limit is not None:  # migrated in one import at the go-live
            return go_live_ms
        first = first_order.get(a.customer_id, now_ms - 1)
        return max(go_live_ms + 3_600_000, first - int(rand() * 3 * 86_400_000))

    drafts = sorted(((created_of(a), a.customer_id, a) for a in accounts),
                    key=lambda d: (d[0], d[1]))
    record_of: dict[str, int] = {}
    dup_of: dict[str, tuple[int, int]] = {}  # customer -> (duplicate record id, created ms)
    next_id = 1001
    customer_rows = rows["customer"]
    for k, (created_ms, cid, a) in enumerate(drafts):
        c = cust_by_id[cid]
        if created_ms == go_live_ms:
            created_ms += k * 1000  # one record a second during the import
        next_id += 1 if rand() < 0.9 else 2 + int(rand() * 5)
        rid = record_of[cid] = next_id
        inactive = cid not in last_order or (
            (company.today - last_order[cid]).days > 365 and rand() < 0.3)
        email = conflicts.get((cid, "email"),
                              None if rand() < 0.1 else f"ap@{c.domain}")
        currency = conflicts.get((cid, "currency"), a.currency)
        customer_rows.append({
            "id": rid, "entityid": f"C{10000 + rid}",
            "companyname": conflicts.get((cid, "name"), c.legal_name),
            "email": email, "phone": conflicts.get((cid, "phone"), c.phone),
            "subsidiary": SUBSIDIARY_IDS["HQ"], "currency": CURRENCY_IDS[currency],
            "creditlimit": a.credit_limit, "balance": 0.0, "isinactive": inactive,
            "datecreated": _at(created_ms), "lastmodifieddate": _at(created_ms),
            "externalid": cid,
        })
        xwalk.append(("customer", cid, "netsuite", "customer", str(rid)))
        if cid in first_order and rand() < 0.03:  # keyed again by someone in a hurry
            dup_ms = first_order[cid] + int(rand() * max(1, now_ms - first_order[cid]) * 0.5)
            dup_of[cid] = (0, dup_ms)
    for cid, (_, dup_ms) in sorted(dup_of.items(), key=lambda kv: (kv[1][1], kv[0])):
        c = cust_by_id[cid]
        next_id += 1
        dup_of[cid] = (next_id, dup_ms)
        base = record_of[cid]
        customer_rows.append({
            **next(r for r in customer_rows if r["id"] == base),
            "id": next_id, "entityid": f"C{10000 + next_id}", "companyname": c.name.strip(),
            "email": None, "isinactive": False, "datecreated": _at(dup_ms),
            "lastmodifieddate": _at(dup_ms), "externalid": None,
        })
        xwalk.append(("customer", cid, "netsuite", "customer", str(next_id)))

    # Transactions ------------------------------------------------------------------------
    order_ids = {o.order_id for o in orders}
    invoices = [d for d in company.invoices if d.order_id in order_ids]
    invoice_ids = {d.doc_id for d in invoices}
    credits = [d for d in company.credit_memos if d.invoice_id in invoice_ids]
    payments = [p for p in company.payments if p.invoice_id in invoice_ids]
    docs: list[tuple[int, int, str, Any]] = []
    docs += [(_ms(o.created_at), 0, "SalesOrd", o) for o in orders]
    docs += [(_ms(d.created_at), 1, "CustInvc", d) for d in invoices]
    docs += [(_ms(d.created_at), 2, "CustCred", d) for d in credits]
    docs += [(_ms(p.created_at), 3, "CustPymt", p) for p in payments]
    docs.sort(key=lambda d: (d[0], d[1]))
    prefixes = {"SalesOrd": ("SO", 1001), "CustInvc": ("INV", 1001), "CustCred": ("CM", 101),
                "CustPymt": ("PYMT", 501)}
    counters = {t: start for t, (_, start) in prefixes.items()}
    tx_id: dict[str, int] = {}
    tranid_of: dict[str, str] = {}
    entity_of_order: dict[str, int] = {}
    ref_of_order: dict[str, str | None] = {}
    paid_at: dict[str, int] = {p.invoice_id: _ms(p.created_at) for p in payments}
    balance: dict[int, float] = {}
    line_key = 0
    next_tx = 5000
    entities: dict[str, int] = {}  # invoice -> customer record
    objects = {"SalesOrd": "order", "CustInvc": "invoice", "CustCred": "credit_memo",
               "CustPymt": "payment"}
    for created_ms, _, typ, doc in docs:
        next_tx += 1 if rand() < 0.85 else 2 + int(rand() * 4)
        prefix, _ = prefixes[typ]
        tranid = f"{prefix}{counters[typ]}"
        counters[typ] += 1
        memo = None
        created_from = None
        modified_ms = created_ms
        if typ == "SalesOrd":
            order: SalesOrder = doc
            truth_id, day, currency = order.order_id, order.order_date, order.currency
            entity = record_of[order.customer_id]
            dup = dup_of.get(order.customer_id)
            if dup and created_ms >= dup[1] and rand() < 0.5:
                entity = dup[0]
            entity_of_order[order.order_id] = entity
            ref = crm_refs.get(order.opportunity_id) if order.opportunity_id else None
            ref_of_order[order.order_id] = ref or order.customer_po
            foreign = order.amount
            status = _ORDER_STATUS[order.status]
            opp = opp_by_id.get(order.opportunity_id or "")
            memo = opp.name if opp else ("Web order" if rand() < 0.5 else None)
            modified_ms = _ms(order.last_modified_at)
            other = ref_of_order[order.order_id]
            lines = order.lines
        elif typ in ("CustInvc", "CustCred"):
            bill: BillingDocument = doc
            truth_id, day, currency = bill.doc_id, bill.doc_date, bill.currency
            entity = entity_of_order[bill.order_id]
            lines = bill.lines
            if typ == "CustInvc":
                created_from = tx_id[bill.order_id]
                foreign = bill.amount
                status = "B" if bill.status == "paid" else "A"
                other = ref_of_order[bill.order_id]
                modified_ms = max(created_ms, paid_at.get(bill.doc_id, created_ms))
            else:
                created_from = tx_id[bill.invoice_id or ""]
                foreign = -bill.amount
                status = "B" if bill.status == "applied" else "A"
                other = None
                memo = f"Credit for {tranid_of[bill.invoice_id or '']}"
        else:
            truth_id, day, currency = doc.payment_id, doc.payment_date, doc.currency
            entity = entities[doc.invoice_id]
            foreign = doc.amount
            status = "C" if (company.today - day).days > 3 else "B"
            other = None
            memo = f"Payment for {tranid_of[doc.invoice_id]}"
            lines = ()
        xrate = rate(currency, day)
        total = round(foreign * xrate, 2)
        tx = tx_id[truth_id] = next_tx
        tranid_of[truth_id] = tranid
        if typ == "CustInvc":
            entities[truth_id] = entity
        balance[entity] = balance.get(entity, 0.0) + (total if typ != "CustPymt" else -total)
        rows["transaction"].append({
            "id": tx, "tranid": tranid, "type": typ, "entity": entity, "trandate": day,
            "status": status, "currency": CURRENCY_IDS[currency], "exchangerate": xrate,
            "foreigntotal": foreign, "total": total, "createdfrom": created_from,
            "memo": memo, "otherrefnum": other, "subsidiary": SUBSIDIARY_IDS["HQ"],
            "postingperiod": day.strftime("%b %Y"), "createddate": _at(created_ms),
            "lastmodifieddate": _at(min(modified_ms, now_ms - 1)),
        })
        xwalk.append((objects[typ], truth_id, "netsuite", "transaction", str(tx)))
        for li in lines:
            line_key += 1
            rows["transactionline"].append({
                "uniquekey": line_key, "transaction": tx, "linesequencenumber": li.line_no,
                "item": item_ids[li.product_id], "quantity": li.quantity, "rate": li.rate,
                "foreignamount": li.amount, "netamount": round(li.amount * xrate, 2),
            })
    for r in customer_rows:
        r["balance"] = round(balance.get(r["id"], 0.0), 2) + 0.0
        touched = r["datecreated"]
        if rand() < 0.4:
            span = max(1, now_ms - _ms(touched) - 1)
            r["lastmodifieddate"] = _at(_ms(touched) + int(rand() * span))
    customer_rows.sort(key=lambda r: r["id"])

    tables = {
        name: ErpTable(name, _fields(spec), rows[name], key=_KEYS.get(name, "id"))
        for name, spec in TABLE_FIELDS.items()
    }
    return NetSuiteAccount(tables=tables, today=company.today), xwalk


def netsuite_truth_tables(account: NetSuiteAccount) -> dict[str, pa.Table]:
    """Table name -> typed Arrow table, columns = fields in order (see ``ARROW_TYPES``)."""
    out = {}
    for name, table in account.tables.items():
        arrays = [pa.array([r.get(f.name) for r in table.rows], ARROW_TYPES[f.type])
                  for f in table.fields]
        out[name] = pa.Table.from_arrays(arrays, names=[f.name for f in table.fields])
    return out
