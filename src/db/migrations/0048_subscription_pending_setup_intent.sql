-- Stripe's subscription.pending_setup_intent: a setup intent made with a subscription that asks for no
-- payment now (a trial, created with payment_behavior=default_incomplete), to collect the card its
-- later invoices will charge. Cleared when the setup intent succeeds (subscriptions/setup-intent.ts).
ALTER TABLE subscriptions ADD COLUMN pending_setup_intent text COLLATE "C";
CREATE INDEX subscriptions_pending_setup_intent ON subscriptions (pending_setup_intent) WHERE pending_setup_intent IS NOT NULL;
