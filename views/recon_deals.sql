-- recon_deals: the deals of the CRMs that sell (Salesforce main org, HubSpot subsidiary),
-- as reconciliation compares them with ERP orders. Helper of reconciliation_exceptions.
-- Grain: one row per opportunity record visible through the CRM's API, any stage
--   (Dynamics 365 holds service copies, not the deals that book, so it is not here).
-- Columns: opportunity_id (source_system:record id, as in `opportunities`), source_system,
--   source_opportunity_id (what an ERP stores as its CRM reference), source_account_id,
--   customer_id (golden, from account_xref), is_won, amount (document currency; NULL when the
--   deal has none), currency_code, close_date (UTC date), closed_at (HubSpot: the moment
--   the deal was marked closed won, its last stage/amount change; NULL for Salesforce,
--   whose changes are in OpportunityHistory).
WITH hs_company AS (
    SELECT deal_id, min(company_id) AS company_id
    FROM hubspot.deal_companies
    GROUP BY deal_id
), deals AS (
    SELECT 'salesforce' AS source_system, o.Id AS source_opportunity_id,
           o.AccountId AS source_account_id, coalesce(o.IsWon, FALSE) AS is_won,
           o.Amount AS amount,
           o.CurrencyIsoCode AS currency_code, o.CloseDate AS close_date,
           CAST(NULL AS TIMESTAMPTZ) AS closed_at
    FROM salesforce.Opportunity AS o
    UNION ALL
    SELECT 'hubspot', d.id, hc.company_id, coalesce(d.hs_is_closed_won, FALSE), d.amount,
           d.deal_currency_code,
           CAST(timezone('UTC', d.closedate) AS DATE), d.closedate
    FROM hubspot.deals AS d
    LEFT JOIN hs_company AS hc ON hc.deal_id = d.id
)
SELECT d.source_system || ':' || d.source_opportunity_id AS opportunity_id,
       d.source_system,
       d.source_opportunity_id,
       d.source_account_id,
       x.customer_id,
       d.is_won,
       d.amount,
       d.currency_code,
       d.close_date,
       d.closed_at
FROM deals AS d
LEFT JOIN account_xref AS x
  ON x.source_system = d.source_system AND x.source_account_id = d.source_account_id
