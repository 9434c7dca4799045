"""Bad input and failing sources: a clear typed error, never a wrong or partial answer."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import (
    AuthenticationError,
    NotAllowedError,
    QueryError,
    RateLimitedError,
    SchemaMismatchError,
    SourceError,
    SourceUnavailableError,
)


def test_unknown_column_suggests_the_right_one(fed):
    with pytest.raises(QueryError) as info:
        fed.sql("SELECT Amout FROM salesforce.Opportunity")
    assert str(info.value) == ("unknown column salesforce.Opportunity.Amout — "
                               "did you mean Amount?")


@pytest.mark.parametrize("sql", [
    "SELECT o.Amout FROM salesforce.Opportunity o",
    "SELECT Opportunity.Amout FROM salesforce.Opportunity",
    "SELECT o.Amout FROM salesforce.Opportunity o JOIN salesforce.Account a ON o.AccountId = a.Id",
    "SELECT Amout FROM salesforce.Opportunity o JOIN salesforce.Account a ON o.AccountId = a.Id",
    "SELECT a.Name FROM salesforce.Account a JOIN salesforce.Opportunity o "
    "ON o.AccountId = a.Id WHERE o.Amout > 5",
    "SELECT d.id FROM hubspot.deals d JOIN salesforce.Opportunity o ON o.Id = d.id "
    "WHERE Amout > 5",
])
def test_unknown_column_names_source_object_and_fix(fed, sql):
    """Qualified or not, alone or in a join: the table it was looked for in, and a fix."""
    with pytest.raises(QueryError) as info:
        fed.sql(sql)
    assert str(info.value) == ("unknown column salesforce.Opportunity.Amout — "
                               "did you mean Amount?")


def test_unknown_column_of_a_subquery_names_its_alias(fed):
    with pytest.raises(QueryError) as info:
        fed.sql("WITH won AS (SELECT Id, Amount FROM salesforce.Opportunity WHERE IsWon) "
                "SELECT w.Amout FROM won w")
    assert str(info.value) == "unknown column w.Amout — did you mean Amount?"


@pytest.mark.parametrize("sql, column, value, fix", [
    ("SELECT Id FROM salesforce.Opportunity WHERE Amount > 'abc'",
     "salesforce.Opportunity.Amount", "'abc'", "write a number without quotes"),
    ("SELECT o.Id FROM salesforce.Opportunity o JOIN salesforce.Account a "
     "ON o.AccountId = a.Id WHERE o.Amount IN (1, 'lots')",
     "salesforce.Opportunity.Amount", "'lots'", "write a number without quotes"),
    ("SELECT Id FROM salesforce.Opportunity WHERE CloseDate >= '2026-13-45'",
     "salesforce.Opportunity.CloseDate", "'2026-13-45'", "write a date as 'YYYY-MM-DD'"),
    ("SELECT Id FROM salesforce.Opportunity WHERE IsWon = 'maybe'",
     "salesforce.Opportunity.IsWon", "'maybe'", "write true or false"),
    ("SELECT * FROM (SELECT Id, Amount AS amt FROM salesforce.Opportunity) t WHERE amt > 'x'",
     "amt (salesforce.Opportunity.Amount)", "'x'", "write a number without quotes"),
])
def test_a_literal_that_cannot_be_converted_fails_before_any_request(
        fresh_fed, salesforce_sim, sql, column, value, fix):
    """One line naming the column and the value, no internal relation names or rewritten
    SQL, and nothing fetched: it is caught while binding over empty tables."""
    from federation.pgwire.session import sqlstate

    fresh_fed.tables("salesforce")
    salesforce_sim.reset_stats()
    with pytest.raises(QueryError) as info:
        fresh_fed.sql(sql)
    message = str(info.value)
    assert message.startswith(f"cannot compare {column} with {value}: ")
    assert fix in message
    assert "\n" not in message and "__" not in message and "LINE" not in message
    assert salesforce_sim.stats.requests_by_kind.get("query", 0) == 0
    assert sqlstate(info.value) in ("22P02", "22007", "22008")  # what PostgreSQL says


def test_valid_literals_of_every_type_still_run(fed, truth):
    sql = ("SELECT Id FROM salesforce.Opportunity WHERE Amount > '5' AND CloseDate > "
           "'2025-01-01' AND IsWon = 'true' AND CreatedDate >= '2025-06-01 12:00:00' "
           "AND CreatedDate < CAST('2030-06-15 10:30:00.25+00' AS TIMESTAMPTZ) "
           "AND CloseDate < DATE '2030-01-01'")
    expected = truth.sql(sql).to_arrow_table().num_rows
    assert fed.sql(sql).num_rows == expected > 0


def test_a_data_error_while_running_is_one_line_naming_the_source_table(fed):
    """A value that fails only once rows arrive (no literal to check beforehand): DuckDB's
    first line, the engine's relation named as the user's table, no rewritten SQL."""
    with pytest.raises(QueryError) as info:
        fed.sql("SELECT CAST(a.Name AS INTEGER) FROM salesforce.Account AS a")
    message = str(info.value)
    assert "Could not convert string" in message and "\n" not in message
    assert "__scan" not in message and "LINE 1" not in message


def test_unknown_table_and_source_suggest(fed):
    with pytest.raises(QueryError, match="unknown table salesforce.Opportunty — did you mean "
                                         "Opportunity"):
        fed.sql("SELECT * FROM salesforce.Opportunty")
    with pytest.raises(QueryError, match="unknown source 'salesfrce' — did you mean salesforce"):
        fed.sql("SELECT * FROM salesfrce.Opportunity")
    with pytest.raises(QueryError, match="name source tables as <source>.<object>"):
        fed.sql("SELECT * FROM Opportunity")


def test_malformed_sql_has_a_position(fed):
    with pytest.raises(QueryError, match=r"syntax error at line 1, column \d+"):
        fed.sql("SELECT Id FROM salesforce.Opportunity WHERE (Amount > ")


def test_type_errors_are_caught_before_any_request(fresh_fed, salesforce_sim):
    salesforce_sim.reset_stats()
    with pytest.raises(QueryError, match="sum"):
        fresh_fed.sql("SELECT sum(Name) FROM salesforce.Opportunity")
    assert salesforce_sim.stats.requests_by_kind.get("query", 0) == 0


@pytest.mark.parametrize("sql", [
    "DELETE FROM salesforce.Opportunity",
    "SELECT * FROM read_csv('/etc/passwd')",
    "COPY (SELECT 1) TO '/tmp/x.csv'",
    "ATTACH '/tmp/x.db'",
])
def test_writes_and_file_access_are_refused(fed, salesforce_sim, sql):
    salesforce_sim.reset_stats()
    with pytest.raises(NotAllowedError):
        fed.sql(sql)
    assert salesforce_sim.stats.requests_total == 0


def test_wrong_credentials(sandbox, tmp_path):
    (tmp_path / "wrong").write_text("not-the-secret")
    raw = sandbox.catalog()
    raw["sources"]["salesforce"]["auth"]["client_secret"] = {"file": "wrong"}
    with Federation(parse_catalog(raw, base_dir=tmp_path)) as federation, \
            pytest.raises(AuthenticationError) as info:
        federation.sql("SELECT Id FROM salesforce.Account")
    message = str(info.value)
    assert message.startswith("salesforce: OAuth token request refused")
    assert "not-the-secret" not in message and "file wrong" in message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_source_down(sandbox):
    raw = sandbox.catalog()
    raw["sources"]["salesforce"]["url"] = f"http://127.0.0.1:{_free_port()}"
    raw["sources"]["salesforce"]["retry"] = {"max_attempts": 2, "budget": 2,
                                             "backoff_initial_seconds": 0.01}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation, \
            pytest.raises(SourceUnavailableError, match="salesforce: unavailable after retries"):
        federation.sql("SELECT Id FROM salesforce.Account")


def test_429_then_success_is_retried_honouring_retry_after(fresh_fed, salesforce_sim, truth):
    fresh_fed.tables("salesforce")  # discovery done, so the fault hits the query
    salesforce_sim.reset_stats()
    salesforce_sim.inject(status=429, count=2, retry_after=0.05, kinds=["query"])
    result = fresh_fed.sql("SELECT Id FROM salesforce.Account")
    assert result.num_rows == truth.sql("SELECT count(*) FROM salesforce.Account").fetchall()[0][0]
    scan = fresh_fed.last_stats.scans[0]
    assert scan.retries == 2 and scan.http_requests == 3


def federation_with_retry(sandbox, **retry) -> Federation:
    raw = sandbox.catalog()
    raw["settings"]["cache_max_bytes"] = 0
    raw["sources"]["salesforce"]["retry"] = {"backoff_initial_seconds": 0.01,
                                             "backoff_max_seconds": 0.02, **retry}
    return Federation(parse_catalog(raw, base_dir=Path(".")))


def test_5xx_storm_beyond_budget_fails_cleanly(sandbox, salesforce_sim):
    with federation_with_retry(sandbox, max_attempts=10, budget=3) as federation:
        federation.tables("salesforce")
        salesforce_sim.reset_stats()
        salesforce_sim.inject(status=503, count=50, kinds=["query", "query_more"])
        try:
            with pytest.raises(SourceUnavailableError, match="unavailable after retries"):
                federation.sql("SELECT Id FROM salesforce.Opportunity")
        finally:
            salesforce_sim.clear_faults()
        assert salesforce_sim.stats.requests_by_kind["query"] == 4  # first try + budget of 3


def test_failure_midway_through_paging_is_not_a_partial_answer(sandbox, salesforce_sim):
    with federation_with_retry(sandbox, max_attempts=1, budget=0) as federation:
        federation.tables("salesforce")
        salesforce_sim.inject(status=500, count=1, kinds=["query_more"])
        try:
            with pytest.raises(SourceUnavailableError):
                federation.sql("SELECT Id FROM salesforce.OpportunityHistory")
        finally:
            salesforce_sim.clear_faults()


def test_daily_limit_is_a_rate_limit_error(fresh_fed, salesforce_sim):
    fresh_fed.tables("salesforce")
    salesforce_sim.inject(status=403, count=1, kinds=["query"])
    with pytest.raises(RateLimitedError, match="API request limit exceeded"):
        fresh_fed.sql("SELECT Id FROM salesforce.Account")


def test_field_removed_after_discovery_is_a_schema_error(sandbox, salesforce_sim):
    with federation_with_retry(sandbox) as federation:
        federation.tables("salesforce")
        account = salesforce_sim.org.objects["Account"]
        original = list(account.fields)
        account.fields = [f for f in original if f.name != "Website"]
        try:
            with pytest.raises(SchemaMismatchError, match="salesforce.Account: INVALID_FIELD"):
                federation.sql("SELECT Id, Website FROM salesforce.Account")
            with pytest.raises(QueryError, match="unknown column salesforce.Account.Website"):
                federation.sql("SELECT Id, Website FROM salesforce.Account")  # rediscovered
        finally:
            account.fields = original


def test_field_that_changed_type_names_both_types(sandbox, salesforce_sim):
    import dataclasses

    with federation_with_retry(sandbox) as federation:
        federation.tables("salesforce")
        product = salesforce_sim.org.objects["Product2"]
        fields, records = list(product.fields), product.records
        product.fields = [dataclasses.replace(f, type="string") if f.name == "IsActive" else f
                          for f in fields]
        product.records = [{**r, "IsActive": "yes"} for r in records]
        try:
            with pytest.raises(SchemaMismatchError) as info:
                federation.sql("SELECT Id, IsActive FROM salesforce.Product2")
        finally:
            product.fields, product.records = fields, records
    message = str(info.value)
    assert message.startswith("salesforce.Product2.IsActive: sent a value that does not fit")
    assert "'yes'" in message and "discovered as boolean, now string" in message


@pytest.mark.parametrize("source, table", [("salesforce", "Account"), ("hubspot", "deals"),
                                           ("dynamics", "accounts")])
def test_source_down_per_adapter(sandbox, source, table):
    raw = sandbox.catalog()
    raw["sources"] = {source: raw["sources"][source]}
    raw["model"]["system_of_record"] = {}  # its rules name the sources just dropped
    raw["sources"][source]["url"] = f"http://127.0.0.1:{_free_port()}"
    raw["sources"][source]["retry"] = {"max_attempts": 2, "budget": 2,
                                       "backoff_initial_seconds": 0.01}
    if source == "dynamics":
        raw["sources"][source]["options"]["authority"] = raw["sources"][source]["url"]
    with Federation(parse_catalog(raw, base_dir=Path("."))) as federation, \
            pytest.raises(SourceUnavailableError, match=f"{source}: unavailable after retries"):
        federation.sql(f"SELECT * FROM {source}.{table}")


@pytest.mark.parametrize("source, table, kind", [
    ("salesforce", "Account", "query"), ("hubspot", "deals", "list"),
    ("dynamics", "accounts", "data"),
])
def test_malformed_response_per_adapter(sandbox, source, table, kind):
    sim = sandbox.simulators[source]
    with federation_with_retry(sandbox) as federation:
        federation.tables(source)
        sim.inject(status=200, body="<html>proxy login</html>", kinds=[kind])
        try:
            with pytest.raises(SourceError) as info:
                federation.sql(f"SELECT * FROM {source}.{table}")
        finally:
            sim.clear_faults()
    assert str(info.value).startswith(f"{source}.{table}:")


# -- retries measured at the simulator ---------------------------------------------------


def _arrivals(sim, fragment: str) -> list[float]:
    """When requests whose path contains ``fragment`` reached the simulator."""
    return [at for at, _, path in list(sim.request_log) if fragment in path]


def test_retry_after_is_waited_for(sandbox, salesforce_sim, truth):
    """A 429 with Retry-After: 1 makes the adapter wait a second before asking again (its
    own backoff here is at most 0.02 s, so only Retry-After explains the gap)."""
    with federation_with_retry(sandbox) as federation:
        federation.tables("salesforce")
        salesforce_sim.request_log.clear()
        salesforce_sim.inject(status=429, count=1, retry_after=1, kinds=["query"])
        try:
            result = federation.sql("SELECT Id FROM salesforce.Account")
        finally:
            salesforce_sim.clear_faults()
        scan = federation.last_stats.scans[0]
    assert result.num_rows == truth.sql("SELECT count(*) FROM salesforce.Account").fetchall()[0][0]
    first, second = _arrivals(salesforce_sim, "/query")[:2]
    assert second - first >= 0.9
    assert scan.retries == 1


# the request each CRM's scan of the table starts with, as a path fragment
FIRST_REQUEST = {("salesforce", "Account"): "/query", ("hubspot", "deals"): "/objects/deals",
                 ("dynamics", "accounts"): "/accounts"}


def federation_with_timeout(sandbox, source: str, timeout: float) -> Federation:
    raw = sandbox.catalog()
    raw["settings"]["cache_max_bytes"] = 0
    raw["sources"][source]["timeout_seconds"] = timeout
    raw["sources"][source]["retry"] = {"backoff_initial_seconds": 0.01,
                                       "backoff_max_seconds": 0.02}
    return Federation(parse_catalog(raw, base_dir=Path(".")))


@pytest.mark.parametrize("mode", ["stall", "reset"])
@pytest.mark.parametrize("source, table", sorted(FIRST_REQUEST))
def test_timeout_or_reset_midway_is_retried_then_succeeds(sandbox, truth, source, table, mode):
    """A request that times out (the simulator stalls past the client's timeout) or whose
    connection is reset midway through the response is sent again and the answer is whole."""
    sim = sandbox.simulators[source]
    fragment = FIRST_REQUEST[(source, table)]
    with federation_with_timeout(sandbox, source, timeout=1.0) as federation:
        federation.tables(source)  # discovery (and the token) done: the fault hits the scan
        sim.request_log.clear()
        sim.inject_network(mode, seconds=30.0, path_contains=fragment)
        try:
            result = federation.sql(f'SELECT * FROM {source}."{table}"')
        finally:
            sim.clear_faults()
        scan = federation.last_stats.scans[0]
    expected = truth.sql(f'SELECT count(*) FROM {source}."{table}"').fetchall()[0][0]
    assert result.num_rows == expected
    assert scan.retries == 1
    arrivals = _arrivals(sim, fragment)
    assert len(arrivals) >= 2
    if mode == "stall":  # the retry went out when the 1 s timeout fired: not before, and not
        assert 0.9 <= arrivals[1] - arrivals[0] < 20  # after the 30 s stall's own answer
