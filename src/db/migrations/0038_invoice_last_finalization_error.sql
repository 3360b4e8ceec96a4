-- Stripe's invoice.last_finalization_error: why the worker could not finalize a draft (e.g. a currency
-- the customer is not billed in), kept on the invoice until a finalization succeeds.
ALTER TABLE invoices ADD COLUMN last_finalization_error jsonb;
