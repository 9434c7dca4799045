"""Dashboards over the sandbox: catalogs written for the app, and clean Streamlit caches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import yaml

from sandbox.run import Sandbox

APP = Path(__file__).parents[2] / "dashboards" / "app.py"


def write(raw: dict, path: Path) -> Path:
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def dash_catalog(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's catalog as a file, as `concord dashboard` is given one."""
    return write(sandbox.catalog(), tmp_path_factory.mktemp("dash") / "catalog.yaml")


@pytest.fixture(scope="session")
def broken_files_catalog(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox with its finance exports gone (the `files` source fails; quotas and the
    price book come from it, identity and revenue do not)."""
    raw = sandbox.catalog()
    folder = tmp_path_factory.mktemp("gone")
    raw["sources"]["files"]["url"] = f"file:{folder / 'exports'}"
    return write(raw, tmp_path_factory.mktemp("broken") / "catalog.yaml")


@pytest.fixture()
def clean_streamlit() -> Iterator[None]:
    """Streamlit's caches are process-global: each test starts and ends without them."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
