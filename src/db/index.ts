import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import type { Db, Queryable, QueryResult } from './types.js';

export type { Db, Queryable, QueryResult } from './types.js';
export { isTransientTxError, txWithRetry } from './retry.js';

export interface DbConfig {
  databaseUrl?: string;
  dataDir?: string;
  poolSize?: number;
}

/** DATABASE_URL selects PostgreSQL (production); otherwise the embedded PGlite in the data folder. */
export function openDb(cfg: DbConfig): Promise<Db> {
  if (cfg.databaseUrl) return openPostgres({ connectionString: cfg.databaseUrl, max: cfg.poolSize });
  return openPglite(cfg.dataDir);
}

/**
 * Claims up to `limit` rows for a worker. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets N workers
 * take disjoint batches; on PGlite (one connection, one writer) the clause is accepted and trivially
 * satisfied. `selectSql` must select from the table to claim and end before any FOR clause.
 */
export function claimSql(selectSql: string, limit: number): string {
  return `${selectSql} LIMIT ${Math.max(1, Math.floor(limit))} FOR UPDATE SKIP LOCKED`;
}

const claimLogs = new WeakMap<Queryable, string[]>();

/**
 * From now on, the ids of the rows every claimRows on `q` returns are appended to `into`: when a job
 * run on one claimed row fails, the worker knows which row it was (src/jobs/holds.ts).
 */
export function logClaims(q: Queryable, into: string[]): void {
  claimLogs.set(q, into);
}

/** For jobs that claim without claimRows (e.g. by locking wallets): the ids of the rows they took. */
export function noteClaimed(q: Queryable, ids: readonly string[]): void {
  claimLogs.get(q)?.push(...ids);
}

/**
 * Runs a claim (see claimSql) with bitmap scans off for that one statement. A claim reads a partial
 * "due" index whose rows leave it as they are handled (draft → open → paid); until vacuum runs, their
 * old entries stay in the index. A plain index scan marks such entries dead as it passes them, so the
 * next claim skips them; a bitmap scan never does, and revisits every handled row's heap page on
 * every claim — 0.5 s per claim at a million renewals, quadratic over a run. Must run in a transaction.
 */
export async function claimRows<T>(q: Queryable, selectSql: string, params: unknown[], limit: number): Promise<QueryResult<T>> {
  await q.query(`SET LOCAL enable_bitmapscan = off`);
  const result = await q.query<T>(claimSql(selectSql, limit), params);
  await q.query(`SET LOCAL enable_bitmapscan TO DEFAULT`);
  noteClaimed(
    q,
    result.rows.map((r) => String((r as { id?: unknown }).id)),
  );
  return result;
}
