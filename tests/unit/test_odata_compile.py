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
GUID2 = "3f2a1c9e-0000-4000-8000-00000000d366"
IN = "Microsoft.Dynamics.CRM.In"


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
    ("industrycode IN (1, 2)", f"{IN}(PropertyName='industrycode',PropertyValues=['1','2'])",
     Pushdown.EXACT),
    ("numberofemployees IN (5, 10.0)",
     f"{IN}(PropertyName='numberofemployees',PropertyValues=['5','10'])", Pushdown.EXACT),
    ("revenue IN (1.5, -2)", f"{IN}(PropertyName='revenue',PropertyValues=['1.5','-2'])",
     Pushdown.EXACT),
    ("name IN ('Acme', 'O''Brien')",
     f"""{IN}(PropertyName='name',PropertyValues=['Acme',"O'Brien"])""", Pushdown.INEXACT),
    (f"accountid IN ('{GUID}')", f"{IN}(PropertyName='accountid',PropertyValues=['{GUID}'])",
     Pushdown.EXACT),
    ("NOT (industrycode IN (1))",
     f"(not {IN}(PropertyName='industrycode',PropertyValues=['1']))", Pushdown.INEXACT),
    # In takes attribute names (not _x_value), and its string values' conversion to
    # dates, times and booleans is undocumented: these keep the eq chain.
    (f"parentaccountid IN ('{GUID}', '{GUID2}')",
     f"(_parentaccountid_value eq {GUID} or _parentaccountid_value eq {GUID2})", Pushdown.EXACT),
    ("estimatedclosedate IN (DATE '2024-02-01', DATE '2024-03-01')",
     "(estimatedclosedate eq 2024-02-01 or estimatedclosedate eq 2024-03-01)", Pushdown.EXACT),
    ("donotemail IN (true)", "(donotemail eq true)", Pushdown.EXACT),
    ("numberofemployees IN (1.5, 2)", "(numberofemployees eq 1.5 or numberofemployees eq 2)",
     Pushdown.EXACT),
    ("industrycode_label = 'Banking'", "(industrycode eq 2)", Pushdown.EXACT),
    ("industrycode_label IN ('Accounting', 'banking')",
     f"{IN}(PropertyName='industrycode',PropertyValues=['1','3'])", Pushdown.EXACT),
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
