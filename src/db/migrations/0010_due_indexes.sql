-- The worker's claim indexes, in the order its claims read them (due time, then id), so a claim is a
-- plain index scan that stops after one batch (see claimRows in src/db/index.ts), and one for
-- pause_collection.resumes_at, which every billing pass looked up by reading the whole table.
-- At a million due subscriptions each of these claims took 0.2–0.7 s per batch before.
DROP INDEX subscriptions_due_period;
CREATE INDEX subscriptions_due_period ON subscriptions (current_period_end, id) WHERE status IN ('active', 'past_due', 'trialing', 'unpaid', 'paused');
CREATE INDEX subscriptions_due_resume ON subscriptions (id) WHERE pause_collection->>'resumes_at' IS NOT NULL;
DROP INDEX invoices_due_finalize;
CREATE INDEX invoices_due_finalize ON invoices (finalize_at, id) WHERE status = 'draft' AND auto_advance;
DROP INDEX invoices_due_payment;
CREATE INDEX invoices_due_payment ON invoices (next_payment_attempt, id) WHERE status = 'open' AND next_payment_attempt IS NOT NULL;
DROP INDEX invoices_due_overdue;
CREATE INDEX invoices_due_overdue ON invoices (due_date, id) WHERE status = 'open' AND due_date IS NOT NULL AND overdue_at IS NULL;
DROP INDEX dunning_campaigns_due;
CREATE INDEX dunning_campaigns_due ON dunning_campaigns (next_step_at, id) WHERE status = 'active';
