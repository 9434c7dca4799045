"""The whole demo world: the company's truth, its CRMs and ERPs, the crosswalk between
them and the figures a correct federated answer must reproduce.

Identity resolution is judged against the crosswalk: one row per projected record saying
which truth entity it stands for, so a match between a Salesforce account, a HubSpot
company and a NetSuite customer is right exactly when their rows share a ``truth_id``.
Revenue views are judged against ``World.expected``, computed from the truth alone with
the definitions in ``sandbox.company`` (not from any projection), so a view that reads the
projected systems correctly must arrive at the same numbers.
Each projection draws from its own seeded RNG, so adding a system never changes another.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from sandbox.company import (
    AMOUNT_TOLERANCE_MIN_USD,
    AMOUNT_TOLERANCE_PCT,
    ENTITY_BY_ID,
    WON_GRACE_DAYS,
    Company,
    exceeds_amount_tolerance,
    fiscal_quarter,
    generate_company,
)
from sandbox.projections.dataverse_model import DataverseOrg
from sandbox.projections.dynamics import dataverse_truth_tables, project_dynamics_crosswalk
from sandbox.projections.erp_model import (
    FileExports,
    LegacyDatabase,
    NetSuiteAccount,
    OracleFusion,
    QuickBooksCompany,
    SapSystem,
)
from sandbox.projections.files import project_files_crosswalk
from sandbox.projections.hubspot import portal_truth_tables, project_hubspot_crosswalk
from sandbox.projections.hubspot_model import HubSpotPortal
from sandbox.projections.legacy import project_legacy_crosswalk
from sandbox.projections.netsuite import netsuite_truth_tables, project_netsuite_crosswalk
from sandbox.projections.oracle import oracle_truth_tables, project_oracle_crosswalk
from sandbox.projections.quickbooks import project_quickbooks_crosswalk, quickbooks_truth_tables
from sandbox.projections.salesforce import org_truth_tables, project_salesforce_crosswalk
from sandbox.projections.salesforce_model import SalesforceOrg
from sandbox.projections.sap import project_sap_crosswalk, sap_truth_tables

__all__ = [
    "CROSSWALK_SCHEMA",
    "EXPECTED_SCHEMAS",
    "SYSTEMS",
    "World",
    "build_world",
    "crm_opportunity_refs",
    "expected_figures",
    "unserved_deals",
    "world_truth_tables",
]

SYSTEMS = ("salesforce", "hubspot", "dynamics", "netsuite", "sap", "quickbooks", "oracle",
           "legacy_erp", "files")
CROSSWALK_SCHEMA = pa.schema(
    [
        pa.field("entity", pa.string(), nullable=False),  # customer, contact, opportunity,
        # case, user, product, order, invoice, credit_memo, payment
        pa.field("truth_id", pa.string(), nullable=False),
        pa.field("system", pa.string(), nullable=False),  # one of SYSTEMS
        pa.field("object", pa.string(), nullable=False),  # Account, companies, accounts, ...
        pa.field("record_id", pa.string(), nullable=False),
    ]
)
CrosswalkRow = tuple[str, str, str, str, str]
_CRM_OF_UNIT = {"main": "salesforce", "acquired": "hubspot"}


@dataclass
class World:
    """One company and every system that holds a piece of it."""

    company: Company
    salesforce: SalesforceOrg
    hubspot: HubSpotPortal
    dynamics: DataverseOrg
    crosswalk: pa.Table  # CROSSWALK_SCHEMA
    netsuite: NetSuiteAccount | None = None
    sap: SapSystem | None = None
    quickbooks: QuickBooksCompany | None = None
    oracle: OracleFusion | None = None
    legacy: LegacyDatabase | None = None
    files: FileExports | None = None
    expected: dict[str, pa.Table] = field(default_factory=dict)
    # deals deleted (Salesforce) or archived (HubSpot) in the CRM that sold them
    unserved_deals: frozenset[str] = frozenset()


def crm_opportunity_refs(company: Company, rows: list[CrosswalkRow] | None = None
                         ) -> dict[str, str]:
    """Truth deal id -> the record id of the deal in the CRM that sold it (Salesforce
    Opportunity Id or HubSpot deal id): what an integration writes on the ERP order.

    ``rows`` are the CRMs' crosswalk rows; without them the CRM projections are run."""
    if rows is None:
        rows = project_salesforce_crosswalk(company)[1] + project_hubspot_crosswalk(company)[1]
    unit = {o.opportunity_id: o.business_unit for o in company.opportunities}
    refs: dict[str, str] = {}
    for entity, truth_id, system, _, record_id in rows:
        if (entity == "opportunity" and truth_id not in refs
                and _CRM_OF_UNIT.get(unit.get(truth_id, "")) == system):
            refs[truth_id] = record_id
    return refs


