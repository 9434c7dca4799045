"""Source health: how each system answered the queries so far."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboards import figures
from dashboards.ui import loader
from federation.errors import ConcordError

st.title("Source health")
federation = loader().federation
st.caption("What the queries so far saw of each source: nothing here calls a source "
           "unless you check them.")

if st.button("Check every source now", key="probe"):
    for source in federation.source_names():
        with st.spinner(f"Reading {source}..."):
            try:
                first = next(iter(federation.tables(source)))
                federation.sql(f'SELECT * FROM {source}."{first}" LIMIT 1')
            except StopIteration:
                continue
            except ConcordError:
                pass  # recorded on the board; shown below

now = dt.datetime.now(dt.UTC)
board = []
for h in federation.health():
    age = h.cache_age_seconds(now)
    board.append({
        "source": h.source, "status": h.status,
        "last_read": None if h.last_read_at is None else f"{h.last_read_at:%H:%M:%S} UTC",
        "last_fetch_ms": h.last_fetch_ms, "requests": h.requests, "rows": h.rows,
        "retries": h.retries, "rate_limit_left": h.rate_limit,
        "cache_age_s": None if age is None else round(age),
        "cache_ttl_s": federation.runtime(h.source).ttl, "last_error": h.last_error,
    })
cols = st.columns(3)
cols[0].metric("Sources", len(board))
cols[1].metric("Answering", sum(b["status"] == "ok" for b in board))
cols[2].metric("Failing", sum(b["status"] == "error" for b in board))
for b in board:
    if b["status"] == "error":
        st.error(f"**{b['source']}** failed at {b['last_read']}: {b['last_error']}")
st.dataframe(board, hide_index=True, key="health")
if any(b["last_fetch_ms"] is not None for b in board):
    st.plotly_chart(figures.fetch_latency(board), key="fetch_latency")
st.caption(f"As of {now:%Y-%m-%d %H:%M:%S} UTC.")
