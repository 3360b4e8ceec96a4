import { PGlite } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import type { Db, Queryable, QueryResult } from './types.js';

// PGlite is one in-process connection. It serialises work itself: a query issued while a transaction
// is open waits until it ends. So on PGlite there is exactly one writer at a time — correct, but no
// parallelism; several processes must never open the same data folder (see src/db/lock.ts).

const INT8 = 20;

/** `loadDataDir` starts the database as a copy of a dump (PGlite's `dumpDataDir`), e.g. an already migrated one. */
export async function openPglite(dataDir: string | undefined, opts: { loadDataDir?: Blob } = {}): Promise<Db> {
  return wrapPglite(await createPglite(dataDir, opts));
}

/** The PGlite instance itself, configured as Recur uses it (tests keep instances to reuse them). */
export async function createPglite(dataDir: string | undefined, opts: { loadDataDir?: Blob } = {}): Promise<PGlite> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite(dataDir ?? 'memory://', {
    // BIGINT columns hold minor units and counts; they stay within 2^53 (asserted by Money).
    parsers: { [INT8]: (v: string) => Number(v) },
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
  });
  await pg.waitReady;
  return pg;
}

/** The Db interface over an open PGlite instance. */
export function wrapPglite(pg: PGlite): Db {
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async exec(sql: string) {
      await q.exec(sql);
    },
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const res = await q.query<R>(sql, params as unknown[]);
      // PGlite reports affectedRows = 0 for SELECT; pg reports the row count. Align on pg.
      return { rows: res.rows, rowCount: Math.max(res.affectedRows ?? 0, res.rows.length) };
    },
  });
  const top = wrap(pg);
  return {
    kind: 'pglite',
    query: top.query,
    tx: (fn) => pg.transaction((t) => fn(wrap(t))),
    exec: top.exec,
    close: () => pg.close(),
  };
}
