// The floor for `npm run bench:api`: the least an HTTP API can do to answer "GET one customer" —
// a bare Fastify route (no logger, hooks, auth or validation) running one primary-key SELECT.
// It runs as its own process, like the Recur server, so both are measured the same way.
//
// Environment:
//   FLOOR_DB=postgres  DATABASE_URL=…   a pg.Pool (FLOOR_POOL_SIZE, default 10 like Recur's) on the
//                                       same database and row Recur serves
//   FLOOR_DB=pglite    FLOOR_DATA_DIR=… PGlite is in-process, so the floor opens its own instance on its
//                                       own folder, applies Recur's migrations (dist/db/migrations) and
//                                       inserts the row FLOOR_CUSTOMER (JSON: {id, email, name})
//   PORT, HOST (default 127.0.0.1)
// Prints "floor listening on <port>" on stdout when ready; exits on SIGTERM/SIGINT.

import Fastify from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';

type Query = (sql: string, params: unknown[]) => Promise<{ rows: unknown[] }>;

const SELECT = 'SELECT * FROM customers WHERE id = $1';
const INT8 = 20;

async function openPostgres(): Promise<{ query: Query; close: () => Promise<void> }> {
  const { default: pg } = await import('pg');
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('FLOOR_DB=postgres needs DATABASE_URL');
  pg.types.setTypeParser(INT8, (v) => Number(v)); // as Recur does
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.FLOOR_POOL_SIZE || 10) });
  pool.on('error', () => undefined);
  return { query: (sql, params) => pool.query(sql, params), close: () => pool.end() };
}

async function openPglite(): Promise<{ query: Query; close: () => Promise<void> }> {
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = process.env.FLOOR_DATA_DIR;
  if (!dir) throw new Error('FLOOR_DB=pglite needs FLOOR_DATA_DIR');
  const db = new PGlite(dir, { parsers: { [INT8]: (v: string) => Number(v) } });
  await db.waitReady;
  // The same schema as Recur's: its own migration files, applied in order.
  const migrations = new URL('../dist/db/migrations/', import.meta.url);
  for (const f of readdirSync(migrations).filter((n) => /^\d{4}_.+\.sql$/.test(n)).sort()) {
    await db.exec(readFileSync(new URL(f, migrations), 'utf8'));
  }
  const c = JSON.parse(process.env.FLOOR_CUSTOMER ?? 'null') as { id: string; email: string | null; name: string | null } | null;
  if (!c?.id) throw new Error('FLOOR_DB=pglite needs FLOOR_CUSTOMER');
  await db.query('INSERT INTO customers (id, email, name, created, updated) VALUES ($1, $2, $3, now(), now())', [c.id, c.email, c.name]);
  return { query: (sql, params) => db.query(sql, params), close: () => db.close() };
}

async function main(): Promise<void> {
  const kind = process.env.FLOOR_DB;
  const db = kind === 'postgres' ? await openPostgres() : kind === 'pglite' ? await openPglite() : null;
  if (!db) throw new Error(`FLOOR_DB must be postgres or pglite, got '${kind ?? ''}'`);

  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>('/customers/:id', async (req, reply) => {
    const { rows } = await db.query(SELECT, [req.params.id]);
    if (!rows[0]) return reply.code(404).send({ error: 'not found' });
    return rows[0];
  });
  const port = Number(process.env.PORT || 0);
  await app.listen({ port, host: process.env.HOST || '127.0.0.1' });
  const addr = app.server.address();
  process.stdout.write(`floor listening on ${typeof addr === 'object' && addr ? addr.port : port}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`floor-server: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
