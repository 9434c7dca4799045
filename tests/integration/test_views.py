"""Views: expanded into subqueries, so pushdown reaches through them to the sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import CatalogError, QueryError
from tests.conftest import normalize

VIEWS = {
    "won_deals.sql": "-- Purpose: won Salesforce deals. Grain: one row per opportunity.\n"
                     "SELECT Id, AccountId, Amount, CloseDate, StageName\n"
                     "FROM salesforce.Opportunity WHERE IsWon\n",
    "big_won.sql": "-- Purpose: won deals above 50k (a view on a view).\n"
                   "SELECT * FROM won_deals WHERE Amount > 50000\n",
    "loop_a.sql": "SELECT * FROM loop_b\n",
    "loop_b.sql": "SELECT * FROM loop_a\n",
}


@pytest.fixture()
def with_views(sandbox, tmp_path):
    folder = tmp_path / "my_views"
    folder.mkdir()
    for name, sql in VIEWS.items():
        (folder / name).write_text(sql)
    raw = sandbox.catalog()
    raw["settings"].update({"cache_max_bytes": 0, "views": ["my_views"]})
    with Federation(parse_catalog(raw, base_dir=tmp_path)) as fed:
        yield fed


def test_filters_reach_the_source_through_nested_views(with_views, salesforce_sim, truth):
    sql = "SELECT count(*) AS n, sum(Amount) AS total FROM big_won " \
          "WHERE CloseDate >= DATE '2025-01-01'"
    expected = truth.sql("SELECT count(*), sum(Amount) FROM salesforce.Opportunity WHERE IsWon "
                         "AND Amount > 50000 AND CloseDate >= DATE '2025-01-01'")
    salesforce_sim.reset_stats()
    assert normalize(with_views.sql(sql)) == normalize(expected.to_arrow_table())
    soql = salesforce_sim.stats.soql[-1]
    for pushed in ("IsWon = TRUE", "Amount > 50000", "CloseDate >= 2025-01-01"):
        assert pushed in soql
    assert normalize(with_views.sql(sql, pushdown=False)) == normalize(
        expected.to_arrow_table())


def test_views_answer_under_public_and_join_sources(with_views, truth):
    sql = ("SELECT a.Name, count(*) FROM public.won_deals w JOIN salesforce.Account a "
           "ON a.Id = w.AccountId GROUP BY a.Name")
    expected = truth.sql("SELECT a.Name, count(*) FROM salesforce.Opportunity w "
                         "JOIN salesforce.Account a ON a.Id = w.AccountId WHERE w.IsWon "
                         "GROUP BY a.Name")
    assert normalize(with_views.sql(sql)) == normalize(expected.to_arrow_table())


def test_a_cte_shadows_a_view_of_the_same_name(with_views):
    result = with_views.sql("WITH won_deals AS (SELECT 1 AS x) SELECT * FROM won_deals")
    assert result.to_pylist() == [{"x": 1}]


def test_view_cycles_and_bad_views_are_clear_errors(with_views, tmp_path, sandbox):
    with pytest.raises(QueryError, match="views nest too deeply"):
        with_views.sql("SELECT * FROM loop_a")
    (tmp_path / "my_views" / "evil.sql").write_text("DELETE FROM salesforce.Opportunity")
    raw = sandbox.catalog()
    raw["settings"]["views"] = ["my_views"]
    with Federation(parse_catalog(raw, base_dir=tmp_path)) as fed, \
            pytest.raises(CatalogError, match="view evil: DELETE statements are not allowed"):
        fed.sql("SELECT * FROM evil")
    raw["settings"]["views"] = ["missing"]
    with pytest.raises(CatalogError, match="views folder .*missing does not exist"):
        Federation(parse_catalog(raw, base_dir=Path(tmp_path)))


def test_a_branch_another_system_filter_excludes_is_not_fetched(fresh_fed, salesforce_sim,
                                                                 truth):
    sql = ("SELECT id, src FROM (SELECT Id AS id, 'salesforce' AS src FROM salesforce.Account "
           "UNION ALL SELECT id, 'hubspot' FROM hubspot.companies) AS x WHERE src = 'hubspot'")
    salesforce_sim.reset_stats()
    got = fresh_fed.sql(sql)
    assert salesforce_sim.stats.soql == []  # the Salesforce branch can hold no answer
    scans = {s.source: s for s in fresh_fed.last_stats.scans}
    assert scans["salesforce"].native_request.startswith("(not sent")
    expected = truth.sql("SELECT id, 'hubspot' FROM hubspot.companies").to_arrow_table()
    assert normalize(got) == normalize(expected)
    assert normalize(fresh_fed.sql(sql, pushdown=False)) == normalize(expected)
    assert salesforce_sim.stats.soql  # without pushdown the branch is read
