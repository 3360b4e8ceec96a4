import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, eventsFor, ok, unix, type BillingApp } from './coupon-support.js';

// A discount that ends by its duration writes Stripe's customer.discount.deleted ("Occurs whenever a
// coupon is removed from a customer"), once, shaped as the one a discount removed by the API writes:
// a `once` discount when the invoice that used it spends it, a `repeating` one at the renewal that is
// the first to bill without it — or, when no renewal will pass its end, by the worker at the end.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('customer.discount.deleted for a discount that ends by its duration', () => {
  it('is written when a once discount is spent and when a repeating one ends, once each', async () => {
    const once = await ok(t, 'POST', '/v1/coupons', { percent_off: 50, duration: 'once' });
    const repeating = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const a = await t.customer({ clock, card: 'pm_card_visa' });
    const b = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly'); // 9,700 a month
    const sa = await ok(t, 'POST', '/v1/subscriptions', { customer: a, items: [{ price }], trial_end: 'now', coupon: once.id });
    const sb = await ok(t, 'POST', '/v1/subscriptions', { customer: b, items: [{ price }], trial_end: 'now', coupon: repeating.id });
    // The first invoice spends the once discount at once (as Stripe: the created subscription no longer lists it).
    const [firstA] = await t.invoices(sa.id);
    const onceId = (await ok(t, 'GET', `/v1/invoices/${firstA!.id}`)).discounts[0];
    const repeatingId = sb.discounts[0];
    expect([typeof onceId, sa.discounts, typeof repeatingId]).toEqual(['string', [], 'string']);

    const spent = await eventsFor(t, 'customer.discount.deleted', (o) => o.id === onceId);
    expect(spent.map((e) => [e.created, e.data.object.customer, e.data.object.subscription, e.data.object.coupon.id, e.data.object.end])).toEqual([
      [unix('2026-01-15T12:00:00Z'), a, sa.id, once.id, unix('2026-01-15T12:00:00Z')],
    ]);
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === repeatingId)).toHaveLength(0);

    // Feb 15 12:00: b's renewal is the first to bill without the repeating discount (it ended then).
    await t.advance(clock, '2026-02-16T00:00:00Z');
    expect((await t.sub(sb.id)).discounts).toEqual([]);
    const invB = await t.invoices(sb.id);
    expect(invB.map((i) => i.total)).toEqual([8730, 9700]);
    const ended = await eventsFor(t, 'customer.discount.deleted', (o) => o.id === repeatingId);
    expect(ended.map((e) => [e.created, e.data.object.object, e.data.object.customer, e.data.object.subscription, e.data.object.coupon.id, e.data.object.end])).toEqual([
      [unix('2026-02-15T12:00:00Z'), 'discount', b, sb.id, repeating.id, unix('2026-02-15T12:00:00Z')],
    ]);

    // Later renewals write nothing more for either discount.
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === onceId)).toHaveLength(1);
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === repeatingId)).toHaveLength(1);
  });

  it('is written for a repeating discount by a renewal outside the batch path (collection paused as drafts)', async () => {
    const repeating = await ok(t, 'POST', '/v1/coupons', { percent_off: 20, duration: 'repeating', duration_in_months: 2 });
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: repeating.id });
    const discountId = sub.discounts[0];
    await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { pause_collection: { behavior: 'keep_as_draft' } });
    await t.advance(clock, '2026-06-02T00:00:00Z');
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId)).toHaveLength(0);
    // Jul 1: the first renewal without the discount (it ended then), billed as a draft.
    await t.advance(clock, '2026-07-02T00:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.total])).toEqual([
      ['paid', 7760],
      ['draft', 7760],
      ['draft', 9700],
    ]);
    const ended = await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId);
    expect(ended.map((e) => [e.created, e.data.object.end])).toEqual([[unix('2026-07-01T00:00:00Z'), unix('2026-07-01T00:00:00Z')]]);
  });

  it("is written at its end by the worker when no renewal will pass it: a customer's own, a paused subscription's; never for an ended one", async () => {
    const month = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const clock = await t.clockAt('2026-03-10T08:00:00Z');
    // A customer without subscriptions, its own discount for a month.
    const alone = await t.customer({ clock, card: 'pm_card_visa' });
    const own = (await ok(t, 'POST', `/v1/customers/${alone}`, { coupon: month.id })).discount;
    // A trial that ends without a payment method pauses its subscription (end behavior pause): no renewal.
    const noCard = await t.customer({ clock });
    const paused = await ok(t, 'POST', '/v1/subscriptions', {
      customer: noCard,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_period_days: 7,
      trial_settings: { end_behavior: { missing_payment_method: 'pause' } },
      coupon: month.id,
    });
    // A subscription canceled at once: its discount ends with nothing to announce it to.
    const leaver = await t.customer({ clock, card: 'pm_card_visa' });
    const gone = await ok(t, 'POST', '/v1/subscriptions', { customer: leaver, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: month.id });
    await ok(t, 'DELETE', `/v1/subscriptions/${gone.id}`);
    const ids = [own.id, paused.discounts[0], gone.discounts[0]];

    await t.advance(clock, '2026-04-10T07:59:59Z');
    expect((await t.sub(paused.id)).status).toBe('paused');
    for (const id of ids) expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === id)).toHaveLength(0);
    // The clock stops at the end (April 10, 08:00) and the worker writes the two events then.
    await t.advance(clock, '2026-04-20T00:00:00Z');
    const ended = await eventsFor(t, 'customer.discount.deleted', (o) => ids.includes(o.id));
    expect(ended.map((e) => [e.created, e.data.object.id, e.data.object.customer, e.data.object.subscription, e.data.object.end])).toEqual([
      [unix('2026-04-10T08:00:00Z'), own.id, alone, null, unix('2026-04-10T08:00:00Z')],
      [unix('2026-04-10T08:00:00Z'), paused.discounts[0], noCard, paused.id, unix('2026-04-10T08:00:00Z')],
    ]);
    expect((await ok(t, 'GET', `/v1/customers/${alone}`)).discount).toBeNull();
    // No longer named on the customer, so reading it costs no read of discounts.
    expect((await t.testDb.db.query<{ discount: string | null }>(`SELECT discount FROM customers WHERE id = $1`, [alone])).rows[0]!.discount).toBeNull();
    await t.advance(clock, '2026-06-01T00:00:00Z');
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => ids.includes(o.id))).toHaveLength(2);
  });

  it('of a renewing subscription, ending inside a period, is written by the renewal after its end, while the subscription lists it until then', async () => {
    const month = await ok(t, 'POST', '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-20T00:00:00Z');
    const discountId = (await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { coupon: month.id })).discounts[0];
    // Apr 1 bills it (it runs to Apr 20, inside April's period): April's period still has it.
    await t.advance(clock, '2026-04-25T00:00:00Z');
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId)).toHaveLength(0);
    expect((await t.sub(sub.id)).discounts).toEqual([discountId]);
    // May 1: the first renewal without it.
    await t.advance(clock, '2026-05-02T00:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, 8730, 9700]);
    const ended = await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId);
    expect(ended.map((e) => [e.created, e.data.object.subscription, e.data.object.end])).toEqual([[unix('2026-05-01T00:00:00Z'), sub.id, unix('2026-04-20T00:00:00Z')]]);
    expect((await t.sub(sub.id)).discounts).toEqual([]);
  });

  it("is written when a subscription's once discount is spent by the first lines of an empty manual draft", async () => {
    const once = await ok(t, 'POST', '/v1/coupons', { percent_off: 25, duration: 'once' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    // Added by an update, the once discount waits for the next invoice that uses it.
    const withCoupon = await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { coupon: once.id });
    const discountId = withCoupon.discounts[0];
    const draft = await ok(t, 'POST', '/v1/invoices', { customer, subscription: sub.id, currency: 'usd' });
    expect([draft.total, draft.discounts]).toEqual([0, []]);
    expect(await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId)).toHaveLength(0);
    await t.advance(clock, '2026-03-01T00:20:00Z');
    await ok(t, 'POST', '/v1/invoiceitems', { customer, amount: 4000, currency: 'usd', invoice: draft.id, subscription: sub.id });
    const after = await ok(t, 'GET', `/v1/invoices/${draft.id}`);
    expect([after.total, after.discounts]).toEqual([3000, [discountId]]);
    const ended = await eventsFor(t, 'customer.discount.deleted', (o) => o.id === discountId);
    expect(ended.map((e) => [e.created, e.data.object.subscription, e.data.object.end])).toEqual([[unix('2026-03-01T00:20:00Z'), sub.id, unix('2026-03-01T00:20:00Z')]]);
  });
});
