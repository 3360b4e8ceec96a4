import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { ManualClock } from '../core/time/index.js';
import { openTestDb, usingPostgres, type TestDb } from '../../test/helpers/db.js';
import { allJobs } from '../jobs/registry.js';
import type { JobContext } from '../jobs/worker.js';
import { maintainTables, tablesDue } from './maintenance.js';

// PGlite has no autovacuum: the worker vacuums and analyzes the tables past autovacuum's thresholds
// (50 rows + 20 % of the table dead, 50 + 10 % changed since ANALYZE, 1,000 + 20 % inserted). On
// PostgreSQL autovacuum does it, and the job does nothing.

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb({ migrate: false });
  await t.db.exec(`CREATE TABLE upkeep_probe (id int PRIMARY KEY, v int);
                   INSERT INTO upkeep_probe SELECT g, 0 FROM generate_series(1, 1000) g;`);
});
afterAll(() => t.close());

const stats = async () => {
  await t.db.query('SELECT pg_stat_force_next_flush()'); // as tablesDue does: this backend's counts, now
  return (
    await t.db.query<{ dead: number; reltuples: number; vacuumed: boolean; analyzed: boolean }>(
      `SELECT s.n_dead_tup::int AS dead, c.reltuples::int AS reltuples, s.last_vacuum IS NOT NULL AS vacuumed, s.last_analyze IS NOT NULL AS analyzed
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'upkeep_probe'`,
    )
  ).rows[0]!;
};
const probe = async () => (await tablesDue(t.db)).find((d) => d.table === 'upkeep_probe') ?? null;

describe.skipIf(usingPostgres)('table upkeep on PGlite', () => {
  it('vacuums a table past the dead-row threshold, then leaves it alone until it crosses it again', async () => {
    await t.db.exec('UPDATE upkeep_probe SET v = 1 WHERE id <= 600');
    // Asked first, before anything else made this backend publish its counts.
    expect(await probe()).toEqual({ table: 'upkeep_probe', vacuum: true, analyze: true });
    expect(await stats()).toEqual({ dead: 600, reltuples: -1, vacuumed: false, analyzed: false });

    const done = await maintainTables(t.db);
    expect(done.find((d) => d.table === 'upkeep_probe')).toEqual({ table: 'upkeep_probe', vacuum: true, analyze: true });
    expect(await stats()).toEqual({ dead: 0, reltuples: 1000, vacuumed: true, analyzed: true });
    expect(await probe()).toBeNull();

    // 200 dead rows: under 50 + 20 % of 1,000 (250) for VACUUM, over 50 + 10 % (150) for ANALYZE.
    await t.db.exec('UPDATE upkeep_probe SET v = 2 WHERE id <= 200');
    expect(await probe()).toEqual({ table: 'upkeep_probe', vacuum: false, analyze: true });
    await maintainTables(t.db);
    expect((await stats()).dead).toBe(200);
    expect(await probe()).toBeNull();
    // 100 more: 300 dead, past 250.
    await t.db.exec('UPDATE upkeep_probe SET v = 3 WHERE id > 900');
    expect(await probe()).toEqual({ table: 'upkeep_probe', vacuum: true, analyze: false });
    await maintainTables(t.db);
    expect((await stats()).dead).toBe(0);
  });

  it('runs from the worker a minute after it starts, then at most once a minute', async () => {
    const clock = new ManualClock('2026-01-01T00:00:00Z');
    const job = allJobs().find((j) => j.name === 'db.maintenance')!;
    // The job reads no gateways or settings.
    const ctx: JobContext = { db: t.db, clock, logger: pino({ level: 'silent' }) as unknown as FastifyBaseLogger, deps: null as unknown as JobContext['deps'] };
    await t.db.exec('UPDATE upkeep_probe SET v = 4 WHERE id <= 400');
    await job.run(ctx);
    expect((await stats()).dead).toBe(400);
    clock.advance(59_000);
    await job.run(ctx);
    expect((await stats()).dead).toBe(400);
    clock.advance(1_000);
    await job.run(ctx);
    expect((await stats()).dead).toBe(0);
    await t.db.exec('UPDATE upkeep_probe SET v = 5 WHERE id <= 400');
    clock.advance(30_000);
    await job.run(ctx);
    expect((await stats()).dead).toBe(400);
    clock.advance(30_000);
    await job.run(ctx);
    expect((await stats()).dead).toBe(0);
  });
});
