"""The demo company's truth: one deterministic set of facts every projection starts from.

Tests compare federated answers with this truth, so it must not take the shape of any
vendor. Each projection (Salesforce, HubSpot, NetSuite, SAP, ...) reads it and adds that
system's ids, field names and typical inconsistencies.

The books (orders, invoices, payments, credit memos, credit limits, inventory, price book,
quotas) are truth too, with the CRM-versus-ERP inconsistencies reconciliation must find
injected on purpose and recorded in ``Company.anomalies`` and ``Company.master_conflicts``.

Determinism: everything is drawn from one ``random.Random(seed)`` in a fixed order, and no
step iterates a set or depends on the wall clock (``today`` is an argument), so
``generate_company(seed, scale, today)`` always returns the same company.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import math
import random
import unicodedata
from dataclasses import dataclass, field
from itertools import accumulate

UTC = dt.UTC
CORPORATE_CURRENCY = "USD"
COMPANY_NAME = "Helix Dynamics"
COMPANY_DOMAIN = "helixdynamics.example"
# The acquired subsidiary: a UK software house that still sells through its own HubSpot.
SUBSIDIARY_NAME = "Brightwave Software"
SUBSIDIARY_DOMAIN = "brightwave.example"
SUBSIDIARY_CURRENCIES = ("GBP", "EUR", "USD")

# Which sales organisation knows a customer: "main" (Salesforce), "acquired" (the
# subsidiary's HubSpot), "both", or "service" (a service contract bought through a
# channel partner: only customer service's Dynamics 365 knows the customer).
BUSINESS_UNITS = ("main", "acquired", "both", "service")
_UNIT_CUM = (0.74, 0.89, 0.99, 1.0)  # main 74%, acquired 15%, both 10%, service 1%
# Opportunity business units: which CRM sold the deal.
DEAL_UNITS = ("main", "acquired")
CASE_PRIORITIES = ("Low", "Normal", "High")
CASE_STATUSES = ("active", "resolved", "cancelled")
CASE_ORIGINS = ("Phone", "Email", "Web")
CASE_TYPES = ("Question", "Problem", "Request")

REGIONS = ("AMER", "EMEA", "APAC")
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
OPPORTUNITY_TYPES = ("New", "Renewal", "Upsell")
LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Trade Show",
    "Employee Referral",
    "Other",
)
# Salesforce's standard Industry picklist (a subset, same spelling).
INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
THREAT_LEVELS = ("Low", "Medium", "High")
COMPETITORS = (
    "Globex",
    "Initech",
    "Umbrella Analytics",
    "Hooli",
    "Vandelay Industries",
    "Soylent Data",
    "Cyberdyne Cloud",
    "Wonka Systems",
)


@dataclass(frozen=True, slots=True)
class Stage:
    """One sales stage with its defaults (Salesforce's OpportunityStage semantics)."""

    name: str
    probability: int  # percent 0-100
    forecast_category: str  # label: Pipeline, Best Case, Commit, Closed, Omitted
    is_closed: bool
    is_won: bool
    sort_order: int


STAGES: tuple[Stage, ...] = (
    Stage("Prospecting", 10, "Pipeline", False, False, 1),
    Stage("Qualification", 20, "Pipeline", False, False, 2),
    Stage("Needs Analysis", 30, "Pipeline", False, False, 3),
    Stage("Value Proposition", 50, "Pipeline", False, False, 4),
    Stage("Proposal/Price Quote", 75, "Best Case", False, False, 5),
    Stage("Negotiation/Review", 90, "Commit", False, False, 6),
    Stage("Closed Won", 100, "Closed", True, True, 7),
    Stage("Closed Lost", 0, "Omitted", True, False, 8),
)
STAGE_BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
OPEN_STAGES: tuple[Stage, ...] = STAGES[:6]
WON_STAGE = STAGES[6]
LOST_STAGE = STAGES[7]


# --------------------------------------------------------------------------- truth records
# Records are plain slotted dataclasses, not frozen ones: frozen __init__ costs about 3x
# more and scale 20 builds ~800k records. Treat them as read-only all the same.


@dataclass(slots=True)
class User:
    user_id: str
    first_name: str
    last_name: str
    email: str
    region: str
    title: str
    active: bool
    created_at: dt.datetime
    manager_id: str | None
    # "main" sales org, "acquired" subsidiary sales, or "service" (customer service agents)
    business_unit: str = "main"
    # The same person's address in the other unit: a main-org rep who kept a seat (and the
    # old e-mail address) in the subsidiary's HubSpot.
    alt_email: str | None = None


@dataclass(slots=True)
class Customer:
    customer_id: str
    name: str
    legal_name: str
    domain: str
    industry: str | None
    segment: str
    region: str
    country: str  # English short name, e.g. "United States"
    country_code: str  # ISO 3166-1 alpha-2
    state: str | None
    city: str
    street: str
    postal_code: str
    phone: str | None
    annual_revenue: float | None  # USD
    employees: int | None
    currency: str  # the customer's usual document currency
    owner_id: str  # the main sales org's territory owner (a user in Company.users)
    created_at: dt.datetime
    business_unit: str = "main"  # one of BUSINESS_UNITS
    acquired_owner_id: str | None = None  # the subsidiary's owner: acquired/both customers
    # Bought support (a won deal with a Support product) or a service-only customer.
    service_contract: bool = False


@dataclass(slots=True)
class Contact:
    contact_id: str
    customer_id: str
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    title: str | None
    country: str
    created_at: dt.datetime
    # Which sales CRM knows the person: "main", "acquired", "both" (only for customers of
    # both units) or "service" (contacts of service-only customers).
    business_unit: str = "main"


@dataclass(slots=True)
class Product:
    product_id: str
    sku: str
    name: str
    family: str
    list_price: float  # USD
    active: bool
    description: str | None
    created_at: dt.datetime


@dataclass(slots=True)
class Currency:
    code: str
    name: str
    decimal_places: int


@dataclass(slots=True)
class FxRate:
    """Monthly rate: 1 unit of ``currency`` = ``rate_to_usd`` USD from ``effective_from``
    (inclusive) to ``effective_to`` (exclusive; None for the current rate)."""

    currency: str
    effective_from: dt.date
    effective_to: dt.date | None
    rate_to_usd: float


@dataclass(slots=True)
class LineItem:
    line_id: str
    product_id: str
    quantity: float
    list_price: float  # document currency (price book price)
    unit_price: float  # document currency (sales price)
    discount: float  # percent 0-100; 0 means none
    total_price: float  # quantity * unit_price * (1 - discount/100), rounded to the currency
    service_date: dt.date | None


@dataclass(slots=True)
class StageChange:
    """One row of stage history: the deal's state as of ``changed_at``."""

    stage: str
    amount: float | None
    probability: int
    close_date: dt.date
    changed_at: dt.datetime


@dataclass(slots=True)
class CompetitorMention:
    competitor: str
    threat_level: str
    notes: str | None


@dataclass(slots=True)
class Opportunity:
    opportunity_id: str
    customer_id: str
    owner_id: str
    name: str
    type: str | None
    lead_source: str | None
    stage: str
    amount: float | None  # document currency; sum of line totals when lines exist
    currency: str
    close_date: dt.date
    created_at: dt.datetime
    last_modified_at: dt.datetime
    probability: int
    forecast_category: str
    is_closed: bool
    is_won: bool
    line_items: tuple[LineItem, ...]
    history: tuple[StageChange, ...]  # ordered by changed_at; the last equals the current state
    competitors: tuple[CompetitorMention, ...]
    business_unit: str = "main"  # which CRM sold it: "main" (Salesforce), "acquired" (HubSpot)


@dataclass(slots=True)
class SupportCase:
    """One customer-service case (Dynamics 365 holds them all)."""

    case_id: str
    customer_id: str
    contact_id: str | None
    owner_id: str  # a service agent (Company.agents)
    subject: str
    description: str | None
    priority: str  # CASE_PRIORITIES
    status: str  # CASE_STATUSES
    origin: str  # CASE_ORIGINS
    case_type: str  # CASE_TYPES
    created_at: dt.datetime
    resolved_at: dt.datetime | None  # resolved or cancelled cases only
    last_modified_at: dt.datetime


# --------------------------------------------------------------------------- ERP truth
# The books: legal entities, sales orders, invoices, payments, credit memos, inventory,
# credit limits, the price book and quotas. Each order lives in exactly one ERP; the
# inconsistencies reconciliation must find are injected on purpose and recorded as facts.


@dataclass(frozen=True, slots=True)
class LegalEntity:
    """A subsidiary with its own books: ``system`` is the ERP that keeps them."""

    entity_id: str
    name: str
    country_code: str
    currency: str  # base (functional) currency
    system: str


@dataclass(slots=True)
class DocLine:
    """One line of an order, invoice or credit memo (document currency)."""

    line_no: int
    product_id: str
    quantity: float
    rate: float  # net unit price: amount / quantity, 4 decimals
    amount: float  # rounded to the currency


@dataclass(slots=True)
class SalesOrder:
    order_id: str
    entity_id: str
    system: str  # netsuite, sap, quickbooks, oracle or legacy_erp (before the go-live)
    customer_id: str  # the customer it is booked to (another one for CUSTOMER_MISMATCH)
    opportunity_id: str | None  # the deal it came from; None for direct/web/renewal orders
    order_date: dt.date
    created_at: dt.datetime
    last_modified_at: dt.datetime
    currency: str
    amount: float  # net, sum of the lines
    lines: tuple[DocLine, ...]
    # pending_approval, open, partially_billed, billed, cancelled
    status: str
    customer_po: str | None  # the customer's purchase-order number, when they sent one
    anomaly: str | None = None  # the check this order was made to fail, if any


@dataclass(slots=True)
class BillingDocument:
    """An invoice or a credit memo; amounts are positive in both."""

    doc_id: str
    kind: str  # "invoice" or "credit_memo"
    order_id: str
    invoice_id: str | None  # credit memos: the invoice they credit
    entity_id: str
    system: str
    customer_id: str
    doc_date: dt.date
    due_date: dt.date
    created_at: dt.datetime
    currency: str
    amount: float
    lines: tuple[DocLine, ...]
    status: str  # invoices: open, paid; credit memos: open, applied
    amount_paid: float = 0.0  # invoices: paid so far; credit memos: applied so far
    cash_sale: bool = False  # QuickBooks SalesReceipt: paid at the till


@dataclass(slots=True)
class Payment:
    payment_id: str
    invoice_id: str
    entity_id: str
    system: str
    customer_id: str
    payment_date: dt.date
    created_at: dt.datetime
    currency: str
    amount: float


@dataclass(slots=True)
class ErpAccount:
    """What the ERP owns about a customer: which books, currency and credit limit."""

    customer_id: str
    entity_id: str
    currency: str  # the ERP's customer currency (may conflict with the CRM's)
    credit_limit: float  # entity currency
    legacy_credit_limit: float | None  # in the old ERP, for customers it knew


@dataclass(slots=True)
class MasterConflict:
    """A customer field on which an ERP disagrees with the truth the CRMs hold."""

    customer_id: str
    system: str
    field: str  # name, email, phone, currency, credit_limit
    truth_value: str
    system_value: str


@dataclass(slots=True)
class ErpAnomaly:
    """One deliberately injected reconciliation exception."""

    check: str
    opportunity_id: str | None
    order_id: str | None
    customer_id: str | None
    detail: str


@dataclass(slots=True)
class InventoryBalance:
    entity_id: str
    product_id: str
    quantity_on_hand: float


@dataclass(slots=True)
class PriceBookEntry:
    """The spreadsheet price book: list price per product and currency."""

    product_id: str
    currency: str
    list_price: float
    valid_from: dt.date


@dataclass(slots=True)
class ItemPrice:
    """The price in an ERP's item master (entity currency); a few disagree with the book."""

    entity_id: str
    product_id: str
    currency: str
    price: float


@dataclass(slots=True)
class Quota:
    user_id: str
    fiscal_year: int
    fiscal_quarter: int
    amount: float
    currency: str


@dataclass
class Company:
    """The whole truth. Plain lists so projections and tests can iterate in a stable order."""

    seed: int
    scale: float
    today: dt.date
    users: list[User]
    customers: list[Customer]
    contacts: list[Contact]
    products: list[Product]
    currencies: list[Currency]
    fx_rates: list[FxRate]
    opportunities: list[Opportunity]
    # The acquired subsidiary's own sales people (main users with ``alt_email`` also sell
    # there), customer-service agents, and support cases.
    subsidiary_users: list[User] = field(default_factory=list)
    agents: list[User] = field(default_factory=list)
    cases: list[SupportCase] = field(default_factory=list)
    # The books (see "ERP truth" above). ``erp_go_live``: orders before it are in the
    # legacy ERP; ``anomalies``: the injected reconciliation exceptions.
    legal_entities: list[LegalEntity] = field(default_factory=list)
    customer_entity: dict[str, str] = field(default_factory=dict)  # customer -> entity
    erp_go_live: dt.date | None = None
    erp_accounts: list[ErpAccount] = field(default_factory=list)
    orders: list[SalesOrder] = field(default_factory=list)
    invoices: list[BillingDocument] = field(default_factory=list)
    credit_memos: list[BillingDocument] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    inventory: list[InventoryBalance] = field(default_factory=list)
    price_book: list[PriceBookEntry] = field(default_factory=list)
    item_prices: list[ItemPrice] = field(default_factory=list)
    quotas: list[Quota] = field(default_factory=list)
    master_conflicts: list[MasterConflict] = field(default_factory=list)
    anomalies: list[ErpAnomaly] = field(default_factory=list)
    corporate_currency: str = CORPORATE_CURRENCY
    name: str = COMPANY_NAME
    _fx_index: dict[str, tuple[list[dt.date], list[float]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def subsidiary_owners(self) -> list[User]:
        """Everyone who owns records in the subsidiary's CRM: its own people, then the
        main-org reps who kept a seat there (``alt_email``)."""
        return self.subsidiary_users + [u for u in self.users if u.alt_email]

    @property
    def now(self) -> dt.datetime:
        """Midnight UTC at the start of ``today``: every generated timestamp is before it."""
        return dt.datetime.combine(self.today, dt.time(), tzinfo=UTC)

    def rate_to_usd(self, currency: str, on: dt.date) -> float:
        """USD per unit of ``currency`` on ``on`` (the earliest rate applies before the first)."""
        if currency == CORPORATE_CURRENCY:
            return 1.0
        if not self._fx_index:
            for r in self.fx_rates:
                starts, rates = self._fx_index.setdefault(r.currency, ([], []))
                starts.append(r.effective_from)
                rates.append(r.rate_to_usd)
        starts, rates = self._fx_index[currency]
        i = bisect.bisect_right(starts, on) - 1
        return rates[max(i, 0)]

    def to_usd(self, amount: float | None, currency: str, on: dt.date) -> float | None:
        if amount is None:
            return None
        return round(amount * self.rate_to_usd(currency, on), 2)


# --------------------------------------------------------------------------- reference data

CURRENCIES: tuple[Currency, ...] = (
    Currency("USD", "U.S. Dollar", 2),
    Currency("EUR", "Euro", 2),
    Currency("GBP", "British Pound", 2),
    Currency("CAD", "Canadian Dollar", 2),
    Currency("JPY", "Japanese Yen", 0),
    Currency("AUD", "Australian Dollar", 2),
)
DECIMALS = {c.code: c.decimal_places for c in CURRENCIES}
# Starting USD-per-unit rates; monthly random walk from here. Also the price book's rates.
BASE_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.74, "JPY": 0.0068, "AUD": 0.66}


@dataclass(frozen=True, slots=True)
class _Country:
    name: str
    code: str
    region: str
    currency: str
    weight: int
    phone_prefix: str
    tld: str
    suffixes: tuple[str, ...]
    # (state or None, city, postal pattern: '#' digit, '?' upper-case letter)
    places: tuple[tuple[str | None, str, str], ...]
    street_style: str  # "en", "de", "fr", "jp"


COUNTRIES: tuple[_Country, ...] = (
    _Country(
        "United States", "US", "AMER", "USD", 45, "+1", "com",
        ("Inc.", ", Inc.", "LLC", "Corporation", "Corp."),
        (
            ("CA", "San Francisco", "941##"), ("NY", "New York", "100##"),
            ("TX", "Austin", "787##"), ("IL", "Chicago", "606##"), ("MA", "Boston", "021##"),
            ("WA", "Seattle", "981##"), ("GA", "Atlanta", "303##"), ("CO", "Denver", "802##"),
            ("CA", "San Diego", "921##"), ("NC", "Charlotte", "282##"),
        ),
        "en",
    ),
    _Country(
        "Canada", "CA", "AMER", "CAD", 6, "+1", "ca", ("Inc.", "Ltd.", "Corp."),
        (("ON", "Toronto", "M5V #?#"), ("BC", "Vancouver", "V6B #?#"),
         ("QC", "Montréal", "H2Y #?#")),
        "en",
    ),
    _Country(
        "Brazil", "BR", "AMER", "USD", 1, "+55", "com.br", ("Ltda.", "S.A."),
        (("SP", "São Paulo", "01###-###"), ("RJ", "Rio de Janeiro", "20###-###")),
        "en",
    ),
    _Country(
        "Mexico", "MX", "AMER", "USD", 1, "+52", "com.mx", ("S.A. de C.V.",),
        (("CDMX", "Ciudad de México", "06###"), ("NL", "Monterrey", "64###")),
        "en",
    ),
    _Country(
        "United Kingdom", "GB", "EMEA", "GBP", 10, "+44", "co.uk", ("Ltd", "Limited", "PLC"),
        ((None, "London", "EC#A #??"), (None, "Manchester", "M# #??"),
         (None, "Edinburgh", "EH# #??")),
        "en",
    ),
    _Country(
        "Ireland", "IE", "EMEA", "EUR", 1, "+353", "ie", ("Ltd", "DAC"),
        ((None, "Dublin", "D0# ?###"), (None, "Cork", "T12 ?###")),
        "en",
    ),
    _Country(
        "Germany", "DE", "EMEA", "EUR", 9, "+49", "de", ("GmbH", "AG", "SE"),
        ((None, "Berlin", "10###"), (None, "München", "80###"), (None, "Hamburg", "20###"),
         (None, "Köln", "50###")),
        "de",
    ),
    _Country(
        "France", "FR", "EMEA", "EUR", 6, "+33", "fr", ("S.A.", "SAS", "SARL"),
        ((None, "Paris", "750##"), (None, "Lyon", "6900#"), (None, "Marseille", "130##")),
        "fr",
    ),
    _Country(
        "Netherlands", "NL", "EMEA", "EUR", 3, "+31", "nl", ("B.V.", "N.V."),
        ((None, "Amsterdam", "10## ??"), (None, "Rotterdam", "30## ??")),
        "de",
    ),
    _Country(
        "Spain", "ES", "EMEA", "EUR", 2, "+34", "es", ("S.L.", "S.A."),
        ((None, "Madrid", "280##"), (None, "Barcelona", "080##")),
        "fr",
    ),
    _Country(
        "Switzerland", "CH", "EMEA", "EUR", 2, "+41", "ch", ("AG", "SA", "GmbH"),
        ((None, "Zürich", "80##"), (None, "Genève", "12##")),
        "de",
    ),
    _Country(
        "Sweden", "SE", "EMEA", "EUR", 1, "+46", "se", ("AB",),
        ((None, "Stockholm", "1## ##"), (None, "Göteborg", "4## ##")),
        "de",
    ),
    _Country(
        "Japan", "JP", "APAC", "JPY", 5, "+81", "co.jp", ("K.K.", "Co., Ltd."),
        ((None, "Tokyo", "1##-####"), (None, "Osaka", "5##-####")),
        "jp",
    ),
    _Country(
        "Australia", "AU", "APAC", "AUD", 4, "+61", "com.au", ("Pty Ltd", "Ltd"),
        (("NSW", "Sydney", "2###"), ("VIC", "Melbourne", "3###"), ("QLD", "Brisbane", "4###")),
        "en",
    ),
    _Country(
        "Singapore", "SG", "APAC", "USD", 2, "+65", "com.sg", ("Pte. Ltd.",),
        ((None, "Singapore", "0#####"),),
        "en",
    ),
    _Country(
        "India", "IN", "APAC", "USD", 2, "+91", "in", ("Pvt. Ltd.", "Ltd."),
        (("KA", "Bengaluru", "560###"), ("MH", "Mumbai", "400###")),
        "en",
    ),
)
COUNTRY_BY_CODE = {c.code: c for c in COUNTRIES}

_STEMS = (
    "Acme", "Apex", "Blue", "Bright", "Cedar", "Crest", "Delta", "Echo", "Evergreen", "Falcon",
    "Fusion", "Granite", "Harbor", "Helios", "Horizon", "Iron", "Juniper", "Keystone", "Lumen",
    "Maple", "Meridian", "Nimbus", "Nova", "Oak", "Orion", "Pacific", "Peak", "Pioneer", "Polar",
    "Quantum", "Radiant", "Redwood", "Sierra", "Silver", "Summit", "Terra", "Titan", "Vertex",
    "Vista", "Zenith", "Northwind", "Contoso", "Fabrikam", "Stratus", "Cobalt", "Aurora",
    "Beacon", "Cascade", "Atlas", "Everest", "Alpine", "Coral", "Ember", "Lakeside",
)
_NOUNS = (
    "Analytics", "Systems", "Logistics", "Health", "Foods", "Energy", "Robotics", "Capital",
    "Media", "Labs", "Networks", "Software", "Manufacturing", "Retail", "Pharma", "Motors",
    "Textiles", "Financial", "Telecom", "Airlines", "Hotels", "Construction", "Biotech",
    "Insurance", "Consulting", "Semiconductors", "Solar", "Shipping", "Apparel", "Dynamics",
)
_QUALIFIERS = ("Group", "Holdings", "International", "Partners", "Worldwide", "Global")
_STREETS = (
    "Main", "Market", "Oak", "Pine", "Maple", "Cedar", "Elm", "Lake", "Hill", "Park", "River",
    "Harbor", "Mission", "King", "Queen", "Station", "Mill", "Bridge", "Church", "High",
)
_STREET_KINDS = ("Street", "Avenue", "Road", "Boulevard", "Way", "Drive")
_DE_STREETS = ("Haupt", "Bahnhof", "Schiller", "Goethe", "Linden", "Berg", "Garten", "Kirch")
_FR_STREETS = ("la Paix", "Rivoli", "la République", "Victor Hugo", "la Gare", "l'Église")
_JP_STREETS = ("Marunouchi", "Shibuya", "Umeda", "Roppongi", "Shinjuku", "Namba")

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "Wei", "Priya", "Mohammed", "Sofia", "Lukas", "Emma",
    "Hiroshi", "Yuki", "Olivia", "Liam", "Noah", "Ava", "Chen", "Fatima", "Carlos", "Ana",
    "Jean", "Amélie", "Björn", "Søren", "Zoë", "José", "François", "Łukasz", "Chloé", "Matteo",
    "Giulia", "Aarav", "Ananya", "Kenji", "Sakura", "Oliver", "Charlotte", "Jack", "Isla",
    "Ethan", "Grace", "Daniel", "Sarah", "Michael", "Laura", "David", "Nina", "Tom", "Elena",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Müller", "Schmidt", "Schneider", "Fischer", "Dubois", "Lefèvre", "Martin",
    "Bernard", "Rossi", "Russo", "Tanaka", "Suzuki", "Sato", "Watanabe", "Kumar", "Sharma",
    "Patel", "Singh", "Wang", "Li", "Zhang", "O'Brien", "O'Neil", "D'Souza", "McDonald",
    "MacLeod", "Nguyen", "Kowalski", "Nowak", "Andersson", "Johansson", "Núñez", "Silva",
    "Santos", "Taylor", "Wilson", "Anderson", "Thomas", "Moore", "de la Cruz", "van der Berg",
)
_CONTACT_TITLES = (
    "CEO", "CFO", "CTO", "CIO", "VP Sales", "VP Finance", "VP Engineering", "Director of IT",
    "Head of Procurement", "Procurement Manager", "IT Manager", "Operations Manager",
    "Data Analyst", "Controller", "Software Engineer", "Office Manager", "COO",
)
_AE_TITLES = (
    "Account Executive", "Senior Account Executive", "Enterprise Account Executive",
    "Sales Development Representative", "Account Manager",
)

# Hand-made customers that every scale includes: they carry the awkward values that
# quoting, escaping, LIKE and collation tests need.
# (name, legal name, domain, country code, segment)
SPECIAL_CUSTOMERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("O'Brien & Sons", "O'Brien & Sons Ltd", "obrienandsons.ie", "IE", "Mid-Market"),
    ("L'Étoile Cosmétiques", "L'Étoile Cosmétiques S.A.", "letoile-cosmetiques.fr", "FR",
     "Enterprise"),
    ("Müller Maschinenbau", "Müller Maschinenbau GmbH", "mueller-maschinenbau.de", "DE",
     "Enterprise"),
    ("Société Lyonnaise de Logistique", "Société Lyonnaise de Logistique SAS", "sll-logistique.fr",
     "FR", "Mid-Market"),
    ("東京 Trading", "東京 Trading K.K.", "tokyo-trading.co.jp", "JP", "Enterprise"),
    ("Back\\Slash Data", "Back\\Slash Data, Inc.", "backslashdata.com", "US", "SMB"),
    ("iNNOVATE labs", "iNNOVATE Labs LLC", "innovatelabs.com", "US", "SMB"),
    ("  Padded Name Corp ", "Padded Name Corporation", "paddedname.com", "US", "SMB"),
    ("100% Natural_Foods", "100% Natural_Foods LLC", "natural-foods.com", "US", "Mid-Market"),
    ('The "Quoted" Company', 'The "Quoted" Company Ltd', "quoted.co.uk", "GB", "SMB"),
)
# (first, last) contacts attached to the special customers, in order.
SPECIAL_CONTACTS: tuple[tuple[str | None, str], ...] = (
    ("Seán", "O'Brien"),
    ("Zoë", "D'Angelo"),
    ("Jürgen", "Müller"),
    ("François", "Lefèvre"),
    ("太郎", "田中"),
    ("Back", "Slash\\Smith"),
    ("mcKENZIE", "o'reilly"),
    ("  Anna", "Lee  "),
    (None, "Nofirstname"),
    ("Mary-Kate", "O'Connor-Núñez"),
)

