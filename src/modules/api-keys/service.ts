import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { NotFoundError } from '../../core/errors/index.js';

// Secret keys are 32 random bytes (base62-ish via base64url) behind `sk_`. Only a SHA-256 hash is
// stored: the key has 256 bits of entropy, so a slow password hash would buy nothing and cost
// latency on every request.

export type Scope = 'read' | 'write' | 'admin';
export const SCOPE_RANK: Record<Scope, number> = { read: 1, write: 2, admin: 3 };

export interface ApiKeyRow {
  id: string;
  name: string;
  scope: Scope;
  last4: string;
  created: Date;
  revoked_at: Date | null;
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export async function createApiKey(q: Queryable, input: { name: string; scope: Scope }, now: Date): Promise<{ key: ApiKeyRow; secret: string }> {
  const secret = 'sk_' + randomBytes(32).toString('base64url');
  const id = newId('key');
  const { rows } = await q.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, name, scope, hash, last4, created) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, name, scope, last4, created, revoked_at`,
    [id, input.name, input.scope, hashKey(secret), secret.slice(-4), now],
  );
  return { key: rows[0]!, secret };
}

export async function listApiKeys(q: Queryable): Promise<ApiKeyRow[]> {
  const { rows } = await q.query<ApiKeyRow>(`SELECT id, name, scope, last4, created, revoked_at FROM api_keys ORDER BY id`);
  return rows;
}

export async function revokeApiKey(q: Queryable, id: string, now: Date): Promise<ApiKeyRow> {
  const { rows } = await q.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING id, name, scope, last4, created, revoked_at`,
    [id, now],
  );
  if (!rows[0]) throw new NotFoundError('api_key', id);
  return rows[0];
}

export async function countApiKeys(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys`);
  return rows[0]!.n;
}

export async function findActiveKey(q: Queryable, secret: string): Promise<{ id: string; scope: Scope } | null> {
  const { rows } = await q.query<{ id: string; scope: Scope }>(`SELECT id, scope FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, [hashKey(secret)]);
  return rows[0] ?? null;
}
