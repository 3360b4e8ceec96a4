-- Stripe's subscription automatic_tax[enabled]: false keeps the subscription's invoices untaxed even
-- when Recur computes tax (RECUR_SELLER_COUNTRY). True (the default, Recur's behaviour so far): taxed
-- wherever Recur is configured to collect.
ALTER TABLE subscriptions ADD COLUMN automatic_tax boolean NOT NULL DEFAULT true;
