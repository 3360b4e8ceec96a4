-- A Bloom filter of each event batch's customer and object ids (src/modules/events/domain/bloom.ts): the
-- events API's `customer` and `object_id` filters read only the batches that may hold the key, instead of
-- inflating every batch in the window (1.8 s for 20,000 renewals on PGlite, growing with the table).
-- NULL for batches written before: those are always read.
ALTER TABLE event_batches ADD COLUMN keys bytea;
-- Random bits do not compress.
ALTER TABLE event_batches ALTER COLUMN keys SET STORAGE EXTERNAL;

-- Whether a filter may hold the key whose two hashes are h1 and h2 (false: certainly not). The probes
-- and the bit numbering are the ones bloom.ts uses to build it: bit (h1 + i·h2) mod m, i = 0..6.
CREATE FUNCTION recur_bloom_has(bloom bytea, h1 bigint, h2 bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  m bigint := length(bloom)::bigint * 8;
BEGIN
  FOR i IN 0..6 LOOP
    IF get_bit(bloom, ((h1 + i * h2) % m)::int) = 0 THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END $$;
