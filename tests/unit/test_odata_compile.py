"""Dataverse $filter compilation."""

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, SortKey, TableInfo
from adapters.dynamics.odata import FilterCompiler, can_sort

ACCOUNTS = TableInfo("accounts", (
    Column("accountid", pa.string(), "Uniqueidentifier"),
    Column("name", pa.string(), "String"),
    Column("revenue", pa.float64(), "Money"),
    Column("numberofemployees", pa.int64(), "Integer"),
    Column("industrycode", pa.int64(), "Picklist"),
    Column("industrycode_label", pa.string(), "label"),
    Column("parentaccountid", pa.string(), "Lookup"),
    Column("createdon", pa.timestamp("ms", "UTC"), "DateTime"),
    Column("estimatedclosedate", pa.date32(), "DateTime"),
    Column("donotemail", pa.bool_(), "Boolean"),
))
COMPILER = FilterCompiler({"industrycode_label": {1: "Accounting", 2: "Banking", 3: "banking"}})
GUID = "3f2a1c9e-0000-4000-8000-00000000d365"


def compiled(sql):
    result = COMPILER.compile(ACCOUNTS, sqlglot.parse_one(sql, read="duckdb"))
    return None if result is None else (result.text, result.pushdown)


@pytest.mark.parametrize("sql, text, fidelity", [
    ("revenue > 1000", "revenue gt 1000", Pushdown.EXACT),
    ("revenue != 1000", "revenue ne 1000", Pushdown.INEXACT),
    ("name = 'O''Brien'", "name eq 'O''Brien'", Pushdown.INEXACT),
    ("name LIKE 'Ac%'", "startswith(name,'Ac')", Pushdown.INEXACT),
    ("name LIKE '%Ac'", "endswith(name,'Ac')", Pushdown.INEXACT),
    ("name ILIKE '%ac%'", "contains(name,'ac')", Pushdown.INEXACT),
    ("industrycode IN (1, 2)", "(industrycode eq 1 or industrycode eq 2)", Pushdown.EXACT),
    ("industrycode_label = 'Banking'", "(industrycode eq 2)", Pushdown.EXACT),
    ("industrycode_label IN ('Accounting', 'banking')",
     "(industrycode eq 1 or industrycode eq 3)", Pushdown.EXACT),
    (f"parentaccountid = '{GUID}'", f"_parentaccountid_value eq {GUID}", Pushdown.EXACT),
    ("parentaccountid IS NULL", "_parentaccountid_value eq null", Pushdown.EXACT),
    ("createdon >= TIMESTAMP '2024-01-01 10:00:00'", "createdon ge 2024-01-01T10:00:00Z",
     Pushdown.EXACT),
    ("estimatedclosedate < DATE '2024-02-01'", "estimatedclosedate lt 2024-02-01",
     Pushdown.EXACT),
    ("donotemail", "donotemail eq true", Pushdown.EXACT),
    ("revenue > 1 OR numberofemployees < 5", "(revenue gt 1 or numberofemployees lt 5)",
     Pushdown.EXACT),
    ("NOT (revenue > 1)", "(not revenue gt 1)", Pushdown.INEXACT),
])
def test_filters(sql, text, fidelity):
    assert compiled(sql) == (text, fidelity)


@pytest.mark.parametrize("sql", [
    "name != 'x'", "name < 'b'", "name LIKE 'a%b%'", "name LIKE '[a]%'", "name LIKE 'a_c%'",
    "parentaccountid = 'not-a-guid'", "industrycode_label = 'Nope'",
    "industrycode_label != 'Banking'", "NOT (name = 'x')", "upper(name) = 'X'",
])
def test_stays_local(sql):
    assert compiled(sql) is None


def test_sorting_matches_sql_server_null_order():
    assert can_sort(ACCOUNTS, SortKey("revenue", descending=True, nulls_first=False))
    assert can_sort(ACCOUNTS, SortKey("revenue", descending=False, nulls_first=True))
    assert not can_sort(ACCOUNTS, SortKey("revenue", descending=False, nulls_first=False))
    assert not can_sort(ACCOUNTS, SortKey("name", descending=True, nulls_first=False))
