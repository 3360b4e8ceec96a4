-- A subscription schedule's phase change that falls inside a billing period (an explicit end_date)
-- is applied by the worker at that instant, prorated, instead of by the renewal: the subscription's
-- pending_schedule then carries step_at (Unix seconds). The worker's claim reads this index in
-- (step_at, id) order, as the other claims (migration 0010).
CREATE INDEX subscriptions_due_schedule_step ON subscriptions (((pending_schedule->>'step_at')::bigint), id) WHERE pending_schedule->>'step_at' IS NOT NULL;
