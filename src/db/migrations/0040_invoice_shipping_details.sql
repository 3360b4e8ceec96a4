-- Stripe's invoice.shipping_details ({name, address, phone}): set on the invoice itself; its PDF and
-- hosted page print them as "Ship to" instead of the customer's shipping details.
ALTER TABLE invoices ADD COLUMN shipping_details jsonb;
