-- Dunning and customer notifications: plans (data), campaigns (one per failed invoice), their step
-- runs, offers and phone tasks; notification templates, preferences and every message sent. Events
-- that dunning and notifications react to reach them through an inbox that a trigger fills in the
-- same transaction as the event, so nothing is missed or processed out of its transaction.

CREATE TABLE dunning_plans (
  id           text COLLATE "C" PRIMARY KEY,
  key          text NOT NULL UNIQUE,
  name         text NOT NULL,
  description  text,
  -- [{ after_hours, retry, email, sms, phone_task, offer, escalate }], offsets from the first failure.
  steps        jsonb NOT NULL,
  -- { subscription: cancel | mark_unpaid | leave_past_due, invoice: mark_uncollectible | leave_open, grace_hours }
  final_action jsonb NOT NULL,
  -- { start: 'HH:MM', end: 'HH:MM' } in the customer's timezone, or null.
  quiet_hours  jsonb,
  active       boolean NOT NULL DEFAULT true,
  metadata     jsonb NOT NULL DEFAULT '{}',
  created      timestamptz NOT NULL,
  updated      timestamptz NOT NULL
);

-- Small settings that are configuration-as-data: the segmentation rules, the pay-link secret.
CREATE TABLE dunning_settings (
  key     text PRIMARY KEY,
  value   jsonb NOT NULL,
  updated timestamptz NOT NULL
);

CREATE TABLE dunning_campaigns (
  id                      text COLLATE "C" PRIMARY KEY,
  -- One campaign per invoice, whatever the number of workers or failure events.
  invoice                 text COLLATE "C" NOT NULL UNIQUE REFERENCES invoices (id),
  customer                text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription            text COLLATE "C" REFERENCES subscriptions (id),
  plan                    text COLLATE "C" REFERENCES dunning_plans (id),
  segment                 text NOT NULL,
  -- The rule that chose the segment and the values it measured.
  segment_rule            jsonb NOT NULL DEFAULT '{}',
  status                  text NOT NULL CHECK (status IN ('active', 'recovered', 'exhausted', 'resolved', 'canceled', 'skipped')),
  amount                  bigint NOT NULL,
  currency                text NOT NULL,
  first_failed_at         timestamptz NOT NULL,
  next_step               integer NOT NULL DEFAULT 0,
  next_step_at            timestamptz,
  last_payment_method     text COLLATE "C",
  -- Payment methods that were hard-declined (or flagged as fraud): never retried again.
  blocked_payment_methods jsonb NOT NULL DEFAULT '[]',
  needs_payment_method    boolean NOT NULL DEFAULT false,
  promise_until           timestamptz,
  no_answer_count         integer NOT NULL DEFAULT 0,
  escalated_at            timestamptz,
  recovered_at            timestamptz,
  recovered_amount        bigint,
  recovered_step          integer,
  recovered_channel       text,
  closed_at               timestamptz,
  close_reason            text,
  test_clock              text COLLATE "C",
  created                 timestamptz NOT NULL,
  updated                 timestamptz NOT NULL
);
CREATE INDEX dunning_campaigns_due ON dunning_campaigns (next_step_at) WHERE status = 'active';
CREATE INDEX dunning_campaigns_customer_active ON dunning_campaigns (customer) WHERE status = 'active';
CREATE INDEX dunning_campaigns_created ON dunning_campaigns (created);
CREATE INDEX dunning_campaigns_clock ON dunning_campaigns (test_clock) WHERE test_clock IS NOT NULL;

-- What each step did: the retry's result and the messages, tasks and offers it produced.
CREATE TABLE dunning_step_runs (
  id           text COLLATE "C" PRIMARY KEY,
  campaign     text COLLATE "C" NOT NULL REFERENCES dunning_campaigns (id),
  step         integer NOT NULL,
  scheduled_at timestamptz NOT NULL,
  ran_at       timestamptz NOT NULL,
  retry        text CHECK (retry IN ('succeeded', 'failed', 'skipped', 'pending')),
  failure_class text,
  payment_intent text COLLATE "C",
  actions      jsonb NOT NULL DEFAULT '[]',
  UNIQUE (campaign, step)
);

CREATE TABLE dunning_offers (
  id          text COLLATE "C" PRIMARY KEY,
  campaign    text COLLATE "C" NOT NULL REFERENCES dunning_campaigns (id),
  customer    text COLLATE "C" NOT NULL REFERENCES customers (id),
  subscription text COLLATE "C" REFERENCES subscriptions (id),
  kind        text NOT NULL CHECK (kind IN ('discount', 'trial_extension', 'payment_plan')),
  step        integer NOT NULL,
  terms       jsonb NOT NULL,
  coupon      text COLLATE "C" REFERENCES coupons (id),
  status      text NOT NULL CHECK (status IN ('offered', 'accepted', 'expired')),
  offered_at  timestamptz NOT NULL,
  accepted_at timestamptz,
  result      jsonb NOT NULL DEFAULT '{}',
  UNIQUE (campaign, kind, step)
);
-- A trial is extended at most once per subscription.
CREATE UNIQUE INDEX dunning_offers_one_trial_extension ON dunning_offers (subscription) WHERE kind = 'trial_extension' AND status = 'accepted';
CREATE INDEX dunning_offers_offered_at ON dunning_offers (offered_at);

