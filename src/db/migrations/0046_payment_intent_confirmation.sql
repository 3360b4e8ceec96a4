-- Payment intents created without confirm (Stripe's default): confirmed later, possibly more than once
-- after a failure, or canceled. `confirmations` numbers the charge attempts so each one's gateway
-- idempotency key (`{id}:confirm:{n}`) is new, yet the same for a retry of the same attempt after a crash.
ALTER TABLE payment_intents
  ADD COLUMN canceled_at timestamptz,
  ADD COLUMN cancellation_reason text CHECK (cancellation_reason IN ('duplicate', 'fraudulent', 'requested_by_customer', 'abandoned')),
  ADD COLUMN confirmations integer NOT NULL DEFAULT 0;