def build_world(seed: int = 42, scale: float = 1.0, today: dt.date | None = None) -> World:
    """Generate the truth and project it into every system.

    The crosswalk has one row per projected user, customer, contact, product, opportunity,
    case, order, invoice, credit memo and payment record, soft-deleted, archived, inactive
    and duplicate records included (so one truth id may map to several records of one
    system).
    """
    company = generate_company(seed=seed, scale=scale, today=today)
    salesforce, sf_rows = project_salesforce_crosswalk(company)
    hubspot, hs_rows = project_hubspot_crosswalk(company)
    dynamics, d365_rows = project_dynamics_crosswalk(company)
    refs = crm_opportunity_refs(company, sf_rows + hs_rows)
    netsuite, ns_rows = project_netsuite_crosswalk(company, refs)
    sap, sap_rows = project_sap_crosswalk(company, refs)
    quickbooks, qb_rows = project_quickbooks_crosswalk(company, refs)
    oracle, ora_rows = project_oracle_crosswalk(company, refs)
    legacy, legacy_rows = project_legacy_crosswalk(company, refs)
    files, file_rows = project_files_crosswalk(company)
    rows = (sf_rows + hs_rows + d365_rows + ns_rows + sap_rows + qb_rows + ora_rows
            + legacy_rows + file_rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 5
    crosswalk = pa.Table.from_arrays(
        [pa.array(col, pa.string()) for col in columns], schema=CROSSWALK_SCHEMA
    )
    unserved = unserved_deals(salesforce, hubspot, sf_rows + hs_rows)
    return World(company, salesforce, hubspot, dynamics, crosswalk, netsuite=netsuite,
                 sap=sap, quickbooks=quickbooks, oracle=oracle, legacy=legacy, files=files,
                 expected=expected_figures(company, unserved), unserved_deals=unserved)


def world_truth_tables(world: World) -> dict[str, dict[str, pa.Table]]:
    """System -> table name -> the typed table the federated source for it must return.

    """
    out = {
        "salesforce": org_truth_tables(world.salesforce),
        "hubspot": portal_truth_tables(world.hubspot),
        "dynamics": dataverse_truth_tables(world.dynamics),
    }
    if world.netsuite is not None:
        out["netsuite"] = netsuite_truth_tables(world.netsuite)
    if world.sap is not None:
        out["sap"] = sap_truth_tables(world.sap)
    if world.quickbooks is not None:
        out["quickbooks"] = quickbooks_truth_tables(world.quickbooks)
    if world.oracle is not None:
        out["oracle"] = oracle_truth_tables(world.oracle)
    if world.legacy is not None:
        out["legacy_erp"] = dict(world.legacy.tables)
    if world.files is not None:
        out["files"] = file_truth_tables(world.files)
    return out


def file_truth_tables(files: FileExports) -> dict[str, pa.Table]:
    """``quotas``: every quota workbook stacked, with its ``source_file``; ``price_book``."""
    quotas = [t.append_column("source_file", pa.array([path] * t.num_rows, pa.string()))
              for path, t in sorted(files.files.items()) if path.startswith("quotas/")]
    return {"quotas": pa.concat_tables(quotas), "price_book": files.files["price_book.csv"]}


# --------------------------------------------------------------------------- expected figures

EXPECTED_SCHEMAS: dict[str, pa.Schema] = {
    "bookings_by_quarter": pa.schema([
        ("fiscal_year", pa.int64()), ("fiscal_quarter", pa.int64()),
        ("source_system", pa.string()), ("booked_amount_usd", pa.float64()),
        ("order_count", pa.int64()),
    ]),
    "billings_by_quarter": pa.schema([
        ("fiscal_year", pa.int64()), ("fiscal_quarter", pa.int64()),
        ("source_system", pa.string()), ("billed_amount_usd", pa.float64()),
        ("invoice_count", pa.int64()), ("credit_memo_count", pa.int64()),
    ]),
    "closed_won_by_quarter": pa.schema([
        ("fiscal_year", pa.int64()), ("fiscal_quarter", pa.int64()),
        ("source_system", pa.string()), ("won_amount_usd", pa.float64()),
        ("deal_count", pa.int64()),
    ]),
    "reconciliation_exceptions": pa.schema([
        ("check", pa.string()), ("opportunity_id", pa.string()), ("order_id", pa.string()),
        ("customer_id", pa.string()), ("system", pa.string()), ("detail", pa.string()),
    ]),
    "price_book_mismatches": pa.schema([
        ("entity_id", pa.string()), ("system", pa.string()), ("product_code", pa.string()),
        ("currency", pa.string()), ("price_book_price", pa.float64()),
        ("erp_price", pa.float64()),
    ]),
}


def _table(name: str, rows: list[tuple]) -> pa.Table:
    schema = EXPECTED_SCHEMAS[name]
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    return pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(cols, schema,
                                                                     strict=True)],
                                schema=schema)


