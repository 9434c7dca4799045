"""The dashboards in a real browser: `concord dashboard` as a subprocess, Debian's Chromium
driven by Playwright. AppTest runs no JavaScript, so only this sees Plotly draw the charts.

Fixture names avoid pytest-playwright's (page, browser, context...): using those would make
the plugin parametrize the test by browser and launch its own, downloaded one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from federation.engine import Federation

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboards"
CHROMIUM = shutil.which("chromium")  # Debian's; never a browser `playwright install` fetched
NO_CHROMIUM = "Chromium is not installed (apt-get install chromium); ./run test installs it"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]
START_TIMEOUT = 60.0  # s until /_stcore/health answers "ok"
RENDER_TIMEOUT = 150_000  # ms: the cold first run plans and reads every source
CHART_TIMEOUT = 30_000  # ms: plotly.js draws once its element is there

#: Streamlit has finished a run (its e2e wait_for_app_run): connected, script idle, no
#: skeletons, no "Running..." widget. The page's own metric (or an error) must be drawn
#: too, so a run not yet begun, or the previous page's leftovers, do not count as done.
APP_DONE = """label => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stStatusWidget"]'))
    return false;
  if (document.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]'))
    return true;
  return [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
    .some(e => e.textContent.trim() === label);
}"""
#: what Streamlit 1.67 (and older versions) print when the port was taken meanwhile
PORT_TAKEN = ("is not available", "already in use")
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/_stcore/health"
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.read().decode().strip() == "ok"
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM lets the CLI stop its Streamlit child; the group kill catches a hung one."""
    if proc.poll() is None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the CLI and its child only
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def dashboard_server(dash_catalog: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The CLI users run, on a free port; a port taken meanwhile is retried, any other
    death fails with the server's output."""
    logs = tmp_path_factory.mktemp("dashboard-server")
    for attempt in range(3):
        port = _free_port()
        log = logs / f"attempt{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "federation.cli", "dashboard",
                 "--catalog", str(dash_catalog), "--port", str(port)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                env={**os.environ, "COLUMNS": "200"})
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline and not _healthy(port):
            time.sleep(0.2)
        if proc.poll() is None and _healthy(port):
            break
        _stop(proc)
        output = log.read_text(errors="replace")
        if not any(m in output for m in PORT_TAKEN) or attempt == 2:
            pytest.fail(f"`concord dashboard` did not come up on port {port} "
                        f"(exit {proc.returncode}):\n{output}")
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        yield server
    finally:
        died = proc.poll()
        _stop(proc)
    if died is not None:
        pytest.fail(f"`concord dashboard` died during the test (exit {died}):\n"
                    f"{server.output()}")


@pytest.fixture(scope="module")
def dashboard_page() -> Iterator[Any]:
    """One headless system-Chromium page at a fixed size, so screenshots are comparable."""
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def wait_for_app(page: Any, server: Server, metric_label: str) -> None:
    """Wait for the run to finish; on a timeout show what the server said."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(APP_DONE, arg=metric_label, timeout=RENDER_TIMEOUT,
                               polling=250)
    except PlaywrightTimeout:
        pytest.fail(f"the page never finished showing {metric_label!r}; server alive: "
                    f"{server.proc.poll() is None}; server output:\n{server.output()}")
    problems = page.locator(PROBLEMS)
    assert problems.count() == 0, problems.all_inner_texts()


def metric(page: Any, label: str) -> str:
    """The value of the metric with exactly this label."""
    box = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    return box.get_by_test_id("stMetricValue").inner_text().strip()


def drawn_chart(page: Any, index: int = 0) -> Any:
    """A Plotly chart once its SVG is on screen: drawn by plotly.js, not just sent."""
    chart = page.get_by_test_id("stPlotlyChart").nth(index)
    chart.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=CHART_TIMEOUT)
    return chart


def screenshot(target: Any, name: str, *, full_page: bool = False) -> Path:
    """A PNG in test-artifacts/dashboards/, for CI to keep and people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    extra = {"full_page": True} if full_page else {}
    target.screenshot(path=str(path), animations="disabled", **extra)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    assert path.stat().st_size > 10_000, f"{path} looks blank"
    return path


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)  # before the server starts
def test_pipeline_and_reconciliation_pages_in_chromium(
        dashboard_page: Any, dashboard_server: Server, fed: Federation) -> None:
    """Both pages in one test: under xdist a second test could land on the other worker and
    start a second server (and a second cold read of every source)."""
    page = dashboard_page
    quarter = fed.sql("SELECT c.fiscal_year, c.fiscal_quarter FROM concord.settings AS s "
                      "JOIN fiscal_calendar AS c ON c.date_day = s.as_of_date").to_pylist()[0]
    won = fed.sql("SELECT crm_closed_won_amount AS v FROM pipeline_vs_booked "
                  f"WHERE dimension = 'total' AND fiscal_year = {quarter['fiscal_year']} "
                  f"AND fiscal_quarter = {quarter['fiscal_quarter']}").to_pylist()[0]["v"]
    exceptions = fed.sql("SELECT count(*) AS n FROM reconciliation_exceptions"
                         ).to_pylist()[0]["n"]
    assert exceptions > 0, "the sandbox has no exceptions: the page would show no metric"

    page.goto(dashboard_server.url, wait_until="domcontentloaded")
    wait_for_app(page, dashboard_server, "CRM closed-won")
    shown = "—" if won is None else f"{won:,.0f}"  # the page's money()
    assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == shown
    assert metric(page, "CRM closed-won") == shown
    chart = drawn_chart(page)
    assert chart.locator("g.point").count() > 0  # bars, not an empty axis
    assert page.get_by_test_id("stPlotlyChart").count() == 2
    screenshot(page, "pipeline.png", full_page=True)
    screenshot(chart, "pipeline-chart.png")

    page.get_by_role("link", name="Reconciliation").click()
    page.wait_for_url("**/reconciliation", timeout=CHART_TIMEOUT)
    wait_for_app(page, dashboard_server, "Exceptions")
    assert metric(page, "Exceptions") == str(exceptions)
    chart = drawn_chart(page)
    assert chart.locator("g.point").count() > 0
    screenshot(page, "reconciliation.png", full_page=True)
