-- Stripe's subscription schedules: phases of items a subscription moves through at its period ends.
-- The subscription carries only the next step (pending_schedule, applied by its renewal); this table
-- is the schedule itself. At most one schedule manages a subscription at a time (partial unique index);
-- a schedule that starts later (not_started) is claimed by the worker in (start_date, id) order.
CREATE TABLE subscription_schedules (
  id                    text COLLATE "C" PRIMARY KEY,
  customer              text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription          text COLLATE "C" REFERENCES subscriptions (id),
  released_subscription text COLLATE "C" REFERENCES subscriptions (id),
  status                text NOT NULL CHECK (status IN ('not_started', 'active', 'completed', 'released', 'canceled')),
  end_behavior          text NOT NULL CHECK (end_behavior IN ('release', 'cancel')),
  currency              text NOT NULL,
  phases                jsonb NOT NULL,
  start_date            timestamptz NOT NULL,
  metadata              jsonb NOT NULL DEFAULT '{}',
  test_clock            text COLLATE "C",
  created               timestamptz NOT NULL,
  canceled_at           timestamptz,
  completed_at          timestamptz,
  released_at           timestamptz
);
CREATE UNIQUE INDEX subscription_schedules_one_live ON subscription_schedules (subscription) WHERE status IN ('not_started', 'active');
CREATE INDEX subscription_schedules_customer ON subscription_schedules (customer, id);
CREATE INDEX subscription_schedules_due_start ON subscription_schedules (start_date, id) WHERE status = 'not_started';
