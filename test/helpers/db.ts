import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { ManualClock } from '../../src/core/time/index.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';
import type { Db } from '../../src/db/index.js';
import { pooledPglite } from './pglite-pool.js';

// Every database test runs on the embedded PGlite by default and on a real PostgreSQL when
// DATABASE_URL is set (CI does both). On PostgreSQL each test file gets its own schema.

export interface TestDb {
  db: Db;
  /** Opens another independent connection pool on the same database (worker races). */
  openAnother: (max?: number) => Promise<Db>;
  close: () => Promise<void>;
}

export const usingPostgres = Boolean(process.env.DATABASE_URL);

let template: Blob | undefined;
function migratedTemplate(): Blob | undefined {
  const file = inject('pgliteTemplate');
  if (!file) return undefined;
  template ??= new Blob([readFileSync(file)]);
  return template;
}

export async function openTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const url = process.env.DATABASE_URL;
  let db: Db;
  let close: () => Promise<void>;
  let openAnother: TestDb['openAnother'];
  if (url) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.end();
    const pools: Db[] = [];
    openAnother = async (max = 10) => {
      const d = await openPostgres({ connectionString: url, searchPath: schema, max });
      pools.push(d);
      return d;
    };
    db = await openAnother();
    close = async () => {
      for (const p of pools) await p.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    };
  } else {
    // A migrated copy made once per run (test/global-setup.ts), or an earlier file's emptied back to it
    // (pglite-pool.ts); migrate() below then finds nothing to do. migrate: false gets an empty database.
    const template = opts.migrate === false ? undefined : migratedTemplate();
    db = template ? await pooledPglite(template) : await openPglite(undefined);
    openAnother = async () => {
      throw new Error('PGlite is a single connection: concurrency tests need DATABASE_URL');
    };
    close = () => db.close();
  }
  if (opts.migrate !== false) await migrate(db, clock);
  return { db, openAnother, close };
}

/**
 * Opens a PGlite data folder for CLI tests, made from the run's migrated template when the folder is
 * new — so a spawned `recur` finds every migration applied instead of applying them all (~8 s each
 * time a file starts on a fresh folder). test/readme-promises.test.ts still migrates a fresh folder.
 */
export async function openMigratedDataDir(dataDir: string): Promise<Db> {
  const template = migratedTemplate();
  const db = await openPglite(dataDir, template ? { loadDataDir: template } : {});
  await migrate(db, new ManualClock('2026-01-01T00:00:00Z'));
  return db;
}
