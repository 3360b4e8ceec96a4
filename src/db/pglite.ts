import { PGlite, type Results } from '@electric-sql/pglite';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { asJson, decodeRows, JsonRows, mayChangeColumns } from './pglite-rows.js';
import { PreparedStatements, preparable } from './pglite-prepared.js';
import type { Db, Queryable, QueryResult } from './types.js';

// PGlite is one in-process connection. It serialises work itself: a query issued while a transaction
// is open waits until it ends. So on PGlite there is exactly one writer at a time — correct, but no
// parallelism; several processes must never open the same data folder (see src/db/lock.ts).

const INT8 = 20;
const BYTEA = 17;

/** PGlite's own bytea codec parses the hex text one byte at a time: ~35 ms for 130 kB. */
const byteaFromText = (v: string): Uint8Array => new Uint8Array(Buffer.from(v.slice(2), 'hex'));
const TEXT = 25;
const JSON_T = 114;
const JSONB = 3802;
const BINARY_FROM = 256;
// PGlite sends a parameter it gets as bytes in PostgreSQL's binary format; for bytea, text and json that
// format is the bytes themselves (jsonb's is a version byte, 1, then the text).
function byteaParam(v: unknown): string {
  if (!(v instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return v as unknown as string;
}
const asBytes = (s: string, prefix?: number): string =>
  (s.length < BINARY_FROM ? s : prefix === undefined ? Buffer.from(s, 'utf8') : Buffer.concat([Buffer.from([prefix]), Buffer.from(s, 'utf8')])) as unknown as string;
const textParam = (v: unknown): string => asBytes(v instanceof Date ? v.toISOString() : String(v));
const jsonText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
const jsonParam = (v: unknown): string => asBytes(jsonText(v));
const jsonbParam = (v: unknown): string => asBytes(jsonText(v), 1);
/**
 * Per query, so only for a statement's own parameters: an array's elements are serialised with the
 * instance's serializers, which must stay text (an array parameter is one array literal).
 */
const PARAMS = { serializers: { [BYTEA]: byteaParam, [TEXT]: textParam, [JSON_T]: jsonParam, [JSONB]: jsonbParam } };

/** `loadDataDir` starts the database as a copy of a dump (PGlite's `dumpDataDir`), e.g. an already migrated one. */
export async function openPglite(dataDir: string | undefined, opts: { loadDataDir?: Blob } = {}): Promise<Db> {
  return wrapPglite(await createPglite(dataDir, opts));
}

/** The PGlite instance itself, configured as Recur uses it (tests keep instances to reuse them). */
export async function createPglite(dataDir: string | undefined, opts: { loadDataDir?: Blob } = {}): Promise<PGlite> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  if (dataDir && !opts.loadDataDir && !existsSync(join(dataDir, 'PG_VERSION'))) await initDataDir(dataDir);
  const pg = new PGlite(dataDir ?? 'memory://', {
    // BIGINT columns hold minor units and counts; they stay within 2^53 (asserted by Money).
    parsers: { [INT8]: (v: string) => Number(v), [BYTEA]: byteaFromText },
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
  });
  await pg.waitReady;
  return pg;
}

/** One set of prepared statements per PGlite instance (test helpers wrap one instance many times). */
const preparedOf = new WeakMap<PGlite, PreparedStatements>();

/** The Db interface over an open PGlite instance. */
export function wrapPglite(pg: PGlite): Db {
  const json = new JsonRows();
  let prepared = preparedOf.get(pg);
  if (!prepared) preparedOf.set(pg, (prepared = new PreparedStatements(pg, PARAMS.serializers)));
  const statements = prepared;
  /** A statement, prepared when it is a query or DML; `inTx`: the caller is inside pg.transaction. */
  const send = async <R>(q: Pick<PGlite, 'query'>, inTx: boolean, sql: string, params: readonly unknown[]): Promise<Results<R>> => {
    if (!preparable(sql)) {
      const res = await q.query<R>(sql, params as unknown[], PARAMS);
      // A prepared statement reading a table whose columns changed would fail ("cached plan must not
      // change result type"): all are dropped after such a statement.
      if (mayChangeColumns(sql)) await statements.forgetAll(q);
      return res;
    }
    // The locks PGlite's own query takes: the query lock, and outside a transaction the transaction lock.
    const run = () =>
      pg.runExclusive(async () => {
        const res = await statements.run(sql, params);
        if (!inTx) await pg.syncToFs();
        return res as Results<R>;
      });
    if (inTx) return run();
    await pg._checkReady(); // a closed instance refuses, as its own query does
    return pg._runExclusiveTransaction(run);
  };
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>, inTx: boolean): Queryable => ({
    async exec(sql: string) {
      // Scripts are migrations and set-up: they may change any table's columns.
      json.clear();
      await q.exec(sql);
      await statements.forgetAll(q);
    },
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      // A statement seen before whose columns all survive JSON comes back as one text per row (pglite-rows.ts).
      json.noteStatement(sql);
      const shape = json.shapeOf(sql);
      if (shape) {
        const res = await send<{ j: string }>(q, inTx, asJson(sql), params);
        return { rows: decodeRows<R>(res.rows, shape), rowCount: res.rows.length };
      }
      const res = await send<R>(q, inTx, sql, params);
      if (shape === undefined) json.learn(sql, res.fields);
      // PGlite reports affectedRows = 0 for SELECT; pg reports the row count. Align on pg.
      return { rows: res.rows, rowCount: Math.max(res.affectedRows ?? 0, res.rows.length) };
    },
  });
  const top = wrap(pg, false);
  return {
    kind: 'pglite',
    query: top.query,
    tx: (fn) => pg.transaction((t) => fn(wrap(t, true))),
    exec: top.exec,
    close: () => pg.close(),
  };
}

/**
 * Makes a new data folder (PostgreSQL's initdb) in a short-lived child process. initdb grows PGlite's
 * WebAssembly memory to ~850 MB, and a process never gives that memory back: a server started on a new
 * folder stayed at ~850 MB RSS where the same server reopening the folder sits at ~430 MB.
 */
async function initDataDir(dataDir: string): Promise<void> {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // node -e SCRIPT ENTRY DIR: process.argv is [node, ENTRY, DIR].
  const script = `const { PGlite } = require(process.argv[1]);
    (async () => { const pg = new PGlite(process.argv[2]); await pg.waitReady; await pg.close(); })()
      .catch((err) => { console.error(err); process.exit(1); });`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, entry, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`could not create the PGlite data folder ${dataDir}: ${stderr.trim() || `exit code ${code}`}`))));
  });
}
