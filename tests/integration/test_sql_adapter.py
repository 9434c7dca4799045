"""The SQL adapter against a real PostgreSQL server and SQLite, differential to DuckDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import adbc_driver_sqlite.dbapi as sqlite
import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from federation.catalog import parse_catalog
from federation.engine import Federation
from federation.errors import (
    AuthenticationError,
    SchemaMismatchError,
    SourceUnavailableError,
)
from tests import postgres
from tests.conftest import assert_matches_truth, normalize
from tests.predicates import predicates

ORDERS = pa.table({
    "order_no": pa.array(range(1, 401), pa.int64()),
    "cust_no": pa.array([i % 37 for i in range(400)], pa.int64()),
    "customer": pa.array([None if i % 41 == 0 else ["Acme", "acme", "O'Brien", "Müller GmbH",
                                                    "back\\slash", "Zeta", "ärger"][i % 7]
                          for i in range(400)], pa.string()),
    "order_date": pa.array([None if i % 53 == 0 else dt.date(2023, 1, 1) + dt.timedelta(days=i)
                            for i in range(400)], pa.date32()),
    "total_amount": pa.array([None if i % 29 == 0 else Decimal(i * 137 % 10000) / 4
                              for i in range(400)], pa.decimal128(14, 2)),
    "status": pa.array([["open", "shipped", "cancelled", None][i % 4] for i in range(400)],
                       pa.string()),
    "priority": pa.array([i % 5 for i in range(400)], pa.int64()),
})
DDL = {
    "postgresql": "CREATE TABLE orders (order_no bigint, cust_no bigint, customer text, "
                  "order_date date, total_amount numeric(14,2), status text, priority integer)",
    "sqlite": "CREATE TABLE orders (order_no INTEGER, cust_no INTEGER, customer TEXT, "
              "order_date DATE, total_amount NUMERIC(14,2), status TEXT, priority INTEGER)",
}


def _insert_sql() -> list[str]:
    rows = []
    for r in ORDERS.to_pylist():
        values = []
        for v in r.values():
            if v is None:
                values.append("NULL")
            elif isinstance(v, str):
                values.append("'" + v.replace("'", "''") + "'")
            elif isinstance(v, dt.date):
                values.append(f"'{v.isoformat()}'")
            else:
                values.append(str(v))
        rows.append("(" + ", ".join(values) + ")")
    return ["INSERT INTO orders VALUES " + ", ".join(rows)]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[postgres.PostgresServer]:
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries are missing: `./run test` installs them with apt")
    server = postgres.start_postgres()
    server.psql(DDL["postgresql"] + "; " + "; ".join(_insert_sql()))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sqlite_path(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "legacy.db"
    with sqlite.connect(str(path)) as con, con.cursor() as cur:
        cur.execute(DDL["sqlite"])
        for statement in _insert_sql():
            cur.execute(statement)
        con.commit()
    return str(path)


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def legacy(request, pg_server, sqlite_path) -> Iterator[Federation]:
    url = pg_server.url if request.param == "postgresql" else f"sqlite:///{sqlite_path}"
    raw = {"settings": {"cache_max_bytes": 0},
           "sources": {"legacy": {"type": "sql", "url": url}}}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        yield fed


@pytest.fixture(scope="module")
def truth() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA legacy")
    con.register("o", ORDERS)
    con.execute("CREATE TABLE legacy.orders AS SELECT * FROM o")
    yield con


def test_discovery_maps_types(legacy):
    table = legacy.tables("legacy")["orders"]
    assert [str(c.type) for c in table.columns] == [
        "int64", "int64", "string", "date32[day]", "decimal128(14, 2)", "string", "int64"]


CORPUS = [
    "SELECT * FROM legacy.orders WHERE total_amount > 1000.50 AND status = 'open'",
    "SELECT order_no FROM legacy.orders WHERE customer = 'acme' OR customer LIKE 'O''B%'",
    "SELECT order_no FROM legacy.orders WHERE customer > 'M' AND order_date < DATE '2023-06-01'",
    "SELECT order_no FROM legacy.orders WHERE customer ILIKE '%MÜLLER%' OR customer IS NULL",
    "SELECT status, count(*), sum(total_amount) FROM legacy.orders GROUP BY status",
    "SELECT order_no, total_amount FROM legacy.orders ORDER BY total_amount DESC NULLS LAST, "
    "order_no LIMIT 5",
    "SELECT order_no, customer FROM legacy.orders ORDER BY customer NULLS FIRST, order_no LIMIT 7",
    "SELECT a.order_no FROM legacy.orders a JOIN legacy.orders b ON a.cust_no = b.cust_no "
    "AND b.priority = 4 WHERE a.priority = 0 AND a.order_no < 40",
]


@pytest.mark.parametrize("sql", CORPUS)
def test_corpus_matches_duckdb(legacy, truth, sql):
    assert_matches_truth(legacy, truth, sql)


def test_generated_predicates(legacy, truth):
    columns = ["order_no", "customer", "order_date", "total_amount", "status", "priority"]

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(predicate=predicates(ORDERS, columns))
    def check(predicate):
        sql = f"SELECT order_no FROM legacy.orders WHERE {predicate}"
        expected = normalize(truth.sql(sql).to_arrow_table())
        assert normalize(legacy.sql(sql)) == expected, sql

    check()


def test_postgres_pushdown_is_sql(pg_server):
    raw = {"sources": {"legacy": {"type": "sql", "url": pg_server.url}}}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
        result = fed.sql("SELECT order_no FROM legacy.orders WHERE status = 'open' "
                         "AND total_amount >= 100 ORDER BY total_amount DESC LIMIT 3")
        scan = fed.last_stats.scans[0]
    assert result.num_rows == 3
    assert scan.native_request == (
        'SELECT "order_no", "total_amount", "status" FROM "public"."orders" WHERE '
        "\"status\" = 'open' AND \"total_amount\" >= 100 "
        'ORDER BY "total_amount" DESC NULLS LAST LIMIT 3')
    assert scan.rows == 3


def test_database_down():
    raw = {"sources": {"legacy": {"type": "sql",
                                  "url": "postgresql://nobody@127.0.0.1:1/none"}}}
    with Federation(parse_catalog(raw, base_dir=Path("."))) as fed, \
            pytest.raises(SourceUnavailableError, match="legacy: cannot connect"):
        fed.sql("SELECT * FROM legacy.orders")


READER_PASSWORD = "p@ss/w0rd#1:%x"  # each of @ / # : % would move a part of a raw url


@pytest.fixture(scope="module")
def pg_password_server() -> Iterator[postgres.PostgresServer]:
    """A server whose TCP logins need a password (scram-sha-256), with a reader role whose
    name and password hold url delimiters."""
    if not postgres.available():
        pytest.fail("PostgreSQL server binaries are missing: `./run test` installs them with apt")
    server = postgres.start_postgres(password="superuser-secret")
    server.psql("CREATE ROLE \"erp@reader\" LOGIN PASSWORD '" + READER_PASSWORD + "'; "
                "CREATE TABLE ledger (id int, amount numeric(10,2)); "
                "INSERT INTO ledger VALUES (1, 5.25), (2, -1.50); "
                "GRANT SELECT ON ledger TO \"erp@reader\"")
    yield server
    server.stop()


def _reader_catalog(server: postgres.PostgresServer) -> dict:
    return {"settings": {"cache_max_bytes": 0},
            "sources": {"legacy": {
                "type": "sql", "url": f"postgresql://erp%40reader@127.0.0.1:{server.port}/postgres",
                "auth": {"password": {"env": "CONCORD_TEST_PG_PASSWORD"}}}}}


def test_password_with_url_delimiters_logs_in(pg_password_server, monkeypatch):
    """The password is percent-encoded into the url: unencoded, ``@`` ``/`` ``#`` moved the
    host and the database and the login failed."""
    monkeypatch.setenv("CONCORD_TEST_PG_PASSWORD", READER_PASSWORD)
    with Federation(parse_catalog(_reader_catalog(pg_password_server),
                                  base_dir=Path("."))) as fed:
        result = fed.sql("SELECT id, amount FROM legacy.ledger WHERE amount > 0")
    assert result.to_pylist() == [{"id": 1, "amount": Decimal("5.25")}]


def test_wrong_password_is_an_authentication_error(pg_password_server, monkeypatch):
    monkeypatch.setenv("CONCORD_TEST_PG_PASSWORD", "p@ss/w0rd#2:%x")
    with Federation(parse_catalog(_reader_catalog(pg_password_server),
                                  base_dir=Path("."))) as fed, \
            pytest.raises(AuthenticationError) as info:
        fed.sql("SELECT id FROM legacy.ledger")
    message = str(info.value)
    assert message.startswith("legacy: login refused (")
    assert "password authentication failed" in message
    assert "env CONCORD_TEST_PG_PASSWORD" in message  # where the password comes from
    assert "w0rd" not in message and "w0rd%232" not in message  # never the secret itself


def test_column_that_changed_type(pg_server):
    pg_server.psql("CREATE TABLE drift (id int, amount numeric(10,2)); "
                   "INSERT INTO drift VALUES (1, 5.25)")
    raw = {"sources": {"legacy": {"type": "sql", "url": pg_server.url}}}
    try:
        with Federation(parse_catalog(raw, base_dir=Path("."))) as fed:
            fed.tables("legacy")
            pg_server.psql("ALTER TABLE drift ALTER COLUMN amount TYPE text; "
                           "UPDATE drift SET amount = 'n/a'")
            with pytest.raises(SchemaMismatchError) as info:
                fed.sql("SELECT amount FROM legacy.drift")
    finally:
        pg_server.psql("DROP TABLE drift")
    assert str(info.value).startswith("legacy.drift.amount: sent 'n/a'")
    assert "discovered as numeric" in str(info.value)


def test_whole_subplans_are_pushed(legacy, truth):
    sql = ("SELECT a.status, count(*) AS n, sum(b.total_amount) AS amount FROM legacy.orders a "
           "JOIN legacy.orders b ON a.cust_no = b.cust_no WHERE b.priority = 4 "
           "GROUP BY 1 ORDER BY 2 DESC, 1 NULLS FIRST")
    result = legacy.sql(sql)
    assert normalize(result, ordered=True) == normalize(truth.sql(sql).to_arrow_table(),
                                                        ordered=True)
    scans = legacy.last_stats.scans
    assert len(scans) == 1  # one query: the join and the aggregate ran in the database
    assert "JOIN" in scans[0].native_request and "GROUP BY" in scans[0].native_request
    assert "ORDER BY" not in scans[0].native_request  # DuckDB orders the final result
    assert scans[0].rows == result.num_rows


def test_string_ordering_is_not_pushed(legacy, truth):
    sql = "SELECT status, max(customer) AS top FROM legacy.orders GROUP BY status"
    assert normalize(legacy.sql(sql)) == normalize(truth.sql(sql).to_arrow_table())
    assert "GROUP BY" not in legacy.last_stats.scans[0].native_request  # collation-dependent


def _answer_and_scans(fed, sql):
    """The answer with pushdown and the scans it sent; the answer without pushdown."""
    result = fed.sql(sql)
    scans = list(fed.last_stats.scans)
    return result, scans, fed.sql(sql, pushdown=False)


def test_join_ordered_by_columns_not_in_the_output_is_pushed(legacy, truth):
    """ORDER BY a qualified column the output lacks used to keep the whole join local (both
    tables fetched whole); the sort key now comes back as a hidden column."""
    sql = ("SELECT a.order_no, b.priority FROM legacy.orders a JOIN legacy.orders b "
           "ON a.cust_no = b.cust_no AND b.priority = 4 WHERE a.priority = 0 "
           "ORDER BY a.total_amount DESC NULLS LAST, a.order_no, b.order_no LIMIT 10")
    result, scans, unpushed = _answer_and_scans(legacy, sql)
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=True)
    assert normalize(result, ordered=True) == expected == normalize(unpushed, ordered=True)
    assert result.column_names == ["order_no", "priority"]  # the hidden keys stay hidden
    [scan] = scans  # one query: the join ran in the database
    assert "JOIN" in scan.native_request
    assert '"a"."total_amount" AS "__order_0"' in scan.native_request
    # plain join rows may tie on every key, so the LIMIT stays with DuckDB
    assert "LIMIT" not in scan.native_request
    joined = truth.sql(sql.split(" ORDER BY")[0].replace(
        "a.order_no, b.priority", "count(*)")).fetchall()[0][0]
    assert scan.rows == joined


# (sql, LIMIT sent to PostgreSQL, LIMIT sent to SQLite); None: the ORDER BY stays local
TOP_N = [
    # an OFFSET: the source returns LIMIT + OFFSET rows, DuckDB skips and limits again
    ("SELECT a.cust_no, count(*) AS n, sum(a.total_amount) AS amount FROM legacy.orders a "
     "JOIN legacy.orders b ON a.cust_no = b.cust_no AND b.priority = 4 GROUP BY 1 "
     "ORDER BY n DESC, a.cust_no LIMIT 5 OFFSET 2", 7, 7),
    # NULL keys: DuckDB sorts them last when descending, PostgreSQL first unless told;
    # SQLite keeps decimals as REAL, so its order is not trusted
    ("SELECT a.total_amount, count(*) AS n FROM legacy.orders a GROUP BY a.total_amount "
     "ORDER BY a.total_amount DESC LIMIT 4", 4, None),
    ("SELECT a.order_date, count(*) AS n FROM legacy.orders a GROUP BY 1 "
     "ORDER BY 1 NULLS FIRST LIMIT 3", 3, None),  # SQLite dates are text
    # an output name inside an expression (DuckDB reads it, the databases do not)
    ("SELECT a.cust_no, count(*) AS n FROM legacy.orders a WHERE a.priority > 1 "
     "GROUP BY 1 ORDER BY n + 1 DESC, a.cust_no LIMIT 3", 3, 3),
    # string order depends on collation: the sub-plan is pushed, its ORDER BY is not
    ("SELECT a.status, count(*) AS n FROM legacy.orders a GROUP BY 1 ORDER BY 1 LIMIT 2",
     None, None),
]


@pytest.mark.parametrize("sql, postgres_limit, sqlite_limit", TOP_N, ids=[
    "offset", "null-decimals-descending", "null-dates-first", "alias-in-expression",
    "string-key"])
def test_whole_query_top_n_is_pushed_when_the_source_picks_the_same_rows(
        legacy, truth, sql, postgres_limit, sqlite_limit):
    result, scans, unpushed = _answer_and_scans(legacy, sql)
    expected = normalize(truth.sql(sql).to_arrow_table(), ordered=True)
    assert normalize(result, ordered=True) == expected == normalize(unpushed, ordered=True)
    [scan] = scans
    dialect = legacy.adapter("legacy").sql_dialect
    limit = postgres_limit if dialect == "postgres" else sqlite_limit
    if limit is None:
        assert "ORDER BY" not in scan.native_request and "LIMIT" not in scan.native_request
        assert scan.rows > result.num_rows
    else:
        assert scan.native_request.endswith(f" LIMIT {limit}")
        assert scan.rows == limit  # only the top rows travelled


def test_top_n_with_ties_keeps_its_limit_local(legacy, truth):
    """Counts tie: the database could keep other tied customers than DuckDB would."""
    sql = ("SELECT a.cust_no, count(*) AS n FROM legacy.orders a GROUP BY 1 "
           "ORDER BY n DESC LIMIT 3")
    result = legacy.sql(sql)
    [scan] = legacy.last_stats.scans
    assert "LIMIT" not in scan.native_request and scan.rows == 37
    assert result.column("n").to_pylist() == [r[1] for r in truth.sql(sql).fetchall()]


def test_limit_and_union_inside_a_subplan_are_pushed(legacy, truth):
    """A subquery's ORDER BY … LIMIT (keys that leave no ties) and a UNION ALL travel
    inside the one pushed query."""
    sql = ("SELECT t.cust_no, t.n, count(*) AS lines FROM (SELECT cust_no, count(*) AS n "
           "FROM legacy.orders WHERE priority IN (0, 4) GROUP BY cust_no "
           "ORDER BY n DESC, cust_no LIMIT 5) t JOIN (SELECT cust_no FROM legacy.orders "
           "WHERE priority = 1 UNION ALL SELECT cust_no FROM legacy.orders WHERE priority = 3) u "
           "ON u.cust_no = t.cust_no GROUP BY 1, 2")
    result, scans, unpushed = _answer_and_scans(legacy, sql)
    expected = normalize(truth.sql(sql).to_arrow_table())
    assert normalize(result) == expected == normalize(unpushed)
    [scan] = scans
    assert "LIMIT 5" in scan.native_request and "UNION ALL" in scan.native_request
    assert scan.rows == result.num_rows == 5
    # with ties in the subquery's order, the database could keep other rows: stays local
    tied = sql.replace("ORDER BY n DESC, cust_no LIMIT 5", "ORDER BY n DESC LIMIT 5")
    legacy.sql(tied)
    assert not any("LIMIT" in s.native_request for s in legacy.last_stats.scans)
