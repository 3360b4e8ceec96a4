-- The inbound-webhook inbox's claim index in the claim's own order (next_attempt_at, id), like the
-- billing claims of migration 0010: a plain index scan that passes handled rows once (see claimRows).
DROP INDEX webhook_inbox_due;
CREATE INDEX webhook_inbox_due ON webhook_inbox (next_attempt_at, id) WHERE status IN ('pending', 'failed');
