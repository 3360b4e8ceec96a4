import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../core/time/index.js';
import type { Db } from './types.js';

// Numbered plain-SQL migrations (NNNN_name.sql), forward-only, recorded in schema_migrations.
// On PostgreSQL an advisory lock makes concurrent starts (several API/worker processes) apply them once.

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const LOCK_KEY = 7_202_611; // arbitrary, constant: "recur migrations"

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql: readFileSync(new URL(f, dir), 'utf8') }));
}

export async function migrate(db: Db, clock: Clock, migrations = loadMigrations()): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)`);
  const applied: string[] = [];
  await db.tx(async (q) => {
    if (db.kind === 'postgres') await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    const done = new Set((await q.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      // Multi-statement scripts need the simple protocol: no parameters here.
      await q.exec(m.sql);
      await q.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, clock.now()]);
      applied.push(m.name);
    }
  });
  return applied;
}