_FAMILIES: tuple[tuple[str, str, tuple[str, ...], float, float], ...] = (
    ("Platform", "PLT", ("Helix Core", "Helix Cloud", "Helix Edge", "Data Hub"), 1000, 25000),
    ("Analytics", "ANL", ("Insight", "Forecast AI", "Dashboards", "Data Studio"), 300, 9000),
    ("Integration", "INT", ("Connect", "API Gateway", "Sync Engine"), 500, 8000),
    ("Services", "SVC", ("Implementation", "Training", "Consulting Day", "Health Check"), 150,
     2500),
    ("Support", "SUP", ("Premier Support", "Standard Support", "24/7 Support"), 500, 12000),
    ("Hardware", "HW", ("Edge Appliance", "Sensor Kit", "Gateway Box"), 200, 5000),
)
PRODUCT_FAMILIES = tuple(f[0] for f in _FAMILIES)
_EDITIONS = ("Starter", "Professional", "Enterprise", "Unlimited")
_TERMS = ("Annual", "Monthly", "3-Year")
SPECIAL_PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ('Rack Mount 19" Kit', "Hardware", 349.5),
    ("Support — 100% Uptime SLA", "Support", 12000.0),
)


# --------------------------------------------------------------------------- helpers


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only; used for emails and domains."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_FOLDED: dict[str, str] = {}


