-- Subscriptions and invoicing: test clocks, payment methods, coupons, subscriptions, invoices,
-- payment intents, customer balance. Every "due" column is indexed for the worker's claims, and
-- the invariants that must never break (one invoice per subscription period, one successful
-- charge per invoice, gapless numbers) are database constraints, not only code.

CREATE TABLE test_clocks (
  id          text COLLATE "C" PRIMARY KEY,
  name        text,
  frozen_time timestamptz NOT NULL,
  status      text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'advancing', 'internal_failure')),
  created     timestamptz NOT NULL,
  deleted_at  timestamptz
);

-- Card details are tokenised by the gateway: only brand, last4, expiry, country, fingerprint here.
CREATE TABLE payment_methods (
  id              text COLLATE "C" PRIMARY KEY,
  customer        text COLLATE "C" REFERENCES customers (id),
  type            text NOT NULL DEFAULT 'card',
  card            jsonb NOT NULL,
  billing_details jsonb NOT NULL DEFAULT '{}',
  gateway         text NOT NULL,
  gateway_token   text NOT NULL,
  metadata        jsonb NOT NULL DEFAULT '{}',
  created         timestamptz NOT NULL,
  detached_at     timestamptz
);
CREATE INDEX payment_methods_customer ON payment_methods (customer, id);

CREATE TABLE coupons (
  id                 text COLLATE "C" PRIMARY KEY,
  name               text,
  -- percent_off in hundredths of a percent (25.5 % → 2550) so it stays exact.
  percent_off_bp     integer CHECK (percent_off_bp > 0 AND percent_off_bp <= 10000),
  amount_off         bigint CHECK (amount_off > 0),
  currency           text,
  duration           text NOT NULL CHECK (duration IN ('once', 'repeating', 'forever')),
  duration_in_months integer CHECK (duration_in_months > 0),
  max_redemptions    integer CHECK (max_redemptions > 0),
  times_redeemed     integer NOT NULL DEFAULT 0,
  redeem_by          timestamptz,
  applies_to_products jsonb,
  metadata           jsonb NOT NULL DEFAULT '{}',
  created            timestamptz NOT NULL,
  deleted_at         timestamptz,
  CHECK ((percent_off_bp IS NULL) <> (amount_off IS NULL)),
  CHECK ((amount_off IS NULL) = (currency IS NULL)),
  CHECK ((duration = 'repeating') = (duration_in_months IS NOT NULL)),
  CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions)
);

CREATE TABLE promotion_codes (
  id                     text COLLATE "C" PRIMARY KEY,
  code                   text NOT NULL,
  coupon                 text COLLATE "C" NOT NULL REFERENCES coupons (id),
  active                 boolean NOT NULL DEFAULT true,
  customer               text COLLATE "C" REFERENCES customers (id),
  expires_at             timestamptz,
  max_redemptions        integer CHECK (max_redemptions > 0),
  times_redeemed         integer NOT NULL DEFAULT 0,
  first_time_transaction boolean NOT NULL DEFAULT false,
  minimum_amount         bigint,
  minimum_amount_currency text,
  metadata               jsonb NOT NULL DEFAULT '{}',
  created                timestamptz NOT NULL,
  CHECK (max_redemptions IS NULL OR times_redeemed <= max_redemptions)
);
-- Customer-facing codes are case-insensitive and unique among active codes (Stripe's rule).
CREATE UNIQUE INDEX promotion_codes_code_active ON promotion_codes (upper(code)) WHERE active;

CREATE TABLE subscriptions (
  id                     text COLLATE "C" PRIMARY KEY,
  customer               text COLLATE "C" NOT NULL REFERENCES customers (id),
  status                 text NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'canceled', 'paused')),
  currency               text NOT NULL,
  interval               text NOT NULL CHECK (interval IN ('day', 'week', 'month', 'year')),
  interval_count         integer NOT NULL CHECK (interval_count > 0),
  collection_method      text NOT NULL DEFAULT 'charge_automatically' CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
  days_until_due         integer,
  default_payment_method text COLLATE "C",
  billing_cycle_anchor   timestamptz NOT NULL,
  current_period_start   timestamptz NOT NULL,
  current_period_end     timestamptz NOT NULL,
  trial_start            timestamptz,
  trial_end              timestamptz,
  trial_missing_pm_behavior text NOT NULL DEFAULT 'create_invoice' CHECK (trial_missing_pm_behavior IN ('cancel', 'create_invoice', 'pause')),
  trial_will_end_sent    boolean NOT NULL DEFAULT false,
  cancel_at_period_end   boolean NOT NULL DEFAULT false,
  cancel_at              timestamptz,
  canceled_at            timestamptz,
  ended_at               timestamptz,
  cancellation_details   jsonb NOT NULL DEFAULT '{}',
  pause_collection       jsonb,
  latest_invoice         text COLLATE "C",
  -- A period-end change (downgrade) waiting to apply: { id, items, effective_at }.
  pending_schedule       jsonb,
  -- A first invoice left unpaid makes the subscription incomplete; it expires 23 h after creation.
  incomplete_expires_at  timestamptz,
  test_clock             text COLLATE "C",
  metadata               jsonb NOT NULL DEFAULT '{}',
  created                timestamptz NOT NULL,
  updated                timestamptz NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer, id);
