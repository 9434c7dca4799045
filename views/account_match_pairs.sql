-- account_match_pairs: candidate links between two source account records.
-- Grain: one row per linked pair (left, right) the matcher or a steward considered.
-- Columns: source_system_l, source_account_id_l, source_system_r, source_account_id_r,
--   match_rule (keys that agreed, 'splink', or 'steward_must_link'/'steward_cannot_link'),
--   match_probability, match_weight, decision ('auto' merged, 'review' for a steward,
--   'rejected'), explanation (which keys/comparisons agreed), decided_at (steward only).
SELECT source_system_l, source_account_id_l, source_system_r, source_account_id_r,
       match_rule, match_probability, match_weight, decision, explanation, decided_at
FROM concord.account_match_pairs
