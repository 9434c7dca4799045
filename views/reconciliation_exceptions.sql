-- reconciliation_exceptions: where the CRMs and the ERPs disagree (issue #5).
-- Purpose: one worklist of CRM <-> ERP inconsistencies for finance and sales ops, each
--   with the amounts (corporate currency), dates and a readable detail.
-- Grain: one row per exception: per (check, order) for order checks, per won deal for
--   WON_NO_ORDER, per account record for UNMATCHED_ACCOUNT, per (customer, ERP, field)
--   for MASTER_DATA_CONFLICT, per (ERP item, currency) for PRICE_BOOK_MISMATCH, per quote
--   line for QUOTE_*.
-- Columns: check_code, severity (high: revenue misstated; medium: timing, classification
--   or pricing; low: data hygiene), customer_id (golden, from account_xref: the order's
--   customer for order checks, the deal's for WON_NO_ORDER), opportunity_id (the deal as
--   in `opportunities`: source_system:CRM record id), order_id (as in `sales_orders`:
--   source_system:ERP record id), source_system (the ERP; the CRM for WON_NO_ORDER and
--   QUOTE_*; the account's system for UNMATCHED_ACCOUNT), crm_amount_corporate,
--   erp_amount_corporate, difference_corporate (erp - crm), tolerance, crm_date (close
--   date), erp_date (order date), detail.
-- Parameters come from concord.settings (the catalog's model): amount_tolerance_pct,
--   amount_tolerance_min, won_grace_days, as_of_date ("today"), auto_merge_probability.
-- Matching: an order belongs to a deal when its CRM reference (sales_orders.opportunity_ref:
--   NetSuite otherrefnum, SAP PurchaseOrderByCustomer, Oracle SourceTransactionNumber,
--   legacy crm_ref, QuickBooks' "CRM Deal ID" custom field) is the deal's Salesforce Opportunity Id or HubSpot deal id. Cancelled
--   orders are ignored everywhere; pending-approval orders count. Deal checks use won deals
--   with an amount > 0 (recon_matches).
-- Checks:
-- - WON_NO_ORDER: won deal, amount > 0, closed before as_of_date - won_grace_days, and no
--   non-cancelled order references it.
-- - ORDER_NO_OPPORTUNITY: non-cancelled order whose reference names no deal of either CRM
--   (empty, or a customer PO number): direct, web or renewal orders.
-- - AMOUNT_MISMATCH: |deal amount - order net amount| > tolerance, both converted at the
--   deal's close-date rate (fx_rates); tolerance = greatest(amount_tolerance_min,
--   amount_tolerance_pct x |deal amount|), in the corporate currency.
-- - CURRENCY_MISMATCH: order currency <> deal currency.
-- - PERIOD_MISMATCH: close date and order date in different fiscal quarters
--   (fiscal_calendar).
-- - CUSTOMER_MISMATCH: the order's customer and the deal's account resolve to different
--   golden customers (not judged when either side has none, nor while a review-band pair
--   of account_match_pairs may join the two: UNMATCHED_ACCOUNT names that pair, and a
--   steward's decision settles it).
-- - DUPLICATE_ORDER: every order of a deal after its first in the same ERP (ordered by
--   order date, creation time, ERP key).
-- - WON_DEAL_CHANGED_AFTER_ORDER: the deal has a recorded change (Salesforce
--   OpportunityHistory) after the order was created. Where the ERP keeps only a creation
--   date (SAP CreationDate, legacy order date) a change counts when it is on a later day,
--   or on that day and edits the already-won deal. HubSpot serves no property history:
--   its closedate (the moment the deal was marked won) after the order's creation counts.
-- - UNMATCHED_ACCOUNT: a live account record that identity resolution left alone in its
--   golden customer (match_rule 'singleton') or attached with match_confidence below
--   auto_merge_probability; detail names any review-band candidate pair.
-- - MASTER_DATA_CONFLICT: an ERP customer record disagrees with the other records of its
--   golden customer (inactive records included): name (a department suffix such as
--   ' - Accounts Payable', all capitals while another record spells the same name_norm in
--   mixed case, or one letter missing from the name of another record of the customer or
--   of a customer a review-band pair may join it to: the typo is why identity was unsure),
--   e-mail (its domain is
--   none of the customer's web domains; not judged when none is known), phone (last nine
--   digits differ from every other record's phone), currency (no deal of the customer is
--   in it; CRMs hold no customer currency) and credit_limit (legacy ERP vs NetSuite). A
--   record identity resolution did not attach to its customer has nothing to compare with.
--   One row per (record, field).
-- - PRICE_BOOK_MISMATCH: an ERP item-master price differs from files.price_book for the
--   same product code in the ERP's currency (NetSuite item.baseprice in the currency of
--   subsidiary 1; QuickBooks Item.UnitPrice in the home currency, i.e. that of the payments
--   without an exchange rate). SAP and Oracle item masters are not served by their APIs
--   here, so their prices cannot be checked.
-- - QUOTE_PRICE_MISMATCH: a Salesforce quote line whose OpportunityLineItem.ListPrice
--   differs from the price book in the deal currency. HubSpot line items carry only the
--   sales price (`price`, after negotiation) and its products one price in the portal
--   currency, which the API does not name, so HubSpot lines are not price-checked.
-- - QUOTE_UNKNOWN_PRODUCT: a quote line (Salesforce OpportunityLineItem, HubSpot
--   line_items) whose product code no served ERP item master (NetSuite item, QuickBooks
--   Item) knows.
-- Blind spots: deleted Salesforce / archived HubSpot deals are not served, so their orders
--   show as ORDER_NO_OPPORTUNITY.
-- Pushdown: each order check reads its own copy of sales_orders (recon_matches), and the
--   anti-joins sit in WHERE of branches whose source_system is a literal, so WHERE
--   source_system = 'netsuite' fetches no other ERP's order tables. Helpers: sales_orders,
--   recon_deals, recon_matches, recon_deal_changes.
WITH positions AS (
    SELECT CAST(unnest(generate_series(2, 1000)) AS BIGINT) AS pos
), book AS (
    SELECT pb.product_code, pb.currency, arg_max(pb.list_price, pb.valid_from) AS list_price
    FROM files.price_book AS pb
    CROSS JOIN concord.settings AS s
    WHERE pb.valid_from IS NULL OR pb.valid_from <= s.as_of_date
    GROUP BY pb.product_code, pb.currency
), quote_lines AS (
    SELECT 'salesforce' AS source_system, li.Id AS line_id, li.OpportunityId AS deal_id,
           p.ProductCode AS product_code, o.CurrencyIsoCode AS currency,
           li.ListPrice AS list_price, li.Quantity AS quantity, o.CloseDate AS close_date,
           o.AccountId AS account_id
    FROM salesforce.OpportunityLineItem AS li
    JOIN salesforce.Opportunity AS o ON o.Id = li.OpportunityId
    LEFT JOIN salesforce.Product2 AS p ON p.Id = li.Product2Id
    UNION ALL
    SELECT 'hubspot', li.id, ld.deal_id, li.hs_sku,
           coalesce(li.hs_line_item_currency_code, d.deal_currency_code), li.price,
           li.quantity, CAST(timezone('UTC', d.closedate) AS DATE), dc.company_id
    FROM hubspot.line_items AS li
    LEFT JOIN hubspot.line_item_deals AS ld ON ld.line_item_id = li.id
    LEFT JOIN hubspot.deals AS d ON d.id = ld.deal_id
    LEFT JOIN (SELECT deal_id, min(company_id) AS company_id
               FROM hubspot.deal_companies GROUP BY deal_id) AS dc ON dc.deal_id = ld.deal_id
), records AS (
    SELECT x.customer_id, x.match_rule, x.match_confidence, a.*
    FROM account_xref AS x
    JOIN source_accounts AS a
      ON a.source_system = x.source_system AND a.source_account_id = x.source_account_id
), review_links AS (
    -- golden customers a review-band pair may join
    SELECT xl.customer_id AS customer_a, xr.customer_id AS customer_b
    FROM account_match_pairs AS p
    JOIN account_xref AS xl
      ON xl.source_system = p.source_system_l AND xl.source_account_id = p.source_account_id_l
    JOIN account_xref AS xr
      ON xr.source_system = p.source_system_r AND xr.source_account_id = p.source_account_id_r
    WHERE p.decision = 'review'
), accounts AS (
    SELECT * FROM records
), erp_accounts AS (
    SELECT * FROM records
    WHERE source_system IN ('netsuite', 'sap', 'quickbooks', 'oracle', 'legacy_erp')
), customer_currencies AS (
    SELECT DISTINCT customer_id, currency_code FROM recon_deals WHERE customer_id IS NOT NULL
), quickbooks_sale_currencies AS (
    SELECT DISTINCT source_customer_id, currency_code
    FROM sales_orders WHERE source_system = 'quickbooks'
), conflicts AS (
    -- name: department suffix, shouting copy, or a letter missing
    SELECT e.customer_id, e.source_system, e.source_account_id, 'name' AS field_name,
           e.legal_name AS erp_value,
           CASE WHEN regexp_matches(lower(e.legal_name),
                                    '\s+[-–|/]\s+(accounts? payable|a/?p|billing|invoices?|'
                                    || 'finance)\s*$')
                THEN 'department suffix'
                WHEN e.legal_name = upper(e.legal_name) THEN 'all capitals'
                ELSE 'letter missing' END AS reason
    FROM erp_accounts AS e
    WHERE e.legal_name IS NOT NULL
      AND (regexp_matches(lower(e.legal_name),
                          '\s+[-–|/]\s+(accounts? payable|a/?p|billing|invoices?|finance)\s*$')
           OR (e.legal_name = upper(e.legal_name) AND e.legal_name <> lower(e.legal_name)
               AND EXISTS (SELECT 1 FROM accounts AS o
                           WHERE o.customer_id = e.customer_id
                             AND o.name_norm = e.name_norm
                             AND o.account_name <> upper(o.account_name)))
           OR (NOT EXISTS (SELECT 1 FROM accounts AS o
                           WHERE o.customer_id = e.customer_id
                             AND NOT (o.source_system = e.source_system
                                      AND o.source_account_id = e.source_account_id)
                             AND lower(coalesce(o.legal_name, o.account_name))
                                 = lower(e.legal_name))
               AND EXISTS (SELECT 1 FROM accounts AS o
                           WHERE (o.customer_id = e.customer_id
                                  OR EXISTS (SELECT 1 FROM review_links AS r
                                             WHERE [r.customer_a, r.customer_b]
                                                   IN ([e.customer_id, o.customer_id],
                                                       [o.customer_id, e.customer_id])))
                             AND length(coalesce(o.legal_name, o.account_name))
                                 = length(e.legal_name) + 1
                             AND levenshtein(lower(coalesce(o.legal_name, o.account_name)),
                                             lower(e.legal_name)) = 1)))
    UNION ALL
    SELECT e.customer_id, e.source_system, e.source_account_id, 'email', e.email,
           'domain not the customer''s'
    FROM erp_accounts AS e
    WHERE e.email_domain IS NOT NULL
      AND EXISTS (SELECT 1 FROM accounts AS o
                  WHERE o.customer_id = e.customer_id AND o.domain_norm IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM accounts AS o
                      WHERE o.customer_id = e.customer_id
                        AND o.domain_norm = e.email_domain)
    UNION ALL
    SELECT e.customer_id, e.source_system, e.source_account_id, 'phone', e.phone,
           'no other record has this number'
    FROM erp_accounts AS e
    WHERE nullif(regexp_replace(coalesce(e.phone, ''), '[^0-9]', '', 'g'), '') IS NOT NULL
      AND EXISTS (SELECT 1 FROM accounts AS o
                  WHERE o.customer_id = e.customer_id
                    AND NOT (o.source_system = e.source_system
                             AND o.source_account_id = e.source_account_id)
                    AND nullif(regexp_replace(coalesce(o.phone, ''), '[^0-9]', '', 'g'), '')
                        IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM accounts AS o
                      WHERE o.customer_id = e.customer_id
                        AND NOT (o.source_system = e.source_system
                                 AND o.source_account_id = e.source_account_id)
                        AND right(regexp_replace(coalesce(o.phone, ''), '[^0-9]', '', 'g'), 9)
                            = right(regexp_replace(e.phone, '[^0-9]', '', 'g'), 9))
    UNION ALL
    SELECT e.customer_id, e.source_system, e.source_account_id, 'currency', e.currency_code,
           'no deal of the customer is in this currency'
    FROM erp_accounts AS e
    WHERE e.currency_code IS NOT NULL AND e.source_system <> 'quickbooks'
      AND EXISTS (SELECT 1 FROM customer_currencies AS c WHERE c.customer_id = e.customer_id)
      AND NOT EXISTS (SELECT 1 FROM customer_currencies AS c
                      WHERE c.customer_id = e.customer_id
                        AND c.currency_code = e.currency_code)
    UNION ALL
    -- QBO: a customer's sales are all in the customer's currency
    SELECT e.customer_id, 'quickbooks', e.source_account_id, 'currency', e.currency_code,
           'the record''s own sales are in ' || string_agg(DISTINCT r.currency_code, ', ')
    FROM erp_accounts AS e
    JOIN quickbooks_sale_currencies AS r ON r.source_customer_id = e.source_account_id
    WHERE e.source_system = 'quickbooks' AND e.currency_code IS NOT NULL
    GROUP BY e.customer_id, e.source_account_id, e.currency_code
    HAVING NOT bool_or(r.currency_code = e.currency_code)
    UNION ALL
    SELECT l.customer_id, l.source_system, l.source_account_id, 'credit_limit',
           printf('%.2f', l.credit_limit), 'NetSuite has ' || printf('%.2f', n.credit_limit)
    FROM erp_accounts AS l
    JOIN erp_accounts AS n
      ON n.customer_id = l.customer_id AND n.source_system = 'netsuite'
    WHERE l.source_system = 'legacy_erp' AND l.credit_limit <> n.credit_limit
)
SELECT 'WON_NO_ORDER' AS check_code,
       'high' AS severity,
       d.customer_id,
       d.opportunity_id,
       CAST(NULL AS VARCHAR) AS order_id,
       'salesforce' AS source_system,
       round(d.amount * fx.rate_to_corporate, 2) AS crm_amount_corporate,
       CAST(NULL AS DOUBLE) AS erp_amount_corporate,
       CAST(NULL AS DOUBLE) AS difference_corporate,
       CAST(NULL AS DOUBLE) AS tolerance,
       d.close_date AS crm_date,
       CAST(NULL AS DATE) AS erp_date,
       'won ' || CAST(d.close_date AS VARCHAR) || ' for ' || printf('%.2f', d.amount) || ' '
           || d.currency_code || '; no order after '
           || CAST(s.won_grace_days AS VARCHAR) || ' days' AS detail
FROM recon_deals AS d
CROSS JOIN concord.settings AS s
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = d.currency_code AND d.close_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR d.close_date < fx.effective_to)
WHERE d.source_system = 'salesforce' AND d.is_won AND d.amount > 0
  AND d.close_date < s.as_of_date - CAST(s.won_grace_days AS INTEGER)
  AND NOT EXISTS (SELECT 1 FROM sales_orders AS o
                  WHERE NOT o.is_cancelled AND o.opportunity_ref = d.source_opportunity_id)
UNION ALL
SELECT 'WON_NO_ORDER', 'high', d.customer_id, d.opportunity_id, NULL, 'hubspot',
       round(d.amount * fx.rate_to_corporate, 2), NULL, NULL, NULL, d.close_date, NULL,
       'won ' || CAST(d.close_date AS VARCHAR) || ' for ' || printf('%.2f', d.amount) || ' '
           || d.currency_code || '; no order after '
           || CAST(s.won_grace_days AS VARCHAR) || ' days'
FROM recon_deals AS d
CROSS JOIN concord.settings AS s
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = d.currency_code AND d.close_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR d.close_date < fx.effective_to)
WHERE d.source_system = 'hubspot' AND d.is_won AND d.amount > 0
  AND d.close_date < s.as_of_date - CAST(s.won_grace_days AS INTEGER)
  AND NOT EXISTS (SELECT 1 FROM sales_orders AS o
                  WHERE NOT o.is_cancelled AND o.opportunity_ref = d.source_opportunity_id)
UNION ALL
SELECT 'ORDER_NO_OPPORTUNITY', 'medium', o.customer_id, NULL, o.order_id, o.source_system,
       NULL, round(o.net_amount * fx.rate_to_corporate, 2), NULL, NULL, NULL, o.order_date,
       printf('%.2f', o.net_amount) || ' ' || o.currency_code || ' ordered '
           || CAST(o.order_date AS VARCHAR)
           || CASE WHEN o.opportunity_ref IS NULL THEN '; no CRM reference'
                   ELSE '; reference ' || o.opportunity_ref || ' names no deal' END
FROM sales_orders AS o
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = o.currency_code AND o.order_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR o.order_date < fx.effective_to)
WHERE NOT o.is_cancelled
  AND NOT EXISTS (SELECT 1 FROM recon_deals AS d
                  WHERE d.source_opportunity_id = o.opportunity_ref)
