-- billings: invoices less credit memos from every ERP (the "billed" side).
-- Purpose: amounts invoiced per document, credit memos negative, in document and
--   corporate currency.
-- Grain: one row per billing document: NetSuite CustInvc/CustCred, SAP billing documents
--   F2/L2 (invoice, debit memo) and G2/RE (credit memo, returns credit), QuickBooks
--   Invoice/SalesReceipt/CreditMemo, Oracle receivables transactions, legacy invoices.
-- Columns: document_id (source_system:ERP key), source_system, document_type (invoice,
--   credit_memo), document_number, document_date, fiscal_year, fiscal_quarter, customer_id,
--   source_customer_id, order_ref (the order's sales_orders.order_id), net_amount
--   (document currency, net of tax, negative for credit memos), currency_code, fx_rate,
--   net_amount_corporate, status (open, paid, applied).
-- Definitions: billings = sum(net_amount_corporate), each document converted at its date's
--   fx_rates rate and rounded to cents. Cancelled SAP billing documents are left out.
--   order_ref: NetSuite createdfrom (credit memos: their invoice's order), SAP billing
--   items' SalesDocument, QuickBooks the sale itself (credit memos: NULL, the link is not
--   exposed), Oracle CrossReference (the order number), legacy order_no.
WITH ns_currency AS (
    SELECT id, symbol FROM netsuite.currency
), ns_docs AS (
    SELECT t.id, t.tranid, t.type, t.entity, t.trandate, t.status, t.currency,
           t.foreigntotal, t.createdfrom
    FROM netsuite.transaction AS t
    WHERE t.type IN ('CustInvc', 'CustCred')
), sap_order_of AS (
    SELECT BillingDocument, min(SalesDocument) AS SalesDocument
    FROM sap.A_BillingDocumentItem
    GROUP BY BillingDocument
), docs AS (
    SELECT 'netsuite' AS source_system,
           CAST(d.id AS VARCHAR) AS document_key,
           CASE d.type WHEN 'CustCred' THEN 'credit_memo' ELSE 'invoice' END AS document_type,
           d.tranid AS document_number,
           d.trandate AS document_date,
           CAST(d.entity AS VARCHAR) AS source_customer_id,
           'netsuite:' || CAST(CASE d.type WHEN 'CustCred' THEN inv.createdfrom
                                           ELSE d.createdfrom END AS VARCHAR) AS order_ref,
           d.foreigntotal AS net_amount,
           c.symbol AS currency_code,
           CASE WHEN d.status = 'B' AND d.type = 'CustCred' THEN 'applied'
                WHEN d.status = 'B' THEN 'paid' ELSE 'open' END AS status
    FROM ns_docs AS d
    LEFT JOIN ns_docs AS inv ON inv.id = d.createdfrom AND d.type = 'CustCred'
    LEFT JOIN ns_currency AS c ON c.id = d.currency
    UNION ALL
    SELECT 'sap',
           b.BillingDocument,
           CASE WHEN b.BillingDocumentType IN ('G2', 'RE') THEN 'credit_memo'
                ELSE 'invoice' END,
           b.BillingDocument,
           b.BillingDocumentDate,
           b.SoldToParty,
           'sap:' || so.SalesDocument,
           CASE WHEN b.BillingDocumentType IN ('G2', 'RE') THEN -1 ELSE 1 END
               * CAST(b.TotalNetAmount AS DOUBLE),
           b.TransactionCurrency,
           CASE WHEN b.InvoiceClearingStatus = 'C' AND b.BillingDocumentType IN ('G2', 'RE')
                THEN 'applied'
                WHEN b.InvoiceClearingStatus = 'C' THEN 'paid' ELSE 'open' END
    FROM sap.A_BillingDocument AS b
    LEFT JOIN sap_order_of AS so ON so.BillingDocument = b.BillingDocument
    WHERE b.BillingDocumentType IN ('F2', 'L2', 'G2', 'RE')
      AND NOT coalesce(b.BillingDocumentIsCancelled, FALSE)
    UNION ALL
    SELECT 'quickbooks', 'Invoice/' || i.Id, 'invoice', i.DocNumber, i.TxnDate,
           i.CustomerRef_value, 'quickbooks:Invoice/' || i.Id, i.TotalAmt,
           i.CurrencyRef_value, CASE WHEN i.Balance = 0 THEN 'paid' ELSE 'open' END
    FROM quickbooks.Invoice AS i
    UNION ALL
    SELECT 'quickbooks', 'SalesReceipt/' || r.Id, 'invoice', r.DocNumber, r.TxnDate,
           r.CustomerRef_value, 'quickbooks:SalesReceipt/' || r.Id, r.TotalAmt,
           r.CurrencyRef_value, 'paid'
    FROM quickbooks.SalesReceipt AS r
    UNION ALL
    SELECT 'quickbooks', 'CreditMemo/' || m.Id, 'credit_memo', m.DocNumber, m.TxnDate,
           m.CustomerRef_value, CAST(NULL AS VARCHAR), -m.TotalAmt, m.CurrencyRef_value,
           CASE WHEN m.RemainingCredit = 0 THEN 'applied' ELSE 'open' END
    FROM quickbooks.CreditMemo AS m
    UNION ALL
    SELECT 'oracle',
           CAST(ri.CustomerTransactionId AS VARCHAR),
           CASE WHEN ri.TransactionType = 'Credit Memo' THEN 'credit_memo' ELSE 'invoice' END,
           ri.TransactionNumber,
           ri.TransactionDate,
           CAST(acc.CustomerAccountId AS VARCHAR),
           'oracle:' || ri.CrossReference,
           ri.EnteredAmount,
           ri.InvoiceCurrencyCode,
           CASE WHEN ri.TransactionType = 'Credit Memo' THEN 'applied'
                WHEN ri.InvoiceBalanceAmount = 0 THEN 'paid' ELSE 'open' END
    FROM oracle.receivablesInvoices AS ri
    LEFT JOIN oracle.accounts AS acc ON acc.AccountNumber = ri.BillToCustomerNumber
    UNION ALL
    SELECT 'legacy_erp',
           CAST(li.invoice_no AS VARCHAR),
           'invoice',
           CAST(li.invoice_no AS VARCHAR),
           li.invoice_date,
           CAST(lo.cust_no AS VARCHAR),
           'legacy_erp:' || CAST(li.order_no AS VARCHAR),
           CAST(li.amount AS DOUBLE),
           li.currency,
           'paid'
    FROM legacy_erp.invoices AS li
    LEFT JOIN legacy_erp.orders AS lo ON lo.order_no = li.order_no
)
SELECT d.source_system || ':' || d.document_key AS document_id,
       d.source_system,
       d.document_type,
       d.document_number,
       d.document_date,
       cal.fiscal_year,
       cal.fiscal_quarter,
       x.customer_id,
       d.source_customer_id,
       d.order_ref,
       d.net_amount,
       d.currency_code,
       fx.rate_to_corporate AS fx_rate,
       round(d.net_amount * fx.rate_to_corporate, 2) AS net_amount_corporate,
       d.status
FROM docs AS d
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = d.currency_code AND d.document_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR d.document_date < fx.effective_to)
LEFT JOIN fiscal_calendar AS cal ON cal.date_day = d.document_date
LEFT JOIN account_xref AS x
  ON x.source_system = d.source_system AND x.source_account_id = d.source_customer_id
