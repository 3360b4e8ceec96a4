import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../test/helpers/billing.js';
import { createDueSubscriptions } from '../../test/helpers/due-subscriptions.js';
import { allJobs } from './registry.js';
import { Worker } from './worker.js';

// RECUR_WORKER_CONCURRENCY: several loops of one worker process claim side by side (on PostgreSQL
// each on its own connection), and still renew and charge each subscription once; stop() ends them all.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:10Z');
});
afterAll(() => t.close());

describe('a worker with three loops', () => {
  it('renews 90 due subscriptions once each and stops', async () => {
    const price = await t.priceId('community_monthly');
    await t.testDb.db.tx((q) => createDueSubscriptions(q, { n: 90, dueAt: new Date('2026-03-01T00:00:00Z'), priceId: price, prefix: 'loops' }));
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 7, finalizeDelaySeconds: 0 } };
    const worker = new Worker({ db: t.testDb.db, clock: t.clock, logger: t.app.log, deps }, allJobs(), 20, 3);
    worker.start();
    const counts = async () =>
      (
        await t.testDb.db.query<{ paid: number; invoices: number; charges: number }>(
          `SELECT (SELECT count(*)::int FROM invoices WHERE subscription LIKE 'sub\\_loops%' AND status = 'paid') AS paid,
                  (SELECT count(*)::int FROM invoices WHERE subscription LIKE 'sub\\_loops%') AS invoices,
                  (SELECT count(*)::int FROM payment_intents p JOIN invoices i ON i.id = p.invoice WHERE i.subscription LIKE 'sub\\_loops%' AND p.status = 'succeeded') AS charges`,
        )
      ).rows[0]!;
    const deadline = Date.now() + 60_000;
    while ((await counts()).paid < 90 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await worker.stop();
    expect(await counts()).toEqual({ paid: 90, invoices: 90, charges: 90 });
  }, 90_000);
});