UNION ALL
SELECT 'AMOUNT_MISMATCH', 'high', m.order_customer_id, m.opportunity_id, m.order_id,
       m.source_system, round(m.crm_amount_corporate, 2), round(m.erp_amount_corporate, 2),
       round(m.erp_amount_corporate - m.crm_amount_corporate, 2), round(m.tolerance, 2),
       m.close_date, m.order_date,
       'deal ' || printf('%.2f', m.deal_amount) || ' ' || m.deal_currency || ', order '
           || printf('%.2f', m.order_amount) || ' ' || m.order_currency
           || ' (at the close-date rate)'
FROM recon_matches AS m
WHERE abs(m.crm_amount_corporate - m.erp_amount_corporate) > m.tolerance
UNION ALL
SELECT 'CURRENCY_MISMATCH', 'medium', m.order_customer_id, m.opportunity_id, m.order_id,
       m.source_system, round(m.crm_amount_corporate, 2), round(m.erp_amount_corporate, 2),
       round(m.erp_amount_corporate - m.crm_amount_corporate, 2), round(m.tolerance, 2),
       m.close_date, m.order_date,
       'deal in ' || m.deal_currency || ', order in ' || m.order_currency
FROM recon_matches AS m
WHERE m.order_currency <> m.deal_currency
UNION ALL
SELECT 'PERIOD_MISMATCH', 'medium', m.order_customer_id, m.opportunity_id, m.order_id,
       m.source_system, round(m.crm_amount_corporate, 2), round(m.erp_amount_corporate, 2),
       round(m.erp_amount_corporate - m.crm_amount_corporate, 2), round(m.tolerance, 2),
       m.close_date, m.order_date,
       'closed in FY' || CAST(m.close_fiscal_year AS VARCHAR) || ' Q'
           || CAST(m.close_fiscal_quarter AS VARCHAR) || ', ordered in FY'
           || CAST(m.order_fiscal_year AS VARCHAR) || ' Q'
           || CAST(m.order_fiscal_quarter AS VARCHAR)
