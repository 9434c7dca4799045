"""Fusion ``q`` compilation: the text we send, how faithful we claim it is, what stays local;
and that the simulator's ``q`` parser reads every text the adapter sends."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from adapters.contract import Column, Pushdown, ScanRequest, SortKey, TableInfo
from adapters.oracle.rowmatch import build_params, can_sort, compile_predicate, literal
from adapters.predicates import Compiled
from sandbox.simulators.oracle import compile_q

INV = TableInfo("receivablesInvoices", (
    Column("CustomerTransactionId", pa.int64(), "integer"),
    Column("TransactionType", pa.string(), "string"),
    Column("EnteredAmount", pa.float64(), "number"),
    Column("TransactionDate", pa.date32(), "date"),
    Column("CreationDate", pa.timestamp("ms", "UTC"), "datetime"),
    Column("Paid", pa.bool_(), "boolean"),
    Column("Hidden", pa.string(), "string", filterable=False, sortable=False),
))
TYPES = {c.name: c.native_type for c in INV.columns}


def compiled(sql: str) -> Compiled | None:
    return compile_predicate(INV, sqlglot.parse_one(sql, read="duckdb"))


EXACT = Pushdown.EXACT


@pytest.mark.parametrize("sql, q", [
    ("EnteredAmount > 100", "EnteredAmount > 100"),
    ("100 <= EnteredAmount", "EnteredAmount >= 100"),
    ("EnteredAmount = -5.5", "EnteredAmount = -5.5"),
    ("CustomerTransactionId != 7", "CustomerTransactionId != 7"),
    ("CustomerTransactionId IN (1, 2)", "CustomerTransactionId IN (1, 2)"),
    ("CustomerTransactionId BETWEEN 1 AND 5",
     "(CustomerTransactionId >= 1 AND CustomerTransactionId <= 5)"),
    ("TransactionType = 'Invoice'", "TransactionType = 'Invoice'"),
    ("TransactionType != 'Invoice'", "TransactionType != 'Invoice'"),
    ("TransactionType IN ('Invoice', 'Credit Memo')",
     "TransactionType IN ('Invoice', 'Credit Memo')"),
    ("TransactionType = '東京 \\ x'", "TransactionType = '東京 \\ x'"),
    ("TransactionType LIKE 'Inv%'", "TransactionType LIKE 'Inv%'"),
    ("TransactionType LIKE '%voice%'", "TransactionType LIKE '%voice%'"),
    ("TransactionType IS NULL", "TransactionType IS NULL"),
    ("TransactionDate IS NOT NULL", "TransactionDate IS NOT NULL"),
    ("TransactionDate >= DATE '2024-01-31'", "TransactionDate >= '2024-01-31'"),
    ("TransactionDate < '2024-01-31'", "TransactionDate < '2024-01-31'"),
    ("CreationDate > TIMESTAMP '2024-01-31 10:00:00'",
     "CreationDate > '2024-01-31T10:00:00.000+00:00'"),
    ("CreationDate > TIMESTAMPTZ '2024-01-31 10:00:00.25+02:00'",
     "CreationDate > '2024-01-31T08:00:00.250+00:00'"),
    ("CreationDate <= TIMESTAMP '2024-01-31 10:00:00.123456'",
     "CreationDate <= '2024-01-31T10:00:00.123456+00:00'"),
    ("CreationDate >= DATE '2024-01-31'", "CreationDate >= '2024-01-31T00:00:00.000+00:00'"),
    ("Paid", "Paid = true"),
    ("NOT Paid", "Paid = false"),
    ("Paid = false", "Paid = false"),
    ("EnteredAmount > 5 OR TransactionType = 'Invoice'",
     "(EnteredAmount > 5 OR TransactionType = 'Invoice')"),
    ("(EnteredAmount > 5 AND Paid) OR TransactionDate IS NULL",
     "((EnteredAmount > 5 AND Paid = true) OR TransactionDate IS NULL)"),
])
def test_exact_predicates(sql: str, q: str) -> None:
    assert compiled(sql) == Compiled(q, EXACT)
    compile_q(q, TYPES, framework_version=4)  # the simulator reads what we send


@pytest.mark.parametrize("sql", [
    "TransactionType < 'M'",  # string ranges: NLS_SORT may be linguistic
    "TransactionType >= 'M'",
    "TransactionType = ''",  # '' is NULL in Oracle
    "TransactionType IN ('Invoice', '')",
    "TransactionType = 'O''Brien'",  # quoting inside rowmatch literals is undocumented
    "TransactionType LIKE 'In_oice'",  # only % wildcards are pushed
    "TransactionType LIKE 'A*%'",  # * is a wildcard to ADF
    "TransactionType LIKE '100\\%%'",  # backslash escapes in DuckDB only
    "TransactionType LIKE '%'",
    "TransactionType ILIKE 'inv%'",
    "TransactionType NOT LIKE 'Inv%'",  # NOT stays local
    "NOT (EnteredAmount > 5)",
    "TransactionType NOT IN ('Invoice')",
    "lower(TransactionType) = 'invoice'",
    "EnteredAmount > CustomerTransactionId",
    "Hidden = 'x'",  # not queryable
    "Paid > false",
    "EnteredAmount > 5 OR lower(TransactionType) = 'x'",  # OR with a local side
    "CustomerTransactionId IN (" + ", ".join(str(i) for i in range(201)) + ")",
])
def test_local_predicates(sql: str) -> None:
    assert compiled(sql) is None


def test_literals_refuse_mismatched_types() -> None:
    assert literal("integer", "x") is None and literal("string", True) is None
    assert literal("date", "2024-01-01") is None


@pytest.mark.parametrize("key, pushed", [
    (SortKey("EnteredAmount"), True),  # ASC NULLS LAST: Oracle's default
    (SortKey("EnteredAmount", descending=True, nulls_first=True), True),
    (SortKey("EnteredAmount", descending=True), False),  # Oracle puts NULLs first
    (SortKey("TransactionDate", nulls_first=True), False),
    (SortKey("CreationDate"), True),
    (SortKey("TransactionType"), False),  # collation
    (SortKey("Paid"), False),
    (SortKey("Hidden"), False),
])
def test_can_sort(key: SortKey, pushed: bool) -> None:
    assert can_sort(INV, key) is pushed


def test_build_params() -> None:
    where = sqlglot.parse_one("EnteredAmount > 10", read="duckdb")
    request = ScanRequest("receivablesInvoices", ("TransactionType", "EnteredAmount"),
                          filters=(where,))
    assert build_params(INV, request, "CustomerTransactionId", 500) == {
        "onlyData": "true", "fields": "TransactionType,EnteredAmount",
        "q": "EnteredAmount > 10", "orderBy": "CustomerTransactionId:asc", "limit": "500"}
    top = ScanRequest("receivablesInvoices", (), limit=3,
                      order_by=(SortKey("EnteredAmount", descending=True, nulls_first=True),))
    assert build_params(INV, top, "CustomerTransactionId", 500) == {
        "onlyData": "true", "fields": "CustomerTransactionId",
        "orderBy": "EnteredAmount:desc,CustomerTransactionId:asc", "limit": "3"}
    bad = ScanRequest("receivablesInvoices", ("EnteredAmount",),
                      filters=(sqlglot.parse_one("lower(TransactionType) = 'x'"),))
    with pytest.raises(ValueError, match="cannot be pushed"):
        build_params(INV, bad, None, 100)
