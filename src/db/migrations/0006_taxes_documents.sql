-- Taxes, currencies and documents: tax rates (versioned by effective date), the tax computed on
-- invoice lines (a snapshot of the rates used, so a later rate change never alters an issued
-- invoice), credit notes with their own gapless series, customer balance transactions, bank
-- transfers matched by invoice number, NET-terms overdue tracking, and entitlements.

-- ---- tax rates ----
-- percentage_ppm is the percentage in millionths of the whole (19 % = 190000, Québec's 9.975 % =
-- 99750): an exact integer, never a float.
CREATE TABLE tax_rates (
  id                 text COLLATE "C" PRIMARY KEY,
  display_name       text NOT NULL,
  description        text,
  jurisdiction       text,
  country            text NOT NULL,
  state              text,
  postal_code_prefix text,
  percentage_ppm     integer NOT NULL CHECK (percentage_ppm BETWEEN 0 AND 1000000),
  tax_type           text NOT NULL CHECK (tax_type IN ('vat', 'gst', 'hst', 'pst', 'qst', 'rst', 'jct', 'sales_tax')),
  inclusive          boolean NOT NULL DEFAULT false,
  active             boolean NOT NULL DEFAULT true,
  -- A rate applies to invoices built in [effective_from, effective_until); NULL = unbounded.
  effective_from     timestamptz,
  effective_until    timestamptz,
  -- Seeded (built-in) rates carry a stable key so the seed inserts only what is missing.
  builtin_key        text,
  metadata           jsonb NOT NULL DEFAULT '{}',
  created            timestamptz NOT NULL,
  updated            timestamptz NOT NULL,
  CHECK (effective_from IS NULL OR effective_until IS NULL OR effective_until > effective_from)
);
CREATE INDEX tax_rates_location ON tax_rates (country, state) WHERE active;
CREATE UNIQUE INDEX tax_rates_builtin ON tax_rates (builtin_key) WHERE builtin_key IS NOT NULL;

-- ---- invoices: tax, credit notes, documents, NET terms ----
ALTER TABLE invoices
  -- One entry per (rate, inclusive, reason): { amount, taxable_amount, inclusive, tax_rate, percentage, ... }.
  ADD COLUMN total_tax_amounts jsonb NOT NULL DEFAULT '[]',
  -- How tax was determined when the invoice was built (rates snapshot, reason, note); NULL = no automatic tax.
  ADD COLUMN tax_context jsonb,
  -- The buyer as they were at finalisation (name, email, address, tax ids, exemption), for documents.
  ADD COLUMN customer_details jsonb,
  ADD COLUMN pre_payment_credit_notes_amount bigint NOT NULL DEFAULT 0,
  ADD COLUMN post_payment_credit_notes_amount bigint NOT NULL DEFAULT 0,
  ADD COLUMN hosted_invoice_url text,
  -- Set when `invoice.overdue` was sent (send_invoice past its due date).
  ADD COLUMN overdue_at timestamptz,
  -- The reference of an out-of-band payment (cheque number, bank reference, …).
  ADD COLUMN payment_reference text;
CREATE INDEX invoices_due_overdue ON invoices (due_date) WHERE status = 'open' AND due_date IS NOT NULL AND overdue_at IS NULL;
-- Bank transfers carry the invoice number as their reference.
CREATE INDEX invoices_by_number ON invoices (number) WHERE number IS NOT NULL;

ALTER TABLE invoice_lines ADD COLUMN tax_amounts jsonb NOT NULL DEFAULT '[]';

