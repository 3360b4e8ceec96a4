import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { advanceTo, errorOf, get, ok, subscribe, type BillingApp, type Inv } from './support.js';

// Stripe's add_invoice_items: one-time prices (here the course, 99,700) billed on the subscription's
// next invoice. Community is 9,700 a month, Group 150,000.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const lines = (inv: Inv) => inv.lines.data.map((l) => [l.description, l.amount]);
const latest = async (subId: string): Promise<Inv> => get(t, `/v1/invoices/${(await get(t, `/v1/subscriptions/${subId}`)).latest_invoice}`);

/** A customer with a Visa on a clock at Jan 1 2026, subscribed to Community with the course added. */
async function communityWithCourse(extra: Record<string, unknown>) {
  const clock = await t.clockAt('2026-01-01T00:00:00Z');
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], add_invoice_items: [{ price: await t.priceId('course_onetime') }], ...extra });
  return { clock, sub };
}

describe('add_invoice_items', () => {
  it('bills a one-time price on the first invoice with the first period', async () => {
    const { clock, sub } = await communityWithCourse({ trial_end: 'now' });
    const inv = await latest(sub.id);
    expect([inv.status, inv.total, inv.amount_paid, inv.billing_reason]).toEqual(['paid', 109_400, 109_400, 'subscription_create']);
    expect(lines(inv)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700],
      ['Self-Paced Courses', 99_700],
    ]);
    // Billed once: the Feb 1 renewal is the plan alone.
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect([(await latest(sub.id)).total]).toEqual([9700]);
  });

  it('bills it at once on a trial’s invoice, with the subscription’s discount (20 % → 79,760)', async () => {
    const coupon = await ok(t, 'POST', '/v1/coupons', { percent_off: 20, duration: 'forever' });
    const { sub } = await communityWithCourse({ trial_period_days: 14, discounts: [{ coupon: coupon.id }] });
    expect(sub.status).toBe('trialing');
    const inv = await latest(sub.id);
    expect([inv.status, inv.subtotal, inv.total, inv.amount_paid]).toEqual(['paid', 99_700, 79_760, 79_760]);
    expect(lines(inv)).toEqual([
      ['Trial period for Community Access', 0],
      ['Self-Paced Courses', 99_700],
    ]);
  });

  it('on an update: on the change’s invoice with always_invoice, else on the next renewal', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const course = await t.priceId('course_onetime');
    await advanceTo(t, clock, '2026-01-16T00:00:00Z');
    // Upgrade with 16 of 31 days left: −5,006 + 77,419, plus two courses 199,400 = 271,813.
    const up = await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, {
      items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }],
      proration_behavior: 'always_invoice',
      add_invoice_items: [{ price: course, quantity: 2 }],
    });
    const inv: Inv = await get(t, `/v1/invoices/${up.latest_invoice}`);
    expect([inv.status, inv.total]).toEqual(['paid', 271_813]);
    expect(lines(inv).find((l) => l[0] === 'Self-Paced Courses')).toEqual(['Self-Paced Courses', 199_400]);

    // Without an invoice now, the course waits for the Feb 1 renewal: 150,000 + 99,700.
    await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { add_invoice_items: [{ price: course }] });
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data.map((i: { amount: number; subscription: string }) => [i.amount, i.subscription])).toEqual([[99_700, sub.id]]);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const renewal = await latest(sub.id);
    expect([renewal.total, renewal.billing_reason]).toEqual([249_700, 'subscription_cycle']);
  });

  it('refuses recurring, unknown or other-currency prices, naming the entry, and writes nothing', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const base = { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' };
    const create = (add: unknown[]) => t.call({ method: 'POST', url: '/v1/subscriptions', payload: { ...base, add_invoice_items: add } });
    expect(errorOf(await create([{ price: await t.priceId('elite_monthly') }]))).toEqual([400, 'parameter_invalid', 'add_invoice_items[0][price]']);
    expect(errorOf(await create([{ price: await t.priceId('course_onetime') }, { price: 'price_nope' }]))).toEqual([404, 'resource_missing', 'add_invoice_items[1][price]']);
    const eurOnly = await ok(t, 'POST', '/v1/prices', { product: 'prod_course', currency: 'eur', unit_amount: 5000 });
    expect(errorOf(await create([{ price: eurOnly.id }]))).toEqual([400, 'currency_mismatch', 'add_invoice_items[0][price]']);
    expect((await get(t, `/v1/subscriptions?customer=${customer}`)).data).toHaveLength(0);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}`)).data).toHaveLength(0);
  });
});
