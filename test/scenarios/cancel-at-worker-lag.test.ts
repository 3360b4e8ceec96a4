import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { createBillingApp, unix } from '../helpers/billing.js';
import type { BillingApp } from './support.js';

// cancel_at against the worker's lag. Objects on real time (no test clock); the worker's pass
// (drainBilling, finalisation delay 0) runs at chosen instants, so "the API got there before the
// worker" is deterministic. Community Access is 9,700 a month; Elite 500,000.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const deps = () => ({ ...t.deps, config: { ...t.deps.config, finalizeDelaySeconds: 0 } });
const workerAt = async (iso: string) => {
  t.clock.set(new Date(iso));
  await drainBilling(t.testDb.db, deps(), { clock: null }, t.clock.now());
};
const invoices = async (sub: string) =>
  (
    await t.testDb.db.query<{ reason: string; total: number; ps: Date; pe: Date }>(
      `SELECT billing_reason AS reason, total::int AS total, period_start AS ps, period_end AS pe FROM invoices WHERE subscription = $1 ORDER BY created, id`,
      [sub],
    )
  ).rows.map((r) => [r.reason, r.total, r.ps.toISOString().slice(0, 10)] as const);
const balance = async (customer: string) => Number((await t.testDb.db.query<{ b: number }>(`SELECT balance::int AS b FROM customers WHERE id = $1`, [customer])).rows[0]!.b);

async function community(extra: Record<string, unknown> = {}) {
  t.clock.set(new Date('2026-03-01T00:00:00Z'));
  const customer = await t.customer({ card: 'pm_card_visa' });
  const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { customer, sub: res.body };
}

describe('an update that reaches a subscription after its cancel_at came, before the worker ended it', () => {
  it('does not credit more than the time after cancel_at (an item change in the gap)', async () => {
    // cancel_at Mar 20; the worker is a moment behind. A request at Mar 21 changes the item to Elite
    // (create_prorations) and is accepted; the worker then ends the subscription at Mar 20.
    // Seen: a final invoice of −19,571 (−3,442 Community after Mar 21, +177,419 Elite after Mar 21,
    // −193,548 Elite after Mar 20) and a customer balance of −19,571 — twice what March cost.
    // Correct: the subscription ended at Mar 20 on Community: −9,700 × 12/31 = −3,755, whoever wins.
    const { customer, sub } = await community({ cancel_at: unix('2026-03-20T00:00:00Z') });
    t.clock.set(new Date('2026-03-21T00:00:00Z'));
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { items: [{ id: sub.items.data[0].id, price: await t.priceId('elite_monthly') }], proration_behavior: 'create_prorations' } });
    expect(res.status).toBeLessThan(500);
    await workerAt('2026-03-21T00:00:01Z');
    expect(await invoices(sub.id)).toEqual([
      ['subscription_create', 9700, '2026-03-01'],
      ['subscription_update', -3755, '2026-03-20'],
    ]);
    expect(await balance(customer)).toBe(-3755);
  });

  it('does not keep it alive: clearing a cancel_at that has already come leaves it ending at cancel_at', async () => {
    // Seen: the clear (200) wins when it reaches the row first; the subscription never ends and is
    // billed again on Apr 1. With the worker first, the same request gets 400 subscription_ended. The
    // outcome of one request depends on worker lag. Correct: it ends at Mar 20 either way.
    const { sub } = await community({ cancel_at: unix('2026-03-20T00:00:00Z') });
    t.clock.set(new Date('2026-03-21T00:00:00Z'));
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'cancel_at=' });
    expect(res.status).toBeLessThan(500);
    await workerAt('2026-04-01T01:00:00Z');
    const row = (await t.testDb.db.query<{ status: string; ended_at: Date | null }>(`SELECT status, ended_at FROM subscriptions WHERE id = $1`, [sub.id])).rows[0]!;
    expect([row.status, row.ended_at?.toISOString()]).toEqual(['canceled', '2026-03-20T00:00:00.000Z']);
  });
});

describe('a renewal billed only up to a later cancel_at, whose cancel_at then changes', () => {
  it('moving cancel_at later does not credit the same days twice', async () => {
    // cancel_at Apr 15: the Apr 1 renewal bills 9,700 − 5,173 (Apr 15 → May 1) = 4,527. On Apr 5 cancel_at
    // moves to Apr 25. Seen: at Apr 25 a further credit of −1,940 (Apr 25 → May 1) — those 6 days are
    // credited twice; April nets 2,587 for 24 days of service. Correct: April nets 9,700 × 24/30 = 7,760.
    const { sub } = await community({ cancel_at: unix('2026-04-15T00:00:00Z') });
    await workerAt('2026-04-01T01:00:00Z');
    t.clock.set(new Date('2026-04-05T00:00:00Z'));
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { cancel_at: unix('2026-04-25T00:00:00Z') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await workerAt('2026-04-26T00:00:00Z');
    await workerAt('2026-05-02T00:00:00Z');
    const april = (await invoices(sub.id)).filter(([, , ps]) => ps >= '2026-04-01').reduce((s, [, total]) => s + total, 0);
    expect(Math.abs(april - 7760)).toBeLessThanOrEqual(1);
  });

  it('clearing cancel_at bills the rest of the period that was credited', async () => {
    // Same renewal (4,527 for April, Apr 15 → May 1 credited). On Apr 5 cancel_at is cleared: the
    // subscription goes on through April and renews May 1. Seen: nothing bills Apr 15 → May 1 (5,173
    // never charged); May is billed 9,700 as usual. Correct: April nets the full 9,700.
    const { sub } = await community({ cancel_at: unix('2026-04-15T00:00:00Z') });
    await workerAt('2026-04-01T01:00:00Z');
    t.clock.set(new Date('2026-04-05T00:00:00Z'));
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'cancel_at=' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await workerAt('2026-05-01T01:00:00Z');
    const all = await invoices(sub.id);
    const total = all.reduce((s, [, v]) => s + v, 0);
    // March, April, May: three full months.
    expect(total).toBe(3 * 9700);
  });
});
