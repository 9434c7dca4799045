-- customer_field_values: every value each source record offers for a golden customer's
-- canonical fields, ranked by the catalog's system-of-record rules (survivorship).
-- Grain: one row per (customer_id, field_name, source_system, source_account_id) with a
--   non-empty value; soft-deleted and inactive records offer nothing.
-- Columns: customer_id, field_name, value (VARCHAR), compare_key (the value normalised the
--   way conflicts are judged: name_norm for names, E.164 for phones, lower case for
--   text), source_system, source_account_id, updated_at, rule, priority, survivor_rank
--   (1 = the surviving value).
-- Rules (catalog model.system_of_record, via concord.system_of_record): a configured
--   field takes values only from its listed systems: 'priority' ranks by the list order,
--   'most_recent' by updated_at (newest first), 'most_frequent' by how many records agree;
--   ties fall to list order, then recency. Fields the catalog does not configure take the
--   most recent value from any system. Changing the catalog changes survivors; no code.
WITH accounts AS (
    SELECT x.customer_id, a.*, u.user_name AS owner_name
    FROM account_xref AS x
    JOIN source_accounts AS a
      ON a.source_system = x.source_system AND a.source_account_id = x.source_account_id
    LEFT JOIN source_users AS u
      ON u.source_system = a.source_system AND u.user_id = a.owner_id
    WHERE NOT coalesce(a.is_deleted, FALSE)
),
offered AS (
    SELECT a.customer_id, a.source_system, a.source_account_id, a.updated_at,
           f.field.field_name AS field_name, f.field.value AS value,
           f.field.compare_key AS compare_key
    FROM accounts AS a
    CROSS JOIN unnest([
        {'field_name': 'customer_name', 'value': a.account_name, 'compare_key': a.name_norm},
        {'field_name': 'legal_name', 'value': a.legal_name,
         'compare_key': lower(trim(a.legal_name))},
        {'field_name': 'domain', 'value': a.domain_norm, 'compare_key': a.domain_norm},
        {'field_name': 'tax_id', 'value': a.tax_id_norm, 'compare_key': a.tax_id_norm},
        {'field_name': 'duns', 'value': a.duns, 'compare_key': a.duns},
        {'field_name': 'email', 'value': a.email, 'compare_key': lower(trim(a.email))},
        {'field_name': 'phone', 'value': a.phone,
         'compare_key': coalesce(a.phone_e164, regexp_replace(a.phone, '[^0-9]', '', 'g'))},
        {'field_name': 'billing_street', 'value': a.billing_street,
         'compare_key': lower(trim(a.billing_street))},
        {'field_name': 'billing_city', 'value': a.billing_city,
         'compare_key': lower(trim(a.billing_city))},
        {'field_name': 'billing_state', 'value': a.billing_state,
         'compare_key': lower(trim(a.billing_state))},
        {'field_name': 'billing_postal_code', 'value': a.billing_postal_code,
         'compare_key': upper(replace(a.billing_postal_code, ' ', ''))},
        {'field_name': 'billing_country', 'value': a.billing_country,
         'compare_key': upper(trim(a.billing_country))},
        {'field_name': 'industry', 'value': a.industry, 'compare_key': lower(trim(a.industry))},
        {'field_name': 'segment', 'value': a.segment, 'compare_key': lower(trim(a.segment))},
        {'field_name': 'region', 'value': a.region, 'compare_key': upper(trim(a.region))},
        {'field_name': 'account_owner', 'value': a.owner_name,
         'compare_key': lower(trim(a.owner_name))},
        {'field_name': 'currency_code', 'value': a.currency_code,
         'compare_key': upper(a.currency_code)},
        {'field_name': 'credit_limit', 'value': printf('%.2f', a.credit_limit),
         'compare_key': printf('%.2f', a.credit_limit)},
        {'field_name': 'balance', 'value': printf('%.2f', a.balance),
         'compare_key': printf('%.2f', a.balance)},
        {'field_name': 'payment_terms', 'value': a.payment_terms,
         'compare_key': lower(trim(a.payment_terms))},
        {'field_name': 'annual_revenue', 'value': printf('%.2f', a.annual_revenue),
         'compare_key': printf('%.2f', a.annual_revenue)},
        {'field_name': 'employees', 'value': CAST(a.employees AS VARCHAR),
         'compare_key': CAST(a.employees AS VARCHAR)}
    ]) AS f(field)
),
rules AS (
    SELECT DISTINCT field_name, rule FROM concord.system_of_record
),
eligible AS (
    SELECT o.*, coalesce(r.rule, 'most_recent') AS rule, s.priority,
           count(*) OVER (PARTITION BY o.customer_id, o.field_name, o.compare_key)
               AS agreeing
    FROM offered AS o
    LEFT JOIN rules AS r ON r.field_name = o.field_name
    LEFT JOIN concord.system_of_record AS s
      ON s.field_name = o.field_name AND s.source_system = o.source_system
    WHERE o.value IS NOT NULL AND trim(o.value) <> ''
      AND (r.rule IS NULL OR s.priority IS NOT NULL)
)
SELECT customer_id, field_name, value, compare_key, source_system, source_account_id,
       updated_at, rule, priority,
       row_number() OVER (
           PARTITION BY customer_id, field_name
           ORDER BY CASE WHEN rule = 'priority' THEN priority END NULLS LAST,
                    CASE WHEN rule = 'most_frequent' THEN agreeing END DESC NULLS LAST,
                    CASE WHEN rule = 'most_recent' THEN updated_at END DESC NULLS LAST,
                    priority NULLS LAST, updated_at DESC NULLS LAST, source_system,
                    source_account_id
       ) AS survivor_rank
FROM eligible
