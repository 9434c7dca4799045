"""The dashboards' own login (governance.dashboard_login), run by Streamlit's AppTest: no
page reads anything before a sign-in, a wrong password is refused, and each user then sees
what their role allows (masked for the analyst, real for finance), in the panels and the
SQL explorer's plan alike; the ledger names who asked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboards.ui import CATALOG_ENV
from sandbox.run import DEMO_USER, demo_secret
from tests.dashboards.conftest import APP, write

pytestmark = pytest.mark.slow
TIMEOUT = 240
CONTACTS = "SELECT Id, Email FROM salesforce.Contact WHERE Email IS NOT NULL ORDER BY Id"
FIONA_PASSWORD = "fiona-sees-everything"


@pytest.fixture(scope="module")
def governed(sandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sign-in")
    (folder / "fiona-password").write_text(FIONA_PASSWORD, encoding="utf-8")
    raw = sandbox.catalog()
    raw["server"]["users"]["fiona"] = {"password": {"file": str(folder / "fiona-password")}}
    raw["governance"] = {
        "dashboard_login": True,
        "audit_ledger": str(folder / "ledger.jsonl"),
        "default_user": DEMO_USER,
        "users": {DEMO_USER: {"role": "analyst"}, "fiona": {"role": "finance"}},
        "roles": {"analyst": {"grants": ["public.*", "salesforce.*"],
                              "masks": {"*.email": "email"}},
                  "finance": {"grants": ["*"]}},
    }
    return write(raw, folder / "catalog.yaml")


@pytest.fixture()
def app(governed: Path, clean_streamlit: None, monkeypatch) -> Iterator[AppTest]:
    monkeypatch.setenv(CATALOG_ENV, str(governed))
    yield AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def sign_in(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input(key="sign_in_user").set_value(user)
    at.text_input(key="sign_in_password").set_value(password)
    return at.button(key="sign_in").click().run()


def explore(at: AppTest, sql: str) -> list[str]:
    """Run ``sql`` in the SQL explorer and return the Email column shown."""
    at.text_area(key="sql").set_value(sql).run()
    at.button(key="run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = [d.value for d in at.dataframe if "Email" in d.value.columns]
    assert len(shown) == 1
    return list(shown[0]["Email"])


def test_nothing_is_read_before_a_sign_in_and_a_wrong_password_is_refused(app, governed):
    at = app.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in to Concord"]
    assert not at.metric and not at.dataframe  # the pipeline page never ran
    with pytest.raises(ValueError, match=r"Known pages: \['Sign in'\]"):
        at.switch_page("pages/sql_explorer.py")  # not routed to before a sign-in
    at = sign_in(at, DEMO_USER, "not-the-password")
    assert [e.value for e in at.error] == [
        "wrong user or password — sign in with your Concord login"]
    assert not at.metric and not at.dataframe
    at = sign_in(at, "mallory", demo_secret(DEMO_USER))  # a real password, no such user
    assert "wrong user or password" in at.error[0].value
    assert not (governed.parent / "ledger.jsonl").exists()  # no query ran


def test_a_page_run_on_its_own_reads_nothing_unsigned(governed, clean_streamlit,
                                                     monkeypatch):
    monkeypatch.setenv(CATALOG_ENV, str(governed))
    page = AppTest.from_file(str(APP.parent / "pages" / "sql_explorer.py"),
                             default_timeout=TIMEOUT).run()
    page.text_area(key="sql").set_value(CONTACTS).run()
    page.button(key="run").click().run()
    assert not page.exception and not page.dataframe and not page.metric


def test_each_user_sees_what_their_role_allows(app, governed, fed):
    real = [r["Email"] for r in fed.sql(CONTACTS).to_pylist()]
    at = sign_in(app.run(), DEMO_USER, demo_secret(DEMO_USER))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(f"Signed in as **{DEMO_USER}** (analyst)" in c.value for c in at.sidebar.caption)
    assert at.metric  # the pipeline page, as the analyst (views and the model's settings)
    at.switch_page("pages/sql_explorer.py").run()
    masked = explore(at, CONTACTS)
    assert masked == ["****@" + e.split("@", 1)[1] for e in real]
    at.toggle(key="show_plan").set_value(True).run()
    assert "regexp_replace" in at.code[0].value.lower()  # the plan is the analyst's

    at.switch_page("app.py").run()  # AppTest runs a switched-to page alone; back to the router
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to Concord"]
    at = sign_in(at, "fiona", FIONA_PASSWORD)
    at.switch_page("pages/sql_explorer.py").run()
    assert explore(at, CONTACTS) == real  # not the analyst's memoized answer

    records = [json.loads(line) for line in (governed.parent / "ledger.jsonl").read_text(
        encoding="utf-8").splitlines()]
    asked = [(r["user"], r["role"]) for r in records if r["sql"] == CONTACTS]
    assert asked == [(DEMO_USER, "analyst"), ("fiona", "finance")]
