import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMonths, systemClock } from '../../src/core/time/index.js';
import type { Db } from '../../src/db/index.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { createDueSubscriptions, renewalCounts } from '../helpers/due-subscriptions.js';
import { openTestDb, usingPostgres, type TestDb } from '../helpers/db.js';

// Real `recur worker` processes racing over the same due subscriptions on one PostgreSQL: every
// subscription must get exactly one invoice and one successful charge — also when a worker is killed
// mid-batch (SIGKILL: its transaction rolls back) and another takes over.

const N = 10_000;
let t: TestDb;
let priceId: string;

function startWorker(schemaUrl: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: schemaUrl,
      RECUR_FINALIZE_DELAY_SECONDS: '0',
      RECUR_WORKER_BATCH_SIZE: '250',
      RECUR_LOG_LEVEL: 'error',
      RECUR_SEED: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitFor(db: Db, prefix: string, done: (paid: number) => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM invoices WHERE subscription LIKE $1 AND billing_reason = 'subscription_cycle' AND status = 'paid'`,
      [`sub_${prefix}%`],
    );
    if (done(rows[0]!.n)) return;
    if (Date.now() > until) throw new Error(`timed out with ${rows[0]!.n} paid`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.exitCode !== null || w.signalCode !== null) return resolve();
          w.once('exit', () => resolve());
          w.kill('SIGTERM');
        }),
    ),
  );
}

describe.runIf(usingPostgres)('worker race on PostgreSQL', () => {
  let url: string;
  beforeAll(async () => {
    t = await openTestDb();
    await t.db.tx((q) => seedCatalog(q, systemClock.now()));
    priceId = (await t.db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    const schema = (await t.db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    const u = new URL(process.env.DATABASE_URL!);
    u.searchParams.set('options', `-c search_path=${schema}`);
    url = u.toString();
  }, 120_000);
  afterAll(() => t?.close());

  for (const workers of [2, 4]) {
    it(`${workers} workers renew ${N} due subscriptions exactly once each`, async () => {
      const prefix = `w${workers}x`;
      const dueAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
      await createDueSubscriptions(t.db, { n: N, dueAt, priceId, prefix });
      const procs = Array.from({ length: workers }, () => startWorker(url));
      try {
        if (workers === 4) {
          // Kill one worker hard in the middle of the run and start a replacement.
          await waitFor(t.db, prefix, (paid) => paid > 0, 60_000);
          procs[0]!.kill('SIGKILL');
          procs.push(startWorker(url));
        }
        await waitFor(t.db, prefix, (paid) => paid === N, 240_000);
        // Give the workers a moment to (wrongly) do anything more, then stop them.
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        await stop(procs);
      }
      // The anchor is dueAt − 31 days, so every subscription's next period ends one anchor-month after dueAt.
      const anchor = new Date(dueAt.getTime() - 31 * 86_400_000);
      const nextEnd = addMonths(anchor, 2);
      const counts = await renewalCounts(t.db, prefix, nextEnd);
      expect(counts).toEqual({
        invoices: N,
        paidInvoices: N,
        subscriptionsWithOneInvoice: N,
        duplicatePeriods: 0,
        succeededIntents: N,
        intentsPerInvoiceMax: 1,
        advanced: N,
      });
      const total = (await t.db.query<{ s: number }>(`SELECT sum(amount_paid)::bigint AS s FROM invoices WHERE subscription LIKE $1`, [`sub_${prefix}%`])).rows[0]!.s;
      expect(total).toBe(N * 9700);
    }, 300_000);
  }
});
