import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { checkBooks } from '../helpers/books.js';
import { subscriptionScheduleObject } from '../../src/modules/subscription-schedules/schemas.js';
import { advanceTo, communityOnClock, errorOf, events, get, iso, ok, unix, type BillingApp, type Inv } from './support.js';

// Subscription schedule phases with discounts, as Stripe's guide puts it: "50 % off for the first three
// months … in the second phase the subscription is reverted to the normal cost and the coupon is
// removed." Community is 9,700 a month, Group 150,000.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const schedules = '/v1/subscription_schedules';
let n = 0;
const coupon = async (terms: Record<string, unknown>) => (await ok(t, 'POST', '/v1/coupons', { id: `sd_${++n}`, ...terms })).id as string;
const totals = async (sub: string) => (await t.invoices(sub)).map((i: Inv) => [iso(i.period_start), i.total]);
/** The clock moved to 02:00 on the first of each month up to `last` (one advance may cover only two periods). */
async function monthly(clock: string, from: string, last: string): Promise<void> {
  for (let d = new Date(`${from}T02:00:00Z`); d <= new Date(`${last}T02:00:00Z`); d.setUTCMonth(d.getUTCMonth() + 1)) await advanceTo(t, clock, d.toISOString());
}
/** A phase as read, sent back with what a phase takes (Stripe's object has more fields than its parameters). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const asSent = (p: any) => ({ items: p.items.map((i: { price: string; quantity: number }) => ({ price: i.price, quantity: i.quantity })), start_date: p.start_date, end_date: p.end_date, discounts: p.discounts });
const discountEvents = async (customer: string, type: string) => (await events(t, customer, type)).map((e) => [e.data.object.coupon.id, iso(e.created)]);

describe('subscription schedule phases with discounts', () => {
  it('three months of Community at 50 % off, then the full price: 4,850 × 3, then 9,700; the coupon is removed on Apr 1', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const half = await coupon({ percent_off: 50, duration: 'forever' });
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [
        { items: [{ price: community }], iterations: 3, discounts: [{ coupon: half }] },
        { items: [{ price: community }], iterations: 2 },
      ],
    });
    expect(sched.phases.map((p: { discounts: unknown[] }) => p.discounts)).toEqual([[{ coupon: half, discount: null, promotion_code: null }], []]);
    expect(subscriptionScheduleObject.safeParse(sched).error).toBeUndefined();
    const subId = sched.subscription as string;
    expect((await t.sub(subId)).discounts).toHaveLength(1);

    await monthly(clock, '2026-02-01', '2026-03-01');
    // The preview of Apr 1 already bills without the coupon.
    expect((await get(t, `/v1/invoices/upcoming?subscription=${subId}`)).total).toBe(9700);
    await monthly(clock, '2026-04-01', '2026-06-01');
    expect(await totals(subId)).toEqual([
      ['2026-01-01T00:00:00Z', 4850],
      ['2026-02-01T00:00:00Z', 4850],
      ['2026-03-01T00:00:00Z', 4850],
      ['2026-04-01T00:00:00Z', 9700],
      ['2026-05-01T00:00:00Z', 9700],
      // Released on Jun 1: the subscription goes on as the last phase left it.
      ['2026-06-01T00:00:00Z', 9700],
    ]);
    expect((await t.sub(subId)).discounts).toEqual([]);
    expect(await discountEvents(customer, 'customer.discount.created')).toEqual([[half, '2026-01-01T00:00:00Z']]);
    expect(await discountEvents(customer, 'customer.discount.deleted')).toEqual([[half, '2026-04-01T00:00:00Z']]);
    const removed = (await events(t, customer, 'customer.subscription.updated')).find((e) => iso(e.data.object.current_period_start) === '2026-04-01T00:00:00Z')!;
    expect([removed.data.object.discounts, removed.data.previous_attributes.discounts.length]).toEqual([[], 1]);
  });

  it("from_subscription holds the subscription's coupon in phase 0; the next phase's coupon replaces it, and runs out by its own duration", async () => {
    const community = await t.priceId('community_monthly');
    const tenOff = await coupon({ amount_off: 1000, currency: 'usd', duration: 'forever' });
    const quarterOff = await coupon({ percent_off: 25, duration: 'repeating', duration_in_months: 2 });
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z', { coupon: tenOff });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    expect(sched.phases[0].discounts).toEqual([{ coupon: tenOff, discount: null, promotion_code: null }]);
    // Sent back as read, with the next phase's coupon.
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [asSent(sched.phases[0]), { items: [{ price: community }], iterations: 3, discounts: [{ coupon: quarterOff }] }],
    });
    expect(updated.phases.map((p: { discounts: { coupon: string }[] }) => p.discounts.map((d) => d.coupon))).toEqual([[tenOff], [quarterOff]]);
    // 9,700 − 25 % = 7,275 from Feb 1; nothing is redeemed before then.
    expect((await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(7275);
    expect((await get(t, `/v1/coupons/${quarterOff}`)).times_redeemed).toBe(0);
    await monthly(clock, '2026-02-01', '2026-05-01');
    expect(await totals(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 8700],
      ['2026-02-01T00:00:00Z', 7275],
      ['2026-03-01T00:00:00Z', 7275],
      // Two months from Feb 1: the repeating coupon has run out by Apr 1.
      ['2026-04-01T00:00:00Z', 9700],
      ['2026-05-01T00:00:00Z', 9700],
    ]);
    expect((await get(t, `/v1/coupons/${quarterOff}`)).times_redeemed).toBe(1);
    expect(await discountEvents(customer, 'customer.discount.created')).toEqual([
      [tenOff, '2026-01-01T00:00:00Z'],
      [quarterOff, '2026-02-01T00:00:00Z'],
    ]);
    expect(await discountEvents(customer, 'customer.discount.deleted')).toEqual([
      [tenOff, '2026-02-01T00:00:00Z'],
      [quarterOff, '2026-04-01T00:00:00Z'],
    ]);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('the same coupon in the next phase goes on as it is; {discount} names the one the subscription has', async () => {
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z', { coupon: tenPct });
    const current = (await t.sub(sub.id)).discounts[0] as string;
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: group }], iterations: 1, discounts: [{ discount: current }] },
      ],
    });
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', 8730],
      ['2026-02-01T00:00:00Z', 135_000],
    ]);
    expect((await t.sub(sub.id)).discounts).toEqual([current]);
    expect((await events(t, customer, 'customer.discount.created')).length).toBe(1);
    expect((await events(t, customer, 'customer.discount.deleted')).length).toBe(0);
  });

  it('a phase starting inside a period (Jan 16) takes its coupon from then: the prorations keep the discounts in force before it', async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const { clock, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z') },
        { items: [{ price: group }], end_date: unix('2026-03-01T00:00:00Z'), discounts: [{ coupon: tenPct }] },
      ],
    });
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    expect((await t.sub(sub.id)).discounts).toHaveLength(1);
    // −5,006 + 77,419 undiscounted (no discount was in force when they were made), Group less 10 %: 135,000.
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    type Line = { amount: number; proration: boolean; discount_amounts: { amount: number }[] };
    const feb = (await get(t, `/v1/invoices/${(await t.sub(sub.id)).latest_invoice}`)) as { total: number; lines: { data: Line[] } };
    expect(feb.lines.data.map((l) => [l.amount, l.proration, l.discount_amounts.reduce((s, d) => s + d.amount, 0)]).sort()).toEqual(
      [[-5006, true, 0], [77_419, true, 0], [150_000, false, 15_000]].sort(),
    );
    expect(feb.total).toBe(207_413);
  });

  it('a promotion code is redeemed when its phase starts; a coupon deleted before then is left out and the phase bills in full', async () => {
    const community = await t.priceId('community_monthly');
    const fivePct = await coupon({ percent_off: 5, duration: 'forever' });
    const promo = await ok(t, 'POST', '/v1/promotion_codes', { coupon: fivePct, code: `PHASE${n}` });
    const gone = await coupon({ percent_off: 20, duration: 'forever' });
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [
        { items: [{ price: community }], iterations: 1 },
        { items: [{ price: community }], iterations: 1, discounts: [{ promotion_code: promo.id }] },
        { items: [{ price: community }], iterations: 1, coupon: gone },
      ],
    });
    expect(sched.phases.map((p: { discounts: unknown[] }) => p.discounts)).toEqual([
      [],
      [{ coupon: fivePct, discount: null, promotion_code: promo.id }],
      [{ coupon: gone, discount: null, promotion_code: null }],
    ]);
    expect((await get(t, `/v1/promotion_codes/${promo.id}`)).times_redeemed).toBe(0);
    await ok(t, 'DELETE', `/v1/coupons/${gone}`);
    await monthly(clock, '2026-02-01', '2026-03-01');
    expect((await get(t, `/v1/promotion_codes/${promo.id}`)).times_redeemed).toBe(1);
    const subId = sched.subscription as string;
    expect(await totals(subId)).toEqual([
      ['2026-01-01T00:00:00Z', 9700],
      ['2026-02-01T00:00:00Z', 9215],
      ['2026-03-01T00:00:00Z', 9700],
    ]);
    const febDiscount = await get(t, `/v1/invoices/${(await t.invoices(subId))[1]!.id}?expand[]=discounts`);
    // Removed on Mar 1 (the next phase names a coupon), the discount still expands on the invoice it reduced.
    expect(febDiscount.discounts.map((d: { promotion_code: string; end: number }) => [d.promotion_code, iso(d.end)])).toEqual([[promo.id, '2026-03-01T00:00:00Z']]);
    expect((await t.sub(subId)).discounts).toEqual([]);
  });

  it('refuses what it cannot redeem, naming the parameter, and writes nothing', async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const tenPct = await coupon({ percent_off: 10, duration: 'forever' });
    const euros = await coupon({ amount_off: 500, currency: 'eur', duration: 'once' });
    const firstTime = await ok(t, 'POST', '/v1/promotion_codes', { coupon: tenPct, code: `FIRST${n}`, restrictions: { first_time_transaction: true } });
    const { sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const phase0 = asSent(sched.phases[0]);
    const call = (phases: unknown[]) => t.call({ method: 'POST', url: `${schedules}/${sched.id}`, payload: { phases } });
    const next = (extra: Record<string, unknown>) => ({ items: [{ price: group }], iterations: 1, ...extra });
    expect(errorOf(await call([phase0, next({ discounts: [{ coupon: 'nope' }] })]))).toEqual([404, 'resource_missing', 'phases[1][discounts][0][coupon]']);
    expect(errorOf(await call([phase0, next({ coupon: 'nope' })]))).toEqual([404, 'resource_missing', 'phases[1][coupon]']);
    expect(errorOf(await call([phase0, next({ coupon: tenPct, discounts: [{ coupon: tenPct }] })]))).toEqual([400, 'parameter_invalid', 'phases[1][coupon]']);
    expect(errorOf(await call([phase0, next({ discounts: [{ coupon: euros }] })]))).toEqual([400, 'coupon_currency_mismatch', 'phases[1][discounts][0][coupon]']);
    expect(errorOf(await call([phase0, next({ discounts: [{}] })]))).toEqual([400, 'parameter_missing', 'phases[1][discounts][0][coupon]']);
    expect(errorOf(await call([phase0, next({ discounts: [{ discount: 'di_nope' }] })]))).toEqual([400, 'resource_missing', 'phases[1][discounts][0][discount]']);
    // The customer has paid (the first invoice): a first-time code is refused now, not at the phase's start.
    expect(errorOf(await call([phase0, next({ discounts: [{ promotion_code: firstTime.id }] })]))).toEqual([400, 'promotion_code_first_time_only', 'phases[1][discounts][0][promotion_code]']);
    // The phase in force put its discount (none) in place when it started.
    expect(errorOf(await call([{ ...phase0, discounts: [{ coupon: tenPct }] }, next({})]))).toEqual([400, 'parameter_invalid', 'phases[0][discounts]']);
    expect(errorOf(await call([{ ...phase0, discounts: undefined, coupon: tenPct }, next({})]))).toEqual([400, 'parameter_invalid', 'phases[0][coupon]']);
    expect((await call([phase0, next({ discounts: [{ coupon: tenPct }, { coupon: tenPct }] })])).status).toBe(400);
    // Nothing was written: one phase, no redemption.
    expect((await get(t, `${schedules}/${sched.id}`)).phases).toHaveLength(1);
    expect((await get(t, `/v1/coupons/${tenPct}`)).times_redeemed).toBe(0);
    // A customer's schedule checks its first phase's coupon as a new subscription would (community is in usd).
    const other = await t.customer({ card: 'pm_card_visa' });
    const res = await t.call({ method: 'POST', url: schedules, payload: { customer: other, phases: [{ items: [{ price: community }], discounts: [{ coupon: euros }] }] } });
    expect(errorOf(res)).toEqual([400, 'coupon_currency_mismatch', 'phases[0][discounts][0][coupon]']);
    expect((await get(t, `${schedules}?customer=${other}`)).data).toEqual([]);
  });
});
