-- A subscription schedule's default_settings (Stripe): the collection method, days until due and
-- default payment method its phases take when they set none of their own. Empty: the phases leave
-- the subscription's as they are.
ALTER TABLE subscription_schedules ADD COLUMN default_settings jsonb NOT NULL DEFAULT '{}';