FROM recon_matches AS m
WHERE m.close_fiscal_year <> m.order_fiscal_year
   OR m.close_fiscal_quarter <> m.order_fiscal_quarter
UNION ALL
SELECT 'CUSTOMER_MISMATCH', 'high', m.order_customer_id, m.opportunity_id, m.order_id,
       m.source_system, round(m.crm_amount_corporate, 2), round(m.erp_amount_corporate, 2),
       round(m.erp_amount_corporate - m.crm_amount_corporate, 2), round(m.tolerance, 2),
       m.close_date, m.order_date,
       'deal for ' || m.deal_customer_id || ', order for ' || m.order_customer_id
FROM recon_matches AS m
WHERE m.order_customer_id <> m.deal_customer_id
  AND NOT EXISTS (SELECT 1 FROM review_links AS r
                  WHERE [r.customer_a, r.customer_b]
                        IN ([m.order_customer_id, m.deal_customer_id],
                            [m.deal_customer_id, m.order_customer_id]))
UNION ALL
SELECT 'DUPLICATE_ORDER', 'high', struct_extract(g.orders[k.pos], 'customer_id'),
       g.opportunity_id, struct_extract(g.orders[k.pos], 'order_id'), g.source_system,
       round(g.crm_amount_corporate, 2),
       round(struct_extract(g.orders[k.pos], 'erp_amount_corporate'), 2),
       round(struct_extract(g.orders[k.pos], 'erp_amount_corporate')
             - g.crm_amount_corporate, 2),
       round(g.tolerance, 2), g.close_date, struct_extract(g.orders[k.pos], 'order_date'),
       'order ' || CAST(k.pos AS VARCHAR) || ' of ' || CAST(len(g.orders) AS VARCHAR)
           || ' for the deal; first ' || struct_extract(g.orders[1], 'order_id')
