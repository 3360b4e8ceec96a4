import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso } from '../helpers/billing.js';
import { eventsOf, postOk, type BillingApp } from './states-support.js';

// Subscription states and transitions (issue 3 items 1 and 2) that an audit found wrong once.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);
const get = async (url: string) => {
  const res = await t.call({ method: 'GET', url });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

describe('states', () => {
  // Stripe, update payment_behavior: "Use default_incomplete to transition the subscription to
  // status=past_due when payment is required and await explicit confirmation of the invoice's payment
  // intent." ADR 0005: "The same three apply to an update that invoices now".
  it('default_incomplete on an update that invoices now moves the subscription to past_due, its invoice open and not attempted', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    expect(sub.status).toBe('active');
    await t.advance(clock, '2026-02-11T00:00:00Z');
    const res = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      payload: { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice', payment_behavior: 'default_incomplete' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const inv = await get(`/v1/invoices/${res.body.latest_invoice}`);
    // The change's invoice is open and was not attempted (this part holds today).
    expect([inv.status, inv.attempt_count, inv.billing_reason]).toEqual(['open', 0, 'subscription_update']);
    expect((await get(`/v1/payment_intents?invoice=${inv.id}`)).data).toEqual([]);
    // Nothing will ever attempt it (next_payment_attempt null), yet the subscription reads active.
    await t.advance(clock, '2026-02-20T00:00:00Z');
    const after = await t.sub(sub.id);
    expect({ response: res.body.status, now: after.status, invoice: (await get(`/v1/invoices/${inv.id}`)).status }).toEqual({ response: 'past_due', now: 'past_due', invoice: 'open' });
    const toPastDue = (await eventsOf(t, sub.id, 'customer.subscription.updated')).filter((e) => e.data.previous_attributes?.status === 'active' && e.data.object.status === 'past_due');
    expect(toPastDue.map((e) => iso(e.created))).toEqual(['2026-02-11T00:00:00Z']);
  });

  // Stripe: "For collection_method=charge_automatically a subscription moves into incomplete if the
  // initial payment attempt fails." A send_invoice subscription attempts no payment and is active from
  // its creation; Recur's customer.subscription.created says `incomplete`, followed in the same instant
  // by a customer.subscription.updated with previous_attributes.status = incomplete — a transition
  // that never happened (an integrator provisioning on .created refuses access, analytics count an
  // incomplete → active activation).
  it('a send_invoice subscription is created active: one customer.subscription.created, no incomplete → active update', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 7 });
    expect(sub.status).toBe('active');
    const evs = (await eventsOf(t, sub.id)).filter((e) => e.type.startsWith('customer.subscription.'));
    expect(evs.map((e) => [e.type, e.data.object.status, e.data.previous_attributes?.status ?? null])).toEqual([['customer.subscription.created', 'active', null]]);
  });
});
