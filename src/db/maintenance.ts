import type { Db } from './types.js';

// PGlite runs PostgreSQL as one process without its background workers: autovacuum never runs there
// (measured: 400,000 dead rows after two UPDATEs of a 200,000-row table, still there seconds later;
// reltuples -1, no statistics). So the embedded install would never reclaim dead rows, never set the
// visibility map and plan every query without statistics. The worker does autovacuum's job on PGlite:
// it asks pg_stat_user_tables which tables crossed autovacuum's own thresholds (read from the server's
// settings, so they are tuned the PostgreSQL way) and vacuums or analyzes just those. On PostgreSQL
// autovacuum does this itself; the worker leaves it alone.

export interface MaintenanceDue {
  table: string;
  vacuum: boolean;
  analyze: boolean;
}

/** The tables of the current schema past autovacuum's thresholds (dead rows, inserts, changes since ANALYZE). */
export async function tablesDue(db: Db): Promise<MaintenanceDue[]> {
  // This backend's own counts wait up to a second (or, idle, until a timer PGlite never runs) before
  // they reach the views; this makes the end of this statement publish them.
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query<MaintenanceDue>(
    `SELECT s.relname AS table,
            s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float8
                           + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0)
         OR s.n_ins_since_vacuum > current_setting('autovacuum_vacuum_insert_threshold')::float8
                                 + current_setting('autovacuum_vacuum_insert_scale_factor')::float8 * greatest(c.reltuples, 0) AS vacuum,
            s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8
                                  + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0) AS analyze
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = current_schema()
      ORDER BY s.relname`,
  );
  return rows.filter((r) => r.vacuum || r.analyze);
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * Vacuums (with ANALYZE) or only analyzes each table that is due, one statement each (VACUUM cannot
 * run in a transaction). Returns what it did.
 */
export async function maintainTables(db: Db): Promise<MaintenanceDue[]> {
  const due = await tablesDue(db);
  for (const t of due) await db.exec(t.vacuum ? `VACUUM (ANALYZE) ${ident(t.table)}` : `ANALYZE ${ident(t.table)}`);
  return due;
}
