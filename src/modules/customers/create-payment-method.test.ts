import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// POST /v1/customers with `payment_method` (Stripe's "Create a customer"): the payment method is
// attached to the new customer, as POST /v1/payment_methods/{id}/attach would.

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const count = async (table: string) => Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
const cards = async (customer: string) => (await t.call({ method: 'GET', url: `/v1/customers/${customer}/payment_methods?type=card` })).body.data;

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('customers.create with payment_method', () => {
  it('pm_card_visa with the same test id as invoice default: one card, attached, and it is the default', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/customers',
      payload: { email: 'pm@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const list = await cards(res.body.id);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ customer: res.body.id, card: { brand: 'visa', last4: '4242' } });
    expect(res.body.invoice_settings.default_payment_method).toBe(list[0].id);
    const events = await t.testDb.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY id`, [list[0].id]);
    expect(events.rows.map((e) => e.type)).toEqual(['payment_method.attached']);
  });

  it('attaches an existing unattached payment method without making it the default', async () => {
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_mastercard' } } })).body;
    const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'pm2@example.com', payment_method: pm.id } });
    expect(res.status).toBe(200);
    expect(res.body.invoice_settings.default_payment_method).toBeNull();
    expect((await cards(res.body.id)).map((c: { id: string }) => c.id)).toEqual([pm.id]);
    // The invoice default may also name it by its id.
    const pm2 = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_visa' } } })).body;
    const both = await t.call({ method: 'POST', url: '/v1/customers', payload: { payment_method: pm2.id, invoice_settings: { default_payment_method: pm2.id } } });
    expect(both.body.invoice_settings.default_payment_method).toBe(pm2.id);
  });

  it('an unknown or already attached payment method is a 400 on payment_method, and no customer is created', async () => {
    const [customers, pms] = [await count('customers'), await count('payment_methods')];
    const unknown = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', payment_method: 'pm_nope' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'payment_method' });

    const owner = await t.customer({});
    const taken = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: owner } })).body;
    const [customers2, pms2] = [await count('customers'), await count('payment_methods')];
    expect([customers2, pms2]).toEqual([customers + 1, pms + 1]);
    const other = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'y@example.com', payment_method: taken.id } });
    expect(other.status).toBe(400);
    expect(other.body.error).toMatchObject({ code: 'payment_method_unexpected_state', param: 'payment_method' });
    expect([await count('customers'), await count('payment_methods')]).toEqual([customers2, pms2]);
  });

  it('payment_method is a create parameter only (as Stripe)', async () => {
    const cus = await t.customer({});
    const res = await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { payment_method: 'pm_card_visa' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'parameter_unknown', param: 'payment_method' });
  });
});
