import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from './helpers/billing.js';

// Stripe's `created` filter on the lists integrations sync from (customers, subscriptions, products,
// prices, coupons), as invoices and events already take it: a timestamp (that second) or a range.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2030-01-01T00:00:00Z');
});
afterAll(() => t.close());

describe('created on lists', () => {
  it('filters customers, subscriptions, products, prices and coupons by when they were created', async () => {
    const times = ['2030-01-01T00:00:00Z', '2030-01-02T00:00:00Z', '2030-01-03T00:00:00Z'];
    const made: Record<string, string[]> = { customers: [], subscriptions: [], products: [], prices: [], coupons: [] };
    const price = await t.priceId('community_monthly');
    for (const at of times) {
      t.clock.set(new Date(at));
      const customer = await t.customer({ card: 'pm_card_visa' });
      made.customers!.push(customer);
      made.subscriptions!.push((await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price }] })).id);
      const product = await t.ok('POST', '/v1/products', { name: `Cohort ${at}` });
      made.products!.push(product.id);
      made.prices!.push((await t.ok('POST', '/v1/prices', { currency: 'usd', product: product.id, unit_amount: 1_000 })).id);
      made.coupons!.push((await t.ok('POST', '/v1/coupons', { percent_off: 5, duration: 'once' })).id);
    }
    const [t1, t2, t3] = times.map(unix) as [number, number, number];
    for (const [list, ids] of Object.entries(made)) {
      const ask = async (qs: string) => (await t.ok('GET', `/v1/${list}?limit=100&${qs}`)).data.map((o: { id: string }) => o.id);
      expect(await ask(`created[gte]=${t2}`), list).toEqual([ids[2], ids[1]]);
      expect(await ask(`created[gt]=${t1}&created[lt]=${t3}`), list).toEqual([ids[1]]);
      // The seeded catalog was made at the first instant too.
      expect((await ask(`created[lte]=${t1}`)).filter((id: string) => ids.includes(id)), list).toEqual([ids[0]]);
      expect(await ask(`created=${t3}`), list).toEqual([ids[2]]);
    }
    const bad = await t.call({ method: 'GET', url: '/v1/customers?created[after]=1' });
    expect([bad.status, bad.body.error.param]).toEqual([400, 'created[after]']);
  });
});
