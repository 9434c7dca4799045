-- payments: customer payments received, from the ERPs that record them.
-- Purpose: cash in, per payment, in document and corporate currency.
-- Grain: one row per payment: NetSuite CustPymt and QuickBooks Payment (SAP, Oracle and
--   the legacy ERP expose no payment records through their APIs here).
-- Columns: payment_id (source_system:ERP key), source_system, payment_date, customer_id,
--   source_customer_id, invoice_ref (the paid invoice's document_number in `billings`,
--   when the ERP says: NetSuite's "Payment for INV..." memo; QuickBooks keeps the link in
--   an array the adapter does not expose, so NULL), amount (document currency),
--   currency_code, fx_rate, amount_corporate.
-- Definitions: amount_corporate = round(amount x the payment date's fx_rates rate, 2).
WITH ns_currency AS (
    SELECT id, symbol FROM netsuite.currency
), pays AS (
    SELECT 'netsuite' AS source_system,
           CAST(t.id AS VARCHAR) AS payment_key,
           t.trandate AS payment_date,
           CAST(t.entity AS VARCHAR) AS source_customer_id,
           nullif(regexp_extract(t.memo, 'Payment for (\S+)', 1), '') AS invoice_ref,
           t.foreigntotal AS amount,
           c.symbol AS currency_code
    FROM netsuite.transaction AS t
    LEFT JOIN ns_currency AS c ON c.id = t.currency
    WHERE t.type = 'CustPymt'
    UNION ALL
    SELECT 'quickbooks', p.Id, p.TxnDate, p.CustomerRef_value, CAST(NULL AS VARCHAR),
           p.TotalAmt, p.CurrencyRef_value
    FROM quickbooks.Payment AS p
)
SELECT p.source_system || ':' || p.payment_key AS payment_id,
       p.source_system,
       p.payment_date,
       x.customer_id,
       p.source_customer_id,
       p.invoice_ref,
       p.amount,
       p.currency_code,
       fx.rate_to_corporate AS fx_rate,
       round(p.amount * fx.rate_to_corporate, 2) AS amount_corporate
FROM pays AS p
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = p.currency_code AND p.payment_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR p.payment_date < fx.effective_to)
LEFT JOIN account_xref AS x
  ON x.source_system = p.source_system AND x.source_account_id = p.source_customer_id