FROM (
    SELECT m.source_system, m.opportunity_ref, min(m.opportunity_id) AS opportunity_id,
           min(m.crm_amount_corporate) AS crm_amount_corporate,
           min(m.tolerance) AS tolerance, min(m.close_date) AS close_date,
           list({'order_id': m.order_id, 'customer_id': m.order_customer_id,
                 'erp_amount_corporate': m.erp_amount_corporate, 'order_date': m.order_date}
                ORDER BY m.order_date, m.order_created_date, m.order_created_at,
                         m.order_seq, m.order_id) AS orders
    FROM recon_matches AS m
    GROUP BY m.source_system, m.opportunity_ref
    HAVING count(*) > 1
) AS g
JOIN positions AS k ON k.pos <= len(g.orders)
UNION ALL
SELECT 'WON_DEAL_CHANGED_AFTER_ORDER', 'medium', m.order_customer_id, m.opportunity_id,
       m.order_id, m.source_system, round(min(m.crm_amount_corporate), 2),
       round(min(m.erp_amount_corporate), 2),
       round(min(m.erp_amount_corporate) - min(m.crm_amount_corporate), 2),
       round(min(m.tolerance), 2), m.close_date, m.order_date,
       CAST(count(*) AS VARCHAR) || ' change(s) after the order was created, last '
           || strftime(max(coalesce(h.changed_at, m.deal_closed_at)), '%Y-%m-%d %H:%M:%S')
