import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';

// POST /v1/subscriptions with both `coupon` and `discounts` is refused (it used to drop `coupon`
// silently, even one that does not exist): Stripe takes only one way of naming the discount.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('coupon together with discounts', () => {
  it('is refused (400) instead of dropping the coupon', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const ten = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 10, duration: 'forever' } })).body.id;
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price }], trial_end: 'now', coupon: 'does_not_exist', discounts: [{ coupon: ten }] } });
    // Recur: 200, the unknown coupon is ignored and only the 10 % one is applied.
    expect(res.status, JSON.stringify(res.body)).toBe(400);
  });
});
