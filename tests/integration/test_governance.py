"""Governance, adversarially: per role, every way of reaching a masked column or a filtered
row (views, CTEs, subqueries, aliases, SELECT *, joins, unions, functions, predicates,
aggregates, explain, errors, the wire server, exports, the dashboards' loader) gets the
masked or filtered answer or a clear refusal; unknown users are refused; planted secrets
appear in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import ConcordError, PermissionDeniedError
from federation.export import export
from federation.pgwire.server import running
from sandbox.run import DEMO_USER, demo_secret
from tests.conftest import write_catalog

EMEA = ("Germany", "France", "United Kingdom")
EMEA_SQL = "BillingCountry IN ('Germany', 'France', 'United Kingdom')"
GOVERNANCE = {
    "default_user": DEMO_USER,
    "users": {DEMO_USER: {"role": "analyst"}, "fiona": {"role": "finance"},
              "erik": {"role": "sales_emea"}, "olga": {"role": "ops"}},
    "roles": {
        "analyst": {"grants": ["public.*", "salesforce.*"],
                    "masks": {"*.email": "email", "*.phone": "phone"}},
        "finance": {"grants": ["*"]},
        "sales_emea": {"grants": ["public.*", "salesforce.*"],
                       "row_filters": {"salesforce.Account": EMEA_SQL,
                                       "public.customer_360": "region = 'EMEA'"}},
        "ops": {"grants": ["salesforce.*", "legacy_erp.*"],
                "masks": {"salesforce.Opportunity.Amount": "hash",
                          "legacy_erp.customers.credit_limit": "null"},
                "row_filters": {"legacy_erp.customers": "country = 'US'"}},
    },
}
CONTACTS = "SELECT Id, Email, Phone FROM salesforce.Contact WHERE Email IS NOT NULL ORDER BY Id"


@pytest.fixture(scope="module")
def fed(sandbox, tmp_path_factory) -> Iterator[Federation]:
    raw = sandbox.catalog()
    folder = tmp_path_factory.mktemp("governance")
    raw["governance"] = {**GOVERNANCE, "audit_ledger": str(folder / "ledger.jsonl")}
    with Federation(parse_catalog(raw, base_dir=folder)) as federation:
        yield federation


@pytest.fixture(scope="module")
def real_contacts(fed) -> list[dict]:
    return fed.sql(CONTACTS, user="fiona").to_pylist()


def _values(fed: Federation, sql: str, user: str) -> set[str]:
    """Every string value in the answer."""
    return {v for row in fed.sql(sql, user=user).to_pylist() for v in row.values()
            if isinstance(v, str)}


# -- masks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    CONTACTS,
    "SELECT * FROM salesforce.Contact",
    "SELECT c.Email AS e, c.Phone AS p FROM salesforce.Contact AS c",
    "WITH c AS (SELECT Email, Phone FROM salesforce.Contact) SELECT * FROM c",
    "SELECT x.Email FROM (SELECT * FROM (SELECT Email FROM salesforce.Contact) AS y) AS x",
    "SELECT lower(Email) AS l, upper(Phone) AS u, Email || '' AS e FROM salesforce.Contact",
    "SELECT c.Email, a.Name FROM salesforce.Contact c JOIN salesforce.Account a "
    "ON c.AccountId = a.Id",
    "SELECT Email FROM salesforce.Contact UNION ALL SELECT Phone FROM salesforce.Contact",
    "SELECT string_agg(Email, ',') AS emails FROM salesforce.Contact",
    "SELECT email, phone FROM customer_360",
    "SELECT * FROM customer_360",
])
def test_the_analyst_never_sees_a_real_email_or_phone(fed, real_contacts, sql):
    secrets = {r["Email"] for r in real_contacts} | {r["Phone"] for r in real_contacts
                                                       if r["Phone"]}
    seen = _values(fed, sql, DEMO_USER)
    leaked = {s for s in secrets if any(s.lower() in v.lower() for v in seen)}
    assert not leaked
    assert seen  # the query answered


def test_masks_keep_what_the_role_may_see(fed, real_contacts):
    masked = fed.sql(CONTACTS, user=DEMO_USER).to_pylist()
    assert [r["Id"] for r in masked] == [r["Id"] for r in real_contacts]
    for mine, real in zip(masked, real_contacts, strict=True):
        assert mine["Email"] == "****@" + real["Email"].split("@", 1)[1]
        if real["Phone"]:
            assert mine["Phone"].startswith("****") and real["Phone"].endswith(
                mine["Phone"][4:])


def test_predicates_compare_masked_values(fed, real_contacts):
    """Filtering on a masked column cannot probe for real values."""
    email = real_contacts[0]["Email"]
    sql = f"SELECT count(*) AS n FROM salesforce.Contact WHERE Email = '{email}'"
    assert fed.sql(sql, user="fiona").to_pylist()[0]["n"] == 1
    assert fed.sql(sql, user=DEMO_USER).to_pylist()[0]["n"] == 0
    like = "SELECT count(*) AS n FROM salesforce.Contact WHERE Email LIKE '" + \
        email.split("@")[0] + "%'"
    assert fed.sql(like, user=DEMO_USER).to_pylist()[0]["n"] == 0


def test_errors_and_explain_show_no_real_values(fed, real_contacts):
    email = real_contacts[0]["Email"]
    with pytest.raises(ConcordError) as info:
        fed.sql("SELECT CAST(Email AS INTEGER) FROM salesforce.Contact "
                f"WHERE Id = '{real_contacts[0]['Id']}'", user=DEMO_USER)
    assert email not in str(info.value)
    plan = fed.explain(CONTACTS, user=DEMO_USER)
    assert "regexp_replace" in plan.local_sql.lower()  # the mask is in the plan: no value


def test_predicates_on_masked_columns_stay_local(fed):
    """The source is never asked to compare a real value with what the user wrote."""
    plan = fed.explain("SELECT Id FROM salesforce.Contact WHERE Email = 'a@b.c' "
                       "AND LastName = 'Smith'", user=DEMO_USER)
    pushed = [p for p, _ in plan.scans[0].pushed]
    assert pushed == ["LastName = 'Smith'"]


def test_correlated_subqueries_see_masked_values(fed, real_contacts):
    email = real_contacts[0]["Email"]
    inner = fed.sql("SELECT a.Id, (SELECT max(c.Email) FROM salesforce.Contact c "
                    "WHERE c.AccountId = a.Id) AS e FROM salesforce.Account a",
                    user=DEMO_USER).column("e").to_pylist()
    assert [e for e in inner if e] and all(e.startswith("****@") for e in inner if e)
    outer = ("SELECT count(*) FROM salesforce.Contact c WHERE EXISTS (SELECT 1 FROM "
             f"salesforce.Account a WHERE a.Id = c.AccountId AND c.Email = '{email}')")
    assert _count(fed, outer, DEMO_USER) == 0 < _count(fed, outer, "fiona")


def test_masks_change_types_in_describe_and_answers(fed):
    sql = "SELECT Id, Amount FROM salesforce.Opportunity WHERE Amount IS NOT NULL"
    assert str(fed.describe(sql, user="olga").field("Amount").type) == "string"
    assert str(fed.describe(sql, user="fiona").field("Amount").type) != "string"
    mine = fed.sql(sql + " ORDER BY Id", user="olga").to_pylist()
    hashed = fed.sql("SELECT Id, md5(CAST(Amount AS VARCHAR)) AS Amount FROM "
                     "salesforce.Opportunity WHERE Amount IS NOT NULL ORDER BY Id",
                     user="fiona").to_pylist()
    assert mine == hashed and len(mine) > 10


def test_a_top_n_over_a_masked_column_is_not_pushed(fed):
    """The source would sort real amounts; DuckDB must pick the top rows by the masked
    ones (and the source must not learn which real values rank first)."""
    top = "SELECT Id, Amount FROM salesforce.Opportunity ORDER BY Amount DESC, Id LIMIT 3"
    plan = fed.explain(top, user="olga")
    assert plan.scans[0].request.limit is None
    expected = fed.sql("SELECT Id, md5(CAST(Amount AS VARCHAR)) AS Amount FROM "
                       "salesforce.Opportunity ORDER BY Amount DESC, Id LIMIT 3",
                       user="fiona").to_pylist()
    assert fed.sql(top, user="olga").to_pylist() == expected
    by_date = fed.explain("SELECT Id FROM salesforce.Opportunity ORDER BY CloseDate LIMIT 3",
                          user="olga")
    assert by_date.scans[0].request.limit == 3  # unmasked keys still go to the source


def test_a_sql_sources_sub_plan_never_takes_a_guarded_table(fed):
    sql = ("SELECT c.country, count(*) AS n, count(c.credit_limit) AS limits FROM "
           "legacy_erp.orders o JOIN legacy_erp.customers c ON o.cust_no = c.cust_no "
           "GROUP BY 1")
    assert fed.explain(sql, user="fiona").scans[0].query is not None  # pushed whole
    plan = fed.explain(sql, user="olga")
    assert [s.query for s in plan.scans] == [None, None]
    customers = next(s for s in plan.scans if s.table.name == "customers")
    assert [p for p, _ in customers.pushed] == ["country = 'US'"]
    rows = fed.sql(sql, user="olga").to_pylist()
    assert [(r["country"], r["limits"]) for r in rows] == [("US", 0)]
    assert rows[0]["n"] == _count(fed, "SELECT count(*) FROM legacy_erp.orders o JOIN "
                                       "legacy_erp.customers c ON o.cust_no = c.cust_no "
                                       "WHERE c.country = 'US'", "fiona")


# -- row filters ---------------------------------------------------------------------------


def _count(fed: Federation, sql: str, user: str) -> int:
    return fed.sql(sql, user=user).column(0)[0].as_py()


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM salesforce.Account",
    "SELECT count(*) FROM (SELECT * FROM salesforce.Account) AS a",
    "WITH a AS (SELECT Id FROM salesforce.Account) SELECT count(*) FROM a",
    "SELECT count(*) FROM salesforce.Account AS x WHERE x.Id IS NOT NULL",
    "SELECT count(*) FROM (SELECT Id FROM salesforce.Account UNION ALL "
    "SELECT Id FROM salesforce.Account WHERE false) AS u",
])
def test_the_regional_role_sees_only_its_accounts(fed, sql):
    expected = _count(fed, f"SELECT count(*) FROM salesforce.Account WHERE {EMEA_SQL}",
                      "fiona")
    assert 0 < _count(fed, sql, "erik") == expected < _count(fed, sql, "fiona")


def test_row_filters_reach_joins_and_are_pushed_to_the_source(fed):
    sql = ("SELECT count(*) FROM salesforce.Opportunity o JOIN salesforce.Account a "
           "ON o.AccountId = a.Id")
    expected = _count(fed, sql + f" WHERE a.{EMEA_SQL}", "fiona")
    assert _count(fed, sql, "erik") == expected
    plan = fed.explain("SELECT Name FROM salesforce.Account", user="erik")
    assert [p for p, _ in plan.scans[0].pushed] == [EMEA_SQL]
    countries = {r["BillingCountry"] for r in fed.sql(
        "SELECT DISTINCT BillingCountry FROM salesforce.Account", user="erik").to_pylist()}
    assert countries <= set(EMEA)


def test_a_filter_on_a_view_holds_through_every_query_of_it(fed):
    regions = fed.sql("SELECT DISTINCT region FROM customer_360", user="erik").to_pylist()
    assert regions == [{"region": "EMEA"}]
    everyone = _count(fed, "SELECT count(*) FROM customer_360", "fiona")
    emea = _count(fed, "SELECT count(*) FROM customer_360 WHERE region = 'EMEA'", "fiona")
    # erik's Salesforce accounts are filtered too, so EMEA customers known only from
    # Salesforce accounts elsewhere in EMEA drop out as well
    assert 0 < _count(fed, "SELECT count(*) FROM customer_360", "erik") <= emea < everyone
    assert _count(fed, "WITH c AS (SELECT * FROM public.customer_360) "
                       "SELECT count(*) FROM c WHERE region <> 'EMEA'", "erik") == 0


# -- grants and users ----------------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "SELECT * FROM hubspot.contacts",
    "WITH h AS (SELECT * FROM hubspot.deals) SELECT count(*) FROM h",
    "SELECT count(*) FROM (SELECT id FROM hubspot.deals) AS d",
    "SELECT Id FROM salesforce.Account UNION SELECT id FROM hubspot.companies",
    "SELECT count(*) FROM salesforce.Account WHERE Id IN (SELECT id FROM hubspot.companies)",
])
def test_ungranted_sources_are_refused_however_they_are_named(fed, sql):
    with pytest.raises(PermissionDeniedError, match="may not read hubspot"):
        fed.sql(sql, user=DEMO_USER)
    assert fed.sql(sql, user="fiona").num_rows >= 1


def test_a_granted_view_may_read_what_its_reader_may_not_name(fed):
    """customer_360 reads HubSpot inside; the analyst is granted the view, not HubSpot."""
    systems = {s for row in fed.sql("SELECT source_systems FROM customer_360",
                                    user=DEMO_USER).to_pylist()
               for s in row["source_systems"]}
    assert "hubspot" in systems


def test_unknown_users_are_refused_and_the_default_user_applies(fed, real_contacts):
    with pytest.raises(PermissionDeniedError, match="unknown user 'mallory'"):
        fed.sql("SELECT 1", user="mallory")
    default = fed.sql(CONTACTS).to_pylist()  # the catalog's default user: the analyst
    assert default[0]["Email"].startswith("****@")


def test_the_ledger_names_user_and_role(fed):
    fed.sql("SELECT count(*) FROM salesforce.Account", user="erik")
    last = list(fed.ledger.records())[-1]
    assert (last["user"], last["role"], last["outcome"]) == ("erik", "sales_emea", "ok")


# -- other entry points --------------------------------------------------------------------


def test_the_wire_server_applies_the_logged_in_users_policy(fed, real_contacts):
    with running(fed) as server:
        dsn = (f"host=127.0.0.1 port={server.port} user={DEMO_USER} "
               f"password={demo_secret(DEMO_USER)} dbname=concord sslmode=disable")
        with psycopg.connect(dsn, autocommit=True) as con:
            rows = con.execute(CONTACTS).fetchall()
            assert rows[0][1] == "****@" + real_contacts[0]["Email"].split("@", 1)[1]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute("SELECT * FROM hubspot.deals")
            assert con.execute("SELECT 1").fetchone() == (1,)


def test_the_wire_catalog_lists_only_granted_relations(sandbox, fed, tmp_path):
    """psql, BI tools and SQLAlchemy learn nothing of relations the role may not read, and
    see masked columns with their mask's type; a login the governance section does not
    know is refused at connect."""
    raw = sandbox.catalog()
    secret = tmp_path / "stranger-password"
    secret.write_text("stranger-pw", encoding="utf-8")
    raw["server"]["users"]["stranger"] = {"password": {"file": str(secret)}}
    raw["server"]["users"]["olga"] = {"password": {"file": str(secret)}}
    # no default user: the catalog must not depend on who it would describe views as
    raw["governance"] = {k: v for k, v in GOVERNANCE.items() if k != "default_user"}
    with Federation(parse_catalog(raw, base_dir=tmp_path)) as governed, \
            running(governed) as server:
        base = f"host=127.0.0.1 port={server.port} dbname=concord sslmode=disable"
        with psycopg.connect(f"{base} user={DEMO_USER} password={demo_secret(DEMO_USER)}",
                             autocommit=True) as con:
            schemas = {r[0] for r in con.execute(
                "SELECT nspname FROM pg_catalog.pg_namespace").fetchall()}
            tables = {(r[0], r[1]) for r in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
        assert "salesforce" in schemas and "hubspot" not in schemas
        assert ("public", "customer_360") in tables and ("salesforce", "Account") in tables
        assert not {t for t in tables if t[0] in ("hubspot", "netsuite", "dynamics")}
        amount = ("SELECT data_type FROM information_schema.columns WHERE table_schema = "
                  "'salesforce' AND table_name = 'Opportunity' AND column_name = 'Amount'")
        assert con_value(f"{base} user={DEMO_USER} password={demo_secret(DEMO_USER)}",
                         amount) == "double precision"
        with psycopg.connect(f"{base} user=olga password=stranger-pw", autocommit=True) as con:
            assert con.execute(amount).fetchone()[0] == "text"  # hashed for olga's role
            described = con.execute("SELECT Amount FROM salesforce.Opportunity LIMIT 1")
            assert described.description[0].type_code == 25  # text, as the catalog says
        with pytest.raises(psycopg.OperationalError, match="unknown user 'stranger'"):
            psycopg.connect(f"{base} user=stranger password=stranger-pw")


def con_value(dsn: str, sql: str) -> object:
    with psycopg.connect(dsn, autocommit=True) as con:
        return con.execute(sql).fetchone()[0]


def test_exports_write_what_the_user_may_see(fed, real_contacts, tmp_path):
    out = tmp_path / "contacts.parquet"
    export(fed, CONTACTS, "parquet", out, user=DEMO_USER)
    emails = pq.read_table(out).column("Email").to_pylist()
    assert emails[0] == "****@" + real_contacts[0]["Email"].split("@", 1)[1]
    assert real_contacts[0]["Email"] not in out.read_bytes().decode("latin-1")


def test_the_dashboards_read_as_the_default_user_or_the_signed_in_one(fed, real_contacts):
    from dashboards.loader import Loader

    loader = Loader(fed)
    assert loader.load(CONTACTS, user="fiona").table.to_pylist() == real_contacts
    table = loader.load(CONTACTS).table  # memoized per user: not finance's answer
    assert table.column("Email")[0].as_py().startswith("****@")
    with pytest.raises(PermissionDeniedError):
        loader.load("SELECT * FROM hubspot.deals", user=DEMO_USER)


def test_repeated_failed_sign_ins_lock_the_name_even_with_the_right_password(sandbox,
                                                                              tmp_path):
    raw = sandbox.catalog()
    raw["governance"] = dict(GOVERNANCE)
    with Federation(parse_catalog(raw, base_dir=tmp_path)) as governed:
        for _ in range(5):
            with pytest.raises(PermissionDeniedError, match="^wrong user or password"):
                governed.authenticate(DEMO_USER, "guess")
        with pytest.raises(PermissionDeniedError, match="too many failed sign-ins"):
            governed.authenticate(DEMO_USER, demo_secret(DEMO_USER))


def test_sign_ins_check_the_login_and_say_nothing_of_which_part_was_wrong(fed):
    assert fed.authenticate(DEMO_USER, demo_secret(DEMO_USER)).role == "analyst"
    for user, password in [(DEMO_USER, "guess"), ("fiona", demo_secret(DEMO_USER)),
                           ("nobody", "x"), ("", "")]:
        with pytest.raises(PermissionDeniedError, match="^wrong user or password"):
            fed.authenticate(user, password)


# -- secrets -------------------------------------------------------------------------------


def test_planted_secrets_appear_in_no_output(sandbox, tmp_path):
    """The sources' credentials, and a wrong one tried on purpose, never reach the CLI's
    output, statistics, explain, errors, exports, manifests or the ledger, nor a wire
    client's answers and errors, nor the log stream."""
    raw = sandbox.catalog()
    raw["governance"] = {"audit_ledger": str(tmp_path / "ledger.jsonl")}
    planted = "planted-S3CRET-token-4711"
    (tmp_path / "wrong-token").write_text(planted, encoding="utf-8")
    raw["sources"]["hubspot"]["auth"] = {"access_token": {"file": str(tmp_path /
                                                                     "wrong-token")}}
    catalog = str(write_catalog(tmp_path / "catalog.yaml", raw))
    concord = str(Path(sys.executable).parent / "concord")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([concord, *args], capture_output=True, text=True, timeout=180,
                              env={**os.environ, "COLUMNS": "200"})

    outputs = [
        run("query", "-c", catalog, "--stats", "-f", "json",
            "SELECT Id, Name FROM salesforce.Account LIMIT 3"),
        run("query", "-c", catalog, "--stats", "SELECT * FROM hubspot.deals LIMIT 1"),
        run("explain", "-c", catalog, "-f", "json", "SELECT * FROM salesforce.Account"),
        run("export", "-c", catalog, "SELECT Id FROM salesforce.Account", "-f", "csv",
            "-o", str(tmp_path / "accounts.csv")),
        run("--debug", "query", "-c", catalog, "SELECT * FROM hubspot.deals LIMIT 1"),
    ]
    assert outputs[1].returncode == 1 and "hubspot" in outputs[1].stderr  # it did fail
    assert "Traceback" in outputs[4].stderr  # --debug shows where: still no secret
    assert "DEBUG httpcore" in outputs[4].stderr  # and logs everything, HTTP included
    texts = [o.stdout + o.stderr for o in outputs] + _wire_session_texts(concord, catalog)
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.iterdir()
              if p.is_file() and p.name not in ("wrong-token", "catalog.yaml")]
    secrets = [planted] + [demo_secret(s) for s in ("salesforce", "dynamics", "netsuite",
                                                    "sap", "oracle", "quickbooks", DEMO_USER)]
    for secret in secrets:
        assert not [t for t in texts if secret in t], secret
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert len(ledger) == 6  # four from the CLI, two over the wire
    assert [r["outcome"] for r in ledger].count("error") == 3


