import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { checkBooks } from '../helpers/books.js';
import { advanceTo, communityOnClock, errorOf, events, get, iso, ok, recurringPrice, type BillingApp, type Inv } from './support.js';

// Several discounts on one subscription (Stripe's `discounts`, up to twenty): they apply in the
// subscription's order, each on what the ones before it left. Community is 9,700 a month.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

let n = 0;
const coupon = async (terms: Record<string, unknown>) => (await ok(t, 'POST', '/v1/coupons', { id: `msd_${++n}`, ...terms })).id as string;
const totals = async (sub: string) => (await t.invoices(sub)).map((i: Inv) => [iso(i.period_start), i.total]);
/** The coupons of these discounts, in the order given. */
const couponsOf = async (ids: string[]) => {
  const { rows } = await t.testDb.db.query<{ id: string; coupon: string }>(`SELECT id, coupon FROM discounts WHERE id = ANY($1::text[])`, [ids]);
  return ids.map((id) => rows.find((r) => r.id === id)?.coupon);
};
const subscribeWith = async (customer: string, price: string, discounts: unknown[]) => ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }], discounts });
const discountEvents = async (customer: string, type: string) => (await events(t, customer, type)).map((e) => [e.data.object.coupon.id, iso(e.created)]);

describe('several discounts on a subscription', () => {
  it('10 % then 5,000 off bills 3,730 a month; the other order bills 4,230', async () => {
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const fiftyOff = await coupon({ amount_off: 5000, currency: 'usd', duration: 'forever' });
    const a = await communityOnClock(t, '2026-01-01T00:00:00Z', { discounts: [{ coupon: tenPct }, { coupon: fiftyOff }] });
    const b = await communityOnClock(t, '2026-01-01T00:00:00Z', { discounts: [{ coupon: fiftyOff }, { coupon: tenPct }] });
    expect(a.sub.discounts).toHaveLength(2);
    expect(await couponsOf(a.sub.discounts)).toEqual([tenPct, fiftyOff]);
    expect(await couponsOf(b.sub.discounts)).toEqual([fiftyOff, tenPct]);

    const first = await get(t, `/v1/invoices/${a.sub.latest_invoice}`);
    // 9,700 − 970 (10 %) = 8,730; − 5,000 = 3,730.
    expect(first.total_discount_amounts).toEqual([
      { amount: 970, discount: a.sub.discounts[0] },
      { amount: 5000, discount: a.sub.discounts[1] },
    ]);
    await advanceTo(t, a.clock, '2026-02-01T02:00:00Z');
    await advanceTo(t, b.clock, '2026-02-01T02:00:00Z');
    expect(await totals(a.sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 3730],
      ['2026-02-01T00:00:00Z', 3730],
    ]);
    // 9,700 − 5,000 = 4,700; − 470 (10 %) = 4,230.
    expect(await totals(b.sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 4230],
      ['2026-02-01T00:00:00Z', 4230],
    ]);
    expect((await get(t, `/v1/coupons/${tenPct}`)).times_redeemed).toBe(2);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('an update keeps the discount it names, adds the new one after it and removes the other', async () => {
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const fiftyOff = await coupon({ amount_off: 5000, currency: 'usd', duration: 'forever' });
    const tenOnce = await coupon({ amount_off: 1000, currency: 'usd', duration: 'once' });
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z', { discounts: [{ coupon: tenPct }, { coupon: fiftyOff }] });
    const [pct, fifty] = sub.discounts as string[];
    await advanceTo(t, clock, '2026-01-15T00:00:00Z');
    const updated = await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { discounts: [{ discount: fifty }, { coupon: tenOnce }] });
    expect(updated.discounts).toHaveLength(2);
    expect(updated.discounts[0]).toBe(fifty);
    expect(updated.discounts).not.toContain(pct);
    expect(await couponsOf(updated.discounts)).toEqual([fiftyOff, tenOnce]);
    // The upcoming invoice already bills the new pair: 9,700 − 5,000 − 1,000.
    expect((await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(3700);

    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 3730],
      ['2026-02-01T00:00:00Z', 3700],
      // The once coupon was spent by February's invoice.
      ['2026-03-01T00:00:00Z', 4700],
    ]);
    expect((await t.sub(sub.id)).discounts).toEqual([fifty]);
    expect(await discountEvents(customer, 'customer.discount.deleted')).toEqual([
      [tenPct, '2026-01-15T00:00:00Z'],
      [tenOnce, '2026-02-01T00:00:00Z'],
    ]);
    // discounts: "" takes every one off.
    expect((await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { discounts: '' })).discounts).toEqual([]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('refuses a coupon twice, an unknown one, more than twenty or a discount not its own, and writes nothing', async () => {
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const fiftyOff = await coupon({ amount_off: 5000, currency: 'usd', duration: 'forever' });
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const create = (discounts: unknown) => t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price }], discounts } });

    expect(errorOf(await create([{ coupon: tenPct }, { coupon: tenPct }]))).toEqual([400, 'parameter_invalid', 'discounts[1][coupon]']);
    expect(errorOf(await create([{ coupon: tenPct }, { coupon: 'nope' }]))).toEqual([404, 'resource_missing', 'discounts[1][coupon]']);
    const many = await create(Array.from({ length: 21 }, () => ({ coupon: tenPct })));
    expect([many.status, many.body.error.param]).toEqual([400, 'discounts']);
    expect((await get(t, `/v1/subscriptions?customer=${customer}`)).data).toEqual([]);
    expect((await get(t, `/v1/coupons/${tenPct}`)).times_redeemed).toBe(0);

    const sub = (await create([{ coupon: tenPct }, { coupon: fiftyOff }])).body;
    const [pct, fifty] = sub.discounts as string[];
    const other = (await communityOnClock(t, '2026-01-01T00:00:00Z', { discounts: [{ coupon: tenPct }] })).sub.discounts[0];
    const upd = (discounts: unknown) => t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { discounts } });
    expect(errorOf(await upd([{ discount: other }]))).toEqual([400, 'resource_missing', 'discounts[0][discount]']);
    expect(errorOf(await upd([{ discount: pct }, { discount: pct }]))).toEqual([400, 'parameter_invalid', 'discounts[1][discount]']);
    expect(errorOf(await upd([{ discount: fifty }, { coupon: fiftyOff }]))).toEqual([400, 'parameter_invalid', 'discounts[1][coupon]']);
    expect(errorOf(await upd([{ discount: fifty }, { coupon: 'nope' }]))).toEqual([404, 'resource_missing', 'discounts[1][coupon]']);
    expect((await t.sub(sub.id)).discounts).toEqual([pct, fifty]);
    expect(await events(t, customer, 'customer.discount.deleted')).toEqual([]);
  });

  it("a schedule from the subscription holds both; the next phase keeps the one it names again and replaces the other", async () => {
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const fiftyOff = await coupon({ amount_off: 5000, currency: 'usd', duration: 'forever' });
    const quarter = await coupon({ percent_off: 25, duration: 'forever' });
    const community = await t.priceId('community_monthly');
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z', { discounts: [{ coupon: tenPct }, { coupon: fiftyOff }] });
    const fifty = sub.discounts[1] as string;
    const sched = await ok(t, 'POST', '/v1/subscription_schedules', { from_subscription: sub.id });
    expect(sched.phases[0].discounts).toEqual([
      { coupon: tenPct, discount: null, promotion_code: null },
      { coupon: fiftyOff, discount: null, promotion_code: null },
    ]);
    const twice = await t.call({
      method: 'POST',
      url: `/v1/subscription_schedules/${sched.id}`,
      payload: { phases: [{ items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date, discounts: sched.phases[0].discounts.map((d: { coupon: string }) => ({ coupon: d.coupon })) }, { items: [{ price: community }], iterations: 1, discounts: [{ coupon: quarter }, { coupon: quarter }] }] },
    });
    expect(errorOf(twice)).toEqual([400, 'parameter_invalid', 'phases[1][discounts][1][coupon]']);
    await ok(t, 'POST', `/v1/subscription_schedules/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date, discounts: [{ coupon: tenPct }, { coupon: fiftyOff }] },
        { items: [{ price: community }], iterations: 2, discounts: [{ coupon: quarter }, { coupon: fiftyOff }] },
      ],
    });
    // The kept 5,000 off applies first, then 25 %: 9,700 − 5,000 = 4,700; − 1,175 = 3,525.
    expect((await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(3525);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 3730],
      ['2026-02-01T00:00:00Z', 3525],
      ['2026-03-01T00:00:00Z', 3525],
    ]);
    const now = (await t.sub(sub.id)).discounts as string[];
    expect(now[0]).toBe(fifty);
    expect(await couponsOf(now)).toEqual([fiftyOff, quarter]);
    expect(await discountEvents(customer, 'customer.discount.deleted')).toEqual([[tenPct, '2026-02-01T00:00:00Z']]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('a preview takes discounts instead of those it would inherit, and keeps nothing', async () => {
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const fiftyOff = await coupon({ amount_off: 5000, currency: 'usd', duration: 'forever' });
    const loyal = await coupon({ percent_off: 20, duration: 'forever' });
    const code = (await ok(t, 'POST', '/v1/promotion_codes', { coupon: fiftyOff, code: `SAVE50X${n}` })).code as string;
    // Community's price without its trial, so that the first invoice bills the month.
    const price = await recurringPrice(t, { interval: 'month' }, 9700);
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await ok(t, 'POST', `/v1/customers/${customer}`, { coupon: loyal });
    const preview = (body: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload: body });
    const fresh = { customer, subscription_details: { items: [{ price }] } };

    // A checkout page: the customer's 20 % would apply (7,760); the code typed replaces it (4,700).
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', fresh)).total).toBe(7760);
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', { ...fresh, discounts: [{ promotion_code: code }] })).total).toBe(4700);
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', { ...fresh, discounts: '' })).total).toBe(9700);
    expect(errorOf(await preview({ ...fresh, discounts: [{ discount: 'di_x' }] }))).toEqual([400, 'parameter_invalid', 'discounts[0][discount]']);

    const sub = await subscribeWith(customer, price, [{ coupon: tenPct }]);
    // Renewal on Feb 1: 10 % (8,730); 10 % then 5,000 off (3,730); none at all (9,700).
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', { subscription: sub.id })).total).toBe(8730);
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', { subscription: sub.id, discounts: [{ discount: sub.discounts[0] }, { coupon: fiftyOff }] })).total).toBe(3730);
    expect((await ok(t, 'POST', '/v1/invoices/create_preview', { subscription: sub.id, discounts: '' })).total).toBe(9700);
    expect(errorOf(await preview({ subscription: sub.id, discounts: [{ coupon: 'nope' }] }))).toEqual([404, 'resource_missing', 'discounts[0][coupon]']);
    // Nothing was redeemed or removed.
    expect((await get(t, `/v1/coupons/${fiftyOff}`)).times_redeemed).toBe(0);
    expect((await t.sub(sub.id)).discounts).toEqual(sub.discounts);
    expect((await get(t, `/v1/customers/${customer}`)).discount.coupon.id).toBe(loyal);
  });
});