CREATE INDEX subscriptions_status ON subscriptions (status, id);
-- The worker's due-work indexes (renewals, trial ends, expiry), per clock.
CREATE INDEX subscriptions_due_period ON subscriptions (current_period_end) WHERE status IN ('active', 'past_due', 'trialing', 'unpaid', 'paused');
CREATE INDEX subscriptions_due_incomplete ON subscriptions (incomplete_expires_at) WHERE status = 'incomplete';
CREATE INDEX subscriptions_clock ON subscriptions (test_clock) WHERE test_clock IS NOT NULL;

CREATE TABLE subscription_items (
  id           text COLLATE "C" PRIMARY KEY,
  subscription text COLLATE "C" NOT NULL REFERENCES subscriptions (id),
  price        text COLLATE "C" NOT NULL REFERENCES prices (id),
  quantity     integer NOT NULL CHECK (quantity >= 0),
  metadata     jsonb NOT NULL DEFAULT '{}',
  created      timestamptz NOT NULL
);
CREATE INDEX subscription_items_subscription ON subscription_items (subscription);

-- Discounts attach a coupon to a subscription (or a customer) from `start_at` until `end_at`.
CREATE TABLE discounts (
  id             text COLLATE "C" PRIMARY KEY,
  coupon         text COLLATE "C" NOT NULL REFERENCES coupons (id),
  customer       text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription   text COLLATE "C" REFERENCES subscriptions (id),
  invoice        text COLLATE "C",
  promotion_code text COLLATE "C" REFERENCES promotion_codes (id),
  start_at       timestamptz NOT NULL,
  end_at         timestamptz,
  created        timestamptz NOT NULL,
  deleted_at     timestamptz
);
CREATE INDEX discounts_subscription ON discounts (subscription) WHERE subscription IS NOT NULL;
CREATE INDEX discounts_customer ON discounts (customer);

-- Gapless numbering: the counter row is locked by the finalising transaction, so a rolled-back
-- finalisation gives its number back and concurrent finalisations queue.
CREATE TABLE invoice_number_series (
  series      text PRIMARY KEY,
  next_number bigint NOT NULL DEFAULT 1
);

