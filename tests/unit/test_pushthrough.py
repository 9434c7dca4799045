"""Filters carried through GROUP BY keys and UNION branches: where they land, and that
the answer never changes (checked by running both trees in DuckDB)."""

from __future__ import annotations

import duckdb
import pytest
import sqlglot
from sqlglot.optimizer.pushdown_predicates import pushdown_predicates
from sqlglot.optimizer.qualify import qualify

from federation.pushthrough import MAX_PASSES, push_through

SCHEMA = {"t": {"k": "INT", "v": "INT", "s": "VARCHAR"}, "u": {"k": "INT", "v": "INT",
                                                               "s": "VARCHAR"}}


def plan(sql: str) -> sqlglot.Expression:
    tree = qualify(sqlglot.parse_one(sql, read="duckdb"), schema=SCHEMA, dialect="duckdb")
    tree = pushdown_predicates(tree, dialect="duckdb")
    for _ in range(MAX_PASSES):
        tree, changed = push_through(tree)
        if not changed:
            break
        tree = pushdown_predicates(tree, dialect="duckdb")
    return tree


def table_filters(tree: sqlglot.Expression, table: str) -> list[str]:
    """The WHERE of every select that reads ``table`` directly."""
    out = []
    for select in tree.find_all(sqlglot.exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        if source is not None and isinstance(source.this, sqlglot.exp.Table) \
                and source.this.name == table and select.args.get("where") is not None:
            out.append(select.args["where"].this.sql("duckdb"))
    return out


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i % 7 AS k, i AS v, "
                "chr(CAST(97 + i % 5 AS INTEGER)) AS s FROM range(200) r(i)")
    con.execute("CREATE TABLE u AS SELECT i % 11 AS k, -i AS v, "
                "chr(CAST(97 + i % 3 AS INTEGER)) AS s FROM range(150) r(i)")
    yield con
    con.close()


CASES = [
    # (query, table that must receive a filter, must it?)
    ("SELECT * FROM (SELECT k, sum(v) AS total FROM t GROUP BY k) AS g WHERE g.k = 3",
     "t", True),
    ("SELECT * FROM (SELECT k, sum(v) AS total FROM t GROUP BY k) AS g WHERE g.total > 3",
     "t", False),  # an aggregate is not a key
    ("SELECT * FROM (SELECT k, v FROM t UNION ALL SELECT k, v FROM u) AS x WHERE x.k = 2",
     "u", True),
    ("SELECT * FROM (SELECT s, 'left' AS side FROM t UNION SELECT s, 'right' FROM u) AS x "
     "WHERE x.s IN ('a', 'b')", "u", True),
    ("WITH a AS (SELECT k, v FROM t UNION ALL SELECT k, v FROM u), "
     "g AS (SELECT k, count(*) AS n FROM a GROUP BY k) SELECT * FROM g WHERE g.k < 4",
     "u", True),  # two levels: through the GROUP BY, then into both branches
    ("SELECT * FROM (SELECT k, sum(v) AS total FROM t GROUP BY ROLLUP (k)) AS g "
     "WHERE g.k = 3", "t", False),  # ROLLUP rows would change
    ("SELECT * FROM u LEFT JOIN (SELECT k, count(*) AS n FROM t GROUP BY k) AS g "
     "ON g.k = u.k WHERE g.k IS NULL", "t", False),  # nullable side of an outer join
    ("WITH g AS (SELECT k, count(*) AS n FROM t GROUP BY k) "
     "SELECT * FROM g WHERE g.k = 1 UNION ALL SELECT * FROM g WHERE g.k = 2",
     "t", False),  # referenced twice
    ("SELECT * FROM (SELECT k, v FROM t EXCEPT SELECT k, v FROM u) AS x WHERE x.k = 2",
     "u", False),
    ("SELECT * FROM (SELECT k, v > 10 AS big FROM t UNION ALL SELECT k, v > 10 FROM u) AS x "
     "WHERE x.big", "u", True),  # a bare boolean column as the whole conjunct
    ("SELECT * FROM (SELECT k, row_number() OVER (ORDER BY v) AS rn FROM t UNION ALL "
     "SELECT k, 0 FROM u) AS x WHERE x.k = 2", "t", False),  # the window sees every row
    ("SELECT * FROM (SELECT 't' AS src, k, count(*) AS n FROM t GROUP BY k UNION ALL "
     "SELECT 'u', k, count(*) FROM u GROUP BY k) AS x WHERE x.src = 'u'",
     "t", True),  # a constant output of a grouped branch: FALSE lands on t's branch
]


def test_an_always_false_branch_empties_what_only_it_reads():
    """The branch of another system passes FALSE into the CTE only it uses, so the
    planner sends none of that CTE's scans; a CTE another branch also reads keeps its
    rows."""
    sql = ("WITH only_t AS (SELECT DISTINCT k FROM t), shared AS (SELECT k FROM u) "
           "SELECT * FROM (SELECT 't' AS src, o.k FROM only_t AS o JOIN shared AS s "
           "ON s.k = o.k UNION ALL SELECT 'u', k FROM shared) AS x WHERE x.src = 'u'")
    tree = plan(sql)
    assert table_filters(tree, "t") == ["FALSE"], tree.sql("duckdb")
    assert table_filters(tree, "u") == []


@pytest.mark.parametrize("sql, table, pushed", CASES)
def test_filters_land_where_safe_and_answers_stay(con, sql, table, pushed):
    tree = plan(sql)
    assert bool(table_filters(tree, table)) == pushed, tree.sql("duckdb")
    before = sorted(con.sql(sql).fetchall(), key=repr)
    after = sorted(con.sql(tree.sql("duckdb")).fetchall(), key=repr)
    assert after == before
