-- Whether an invoice's discounts were chosen for it (Stripe's invoice `discounts` on create or update,
-- "" included) rather than taken from the customer or subscription. A draft built without lines records
-- no discount; when its first lines arrive it takes the discounts live for its period only if none were
-- chosen, so `discounts: ""` keeps meaning "none" for lines added later.
ALTER TABLE invoices ADD COLUMN discounts_chosen boolean NOT NULL DEFAULT false;
