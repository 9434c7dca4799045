"""SuiteQL compilation: the text we send, how faithful we claim it is, what stays local."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, ScanRequest, SortKey, TableInfo
from adapters.netsuite.suiteql import (
    build_suiteql,
    can_sort,
    compile_predicate,
    key_columns,
    keyset_condition,
    native_type,
    quote_string,
)
from adapters.predicates import Compiled

TX = TableInfo("transaction", (
    Column("id", pa.int64(), "integer", nullable=False),
    Column("tranid", pa.string(), "string"),
    Column("type", pa.string(), "string"),
    Column("foreigntotal", pa.float64(), "number"),
    Column("trandate", pa.date32(), "date"),
    Column("createddate", pa.timestamp("ms", "UTC"), "date-time"),
    Column("isreversal", pa.bool_(), "boolean"),
))
LINES = TableInfo("transactionline", (
    Column("id", pa.int64(), "integer"),
    Column("transaction", pa.int64(), "integer"),
    Column("netamount", pa.float64(), "number"),
))
NO_KEY = TableInfo("currencyrate", (Column("exchangerate", pa.float64(), "number"),))


def compiled(sql: str, table: TableInfo = TX) -> Compiled | None:
    return compile_predicate(table, sqlglot.parse_one(sql, read="duckdb"))


@pytest.mark.parametrize("sql, suiteql, fidelity", [
    ("foreigntotal > 100", "foreigntotal > 100", Pushdown.EXACT),
    ("100 <= foreigntotal", "foreigntotal >= 100", Pushdown.EXACT),
    ("foreigntotal = -5.5", "foreigntotal = -5.5", Pushdown.EXACT),
    ("id != 7", "id <> 7", Pushdown.EXACT),
    ("id IN (1, 2)", "id IN (1, 2)", Pushdown.EXACT),
    ("id BETWEEN 1 AND 5", "(id >= 1 AND id <= 5)", Pushdown.EXACT),
    # Oracle compares strings case-sensitively, like DuckDB
    ("type = 'CustInvc'", "type = 'CustInvc'", Pushdown.EXACT),
    ("type != 'CustInvc'", "type <> 'CustInvc'", Pushdown.EXACT),
    ("type IN ('SalesOrd', 'CustCred')", "type IN ('SalesOrd', 'CustCred')", Pushdown.EXACT),
    ("tranid = 'O''Brien \\ 東'", "tranid = 'O''Brien \\ 東'", Pushdown.EXACT),
    ("tranid LIKE 'INV%'", "tranid LIKE 'INV%'", Pushdown.EXACT),
    ("tranid LIKE '_NV%1'", "tranid LIKE '_NV%1'", Pushdown.EXACT),
    ("tranid IS NULL", "tranid IS NULL", Pushdown.EXACT),
    ("trandate IS NOT NULL", "trandate IS NOT NULL", Pushdown.EXACT),
    # dates and datetimes with explicit formats
    ("trandate >= DATE '2024-01-31'", "trandate >= TO_DATE('2024-01-31', 'YYYY-MM-DD')",
     Pushdown.EXACT),
    ("trandate < '2024-01-31'", "trandate < TO_DATE('2024-01-31', 'YYYY-MM-DD')",
     Pushdown.EXACT),
    ("createddate >= TIMESTAMP '2024-01-31 10:00:00'",
     "createddate >= TO_TIMESTAMP('2024-01-31 10:00:00', 'YYYY-MM-DD HH24:MI:SS')",
     Pushdown.EXACT),
    ("createddate < DATE '2024-01-31'",
     "createddate < TO_TIMESTAMP('2024-01-31 00:00:00', 'YYYY-MM-DD HH24:MI:SS')",
     Pushdown.EXACT),
    ("createddate = TIMESTAMPTZ '2024-01-31 10:00:00+02:00'",
     "createddate = TO_TIMESTAMP('2024-01-31 08:00:00', 'YYYY-MM-DD HH24:MI:SS')",
     Pushdown.EXACT),
    # booleans are 'T'/'F'
    ("isreversal", "isreversal = 'T'", Pushdown.EXACT),
    ("NOT isreversal", "isreversal = 'F'", Pushdown.EXACT),
    ("isreversal = false", "isreversal = 'F'", Pushdown.EXACT),
    ("isreversal != true", "isreversal <> 'T'", Pushdown.EXACT),
    # connectives
    ("id > 1 AND type = 'x'", "(id > 1 AND type = 'x')", Pushdown.EXACT),
    ("id > 1 OR tranid LIKE 'a%'", "(id > 1 OR tranid LIKE 'a%')", Pushdown.EXACT),
    ("NOT (id > 1)", "NOT (id > 1)", Pushdown.INEXACT),
    ("NOT (type IN ('a', 'b'))", "NOT (type IN ('a', 'b'))", Pushdown.INEXACT),
    ("type NOT IN ('a', 'b')", "NOT (type IN ('a', 'b'))", Pushdown.INEXACT),
    # sqlglot parses NOT LIKE as Like(negate=True): the negation must survive
    ("tranid NOT LIKE 'a%'", "NOT (tranid LIKE 'a%')", Pushdown.INEXACT),
    ("tranid NOT LIKE 'a%' OR isreversal", "(NOT (tranid LIKE 'a%') OR isreversal = 'T')",
     Pushdown.INEXACT),
])
def test_pushable_predicates(sql: str, suiteql: str, fidelity: Pushdown) -> None:
    result = compiled(sql)
    assert result is not None, sql
    assert (result.text, result.pushdown) == (suiteql, fidelity)


@pytest.mark.parametrize("sql", [
    "type = ''",  # Oracle stores '' as NULL: = '' matches nothing there
    "type != ''",
    "type IN ('a', '')",
    "tranid LIKE ''",
    "tranid < 'M'",  # string ranges: collation is not byte order
    "tranid >= 'M'",
    "tranid BETWEEN 'A' AND 'B'",
    "tranid ILIKE 'inv%'",  # no Oracle equivalent of DuckDB's case folding
    "tranid LIKE '%\\%'",  # Oracle LIKE has no default escape, DuckDB's is backslash
    "tranid LIKE 'a!%' ESCAPE '!'",
    "createddate > TIMESTAMP '2024-01-31 10:00:00.5'",  # whole seconds only
    "trandate = TIMESTAMP '2024-01-31 10:00:00'",
    "lower(type) = 'custinvc'",
    "id = foreigntotal",
    "NOT (tranid ILIKE 'a%')",
    "tranid NOT ILIKE 'a%'",
    "type = 'a\x00b'",
])
def test_what_stays_local(sql: str) -> None:
    assert compiled(sql) is None, sql


def test_long_in_lists_stay_local() -> None:
    values = ", ".join(str(i) for i in range(1001))
    assert compiled(f"id IN ({values})") is None
    assert compiled(f"id IN ({values.rsplit(',', 1)[0]})") is not None


def test_quote_string_doubles_quotes_and_refuses_empty_and_nul() -> None:
    assert quote_string("O'Brien") == "'O''Brien'"
    assert quote_string("back\\slash") == "'back\\slash'"
    assert quote_string("") is None and quote_string("a\x00") is None


def test_metadata_types_map_to_native_types() -> None:
    assert native_type("string", "date") == "date"
    assert native_type("string", "date-time") == "date-time"
    assert native_type("string", None) == "string"
    assert native_type("integer", None) == "integer"
    assert native_type("number", "double") == "number"
    assert native_type("boolean", None) == "boolean"
    assert native_type("object", None) is None and native_type("array", None) is None


def test_scan_selects_dates_through_to_char_and_orders_by_the_key() -> None:
    request = ScanRequest("transaction", ("tranid", "trandate", "createddate"),
                          filters=(sqlglot.parse_one("foreigntotal > 10"),))
    assert build_suiteql(TX, request) == (
        "SELECT tranid, TO_CHAR(trandate, 'YYYY-MM-DD') AS trandate, "
        "TO_CHAR(createddate, 'YYYY-MM-DD HH24:MI:SS') AS createddate, id FROM transaction "
        "WHERE foreigntotal > 10 ORDER BY id ASC")
    assert build_suiteql(TX, request, after=[41]) == (
        "SELECT tranid, TO_CHAR(trandate, 'YYYY-MM-DD') AS trandate, "
        "TO_CHAR(createddate, 'YYYY-MM-DD HH24:MI:SS') AS createddate, id FROM transaction "
        "WHERE foreigntotal > 10 AND id > 41 ORDER BY id ASC")
    with pytest.raises(ValueError, match="cannot be pushed"):
        build_suiteql(TX, ScanRequest("transaction", ("id",),
                                      filters=(sqlglot.parse_one("lower(type) = 'x'"),)))


def test_top_n_renders_null_placement_and_fetch_first() -> None:
    request = ScanRequest("transaction", ("id", "foreigntotal"), limit=5, order_by=(
        SortKey("foreigntotal", descending=True), SortKey("trandate", nulls_first=True)))
    assert build_suiteql(TX, request) == (
        "SELECT id, foreigntotal FROM transaction ORDER BY "
        "transaction.foreigntotal DESC NULLS LAST, transaction.trandate ASC NULLS FIRST, "
        "transaction.id ASC FETCH FIRST 5 ROWS ONLY")
    assert build_suiteql(TX, ScanRequest("transaction", ("type",), limit=3)) == (
        "SELECT type, id FROM transaction ORDER BY id ASC FETCH FIRST 3 ROWS ONLY")


def test_only_numbers_and_dates_sort_like_duckdb() -> None:
    assert can_sort(TX, SortKey("foreigntotal")) and can_sort(TX, SortKey("trandate"))
    assert can_sort(TX, SortKey("createddate", descending=True))
    assert not can_sort(TX, SortKey("tranid")) and not can_sort(TX, SortKey("isreversal"))


def test_keys_for_stable_paging_and_keyset_splits() -> None:
    assert key_columns(TX) == ("id",)
    # transactionline.id numbers lines within a transaction: the key is compound
    assert key_columns(LINES) == ("transaction", "id")
    with_unique = TableInfo("transactionline", (*LINES.columns,
                                                Column("uniquekey", pa.int64(), "integer")))
    assert key_columns(with_unique) == ("uniquekey",)
    assert key_columns(NO_KEY) is None
    assert keyset_condition(("transaction", "id"), (5, 7)) == (
        "(transaction > 5 OR (transaction = 5 AND id > 7))")
    assert build_suiteql(LINES, ScanRequest("transactionline", ("netamount",)), after=[5, 7]) == (
        "SELECT netamount, transaction, id FROM transactionline WHERE "
        "(transaction > 5 OR (transaction = 5 AND id > 7)) ORDER BY transaction ASC, id ASC")
    assert build_suiteql(NO_KEY, ScanRequest("currencyrate", ("exchangerate",))) == (
        "SELECT exchangerate FROM currencyrate")
