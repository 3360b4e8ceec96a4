-- Stripe's test clock status_details.advancing.target_frozen_time: the time an advancing clock is
-- moving to, set by the advance's claim and cleared when the clock is ready again.
ALTER TABLE test_clocks ADD COLUMN target_frozen_time timestamptz;
