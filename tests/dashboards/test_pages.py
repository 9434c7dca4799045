"""Every dashboard page run by Streamlit's AppTest over the sandbox: no exception, metrics
equal the views they summarise, filters round-trip, a failing source is named on the
panels it feeds while the rest of the page renders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards.ui import CATALOG_ENV
from tests.dashboards.conftest import APP

pytestmark = pytest.mark.slow
TIMEOUT = 240  # a cold page plans and reads every source it needs


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


@pytest.fixture()
def app(dash_catalog: Path, clean_streamlit: None, monkeypatch) -> Iterator[AppTest]:
    monkeypatch.setenv(CATALOG_ENV, str(dash_catalog))
    yield AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame(at: AppTest, column: str):
    """The dataframe on the page with ``column`` (AppTest does not index them by key)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def as_of_quarter(fed) -> tuple[int, int]:
    row = fed.sql("SELECT c.fiscal_year AS y, c.fiscal_quarter AS q FROM concord.settings s "
                  "JOIN fiscal_calendar c ON c.date_day = s.as_of_date").to_pylist()[0]
    return row["y"], row["q"]


def test_pipeline_metrics_equal_the_view_and_a_slice_round_trips(app, fed):
    at = app.run()
    ok(at)
    year, quarter = as_of_quarter(fed)
    view = {(r["fiscal_year"], r["fiscal_quarter"]): r for r in fed.sql(
        "SELECT * FROM pipeline_vs_booked WHERE dimension = 'total'").to_pylist()}
    row = view[(year, quarter)]
    shown = metrics(at)
    assert shown["CRM closed-won"] == money(row["crm_closed_won_amount"])
    assert shown["ERP booked"] == money(row["erp_booked_amount"])
    assert shown["Booked − won gap"] == money(row["booked_minus_won_amount"])
    assert shown["Win rate"] == f"{row['win_rate_amount']:.0%}"
    assert shown["Sales cycle (days)"] == f"{row['avg_days_to_close']:.0f}"
    won, pipeline = charts(at)
    assert won["layout"]["barmode"] == "group"
    assert [t["name"] for t in won["data"]] == ["CRM closed-won", "ERP booked", "ERP billed"]
    assert sum(won["data"][1]["y"]) == pytest.approx(
        sum(r["erp_booked_amount"] or 0 for r in view.values()))
    assert pipeline["layout"]["barmode"] == "stack"
    deals = frame(at, "opportunity_name")
    assert len(deals) == fed.sql(
        "SELECT count(*) AS n FROM opportunities WHERE is_system_of_record AND "
        f"fiscal_year = {year} AND fiscal_quarter = {quarter}").to_pylist()[0]["n"]

    at.sidebar.selectbox(key="slice_label").select("Region").run()
    ok(at)
    region = at.sidebar.selectbox(key="slice_value_Region")
    assert region.options == ["AMER", "APAC", "EMEA"]
    region.select("EMEA").run()
    ok(at)
    emea = fed.sql("SELECT * FROM pipeline_vs_booked WHERE dimension = 'region' AND "
                   f"region = 'EMEA' AND fiscal_year = {year} AND fiscal_quarter = {quarter}"
                   ).to_pylist()[0]
    assert metrics(at)["CRM closed-won"] == money(emea["crm_closed_won_amount"])
    assert metrics(at)["ERP booked"] == money(emea["erp_booked_amount"])
    assert set(frame(at, "opportunity_name")["region"]) == {"EMEA"}
    assert at.session_state["slice_value_Region"] == "EMEA"  # the choice survives reruns
    assert any("Data as of" in c.value for c in at.caption)


def test_customer_360_finds_a_customer_and_shows_its_sources(app, fed):
    customer = fed.sql("SELECT * FROM customer_360 WHERE source_record_count > 2 "
                       "AND conflict_count > 0 ORDER BY customer_id LIMIT 1").to_pylist()[0]
    at = app.run()
    ok(at)
    at.switch_page("pages/customer_360.py").run()
    assert at.info  # asks for a search first
    at.text_input(key="customer_search").set_value(customer["domain"].upper()).run()
    ok(at)
    pick = at.selectbox(key="customer_pick")
    pick.select(next(o for o in pick.options if customer["customer_id"] in o)).run()
    ok(at)
    shown = metrics(at)
    assert shown["Open pipeline"] == money(customer["open_pipeline_amount"])
    assert shown["Bookings (TTM)"] == money(customer["bookings_amount_ttm"])
    assert shown["Conflicting fields"] == str(customer["conflict_count"])
    golden = frame(at, "field").set_index("field")
    assert golden.loc["domain", "value"] == customer["domain"]
    assert golden.loc["credit_limit", "source"] == customer["credit_limit_source"]
    links = frame(at, "match_rule")
    assert len(links) == customer["source_record_count"]
    conflicts = frame(at, "survivorship_rule")
    assert conflicts["field_name"].nunique() == customer["conflict_count"]
    assert len(frame(at, "activity_type")) > 0

    at.text_input(key="customer_search").set_value("no such customer zzz").run()
    ok(at)
    assert "No customer" in at.warning[0].value


