import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, iso, subscribe, unix, type BillingApp } from './support.js';

// Stripe's API reference for DELETE /v1/customers/:id: "Also immediately cancels any active
// subscriptions on the customer." Each ends as an immediate cancel: no proration, no final invoice,
// and the worker bills none of them again.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('deleting a customer', () => {
  it('cancels its live subscriptions at once, before customer.deleted, and nothing renews afterwards', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const active = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const trialing = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 14 });
    const ended = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    expect((await t.call({ method: 'DELETE', url: `/v1/subscriptions/${ended.id}` })).status).toBe(200);
    await t.advance(clock, '2026-02-10T00:00:00Z');

    const del = await t.call({ method: 'DELETE', url: `/v1/customers/${customer}` });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(del.body).toEqual({ id: customer, object: 'customer', deleted: true });

    for (const id of [active.id, trialing.id]) {
      const s = await get(t, `/v1/subscriptions/${id}`);
      expect([s.status, iso(s.canceled_at), iso(s.ended_at), s.cancellation_details.reason]).toEqual(['canceled', '2026-02-10T00:00:00Z', '2026-02-10T00:00:00Z', 'cancellation_requested']);
    }
    // The subscription canceled earlier keeps its own end and gets no second deleted event.
    expect(iso((await get(t, `/v1/subscriptions/${ended.id}`)).ended_at)).toBe('2026-02-01T00:00:00Z');
    const deleted = await events(t, customer, 'customer.subscription.deleted');
    expect(deleted.map((e) => [e.data.object.id, e.created])).toEqual(
      [
        [ended.id, unix('2026-02-01T00:00:00Z')],
        ...[active.id, trialing.id].sort().map((id) => [id, unix('2026-02-10T00:00:00Z')]),
      ],
    );
    const all = (await get(t, `/v1/events?customer=${customer}&limit=100`)).data.map((e: { type: string }) => e.type);
    // Newest first: customer.deleted is the last thing written, after the subscriptions end and the card
    // goes (customer-delete-collection.test.ts).
    expect(all.slice(0, 5)).toEqual(['customer.deleted', 'customer.updated', 'payment_method.detached', 'customer.subscription.deleted', 'customer.subscription.deleted']);

    await t.advance(clock, '2026-03-05T00:00:00Z');
    expect((await t.invoices(active.id)).map((i) => [i.status, i.total, i.billing_reason])).toEqual([['paid', 9700, 'subscription_create']]);
    expect((await t.invoices(trialing.id)).map((i) => [i.status, i.total, i.billing_reason])).toEqual([['paid', 0, 'subscription_create']]);
  });

  it('answers 404 for a subscription created for the deleted customer', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    expect((await t.call({ method: 'DELETE', url: `/v1/customers/${customer}` })).status).toBe(200);
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }] } });
    expect([res.status, res.body.error.param]).toEqual([404, 'customer']);
  });
});
