"""HubSpot search filter groups: what we send and how faithful we claim it is."""

import datetime as dt

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, TableInfo
from adapters.hubspot.search import MULTI, body_chars, compile_groups, fits
from adapters.hubspot.types import convert

DEALS = TableInfo("deals", (
    Column("id", pa.string(), "id"),
    Column("dealname", pa.string(), "string"),
    Column("amount", pa.float64(), "number"),
    Column("dealstage", pa.string(), "enumeration"),
    Column("closedate", pa.timestamp("ms", "UTC"), "datetime"),
    Column("hs_is_closed", pa.bool_(), "bool"),
    Column("launch", pa.date32(), "date"),
    Column("hobbies", pa.string(), MULTI),
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
    # HubSpot's index may fold with lower() or casefold(): both forms keep the superset
    ("dealname IN ('Straße', 'ΟΔΟΣ', 'x')",
     [[f("dealname", "IN", values=["straße", "strasse", "οδος", "οδοσ", "x"])]],
     Pushdown.INEXACT),
    ("id IN ('1', '20')", [[f("hs_object_id", "IN", values=["1", "20"])]], Pushdown.EXACT),
    # multiple checkboxes: single options only, a superset whether matched as sets or text
    ("hobbies = 'golf'", [[f("hobbies", "EQ", "golf")]], Pushdown.INEXACT),
    ("hobbies IN ('golf', 'chess')", [[f("hobbies", "IN", values=["golf", "chess"])]],
     Pushdown.INEXACT),
    ("hobbies IS NOT NULL", [[f("hobbies", "HAS_PROPERTY")]], Pushdown.INEXACT),
])
def test_filter_groups(sql, expected, fidelity):
    assert groups(sql) == (expected, fidelity)


@pytest.mark.parametrize("sql", [
    "dealname != 'Acme'", "dealname > 'A'", "dealname LIKE 'Ac%'", "amount IS NULL",
    "NOT (dealname = 'x')", "NOT (amount > 1 AND amount < 5)", "id > '5'",
    "dealstage > 'a'", "closedate > TIMESTAMP '2024-01-01 00:00:00.0005'",
    # hs_object_id is a number: HubSpot rejects 'abc' and matches '01' to record 1
    "id = 'abc'", "id IN ('1', 'x')", "id = '01'", "id = ' 1'", "id = '²'", "id = '1\n'",
    # multiple checkboxes: negations drop 'chess;golf' for != 'golf' under set matching
    "hobbies != 'golf'", "NOT (hobbies = 'golf')", "hobbies NOT IN ('chess')",
    "hobbies = 'chess;golf'", "hobbies IN ('tennis', 'chess;golf')", "hobbies = ''",
])
def test_predicates_that_stay_local(sql):
    assert groups(sql) is None


def test_limits():
    one = [[{"x": 1}] * 6]
    assert fits(one, max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}] * 7], max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}]] * 6, max_groups=5, max_per_group=6, max_total=18)
    assert not fits([[{"x": 1}] * 5] * 4, max_groups=5, max_per_group=6, max_total=18)


def test_body_chars_counts_what_httpx_sends():
    body = {"filterGroups": [{"filters": [f("dealname", "EQ", "Straße")]}]}
    assert body_chars(body) == len(
        '{"filterGroups":[{"filters":[{"propertyName":"dealname","operator":"EQ",'
        '"value":"Straße"}]}]}') + 1  # ß is two UTF-8 bytes


_TS = pa.timestamp("ms", tz="UTC")
_MOMENT = dt.datetime(2024, 1, 17, 19, 55, 4, 281000, tzinfo=dt.UTC)


@pytest.mark.parametrize("values, target, expected", [
    (["2024-01-17T19:55:04.281Z"], _TS, [_MOMENT]),
    (["1705521304281"], _TS, [_MOMENT]),
    (["2024-01-17T19:55:04.281Z", "1705521304281", None, ""], _TS,
     [_MOMENT, _MOMENT, None, None]),
    (["1705521304281", "2024-01-17T19:55:04.281Z"], _TS, [_MOMENT, _MOMENT]),
    (["2024-01-17"], pa.date32(), [dt.date(2024, 1, 17)]),
    (["1705449600000"], pa.date32(), [dt.date(2024, 1, 17)]),
    (["2024-01-17", "1705449600000", None, "2024-01-18T00:00:00.000Z"], pa.date32(),
     [dt.date(2024, 1, 17), dt.date(2024, 1, 17), None, dt.date(2024, 1, 18)]),
    (["-86400000", "1970-01-01"], pa.date32(), [dt.date(1969, 12, 31), dt.date(1970, 1, 1)]),
])
def test_dates_per_value_iso_or_epoch_milliseconds(values, target, expected):
    assert convert(values, target).to_pylist() == expected


@pytest.mark.parametrize("values, target", [
    (["1705521304281", "not a date"], _TS), (["soon", "1705449600000"], pa.date32()),
])
def test_a_bad_date_is_named_even_on_a_mixed_page(values, target):
    with pytest.raises(ValueError, match="'(not a date|soon)'"):
        convert(values, target)
