-- Where a series starts: 1, or the customer's next_invoice_sequence set before its first invoice
-- (customers/service.ts). The books check "gapless per series" counts from it.
ALTER TABLE invoice_number_series ADD COLUMN first_number bigint NOT NULL DEFAULT 1;
