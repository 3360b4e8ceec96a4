import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { addMonths } from '../../src/core/time/index.js';
import { eventsOf, postOk, type BillingApp } from './states-support.js';
import { communityOnClock, unix } from './support.js';

// Events (Stripe's Event shape, its request, and "every state change writes one event") around
// subscription discounts: removed, replaced, spent by a renewal, expanded. Sources in each test.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const activeSub = (start: string, extra: Record<string, unknown> = {}) => communityOnClock(t, start, extra);

describe('Event.request (stripe Event.Request: "ID of the API request that caused the event. If null, the event was automatic")', () => {
  it('an event written by an API request carries that request id and its Idempotency-Key', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 10 }, headers: { 'idempotency-key': 'discount-key-1' } });
    expect(res.status).toBe(200);
    const requestId = res.headers['request-id'];
    expect(requestId).toMatch(/^req_/);
    const [evt] = await eventsOf(t, res.body.id, 'coupon.created');
    expect((evt as unknown as { request: unknown }).request).toEqual({ id: requestId, idempotency_key: 'discount-key-1' });
  });
});

describe('DELETE /v1/subscriptions/{id}/discount', () => {
  it('writes customer.subscription.updated with previous_attributes.discounts (the subscription changed)', async () => {
    const c = await postOk(t, '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const { sub } = await activeSub('2026-01-15T12:00:00Z', { coupon: c.id });
    const discountId = sub.discounts[0];
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}/discount` });
    expect(del.status).toBe(200);
    expect((await t.sub(sub.id)).discounts).toEqual([]);

    const updates = await eventsOf(t, sub.id, 'customer.subscription.updated');
    const last = updates[updates.length - 1]!;
    expect(last.data.object.discounts).toEqual([]);
    expect(last.data.previous_attributes).toEqual({ discounts: [discountId] });
  });
});

describe('removing or replacing a subscription discount through POST /v1/subscriptions/{id}', () => {
  it("discounts='' writes customer.discount.deleted for the removed discount", async () => {
    const c = await postOk(t, '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const { sub } = await activeSub('2026-01-15T12:00:00Z', { coupon: c.id });
    const discountId = sub.discounts[0];
    const after = await postOk(t, `/v1/subscriptions/${sub.id}`, { discounts: '' });
    expect(after.discounts).toEqual([]);
    // Same as DELETE /v1/subscriptions/{id}/discount already does: the discount is removed, so the event.
    const deleted = await eventsOf(t, discountId, 'customer.discount.deleted');
    expect(deleted).toHaveLength(1);
    expect([deleted[0]!.data.object.id, deleted[0]!.data.object.subscription]).toEqual([discountId, sub.id]);
  });

  it('a new coupon replacing the discount writes an event ending the old discount', async () => {
    const c1 = await postOk(t, '/v1/coupons', { percent_off: 10, duration: 'forever' });
    const c2 = await postOk(t, '/v1/coupons', { percent_off: 20, duration: 'forever' });
    const { sub } = await activeSub('2026-01-15T12:00:00Z', { coupon: c1.id });
    const oldId = sub.discounts[0];
    const after = await postOk(t, `/v1/subscriptions/${sub.id}`, { coupon: c2.id });
    expect(after.discounts).toHaveLength(1);
    expect(after.discounts[0]).not.toBe(oldId);
    const types = (await eventsOf(t, oldId)).map((e) => e.type);
    // Stripe: customer.discount.deleted "Occurs whenever a coupon is removed", .updated "whenever a
    // customer is switched from one coupon to another". Recur writes neither (only .created).
    expect(types.filter((ty) => ty === 'customer.discount.deleted' || ty === 'customer.discount.updated')).toHaveLength(1);
  });
});

describe('a once coupon added mid-period, spent by the next renewal', () => {
  it("the renewal's customer.subscription.updated shows the subscription as it is after it (no discount left)", async () => {
    const { clock, sub } = await activeSub('2026-01-15T12:00:00Z');
    await t.advance(clock, '2026-02-01T00:00:00Z');
    const c = await postOk(t, '/v1/coupons', { percent_off: 10, duration: 'once' });
    const withCoupon = await postOk(t, `/v1/subscriptions/${sub.id}`, { coupon: c.id });
    const discountId = withCoupon.discounts[0];
    await t.advance(clock, '2026-02-15T14:00:00Z');
    // The Feb 15 renewal spent the once discount: 9,700 − 970 = 8,730, and the subscription no longer lists it.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, 8730]);
    expect((await t.sub(sub.id)).discounts).toEqual([]);

    const updates = await eventsOf(t, sub.id, 'customer.subscription.updated');
    const renewal = updates.find((e) => e.created === unix('2026-02-15T12:00:00Z'))!;
    // Recur: data.object.discounts is [discountId] and previous_attributes has no `discounts`, and no
    // later event ever records the removal.
    expect(renewal.data.object.discounts).toEqual([]);
    expect(renewal.data.previous_attributes?.discounts).toEqual([discountId]);
  });
});

describe('expand[]=discounts on a subscription (Stripe: "Use expand[]=discounts to expand each discount")', () => {
  it('returns the discount objects with their start and end', async () => {
    const c = await postOk(t, '/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 3 });
    const { sub } = await activeSub('2026-01-15T12:00:00Z', { coupon: c.id });
    const res = await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.id}?expand[]=discounts` });
    expect(res.status).toBe(200);
    const d = res.body.discounts[0];
    expect(typeof d).toBe('object');
    expect([d.id, d.object, d.subscription, d.start, d.end]).toEqual([
      sub.discounts[0],
      'discount',
      sub.id,
      unix('2026-01-15T12:00:00Z'),
      Math.floor(addMonths(new Date('2026-01-15T12:00:00Z'), 3).getTime() / 1000),
    ]);
    expect(d.end).toBe(unix('2026-04-15T12:00:00Z'));
  });
});

describe('GET /v1/events with both type and types[]', () => {
  it('is refused (Stripe: "You may pass either type or types, but not both") instead of answering an empty list', async () => {
    await postOk(t, '/v1/coupons', { percent_off: 10 });
    const res = await t.call({ method: 'GET', url: '/v1/events?type=coupon.created&types[]=coupon.updated&limit=5' });
    expect(res.status).toBe(400);
  });
});

describe('events of work that is no request', () => {
  it('a test clock advance writes automatic events (request id null), as the worker does', async () => {
    const { clock, sub } = await activeSub('2026-05-01T00:00:00Z');
    const adv = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix('2026-06-01T02:00:00Z') }, headers: { 'idempotency-key': 'advance-1' } });
    expect(adv.status).toBe(200);
    const renewal = (await eventsOf(t, sub.id, 'customer.subscription.updated')).at(-1) as unknown as { request: unknown };
    expect(renewal.request).toEqual({ id: null, idempotency_key: null });
    const created = (await eventsOf(t, sub.id, 'customer.subscription.created'))[0] as unknown as { request: { id: string | null } };
    expect(created.request.id).toMatch(/^req_/);
  });
});
