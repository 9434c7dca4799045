"""SQL explorer: any query over the sources and views, with its plan and statistics."""

from __future__ import annotations

import streamlit as st

from dashboards.ui import as_of, csv_bytes, current_user, load, loader
from federation import render
from federation.errors import ConcordError

st.title("SQL explorer")
sql = st.text_area("SQL", key="sql", height=140,
                   value="SELECT * FROM pipeline_summary ORDER BY fiscal_year DESC, "
                         "fiscal_quarter DESC LIMIT 20")
run, show_plan = st.columns(2)
if show_plan.toggle("Show the plan", key="show_plan"):
    federation = loader().federation
    try:
        plan = federation.explain(sql, user=current_user())
        native = {s.relation: federation.adapter(s.source).native_request(s.table, s.request)
                  for s in plan.scans}
        st.code(render.plan_to_text(plan, native), language="text")
    except ConcordError as exc:
        st.error(str(exc))
if run.button("Run", key="run", type="primary") or st.session_state.get("ran"):
    st.session_state["ran"] = True
    result = load(sql, "the query")
    if result is not None:
        stats = result.stats
        cols = st.columns(4)
        cols[0].metric("Rows", f"{result.table.num_rows:,}")
        cols[1].metric("Total ms", f"{stats.total_ms:,.0f}")
        cols[2].metric("HTTP requests", sum(s.http_requests for s in stats.scans))
        cols[3].metric("Scans", len(stats.scans))
        st.dataframe(result.table, hide_index=True, key="result")
        st.download_button("Download (CSV)", csv_bytes(result.table), file_name="result.csv",
                           mime="text/csv")
        with st.expander("Statistics per scan"):
            st.dataframe([{"source": s.source, "object": s.object,
                           "native_request": s.native_request, "rows": s.rows,
                           "requests": s.http_requests, "ms": s.elapsed_ms,
                           "cache_hit": s.cache_hit, "retries": s.retries,
                           "pushed": "; ".join(p["predicate"] for p in s.pushed),
                           "local": "; ".join(s.local)} for s in stats.scans],
                         hide_index=True, key="scan_stats")
        as_of(result)
