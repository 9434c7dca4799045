"""Project the European subsidiary's books into SAP S/4HANA Cloud OData v2 entity sets.

The fields are not invented here: every entity set's properties (name, Edm type,
nullability, precision, scale, date-only display format) are read from the real EDMX
documents in ``sandbox/simulators/sap/edmx``, in document order, so the simulator's
``$metadata`` and our rows can never drift apart. Rows fill the properties a real tenant
populates for these documents and leave the rest out (None).

Keys are SAP's: business partners, customers, sales orders and billing documents are
10-character strings, zero-padded ("0001000042") as the EDMX declares them (Edm.String,
MaxLength 10); item numbers are "10", "20", ... Decimals are ``decimal.Decimal`` at the
property's scale; date-only Edm.DateTime values are ``datetime.date``; Edm.DateTimeOffset
values aware UTC datetimes; Edm.Time values ``datetime.time`` (exposed by Concord as the
ISO-8601 duration SAP sends, "PT14H05M09S").

Invoices are billing documents of type F2, credit memos type G2 (amounts positive in
both; billings = F2 - G2). ``PurchaseOrderByCustomer`` on orders and their billing
documents holds the CRM deal id when the order came from a deal (the integration writes
it there), otherwise the customer's own PO number, if any.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from sandbox.company import DECIMALS, Company, DocLine
from sandbox.projections.erp_model import ErpField, ErpTable, SapSystem

__all__ = [
    "EDMX_DIR",
    "ENTITY_SETS",
    "arrow_type_for",
    "entity_fields",
    "project_sap",
    "project_sap_crosswalk",
    "sap_truth_tables",
    "time_literal",
]

CrosswalkRow = tuple[str, str, str, str, str]
EDMX_DIR = Path(__file__).resolve().parents[1] / "simulators" / "sap" / "edmx"
ENTITY_SETS: dict[str, tuple[str, ...]] = {
    "API_BUSINESS_PARTNER": ("A_BusinessPartner", "A_Customer"),
    "API_SALES_ORDER_SRV": ("A_SalesOrder", "A_SalesOrderItem"),
    "API_BILLING_DOCUMENT_SRV": ("A_BillingDocument", "A_BillingDocumentItem"),
}
_EDMX = "http://schemas.microsoft.com/ado/2007/06/edmx"
_EDM = "http://schemas.microsoft.com/ado/2008/09/edm"
_SAP = "http://www.sap.com/Protocols/SAPData"
_FAMILY_GROUPS = {"Platform": "PLT", "Analytics": "ANL", "Integration": "INT",
                  "Services": "SVC", "Support": "SUP", "Hardware": "HW"}
_USERS = ("CB9980000012", "CC0000000004", "MUELLERJ", "SCHMIDTA")
_SALES_ORG = "1010"
_VAT_COUNTRIES = {"DE", "FR", "NL", "ES", "IE", "SE"}


@functools.cache
def _entity_types(service: str) -> dict[str, tuple[list[ErpField], list[str]]]:
    """EntitySet name -> (properties in EDMX order, key property names)."""
    root = ET.parse(EDMX_DIR / f"{service}.edmx").getroot()
    types: dict[str, Any] = {}
    sets: dict[str, str] = {}
    for schema in root.iter(f"{{{_EDM}}}Schema"):
        ns = schema.get("Namespace", "")
        for et in schema.findall(f"{{{_EDM}}}EntityType"):
            types[f"{ns}.{et.get('Name')}"] = et
        for container in schema.findall(f"{{{_EDM}}}EntityContainer"):
            for es in container.findall(f"{{{_EDM}}}EntitySet"):
                sets[es.get("Name", "")] = es.get("EntityType", "")
    out = {}
    for set_name, type_name in sets.items():
        et = types.get(type_name)
        if et is None:
            continue
        keys = [k.get("Name", "") for k in et.iter(f"{{{_EDM}}}PropertyRef")]
        fields = []
        for prop in et.findall(f"{{{_EDM}}}Property"):
            # Precision/Scale matter for Edm.Decimal only (DateTime's is sub-seconds).
            decimal = prop.get("Type") == "Edm.Decimal"
            precision = prop.get("Precision") if decimal else None
            scale = prop.get("Scale") if decimal else None
            fields.append(ErpField(
                name=prop.get("Name", ""),
                type=prop.get("Type", ""),
                label=prop.get(f"{{{_SAP}}}label", ""),
                nullable=prop.get("Nullable", "true") != "false",
                precision=int(precision) if precision is not None else None,
                scale=int(scale) if scale is not None else None,
                date_only=prop.get(f"{{{_SAP}}}display-format") == "Date",
            ))
        out[set_name] = (fields, keys)
    return out


def entity_fields(service: str, entity_set: str) -> list[ErpField]:
    """The entity set's properties exactly as its EDMX declares them, in order."""
    return list(_entity_types(service)[entity_set][0])


