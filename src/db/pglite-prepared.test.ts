import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPglite, wrapPglite } from './pglite.js';
import { PreparedStatements } from './pglite-prepared.js';
import type { PGlite } from '@electric-sql/pglite';
import type { Db } from './types.js';
import { usingPostgres } from '../../test/helpers/db.js';

// Recur's statements reach PGlite as named prepared statements (pglite-prepared.ts). What the server
// holds is read from PostgreSQL's own view of a session's prepared statements.

let pg: PGlite;
let db: Db;
/** A second instance, for the bound and for closing. */
let spare: PGlite;

beforeAll(async () => {
  if (usingPostgres) return;
  [pg, spare] = await Promise.all([createPglite(undefined), createPglite(undefined)]);
  db = wrapPglite(pg);
  await db.exec(`CREATE TABLE p (id text PRIMARY KEY, n int NOT NULL CHECK (n >= 0))`);
});
afterAll(async () => {
  await pg?.close();
  if (spare && !spare.closed) await spare.close();
});

const held = async () => (await pg.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements ORDER BY prepare_time`)).rows.map((r) => r.statement);

describe.skipIf(usingPostgres)('PGlite prepared statements', () => {
  it('prepares a statement once and reuses it, in and out of transactions', async () => {
    const insert = 'INSERT INTO p (id, n) VALUES ($1, $2)';
    await db.query(insert, ['a', 1]);
    await db.tx(async (q) => {
      await q.query(insert, ['b', 2]);
      await q.query(insert, ['c', 3]);
    });
    expect((await held()).filter((s) => s === insert)).toHaveLength(1);
    const { rows, rowCount } = await db.query<{ id: string; n: number }>('SELECT id, n FROM p WHERE n >= $1 ORDER BY id', [2]);
    expect(rows).toEqual([
      { id: 'b', n: 2 },
      { id: 'c', n: 3 },
    ]);
    expect(rowCount).toBe(2);
    expect((await db.query('UPDATE p SET n = n + 1 WHERE id = ANY($1::text[])', [['a', 'b']])).rowCount).toBe(2);
  });

  it('leaves out a statement that fails to parse, and the connection goes on', async () => {
    const before = (await held()).length;
    await expect(db.query('SELECT nope FROM p')).rejects.toThrow(/column "nope" does not exist/);
    await expect(db.query('SELECT n FROM p WHERE id = $1 AND nope', ['a'])).rejects.toMatchObject({ code: '42703', query: 'SELECT n FROM p WHERE id = $1 AND nope', params: ['a'] });
    expect(await held()).toHaveLength(before);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM p')).rows[0]!.n).toBe(3);
  });

  it('a failing prepared statement rolls its transaction back, and the statement stays usable', async () => {
    const update = 'UPDATE p SET n = $2 WHERE id = $1';
    await expect(
      db.tx(async (q) => {
        await q.query(update, ['a', 10]);
        await q.query(update, ['b', -1]); // the CHECK refuses
      }),
    ).rejects.toMatchObject({ code: '23514' });
    expect((await db.query<{ n: number }>('SELECT n FROM p WHERE id = $1', ['a'])).rows[0]!.n).toBe(2);
    await db.query(update, ['a', 10]);
    expect((await db.query<{ n: number }>('SELECT n FROM p WHERE id = $1', ['a'])).rows[0]!.n).toBe(10);
    await expect(db.query('INSERT INTO p (id, n) VALUES ($1, $2)', ['a', 1])).rejects.toMatchObject({ code: '23505' });
  });

  it('drops every statement after a script or a statement that may change a table, so SELECT * shows new columns', async () => {
    await db.query('SELECT * FROM p WHERE id = $1', ['a']);
    expect((await held()).length).toBeGreaterThan(0);
    await db.query(`ALTER TABLE p ADD COLUMN note text DEFAULT 'x'`);
    expect(await held()).toEqual([]);
    expect((await db.query<Record<string, unknown>>('SELECT * FROM p WHERE id = $1', ['a'])).rows).toEqual([{ id: 'a', n: 10, note: 'x' }]);
    await db.exec(`ALTER TABLE p ADD COLUMN more int DEFAULT 7`);
    expect(await held()).toEqual([]);
    expect((await db.query<Record<string, unknown>>('SELECT * FROM p WHERE id = $1', ['a'])).rows).toEqual([{ id: 'a', n: 10, note: 'x', more: 7 }]);
  });

  it('a change made behind its back fails that run once, then the statement is prepared anew', async () => {
    const sql = 'SELECT * FROM p WHERE id = $1';
    await db.query(sql, ['a']);
    await pg.exec(`ALTER TABLE p DROP COLUMN more`);
    await expect(db.query(sql, ['a'])).rejects.toThrow(/cached plan must not change result type/);
    expect((await db.query<Record<string, unknown>>(sql, ['a'])).rows).toEqual([{ id: 'a', n: 10, note: 'x' }]);
  });

  it('shares the statements of one instance between its wrappers', async () => {
    const other = wrapPglite(pg);
    const sql = 'SELECT n FROM p WHERE id = $1';
    await db.query(sql, ['a']);
    expect((await other.query<{ n: number }>(sql, ['b'])).rows).toEqual([{ n: 3 }]);
    expect((await held()).filter((s) => s === sql)).toHaveLength(1);
  });

  it('keeps at most its bound, closing the least recently used', async () => {
    const statements = new PreparedStatements(spare, {}, 2);
    const q = (n: number) => statements.run(`SELECT ${n}::int AS v WHERE $1::int IS NOT NULL`, [n]);
    await q(1);
    await q(2);
    await q(1); // 1 is now the most recently used
    await q(3); // so 2 is closed
    const names = (await spare.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements ORDER BY statement`)).rows.map((r) => r.statement);
    expect(names).toEqual(['SELECT 1::int AS v WHERE $1::int IS NOT NULL', 'SELECT 3::int AS v WHERE $1::int IS NOT NULL']);
    expect((await q(2)).rows).toEqual([{ v: 2 }]);
  });

  it('refuses a query on a closed instance', async () => {
    const spareDb = wrapPglite(spare);
    await spareDb.query('SELECT 1 AS x');
    await spare.close();
    await expect(spareDb.query('SELECT 1 AS x')).rejects.toThrow(/closed/i);
  });
});