def test_reconciliation_counts_filters_and_both_sides(app, fed):
    view = fed.sql("SELECT * FROM reconciliation_exceptions").to_pylist()
    at = app.run()
    at.switch_page("pages/reconciliation.py").run()
    ok(at)
    shown = metrics(at)
    assert shown["Exceptions"] == str(len(view))
    assert shown["High severity"] == str(sum(r["severity"] == "high" for r in view))
    (chart,) = charts(at)
    assert sum(sum(t["y"]) for t in chart["data"]) == len(view)

    at.multiselect(key="checks").set_value(["AMOUNT_MISMATCH"]).run()
    ok(at)
    amounts = [r for r in view if r["check_code"] == "AMOUNT_MISMATCH"]
    assert len(frame(at, "check_code")) == len(amounts)
    at.slider(key="tolerance").set_value(10.0).run()
    ok(at)
    wider = [r for r in amounts if abs(r["difference_corporate"])
             > max(r["tolerance"], 0.10 * abs(r["crm_amount_corporate"]))]
    assert len(frame(at, "check_code")) == len(wider) < len(amounts)
    first = frame(at, "check_code").iloc[0]
    assert frame(at, "opportunity_name")["opportunity_id"][0] == first["opportunity_id"]
    assert frame(at, "order_status")["order_id"][0] == first["order_id"]


def test_source_health_and_sql_explorer(app, fed):
    at = app.run()  # the pipeline page reads every source
    at.switch_page("pages/source_health.py").run()
    ok(at)
    board = frame(at, "last_error").set_index("source")
    assert set(board.index) == set(fed.source_names())
    assert (board["status"] == "ok").all()
    assert board.loc["salesforce", "requests"] > 0
    # what each source says is left of its rate limit, from its own response headers
    assert board.loc["salesforce", "rate_limit_left"].startswith("api-usage=")
    assert board.loc["hubspot", "rate_limit_left"].isdigit()
    assert "x-ms-ratelimit-burst-remaining-xrm-requests=" in board.loc["dynamics",
                                                                       "rate_limit_left"]
    assert metrics(at)["Failing"] == "0"

    at.switch_page("pages/sql_explorer.py").run()
    at.text_area(key="sql").set_value(
        "SELECT source_system, count(*) AS n FROM opportunities GROUP BY 1").run()
    at.button(key="run").click().run()
    ok(at)
    got = frame(at, "n")
    expected = {r["source_system"]: r["n"] for r in fed.sql(
        "SELECT source_system, count(*) AS n FROM opportunities GROUP BY 1").to_pylist()}
    assert dict(zip(got["source_system"], got["n"], strict=True)) == expected
    assert metrics(at)["Rows"] == str(len(expected))
    at.toggle(key="show_plan").set_value(True).run()
    assert "salesforce" in at.code[0].value

    at.text_area(key="sql").set_value("SELECT * FROM nowhere.nothing").run()
    assert "unknown source" in at.error[0].value


def test_a_failing_source_is_named_on_its_panels_only(broken_files_catalog, clean_streamlit,
                                                     monkeypatch):
    monkeypatch.setenv(CATALOG_ENV, str(broken_files_catalog))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    # pipeline_vs_booked needs the quotas the finance exports hold
    assert any("source **files**" in e.value for e in at.error)
    # the fiscal-calendar panel still rendered, with its "as of"
    assert any("Data as of" in c.value for c in at.caption)
    at.switch_page("pages/customer_360.py").run()
    at.text_input(key="customer_search").set_value("a").run()
    assert not at.exception and not at.error  # customer 360 does not read the exports
    assert at.selectbox(key="customer_pick").options
    at.switch_page("pages/source_health.py").run()
    board = frame(at, "last_error").set_index("source")
    assert board.loc["files", "status"] == "error"
    assert "does not exist" in board.loc["files", "last_error"]
    assert metrics(at)["Failing"] == "1"