-- ---- customer balance transactions (Stripe's customer_balance_transaction) ----
-- A customer may hold a balance before their currency is known (set on create), hence NULL currency.
ALTER TABLE customer_balance_transactions
  ALTER COLUMN currency DROP NOT NULL,
  ADD COLUMN credit_note text COLLATE "C",
  ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

-- ---- credit notes ----
CREATE TABLE credit_notes (
  id                  text COLLATE "C" PRIMARY KEY,
  -- Its own gapless series (counter row in invoice_number_series, locked by the issuing transaction).
  number              text NOT NULL UNIQUE,
  invoice             text COLLATE "C" NOT NULL REFERENCES invoices (id),
  customer            text COLLATE "C" NOT NULL REFERENCES customers (id),
  currency            text NOT NULL,
  status              text NOT NULL CHECK (status IN ('issued', 'void')),
  type                text NOT NULL CHECK (type IN ('pre_payment', 'post_payment')),
  reason              text CHECK (reason IN ('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory')),
  memo                text,
  subtotal            bigint NOT NULL,
  discount_amount     bigint NOT NULL DEFAULT 0,
  total_tax           bigint NOT NULL DEFAULT 0,
  -- What the customer is credited (tax included).
  total               bigint NOT NULL CHECK (total > 0),
  tax_amounts         jsonb NOT NULL DEFAULT '[]',
  refund_amount       bigint NOT NULL DEFAULT 0 CHECK (refund_amount >= 0),
  credit_amount       bigint NOT NULL DEFAULT 0 CHECK (credit_amount >= 0),
  out_of_band_amount  bigint NOT NULL DEFAULT 0 CHECK (out_of_band_amount >= 0),
  refund              text COLLATE "C",
  customer_balance_transaction text COLLATE "C",
  metadata            jsonb NOT NULL DEFAULT '{}',
  test_clock          text COLLATE "C",
  effective_at        timestamptz NOT NULL,
  voided_at           timestamptz,
  created             timestamptz NOT NULL,
  -- A post-payment credit note settles exactly its total: refund + balance credit + out of band.
  CHECK (type = 'pre_payment' OR refund_amount + credit_amount + out_of_band_amount = total)
);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice, id);
CREATE INDEX credit_notes_customer ON credit_notes (customer, id);

CREATE TABLE credit_note_lines (
  id              text COLLATE "C" PRIMARY KEY,
  credit_note     text COLLATE "C" NOT NULL REFERENCES credit_notes (id),
  invoice_line    text COLLATE "C" REFERENCES invoice_lines (id),
  type            text NOT NULL CHECK (type IN ('invoice_line_item', 'custom_line_item')),
  description     text,
  quantity        integer,
  unit_amount     bigint,
  amount          bigint NOT NULL,
  discount_amount bigint NOT NULL DEFAULT 0,
  tax_amounts     jsonb NOT NULL DEFAULT '[]',
  position        integer NOT NULL
);
CREATE INDEX credit_note_lines_note ON credit_note_lines (credit_note, position);
CREATE INDEX credit_note_lines_invoice_line ON credit_note_lines (invoice_line) WHERE invoice_line IS NOT NULL;

-- ---- bank transfers, matched to invoices by the reference the customer wrote (the invoice number) ----
CREATE TABLE bank_transfers (
  id             text COLLATE "C" PRIMARY KEY,
  invoice        text COLLATE "C" NOT NULL REFERENCES invoices (id),
  customer       text COLLATE "C" NOT NULL REFERENCES customers (id),
  amount         bigint NOT NULL CHECK (amount > 0),
  -- What settled the invoice; the rest (an overpayment) went to the customer's balance.
  applied_amount bigint NOT NULL CHECK (applied_amount >= 0 AND applied_amount <= amount),
  currency       text NOT NULL,
  reference      text NOT NULL,
  -- The bank's own id of the transfer: importing the same statement twice records it once.
  bank_reference text UNIQUE,
  received_at    timestamptz NOT NULL,
  metadata       jsonb NOT NULL DEFAULT '{}',
  created        timestamptz NOT NULL
);
CREATE INDEX bank_transfers_invoice ON bank_transfers (invoice, id);

-- ---- entitlements ----
-- What a one-time purchase of `product` grants: the features of `grants_product`, for
-- `duration_days` from the payment (NULL = for life). The course grants itself for life and
-- Community Access for 90 days.
CREATE TABLE entitlement_rules (
  id             text COLLATE "C" PRIMARY KEY,
  product        text COLLATE "C" NOT NULL REFERENCES products (id),
  grants_product text COLLATE "C" NOT NULL REFERENCES products (id),
  duration_days  integer CHECK (duration_days > 0),
  created        timestamptz NOT NULL,
  UNIQUE (product, grants_product)
);

-- Manual grants by the operator (a goodwill extension, a partner's access).
CREATE TABLE entitlement_grants (
  id         text COLLATE "C" PRIMARY KEY,
  customer   text COLLATE "C" NOT NULL REFERENCES customers (id),
  product    text COLLATE "C" NOT NULL REFERENCES products (id),
  reason     text,
  starts_at  timestamptz NOT NULL,
  ends_at    timestamptz,
  revoked_at timestamptz,
  created    timestamptz NOT NULL,
  CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX entitlement_grants_customer ON entitlement_grants (customer, id);
