-- Stripe's customer tax[ip_address]: a recent IP address of the customer, shown in the customer's
-- `tax` hash (expand[]=tax). Recur keeps it for the record; it does not locate the customer from it.
ALTER TABLE customers ADD COLUMN tax_ip_address text;
