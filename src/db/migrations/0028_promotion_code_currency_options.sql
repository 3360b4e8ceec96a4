-- Stripe's promotion code restrictions.currency_options: the minimum amount in other currencies
-- ({eur: {minimum_amount: 900}}), beside minimum_amount in minimum_amount_currency.
ALTER TABLE promotion_codes ADD COLUMN minimum_amount_options jsonb NOT NULL DEFAULT '{}';
