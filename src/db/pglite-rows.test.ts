import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, usingPostgres, type TestDb } from '../../test/helpers/db.js';
import type { Db, Queryable } from './types.js';

// Rows read from PGlite as JSON (pglite-rows.ts) must be exactly the rows PGlite returns when it parses
// each field itself: every column type the JSON path accepts, with the values that differ most between
// the two encodings. The plain result is the same statement behind a WITH (never read as JSON); which
// way a statement went is seen from the server, by a function that logs the query text it runs in.

let t: TestDb;
let db: Db;

beforeAll(async () => {
  if (usingPostgres) return;
  t = await openTestDb({ migrate: false });
  db = t.db;
  await db.exec(`
    CREATE TABLE t (
      id text PRIMARY KEY, n bigint, i integer, s smallint, b boolean, ts timestamptz, tsl timestamp, d date,
      j jsonb, js json, tags text[], nums bigint[], v varchar(40), c char(3), ok boolean);
    INSERT INTO t VALUES
      ('a', 9007199254740991, -2147483648, -32768, true, '2026-03-01 00:00:10.123456+00', '2026-03-01 00:00:10', '2028-02-29',
       '{"x": [1, "two", null, {"y": "\\u00e9\\n\\"q\\""}], "big": 12345678901234}', '{"k":  1, "k2": [ ]}', ARRAY['a,b', 'c"d', NULL, '', 'é'], ARRAY[1, -2, 9007199254740991],
       'back\\slash', 'ab', false),
      ('b', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      ('c', 0, 0, 0, false, 'infinity', '-infinity', '1999-12-31', '"2026-03-01T00:00:10Z"', 'null', '{}', '{}', '2026-03-01T00:00:10+00:00', 'x  ', true),
      ('d', -1, 1, 1, true, '1970-01-01 00:00:00+00', '1970-01-01 00:00:00', '1970-01-01', '[]', '"s"', ARRAY['{}', 'NULL'], ARRAY[NULL]::bigint[], 'NULL', '   ', NULL);
    CREATE TABLE raw (id text, data bytea, amount numeric);
    INSERT INTO raw VALUES ('r', '\\x00ff10', 1.50);
    CREATE TABLE seen (q text);
    CREATE FUNCTION seen() RETURNS text LANGUAGE sql VOLATILE AS $$ INSERT INTO seen VALUES (current_query()) RETURNING 'x' $$;`);
});
afterAll(async () => {
  await t?.close();
});

/** How many statements run so far were wrapped in row_to_json. */
const wrapped = async (on: Queryable = db) => Number((await on.query<{ n: number }>(`SELECT count(*)::int AS n FROM seen WHERE q LIKE '%row_to_json(recur_row)%'`)).rows[0]!.n);
const plain = (sql: string) => `WITH plain AS (SELECT 1) ${sql}`;

