-- Secrets of this installation (one row). fingerprint_secret keys the simulated gateway's card
-- fingerprints: stable for the life of the database, so the same card keeps its fingerprint across
-- restarts and processes (as Stripe's are per account), and different in every installation, so a
-- fingerprint cannot be reversed by hashing candidate card numbers under a known key. Generated here,
-- from PostgreSQL's strong random source (gen_random_uuid: 122 random bits each, 244 together), never
-- shipped and never in configuration.
CREATE TABLE installation (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  fingerprint_secret text NOT NULL CHECK (length(fingerprint_secret) >= 32)
);
INSERT INTO installation (fingerprint_secret) VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
