import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { ok, type BillingApp } from './support.js';

// Subscription schedules under two workers (two connection pools, the real worker pass) on PostgreSQL:
// schedules starting at the same instant each create one subscription and one charge; schedules whose
// next phase starts then apply it once, on the renewal's one invoice; an API update racing the
// workers neither deadlocks nor double-bills.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown>) => ok(t, 'POST', url, payload);
const APR_1 = Date.parse('2026-04-01T00:00:00Z') / 1000;
const MAR_15 = Date.parse('2026-03-15T00:00:00Z') / 1000;

describe.skipIf(!usingPostgres)('subscription schedules with two workers on PostgreSQL', () => {
  it('start each schedule once and apply each phase change once', async () => {
    const N = 30;
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const starting: string[] = [];
    const changing: string[] = [];
    for (let i = 0; i < N; i++) {
      const a = await t.customer({ card: 'pm_card_visa' });
      starting.push((await post('/v1/subscription_schedules', { customer: a, start_date: APR_1, phases: [{ items: [{ price: group }], iterations: 2 }], metadata: { race: 'start' } })).id);
      const b = await t.customer({ card: 'pm_card_visa' });
      const sub = await post('/v1/subscriptions', { customer: b, items: [{ price: group }], trial_end: 'now' });
      const sched = await post('/v1/subscription_schedules', { from_subscription: sub.id, metadata: { race: 'change' } });
      await post(`/v1/subscription_schedules/${sched.id}`, { phases: [{ items: [{ price: group }], end_date: APR_1 }, { items: [{ price: community }], iterations: 1 }] });
      changing.push(sched.id);
      // And a change inside the period, on Mar 15, prorated by the worker then.
      const c = await t.customer({ card: 'pm_card_visa' });
      const midSub = await post('/v1/subscriptions', { customer: c, items: [{ price: group }], trial_end: 'now', metadata: { race: 'mid' } });
      const mid = await post('/v1/subscription_schedules', { from_subscription: midSub.id });
      await post(`/v1/subscription_schedules/${mid.id}`, { phases: [{ items: [{ price: group }], end_date: MAR_15 }, { items: [{ price: community }], end_date: APR_1 }] });
    }
    const other = await t.testDb.openAnother(4);
    const at = new Date('2026-04-01T00:00:00Z');
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 4, finalizeDelaySeconds: 0 } };
    // Mar 15: only the changes inside the period are due; each applies once, with one credit and one debit:
    // unused Group 150,000 × 17/31 = 82,258.06 → −82,258, remaining Community 9,700 × 17/31 = 5,319.35 → 5,319.
    const mar15 = new Date(MAR_15 * 1000);
    await Promise.all([drainBilling(t.testDb.db, deps, { clock: null }, mar15), drainBilling(other, deps, { clock: null }, mar15)]);
    const { rows: prorations } = await t.testDb.db.query<{ amount: number; n: number }>(
      `SELECT ii.amount::int AS amount, count(*)::int AS n FROM invoice_items ii JOIN subscriptions s ON s.id = ii.subscription
        WHERE s.metadata->>'race' = 'mid' AND ii.proration GROUP BY 1 ORDER BY 1`,
    );
    expect(prorations).toEqual([
      { amount: -82_258, n: N },
      { amount: 5319, n: N },
    ]);
    // Meanwhile the API moves the first changing schedules' end behavior (locks: subscription, then schedule).
    const updates = (async () => {
      for (const id of changing.slice(0, 5)) await post(`/v1/subscription_schedules/${id}`, { end_behavior: 'cancel' });
    })();
    await Promise.all([drainBilling(t.testDb.db, deps, { clock: null }, at), drainBilling(other, deps, { clock: null }, at), updates]);

    const q = t.testDb.db;
    const { rows: started } = await q.query<{ status: string; subs: number; invoices: number; total: number }>(
      `SELECT ss.status, count(DISTINCT s.id)::int AS subs, count(i.id)::int AS invoices, sum(i.total)::int AS total
         FROM subscription_schedules ss JOIN subscriptions s ON s.customer = ss.customer LEFT JOIN invoices i ON i.subscription = s.id
        WHERE ss.metadata->>'race' = 'start' GROUP BY 1`,
    );
    expect(started).toEqual([{ status: 'active', subs: N, invoices: N, total: N * 150_000 }]);
    const { rows: changed } = await q.query<{ status: string; total: number; n: number }>(
      `SELECT ss.status, i.total, count(*)::int AS n FROM subscription_schedules ss JOIN invoices i ON i.subscription = ss.subscription AND i.period_start = $1
        WHERE ss.metadata->>'race' = 'change' GROUP BY 1, 2`,
      [at],
    );
    expect(changed).toEqual([{ status: 'active', total: 9700, n: N }]);
    const { rows: charges } = await q.query<{ n: number; sum: number }>(
      `SELECT count(*)::int AS n, sum(amount)::bigint AS sum FROM payment_intents WHERE status = 'succeeded' AND created >= $1`,
      [at],
    );
    expect([charges[0]!.n, Number(charges[0]!.sum)]).toEqual([2 * N, N * 150_000 + N * 9700]);
    // The five updated to end_behavior=cancel carry the last phase's end as cancel_at; the others none.
    const { rows: ends } = await q.query<{ cancel_at: Date | null; n: number }>(
      `SELECT s.cancel_at, count(*)::int AS n FROM subscription_schedules ss JOIN subscriptions s ON s.id = ss.subscription WHERE ss.metadata->>'race' = 'change' GROUP BY 1 ORDER BY 1`,
    );
    expect(ends.map((r) => [r.cancel_at ? new Date(r.cancel_at).toISOString() : null, r.n])).toEqual([
      ['2026-05-01T00:00:00.000Z', 5],
      [null, N - 5],
    ]);
  }, 120_000);
});
