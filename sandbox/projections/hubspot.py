"""Project the company's truth into the acquired subsidiary's HubSpot portal.

The subsidiary (Brightwave Software, UK) still sells through HubSpot: its own customers
("acquired" business unit), the customers it shares with the main org ("both"), the deals
it sold (in GBP, EUR or USD) and its own owners. What a real portal adds and the truth
lacks: numeric string ids per object, every property value as a string, HubSpot's own
vocabularies (industry, lifecycle stage, deal stage ids), associations recorded in both
directions, archived records, and the disagreements identity resolution has to untangle:
other name variants and domains than Salesforce, other owners, deals in other currencies,
e-mail addresses in other case, a few duplicate companies and contacts.

``portal_truth_tables`` turns the portal into typed Arrow tables with exactly the shapes
the federated HubSpot adapter exposes. All randomness comes from
``random.Random(f"hubspot:{seed}")`` in a fixed order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
from typing import Any

import pyarrow as pa

from sandbox.company import (
    BASE_RATES,
    CURRENCIES,
    UTC,
    Company,
    Customer,
    generate_company,
)
from sandbox.projections.hubspot_model import (
    HubSpotAssociation,
    HubSpotObject,
    HubSpotOption,
    HubSpotOwner,
    HubSpotPipeline,
    HubSpotPortal,
    HubSpotProperty,
    HubSpotRecord,
    HubSpotStage,
)

__all__ = [
    "ASSOCIATION_TYPES",
    "CUSTOM_OBJECT",
    "DEAL_STAGES",
    "LINK_TABLES",
    "OBJECT_TYPE_IDS",
    "PORTAL_ID",
    "STAGE_OF_TRUTH",
    "demo_portal",
    "portal_truth_tables",
    "project_hubspot",
    "project_hubspot_crosswalk",
]

PORTAL_ID = 4400123
PORTAL_CURRENCY = "GBP"  # company annual revenue and product prices are in GBP
CUSTOM_OBJECT = "subscriptions"
CUSTOM_OBJECT_TYPE_ID = "2-7353817"
OBJECT_TYPE_IDS: dict[str, str] = {
    "companies": "0-2",
    "contacts": "0-1",
    "deals": "0-3",
    "line_items": "0-8",
    "products": "0-7",
    "tickets": "0-5",
    CUSTOM_OBJECT: CUSTOM_OBJECT_TYPE_ID,
}
# First id per object: distinct ranges, so an id names its object.
_ID_BASE: dict[str, int] = {
    "companies": 1_000_000_001,
    "contacts": 2_000_000_001,
    "products": 3_000_000_001,
    "line_items": 4_000_000_001,
    "tickets": 5_000_000_001,
    CUSTOM_OBJECT: 6_000_000_001,
    "deals": 9_000_000_001,
}

# The default deal pipeline: (stage id, label, probability, closed).
DEAL_STAGES: tuple[tuple[str, str, float, bool], ...] = (
    ("appointmentscheduled", "Appointment Scheduled", 0.2, False),
    ("qualifiedtobuy", "Qualified To Buy", 0.4, False),
    ("presentationscheduled", "Presentation Scheduled", 0.6, False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False),
    ("contractsent", "Contract Sent", 0.9, False),
    ("closedwon", "Closed Won", 1.0, True),
    ("closedlost", "Closed Lost", 0.0, True),
)
_STAGE_INFO = {s[0]: s for s in DEAL_STAGES}
# Truth stage name -> HubSpot deal stage id.
STAGE_OF_TRUTH: dict[str, str] = {
    "Prospecting": "appointmentscheduled",
    "Qualification": "qualifiedtobuy",
    "Needs Analysis": "qualifiedtobuy",
    "Value Proposition": "presentationscheduled",
    "Proposal/Price Quote": "decisionmakerboughtin",
    "Negotiation/Review": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
# HubSpot's default ticket pipeline "0": (stage id, label, ticketState).
TICKET_STAGES = (("1", "New", "OPEN"), ("2", "Waiting on contact", "OPEN"),
                 ("3", "Waiting on us", "OPEN"), ("4", "Closed", "CLOSED"))

# (from object, to object) -> HubSpot-defined association type ids, primary first.
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int, ...]] = {
    ("deals", "companies"): (5,),
    ("companies", "deals"): (6,),
    ("contacts", "companies"): (1, 279),
    ("companies", "contacts"): (2, 280),
    ("deals", "contacts"): (3,),
    ("contacts", "deals"): (4,),
    ("line_items", "deals"): (20,),
    ("deals", "line_items"): (19,),
    ("tickets", "contacts"): (16,),
    ("contacts", "tickets"): (15,),
    ("tickets", "companies"): (339,),
    ("companies", "tickets"): (340,),
}
_PRIMARY_TYPES = frozenset((1, 2, 5, 6))
# Link tables of the truth: name -> (from object, to object, from column, to column).
LINK_TABLES: dict[str, tuple[str, str, str, str]] = {
    "deal_companies": ("deals", "companies", "deal_id", "company_id"),
    "deal_contacts": ("deals", "contacts", "deal_id", "contact_id"),
    "contact_companies": ("contacts", "companies", "contact_id", "company_id"),
    "line_item_deals": ("line_items", "deals", "line_item_id", "deal_id"),
    "ticket_contacts": ("tickets", "contacts", "ticket_id", "contact_id"),
    "ticket_companies": ("tickets", "companies", "ticket_id", "company_id"),
}

# Truth industry -> HubSpot's industry enumeration (value, label); "Other" has no match.
_INDUSTRY: dict[str, tuple[str, str]] = {
    "Agriculture": ("FARMING", "Farming"),
    "Banking": ("BANKING", "Banking"),
    "Biotechnology": ("BIOTECHNOLOGY", "Biotechnology"),
    "Chemicals": ("CHEMICALS", "Chemicals"),
    "Communications": ("PUBLIC_RELATIONS_AND_COMMUNICATIONS",
                       "Public Relations and Communications"),
    "Construction": ("CONSTRUCTION", "Construction"),
    "Consulting": ("MANAGEMENT_CONSULTING", "Management Consulting"),
    "Education": ("EDUCATION_MANAGEMENT", "Education Management"),
    "Electronics": ("CONSUMER_ELECTRONICS", "Consumer Electronics"),
    "Energy": ("OIL_ENERGY", "Oil & Energy"),
    "Engineering": ("MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
                    "Mechanical or Industrial Engineering"),
    "Entertainment": ("ENTERTAINMENT", "Entertainment"),
    "Finance": ("FINANCIAL_SERVICES", "Financial Services"),
    "Food & Beverage": ("FOOD_BEVERAGES", "Food & Beverages"),
    "Government": ("GOVERNMENT_ADMINISTRATION", "Government Administration"),
    "Healthcare": ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    "Hospitality": ("HOSPITALITY", "Hospitality"),
    "Insurance": ("INSURANCE", "Insurance"),
    "Machinery": ("MACHINERY", "Machinery"),
    "Manufacturing": ("INDUSTRIAL_AUTOMATION", "Industrial Automation"),
    "Media": ("MEDIA_PRODUCTION", "Media Production"),
    "Not For Profit": ("NON_PROFIT_ORGANIZATION_MANAGEMENT",
                       "Non-Profit Organization Management"),
    "Retail": ("RETAIL", "Retail"),
    "Shipping": ("PACKAGE_FREIGHT_DELIVERY", "Package/Freight Delivery"),
    "Technology": ("INFORMATION_TECHNOLOGY_AND_SERVICES",
                   "Information Technology and Services"),
    "Telecommunications": ("TELECOMMUNICATIONS", "Telecommunications"),
    "Transportation": ("TRANSPORTATION_TRUCKING_RAILROAD",
                       "Transportation/Trucking/Railroad"),
    "Utilities": ("UTILITIES", "Utilities"),
}
_LIFECYCLE = (
    ("subscriber", "Subscriber"), ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"), ("opportunity", "Opportunity"),
    ("customer", "Customer"), ("evangelist", "Evangelist"), ("other", "Other"),
)
# The subsidiary's old sales regions: a custom deal property (value, label).
_LEGACY_REGIONS = (
    ("uk_ireland", "UK & Ireland"), ("dach", "DACH"), ("nordics", "Nordics"),
    ("benelux", "Benelux"), ("france", "France"), ("iberia", "Iberia"),
    ("americas", "Americas"), ("apac", "APAC"),
)
_LEGACY_REGION_OF = {
    "GB": "uk_ireland", "IE": "uk_ireland", "DE": "dach", "CH": "dach", "SE": "nordics",
    "NL": "benelux", "FR": "france", "ES": "iberia", "US": "americas", "CA": "americas",
    "BR": "americas", "MX": "americas", "JP": "apac", "AU": "apac", "SG": "apac", "IN": "apac",
}
_COUNTRY_VARIANTS = {"GB": ("UK", "GB", "England"), "US": ("USA", "US"), "DE": ("Deutschland",)}
_OTHER_TLD = {"com": "co.uk", "co.uk": "com", "de": "com", "fr": "com", "ie": "co.uk"}
_PRIORITY = {"Low": "LOW", "Normal": "MEDIUM", "High": "HIGH"}
_CATEGORY = {"Question": "GENERAL_INQUIRY", "Problem": "PRODUCT_ISSUE",
             "Request": "FEATURE_REQUEST"}
_PLANS = ("Starter", "Professional", "Enterprise", "Unlimited")
_TERM_MONTHS = {"(Annual)": 12, "(Monthly)": 1, "(3-Year)": 36}

# --------------------------------------------------------------------------- values

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORD = dt.date(1970, 1, 1).toordinal()
_ONE_MS = dt.timedelta(milliseconds=1)
_DAY_MS = 86_400_000
_DAY_TEXT: dict[int, str] = {}
_fromtimestamp = dt.datetime.fromtimestamp


def _ms_of(t: dt.datetime) -> int:
    return (t - _EPOCH) // _ONE_MS


def _dt(ms: int) -> dt.datetime:
    return _fromtimestamp(ms / 1000, UTC)


def _iso(ms: int) -> str:
    """Epoch milliseconds as HubSpot writes datetimes: ``2024-01-17T19:55:04.281Z``."""
    days, rem = divmod(ms, _DAY_MS)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = _DAY_TEXT[days] = dt.date.fromordinal(_EPOCH_ORD + days).isoformat()
    h, rem = divmod(rem, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, milli = divmod(rem, 1000)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def _num(x: float | int | None) -> str | None:
    """A number as HubSpot sends it: ``"12500"``, ``"12500.5"``."""
    if x is None:
        return None
    if x == int(x):
        return str(int(x))
    return repr(float(x))


def _bool(b: bool) -> str:
    return "true" if b else "false"


# --------------------------------------------------------------------------- properties


def _p(
    name: str,
    label: str,
    type_: str,
    field_type: str,
    group: str,
    *,
    default: bool = False,
    options: tuple[tuple[str, str], ...] = (),
    custom: bool = False,
    calculated: bool = False,
    unique: bool = False,
    description: str = "",
) -> HubSpotProperty:
    return HubSpotProperty(
        name=name,
        label=label,
        type=type_,
        field_type=field_type,
        group_name=group,
        hubspot_defined=not custom,
        options=tuple(HubSpotOption(lab, val, i) for i, (val, lab) in enumerate(options)),
        calculated=calculated,
        has_unique_value=unique,
        description=description,
        default=default,
    )


def _audit(group: str, modified: str = "hs_lastmodifieddate",
           created: str = "createdate") -> list[HubSpotProperty]:
    return [
        _p(created, "Create Date", "datetime", "date", group, default=True),
        _p(modified, "Last Modified Date", "datetime", "date", group, default=True,
           calculated=True),
        _p("hs_object_id", "Record ID", "number", "number", group, default=True, unique=True,
           calculated=True),
    ]


def _properties(owner_options: tuple[tuple[str, str], ...]) -> dict[str, list[HubSpotProperty]]:
    """Object name -> properties in the order the properties API lists them."""
    industry = tuple(sorted(set(_INDUSTRY.values())))
    currencies = tuple((c.code, c.name) for c in CURRENCIES)
    stages = tuple((s[0], s[1]) for s in DEAL_STAGES)
    owner = _p("hubspot_owner_id", "Contact owner", "enumeration", "select", "", default=False,
               options=owner_options)
    return {
        "companies": [
            _p("name", "Company name", "string", "text", "companyinformation", default=True),
            _p("domain", "Company Domain Name", "string", "text", "companyinformation",
               default=True),
            _p("industry", "Industry", "enumeration", "select", "companyinformation",
               options=industry),
            _p("annualrevenue", "Annual Revenue", "number", "number", "companyinformation",
               description=f"Annual revenue in the portal currency ({PORTAL_CURRENCY})."),
            _p("numberofemployees", "Number of Employees", "number", "number",
               "companyinformation"),
            _p("city", "City", "string", "text", "companyinformation"),
            _p("state", "State/Region", "string", "text", "companyinformation"),
            _p("country", "Country/Region", "string", "text", "companyinformation"),
            _p("phone", "Phone Number", "phone_number", "phonenumber", "companyinformation"),
            _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio",
               "companyinformation", options=_LIFECYCLE),
            dataclasses.replace(owner, label="Company owner", group_name="companyinformation"),
            *_audit("companyinformation"),
        ],
        "contacts": [
            _p("firstname", "First Name", "string", "text", "contactinformation", default=True),
            _p("lastname", "Last Name", "string", "text", "contactinformation", default=True),
            _p("email", "Email", "string", "text", "contactinformation", default=True,
               unique=True),
            _p("phone", "Phone Number", "phone_number", "phonenumber", "contactinformation"),
            _p("jobtitle", "Job Title", "string", "text", "contactinformation"),
            _p("company", "Company Name", "string", "text", "contactinformation"),
            _p("associatedcompanyid", "Primary Associated Company ID", "number", "number",
               "contactinformation", calculated=True),
            _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio",
               "contactinformation", options=_LIFECYCLE),
            dataclasses.replace(owner, group_name="contactinformation"),
            *_audit("contactinformation", modified="lastmodifieddate"),
        ],
        "deals": [
            _p("dealname", "Deal Name", "string", "text", "dealinformation", default=True),
            _p("amount", "Amount", "number", "number", "dealinformation", default=True),
            _p("closedate", "Close Date", "datetime", "date", "dealinformation", default=True),
            _p("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation",
               default=True, options=stages),
            _p("pipeline", "Pipeline", "enumeration", "select", "dealinformation",
               default=True, options=(("default", "Sales Pipeline"),)),
            _p("hs_deal_stage_probability", "Deal probability", "number", "number",
               "dealinformation", calculated=True),
            _p("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", "dealinformation",
               calculated=True, options=(("true", "True"), ("false", "False"))),
            _p("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox",
               "dealinformation", calculated=True,
               options=(("true", "True"), ("false", "False"))),
            _p("deal_currency_code", "Currency", "enumeration", "select", "dealinformation",
               options=currencies),
            dataclasses.replace(owner, label="Deal owner", group_name="dealinformation"),
            _p("dealtype", "Deal Type", "enumeration", "radio", "dealinformation",
               options=(("newbusiness", "New Business"),
                        ("existingbusiness", "Existing Business"))),
            *_audit("dealinformation"),
            _p("legacy_region", "Legacy Region", "enumeration", "select", "dealinformation",
               options=_LEGACY_REGIONS, custom=True,
               description="Sales region from before the acquisition."),
        ],
        "line_items": [
            _p("name", "Name", "string", "text", "lineiteminformation"),
            _p("quantity", "Quantity", "number", "number", "lineiteminformation", default=True),
            _p("price", "Unit price", "number", "number", "lineiteminformation", default=True),
            _p("amount", "Net price", "number", "number", "lineiteminformation", default=True,
               calculated=True),
            _p("hs_discount_percentage", "Discount percentage", "number", "number",
               "lineiteminformation"),
            _p("hs_product_id", "Product ID", "number", "number", "lineiteminformation"),
            _p("hs_sku", "SKU", "string", "text", "lineiteminformation"),
            _p("hs_line_item_currency_code", "Currency", "enumeration", "select",
               "lineiteminformation", options=currencies),
            *_audit("lineiteminformation"),
        ],
        "products": [
            _p("name", "Name", "string", "text", "productinformation", default=True),
            _p("price", "Unit price", "number", "number", "productinformation", default=True,
               description=f"Unit price in the portal currency ({PORTAL_CURRENCY})."),
            _p("hs_sku", "SKU", "string", "text", "productinformation"),
            _p("description", "Description", "string", "textarea", "productinformation",
               default=True),
            *_audit("productinformation"),
        ],
        "tickets": [
            _p("subject", "Ticket name", "string", "text", "ticketinformation", default=True),
            _p("content", "Ticket description", "string", "textarea", "ticketinformation",
               default=True),
            _p("hs_pipeline", "Pipeline", "enumeration", "select", "ticketinformation",
               default=True, options=(("0", "Support Pipeline"),)),
            _p("hs_pipeline_stage", "Ticket status", "enumeration", "select",
               "ticketinformation", default=True,
               options=tuple((s[0], s[1]) for s in TICKET_STAGES)),
            _p("hs_ticket_priority", "Priority", "enumeration", "select", "ticketinformation",
               default=True, options=(("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"),
                                      ("URGENT", "Urgent"))),
            _p("hs_ticket_category", "Category", "enumeration", "checkbox",
               "ticketinformation", default=True,
               options=(("PRODUCT_ISSUE", "Product issue"), ("BILLING_ISSUE", "Billing issue"),
                        ("FEATURE_REQUEST", "Feature request"),
                        ("GENERAL_INQUIRY", "General inquiry"))),
            *_audit("ticketinformation"),
        ],
        CUSTOM_OBJECT: [
            _p("subscription_name", "Subscription name", "string", "text",
               "subscription_information", custom=True, default=True),
            _p("plan", "Plan", "enumeration", "select", "subscription_information",
               custom=True, options=tuple((p.lower(), p) for p in _PLANS)),
            _p("mrr", "MRR", "number", "number", "subscription_information", custom=True,
               description="Monthly recurring revenue in the subscription currency."),
            _p("currency", "Currency", "enumeration", "select", "subscription_information",
               custom=True, options=currencies),
            _p("start_date", "Start date", "date", "date", "subscription_information",
               custom=True),
            _p("end_date", "End date", "date", "date", "subscription_information",
               custom=True),
            _p("auto_renew", "Auto renew", "bool", "booleancheckbox",
               "subscription_information", custom=True,
               options=(("true", "Yes"), ("false", "No"))),
            _p("status", "Status", "enumeration", "select", "subscription_information",
               custom=True, options=(("active", "Active"), ("cancelled", "Cancelled"),
                                     ("expired", "Expired"))),
            *_audit("subscription_information", created="hs_createdate"),
        ],
    }


# --------------------------------------------------------------------------- projection

# Crosswalk rows: (entity, truth_id, system, object, record_id).
CrosswalkRow = tuple[str, str, str, str, str]
HUBSPOT_CUSTOMER_UNITS = ("acquired", "both")


def project_hubspot(company: Company) -> HubSpotPortal:
    """Build the portal the HubSpot simulator serves from the company's truth."""
    return project_hubspot_crosswalk(company)[0]


