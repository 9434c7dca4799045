-- fx_rates: dated exchange rates into the corporate currency, one table for every conversion.
-- Purpose: convert any document amount to the corporate currency (concord.settings) at the
--   rate in effect on a date: join ON currency_code = x AND d >= effective_from AND
--   (effective_to IS NULL OR d < effective_to).
-- Grain: one row per currency and rate period (NetSuite keeps one rate a month).
-- Columns: currency_code (ISO 4217), rate_to_corporate (corporate units per unit),
--   effective_from (inclusive), effective_to (exclusive; NULL = still in effect),
--   rate_source ('netsuite.currencyrate', or 'corporate' for the corporate currency's 1.0).
-- Definitions: rates come from the main ERP's currency table (NetSuite currencyrate, the
--   rates finance books with; its base currency must be the corporate currency). The first
--   known rate of a currency also applies before its date (effective_from 1900-01-01), as
--   the ERP would use it. Salesforce DatedConversionRate holds the same rates inverted and
--   rounded to 6 decimals, so it is not used.
WITH currencies AS (
    SELECT id, symbol FROM netsuite.currency
), rates AS (
    SELECT tc.symbol AS currency_code,
           r.exchangerate AS rate_to_corporate,
           r.effectivedate AS effective_from,
           lead(r.effectivedate) OVER (PARTITION BY tc.symbol ORDER BY r.effectivedate)
               AS effective_to,
           row_number() OVER (PARTITION BY tc.symbol ORDER BY r.effectivedate) AS n
    FROM netsuite.currencyrate AS r
    JOIN currencies AS tc ON tc.id = r.transactioncurrency
    JOIN currencies AS bc ON bc.id = r.basecurrency
    CROSS JOIN concord.settings AS s
    WHERE bc.symbol = s.corporate_currency AND tc.symbol <> s.corporate_currency
)
SELECT currency_code,
       rate_to_corporate,
       CASE WHEN n = 1 THEN DATE '1900-01-01' ELSE effective_from END AS effective_from,
       effective_to,
       'netsuite.currencyrate' AS rate_source
FROM rates
UNION ALL
SELECT corporate_currency AS currency_code,
       1.0 AS rate_to_corporate,
       DATE '1900-01-01' AS effective_from,
       CAST(NULL AS DATE) AS effective_to,
       'corporate' AS rate_source
FROM concord.settings
