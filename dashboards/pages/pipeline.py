"""Pipeline vs booked: will the pipeline turn into booked revenue?"""

from __future__ import annotations

import streamlit as st

from dashboards import figures, queries
from dashboards.ui import as_of, csv_bytes, load, money, rows

st.title("Pipeline vs booked revenue")

label = st.sidebar.selectbox("Slice by", list(queries.SLICES), key="slice_label")
value = None
if queries.SLICES[label][1] is not None:
    options = [r["value"] for r in rows(load(queries.slice_values(label), f"{label} values"))]
    value = st.sidebar.selectbox(label, options, key=f"slice_value_{label}")
chosen = queries.Slice(label, value)

by_quarter = load(queries.pipeline_by_quarter(chosen), "pipeline vs booked")
today = load(queries.as_of_quarter(), "the fiscal calendar")
quarters = rows(by_quarter)
if by_quarter is not None and not quarters:
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
    st.download_button("Download the quarters (CSV)", csv_bytes(by_quarter.table),
                       file_name="pipeline_vs_booked.csv", mime="text/csv")

    st.subheader(f"Behind {picked}")
    deals_tab, orders_tab = st.tabs(["Deals (CRM)", "Orders (ERP)"])
    year, quarter = q["fiscal_year"], q["fiscal_quarter"]
    with deals_tab:
        deals = load(queries.deals_in_quarter(chosen, year, quarter), "the deals")
        if deals is not None:
            st.dataframe(deals.table, hide_index=True, key="deals")
            st.download_button("Download the deals (CSV)", csv_bytes(deals.table),
                               file_name=f"deals_{year}_Q{quarter}.csv", mime="text/csv")
    with orders_tab:
        orders = load(queries.orders_in_quarter(chosen, year, quarter), "the orders")
        if orders is not None:
            st.dataframe(orders.table, hide_index=True, key="orders")
            st.download_button("Download the orders (CSV)", csv_bytes(orders.table),
                               file_name=f"orders_{year}_Q{quarter}.csv", mime="text/csv")
as_of(by_quarter, today)