FROM recon_matches AS m
LEFT JOIN recon_deal_changes AS h
  ON h.deal_system = m.deal_system AND h.source_opportunity_id = m.opportunity_ref
WHERE CASE WHEN m.deal_system = 'hubspot'
           THEN m.deal_closed_at > coalesce(m.order_created_at,
                                            CAST(m.order_created_date + 1 AS TIMESTAMPTZ))
           WHEN m.order_created_at IS NOT NULL THEN h.changed_at > m.order_created_at
           ELSE CAST(timezone('UTC', h.changed_at) AS DATE) > m.order_created_date
                OR (CAST(timezone('UTC', h.changed_at) AS DATE) = m.order_created_date
                    AND h.edits_won_deal) END
GROUP BY m.source_system, m.order_id, m.opportunity_id, m.order_customer_id,
         m.close_date, m.order_date
UNION ALL
SELECT 'UNMATCHED_ACCOUNT', 'low', a.customer_id, NULL, NULL, a.source_system, NULL, NULL,
       NULL, NULL, NULL, NULL,
       a.source_system || ' account ' || a.source_account_id || ' ('
           || coalesce(a.account_name, '?') || ') '
           || CASE WHEN a.match_rule = 'singleton'
                   THEN 'matches no other record'
                   ELSE 'attached by ' || a.match_rule || ' with confidence '
                        || printf('%.2f', a.match_confidence) END
           || coalesce('; review pending with ' || (
                  SELECT min(CASE WHEN p.source_system_l = a.source_system
                                       AND p.source_account_id_l = a.source_account_id
                                  THEN p.source_system_r || ' ' || p.source_account_id_r
                                  ELSE p.source_system_l || ' ' || p.source_account_id_l END)
                  FROM account_match_pairs AS p
                  WHERE p.decision = 'review'
                    AND ((p.source_system_l = a.source_system
                          AND p.source_account_id_l = a.source_account_id)
                         OR (p.source_system_r = a.source_system
                             AND p.source_account_id_r = a.source_account_id))), '')
