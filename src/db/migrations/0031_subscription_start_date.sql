-- A subscription's start_date, when it is not its creation: backdate_start_date (Stripe's, for
-- subscriptions migrated from another system or billed for time already given). NULL: the creation
-- time. Analytics' cohorts start a subscription here.
ALTER TABLE subscriptions ADD COLUMN start_date timestamptz;
