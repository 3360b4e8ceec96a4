-- Stripe's invoice.effective_at when set by hand: the date the invoice is in effect, printed as its
-- "Date of issue" instead of the finalization date. NULL: the finalization date (Stripe's default).
ALTER TABLE invoices ADD COLUMN effective_at timestamptz;