FROM records AS a
CROSS JOIN concord.settings AS s
WHERE NOT a.is_deleted
  AND (a.match_rule = 'singleton' OR a.match_confidence < s.auto_merge_probability)
UNION ALL
SELECT 'MASTER_DATA_CONFLICT', 'low', c.customer_id, NULL, NULL, c.source_system, NULL,
       NULL, NULL, NULL, NULL, NULL,
       c.field_name || ': ' || coalesce(c.erp_value, '') || ' (' || c.source_system
           || ' record ' || c.source_account_id || ': ' || c.reason || ')'
FROM conflicts AS c
UNION ALL
SELECT 'PRICE_BOOK_MISMATCH', 'medium', NULL, NULL, NULL, e.erp_system, NULL, NULL, NULL,
       NULL, NULL, NULL,
       e.product_code || ' ' || b.currency || ': item master '
           || printf('%.2f', e.erp_unit_price) || ', price book '
           || printf('%.2f', b.list_price) || ' (item ' || e.erp_item_id || ')'
FROM erp_items AS e
JOIN book AS b ON b.product_code = e.product_code AND b.currency = e.erp_currency
WHERE e.erp_unit_price <> b.list_price
UNION ALL
SELECT 'QUOTE_PRICE_MISMATCH', 'medium', x.customer_id, q.source_system || ':' || q.deal_id,
       NULL, q.source_system, NULL, NULL, NULL, NULL, q.close_date, NULL,
       'line ' || q.line_id || ' ' || q.product_code || ': list price '
           || printf('%.2f', q.list_price) || ' ' || q.currency || ', price book '
           || printf('%.2f', b.list_price)
FROM quote_lines AS q
JOIN book AS b ON b.product_code = q.product_code AND b.currency = q.currency
LEFT JOIN account_xref AS x
  ON x.source_system = q.source_system AND x.source_account_id = q.account_id
WHERE q.source_system = 'salesforce' AND q.list_price <> b.list_price
UNION ALL
SELECT 'QUOTE_UNKNOWN_PRODUCT', 'medium', x.customer_id,
       q.source_system || ':' || q.deal_id, NULL, q.source_system, NULL, NULL, NULL, NULL,
       q.close_date, NULL,
       'line ' || q.line_id || ': product ' || coalesce(q.product_code, '(none)')
           || ' is in no ERP item master'
FROM quote_lines AS q
LEFT JOIN account_xref AS x
  ON x.source_system = q.source_system AND x.source_account_id = q.account_id
WHERE NOT EXISTS (SELECT 1 FROM erp_items AS i WHERE i.product_code = q.product_code)
