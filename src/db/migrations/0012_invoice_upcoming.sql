-- invoice.upcoming is written once per subscription period, a few days before the renewal. The key
-- (subscription, the period end it announces) holds that across workers and re-runs: a second
-- worker's insert waits for the first one's transaction and then finds the row (ON CONFLICT DO
-- NOTHING), so it writes no second event. A period end moved by a change is a new period.
CREATE TABLE invoice_upcoming_sent (
  subscription text COLLATE "C" NOT NULL,
  period_end   timestamptz NOT NULL,
  created      timestamptz NOT NULL,
  PRIMARY KEY (subscription, period_end)
);
