-- Stripe's invoice custom_fields (up to four name/value pairs, e.g. a purchase order number) and footer,
-- shown on the invoice and its PDF. A new invoice takes the customer's invoice_settings ones unless the
-- call that creates it names its own.
ALTER TABLE invoices ADD COLUMN custom_fields jsonb;
ALTER TABLE invoices ADD COLUMN footer text;
