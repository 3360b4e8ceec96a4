import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../test/helpers/billing.js';

// expand[] on any route whose schema takes it (Stripe, "Expanding responses"): ids become the objects
// their own GET routes answer, dotted paths go deeper, lists take `data.` paths.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let sub: { id: string; latest_invoice: string; customer: string };
let customer: string;
beforeAll(async () => {
  t = await createBillingApp();
  customer = await t.customer({ card: 'pm_card_visa', email: 'expand@example.com' });
  const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
  expect(res.status).toBe(200);
  sub = res.body;
});
afterAll(() => t.close());

const get = (url: string) => t.call({ method: 'GET', url });

describe('expand[]', () => {
  it('replaces ids with their objects, several paths and nested ones', async () => {
    const res = await get(`/v1/subscriptions/${sub.id}?expand[]=customer&expand[]=latest_invoice.customer&expand[]=default_payment_method`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([res.body.customer.object, res.body.customer.email]).toEqual(['customer', 'expand@example.com']);
    expect([res.body.latest_invoice.object, res.body.latest_invoice.id, res.body.latest_invoice.status, res.body.latest_invoice.total]).toEqual(['invoice', sub.latest_invoice, 'paid', 9700]);
    expect(res.body.latest_invoice.customer.id).toBe(customer);
    // A null reference stays null.
    expect(res.body.default_payment_method).toBeNull();
    // The expanded invoice is what its own route answers (its customer expanded in turn).
    expect({ ...res.body.latest_invoice, customer: res.body.latest_invoice.customer.id }).toEqual((await get(`/v1/invoices/${sub.latest_invoice}`)).body);
  });

  it('expands each element of a list with data. paths', async () => {
    const res = await get(`/v1/payment_intents?customer=${customer}&expand[]=data.payment_method&expand[]=data.invoice`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((pi: { payment_method: { object: string; card: { last4: string } }; invoice: { id: string } }) => [pi.payment_method.object, pi.payment_method.card.last4, pi.invoice.id])).toEqual([
      ['payment_method', '4242', sub.latest_invoice],
    ]);
  });

  it('expands on a mutation, and an Idempotency-Key replay answers the same expanded body', async () => {
    const payload = { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', expand: ['latest_invoice'] };
    const headers = { 'idempotency-key': 'expand-create-1' };
    const first = await t.call({ method: 'POST', url: '/v1/subscriptions', payload, headers });
    expect([first.status, first.body.latest_invoice.object, first.body.latest_invoice.amount_paid]).toEqual([200, 'invoice', 9700]);
    const again = await t.call({ method: 'POST', url: '/v1/subscriptions', payload, headers });
    expect(again.body).toEqual(first.body);
  });

  it('refuses a path that names no expandable field, naming expand[i]', async () => {
    for (const path of ['status', 'nope', 'latest_invoice.nope', 'data', 'a.b.c.d.e.f']) {
      const res = await get(`/v1/subscriptions/${sub.id}?expand[]=customer&expand[]=${path}`);
      expect([path, res.status, res.body.error?.param]).toEqual([path, 400, 'expand[1]']);
    }
    const list = await get(`/v1/subscriptions?customer=${customer}&expand[]=customer`);
    expect([list.status, list.body.error?.param]).toEqual([400, 'expand[0]']);
  });
});