def _wire_session_texts(concord: str, catalog: str) -> list[str]:
    """What a wire client and the server's log stream (``--debug``: every logger at DEBUG)
    show for a good query, a source failing on the planted credential and a wrong login."""
    server = subprocess.Popen([concord, "--debug", "serve", "-c", catalog, "-p", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "COLUMNS": "200"})
    try:
        banner = server.stdout.readline()
        port = banner.split("postgresql://127.0.0.1:", 1)[1].split("/", 1)[0]
        base = f"host=127.0.0.1 port={port} dbname=concord sslmode=disable user={DEMO_USER}"
        seen = [banner]
        with psycopg.connect(f"{base} password={demo_secret(DEMO_USER)}",
                             autocommit=True) as con:
            seen.append(repr(con.execute("SELECT Id FROM salesforce.Account LIMIT 2")
                             .fetchall()))
            with pytest.raises(psycopg.Error) as failed:
                con.execute("SELECT * FROM hubspot.deals LIMIT 1")
            assert "hubspot" in str(failed.value)
            seen.append(f"{failed.value} {failed.value.diag.message_detail} "
                        f"{failed.value.diag.message_hint}")
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(f"{base} password=planted-S3CRET-token-4711")
        seen.append(str(refused.value))
    finally:
        server.terminate()
        out, log = server.communicate(timeout=30)
    assert "DEBUG" in log and "authentication failed" in log  # the log stream was on
    return [*seen, out, log]
