"""Project the company's truth into one Salesforce org, plus the org's own ground truth.

The projection adds what a real org has and the truth does not: 18-character ids with real
key prefixes, Salesforce field names and describe types, soft-deleted rows (only
``queryAll`` sees them), and the usual mess: account names that differ in case or suffix
from the legal name, stale addresses, a few duplicate accounts for one customer.

Only the main sales org lives here: customers of the "main" and "both" business units,
their "main"/"both" contacts and the deals the main org sold. ``project_salesforce_crosswalk``
also returns which truth record every projected record stands for.

``org_truth_tables`` turns the org into typed Arrow tables built from the very records the
simulator serves, so tests can load them into DuckDB and compare federated answers exactly.
All randomness comes from ``random.Random(f"salesforce:{seed}")`` in a fixed order.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
from typing import Any

import pyarrow as pa

from sandbox.company import (
    COUNTRY_BY_CODE,
    CURRENCIES,
    INDUSTRIES,
    LEAD_SOURCES,
    OPPORTUNITY_TYPES,
    PRODUCT_FAMILIES,
    REGIONS,
    SEGMENTS,
    SPECIAL_CUSTOMERS,
    STAGE_BY_NAME,
    STAGES,
    THREAT_LEVELS,
    UTC,
    Company,
    Customer,
    generate_company,
)
from sandbox.projections.salesforce_model import SalesforceOrg, SObject, SObjectField

__all__ = [
    "FORECAST_CATEGORY_API",
    "KEY_PREFIXES",
    "arrow_type_for",
    "demo_org",
    "org_truth_tables",
    "project_salesforce",
    "project_salesforce_crosswalk",
    "salesforce_id",
]

KEY_PREFIXES: dict[str, str] = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Product2": "01t",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "OpportunityHistory": "008",
    "Competitor__c": "a01",
    "DatedConversionRate": "04w",
}
# ForecastCategoryName carries the label; OpportunityHistory.ForecastCategory the API value.
FORECAST_CATEGORY_API = {
    "Pipeline": "Pipeline",
    "Best Case": "BestCase",
    "Commit": "Forecast",
    "Closed": "Closed",
    "Omitted": "Omitted",
}
ACCOUNT_TYPES = ("Customer - Direct", "Customer - Channel", "Prospect", "Partner", "Other")

# --------------------------------------------------------------------------- ids

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECK = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_POD = "5g"  # instance part of the id; real orgs have e.g. "5g", "Hs", "8a"
_PAIRS = [a + b for a in _B62 for b in _B62]
_PAIR_UPPER = [int(a.isupper()) | int(b.isupper()) << 1 for a in _B62 for b in _B62]
_HEAD_CHECK: dict[str, str] = {}


def _chunk_check(chunk: str) -> str:
    bits = 0
    for i, ch in enumerate(chunk):
        if "A" <= ch <= "Z":
            bits |= 1 << i
    return _CHECK[bits]


def salesforce_id(prefix: str, n: int) -> str:
    """The n-th (n >= 1) 18-character id for a key prefix, with the real case-safe suffix.

    Layout: prefix(3) + pod(2) + "0" + counter(9, base 62), then one checksum character per
    5-character chunk saying which characters are upper case.
    """
    if n < 1:
        raise ValueError("salesforce ids count from 1")
    if n < 62**4:  # fast path: the counter's first five characters are all "0"
        head = _HEAD_CHECK.get(prefix)
        if head is None:
            first10 = f"{prefix}{_POD}00000"
            head = _HEAD_CHECK[prefix] = _chunk_check(first10[:5]) + _chunk_check(first10[5:])
        hi, lo = divmod(n, 3844)
        return (
            f"{prefix}{_POD}000000{_PAIRS[hi]}{_PAIRS[lo]}"
            f"{head}{_CHECK[_PAIR_UPPER[hi] << 1 | _PAIR_UPPER[lo] << 3]}"
        )
    digits = []
    for _ in range(9):
        n, d = divmod(n, 62)
        digits.append(_B62[d])
    if n:
        raise ValueError("counter too large for a Salesforce id")
    id15 = f"{prefix}{_POD}0{''.join(reversed(digits))}"
    return id15 + "".join(_chunk_check(id15[i : i + 5]) for i in (0, 5, 10))


# --------------------------------------------------------------------------- describe


def _label(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    out = []
    for i, ch in enumerate(base):
        if ch.isupper() and i and base[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return "".join(out).replace("_", " ")


_DEFAULT_LENGTH = {
    "id": 18,
    "reference": 18,
    "string": 255,
    "picklist": 255,
    "email": 80,
    "phone": 40,
    "url": 255,
    "textarea": 32000,
}
_DEFAULT_PRECISION = {"currency": (18, 2), "percent": (3, 0), "double": (18, 2)}
_SYSTEM_FIELDS = {"CreatedDate", "LastModifiedDate", "SystemModstamp"}


def _f(
    name: str,
    type_: str,
    *,
    label: str | None = None,
    nillable: bool | None = None,
    length: int | None = None,
    ref: str | None = None,
    rel: str | None = None,
    picklist: tuple[str, ...] = (),
    precision: tuple[int, int] | None = None,
    filterable: bool = True,
) -> SObjectField:
    if nillable is None:
        nillable = type_ not in ("id", "boolean") and name not in _SYSTEM_FIELDS
    prec, scl = precision or _DEFAULT_PRECISION.get(type_, (0, 0))
    return SObjectField(
        name=name,
        type=type_,
        label=label or _label(name),
        custom=name.endswith("__c"),
        nillable=nillable,
        length=_DEFAULT_LENGTH.get(type_, 0) if length is None else length,
        precision=prec,
        scale=scl,
        reference_to=(ref,) if ref else (),
        relationship_name=rel,
        picklist_values=picklist,
        filterable=filterable,
        sortable=filterable,
    )


def _ref(name: str, to: str, rel: str, *, nillable: bool = True) -> SObjectField:
    return _f(name, "reference", ref=to, rel=rel, nillable=nillable)


def _describe() -> dict[str, tuple[str, str, list[SObjectField]]]:
    """Object name -> (label, plural label, fields in describe order)."""
    currency_codes = tuple(c.code for c in CURRENCIES)
    stage_names = tuple(s.name for s in STAGES)
    audit = [
        _f("CreatedDate", "datetime", label="Created Date"),
        _f("LastModifiedDate", "datetime", label="Last Modified Date"),
        _f("SystemModstamp", "datetime", label="System Modstamp"),
        _f("IsDeleted", "boolean", label="Deleted"),
    ]
    return {
        "User": (
            "User",
            "Users",
            [
                _f("Id", "id", label="User ID"),
                _f("Username", "string", nillable=False, length=80),
                _f("Name", "string", label="Full Name", nillable=False, length=121),
                _f("FirstName", "string", length=40),
                _f("LastName", "string", nillable=False, length=80),
                _f("Email", "email", nillable=False, length=128),
                _f("IsActive", "boolean", label="Active"),
                _f("Title", "string", length=80),
                _f("CreatedDate", "datetime", label="Created Date"),
                _f("Region__c", "picklist", picklist=REGIONS),
            ],
        ),
        "Account": (
            "Account",
            "Accounts",
            [
                _f("Id", "id", label="Account ID"),
                _f("Name", "string", label="Account Name", nillable=False),
                _f("Type", "picklist", label="Account Type", picklist=ACCOUNT_TYPES),
                _f("Industry", "picklist", picklist=INDUSTRIES),
                _f("AnnualRevenue", "currency", precision=(18, 0)),
                _f("NumberOfEmployees", "int", label="Employees"),
                _f("BillingStreet", "textarea", length=255),
                _f("BillingCity", "string", length=40),
                _f("BillingState", "string", label="Billing State/Province", length=80),
                _f("BillingPostalCode", "string", label="Billing Zip/Postal Code", length=20),
                _f("BillingCountry", "string", length=80),
                _f("Phone", "phone", label="Account Phone"),
                _f("Website", "url"),
                _ref("OwnerId", "User", "Owner", nillable=False),
                *audit,
                _f("Segment__c", "picklist", picklist=SEGMENTS),
                _f("Region__c", "picklist", picklist=REGIONS),
                _f("Customer_Key__c", "string", label="Customer Key", length=40),
            ],
        ),
        "Contact": (
            "Contact",
            "Contacts",
            [
                _f("Id", "id", label="Contact ID"),
                _ref("AccountId", "Account", "Account"),
                _f("FirstName", "string", length=40),
                _f("LastName", "string", nillable=False, length=80),
                _f("Name", "string", label="Full Name", nillable=False, length=121),
                _f("Email", "email"),
                _f("Phone", "phone", label="Business Phone"),
                _f("Title", "string", length=128),
                _f("MailingCountry", "string", length=80),
                _ref("OwnerId", "User", "Owner", nillable=False),
                _f("CreatedDate", "datetime", label="Created Date"),
                _f("SystemModstamp", "datetime", label="System Modstamp"),
                _f("IsDeleted", "boolean", label="Deleted"),
            ],
        ),
        "Product2": (
            "Product",
            "Products",
            [
                _f("Id", "id", label="Product ID"),
                _f("Name", "string", label="Product Name", nillable=False),
                _f("ProductCode", "string", length=255),
                _f("Family", "picklist", label="Product Family", picklist=PRODUCT_FAMILIES),
                _f("IsActive", "boolean", label="Active"),
                _f("Description", "textarea", label="Product Description", length=4000),
                _f("CreatedDate", "datetime", label="Created Date"),
            ],
        ),
        "Opportunity": (
            "Opportunity",
            "Opportunities",
            [
                _f("Id", "id", label="Opportunity ID"),
                _f("Name", "string", nillable=False, length=120),
                _ref("AccountId", "Account", "Account"),
                _ref("OwnerId", "User", "Owner", nillable=False),
                _f("StageName", "picklist", label="Stage", nillable=False, picklist=stage_names),
                _f("Amount", "currency"),
                _f("Probability", "percent", label="Probability (%)"),
                _f("CloseDate", "date", nillable=False),
                _f("Type", "picklist", label="Opportunity Type", picklist=OPPORTUNITY_TYPES),
                _f("LeadSource", "picklist", picklist=LEAD_SOURCES),
                _f(
                    "ForecastCategoryName",
                    "picklist",
                    label="Forecast Category",
                    picklist=tuple(FORECAST_CATEGORY_API),
                ),
                _f("IsClosed", "boolean", label="Closed"),
                _f("IsWon", "boolean", label="Won"),
                _f(
                    "CurrencyIsoCode",
                    "picklist",
                    label="Opportunity Currency",
                    nillable=False,
                    picklist=currency_codes,
                ),
                _f("ExpectedRevenue", "currency", label="Expected Amount"),
                *audit,
                _f("FiscalYear", "int", label="Fiscal Year"),
                _f("FiscalQuarter", "int", label="Fiscal Quarter"),
                _f("HasOpportunityLineItem", "boolean", label="Has Line Item"),
                _f("Region__c", "picklist", picklist=REGIONS),
                _f("Deal_Key__c", "string", label="Deal Key", length=40),
            ],
        ),
        "OpportunityLineItem": (
            "Opportunity Product",
            "Opportunity Product",
            [
                _f("Id", "id", label="Line Item ID"),
                _ref("OpportunityId", "Opportunity", "Opportunity", nillable=False),
                _ref("Product2Id", "Product2", "Product2"),
                _f("Quantity", "double", nillable=False, precision=(12, 2)),
                _f("UnitPrice", "currency", label="Sales Price"),
                _f("ListPrice", "currency", label="List Price"),
                _f("TotalPrice", "currency", label="Total Price"),
                _f("Discount", "percent", precision=(18, 2)),
                _f("ServiceDate", "date", label="Date"),
                _f("CreatedDate", "datetime", label="Created Date"),
                _f("IsDeleted", "boolean", label="Deleted"),
            ],
        ),
        "OpportunityHistory": (
            "Opportunity History",
            "Opportunity History",
            [
                _f("Id", "id", label="Opportunity History ID"),
                _ref("OpportunityId", "Opportunity", "Opportunity", nillable=False),
                _f("StageName", "picklist", label="Stage", nillable=False, picklist=stage_names),
                _f("Amount", "currency"),
                _f("Probability", "percent", label="Probability (%)"),
                _f("CloseDate", "date"),
                _f(
                    "ForecastCategory",
                    "picklist",
                    label="Forecast Category",
                    picklist=tuple(FORECAST_CATEGORY_API.values()),
                ),
                _f("CreatedDate", "datetime", label="Created Date"),
                _f("IsDeleted", "boolean", label="Deleted"),
            ],
        ),
        "Competitor__c": (
            "Competitor",
            "Competitors",
            [
                _f("Id", "id", label="Record ID"),
                _f("Name", "string", label="Competitor Name", nillable=False, length=80),
                _ref("Opportunity__c", "Opportunity", "Opportunity__r", nillable=False),
                _f("Threat_Level__c", "picklist", picklist=THREAT_LEVELS),
                _f("Notes__c", "textarea", length=32768, filterable=False),
                _f("CreatedDate", "datetime", label="Created Date"),
                _f("IsDeleted", "boolean", label="Deleted"),
            ],
        ),
        "DatedConversionRate": (
            "Dated Exchange Rate",
            "Dated Exchange Rates",
            [
                _f("Id", "id", label="Dated Exchange Rate ID"),
                _f("IsoCode", "picklist", label="ISO Code", nillable=False,
                   picklist=currency_codes),
                _f("ConversionRate", "double", nillable=False, precision=(18, 6)),
                _f("StartDate", "date", nillable=False),
                _f("NextStartDate", "date"),
            ],
        ),
    }


# --------------------------------------------------------------------------- projection

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = dt.timedelta(milliseconds=1)
_fromtimestamp = dt.datetime.fromtimestamp
_SPECIAL_NAMES = frozenset(s[0] for s in SPECIAL_CUSTOMERS)
_COUNTRY_VARIANTS = {"US": ("USA", "US", "United States of America"), "GB": ("UK", "England")}


def _ms_of(t: dt.datetime) -> int:
    return (t - _EPOCH) // _ONE_MS


def _dt(ms: int) -> dt.datetime:
    return _fromtimestamp(ms / 1000, UTC)


def _account_name_variant(c: Customer, r: float) -> str:
    """How reps actually type a company's name ("ACME, INC.", "Acme Inc", "Acme (HQ)")."""
    k = int(r * 4)
    if k == 0:
        return c.legal_name.upper()
    if k == 1:
        return c.legal_name.replace(",", "").replace(".", "")
    if k == 2:
        return c.legal_name
    return f"{c.name.strip()} (HQ)"


