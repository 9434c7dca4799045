-- pipeline: the open sales pipeline (system-of-record opportunities still to close).
-- Purpose: what sales expects to close, with its timing and age.
-- Grain: one row per open, non-omitted opportunity of the CRM that owns it
--   (opportunities WHERE is_system_of_record AND NOT is_closed AND forecast_category <>
--   'omitted'): Salesforce and HubSpot; Dynamics copies are left out.
-- Columns: every column of `opportunities`, plus close_fiscal_quarter ('2026-Q3'),
--   is_current_quarter (closes in the fiscal quarter of concord.settings.as_of_date),
--   is_past_due (close_date before as_of_date), age_bucket (days_open: '0-30', '31-90',
--   '91-180', '181-365', '365+').
SELECT o.*,
       CAST(o.fiscal_year AS VARCHAR) || '-Q' || CAST(o.fiscal_quarter AS VARCHAR)
           AS close_fiscal_quarter,
       coalesce(o.fiscal_year = today.fiscal_year AND o.fiscal_quarter = today.fiscal_quarter,
                FALSE) AS is_current_quarter,
       coalesce(o.close_date < s.as_of_date, FALSE) AS is_past_due,
       CASE WHEN o.days_open <= 30 THEN '0-30'
            WHEN o.days_open <= 90 THEN '31-90'
            WHEN o.days_open <= 180 THEN '91-180'
            WHEN o.days_open <= 365 THEN '181-365'
            ELSE '365+' END AS age_bucket
FROM opportunities AS o
CROSS JOIN concord.settings AS s
LEFT JOIN fiscal_calendar AS today ON today.date_day = s.as_of_date
WHERE o.is_system_of_record AND NOT o.is_closed AND o.forecast_category <> 'omitted'
