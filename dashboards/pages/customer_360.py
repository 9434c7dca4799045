"""Customer 360: one customer across every system, and where the systems disagree."""

from __future__ import annotations

import streamlit as st

from dashboards import figures, queries, shaping
from dashboards.ui import as_of, load, money, rows

#: surviving attributes customer_360 carries with a <field>_source provenance column
FIELDS = ("customer_name", "legal_name", "domain", "tax_id", "duns", "email", "phone",
          "billing_street", "billing_city", "billing_state", "billing_postal_code",
          "billing_country", "industry", "segment", "region", "account_owner",
          "currency_code", "credit_limit", "balance", "payment_terms")

st.title("Customer 360")
text = st.text_input("Search by name or domain", key="customer_search")
if not text.strip():
    st.info("Type part of a customer's name or web domain.")
    st.stop()

customers = load(queries.customers_all(), "the customers")
matches = shaping.search_customers(rows(customers), text)
if customers is not None and not matches:
    st.warning(f"No customer's name or domain contains “{text.strip()}”.")
if not matches:
    as_of(customers)
    st.stop()

labels = [f"{m['customer_name']} ({m['domain'] or 'no domain'}, {m['customer_id']})"
          for m in matches]
picked = st.selectbox(f"{len(matches)} match(es)", labels, key="customer_pick")
golden = matches[labels.index(picked)]
customer_id = golden["customer_id"]

st.header(golden["customer_name"] or customer_id)
cols = st.columns(5)
cols[0].metric("Open pipeline", money(golden["open_pipeline_amount"]))
cols[1].metric("Weighted pipeline", money(golden["weighted_pipeline_amount"]))
cols[2].metric("Bookings (TTM)", money(golden["bookings_amount_ttm"]))
cols[3].metric("Open cases", golden["open_case_count"])
cols[4].metric("Conflicting fields", golden["conflict_count"])
st.subheader("Golden record")
st.dataframe([{"field": f, "value": None if golden[f] is None else str(golden[f]),
               "source": golden[f"{f}_source"]} for f in FIELDS],
             hide_index=True, key="golden")

conflicts_tab, links_tab, timeline_tab, revenue_tab = st.tabs(
    ["Conflicts", "Linked records", "Activity", "Pipeline and bookings"])
with conflicts_tab:
    conflicts = load(queries.conflicts_all(), "the conflicts")
    if conflicts is not None:
        mine = shaping.of_customer(conflicts.table, customer_id)
        if mine.num_rows:
            st.dataframe(mine, hide_index=True, key="conflicts")
        else:
            st.success("Every system agrees on every field.")
with links_tab:
    links = load(queries.links_all(), "the linked records")
    if links is not None:
        st.dataframe(shaping.of_customer(links.table, customer_id), hide_index=True,
                     key="links")
with timeline_tab:
    timeline = load(queries.activity_all(), "the activity timeline")
    if timeline is not None:
        st.dataframe(shaping.of_customer(timeline.table, customer_id), hide_index=True,
                     key="timeline")
with revenue_tab:
    revenue = load(queries.customer_revenue_all(), "the customers' revenue")
    if revenue is not None:
        mine = shaping.of_customer(revenue.table, customer_id).to_pylist()
        st.plotly_chart(figures.customer_revenue(mine), key="customer_revenue")
as_of(customers)
