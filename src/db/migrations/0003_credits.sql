-- Credits and usage: a double-entry ledger of credit movements, grants (lots) with expiry, features
-- priced in credits, idempotent usage events and their daily roll-up. See docs/adr/0010-credits-ledger.md.
--
-- Sign convention: an account's balance is the sum of its entries. A customer's wallet holds a
-- positive balance; system sources (plan grants, purchases, promotions, overage) go negative as they
-- hand out credits, and sinks (consumption, expiry, refunds) go positive. Every transaction sums to
-- zero, so the whole ledger always sums to zero.

CREATE TABLE credit_accounts (
  id                     text COLLATE "C" PRIMARY KEY,
  type                   text NOT NULL CHECK (type IN ('wallet', 'plan_grants', 'purchases', 'promotions', 'overage', 'consumption', 'expiry', 'refunds')),
  unit                   text NOT NULL DEFAULT 'credit',
  customer               text COLLATE "C" REFERENCES customers (id),
  -- Wallet settings; NULL means the configured default (RECUR_CREDIT_OVERAGE, RECUR_CREDIT_LOW_BALANCE_THRESHOLDS).
  overage                text CHECK (overage IN ('reject', 'bill')),
  low_balance_thresholds jsonb,
  test_clock             text COLLATE "C",
  created                timestamptz NOT NULL,
  CHECK ((type = 'wallet') = (customer IS NOT NULL))
);
CREATE UNIQUE INDEX credit_accounts_wallet ON credit_accounts (customer, unit) WHERE type = 'wallet';
CREATE UNIQUE INDEX credit_accounts_system ON credit_accounts (type, unit) WHERE type <> 'wallet';