def arrow_type_for(f: ErpField) -> pa.DataType:
    """Edm type -> the Arrow type Concord exposes."""
    t = f.type
    if t in ("Edm.String", "Edm.Guid", "Edm.Time"):
        return pa.string()
    if t == "Edm.Decimal":
        return pa.decimal128(f.precision, f.scale or 0) if f.precision else pa.float64()
    if t == "Edm.DateTime":
        return pa.date32() if f.date_only else pa.timestamp("ms", tz="UTC")
    if t == "Edm.DateTimeOffset":
        return pa.timestamp("ms", tz="UTC")
    if t == "Edm.Boolean":
        return pa.bool_()
    if t in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
        return pa.int64()
    if t in ("Edm.Double", "Edm.Single"):
        return pa.float64()
    raise ValueError(f"unmapped EDM type {t} for {f.name}")


def _dec(value: float, scale: int = 3) -> Decimal:
    return Decimal(f"{value:.{scale}f}")


def _time(t: dt.datetime) -> dt.time:
    return dt.time(t.hour, t.minute, t.second)


def time_literal(value: dt.time | dt.timedelta | str) -> str:
    """Edm.Time as SAP writes it (and Concord exposes it): an ISO duration, PT14H05M09S."""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.time):
        total = value.hour * 3600 + value.minute * 60 + value.second
    else:
        total = int(value.total_seconds())
    return f"PT{total // 3600:02d}H{total % 3600 // 60:02d}M{total % 60:02d}S"


def _at_ms(t: dt.datetime) -> dt.datetime:
    """Edm.DateTimeOffset carries milliseconds at most."""
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _unit(family: str) -> str:
    return "H" if family == "Services" else "PC"


def project_sap(company: Company, crm_refs: Mapping[str, str] | None = None) -> SapSystem:
    """The SAP system; ``crm_refs`` maps truth deal ids to CRM record ids."""
    return project_sap_crosswalk(company, crm_refs)[0]