def unserved_deals(salesforce: SalesforceOrg, hubspot: HubSpotPortal,
                   rows: list[CrosswalkRow]) -> frozenset[str]:
    """Truth deal ids the selling CRM no longer shows (Salesforce IsDeleted, HubSpot
    archived): no API read and so no view can count them."""
    hidden = {r["Deal_Key__c"] for r in salesforce.objects["Opportunity"].records
              if r["IsDeleted"]}
    archived = {r.id for r in hubspot.objects["deals"].records if r.archived}
    hidden |= {truth_id for entity, truth_id, system, _, record_id in rows
               if entity == "opportunity" and system == "hubspot" and record_id in archived}
    return frozenset(hidden)


def expected_figures(company: Company, unserved: frozenset[str] = frozenset()
                     ) -> dict[str, pa.Table]:
    """The figures revenue and reconciliation views must reproduce, from the truth as the
    systems show it: ``unserved`` deals (deleted in their CRM) are not deals any more, so
    they are not closed-won and their orders have no opportunity.

    - ``bookings_by_quarter``: sales orders by the order date's fiscal quarter and ERP,
      excluding pending-approval and cancelled ones; each order converted to USD at the
      order date's rate and rounded to cents, then summed.
    - ``billings_by_quarter``: invoices less credit memos by document date, converted the
      same way at the document date (the legacy ERP has invoices only).
    - ``closed_won_by_quarter``: won deals by close date and the CRM that sold them
      (salesforce/hubspot), converted at the close date; deals without an amount count
      but add nothing.
    - ``reconciliation_exceptions``: the checks of ``RECONCILIATION_CHECKS`` over every
      order that is not cancelled (pending approval included):
      WON_NO_ORDER (won deal with an amount > 0, closed more than WON_GRACE_DAYS ago, no
      order), ORDER_NO_OPPORTUNITY, AMOUNT_MISMATCH (both sides in USD at the deal's
      close-date rate, tolerance max(1 USD, 1%)), CURRENCY_MISMATCH, PERIOD_MISMATCH
      (order date and close date in different fiscal quarters), CUSTOMER_MISMATCH,
      DUPLICATE_ORDER (one row per order after a deal's first), WON_DEAL_CHANGED_AFTER_ORDER
      (a history entry of the deal after the order was created) and MASTER_DATA_CONFLICT
      (one row per conflicting customer field in an ERP). ``system`` is the ERP, or the
      CRM for WON_NO_ORDER.
    - ``price_book_mismatches``: item prices in an ERP that differ from the price book.
    """
    rate = company.rate_to_usd
    bookings: dict[tuple, list] = defaultdict(lambda: [0.0, 0])
    for o in company.orders:
        if o.status in ("pending_approval", "cancelled"):
            continue
        acc = bookings[(*fiscal_quarter(o.order_date), o.system)]
        acc[0] += round(o.amount * rate(o.currency, o.order_date), 2)
        acc[1] += 1
    billings: dict[tuple, list] = defaultdict(lambda: [0.0, 0, 0])
    for docs, sign in ((company.invoices, 1), (company.credit_memos, -1)):
        for d in docs:
            acc = billings[(*fiscal_quarter(d.doc_date), d.system)]
            acc[0] += sign * round(d.amount * rate(d.currency, d.doc_date), 2)
            acc[1 if sign > 0 else 2] += 1
    won: dict[tuple, list] = defaultdict(lambda: [0.0, 0])
    for p in company.opportunities:
        if p.is_won and p.opportunity_id not in unserved:
            acc = won[(*fiscal_quarter(p.close_date), _CRM_OF_UNIT[p.business_unit])]
            acc[0] += company.to_usd(p.amount, p.currency, p.close_date) or 0.0
            acc[1] += 1
    return {
        "bookings_by_quarter": _table("bookings_by_quarter", [
            (*k, round(v[0], 2), v[1]) for k, v in sorted(bookings.items())]),
        "billings_by_quarter": _table("billings_by_quarter", [
            (*k, round(v[0], 2) + 0.0, v[1], v[2]) for k, v in sorted(billings.items())]),
        "closed_won_by_quarter": _table("closed_won_by_quarter", [
            (*k, round(v[0], 2), v[1]) for k, v in sorted(won.items())]),
        "reconciliation_exceptions": _table("reconciliation_exceptions",
                                            _exceptions(company, unserved)),
        "price_book_mismatches": _table("price_book_mismatches", _price_mismatches(company)),
    }


