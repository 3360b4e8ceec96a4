import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { applyDiscounts, type Discount } from './domain/discounts.js';

// A line with discountable=false is not touched by a discount, so (as on Stripe) its
// discount_amounts is empty; it gets no entry (it once listed the discount with amount 0).

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(opts: Parameters<typeof t.call>[0]): Promise<any> {
  const res = await t.call(opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('a non-discountable line on a discounted invoice', () => {
  it('carries no discount_amounts entry', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = (await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } })).id;
    const coupon = (await ok({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 50, duration: 'forever' } })).id;
    const discount = (await ok({ method: 'POST', url: `/v1/subscriptions/${sub}`, payload: { coupon } })).discounts[0];
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, subscription: sub, amount: 10_000, currency: 'usd' } });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, subscription: sub, amount: 3_000, currency: 'usd', discountable: false } });
    const inv = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, subscription: sub } });
    expect([inv.subtotal, inv.total, inv.total_discount_amounts]).toEqual([13_000, 8_000, [{ discount, amount: 5_000 }]]);
    const lines = inv.lines.data.map((l: { amount: number; discountable: boolean; discount_amounts: unknown[] }) => [l.amount, l.discountable, l.discount_amounts]);
    expect(lines).toEqual([
      [10_000, true, [{ discount, amount: 5_000 }]],
      [3_000, false, []],
    ]);
  });
});

describe('applyDiscounts with a non-discountable line', () => {
  const start = new Date('2026-01-01T00:00:00Z');
  const d = (id: string, coupon: Discount['coupon']): Discount => ({ id, coupon, start });
  const lines = [
    { amount: 10_000, currency: 'usd', productId: 'prod_a' },
    { amount: 3_000, currency: 'usd', productId: 'prod_a', discountable: false },
    { amount: 333, currency: 'usd', productId: 'prod_a' },
  ];

  it('leaves it out of a percent discount: no entry, the others split the exact total', () => {
    const r = applyDiscounts(lines, [d('di_p', { id: 'co_p', percent_off: 33.33, duration: 'forever' })]);
    expect(r.lines.map((l) => l.discountAmounts)).toEqual([[{ discountId: 'di_p', amount: 3_333 }], [], [{ discountId: 'di_p', amount: 111 }]]);
    // round(10,333 × 33.33 %) = 3,444, all of it on the discountable lines.
    expect(r.totalDiscountAmounts).toEqual([{ discountId: 'di_p', amount: 3_444 }]);
    expect(r.lines[1]).toEqual({ discountAmounts: [], totalDiscount: 0, amountAfterDiscount: 3_000 });
  });

  it('leaves it out of an amount-off discount, capped by the discountable lines only', () => {
    const r = applyDiscounts(lines, [d('di_a', { id: 'co_a', amount_off: 20_000, currency: 'usd', duration: 'once' })]);
    expect(r.lines.map((l) => l.discountAmounts)).toEqual([[{ discountId: 'di_a', amount: 10_000 }], [], [{ discountId: 'di_a', amount: 333 }]]);
    expect(r.totalDiscount).toBe(10_333);
  });
});
