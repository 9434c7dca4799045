"""Project the company's truth into customer service's Dynamics 365 (Dataverse) environment.

Customer service works every support case, whichever sales organisation sold the
customer, so its accounts cover every customer with a case or a service contract: main,
acquired, shared and the service-only customers no CRM knows. What the environment adds
and the truth lacks: GUIDs, Dataverse logical names and attribute types, choice columns
as integers with labels (its own industry list), second-precision timestamps, and the
service team's own view of the customer: legal names or other spellings, stale addresses,
other phone formats, a few duplicate (some merged) accounts, and a small number of
opportunities the agents logged as upsells before sales picked them up (sometimes
stale: still open here after sales won them).

``dataverse_truth_tables`` turns the environment into typed Arrow tables with exactly the
shapes the federated Dynamics adapter exposes. All randomness comes from
``random.Random(f"dynamics:{seed}")`` in a fixed order.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import unicodedata
import uuid
from typing import Any

import pyarrow as pa

from sandbox.company import (
    COUNTRY_BY_CODE,
    REGIONS,
    UTC,
    Company,
    Customer,
    generate_company,
)
from sandbox.projections.dataverse_model import (
    DataverseAttribute,
    DataverseEntity,
    DataverseOption,
    DataverseOrg,
)

__all__ = [
    "ENTITY_SETS",
    "INDUSTRY_CODES",
    "dataverse_arrow_type",
    "dataverse_truth_tables",
    "demo_environment",
    "project_dynamics",
    "project_dynamics_crosswalk",
]

ENTITY_SETS: dict[str, str] = {
    "account": "accounts",
    "contact": "contacts",
    "opportunity": "opportunities",
    "incident": "incidents",
    "systemuser": "systemusers",
}
# Dataverse's default Industry choice (account.industrycode).
INDUSTRY_CODES: tuple[tuple[int, str], ...] = (
    (1, "Accounting"), (2, "Agriculture and Non-petrol Natural Resource Extraction"),
    (3, "Broadcasting Printing and Publishing"), (4, "Brokers"), (5, "Building Supply Retail"),
    (6, "Business Services"), (7, "Consulting"), (8, "Consumer Services"),
    (9, "Design, Direction and Creative Management"),
    (10, "Distributors, Dispatchers and Processors"), (11, "Doctor's Offices and Clinics"),
    (12, "Durable Manufacturing"), (13, "Eating and Drinking Places"),
    (14, "Entertainment Retail"), (15, "Equipment Rental and Leasing"), (16, "Financial"),
    (17, "Food and Tobacco Processing"), (18, "Inbound Capital Intensive Processing"),
    (19, "Inbound Repair and Services"), (20, "Insurance"), (21, "Legal Services"),
    (22, "Non-Durable Merchandise Retail"), (23, "Outbound Consumer Service"),
    (24, "Petrochemical Extraction and Distribution"), (25, "Service Retail"),
    (26, "SIG Affiliations"), (27, "Social Services"),
    (28, "Special Outbound Trade Contractors"), (29, "Specialty Realty"),
    (30, "Transportation"), (31, "Utility Creation and Distribution"), (32, "Vehicle Retail"),
    (33, "Wholesale"),
)
# Truth industry -> industrycode: coarser than the CRMs' lists, several map to one.
_INDUSTRY_OF: dict[str, int] = {
    "Agriculture": 2, "Banking": 16, "Biotechnology": 18, "Chemicals": 24,
    "Communications": 3, "Construction": 28, "Consulting": 7, "Education": 8,
    "Electronics": 12, "Energy": 31, "Engineering": 9, "Entertainment": 14, "Finance": 16,
    "Food & Beverage": 17, "Government": 26, "Healthcare": 11, "Hospitality": 13,
    "Insurance": 20, "Machinery": 12, "Manufacturing": 12, "Media": 3, "Not For Profit": 27,
    "Retail": 22, "Shipping": 10, "Technology": 6, "Telecommunications": 3,
    "Transportation": 30, "Utilities": 31,
}
_REGION_OPTIONS = tuple((100_000_000 + i, r) for i, r in enumerate(REGIONS))
_ACTIVE_INACTIVE_STATE = ((0, "Active"), (1, "Inactive"))
_ACTIVE_INACTIVE_STATUS = ((1, "Active"), (2, "Inactive"))
_OPP_STATE = ((0, "Open"), (1, "Won"), (2, "Lost"))
_OPP_STATUS = ((1, "In Progress"), (2, "On Hold"), (3, "Won"), (4, "Canceled"), (5, "Out-Sold"))
_CASE_STATE = ((0, "Active"), (1, "Resolved"), (2, "Cancelled"))
_CASE_STATUS = ((1, "In Progress"), (2, "On Hold"), (3, "Waiting for Details"),
                (4, "Researching"), (5, "Problem Solved"), (1000, "Information Provided"),
                (6, "Cancelled"), (2000, "Merged"))
_PRIORITY = ((1, "High"), (2, "Normal"), (3, "Low"))
_ORIGIN = ((1, "Phone"), (2, "Email"), (3, "Web"))
_CASE_TYPE = ((1, "Question"), (2, "Problem"), (3, "Request"))
_CODE = {label: value for value, label in (*_PRIORITY, *_ORIGIN, *_CASE_TYPE)}
_STEP = {
    "Prospecting": "1-Qualify", "Qualification": "1-Qualify", "Needs Analysis": "2-Develop",
    "Value Proposition": "2-Develop", "Proposal/Price Quote": "3-Propose",
    "Negotiation/Review": "3-Propose", "Closed Won": "4-Close", "Closed Lost": "4-Close",
}
_COUNTRY_VARIANTS = {"US": ("USA", "U.S."), "GB": ("U.K.", "Great Britain"),
                     "DE": ("Deutschland",), "JP": ("日本",)}
_B36 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

# --------------------------------------------------------------------------- metadata


def _a(
    name: str,
    type_: str,
    display: str,
    *,
    options: tuple[tuple[int, str], ...] = (),
    targets: tuple[str, ...] = (),
    primary_id: bool = False,
    primary_name: bool = False,
    custom: bool = False,
    date_only: bool = False,
    max_length: int | None = None,
    precision: int | None = None,
) -> DataverseAttribute:
    if max_length is None and type_ in ("String", "Memo"):
        max_length = 2000 if type_ == "Memo" else 100
    if precision is None and type_ == "Money":
        precision = 2
    return DataverseAttribute(
        logical_name=name,
        attribute_type=type_,
        display_name=display,
        date_only=date_only,
        options=tuple(DataverseOption(v, label) for v, label in options),
        targets=targets,
        is_primary_id=primary_id,
        is_primary_name=primary_name,
        is_custom=custom,
        max_length=max_length,
        precision=precision,
    )


def _audit() -> list[DataverseAttribute]:
    return [
        _a("ownerid", "Owner", "Owner", targets=("systemuser",)),
        _a("createdon", "DateTime", "Created On"),
        _a("modifiedon", "DateTime", "Modified On"),
    ]


def _metadata() -> dict[str, tuple[str, str, str, list[DataverseAttribute]]]:
    """Logical name -> (display name, primary id, primary name, attributes in order)."""
    return {
        "account": ("Account", "accountid", "name", [
            _a("accountid", "Uniqueidentifier", "Account", primary_id=True),
            _a("name", "String", "Account Name", primary_name=True, max_length=160),
            _a("accountnumber", "String", "Account Number", max_length=20),
            _a("revenue", "Money", "Annual Revenue"),
            _a("numberofemployees", "Integer", "Number of Employees"),
            _a("industrycode", "Picklist", "Industry", options=INDUSTRY_CODES),
            _a("address1_line1", "String", "Address 1: Street 1", max_length=250),
            _a("address1_city", "String", "Address 1: City", max_length=80),
            _a("address1_postalcode", "String", "Address 1: ZIP/Postal Code", max_length=20),
            _a("address1_country", "String", "Address 1: Country/Region", max_length=80),
            _a("telephone1", "String", "Main Phone", max_length=50),
            _a("websiteurl", "String", "Website", max_length=200),
            _a("statecode", "State", "Status", options=_ACTIVE_INACTIVE_STATE),
            _a("statuscode", "Status", "Status Reason", options=_ACTIVE_INACTIVE_STATUS),
            *_audit(),
            _a("new_region", "Picklist", "Region", options=_REGION_OPTIONS, custom=True),
        ]),
        "contact": ("Contact", "contactid", "fullname", [
            _a("contactid", "Uniqueidentifier", "Contact", primary_id=True),
            _a("fullname", "String", "Full Name", primary_name=True, max_length=160),
            _a("firstname", "String", "First Name", max_length=50),
            _a("lastname", "String", "Last Name", max_length=50),
            _a("emailaddress1", "String", "Email", max_length=100),
            _a("telephone1", "String", "Business Phone", max_length=50),
            _a("jobtitle", "String", "Job Title", max_length=100),
            _a("parentcustomerid", "Customer", "Company Name", targets=("account", "contact")),
            _a("statecode", "State", "Status", options=_ACTIVE_INACTIVE_STATE),
            _a("statuscode", "Status", "Status Reason", options=_ACTIVE_INACTIVE_STATUS),
            *_audit(),
        ]),
        "opportunity": ("Opportunity", "opportunityid", "name", [
            _a("opportunityid", "Uniqueidentifier", "Opportunity", primary_id=True),
            _a("name", "String", "Topic", primary_name=True, max_length=300),
            _a("estimatedvalue", "Money", "Est. Revenue"),
            _a("actualvalue", "Money", "Actual Revenue"),
            _a("estimatedclosedate", "DateTime", "Est. Close Date", date_only=True),
            _a("actualclosedate", "DateTime", "Actual Close Date", date_only=True),
            _a("closeprobability", "Integer", "Probability"),
            _a("statecode", "State", "Status", options=_OPP_STATE),
            _a("statuscode", "Status", "Status Reason", options=_OPP_STATUS),
            _a("stepname", "String", "Pipeline Phase", max_length=200),
            _a("parentaccountid", "Lookup", "Account", targets=("account",)),
            _a("customerid", "Customer", "Potential Customer", targets=("account", "contact")),
            _a("isocurrencycode", "String", "Currency Code", max_length=5),
            *_audit(),
        ]),
        "incident": ("Case", "incidentid", "title", [
            _a("incidentid", "Uniqueidentifier", "Case", primary_id=True),
            _a("ticketnumber", "String", "Case Number", max_length=100),
            _a("title", "String", "Case Title", primary_name=True, max_length=200),
            _a("description", "Memo", "Description", max_length=2000),
            _a("customerid", "Customer", "Customer", targets=("account", "contact")),
            _a("primarycontactid", "Lookup", "Contact", targets=("contact",)),
            _a("prioritycode", "Picklist", "Priority", options=_PRIORITY),
            _a("caseorigincode", "Picklist", "Origin", options=_ORIGIN),
            _a("casetypecode", "Picklist", "Case Type", options=_CASE_TYPE),
            _a("statecode", "State", "Status", options=_CASE_STATE),
            _a("statuscode", "Status", "Status Reason", options=_CASE_STATUS),
            *_audit(),
        ]),
        "systemuser": ("User", "systemuserid", "fullname", [
            _a("systemuserid", "Uniqueidentifier", "User", primary_id=True),
            _a("fullname", "String", "Full Name", primary_name=True, max_length=200),
            _a("firstname", "String", "First Name", max_length=64),
            _a("lastname", "String", "Last Name", max_length=64),
            _a("internalemailaddress", "String", "Primary Email", max_length=100),
            _a("isdisabled", "Boolean", "Status", options=((0, "Enabled"), (1, "Disabled"))),
            _a("title", "String", "Title", max_length=128),
            _a("createdon", "DateTime", "Created On"),
        ]),
    }


# --------------------------------------------------------------------------- projection

# Crosswalk rows: (entity, truth_id, system, object, record_id).
CrosswalkRow = tuple[str, str, str, str, str]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = dt.timedelta(milliseconds=1)
_DAY_MS = 86_400_000
_fromtimestamp = dt.datetime.fromtimestamp


def _ms_of(t: dt.datetime) -> int:
    return (t - _EPOCH) // _ONE_MS


def _sec(ms: int) -> dt.datetime:
    """Dataverse keeps datetimes to the second."""
    return _fromtimestamp(ms // 1000, UTC)


def _fold(text: str) -> str:
    """Accents stripped, case kept: "Müller" -> "Muller" (older import tools did this)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def project_dynamics(company: Company) -> DataverseOrg:
    """Build the environment the Dataverse simulator serves from the company's truth."""
    return project_dynamics_crosswalk(company)[0]


