-- Stripe's subscription payment_settings: which payment method types may pay (Recur's are cards) and
-- save_default_payment_method (on_subscription: a successful payment makes its payment method the
-- subscription's default). NULL: Stripe's defaults (any type, off).
ALTER TABLE subscriptions ADD COLUMN payment_settings jsonb;
