"""Differential correctness: pushdown on == pushdown off == DuckDB on the generator's truth.

The pushdown side runs on ``uncached_fed`` (no scan cache), so every filter really goes to
the simulator as SOQL, a HubSpot search or an OData ``$filter``, and each check asserts it
did: with the cache on, the first ``pushdown=False`` scan of a table would answer every
later filtered scan and the native requests would never be tested.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import assert_pushdown_matches_truth

CORPUS = [
    # filters of every type
    "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 50000",
    "SELECT Id FROM salesforce.Opportunity WHERE Amount IS NULL",
    "SELECT Id FROM salesforce.Opportunity WHERE Amount BETWEEN 1000 AND 20000 AND NOT IsWon",
    "SELECT Id FROM salesforce.Opportunity WHERE StageName = 'Closed Won'",
    "SELECT Id FROM salesforce.Opportunity WHERE StageName = 'closed won'",
    "SELECT Id FROM salesforce.Opportunity "
    "WHERE StageName IN ('Prospecting', 'negotiation/review')",
    "SELECT Id FROM salesforce.Opportunity WHERE StageName != 'Closed Lost'",
    "SELECT Id FROM salesforce.Opportunity WHERE Name LIKE '%o''b%' OR Name ILIKE '%müller%'",
    "SELECT Id FROM salesforce.Account WHERE Name LIKE '%\\%'",
    "SELECT Id FROM salesforce.Account WHERE Name NOT LIKE 'A%' AND Name NOT ILIKE '%inc%'",
    "SELECT Id FROM salesforce.Opportunity WHERE CloseDate >= DATE '2026-01-01' AND IsClosed",
    "SELECT Id FROM salesforce.Opportunity WHERE CloseDate < '2025-03-31'",
    "SELECT Id FROM salesforce.Opportunity WHERE CreatedDate >= TIMESTAMP '2025-06-01 12:00:00'",
    "SELECT Id FROM salesforce.Opportunity WHERE NOT (Amount > 10000 OR IsWon)",
    "SELECT Id FROM salesforce.Opportunity WHERE lower(StageName) = 'closed won' AND Amount > 0",
    "SELECT Id FROM salesforce.Opportunity WHERE Probability >= 50 AND FiscalYear = 2025",
    "SELECT Id FROM salesforce.Account WHERE Industry IS NULL OR Industry = 'Technology'",
    # aggregates, grouping, windows
    "SELECT StageName, count(*), sum(Amount) FROM salesforce.Opportunity GROUP BY StageName",
    "SELECT count(*) FROM salesforce.Opportunity WHERE IsWon",
    "SELECT OwnerId, Id, rank() OVER (PARTITION BY OwnerId ORDER BY Amount DESC NULLS LAST, Id) "
    "AS r FROM salesforce.Opportunity WHERE Amount > 1000 QUALIFY r <= 2",
    # top-N with a total order
    "SELECT Id, Amount FROM salesforce.Opportunity ORDER BY Amount DESC NULLS LAST, Id LIMIT 7",
    "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 100 ORDER BY Amount LIMIT 5",
    "SELECT Id, CloseDate FROM salesforce.Opportunity WHERE IsWon ORDER BY CloseDate DESC, Id "
    "LIMIT 3 OFFSET 2",
    "SELECT Name FROM salesforce.Account ORDER BY Name LIMIT 5",
    # joins
    "SELECT a.Name, sum(o.Amount) FROM salesforce.Opportunity o JOIN salesforce.Account a "
    "ON o.AccountId = a.Id WHERE o.IsWon AND a.Industry = 'Technology' GROUP BY a.Name",
    "SELECT o.Id, u.Name FROM salesforce.Opportunity o LEFT JOIN salesforce.User u "
    "ON o.OwnerId = u.Id AND u.IsActive WHERE o.Amount > 90000",
    "SELECT a.Id FROM salesforce.Account a LEFT JOIN salesforce.Opportunity o "
    "ON o.AccountId = a.Id WHERE o.Id IS NULL",
    "SELECT a.Id, o.Id FROM salesforce.Account a FULL JOIN salesforce.Opportunity o "
    "ON o.AccountId = a.Id AND o.Amount > 50000 WHERE a.Industry = 'Retail'",
    "SELECT p.Family, sum(li.TotalPrice) FROM salesforce.OpportunityLineItem li "
    "JOIN salesforce.Product2 p ON li.Product2Id = p.Id GROUP BY p.Family",
    "SELECT o1.Id FROM salesforce.Opportunity o1 JOIN salesforce.Opportunity o2 "
    "ON o1.AccountId = o2.AccountId AND o1.Id < o2.Id WHERE o1.Amount > 95000",
    # subqueries and CTEs
    "WITH won AS (SELECT * FROM salesforce.Opportunity WHERE IsWon) "
    "SELECT AccountId, count(*) FROM won WHERE Amount > 20000 GROUP BY AccountId",
    "SELECT * FROM (SELECT Id, Amount, StageName FROM salesforce.Opportunity) t "
    "WHERE t.Amount < 500",
    "SELECT Id FROM salesforce.Account WHERE Id IN "
    "(SELECT AccountId FROM salesforce.Opportunity WHERE Amount > 90000)",
    "SELECT Id FROM salesforce.Account a WHERE EXISTS (SELECT 1 FROM salesforce.Opportunity o "
    "WHERE o.AccountId = a.Id AND o.IsWon AND o.Amount > 80000)",
    "SELECT Id FROM salesforce.Opportunity WHERE Amount > "
    "(SELECT avg(Amount) FROM salesforce.Opportunity)",
    "SELECT Id FROM salesforce.Opportunity WHERE IsWon UNION ALL "
    "SELECT Id FROM salesforce.Opportunity WHERE Amount < 100",
    "SELECT count(*) FROM salesforce.Competitor__c c JOIN salesforce.Opportunity o "
    "ON c.Opportunity__c = o.Id WHERE c.Threat_Level__c = 'High'",
]


@pytest.mark.parametrize("sql", CORPUS)
def test_corpus_matches_truth(uncached_fed, fed, truth, sql):
    assert_pushdown_matches_truth(uncached_fed, fed, truth, sql)


def test_filters_reach_the_simulator_even_after_a_whole_table_scan(uncached_fed, fed, truth,
                                                                   salesforce_sim):
    """The pushdown side is not answered by a cached whole-table scan: the SOQL the
    simulator receives carries the WHERE clause."""
    sql = "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount > 50000"
    fed.sql(sql, pushdown=False)  # caches the whole table in the shared federation
    salesforce_sim.reset_stats()
    assert_pushdown_matches_truth(uncached_fed, fed, truth, sql)
    assert any("WHERE Amount > 50000" in soql for soql in salesforce_sim.stats.soql)
    scan = uncached_fed.last_stats.scans[0]
    assert not scan.cache_hit and scan.pushed == [{"predicate": "Amount > 50000",
                                                   "fidelity": "exact"}]


# -- generated predicates ----------------------------------------------------------------

TRICKY_TEXT = st.lists(
    st.sampled_from(list("aAbBoO '\\%_éÉü東-") + ["Won", "won", "Closed", "Acme", "acme"]),
    max_size=6,
).map("".join)
STAGES = ["Prospecting", "Closed Won", "closed won", "CLOSED LOST", "Negotiation/Review",
          "Qualification", "Value Proposition"]


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def atoms(draw) -> str:
    kind = draw(st.sampled_from(["str", "stage", "num", "date", "ts", "bool", "null", "in",
                                 "like"]))
    if kind == "str":
        op = draw(st.sampled_from(["=", "!=", "<", ">="]))
        return f"Name {op} {quote(draw(TRICKY_TEXT))}"
    if kind == "stage":
        op = draw(st.sampled_from(["=", "!=", "<>"]))
        return f"StageName {op} {quote(draw(st.sampled_from(STAGES)))}"
    if kind == "num":
        column = draw(st.sampled_from(["Amount", "Probability", "FiscalYear", "ExpectedRevenue"]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        value = draw(st.one_of(st.integers(-10, 120000), st.sampled_from([0, 2025, 50, 10.5])))
        return f"{column} {op} {value}"
    if kind == "date":
        op = draw(st.sampled_from(["=", "<", ">=", "!="]))
        day = draw(st.dates(min_value=__import__("datetime").date(2024, 1, 1),
                            max_value=__import__("datetime").date(2027, 12, 31)))
        return f"CloseDate {op} DATE '{day.isoformat()}'"
    if kind == "ts":
        op = draw(st.sampled_from(["<", ">="]))
        moment = draw(st.datetimes(min_value=__import__("datetime").datetime(2024, 1, 1),
                                   max_value=__import__("datetime").datetime(2026, 12, 31)))
        return f"CreatedDate {op} TIMESTAMP '{moment.replace(microsecond=0)}'"
    if kind == "bool":
        return draw(st.sampled_from(["IsWon", "IsClosed", "NOT IsWon", "IsWon = false"]))
    if kind == "null":
        column = draw(st.sampled_from(["Amount", "LeadSource", "Type", "CloseDate"]))
        return f"{column} IS {draw(st.sampled_from(['', 'NOT ']))}NULL"
    if kind == "in":
        values = draw(st.lists(st.sampled_from(STAGES), min_size=1, max_size=3))
        negate = draw(st.sampled_from(["", "NOT "]))
        return f"StageName {negate}IN ({', '.join(quote(v) for v in values)})"
    pattern = draw(TRICKY_TEXT)
    op = draw(st.sampled_from(["LIKE", "ILIKE", "NOT LIKE"]))
    return f"Name {op} {quote('%' + pattern + '%')}"


predicates = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
        st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
        inner.map(lambda p: f"NOT ({p})"),
    ),
    max_leaves=4,
)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(predicate=predicates)
def test_generated_predicates_match_truth(uncached_fed, fed, truth, predicate):
    sql = f"SELECT Id FROM salesforce.Opportunity WHERE {predicate}"
    assert_pushdown_matches_truth(uncached_fed, fed, truth, sql)


# -- HubSpot, Dynamics 365, and all three CRMs at once -----------------------------------

CRM_CORPUS = [
    "SELECT id, dealname, amount FROM hubspot.deals WHERE amount > 20000",
    "SELECT id FROM hubspot.deals WHERE dealstage = 'closedwon' AND deal_currency_code = 'GBP'",
    "SELECT id FROM hubspot.deals WHERE dealstage IN ('closedwon', 'ClosedLost', 'contractsent')",
    "SELECT id FROM hubspot.deals WHERE hs_is_closed_won OR amount IS NULL",
    "SELECT id FROM hubspot.deals WHERE closedate >= DATE '2026-01-01' AND NOT hs_is_closed",
    "SELECT id FROM hubspot.companies WHERE name = 'acme' OR domain LIKE '%.co.uk'",
    "SELECT id FROM hubspot.contacts WHERE email IN ('x@y.z') OR lifecyclestage = 'customer'",
    "SELECT s.label, count(*) FROM hubspot.deals d JOIN hubspot.deal_stages s "
    "ON s.id = d.dealstage GROUP BY s.label",
    "SELECT c.name, sum(d.amount) FROM hubspot.deals d JOIN hubspot.deal_companies dc "
    "ON dc.deal_id = d.id JOIN hubspot.companies c ON c.id = dc.company_id "
    "WHERE dc.type_id = 5 GROUP BY c.name",
    "SELECT o.email, count(*) FROM hubspot.deals d JOIN hubspot.owners o "
    "ON o.id = d.hubspot_owner_id GROUP BY o.email",
    "SELECT deal_id FROM hubspot.deal_contacts WHERE deal_id IN "
    "(SELECT id FROM hubspot.deals WHERE amount > 50000)",
    "SELECT id, amount FROM hubspot.deals ORDER BY amount DESC NULLS LAST, id LIMIT 5",
    "SELECT accountid, name FROM dynamics.accounts WHERE name LIKE 'A%' AND statecode = 0",
    "SELECT accountid FROM dynamics.accounts WHERE industrycode_label IN ('Accounting', "
    "'Retail') OR revenue > 1000000",
    "SELECT incidentid FROM dynamics.incidents WHERE prioritycode_label = 'High' "
    "AND createdon >= TIMESTAMP '2025-06-01 00:00:00'",
    "SELECT incidentid FROM dynamics.incidents WHERE title ILIKE '%login%' OR statecode != 0",
    "SELECT opportunityid FROM dynamics.opportunities WHERE estimatedclosedate < DATE "
    "'2026-01-01' AND estimatedvalue BETWEEN 1000 AND 50000",
    "SELECT a.name, count(*) FROM dynamics.incidents i JOIN dynamics.accounts a "
    "ON i.customerid = a.accountid GROUP BY a.name",
    "SELECT c.fullname FROM dynamics.contacts c LEFT JOIN dynamics.accounts a "
    "ON c.parentcustomerid = a.accountid WHERE a.accountid IS NULL",
    "SELECT name, revenue FROM dynamics.accounts ORDER BY revenue DESC, accountid LIMIT 4",
    "SELECT fullname FROM dynamics.systemusers WHERE NOT isdisabled",
    # all three CRMs in one query
    "SELECT 'salesforce' AS crm, count(*) FROM salesforce.Opportunity WHERE IsWon "
    "UNION ALL SELECT 'hubspot', count(*) FROM hubspot.deals WHERE hs_is_closed_won "
    "UNION ALL SELECT 'dynamics', count(*) FROM dynamics.opportunities WHERE statecode = 1",
    "SELECT lower(a.Website), count(DISTINCT c.id) FROM salesforce.Account a "
    "JOIN hubspot.companies c ON lower(c.domain) = "
    "lower(regexp_replace(a.Website, '^https?://(www\\.)?', '')) GROUP BY 1",
    "SELECT a.Name, count(i.incidentid) FROM salesforce.Account a JOIN dynamics.accounts d "
    "ON lower(d.name) = lower(a.Name) JOIN dynamics.incidents i ON i.customerid = d.accountid "
    "WHERE i.prioritycode_label = 'High' GROUP BY a.Name",
]


@pytest.mark.parametrize("sql", CRM_CORPUS)
def test_crm_corpus_matches_truth(uncached_fed, fed, truth, sql):
    assert_pushdown_matches_truth(uncached_fed, fed, truth, sql)


GENERATED = {
    ("hubspot", "deals"): ["id", "dealname", "amount", "dealstage", "closedate", "hs_is_closed",
                           "hs_is_closed_won", "deal_currency_code", "hs_deal_stage_probability",
                           "dealtype", "createdate"],
    ("hubspot", "companies"): ["id", "name", "domain", "industry", "annualrevenue",
                               "numberofemployees", "country", "lifecyclestage"],
    ("dynamics", "accounts"): ["name", "revenue", "numberofemployees", "industrycode",
                               "industrycode_label", "statecode", "createdon", "address1_city",
                               "ownerid"],
    ("dynamics", "incidents"): ["title", "prioritycode", "prioritycode_label", "statecode",
                                "caseorigincode_label", "createdon", "customerid"],
    ("salesforce", "Account"): ["Name", "Industry", "AnnualRevenue", "NumberOfEmployees",
                                "BillingCountry", "CreatedDate", "Segment__c"],
}
KEYS = {("dynamics", "accounts"): "accountid", ("dynamics", "incidents"): "incidentid"}


@pytest.mark.parametrize("system, table", sorted(GENERATED))
def test_generated_predicates_match_truth_per_adapter(uncached_fed, fed, truth, truth_tables,
                                                     system, table):
    from tests.predicates import predicates as generic

    data = truth_tables[system][table]
    key = KEYS.get((system, table), "Id" if system == "salesforce" else "id")

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(predicate=generic(data, GENERATED[(system, table)]))
    def check(predicate):
        sql = f'SELECT "{key}" FROM {system}."{table}" WHERE {predicate}'
        assert_pushdown_matches_truth(uncached_fed, fed, truth, sql)

    check()
