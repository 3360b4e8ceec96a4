import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';
import type { Db } from './types.js';

export type { Db, Queryable, QueryResult } from './types.js';

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