-- System accounts exist from the start (the epoch as their creation time: they predate every entry).
INSERT INTO credit_accounts (id, type, unit, created) VALUES
  ('cacct_plan_grants', 'plan_grants', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_purchases', 'purchases', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_promotions', 'promotions', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_overage', 'overage', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_consumption', 'consumption', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_expiry', 'expiry', 'credit', '1970-01-01T00:00:00Z'),
  ('cacct_refunds', 'refunds', 'credit', '1970-01-01T00:00:00Z');

-- A grant is a lot of credits in a wallet: consumption takes the lot that expires soonest first.
-- `remaining` is a cache of the sum of the lot's entries, written in the same statement batch as the
-- entries and proven equal to them by credit_ledger_check().
CREATE TABLE credit_grants (
  id           text COLLATE "C" PRIMARY KEY,
  customer     text COLLATE "C" NOT NULL REFERENCES customers (id),
  account      text COLLATE "C" NOT NULL REFERENCES credit_accounts (id),
  source       text NOT NULL CHECK (source IN ('plan', 'purchase', 'promotion')),
  amount       bigint NOT NULL CHECK (amount > 0),
  remaining    bigint NOT NULL DEFAULT 0,
  effective_at timestamptz NOT NULL,
  expires_at   timestamptz,
  subscription text COLLATE "C",
  period_start timestamptz,
  period_end   timestamptz,
  product      text COLLATE "C",
  invoice      text COLLATE "C",
  invoice_line text COLLATE "C",
  description  text,
  metadata     jsonb NOT NULL DEFAULT '{}',
  test_clock   text COLLATE "C",
  expired_at   timestamptz,
  voided_at    timestamptz,
  created      timestamptz NOT NULL,
  CHECK (remaining >= 0 AND remaining <= amount),
  CHECK (expires_at IS NULL OR expires_at > effective_at),
  CHECK ((source = 'plan') = (subscription IS NOT NULL AND period_start IS NOT NULL)),
  CHECK ((source = 'purchase') = (invoice_line IS NOT NULL))
) WITH (fillfactor = 50);
-- fillfactor 50: every usage batch updates `remaining` of the lots it spends; the free room lets those
-- updates stay on the page (HOT), without touching the six indexes (measured 7× cheaper).
-- Never grant a subscription period's credits twice, nor a purchased pack twice, whatever the number of workers.
CREATE UNIQUE INDEX credit_grants_plan_period ON credit_grants (subscription, period_start) WHERE source = 'plan';
CREATE UNIQUE INDEX credit_grants_invoice_line ON credit_grants (invoice_line) WHERE source = 'purchase';
CREATE INDEX credit_grants_customer ON credit_grants (customer, id);
CREATE INDEX credit_grants_account_open ON credit_grants (account) WHERE expired_at IS NULL AND voided_at IS NULL;
CREATE INDEX credit_grants_due_expiry ON credit_grants (expires_at) WHERE expired_at IS NULL AND voided_at IS NULL AND expires_at IS NOT NULL;

CREATE TABLE credit_transactions (
  id              text COLLATE "C" PRIMARY KEY,
  type            text NOT NULL CHECK (type IN ('grant', 'usage', 'expiry', 'void', 'adjustment')),
  customer        text COLLATE "C",
  unit            text NOT NULL DEFAULT 'credit',
  -- Every posting is idempotent: a retried job or request produces the same key and is dropped.
  idempotency_key text COLLATE "C" NOT NULL UNIQUE,
  grant_id        text COLLATE "C",
  description     text,
  test_clock      text COLLATE "C",
  created         timestamptz NOT NULL
);
CREATE INDEX credit_transactions_customer ON credit_transactions (customer, id);

-- Entries reference their transaction, account and lot without per-row foreign keys: a usage batch
-- writes a thousand entries or more, and the per-row key checks (each an index probe plus a key-share
-- lock on the referenced row) cost four times the insert itself (measured: docs/adr/0010). The
-- references are made by construction (postTransactions writes a transaction and its entries
-- together, lots' accounts taken from the lots) and verified by credit_ledger_check(); the referenced
-- rows can never be deleted (triggers below).
CREATE TABLE credit_entries (
  transaction text COLLATE "C" NOT NULL,
  -- The entry's line number within its transaction (1, 2, …).
  position    integer NOT NULL CHECK (position > 0),
  account     text COLLATE "C" NOT NULL,
  grant_id    text COLLATE "C",
  amount      bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (transaction, position),
  -- Wallet entries always name the lot they move; system accounts are not split into lots.
  CHECK (grant_id IS NOT NULL OR account NOT LIKE 'cwal\_%')
);
CREATE INDEX credit_entries_grant ON credit_entries (grant_id) WHERE grant_id IS NOT NULL;

-- Immutability: entries and transactions are never updated or deleted; a correction is a new
-- transaction. Accounts and grants are never deleted (their entries point at them).
CREATE FUNCTION credit_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the credit ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER credit_entries_immutable BEFORE UPDATE OR DELETE ON credit_entries FOR EACH ROW EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_entries_no_truncate BEFORE TRUNCATE ON credit_entries FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_transactions_immutable BEFORE UPDATE OR DELETE ON credit_transactions FOR EACH ROW EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_transactions_no_truncate BEFORE TRUNCATE ON credit_transactions FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_accounts_no_delete BEFORE DELETE ON credit_accounts FOR EACH ROW EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_grants_no_delete BEFORE DELETE ON credit_grants FOR EACH ROW EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_accounts_no_truncate BEFORE TRUNCATE ON credit_accounts FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_immutable();
CREATE TRIGGER credit_grants_no_truncate BEFORE TRUNCATE ON credit_grants FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_immutable();

-- Balance and immutability, per INSERT statement, set-based (a hash aggregate over the statement's
-- rows, no lookups): each transaction's entries in the statement are two or more, sum to zero, and
-- are numbered 1..n. With the primary key (transaction, position), nothing can ever be added to a
-- transaction written earlier — position 1 is taken — so every transaction sums to zero for good.
CREATE FUNCTION credit_entries_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE bad text;
BEGIN
  SELECT n.transaction INTO bad FROM new_entries n
   GROUP BY n.transaction
  HAVING sum(n.amount) <> 0 OR count(*) < 2 OR min(n.position) <> 1 OR max(n.position) <> count(*)
   LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'credit transaction % does not balance (its entries must be numbered 1..n, two or more, and sum to zero)', bad USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER credit_entries_check AFTER INSERT ON credit_entries REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION credit_entries_check();

-- The check behind the cached balances, runnable from psql without Recur:
--   SELECT * FROM credit_ledger_check();   -- no rows = the ledger is consistent
CREATE FUNCTION credit_ledger_check() RETURNS TABLE (problem text, ref text, expected bigint, actual bigint) LANGUAGE sql STABLE AS $$
  SELECT 'transaction_unbalanced', t.id, 0::bigint, coalesce(sum(e.amount), 0)::bigint
    FROM credit_transactions t LEFT JOIN credit_entries e ON e.transaction = t.id
   GROUP BY t.id HAVING coalesce(sum(e.amount), 0) <> 0 OR count(e.transaction) < 2
  UNION ALL
  SELECT 'ledger_total_nonzero', NULL, 0::bigint, sum(amount)::bigint FROM credit_entries HAVING sum(amount) <> 0
  UNION ALL
  SELECT 'grant_remaining_mismatch', g.id, coalesce(s.total, 0)::bigint, g.remaining
    FROM credit_grants g LEFT JOIN (SELECT grant_id, sum(amount) AS total FROM credit_entries WHERE grant_id IS NOT NULL GROUP BY grant_id) s ON s.grant_id = g.id
   WHERE g.remaining <> coalesce(s.total, 0)
  UNION ALL
  SELECT 'grant_entry_outside_wallet', e.transaction, NULL::bigint, e.amount
    FROM credit_entries e JOIN credit_grants g ON g.id = e.grant_id WHERE e.account <> g.account
  UNION ALL
  SELECT 'entry_without_transaction', e.transaction, NULL::bigint, e.amount
    FROM credit_entries e WHERE NOT EXISTS (SELECT 1 FROM credit_transactions t WHERE t.id = e.transaction)
  UNION ALL
  SELECT 'entry_unknown_account', e.transaction, NULL::bigint, e.amount
    FROM credit_entries e WHERE NOT EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = e.account)
  UNION ALL
  SELECT 'entry_unknown_grant', e.transaction, NULL::bigint, e.amount
    FROM credit_entries e WHERE e.grant_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM credit_grants g WHERE g.id = e.grant_id)
  UNION ALL
  SELECT 'wallet_negative', a.id, 0::bigint, sum(e.amount)::bigint
    FROM credit_accounts a JOIN credit_entries e ON e.account = a.id
   WHERE a.type = 'wallet' GROUP BY a.id HAVING sum(e.amount) < 0
  UNION ALL
  SELECT 'wallet_balance_mismatch', a.id, coalesce((SELECT sum(g.remaining) FROM credit_grants g WHERE g.account = a.id), 0)::bigint, sum(e.amount)::bigint
    FROM credit_accounts a JOIN credit_entries e ON e.account = a.id
   WHERE a.type = 'wallet' GROUP BY a.id
  HAVING sum(e.amount) <> coalesce((SELECT sum(g.remaining) FROM credit_grants g WHERE g.account = a.id), 0)