CREATE TABLE dunning_tasks (
  id            text COLLATE "C" PRIMARY KEY,
  campaign      text COLLATE "C" NOT NULL REFERENCES dunning_campaigns (id),
  customer      text COLLATE "C" NOT NULL REFERENCES customers (id),
  invoice       text COLLATE "C" NOT NULL REFERENCES invoices (id),
  step          integer NOT NULL,
  kind          text NOT NULL DEFAULT 'phone_call',
  amount        bigint NOT NULL,
  currency      text NOT NULL,
  due_at        timestamptz NOT NULL,
  script_hints  jsonb NOT NULL DEFAULT '[]',
  assignee      text,
  status        text NOT NULL CHECK (status IN ('open', 'completed', 'canceled')),
  outcome       text CHECK (outcome IN ('reached', 'no_answer', 'promised_to_pay', 'refused')),
  notes         text,
  promised_date timestamptz,
  completed_at  timestamptz,
  test_clock    text COLLATE "C",
  created       timestamptz NOT NULL,
  updated       timestamptz NOT NULL,
  UNIQUE (campaign, step, kind)
);
CREATE INDEX dunning_tasks_open ON dunning_tasks (status, due_at);

CREATE TABLE notification_templates (
  id          text COLLATE "C" PRIMARY KEY,
  key         text NOT NULL,
  locale      text NOT NULL,
  channel     text NOT NULL CHECK (channel IN ('email', 'sms')),
  description text,
  -- Essential billing notices always go out; the others honour the customer's preferences.
  essential   boolean NOT NULL,
  category    text NOT NULL,
  subject     text,
  html        text,
  text        text NOT NULL,
  -- Lines that must appear verbatim in any personalised rewrite.
  required_lines jsonb NOT NULL DEFAULT '[]',
  personalize boolean NOT NULL DEFAULT false,
  created     timestamptz NOT NULL,
  updated     timestamptz NOT NULL,
  UNIQUE (key, locale, channel)
);

CREATE TABLE notification_preferences (
  customer     text COLLATE "C" PRIMARY KEY REFERENCES customers (id),
  timezone     text,
  locale       text,
  unsubscribed jsonb NOT NULL DEFAULT '[]',
  updated      timestamptz NOT NULL
);

CREATE TABLE notification_messages (
  id           text COLLATE "C" PRIMARY KEY,
  customer     text COLLATE "C" REFERENCES customers (id),
  channel      text NOT NULL CHECK (channel IN ('email', 'sms')),
  template     text NOT NULL,
  locale       text NOT NULL,
  essential    boolean NOT NULL,
  recipient    text,
  subject      text,
  text         text NOT NULL,
  html         text,
  -- queued → sending → sent (provider accepted) | outbox (no provider configured) | failed; suppressed: never sent, with the reason.
  status       text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'outbox', 'failed', 'suppressed')),
  provider     text,
  provider_id  text,
  error        text,
  attempts     integer NOT NULL DEFAULT 0,
  send_after   timestamptz NOT NULL,
  lease_until  timestamptz,
  personalize  boolean NOT NULL DEFAULT false,
  personalized boolean NOT NULL DEFAULT false,
  -- Strings a personalised rewrite must keep verbatim (link, amount, the template's required lines).
  required     jsonb NOT NULL DEFAULT '[]',
  -- One message per object and kind (a receipt per invoice, a card notice per card and expiry …).
  dedupe_key   text NOT NULL UNIQUE,
  campaign     text COLLATE "C",
  object_id    text COLLATE "C",
  test_clock   text COLLATE "C",
  created      timestamptz NOT NULL,
  updated      timestamptz NOT NULL,
  sent_at      timestamptz
);
CREATE INDEX notification_messages_due ON notification_messages (send_after) WHERE status IN ('queued', 'sending');
CREATE INDEX notification_messages_customer ON notification_messages (customer, id);
CREATE INDEX notification_messages_campaign ON notification_messages (campaign) WHERE campaign IS NOT NULL;

-- The inbox: events dunning and notifications act on, written by the trigger below in the event's
-- own transaction. Rows are deleted once handled. test_clock scopes them like every due row.
CREATE TABLE notification_inbox (
  event_id    text COLLATE "C" PRIMARY KEY,
  type        text NOT NULL,
  object_id   text COLLATE "C" NOT NULL,
  customer_id text COLLATE "C",
  test_clock  text COLLATE "C",
  created     timestamptz NOT NULL,
  -- A row whose handling keeps failing stops being retried after a few attempts (kept, with the error).
  attempts    integer NOT NULL DEFAULT 0,
  error       text
);
CREATE INDEX notification_inbox_clock ON notification_inbox (test_clock, event_id);

CREATE FUNCTION recur_notification_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO notification_inbox (event_id, type, object_id, customer_id, test_clock, created)
  SELECT n.id, n.type, n.object_id, n.customer_id, c.test_clock, n.created
    FROM new_events n LEFT JOIN customers c ON c.id = n.customer_id
   WHERE n.type IN ('invoice.payment_failed', 'invoice.paid', 'customer.subscription.trial_will_end')
      OR (n.type IN ('invoice.finalized', 'invoice.sent') AND n.data->'object'->>'collection_method' = 'send_invoice')
      -- Only while a campaign is open: a voided invoice or a new card matters to it.
      OR (n.type IN ('invoice.voided', 'invoice.marked_uncollectible', 'customer.updated', 'customer.subscription.updated', 'payment_method.attached')
          AND EXISTS (SELECT 1 FROM dunning_campaigns d WHERE d.customer = n.customer_id AND d.status = 'active'));
  RETURN NULL;
END $$;

CREATE TRIGGER events_notification_inbox AFTER INSERT ON events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION recur_notification_inbox();
