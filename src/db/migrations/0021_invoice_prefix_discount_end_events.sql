-- Stripe's customer invoice_prefix (3–12 upper-case letters or digits): when set, that customer's
-- invoices are numbered in their own gapless series (PREFIX-0001, …; one invoice_number_series row
-- per prefix). Null: the account series, as before.
ALTER TABLE customers ADD COLUMN invoice_prefix text;

-- When customer.discount.deleted was written for a discount that ended by its duration (a `once`
-- discount spent by an invoice, a `repeating` one whose end the first renewal without it reached), so
-- it is written once. Discounts that ended before this column existed are marked as done: their end
-- is history, not news. "Ended" is read from the data, not the wall clock (test clocks): removed, a
-- spent `once`, or a `repeating` one whose end a renewal of its subscription already passed.
ALTER TABLE discounts ADD COLUMN deleted_event_at timestamptz;
UPDATE discounts d SET deleted_event_at = COALESCE(d.deleted_at, d.end_at)
 WHERE d.deleted_at IS NOT NULL
    OR (d.end_at IS NOT NULL AND d.coupon IN (SELECT id FROM coupons WHERE duration = 'once'))
    OR (d.end_at IS NOT NULL AND EXISTS (
          SELECT 1 FROM subscriptions s
           WHERE s.customer = d.customer AND (d.subscription IS NULL OR s.id = d.subscription)
             AND s.current_period_start >= d.end_at));
-- The renewal batch looks for ended discounts still without their event: only those are indexed.
CREATE INDEX discounts_end_unannounced ON discounts (end_at)
  WHERE deleted_event_at IS NULL AND deleted_at IS NULL AND end_at IS NOT NULL;
