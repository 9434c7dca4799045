"""Pushdown: the SOQL we send, the rows we transfer, and the statistics we report."""

from __future__ import annotations

import pytest

from tests.conftest import normalize


def soql_sent(sim) -> list[str]:
    return list(sim.stats.soql)


def test_selective_query_sends_filters_and_projection(fresh_fed, salesforce_sim, truth):
    salesforce_sim.reset_stats()
    sql = ("SELECT Id, Amount FROM salesforce.Opportunity "
           "WHERE Amount > 90000 AND CloseDate >= DATE '2025-01-01'")
    result = fresh_fed.sql(sql)
    assert soql_sent(salesforce_sim) == [
        "SELECT Id, Amount, CloseDate FROM Opportunity "
        "WHERE Amount > 90000 AND CloseDate >= 2025-01-01"
    ]
    matching = truth.sql(sql).fetchall()
    assert result.num_rows == len(matching)
    assert salesforce_sim.stats.rows_returned == len(matching)  # nothing extra transferred
    scan = fresh_fed.last_stats.scans[0]
    assert scan.rows == len(matching)
    assert scan.columns == ["Id", "Amount", "CloseDate"]  # DuckDB re-applies every filter
    assert {p["fidelity"] for p in scan.pushed} == {"exact"}
    assert scan.http_requests >= 1 and scan.bytes > 0 and not scan.cache_hit


def test_case_insensitive_pushdown_is_reapplied(fresh_fed, salesforce_sim, truth):
    salesforce_sim.reset_stats()
    result = fresh_fed.sql("SELECT Id FROM salesforce.Opportunity WHERE StageName = 'closed won'")
    assert result.num_rows == 0  # DuckDB compares case-sensitively
    assert "WHERE StageName = 'closed won'" in soql_sent(salesforce_sim)[0]
    won = truth.sql("SELECT count(*) FROM salesforce.Opportunity "
                    "WHERE StageName = 'Closed Won'").fetchall()[0][0]
    assert salesforce_sim.stats.rows_returned == won  # SOQL's superset, filtered locally
    assert fresh_fed.last_stats.scans[0].pushed[0]["fidelity"] == "inexact"


