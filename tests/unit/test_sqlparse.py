"""The read-only wall: only queries pass, with clear reasons for everything else."""

import pytest

from federation.errors import NotAllowedError, QueryError
from federation.sqlparse import parse_query, refuse_non_queries


def check(sql: str):
    refuse_non_queries(parse_query(sql))


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT * FROM salesforce.Opportunity LIMIT 1 OFFSET 2",
    "select x::text from y",  # PostgreSQL casts
])
def test_queries_pass(sql):
    check(sql)


@pytest.mark.parametrize("sql, word", [
    ("DELETE FROM salesforce.Opportunity", "DELETE"),
    ("INSERT INTO t VALUES (1)", "INSERT"),
    ("UPDATE t SET a = 1", "UPDATE"),
    ("CREATE TABLE t AS SELECT 1", "CREATE"),
    ("DROP TABLE t", "DROP"),
    ("COPY t TO 'out.csv'", "COPY"),
    ("ATTACH 'x.db'", "ATTACH"),
    ("PRAGMA version", "PRAGMA"),
    ("SET threads = 1", "SET"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("EXPORT DATABASE 'x'", "EXPORT"),
    ("/* sneaky */ DELETE FROM t", "DELETE"),
])
def test_statements_are_refused(sql, word):
    with pytest.raises(NotAllowedError, match=f"{word} statements are not allowed"):
        check(sql)


@pytest.mark.parametrize("sql, function", [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
    ("SELECT * FROM read_json_auto('x')", "read_json_auto"),
    ("SELECT * FROM glob('*')", "glob"),
    ("SELECT * FROM query('SELECT 1')", "query"),
    ("SELECT (SELECT count(*) FROM read_csv('x'))", "read_csv"),
    ("SELECT getenv('HOME')", "getenv"),
])
def test_file_and_network_functions_are_refused(sql, function):
    with pytest.raises(NotAllowedError, match=f"function {function}\\(\\) is not allowed"):
        check(sql)


def test_several_statements_are_refused():
    with pytest.raises(NotAllowedError, match="one statement"):
        check("SELECT 1; SELECT 2")


def test_syntax_error_names_the_position():
    with pytest.raises(QueryError, match=r"syntax error at line 1, column \d+"):
        check("SELECT * FORM salesforce.Opportunity WHERE")
