-- Stripe's pending updates (payment_behavior=pending_if_incomplete): an item change whose invoice was
-- not paid waits here, unapplied, until the invoice is paid (then it applies) or the expiry passes (then
-- the invoice is voided and the change discarded). The expiry is a column of its own so the worker's
-- claim is an index scan in (expiry, id) order, as the other claims (migration 0010).
ALTER TABLE subscriptions ADD COLUMN pending_update jsonb, ADD COLUMN pending_update_expires_at timestamptz;
CREATE INDEX subscriptions_due_pending_update ON subscriptions (pending_update_expires_at, id) WHERE pending_update_expires_at IS NOT NULL;
