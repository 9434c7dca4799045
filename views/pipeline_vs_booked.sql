-- pipeline_vs_booked: what sales won against what finance booked and billed, per quarter.
-- Purpose: the executive comparison of CRM bookings (closed won) with ERP bookings (booked
--   sales orders) and billings, with the open pipeline and coverage beside them.
-- Grain: rollup rows per fiscal_year and fiscal_quarter. `dimension` says which:
--   'total' (the company), 'source_system', 'owner', 'region' or 'segment'; the matching
--   column (source_system, owner_name, region, segment) holds the value, the others are
--   NULL. Pick one dimension (WHERE dimension = 'owner'); never sum across dimensions.
-- Columns: fiscal_year, fiscal_quarter, dimension, source_system, owner_name, region,
--   segment, crm_closed_won_amount, erp_booked_amount, erp_billed_amount,
--   booked_minus_won_amount, booked_minus_won_pct, open_pipeline_amount,
--   weighted_pipeline_amount, commit_amount, best_case_amount, target_amount,
--   coverage_ratio, win_rate_amount, avg_days_to_close, won_count, matched_won_count,
--   won_without_order_count, orders_without_opportunity_count.
-- Definitions (corporate currency; system-of-record opportunities only):
-- - CRM figures by the close date's quarter: crm_closed_won_amount (won deals),
--   open_pipeline_amount / weighted_pipeline_amount (open, non-omitted deals closing in
--   the quarter), commit_amount / best_case_amount (their open commit / best_case part),
--   win_rate_amount = won / (won + lost) by amount, avg_days_to_close (won deals),
--   won_count, matched_won_count (won deals with a non-cancelled ERP order referencing
--   them), won_without_order_count (won deals with an amount > 0, no such order, closed
--   more than concord.settings.won_grace_days before as_of_date).
-- - ERP figures: erp_booked_amount (`bookings` by order date), erp_billed_amount
--   (`billings` by document date), orders_without_opportunity_count (non-cancelled orders,
--   pending approval included, whose opportunity_ref names no CRM opportunity).
-- - Dimensions of ERP figures come from the opportunity the order references (billings:
--   through their order); unmatched orders have NULL owner, region and segment. On
--   source_system rows, CRM figures sit on the CRM's row and ERP figures on the ERP's, so
--   booked_minus_won is meaningful on total, owner, region and segment rows.
-- - booked_minus_won_amount = erp_booked - crm_closed_won; booked_minus_won_pct = that /
--   crm_closed_won (NULL when nothing was won). target_amount: quota_targets (total and
--   owner rows only); coverage_ratio = open_pipeline_amount / (target_amount -
--   crm_closed_won_amount) when that remaining target is positive.
WITH opp AS (
    SELECT source_system, source_opportunity_id, owner_name, region, segment,
           fiscal_year, fiscal_quarter, forecast_category, is_closed, is_won, amount,
           amount_corporate, weighted_amount_corporate, days_to_close, close_date,
           erp_order_count
    FROM opportunities
    WHERE is_system_of_record
), orders AS (
    SELECT so.order_id, so.source_system, so.fiscal_year, so.fiscal_quarter,
           so.is_booked, so.net_amount_corporate,
           o.source_opportunity_id IS NOT NULL AS has_opportunity,
           o.owner_name, o.region, o.segment
    FROM sales_orders AS so
    LEFT JOIN opp AS o ON o.source_opportunity_id = so.opportunity_ref
    WHERE NOT so.is_cancelled
), facts AS (
    SELECT o.fiscal_year, o.fiscal_quarter, o.source_system, o.owner_name, o.region,
           o.segment,
           CASE WHEN o.is_won THEN coalesce(o.amount_corporate, 0) ELSE 0 END AS won_amount,
           CASE WHEN o.is_closed AND NOT o.is_won THEN coalesce(o.amount_corporate, 0)
                ELSE 0 END AS lost_amount,
           0.0 AS booked_amount,
           0.0 AS billed_amount,
           CASE WHEN NOT o.is_closed AND o.forecast_category <> 'omitted'
                THEN coalesce(o.amount_corporate, 0) ELSE 0 END AS open_amount,
           CASE WHEN NOT o.is_closed AND o.forecast_category <> 'omitted'
                THEN coalesce(o.weighted_amount_corporate, 0) ELSE 0 END AS weighted_amount,
           CASE WHEN NOT o.is_closed AND o.forecast_category = 'commit'
                THEN coalesce(o.amount_corporate, 0) ELSE 0 END AS commit_amount,
           CASE WHEN NOT o.is_closed AND o.forecast_category = 'best_case'
                THEN coalesce(o.amount_corporate, 0) ELSE 0 END AS best_case_amount,
           CASE WHEN o.is_won THEN o.days_to_close END AS won_days_to_close,
           CASE WHEN o.is_won THEN 1 ELSE 0 END AS won_count,
           CASE WHEN o.is_won AND o.erp_order_count > 0 THEN 1 ELSE 0 END AS matched_won,
           CASE WHEN o.is_won AND o.erp_order_count = 0 AND o.amount > 0
                 AND date_diff('day', o.close_date, s.as_of_date) > s.won_grace_days
                THEN 1 ELSE 0 END
               AS won_without_order,
           0 AS order_without_opportunity
    FROM opp AS o
    CROSS JOIN concord.settings AS s
    UNION ALL
    SELECT fiscal_year, fiscal_quarter, source_system, owner_name, region, segment,
           0, 0, CASE WHEN is_booked THEN net_amount_corporate ELSE 0 END, 0, 0, 0, 0, 0,
           NULL, 0, 0, 0, CASE WHEN has_opportunity THEN 0 ELSE 1 END
    FROM orders
    UNION ALL
    SELECT b.fiscal_year, b.fiscal_quarter, b.source_system, o.owner_name, o.region,
           o.segment, 0, 0, 0, b.net_amount_corporate, 0, 0, 0, 0, NULL, 0, 0, 0, 0
    FROM billings AS b
    LEFT JOIN orders AS o ON o.order_id = b.order_ref
), rolled AS (
    SELECT fiscal_year, fiscal_quarter,
           CASE WHEN grouping(source_system) = 0 THEN 'source_system'
                WHEN grouping(owner_name) = 0 THEN 'owner'
                WHEN grouping(region) = 0 THEN 'region'
                WHEN grouping(segment) = 0 THEN 'segment'
                ELSE 'total' END AS dimension,
           source_system, owner_name, region, segment,
           sum(won_amount) AS crm_closed_won_amount,
           sum(lost_amount) AS crm_closed_lost_amount,
           sum(booked_amount) AS erp_booked_amount,
           sum(billed_amount) AS erp_billed_amount,
           sum(open_amount) AS open_pipeline_amount,
           sum(weighted_amount) AS weighted_pipeline_amount,
           sum(commit_amount) AS commit_amount,
           sum(best_case_amount) AS best_case_amount,
           avg(won_days_to_close) AS avg_days_to_close,
           CAST(sum(won_count) AS BIGINT) AS won_count,
           CAST(sum(matched_won) AS BIGINT) AS matched_won_count,
           CAST(sum(won_without_order) AS BIGINT) AS won_without_order_count,
           CAST(sum(order_without_opportunity) AS BIGINT) AS orders_without_opportunity_count
    FROM facts
    GROUP BY GROUPING SETS ((fiscal_year, fiscal_quarter),
                            (fiscal_year, fiscal_quarter, source_system),
                            (fiscal_year, fiscal_quarter, owner_name),
                            (fiscal_year, fiscal_quarter, region),
                            (fiscal_year, fiscal_quarter, segment))
), targets AS (
    SELECT fiscal_year, fiscal_quarter, owner_name, sum(target_amount) AS target_amount
    FROM quota_targets
    GROUP BY GROUPING SETS ((fiscal_year, fiscal_quarter),
                            (fiscal_year, fiscal_quarter, owner_name))
)
SELECT r.fiscal_year, r.fiscal_quarter, r.dimension, r.source_system, r.owner_name,
       r.region, r.segment,
       r.crm_closed_won_amount,
       r.erp_booked_amount,
       r.erp_billed_amount,
       r.erp_booked_amount - r.crm_closed_won_amount AS booked_minus_won_amount,
       CASE WHEN r.crm_closed_won_amount <> 0
            THEN (r.erp_booked_amount - r.crm_closed_won_amount) / r.crm_closed_won_amount
       END AS booked_minus_won_pct,
       r.open_pipeline_amount,
       r.weighted_pipeline_amount,
       r.commit_amount,
       r.best_case_amount,
       t.target_amount,
       CASE WHEN t.target_amount - r.crm_closed_won_amount > 0
            THEN r.open_pipeline_amount / (t.target_amount - r.crm_closed_won_amount)
       END AS coverage_ratio,
       CASE WHEN r.crm_closed_won_amount + r.crm_closed_lost_amount > 0
            THEN r.crm_closed_won_amount
                 / (r.crm_closed_won_amount + r.crm_closed_lost_amount) END
           AS win_rate_amount,
       r.avg_days_to_close,
       r.won_count,
       r.matched_won_count,
       r.won_without_order_count,
       r.orders_without_opportunity_count
FROM rolled AS r
LEFT JOIN targets AS t
  ON t.fiscal_year = r.fiscal_year AND t.fiscal_quarter = r.fiscal_quarter
 AND ((r.dimension = 'total' AND t.owner_name IS NULL)
      OR (r.dimension = 'owner' AND t.owner_name = r.owner_name))
