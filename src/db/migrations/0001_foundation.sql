-- Foundation: API keys, idempotency, events, customers, catalog.
-- Ids are text COLLATE "C" so they compare bytewise and ORDER BY id is creation order.
-- Money is BIGINT minor units beside a currency; time is timestamptz written from the app's Clock.

CREATE TABLE api_keys (
  id         text COLLATE "C" PRIMARY KEY,
  name       text NOT NULL,
  scope      text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
  hash       text NOT NULL UNIQUE,
  last4      text NOT NULL,
  created    timestamptz NOT NULL,
  revoked_at timestamptz
);

CREATE TABLE idempotency_keys (
  api_key_id   text COLLATE "C" NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status_code  integer,
  response     jsonb,
  created      timestamptz NOT NULL,
  PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created);

CREATE TABLE events (
  id              text COLLATE "C" PRIMARY KEY,
  type            text NOT NULL,
  created         timestamptz NOT NULL,
  object_id       text COLLATE "C" NOT NULL,
  customer_id     text COLLATE "C",
  data            jsonb NOT NULL,
  request_id      text,
  idempotency_key text
);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_customer ON events (customer_id, id) WHERE customer_id IS NOT NULL;
CREATE INDEX events_object ON events (object_id, id);
CREATE INDEX events_created ON events (created);

CREATE TABLE customers (
  id                text COLLATE "C" PRIMARY KEY,
  email             text,
  name              text,
  description       text,
  phone             text,
  address           jsonb,
  tax_ids           jsonb NOT NULL DEFAULT '[]',
  preferred_locales jsonb NOT NULL DEFAULT '[]',
  currency          text,
  tax_exempt        text NOT NULL DEFAULT 'none' CHECK (tax_exempt IN ('none', 'exempt', 'reverse')),
  invoice_settings  jsonb NOT NULL DEFAULT '{}',
  balance           bigint NOT NULL DEFAULT 0,
  metadata          jsonb NOT NULL DEFAULT '{}',
  test_clock        text COLLATE "C",
  created           timestamptz NOT NULL,
  updated           timestamptz NOT NULL,
  deleted_at        timestamptz
);
CREATE INDEX customers_email ON customers (email, id) WHERE deleted_at IS NULL;

CREATE TABLE products (
  id          text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  description text,
  active      boolean NOT NULL DEFAULT true,
  features    jsonb NOT NULL DEFAULT '[]',
  metadata    jsonb NOT NULL DEFAULT '{}',
  unit_label  text,
  default_price text COLLATE "C",
  created     timestamptz NOT NULL,
  updated     timestamptz NOT NULL,
  deleted_at  timestamptz
);

CREATE TABLE prices (
  id               text COLLATE "C" PRIMARY KEY,
  product          text COLLATE "C" NOT NULL REFERENCES products (id),
  active           boolean NOT NULL DEFAULT true,
  currency         text NOT NULL,
  unit_amount      bigint NOT NULL CHECK (unit_amount >= 0),
  type             text NOT NULL CHECK (type IN ('recurring', 'one_time')),
  interval         text CHECK (interval IN ('day', 'week', 'month', 'year')),
  interval_count   integer CHECK (interval_count > 0),
  trial_period_days integer CHECK (trial_period_days >= 0),
  tax_behavior     text NOT NULL DEFAULT 'unspecified' CHECK (tax_behavior IN ('inclusive', 'exclusive', 'unspecified')),
  currency_options jsonb NOT NULL DEFAULT '{}',
  lookup_key       text UNIQUE,
  nickname         text,
  customer         text COLLATE "C" REFERENCES customers (id),
  metadata         jsonb NOT NULL DEFAULT '{}',
  created          timestamptz NOT NULL,
  updated          timestamptz NOT NULL,
  CHECK ((type = 'recurring') = (interval IS NOT NULL AND interval_count IS NOT NULL))
);
CREATE INDEX prices_product ON prices (product, id);
CREATE INDEX prices_customer ON prices (customer, id) WHERE customer IS NOT NULL;