# Crosswalk rows: (entity, truth_id, system, object, record_id).
CrosswalkRow = tuple[str, str, str, str, str]
SF_CUSTOMER_UNITS = ("main", "both")


def project_salesforce(company: Company) -> SalesforceOrg:
    """Build the org the Salesforce simulator serves from the company's truth."""
    return project_salesforce_crosswalk(company)[0]


def project_salesforce_crosswalk(company: Company) -> tuple[SalesforceOrg, list[CrosswalkRow]]:
    """The org plus one crosswalk row per User, Account, Contact, Product2 and Opportunity
    record (soft-deleted and duplicate records included)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # see generate_company: ~1M acyclic dicts, nothing for the GC to find
    try:
        return _project(company)
    finally:
        if gc_was_enabled:
            gc.enable()


def _project(company: Company) -> tuple[SalesforceOrg, list[CrosswalkRow]]:
    rng = random.Random(f"salesforce:{company.seed}")
    rand = rng.random
    now_ms = _ms_of(company.now)
    describe = _describe()
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in describe}

    xwalk: list[CrosswalkRow] = []

    # Users --------------------------------------------------------------------------
    user_ids: dict[str, str] = {}
    for n, u in enumerate(company.users, 1):
        sid = user_ids[u.user_id] = salesforce_id("005", n)
        xwalk.append(("user", u.user_id, "salesforce", "User", sid))
        records["User"].append(
            {
                "Id": sid,
                "Username": u.email,
                "Name": f"{u.first_name} {u.last_name}",
                "FirstName": u.first_name,
                "LastName": u.last_name,
                "Email": u.email,
                "IsActive": u.active,
                "Title": u.title,
                "CreatedDate": u.created_at,
                "Region__c": u.region,
            }
        )

    # Accounts: one per main/both customer, then a few duplicates ----------------------
    sf_opps = [o for o in company.opportunities if o.business_unit == "main"]
    won = {o.customer_id for o in sf_opps if o.is_won}
    has_deal = {o.customer_id for o in sf_opps}
    account_of: dict[str, str] = {}
    live_dup_of: dict[str, str] = {}
    deleted_customers: set[str] = set()
    accounts = records["Account"]
    dups: list[Customer] = []
    sf_customers = [c for c in company.customers if c.business_unit in SF_CUSTOMER_UNITS]
    for c in sf_customers:
        created_ms = _ms_of(c.created_at)
        modified_ms = created_ms + int(rand() * (now_ms - created_ms))
        name = c.name
        if c.name not in _SPECIAL_NAMES and rand() < 0.08:
            name = _account_name_variant(c, rand())
        street, city, state, postal = c.street, c.city, c.state, c.postal_code
        country = c.country
        if rand() < 0.05:  # stale address: the customer moved, the CRM never heard
            place = COUNTRY_BY_CODE[c.country_code].places
            state, city, _ = place[int(rand() * len(place))]
            street = f"PO Box {1000 + int(rand() * 9000)}"
            postal = postal[:-1] + str(int(rand() * 10))
        if rand() < 0.05:
            variants = _COUNTRY_VARIANTS.get(c.country_code, (c.country_code,))
            country = variants[int(rand() * len(variants))]
        r = rand()
        website = (
            f"https://www.{c.domain}" if r < 0.5
            else f"www.{c.domain}" if r < 0.75
            else f"http://{c.domain}" if r < 0.9
            else None
        )
        r = rand()
        if c.customer_id in won:
            acct_type = "Customer - Direct" if r < 0.85 else "Customer - Channel"
        elif c.customer_id in has_deal:
            acct_type = "Prospect"
        else:
            acct_type = (
                "Prospect" if r < 0.6 else "Other" if r < 0.75 else "Partner" if r < 0.8 else None
            )
        deleted = rand() < 0.0015
        if deleted:
            deleted_customers.add(c.customer_id)
            modified_ms += int(rand() * (now_ms - modified_ms))
        stamp_ms = modified_ms + (int(rand() * (now_ms - modified_ms)) if rand() < 0.2 else 0)
        sid = account_of[c.customer_id] = salesforce_id("001", len(accounts) + 1)
        accounts.append(
            {
                "Id": sid,
                "Name": name,
                "Type": acct_type,
                "Industry": c.industry,
                "AnnualRevenue": c.annual_revenue,
                "NumberOfEmployees": c.employees,
                "BillingStreet": street,
                "BillingCity": city,
                "BillingState": state,
                "BillingPostalCode": postal,
                "BillingCountry": country,
                "Phone": c.phone,
                "Website": website,
                "OwnerId": user_ids[c.owner_id],
                "CreatedDate": c.created_at,
                "LastModifiedDate": _dt(modified_ms),
                "SystemModstamp": _dt(stamp_ms),
                "IsDeleted": deleted,
                "Segment__c": c.segment,
                "Region__c": c.region,
                "Customer_Key__c": c.customer_id,
            }
        )
        if rand() < 0.02:
            dups.append(c)
    for c in dups:
        # A rep re-created the account instead of finding it: later, sparser, other name.
        created_ms = _ms_of(c.created_at)
        created_ms += int(rand() * (now_ms - created_ms))
        modified_ms = created_ms + int(rand() * (now_ms - created_ms))
        deleted = rand() < 0.2 or c.customer_id in deleted_customers  # merged away
        sid = salesforce_id("001", len(accounts) + 1)
        if not deleted:
            live_dup_of[c.customer_id] = sid
        owners = company.users
        accounts.append(
            {
                "Id": sid,
                "Name": _account_name_variant(c, rand()),
                "Type": "Prospect",
                "Industry": None,
                "AnnualRevenue": None,
                "NumberOfEmployees": None,
                "BillingStreet": None,
                "BillingCity": c.city,
                "BillingState": c.state,
                "BillingPostalCode": None,
                "BillingCountry": c.country,
                "Phone": c.phone,
                "Website": None,
                "OwnerId": user_ids[owners[int(rand() * len(owners))].user_id],
                "CreatedDate": _dt(created_ms),
                "LastModifiedDate": _dt(modified_ms),
                "SystemModstamp": _dt(modified_ms),
                "IsDeleted": deleted,
                "Segment__c": c.segment,
                "Region__c": c.region,
                "Customer_Key__c": c.customer_id,
            }
        )
    for r in accounts:
        xwalk.append(("customer", r["Customer_Key__c"], "salesforce", "Account", r["Id"]))
    owner_of_customer = {c.customer_id: user_ids[c.owner_id] for c in sf_customers}

    # Contacts -----------------------------------------------------------------------
    contacts = records["Contact"]
    sf_contacts = [ct for ct in company.contacts if ct.business_unit in SF_CUSTOMER_UNITS]
    for n, ct in enumerate(sf_contacts, 1):
        cid = ct.customer_id
        dup = live_dup_of.get(cid)
        on_dup = dup is not None and rand() < 0.25
        account = dup if on_dup else account_of[cid]
        created_ms = _ms_of(ct.created_at)
        stamp_ms = created_ms + int(rand() * (now_ms - created_ms))
        deleted = (cid in deleted_customers and not on_dup) or rand() < 0.005
        email = ct.email
        if email is not None and rand() < 0.03:
            email = email.upper()
        first = ct.first_name
        sid = salesforce_id("003", n)
        xwalk.append(("contact", ct.contact_id, "salesforce", "Contact", sid))
        contacts.append(
            {
                "Id": sid,
                "AccountId": account,
                "FirstName": first,
                "LastName": ct.last_name,
                "Name": ct.last_name if first is None else f"{first} {ct.last_name}",
                "Email": email,
                "Phone": ct.phone,
                "Title": ct.title,
                "MailingCountry": ct.country,
                "OwnerId": owner_of_customer[cid],
                "CreatedDate": ct.created_at,
                "SystemModstamp": _dt(stamp_ms),
                "IsDeleted": deleted,
            }
        )

    # Products -----------------------------------------------------------------------
    product_ids: dict[str, str] = {}
    for n, p in enumerate(company.products, 1):
        sid = product_ids[p.product_id] = salesforce_id("01t", n)
        xwalk.append(("product", p.product_id, "salesforce", "Product2", sid))
        records["Product2"].append(
            {
                "Id": sid,
                "Name": p.name,
                "ProductCode": p.sku,
                "Family": p.family,
                "IsActive": p.active,
                "Description": p.description,
                "CreatedDate": p.created_at,
            }
        )

    # Opportunities and their children ---------------------------------------------
    opps = records["Opportunity"]
    lines = records["OpportunityLineItem"]
    hist = records["OpportunityHistory"]
    comps = records["Competitor__c"]
    region_of = {c.customer_id: c.region for c in sf_customers}
    n_line = n_hist = n_comp = 0
    for n, o in enumerate(sf_opps, 1):
        cid = o.customer_id
        dup = live_dup_of.get(cid)
        on_dup = dup is not None and rand() < 0.15
        created_ms = _ms_of(o.created_at)
        modified_ms = _ms_of(o.last_modified_at)
        deleted = (cid in deleted_customers and not on_dup) or rand() < 0.005
        if deleted:
            modified_ms += int(rand() * (now_ms - modified_ms))
        stamp_ms = modified_ms + (int(rand() * (now_ms - modified_ms)) if rand() < 0.2 else 0)
        amount = o.amount
        prob = float(o.probability)
        close = o.close_date
        sid = salesforce_id("006", n)
        xwalk.append(("opportunity", o.opportunity_id, "salesforce", "Opportunity", sid))
        opps.append(
            {
                "Id": sid,
                "Name": o.name,
                "AccountId": dup if on_dup else account_of[cid],
                "OwnerId": user_ids[o.owner_id],
                "StageName": o.stage,
                "Amount": amount,
                "Probability": prob,
                "CloseDate": close,
                "Type": o.type,
                "LeadSource": o.lead_source,
                "ForecastCategoryName": o.forecast_category,
                "IsClosed": o.is_closed,
                "IsWon": o.is_won,
                "CurrencyIsoCode": o.currency,
                "ExpectedRevenue": None if amount is None else round(amount * prob / 100, 2),
                "CreatedDate": o.created_at,
                "LastModifiedDate": _dt(modified_ms),
                "SystemModstamp": _dt(stamp_ms),
                "IsDeleted": deleted,
                "FiscalYear": close.year,
                "FiscalQuarter": (close.month - 1) // 3 + 1,
                "HasOpportunityLineItem": bool(o.line_items),
                "Region__c": region_of[cid],
                "Deal_Key__c": o.opportunity_id,
            }
        )
        span = max(1, modified_ms - created_ms)
        for li in o.line_items:
            n_line += 1
            lines.append(
                {
                    "Id": salesforce_id("00k", n_line),
                    "OpportunityId": sid,
                    "Product2Id": product_ids[li.product_id],
                    "Quantity": li.quantity,
                    "UnitPrice": li.unit_price,
                    "ListPrice": li.list_price,
                    "TotalPrice": li.total_price,
                    "Discount": li.discount or None,
                    "ServiceDate": li.service_date,
                    "CreatedDate": _dt(created_ms + int(rand() * span)),
                    "IsDeleted": deleted,
                }
            )
        for h in o.history:
            n_hist += 1
            hist.append(
                {
                    "Id": salesforce_id("008", n_hist),
                    "OpportunityId": sid,
                    "StageName": h.stage,
                    "Amount": h.amount,
                    "Probability": float(h.probability),
                    "CloseDate": h.close_date,
                    "ForecastCategory": FORECAST_CATEGORY_API[
                        STAGE_BY_NAME[h.stage].forecast_category
                    ],
                    "CreatedDate": h.changed_at,
                    "IsDeleted": deleted,
                }
            )
        for cm in o.competitors:
            n_comp += 1
            comps.append(
                {
                    "Id": salesforce_id("a01", n_comp),
                    "Name": cm.competitor,
                    "Opportunity__c": sid,
                    "Threat_Level__c": cm.threat_level,
                    "Notes__c": cm.notes,
                    "CreatedDate": _dt(created_ms + int(rand() * span)),
                    "IsDeleted": deleted,
                }
            )

    # Dated exchange rates (Salesforce stores units per corporate currency) -----------
    for n, r in enumerate(company.fx_rates, 1):
        records["DatedConversionRate"].append(
            {
                "Id": salesforce_id("04w", n),
                "IsoCode": r.currency,
                "ConversionRate": round(1.0 / r.rate_to_usd, 6),
                "StartDate": r.effective_from,
                "NextStartDate": r.effective_to or dt.date(9999, 12, 31),
            }
        )

    objects = {
        name: SObject(
            name=name,
            label=label,
            fields=fields,
            records=records[name],
            custom=name.endswith("__c"),
            label_plural=plural,
            key_prefix=KEY_PREFIXES[name],
        )
        for name, (label, plural, fields) in describe.items()
    }
    return SalesforceOrg(objects=objects, today=company.today), xwalk


def demo_org(seed: int = 42, scale: float = 1.0, today: dt.date | None = None) -> SalesforceOrg:
    """The demo company's Salesforce org in one call."""
    return project_salesforce(generate_company(seed=seed, scale=scale, today=today))