def project_dynamics_crosswalk(company: Company) -> tuple[DataverseOrg, list[CrosswalkRow]]:
    """The environment plus one crosswalk row per systemuser, account, contact,
    opportunity and incident row (duplicates and inactive rows included)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # many small acyclic objects; see generate_company
    try:
        return _Projector(company).run()
    finally:
        if gc_was_enabled:
            gc.enable()


def demo_environment(
    seed: int = 42, scale: float = 1.0, today: dt.date | None = None
) -> DataverseOrg:
    """The demo company's Dynamics 365 environment in one call."""
    return project_dynamics(generate_company(seed=seed, scale=scale, today=today))


class _Projector:
    """One pass over the truth; methods share the RNG so their order fixes the output."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.rng = random.Random(f"dynamics:{company.seed}")
        self.rand = self.rng.random
        self.now_ms = _ms_of(company.now)
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ENTITY_SETS}
        self.xwalk: list[CrosswalkRow] = []

    def _guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _after(self, ms: int) -> int:
        return ms + int(self.rand() * max(1, self.now_ms - ms))

    def _row(self, entity: str, truth_entity: str, truth_id: str, row: dict[str, Any]) -> str:
        self.rows[entity].append(row)
        rid = row[f"{entity}id"]
        self.xwalk.append((truth_entity, truth_id, "dynamics", ENTITY_SETS[entity], rid))
        return rid

    def run(self) -> tuple[DataverseOrg, list[CrosswalkRow]]:
        self._users()
        accounts = self._accounts()
        contacts = self._contacts(accounts)
        self._opportunities(accounts)
        self._incidents(accounts, contacts)
        entities = {
            name: DataverseEntity(
                logical_name=name,
                entity_set_name=ENTITY_SETS[name],
                primary_id=pid,
                primary_name=pname,
                display_name=display,
                attributes=attrs,
                records=self.rows[name],
            )
            for name, (display, pid, pname, attrs) in _metadata().items()
        }
        return DataverseOrg(entities=entities, today=self.company.today), self.xwalk

    def _users(self) -> None:
        """Service agents, plus the main org's regional managers (they see escalations)."""
        company = self.company
        self.user_of: dict[str, str] = {}
        people = company.agents + [u for u in company.users if u.manager_id is None]
        for u in people:
            gid = self.user_of[u.user_id] = self._guid()
            self._row("systemuser", "user", u.user_id, {
                "systemuserid": gid,
                "fullname": f"{u.first_name} {u.last_name}",
                "firstname": u.first_name,
                "lastname": u.last_name,
                "internalemailaddress": u.email,
                "isdisabled": not u.active,
                "title": u.title,
                "createdon": _sec(_ms_of(u.created_at)),
            })
        self.agent_ids = [self.user_of[a.user_id] for a in company.agents if a.active]
        self.agent_by_region = {
            r: [self.user_of[a.user_id] for a in company.agents if a.active and a.region == r]
            or self.agent_ids
            for r in REGIONS
        }

    def _account_name(self, c: Customer) -> str:
        r = self.rand()
        if r < 0.45:
            return c.legal_name  # service works from contracts
        if r < 0.8:
            return c.name
        if r < 0.85:
            return c.legal_name.upper()
        if r < 0.9:
            return _fold(c.legal_name)
        if r < 0.95:
            return f"{c.name.strip()} (Support)"
        return c.name.replace("&", "and")

    def _phone(self, phone: str | None, country_code: str) -> str | None:
        if phone is None or self.rand() < 0.1:
            return None
        if country_code == "US" and self.rand() < 0.4:  # +1 415 555 1234 -> (415) 555-1234
            _, area, mid, last = phone.split(" ")
            return f"({area}) {mid}-{last}"
        return phone.replace(" ", "") if self.rand() < 0.2 else phone

    def _accounts(self) -> dict[str, list[str]]:
        """Customer id -> account GUIDs (primary first); every customer with a case or a
        service contract, from every business unit."""
        company = self.company
        rand = self.rand
        first_case: dict[str, int] = {}
        for case in company.cases:
            first_case.setdefault(case.customer_id, _ms_of(case.created_at))
        out: dict[str, list[str]] = {}
        dups: list[Customer] = []
        for c in company.customers:
            if c.customer_id not in first_case and not c.service_contract:
                continue
            cust_ms = _ms_of(c.created_at)
            until = first_case.get(c.customer_id, self.now_ms)
            created_ms = cust_ms + int(rand() * max(1, until - cust_ms))
            street, city, postal = c.street.split("\n")[0], c.city, c.postal_code
            if rand() < 0.08:  # stale: the customer moved, service never heard
                places = COUNTRY_BY_CODE[c.country_code].places
                _, city, _ = places[int(rand() * len(places))]
                street = f"{1 + int(rand() * 400)} {street.split(' ', 1)[-1]}"
            country = c.country
            if rand() < 0.1:
                variants = _COUNTRY_VARIANTS.get(c.country_code, (c.country_code,))
                country = variants[int(rand() * len(variants))]
            inactive = rand() < 0.04
            revenue = c.annual_revenue
            if revenue is not None and rand() < 0.1:
                revenue = round(revenue * 0.8, -3)  # last year's figure
            r = rand()
            website = (f"https://www.{c.domain}" if r < 0.5 else f"http://{c.domain}"
                       if r < 0.7 else None)
            gid = self._row("account", "customer", c.customer_id, {
                "accountid": self._guid(),
                "name": self._account_name(c),
                "accountnumber": None if rand() < 0.3 else f"SVC-{100000 + int(rand() * 900000)}",
                "revenue": revenue,
                "numberofemployees": c.employees,
                "industrycode": _INDUSTRY_OF.get(c.industry or ""),
                "address1_line1": street,
                "address1_city": city,
                "address1_postalcode": postal if rand() < 0.9 else None,
                "address1_country": country,
                "telephone1": self._phone(c.phone, c.country_code),
                "websiteurl": website,
                "statecode": 1 if inactive else 0,
                "statuscode": 2 if inactive else 1,
                "ownerid": self._pick(self.agent_by_region[c.region]),
                "createdon": _sec(created_ms),
                "modifiedon": _sec(self._after(created_ms)),
                "new_region": None if rand() < 0.15 else 100_000_000 + REGIONS.index(c.region),
            })
            out[c.customer_id] = [gid]
            if rand() < 0.03:
                dups.append(c)
        for c in dups:
            # Created again from an e-mail signature; half were merged since (inactive).
            created_ms = self._after(_ms_of(c.created_at))
            merged = rand() < 0.5
            gid = self._row("account", "customer", c.customer_id, {
                "accountid": self._guid(),
                "name": self._account_name(c),
                "accountnumber": None,
                "revenue": None,
                "numberofemployees": None,
                "industrycode": None,
                "address1_line1": None,
                "address1_city": c.city,
                "address1_postalcode": None,
                "address1_country": c.country,
                "telephone1": self._phone(c.phone, c.country_code),
                "websiteurl": None,
                "statecode": 1 if merged else 0,
                "statuscode": 2 if merged else 1,
                "ownerid": self._pick(self.agent_ids),
                "createdon": _sec(created_ms),
                "modifiedon": _sec(self._after(created_ms)),
                "new_region": None,
            })
            out[c.customer_id].append(gid)
        return out

    def _pick(self, items: list[str]) -> str:
        return items[int(self.rand() * len(items))]

    def _contacts(self, accounts: dict[str, list[str]]) -> dict[str, str]:
        """Truth contact id -> contact GUID: everyone named on a case, plus others."""
        rand = self.rand
        on_case = {case.contact_id for case in self.company.cases if case.contact_id}
        owner_of = {r["accountid"]: r["ownerid"] for r in self.rows["account"]}
        out: dict[str, str] = {}
        for ct in self.company.contacts:
            ids = accounts.get(ct.customer_id)
            if ids is None or (ct.contact_id not in on_case and rand() >= 0.35):
                continue
            account = ids[1] if len(ids) > 1 and rand() < 0.2 else ids[0]
            email = ct.email
            r = rand()
            if email is not None and r < 0.05:
                email = None
            elif email is not None and r < 0.15:
                email = email.lower() if r < 0.1 else email[0].upper() + email[1:]
            first = ct.first_name
            created_ms = self._after(_ms_of(ct.created_at))
            inactive = rand() < 0.03
            out[ct.contact_id] = self._row("contact", "contact", ct.contact_id, {
                "contactid": self._guid(),
                "fullname": ct.last_name if first is None else f"{first} {ct.last_name}",
                "firstname": first,
                "lastname": ct.last_name,
                "emailaddress1": email,
                "telephone1": ct.phone if rand() < 0.8 else None,
                "jobtitle": ct.title,
                "parentcustomerid": None if rand() < 0.01 else account,
                "statecode": 1 if inactive else 0,
                "statuscode": 2 if inactive else 1,
                "ownerid": owner_of[account],
                "createdon": _sec(created_ms),
                "modifiedon": _sec(self._after(created_ms)),
            })
        return out

    def _opportunities(self, accounts: dict[str, list[str]]) -> None:
        """Upsells agents spotted and logged before handing them to sales."""
        rand = self.rand
        for o in self.company.opportunities:
            ids = accounts.get(o.customer_id)
            if ids is None or o.type != "Upsell" or rand() >= 0.15:
                continue
            first = o.history[0]
            created_ms = _ms_of(o.created_at) - int(rand() * 10 * _DAY_MS)  # service was first
            stale = rand() < 0.2  # sales moved on; service's copy did not
            if o.is_won and not stale:
                state, status = 1, 3
            elif o.is_closed and not o.is_won and not stale:
                state, status = 2, 4 if rand() < 0.5 else 5
            else:
                state, status = 0, 1 if rand() < 0.85 else 2
            name = o.name if rand() < 0.5 else f"Upsell - {o.name}"
            self._row("opportunity", "opportunity", o.opportunity_id, {
                "opportunityid": self._guid(),
                "name": name,
                "estimatedvalue": first.amount,
                "actualvalue": o.amount if state == 1 else None,
                "estimatedclosedate": first.close_date if stale else o.close_date,
                "actualclosedate": o.close_date if state != 0 else None,
                "closeprobability": first.probability if stale else o.probability,
                "statecode": state,
                "statuscode": status,
                "stepname": _STEP[first.stage if stale else o.stage],
                "parentaccountid": ids[0],
                "customerid": ids[0],
                "isocurrencycode": o.currency,
                "ownerid": self._pick(self.agent_ids),
                "createdon": _sec(created_ms),
                "modifiedon": _sec(max(created_ms, _ms_of(o.last_modified_at) if not stale
                                       else _ms_of(first.changed_at))),
            })

    def _incidents(self, accounts: dict[str, list[str]], contacts: dict[str, str]) -> None:
        rand = self.rand
        for n, case in enumerate(self.company.cases, 1):
            ids = accounts[case.customer_id]
            suffix = "".join(_B36[int(rand() * 36)] for _ in range(6))
            if case.status == "active":
                state, status = 0, (1, 1, 2, 3, 4)[int(rand() * 5)]
            elif case.status == "resolved":
                info = case.case_type == "Question" and rand() < 0.5
                state, status = 1, 1000 if info else 5
            else:
                state, status = 2, 2000 if rand() < 0.1 else 6
            self._row("incident", "case", case.case_id, {
                "incidentid": self._guid(),
                "ticketnumber": f"CAS-{1000 + n:05d}-{suffix}",
                "title": case.subject,
                "description": case.description,
                "customerid": ids[1] if len(ids) > 1 and rand() < 0.2 else ids[0],
                "primarycontactid": contacts.get(case.contact_id or ""),
                "prioritycode": _CODE[case.priority],
                "caseorigincode": _CODE[case.origin],
                "casetypecode": None if rand() < 0.05 else _CODE[case.case_type],
                "statecode": state,
                "statuscode": status,
                "ownerid": self.user_of[case.owner_id],
                "createdon": _sec(_ms_of(case.created_at)),
                "modifiedon": _sec(_ms_of(case.last_modified_at)),
            })