$$;

-- Carryover of plan-included credits, per plan (product) as data:
--   carryover_periods: 0 = expire at the end of their period; N = usable N more periods; NULL = no time limit.
--   carryover_cap: at most this many of a subscription's earlier plan credits roll into a new period
--   (the excess expires at the rollover); NULL = no cap.
-- Products with `included_credits` metadata but no row here expire at period end.
CREATE TABLE credit_plan_policies (
  product           text COLLATE "C" PRIMARY KEY,
  carryover_periods integer CHECK (carryover_periods >= 0),
  carryover_cap     bigint CHECK (carryover_cap >= 0),
  updated           timestamptz NOT NULL
);
-- The platform plans "with carryover" (seed 04): Starter keeps unused credits one more month;
-- Professional one more month, at most 2,500 of them; Enterprise without a time limit, up to 20,000.
INSERT INTO credit_plan_policies (product, carryover_periods, carryover_cap, updated) VALUES
  ('prod_platform_starter', 1, NULL, '1970-01-01T00:00:00Z'),
  ('prod_platform_professional', 1, 2500, '1970-01-01T00:00:00Z'),
  ('prod_platform_enterprise', NULL, 20000, '1970-01-01T00:00:00Z');

-- Features priced in credits. A price change is a new row with its effective date; usage is priced
-- at the price in effect at the event's timestamp.
CREATE TABLE credit_features (
  key        text PRIMARY KEY CHECK (key ~ '^[a-z0-9_]+$'),
  name       text NOT NULL,
  unit_label text,
  created    timestamptz NOT NULL,
  updated    timestamptz NOT NULL
);
CREATE TABLE credit_feature_prices (
  feature      text NOT NULL REFERENCES credit_features (key),
  credits      bigint NOT NULL CHECK (credits >= 0),
  effective_at timestamptz NOT NULL,
  created      timestamptz NOT NULL,
  PRIMARY KEY (feature, effective_at)
);
INSERT INTO credit_features (key, name, unit_label, created, updated) VALUES
  ('lead_enrichment', 'Lead enrichment', 'lead', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('ai_message', 'AI-personalised message', 'message', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('email_send', 'Email sent', 'email', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('linkedin_message', 'LinkedIn message', 'message', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');
INSERT INTO credit_feature_prices (feature, credits, effective_at, created) VALUES
  ('lead_enrichment', 5, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('ai_message', 2, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('email_send', 1, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z'),
  ('linkedin_message', 3, '1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z');

-- Usage events, idempotent on the caller's id. No foreign key to customers: the batch checks them
-- once, instead of one key-share lock per row on the hot path.
CREATE TABLE usage_events (
  id              text COLLATE "C" PRIMARY KEY,
  customer        text COLLATE "C" NOT NULL,
  feature         text NOT NULL,
  quantity        bigint NOT NULL CHECK (quantity > 0),
  "timestamp"     timestamptz NOT NULL,
  properties      jsonb,
  credits         bigint NOT NULL CHECK (credits >= 0),
  overage_credits bigint NOT NULL DEFAULT 0 CHECK (overage_credits >= 0 AND overage_credits <= credits),
  transaction     text COLLATE "C",
  created         timestamptz NOT NULL
);

CREATE TABLE usage_daily (
  customer text COLLATE "C" NOT NULL,
  feature  text NOT NULL,
  day      date NOT NULL,
  events   bigint NOT NULL,
  quantity bigint NOT NULL,
  credits  bigint NOT NULL,
  PRIMARY KEY (customer, feature, day)
) WITH (fillfactor = 50); -- room for the batches' in-place (HOT) updates of the day's counters
CREATE INDEX usage_daily_day ON usage_daily (day, feature);

-- Pack purchases are found by their invoice lines' price.
CREATE INDEX invoice_lines_price ON invoice_lines (price) WHERE price IS NOT NULL;
