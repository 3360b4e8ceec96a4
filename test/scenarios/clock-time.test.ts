import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, iso, type BillingApp } from './support.js';

// Stripe, Test Clock object: "With a test clock, you can create objects at a frozen time in the past
// or future". A clock's customer is created, changed and given cards at the clock's time, not at the
// request's real time (here the app's clock, Jan 15 2026 12:00), so its events keep one time order
// with the subscription and invoice work the clock runs.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe("a test clock's customer", () => {
  it('is created, updated, given a card and deleted at the clock’s frozen time', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    expect(iso((await get(t, `/v1/customers/${customer}`)).created)).toBe('2026-04-01T00:00:00Z');
    const at = async (type: string) => (await events(t, customer, type)).map((e) => iso(e.created));
    expect(await at('customer.created')).toEqual(['2026-04-01T00:00:00Z']);
    expect(await at('payment_method.attached')).toEqual(['2026-04-01T00:00:00Z']);
    // The default payment method set by the helper.
    expect(await at('customer.updated')).toEqual(['2026-04-01T00:00:00Z']);

    await t.advance(clock, '2026-04-03T00:00:00Z');
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { name: 'Later' } });
    expect(await at('customer.updated')).toEqual(['2026-04-01T00:00:00Z', '2026-04-03T00:00:00Z']);
    const pm = (await get(t, `/v1/customers/${customer}/payment_methods`)).data[0].id;
    expect((await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/detach`, payload: {} })).status).toBe(200);
    expect(await at('payment_method.detached')).toEqual(['2026-04-03T00:00:00Z']);
    expect((await t.call({ method: 'DELETE', url: `/v1/customers/${customer}` })).status).toBe(200);
    expect(await at('customer.deleted')).toEqual(['2026-04-03T00:00:00Z']);
  });

  it('a customer without a clock keeps the request time', async () => {
    const customer = await t.customer();
    expect(iso((await get(t, `/v1/customers/${customer}`)).created)).toBe('2026-01-15T12:00:00Z');
  });
});
