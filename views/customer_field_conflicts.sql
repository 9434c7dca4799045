-- customer_field_conflicts: where the systems disagree about a golden customer.
-- Grain: one row per (customer_id, field_name, offering record) for every field on which
--   the customer's records hold more than one distinct value (compared normalised: legal
--   forms, phone formats and letter case are not conflicts).
-- Columns: customer_id, field_name, source_system, source_account_id, source_value,
--   is_survivor, survivor_value, survivor_source (system:record id), survivorship_rule,
--   distinct_values.
WITH ranked AS (
    SELECT *,
           count(DISTINCT compare_key) OVER (PARTITION BY customer_id, field_name)
               AS distinct_values,
           first_value(value) OVER survivor AS survivor_value,
           first_value(source_system || ':' || source_account_id) OVER survivor
               AS survivor_source
    FROM customer_field_values
    WINDOW survivor AS (PARTITION BY customer_id, field_name ORDER BY survivor_rank)
)
SELECT customer_id, field_name, source_system, source_account_id, value AS source_value,
       survivor_rank = 1 AS is_survivor, survivor_value, survivor_source,
       rule AS survivorship_rule, distinct_values
FROM ranked
WHERE distinct_values > 1
