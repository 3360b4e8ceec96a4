import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';

// A subscription item names its price by `price`, or by `plan`, its older name (integrations written
// before Stripe's prices still send it): one of the two, never both.

let t: TestApp & BillingHelpers;
let community: string;
let group: string;
beforeAll(async () => {
  t = await createBillingApp();
  community = await t.priceId('community_monthly');
  group = await t.priceId('group_monthly');
});
afterAll(() => t.close());

const call = async (url: string, payload: Record<string, unknown>) => {
  const res = await t.call({ method: 'POST', url, payload });
  return [res.status, res.body.error?.code ?? null, res.body.error?.param ?? null];
};

describe('subscription item price or plan', () => {
  it('takes plan as price on create and update; refuses both, and neither on create', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ plan: community, quantity: 2 }], trial_end: 'now' });
    expect(sub.items.data.map((i: { price: { id: string }; quantity: number }) => [i.price.id, i.quantity])).toEqual([[community, 2]]);
    const moved = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, plan: group }], proration_behavior: 'none' });
    expect(moved.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);

    expect(await call('/v1/subscriptions', { customer, items: [{ price: community, plan: community }] })).toEqual([400, 'parameter_invalid', 'items[0][plan]']);
    expect(await call('/v1/subscriptions', { customer, items: [{ quantity: 1 }] })).toEqual([400, 'parameter_missing', 'items[0][price]']);
    expect(await call(`/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: community, plan: group }] })).toEqual([400, 'parameter_invalid', 'items[0][plan]']);
    expect((await t.sub(sub.id)).items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);
  });
});
