"""QuickBooks pushdown: the query text each predicate compiles to, and its fidelity."""

from __future__ import annotations

import pytest
import sqlglot

from adapters.contract import Credentials, Pushdown, ScanRequest, SortKey
from adapters.quickbooks import QuickBooksAdapter, QuickBooksOptions
from federation.errors import CatalogError


class Creds(Credentials):
    def __init__(self, **values: str) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def describe(self, key: str) -> str:
        return f"env TEST_{key.upper()}"


ADAPTER = QuickBooksAdapter("qb", None, QuickBooksOptions(realm_id="1"),  # type: ignore[arg-type]
                            Creds(access_token="t"))
TABLES = ADAPTER.discover()
EX, IN, U = Pushdown.EXACT, Pushdown.INEXACT, Pushdown.UNSUPPORTED


def where(table: str, sql: str) -> str:
    request = ScanRequest(table, ("Id",), (sqlglot.parse_one(sql, read="duckdb"),))
    return ADAPTER.native_request(TABLES[table], request)


@pytest.mark.parametrize(("table", "sql", "fidelity", "text"), [
    ("Invoice", "TotalAmt > 100.5", EX, "WHERE TotalAmt > 100.5 "),
    ("Invoice", "TotalAmt BETWEEN 1 AND 2", EX, "WHERE TotalAmt >= 1 AND TotalAmt <= 2 "),
    ("Invoice", "TotalAmt IN (1, 2.5)", EX, "WHERE TotalAmt IN (1, 2.5) "),
    ("Invoice", "TotalAmt > -3", EX, "WHERE TotalAmt > -3 "),
    ("Invoice", "TxnDate >= DATE '2024-01-31'", EX, "WHERE TxnDate >= '2024-01-31' "),
    ("Invoice", "MetaData_CreateTime < TIMESTAMP '2024-01-31 10:00:00'", EX,
     "WHERE MetaData.CreateTime < '2024-01-31T10:00:00+00:00' "),
    ("Invoice", "CustomerRef_value = '58'", IN, "WHERE CustomerRef = '58' "),
    ("Invoice", "CustomerRef_value IN ('58', '59')", IN, "WHERE CustomerRef IN ('58', '59') "),
    ("Customer", "DisplayName = 'O''Brien'", IN, "WHERE DisplayName = 'O\\'Brien' "),
    ("Customer", "DisplayName LIKE 'Ac_e%'", IN, "WHERE DisplayName LIKE 'Ac%e%' "),
    ("Customer", "Active", EX, "WHERE Active = true "),
    ("Customer", "NOT Active", EX, "WHERE Active = false "),
    ("Customer", "Active = false", EX, "WHERE Active = false "),
    ("InvoiceLine", "InvoiceId IN ('131', '140')", IN, "WHERE Id IN ('131', '140') "),
])
def test_pushed_predicates(table: str, sql: str, fidelity: Pushdown, text: str) -> None:
    node = sqlglot.parse_one(sql, read="duckdb")
    assert ADAPTER.classify(TABLES[table], node) is fidelity
    assert text in where(table, sql)


@pytest.mark.parametrize(("table", "sql"), [
    ("Invoice", "TotalAmt != 5"),  # QBO has no !=
    ("Invoice", "NOT (TotalAmt > 5)"),  # nor NOT
    ("Invoice", "DueDate IS NULL"),  # nor NULL tests
    ("Invoice", "DueDate IS NOT NULL"),
    ("Customer", "DisplayName > 'M'"),  # string ranges fold case in QBO
    ("Customer", "DisplayName ILIKE 'a%'"),
    ("Customer", "DisplayName NOT LIKE 'a%'"),
    ("Customer", "DisplayName = 'back\\slash'"),
    ("Customer", "DisplayName = ''"),
    ("Customer", "BillAddr_City = 'Leeds'"),  # not filterable in QBO
    ("Customer", "lower(DisplayName) = 'a'"),
    ("Invoice", "TotalAmt > Balance"),
    ("Invoice", "MetaData_CreateTime < TIMESTAMP '2024-01-31 10:00:00.5'"),
    ("InvoiceLine", "Amount > 5"),  # lines are filtered locally
    ("Invoice", "TotalAmt > 1 OR DueDate IS NULL"),  # one branch inexpressible
])
def test_local_only(table: str, sql: str) -> None:
    assert ADAPTER.classify(TABLES[table], sqlglot.parse_one(sql, read="duckdb")) is U


def test_or_becomes_one_query_per_branch() -> None:
    sql = "(TotalAmt > 5 OR Balance = 0) AND (TxnDate < '2024-01-01' OR CustomerRef_value = '7')"
    node = sqlglot.parse_one(sql, read="duckdb")
    assert ADAPTER.classify(TABLES["Invoice"], node) is IN
    assert where("Invoice", sql).split(" ; ") == [
        f"SELECT * FROM Invoice WHERE {a} AND {b} STARTPOSITION 1 MAXRESULTS 1000"
        for a in ("TotalAmt > 5", "Balance = 0")
        for b in ("TxnDate < '2024-01-01'", "CustomerRef = '7'")]


def test_too_many_branches_stay_local() -> None:
    sql = " OR ".join(f"TotalAmt = {n}" for n in range(9))
    assert ADAPTER.classify(TABLES["Invoice"], sqlglot.parse_one(sql)) is U


def test_top_n_only_on_always_present_numbers_and_dates() -> None:
    assert ADAPTER.can_sort(TABLES["Invoice"], SortKey("TotalAmt", descending=True))
    assert ADAPTER.can_sort(TABLES["Invoice"], SortKey("MetaData_CreateTime"))
    assert not ADAPTER.can_sort(TABLES["Invoice"], SortKey("DueDate"))  # may be absent
    assert not ADAPTER.can_sort(TABLES["Invoice"], SortKey("DocNumber"))
    assert not ADAPTER.can_sort(TABLES["InvoiceLine"], SortKey("Amount"))
    request = ScanRequest("Invoice", ("Id",), (), limit=3, order_by=(SortKey("TxnDate", True),))
    assert ADAPTER.native_request(TABLES["Invoice"], request) == (
        "SELECT * FROM Invoice ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 3")


def test_tables_and_options() -> None:
    assert list(TABLES) == ["Customer", "Invoice", "InvoiceLine", "Payment", "Item", "Estimate",
                            "EstimateLine", "SalesReceipt", "SalesReceiptLine", "CreditMemo",
                            "CreditMemoLine"]
    assert [c.name for c in TABLES["InvoiceLine"].columns] == [
        "InvoiceId", "Id", "LineNum", "Description", "Amount", "DetailType", "ItemRef_value",
        "ItemRef_name", "Qty", "UnitPrice"]
    with pytest.raises(CatalogError, match="access_token"):
        QuickBooksAdapter("qb", None, QuickBooksOptions(realm_id="1"),  # type: ignore[arg-type]
                          Creds())
    with pytest.raises(ValueError, match="unknown entities"):
        QuickBooksOptions(realm_id="1", entities=["Bill"])
    with pytest.raises(ValueError):
        QuickBooksOptions(realm_id="1", page_size=1001)