def _exceptions(company: Company, unserved: frozenset[str]) -> list[tuple]:
    rate = company.rate_to_usd
    rows: list[tuple] = []
    orders_of: dict[str, list] = defaultdict(list)
    for o in company.orders:
        if o.status == "cancelled":
            continue
        if o.opportunity_id is None or o.opportunity_id in unserved:
            rows.append(("ORDER_NO_OPPORTUNITY", None, o.order_id, o.customer_id, o.system,
                         f"{o.amount:.2f} {o.currency} on {o.order_date}"))
        else:
            orders_of[o.opportunity_id].append(o)
    cutoff = company.today - dt.timedelta(days=WON_GRACE_DAYS)
    for p in company.opportunities:
        if not p.is_won or not p.amount or p.opportunity_id in unserved:
            continue
        crm = _CRM_OF_UNIT[p.business_unit]
        orders = sorted(orders_of.get(p.opportunity_id, []), key=lambda o: o.created_at)
        if not orders:
            if p.close_date < cutoff:
                rows.append(("WON_NO_ORDER", p.opportunity_id, None, p.customer_id, crm,
                             f"won {p.close_date} for {p.amount:.2f} {p.currency}"))
            continue
        crm_usd = p.amount * rate(p.currency, p.close_date)
        for k, o in enumerate(orders):
            erp_usd = o.amount * rate(o.currency, p.close_date)
            base = (p.opportunity_id, o.order_id, o.customer_id, o.system)
            if exceeds_amount_tolerance(crm_usd, erp_usd):
                tolerance = max(AMOUNT_TOLERANCE_MIN_USD, AMOUNT_TOLERANCE_PCT * crm_usd)
                rows.append(("AMOUNT_MISMATCH", *base,
                             f"deal {crm_usd:.2f} USD, order {erp_usd:.2f} USD "
                             f"(tolerance {tolerance:.2f})"))
            if o.currency != p.currency:
                rows.append(("CURRENCY_MISMATCH", *base,
                             f"deal {p.currency}, order {o.currency}"))
            if fiscal_quarter(o.order_date) != fiscal_quarter(p.close_date):
                rows.append(("PERIOD_MISMATCH", *base,
                             f"closed {p.close_date}, ordered {o.order_date}"))
            if o.customer_id != p.customer_id:
                rows.append(("CUSTOMER_MISMATCH", *base,
                             f"deal for {p.customer_id}, order for {o.customer_id}"))
            if k:
                rows.append(("DUPLICATE_ORDER", *base,
                             f"order {k + 1} of {len(orders)} for the deal"))
            changed = [h for h in p.history if h.changed_at > o.created_at]
            if changed:
                rows.append(("WON_DEAL_CHANGED_AFTER_ORDER", *base,
                             f"{len(changed)} change(s) after the order, last "
                             f"{changed[-1].changed_at:%Y-%m-%d %H:%M:%S}"))
    for m in company.master_conflicts:
        rows.append(("MASTER_DATA_CONFLICT", None, None, m.customer_id, m.system,
                     f"{m.field}: {m.system_value!r} vs {m.truth_value!r}"))
    order = {c: i for i, c in enumerate(
        ("WON_NO_ORDER", "ORDER_NO_OPPORTUNITY", "AMOUNT_MISMATCH", "CURRENCY_MISMATCH",
         "PERIOD_MISMATCH", "CUSTOMER_MISMATCH", "DUPLICATE_ORDER",
         "WON_DEAL_CHANGED_AFTER_ORDER", "MASTER_DATA_CONFLICT"))}
    rows.sort(key=lambda r: (order[r[0]], r[1] or "", r[2] or "", r[3] or "", r[4], r[5]))
    return rows


def _price_mismatches(company: Company) -> list[tuple]:
    book = {(e.product_id, e.currency): e.list_price for e in company.price_book}
    sku = {p.product_id: p.sku for p in company.products}
    return [
        (ip.entity_id, ENTITY_BY_ID[ip.entity_id].system, sku[ip.product_id], ip.currency,
         book[(ip.product_id, ip.currency)], ip.price)
        for ip in company.item_prices if ip.price != book[(ip.product_id, ip.currency)]
    ]
