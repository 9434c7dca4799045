-- fiscal_calendar: the one fiscal calendar every revenue view uses.
-- Purpose: map a date to its fiscal year, quarter and period (join ON date_day = d).
-- Grain: one row per day from 2000-01-01 to 2050-12-31.
-- Columns: date_day, fiscal_year, fiscal_quarter (1-4), fiscal_period (month of the fiscal
--   year, 1-12), quarter_start, quarter_end (first and last day of the fiscal quarter).
-- Definitions: the fiscal year starts on the first day of concord.settings
--   fiscal_year_start_month and is named after the calendar year it ends in (a year
--   starting in July 2025 is fiscal 2026); with month 1 it is the calendar year.
WITH days AS (
    SELECT CAST(unnest(generate_series(DATE '2000-01-01', DATE '2050-12-31',
                                       INTERVAL 1 DAY)) AS DATE) AS date_day
), placed AS (
    SELECT d.date_day,
           (month(d.date_day) - s.fiscal_year_start_month + 12) % 12 AS k,
           s.fiscal_year_start_month AS start_month
    FROM days AS d CROSS JOIN concord.settings AS s
)
SELECT date_day,
       CAST(year(date_day) + CASE WHEN month(date_day) >= start_month AND start_month > 1
                                  THEN 1 ELSE 0 END AS BIGINT) AS fiscal_year,
       CAST(k // 3 + 1 AS BIGINT) AS fiscal_quarter,
       CAST(k + 1 AS BIGINT) AS fiscal_period,
       CAST(date_trunc('month', date_day) - INTERVAL (k % 3) MONTH AS DATE) AS quarter_start,
       CAST(date_trunc('month', date_day) - INTERVAL (k % 3) MONTH + INTERVAL 3 MONTH
            - INTERVAL 1 DAY AS DATE) AS quarter_end
FROM placed
