// Cancel and pause (issue 3 item 5): rules an audit found broken once. Community Access is 9,700 a month.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { createBillingApp } from '../helpers/billing.js';
import { get, subscribe, unix, update, communityOnClock, deleteSubscription, customerBalance, type BillingApp } from './support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

describe('DELETE prorate=true credits only time that was paid', () => {
  it('incomplete: the cancel voids the unpaid first invoice and credits nothing', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z', {}, 'pm_card_chargeCustomerFail');
    expect(sub.status).toBe('incomplete');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Seen: [['void', 9700], ['paid', -9700]] and balance −9,700 — a credit for money never collected.
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.total])).toEqual([['void', 9700]]);
    expect(await customerBalance(t, customer)).toBe(0);
  });

  it('free stub (later billing_cycle_anchor, proration_behavior none): DELETE credits nothing of the unbilled stub', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-10T00:00:00Z', { billing_cycle_anchor: unix('2026-02-01T00:00:00Z'), proration_behavior: 'none' });
    expect(await t.invoices(sub.id)).toEqual([]);
    await t.advance(clock, '2026-01-20T00:00:00Z');
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Seen: a −3,755 invoice (9,700 × 12/31) and balance −3,755. cancel_at at the same instant credits nothing
    // (test/scenarios/cancel-at-corners.test.ts): DELETE and cancel_at disagree.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([]);
    expect(await customerBalance(t, customer)).toBe(0);
  });

  it('resumed with billing_cycle_anchor=unchanged, proration_behavior=none (stretch to the anchor free): DELETE credits nothing of it', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } })).body;
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.id } } });
    const resumed = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: { billing_cycle_anchor: 'unchanged', proration_behavior: 'none' } });
    expect(resumed.status).toBe(200);
    await t.advance(clock, '2026-07-20T00:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0]);
    expect((await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true })).status).toBe(200);
    // Seen: [0, −3,755] (9,700 × 12/31 for Jul 20 → Aug 1) and balance −3,755, for time billed at 0.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0]);
    expect(await customerBalance(t, customer)).toBe(0);
  });
});

describe('worker lag never reaches DELETE', () => {
  it('a DELETE after the period ended but before the worker renewed renews first, then credits the new period', async () => {
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    // The worker has not run since Apr 1 (it polls); the DELETE comes on Apr 10.
    t.clock.set(new Date('2026-04-10T00:00:00Z'));
    const res = await deleteSubscription(t, sub.id, { prorate: true, invoice_now: true });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await drainBilling(t.testDb.db, { ...t.deps, config: { ...t.deps.config, finalizeDelaySeconds: 0 } }, { clock: null }, t.clock.now());
    // Seen: only [['subscription_create', 9700]] — Apr 1–10 never billed, and no credit either. With the
    // worker on time (or on Stripe, which renews at the period end itself): the April renewal, then
    // 21 of April's 30 days credited: −9,700 × 21/30 = −6,790.
    expect((await t.invoices(sub.id)).map((i) => [i.billing_reason, i.total])).toEqual([
      ['subscription_create', 9700],
      ['subscription_cycle', 9700],
      ['subscription_update', -6790],
    ]);
  });
});

describe('pending prorations on an immediate cancel without prorate or invoice_now', () => {
  it('are removed (Stripe: "pending prorations are removed if invoice_now and prorate are both set to false")', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-04-01T00:00:00Z');
    await t.advance(clock, '2026-04-16T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    expect((await deleteSubscription(t, sub.id)).status).toBe(200);
    // Seen: [9700, −4850] stay pending and are billed on the customer's next invoice of any other
    // subscription — +4,850 for a quantity change of a subscription that was canceled at once.
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true&limit=100`)).data.map((i: { amount: number }) => i.amount);
    expect(pending).toEqual([]);
  });
});

describe('POST /v1/subscriptions/{id}/resume', () => {
  it("accepts Stripe's proration_date parameter", async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-10T00:00:00Z');
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } })).body;
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.id } } });
    // Seen: 400 parameter_unknown "Received unknown parameter: proration_date".
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: { billing_cycle_anchor: 'unchanged', proration_date: unix('2026-07-10T00:00:00Z') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Jul 10 → Aug 1 = 22 of July's 31 days: 9,700 × 22/31 = 6,884.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([0, 6884]);
  });
});
