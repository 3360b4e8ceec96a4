import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// DELETE /v1/subscriptions/{id}/discount: the discount ends now, with customer.discount.deleted, and
// the next renewal is at full price.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('removing a subscription discount', () => {
  it('ends it at the clock time; later invoices are at full price; a second delete is a 404', async () => {
    const coupon = await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 50, duration: 'forever' } });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = (await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: coupon.body.id } })).body;
    await t.advance(clock, '2026-03-10T00:00:00Z');

    const res = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}/discount`, payload: {} });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ object: 'discount', deleted: true, subscription: sub.id, end: Date.parse('2026-03-10T00:00:00Z') / 1000 });
    const events = await t.call({ method: 'GET', url: `/v1/events?type=customer.discount.deleted&customer=${customer}` });
    expect(events.body.data.map((e: { data: { object: { id: string } } }) => e.data.object.id)).toEqual([res.body.id]);
    expect((await t.sub(sub.id)).discounts).toEqual([]);

    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([4850, 9700]);
    const again = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}/discount`, payload: {} });
    expect([again.status, again.body.error.code]).toEqual([404, 'resource_missing']);
    const unknown = await t.call({ method: 'DELETE', url: '/v1/subscriptions/sub_nope/discount', payload: {} });
    expect(unknown.status).toBe(404);
  });
});
