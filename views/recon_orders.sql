-- recon_orders: every ERP sales order with what reconciliation needs that `sales_orders`
-- does not carry (the ERP record's creation time). Helper of reconciliation_exceptions.
-- Grain: one row per order in netsuite, sap, quickbooks, oracle and legacy_erp, cancelled
--   ones included (is_cancelled says which); same order_id, customer_id, opportunity_ref
--   and status mapping as `sales_orders`.
-- Columns: order_id (source_system:ERP order key), source_system, order_key, order_seq
--   (the key as a number where it is one: orders of one ERP are numbered in creation
--   order), customer_id (golden, from account_xref), source_customer_id, order_date,
--   created_at (TIMESTAMPTZ; NULL where the ERP keeps only a date: SAP CreationDate,
--   legacy ERP), created_date, is_cancelled, net_amount (document currency), currency_code,
--   opportunity_ref (NetSuite otherrefnum, SAP PurchaseOrderByCustomer, Oracle
--   SourceTransactionNumber of CRM-sourced orders, legacy crm_ref; QuickBooks' "CRM Deal
--   ID" custom field is an array element the adapter does not expose, so NULL there).
-- Each ERP's branch reads its table directly with a literal source_system, so a filter on
-- source_system skips the other ERPs entirely.
WITH orders AS (
    SELECT 'netsuite' AS source_system,
           CAST(t.id AS VARCHAR) AS order_key,
           CAST(t.id AS BIGINT) AS order_seq,
           CAST(t.entity AS VARCHAR) AS source_customer_id,
           t.trandate AS order_date,
           t.createddate AS created_at,
           CAST(timezone('UTC', t.createddate) AS DATE) AS created_date,
           t.status = 'C' AS is_cancelled,
           t.foreigntotal AS net_amount,
           c.symbol AS currency_code,
           t.otherrefnum AS opportunity_ref
    FROM netsuite.transaction AS t
    LEFT JOIN netsuite.currency AS c ON c.id = t.currency
    WHERE t.type = 'SalesOrd'
    UNION ALL
    SELECT 'sap', so.SalesOrder, TRY_CAST(so.SalesOrder AS BIGINT), so.SoldToParty,
           so.SalesOrderDate, CAST(NULL AS TIMESTAMPTZ), so.CreationDate,
           so.OverallSDDocumentRejectionSts = 'C', CAST(so.TotalNetAmount AS DOUBLE),
           so.TransactionCurrency, so.PurchaseOrderByCustomer
    FROM sap.A_SalesOrder AS so
    UNION ALL
    SELECT 'quickbooks', 'Invoice/' || i.Id, TRY_CAST(i.Id AS BIGINT), i.CustomerRef_value,
           i.TxnDate, i.MetaData_CreateTime,
           CAST(timezone('UTC', i.MetaData_CreateTime) AS DATE), FALSE, i.TotalAmt,
           i.CurrencyRef_value, CAST(NULL AS VARCHAR)
    FROM quickbooks.Invoice AS i
    UNION ALL
    SELECT 'quickbooks', 'SalesReceipt/' || r.Id, TRY_CAST(r.Id AS BIGINT),
           r.CustomerRef_value, r.TxnDate, r.MetaData_CreateTime,
           CAST(timezone('UTC', r.MetaData_CreateTime) AS DATE), FALSE, r.TotalAmt,
           r.CurrencyRef_value, CAST(NULL AS VARCHAR)
    FROM quickbooks.SalesReceipt AS r
    UNION ALL
    SELECT 'oracle', oh.OrderNumber, TRY_CAST(oh.OrderNumber AS BIGINT),
           CAST(acc.CustomerAccountId AS VARCHAR),
           CAST(timezone('UTC', oh.OrderedDate) AS DATE), oh.CreationDate,
           CAST(timezone('UTC', oh.CreationDate) AS DATE), oh.StatusCode = 'CANCELED',
           oh.TotalAmount, oh.TransactionalCurrencyCode,
           CASE WHEN oh.SourceTransactionSystem <> 'OPS' THEN oh.SourceTransactionNumber END
    FROM oracle.salesOrdersForOrderHub AS oh
    LEFT JOIN oracle.accounts AS acc ON acc.PartyId = oh.BuyingPartyId
    UNION ALL
    SELECT 'legacy_erp', CAST(lo.order_no AS VARCHAR), CAST(lo.order_no AS BIGINT),
           CAST(lo.cust_no AS VARCHAR), lo.order_date, CAST(NULL AS TIMESTAMPTZ),
           lo.order_date, lo.status = 'CANCELLED', CAST(lo.total_amount AS DOUBLE),
           lo.currency, lo.crm_ref
    FROM legacy_erp.orders AS lo
)
SELECT o.source_system || ':' || o.order_key AS order_id,
       o.source_system,
       o.order_key,
       o.order_seq,
       x.customer_id,
       o.source_customer_id,
       o.order_date,
       o.created_at,
       o.created_date,
       coalesce(o.is_cancelled, FALSE) AS is_cancelled,
       o.net_amount,
       o.currency_code,
       o.opportunity_ref
FROM orders AS o
LEFT JOIN account_xref AS x
  ON x.source_system = o.source_system AND x.source_account_id = o.source_customer_id
