"""HubSpot search filter groups: what we send and how faithful we claim it is."""

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, TableInfo
from adapters.hubspot.search import compile_groups, fits

DEALS = TableInfo("deals", (
    Column("id", pa.string(), "id"),
    Column("dealname", pa.string(), "string"),
    Column("amount", pa.float64(), "number"),
    Column("dealstage", pa.string(), "enumeration"),
    Column("closedate", pa.timestamp("ms", "UTC"), "datetime"),
    Column("hs_is_closed", pa.bool_(), "bool"),
    Column("launch", pa.date32(), "date"),
))


def groups(sql):
    result = compile_groups(DEALS, sqlglot.parse_one(sql, read="duckdb"))
    return None if result is None else (result.text, result.pushdown)


def f(prop, op, value=None, values=None):
    out = {"propertyName": prop, "operator": op}
    if value is not None:
        out["value"] = value
    if values is not None:
        out["values"] = values
    return out


@pytest.mark.parametrize("sql, expected, fidelity", [
    ("amount > 100", [[f("amount", "GT", "100")]], Pushdown.EXACT),
    ("amount != 100", [[f("amount", "NEQ", "100")]], Pushdown.INEXACT),
    ("dealstage = 'closedwon'", [[f("dealstage", "EQ", "closedwon")]], Pushdown.EXACT),
    ("dealname = 'Acme'", [[f("dealname", "EQ", "Acme")]], Pushdown.INEXACT),
    ("dealname IN ('Acme', 'B')", [[f("dealname", "IN", values=["acme", "b"])]],
     Pushdown.INEXACT),
    ("dealstage IN ('closedwon')", [[f("dealstage", "IN", values=["closedwon"])]],
     Pushdown.EXACT),
    ("id = '9000000001'", [[f("hs_object_id", "EQ", "9000000001")]], Pushdown.EXACT),
    ("hs_is_closed", [[f("hs_is_closed", "EQ", "true")]], Pushdown.EXACT),
    ("closedate >= DATE '2024-01-01'", [[f("closedate", "GTE", "1704067200000")]],
     Pushdown.EXACT),
    ("launch < '2024-01-02'", [[f("launch", "LT", "1704153600000")]], Pushdown.EXACT),
    ("amount IS NOT NULL", [[f("amount", "HAS_PROPERTY")]], Pushdown.INEXACT),
    ("amount > 1 OR dealstage = 'x'", [[f("amount", "GT", "1")], [f("dealstage", "EQ", "x")]],
     Pushdown.EXACT),
    ("(amount > 1 OR amount < 0) AND hs_is_closed",
     [[f("amount", "GT", "1"), f("hs_is_closed", "EQ", "true")],
      [f("amount", "LT", "0"), f("hs_is_closed", "EQ", "true")]], Pushdown.EXACT),
    ("NOT (amount > 5)", [[f("amount", "LTE", "5")]], Pushdown.INEXACT),
])
def test_filter_groups(sql, expected, fidelity):
    assert groups(sql) == (expected, fidelity)


@pytest.mark.parametrize("sql", [
    "dealname != 'Acme'", "dealname > 'A'", "dealname LIKE 'Ac%'", "amount IS NULL",
    "NOT (dealname = 'x')", "NOT (amount > 1 AND amount < 5)", "id > '5'",
    "dealstage > 'a'", "closedate > TIMESTAMP '2024-01-01 00:00:00.0005'",
])
def test_predicates_that_stay_local(sql):
    assert groups(sql) is None


def test_limits():
    one = [[{"x": 1}] * 6]
    assert fits(one, max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}] * 7], max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}]] * 6, max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}] * 5] * 4, max_groups=5, max_per_group=6, max_total=18)
