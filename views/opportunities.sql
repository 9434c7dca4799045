-- opportunities: every CRM opportunity in one shape (Salesforce, HubSpot, Dynamics 365).
-- Purpose: the sales side of pipeline and bookings, in document and corporate currency.
-- Grain: one row per opportunity record in any CRM (deleted/archived records are not
--   visible through the CRMs' APIs and so not here).
-- Columns: opportunity_id (source_system:record id), source_system, source_opportunity_id,
--   is_system_of_record, customer_id (golden, from account_xref), source_account_id,
--   opportunity_name, owner_name, opportunity_type (new, expansion, renewal), stage_name,
--   stage_order, forecast_category (pipeline, best_case, commit, closed, omitted),
--   is_closed, is_won, probability (0-1), amount (document currency), currency_code,
--   fx_rate, amount_corporate, weighted_amount_corporate, created_date, close_date,
--   fiscal_year, fiscal_quarter (of close_date), days_open, days_to_close, erp_order_ref,
--   erp_order_count, region (AMER, EMEA, APAC), segment.
-- Definitions:
-- - is_system_of_record: the CRM that sold the deal owns it: Salesforce (main sales org)
--   and HubSpot (the acquired subsidiary). Dynamics 365 holds customer service's copies of
--   upsells it spotted (often stale), so its rows are FALSE: filter on is_system_of_record
--   for any total, or deals are counted twice. pipeline* views do.
-- - probability: Salesforce Probability / 100, HubSpot hs_deal_stage_probability,
--   Dynamics closeprobability / 100. forecast_category: Salesforce ForecastCategoryName
--   (Most Likely counts as best_case); HubSpot and Dynamics have none, so it follows the
--   stage: won -> closed, lost -> omitted, probability >= 0.9 -> commit, >= 0.75 ->
--   best_case, else pipeline (Salesforce's default stage mapping).
-- - amount_corporate = round(amount x fx rate on close_date, 2); weighted_amount_corporate
--   = amount_corporate x probability (not rounded). Deals without an amount have NULLs.
-- - is_closed / is_won are never NULL (the outer coalesce also keeps a filter on them
--   correct when it is pushed into the per-CRM union).
-- - created_date / close_date are UTC dates; Dynamics close_date = actualclosedate when
--   closed, else estimatedclosedate. days_to_close = close_date - created_date for closed
--   deals; days_open = (close_date if closed, else concord.settings.as_of_date) -
--   created_date.
-- - erp_order_ref: the first non-cancelled ERP order (sales_orders.order_id, by order date)
--   whose opportunity_ref is this deal's record id; erp_order_count counts them.
-- - opportunity_type: Salesforce Type New/Renewal/Upsell -> new/renewal/expansion;
--   HubSpot dealtype newbusiness -> new, existingbusiness -> expansion.
-- - region: Salesforce Region__c; HubSpot's legacy_region mapped to AMER/EMEA/APAC.
--   segment: Salesforce Account.Segment__c (HubSpot and Dynamics have none).
WITH hs_company AS (
    SELECT deal_id, min(company_id) AS company_id
    FROM hubspot.deal_companies
    GROUP BY deal_id
), crm AS (
    SELECT 'salesforce' AS source_system,
           o.Id AS source_opportunity_id,
           TRUE AS is_system_of_record,
           o.AccountId AS source_account_id,
           o.Name AS opportunity_name,
           u.Name AS owner_name,
           CASE o.Type WHEN 'New' THEN 'new' WHEN 'New Business' THEN 'new'
                       WHEN 'Renewal' THEN 'renewal' WHEN 'Upsell' THEN 'expansion'
                       WHEN 'Existing Business' THEN 'expansion' END AS opportunity_type,
           o.StageName AS stage_name,
           CASE o.StageName WHEN 'Prospecting' THEN 1 WHEN 'Qualification' THEN 2
                            WHEN 'Needs Analysis' THEN 3 WHEN 'Value Proposition' THEN 4
                            WHEN 'Id. Decision Makers' THEN 5 WHEN 'Perception Analysis' THEN 6
                            WHEN 'Proposal/Price Quote' THEN 7 WHEN 'Negotiation/Review' THEN 8
                            WHEN 'Closed Won' THEN 9 WHEN 'Closed Lost' THEN 10
           END AS stage_order,
           CASE o.ForecastCategoryName WHEN 'Pipeline' THEN 'pipeline'
                                       WHEN 'Best Case' THEN 'best_case'
                                       WHEN 'Most Likely' THEN 'best_case'
                                       WHEN 'Commit' THEN 'commit'
                                       WHEN 'Closed' THEN 'closed'
                                       WHEN 'Omitted' THEN 'omitted' END AS forecast_category,
           o.IsClosed AS is_closed,
           o.IsWon AS is_won,
           o.Probability / 100.0 AS probability,
           o.Amount AS amount,
           o.CurrencyIsoCode AS currency_code,
           CAST(timezone('UTC', o.CreatedDate) AS DATE) AS created_date,
           o.CloseDate AS close_date,
           o.Region__c AS region,
           a.Segment__c AS segment
    FROM salesforce.Opportunity AS o
    LEFT JOIN salesforce.User AS u ON u.Id = o.OwnerId
    LEFT JOIN salesforce.Account AS a ON a.Id = o.AccountId
    UNION ALL
    SELECT 'hubspot',
           d.id,
           TRUE,
           hc.company_id,
           d.dealname,
           trim(coalesce(ow.first_name, '') || ' ' || coalesce(ow.last_name, '')),
           CASE d.dealtype WHEN 'newbusiness' THEN 'new'
                           WHEN 'existingbusiness' THEN 'expansion' END,
           coalesce(st.label, d.dealstage),
           st.display_order + 1,
           CASE WHEN d.hs_is_closed_won THEN 'closed'
                WHEN d.hs_is_closed THEN 'omitted'
                WHEN d.hs_deal_stage_probability >= 0.9 THEN 'commit'
                WHEN d.hs_deal_stage_probability >= 0.75 THEN 'best_case'
                ELSE 'pipeline' END,
           d.hs_is_closed,
           d.hs_is_closed_won,
           d.hs_deal_stage_probability,
           d.amount,
           d.deal_currency_code,
           CAST(timezone('UTC', d.createdate) AS DATE),
           CAST(timezone('UTC', d.closedate) AS DATE),
           CASE WHEN d.legacy_region IN ('uk_ireland', 'dach', 'nordics', 'benelux', 'france',
                                         'iberia') THEN 'EMEA'
                WHEN d.legacy_region = 'americas' THEN 'AMER'
                WHEN d.legacy_region = 'apac' THEN 'APAC' END,
           CAST(NULL AS VARCHAR)
    FROM hubspot.deals AS d
    LEFT JOIN hubspot.deal_stages AS st ON st.pipeline_id = d.pipeline AND st.id = d.dealstage
    LEFT JOIN hubspot.owners AS ow ON ow.id = d.hubspot_owner_id
    LEFT JOIN hs_company AS hc ON hc.deal_id = d.id
    UNION ALL
    SELECT 'dynamics',
           op.opportunityid,
           FALSE,
           op.customerid,
           op.name,
           su.fullname,
           CAST(NULL AS VARCHAR),
           op.stepname,
           TRY_CAST(split_part(op.stepname, '-', 1) AS INTEGER),
           CASE WHEN op.statecode = 1 THEN 'closed'
                WHEN op.statecode = 2 THEN 'omitted'
                WHEN op.closeprobability >= 90 THEN 'commit'
                WHEN op.closeprobability >= 75 THEN 'best_case'
                ELSE 'pipeline' END,
           op.statecode <> 0,
           op.statecode = 1,
           op.closeprobability / 100.0,
           CASE WHEN op.statecode = 1 THEN coalesce(op.actualvalue, op.estimatedvalue)
                ELSE op.estimatedvalue END,
           op.isocurrencycode,
           CAST(timezone('UTC', op.createdon) AS DATE),
           CASE WHEN op.statecode <> 0 THEN coalesce(op.actualclosedate,
                                                     op.estimatedclosedate)
                ELSE op.estimatedclosedate END,
           CAST(NULL AS VARCHAR),
           CAST(NULL AS VARCHAR)
    FROM dynamics.opportunities AS op
    LEFT JOIN dynamics.systemusers AS su ON su.systemuserid = op.ownerid
), orders_of AS (
    SELECT opportunity_ref,
           arg_min(order_id, order_date) AS erp_order_ref,
           count(*) AS erp_order_count
    FROM sales_orders
    WHERE NOT is_cancelled AND opportunity_ref IS NOT NULL
    GROUP BY opportunity_ref
)
SELECT c.source_system || ':' || c.source_opportunity_id AS opportunity_id,
       c.source_system,
       c.source_opportunity_id,
       coalesce(c.is_system_of_record, FALSE) AS is_system_of_record,
       x.customer_id,
       c.source_account_id,
       c.opportunity_name,
       c.owner_name,
       c.opportunity_type,
       c.stage_name,
       c.stage_order,
       c.forecast_category,
       coalesce(c.is_closed, FALSE) AS is_closed,
       coalesce(c.is_won, FALSE) AS is_won,
       c.probability,
       c.amount,
       c.currency_code,
       fx.rate_to_corporate AS fx_rate,
       round(c.amount * fx.rate_to_corporate, 2) AS amount_corporate,
       round(c.amount * fx.rate_to_corporate, 2) * c.probability AS weighted_amount_corporate,
       c.created_date,
       c.close_date,
       cal.fiscal_year,
       cal.fiscal_quarter,
       CAST(date_diff('day', c.created_date,
                      CASE WHEN c.is_closed THEN c.close_date ELSE s.as_of_date END)
            AS BIGINT) AS days_open,
       CASE WHEN c.is_closed
            THEN CAST(date_diff('day', c.created_date, c.close_date) AS BIGINT)
       END AS days_to_close,
       ord.erp_order_ref,
       coalesce(ord.erp_order_count, 0) AS erp_order_count,
       c.region,
       c.segment
FROM crm AS c
CROSS JOIN concord.settings AS s
LEFT JOIN fx_rates AS fx
  ON fx.currency_code = c.currency_code AND c.close_date >= fx.effective_from
 AND (fx.effective_to IS NULL OR c.close_date < fx.effective_to)
LEFT JOIN fiscal_calendar AS cal ON cal.date_day = c.close_date
LEFT JOIN orders_of AS ord
  ON c.is_system_of_record AND ord.opportunity_ref = c.source_opportunity_id
LEFT JOIN account_xref AS x
  ON x.source_system = c.source_system AND x.source_account_id = c.source_account_id
