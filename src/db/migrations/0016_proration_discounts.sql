-- A proration keeps the discounts in force when it was made (Stripe: invoice_item.proration_details
-- .discount_amounts): [{"discount": "di_…", "amount": 2449}, …], the amounts fixed then, which the
-- invoice that takes the item applies instead of the discounts in force by that time. NULL for other
-- items, and for prorations made before this column: the invoice's discounts apply to those.
ALTER TABLE invoice_items ADD COLUMN proration_discount_amounts jsonb;