def test_unsupported_predicate_stays_local(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    fresh_fed.sql("SELECT Id FROM salesforce.Opportunity WHERE lower(Name) LIKE 'a%' AND IsWon")
    assert soql_sent(salesforce_sim) == [
        "SELECT Id, Name, IsWon FROM Opportunity WHERE IsWon = TRUE"
    ]
    assert fresh_fed.last_stats.scans[0].local == ["LOWER(Name) LIKE 'a%'"]


def test_top_n_is_pushed_only_when_exact(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    result = fresh_fed.sql("SELECT Name, Amount FROM salesforce.Opportunity "
                           "ORDER BY Amount DESC NULLS LAST LIMIT 5")
    assert result.num_rows == 5
    assert soql_sent(salesforce_sim)[-1].endswith("ORDER BY Amount DESC NULLS LAST LIMIT 5")
    assert salesforce_sim.stats.rows_returned == 5
    salesforce_sim.reset_stats()
    fresh_fed.sql("SELECT Name FROM salesforce.Opportunity WHERE StageName = 'Closed Won' "
                  "ORDER BY Amount LIMIT 5")
    assert "LIMIT" not in soql_sent(salesforce_sim)[-1]  # inexact filter: DuckDB picks the 5


def test_filters_reach_through_ctes_subqueries_and_joins(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    fresh_fed.sql(
        "WITH big AS (SELECT * FROM salesforce.Opportunity) "
        "SELECT a.Name, b.Amount FROM big b JOIN salesforce.Account a ON b.AccountId = a.Id "
        "WHERE b.Amount > 95000 AND a.Industry = 'Technology'"
    )
    sent = sorted(soql_sent(salesforce_sim))
    assert sent == [
        "SELECT AccountId, Amount FROM Opportunity WHERE Amount > 95000",
        "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Technology'",
    ]


def test_outer_join_keeps_preserved_side_unfiltered(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    fresh_fed.sql("SELECT a.Id FROM salesforce.Account a LEFT JOIN salesforce.Opportunity o "
                  "ON o.AccountId = a.Id AND o.Amount > 50000 WHERE o.Id IS NULL")
    sent = sorted(soql_sent(salesforce_sim))
    assert sent == ["SELECT Id FROM Account",
                    "SELECT Id, AccountId, Amount FROM Opportunity WHERE Amount > 50000"]


def test_paging_across_many_pages(fresh_fed, salesforce_sim, truth):
    salesforce_sim.reset_stats()
    result = fresh_fed.sql("SELECT Id, StageName FROM salesforce.OpportunityHistory")
    expected = truth.sql("SELECT count(*) FROM salesforce.OpportunityHistory").fetchall()[0][0]
    assert expected > 2000, "the sandbox should need several pages"
    assert result.num_rows == expected
    assert len(set(result.column("Id").to_pylist())) == expected
    scan = fresh_fed.last_stats.scans[0]
    assert scan.pages == salesforce_sim.stats.pages_served >= 2
    assert scan.pages == -(-expected // 2000)


def test_cache_answers_narrower_scans(fed, fresh_fed, salesforce_sim):
    fed.cache.clear()
    fed.sql("SELECT Id, Amount, StageName FROM salesforce.Opportunity WHERE Amount > 1000")
    salesforce_sim.reset_stats()
    narrower = fed.sql("SELECT Id, Amount FROM salesforce.Opportunity "
                       "WHERE Amount > 1000 AND StageName = 'Closed Won'")
    assert salesforce_sim.stats.requests_total == 0  # answered from memory
    scan = fed.last_stats.scans[0]
    assert scan.cache_hit and scan.data_age_seconds >= 0
    fresh = fresh_fed.sql("SELECT Id, Amount FROM salesforce.Opportunity "
                    "WHERE Amount > 1000 AND StageName = 'Closed Won'", pushdown=False)
    assert normalize(narrower) == normalize(fresh)
    salesforce_sim.reset_stats()
    fed.sql("SELECT Id, CloseDate FROM salesforce.Opportunity WHERE Amount > 1000")
    assert salesforce_sim.stats.requests_total > 0  # a column the cache lacks


def test_self_join_fetches_identical_scan_once(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    fresh_fed.sql("SELECT count(*) FROM salesforce.User a JOIN salesforce.User b ON a.Id = b.Id")
    assert len(soql_sent(salesforce_sim)) == 1


def test_statistics_shape(fresh_fed):
    fresh_fed.sql("SELECT count(*) FROM salesforce.Account")
    stats = fresh_fed.last_stats.to_dict()
    assert stats["planning_ms"] > 0 and stats["total_ms"] >= stats["planning_ms"]
    scan = stats["scans"][0]
    for key in ("native_request", "pages", "http_requests", "rows", "bytes", "elapsed_ms",
                "retries", "cache_hit", "data_age_seconds"):
        assert key in scan
    assert scan["native_request"] == "SELECT Id FROM Account"
    assert scan["rate_limit"].startswith("api-usage=")
    assert stats["as_of"]


@pytest.mark.parametrize("sql", [
    "SELECT * FROM salesforce.Opportunity",
    "SELECT o.*, a.Name FROM salesforce.Opportunity o JOIN salesforce.Account a "
    "ON a.Id = o.AccountId",
])
def test_output_names_are_duckdbs(fed, truth, sql):
    assert fed.sql(sql).column_names == truth.sql(sql).columns


def test_output_names_keep_user_spelling(fed):
    result = fed.sql("SELECT amount, Amount AS TotalAmount, count(*) "
                     "FROM salesforce.opportunity GROUP BY ALL LIMIT 1")
    assert result.column_names == ["Amount", "TotalAmount", "count_star()"]


def test_timestamp_pushdown_agrees_on_a_host_outside_utc(sandbox, monkeypatch):
    """Pushed timestamps are UTC instants, so DuckDB must read naive timestamps in UTC
    too, whatever the host's time zone: otherwise pushdown changes the answer."""
    import datetime as dt
    import time

    from tests.conftest import make_federation

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with make_federation(sandbox, cache_max_bytes=0) as fed:
            created = fed.sql("SELECT CreatedDate FROM salesforce.Opportunity "
                              "ORDER BY CreatedDate LIMIT 1 OFFSET 40").column(0)[0].as_py()
            # two hours after that instant: inside the five hours New York is behind UTC
            bound = created.replace(tzinfo=None) + dt.timedelta(hours=2)
            sql = ("SELECT count(*) AS n FROM salesforce.Opportunity "
                   f"WHERE CreatedDate < TIMESTAMP '{bound:%Y-%m-%d %H:%M:%S}'")
            pushed = fed.sql(sql).to_pylist()[0]["n"]
            assert fed.last_stats.scans[0].pushed  # the filter went to Salesforce
            local = fed.sql(sql, pushdown=False).to_pylist()[0]["n"]
            zone = fed.sql("SELECT current_setting('TimeZone') AS z").to_pylist()[0]["z"]
        assert pushed == local >= 41
        assert zone == "UTC"
    finally:
        monkeypatch.undo()
        time.tzset()
