"""What every page shares: the engine for the catalog, panel loading with progress and
per-source errors, and the "as of" line. The only module pages import Streamlit helpers
from; data still flows page -> Loader -> engine."""

from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import streamlit as st

from dashboards.loader import Loader, Progress, Result
from federation.engine import connect
from federation.errors import ConcordError

CATALOG_ENV = "CONCORD_CATALOG"
USER_KEY = "concord_user"  # the signed-in user, in Streamlit's per-session state
SHOW_PROGRESS_AFTER = 0.3  # seconds: quick panels never flash a status box


def catalog_path() -> str:
    return str(Path(os.environ.get(CATALOG_ENV, "catalog.yaml")).resolve())


@st.cache_resource(show_spinner="Opening the catalog...")
def _loader(path: str) -> Loader:
    return Loader(connect(path))


def loader() -> Loader:
    return _loader(catalog_path())


def current_user() -> str | None:
    """Who signed in to this browser session (None: the catalog's default user)."""
    return st.session_state.get(USER_KEY)


def sign_in_required() -> bool:
    """Whether this session must sign in before any page is shown
    (``governance.dashboard_login`` and nobody signed in yet)."""
    federation = loader().federation
    return federation.catalog.model.governance.dashboard_login and current_user() is None


def signed_in_as() -> None:
    """Who is signed in, in the sidebar, with a way out."""
    user = current_user()
    if user is None:
        return
    guard = loader().federation.guard(user)
    st.sidebar.caption(f"Signed in as **{user}**" + (f" ({guard.role})" if guard else ""))
    if st.sidebar.button("Sign out", key="sign_out"):
        st.session_state.clear()  # the next person sees nothing of this session
        st.rerun()


def sign_in_page() -> None:
    """The only page a session sees until it signs in with a Concord login."""
    st.title("Sign in to Concord")
    name = st.text_input("User", key="sign_in_user")
    password = st.text_input("Password", type="password", key="sign_in_password")
    if st.button("Sign in", key="sign_in", type="primary"):
        try:
            loader().federation.authenticate(name, password)
        except ConcordError as exc:
            st.error(str(exc))
        else:
            st.session_state.clear()
            st.session_state[USER_KEY] = name
            st.rerun()


def load(sql: str, what: str) -> Result | None:
    """Run one panel's query as the signed-in user; on failure show which source failed on
    this panel only and return None so the rest of the page still renders."""
    if sign_in_required():  # pages are only routed to once signed in; never read unsigned
        st.stop()
    data = loader()
    user = current_user()
    result = data.cached(sql, user)
    if result is not None:
        return result
    progress = Progress()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(data.load, sql, progress, user)
        started, status = time.monotonic(), None
        while not future.done():
            time.sleep(0.05)
            if status is None and time.monotonic() - started > SHOW_PROGRESS_AFTER:
                status = st.status(f"Reading the sources for {what}...", expanded=False)
            if status is not None:
                status.update(label=f"Reading the sources for {what}: {progress.summary()}")
        try:
            result = future.result()
        except ConcordError as exc:
            if status is not None:
                status.update(label=f"{what}: failed", state="error")
            failed = f" (source **{exc.source}**)" if exc.source else ""
            st.error(f"{what} is unavailable{failed}: {exc}")
            return None
    if status is not None:
        status.update(label=f"{what}: read {progress.summary()}", state="complete")
    return result


def rows(result: Result | None) -> list[dict]:
    return [] if result is None else result.table.to_pylist()


def as_of(*results: Result | None) -> None:
    """The oldest data on the page, and the sources it came from."""
    known = [r for r in results if r is not None and r.as_of]
    if not known:
        return
    oldest = min(dt.datetime.fromisoformat(r.as_of) for r in known)  # type: ignore[arg-type]
    sources = sorted({s for r in known for s in r.sources})
    st.caption(f"Data as of {oldest:%Y-%m-%d %H:%M:%S} UTC, read live from "
               f"{', '.join(sources)}.")


def csv_bytes(table: pa.Table) -> bytes:
    """The table on screen as CSV (for the download buttons)."""
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()


def money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"
