"""The revenue views (bookings, billings, opportunities, pipeline*) against the truth.

Figures are checked against ``sandbox.world.expected`` and against independent Python
computations from the generator's truth (``sandbox.world.company``), never against numbers
copied from a run. Two facts of the systems shape those computations, both documented in
the views: deals soft-deleted in Salesforce or archived in HubSpot are invisible through
the CRMs' APIs (``World.unserved_deals``), so they are neither won nor linked to orders.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from sandbox.company import fiscal_quarter, quarter_bounds
from sandbox.projections.hubspot import DEAL_STAGES, STAGE_OF_TRUTH
from tests.conftest import normalize

CRM_OF_UNIT = {"main": "salesforce", "acquired": "hubspot"}
HUBSPOT_PROBABILITY = {stage_id: prob for stage_id, _, prob, _ in DEAL_STAGES}
CENT = 0.005


def close(a: float | None, b: float | None, tol: float = CENT) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tol


def ratio_close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


# -- the truth, as the systems can show it ------------------------------------------------


class Truth:
    """Independent figures from the generator's truth, per fiscal quarter."""

    def __init__(self, world: Any) -> None:
        self.company = c = world.company
        self.hidden = world.unserved_deals
        self.deals = [o for o in c.opportunities if o.opportunity_id not in self.hidden]
        names = {u.user_id: f"{u.first_name} {u.last_name}"
                 for u in c.users + c.subsidiary_users}
        self.owner = {o.opportunity_id: names[o.owner_id] for o in self.deals}
        self.linked_orders: dict[str, list[Any]] = defaultdict(list)
        for order in c.orders:
            if order.status != "cancelled" and order.opportunity_id:
                self.linked_orders[order.opportunity_id].append(order)

    def usd(self, amount: float | None, currency: str, day: dt.date) -> float:
        return self.company.to_usd(amount, currency, day) or 0.0

    def probability(self, o: Any) -> float:
        if o.business_unit == "acquired":
            return HUBSPOT_PROBABILITY[STAGE_OF_TRUTH[o.stage]]
        return o.probability / 100

    def category(self, o: Any) -> str:
        if o.business_unit == "main":
            return o.forecast_category.lower().replace(" ", "_")
        if o.is_won:
            return "closed"
        if o.is_closed:
            return "omitted"
        p = self.probability(o)
        return "commit" if p >= 0.9 else "best_case" if p >= 0.75 else "pipeline"

    def targets(self) -> dict[tuple[int, int, str], float]:
        out: dict[tuple[int, int, str], float] = defaultdict(float)
        names = {u.user_id: f"{u.first_name} {u.last_name}"
                 for u in self.company.users + self.company.subsidiary_users}
        for q in self.company.quotas:
            start = dt.date(q.fiscal_year, 3 * q.fiscal_quarter - 2, 1)
            out[(q.fiscal_year, q.fiscal_quarter, names[q.user_id])] += self.usd(
                q.amount, q.currency, start)
        return out


@pytest.fixture(scope="module")
def truth_figures(sandbox: Any) -> Truth:
    return Truth(sandbox.world)


# -- bookings, billings, closed won = World.expected, to the cent -------------------------