def project_hubspot_crosswalk(company: Company) -> tuple[HubSpotPortal, list[CrosswalkRow]]:
    """The portal plus one crosswalk row per owner, company, contact, product, deal and
    ticket record (archived and duplicate records included)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small acyclic objects; see generate_company
    try:
        return _Projector(company).run()
    finally:
        if gc_was_enabled:
            gc.enable()


def demo_portal(seed: int = 42, scale: float = 1.0, today: dt.date | None = None) -> HubSpotPortal:
    """The demo company's HubSpot portal in one call."""
    return project_hubspot(generate_company(seed=seed, scale=scale, today=today))


def _name_variant(c: Customer, r: float) -> str:
    """How the subsidiary typed the name: "Acme Inc", "ACME, INC.", "Acme", legal name."""
    k = int(r * 4)
    if k == 0:
        return c.legal_name.replace(",", "").replace(".", "")
    if k == 1:
        return c.legal_name.upper()
    if k == 2:
        return c.name.strip()
    return c.legal_name


def _other_domain(domain: str) -> str:
    """acme.com -> acme.co.uk: the subsidiary knew the customer's other web site."""
    stem, _, tld = domain.partition(".")
    return f"{stem}.{_OTHER_TLD.get(tld, 'com')}"


class _Projector:
    """One pass over the truth; methods share the RNG so their order fixes the output."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.rng = random.Random(f"hubspot:{company.seed}")
        self.rand = self.rng.random
        self.now_ms = _ms_of(company.now)
        self.next_id = dict(_ID_BASE)
        self.records: dict[str, list[HubSpotRecord]] = {name: [] for name in OBJECT_TYPE_IDS}
        self.assoc: list[HubSpotAssociation] = []
        self.xwalk: list[CrosswalkRow] = []

    # -- helpers ---------------------------------------------------------------------

    def _id(self, obj: str) -> str:
        n = self.next_id[obj]
        # Real ids are not contiguous: deleted drafts and imports leave gaps.
        self.next_id[obj] = n + (1 if self.rand() < 0.9 else 2 + int(self.rand() * 7))
        return str(n)

    def _blank(self) -> str | None:
        """An unset value: usually null, sometimes "" (HubSpot sends both)."""
        return "" if self.rand() < 0.25 else None

    def _add(
        self,
        obj: str,
        entity: str | None,
        truth_id: str | None,
        props: dict[str, str | None],
        created_ms: int,
        modified_ms: int,
        archive_p: float,
        modified_key: str = "hs_lastmodifieddate",
        created_key: str = "createdate",
        archived: bool | None = None,
    ) -> str:
        rid = self._id(obj)
        props[created_key] = _iso(created_ms)
        props[modified_key] = _iso(modified_ms)
        props["hs_object_id"] = rid
        if archived is None:
            # A few archived records per object, and at least one at every scale.
            archived = self.rand() < archive_p or len(self.records[obj]) == 4
        archived_at = None
        if archived:
            archived_ms = modified_ms + int(self.rand() * max(1, self.now_ms - modified_ms))
            archived_at = _dt(min(archived_ms, self.now_ms - 1))
        self.records[obj].append(
            HubSpotRecord(rid, props, _dt(created_ms), _dt(modified_ms), archived, archived_at)
        )
        if entity is not None and truth_id is not None:
            self.xwalk.append((entity, truth_id, "hubspot", obj, rid))
        return rid

    def _link(self, a_obj: str, a_id: str, b_obj: str, b_id: str, primary: bool = True) -> None:
        """Record an association in both directions, as HubSpot's v4 API shows it."""
        for f_obj, f_id, t_obj, t_id in ((a_obj, a_id, b_obj, b_id), (b_obj, b_id, a_obj, a_id)):
            types = ASSOCIATION_TYPES[(f_obj, t_obj)]
            if not primary and len(types) > 1:
                types = types[1:]
            for t in types:
                self.assoc.append(HubSpotAssociation(
                    f_obj, f_id, t_obj, t_id, t, "HUBSPOT_DEFINED",
                    "Primary" if t in _PRIMARY_TYPES else None,
                ))

    def _modified(self, created_ms: int) -> int:
        return created_ms + int(self.rand() * max(1, self.now_ms - created_ms))

    # -- the run ---------------------------------------------------------------------

    def run(self) -> tuple[HubSpotPortal, list[CrosswalkRow]]:
        company = self.company
        owners = self._owners()
        companies = self._companies()
        contacts = self._contacts(companies)
        products = self._products()
        self._deals(companies, contacts, products)
        self._tickets(companies, contacts)
        props = _properties(tuple((o.id, f"{o.first_name} {o.last_name}") for o in owners))
        objects = {
            name: HubSpotObject(
                name=name,
                object_type_id=OBJECT_TYPE_IDS[name],
                singular=singular,
                plural=plural,
                properties=props[name],
                records=self.records[name],
                custom=name == CUSTOM_OBJECT,
                primary_display_property=display,
                fully_qualified_name=f"p{PORTAL_ID}_{name}" if name == CUSTOM_OBJECT else "",
            )
            for name, singular, plural, display in (
                ("companies", "Company", "Companies", "name"),
                ("contacts", "Contact", "Contacts", "email"),
                ("deals", "Deal", "Deals", "dealname"),
                ("line_items", "Line item", "Line items", "name"),
                ("products", "Product", "Products", "name"),
                ("tickets", "Ticket", "Tickets", "subject"),
                (CUSTOM_OBJECT, "Subscription", "Subscriptions", "subscription_name"),
            )
        }
        portal = HubSpotPortal(
            objects=objects,
            associations=self.assoc,
            owners=owners,
            pipelines=self._pipelines(),
            portal_id=PORTAL_ID,
            today=company.today,
        )
        return portal, self.xwalk

    def _owners(self) -> list[HubSpotOwner]:
        rand = self.rand
        out: list[HubSpotOwner] = []
        self.owner_of: dict[str, str] = {}
        used: set[int] = set()
        for u in self.company.subsidiary_owners:
            oid = 41_000_000 + int(rand() * 8_999_999)
            while oid in used:
                oid += 1
            used.add(oid)
            created_ms = _ms_of(u.created_at)
            owner = HubSpotOwner(
                id=str(oid),
                email=u.alt_email or u.email,
                first_name=u.first_name,
                last_name=u.last_name,
                user_id=9_000_000 + int(rand() * 999_999),
                created_at=_dt(created_ms),
                updated_at=_dt(self._modified(created_ms)),
                archived=not u.active,  # people who left are deactivated
            )
            out.append(owner)
            self.owner_of[u.user_id] = owner.id
            self.xwalk.append(("user", u.user_id, "hubspot", "owners", owner.id))
        return out

    def _companies(self) -> dict[str, list[str]]:
        """Customer id -> HubSpot company ids (the primary first, then duplicates)."""
        company = self.company
        rand = self.rand
        acquired_deals: dict[str, list[Any]] = {}
        for o in company.opportunities:
            if o.business_unit == "acquired":
                acquired_deals.setdefault(o.customer_id, []).append(o)
        self.lifecycle: dict[str, str] = {}
        out: dict[str, list[str]] = {}
        dups: list[Customer] = []
        for c in company.customers:
            if c.business_unit not in HUBSPOT_CUSTOMER_UNITS:
                continue
            shared = c.business_unit == "both"
            deals = acquired_deals.get(c.customer_id, [])
            if any(o.is_won for o in deals):
                stage = "customer"
            elif any(not o.is_closed for o in deals):
                stage = "opportunity"
            else:
                stage = "lead" if rand() < 0.6 else "salesqualifiedlead"
            self.lifecycle[c.customer_id] = stage
            cust_ms = _ms_of(c.created_at)
            if shared:  # the subsidiary met the customer later than the main org did
                first = min((_ms_of(o.created_at) for o in deals), default=self.now_ms)
                created_ms = cust_ms + int(rand() * max(1, first - cust_ms))
            else:
                created_ms = cust_ms
            name = c.name
            if rand() < (0.5 if shared else 0.15):
                name = _name_variant(c, rand())
            domain: str | None = c.domain
            r = rand()
            if shared and r < 0.15:
                domain = _other_domain(c.domain)
            elif r > 0.97:
                domain = self._blank()
            city = c.city
            if rand() < 0.05:  # stale: the customer moved
                city = company.customers[int(rand() * len(company.customers))].city
            country = c.country
            if rand() < 0.1:
                variants = _COUNTRY_VARIANTS.get(c.country_code, (c.country_code,))
                country = variants[int(rand() * len(variants))]
            revenue = (
                None if c.annual_revenue is None
                else round(c.annual_revenue / BASE_RATES[PORTAL_CURRENCY], -3)
            )
            industry = _INDUSTRY.get(c.industry or "")
            props: dict[str, str | None] = {
                "name": name,
                "domain": domain,
                "industry": industry[0] if industry else self._blank(),
                "annualrevenue": _num(revenue) if revenue is not None else self._blank(),
                "numberofemployees": _num(c.employees),
                "city": city,
                "state": c.state,
                "country": country,
                "phone": c.phone if c.phone is not None else self._blank(),
                "lifecyclestage": stage,
                "hubspot_owner_id": self.owner_of[c.acquired_owner_id or ""],
            }
            rid = self._add("companies", "customer", c.customer_id, props, created_ms,
                            self._modified(created_ms), 0.01)
            out[c.customer_id] = [rid]
            if rand() < 0.02:
                dups.append(c)
        for c in dups:
            # Created again from a business card: no domain, so HubSpot could not dedupe.
            created_ms = self._modified(_ms_of(c.created_at))
            props = {
                "name": _name_variant(c, rand()),
                "domain": self._blank(),
                "industry": None,
                "annualrevenue": None,
                "numberofemployees": None,
                "city": c.city,
                "state": None,
                "country": c.country,
                "phone": None,
                "lifecyclestage": "lead",
                "hubspot_owner_id": self.owner_of[self.company.subsidiary_owners[
                    int(rand() * len(self.company.subsidiary_owners))].user_id],
            }
            out[c.customer_id].append(
                self._add("companies", "customer", c.customer_id, props, created_ms,
                          self._modified(created_ms), 0.1)
            )
        return out

    def _contacts(self, companies: dict[str, list[str]]) -> dict[str, list[str]]:
        """Customer id -> HubSpot contact ids; also contact id -> record id for tickets."""
        rand = self.rand
        company_props = {
            r.id: r.properties for r in self.records["companies"]
        }
        self.contact_record: dict[str, str] = {}
        out: dict[str, list[str]] = {}
        for ct in self.company.contacts:
            if ct.business_unit not in ("acquired", "both"):
                continue
            ids = companies[ct.customer_id]
            company_id = ids[1] if len(ids) > 1 and rand() < 0.2 else ids[0]
            cprops = company_props[company_id]
            email = ct.email
            if email is not None and ct.business_unit == "both" and rand() < 0.15:
                local, _, host = email.partition("@")
                email = f"{'.'.join(w.capitalize() for w in local.split('.'))}@{host}"
            created_ms = _ms_of(ct.created_at)
            if ct.business_unit == "both":
                created_ms = self._modified(created_ms)
            stage = self.lifecycle[ct.customer_id]
            props: dict[str, str | None] = {
                "firstname": ct.first_name if ct.first_name is not None else self._blank(),
                "lastname": ct.last_name,
                "email": email,
                "phone": ct.phone if ct.phone is not None else self._blank(),
                "jobtitle": ct.title if ct.title is not None else self._blank(),
                "company": cprops["name"] if rand() < 0.7 else self._blank(),
                "associatedcompanyid": company_id,
                "lifecyclestage": stage,
                "hubspot_owner_id": cprops["hubspot_owner_id"] if rand() < 0.9 else None,
            }
            rid = self._add("contacts", "contact", ct.contact_id, props, created_ms,
                            self._modified(created_ms), 0.01, modified_key="lastmodifieddate")
            self.contact_record[ct.contact_id] = rid
            out.setdefault(ct.customer_id, []).append(rid)
            self._link("contacts", rid, "companies", company_id)
            if len(ids) > 1 and rand() < 0.3:  # also on the duplicate, unlabeled
                other = ids[0] if company_id != ids[0] else ids[1]
                self._link("contacts", rid, "companies", other, primary=False)
            if ct.email is not None and rand() < 0.01:
                # Imported again without the e-mail address: HubSpot could not dedupe.
                dup_props = dict(props, email=None, phone=None, jobtitle=None)
                dup_ms = self._modified(created_ms)
                dup = self._add("contacts", "contact", ct.contact_id, dup_props, dup_ms,
                                self._modified(dup_ms), 0.1, modified_key="lastmodifieddate")
                self._link("contacts", dup, "companies", company_id)
        return out

    def _products(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self.company.products:
            created_ms = _ms_of(p.created_at)
            props: dict[str, str | None] = {
                "name": p.name,
                "price": _num(round(p.list_price / BASE_RATES[PORTAL_CURRENCY], 2)),
                "hs_sku": p.sku,
                "description": p.description if p.description is not None else self._blank(),
            }
            # Retired products are archived; their line items still carry the id.
            out[p.product_id] = self._add(
                "products", "product", p.product_id, props, created_ms,
                self._modified(created_ms), 0.0, archived=not p.active,
            )
        return out

    def _deals(
        self,
        companies: dict[str, list[str]],
        contacts: dict[str, list[str]],
        products: dict[str, str],
    ) -> None:
        company = self.company
        rand = self.rand
        country_of = {c.customer_id: c.country_code for c in company.customers}
        product_of = {p.product_id: p for p in company.products}
        today = company.today
        for o in company.opportunities:
            if o.business_unit != "acquired":
                continue
            stage_id = STAGE_OF_TRUTH[o.stage]
            _, _, prob, closed = _STAGE_INFO[stage_id]
            # Closed deals: the moment they were marked closed (on the truth close date);
            # open deals: the expected close date at midnight UTC.
            if o.is_closed:
                close_ms = _ms_of(o.history[-1].changed_at)
            else:
                close_ms = (o.close_date.toordinal() - _EPOCH_ORD) * _DAY_MS
            created_ms = _ms_of(o.created_at)
            modified_ms = _ms_of(o.last_modified_at)
            region = _LEGACY_REGION_OF.get(country_of[o.customer_id])
            name = o.name
            if rand() < 0.1:
                name = name.replace(" - ", " | ")
            props: dict[str, str | None] = {
                "dealname": name,
                "amount": _num(o.amount) if o.amount is not None else self._blank(),
                "closedate": _iso(close_ms),
                "dealstage": stage_id,
                "pipeline": "default",
                "hs_deal_stage_probability": _num(prob),
                "hs_is_closed": _bool(closed),
                "hs_is_closed_won": _bool(stage_id == "closedwon"),
                "deal_currency_code": o.currency,
                "hubspot_owner_id": self.owner_of[o.owner_id],
                "dealtype": (
                    None if o.type is None
                    else "newbusiness" if o.type == "New" else "existingbusiness"
                ),
                "legacy_region": region if region and rand() < 0.8 else self._blank(),
            }
            archived = rand() < 0.01 or len(self.records["deals"]) == 4
            did = self._add("deals", "opportunity", o.opportunity_id, props, created_ms,
                            modified_ms, 0.0, archived=archived)
            ids = companies[o.customer_id]
            self._link("deals", did, "companies",
                       ids[1] if len(ids) > 1 and rand() < 0.1 else ids[0])
            people = contacts.get(o.customer_id, [])
            if people and rand() < 0.75:  # one or two buyers on the deal
                first = int(rand() * len(people))
                for k in range(min(len(people), 1 if rand() < 0.7 else 2)):
                    self._link("deals", did, "contacts", people[(first + k) % len(people)])
            span = max(1, modified_ms - created_ms)
            for li in o.line_items:
                p = product_of[li.product_id]
                li_ms = created_ms + int(rand() * span)
                li_props: dict[str, str | None] = {
                    "name": p.name,
                    "quantity": _num(li.quantity),
                    "price": _num(li.unit_price),
                    "amount": _num(li.total_price),
                    "hs_discount_percentage": _num(li.discount) if li.discount else None,
                    "hs_product_id": products[li.product_id],
                    "hs_sku": p.sku,
                    "hs_line_item_currency_code": o.currency,
                }
                lid = self._add("line_items", None, None, li_props, li_ms,
                                li_ms + int(rand() * max(1, modified_ms - li_ms)), 0.0,
                                archived=archived or rand() < 0.005)
                self._link("line_items", lid, "deals", did)
                if o.is_won:
                    self._subscription(o.name, li, p.name, o.close_date, o.currency,
                                       _ms_of(o.history[-1].changed_at), today)

    def _subscription(
        self, deal_name: str, li: Any, product_name: str, start: dt.date, currency: str,
        closed_ms: int, today: dt.date,
    ) -> None:
        """Won recurring lines become subscription records (the custom object)."""
        term = next((m for t, m in _TERM_MONTHS.items() if product_name.endswith(t)), None)
        if term is None:
            return
        rand = self.rand
        plan = next((p.lower() for p in _PLANS if f" {p} " in f" {product_name} "), None)
        start = li.service_date or start
        if term == 1:
            end = None if rand() < 0.7 else start + dt.timedelta(days=30 * (1 + int(rand() * 12)))
        else:
            end = dt.date(start.year + term // 12, start.month, min(start.day, 28))
        if end is None or end >= today:
            status = "cancelled" if rand() < 0.05 else "active"
        else:
            status = "expired" if rand() < 0.8 else "cancelled"
        props: dict[str, str | None] = {
            "subscription_name": f"{product_name} — {deal_name.split(' - ')[0]}",
            "plan": plan if plan is not None else self._blank(),
            "mrr": _num(round(li.total_price / term, 2)),
            "currency": currency,
            "start_date": start.isoformat(),
            "end_date": end.isoformat() if end is not None else self._blank(),
            "auto_renew": _bool(rand() < 0.6) if rand() < 0.9 else None,
            "status": status,
        }
        self._add(CUSTOM_OBJECT, None, None, props, closed_ms, self._modified(closed_ms), 0.01,
                  created_key="hs_createdate")

    def _tickets(self, companies: dict[str, list[str]], contacts: dict[str, list[str]]) -> None:
        """Cases from before service moved to Dynamics 365 (18 months ago) stayed here too."""
        rand = self.rand
        cutoff_ms = self.now_ms - 540 * _DAY_MS
        for case in self.company.cases:
            created_ms = _ms_of(case.created_at)
            if created_ms >= cutoff_ms or case.customer_id not in companies:
                continue
            # Open cases wait on someone; resolved and cancelled ones are closed.
            stage = ("2" if rand() < 0.5 else "3") if case.status == "active" else "4"
            modified_ms = _ms_of(case.last_modified_at)
            props: dict[str, str | None] = {
                "subject": case.subject,
                "content": case.description if case.description is not None else self._blank(),
                "hs_pipeline": "0",
                "hs_pipeline_stage": stage,
                "hs_ticket_priority": _PRIORITY[case.priority],
                "hs_ticket_category": _CATEGORY[case.case_type] if rand() < 0.7 else None,
            }
            tid = self._add("tickets", "case", case.case_id, props, created_ms, modified_ms,
                            0.01)
            self._link("tickets", tid, "companies", companies[case.customer_id][0])
            rec = self.contact_record.get(case.contact_id or "")
            if rec is not None:
                self._link("tickets", tid, "contacts", rec)

    def _pipelines(self) -> list[HubSpotPipeline]:
        created = self.company.now - dt.timedelta(days=2400)
        updated = self.company.now - dt.timedelta(days=400)
        deal_stages = [
            HubSpotStage(sid, label, i,
                         (("isClosed", _bool(closed)), ("probability", _num(prob) or "0")))
            for i, (sid, label, prob, closed) in enumerate(DEAL_STAGES)
        ]
        ticket_stages = [
            HubSpotStage(sid, label, i, (("ticketState", state),))
            for i, (sid, label, state) in enumerate(TICKET_STAGES)
        ]
        return [
            HubSpotPipeline("default", "deals", "Sales Pipeline", 0, deal_stages, created,
                            updated),
            HubSpotPipeline("0", "tickets", "Support Pipeline", 0, ticket_stages, created,
                            updated),
        ]


# --------------------------------------------------------------------------- arrow

_ARROW_TYPES: dict[str, pa.DataType] = {
    "number": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("ms", tz="UTC"),
    "enumeration": pa.string(),
    "string": pa.string(),
    "phone_number": pa.string(),
}
_TS = pa.timestamp("ms", tz="UTC")


def hubspot_arrow_type(prop: HubSpotProperty) -> pa.DataType:
    """The Arrow type a property type maps to (the adapter must produce the same)."""
    try:
        return _ARROW_TYPES[prop.type]
    except KeyError:
        raise ValueError(f"no Arrow mapping for HubSpot type {prop.type!r}") from None


def _column(values: list[str | None], type_: pa.DataType) -> pa.Array:
    """HubSpot strings to one typed column; both null and "" are NULL."""
    cleaned = [None if v == "" else v for v in values]
    if type_ == pa.bool_():
        return pa.array([None if v is None else v == "true" for v in cleaned], pa.bool_())
    return pa.array(cleaned, pa.string()).cast(type_)


def portal_truth_tables(portal: HubSpotPortal) -> dict[str, pa.Table]:
    """Typed tables exactly as the federated HubSpot source exposes them.

    One table per object (``id`` then one column per property, archived records left
    out), ``owners``, ``deal_pipelines``, ``deal_stages`` and one link table per
    association pair in ``LINK_TABLES`` (both ends not archived).
    """
    out: dict[str, pa.Table] = {}
    live: dict[str, set[str]] = {}
    for name, obj in portal.objects.items():
        rows = [r for r in obj.records if not r.archived]
        live[name] = {r.id for r in rows}
        fields = [pa.field("id", pa.string())]
        arrays = [pa.array([r.id for r in rows], pa.string())]
        for p in obj.properties:
            t = hubspot_arrow_type(p)
            fields.append(pa.field(p.name, t))
            arrays.append(_column([r.properties.get(p.name) for r in rows], t))
        out[name] = pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    owners = [o for o in portal.owners if not o.archived]
    out["owners"] = pa.table(
        {
            "id": pa.array([o.id for o in owners], pa.string()),
            "email": pa.array([o.email for o in owners], pa.string()),
            "first_name": pa.array([o.first_name for o in owners], pa.string()),
            "last_name": pa.array([o.last_name for o in owners], pa.string()),
            "user_id": pa.array([o.user_id for o in owners], pa.int64()),
            "created_at": pa.array([o.created_at for o in owners], _TS),
            "updated_at": pa.array([o.updated_at for o in owners], _TS),
            "archived": pa.array([o.archived for o in owners], pa.bool_()),
        }
    )
    deal_pipes = [p for p in portal.pipelines if p.object_type == "deals"]
    out["deal_pipelines"] = pa.table(
        {
            "id": pa.array([p.id for p in deal_pipes], pa.string()),
            "label": pa.array([p.label for p in deal_pipes], pa.string()),
            "display_order": pa.array([p.display_order for p in deal_pipes], pa.int64()),
            "archived": pa.array([p.archived for p in deal_pipes], pa.bool_()),
        }
    )
    stage_rows = []
    for p in deal_pipes:
        for s in p.stages:
            meta = dict(s.metadata)
            prob = float(meta["probability"]) if meta.get("probability") else None
            closed = meta.get("isClosed") == "true"
            stage_rows.append((p.id, s.id, s.label, s.display_order, prob, closed,
                               closed and prob == 1.0, s.archived))
    cols = ("pipeline_id", "id", "label", "display_order", "probability", "is_closed",
            "is_won", "archived")
    types = (pa.string(), pa.string(), pa.string(), pa.int64(), pa.float64(), pa.bool_(),
             pa.bool_(), pa.bool_())
    out["deal_stages"] = pa.table(
        {c: pa.array([r[i] for r in stage_rows], t)
         for i, (c, t) in enumerate(zip(cols, types, strict=True))}
    )

    links: dict[tuple[str, str], dict[tuple[str, str, int], HubSpotAssociation]] = {
        (f, t): {} for f, t, _, _ in LINK_TABLES.values()
    }
    for a in portal.associations:
        bucket = links.get((a.from_object, a.to_object))
        if (
            bucket is not None
            and a.from_id in live[a.from_object]
            and a.to_id in live[a.to_object]
        ):
            bucket.setdefault((a.from_id, a.to_id, a.type_id), a)
    for table, (f, t, fcol, tcol) in LINK_TABLES.items():
        rows = list(links[(f, t)].values())
        out[table] = pa.table(
            {
                fcol: pa.array([a.from_id for a in rows], pa.string()),
                tcol: pa.array([a.to_id for a in rows], pa.string()),
                "type_id": pa.array([a.type_id for a in rows], pa.int64()),
                "category": pa.array([a.category for a in rows], pa.string()),
                "label": pa.array([a.label for a in rows], pa.string()),
            }
        )
    return out
