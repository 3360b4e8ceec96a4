-- Stripe: a customer's invoice prefix "can't match any other customer prefix, including prefixes that
-- are no longer in use". Each prefix a customer ever had is claimed here, for that customer only.
CREATE TABLE invoice_prefix_claims (
  prefix   text COLLATE "C" PRIMARY KEY,
  customer text COLLATE "C" NOT NULL REFERENCES customers (id),
  created  timestamptz NOT NULL
);
INSERT INTO invoice_prefix_claims (prefix, customer, created)
SELECT DISTINCT ON (invoice_prefix) invoice_prefix, id, created FROM customers
 WHERE invoice_prefix IS NOT NULL ORDER BY invoice_prefix, created, id;
