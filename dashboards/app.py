"""Concord dashboards: the entry point `concord dashboard` serves (a Streamlit router)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards.ui import catalog_path

HERE = Path(__file__).parent

st.set_page_config(page_title="Concord", page_icon=":bar_chart:", layout="wide")
navigation = st.navigation([
    st.Page(HERE / "pages" / "pipeline.py", title="Pipeline vs booked", default=True),
    st.Page(HERE / "pages" / "customer_360.py", title="Customer 360"),
    st.Page(HERE / "pages" / "reconciliation.py", title="Reconciliation"),
    st.Page(HERE / "pages" / "source_health.py", title="Source health"),
    st.Page(HERE / "pages" / "sql_explorer.py", title="SQL explorer"),
])
st.sidebar.caption(f"Catalog: `{catalog_path()}`")
navigation.run()
