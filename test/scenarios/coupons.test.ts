import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, subscribe, type BillingApp } from './support.js';

// A 3-month repeating coupon: exactly three discounted invoices, then full price.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

async function coupon(payload: Record<string, unknown>) {
  const res = await t.call({ method: 'POST', url: '/v1/coupons', payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { id: string; percent_off: number; duration: string; duration_in_months: number };
}

describe('a 3-month repeating coupon', () => {
  it('discounts exactly the first three monthly invoices', async () => {
    const c = await coupon({ id: 'THREE_MONTHS_20', name: '20 % off for 3 months', percent_off: 20, duration: 'repeating', duration_in_months: 3 });
    expect([c.percent_off, c.duration, c.duration_in_months]).toEqual([20, 'repeating', 3]);

    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', coupon: c.id });
    expect(sub.discounts).toHaveLength(1);
    await t.advance(clock, '2026-06-15T14:00:00Z');

    // 20 % of 150,000 = 30,000 → 120,000 for Jan, Feb, Mar; the discount ends Apr 15 12:00 (3 months
    // after it started), so the invoice starting exactly then is at full price.
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 120_000, 120_000, '2026-01-15T12:00:00Z', '2026-02-15T12:00:00Z', 'subscription_create'],
      ['paid', 120_000, 120_000, '2026-02-15T12:00:00Z', '2026-03-15T12:00:00Z', 'subscription_cycle'],
      ['paid', 120_000, 120_000, '2026-03-15T12:00:00Z', '2026-04-15T12:00:00Z', 'subscription_cycle'],
      ['paid', 150_000, 150_000, '2026-04-15T12:00:00Z', '2026-05-15T12:00:00Z', 'subscription_cycle'],
      ['paid', 150_000, 150_000, '2026-05-15T12:00:00Z', '2026-06-15T12:00:00Z', 'subscription_cycle'],
      ['paid', 150_000, 150_000, '2026-06-15T12:00:00Z', '2026-07-15T12:00:00Z', 'subscription_cycle'],
    ]);
    const discounted = invs.filter((i) => i.total < i.subtotal);
    expect(discounted).toHaveLength(3);
    for (const inv of invs) {
      const full = (await t.call({ method: 'GET', url: `/v1/invoices/${inv.id}` })).body;
      const isDiscounted = discounted.some((d) => d.id === inv.id);
      expect(full.subtotal).toBe(150_000);
      expect(full.total_discount_amounts).toEqual(isDiscounted ? [{ discount: sub.discounts[0], amount: 30_000 }] : []);
      expect(full.lines.data[0].discount_amounts).toEqual(isDiscounted ? [{ discount: sub.discounts[0], amount: 30_000 }] : []);
    }
    expect((await get(t, `/v1/coupons/${c.id}`)).times_redeemed).toBe(1);
  });

  it('rounds a percentage once on the subtotal (33.33 % of 97.00)', async () => {
    const c = await coupon({ percent_off: 33.33, duration: 'repeating', duration_in_months: 3 });
    const clock = await t.clockAt('2026-01-31T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c.id });
    await t.advance(clock, '2026-05-31T02:00:00Z');
    // 9,700 × 33.33 % = 3,233.01 → 3,233 off → 6,467. From Jan 31 the discount ends Apr 30 00:00
    // (3 months, clamped), so Jan 31, Feb 28 and Mar 31 are discounted; Apr 30 is not.
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 6467, 6467, '2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', 'subscription_create'],
      ['paid', 6467, 6467, '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z', 'subscription_cycle'],
      ['paid', 6467, 6467, '2026-03-31T00:00:00Z', '2026-04-30T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-04-30T00:00:00Z', '2026-05-31T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-05-31T00:00:00Z', '2026-06-30T00:00:00Z', 'subscription_cycle'],
    ]);
  });
});
