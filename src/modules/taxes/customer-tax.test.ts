import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaxApp, type TaxApp } from '../../../test/scenarios/taxes-support.js';

// Stripe's customer `tax` hash (only with expand[]=tax) and tax[validate_location], for a US seller in
// New York (nexus there only) registered for VAT abroad (test/scenarios/taxes-support.ts).

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp();
});
afterAll(() => t.close());

const taxOf = async (id: string) => (await t.ok('GET', `/v1/customers/${id}?expand[]=tax`)).tax;
const refused = async (url: string, payload: Record<string, unknown>) => {
  const res = await t.call({ method: 'POST', url, payload });
  return [res.status, res.body.error?.code, res.body.error?.param];
};

describe('customer tax hash', () => {
  it('is shown only when expanded, and says where tax locates the customer and whether it is collected there', async () => {
    const de = await t.ok('POST', '/v1/customers', { email: 'de@example.com', address: { line1: 'Unter den Linden 1', country: 'DE' } });
    expect(Object.hasOwn(de, 'tax')).toBe(false);
    expect(await taxOf(de.id)).toEqual({ automatic_tax: 'supported', ip_address: null, location: { country: 'DE', source: 'billing_address', state: null }, provider: 'recur' });

    const cases: [Record<string, unknown>, unknown, unknown][] = [
      // New York: nexus; California: none (a known place where no tax is collected).
      [{ address: { country: 'US', state: 'New York', postal_code: '10118' } }, 'supported', { country: 'US', source: 'billing_address', state: 'NY' }],
      [{ address: { country: 'US', state: 'CA', postal_code: '94103' } }, 'not_collecting', { country: 'US', source: 'billing_address', state: 'CA' }],
      // The shipping address first, as Stripe Tax (its source is called shipping_destination).
      [{ address: { country: 'DE' }, shipping: { name: 'Ana', address: { line1: '1 rue de Rivoli', country: 'FR' } } }, 'supported', { country: 'FR', source: 'shipping_destination', state: null }],
      // A shipping address without a country is not passed over for the billing address.
      [{ address: { country: 'DE' }, shipping: { name: 'Ana', address: { line1: '1 rue de Rivoli' } } }, 'unrecognized_location', null],
      [{}, 'unrecognized_location', null],
      // Exempt customers are still located and taxed there (at 0 %).
      [{ address: { country: 'FR' }, tax_exempt: 'exempt' }, 'supported', { country: 'FR', source: 'billing_address', state: null }],
    ];
    for (const [payload, automatic, location] of cases) {
      const c = await t.ok('POST', '/v1/customers', { email: 'c@example.com', ...payload });
      expect(await taxOf(c.id), JSON.stringify(payload)).toMatchObject({ automatic_tax: automatic, location });
    }

    // In a list, and through another object (an invoice's customer).
    const listed = await t.ok('GET', '/v1/customers?limit=2&expand[]=data.tax');
    expect(listed.data.map((c: { tax: { automatic_tax: string } }) => c.tax.automatic_tax)).toEqual(['supported', 'unrecognized_location']);
    await t.ok('POST', '/v1/invoiceitems', { customer: de.id, amount: 5_000, currency: 'usd', description: 'Workshop' });
    const draft = await t.ok('POST', '/v1/invoices', { customer: de.id, pending_invoice_items_behavior: 'include' });
    const inv = await t.ok('GET', `/v1/invoices/${draft.id}?expand[]=customer.tax`);
    expect(inv.customer.tax.location).toEqual({ country: 'DE', source: 'billing_address', state: null });
    // Only the customer's own includable field: a name it lacks is still refused.
    expect(await refused(`/v1/customers/${de.id}`, { expand: ['tax.country'] })).toEqual([400, 'parameter_invalid', 'expand[0]']);
    expect(await refused(`/v1/customers/${de.id}`, { expand: ['taxes'] })).toEqual([400, 'parameter_invalid', 'expand[0]']);
  });

  it('keeps tax[ip_address] (checked as an IP address; "" unsets it)', async () => {
    const c = await t.ok('POST', '/v1/customers', { email: 'ip@example.com', tax: { ip_address: '203.0.113.7' } });
    expect((await taxOf(c.id)).ip_address).toBe('203.0.113.7');
    await t.ok('POST', `/v1/customers/${c.id}`, { tax: { ip_address: '2001:db8::1' } });
    expect((await taxOf(c.id)).ip_address).toBe('2001:db8::1');
    expect(await refused(`/v1/customers/${c.id}`, { tax: { ip_address: '203.0.113' } })).toEqual([400, 'parameter_invalid', 'tax[ip_address]']);
    await t.ok('POST', `/v1/customers/${c.id}`, { tax: { ip_address: '' } });
    expect((await taxOf(c.id)).ip_address).toBeNull();
  });
});

