import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, eventsFor, ok, type BillingApp } from './coupon-support.js';

// Coupons and promotion codes (issue 3, item 6): rules an audit found broken once.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

let n = 0;
const email = () => `rule${++n}@example.com`;

describe('promotion code restrictions.minimum_amount on an update that also changes the items', () => {
  it('is checked against the items the update sets, not the ones it replaces', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 20, duration: 'forever' });
    const p = await ok(t, 'POST', '/v1/promotion_codes', { coupon: c.id, restrictions: { minimum_amount: 100_000, minimum_amount_currency: 'usd' } });
    const community = await t.priceId('community_monthly'); // 9,700 a month
    const group = await t.priceId('group_monthly'); // 150,000 a month

    // Upgrade to 150,000 with the code: the new items meet the 100,000 minimum.
    const cu1 = await t.customer({ card: 'pm_card_visa', email: email() });
    const s1 = await ok(t, 'POST', '/v1/subscriptions', { customer: cu1, items: [{ price: community }], trial_end: 'now' });
    const up = await t.call({ method: 'POST', url: `/v1/subscriptions/${s1.id}`, payload: { items: [{ id: s1.items.data[0].id, price: group }], promotion_code: p.id } });
    expect.soft(up.status, JSON.stringify(up.body)).toBe(200);
    expect.soft(up.body.discounts ?? []).toHaveLength(1);

    // Downgrade to 9,700 with the code: the new items do not meet it; nothing changes.
    const cu2 = await t.customer({ card: 'pm_card_visa', email: email() });
    const s2 = await ok(t, 'POST', '/v1/subscriptions', { customer: cu2, items: [{ price: group }], trial_end: 'now' });
    const down = await t.call({ method: 'POST', url: `/v1/subscriptions/${s2.id}`, payload: { items: [{ id: s2.items.data[0].id, price: community }], promotion_code: p.id } });
    expect(down.status, JSON.stringify(down.body)).toBe(400);
    expect(down.body.error).toMatchObject({ code: 'promotion_code_minimum_amount', param: 'promotion_code' });
    const after = await t.sub(s2.id);
    expect(after.items.data[0].price.id).toBe(group);
    expect(after.discounts).toEqual([]);
  });
});

describe('discounts[][discount] (Stripe: "ID of an existing discount on the object (or one of its ancestors) to reuse")', () => {
  it('keeps the current discount: no new redemption, no customer.discount.deleted', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 3, max_redemptions: 1 });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    const di = s.discounts[0];
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${s.id}`, payload: { discounts: [{ discount: di }], metadata: { plan: 'kept' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.discounts).toEqual([di]);
    expect((await ok(t, 'GET', `/v1/coupons/${c.id}`)).times_redeemed).toBe(1);
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === di)).toHaveLength(0);
  });

  it('a discount that is not this subscription’s is a 400 on discounts[0][discount], and nothing changes', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const price = await t.priceId('community_monthly');
    const a = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now', coupon: c.id });
    const b = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now' });
    for (const discount of [a.discounts[0], 'di_unknown']) {
      const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${b.id}`, payload: { discounts: [{ discount }], metadata: { x: '1' } } });
      expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'resource_missing', 'discounts[0][discount]']);
    }
    const both = await t.call({ method: 'POST', url: `/v1/subscriptions/${a.id}`, payload: { discounts: [{ discount: a.discounts[0], coupon: c.id }] } });
    expect([both.status, both.body.error?.param]).toEqual([400, 'discounts[0][discount]']);
    expect([(await t.sub(b.id)).discounts, (await t.sub(b.id)).metadata, (await t.sub(a.id)).discounts]).toEqual([[], {}, [a.discounts[0]]]);
  });
});

describe('coupon: "" on a subscription update (ADR 0002: `""` unsets a nullable field, as in Stripe)', () => {
  it('removes the discount', async () => {
    const c = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const customer = await t.customer({ card: 'pm_card_visa', email: email() });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${s.id}`, payload: { coupon: '' } });
    expect(res.status).toBe(200);
    expect(res.body.discounts).toEqual([]);
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === s.discounts[0])).toHaveLength(1);
  });
});
