-- recon_matches: each booked-or-pending ERP order next to the won CRM deal it names.
-- Helper of reconciliation_exceptions (one copy per check, so a filter on source_system
-- reaches the order tables of that ERP only).
-- Grain: one row per (order, deal): orders that are not cancelled (pending approval
--   included) whose opportunity_ref is the record id of a won deal with an amount > 0.
-- Columns: source_system (the ERP), order_id, order_seq, order_date, order_created_at,
--   order_created_date, order_customer_id, order_amount, order_currency, opportunity_ref,
--   opportunity_id, deal_system, deal_customer_id, deal_amount, deal_currency, close_date,
--   deal_closed_at, crm_amount_corporate / erp_amount_corporate (both converted at the
--   deal's close-date rate from fx_rates, unrounded, so FX noise is not a mismatch),
--   tolerance (greatest(amount_tolerance_min, amount_tolerance_pct x |crm amount|), from
--   concord.settings), close_fiscal_year/quarter, order_fiscal_year/quarter.
SELECT o.source_system,
       o.order_id,
       o.order_seq,
       o.order_date,
       o.created_at AS order_created_at,
       o.created_date AS order_created_date,
       o.customer_id AS order_customer_id,
       o.net_amount AS order_amount,
       o.currency_code AS order_currency,
       o.opportunity_ref,
       d.opportunity_id,
       d.source_system AS deal_system,
       d.customer_id AS deal_customer_id,
       d.amount AS deal_amount,
       d.currency_code AS deal_currency,
       d.close_date,
       d.closed_at AS deal_closed_at,
       d.amount * fd.rate_to_corporate AS crm_amount_corporate,
       o.net_amount * fo.rate_to_corporate AS erp_amount_corporate,
       greatest(s.amount_tolerance_min,
                s.amount_tolerance_pct * abs(d.amount * fd.rate_to_corporate)) AS tolerance,
       cd.fiscal_year AS close_fiscal_year,
       cd.fiscal_quarter AS close_fiscal_quarter,
       co.fiscal_year AS order_fiscal_year,
       co.fiscal_quarter AS order_fiscal_quarter
FROM sales_orders AS o
JOIN recon_deals AS d ON d.source_opportunity_id = o.opportunity_ref
CROSS JOIN concord.settings AS s
LEFT JOIN fx_rates AS fd
  ON fd.currency_code = d.currency_code AND d.close_date >= fd.effective_from
 AND (fd.effective_to IS NULL OR d.close_date < fd.effective_to)
LEFT JOIN fx_rates AS fo
  ON fo.currency_code = o.currency_code AND d.close_date >= fo.effective_from
 AND (fo.effective_to IS NULL OR d.close_date < fo.effective_to)
LEFT JOIN fiscal_calendar AS cd ON cd.date_day = d.close_date
LEFT JOIN fiscal_calendar AS co ON co.date_day = o.order_date
WHERE NOT o.is_cancelled AND d.is_won AND d.amount > 0
