"""Plotly figures for the dashboards: plain functions from rows to a figure.

Rows are lists of dicts as ``pyarrow.Table.to_pylist()`` returns them, so every builder is
testable without Streamlit or a browser (assert on ``fig.to_dict()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

Rows = Sequence[dict[str, Any]]

COLOURS = {"won": "#2a9d8f", "booked": "#264653", "billed": "#8ab17d", "commit": "#e76f51",
           "best_case": "#f4a261", "pipeline": "#e9c46a", "high": "#d62828",
           "medium": "#f77f00", "low": "#8d99ae"}


def quarter_label(row: dict[str, Any]) -> str:
    return f"FY{row['fiscal_year']} Q{row['fiscal_quarter']}"


def short_quarter(row: dict[str, Any]) -> str:
    """An axis label that fits a dozen quarters side by side ("FY26 Q3")."""
    return f"FY{row['fiscal_year'] % 100:02d} Q{row['fiscal_quarter']}"


def _amount(value: Any) -> float:
    return float(value or 0.0)


def _layout(fig: go.Figure, title: str, barmode: str) -> go.Figure:
    fig.update_layout(title=title, barmode=barmode, yaxis_title="corporate currency",
                      legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
                      margin={"l": 40, "r": 20, "t": 90, "b": 40})
    fig.update_xaxes(tickangle=-45, automargin=True)
    return fig


def _quarter_bars(rows: Rows, title: str,
                  series: tuple[tuple[str, str, str], ...]) -> go.Figure:
    """Grouped bars per fiscal quarter, one trace per (name, column, colour)."""
    quarters = [short_quarter(r) for r in rows]
    fig = go.Figure()
    for name, column, colour in series:
        fig.add_bar(name=name, x=quarters, y=[_amount(r[column]) for r in rows],
                    marker_color=COLOURS[colour])
    return _layout(fig, title, "group")


def won_booked_billed(rows: Rows) -> go.Figure:
    """CRM closed-won beside ERP booked and billed, per fiscal quarter."""
    return _quarter_bars(rows, "Closed-won vs booked vs billed",
                         (("CRM closed-won", "crm_closed_won_amount", "won"),
                          ("ERP booked", "erp_booked_amount", "booked"),
                          ("ERP billed", "erp_billed_amount", "billed")))


def pipeline_by_forecast(rows: Rows) -> go.Figure:
    """Open pipeline stacked by forecast category (commit, best case, the rest) beside
    what the ERPs booked, per fiscal quarter."""
    quarters = [short_quarter(r) for r in rows]
    commit = [_amount(r["commit_amount"]) for r in rows]
    best = [_amount(r["best_case_amount"]) for r in rows]
    rest = [_amount(r["open_pipeline_amount"]) - c - b for r, c, b in zip(rows, commit, best,
                                                                         strict=True)]
    fig = go.Figure()
    for name, values, colour in (("Commit", commit, "commit"), ("Best case", best, "best_case"),
                                 ("Pipeline", rest, "pipeline")):
        fig.add_bar(name=name, x=quarters, y=values, offsetgroup="open",
                    marker_color=COLOURS[colour])
    fig.add_bar(name="ERP booked", x=quarters, y=[_amount(r["erp_booked_amount"]) for r in rows],
                offsetgroup="booked", marker_color=COLOURS["booked"])
    fig.add_scatter(name="Weighted pipeline", x=quarters, mode="markers",
                    y=[_amount(r["weighted_pipeline_amount"]) for r in rows],
                    marker={"symbol": "diamond", "size": 10, "color": "#1d3557"})
    return _layout(fig, "Open pipeline by forecast category vs booked", "stack")


def exceptions_by_check(rows: Rows) -> go.Figure:
    """Exception counts per check, one trace per severity (stacked)."""
    checks = sorted({r["check_code"] for r in rows})
    fig = go.Figure()
    for severity in ("high", "medium", "low"):
        counts = {r["check_code"]: r["exceptions"] for r in rows if r["severity"] == severity}
        if counts:
            fig.add_bar(name=severity, x=checks, y=[counts.get(c, 0) for c in checks],
                        marker_color=COLOURS[severity])
    fig = _layout(fig, "Exceptions by check and severity", "stack")
    fig.update_layout(yaxis_title="exceptions")
    return fig


def customer_revenue(rows: Rows) -> go.Figure:
    """One customer's closed-won, booked and open pipeline per fiscal quarter."""
    return _quarter_bars(rows, "Pipeline and bookings",
                         (("Closed-won", "closed_won_amount", "won"),
                          ("Booked", "booked_amount", "booked"),
                          ("Open pipeline", "open_pipeline_amount", "pipeline")))


def fetch_latency(rows: Rows) -> go.Figure:
    """The last fetch latency per source (ms)."""
    read = [r for r in rows if r["last_fetch_ms"] is not None]
    fig = go.Figure(go.Bar(x=[r["source"] for r in read], y=[r["last_fetch_ms"] for r in read],
                           marker_color=[COLOURS["high"] if r["status"] == "error"
                                         else COLOURS["booked"] for r in read]))
    fig = _layout(fig, "Last fetch latency", "group")
    fig.update_layout(yaxis_title="ms")
    return fig
