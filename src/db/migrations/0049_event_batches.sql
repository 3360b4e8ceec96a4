-- ADR 0007 option 5. Events written outside an API request in large groups (the real-time worker's
-- passes: a renewal batch writes seven events per subscription) are stored whole, one row per group,
-- as JSON deflated by Node (zlib): a thousand renewals' 7,000 events take ~0.7 kB per renewal and one
-- row, where rows of their own took seven rows with five indexes each. Exact by construction: each
-- object is serialised when its event happens, as for a row of `events`. SQL cannot inflate them;
-- src/modules/events/batches.ts reads both storages (the events API, tests).
CREATE TABLE event_batches (
  id          text COLLATE "C" PRIMARY KEY,
  created     timestamptz NOT NULL,
  -- The group's event ids are increasing: first and last bound them, for a lookup by id and for paging.
  first_event text COLLATE "C" NOT NULL,
  last_event  text COLLATE "C" NOT NULL,
  n           integer NOT NULL CHECK (n > 0),
  types       text[] NOT NULL,
  data        bytea NOT NULL
);
-- Already compressed: PostgreSQL's own compression would only spend time.
ALTER TABLE event_batches ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE INDEX event_batches_first ON event_batches (first_event);
CREATE INDEX event_batches_last ON event_batches (last_event);

-- Which events the notification inbox takes: one rule for the trigger on `events` and for the batch
-- writer (which inserts the inbox rows itself). The trigger's WHEN clause stays as a cheap pre-filter
-- (every type it lets through is decided here).
CREATE FUNCTION recur_inbox_wanted(etype text, collection_method text, cus text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT etype IN ('invoice.payment_failed', 'invoice.paid', 'customer.subscription.trial_will_end')
      OR (etype IN ('invoice.finalized', 'invoice.sent') AND collection_method IS NOT DISTINCT FROM 'send_invoice')
      -- Only while a campaign is open: a voided invoice or a new card matters to it.
      OR (etype IN ('invoice.voided', 'invoice.marked_uncollectible', 'customer.updated', 'customer.subscription.updated', 'payment_method.attached')
          AND EXISTS (SELECT 1 FROM dunning_campaigns d WHERE d.customer = cus AND d.status = 'active'))
$$;

CREATE OR REPLACE FUNCTION recur_notification_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT recur_inbox_wanted(NEW.type, NEW.data->'object'->>'collection_method', NEW.customer_id) THEN
    RETURN NULL;
  END IF;
  INSERT INTO notification_inbox (event_id, type, object_id, customer_id, test_clock, created)
  VALUES (NEW.id, NEW.type, NEW.object_id, NEW.customer_id, (SELECT c.test_clock FROM customers c WHERE c.id = NEW.customer_id), NEW.created);
  RETURN NULL;
END $$;
