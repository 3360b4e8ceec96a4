import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../test/helpers/db.js';
import { bulkInsert, bulkUpdate } from './bulk.js';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb({ migrate: false });
  await t.db.exec('CREATE TABLE bulk_probe (id text PRIMARY KEY, n bigint, ok boolean, at timestamptz, doc jsonb, note text)');
});
afterAll(() => t.close());

describe('bulk writes', () => {
  it('insert many rows in one statement, with nulls, jsonb and timestamps, and update them by id', async () => {
    const cols = [
      { name: 'id', type: 'text' },
      { name: 'n', type: 'bigint' },
      { name: 'ok', type: 'boolean' },
      { name: 'at', type: 'timestamptz' },
      { name: 'doc', type: 'jsonb' },
      { name: 'note', type: 'text' },
    ] as const;
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: `r${i}`, n: i * 1000, ok: i % 2 === 0, at: new Date(Date.UTC(2026, 0, 1 + (i % 28))), doc: { i, tags: ['a'] }, note: i % 3 ? null : 'x' }));
    const inserted = await bulkInsert<{ id: string }>(t.db, 'bulk_probe', cols, rows, 'ON CONFLICT (id) DO NOTHING RETURNING id');
    expect(inserted).toHaveLength(500);
    const again = await bulkInsert(t.db, 'bulk_probe', cols, rows.slice(0, 10), 'ON CONFLICT (id) DO NOTHING RETURNING id');
    expect(again).toHaveLength(0);
    const r7 = (await t.db.query<{ n: number; ok: boolean; at: Date; doc: unknown; note: string | null }>('SELECT * FROM bulk_probe WHERE id = $1', ['r7'])).rows[0]!;
    expect(r7).toMatchObject({ n: 7000, ok: false, doc: { i: 7, tags: ['a'] }, note: null });
    expect(new Date(r7.at).toISOString()).toBe('2026-01-08T00:00:00.000Z');
    const updated = await bulkUpdate(t.db, 'bulk_probe', [{ name: 'n', type: 'bigint' }, { name: 'doc', type: 'jsonb' }], [
      { id: 'r1', n: -1, doc: { z: 1 } },
      { id: 'r2', n: -2, doc: null },
    ]);
    expect(updated).toBe(2);
    const { rows: after } = await t.db.query<{ id: string; n: number; doc: unknown }>(`SELECT id, n, doc FROM bulk_probe WHERE id IN ('r1','r2') ORDER BY id`);
    expect(after).toEqual([
      { id: 'r1', n: -1, doc: { z: 1 } },
      { id: 'r2', n: -2, doc: null },
    ]);
  });
});