def _fold_name(text: str) -> str:
    """``ascii_fold`` memoised: person names repeat, and contacts fold ~120k at scale 20."""
    out = _FOLDED.get(text)
    if out is None:
        out = _FOLDED[text] = ascii_fold(text)
    return out


def _pattern(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(str(rng.randrange(10)))
        elif ch == "?":
            out.append(chr(65 + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


def _street(rng: random.Random, style: str) -> str:
    if style == "de":
        return f"{rng.choice(_DE_STREETS)}straße {rng.randint(1, 180)}"
    if style == "fr":
        return f"{rng.randint(1, 120)} rue de {rng.choice(_FR_STREETS)}"
    if style == "jp":
        block = f"{rng.randint(1, 9)}-{rng.randint(1, 20)}-{rng.randint(1, 30)}"
        return f"{block} {rng.choice(_JP_STREETS)}"
    street = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
    if rng.random() < 0.05:
        street += f"\nSuite {rng.randint(1, 40) * 100}"  # multi-line street, as Salesforce allows
    return street


def _phone(rng: random.Random, country: _Country) -> str:
    rand = rng.random
    if country.code in ("US", "CA"):
        return f"+1 {201 + int(rand() * 789)} 555 {int(rand() * 10000):04d}"
    a, b, c = 10 + int(rand() * 90), 1000 + int(rand() * 9000), 1000 + int(rand() * 9000)
    return f"{country.phone_prefix} {a} {b} {c}"


def _at(day: dt.date, ms_of_day: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC) + dt.timedelta(milliseconds=ms_of_day)


def _round(amount: float, currency: str) -> float:
    return round(amount, DECIMALS[currency]) + 0.0  # + 0.0 turns -0.0 into 0.0


_DAY_MS = 86_400_000


def _scaled(base: float, scale: float, minimum: int) -> int:
    return max(minimum, round(base * scale))


def _cum(weights: tuple[float, ...]) -> list[float]:
    """Normalised cumulative weights: ``seq[bisect(cum, rng.random())]`` is a weighted pick.

    Cheaper than ``rng.choices`` in hot loops (one ``random()`` call, no list building)."""
    total = float(sum(weights))
    cum = [w / total for w in accumulate(weights)]
    cum[-1] = 1.0
    return cum


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORD = dt.date(1970, 1, 1).toordinal()
_HOUR_MS = 3_600_000
_ONE_MS = dt.timedelta(milliseconds=1)


def _ms(ms: int) -> dt.datetime:
    """Epoch milliseconds to an aware UTC datetime (exact: float error is far below 1 µs)."""
    return _fromtimestamp(ms / 1000, UTC)


_fromtimestamp = dt.datetime.fromtimestamp


# --------------------------------------------------------------------------- generation


def generate_company(seed: int = 42, scale: float = 1.0, today: dt.date | None = None) -> Company:
    """Build the demo company's truth; same (seed, scale, today) gives the same company.

    Sizes at scale 1: ~40 users (grows with sqrt(scale)), 1,000 customers, ~3,000 contacts,
    60 products, 5,000 opportunities with ~2 line items each. Closed deals close within the
    last two years; open deals mostly close within the next year, a few are overdue.
    Business units: ~74% of customers buy from the main org only, ~15% from the acquired
    subsidiary only, ~10% from both, ~1% only hold a service contract; ~18% of deals are
    sold by the subsidiary. Plus ~8 subsidiary sales people, ~15 service agents (both grow
    with sqrt(scale)) and 2,500 support cases.

    The books (``_gen_books``, own RNG stream): ~1,330 sales orders in five ERPs (NetSuite
    ~590, SAP ~375, QuickBooks ~190, legacy ~100, Oracle ~75), ~1,390 invoices, ~40 credit
    memos, ~1,200 payments, ~690 ERP customer accounts, quotas, the price book, inventory,
    and the injected reconciliation exceptions (``Company.anomalies``).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    today = today or dt.date.today()
    rng = random.Random(seed)
    now = dt.datetime.combine(today, dt.time(), tzinfo=UTC)

    # Millions of small acyclic objects: the cyclic GC would rescan them over and over
    # (about a third of the run time at scale 20) and can find nothing to free.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        users = _gen_users(rng, scale, now)
        customers = _gen_customers(rng, scale, now, users)
        # Business units draw from their own stream, so the older facts above keep their
        # values whatever the unit rules become.
        unit_rng = random.Random(f"units:{seed}")
        subsidiary_users = _gen_subsidiary_users(unit_rng, scale, now, users)
        agents = _gen_agents(unit_rng, scale, now, users)
        _assign_business_units(unit_rng, customers, subsidiary_users + users)
        contacts = _gen_contacts(rng, customers, now)
        _assign_contact_units(unit_rng, customers, contacts)
        products = _gen_products(rng, scale, now)
        fx_rates = _gen_fx(rng, today)
        opportunities = _gen_opportunities(
            rng, scale, today, customers, users, products, subsidiary_users
        )
        _mark_service_contracts(customers, opportunities, products)
        cases = _gen_cases(unit_rng, scale, now, customers, contacts, agents, products)
        company = Company(
            seed=seed,
            scale=scale,
            today=today,
            users=users,
            customers=customers,
            contacts=contacts,
            products=products,
            currencies=list(CURRENCIES),
            fx_rates=fx_rates,
            opportunities=opportunities,
            subsidiary_users=subsidiary_users,
            agents=agents,
            cases=cases,
        )
        # The books draw from their own stream, so every fact above keeps its value.
        _gen_books(random.Random(f"erp:{seed}"), company)
    finally:
        if gc_was_enabled:
            gc.enable()
    return company


_REGION_CYCLE = ("AMER", "EMEA", "AMER", "APAC", "AMER", "EMEA", "AMER", "EMEA", "AMER", "APAC")


def _gen_users(rng: random.Random, scale: float, now: dt.datetime) -> list[User]:
    n = max(6, round(40 * math.sqrt(scale)))
    users: list[User] = []
    managers: dict[str, str] = {}
    emails: set[str] = set()
    for i in range(n):
        region = _REGION_CYCLE[i % len(_REGION_CYCLE)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{ascii_fold(first)}.{ascii_fold(last)}"
        email, k = f"{local}@{COMPANY_DOMAIN}", 1
        while email in emails:
            k += 1
            email = f"{local}{k}@{COMPANY_DOMAIN}"
        emails.add(email)
        user_id = f"USR-{i + 1:04d}"
        is_manager = region not in managers
        if is_manager:
            managers[region] = user_id
            title = f"Regional Vice President, {region}"
        else:
            title = rng.choice(_AE_TITLES)
        active = is_manager or rng.random() >= 0.12
        created = now - dt.timedelta(
            days=rng.randint(800, 1500), milliseconds=rng.randrange(_DAY_MS)
        )
        users.append(
            User(
                user_id=user_id,
                first_name=first,
                last_name=last,
                email=email,
                region=region,
                title=title,
                active=active,
                created_at=created,
                manager_id=None if is_manager else managers[region],
            )
        )
    return users


_SUB_REGIONS = ("EMEA", "EMEA", "AMER", "EMEA", "APAC", "EMEA", "AMER", "EMEA")
_SUB_TITLES = ("Account Executive", "Senior Account Executive", "Business Development Manager",
               "Sales Manager")
_AGENT_TITLES = ("Customer Service Representative", "Senior Support Engineer",
                 "Support Engineer", "Customer Success Manager", "Technical Account Manager")


def _people(
    rng: random.Random,
    n: int,
    now: dt.datetime,
    prefix: str,
    domain: str,
    regions: tuple[str, ...],
    titles: tuple[str, ...],
    lead_title: str,
    unit: str,
    emails: set[str],
) -> list[User]:
    """A team of ``n`` people; the first is its manager (always active)."""
    out: list[User] = []
    for i in range(n):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{ascii_fold(first)}.{ascii_fold(last)}"
        email, k = f"{local}@{domain}", 1
        while email in emails:
            k += 1
            email = f"{local}{k}@{domain}"
        emails.add(email)
        created = now - dt.timedelta(
            days=rng.randint(200, 1400), milliseconds=rng.randrange(_DAY_MS)
        )
        out.append(
            User(
                user_id=f"{prefix}-{i + 1:04d}",
                first_name=first,
                last_name=last,
                email=email,
                region=regions[i % len(regions)],
                title=lead_title if i == 0 else rng.choice(titles),
                active=i == 0 or rng.random() >= 0.15,
                created_at=created,
                manager_id=None if i == 0 else f"{prefix}-0001",
                business_unit=unit,
            )
        )
    return out


def _gen_subsidiary_users(
    rng: random.Random, scale: float, now: dt.datetime, users: list[User]
) -> list[User]:
    """The subsidiary's sales team, plus a few main-org reps who kept a HubSpot seat."""
    n = max(3, round(8 * math.sqrt(scale)))
    emails = {u.email for u in users}
    team = _people(rng, n, now, "SUB", SUBSIDIARY_DOMAIN, _SUB_REGIONS, _SUB_TITLES,
                   "Head of Sales", "acquired", emails)
    # Same person, two addresses: main users who sold for the subsidiary after the deal.
    candidates = [u for u in users if u.active and u.manager_id is not None]
    for u in rng.sample(candidates, min(len(candidates), max(1, round(2 * math.sqrt(scale))))):
        local = u.email.split("@", 1)[0]
        u.alt_email = f"{local}@{SUBSIDIARY_DOMAIN}"
    return team


def _gen_agents(
    rng: random.Random, scale: float, now: dt.datetime, users: list[User]
) -> list[User]:
    n = max(4, round(15 * math.sqrt(scale)))
    emails = {u.email for u in users}
    return _people(rng, n, now, "AGT", COMPANY_DOMAIN, REGIONS, _AGENT_TITLES,
                   "Head of Customer Service", "service", emails)


# Special customers' units (by position in SPECIAL_CUSTOMERS): none is acquired-only, so
# Salesforce still shows every awkward name; four also live in HubSpot.
_SPECIAL_UNITS = ("both", "main", "both", "main", "main", "main", "both", "main", "main", "both")


def _assign_business_units(
    rng: random.Random, customers: list[Customer], all_users: list[User]
) -> None:
    """Which sales organisation(s) know each customer, and the subsidiary's owner."""
    special = {name: unit for (name, *_), unit in zip(SPECIAL_CUSTOMERS, _SPECIAL_UNITS,
                                                      strict=True)}
    pool = [u for u in all_users if u.business_unit == "acquired" or u.alt_email]
    rand = rng.random
    for c in customers:
        unit = special.get(c.name)
        if unit is None:
            unit = BUSINESS_UNITS[bisect.bisect(_UNIT_CUM, rand())]
        c.business_unit = unit
        if unit in ("acquired", "both"):
            c.acquired_owner_id = pool[int(rand() * len(pool))].user_id
        if unit == "service":
            c.service_contract = True


def _assign_contact_units(
    rng: random.Random, customers: list[Customer], contacts: list[Contact]
) -> None:
    """For customers of both units, each person is known to one CRM or to both."""
    unit_of = {c.customer_id: c.business_unit for c in customers}
    rand = rng.random
    for ct in contacts:
        unit = unit_of[ct.customer_id]
        if unit == "both":
            r = rand()
            unit = "main" if r < 0.4 else "acquired" if r < 0.65 else "both"
        ct.business_unit = unit


def _mark_service_contracts(
    customers: list[Customer], opportunities: list[Opportunity], products: list[Product]
) -> None:
    """A won deal with a Support product is a service contract."""
    support = {p.product_id for p in products if p.family == "Support"}
    with_contract = {
        o.customer_id
        for o in opportunities
        if o.is_won and any(li.product_id in support for li in o.line_items)
    }
    for c in customers:
        if c.customer_id in with_contract:
            c.service_contract = True


_CASE_SUBJECTS: dict[str, tuple[str, ...]] = {
    "Question": (
        "How do I export dashboards to PDF?",
        "Question about invoice {n}",
        "SSO configuration question",
        "API rate limits for {p}",
        "Where can I find the release notes?",
        "Can we add more users to {p}?",
    ),
    "Problem": (
        "{p} fails with a timeout",
        "Login error after the upgrade",
        "Dashboard shows wrong totals",
        "{p} offline since this morning",
        "Data import stuck at 99%",
        "Sync errors: \"duplicate key\" in nightly job",
        "Erreur de connexion à {p}",
    ),
    "Request": (
        "Please add {k} user licences",
        "Update our billing contact",
        "Request for a sandbox environment",
        "Feature request: custom fields in reports",
        "Renewal quote for {p}",
        "Training session for the new team",
    ),
}
_CASE_DETAILS = (
    "Customer called about this; ticket {n} in their system.",
    "Reported by the customer's IT team.\nSteps to reproduce attached.",
    "Urgent: affects month-end close.",
    "They're asking whether this is covered by the SLA.",
    "Kunde bittet um Rückruf.",
)


def _gen_cases(
    rng: random.Random,
    scale: float,
    now: dt.datetime,
    customers: list[Customer],
    contacts: list[Contact],
    agents: list[User],
    products: list[Product],
) -> list[SupportCase]:
    """Support cases for customers with a won deal or a service contract, any unit."""
    n = _scaled(2500, scale, 30)
    rand = rng.random
    seg_weight = {"SMB": 0.6, "Mid-Market": 1.3, "Enterprise": 3.0}
    served = [c for c in customers if c.service_contract or c.business_unit != "service"]
    # Service-contract holders call far more often than customers who only bought once.
    cum = _cum(tuple(seg_weight[c.segment] * (3.0 if c.service_contract else 1.0)
                     for c in served))
    special_ids = set(_special_customer_ids(customers))
    specials = [c for c in served if c.customer_id in special_ids]
    contacts_of: dict[str, list[Contact]] = {}
    for ct in contacts:
        contacts_of.setdefault(ct.customer_id, []).append(ct)
    active_agents = [a for a in agents if a.active]
    product_names = [p.name for p in products if p.active]
    prio_cum, origin_cum, type_cum = _cum((30, 50, 20)), _cum((30, 45, 25)), _cum((40, 40, 20))
    now_ms = (now - _EPOCH) // _ONE_MS
    drafts = []
    for i in range(n):
        cust = specials[i] if i < len(specials) else served[bisect.bisect(cum, rand())]
        start_ms = (cust.created_at - _EPOCH) // _ONE_MS + 7 * _DAY_MS
        start_ms = min(max(start_ms, now_ms - 900 * _DAY_MS), now_ms - _DAY_MS)
        created_ms = start_ms + int(rand() ** 0.8 * (now_ms - start_ms - _HOUR_MS))
        people = contacts_of.get(cust.customer_id, [])
        contact = None if not people or rand() < 0.08 else people[int(rand() * len(people))]
        case_type = CASE_TYPES[bisect.bisect(type_cum, rand())]
        templates = _CASE_SUBJECTS[case_type]
        subject = templates[int(rand() * len(templates))].format(
            n=f"INV-{10000 + int(rand() * 90000)}",
            p=product_names[int(rand() * len(product_names))],
            k=1 + int(rand() * 20),
        )
        description = (
            None if rand() < 0.12
            else f"{subject}\n\n" + _CASE_DETAILS[int(rand() * len(_CASE_DETAILS))].format(
                n=f"#{int(rand() * 100000)}"
            )
        )
        age_days = (now_ms - created_ms) / _DAY_MS
        r = rand()
        p_active = 0.6 if age_days < 7 else 0.25 if age_days < 30 else 0.03
        status = "active" if r < p_active else "cancelled" if r < p_active + 0.05 else "resolved"
        resolved_ms = None
        if status != "active":
            hours = math.exp(rand() * 6.5)  # 1 hour .. ~28 days, log-uniform
            resolved_ms = min(created_ms + int(hours * _HOUR_MS), now_ms - 1)
        last_ms = resolved_ms or created_ms
        if rand() < 0.3 and now_ms - last_ms > 1:
            last_ms += 1 + int(rand() * min(now_ms - last_ms - 1, 5 * _DAY_MS))
        agent_pool = active_agents if status == "active" else agents
        drafts.append((
            created_ms, cust.customer_id, contact.contact_id if contact else None,
            agent_pool[int(rand() * len(agent_pool))].user_id, subject, description,
            CASE_PRIORITIES[bisect.bisect(prio_cum, rand())], status,
            CASE_ORIGINS[bisect.bisect(origin_cum, rand())], case_type, resolved_ms, last_ms,
        ))
    drafts.sort(key=lambda d: d[0])
    return [
        SupportCase(
            case_id=f"CASE-{i + 1:07d}",
            customer_id=d[1],
            contact_id=d[2],
            owner_id=d[3],
            subject=d[4],
            description=d[5],
            priority=d[6],
            status=d[7],
            origin=d[8],
            case_type=d[9],
            created_at=_ms(d[0]),
            resolved_at=None if d[10] is None else _ms(d[10]),
            last_modified_at=_ms(d[11]),
        )
        for i, d in enumerate(drafts)
    ]


def _gen_customers(
    rng: random.Random, scale: float, now: dt.datetime, users: list[User]
) -> list[Customer]:
    n = _scaled(1000, scale, len(SPECIAL_CUSTOMERS) + 10)
    by_region: dict[str, list[User]] = {r: [u for u in users if u.region == r] for r in REGIONS}
    country_cum = list(accumulate(c.weight for c in COUNTRIES))
    names: set[str] = set()
    domains: set[str] = set()
    drafts: list[tuple] = []
    for i in range(n):
        if i < len(SPECIAL_CUSTOMERS):
            name, legal, domain, code, segment = SPECIAL_CUSTOMERS[i]
            country = COUNTRY_BY_CODE[code]
        else:
            country = rng.choices(COUNTRIES, cum_weights=country_cum)[0]
            name = f"{rng.choice(_STEMS)} {rng.choice(_NOUNS)}"
            while name in names:
                extra = rng.choice(_STEMS + _QUALIFIERS)
                name = (
                    f"{name} {extra}" if extra in _QUALIFIERS else f"{extra} {name}"
                )
            suffix = rng.choice(country.suffixes)
            legal = f"{name}{suffix}" if suffix.startswith(",") else f"{name} {suffix}"
            base = ascii_fold(name)
            domain, k = f"{base}.{country.tld}", 1
            while domain in domains:
                k += 1
                domain = f"{base}{k}.{country.tld}"
            r = rng.random()
            segment = "SMB" if r < 0.5 else "Mid-Market" if r < 0.82 else "Enterprise"
        names.add(name)
        domains.add(domain)
        state, city, postal = rng.choice(country.places)
        lo, hi = {"SMB": (5, 199), "Mid-Market": (200, 1999), "Enterprise": (2000, 120000)}[
            segment
        ]
        employees = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        revenue = round(employees * rng.uniform(80_000, 400_000), -3)
        industry = rng.choice(INDUSTRIES)
        r = rng.random()
        if i >= len(SPECIAL_CUSTOMERS):  # specials keep all fields, so tests see them whole
            if r < 0.05:
                industry = None
            if 0.05 <= r < 0.09:
                revenue = None
            if 0.09 <= r < 0.12:
                employees = None
        phone = None if rng.random() < 0.08 else _phone(rng, country)
        # Older customers are more common: sqrt pushes mass towards 3 years back.
        days_back = 30 + int(1070 * math.sqrt(rng.random()))
        created = now - dt.timedelta(days=days_back, milliseconds=rng.randrange(_DAY_MS))
        owner = rng.choice(by_region[country.region])
        drafts.append(
            (
                created,
                name,
                legal,
                domain,
                industry,
                segment,
                country,
                state,
                city,
                _street(rng, country.street_style),
                _pattern(rng, postal),
                phone,
                revenue,
                employees,
                owner.user_id,
            )
        )
    drafts.sort(key=lambda d: d[0])  # ids follow creation order, as in real systems
    out = []
    for i, d in enumerate(drafts):
        created, name, legal, domain, industry, segment, country = d[:7]
        out.append(
            Customer(
                customer_id=f"CUST-{i + 1:06d}",
                name=name,
                legal_name=legal,
                domain=domain,
                industry=industry,
                segment=segment,
                region=country.region,
                country=country.name,
                country_code=country.code,
                state=d[7],
                city=d[8],
                street=d[9],
                postal_code=d[10],
                phone=d[11],
                annual_revenue=d[12],
                employees=d[13],
                currency=country.currency,
                owner_id=d[14],
                created_at=created,
            )
        )
    return out


def _special_customer_ids(customers: list[Customer]) -> list[str]:
    by_name = {c.name: c.customer_id for c in customers}
    return [by_name[s[0]] for s in SPECIAL_CUSTOMERS]


def _gen_contacts(
    rng: random.Random, customers: list[Customer], now: dt.datetime
) -> list[Contact]:
    counts_cum = _cum((15, 25, 25, 15, 12, 8))
    special_ids = _special_customer_ids(customers)
    special_for = {cid: SPECIAL_CONTACTS[i] for i, cid in enumerate(special_ids)}
    drafts = []
    rand = rng.random
    n_first, n_last, n_title = len(FIRST_NAMES), len(LAST_NAMES), len(_CONTACT_TITLES)
    now_ms = (now - _EPOCH) // _ONE_MS
    for c in customers:
        country = COUNTRY_BY_CODE[c.country_code]
        k = 1 + bisect.bisect(counts_cum, rand())
        start_ms = (c.created_at - _EPOCH) // _ONE_MS
        for j in range(k):
            if j == 0 and c.customer_id in special_for:
                first, last = special_for[c.customer_id]
            else:
                first = FIRST_NAMES[int(rand() * n_first)]
                last = LAST_NAMES[int(rand() * n_last)]
            f, la = _fold_name(first or ""), _fold_name(last)
            local = f"{f}.{la}" if f and la else f or la or "contact"
            email = None if rand() < 0.04 else f"{local}@{c.domain}"
            phone = None if rand() < 0.15 else _phone(rng, country)
            title = None if rand() < 0.06 else _CONTACT_TITLES[int(rand() * n_title)]
            created_ms = start_ms + int(rand() * max(1, now_ms - start_ms))
            drafts.append((created_ms, c.customer_id, first, last, email, phone, title, c.country))
    drafts.sort(key=lambda d: d[0])
    return [
        Contact(
            contact_id=f"CON-{i + 1:07d}",
            customer_id=d[1],
            first_name=d[2],
            last_name=d[3],
            email=d[4],
            phone=d[5],
            title=d[6],
            country=d[7],
            created_at=_ms(d[0]),
        )
        for i, d in enumerate(drafts)
    ]


def _gen_products(rng: random.Random, scale: float, now: dt.datetime) -> list[Product]:
    n = _scaled(60, scale, 12)
    names: set[str] = set()
    out = []
    counters = dict.fromkeys(PRODUCT_FAMILIES, 0)
    fam_by_name = {f[0]: f for f in _FAMILIES}
    for i in range(n):
        if i < len(SPECIAL_PRODUCTS):
            name, family, price = SPECIAL_PRODUCTS[i]
            active = True
        else:
            family, _, bases, lo, hi = _FAMILIES[i % len(_FAMILIES)]
            base = f"{rng.choice(bases)} {rng.choice(_EDITIONS)}"
            if family not in ("Services", "Hardware"):
                base += f" ({rng.choice(_TERMS)})"
            name, k = base, 1
            while name in names:
                k += 1
                name = f"{base} v{k}"
            price = rng.uniform(lo, hi)
            r = rng.random()
            # Price-book habits: x,999.99 endings, round hundreds, or odd cents.
            price = (
                round(price) - 0.01 if r < 0.4 else round(price, -2) if r < 0.7 else round(price, 2)
            )
            active = rng.random() >= 0.1
        names.add(name)
        code = fam_by_name[family][1]
        counters[family] += 1
        desc = None if rng.random() < 0.2 else f"{name}: {family.lower()} by {COMPANY_NAME}."
        created = now - dt.timedelta(
            days=rng.randint(1150, 1300), milliseconds=rng.randrange(_DAY_MS)
        )
        out.append(
            Product(
                product_id=f"PROD-{i + 1:05d}",
                sku=f"{code}-{1000 + counters[family]}",
                name=name,
                family=family,
                list_price=float(price),
                active=active,
                description=desc,
                created_at=created,
            )
        )
    return out


def _gen_fx(rng: random.Random, today: dt.date) -> list[FxRate]:
    start = today - dt.timedelta(days=1130)
    months = []
    y, m = start.year, start.month
    while (y, m) <= (today.year, today.month):
        months.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    out = []
    for cur in CURRENCIES:
        rate = BASE_RATES[cur.code]
        for i, month in enumerate(months):
            if cur.code != CORPORATE_CURRENCY and i:
                rate *= math.exp(rng.gauss(0.0, 0.015))
            end = months[i + 1] if i + 1 < len(months) else None
            out.append(FxRate(cur.code, month, end, 1.0 if cur.code == "USD" else round(rate, 8)))
    return out


def _gen_opportunities(
    rng: random.Random,
    scale: float,
    today: dt.date,
    customers: list[Customer],
    users: list[User],
    products: list[Product],
    subsidiary_users: list[User],
) -> list[Opportunity]:
    # Hot loop (100k iterations at scale 20): integer days/milliseconds and rng.random()
    # only; randrange/choice/datetime arithmetic are several times slower.
    n = _scaled(5000, scale, 40)
    rand = rng.random
    bis = bisect.bisect
    seg_weight = {"SMB": 0.7, "Mid-Market": 1.5, "Enterprise": 3.0}
    buyers = [c for c in customers if c.business_unit != "service"]  # service: no deals
    cust_cum = _cum(tuple(seg_weight[c.segment] for c in buyers))
    picks = [buyers[bis(cust_cum, rand())] for _ in range(n)]
    # Every special customer gets at least one deal, so every scale shows its name.
    cust_by_id = {c.customer_id: c for c in customers}
    for i, cid in enumerate(_special_customer_ids(customers)):
        picks[i] = cust_by_id[cid]

    by_region = {r: [u for u in users if u.region == r] for r in REGIONS}
    active_by_region = {r: [u for u in us if u.active] for r, us in by_region.items()}
    user_by_id = {u.user_id: u for u in users + subsidiary_users}
    sub_pool = subsidiary_users + [u for u in users if u.alt_email]
    sub_active = [u for u in sub_pool if u.active]
    family_by_id = {p.product_id: p.family for p in products}
    active_products = [p for p in products if p.active]
    # Price book: one price per product and currency at the base rate.
    price_book = {
        (p.product_id, cur): _round(p.list_price / BASE_RATES[cur], cur)
        for p in products
        for cur in BASE_RATES
    }
    type_cum = _cum((55, 25, 18, 2))
    types = ("New", "Renewal", "Upsell", None)
    lead_cum = _cum((25, 12, 15, 8, 10, 8, 7, 15))
    leads = (*LEAD_SOURCES, None)
    open_cum = _cum((25, 20, 18, 15, 12, 10))
    nlines_cum = _cum((8, 28, 32, 18, 14))
    discounts = (5.0, 10.0, 12.5, 15.0, 20.0, 25.0, 30.0)
    quantities = (1, 1, 1, 1, 2, 2, 3, 5, 5, 10, 10, 20, 50)
    svc_hours = (4.0, 7.5, 8.0, 16.0, 24.0, 40.0, 80.0)
    qty_mult = {"SMB": 1, "Mid-Market": 2, "Enterprise": 4}
    amount_factors = (0.5, 0.8, 1.0, 1.0, 1.2, 1.5)
    close_shift = (-30, -14, 14, 30, 45, 60, 90)
    cycle = {"SMB": (7, 120), "Mid-Market": (20, 200), "Enterprise": (30, 320)}
    notes = (
        "{c} offered a 20% discount.",
        "Incumbent: {c}.\nRenewal due next quarter.",
        "Price-driven; they're \"cheaper\" on paper.",
        "Évaluation technique en cours.",
    )
    today_o = today.toordinal()
    first_close_o = today_o - 730
    last_past_o = today_o - 1
    now_ms = (today_o - _EPOCH_ORD) * _DAY_MS
    from_ord = dt.date.fromordinal
    cust_day = {c.customer_id: c.created_at.date().toordinal() for c in customers}

    drafts = []
    for i, cust in enumerate(picks):
        cust_o = cust_day[cust.customer_id]
        segment = cust.segment
        # Which CRM sells it: the subsidiary sells to its own customers and to ~40% of
        # the deals with shared ones. Special customers' first deals stay in Salesforce.
        unit = cust.business_unit
        acquired = unit == "acquired" or (unit == "both" and i >= 10 and rand() < 0.4)
        earliest_close = max(first_close_o, cust_o + 14)
        closed = rand() < 0.66 and earliest_close <= last_past_o
        if closed:
            close_o = earliest_close + int(rand() * (last_past_o - earliest_close + 1))
            lo, hi = cycle[segment]
            created_o = max(close_o - lo - int(rand() * (hi - lo + 1)), cust_o + 1)
            final = WON_STAGE if rand() < 0.42 else LOST_STAGE
        else:
            earliest = max(today_o - 365, cust_o + 1)
            created_o = earliest + int(rand() * max(1, last_past_o - earliest + 1))
            if rand() < 0.06:  # overdue: close date passed, deal still open
                close_o = max(last_past_o - int(rand() * 45), created_o)
            else:
                close_o = today_o + 1 + int(364 * rand() ** 1.3)
            final = OPEN_STAGES[bis(open_cum, rand())]
        close = from_ord(close_o)
        created_ms = (created_o - _EPOCH_ORD) * _DAY_MS + 7 * _HOUR_MS + int(rand() * 12 * _HOUR_MS)

        # Document currency and amount (the subsidiary bills in GBP, EUR or USD only).
        currency = cust.currency if rand() < 0.88 else CORPORATE_CURRENCY
        if acquired:
            if currency not in SUBSIDIARY_CURRENCIES:
                currency = CORPORATE_CURRENCY
            if rand() < 0.12:
                currency = "GBP"
        dec = DECIMALS[currency]
        r = rand()
        lines: list[tuple] = []
        if i == 0 or r < 0.03:
            amount = None
        elif i == 1 or r < 0.04:
            amount = 0.0
        elif i == 2 or r < 0.041:  # a handful of very large deals (12M-60M)
            amount = _round(1.2e7 + rand() * 4.8e7, currency)
        else:
            nl = bis(nlines_cum, rand())
            pool = active_products if not final.is_closed or rand() < 0.8 else products
            total = 0.0
            for _ in range(nl):
                p = pool[int(rand() * len(pool))]
                list_price = price_book[(p.product_id, currency)]
                unit = (
                    list_price
                    if rand() < 0.85
                    else _round(list_price * (0.8 + 0.17 * rand()), currency)
                )
                if p.family == "Services":
                    qty = svc_hours[int(rand() * 7)]
                else:
                    qty = float(quantities[int(rand() * 13)] * qty_mult[segment])
                disc = 0.0 if rand() < 0.55 else discounts[int(rand() * 7)]
                line_total = round(qty * unit * (1 - disc / 100), dec) + 0.0
                total += line_total
                svc = None if rand() < 0.4 else from_ord(close_o + int(rand() * 31))
                lines.append((p.product_id, qty, list_price, unit, disc, line_total, svc))
            if lines:
                amount = round(total, dec) + 0.0
            else:
                usd = math.exp(7.6 + rand() * 5.3)  # ~2k .. ~400k USD, log-uniform
                amount = _round(usd / BASE_RATES[currency], currency)

        # Owner: usually the account owner; open deals move off people who left.
        if acquired:
            if rand() < 0.8:
                owner = user_by_id[cust.acquired_owner_id]
            else:
                owner = sub_pool[int(rand() * len(sub_pool))]
            if not final.is_closed and not owner.active:
                owner = sub_active[int(rand() * len(sub_active))]
        else:
            if rand() < 0.8:
                owner = user_by_id[cust.owner_id]
            else:
                pool_u = by_region[cust.region]
                owner = pool_u[int(rand() * len(pool_u))]
            if not final.is_closed and not owner.active:
                pool_u = active_by_region[cust.region]
                owner = pool_u[int(rand() * len(pool_u))]

        # Stage path: start at Prospecting (or Qualification), skip some steps.
        if final.is_won:
            top = 5
        elif final.is_closed:
            top = int(rand() * 6)
        else:
            top = final.sort_order - 1
        start = 0 if rand() < 0.8 else min(1, top)
        path = [OPEN_STAGES[start]]
        for s in range(start + 1, top + 1):
            if s == top or rand() >= 0.25:
                path.append(OPEN_STAGES[s])
        if final.is_closed:
            path.append(final)
        # Timestamps: first at creation, closing on the close date, the rest in between.
        if not final.is_closed:
            end_ms = now_ms
        elif close_o == created_o:
            day_end = (created_o - _EPOCH_ORD + 1) * _DAY_MS
            end_ms = created_ms + 60_000 + int(rand() * max(1, day_end - created_ms - 60_001))
        else:
            end_ms = (close_o - _EPOCH_ORD) * _DAY_MS + 8 * _HOUR_MS + int(rand() * 15 * _HOUR_MS)
        span = max(2, end_ms - created_ms)
        k_mid = len(path) - (2 if final.is_closed else 1)
        offs = sorted(1 + int(rand() * (span - 1)) for _ in range(k_mid))
        for j in range(1, k_mid):
            if offs[j] <= offs[j - 1]:
                offs[j] = offs[j - 1] + 1
        times = [created_ms] + [created_ms + o for o in offs]
        if final.is_closed:
            times.append(end_ms)
        # Amount and close date as first entered, switched to the final values at some step.
        npath = len(path)
        if amount is None or npath == 1:
            first_amount = amount
        else:
            first_amount = _round(amount * amount_factors[int(rand() * 6)], currency)
        first_close_date = from_ord(close_o + close_shift[int(rand() * 7)])
        # Index of the first entry with the final values (the last entry always has them).
        switch_amount = 1 + int(rand() * (npath - 1)) if npath > 1 else 0
        switch_close = 1 + int(rand() * (npath - 1)) if npath > 1 else 0
        history = tuple(
            StageChange(
                st.name,
                amount if j >= switch_amount else first_amount,
                st.probability,
                close if j >= switch_close else first_close_date,
                _ms(times[j]),
            )
            for j, st in enumerate(path)
        )
        last_ms = times[-1]
        if rand() < 0.5 and now_ms - last_ms > 1:
            last_ms += 1 + int(rand() * min(now_ms - last_ms - 1, 10 * _DAY_MS))

        typ = types[bis(type_cum, rand())]
        lead = leads[bis(lead_cum, rand())]
        if typ == "New":
            label = "New Business"
        elif typ == "Renewal":
            label = f"Renewal FY{close.year}"
        else:
            label = typ or "Deal"
        if lines:
            label = f"{family_by_id[lines[0][0]]} {label}"
        name = f"{cust.name.strip()} - {label}"

        comps: tuple[CompetitorMention, ...] = ()
        if rand() < 0.3:
            chosen = rng.sample(COMPETITORS, 1 if rand() < 0.7 else 2)
            comps = tuple(
                CompetitorMention(
                    c,
                    THREAT_LEVELS[int(rand() * 3)],
                    None if rand() < 0.5 else notes[int(rand() * 4)].format(c=c),
                )
                for c in chosen
            )
        drafts.append(
            (created_ms, cust.customer_id, owner.user_id, name, typ, lead, final, amount,
             currency, close, last_ms, lines, history, comps,
             "acquired" if acquired else "main")
        )

    drafts.sort(key=lambda d: d[0])
    out = []
    for i, d in enumerate(drafts):
        oid = f"OPP-{i + 1:07d}"
        final = d[6]
        out.append(
            Opportunity(
                opportunity_id=oid,
                customer_id=d[1],
                owner_id=d[2],
                name=d[3],
                type=d[4],
                lead_source=d[5],
                stage=final.name,
                amount=d[7],
                currency=d[8],
                close_date=d[9],
                created_at=d[12][0].changed_at,
                last_modified_at=_ms(d[10]),
                probability=final.probability,
                forecast_category=final.forecast_category,
                is_closed=final.is_closed,
                is_won=final.is_won,
                line_items=tuple(
                    LineItem(f"{oid}-{j + 1}", *line) for j, line in enumerate(d[11])
                ),
                history=d[12],
                competitors=d[13],
                business_unit=d[14],
            )
        )
    return out


# --------------------------------------------------------------------------- the books

LEGAL_ENTITIES: tuple[LegalEntity, ...] = (
    LegalEntity("HQ", f"{COMPANY_NAME}, Inc.", "US", "USD", "netsuite"),
    LegalEntity("EU", f"{COMPANY_NAME} Europe GmbH", "DE", "EUR", "sap"),
    LegalEntity("UK", f"{SUBSIDIARY_NAME} Ltd", "GB", "GBP", "quickbooks"),
    LegalEntity("IND", f"{COMPANY_NAME} Industrial Division", "US", "USD", "oracle"),
)
ENTITY_BY_ID = {e.entity_id: e for e in LEGAL_ENTITIES}
ERP_SYSTEMS = ("netsuite", "sap", "quickbooks", "oracle", "legacy_erp")
# AMER customers in these industries buy from the Industrial Division (Oracle Fusion).
INDUSTRIAL_INDUSTRIES = frozenset(
    {"Manufacturing", "Machinery", "Construction", "Engineering", "Energy"}
)
# NetSuite went live on the first of the month this many months ago; HQ orders before
# that date stay in the legacy on-premises ERP.
MIGRATION_MONTHS = 18

# The reconciliation checks (identity-and-revenue.md B3) and their parameters. The expected
# exceptions (sandbox.world.expected_figures) apply exactly these definitions to the truth.
RECONCILIATION_CHECKS = (
    "WON_NO_ORDER",
    "ORDER_NO_OPPORTUNITY",
    "AMOUNT_MISMATCH",
    "CURRENCY_MISMATCH",
    "PERIOD_MISMATCH",
    "CUSTOMER_MISMATCH",
    "DUPLICATE_ORDER",
    "WON_DEAL_CHANGED_AFTER_ORDER",
    "MASTER_DATA_CONFLICT",
)
WON_GRACE_DAYS = 7  # a won deal needs an order once it closed more than this many days ago
AMOUNT_TOLERANCE_PCT = 0.01  # of the CRM amount in USD ...
AMOUNT_TOLERANCE_MIN_USD = 1.0  # ... but never less than this
# Injection rates: won deals (with an amount) without an order, and per order made from a
# deal; orders without a deal are ORDER_NO_OPPORTUNITY_RATE of all orders.
ANOMALY_RATES: tuple[tuple[str, float], ...] = (
    ("WON_NO_ORDER", 0.05),
    ("AMOUNT_MISMATCH", 0.03),
    ("CURRENCY_MISMATCH", 0.02),
    ("PERIOD_MISMATCH", 0.03),
    ("CUSTOMER_MISMATCH", 0.015),
    ("DUPLICATE_ORDER", 0.01),
    ("WON_DEAL_CHANGED_AFTER_ORDER", 0.02),
)
ORDER_NO_OPPORTUNITY_RATE = 0.04
MASTER_CONFLICT_RATE = 0.06
# Which customer fields each ERP holds (and so can disagree on).
CONFLICT_FIELDS = {
    "netsuite": ("name", "email", "phone", "currency"),
    "sap": ("name",),
    "quickbooks": ("name", "email", "phone", "currency"),
    "oracle": ("name", "currency"),
    "legacy_erp": ("name", "currency"),
}
_CREDIT_RANGES = {"SMB": (10_000, 50_000), "Mid-Market": (50_000, 250_000),
                  "Enterprise": (250_000, 2_000_000)}


def fiscal_quarter(day: dt.date) -> tuple[int, int]:
    """(fiscal year, quarter 1-4). The fiscal year is the calendar year, as in the CRMs'
    FiscalYear/FiscalQuarter, so one calendar serves every system."""
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the fiscal quarter holding ``day``."""
    q0 = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, q0, 1)
    nxt = dt.date(day.year + 1, 1, 1) if q0 == 10 else dt.date(day.year, q0 + 3, 1)
    return start, nxt - dt.timedelta(days=1)


def entity_for(customer: Customer) -> str:
    """The legal entity whose books hold the customer's orders."""
    if customer.business_unit == "acquired":
        return "UK"
    if customer.region == "EMEA":
        return "EU"
    if customer.region == "AMER" and customer.industry in INDUSTRIAL_INDUSTRIES:
        return "IND"
    return "HQ"


def exceeds_amount_tolerance(crm_usd: float, erp_usd: float) -> bool:
    """AMOUNT_MISMATCH: both sides in USD at the deal's close-date rate."""
    tolerance = max(AMOUNT_TOLERANCE_MIN_USD, AMOUNT_TOLERANCE_PCT * abs(crm_usd))
    return abs(crm_usd - erp_usd) > tolerance


def _months_before(day: dt.date, months: int) -> dt.date:
    k = day.year * 12 + day.month - 1 - months
    return dt.date(k // 12, k % 12 + 1, 1)


def _unit_rate(amount: float, quantity: float) -> float:
    return round(amount / quantity, 4) if quantity else amount


def _sum_lines(lines: list[DocLine] | tuple[DocLine, ...], currency: str) -> float:
    return _round(sum(li.amount for li in lines), currency)


def _scale_lines(lines: list[DocLine], factor: float, currency: str) -> list[DocLine]:
    out = []
    for li in lines:
        amount = _round(li.amount * factor, currency)
        out.append(DocLine(li.line_no, li.product_id, li.quantity,
                           _unit_rate(amount, li.quantity), amount))
    return out


def _renumber(lines: list[DocLine] | tuple[DocLine, ...]) -> tuple[DocLine, ...]:
    """Lines numbered 1..n (a document's own numbering); reuses them when they already are."""
    if all(li.line_no == j for j, li in enumerate(lines, 1)):
        return tuple(lines)
    return tuple(DocLine(j + 1, li.product_id, li.quantity, li.rate, li.amount)
                 for j, li in enumerate(lines))


def _name_variant(rng: random.Random, legal: str) -> str:
    """A customer name as a careless ERP clerk keyed it: shouting, a typo, or a suffix."""
    r = rng.random()
    if r < 0.35 and legal.upper() != legal:
        return legal.upper()
    letters = [i for i, ch in enumerate(legal) if ch.isalpha()]
    if r < 0.7 and len(letters) > 4:
        i = letters[1 + int(rng.random() * (len(letters) - 2))]
        return legal[:i] + legal[i + 1:]
    return f"{legal} - Accounts Payable"


def _gen_books(rng: random.Random, company: Company) -> None:
    """Orders, invoices, payments, credit memos, accounts, prices, inventory and quotas.

    Most won deals become one order in the ERP of the customer's legal entity, dated
    within the close date's quarter and created after the deal's last change, so each
    reconciliation check fires exactly where an inconsistency was injected (plus the
    amount mismatch a changed deal implies). Mutates the company, including the history
    of the deals that were changed after their order.
    """
    rand = rng.random
    today = company.today
    last_o = today.toordinal() - 1
    now_ms = (today.toordinal() - _EPOCH_ORD) * _DAY_MS
    go_live = _months_before(today, MIGRATION_MONTHS)
    go_live_o = go_live.toordinal()
    rate = company.rate_to_usd
    customers = company.customers
    cust_by_id = {c.customer_id: c for c in customers}
    entity_of = {c.customer_id: entity_for(c) for c in customers}
    products = company.products
    active = [p for p in products if p.active]
    platform = [p for p in active if p.family == "Platform"] or active
    buyers: dict[str, list[str]] = {}
    for c in customers:
        if c.business_unit != "service":
            buyers.setdefault(entity_of[c.customer_id], []).append(c.customer_id)
    book_price = {
        (p.product_id, cur): _round(p.list_price / BASE_RATES[cur], cur)
        for p in products for cur in BASE_RATES
    }

    def system_of(entity_id: str, day_o: int) -> str:
        system = ENTITY_BY_ID[entity_id].system
        return "legacy_erp" if system == "netsuite" and day_o < go_live_o else system

    def at_ms(day_o: int) -> int:
        """Office hours on a day."""
        return (day_o - _EPOCH_ORD) * _DAY_MS + 8 * _HOUR_MS + int(rand() * 10 * _HOUR_MS)

    def new_order(cust_id: str, opp_id: str | None, day_o: int, created_ms: int,
                  currency: str, lines: list[DocLine], anomaly: str | None) -> SalesOrder:
        entity = entity_of[cust_id]
        return SalesOrder(
            order_id="", entity_id=entity, system=system_of(entity, day_o),
            customer_id=cust_id, opportunity_id=opp_id, order_date=dt.date.fromordinal(day_o),
            created_at=_ms(created_ms), last_modified_at=_ms(created_ms), currency=currency,
            amount=_sum_lines(lines, currency), lines=_renumber(lines), status="open",
            customer_po=f"PO-{10000 + int(rand() * 90000)}" if rand() < 0.4 else None,
            anomaly=anomaly,
        )

    orders: list[SalesOrder] = []
    injected: list[tuple[str, str | None, SalesOrder | None, str | None, str]] = []
    cum = list(accumulate(r for _, r in ANOMALY_RATES))
    kinds = [k for k, _ in ANOMALY_RATES]
    amount_factors = (0.85, 0.9, 1.1, 1.15, 1.25)
    for o in company.opportunities:
        if not o.is_won or not o.amount:
            continue  # nothing to book for a deal without an amount
        cur = o.currency
        close_o = o.close_date.toordinal()
        q_start, q_end = quarter_bounds(o.close_date)
        q_end_o = q_end.toordinal()
        r = rand()
        j = bisect.bisect(cum, r)
        kind = kinds[j] if j < len(kinds) else None
        if o.line_items:
            lines = [DocLine(k + 1, li.product_id, li.quantity,
                             _unit_rate(li.total_price, li.quantity), li.total_price)
                     for k, li in enumerate(o.line_items)]
        else:
            p = platform[int(rand() * len(platform))]
            lines = [DocLine(1, p.product_id, 1.0, o.amount, o.amount)]
        hist = o.history
        t_last = (hist[-1].changed_at - _EPOCH) // _ONE_MS
        day_start = (close_o - _EPOCH_ORD) * _DAY_MS
        # Eligibility; an ineligible pick gives a clean order.
        if kind == "WON_NO_ORDER" and close_o > last_o - WON_GRACE_DAYS:
            kind = None
        next_q_o = q_end_o + 1
        if kind == "PERIOD_MISMATCH" and next_q_o > last_o:
            kind = None
        others = buyers.get(entity_of[o.customer_id], [])
        if kind == "CUSTOMER_MISMATCH" and len(others) < 2:
            kind = None
        if kind == "WON_DEAL_CHANGED_AFTER_ORDER":
            t_prev = (hist[-2].changed_at - _EPOCH) // _ONE_MS if len(hist) > 1 else t_last
            base = max(t_prev, day_start)
            if len(hist) < 2 or t_last - base < 10 * 60_000:
                kind = None
        if kind == "WON_NO_ORDER":
            injected.append((kind, o.opportunity_id, None, o.customer_id,
                             f"won on {o.close_date} for {o.amount:.2f} {cur}; no order"))
            continue

        lag = 0 if rand() < 0.5 else 1 + int(rand() * 7)
        day_o = min(close_o + lag, q_end_o, last_o)
        if day_o == close_o:
            day_end = day_start + _DAY_MS
            created_ms = t_last + 1 + int((day_end - t_last - 2) * (0.05 + 0.9 * rand()))
        else:
            created_ms = at_ms(day_o)
        cust_id, currency, detail = o.customer_id, cur, ""
        if kind == "AMOUNT_MISMATCH":
            factor = amount_factors[int(rand() * len(amount_factors))]
            lines = _scale_lines(lines, factor, cur)
            detail = f"order priced at {factor:.0%} of the deal"
        elif kind == "CURRENCY_MISMATCH":
            cust = cust_by_id[o.customer_id]
            currency = next(c for c in (ENTITY_BY_ID[entity_of[cust_id]].currency,
                                        cust.currency, "USD", "EUR") if c != cur)
            factor = rate(cur, o.close_date) / rate(currency, o.close_date)
            lines = [DocLine(li.line_no, li.product_id, li.quantity,
                             _unit_rate(_round(li.amount * factor, currency), li.quantity),
                             _round(li.amount * factor, currency)) for li in lines]
            detail = f"deal in {cur}, order in {currency}"
        elif kind == "PERIOD_MISMATCH":
            day_o = next_q_o + int(rand() * min(20, last_o - next_q_o + 1))
            created_ms = at_ms(day_o)
            detail = f"closed {o.close_date}, ordered {dt.date.fromordinal(day_o)}"
        elif kind == "CUSTOMER_MISMATCH":
            while cust_id == o.customer_id:
                cust_id = others[int(rand() * len(others))]
            detail = f"deal for {o.customer_id}, order booked to {cust_id}"
        elif kind == "WON_DEAL_CHANGED_AFTER_ORDER":
            t0 = base + int((t_last - base) * 0.3)
            created_ms = t0 + int((t_last - t0) * 0.5)
            day_o = close_o
            factor = (0.8, 0.9, 1.1, 1.2)[int(rand() * 4)]
            old_amount = _round(o.amount * factor, cur)
            last = hist[-1]
            o.history = (*hist[:-1],
                         StageChange(last.stage, old_amount, last.probability,
                                     last.close_date, _ms(t0)),
                         last)
            lines = _scale_lines(lines, old_amount / o.amount, cur)
            detail = f"amount changed from {old_amount:.2f} to {o.amount:.2f} after the order"
        order = new_order(cust_id, o.opportunity_id, day_o, created_ms, currency, lines,
                          None if kind == "DUPLICATE_ORDER" else kind)
        orders.append(order)
        if kind is not None and kind != "DUPLICATE_ORDER":
            injected.append((kind, o.opportunity_id, order, cust_id, detail))
        if kind == "DUPLICATE_ORDER":
            dup_o = min(day_o + int(rand() * 3), q_end_o, last_o)
            dup_ms = at_ms(dup_o)
            if dup_ms <= created_ms:
                dup_ms = min(created_ms + 1 + int(rand() * 3_600_000),
                             (dup_o - _EPOCH_ORD + 1) * _DAY_MS - 1)
            dup = new_order(cust_id, o.opportunity_id, dup_o, dup_ms, currency, lines, kind)
            dup.customer_po = order.customer_po
            orders.append(dup)
            injected.append((kind, o.opportunity_id, dup, cust_id,
                             "second order for the same deal"))

    # Direct, web and renewal orders nobody logged as a deal (service-only customers too).
    n_direct = round(len(orders) * ORDER_NO_OPPORTUNITY_RATE / (1 - ORDER_NO_OPPORTUNITY_RATE))
    first_o = last_o - 729
    qtys = (1.0, 1.0, 2.0, 5.0, 10.0)
    for _ in range(n_direct):
        cust = customers[int(rand() * len(customers))]
        start_o = max(first_o, cust.created_at.date().toordinal() + 1)
        day_o = min(start_o + int(rand() * max(1, last_o - start_o + 1)), last_o)
        currency = cust.currency
        if entity_of[cust.customer_id] == "UK" and currency not in SUBSIDIARY_CURRENCIES:
            currency = "GBP"
        lines = []
        for k in range(1 + int(rand() * 3)):
            p = active[int(rand() * len(active))]
            q = qtys[int(rand() * len(qtys))]
            price = book_price[(p.product_id, currency)]
            amount = _round(q * price, currency)
            lines.append(DocLine(k + 1, p.product_id, q, _unit_rate(amount, q), amount))
        order = new_order(cust.customer_id, None, day_o, at_ms(day_o), currency, lines, None)
        if rand() < 0.08:
            order.status = "cancelled"
        else:
            order.anomaly = "ORDER_NO_OPPORTUNITY"
            injected.append(("ORDER_NO_OPPORTUNITY", None, order, cust.customer_id,
                             "order without a deal"))
        orders.append(order)

    orders.sort(key=lambda x: x.created_at)
    for i, order in enumerate(orders, 1):
        order.order_id = f"ORD-{i:07d}"
        if (order.system == "netsuite" and order.status == "open"
                and order.order_date.toordinal() >= last_o - 10 and rand() < 0.3):
            order.status = "pending_approval"

    # Billing: invoices (partial for some), credit memos, payments.
    invoices: list[BillingDocument] = []
    credits: list[BillingDocument] = []
    payments: list[Payment] = []

    def doc_created(day_o: int, after: dt.datetime) -> dt.datetime:
        ms = max(at_ms(day_o), (after - _EPOCH) // _ONE_MS + 1000)
        return _ms(min(ms, now_ms - 1))

    def bill(order: SalesOrder, lines: tuple[DocLine, ...] | list[DocLine], day_o: int,
             cash_sale: bool = False) -> BillingDocument:
        lines = _renumber(lines)
        doc = BillingDocument(
            doc_id="", kind="invoice", order_id=order.order_id, invoice_id=None,
            entity_id=order.entity_id, system=order.system, customer_id=order.customer_id,
            doc_date=dt.date.fromordinal(day_o), due_date=dt.date.fromordinal(day_o + 30),
            created_at=doc_created(day_o, order.created_at), currency=order.currency,
            amount=_sum_lines(lines, order.currency), lines=lines, status="open",
            cash_sale=cash_sale,
        )
        if order.system == "quickbooks":  # the sale is the order: created with it
            doc.created_at = order.created_at
        invoices.append(doc)
        order.last_modified_at = max(order.last_modified_at, doc.created_at)
        return doc

    for order in orders:
        if order.status in ("cancelled", "pending_approval"):
            continue
        od_o = order.order_date.toordinal()
        if order.system == "quickbooks":  # the invoice (or sales receipt) is the sale
            bill(order, order.lines, od_o, cash_sale=rand() < 0.15)
            order.status = "billed"
            continue
        limit_o = go_live_o - 1 if order.system == "legacy_erp" else last_o
        inv_o = od_o + int(rand() * 11)
        if inv_o > limit_o:
            if order.system != "legacy_erp":
                continue  # not billed yet
            inv_o = limit_o
        if len(order.lines) >= 2 and rand() < 0.12:
            k = len(order.lines) // 2
            bill(order, order.lines[:k], inv_o)
            second_o = min(od_o + 30 + int(rand() * 60), go_live_o - 1) \
                if order.system == "legacy_erp" else od_o + 30 + int(rand() * 60)
            if second_o <= limit_o:
                bill(order, order.lines[k:], max(second_o, inv_o))
                order.status = "billed"
            else:
                order.status = "partially_billed"
        else:
            bill(order, order.lines, inv_o)
            order.status = "billed"

    invoices.sort(key=lambda d: d.created_at)
    for i, inv in enumerate(invoices, 1):
        inv.doc_id = f"INV-{i:07d}"
    fractions = (0.1, 0.25, 0.5, 1.0)
    for inv in invoices:
        doc_o = inv.doc_date.toordinal()
        if inv.cash_sale:
            inv.amount_paid, inv.status = inv.amount, "paid"
            continue
        credit_o = None
        due = inv.amount
        if inv.system != "legacy_erp" and doc_o + 5 <= last_o and rand() < 0.03:
            credit_o = doc_o + 5 + int(rand() * min(55, last_o - doc_o - 5 + 1))
            frac = fractions[int(rand() * 4)]
            if frac == 1.0:
                lines = inv.lines
            else:
                amount = _round(inv.amount * frac, inv.currency)
                lines = (DocLine(1, inv.lines[0].product_id, 1.0, amount, amount),)
            memo = BillingDocument(
                doc_id="", kind="credit_memo", order_id=inv.order_id, invoice_id=inv.doc_id,
                entity_id=inv.entity_id, system=inv.system, customer_id=inv.customer_id,
                doc_date=dt.date.fromordinal(credit_o), due_date=dt.date.fromordinal(credit_o),
                created_at=doc_created(credit_o, inv.created_at), currency=inv.currency,
                amount=_sum_lines(lines, inv.currency), lines=_renumber(lines),
                status="applied",
            )
            memo.amount_paid = memo.amount
            credits.append(memo)
            due = _round(inv.amount - memo.amount, inv.currency)
        age = last_o - doc_o
        p_paid = 0.95 if age > 60 else 0.85 if age > 30 else 0.35
        if inv.system == "legacy_erp":
            p_paid = 1.0
        if due > 0 and rand() < p_paid:
            pay_o = min(doc_o + 5 + int(rand() * 50), last_o)
            if inv.system == "legacy_erp":
                pay_o = min(pay_o, go_live_o - 1)
            if credit_o is not None:
                pay_o = max(pay_o, credit_o)
            pay_o = max(pay_o, doc_o)
            payments.append(Payment(
                payment_id="", invoice_id=inv.doc_id, entity_id=inv.entity_id,
                system=inv.system, customer_id=inv.customer_id,
                payment_date=dt.date.fromordinal(pay_o),
                created_at=doc_created(pay_o, inv.created_at), currency=inv.currency,
                amount=due,
            ))
            inv.amount_paid = inv.amount
            inv.status = "paid"
        elif due <= 0:
            inv.amount_paid, inv.status = inv.amount, "paid"
        else:
            inv.amount_paid = _round(inv.amount - due, inv.currency)
    credits.sort(key=lambda d: d.created_at)
    for i, memo in enumerate(credits, 1):
        memo.doc_id = f"CM-{i:07d}"
    payments.sort(key=lambda p: p.created_at)
    for i, pay in enumerate(payments, 1):
        pay.payment_id = f"PAY-{i:07d}"

    # ERP accounts and master-data conflicts.
    systems_of: dict[str, list[str]] = {}
    sale_currencies: dict[tuple[str, str], list[str]] = {}  # (customer, ERP) -> in order
    for order in orders:
        seen = systems_of.setdefault(order.customer_id, [])
        if order.system not in seen:
            seen.append(order.system)
        used = sale_currencies.setdefault((order.customer_id, order.system), [])
        if order.status != "cancelled" and order.currency not in used:
            used.append(order.currency)
    accounts: list[ErpAccount] = []
    conflicts: list[MasterConflict] = []
    for cid in sorted(systems_of):
        c = cust_by_id[cid]
        lo, hi = _CREDIT_RANGES[c.segment]
        entity = ENTITY_BY_ID[entity_of[cid]]
        limit = round((lo + rand() * (hi - lo)) / BASE_RATES[entity.currency], -3)
        systems = systems_of[cid]
        legacy_limit = None
        if "legacy_erp" in systems:
            legacy_limit = limit if rand() < 0.7 else round(limit * (0.5 if rand() < 0.5
                                                                     else 0.8), -3)
            if "netsuite" not in systems:
                systems.append("netsuite")  # migrated with the rest of the customer master
        currency = c.currency
        if entity.system == "quickbooks":
            # QBO fixes a customer's currency: its sales are all in it (the first one's here)
            currency = next(iter(sale_currencies.get((cid, "quickbooks"), [])), currency)
        accounts.append(ErpAccount(cid, entity.entity_id, currency, limit, legacy_limit))
        if legacy_limit is not None and legacy_limit != limit:
            conflicts.append(MasterConflict(cid, "legacy_erp", "credit_limit",
                                            f"{limit:.2f}", f"{legacy_limit:.2f}"))
        for system in systems:
            if rand() >= MASTER_CONFLICT_RATE:
                continue
            fields = CONFLICT_FIELDS[system]
            name = fields[int(rand() * len(fields))]
            if name == "name":
                truth, value = c.legal_name, _name_variant(rng, c.legal_name)
            elif name == "email":
                truth = f"ap@{c.domain}"
                value = f"billing@{ascii_fold(c.name) or 'customer'}-old.com"
            elif name == "phone":
                truth = c.phone or ""
                value = _phone(rng, COUNTRY_BY_CODE[c.country_code])
            else:  # a currency the customer's sales in this ERP never use
                truth = currency
                used = {truth, *sale_currencies.get((cid, system), [])}
                value = next(cur for cur in BASE_RATES if cur not in used)
            conflicts.append(MasterConflict(cid, system, name, truth, value))

    # Price book, the ERPs' item prices, inventory.
    price_book = [
        PriceBookEntry(p.product_id, cur, book_price[(p.product_id, cur)],
                       p.created_at.date())
        for p in products for cur in BASE_RATES
    ]
    item_prices = []
    inventory = []
    for e in LEGAL_ENTITIES:
        for p in products:
            price = book_price[(p.product_id, e.currency)]
            if rand() < 0.05:
                price = _round(price * (0.9, 0.95, 1.05, 1.1)[int(rand() * 4)], e.currency)
            item_prices.append(ItemPrice(e.entity_id, p.product_id, e.currency, price))
            if p.family == "Hardware" and e.system != "sap":
                inventory.append(InventoryBalance(e.entity_id, p.product_id,
                                                  float(int(rand() * 400))))

    company.legal_entities = list(LEGAL_ENTITIES)
    company.customer_entity = entity_of
    company.erp_go_live = go_live
    company.erp_accounts = accounts
    company.orders = orders
    company.invoices = invoices
    company.credit_memos = credits
    company.payments = payments
    company.inventory = inventory
    company.price_book = price_book
    company.item_prices = item_prices
    company.master_conflicts = conflicts
    company.quotas = _gen_quotas(rng, company)
    company.anomalies = [
        ErpAnomaly(kind, opp, order.order_id if order else None, cust, detail)
        for kind, opp, order, cust, detail in injected
    ] + [
        ErpAnomaly("MASTER_DATA_CONFLICT", None, None, m.customer_id,
                   f"{m.system}.{m.field}: {m.system_value!r} vs {m.truth_value!r}")
        for m in conflicts
    ]


_QUOTA_FACTORS = (("Vice President", 3.0), ("Head of", 2.5), ("Manager", 1.6),
                  ("Senior", 1.3), ("Enterprise", 1.4), ("Development", 0.4))


def _gen_quotas(rng: random.Random, company: Company) -> list[Quota]:
    """Quarterly quotas per seller, sized so attainment lands around 70-120%."""
    today = company.today
    first = today - dt.timedelta(days=730)
    sellers = company.users + company.subsidiary_users
    won_usd = sum(company.to_usd(o.amount, o.currency, o.close_date) or 0.0
                  for o in company.opportunities if o.is_won and o.close_date >= first)
    base = won_usd / max(1, len(sellers) * 8)
    out = []
    for u in sellers:
        factor = next((f for key, f in _QUOTA_FACTORS if key in u.title), 1.0)
        currency = "GBP" if u.business_unit == "acquired" else CORPORATE_CURRENCY
        personal = factor * (0.8 + 0.5 * rng.random())
        joined = u.created_at.date()
        for year in range(first.year, today.year + 1):
            for q in range(1, 5):
                start, end = quarter_bounds(dt.date(year, 3 * q - 2, 1))
                if end < first or end < joined or (not u.active and end > today - dt.timedelta(
                        days=180)):
                    continue
                amount = base * personal * 1.06 ** (year - first.year) / BASE_RATES[currency]
                out.append(Quota(u.user_id, year, q, float(round(amount, -3)), currency))
    return out