# --------------------------------------------------------------------------- arrow

_ARROW_TYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(
        (
            "id", "string", "picklist", "multipicklist", "combobox", "reference", "email",
            "phone", "url", "textarea", "encryptedstring",
        ),
        pa.string(),
    ),
    **dict.fromkeys(("currency", "percent", "double"), pa.float64()),
    "int": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
}


def arrow_type_for(field: SObjectField) -> pa.DataType:
    """The Arrow type a describe field type maps to (the adapter must produce the same)."""
    try:
        return _ARROW_TYPES[field.type]
    except KeyError:
        raise ValueError(f"no Arrow mapping for Salesforce type {field.type!r}") from None


def org_truth_tables(
    org: SalesforceOrg, include_deleted: bool = False
) -> dict[str, pa.Table]:
    """One typed Arrow table per object, columns in describe order.

    Built from the same record dicts the simulator serves, so a federated answer can be
    compared with DuckDB over these tables exactly. Soft-deleted rows (``IsDeleted``) are
    left out unless ``include_deleted``, matching ``query`` versus ``queryAll``.
    """
    out: dict[str, pa.Table] = {}
    for name, obj in org.objects.items():
        rows = obj.records
        if not include_deleted and any(f.name == "IsDeleted" for f in obj.fields):
            rows = [r for r in rows if not r["IsDeleted"]]
        schema = pa.schema(
            [pa.field(f.name, arrow_type_for(f), nullable=f.nillable) for f in obj.fields]
        )
        arrays = [
            pa.array([r[f.name] for r in rows], type=schema.field(i).type)
            for i, f in enumerate(obj.fields)
        ]
        out[name] = pa.Table.from_arrays(arrays, schema=schema)
    return out
