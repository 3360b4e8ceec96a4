-- Subscription.billing_cycle_anchor_config (Stripe): the day_of_month (and hour, minute, second,
-- month) the anchor was set from on create; null when the anchor was given or defaulted.
ALTER TABLE subscriptions ADD COLUMN billing_cycle_anchor_config jsonb;
