-- Payments: gateway routing and risk on payment intents, refunds, disputes, fraud blocks, and the
-- inbound webhook inbox (Stripe, PayPal) with a mirror of the gateways' objects. The rules that must
-- never break are constraints: a payment is never refunded past what was captured, an inbound event
-- is stored once per (source, event id), a gateway dispute is one row.

-- ---- payment intents: routing, risk, refunds ----
ALTER TABLE payment_intents
  -- Where the router sent the attempt and why: { rule, candidates, attempts: [{ gateway, result, code }] }.
  ADD COLUMN routing         jsonb,
  -- Fraud rules evaluated before the charge: a score 0–100, the rule that fired, allow | review | block.
  ADD COLUMN risk_score      integer CHECK (risk_score BETWEEN 0 AND 100),
  ADD COLUMN risk_rule       text,
  ADD COLUMN risk_outcome    text CHECK (risk_outcome IN ('allow', 'review', 'block')),
  ADD COLUMN client_ip       text,
  -- Pending and succeeded refunds together: the database refuses to refund more than was captured.
  ADD COLUMN amount_refunded bigint NOT NULL DEFAULT 0,
  ADD COLUMN disputed        boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT payment_intents_refund_within_captured CHECK (amount_refunded >= 0 AND amount_refunded <= amount_received);

-- Velocity rules count recent attempts per payment method, customer and IP.
CREATE INDEX payment_intents_pm_created ON payment_intents (payment_method, created) WHERE payment_method IS NOT NULL;
CREATE INDEX payment_intents_customer_created ON payment_intents (customer, created);
CREATE INDEX payment_intents_ip_created ON payment_intents (client_ip, created) WHERE client_ip IS NOT NULL;
-- Webhooks and disputes find an attempt by the gateway's reference (plain, or "gateway:ref" when routed).
CREATE INDEX payment_intents_gateway_ref ON payment_intents (gateway_ref) WHERE gateway_ref IS NOT NULL;

-- ---- fraud blocks: a payment method, card fingerprint, customer or IP refused until `until` ----
CREATE TABLE payment_blocks (
  id       text COLLATE "C" PRIMARY KEY,
  scope    text NOT NULL CHECK (scope IN ('payment_method', 'fingerprint', 'customer', 'ip')),
  value    text NOT NULL,
  rule     text NOT NULL,
  reason   text NOT NULL,
  until    timestamptz NOT NULL,
  created  timestamptz NOT NULL
);
CREATE INDEX payment_blocks_lookup ON payment_blocks (scope, value, until);

-- ---- refunds: through the gateway that took the money ----
CREATE TABLE refunds (
  id              text COLLATE "C" PRIMARY KEY,
  payment_intent  text COLLATE "C" NOT NULL REFERENCES payment_intents (id),
  customer        text COLLATE "C" REFERENCES customers (id),
  invoice         text COLLATE "C" REFERENCES invoices (id),
  amount          bigint NOT NULL CHECK (amount > 0),
  currency        text NOT NULL,
  status          text NOT NULL CHECK (status IN ('pending', 'requires_action', 'succeeded', 'failed', 'canceled')),
  reason          text CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer', 'expired_uncaptured_charge')),
  gateway         text NOT NULL,
  gateway_ref     text,
  failure_reason  text,
  -- The key sent to the gateway: a retried refund never refunds twice.
  idempotency_key text NOT NULL UNIQUE,
  -- Set by the credit-notes module when a credit note is issued for this refund.
  credit_note     text COLLATE "C",
  metadata        jsonb NOT NULL DEFAULT '{}',
  created         timestamptz NOT NULL,
  updated         timestamptz NOT NULL
);
CREATE INDEX refunds_payment_intent ON refunds (payment_intent, id);
CREATE INDEX refunds_gateway_ref ON refunds (gateway, gateway_ref) WHERE gateway_ref IS NOT NULL;

-- ---- disputes, from the gateways' webhooks ----
CREATE TABLE disputes (
  id                 text COLLATE "C" PRIMARY KEY,
  gateway            text NOT NULL,
  gateway_dispute_id text NOT NULL,
  payment_intent     text COLLATE "C" REFERENCES payment_intents (id),
  invoice            text COLLATE "C" REFERENCES invoices (id),
  customer           text COLLATE "C" REFERENCES customers (id),
  charge_ref         text,
  amount             bigint NOT NULL CHECK (amount >= 0),
  currency           text NOT NULL,
  reason             text NOT NULL,
  status             text NOT NULL CHECK (status IN ('warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'under_review', 'won', 'lost')),
  evidence_due_by    timestamptz,
  -- The gateway's time of the newest state applied: an older event never overwrites a newer one.
  gateway_updated    timestamptz NOT NULL,
  closed_at          timestamptz,
  metadata           jsonb NOT NULL DEFAULT '{}',
  created            timestamptz NOT NULL,
  updated            timestamptz NOT NULL,
  UNIQUE (gateway, gateway_dispute_id)
);
CREATE INDEX disputes_customer ON disputes (customer, id);
CREATE INDEX disputes_status ON disputes (status, id);

-- Flags for support, dunning and analytics: this invoice / customer has been disputed.
ALTER TABLE invoices ADD COLUMN disputed boolean NOT NULL DEFAULT false;
ALTER TABLE customers ADD COLUMN disputed boolean NOT NULL DEFAULT false;

-- ---- inbound webhooks: verified events, stored once, processed by the worker ----
CREATE TABLE webhook_inbox (
  id              text COLLATE "C" PRIMARY KEY,
  source          text NOT NULL CHECK (source IN ('stripe', 'paypal')),
  event_id        text NOT NULL,
  type            text NOT NULL,
  -- The event's own creation time at the gateway (Stripe `created`, PayPal `create_time`).
  event_created   timestamptz,
  -- json, not jsonb: stored as received (validated, not re-encoded), cheaper on the hot ingest path.
  payload         json NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processed', 'failed', 'dead')),
  -- What processing did: applied | stale | ignored (unknown type) | duplicate.
  result          text,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_error      text,
  received_at     timestamptz NOT NULL,
  processed_at    timestamptz,
  UNIQUE (source, event_id)
);
CREATE INDEX webhook_inbox_due ON webhook_inbox (next_attempt_at) WHERE status IN ('pending', 'failed');
-- What operators look for: failed and dead-lettered events (lists by other statuses walk the primary key).
CREATE INDEX webhook_inbox_problems ON webhook_inbox (status, id) WHERE status IN ('failed', 'dead');

-- The newest version seen of every gateway object an event carried (customers, subscriptions,
-- invoices, payment methods, …): handlers apply an event only if it is newer than what is here.
CREATE TABLE gateway_objects (
  gateway       text NOT NULL,
  object_id     text NOT NULL,
  object_type   text NOT NULL,
  data          jsonb NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  -- (version, event_id) of the event that wrote this state; version = the event's creation time in ms.
  version       bigint NOT NULL,
  rank          integer NOT NULL DEFAULT 0,
  event_id      text NOT NULL,
  updated       timestamptz NOT NULL,
  PRIMARY KEY (gateway, object_id)
);

-- Every gateway id a saved card is known by (Stripe customer and PaymentMethod, PayPal vault token),
-- so gateway webhooks about a card (expiry, updates) find Recur's payment method.
CREATE TABLE payment_method_refs (
  gateway        text NOT NULL,
  ref            text NOT NULL,
  payment_method text COLLATE "C" NOT NULL REFERENCES payment_methods (id),
  PRIMARY KEY (gateway, ref, payment_method)
);
