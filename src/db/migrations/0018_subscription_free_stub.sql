-- A subscription created with a trial, a later billing_cycle_anchor and proration_behavior=none: the
-- stretch from the trial end to the anchor is free (Stripe: "the initial period up to the billing
-- cycle anchor will be free"), so the trial end bills nothing. Cleared once that stretch has started.
ALTER TABLE subscriptions ADD COLUMN free_stub boolean NOT NULL DEFAULT false;
