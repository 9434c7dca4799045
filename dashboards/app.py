"""Concord dashboards: the entry point `concord dashboard` serves (a Streamlit router).

With ``governance.dashboard_login`` a session is routed only to the sign-in page until it
signs in: the other pages are not registered, so no URL reaches them."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboards.ui import catalog_path, sign_in_page, sign_in_required, signed_in_as

HERE = Path(__file__).parent

st.set_page_config(page_title="Concord", page_icon=":bar_chart:", layout="wide")
if sign_in_required():
    pages = [st.Page(sign_in_page, title="Sign in", default=True)]
else:
    pages = [
        st.Page(HERE / "pages" / "pipeline.py", title="Pipeline vs booked", default=True),
        st.Page(HERE / "pages" / "customer_360.py", title="Customer 360"),
        st.Page(HERE / "pages" / "reconciliation.py", title="Reconciliation"),
        st.Page(HERE / "pages" / "source_health.py", title="Source health"),
        st.Page(HERE / "pages" / "sql_explorer.py", title="SQL explorer"),
    ]
navigation = st.navigation(pages)
st.sidebar.caption(f"Catalog: `{catalog_path()}`")
signed_in_as()
navigation.run()
