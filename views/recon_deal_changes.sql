-- recon_deal_changes: the recorded changes of CRM deals, for WON_DEAL_CHANGED_AFTER_ORDER.
-- Helper of reconciliation_exceptions.
-- Grain: one row per Salesforce OpportunityHistory row (a stage, amount, probability or
--   close-date change). HubSpot's property history is not served by the simulated API, so
--   HubSpot deals have no rows here (reconciliation_exceptions uses their closedate, the
--   moment they were marked closed won, instead).
-- Columns: deal_system, source_opportunity_id, changed_at (TIMESTAMPTZ), stage_name,
--   amount, edits_won_deal (TRUE when an earlier row of the same deal already had the won
--   stage: the deal was edited after it was won).
SELECT 'salesforce' AS deal_system,
       h.OpportunityId AS source_opportunity_id,
       h.CreatedDate AS changed_at,
       h.StageName AS stage_name,
       h.Amount AS amount,
       coalesce(h.won_before > 0, FALSE) AS edits_won_deal
FROM (
    SELECT hh.*,
           count(*) FILTER (WHERE hh.StageName = 'Closed Won') OVER (
               PARTITION BY hh.OpportunityId ORDER BY hh.CreatedDate, hh.Id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS won_before
    FROM salesforce.OpportunityHistory AS hh
) AS h
