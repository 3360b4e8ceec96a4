-- Coupon.currency_options (Stripe): an amount_off coupon's amount in other currencies, so one coupon
-- discounts subscriptions billed in each ({"eur": {"amount_off": 900}}). Empty for the others.
ALTER TABLE coupons ADD COLUMN currency_options jsonb NOT NULL DEFAULT '{}';
