"""Differential correctness: pushdown on == pushdown off == DuckDB on the generator's truth."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import normalize

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


def ordered(sql: str) -> bool:
    return "ORDER BY" in sql and "OVER" not in sql


@pytest.mark.parametrize("sql", CORPUS)
def test_corpus_matches_truth(fed, truth, sql):
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=ordered(sql))
    pushed = normalize(fed.sql(sql), ordered=ordered(sql))
    unpushed = normalize(fed.sql(sql, pushdown=False), ordered=ordered(sql))
    assert pushed == expected
    assert unpushed == expected


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
def test_generated_predicates_match_truth(fed, truth, predicate):
    sql = f"SELECT Id FROM salesforce.Opportunity WHERE {predicate}"
    expected = normalize(truth.sql(sql).to_arrow_table())
    assert normalize(fed.sql(sql)) == expected, sql
    assert normalize(fed.sql(sql, pushdown=False)) == expected, sql
