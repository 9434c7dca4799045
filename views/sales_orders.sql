-- sales_orders: every ERP sales order, booked or not, in one shape.
-- Purpose: the order side of bookings and reconciliation (pending-approval and cancelled
--   orders stay visible here with their flags; `bookings` keeps only the booked ones).
-- Grain: one row per order in netsuite, sap, quickbooks, oracle and legacy_erp.
-- Columns: order_id (source_system:ERP order key), source_system, order_key, order_seq
--   (the key as a number where it is one: orders of one ERP are numbered in creation
--   order), order_number (as the ERP shows it), customer_id (golden, from account_xref),
--   source_customer_id, order_date, created_at (TIMESTAMPTZ; NULL where the ERP keeps only
--   a date: SAP CreationDate, legacy ERP), created_date, fiscal_year, fiscal_quarter, order_status (pending_approval, open, partially_billed,
--   billed, closed, cancelled), is_cancelled, is_approved, is_booked, net_amount (document
--   currency, net of tax), currency_code, fx_rate, net_amount_corporate, subsidiary,
--   opportunity_ref, customer_po.
-- Definitions: booked = approved and not cancelled (NetSuite status A pending approval and
--   C cancelled; SAP rejection status C; Oracle CANCELED and DRAFT; legacy HOLD and
--   CANCELLED). QuickBooks keeps no sales orders: the sale (Invoice or SalesReceipt) is the
--   order. net_amount_corporate = round(net_amount x the order date's fx_rates rate, 2).
--   opportunity_ref is what the ERP holds in its CRM-reference field (NetSuite otherrefnum,
--   SAP PurchaseOrderByCustomer, Oracle SourceTransactionNumber of orders imported from a
--   CRM, legacy crm_ref): the Salesforce Opportunity Id or HubSpot deal id, else possibly the
--   customer's PO number; QuickBooks' "CRM Deal ID" sales-form custom field (the catalog
--   maps it to the column CRMDealId). Match it to opportunities.source_opportunity_id.
--   Order keys: NetSuite transaction id, SAP SalesOrder, QuickBooks Invoice/SalesReceipt
--   Id, Oracle OrderNumber, legacy order_no.
WITH ns_currency AS (
    SELECT id, symbol FROM netsuite.currency
), orders AS (
    SELECT 'netsuite' AS source_system,
           CAST(t.id AS VARCHAR) AS order_key,
           CAST(t.id AS BIGINT) AS order_seq,
           t.tranid AS order_number,
           CAST(t.entity AS VARCHAR) AS source_customer_id,
           t.trandate AS order_date,
           t.createddate AS created_at,
           CAST(timezone('UTC', t.createddate) AS DATE) AS created_date,
           CASE t.status WHEN 'A' THEN 'pending_approval' WHEN 'B' THEN 'open'
                         WHEN 'C' THEN 'cancelled' WHEN 'D' THEN 'partially_billed'
                         WHEN 'E' THEN 'partially_billed' WHEN 'F' THEN 'open'
                         WHEN 'G' THEN 'billed' WHEN 'H' THEN 'closed' END AS order_status,
           t.foreigntotal AS net_amount,
           c.symbol AS currency_code,
           sub.name AS subsidiary,
           t.otherrefnum AS opportunity_ref,
           CAST(NULL AS VARCHAR) AS customer_po
    FROM netsuite.transaction AS t
    LEFT JOIN ns_currency AS c ON c.id = t.currency
    LEFT JOIN netsuite.subsidiary AS sub ON sub.id = t.subsidiary
    WHERE t.type = 'SalesOrd'
    UNION ALL
    SELECT 'sap',
           so.SalesOrder,
           TRY_CAST(so.SalesOrder AS BIGINT),
           so.SalesOrder,
           so.SoldToParty,
           so.SalesOrderDate,
           CAST(NULL AS TIMESTAMPTZ),
           so.CreationDate,
           CASE WHEN so.OverallSDDocumentRejectionSts = 'C' THEN 'cancelled'
                WHEN so.SalesDocApprovalStatus = 'A' THEN 'pending_approval'
                WHEN so.OverallSDProcessStatus = 'C' THEN 'billed'
                WHEN so.OverallSDProcessStatus = 'B' THEN 'partially_billed'
                ELSE 'open' END,
           CAST(so.TotalNetAmount AS DOUBLE),
           so.TransactionCurrency,
           so.SalesOrganization,
           so.PurchaseOrderByCustomer,
           CAST(NULL AS VARCHAR)
    FROM sap.A_SalesOrder AS so
    UNION ALL
    SELECT 'quickbooks', 'Invoice/' || i.Id, TRY_CAST(i.Id AS BIGINT), i.DocNumber,
           i.CustomerRef_value, i.TxnDate, i.MetaData_CreateTime,
           CAST(timezone('UTC', i.MetaData_CreateTime) AS DATE), 'billed', i.TotalAmt,
           i.CurrencyRef_value, CAST(NULL AS VARCHAR), i.CRMDealId, CAST(NULL AS VARCHAR)
    FROM quickbooks.Invoice AS i
    UNION ALL
    SELECT 'quickbooks', 'SalesReceipt/' || r.Id, TRY_CAST(r.Id AS BIGINT), r.DocNumber,
           r.CustomerRef_value, r.TxnDate, r.MetaData_CreateTime,
           CAST(timezone('UTC', r.MetaData_CreateTime) AS DATE), 'billed', r.TotalAmt,
           r.CurrencyRef_value, CAST(NULL AS VARCHAR), r.CRMDealId, CAST(NULL AS VARCHAR)
    FROM quickbooks.SalesReceipt AS r
    UNION ALL
    SELECT 'oracle',
           oh.OrderNumber,
           TRY_CAST(oh.OrderNumber AS BIGINT),
           oh.OrderNumber,
           CAST(acc.CustomerAccountId AS VARCHAR),
           CAST(timezone('UTC', oh.OrderedDate) AS DATE),
           oh.CreationDate,
           CAST(timezone('UTC', oh.CreationDate) AS DATE),
           CASE oh.StatusCode WHEN 'CANCELED' THEN 'cancelled'
                              WHEN 'DOO_DRAFT' THEN 'pending_approval'
                              WHEN 'DOO_PENDING_APPROVAL' THEN 'pending_approval'
                              WHEN 'CLOSED' THEN 'closed'
                              ELSE 'open' END,
           oh.TotalAmount,
           oh.TransactionalCurrencyCode,
           oh.BusinessUnitName,
           CASE WHEN oh.SourceTransactionSystem <> 'OPS' THEN oh.SourceTransactionNumber END,
           oh.CustomerPONumber
    FROM oracle.salesOrdersForOrderHub AS oh
    LEFT JOIN oracle.accounts AS acc ON acc.PartyId = oh.BuyingPartyId
    UNION ALL
    SELECT 'legacy_erp',
           CAST(lo.order_no AS VARCHAR),
           CAST(lo.order_no AS BIGINT),
           CAST(lo.order_no AS VARCHAR),
           CAST(lo.cust_no AS VARCHAR),
           lo.order_date,
           CAST(NULL AS TIMESTAMPTZ),
           lo.order_date,
           CASE lo.status WHEN 'HOLD' THEN 'pending_approval' WHEN 'CANCELLED' THEN 'cancelled'
                          WHEN 'INVOICED' THEN 'billed' WHEN 'PART_INVOICED'
                          THEN 'partially_billed' ELSE 'open' END,
           CAST(lo.total_amount AS DOUBLE),
           lo.currency,
           CAST(NULL AS VARCHAR),
           lo.crm_ref,
           CAST(NULL AS VARCHAR)
    FROM legacy_erp.orders AS lo
)
SELECT o.source_system || ':' || o.order_key AS order_id,
       o.source_system,
       o.order_key,
       o.order_seq,
       o.order_number,
       x.customer_id,
       o.source_customer_id,
       o.order_date,
       o.created_at,
       o.created_date,
       cal.fiscal_year,
       cal.fiscal_quarter,
       o.order_status,
       coalesce(o.order_status = 'cancelled', FALSE) AS is_cancelled,
       o.order_status <> 'pending_approval' AS is_approved,
       o.order_status NOT IN ('cancelled', 'pending_approval') AS is_booked,
       o.net_amount,
       o.currency_code,
       fx.rate_to_corporate AS fx_rate,
       round(o.net_amount * fx.rate_to_corporate, 2) AS net_amount_corporate,
       o.subsidiary,
       o.opportunity_ref,
       o.customer_po
FROM orders AS o
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = o.currency_code AND o.order_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR o.order_date < fx.effective_to)
LEFT JOIN fiscal_calendar AS cal ON cal.date_day = o.order_date
LEFT JOIN account_xref AS x
  ON x.source_system = o.source_system AND x.source_account_id = o.source_customer_id
