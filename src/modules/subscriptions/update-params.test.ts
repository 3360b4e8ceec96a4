import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso } from '../../../test/helpers/billing.js';

// Parameters current Stripe SDKs send on a subscription update (SubscriptionUpdateParams): description,
// cancellation_details with cancel_at_period_end, discounts (add with [{coupon}], remove with ""), and
// the param an error names for a bad default_payment_method.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let community: string;
beforeAll(async () => {
  t = await createBillingApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

async function post(url: string, payload: Record<string, unknown>) {
  return t.call({ method: 'POST', url, payload });
}

async function activeSub(clock?: string) {
  const customer = await t.customer({ ...(clock ? { clock } : {}), card: 'pm_card_visa' });
  const res = await post('/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', description: 'Team plan' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { customer, sub: res.body };
}

describe('subscription update parameters', () => {
  it('keeps the description given on create, changes it on update and unsets it with ""', async () => {
    const { sub } = await activeSub();
    expect(sub.description).toBe('Team plan');
    const changed = await post(`/v1/subscriptions/${sub.id}`, { description: 'Team plan (annual review)' });
    expect([changed.status, changed.body.description]).toEqual([200, 'Team plan (annual review)']);
    const events = (await t.call({ method: 'GET', url: `/v1/events?object_id=${sub.id}&type=customer.subscription.updated` })).body.data;
    expect(events[0].data.previous_attributes).toEqual({ description: 'Team plan' });
    const cleared = await post(`/v1/subscriptions/${sub.id}`, { description: '' });
    expect(cleared.body.description).toBeNull();
    expect((await t.sub(sub.id)).description).toBeNull();
  });

  it('records cancellation_details with cancel_at_period_end and keeps them when the cancellation takes effect', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const { sub } = await activeSub(clock);
    const res = await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true, cancellation_details: { comment: 'too pricey', feedback: 'too_expensive' } });
    expect([res.status, res.body.cancel_at_period_end, res.body.cancellation_details]).toEqual([200, true, { comment: 'too pricey', feedback: 'too_expensive', reason: null }]);
    await t.advance(clock, '2026-03-01T01:00:00Z');
    const ended = await t.sub(sub.id);
    expect([ended.status, iso(ended.ended_at), ended.cancellation_details]).toEqual([
      'canceled',
      '2026-03-01T00:00:00Z',
      { comment: 'too pricey', feedback: 'too_expensive', reason: 'cancellation_requested' },
    ]);
    const bad = await post(`/v1/subscriptions/${(await activeSub()).sub.id}`, { cancellation_details: { feedback: 'meh' } });
    expect([bad.status, bad.body.error.param]).toEqual([400, 'cancellation_details[feedback]']);
  });

  it('adds a coupon with discounts[{coupon}] and removes it with discounts=""', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const { sub } = await activeSub(clock);
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'forever' });
    const added = await post(`/v1/subscriptions/${sub.id}`, { discounts: [{ coupon: coupon.body.id }] });
    expect([added.status, added.body.discounts.length]).toEqual([200, 1]);
    // 9,700 − 10 % = 8,730 on the next renewal.
    expect((await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}` })).body.total).toBe(8730);
    const form = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'discounts=',
    });
    expect([form.status, form.body.discounts]).toEqual([200, []]);
    expect((await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}` })).body.total).toBe(9700);
    const both = await post(`/v1/subscriptions/${sub.id}`, { discounts: [{ coupon: coupon.body.id }], coupon: coupon.body.id });
    expect([both.status, both.body.error.param]).toEqual([400, 'coupon']);
    const unknown = await post(`/v1/subscriptions/${sub.id}`, { discounts: [{ coupon: 'nope' }] });
    expect([unknown.status, unknown.body.error.param]).toEqual([404, 'discounts[0][coupon]']);
  });

  it('names default_payment_method when the payment method given there is unknown, on create and update', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const created = await post('/v1/subscriptions', { customer, items: [{ price: community }], default_payment_method: 'pm_nope' });
    expect([created.status, created.body.error.code, created.body.error.param]).toEqual([400, 'resource_missing', 'default_payment_method']);
    const { sub } = await activeSub();
    const updated = await post(`/v1/subscriptions/${sub.id}`, { default_payment_method: 'pm_nope' });
    expect([updated.status, updated.body.error.code, updated.body.error.param]).toEqual([400, 'resource_missing', 'default_payment_method']);
  });
});
