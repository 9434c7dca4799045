"""The dashboards' plain parts: SQL builders, reshaping, figures and the loader, without
Streamlit. Figures are checked as figure JSON against the rows they were built from."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dashboards import figures, queries, shaping
from dashboards.loader import Loader, Progress
from federation.errors import QueryError

QUARTERS = [
    {"fiscal_year": 2026, "fiscal_quarter": 1, "crm_closed_won_amount": 100.0,
     "erp_booked_amount": 90.0, "erp_billed_amount": 50.0, "open_pipeline_amount": 400.0,
     "commit_amount": 120.0, "best_case_amount": 80.0, "weighted_pipeline_amount": 150.0},
    {"fiscal_year": 2026, "fiscal_quarter": 2, "crm_closed_won_amount": None,
     "erp_booked_amount": 10.0, "erp_billed_amount": 0.0, "open_pipeline_amount": 30.0,
     "commit_amount": 0.0, "best_case_amount": 30.0, "weighted_pipeline_amount": 9.0},
]


def test_rows_with_an_id():
    ids = pa.table({"order_id": ["a", None, "b"]})
    assert shaping.with_id(ids, "order_id", "b").num_rows == 1


def test_slices_never_mix_dimensions_and_detail_follows_the_slice():
    rollup = [{"dimension": "total", "region": None, "owner_name": None, "x": 1},
              {"dimension": "region", "region": "EMEA", "owner_name": None, "x": 2},
              {"dimension": "region", "region": "AMER", "owner_name": None, "x": 3},
              {"dimension": "owner", "region": None, "owner_name": "Ada", "x": 4}]
    emea = queries.Slice("Region", "EMEA")
    assert [r["x"] for r in shaping.slice_rows(rollup, queries.Slice())] == [1]
    assert [r["x"] for r in shaping.slice_rows(rollup, emea)] == [2]
    assert shaping.slice_values(rollup, "Region") == ["AMER", "EMEA"]
    assert shaping.slice_values(rollup, "Everything") == []
    deals = pa.table({"fiscal_year": [2026, 2026, 2026, 2025], "fiscal_quarter": [1, 1, 1, 1],
                      "region": ["EMEA", None, "AMER", "EMEA"], "id": ["a", "b", "c", "d"]})
    assert shaping.in_quarter(deals, emea, 2026, 1).column("id").to_pylist() == ["a"]
    assert shaping.in_quarter(deals, queries.Slice(), 2026, 1).num_rows == 3


def test_customer_search_and_rows_of_one_customer():
    customers = [{"customer_id": "C-1", "customer_name": "Acme GmbH", "legal_name": None,
                  "domain": "acme.de"},
                 {"customer_id": "C-2", "customer_name": "Globex", "legal_name": "Globex Inc.",
                  "domain": None}]
    assert [c["customer_id"] for c in shaping.search_customers(customers, " ACME.DE ")] == ["C-1"]
    assert [c["customer_id"] for c in shaping.search_customers(customers, "inc")] == ["C-2"]
    assert shaping.search_customers(customers, "zzz") == []
    links = pa.table({"customer_id": ["C-1", "C-2", None], "system": ["sf", "ns", "qb"]})
    assert shaping.of_customer(links, "C-1").to_pylist() == [{"system": "sf"}]


def test_won_booked_billed_is_grouped_bars_of_the_rows():
    fig = figures.won_booked_billed(QUARTERS).to_dict()
    assert fig["layout"]["barmode"] == "group"
    assert [t["name"] for t in fig["data"]] == ["CRM closed-won", "ERP booked", "ERP billed"]
    assert list(fig["data"][0]["x"]) == ["FY26 Q1", "FY26 Q2"]
    assert list(fig["data"][0]["y"]) == [100.0, 0.0]  # nothing won shows as zero
    assert list(fig["data"][1]["y"]) == [90.0, 10.0]


def test_pipeline_stack_adds_up_to_the_open_pipeline():
    fig = figures.pipeline_by_forecast(QUARTERS).to_dict()
    assert fig["layout"]["barmode"] == "stack"
    stacked = [t for t in fig["data"] if t.get("offsetgroup") == "open"]
    assert [t["name"] for t in stacked] == ["Commit", "Best case", "Pipeline"]
    for i, row in enumerate(QUARTERS):
        assert sum(t["y"][i] for t in stacked) == pytest.approx(row["open_pipeline_amount"])
    booked = next(t for t in fig["data"] if t.get("offsetgroup") == "booked")
    assert list(booked["y"]) == [90.0, 10.0]


def test_exceptions_summary_filter_and_chart():
    rows = [{"check_code": c, "severity": s, "tolerance": 1.0, "crm_amount_corporate": crm,
             "difference_corporate": diff}
            for c, s, crm, diff in [("AMOUNT_MISMATCH", "high", 1000.0, 50.0),
                                    ("AMOUNT_MISMATCH", "high", 1000.0, 200.0),
                                    ("PERIOD_MISMATCH", "medium", 10.0, None),
                                    ("UNMATCHED_ACCOUNT", "low", None, None)]]
    summary = shaping.exception_summary(rows)
    assert summary[0] == {"check_code": "AMOUNT_MISMATCH", "severity": "high", "exceptions": 2}
    fig = figures.exceptions_by_check(summary).to_dict()
    assert sum(sum(t["y"]) for t in fig["data"]) == len(rows)
    assert {t["name"] for t in fig["data"]} == {"high", "medium", "low"}
    assert len(shaping.filter_exceptions(rows, ["AMOUNT_MISMATCH"], ["high"])) == 2
    tighter = shaping.filter_exceptions(rows, ["AMOUNT_MISMATCH", "PERIOD_MISMATCH"],
                                        ["high", "medium"], tolerance_pct=0.1)
    assert [r["difference_corporate"] for r in tighter] == [200.0, None]
    assert shaping.filter_exceptions(rows, [], list(shaping.SEVERITIES)) == []


def test_loader_keeps_an_answer_only_while_every_source_behind_it_is_fresh(fed):
    now = [1000.0]
    data = Loader(fed, clock=lambda: now[0])
    sql = "SELECT count(*) AS n FROM salesforce.Opportunity WHERE IsWon"
    progress = Progress()
    first = data.load(sql, progress)
    lifetime = min(fed.runtime(s.source).ttl - s.data_age_seconds for s in first.stats.scans)
    assert first.expires_at == pytest.approx(1000.0 + lifetime)
    assert first.sources == ["salesforce"]
    now[0] = first.expires_at - 1
    assert data.load(sql) is first  # memoized: no planning, no fetch
    now[0] = first.expires_at + 1
    assert data.cached(sql) is None  # past the source's TTL: asked again
    again = data.load(sql)
    assert again is not first and again.table == first.table
    with pytest.raises(QueryError):
        data.load("SELECT * FROM salesforce.NoSuchObject")
    assert data.cached("SELECT * FROM salesforce.NoSuchObject") is None


def test_progress_counts_each_scans_running_total_once():
    class Scan:
        def __init__(self, source: str, relation: str) -> None:
            self.source, self.relation = source, relation

    progress = Progress()
    a, b = Scan("crm", "__scan_0"), Scan("crm", "__scan_1")
    for rows in (100, 200, 250):
        progress(a, rows)  # the engine reports a scan's rows so far
    progress(b, 40)
    assert progress.by_source() == {"crm": 290}
    assert progress.summary() == "crm 290 rows"
