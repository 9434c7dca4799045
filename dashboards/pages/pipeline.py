"""Pipeline vs booked: will the pipeline turn into booked revenue?"""

from __future__ import annotations

import streamlit as st

from dashboards import figures, queries, shaping
from dashboards.ui import as_of, csv_bytes, load, money, rows

st.title("Pipeline vs booked revenue")

everything = load(queries.pipeline_all(), "pipeline vs booked")
today = load(queries.as_of_quarter(), "the fiscal calendar")
label = st.sidebar.selectbox("Slice by", list(queries.SLICES), key="slice_label")
value = None
if queries.SLICES[label][1] is not None:
    value = st.sidebar.selectbox(label, shaping.slice_values(rows(everything), label),
                                 key=f"slice_value_{label}")
chosen = queries.Slice(label, value)
quarters = shaping.slice_rows(rows(everything), chosen)
if everything is not None and not quarters:
    st.info("No deals or orders in this slice.")
if quarters:
    labels = [figures.quarter_label(r) for r in quarters]
    current = rows(today)[0] if rows(today) else None
    default = figures.quarter_label(current) if current else labels[-1]
    picked = st.selectbox("Fiscal quarter", labels, key="quarter",
                          index=labels.index(default) if default in labels else len(labels) - 1)
    q = quarters[labels.index(picked)]

    cols = st.columns(6)
    cols[0].metric("CRM closed-won", money(q["crm_closed_won_amount"]))
    cols[1].metric("ERP booked", money(q["erp_booked_amount"]))
    cols[2].metric("Booked − won gap", money(q["booked_minus_won_amount"]))
    cols[3].metric("Coverage ratio", "—" if q["coverage_ratio"] is None
                   else f"{q['coverage_ratio']:.2f}×")
    cols[4].metric("Win rate", "—" if q["win_rate_amount"] is None
                   else f"{q['win_rate_amount']:.0%}")
    cols[5].metric("Sales cycle (days)", "—" if q["avg_days_to_close"] is None
                   else f"{q['avg_days_to_close']:.0f}")

    left, right = st.columns(2)
    left.plotly_chart(figures.won_booked_billed(quarters), key="won_booked_billed")
    right.plotly_chart(figures.pipeline_by_forecast(quarters), key="pipeline_by_forecast")
    shown = everything.table.filter([r in quarters for r in rows(everything)])
    st.download_button("Download the quarters (CSV)", csv_bytes(shown),
                       file_name="pipeline_vs_booked.csv", mime="text/csv")

    st.subheader(f"Behind {picked}")
    deals_tab, orders_tab = st.tabs(["Deals (CRM)", "Orders (ERP)"])
    year, quarter = q["fiscal_year"], q["fiscal_quarter"]
    for tab, sql, what, name in ((deals_tab, queries.deals_all(), "the deals", "deals"),
                                 (orders_tab, queries.orders_all(), "the orders", "orders")):
        with tab:
            detail = load(sql, what)
            if detail is not None:
                behind = shaping.in_quarter(detail.table, chosen, year, quarter)
                st.dataframe(behind, hide_index=True, key=name)
                st.download_button(f"Download the {name} (CSV)", csv_bytes(behind),
                                   file_name=f"{name}_{year}_Q{quarter}.csv", mime="text/csv")
as_of(everything, today)
