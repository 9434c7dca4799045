"""Salesforce describe types → Arrow types: what every discovered column's type rests on."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from adapters.salesforce.types import arrow_type, is_string, to_arrow

TEXT = ["id", "string", "picklist", "multipicklist", "combobox", "reference", "email", "phone",
        "url", "textarea", "encryptedstring"]


@pytest.mark.parametrize("describe_type", TEXT)
def test_text_types_are_strings(describe_type):
    assert arrow_type(describe_type) == pa.string()
    assert is_string(describe_type)


@pytest.mark.parametrize("describe_type, expected", [
    ("double", pa.float64()),
    ("currency", pa.float64()),  # SOQL returns currency and percent as JSON numbers
    ("percent", pa.float64()),
    ("int", pa.int64()),
    ("long", pa.int64()),
    ("boolean", pa.bool_()),
    ("date", pa.date32()),
    ("datetime", pa.timestamp("ms", tz="UTC")),
    ("DateTime", pa.timestamp("ms", tz="UTC")),  # describe spells types in lower case; be lenient
    ("Currency", pa.float64()),
])
def test_typed_fields(describe_type, expected):
    assert arrow_type(describe_type) == expected
    assert not is_string(describe_type)


@pytest.mark.parametrize("describe_type", ["base64", "address", "location", "time", "anyType"])
def test_types_without_a_closer_match_stay_text(describe_type):
    assert arrow_type(describe_type) == pa.string()


def test_datetimes_arrive_as_utc_instants():
    array = to_arrow(["2026-01-31T23:30:00.000+0000", None], arrow_type("datetime"))
    assert array.type == pa.timestamp("ms", tz="UTC")
    assert array.to_pylist() == [dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC), None]


def test_dates_numbers_and_booleans_convert():
    assert to_arrow(["2026-02-28", None], arrow_type("date")).to_pylist() == [
        dt.date(2026, 2, 28), None]
    assert to_arrow([1.5, None, 3], arrow_type("currency")).to_pylist() == [1.5, None, 3.0]
    assert to_arrow([7, None], arrow_type("int")).to_pylist() == [7, None]
    assert to_arrow([True, False, None], arrow_type("boolean")).to_pylist() == [True, False,
                                                                                None]


def test_a_value_that_does_not_fit_is_named():
    with pytest.raises(ValueError, match="'n/a'"):
        to_arrow([None, "n/a", 3], arrow_type("double"))
