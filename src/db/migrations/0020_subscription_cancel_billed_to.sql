-- The time the current period was billed up to when its renewal fell short of a later cancel_at
-- (the period line and a credit for the rest). A cancel_at then moved or cleared bills or credits the
-- difference; the end credits nothing more. Null otherwise, and reset by each renewal.
ALTER TABLE subscriptions ADD COLUMN cancel_billed_to timestamptz;
