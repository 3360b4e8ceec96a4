import type { Queryable } from '../../db/index.js';

// The installation's card-fingerprint key (migration 0015): random per database, made when the
// database is first migrated, the same for every process that uses it. See ADR 0006.

/** Reads the fingerprint secret; throws if the table is missing or empty (migrations not applied). */
export async function readFingerprintSecret(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ fingerprint_secret: string }>('SELECT fingerprint_secret FROM installation WHERE id');
  const secret = rows[0]?.fingerprint_secret;
  if (!secret) throw new Error('installation.fingerprint_secret is missing: apply the migrations (0015_installation_secret)');
  return secret;
}
