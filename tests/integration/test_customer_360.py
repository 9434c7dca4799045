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


def test_changing_the_catalog_changes_survivors(sandbox, c360):
    raw_rules = {"customer_name": {"systems": ["sap", "netsuite", "quickbooks", "oracle",
                                               "legacy_erp", "salesforce", "hubspot",
                                               "dynamics"], "rule": "priority"}}
    raw = sandbox.catalog()
    raw["model"]["system_of_record"] = raw_rules
    with Federation(parse_catalog(raw, base_dir=Path("."))) as erp_first:
        flipped = {r["customer_id"]: r for r in erp_first.sql(
            "SELECT customer_id, customer_name_source, account_owner_source "
            "FROM customer_360").to_pylist()}
    with_erp = [r for r in c360 if r["erp_customer_ids"] and r["crm_account_ids"]]
    assert with_erp
    for row in with_erp:
        now = flipped[row["customer_id"]]
        assert now["customer_name_source"].split(":")[0] in ("sap", "netsuite", "quickbooks",
                                                             "oracle", "legacy_erp")
        assert row["customer_name_source"].split(":")[0] in ("salesforce", "hubspot",
                                                             "dynamics")
        # a field the new catalog leaves out falls back to the most recent value
        assert now["account_owner_source"] is not None or row["account_owner_source"] is None


def _usd(company, amount, currency, day):
    return company.to_usd(amount, currency, day)


def test_pipeline_and_revenue_totals_match_the_truth(sandbox, c360):
    company = sandbox.world.company
    today = company.today
    ttm_start = today.replace(year=today.year - 1)
    open_deals = [p for p in company.opportunities
                  if not p.is_closed and p.forecast_category != "Omitted" and p.amount]
    expected_open = sum(_usd(company, p.amount, p.currency, p.close_date) for p in open_deals)
    expected_won = sum(_usd(company, p.amount, p.currency, p.close_date) or 0
                       for p in company.opportunities
                       if p.is_won and ttm_start < p.close_date <= today)
    expected_booked = sum(_usd(company, o.amount, o.currency, o.order_date)
                          for o in company.orders
                          if o.status not in ("pending_approval", "cancelled")
                          and ttm_start < o.order_date <= today)
    expected_cases = sum(1 for c in company.cases if c.status == "active")
    assert sum(r["open_pipeline_amount"] for r in c360) == pytest.approx(expected_open,
                                                                          abs=0.01)
    assert sum(r["closed_won_amount_ttm"] for r in c360) == pytest.approx(expected_won,
                                                                           abs=0.01)
    assert sum(r["bookings_amount_ttm"] for r in c360) == pytest.approx(expected_booked,
                                                                         abs=0.01)
    assert sum(r["open_case_count"] for r in c360) == expected_cases
    assert sum(r["open_opportunity_count"] for r in c360) == sum(
        1 for p in company.opportunities if not p.is_closed and p.forecast_category != "Omitted")


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
