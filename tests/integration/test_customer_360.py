"""customer_360 and survivorship: survivors follow the catalog's system-of-record rules
(and change with the catalog alone), revenue figures add up to the generator's truth, and
injected master-data conflicts show up in customer_field_conflicts."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation

RULED_FIELDS = ("customer_name", "legal_name", "credit_limit", "account_owner", "phone")


@pytest.fixture(scope="module")
def c360(fed):
    return fed.sql("SELECT * FROM customer_360").to_pylist()


def _members(fed) -> dict[str, list[dict]]:
    rows = fed.sql("SELECT x.customer_id, a.* FROM account_xref x JOIN source_accounts a "
                   "USING (source_system, source_account_id)").to_pylist()
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        out[r["customer_id"]].append(r)
    return out


def _expected_survivor(members: list[dict], column: str, systems: list[str]) -> str | None:
    """The first listed system's value; within a system, the most recently updated."""
    offers = [m for m in members if not m["is_deleted"] and m[column] not in (None, "")
              and m["source_system"] in systems]
    if not offers:
        return None
    best = min(offers, key=lambda m: (systems.index(m["source_system"]),
                                      -m["updated_at"].timestamp(), m["source_system"],
                                      m["source_account_id"]))
    return f"{best['source_system']}:{best['source_account_id']}"


SOURCE_COLUMN = {"customer_name": "account_name", "legal_name": "legal_name",
                 "credit_limit": "credit_limit", "phone": "phone"}


def test_survivors_follow_the_catalog_rules(fed, sandbox, c360):
    rules = sandbox.catalog()["model"]["system_of_record"]
    members = _members(fed)
    checked = 0
    for row in c360:
        for field, column in SOURCE_COLUMN.items():
            expected = _expected_survivor(members[row["customer_id"]], column,
                                          rules[field]["systems"])
            assert row[f"{field}_source"] == expected, (row["customer_id"], field)
            checked += expected is not None
    assert checked > len(c360)  # most customers have several surviving fields


def test_changing_the_catalog_changes_survivors(fed, sandbox, c360):
    erp_first = ["sap", "netsuite", "quickbooks", "oracle", "legacy_erp", "salesforce",
                 "hubspot", "dynamics"]
    raw = sandbox.catalog()
    raw["model"]["system_of_record"] = {"customer_name": {"systems": erp_first,
                                                          "rule": "priority"}}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as flipped_fed:
        flipped = {r["customer_id"]: r for r in flipped_fed.sql(
            "SELECT customer_id, customer_name_source, account_owner_source "
            "FROM customer_360").to_pylist()}
    members = _members(fed)
    changed = 0
    for row in c360:
        now = flipped[row["customer_id"]]
        expected = _expected_survivor(members[row["customer_id"]], "account_name", erp_first)
        assert now["customer_name_source"] == expected
        changed += now["customer_name_source"] != row["customer_name_source"]
        # a field the new catalog no longer configures takes the most recent value
        assert (now["account_owner_source"] is None) == (row["account_owner_source"] is None)
    assert changed > len(c360) // 10  # many customers now show their ERP name


def test_revenue_adds_up_to_the_revenue_views_and_cases_to_the_truth(fed, sandbox, c360):
    """Every deal and order with an account lands on a golden customer (none lost to an
    unmatched account; HubSpot deals associated with no company have none); the revenue
    views' own totals are checked against the truth in test_revenue_views.py."""
    totals = fed.sql("""
        SELECT (SELECT sum(amount_corporate) FROM pipeline WHERE customer_id IS NOT NULL)
                   AS open_pipeline,
               (SELECT sum(weighted_amount_corporate) FROM pipeline
                WHERE customer_id IS NOT NULL) AS weighted,
               (SELECT count(*) FROM pipeline WHERE customer_id IS NOT NULL) AS open_count,
               (SELECT sum(net_amount_corporate) FROM bookings, concord.settings s
                WHERE order_date > s.as_of_date - INTERVAL 12 MONTH
                  AND order_date <= s.as_of_date) AS booked_ttm,
               (SELECT count(*) FROM opportunities WHERE customer_id IS NULL
                AND source_account_id IS NOT NULL) AS orphans
    """).to_pylist()[0]
    assert totals["orphans"] == 0
    assert sum(r["open_pipeline_amount"] for r in c360) == pytest.approx(
        totals["open_pipeline"], abs=0.01 * len(c360))
    assert sum(r["weighted_pipeline_amount"] for r in c360) == pytest.approx(
        totals["weighted"], abs=0.01 * len(c360))
    assert sum(r["open_opportunity_count"] for r in c360) == totals["open_count"]
    assert sum(r["bookings_amount_ttm"] for r in c360) == pytest.approx(
        totals["booked_ttm"], abs=0.01 * len(c360))
    company = sandbox.world.company
    assert sum(r["open_case_count"] for r in c360) == sum(
        1 for c in company.cases if c.status == "active")


def test_every_source_record_belongs_to_exactly_one_customer(fed, c360):
    counts = fed.sql("SELECT count(*) AS n, count(DISTINCT source_system || ':' || "
                     "source_account_id) AS records FROM source_accounts").to_pylist()[0]
    assert sum(r["source_record_count"] for r in c360) == counts["records"] == counts["n"]
    assert len({r["customer_id"] for r in c360}) == len(c360)


def test_injected_phone_conflicts_are_listed(fed, sandbox):
    """An ERP phone that disagrees with the CRMs' is a conflict; formats are not."""
    xwalk = sandbox.world.crosswalk.to_pylist()
    truth_of = {(r["system"], r["record_id"]): r["truth_id"] for r in xwalk
                if r["entity"] == "customer"}
    conflicts = fed.sql("SELECT customer_id, field_name, source_system, source_account_id "
                        "FROM customer_field_conflicts WHERE field_name = 'phone'").to_pylist()
    flagged = {(truth_of.get((r["source_system"], r["source_account_id"])), r["source_system"])
               for r in conflicts}
    injected = {(m.customer_id, m.system) for m in sandbox.world.company.master_conflicts
                if m.field == "phone" and m.truth_value}
    assert injected, "the sandbox injects phone conflicts"
    assert injected <= flagged
