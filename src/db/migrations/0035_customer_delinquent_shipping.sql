-- Stripe's customer.delinquent (customers/delinquency.ts): set by an automatic payment failure or an
-- invoice passing its due date, cleared by a paid invoice or one marked uncollectible through the API.
-- And the customer's shipping details ({name, phone, address}), snapshotted on invoices at finalization.
ALTER TABLE customers ADD COLUMN delinquent boolean NOT NULL DEFAULT false;
ALTER TABLE customers ADD COLUMN shipping jsonb;
