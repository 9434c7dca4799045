-- customer_360: one row per golden customer across every CRM and ERP.
-- Grain: one row per customer_id of account_xref.
-- Columns:
--   identity: customer_id, source_systems (sorted list), source_record_count,
--     crm_account_ids / erp_customer_ids (lists of 'system:record id'), first_seen_date.
--   surviving attributes, each with <field>_source ('system:record id' that supplied it),
--     chosen by the catalog's system-of-record rules (customer_field_values):
--     customer_name, legal_name, domain, tax_id, duns, email, phone, billing_street,
--     billing_city, billing_state, billing_postal_code, billing_country, industry,
--     segment, region, account_owner, currency_code, credit_limit, balance,
--     payment_terms (credit_limit and balance in the supplying ERP's currency).
--   revenue (corporate currency; "today" = concord.settings.as_of_date, TTM = the twelve
--     months ending today; sums rounded to cents): open_pipeline_amount, weighted_pipeline_amount, commit_amount,
--     open_opportunity_count (open, non-omitted deals of the CRM that sold them),
--     closed_won_amount_ttm, bookings_amount_ttm, billings_amount_ttm, last_order_date.
--   service: open_case_count (Dynamics 365 cases still active).
--   quality: conflict_count (fields on which the customer's systems disagree).
WITH settings AS (
    SELECT as_of_date, as_of_date - INTERVAL 12 MONTH AS ttm_start FROM concord.settings
),
members AS (
    SELECT x.customer_id, x.source_system, x.source_account_id, a.created_at,
           x.source_system IN ('salesforce', 'hubspot', 'dynamics') AS is_crm
    FROM account_xref AS x
    LEFT JOIN source_accounts AS a
      ON a.source_system = x.source_system AND a.source_account_id = x.source_account_id
),
identity AS (
    SELECT customer_id,
           list(DISTINCT source_system ORDER BY source_system) AS source_systems,
           count(*) AS source_record_count,
           list(source_system || ':' || source_account_id ORDER BY source_system,
                source_account_id) FILTER (WHERE is_crm) AS crm_account_ids,
           list(source_system || ':' || source_account_id ORDER BY source_system,
                source_account_id) FILTER (WHERE NOT is_crm) AS erp_customer_ids,
           CAST(min(created_at) AS DATE) AS first_seen_date
    FROM members
    GROUP BY customer_id
),
survivors AS (
    SELECT customer_id,
           max(value) FILTER (WHERE field_name = 'customer_name') AS customer_name,
           max(source) FILTER (WHERE field_name = 'customer_name') AS customer_name_source,
           max(value) FILTER (WHERE field_name = 'legal_name') AS legal_name,
           max(source) FILTER (WHERE field_name = 'legal_name') AS legal_name_source,
           max(value) FILTER (WHERE field_name = 'domain') AS domain,
           max(source) FILTER (WHERE field_name = 'domain') AS domain_source,
           max(value) FILTER (WHERE field_name = 'tax_id') AS tax_id,
           max(source) FILTER (WHERE field_name = 'tax_id') AS tax_id_source,
           max(value) FILTER (WHERE field_name = 'duns') AS duns,
           max(source) FILTER (WHERE field_name = 'duns') AS duns_source,
           max(value) FILTER (WHERE field_name = 'email') AS email,
           max(source) FILTER (WHERE field_name = 'email') AS email_source,
           max(value) FILTER (WHERE field_name = 'phone') AS phone,
           max(source) FILTER (WHERE field_name = 'phone') AS phone_source,
           max(value) FILTER (WHERE field_name = 'billing_street') AS billing_street,
           max(source) FILTER (WHERE field_name = 'billing_street') AS billing_street_source,
           max(value) FILTER (WHERE field_name = 'billing_city') AS billing_city,
           max(source) FILTER (WHERE field_name = 'billing_city') AS billing_city_source,
           max(value) FILTER (WHERE field_name = 'billing_state') AS billing_state,
           max(source) FILTER (WHERE field_name = 'billing_state') AS billing_state_source,
           max(value) FILTER (WHERE field_name = 'billing_postal_code')
               AS billing_postal_code,
           max(source) FILTER (WHERE field_name = 'billing_postal_code')
               AS billing_postal_code_source,
           max(value) FILTER (WHERE field_name = 'billing_country') AS billing_country,
           max(source) FILTER (WHERE field_name = 'billing_country')
               AS billing_country_source,
           max(value) FILTER (WHERE field_name = 'industry') AS industry,
           max(source) FILTER (WHERE field_name = 'industry') AS industry_source,
           max(value) FILTER (WHERE field_name = 'segment') AS segment,
           max(source) FILTER (WHERE field_name = 'segment') AS segment_source,
           max(value) FILTER (WHERE field_name = 'region') AS region,
           max(source) FILTER (WHERE field_name = 'region') AS region_source,
           max(value) FILTER (WHERE field_name = 'account_owner') AS account_owner,
           max(source) FILTER (WHERE field_name = 'account_owner') AS account_owner_source,
           max(value) FILTER (WHERE field_name = 'currency_code') AS currency_code,
           max(source) FILTER (WHERE field_name = 'currency_code') AS currency_code_source,
           CAST(max(value) FILTER (WHERE field_name = 'credit_limit') AS DOUBLE)
               AS credit_limit,
           max(source) FILTER (WHERE field_name = 'credit_limit') AS credit_limit_source,
           CAST(max(value) FILTER (WHERE field_name = 'balance') AS DOUBLE) AS balance,
           max(source) FILTER (WHERE field_name = 'balance') AS balance_source,
           max(value) FILTER (WHERE field_name = 'payment_terms') AS payment_terms,
           max(source) FILTER (WHERE field_name = 'payment_terms') AS payment_terms_source
    FROM (SELECT customer_id, field_name, value,
                 source_system || ':' || source_account_id AS source
          FROM customer_field_values WHERE survivor_rank = 1) AS s
    GROUP BY customer_id
),
deals AS (
    SELECT o.customer_id,
           sum(o.amount_corporate) FILTER (WHERE NOT o.is_closed
               AND o.forecast_category <> 'omitted') AS open_pipeline_amount,
           sum(o.weighted_amount_corporate) FILTER (WHERE NOT o.is_closed
               AND o.forecast_category <> 'omitted') AS weighted_pipeline_amount,
           sum(o.amount_corporate) FILTER (WHERE NOT o.is_closed
               AND o.forecast_category = 'commit') AS commit_amount,
           count(*) FILTER (WHERE NOT o.is_closed AND o.forecast_category <> 'omitted')
               AS open_opportunity_count,
           sum(o.amount_corporate) FILTER (WHERE o.is_won AND o.close_date > s.ttm_start
               AND o.close_date <= s.as_of_date) AS closed_won_amount_ttm
    FROM opportunities AS o CROSS JOIN settings AS s
    WHERE o.is_system_of_record
    GROUP BY o.customer_id
),
booked AS (
    SELECT b.customer_id,
           sum(b.net_amount_corporate) FILTER (WHERE b.order_date > s.ttm_start
               AND b.order_date <= s.as_of_date) AS bookings_amount_ttm,
           max(b.order_date) AS last_order_date
    FROM bookings AS b CROSS JOIN settings AS s
    GROUP BY b.customer_id
),
billed AS (
    SELECT b.customer_id, sum(b.net_amount_corporate) AS billings_amount_ttm
    FROM billings AS b CROSS JOIN settings AS s
    WHERE b.document_date > s.ttm_start AND b.document_date <= s.as_of_date
    GROUP BY b.customer_id
),
cases AS (
    SELECT x.customer_id, count(*) AS open_case_count
    FROM dynamics.incidents AS i
    JOIN account_xref AS x
      ON x.source_system = 'dynamics' AND x.source_account_id = i.customerid
    WHERE i.statecode = 0
    GROUP BY x.customer_id
),
conflicts AS (
    SELECT customer_id, count(DISTINCT field_name) AS conflict_count
    FROM customer_field_conflicts
    GROUP BY customer_id
)
SELECT i.customer_id, s.customer_name, s.customer_name_source, s.legal_name,
       s.legal_name_source, s.domain, s.domain_source, s.tax_id, s.tax_id_source, s.duns,
       s.duns_source, s.email, s.email_source, s.phone, s.phone_source, s.billing_street,
       s.billing_street_source, s.billing_city, s.billing_city_source, s.billing_state,
       s.billing_state_source, s.billing_postal_code, s.billing_postal_code_source,
       s.billing_country, s.billing_country_source, s.industry, s.industry_source,
       s.segment, s.segment_source, s.region, s.region_source, s.account_owner,
       s.account_owner_source, s.currency_code, s.currency_code_source, s.credit_limit,
       s.credit_limit_source, s.balance, s.balance_source, s.payment_terms,
       s.payment_terms_source,
       i.source_systems, i.source_record_count, i.crm_account_ids, i.erp_customer_ids,
       i.first_seen_date,
       round(coalesce(d.open_pipeline_amount, 0), 2) AS open_pipeline_amount,
       round(coalesce(d.weighted_pipeline_amount, 0), 2) AS weighted_pipeline_amount,
       round(coalesce(d.commit_amount, 0), 2) AS commit_amount,
       coalesce(d.open_opportunity_count, 0) AS open_opportunity_count,
       round(coalesce(d.closed_won_amount_ttm, 0), 2) AS closed_won_amount_ttm,
       round(coalesce(b.bookings_amount_ttm, 0), 2) AS bookings_amount_ttm,
       round(coalesce(bl.billings_amount_ttm, 0), 2) AS billings_amount_ttm,
       b.last_order_date,
       coalesce(c.open_case_count, 0) AS open_case_count,
       coalesce(k.conflict_count, 0) AS conflict_count
FROM identity AS i
LEFT JOIN survivors AS s ON s.customer_id = i.customer_id
LEFT JOIN deals AS d ON d.customer_id = i.customer_id
LEFT JOIN booked AS b ON b.customer_id = i.customer_id
LEFT JOIN billed AS bl ON bl.customer_id = i.customer_id
LEFT JOIN cases AS c ON c.customer_id = i.customer_id
LEFT JOIN conflicts AS k ON k.customer_id = i.customer_id