describe('tax[validate_location]', () => {
  it('immediately: refuses a customer whose tax location is unknown, writing nothing', async () => {
    const count = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM customers WHERE email = 'nowhere@example.com'`)).rows[0]!.n;
    expect(await refused('/v1/customers', { email: 'nowhere@example.com', address: { line1: 'Main St 1' }, tax: { validate_location: 'immediately' } })).toEqual([
      400,
      'customer_tax_location_invalid',
      'address[country]',
    ]);
    const viaShipping = { email: 'nowhere@example.com', address: { country: 'DE' }, shipping: { name: 'Ana', address: { line1: 'Main St 1' } }, tax: { validate_location: 'immediately' } };
    expect(await refused('/v1/customers', viaShipping)).toEqual([400, 'customer_tax_location_invalid', 'shipping[address][country]']);
    expect(await count()).toBe(0);
    // deferred (the create's default) takes it; `auto` is an update's value only.
    await t.ok('POST', '/v1/customers', { ...viaShipping, tax: { validate_location: 'deferred' } });
    expect(await refused('/v1/customers', { email: 'x@example.com', tax: { validate_location: 'auto' } })).toEqual([400, 'parameter_invalid', 'tax[validate_location]']);
    expect(await count()).toBe(1);
  });

  it('auto (the update default): refuses losing a known location while subscribed; deferred lets it through', async () => {
    const id = await t.customer({ address: { line1: 'Unter den Linden 1', country: 'DE' } });
    // Not subscribed yet: auto takes the change (and a known location back).
    await t.ok('POST', `/v1/customers/${id}`, { address: { line1: 'Unter den Linden 1' } });
    await t.ok('POST', `/v1/customers/${id}`, { address: { line1: 'Unter den Linden 1', country: 'DE' } });
    await t.ok('POST', '/v1/subscriptions', { customer: id, items: [{ price: await t.priceId('community_monthly') }] });

    expect(await refused(`/v1/customers/${id}`, { address: { line1: 'Unter den Linden 1' }, name: 'Moved' })).toEqual([400, 'customer_tax_location_invalid', 'address[country]']);
    const kept = await t.ok('GET', `/v1/customers/${id}?expand[]=tax`);
    expect([kept.address.country, kept.name, kept.tax.automatic_tax]).toEqual(['DE', null, 'supported']);
    // A change that keeps a known location is fine, as is one that does not touch the address.
    await t.ok('POST', `/v1/customers/${id}`, { address: { line1: 'Rue de Rivoli 1', country: 'FR' } });
    await t.ok('POST', `/v1/customers/${id}`, { name: 'Ana' });

    await t.ok('POST', `/v1/customers/${id}`, { address: { line1: 'Somewhere' }, tax: { validate_location: 'deferred' } });
    expect((await taxOf(id)).automatic_tax).toBe('unrecognized_location');
    // Already unknown: auto has no known location to protect; immediately still refuses.
    await t.ok('POST', `/v1/customers/${id}`, { address: { line1: 'Elsewhere' } });
    expect(await refused(`/v1/customers/${id}`, { name: 'Ana B', tax: { validate_location: 'immediately' } })).toEqual([400, 'customer_tax_location_invalid', 'address[country]']);
  });
});
