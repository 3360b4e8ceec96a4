import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from './helpers/billing.js';

// Stripe's list filters as integrations sync with them: `created` (a timestamp, meaning that second, or
// a range) on every list that has it, and the other filters the official SDK's list params name.

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

  it('filters subscriptions, invoices, schedules and the other lists by the fields Stripe lets them', async () => {
    t.clock.set(new Date('2030-02-01T00:00:00Z'));
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const customer = await t.customer({ card: 'pm_card_visa' });
    const charged = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', automatic_tax: { enabled: false } });
    t.clock.set(new Date('2030-02-10T00:00:00Z'));
    const invoiced = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: group }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 30 });
    const subs = async (qs: string) => (await t.ok('GET', `/v1/subscriptions?customer=${customer}&${qs}`)).data.map((x: { id: string }) => x.id);
    expect(await subs('collection_method=send_invoice')).toEqual([invoiced.id]);
    expect(await subs('automatic_tax[enabled]=false')).toEqual([charged.id]);
    expect(await subs(`plan=${group}`)).toEqual([invoiced.id]);
    // Periods: Feb 1 – Mar 1 and Feb 10 – Mar 10.
    expect(await subs(`current_period_end[lte]=${unix('2030-03-01T00:00:00Z')}`)).toEqual([charged.id]);
    expect(await subs(`current_period_start[gt]=${unix('2030-02-01T00:00:00Z')}`)).toEqual([invoiced.id]);
    const both = await t.call({ method: 'GET', url: `/v1/subscriptions?price=${group}&plan=${group}` });
    expect([both.status, both.body.error.param]).toEqual([400, 'plan']);

    // The send_invoice subscription's first invoice is due Mar 12 (30 days from Feb 10).
    const dues = async (qs: string) => (await t.ok('GET', `/v1/invoices?customer=${customer}&${qs}`)).data.map((x: { id: string }) => x.id);
    expect(await dues(`due_date[gte]=${unix('2030-03-12T00:00:00Z')}`)).toEqual([invoiced.latest_invoice]);
    expect(await dues(`due_date[lt]=${unix('2030-03-12T00:00:00Z')}`)).toEqual([]);

    // Schedules: by creation and by release.
    const sched = await t.ok('POST', '/v1/subscription_schedules', { from_subscription: charged.id });
    t.clock.set(new Date('2030-02-11T00:00:00Z'));
    await t.ok('POST', `/v1/subscription_schedules/${sched.id}/release`);
    const schedules = async (qs: string) => (await t.ok('GET', `/v1/subscription_schedules?customer=${customer}&${qs}`)).data.map((x: { id: string }) => x.id);
    expect(await schedules(`released_at[gte]=${unix('2030-02-11T00:00:00Z')}`)).toEqual([sched.id]);
    expect(await schedules(`created[gte]=${unix('2030-02-11T00:00:00Z')}`)).toEqual([]);
    expect(await schedules(`canceled_at[gte]=0`)).toEqual([]);

    // Invoice items, promotion codes, credit notes and refunds take created too.
    const item = await t.ok('POST', '/v1/invoiceitems', { customer, amount: 1_000, currency: 'usd' });
    const promo = await t.ok('POST', '/v1/promotion_codes', { coupon: (await t.ok('POST', '/v1/coupons', { percent_off: 5, duration: 'once' })).id });
    const paid = (await t.ok('GET', `/v1/invoices?customer=${customer}&status=paid`)).data[0];
    const note = await t.ok('POST', '/v1/credit_notes', { invoice: paid.id, amount: 100 });
    const refund = await t.ok('POST', '/v1/refunds', { payment_intent: paid.payment_intent, amount: 100 });
    const now = unix('2030-02-11T00:00:00Z');
    for (const [list, id] of [['invoiceitems', item.id], ['promotion_codes', promo.id], ['credit_notes', note.id], ['refunds', refund.id]] as const) {
      expect((await t.ok('GET', `/v1/${list}?created=${now}`)).data.map((x: { id: string }) => x.id), list).toContain(id);
      expect((await t.ok('GET', `/v1/${list}?created[lt]=${now}`)).data.map((x: { id: string }) => x.id), list).not.toContain(id);
    }
    const cards = async (v: string) => (await t.ok('GET', `/v1/payment_methods?customer=${customer}&allow_redisplay=${v}`)).data.length;
    expect([await cards('unspecified'), await cards('always')]).toEqual([1, 0]);
  });
});