CREATE TABLE invoices (
  id                     text COLLATE "C" PRIMARY KEY,
  customer               text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription           text COLLATE "C" REFERENCES subscriptions (id),
  status                 text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
  number                 text,
  series                 text,
  currency               text NOT NULL,
  collection_method      text NOT NULL DEFAULT 'charge_automatically' CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
  billing_reason         text NOT NULL CHECK (billing_reason IN ('subscription_create', 'subscription_cycle', 'subscription_update', 'subscription_threshold', 'manual', 'upcoming')),
  description            text,
  period_start           timestamptz NOT NULL,
  period_end             timestamptz NOT NULL,
  subtotal               bigint NOT NULL DEFAULT 0,
  total_discount         bigint NOT NULL DEFAULT 0,
  total_tax              bigint NOT NULL DEFAULT 0,
  total                  bigint NOT NULL DEFAULT 0,
  starting_balance       bigint NOT NULL DEFAULT 0,
  ending_balance         bigint,
  amount_due             bigint NOT NULL DEFAULT 0,
  amount_paid            bigint NOT NULL DEFAULT 0,
  amount_remaining       bigint NOT NULL DEFAULT 0,
  attempt_count          integer NOT NULL DEFAULT 0,
  next_payment_attempt   timestamptz,
  auto_advance           boolean NOT NULL DEFAULT true,
  -- When a draft is finalised automatically (renewals wait an hour, as Stripe's do).
  finalize_at            timestamptz,
  due_date               timestamptz,
  default_payment_method text COLLATE "C",
  discounts              jsonb NOT NULL DEFAULT '[]',
  paid_out_of_band       boolean NOT NULL DEFAULT false,
  status_transitions     jsonb NOT NULL DEFAULT '{}',
  test_clock             text COLLATE "C",
  metadata               jsonb NOT NULL DEFAULT '{}',
  created                timestamptz NOT NULL,
  updated                timestamptz NOT NULL,
  CHECK (status = 'draft' OR number IS NOT NULL),
  CHECK (amount_paid >= 0 AND amount_remaining >= 0)
);
CREATE INDEX invoices_customer ON invoices (customer, id);
CREATE INDEX invoices_subscription ON invoices (subscription, id) WHERE subscription IS NOT NULL;
CREATE INDEX invoices_status ON invoices (status, id);
CREATE UNIQUE INDEX invoices_number ON invoices (series, number) WHERE number IS NOT NULL;
-- A subscription period is invoiced at most once, whatever the number of workers.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (subscription, period_start)
  WHERE billing_reason IN ('subscription_create', 'subscription_cycle');
CREATE INDEX invoices_due_finalize ON invoices (finalize_at) WHERE status = 'draft' AND auto_advance;
CREATE INDEX invoices_due_payment ON invoices (next_payment_attempt) WHERE status = 'open' AND next_payment_attempt IS NOT NULL;

CREATE TABLE invoice_items (
  id                text COLLATE "C" PRIMARY KEY,
  customer          text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription      text COLLATE "C" REFERENCES subscriptions (id),
  subscription_item text COLLATE "C",
  invoice           text COLLATE "C" REFERENCES invoices (id),
  price             text COLLATE "C" REFERENCES prices (id),
  description       text,
  quantity          integer NOT NULL DEFAULT 1,
  unit_amount       bigint NOT NULL,
  amount            bigint NOT NULL,
  currency          text NOT NULL,
  period_start      timestamptz NOT NULL,
  period_end        timestamptz NOT NULL,
  proration         boolean NOT NULL DEFAULT false,
  discountable      boolean NOT NULL DEFAULT true,
  metadata          jsonb NOT NULL DEFAULT '{}',
  test_clock        text COLLATE "C",
  created           timestamptz NOT NULL,
  deleted_at        timestamptz
);
CREATE INDEX invoice_items_pending ON invoice_items (customer, subscription) WHERE invoice IS NULL AND deleted_at IS NULL;

CREATE TABLE invoice_lines (
  id                text COLLATE "C" PRIMARY KEY,
  invoice           text COLLATE "C" NOT NULL REFERENCES invoices (id),
  type              text NOT NULL CHECK (type IN ('subscription', 'invoiceitem')),
  subscription      text COLLATE "C",
  subscription_item text COLLATE "C",
  invoice_item      text COLLATE "C",
  price             text COLLATE "C",
  description       text,
  quantity          integer NOT NULL DEFAULT 1,
  unit_amount       bigint,
  amount            bigint NOT NULL,
  currency          text NOT NULL,
  period_start      timestamptz NOT NULL,
  period_end        timestamptz NOT NULL,
  proration         boolean NOT NULL DEFAULT false,
  discountable      boolean NOT NULL DEFAULT true,
  discount_amounts  jsonb NOT NULL DEFAULT '[]',
  position          integer NOT NULL DEFAULT 0
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice, position);

CREATE TABLE payment_intents (
  id                 text COLLATE "C" PRIMARY KEY,
  customer           text COLLATE "C" REFERENCES customers (id),
  invoice            text COLLATE "C" REFERENCES invoices (id),
  amount             bigint NOT NULL CHECK (amount > 0),
  amount_received    bigint NOT NULL DEFAULT 0,
  currency           text NOT NULL,
  status             text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'succeeded', 'canceled')),
  payment_method     text COLLATE "C",
  gateway            text,
  gateway_ref        text,
  -- The key sent to the gateway: a retry of the same attempt can never charge twice.
  idempotency_key    text NOT NULL UNIQUE,
  last_payment_error jsonb,
  -- The gateway's normalised failure class (soft_decline, hard_decline, fraud, gateway_fault): dunning acts on it.
  failure_class      text CHECK (failure_class IN ('soft_decline', 'hard_decline', 'fraud', 'gateway_fault')),
  description        text,
  metadata           jsonb NOT NULL DEFAULT '{}',
  test_clock         text COLLATE "C",
  created            timestamptz NOT NULL,
  updated            timestamptz NOT NULL
);
CREATE INDEX payment_intents_customer ON payment_intents (customer, id);
CREATE INDEX payment_intents_invoice ON payment_intents (invoice, id);
-- An invoice is paid by at most one successful charge.
CREATE UNIQUE INDEX payment_intents_one_success ON payment_intents (invoice) WHERE status = 'succeeded' AND invoice IS NOT NULL;

CREATE TABLE customer_balance_transactions (
  id             text COLLATE "C" PRIMARY KEY,
  customer       text COLLATE "C" NOT NULL REFERENCES customers (id),
  amount         bigint NOT NULL,
  currency       text NOT NULL,
  type           text NOT NULL,
  description    text,
  invoice        text COLLATE "C",
  ending_balance bigint NOT NULL,
  created        timestamptz NOT NULL
);
CREATE INDEX customer_balance_transactions_customer ON customer_balance_transactions (customer, id);
