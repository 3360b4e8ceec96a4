import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { pdfToText } from '../../../test/scenarios/taxes-support.js';

// Stripe's invoice custom_fields and footer: an enterprise client wants its purchase order number on
// every invoice. Set once in the customer's invoice_settings, every new invoice takes them (renewals
// too) unless the call that creates it names its own; they are printed on the PDF.

let t: TestApp & BillingHelpers;
let community: string;
const ok = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) => t.ok(method, url, payload);
const po = [{ name: 'PO number', value: 'PO-4471' }];
const footer = 'Questions about this invoice? billing@peak-coaching.example';

beforeAll(async () => {
  t = await createBillingApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

describe('invoice custom_fields and footer', () => {
  it("come from the customer's invoice_settings on every new invoice, renewals included, as they were then", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await ok('POST', '/v1/customers', {
      email: 'ap@acme.example',
      test_clock: clock,
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa', custom_fields: po, footer },
    });
    expect(customer.invoice_settings).toEqual({ custom_fields: po, default_payment_method: expect.stringMatching(/^pm_/), footer, rendering_options: null });
    const sub = await ok('POST', '/v1/subscriptions', { customer: customer.id, items: [{ price: community }], trial_end: 'now' });
    const first = await ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    expect([first.status, first.custom_fields, first.footer]).toEqual(['paid', po, footer]);

    // A new purchase order from April: the April renewal takes it; March's invoice keeps the old one.
    const april = [{ name: 'PO number', value: 'PO-5002' }, { name: 'Cost centre', value: 'L&D-7' }];
    const updated = await ok('POST', `/v1/customers/${customer.id}`, { invoice_settings: { custom_fields: april } });
    expect(updated.invoice_settings).toMatchObject({ custom_fields: april, footer });
    const upcoming = await ok('GET', `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([upcoming.custom_fields, upcoming.footer]).toEqual([april, footer]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const [march, renewal] = await t.invoices(sub.id);
    expect([(march as unknown as { custom_fields: unknown }).custom_fields, (renewal as unknown as { custom_fields: unknown }).custom_fields]).toEqual([po, april]);
    const created = (await ok('GET', `/v1/events?type=invoice.created&object_id=${renewal!.id}`)).data[0];
    expect([created.data.object.custom_fields, created.data.object.footer]).toEqual([april, footer]);

    const text = await pdfText(`/v1/invoices/${renewal!.id}/pdf`);
    expect(text).toContain('PO number PO-5002');
    expect(text).toContain('Cost centre L&D-7');
    expect(text).toContain(footer);
  });

  it('a manual invoice may name its own or none; a finalized one can still change them', async () => {
    const customer = await ok('POST', '/v1/customers', { email: 'ops@acme.example', invoice_settings: { custom_fields: po, footer } });
    await ok('POST', '/v1/invoiceitems', { customer: customer.id, amount: 250_000, currency: 'usd', description: 'Leadership workshop' });
    const own = await ok('POST', '/v1/invoices', {
      customer: customer.id,
      pending_invoice_items_behavior: 'include',
      collection_method: 'send_invoice',
      days_until_due: 30,
      custom_fields: '',
      footer: 'Net 30.',
    });
    expect([own.custom_fields, own.footer]).toEqual([null, 'Net 30.']);
    const open = await ok('POST', `/v1/invoices/${own.id}/finalize`, {});
    const changed = await ok('POST', `/v1/invoices/${open.id}`, { custom_fields: [{ name: 'PO number', value: 'PO-6100' }], footer: '' });
    expect([changed.status, changed.custom_fields, changed.footer]).toEqual(['open', [{ name: 'PO number', value: 'PO-6100' }], null]);
    const ev = (await ok('GET', `/v1/events?type=invoice.updated&object_id=${open.id}`)).data[0];
    expect(ev.data.previous_attributes).toEqual({ custom_fields: null, footer: 'Net 30.' });
  });

  it('are refused, by the parameter at fault and with nothing written, when too many or too long', async () => {
    const five = Array.from({ length: 5 }, (_, i) => ({ name: `F${i}`, value: 'x' }));
    for (const [body, param] of [
      [{ invoice_settings: { custom_fields: five } }, 'invoice_settings[custom_fields]'],
      [{ invoice_settings: { custom_fields: [{ name: 'x'.repeat(41), value: 'y' }] } }, 'invoice_settings[custom_fields][0][name]'],
      [{ invoice_settings: { custom_fields: [{ name: 'PO number', value: '' }] } }, 'invoice_settings[custom_fields][0][value]'],
      [{ invoice_settings: { footer: 'x'.repeat(5001) } }, 'invoice_settings[footer]'],
    ] as const) {
      const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'refused@acme.example', ...body } });
      expect([res.status, res.body.error?.param]).toEqual([400, param]);
    }
    expect((await ok('GET', '/v1/customers?email=refused@acme.example')).data).toEqual([]);
  });
});

async function pdfText(url: string): Promise<string> {
  const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.key}` } });
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  return pdfToText(res.rawPayload);
}