describe.skipIf(usingPostgres)('PGlite rows read as JSON', () => {
  it('are what the driver returns, for every column type, once the statement has been seen', async () => {
    const sql = `SELECT *, seen() AS seen FROM t ORDER BY id DESC`;
    const expected = (await db.query(plain(sql))).rows;
    expect(await wrapped()).toBe(0);
    const first = await db.query(sql);
    expect(await wrapped()).toBe(0); // the first run is plain: it shows the columns
    const second = await db.query(sql);
    expect(await wrapped()).toBe(4); // seen() ran once per row inside the wrapped statement
    expect(second.rows).toEqual(expected);
    expect(first.rows).toEqual(expected);
    expect(second.rowCount).toBe(4);
    // The values the encodings disagree on, spelled out.
    const a = second.rows.find((r) => r.id === 'a')!;
    expect(a.n).toBe(9007199254740991);
    expect(a.ts).toEqual(new Date('2026-03-01T00:00:10.123Z'));
    expect(a.tags).toEqual(['a,b', 'c"d', null, '', 'é']);
    expect(a.j).toEqual({ x: [1, 'two', null, { y: 'é\n"q"' }], big: 12345678901234 });
    const c = second.rows.find((r) => r.id === 'c')!;
    expect(c.ts).toBe(Infinity);
    expect(c.v).toBe('2026-03-01T00:00:10+00:00'); // a text that looks like a timestamp stays text
    expect(c.c).toBe('x  ');
    expect(second.rows.find((r) => r.id === 'd')!.tags).toEqual(['{}', 'NULL']);
    expect(a.d).toEqual(new Date('2028-02-29'));
    expect(c.tsl).toBe(-Infinity);
  });

  it('keep the order, the parameters, a locking clause and a trailing comment', async () => {
    const sql = `SELECT *, seen() AS seen FROM t WHERE id = ANY($1::text[]) ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED -- a comment`;
    await db.tx(async (q) => {
      await q.query(sql, [['d', 'a', 'c']]);
      const before = await wrapped(q);
      const { rows } = await q.query<{ id: string }>(sql, [['d', 'a', 'c']]);
      const after = await wrapped(q);
      expect(after - before).toBe(2);
      expect(rows.map((r) => r.id)).toEqual(['a', 'c']);
    });
  });

  it('are not used where JSON would change a value: bytea, numeric, few columns, a statement that is not a SELECT', async () => {
    const before = await wrapped();
    for (let k = 0; k < 2; k++) {
      const { rows } = await db.query<{ data: Uint8Array; amount: string }>(`SELECT *, id AS a, id AS b, id AS c, seen() AS e FROM raw WHERE id = 'r'`);
      expect(Array.from(rows[0]!.data)).toEqual([0, 255, 16]);
      expect(rows[0]!.amount).toBe('1.50');
      expect((await db.query(`SELECT id, n, seen() AS e FROM t WHERE id = 'a'`)).rows).toEqual([{ id: 'a', n: 9007199254740991, e: 'x' }]);
      const { rows: inserted } = await db.query(`WITH x AS (SELECT 1) INSERT INTO raw (id) VALUES ('w${k}') RETURNING *, id AS a, id AS b, id AS c, seen() AS e`);
      expect(inserted).toHaveLength(1);
    }
    expect(await wrapped()).toBe(before);
  });

  it('are learned again after a change of schema, by a statement or a script', async () => {
    await db.exec(`CREATE TABLE grows (id text, a text, b text, c text, d text, e text); INSERT INTO grows VALUES ('g', 'a', 'b', 'c', 'd', 'e')`);
    const sql = `SELECT *, seen() AS seen FROM grows`;
    await db.query(sql);
    await db.query(sql);
    await db.query(`ALTER TABLE grows ADD COLUMN at timestamptz DEFAULT '2026-01-01T00:00:00Z', ADD COLUMN amount numeric DEFAULT 1.5`);
    const afterStatement = (await db.query<{ at: unknown; amount: unknown }>(sql)).rows[0]!;
    expect(afterStatement.at).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(afterStatement.amount).toBe('1.5');
    await db.query(sql);
    await db.exec(`ALTER TABLE grows DROP COLUMN amount; ALTER TABLE grows ADD COLUMN later timestamptz DEFAULT '2027-01-01T00:00:00Z'`);
    const afterScript = (await db.query<{ later: unknown }>(sql)).rows[0]!;
    expect(afterScript.later).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect((await db.query<{ later: unknown }>(sql)).rows[0]!.later).toEqual(new Date('2027-01-01T00:00:00Z'));
  });

  it('long text, json and jsonb parameters travel as bytes (binary format) and arrive whole', async () => {
    const { createHash } = await import('node:crypto');
    for (const n of [255, 256, 257, 20_000]) {
      const text = 'é"\\\n{},\t'.repeat(n).slice(0, n);
      const { rows } = await db.query<{ back: string; n: number; h: string }>(`SELECT $1::text AS back, char_length($1::text) AS n, md5($1::text) AS h`, [text]);
      expect(rows[0]).toEqual({ back: text, n, h: createHash('md5').update(text, 'utf8').digest('hex') });
      const doc = { text, list: Array.from({ length: Math.ceil(n / 50) }, (_, i) => ({ i, big: 2 ** 53 - 1 - i })) };
      const { rows: j } = await db.query<{ j: unknown; b: unknown; same: boolean }>(`SELECT $1::json AS j, $2::jsonb AS b, $2::jsonb = $3::text::jsonb AS same`, [JSON.stringify(doc), doc, JSON.stringify(doc)]);
      expect(j[0]).toEqual({ j: doc, b: doc, same: true });
      // An array's elements stay text inside its array literal, long ones too.
      const { rows: a } = await db.query<{ arr: (string | null)[] }>(`SELECT $1::text[] AS arr`, [[text, 'short', null]]);
      expect(a[0]!.arr).toEqual([text, 'short', null]);
    }
  });

  it('bytea is sent as bytes and read through Node’s hex codec', async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    await db.query(`INSERT INTO raw (id, data) VALUES ('big', $1)`, [bytes]);
    const { rows } = await db.query<{ data: Uint8Array; ok: boolean }>(`SELECT data, data = decode($1, 'hex') AS ok FROM raw WHERE id = 'big'`, [Buffer.from(bytes).toString('hex')]);
    expect(rows[0]!.ok).toBe(true);
    expect(rows[0]!.data).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(rows[0]!.data).equals(Buffer.from(bytes))).toBe(true);
  });
});
