-- quota_targets: sales quotas per seller and fiscal quarter, in the corporate currency.
-- Purpose: the target side of coverage (pipeline_summary, pipeline_vs_booked).
-- Grain: one row per owner_name, fiscal_year and fiscal_quarter in the quota exports
--   (files.quotas: one workbook per fiscal year).
-- Columns: owner_name, owner_email, fiscal_year, fiscal_quarter, quota_amount (quota
--   currency), currency_code, fx_rate, target_amount (corporate currency).
-- Definitions: target_amount = round(quota_amount x the rate in effect on the first day
--   of the fiscal quarter, 2); several rows of one owner and quarter are summed.
SELECT q.owner_name,
       min(q.owner_email) AS owner_email,
       q.fiscal_year,
       q.fiscal_quarter,
       sum(q.quota_amount) AS quota_amount,
       min(q.currency) AS currency_code,
       min(fx.rate_to_corporate) AS fx_rate,
       sum(round(q.quota_amount * fx.rate_to_corporate, 2)) AS target_amount
FROM files.quotas AS q
LEFT JOIN fiscal_calendar AS cal
  ON cal.fiscal_year = q.fiscal_year AND cal.fiscal_quarter = q.fiscal_quarter
 AND cal.date_day = cal.quarter_start
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = q.currency AND cal.quarter_start >= fx.effective_from
 AND (fx.effective_to IS NULL OR cal.quarter_start < fx.effective_to)
GROUP BY q.owner_name, q.fiscal_year, q.fiscal_quarter
