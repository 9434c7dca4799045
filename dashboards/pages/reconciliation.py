"""Reconciliation: where the CRMs and the ERPs disagree."""

from __future__ import annotations

import pyarrow as pa
import streamlit as st

from dashboards import figures, queries, shaping
from dashboards.ui import as_of, csv_bytes, load, rows

st.title("Reconciliation")
exceptions = load(queries.reconciliation_all(), "the exceptions")
settings = load(queries.tolerance_settings(), "the tolerances")
every = rows(exceptions)
counts = shaping.exception_summary(every)
if counts:
    total = sum(r["exceptions"] for r in counts)
    high = sum(r["exceptions"] for r in counts if r["severity"] == "high")
    cols = st.columns(3)
    cols[0].metric("Exceptions", total)
    cols[1].metric("High severity", high)
    cols[2].metric("Checks with findings", len({r["check_code"] for r in counts}))
    st.plotly_chart(figures.exceptions_by_check(counts), key="exceptions_by_check")

    checks = sorted({r["check_code"] for r in counts})
    severities = list(shaping.SEVERITIES)
    left, middle, right = st.columns(3)
    chosen_checks = left.multiselect("Checks", checks, default=checks, key="checks")
    chosen_severities = middle.multiselect("Severity", severities, default=severities,
                                           key="severities")
    floor = rows(settings)[0]["amount_tolerance_pct"] if rows(settings) else 0.0
    tolerance = right.slider("Amount tolerance (% of the deal)", min_value=floor * 100,
                             max_value=max(25.0, floor * 100), value=floor * 100, step=0.5,
                             key="tolerance", help="The catalog's tolerance is the floor; "
                             "raise it to hide smaller amount mismatches.")
    listing = shaping.filter_exceptions(every, chosen_checks, chosen_severities,
                                        tolerance / 100)
    listed = pa.Table.from_pylist(listing, schema=exceptions.table.schema)
    st.caption(f"{len(listing)} of {len(every)} exceptions")
    st.dataframe(listed, hide_index=True, key="exceptions")
    st.download_button("Export the exceptions (CSV)", csv_bytes(listed),
                       file_name="reconciliation_exceptions.csv", mime="text/csv")
    st.subheader("Both sides")
    keyed = [f"{i + 1}. {r['check_code']} {r['opportunity_id'] or ''} "
             f"{r['order_id'] or ''}".strip() for i, r in enumerate(listing)
             if r["opportunity_id"] or r["order_id"]]
    if keyed:
        pick = st.selectbox("Exception", keyed, key="exception_pick")
        row = listing[int(pick.split(".")[0]) - 1]
        crm, erp = st.columns(2)
        crm.markdown("**CRM deal**")
        if row["opportunity_id"]:
            deals = load(queries.exception_deals(), "the deals")
            if deals is not None:
                crm.dataframe(shaping.with_id(deals.table, "opportunity_id",
                                              row["opportunity_id"]),
                              hide_index=True, key="deal_side")
        else:
            crm.caption("no deal")
        erp.markdown("**ERP order**")
        if row["order_id"]:
            orders = load(queries.exception_orders(), "the orders")
            if orders is not None:
                erp.dataframe(shaping.with_id(orders.table, "order_id", row["order_id"]),
                              hide_index=True, key="order_side")
        else:
            erp.caption("no order")
elif exceptions is not None:
    st.success("The CRMs and the ERPs agree: no exceptions.")
as_of(exceptions, settings)
