import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';

// A customer's own discount (Stripe's `coupon`/`promotion_code` on the customer, `customer.discount`,
// DELETE /v1/customers/{id}/discount): every invoice of the customer takes it, unless its subscription
// has a discount of its own; one-off invoices take it too. Group monthly is 150,000.

let t: TestApp & BillingHelpers;
let group: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
  expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}
const coupon = async (body: Record<string, unknown>) => (await ok('POST', '/v1/coupons', body)).id as string;

beforeAll(async () => {
  t = await createBillingApp();
  group = await t.priceId('group_monthly');
});
afterAll(() => t.close());

async function payingCustomer(clock: string, extra: Record<string, unknown> = {}) {
  const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'alumni@example.com', test_clock: clock, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' }, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const totals = async (sub: string) => (await t.invoices(sub)).map((i) => [i.billing_reason, i.total]);
const eventTypes = async (customer: string) =>
  (await t.testDb.db.query<{ type: string }>(`SELECT type FROM events WHERE customer_id = $1 AND type LIKE 'customer.discount.%' ORDER BY id`, [customer])).rows.map((r) => r.type);

describe("a customer's own discount", () => {
  it('applies to every renewal; a subscription discount of its own wins while it lasts; DELETE ends it', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const alumni = await coupon({ percent_off: 20, duration: 'forever', name: 'Alumni' });
    const customer = await payingCustomer(clock, { coupon: alumni });
    expect(customer.discount).toMatchObject({ object: 'discount', customer: customer.id, subscription: null, invoice: null, coupon: { id: alumni, percent_off: 20 }, start: unix('2026-03-01T00:00:00Z'), end: null });
    expect((await ok('GET', `/v1/customers/${customer.id}`)).discount.id).toBe(customer.discount.id);

    const welcome = await coupon({ percent_off: 50, duration: 'once' });
    const sub = await ok('POST', '/v1/subscriptions', { customer: customer.id, items: [{ price: group }], trial_end: 'now', coupon: welcome });
    // March: the subscription's own 50 % once; April: spent, so the customer's 20 %.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      ['subscription_create', 75_000],
      ['subscription_cycle', 120_000],
    ]);
    const april = (await t.invoices(sub.id))[1]!;
    expect((april as unknown as { discounts: string[] }).discounts).toEqual([customer.discount.id]);

    // A one-off invoice takes it too.
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 10_000, currency: 'usd', description: 'Workbook' });
    const oneOff = await ok('POST', '/v1/invoices', { customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect([oneOff.subtotal, oneOff.total]).toEqual([10_000, 8_000]);

    const removed = await ok('DELETE', `/v1/customers/${customer.id}/discount`);
    expect(removed).toMatchObject({ id: customer.discount.id, object: 'discount', deleted: true, end: unix('2026-04-01T02:00:00Z') });
    expect((await ok('GET', `/v1/customers/${customer.id}`)).discount).toBeNull();
    const again = await t.call({ method: 'DELETE', url: `/v1/customers/${customer.id}/discount` });
    expect([again.status, again.body.error.code]).toEqual([404, 'resource_missing']);
    await t.advance(clock, '2026-05-01T02:00:00Z');
    expect((await totals(sub.id))[2]).toEqual(['subscription_cycle', 150_000]);
    expect(await eventTypes(customer.id)).toEqual(['customer.discount.created', 'customer.discount.created', 'customer.discount.deleted', 'customer.discount.deleted']);
  });

  it('a new coupon or promotion code replaces the one before; a repeating one stops after its months', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const first = await coupon({ amount_off: 5_000, currency: 'usd', duration: 'forever' });
    const customer = await payingCustomer(clock, { coupon: first });
    const sub = await ok('POST', '/v1/subscriptions', { customer: customer.id, items: [{ price: group }], trial_end: 'now' });
    const three = await coupon({ percent_off: 10, duration: 'repeating', duration_in_months: 2 });
    await ok('POST', '/v1/promotion_codes', { coupon: three, code: 'COACHME' });
    const updated = await ok('POST', `/v1/customers/${customer.id}`, { promotion_code: 'coachme' });
    expect(updated.discount).toMatchObject({ coupon: { id: three }, promotion_code: expect.stringMatching(/^promo_/), end: unix('2026-05-01T00:00:00Z') });
    // customer.updated says what the discount was.
    const { rows } = await t.testDb.db.query<{ data: { previous_attributes: { discount: { coupon: { id: string } } } } }>(
      `SELECT data FROM events WHERE customer_id = $1 AND type = 'customer.updated' ORDER BY id DESC LIMIT 1`,
      [customer.id],
    );
    expect(rows[0]!.data.previous_attributes.discount.coupon.id).toBe(first);
    await t.advance(clock, '2026-05-01T02:00:00Z');
    // March 5,000 off; April 10 %; May: the two months are over.
    expect(await totals(sub.id)).toEqual([
      ['subscription_create', 145_000],
      ['subscription_cycle', 135_000],
      ['subscription_cycle', 150_000],
    ]);
    expect((await ok('GET', `/v1/customers/${customer.id}`)).discount).toBeNull();
    expect((await ok('GET', `/v1/customers?test_clock=${clock}`)).data.map((c: { discount: unknown }) => c.discount)).toEqual([null]);
  });

  it("an amount_off discount in another currency than an invoice's does not apply to it (found by the API fuzz, seed 9836: a 500)", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const euros = await coupon({ amount_off: 1_000, currency: 'eur', duration: 'forever' });
    // No currency yet, so the coupon is taken as it is.
    const customer = await payingCustomer(clock, { coupon: euros });
    expect([customer.currency, customer.discount.coupon.id]).toEqual([null, euros]);
    const sub = await ok('POST', '/v1/subscriptions', { customer: customer.id, items: [{ price: group }], trial_end: 'now' });
    expect(await totals(sub.id)).toEqual([['subscription_create', 150_000]]);
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 5_000, currency: 'usd', description: 'Call' });
    const oneOff = await ok('POST', '/v1/invoices', { customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect([oneOff.total, oneOff.discounts]).toEqual([5_000, []]);
    expect((await ok('GET', `/v1/customers/${customer.id}`)).discount.coupon.id).toBe(euros);
  });

  it('a coupon that cannot be redeemed is refused with its param, and nothing is written', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const before = Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM customers`)).rows[0]!.n);
    const missing = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', test_clock: clock, coupon: 'nope' } });
    expect([missing.status, missing.body.error.code, missing.body.error.param]).toEqual([404, 'resource_missing', 'coupon']);
    const used = await coupon({ percent_off: 5, duration: 'forever', max_redemptions: 1 });
    const customer = await payingCustomer(clock, { coupon: used });
    expect(Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM customers`)).rows[0]!.n)).toBe(before + 1);
    const other = await payingCustomer(clock);
    const full = await t.call({ method: 'POST', url: `/v1/customers/${other.id}`, payload: { coupon: used, name: 'Not saved' } });
    expect([full.status, full.body.error.code, full.body.error.param]).toEqual([400, 'coupon_max_redemptions', 'coupon']);
    expect((await ok('GET', `/v1/customers/${other.id}`)).name).toBeNull();
    const euros = await coupon({ amount_off: 500, currency: 'eur', duration: 'forever' });
    await ok('POST', `/v1/customers/${other.id}`, { currency: 'usd' });
    const mismatch = await t.call({ method: 'POST', url: `/v1/customers/${other.id}`, payload: { coupon: euros } });
    expect([mismatch.status, mismatch.body.error.code, mismatch.body.error.param]).toEqual([400, 'coupon_currency_mismatch', 'coupon']);
    expect((await ok('GET', `/v1/customers/${customer.id}`)).discount.coupon.id).toBe(used);
  });
});