def project_sap_crosswalk(
    company: Company, crm_refs: Mapping[str, str] | None = None
) -> tuple[SapSystem, list[CrosswalkRow]]:
    """The system plus one crosswalk row per business partner, customer, sales order,
    billing document (invoice or credit memo)."""
    if crm_refs is None:
        from sandbox.world import crm_opportunity_refs  # lazy: world imports this module

        crm_refs = crm_opportunity_refs(company)
    rng = random.Random(f"sap:{company.seed}")
    rand = rng.random
    xwalk: list[CrosswalkRow] = []
    cust_by_id = {c.customer_id: c for c in company.customers}
    prod_by_id = {p.product_id: p for p in company.products}
    conflicts = {(m.customer_id, m.field): m.system_value
                 for m in company.master_conflicts if m.system == "sap"}
    orders = [o for o in company.orders if o.system == "sap"]
    order_ids = {o.order_id for o in orders}
    invoices = [d for d in company.invoices if d.order_id in order_ids]
    invoice_ids = {d.doc_id for d in invoices}
    credits = [d for d in company.credit_memos if d.invoice_id in invoice_ids]
    paid = {d.doc_id for d in invoices if d.status == "paid"}

    # Business partners and customers, numbered in order of first business.
    first: dict[str, dt.datetime] = {}
    for o in orders:
        first.setdefault(o.customer_id, o.created_at)
    accounts = sorted((a for a in company.erp_accounts if a.entity_id == "EU"),
                      key=lambda a: (first.get(a.customer_id, company.now), a.customer_id))
    bp_of: dict[str, str] = {}
    partners, customers = [], []
    for n, a in enumerate(accounts, 1):
        c = cust_by_id[a.customer_id]
        bp = bp_of[a.customer_id] = f"{1000000 + n:010d}"
        created = first.get(a.customer_id, company.now) - dt.timedelta(
            minutes=5 + int(rand() * 2 * 24 * 60))
        changed = created + dt.timedelta(seconds=int(rand() * max(
            1, (company.now - created).total_seconds() - 1)))
        name = conflicts.get((a.customer_id, "name"), c.legal_name)
        user = _USERS[int(rand() * len(_USERS))]
        partners.append({
            "BusinessPartner": bp, "Customer": bp, "BusinessPartnerCategory": "2",
            "BusinessPartnerFullName": name[:81], "BusinessPartnerName": name[:81],
            "BusinessPartnerGrouping": "BP02",
            "BusinessPartnerUUID": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "CorrespondenceLanguage": "DE" if c.country_code in ("DE", "CH") else "EN",
            "CreatedByUser": user, "CreationDate": created.date(),
            "CreationTime": _time(created), "LastChangeDate": changed.date(),
            "LastChangeTime": _time(changed), "LastChangedByUser": user,
            "Language": "DE" if c.country_code in ("DE", "CH") else "EN",
            "OrganizationBPName1": name[:40], "OrganizationBPName2": name[40:80] or None,
            "SearchTerm1": (c.name.strip().split(" ")[0] or "X").upper()[:20],
            "BusinessPartnerIsBlocked": False, "IsMarkedForArchiving": False,
            "BusinessPartnerIDByExtSystem": c.customer_id, "IsFemale": False,
            "IsMale": False, "IsSexUnknown": False, "ETag": f"{user} {changed:%Y%m%d%H%M%S}",
            "BPDataControllerIsNotRequired": False,
        })
        vat = (f"{c.country_code}{100000000 + int(rand() * 899999999)}"
               if c.country_code in _VAT_COUNTRIES else None)
        customers.append({
            "Customer": bp, "CreatedByUser": user, "CreationDate": created.date(),
            "CustomerAccountGroup": "CUST", "CustomerClassification": None,
            "CustomerFullName": name[:220], "BPCustomerFullName": name[:220],
            "CustomerName": name[:80], "BPCustomerName": name[:81], "PostingIsBlocked": False,
            "DeletionIndicator": False, "VATRegistration": vat,
            "OrderIsBlockedForCustomer": None,
        })
        xwalk.append(("customer", a.customer_id, "sap", "A_BusinessPartner", bp))
        xwalk.append(("customer", a.customer_id, "sap", "A_Customer", bp))

    # Sales orders ------------------------------------------------------------------------
    so_rows, item_rows = [], []
    so_of: dict[str, str] = {}
    po_of: dict[str, str | None] = {}
    billed_lines: dict[str, int] = {}
    for inv in sorted(invoices, key=lambda d: d.created_at):
        billed_lines[inv.order_id] = billed_lines.get(inv.order_id, 0) + len(inv.lines)
    for n, o in enumerate(orders, 1):
        so = so_of[o.order_id] = f"{4000000 + n:010d}"
        ref = crm_refs.get(o.opportunity_id) if o.opportunity_id else None
        po = po_of[o.order_id] = ref or o.customer_po
        cancelled = o.status == "cancelled"
        process = {"open": "A", "partially_billed": "B"}.get(o.status, "C")
        delivery = "A" if o.status == "open" else "C"
        so_rows.append({
            "SalesOrder": so, "SalesOrderType": "OR", "SalesOrganization": _SALES_ORG,
            "DistributionChannel": "10", "OrganizationDivision": "00",
            "SoldToParty": bp_of[o.customer_id], "CreationDate": o.created_at.date(),
            "CreatedByUser": _USERS[0], "LastChangeDate": o.last_modified_at.date(),
            "LastChangeDateTime": _at_ms(o.last_modified_at),
            "PurchaseOrderByCustomer": po, "SalesOrderDate": o.order_date,
            "TotalNetAmount": _dec(o.amount), "TransactionCurrency": o.currency,
            "PricingDate": o.order_date,
            "RequestedDeliveryDate": o.order_date + dt.timedelta(days=14),
            "CustomerPaymentTerms": "0001", "CompleteDeliveryIsDefined": False,
            "SlsDocIsRlvtForProofOfDeliv": False, "OverallSDProcessStatus": process,
            "TotalCreditCheckStatus": "A",
            "OverallTotalDeliveryStatus": "A" if cancelled else delivery,
            "OverallSDDocumentRejectionSts": "C" if cancelled else "A",
        })
        done = billed_lines.get(o.order_id, 0)
        for li in o.lines:
            p = prod_by_id[li.product_id]
            billed = li.line_no <= done
            item_rows.append({
                "SalesOrder": so, "SalesOrderItem": str(10 * li.line_no),
                "SalesOrderItemCategory": "TAN", "SalesOrderItemText": p.name[:40],
                "PurchaseOrderByCustomer": po, "Material": p.sku, "PricingDate": o.order_date,
                "RequestedQuantity": _dec(li.quantity), "RequestedQuantityUnit": _unit(p.family),
                "RequestedQuantitySAPUnit": _unit(p.family),
                "RequestedQuantityISOUnit": "HUR" if p.family == "Services" else "PCE",
                "TransactionCurrency": o.currency, "NetAmount": _dec(li.amount),
                "MaterialGroup": _FAMILY_GROUPS.get(p.family), "ProductionPlant": _SALES_ORG,
                "SlsDocIsRlvtForProofOfDeliv": False,
                "SDProcessStatus": "C" if billed or cancelled else "A",
                "DeliveryStatus": "C" if billed else "A",
                "OrderRelatedBillingStatus": "C" if billed else "A",
                "SalesDocumentRjcnReason": "10" if cancelled else None,
            })
        xwalk.append(("order", o.order_id, "sap", "A_SalesOrder", so))

    # Billing documents -------------------------------------------------------------------
    bill_rows, bill_items = [], []
    docs = sorted([(d.created_at, 0, d) for d in invoices]
                  + [(d.created_at, 1, d) for d in credits], key=lambda t: (t[0], t[1]))
    bd_of: dict[str, str] = {}
    offset: dict[str, int] = {}  # order -> order lines already billed
    for n, (_, _, d) in enumerate(docs, 1):
        bd = bd_of[d.doc_id] = f"{90000000 + n:010d}"
        c = cust_by_id[d.customer_id]
        credit = d.kind == "credit_memo"
        tax_rate = 0.19 if c.country_code == "DE" else 0.0
        places = DECIMALS[d.currency]
        tax = round(d.amount * tax_rate, places)
        bill_rows.append({
            "BillingDocument": bd, "SDDocumentCategory": "O" if credit else "M",
            "BillingDocumentCategory": "L", "BillingDocumentType": "G2" if credit else "F2",
            "CreationDate": d.created_at.date(), "CreationTime": _time(d.created_at),
            "LastChangeDate": d.created_at.date(), "LastChangeDateTime": _at_ms(d.created_at),
            "SalesOrganization": _SALES_ORG, "DistributionChannel": "10", "Division": "00",
            "BillingDocumentDate": d.doc_date, "BillingDocumentIsCancelled": False,
            "TotalNetAmount": _dec(d.amount), "TransactionCurrency": d.currency,
            "StatisticsCurrency": "EUR", "TaxAmount": _dec(tax),
            "TotalGrossAmount": _dec(d.amount + tax), "PayerParty": bp_of[d.customer_id],
            "CustomerPaymentTerms": "0001", "CompanyCode": _SALES_ORG,
            "FiscalYear": str(d.doc_date.year), "AccountingDocument": f"{9400000000 + n}",
            "SoldToParty": bp_of[d.customer_id], "PurchaseOrderByCustomer": po_of[d.order_id],
            "Country": c.country_code, "OverallBillingStatus": "C",
            "AccountingPostingStatus": "C",
            "InvoiceClearingStatus": "C" if credit or d.doc_id in paid else "A",
            "ManualInvoiceMaintIsRelevant": False, "IsEUTriangularDeal": False,
        })
        if credit:
            start = 0
        else:
            start = offset.get(d.order_id, 0)
            offset[d.order_id] = start + len(d.lines)
        line: DocLine
        for line in d.lines:
            p = prod_by_id[line.product_id]
            line_tax = round(line.amount * tax_rate, places)
            bill_items.append({
                "BillingDocument": bd, "BillingDocumentItem": str(10 * line.line_no),
                "SalesDocumentItemCategory": "G2N" if credit else "TAN",
                "CreationDate": d.created_at.date(), "CreationTime": _time(d.created_at),
                "Material": p.sku, "BillingDocumentItemText": p.name[:40],
                "BillingQuantity": _dec(line.quantity), "BillingQuantityUnit": _unit(p.family),
                "NetAmount": _dec(line.amount), "TransactionCurrency": d.currency,
                "GrossAmount": _dec(line.amount + line_tax), "TaxAmount": _dec(line_tax),
                "PricingDate": d.doc_date, "Plant": _SALES_ORG,
                "MaterialGroup": _FAMILY_GROUPS.get(p.family),
                "SalesDocument": so_of[d.order_id],
                "SalesDocumentItem": str(10 * (start + line.line_no)),
                "SalesSDDocumentCategory": "C",
                "ReferenceSDDocument": bd_of[d.invoice_id or ""] if credit else so_of[d.order_id],
                "ReferenceSDDocumentItem": str(10 * line.line_no) if credit
                else str(10 * (start + line.line_no)),
                "ReferenceSDDocumentCategory": "M" if credit else "C",
            })
        xwalk.append(("credit_memo" if credit else "invoice", d.doc_id, "sap",
                      "A_BillingDocument", bd))

    data = {
        "A_BusinessPartner": partners, "A_Customer": customers, "A_SalesOrder": so_rows,
        "A_SalesOrderItem": item_rows, "A_BillingDocument": bill_rows,
        "A_BillingDocumentItem": bill_items,
    }
    services: dict[str, dict[str, ErpTable]] = {}
    for service, sets in ENTITY_SETS.items():
        services[service] = {}
        for name in sets:
            fields, keys = _entity_types(service)[name]
            services[service][name] = ErpTable(name, list(fields), data[name], key=keys[0])
    return SapSystem(services=services, today=company.today), xwalk


def sap_truth_tables(system: SapSystem) -> dict[str, pa.Table]:
    """Entity set -> typed Arrow table with every EDMX property, in EDMX order."""
    out = {}
    for sets in system.services.values():
        for name, table in sets.items():
            rows = table.rows
            arrays = []
            for f in table.fields:
                values = [r.get(f.name) for r in rows]
                if f.type == "Edm.Time":
                    values = [None if v is None else time_literal(v) for v in values]
                arrays.append(pa.array(values, arrow_type_for(f)))
            out[name] = pa.Table.from_arrays(arrays, names=[f.name for f in table.fields])
    return out

