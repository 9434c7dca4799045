"""The differential harness over the ERP side: NetSuite, SAP, the legacy database, exports."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.conftest import assert_matches_truth, normalize
from tests.predicates import predicates

CORPUS = [
    "SELECT id, tranid, foreigntotal FROM netsuite.transaction WHERE type = 'SalesOrd' "
    "AND trandate >= DATE '2025-01-01'",
    "SELECT type, count(*), sum(total) FROM netsuite.transaction GROUP BY type",
    "SELECT c.companyname, sum(t.total) FROM netsuite.transaction t JOIN netsuite.customer c "
    "ON t.entity = c.id WHERE t.type = 'CustInvc' GROUP BY c.companyname",
    "SELECT id FROM netsuite.customer WHERE companyname LIKE 'A%' OR creditlimit > 100000",
    "SELECT id, total FROM netsuite.transaction ORDER BY total DESC NULLS LAST, id LIMIT 5",
    "SELECT i.itemid, sum(l.netamount) FROM netsuite.transactionline l JOIN netsuite.item i "
    "ON l.item = i.id GROUP BY i.itemid",
    "SELECT SalesOrder, TotalNetAmount FROM sap.A_SalesOrder WHERE TotalNetAmount > 10000 "
    "AND TransactionCurrency = 'EUR'",
    "SELECT SoldToParty, count(*) FROM sap.A_SalesOrder GROUP BY SoldToParty",
    "SELECT o.SalesOrder, count(i.SalesOrderItem) FROM sap.A_SalesOrder o "
    "JOIN sap.A_SalesOrderItem i ON i.SalesOrder = o.SalesOrder GROUP BY o.SalesOrder",
    "SELECT BillingDocument FROM sap.A_BillingDocument WHERE BillingDocumentDate < "
    "DATE '2026-01-01' OR BillingDocumentType = 'G2'",
    "SELECT Customer FROM sap.A_Customer WHERE Customer IN (SELECT SoldToParty FROM "
    "sap.A_SalesOrder WHERE TotalNetAmount > 5000)",
    "SELECT order_no, total_amount FROM legacy_erp.orders WHERE total_amount > 1000",
    "SELECT Id, TotalAmt FROM quickbooks.Invoice WHERE TotalAmt > 500 AND TxnDate >= "
    "DATE '2025-01-01'",
    "SELECT c.DisplayName, sum(i.TotalAmt) FROM quickbooks.Invoice i JOIN quickbooks.Customer c "
    "ON i.CustomerRef_value = c.Id GROUP BY c.DisplayName",
    "SELECT l.ItemRef_name, sum(l.Amount) FROM quickbooks.InvoiceLine l "
    "WHERE l.DetailType = 'SalesItemLineDetail' GROUP BY 1",
    "SELECT TransactionNumber, EnteredAmount FROM oracle.receivablesInvoices "
    "WHERE TransactionDate >= DATE '2025-01-01' OR InvoiceCurrencyCode = 'USD'",
    "SELECT a.AccountName, count(*) FROM oracle.receivablesInvoices i JOIN oracle.accounts a "
    "ON i.BillToCustomerNumber = a.AccountNumber GROUP BY a.AccountName",
    "SELECT c.country, count(*), sum(o.total_amount) FROM legacy_erp.orders o "
    "JOIN legacy_erp.customers c ON o.cust_no = c.cust_no GROUP BY c.country",
    "SELECT owner_email, sum(quota_amount) FROM files.quotas WHERE fiscal_year = 2025 "
    "GROUP BY owner_email",
    "SELECT product_code, list_price FROM files.price_book WHERE currency = 'USD'",
    # the ERP side and the CRM side together
    "SELECT 'netsuite' AS erp, count(*) FROM netsuite.transaction WHERE type = 'SalesOrd' "
    "UNION ALL SELECT 'sap', count(*) FROM sap.A_SalesOrder "
    "UNION ALL SELECT 'legacy', count(*) FROM legacy_erp.orders",
    "SELECT count(*) FROM salesforce.Opportunity o JOIN netsuite.transaction t "
    "ON t.otherrefnum = o.Id WHERE o.IsWon AND t.type = 'SalesOrd'",
]


@pytest.mark.parametrize("sql", CORPUS)
def test_erp_corpus_matches_truth(fed, truth, sql):
    assert_matches_truth(fed, truth, sql)


GENERATED = {
    ("netsuite", "transaction"): ("id", ["type", "trandate", "status", "foreigntotal", "total",
                                        "exchangerate", "memo", "otherrefnum"]),
    ("netsuite", "customer"): ("id", ["companyname", "email", "creditlimit", "balance",
                                      "isinactive", "datecreated"]),
    ("sap", "A_SalesOrder"): ("SalesOrder", ["SalesOrderType", "SoldToParty", "SalesOrderDate",
                                             "TotalNetAmount", "TransactionCurrency",
                                             "PurchaseOrderByCustomer"]),
    ("oracle", "receivablesInvoices"): ("CustomerTransactionId", [
        "TransactionNumber", "TransactionDate", "TransactionType", "BillToCustomerNumber",
        "InvoiceCurrencyCode", "EnteredAmount"]),
    ("quickbooks", "Invoice"): ("Id", ["TxnDate", "TotalAmt", "Balance", "CustomerRef_value",
                                       "DocNumber", "CurrencyRef_value"]),
    ("legacy_erp", "orders"): ("order_no", ["cust_no", "order_date", "currency",
                                            "total_amount", "status", "crm_ref"]),
    ("files", "price_book"): ("product_code", ["currency", "list_price", "valid_from",
                                               "product_name"]),
}


@pytest.mark.parametrize("system, table", sorted(GENERATED))
def test_generated_predicates_per_erp(fed, truth, truth_tables, system, table):
    key, columns = GENERATED[(system, table)]
    data = truth_tables[system][table]
    columns = [c for c in columns if c in data.column_names]

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(predicate=predicates(data, columns))
    def check(predicate):
        sql = f'SELECT "{key}" FROM {system}."{table}" WHERE {predicate}'
        expected = normalize(truth.sql(sql).to_arrow_table())
        assert normalize(fed.sql(sql)) == expected, sql

    check()
