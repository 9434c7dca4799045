-- pipeline_summary: pipeline, wins, losses, cycle time and coverage per owner and quarter.
-- Purpose: the sales manager's table (system-of-record opportunities only: Salesforce and
--   HubSpot; amounts in the corporate currency at each deal's close-date rate).
-- Grain: one row per fiscal_year, fiscal_quarter and owner_name with any deal closing or
--   created in the quarter, or a quota for it. Sum rows for team or company totals only
--   for the amounts and counts; recompute the ratios from them.
-- Columns: fiscal_year, fiscal_quarter, owner_name, open_count, pipeline_amount,
--   weighted_pipeline_amount, best_case_amount, commit_amount, closed_won_amount,
--   closed_lost_amount, won_count, lost_count, win_rate_amount, win_rate_count,
--   avg_days_to_close, median_days_to_close, pipeline_created_amount, target_amount,
--   coverage_ratio, required_coverage.
-- Definitions (quarter = the fiscal quarter of close_date unless stated):
-- - open_count / pipeline_amount / weighted_pipeline_amount: open, non-omitted deals
--   closing in the quarter (pipeline due); best_case_amount and commit_amount: the part of
--   it in forecast category best_case / commit (not cumulative).
-- - closed_won_amount / closed_lost_amount (won_count / lost_count): deals won / lost in
--   the quarter. win_rate_amount = won / (won + lost) by amount, win_rate_count by count
--   (NULL when nothing closed). avg/median_days_to_close: won deals (close - created).
-- - pipeline_created_amount: deals created in the quarter (by created_date), any status.
-- - target_amount: quota_targets (quota at the quarter's first-day rate).
-- - coverage_ratio = pipeline_amount / (target_amount - closed_won_amount), NULL unless the
--   remaining target is positive. required_coverage = 1 / the owner's win rate by amount
--   over deals closed in the four fiscal quarters before this one (NULL without one).
WITH opp AS (
    SELECT * FROM opportunities WHERE is_system_of_record
), by_close AS (
    SELECT fiscal_year, fiscal_quarter, owner_name,
           count(*) FILTER (WHERE NOT is_closed AND forecast_category <> 'omitted')
               AS open_count,
           coalesce(sum(amount_corporate) FILTER (WHERE NOT is_closed
                    AND forecast_category <> 'omitted'), 0) AS pipeline_amount,
           coalesce(sum(weighted_amount_corporate) FILTER (WHERE NOT is_closed
                    AND forecast_category <> 'omitted'), 0) AS weighted_pipeline_amount,
           coalesce(sum(amount_corporate) FILTER (WHERE NOT is_closed
                    AND forecast_category = 'best_case'), 0) AS best_case_amount,
           coalesce(sum(amount_corporate) FILTER (WHERE NOT is_closed
                    AND forecast_category = 'commit'), 0) AS commit_amount,
           coalesce(sum(amount_corporate) FILTER (WHERE is_won), 0) AS closed_won_amount,
           coalesce(sum(amount_corporate) FILTER (WHERE is_closed AND NOT is_won), 0)
               AS closed_lost_amount,
           count(*) FILTER (WHERE is_won) AS won_count,
           count(*) FILTER (WHERE is_closed AND NOT is_won) AS lost_count,
           avg(days_to_close) FILTER (WHERE is_won) AS avg_days_to_close,
           median(days_to_close) FILTER (WHERE is_won) AS median_days_to_close
    FROM opp
    GROUP BY fiscal_year, fiscal_quarter, owner_name
), created AS (
    SELECT cal.fiscal_year, cal.fiscal_quarter, o.owner_name,
           coalesce(sum(o.amount_corporate), 0) AS pipeline_created_amount
    FROM opp AS o
    JOIN fiscal_calendar AS cal ON cal.date_day = o.created_date
    GROUP BY cal.fiscal_year, cal.fiscal_quarter, o.owner_name
), targets AS (
    SELECT fiscal_year, fiscal_quarter, owner_name, target_amount FROM quota_targets
), keys AS (
    SELECT fiscal_year, fiscal_quarter, owner_name FROM by_close
    UNION
    SELECT fiscal_year, fiscal_quarter, owner_name FROM created
    UNION
    SELECT fiscal_year, fiscal_quarter, owner_name FROM targets
), joined AS (
    SELECT k.fiscal_year, k.fiscal_quarter, k.owner_name,
           coalesce(b.open_count, 0) AS open_count,
           coalesce(b.pipeline_amount, 0) AS pipeline_amount,
           coalesce(b.weighted_pipeline_amount, 0) AS weighted_pipeline_amount,
           coalesce(b.best_case_amount, 0) AS best_case_amount,
           coalesce(b.commit_amount, 0) AS commit_amount,
           coalesce(b.closed_won_amount, 0) AS closed_won_amount,
           coalesce(b.closed_lost_amount, 0) AS closed_lost_amount,
           coalesce(b.won_count, 0) AS won_count,
           coalesce(b.lost_count, 0) AS lost_count,
           b.avg_days_to_close,
           b.median_days_to_close,
           coalesce(c.pipeline_created_amount, 0) AS pipeline_created_amount,
           t.target_amount,
           k.fiscal_year * 4 + k.fiscal_quarter AS quarter_index
    FROM keys AS k
    LEFT JOIN by_close AS b
      ON b.fiscal_year = k.fiscal_year AND b.fiscal_quarter = k.fiscal_quarter
     AND b.owner_name IS NOT DISTINCT FROM k.owner_name
    LEFT JOIN created AS c
      ON c.fiscal_year = k.fiscal_year AND c.fiscal_quarter = k.fiscal_quarter
     AND c.owner_name IS NOT DISTINCT FROM k.owner_name
    LEFT JOIN targets AS t
      ON t.fiscal_year = k.fiscal_year AND t.fiscal_quarter = k.fiscal_quarter
     AND t.owner_name IS NOT DISTINCT FROM k.owner_name
), trailing AS (
    SELECT *,
           sum(closed_won_amount) OVER w AS trailing_won_amount,
           sum(closed_lost_amount) OVER w AS trailing_lost_amount
    FROM joined
    WINDOW w AS (PARTITION BY owner_name ORDER BY quarter_index
                 RANGE BETWEEN 4 PRECEDING AND 1 PRECEDING)
)
SELECT fiscal_year, fiscal_quarter, owner_name, open_count, pipeline_amount,
       weighted_pipeline_amount, best_case_amount, commit_amount, closed_won_amount,
       closed_lost_amount, won_count, lost_count,
       CASE WHEN closed_won_amount + closed_lost_amount > 0
            THEN closed_won_amount / (closed_won_amount + closed_lost_amount) END
           AS win_rate_amount,
       CASE WHEN won_count + lost_count > 0
            THEN won_count / (won_count + lost_count) END AS win_rate_count,
       avg_days_to_close,
       median_days_to_close,
       pipeline_created_amount,
       target_amount,
       CASE WHEN target_amount - closed_won_amount > 0
            THEN pipeline_amount / (target_amount - closed_won_amount) END AS coverage_ratio,
       CASE WHEN trailing_won_amount > 0
            THEN (trailing_won_amount + trailing_lost_amount) / trailing_won_amount END
           AS required_coverage
FROM trailing