# --------------------------------------------------------------------------- arrow

_CHOICE_TYPES = frozenset(("Picklist", "State", "Status"))
_ARROW_TYPES: dict[str, pa.DataType] = {
    **dict.fromkeys(("Uniqueidentifier", "String", "Memo", "Lookup", "Owner", "Customer"),
                    pa.string()),
    **dict.fromkeys(("Integer", "BigInt", "Picklist", "State", "Status"), pa.int64()),
    **dict.fromkeys(("Decimal", "Double", "Money"), pa.float64()),
    "Boolean": pa.bool_(),
    "DateTime": pa.timestamp("ms", tz="UTC"),
}


def dataverse_arrow_type(attr: DataverseAttribute) -> pa.DataType:
    """The Arrow type an attribute maps to (the adapter must produce the same)."""
    if attr.attribute_type == "DateTime" and attr.date_only:
        return pa.date32()
    try:
        return _ARROW_TYPES[attr.attribute_type]
    except KeyError:
        raise ValueError(
            f"no Arrow mapping for Dataverse type {attr.attribute_type!r}"
        ) from None


def dataverse_truth_tables(org: DataverseOrg) -> dict[str, pa.Table]:
    """Typed tables exactly as the federated Dynamics source exposes them.

    One table per entity set; columns in attribute order named by logical name; every
    Picklist/State/Status column is followed by ``<name>_label`` with the option label.
    """
    out: dict[str, pa.Table] = {}
    for entity in org.entities.values():
        fields: list[pa.Field] = []
        arrays: list[pa.Array] = []
        rows = entity.records
        for attr in entity.attributes:
            t = dataverse_arrow_type(attr)
            values = [r.get(attr.logical_name) for r in rows]
            fields.append(pa.field(attr.logical_name, t))
            arrays.append(pa.array(values, t))
            if attr.attribute_type in _CHOICE_TYPES:
                labels = {o.value: o.label for o in attr.options}
                fields.append(pa.field(f"{attr.logical_name}_label", pa.string()))
                arrays.append(pa.array([None if v is None else labels[v] for v in values],
                                       pa.string()))
        out[entity.entity_set_name] = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return out
