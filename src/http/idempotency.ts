import { createHash } from 'node:crypto';
import type { Queryable } from '../db/index.js';
import { IdempotencyError, InvalidRequestError } from '../core/errors/index.js';

// Every POST/DELETE accepts `Idempotency-Key`. The key row is inserted in the request's own
// transaction, before the work: on PostgreSQL a concurrent request with the same key blocks on the
// unique index until the first commits, then replays its stored response — so it executes once.
// If the work fails with an error, the transaction rolls back the key with it, and the error is
// recorded afterwards (see storeError) so a retry gets the same answer, as Stripe does.

export const KEY_TTL_MS = 24 * 3600 * 1000;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/**
 * The request's identity for its Idempotency-Key: method, path, body and query parameters (a DELETE
 * carries its parameters in the query — `?invoice_now=true` — so the same key with other query
 * parameters is another request: 409 idempotency_error, as Stripe). An empty query adds nothing, so
 * the hash of a request without one is what it always was (keys stored before stay replayable).
 */
export function requestHash(method: string, path: string, body: unknown, query?: unknown): string {
  const h = createHash('sha256').update(`${method} ${path}\n${stableStringify(redactCard(body ?? {}))}`);
  if (query && typeof query === 'object' && Object.keys(query).length > 0) h.update(`\n?${stableStringify(query)}`);
  return h.digest('hex');
}

/**
 * A stored hash of a body holding a card number could be brute-forced (the number space is small),
 * so card numbers and CVCs are reduced to what may be kept anyway (last 4 digits, length) first.
 */
function redactCard(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redactCard);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'number' || k === 'cvc') && (typeof val === 'string' || typeof val === 'number')) {
        const str = String(val);
        out[k] = k === 'number' ? `${str.length}:${str.slice(-4)}` : `${str.length}`;
      } else out[k] = redactCard(val);
    }
    return out;
  }
  return v;
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function validateKey(key: string): void {
  if (key.length === 0 || key.length > 255) throw new InvalidRequestError('Idempotency-Key must be 1 to 255 characters', 'Idempotency-Key');
}

/** Claims the key inside the request's transaction. Returns the stored response when this is a replay. */
export async function claimKey(q: Queryable, apiKeyId: string, key: string, hash: string, now: Date): Promise<StoredResponse | null> {
  const inserted = await q.query(
    `INSERT INTO idempotency_keys (api_key_id, key, request_hash, created) VALUES ($1, $2, $3, $4)
     ON CONFLICT (api_key_id, key) DO NOTHING RETURNING key`,
    [apiKeyId, key, hash, now],
  );
  if (inserted.rowCount === 1) return null;
  const { rows } = await q.query<{ request_hash: string; status_code: number | null; response: unknown; created: Date }>(
    `SELECT request_hash, status_code, response, created FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 FOR UPDATE`,
    [apiKeyId, key],
  );
  const row = rows[0]!;
  if (now.getTime() - new Date(row.created).getTime() > KEY_TTL_MS) {
    // Expired keys are reusable: take the row over for this request.
    await q.query(`UPDATE idempotency_keys SET request_hash = $3, status_code = NULL, response = NULL, created = $4 WHERE api_key_id = $1 AND key = $2`, [
      apiKeyId,
      key,
      hash,
      now,
    ]);
    return null;
  }
  if (row.request_hash !== hash) {
    throw new IdempotencyError(`Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`);
  }
  if (row.status_code === null) throw new IdempotencyError('A request with this Idempotency-Key is still being processed.');
  return { status: row.status_code, body: row.response };
}

export async function storeResponse(q: Queryable, apiKeyId: string, key: string, res: StoredResponse): Promise<void> {
  await q.query(`UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE api_key_id = $1 AND key = $2`, [apiKeyId, key, res.status, JSON.stringify(res.body)]);
}

/** Records an error answer after the failed transaction rolled back; a concurrent winner is kept. */
export async function storeError(q: Queryable, apiKeyId: string, key: string, hash: string, res: StoredResponse, now: Date): Promise<void> {
  await q.query(
    `INSERT INTO idempotency_keys (api_key_id, key, request_hash, created, status_code, response) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (api_key_id, key) DO NOTHING`,
    [apiKeyId, key, hash, now, res.status, JSON.stringify(res.body)],
  );
}

export async function purgeExpiredKeys(q: Queryable, now: Date): Promise<number> {
  const res = await q.query(`DELETE FROM idempotency_keys WHERE created < $1`, [new Date(now.getTime() - KEY_TTL_MS)]);
  return res.rowCount;
}
