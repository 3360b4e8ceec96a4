-- cancel_at (Stripe): the subscription ends at that time. Inside the current period the time after it
-- is credited when it ends; in a later period, that period's renewal bills only up to cancel_at.
-- cancel_at_prorate is false when proration_behavior none was asked, or once that renewal has billed
-- the shortened period (nothing left to credit). The worker claims due cancellations by this index.
ALTER TABLE subscriptions ADD COLUMN cancel_at_prorate boolean NOT NULL DEFAULT true;
CREATE INDEX subscriptions_due_cancel ON subscriptions (cancel_at, id)
  WHERE cancel_at IS NOT NULL AND status NOT IN ('canceled', 'incomplete_expired');
