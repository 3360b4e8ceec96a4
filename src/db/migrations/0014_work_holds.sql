-- Rows the billing worker set aside. A batch that fails for a reason other than a deadlock is rolled
-- back whole; claimed again, the same rows would fail again and a single bad row would hold up every
-- row claimed behind it. After such a failure the worker reruns the job row by row, and each row that
-- fails on its own is held here until held_until (a backoff that grows with its failures); claims skip
-- held rows, so the rest of the due work goes on. last_error says why, for the operator.
CREATE TABLE work_holds (
  job text NOT NULL,
  object_id text NOT NULL,
  failures integer NOT NULL,
  first_failed_at timestamptz NOT NULL,
  last_failed_at timestamptz NOT NULL,
  held_until timestamptz NOT NULL,
  last_error text NOT NULL,
  PRIMARY KEY (job, object_id)
);
