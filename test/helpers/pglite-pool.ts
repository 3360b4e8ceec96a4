import type { PGlite } from '@electric-sql/pglite';
import { createPglite, wrapPglite } from '../../src/db/pglite.js';
import type { Db, Queryable } from '../../src/db/index.js';

// Opening a PGlite database from the run's migrated template costs ~0.6 s and ~0.9 s of CPU, and nearly
// every test file opens one: reusing them took `npm test` from 9 min 44 s of CPU to 6 min 32 s. A test
// worker process runs file after file (isolate: false), so a database a file has closed is kept, and the
// next file gets it back emptied to the template's state — every table truncated, the template's own
// rows (migrations, credit system accounts, the installation row) put back, session settings reset — in
// ~0.1–0.2 s. An instance whose schema a file changed (a table, column, constraint, trigger or function,
// statistics from ANALYZE) is closed instead of reused, and so is one that does not answer at once (a
// transaction left open): a file always starts from exactly what a fresh copy of the template holds.

interface Baseline {
  tables: string[];
  rows: { table: string; json: string }[];
  fingerprint: string;
}

const FINGERPRINT = `SELECT md5(string_agg(x, ',' ORDER BY x)) AS f FROM (
    SELECT 'c:' || c.relname::text || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL SELECT 'a:' || c.relname::text || '.' || a.attname::text || ':' || a.atttypid::text || ':' || a.attnotnull::text
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL SELECT 'k:' || conname::text FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = 'public'
    UNION ALL SELECT 't:' || tgname::text FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL SELECT 'p:' || p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL SELECT 's:' || count(*)::text FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
  ) q(x)`;

const spare: PGlite[] = [];
const MAX_SPARE = 2;
/** How this process's test databases were come by (pglite-pool.test.ts checks the reuse). */
export const poolStats = { opened: 0, reused: 0, discarded: 0 };
let baseline: Baseline | undefined;

async function fingerprint(pg: PGlite): Promise<string> {
  return (await pg.query<{ f: string }>(FINGERPRINT)).rows[0]!.f;
}

/** What a fresh copy of the template holds: taken from the first instance this process opens, before any use. */
async function takeBaseline(pg: PGlite): Promise<Baseline> {
  const tables = (
    await pg.query<{ t: string }>(
      `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`,
    )
  ).rows.map((r) => r.t);
  const rows: Baseline['rows'] = [];
  for (const table of tables) {
    const json = (await pg.query<{ j: string | null }>(`SELECT json_agg(x)::text AS j FROM ${table} x`)).rows[0]!.j;
    if (json) rows.push({ table, json });
  }
  return { tables, rows, fingerprint: await fingerprint(pg) };
}

/** Back to the template's contents, in one transaction (append-only triggers are off for it: session_replication_role). */
async function reset(pg: PGlite, b: Baseline): Promise<void> {
  // Settings a file changed for its session (SET without LOCAL) go back to the defaults too.
  await pg.exec('RESET ALL');
  await pg.transaction(async (tx) => {
    await tx.exec(`SET LOCAL session_replication_role = replica; TRUNCATE ${b.tables.join(', ')} RESTART IDENTITY`);
    for (const r of b.rows) await tx.query(`INSERT INTO ${r.table} SELECT * FROM json_populate_recordset(NULL::${r.table}, $1::json)`, [r.json]);
  });
}

/** Resolves to false when the instance does not answer within `ms` (a file left a transaction open). */
async function answers(pg: PGlite, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([pg.query('SELECT 1').then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A database holding exactly the migrated template's contents. Its `close()` hands the instance back
 * for the next file; the Db it returns refuses every query after that, so late work of a closed test
 * cannot reach the next file's data.
 */
export async function pooledPglite(template: Blob): Promise<Db> {
  let pg = spare.pop();
  if (pg) poolStats.reused++;
  else {
    poolStats.opened++;
    pg = await createPglite(undefined, { loadDataDir: template });
    baseline ??= await takeBaseline(pg);
  }
  const inner = wrapPglite(pg);
  let open = true;
  const guard = () => {
    if (!open) throw new Error('This test database was closed.');
  };
  const instance = pg;
  return {
    kind: 'pglite',
    async query<R>(sql: string, params?: readonly unknown[]) {
      guard();
      return inner.query<R>(sql, params);
    },
    async exec(sql: string) {
      guard();
      return inner.exec(sql);
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>) {
      guard();
      return inner.tx<T>(fn);
    },
    close: async () => {
      if (!open) return;
      open = false;
      if (spare.length < MAX_SPARE && baseline && (await answers(instance, 2000)) && (await fingerprint(instance)) === baseline.fingerprint) {
        try {
          await reset(instance, baseline);
          spare.push(instance);
        } catch {
          poolStats.discarded++;
          await instance.close().catch(() => undefined);
        }
      } else {
        poolStats.discarded++;
        // Not awaited when it does not answer: closing waits for the open transaction too.
        void instance.close().catch(() => undefined);
      }
    },
  };
}
