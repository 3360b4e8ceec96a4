-- Events carry whole Stripe-shaped objects (1–2 kB each) and a renewal writes seven of them, so how
-- their JSON is stored decides billing throughput. lz4 compresses several times faster than the
-- default pglz; PostgreSQL builds without lz4 (PGlite is one) keep the default.
DO $$
BEGIN
  ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN others THEN
  RAISE NOTICE 'lz4 is not available here; events keep the default compression';
END $$;
