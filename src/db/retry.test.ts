import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, usingPostgres, type TestDb } from '../../test/helpers/db.js';
import { newId } from '../core/ids/index.js';
import { txWithRetry } from './retry.js';
import type { Db } from './types.js';

describe('txWithRetry', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb({ migrate: false });
    await t.db.query(`CREATE TABLE retry_probe (id int PRIMARY KEY, n int NOT NULL)`);
    await t.db.query(`INSERT INTO retry_probe VALUES (1, 0), (2, 0)`);
  });
  afterAll(() => t?.close());

  it('does not rerun a transaction that failed for another reason, and rolls it back', async () => {
    let runs = 0;
    const err = await txWithRetry(t.db, async (q) => {
      runs++;
      await q.query(`UPDATE retry_probe SET n = n + 1 WHERE id = 1`);
      await q.query(`SELECT 1 / 0`);
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('22012');
    expect(runs).toBe(1);
    expect((await t.db.query<{ n: number }>(`SELECT n FROM retry_probe WHERE id = 1`)).rows[0]!.n).toBe(0);
  });

  it.runIf(usingPostgres)('reruns the loser of a real deadlock: both transactions commit once', async () => {
    const other: Db = await t.openAnother(1);
    let runsA = 0;
    let runsB = 0;
    const ids: string[] = [];
    // Each side locks its first row, waits until the other holds its own, then asks for the other's.
    let aHolds!: () => void;
    let bHolds!: () => void;
    const aReady = new Promise<void>((r) => (aHolds = r));
    const bReady = new Promise<void>((r) => (bHolds = r));
    const side = (db: Db, first: number, second: number, holds: () => void, waitFor: Promise<void>, count: () => void) =>
      txWithRetry(db, async (q) => {
        count();
        ids.push(`${first}:${newId('pi')}`);
        await q.query(`UPDATE retry_probe SET n = n + 1 WHERE id = $1`, [first]);
        holds();
        await waitFor;
        await q.query(`UPDATE retry_probe SET n = n + 10 WHERE id = $1`, [second]);
      });
    await Promise.all([
      side(t.db, 1, 2, aHolds, bReady, () => runsA++),
      side(other, 2, 1, bHolds, aReady, () => runsB++),
    ]);
    // PostgreSQL aborted exactly one of them; it ran again after the other committed.
    expect(runsA + runsB).toBe(3);
    // The rerun was given the ids of its aborted run (so a gateway key derived from them is the same).
    const loser = runsA === 2 ? '1:' : '2:';
    const loserIds = ids.filter((i) => i.startsWith(loser));
    expect(loserIds).toHaveLength(2);
    expect(loserIds[1]).toBe(loserIds[0]);
    const { rows } = await t.db.query<{ id: number; n: number }>(`SELECT id, n FROM retry_probe ORDER BY id`);
    expect(rows).toEqual([
      { id: 1, n: 11 },
      { id: 2, n: 11 },
    ]);
  }, 30_000);
});