def _by_key(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    return {(r["fiscal_year"], r["fiscal_quarter"], r["source_system"]): r for r in rows}


def test_bookings_equal_expected_to_the_cent(fed, sandbox):
    got = _by_key(fed.sql(
        "SELECT fiscal_year, fiscal_quarter, source_system, sum(net_amount_corporate) AS amt,"
        " count(*) AS n FROM bookings GROUP BY ALL").to_pylist())
    expected = _by_key(sandbox.world.expected["bookings_by_quarter"].to_pylist())
    assert set(got) == set(expected)
    for key, e in expected.items():
        assert close(got[key]["amt"], e["booked_amount_usd"]), key
        assert got[key]["n"] == e["order_count"], key


def test_billings_equal_expected_to_the_cent(fed, sandbox):
    got = _by_key(fed.sql(
        "SELECT fiscal_year, fiscal_quarter, source_system, sum(net_amount_corporate) AS amt,"
        " count(*) FILTER (WHERE document_type = 'invoice') AS invoices,"
        " count(*) FILTER (WHERE document_type = 'credit_memo') AS credits"
        " FROM billings GROUP BY ALL").to_pylist())
    expected = _by_key(sandbox.world.expected["billings_by_quarter"].to_pylist())
    assert set(got) == set(expected)
    for key, e in expected.items():
        assert close(got[key]["amt"], e["billed_amount_usd"]), key
        assert (got[key]["invoices"], got[key]["credits"]) == (
            e["invoice_count"], e["credit_memo_count"]), key


def test_closed_won_equals_expected(fed, sandbox, truth_figures):
    expected = {k: [v["won_amount_usd"], v["deal_count"]] for k, v in _by_key(
        sandbox.world.expected["closed_won_by_quarter"].to_pylist()).items()}
    # a handful of won deals the CRMs deleted, which World.expected leaves out
    assert 0 < sum(o.is_won for o in truth_figures.company.opportunities
                   if o.opportunity_id in truth_figures.hidden) < 10
    got = _by_key(fed.sql(
        "SELECT fiscal_year, fiscal_quarter, source_system, sum(amount_corporate) AS amt,"
        " count(*) AS n FROM opportunities WHERE is_won AND is_system_of_record"
        " GROUP BY ALL").to_pylist())
    expected = {k: v for k, v in expected.items() if v[1]}
    assert set(got) == set(expected)
    for key, (amount, count) in expected.items():
        assert close(got[key]["amt"] or 0.0, amount), key
        assert got[key]["n"] == count, key
    # Dynamics holds copies of deals sales owns: never counted as won bookings.
    dyn = fed.sql("SELECT count(*) AS n, count(*) FILTER (WHERE is_system_of_record) AS sor "
                  "FROM opportunities WHERE source_system = 'dynamics'").to_pylist()[0]
    assert dyn["n"] > 0 and dyn["sor"] == 0


# -- pipeline_vs_booked and pipeline_summary = independent truth computations -------------


@pytest.mark.slow
def test_pipeline_vs_booked_totals_match_the_truth(fed, truth_figures):
    t = truth_figures
    c = t.company
    today = c.today
    fig: dict[tuple[int, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    days: dict[tuple[int, int], list[int]] = defaultdict(list)
    for o in t.deals:
        q = fiscal_quarter(o.close_date)
        amount = t.usd(o.amount, o.currency, o.close_date)
        f = fig[q]
        if o.is_won:
            f["crm_closed_won_amount"] += amount
            f["won_count"] += 1
            days[q].append((o.close_date - o.created_at.date()).days)
            if t.linked_orders.get(o.opportunity_id):
                f["matched_won_count"] += 1
            elif o.amount and (today - o.close_date).days > 7:
                f["won_without_order_count"] += 1
        elif o.is_closed:
            f["lost"] += amount
        elif t.category(o) != "omitted":
            f["open_pipeline_amount"] += amount
            f["weighted_pipeline_amount"] += amount * t.probability(o)
            if t.category(o) in ("commit", "best_case"):
                f[f"{t.category(o)}_amount"] += amount
    for order in c.orders:
        if order.status == "cancelled":
            continue
        q = fiscal_quarter(order.order_date)
        if order.status != "pending_approval":
            fig[q]["erp_booked_amount"] += t.usd(order.amount, order.currency,
                                                 order.order_date)
        if not order.opportunity_id or order.opportunity_id in t.hidden:
            fig[q]["orders_without_opportunity_count"] += 1
    for docs, sign in ((c.invoices, 1), (c.credit_memos, -1)):
        for d in docs:
            fig[fiscal_quarter(d.doc_date)]["erp_billed_amount"] += sign * t.usd(
                d.amount, d.currency, d.doc_date)
    for (year, quarter, _), amount in t.targets().items():
        fig[(year, quarter)]["target_amount"] += amount

    rows = fed.sql("SELECT * FROM pipeline_vs_booked WHERE dimension = 'total'").to_pylist()
    got = {(r["fiscal_year"], r["fiscal_quarter"]): r for r in rows}
    assert set(got) == set(fig)
    amounts = ("crm_closed_won_amount", "erp_booked_amount", "erp_billed_amount",
               "open_pipeline_amount", "weighted_pipeline_amount", "commit_amount",
               "best_case_amount")
    counts = ("won_count", "matched_won_count", "won_without_order_count",
              "orders_without_opportunity_count")
    for key, f in fig.items():
        r = got[key]
        for name in amounts:
            assert close(r[name], f[name]), (key, name, r[name], f[name])
        for name in counts:
            assert r[name] == f[name], (key, name, r[name], f[name])
        won, lost, booked = f["crm_closed_won_amount"], f["lost"], f["erp_booked_amount"]
        assert close(r["booked_minus_won_amount"], booked - won), key
        assert ratio_close(r["booked_minus_won_pct"], (booked - won) / won if won else None)
        assert ratio_close(r["win_rate_amount"], won / (won + lost) if won + lost else None)
        target = f.get("target_amount")
        assert close(r["target_amount"], target), key
        remaining = (target or 0) - won
        coverage = f["open_pipeline_amount"] / remaining if target and remaining > 0 else None
        assert ratio_close(r["coverage_ratio"], coverage), key
        assert ratio_close(r["avg_days_to_close"],
                           statistics.mean(days[key]) if days[key] else None), key
    # every dimension adds up to the total for the additive figures
    for dimension in ("source_system", "owner", "region", "segment"):
        sums = fed.sql(
            "SELECT fiscal_year, fiscal_quarter, sum(crm_closed_won_amount) AS won, "
            "sum(erp_booked_amount) AS booked, sum(erp_billed_amount) AS billed, "
            "sum(open_pipeline_amount) AS open FROM pipeline_vs_booked "
            f"WHERE dimension = '{dimension}' GROUP BY ALL").to_pylist()
        for s in sums:
            r = got[(s["fiscal_year"], s["fiscal_quarter"])]
            for name, total in (("won", "crm_closed_won_amount"),
                                ("booked", "erp_booked_amount"),
                                ("billed", "erp_billed_amount"),
                                ("open", "open_pipeline_amount")):
                assert close(s[name], r[total], 0.01), (dimension, s, name)


@pytest.mark.slow
def test_pipeline_summary_matches_the_truth(fed, truth_figures):
    t = truth_figures
    fig: dict[tuple[int, int, str], dict[str, Any]] = defaultdict(lambda: defaultdict(float))
    days: dict[tuple, list[int]] = defaultdict(list)
    for o in t.deals:
        name = t.owner[o.opportunity_id]
        key = (*fiscal_quarter(o.close_date), name)
        amount = t.usd(o.amount, o.currency, o.close_date)
        f = fig[key]
        f["pipeline_created_amount"] += 0.0
        created = (*fiscal_quarter(o.created_at.date()), name)
        fig[created]["pipeline_created_amount"] += amount
        if o.is_won:
            f["closed_won_amount"] += amount
            f["won_count"] += 1
            days[key].append((o.close_date - o.created_at.date()).days)
        elif o.is_closed:
            f["closed_lost_amount"] += amount
            f["lost_count"] += 1
        elif t.category(o) != "omitted":
            f["open_count"] += 1
            f["pipeline_amount"] += amount
            f["weighted_pipeline_amount"] += amount * t.probability(o)
            if t.category(o) in ("commit", "best_case"):
                f[f"{t.category(o)}_amount"] += amount
    targets = t.targets()
    for key in targets:
        fig[key]["pipeline_created_amount"] += 0.0

    rows = fed.sql("SELECT * FROM pipeline_summary").to_pylist()
    got = {(r["fiscal_year"], r["fiscal_quarter"], r["owner_name"]): r for r in rows}
    assert len(rows) == len(got)
    assert set(got) == set(fig)
    for key, f in fig.items():
        r = got[key]
        for name in ("pipeline_amount", "weighted_pipeline_amount", "best_case_amount",
                     "commit_amount", "closed_won_amount", "closed_lost_amount",
                     "pipeline_created_amount"):
            assert close(r[name], f[name]), (key, name, r[name], f[name])
        for name in ("open_count", "won_count", "lost_count"):
            assert r[name] == f[name], (key, name)
        won, lost = f["closed_won_amount"], f["closed_lost_amount"]
        assert ratio_close(r["win_rate_amount"], won / (won + lost) if won + lost else None)
        n = f["won_count"] + f["lost_count"]
        assert ratio_close(r["win_rate_count"], f["won_count"] / n if n else None), key
        assert ratio_close(r["avg_days_to_close"],
                           statistics.mean(days[key]) if days[key] else None), key
        assert ratio_close(r["median_days_to_close"],
                           statistics.median(days[key]) if days[key] else None), key
        target = targets.get(key)
        assert close(r["target_amount"], target), key
        coverage = (f["pipeline_amount"] / (target - won)
                    if target is not None and target - won > 0 else None)
        assert ratio_close(r["coverage_ratio"], coverage), key
        # required coverage: 1 / the owner's amount win rate over the 4 quarters before
        year, quarter, name = key
        index = year * 4 + quarter
        prior = [fig[k] for k in fig if k[2] == name
                 and index - 4 <= k[0] * 4 + k[1] <= index - 1]
        t_won = sum(p["closed_won_amount"] for p in prior)
        t_all = t_won + sum(p["closed_lost_amount"] for p in prior)
        assert ratio_close(r["required_coverage"], t_all / t_won if t_won > 0 else None), key


def test_pipeline_is_open_system_of_record_deals(fed, truth_figures):
    t = truth_figures
    today = t.company.today
    expected = [o for o in t.deals if not o.is_closed and t.category(o) != "omitted"]
    rows = fed.sql("SELECT source_opportunity_id, is_current_quarter, is_past_due, "
                   "close_fiscal_quarter, age_bucket, fiscal_year, fiscal_quarter, "
                   "close_date FROM pipeline").to_pylist()
    assert len(rows) == len(expected)
    start, end = quarter_bounds(today)
    for r in rows:
        assert r["is_current_quarter"] == (start <= r["close_date"] <= end)
        assert r["is_past_due"] == (r["close_date"] < today)
        assert r["close_fiscal_quarter"] == f"{r['fiscal_year']}-Q{r['fiscal_quarter']}"
        assert r["age_bucket"] in ("0-30", "31-90", "91-180", "181-365", "365+")


# -- reference views --------------------------------------------------------------------


def test_fx_rates_are_the_truths_monthly_rates(fed, truth_figures):
    company = truth_figures.company
    rows = fed.sql("SELECT * FROM fx_rates").to_pylist()
    for r in company.fx_rates:
        day = r.effective_from + dt.timedelta(days=14)
        hits = [x for x in rows if x["currency_code"] == r.currency
                and x["effective_from"] <= day
                and (x["effective_to"] is None or day < x["effective_to"])]
        assert len(hits) == 1 and hits[0]["rate_to_corporate"] == company.rate_to_usd(
            r.currency, day), (r, hits)


def test_fiscal_calendar_follows_the_start_month(fed, sandbox):
    rows = fed.sql("SELECT * FROM fiscal_calendar WHERE date_day IN "
                   "(DATE '2025-01-01', DATE '2025-05-17', DATE '2025-12-31')").to_pylist()
    for r in rows:
        assert (r["fiscal_year"], r["fiscal_quarter"]) == fiscal_quarter(r["date_day"])
        assert (r["quarter_start"], r["quarter_end"]) == quarter_bounds(r["date_day"])
        assert r["fiscal_period"] == r["date_day"].month
    raw = sandbox.catalog()
    raw["model"]["fiscal_year_start_month"] = 7
    with Federation(parse_catalog(raw, base_dir=Path("."))) as july:
        got = july.sql("SELECT * FROM fiscal_calendar WHERE date_day IN "
                       "(DATE '2025-06-30', DATE '2025-07-01', DATE '2026-02-10')"
                       " ORDER BY date_day").to_pylist()
    assert [(r["fiscal_year"], r["fiscal_quarter"], r["fiscal_period"]) for r in got] == [
        (2025, 4, 12), (2026, 1, 1), (2026, 3, 8)]
    assert [(r["quarter_start"], r["quarter_end"]) for r in got] == [
        (dt.date(2025, 4, 1), dt.date(2025, 6, 30)), (dt.date(2025, 7, 1), dt.date(2025, 9, 30)),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31))]


def test_payments_and_activity_cover_the_truth(fed, truth_figures):
    company = truth_figures.company
    got = {r["source_system"]: r for r in fed.sql(
        "SELECT source_system, count(*) AS n, sum(amount_corporate) AS amt FROM payments "
        "GROUP BY ALL").to_pylist()}
    for system in ("netsuite", "quickbooks"):
        pays = [p for p in company.payments if p.system == system]
        assert got[system]["n"] == len(pays)
        assert close(got[system]["amt"], sum(truth_figures.usd(p.amount, p.currency,
                                                                p.payment_date)
                                              for p in pays), 0.01)
    kinds = {r["activity_type"]: r["n"] for r in fed.sql(
        "SELECT activity_type, count(*) AS n FROM customer_activity GROUP BY ALL").to_pylist()}
    assert kinds["order"] == len([o for o in company.orders])
    assert kinds["invoice"] == len(company.invoices)
    assert kinds["credit_memo"] == len(company.credit_memos)
    assert kinds["support_case"] >= len(company.cases)


# -- pushdown through the views ---------------------------------------------------------


def _native(fed: Any, source: str) -> list[str]:
    return [s["native_request"] for s in fed.last_stats.to_dict()["scans"]
            if s["source"] == source]


@pytest.mark.parametrize(("sql", "source", "pushed"), [
    ("SELECT count(*) AS n, sum(net_amount_corporate) AS amt FROM bookings "
     "WHERE order_date >= DATE '2026-01-01'", "netsuite", "trandate >= TO_DATE('2026-01-01'"),
    ("SELECT count(*) AS n, sum(net_amount_corporate) AS amt FROM bookings "
     "WHERE order_date >= DATE '2026-01-01'", "sap", "SalesOrderDate ge datetime'2026-01-01"),
    ("SELECT count(*) AS n, sum(net_amount_corporate) AS amt FROM billings "
     "WHERE document_date < DATE '2025-07-01'", "quickbooks", "TxnDate < '2025-07-01'"),
    ("SELECT source_system, count(*) AS n, sum(amount_corporate) AS amt FROM opportunities "
     "WHERE close_date >= DATE '2026-04-01' AND amount > 50000 GROUP BY ALL",
     "salesforce", "CloseDate >= 2026-04-01"),
    ("SELECT count(*) AS n, sum(amount_corporate) AS amt FROM pipeline "
     "WHERE close_date < DATE '2026-10-01' AND amount > 50000", "salesforce", "Amount > 50000"),
])
def test_view_filters_reach_the_source(fresh_fed, sql, source, pushed):
    answer = fresh_fed.sql(sql)
    natives = _native(fresh_fed, source)
    assert any(pushed in n for n in natives), natives
    assert normalize(answer) == normalize(fresh_fed.sql(sql, pushdown=False))
