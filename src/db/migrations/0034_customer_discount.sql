-- The customer's own discount (customers/discount.ts), named on the customer: reading a customer that
-- has none (nearly all) costs no read of discounts. Set and cleared with the discount.
ALTER TABLE customers ADD COLUMN discount text COLLATE "C";
UPDATE customers c SET discount = (
  SELECT d.id FROM discounts d
   WHERE d.customer = c.id AND d.subscription IS NULL AND d.invoice IS NULL AND d.deleted_at IS NULL
   ORDER BY d.start_at DESC, d.id DESC LIMIT 1);
