import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { advanceTo, communityOnClock, errorOf, get, lineTuple, ok, type BillingApp, type Inv } from './support.js';

// /v1/subscription_items: Stripe's per-item API. Community (9,700 a month) from Jan 1 2026; on Jan 16
// (16 of 31 days left) Group (150,000) is added as a second item, then its quantity raised, then
// Community removed — each an update of the subscription, prorated to the second.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const tuple = (i: { price: { lookup_key: string }; quantity: number; subscription: string; object: string }) => [i.object, i.price.lookup_key, i.quantity, i.subscription];

describe('subscription items', () => {
  it('adds, lists, retrieves, changes and removes items, prorating each change', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    await advanceTo(t, clock, '2026-01-16T00:00:00Z');
    const community = sub.items.data[0].id as string;

    // Added with always_invoice: only the new item's remaining time, 150,000 × 16/31 = 77,419.35 → 77,419.
    const group = await ok(t, 'POST', '/v1/subscription_items', { subscription: sub.id, price: await t.priceId('group_monthly'), proration_behavior: 'always_invoice' });
    expect(tuple(group)).toEqual(['subscription_item', 'group_monthly', 1, sub.id]);
    expect(group.id).toMatch(/^si_/);
    const afterAdd = await get(t, `/v1/subscriptions/${sub.id}`);
    expect(afterAdd.items.data.map(tuple)).toEqual([
      ['subscription_item', 'community_monthly', 1, sub.id],
      ['subscription_item', 'group_monthly', 1, sub.id],
    ]);
    const inv: Inv = await get(t, `/v1/invoices/${afterAdd.latest_invoice}`);
    expect([inv.status, inv.total, inv.lines.data.map(lineTuple)]).toEqual([
      'paid',
      77419,
      [['Remaining time on Group Coaching Programs after Jan 16, 2026', 77419, '2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z', true]],
    ]);

    const list = await get(t, `/v1/subscription_items?subscription=${sub.id}`);
    expect([list.object, list.url, list.has_more, list.data.map((i: { id: string }) => i.id)]).toEqual(['list', '/v1/subscription_items', false, [community, group.id]]);
    expect(tuple(await get(t, `/v1/subscription_items/${group.id}`))).toEqual(['subscription_item', 'group_monthly', 1, sub.id]);

    // Quantity 1 → 3 with create_prorations: credit −77,419 for the one, debit 450,000 × 16/31 = 232,258.06 → 232,258
    // for the three, pending until Feb 1.
    const three = await ok(t, 'POST', `/v1/subscription_items/${group.id}`, { quantity: 3, metadata: { seats: 'team' } });
    expect([three.id, three.quantity, three.metadata]).toEqual([group.id, 3, { seats: 'team' }]);
    const pending = await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`);
    expect(pending.data.map((i: { amount: number; proration: boolean }) => [i.amount, i.proration]).sort((a: number[], b: number[]) => a[0]! - b[0]!)).toEqual([
      [-77419, true],
      [232258, true],
    ]);

    // Community removed without proration; the last item cannot be removed.
    const removed = await ok(t, 'DELETE', `/v1/subscription_items/${community}`, { proration_behavior: 'none' });
    expect(removed).toEqual({ id: community, object: 'subscription_item', deleted: true });
    expect((await get(t, `/v1/subscriptions/${sub.id}`)).items.data.map(tuple)).toEqual([['subscription_item', 'group_monthly', 3, sub.id]]);
    expect(errorOf(await t.call({ method: 'DELETE', url: `/v1/subscription_items/${group.id}` }))).toEqual([400, 'parameter_invalid', 'id']);
    expect(errorOf(await t.call({ method: 'GET', url: `/v1/subscription_items/${community}` }))).toEqual([404, 'resource_missing', 'id']);

    // Feb 1: three Group seats, 450,000, plus the prorations (−77,419 + 232,258): 604,839.
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const renewal: Inv = await get(t, `/v1/invoices/${(await get(t, `/v1/subscriptions/${sub.id}`)).latest_invoice}`);
    expect([renewal.status, renewal.total]).toEqual(['paid', 604839]);
  });

  it('names its own parameters in errors', async () => {
    const { sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    expect(errorOf(await t.call({ method: 'POST', url: '/v1/subscription_items', payload: { subscription: sub.id, price: 'price_nope' } }))).toEqual([404, 'resource_missing', 'price']);
    expect(errorOf(await t.call({ method: 'POST', url: '/v1/subscription_items', payload: { subscription: 'sub_nope', price: 'price_nope' } }))).toEqual([404, 'resource_missing', 'subscription']);
    // A second item billed yearly on a monthly subscription: the items' intervals must match.
    const yearly = await t.call({ method: 'POST', url: '/v1/subscription_items', payload: { subscription: sub.id, price: await t.priceId('elite_annual') } });
    expect([yearly.status, yearly.body.error?.param]).toEqual([400, 'price']);
    expect(errorOf(await t.call({ method: 'GET', url: '/v1/subscription_items' }))).toEqual([400, 'parameter_missing', 'subscription']);
  });
});
