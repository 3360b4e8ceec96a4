import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { allEvents } from '../../src/modules/events/batches.js';
import { checkBooks } from '../helpers/books.js';
import { createBillingApp } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { recordedCalls } from '../helpers/recorded-calls.js';
import type { BillingApp } from './support.js';

// An item change that arrives after a period ended but before the worker renewed it renews the
// subscription itself first (subscriptions/catch-up.ts). Here three workers renew the same due
// subscriptions while the API changes every one of them: whichever wins, each period is billed once
// (Community for Apr 1 – May 1, then the change prorated inside it), each lapsed repeating discount
// writes one customer.discount.deleted, and the invoices of each customer prefix (each its own series) stay gapless.

const K = 12;

describe.runIf(usingPostgres)('an update racing the workers over a due renewal', () => {
  let t: BillingApp;
  let workers: Db[];
  const workerErrors: string[] = [];
  beforeAll(async () => {
    t = await createBillingApp('2026-03-01T00:00:00Z');
    workers = [await t.testDb.openAnother(3), await t.testDb.openAnother(3), await t.testDb.openAnother(3)];
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const post = async (url: string, payload: Record<string, unknown>) => {
    const res = await t.call({ method: 'POST', url, payload });
    expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const rows = async <R,>(sql: string, params: unknown[] = []) => (await t.testDb.db.query<R & Record<string, unknown>>(sql, params)).rows;
  const drainAll = (now: Date) => {
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 3, finalizeDelaySeconds: 0 } };
    return Promise.all(workers.map((w) => drainBilling(w, deps, { clock: null }, now).catch((e: unknown) => void workerErrors.push(String(e)))));
  };

  it('bills each period once, announces each lapsed discount once, keeps each series gapless', async () => {
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const subs: { id: string; item: string }[] = [];
    for (let i = 0; i < K; i++) {
      const customer = (await post('/v1/customers', { email: `race${i}@example.com`, ...(i % 3 === 2 ? {} : { invoice_prefix: `RACE${i}` }) })).id as string;
      const pm = await post('/v1/payment_methods/pm_card_visa/attach', { customer });
      await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm.id } });
      const sub = await post('/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', coupon: coupon.id });
      subs.push({ id: sub.id, item: sub.items.data[0].id });
    }
    // Apr 1 00:00:05: every period has ended, no worker has run yet.
    t.clock.set(new Date('2026-04-01T00:00:05Z'));
    const at = t.clock.now();
    const { call, fivexx, log } = recordedCalls(t);
    await Promise.all([drainAll(at), ...subs.map((s) => call('POST', `/v1/subscriptions/${s.id}`, { items: [{ id: s.item, price: group }] }))]);
    await drainAll(at);
    expect(fivexx, log.join('\n')).toEqual([]);
    expect(log.filter((l) => !l.endsWith('→ 200')), log.join('\n')).toEqual([]);
    expect(workerErrors).toEqual([]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);

    for (const s of subs) {
      const invs = await rows<{ reason: string; subtotal: number; ps: Date }>(
        `SELECT billing_reason AS reason, subtotal::int AS subtotal, period_start AS ps FROM invoices WHERE subscription = $1 ORDER BY period_start, id`,
        [s.id],
      );
      // The renewal billed Community (the discount had lapsed at Apr 1); the change waits as prorations
      // inside Apr 1 – May 1 (2,591,995 of 2,592,000 s left): −9,700 and +150,000 after rounding.
      expect(invs.map((r) => [r.reason, r.subtotal, r.ps.toISOString()])).toEqual([
        ['subscription_create', 9700, '2026-03-01T00:00:00.000Z'],
        ['subscription_cycle', 9700, '2026-04-01T00:00:00.000Z'],
      ]);
      const pending = await rows<{ amount: number }>(`SELECT amount::int AS amount FROM invoice_items WHERE subscription = $1 AND invoice IS NULL ORDER BY amount`, [s.id]);
      expect(pending.map((p) => p.amount)).toEqual([-9700, 150_000]);
      const items = await rows<{ price: string }>(`SELECT price FROM subscription_items WHERE subscription = $1`, [s.id]);
      expect(items.map((i) => i.price)).toEqual([group]);
    }
    // Who renewed: the change's own catch-up leaves its renewal a draft for the app's hour; the
    // workers here finalize at once. Either is correct; the split shows the race happened.
    const split = await rows<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM invoices WHERE billing_reason = 'subscription_cycle' GROUP BY status ORDER BY status`);
    console.log(`renewals: ${split.map((r) => `${r.n} ${r.status === 'draft' ? 'by the change (draft)' : `by a worker (${r.status})`}`).join(', ')}`);
    expect(split.reduce((n, r) => n + r.n, 0)).toBe(K);
    expect((await allEvents(t.testDb.db, { types: ['customer.discount.deleted'] })).length).toBe(K);
    // Each prefix numbers its own customers' invoices (gapless: checkBooks above); the first invoices
    // were finalized at creation, the renewals as the worker or the change's own renewal left them.
    const perSeries = await rows<{ series: string; n: number }>(
      `SELECT series, count(*)::int AS n FROM invoices WHERE number IS NOT NULL AND billing_reason = 'subscription_create' GROUP BY series ORDER BY series`,
    );
    const bySeries = (prefixed: boolean) => perSeries.filter((r) => r.series.startsWith('RACE') === prefixed).reduce((n, r) => n + r.n, 0);
    expect([perSeries.filter((r) => r.series.startsWith('RACE')).length, bySeries(true), bySeries(false)]).toEqual([8, 8, 4]);
  }, 120_000);
});
