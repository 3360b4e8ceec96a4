import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { pdfToText } from '../../../test/scenarios/taxes-support.js';

// Stripe's invoice shipping_details: an enterprise client's training materials go to its site, not to
// its head office. Set on the invoice, they are its "Ship to"; without them the PDF prints the
// customer's shipping details. shipping_cost needs shipping rates, which Recur has not: always null.

let t: TestApp;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
  expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}
async function pdfText(id: string): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url: `/v1/invoices/${id}/pdf`, headers: { authorization: `Bearer ${t.key}` } });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  return pdfToText(res.rawPayload);
}

const site = { name: 'Acme Training Centre', address: { line1: '1 Harbor Way', city: 'Oakland', postal_code: '94607', country: 'US' }, phone: '+14155550123' };
const fullAddress = { line1: '1 Harbor Way', line2: null, city: 'Oakland', state: null, postal_code: '94607', country: 'US' };

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('invoice shipping_details', () => {
  it("are the invoice's own Ship to, editable after finalization; without them the customer's shipping is printed", async () => {
    const customer = await ok('POST', '/v1/customers', {
      name: 'Acme Corp',
      email: 'ap@acme.example',
      shipping: { name: 'Acme Head Office', address: { line1: '500 Market St', city: 'San Francisco', country: 'US' } },
    });
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 450_000, currency: 'usd', description: 'Leadership workshop materials' });
    const draft = await ok('POST', '/v1/invoices', {
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
      collection_method: 'send_invoice',
      days_until_due: 30,
      shipping_details: site,
    });
    expect([draft.shipping_details, draft.shipping_cost]).toEqual([{ ...site, address: fullAddress }, null]);
    // The customer's own shipping details stay where Stripe shows them.
    expect(draft.customer_shipping.name).toBe('Acme Head Office');
    const created = (await ok('GET', `/v1/events?type=invoice.created&object_id=${draft.id}`)).data[0];
    expect(created.data.object.shipping_details.name).toBe('Acme Training Centre');

    const open = await ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    let text = await pdfText(open.id);
    for (const s of ['Ship to', 'Acme Training Centre', '1 Harbor Way', '+14155550123']) expect(text).toContain(s);
    expect(text).not.toContain('Acme Head Office');

    // Not money: editable on a finalized invoice; "" removes them, and the customer's are printed again.
    const moved = await ok('POST', `/v1/invoices/${open.id}`, { shipping_details: { ...site, name: 'Acme East Campus', phone: '' } });
    expect([moved.shipping_details.name, moved.shipping_details.phone, moved.total]).toEqual(['Acme East Campus', null, 450_000]);
    const updated = (await ok('GET', `/v1/events?type=invoice.updated&object_id=${open.id}`)).data[0];
    expect(updated.data.previous_attributes.shipping_details).toMatchObject({ name: 'Acme Training Centre', phone: '+14155550123' });
    const cleared = await ok('POST', `/v1/invoices/${open.id}`, { shipping_details: '' });
    expect(cleared.shipping_details).toBeNull();
    text = await pdfText(open.id);
    expect(text).toContain('Acme Head Office');
    expect(text).not.toContain('Acme East Campus');
  });

  it('are checked like the customer\'s, naming the nested parameter, and absent by default', async () => {
    const customer = await ok('POST', '/v1/customers', { email: 'solo@example.com' });
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 9_700, currency: 'usd', description: 'Course' });
    const res = await t.call({
      method: 'POST',
      url: '/v1/invoices',
      payload: { customer: customer.id, pending_invoice_items_behavior: 'include', shipping_details: { name: 'Solo', address: { city: 'Oakland' } } },
    });
    expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'parameter_invalid', 'shipping_details[address][line1]']);
    const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [customer.id]);
    expect(rows[0]!.n).toBe(0);
    const plain = await ok('POST', '/v1/invoices', { customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect([plain.shipping_details, plain.shipping_cost]).toEqual([null, null]);
    expect(await pdfText(plain.id)).not.toContain('Ship to');
  });
});
