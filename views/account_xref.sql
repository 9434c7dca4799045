-- account_xref: the golden customer of every source account record.
-- Grain: one row per (source_system, source_account_id) in source_accounts, every record
-- included (a record matched to nothing is a customer of its own).
-- Columns: customer_id (stable golden id), source_system, source_account_id,
--   match_rule (the keys or model that attached the record; 'singleton' when alone),
--   match_confidence (0-1: 1 for deterministic keys and steward links), linked_at.
-- Computed by the identity resolution (deterministic keys, then the Splink model, then
-- steward overrides) behind the built-in concord source; see README "Identity".
SELECT customer_id, source_system, source_account_id, match_rule, match_confidence,
       linked_at
FROM concord.account_xref
