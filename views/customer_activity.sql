-- customer_activity: one timeline per customer across every CRM and ERP.
-- Purpose: what happened with a customer, when, in which system (customer 360 timeline).
-- Grain: one row per event: opportunity created, won or lost (every CRM, Dynamics copies
--   included), sales order (cancelled ones too, flagged in detail), invoice, credit memo,
--   payment, support case (Dynamics incidents, HubSpot tickets).
-- Columns: customer_id (golden, from account_xref), source_system, source_account_id,
--   activity_type (opportunity_created, opportunity_won, opportunity_lost, order,
--   invoice, credit_memo, payment, support_case), activity_id (the record's id in its
--   view: opportunity_id, order_id, document_id, payment_id, or source:case id),
--   activity_date, amount_corporate (NULL for cases; credit memos negative), detail.
-- Definitions: dates are UTC dates; amounts as in the underlying views (opportunities at
--   the close-date rate, documents at their date's rate). There are no separate return
--   documents in these systems: returns arrive as credit memos. HubSpot tickets belong to
--   their associated company (first association).
WITH hs_ticket_company AS (
    SELECT ticket_id, min(company_id) AS company_id
    FROM hubspot.ticket_companies
    GROUP BY ticket_id
), events AS (
    SELECT source_system, source_account_id, 'opportunity_created' AS activity_type,
           opportunity_id AS activity_id, created_date AS activity_date,
           amount_corporate, opportunity_name || ' (' || stage_name || ')' AS detail
    FROM opportunities
    UNION ALL
    SELECT source_system, source_account_id,
           CASE WHEN is_won THEN 'opportunity_won' ELSE 'opportunity_lost' END,
           opportunity_id, close_date, amount_corporate, opportunity_name
    FROM opportunities
    WHERE is_closed
    UNION ALL
    SELECT source_system, source_customer_id, 'order', order_id, order_date,
           net_amount_corporate, order_number || ' ' || order_status
    FROM sales_orders
    UNION ALL
    SELECT source_system, source_customer_id, document_type, document_id, document_date,
           net_amount_corporate, document_number || ' ' || status
    FROM billings
    UNION ALL
    SELECT source_system, source_customer_id, 'payment', payment_id, payment_date,
           amount_corporate, coalesce('for ' || invoice_ref, 'payment')
    FROM payments
    UNION ALL
    SELECT 'dynamics', i.customerid, 'support_case', 'dynamics:' || i.incidentid,
           CAST(timezone('UTC', i.createdon) AS DATE), CAST(NULL AS DOUBLE),
           i.ticketnumber || ' ' || i.title || ' (' || coalesce(i.statecode_label, '') || ')'
    FROM dynamics.incidents AS i
    UNION ALL
    SELECT 'hubspot', tc.company_id, 'support_case', 'hubspot:' || t.id,
           CAST(timezone('UTC', t.createdate) AS DATE), CAST(NULL AS DOUBLE), t.subject
    FROM hubspot.tickets AS t
    LEFT JOIN hs_ticket_company AS tc ON tc.ticket_id = t.id
)
SELECT x.customer_id,
       e.source_system,
       e.source_account_id,
       e.activity_type,
       e.activity_id,
       e.activity_date,
       e.amount_corporate,
       e.detail
FROM events AS e
LEFT JOIN account_xref AS x
  ON x.source_system = e.source_system AND x.source_account_id = e.source_account_id
