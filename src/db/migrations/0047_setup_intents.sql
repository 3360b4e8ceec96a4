-- Stripe's SetupIntent: a payment method saved for later payments without charging it (a card
-- collected before a trial, or changed between renewals). Confirming one attaches its payment method
-- to its customer (setup-intents/service.ts).
CREATE TABLE setup_intents (
  id                  text COLLATE "C" PRIMARY KEY,
  customer            text COLLATE "C" REFERENCES customers (id),
  payment_method      text COLLATE "C" REFERENCES payment_methods (id),
  status              text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'canceled', 'succeeded')),
  usage               text NOT NULL CHECK (usage IN ('off_session', 'on_session')),
  description         text,
  metadata            jsonb NOT NULL DEFAULT '{}',
  cancellation_reason text CHECK (cancellation_reason IN ('abandoned', 'requested_by_customer', 'duplicate')),
  created             timestamptz NOT NULL,
  updated             timestamptz NOT NULL
);
CREATE INDEX setup_intents_customer ON setup_intents (customer, id);
CREATE INDEX setup_intents_payment_method ON setup_intents (payment_method, id);
