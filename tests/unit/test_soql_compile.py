"""SOQL compilation: the text we send and how faithful we claim it is."""

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, ScanRequest, SortKey, TableInfo
from adapters.salesforce.soql import build_soql, compile_predicate, quote_string

OPP = TableInfo("Opportunity", (
    Column("Id", pa.string(), "id"),
    Column("Name", pa.string(), "string"),
    Column("Amount", pa.float64(), "currency"),
    Column("CloseDate", pa.date32(), "date"),
    Column("CreatedDate", pa.timestamp("ms", "UTC"), "datetime"),
    Column("IsWon", pa.bool_(), "boolean", nullable=False),
    Column("Description", pa.string(), "textarea", filterable=False),
    Column("NumberOfEmployees", pa.int64(), "int"),
))


def compiled(sql: str):
    return compile_predicate(OPP, sqlglot.parse_one(sql, read="duckdb"))


@pytest.mark.parametrize("sql, soql, fidelity", [
    ("Amount > 100", "Amount > 100", Pushdown.EXACT),
    ("100 <= Amount", "Amount >= 100", Pushdown.EXACT),
    ("Amount = -5.5", "Amount = -5.5", Pushdown.EXACT),
    ("Name = 'Acme'", "Name = 'Acme'", Pushdown.INEXACT),
    ("Name IN ('a', 'b')", "Name IN ('a', 'b')", Pushdown.INEXACT),
    ("Amount IN (1, 2)", "Amount IN (1, 2)", Pushdown.EXACT),
    ("Name LIKE 'Ac%'", "Name LIKE 'Ac%'", Pushdown.INEXACT),
    ("Name ILIKE 'ac%'", "Name LIKE 'ac%'", Pushdown.INEXACT),
    ("Amount IS NULL", "Amount = null", Pushdown.EXACT),
    ("Amount IS NOT NULL", "Amount != null", Pushdown.EXACT),
    ("CloseDate >= DATE '2024-01-31'", "CloseDate >= 2024-01-31", Pushdown.EXACT),
    ("CloseDate < '2024-01-31'", "CloseDate < 2024-01-31", Pushdown.EXACT),
    ("CreatedDate >= TIMESTAMP '2024-01-31 10:00:00'", "CreatedDate >= 2024-01-31T10:00:00Z",
     Pushdown.EXACT),
    ("CreatedDate >= DATE '2024-01-31'", "CreatedDate >= 2024-01-31T00:00:00Z", Pushdown.EXACT),
    ("IsWon", "IsWon = TRUE", Pushdown.EXACT),
    ("NOT IsWon", "IsWon = FALSE", Pushdown.EXACT),
    ("IsWon = false", "IsWon = FALSE", Pushdown.EXACT),
    ("Amount BETWEEN 1 AND 5", "(Amount >= 1 AND Amount <= 5)", Pushdown.EXACT),
    ("Amount > 1 OR Name = 'x'", "(Amount > 1 OR Name = 'x')", Pushdown.INEXACT),
    ("NOT (Amount > 1)", "(NOT Amount > 1)", Pushdown.INEXACT),
])
def test_pushable_predicates(sql, soql, fidelity):
    result = compiled(sql)
    assert result is not None, sql
    assert (result.text, result.pushdown) == (soql, fidelity)


@pytest.mark.parametrize("sql", [
    "Name != 'Acme'",  # case-insensitive != would drop 'ACME'
    "Name > 'M'",  # case-insensitive ranges order differently
    "Name NOT IN ('a')",
    "NOT Name LIKE 'a%'",
    "Name NOT LIKE 'a%'",
    "Name NOT ILIKE 'a%'",
    "NOT (Name = 'x')",
    "Name LIKE 'a\\%'",  # backslashes in patterns are not worth the escaping risk
    "lower(Name) = 'x'",
    "Amount > NumberOfEmployees",
    "Description = 'x'",  # not filterable
    "IsWon IS NULL",  # SOQL's boolean = null means false
    "CreatedDate > TIMESTAMP '2024-01-01 00:00:00.5'",
    "Amount > 1 OR lower(Name) = 'x'",
    "Amount = 1e5",
    "Name = 'tab\x01'",
])
def test_predicates_that_stay_local(sql):
    assert compiled(sql) is None


def test_string_literals_are_escaped():
    assert quote_string("O'Brien \\ \"q\"\n") == "'O\\'Brien \\\\ \\\"q\\\"\\n'"
    result = compiled("Name = 'O''Brien\\'")
    assert result is not None
    assert result.text == "Name = 'O\\'Brien\\\\'"


def test_build_soql_with_top_n():
    request = ScanRequest(
        table="Opportunity", columns=("Id", "Amount"),
        filters=(sqlglot.parse_one("Amount > 5"), sqlglot.parse_one("IsWon")),
        limit=10, order_by=(SortKey("Amount", descending=True, nulls_first=False),),
    )
    assert build_soql(OPP, request) == (
        "SELECT Id, Amount FROM Opportunity WHERE Amount > 5 AND IsWon = TRUE "
        "ORDER BY Amount DESC NULLS LAST LIMIT 10"
    )
