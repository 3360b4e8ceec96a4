import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/time/index.js';
import { openTestDb, usingPostgres, type TestDb } from '../../test/helpers/db.js';
import { claimSql } from './index.js';
import { DataDirLockedError, lockDataDir } from './lock.js';
import { loadMigrations, migrate } from './migrate.js';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
});
afterAll(() => t.close());

describe('migrations', () => {
  it('are recorded once, with the clock time, and re-running applies nothing', async () => {
    const { rows } = await t.db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.name)).toEqual(loadMigrations().map((m) => m.name));
    expect(await migrate(t.db, new ManualClock('2030-01-01T00:00:00Z'))).toEqual([]);
  });
});

describe('transactions', () => {
  it('commit on success and roll back everything on error', async () => {
    await t.db.exec('CREATE TABLE tx_probe (id int PRIMARY KEY)');
    await t.db.tx(async (q) => {
      await q.query('INSERT INTO tx_probe VALUES (1)');
    });
    await expect(
      t.db.tx(async (q) => {
        await q.query('INSERT INTO tx_probe VALUES (2)');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const { rows } = await t.db.query<{ id: number }>('SELECT id FROM tx_probe ORDER BY id');
    expect(rows.map((r) => r.id)).toEqual([1]);
  });

  it('parses BIGINT minor units as numbers', async () => {
    const { rows } = await t.db.query<{ v: number }>('SELECT 5400000::bigint AS v');
    expect(rows[0]!.v).toBe(5400000);
  });
});

describe.runIf(usingPostgres)('row claims on PostgreSQL', () => {
  it('FOR UPDATE SKIP LOCKED gives concurrent workers disjoint rows', async () => {
    await t.db.exec('CREATE TABLE claim_probe (id int PRIMARY KEY); INSERT INTO claim_probe SELECT g FROM generate_series(1, 10) g');
    const other = await t.openAnother(2);
    let releaseFirst!: () => void;
    const held = new Promise<void>((r) => (releaseFirst = r));
    let firstIds: number[] = [];
    let claimed!: () => void;
    const firstClaimed = new Promise<void>((r) => (claimed = r));
    const first = t.db.tx(async (q) => {
      firstIds = (await q.query<{ id: number }>(claimSql('SELECT id FROM claim_probe ORDER BY id', 4))).rows.map((r) => r.id);
      claimed();
      await held;
    });
    // The second claims while the first holds its rows (a fixed sleep could run before the first claimed).
    await firstClaimed;
    const secondIds = await other.tx(async (q) => (await q.query<{ id: number }>(claimSql('SELECT id FROM claim_probe ORDER BY id', 4))).rows.map((r) => r.id));
    releaseFirst();
    await first;
    expect(firstIds).toEqual([1, 2, 3, 4]);
    expect(secondIds).toEqual([5, 6, 7, 8]);
  });
});

describe('PGlite data-folder lock', () => {
  it('refuses a second holder and frees the folder on release', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'recur-lock-')), 'data');
    const release = lockDataDir(dir);
    // Same pid re-locking is treated as stale (a crashed earlier run of this process id); a live
    // other process is refused — simulate it with this test runner's parent pid.
    release();
    writeFileSync(`${dir}.lock`, String(process.ppid));
    expect(() => lockDataDir(dir)).toThrow(DataDirLockedError);
    writeFileSync(`${dir}.lock`, '999999999');
    const again = lockDataDir(dir); // stale lock from a dead process is taken over
    again();
  });
});
