import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { runBillingPass } from '../../src/modules/subscriptions/jobs.js';

// Stripe (Subscription.status): "when a subscription has a status of unpaid, no subsequent invoices
// will be attempted (invoices will be created, but then immediately automatically closed)".
// (today's docs: "invoices continue to generate, but payments aren't attempted"). Recur's renewal of an
// unpaid subscription stays a draft with automatic collection off.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

describe('renewal of an unpaid subscription', () => {
  it('creates the invoice but attempts no payment', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.body.status).toBe('active');
    // As dunning's final action `mark_unpaid` leaves it.
    await t.testDb.db.query(`UPDATE subscriptions SET status = 'unpaid' WHERE id = $1`, [sub.body.id]);
    const db = t.testDb.db;
    await runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-15T12:00:01Z'));
    await runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-15T13:00:02Z'));
    await runBillingPass(db, t.deps, { clock: null }, new Date('2026-02-15T13:00:03Z'));
    const cycles = (await t.invoices(sub.body.id)).filter((i) => i.billing_reason === 'subscription_cycle');
    expect(cycles).toHaveLength(1);
    const pis = await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${cycles[0]!.id}` });
    expect(pis.body.data).toEqual([]);
    expect(cycles[0]!.status).not.toBe('paid');
  });
});
