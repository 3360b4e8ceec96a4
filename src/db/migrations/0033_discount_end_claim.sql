-- The worker's billing.discount_end claims ended discounts that no renewal will announce, in
-- (end_at, id) order (subscriptions/jobs.ts): the index of migration 0021 gains the id, so the claim
-- is an index scan in its own order, as every claim is (migration 0010).
DROP INDEX discounts_end_unannounced;
CREATE INDEX discounts_due_end ON discounts (end_at, id)
  WHERE deleted_event_at IS NULL AND deleted_at IS NULL AND end_at IS NOT NULL;
