import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimRows, type Queryable } from '../db/index.js';
import { openTestDb, type TestDb } from '../../test/helpers/db.js';
import { drainPasses, heldFilter, holdSeconds, runOneByOne, type HoldableJob } from './holds.js';

// runOneByOne on a job of its own: rows a–e are due; the job marks what it claims done and fails on
// the rows listed as poisoned, as a renewal that fails in the database would.

const NOW = new Date('2026-05-01T10:00:00Z');
let t: TestDb;
let poisoned: Set<string>;
const job: HoldableJob = {
  name: 'test.things',
  async run(q: Queryable, limit: number) {
    const { rows } = await claimRows<{ id: string }>(q, `SELECT id FROM things WHERE NOT done AND ${heldFilter('test.things', 'things.id', '$1')} ORDER BY id`, [NOW], limit);
    for (const r of rows) {
      await q.query(`UPDATE things SET done = true WHERE id = $1`, [r.id]);
      if (poisoned.has(r.id)) throw new Error(`bad row ${r.id}`);
    }
    return rows.length;
  },
};
const state = async () => ({
  done: (await t.db.query<{ id: string }>(`SELECT id FROM things WHERE done ORDER BY id`)).rows.map((r) => r.id),
  held: (await t.db.query<{ object_id: string; failures: number; last_error: string }>(`SELECT object_id, failures, last_error FROM work_holds ORDER BY object_id`)).rows.map((h) => [h.object_id, h.failures, h.last_error]),
});

beforeAll(async () => {
  t = await openTestDb();
  await t.db.exec(`CREATE TABLE things (id text PRIMARY KEY, done boolean NOT NULL DEFAULT false)`);
});
beforeEach(async () => {
  await t.db.exec(`DELETE FROM things; DELETE FROM work_holds; INSERT INTO things (id) VALUES ('a'), ('b'), ('c'), ('d'), ('e')`);
});
afterAll(() => t.close());

describe('runOneByOne', () => {
  it('handles every row but the one that fails alone, which is held', async () => {
    poisoned = new Set(['b']);
    expect(await runOneByOne(t.db, job, 10, NOW)).toEqual({ handled: 4, held: ['b'] });
    expect(await state()).toEqual({ done: ['a', 'c', 'd', 'e'], held: [['b', 1, 'bad row b']] });
    // Held: the claim skips it, nothing is left to do.
    expect(await runOneByOne(t.db, job, 10, NOW)).toEqual({ handled: 0, held: [] });
  });

  it('stops at `limit` rows', async () => {
    poisoned = new Set(['a']);
    expect(await runOneByOne(t.db, job, 2, NOW)).toEqual({ handled: 1, held: ['a'] });
    expect((await state()).done).toEqual(['b']);
  });

  it('stops and throws when the first three rows all fail: a fault of the job, not of rows', async () => {
    poisoned = new Set(['a', 'b', 'c', 'd', 'e']);
    await expect(runOneByOne(t.db, job, 10, NOW)).rejects.toThrow('bad row c');
    expect(await state()).toEqual({ done: [], held: [['a', 1, 'bad row a'], ['b', 1, 'bad row b'], ['c', 1, 'bad row c']] });
  });

  it('throws, holding nothing, when the job fails before it claims a row', async () => {
    const broken: HoldableJob = { name: 'test.broken', run: async (q) => (await q.query(`SELECT * FROM no_such_table`)).rows.length };
    await expect(runOneByOne(t.db, broken, 10, NOW)).rejects.toThrow(/no_such_table/);
    expect((await state()).held).toEqual([]);
  });

  it('holds for a minute, doubling with each failure, at most a day', () => {
    expect([1, 2, 3, 4, 11, 12, 40].map(holdSeconds)).toEqual([60, 120, 240, 480, 61_440, 86_400, 86_400]);
  });
});

describe('drainPasses', () => {
  /** A pass that handles the next of `counts` each time it runs, recording its calls. */
  const passes = (counts: number[]) => {
    const calls: number[] = [];
    return { calls, pass: async () => (calls.push(counts[calls.length] ?? 0), counts[calls.length - 1] ?? 0) };
  };

  it('repeats until a pass finds nothing, and sums what they handled', async () => {
    const p = passes([3, 2, 0, 5]);
    expect(await drainPasses(p.pass, { maxPasses: 100 })).toBe(5);
    expect(p.calls).toHaveLength(3);
  });

  it('stops after a pass that did work once nothing more is due, without a confirming pass', async () => {
    const p = passes([3, 2, 1]);
    let asked = 0;
    expect(await drainPasses(p.pass, { maxPasses: 100, stillDue: async () => ++asked < 2 })).toBe(5);
    expect([p.calls.length, asked]).toEqual([2, 2]);
  });

  it('runs at most maxPasses', async () => {
    const p = passes([1, 1, 1, 1, 1]);
    expect(await drainPasses(p.pass, { maxPasses: 3 })).toBe(3);
  });
});
