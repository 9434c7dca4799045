"""Steward override files: good rows load, bad rows fail naming the file and line."""

from __future__ import annotations

import datetime as dt

import pytest

from federation.errors import CatalogError
from views.identity import Override, load_overrides

HEADER = "kind,source_system_l,source_account_id_l,source_system_r,source_account_id_r,note," \
         "decided_at\n"


def test_csv_rows_load(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text(HEADER + "must_link,salesforce,001A,netsuite,1042,same company,2026-05-01\n"
                    "\n"
                    "Cannot_Link,hubspot,17,dynamics,abc,parent vs subsidiary,\n")
    got = load_overrides(path)
    assert got[0] == Override("must_link", "salesforce", "001A", "netsuite", "1042",
                              "same company", dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    assert got[1].kind == "cannot_link" and got[1].decided_at is None


@pytest.mark.parametrize(("row", "message"), [
    ("merge,salesforce,1,netsuite,2,,", r"overrides.csv:3: kind 'merge'"),
    ("must_link,salesforce,,netsuite,2,,", r"overrides.csv:3: missing source_account_id_l"),
    ("must_link,sap,1,sap,1,,", r"overrides.csv:3: both sides name the same record"),
    ("must_link,sap,1,sap,2,,yesterday", r"overrides.csv:3: decided_at 'yesterday'"),
])
def test_bad_csv_rows_name_file_and_line(tmp_path, row, message):
    path = tmp_path / "overrides.csv"
    path.write_text(HEADER + "must_link,salesforce,001A,netsuite,1042,,\n" + row + "\n")
    with pytest.raises(CatalogError, match=message):
        load_overrides(path)


def test_header_contradictions_and_missing_file(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("kind,left,right\nmust_link,a,b\n")
    with pytest.raises(CatalogError, match=r"o.csv:1: header lacks source_system_l"):
        load_overrides(path)
    path.write_text(HEADER + "must_link,a,1,b,2,,\ncannot_link,b,2,a,1,,\n")
    with pytest.raises(CatalogError, match="override 2 .cannot_link. contradicts override 1"):
        load_overrides(path)
    with pytest.raises(CatalogError, match="does not exist"):
        load_overrides(tmp_path / "missing.csv")


def test_yaml_file(tmp_path):
    path = tmp_path / "overrides.yaml"
    path.write_text("- {kind: cannot_link, source_system_l: sap, source_account_id_l: '0001',"
                    " source_system_r: oracle, source_account_id_r: '3000', note: x}\n"
                    "- {kind: must_link, source_system_l: sap}\n")
    with pytest.raises(CatalogError, match=r"overrides.yaml: override 2: missing"):
        load_overrides(path)
    path.write_text("- {kind: cannot_link, source_system_l: sap, source_account_id_l: '0001',"
                    " source_system_r: oracle, source_account_id_r: '3000'}\n")
    assert load_overrides(path)[0].right == ("oracle", "3000")
