import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedTaxRates } from '../../src/modules/taxes/service.js';
import { unix } from '../helpers/billing.js';
import { createTaxApp, type TaxApp } from './taxes-support.js';

// Tax determination and computation end to end, with exact amounts. The seller is in the US (New
// York nexus only); Community Access costs USD 97.00 a month. Each customer subscribes with no
// trial; the first invoice is finalised and charged at once.
//
// Per line, after discounts, rounded half-even once per line and rate:
//   DE 19 %: 9,700 × 0.19 = 1,843;       a 9,750 item: 1,852.5 → 1,852 (half-even; half-up says 1,853)
//   GB 20 %: 1,940   AU 10 %: 970   ON HST 13 %: 1,261   NY 4 %: 388
//   QC: GST 5 % 485 + QST 9.975 % 967.575 → 968
//   EUR 99.00 incl. 19 %: 9,900 × 19/119 = 1,580.67 → 1,581 backed out; the customer pays 99.00
//   JPY 14,985 × 10 % = 1,498.5 → 1,498 (even)

let t: TaxApp;
let community: string;
beforeAll(async () => {
  t = await createTaxApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const taxOf = (inv: any) => inv.total_tax_amounts.map((x: any) => [x.display_name, x.percentage, x.jurisdiction, x.taxability_reason, x.taxable_amount, x.amount, x.inclusive]);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const totals = (inv: any) => [inv.subtotal, inv.tax, inv.total, inv.amount_paid, inv.status];

describe('built-in rates', () => {
  it('are seeded once: all 27 EU member states, the listed countries, Canadian provinces, the US default set', async () => {
    expect((await t.testDb.db.tx((q) => seedTaxRates(q, t.clock.now()))).created).toBe(0);
    const { rows } = await t.testDb.db.query<{ country: string; n: number }>(
      `SELECT country, count(*)::int AS n FROM tax_rates WHERE tax_type = 'vat' AND (effective_from IS NULL OR effective_from <= $1) AND (effective_until IS NULL OR effective_until > $1) GROUP BY country`,
      [t.clock.now()],
    );
    const eu = ['AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IE', 'IT', 'LV', 'LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE'];
    expect(eu).toHaveLength(27);
    for (const c of [...eu, 'GB', 'CH', 'NO']) expect(rows.find((r) => r.country === c)?.n, c).toBe(1);
    const fi = await t.ok('GET', '/v1/tax_rates?country=FI&limit=10');
    expect(fi.data.map((r: { percentage: number; effective_from: number | null; effective_until: number | null }) => [r.percentage, r.effective_from, r.effective_until]).sort()).toEqual([
      [24, null, unix('2024-09-01T00:00:00Z')],
      [25.5, unix('2024-09-01T00:00:00Z'), null],
    ]);
    const qc = await t.ok('GET', '/v1/tax_rates?country=CA&state=Quebec');
    expect(qc.data.map((r: { percentage: number; tax_type: string; jurisdiction_level: string }) => [r.percentage, r.tax_type, r.jurisdiction_level])).toEqual([[9.975, 'qst', 'state']]);
  });
});

describe('determination and computation', () => {
  it('a customer with a shipping address is taxed where it is, as Stripe Tax does', async () => {
    const customer = await t.customer({
      name: 'Lena Vogel',
      address: { line1: 'Unter den Linden 1', postal_code: '10117', city: 'Berlin', country: 'DE' },
      shipping: { name: 'Lena Vogel', address: { line1: '1 Rue de Rivoli', postal_code: '75001', city: 'Paris', country: 'FR' } },
    });
    const inv = await t.firstInvoice(customer, community);
    // 20 % French VAT on 9,700.
    expect([inv.subtotal, inv.tax, inv.total]).toEqual([9700, 1940, 11_640]);
    expect(inv.automatic_tax.location).toEqual({ country: 'FR', state: null, source: 'shipping_address' });
    expect(inv.customer_shipping.address.country).toBe('FR');
  });
  it('German consumer: 19 % VAT on each line, rounded half-even per line', async () => {
    const customer = await t.customer({ name: 'Lena Vogel', address: { line1: 'Unter den Linden 1', postal_code: '10117', city: 'Berlin', country: 'DE' } });
    // A one-off workbook waiting for the first invoice: 1,852.5 of tax rounds to the even 1,852.
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 9750, currency: 'usd', description: 'Workbook' });
    const inv = await t.firstInvoice(customer, community);
    expect(inv.lines.data.map((l: { amount: number; tax_amounts: { amount: number }[] }) => [l.amount, l.tax_amounts.map((x) => x.amount)])).toEqual([
      [9700, [1843]],
      [9750, [1852]],
    ]);
    // One rounding on the 19,450 subtotal would give 3,695.5 → 3,696: per line it is 3,695.
    expect(totals(inv)).toEqual([19_450, 3695, 23_145, 23_145, 'paid']);
    expect(inv.total_excluding_tax).toBe(19_450);
    expect(taxOf(inv)).toEqual([['VAT', 19, 'Germany', 'standard_rated', 19_450, 3695, false]]);
    expect(inv.automatic_tax).toMatchObject({ enabled: true, status: 'complete', taxability_reason: 'standard_rated', location: { country: 'DE', source: 'billing_address' } });
    expect(inv.customer_name).toBe('Lena Vogel');
    // The preview of the next invoice is taxed the same way.
    const upcoming = await t.ok('GET', `/v1/invoices/upcoming?subscription=${inv.subscription}`);
    expect([upcoming.subtotal, upcoming.tax, upcoming.total]).toEqual([9700, 1843, 11_543]);

    const text = await t.pdfText(`/v1/invoices/${inv.id}/pdf`);
    expect(text).toContain(`Invoice number ${inv.number}`);
    expect(text).toContain('Peak Coaching LLC');
    expect(text).toContain('Tax ID: EIN 12-3456789');
    expect(text).toContain('Lena Vogel');
    expect(text).toContain('10117 Berlin');
    expect(text).toMatch(/1 × Community Access \(at \$97\.00 \/ month\) 1 \$97\.00 19% \$97\.00/);
    expect(text).toContain('Jan 15, 2026 – Feb 15, 2026');
    expect(text).toContain('Workbook 1 $97.50 19% $97.50');
    expect(text).toContain('Subtotal $194.50');
    expect(text).toContain('VAT 19% (Germany) $36.95');
    expect(text).toContain('Total $231.45');
    expect(text).toContain('Amount due $0.00');
    expect(text).toContain('Paid on Jan 15, 2026');
    expect(text).toContain('VAT 19% (Germany) $194.50 $36.95');
  });

  it('French company with a German VAT id: 0 % and "Reverse charge"', async () => {
    const bad = await t.call({ method: 'POST', url: '/v1/customers', payload: { tax_ids: [{ type: 'eu_vat', value: 'DE12345' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ param: 'tax_ids[0][value]', code: 'parameter_invalid' });
    const customer = await t.customer({ name: 'Atelier Lumière SAS', address: { city: 'Lyon', postal_code: '69002', country: 'FR' }, tax_ids: [{ type: 'eu_vat', value: 'DE136695976' }] });
    const inv = await t.firstInvoice(customer, community);
    expect(totals(inv)).toEqual([9700, 0, 9700, 9700, 'paid']);
    expect(taxOf(inv)).toEqual([['VAT', 0, 'France', 'reverse_charge', 9700, 0, false]]);
    expect(inv.automatic_tax).toMatchObject({ taxability_reason: 'reverse_charge', note: 'Reverse charge' });
    const text = await t.pdfText(`/v1/invoices/${inv.id}/pdf`);
    expect(text).toContain('VAT: DE136695976');
    expect(text).toContain('VAT 0% (France) — reverse charge $97.00 $0.00');
    expect(text).toContain('Reverse charge: the customer accounts for the VAT/GST on this supply');
  });

  it('UK consumer 20 %, Australian GST 10 %, Ontario HST 13 % (no GST on top), Québec GST + QST', async () => {
    const cases: [Record<string, string>, number, [string, number, string][]][] = [
      [{ country: 'GB', postal_code: 'SW1A 1AA' }, 1940, [['VAT', 20, 'United Kingdom']]],
      [{ country: 'AU', state: 'NSW' }, 970, [['GST', 10, 'Australia']]],
      [{ country: 'CA', state: 'ON' }, 1261, [['HST', 13, 'Ontario']]],
      [{ country: 'CA', state: 'Québec' }, 1453, [['GST', 5, 'Canada'], ['QST', 9.975, 'Québec']]],
    ];
    for (const [address, tax, rates] of cases) {
      const inv = await t.firstInvoice(await t.customer({ address }), community);
      expect(totals(inv), JSON.stringify(address)).toEqual([9700, tax, 9700 + tax, 9700 + tax, 'paid']);
      expect(taxOf(inv).map((x: unknown[]) => x.slice(0, 3))).toEqual(rates);
    }
    const qc = await t.firstInvoice(await t.customer({ address: { country: 'CA', state: 'QC' } }), community);
    expect(qc.lines.data[0].tax_amounts.map((x: { amount: number }) => x.amount)).toEqual([485, 968]);
  });

  it('US: sales tax where the seller has nexus (NY 4 %), none where it has not (WA)', async () => {
    const ny = await t.firstInvoice(await t.customer({ address: { country: 'US', state: 'NY', postal_code: '10001' } }), community);
    expect(totals(ny)).toEqual([9700, 388, 10_088, 10_088, 'paid']);
    expect(taxOf(ny)).toEqual([['Sales tax', 4, 'New York', 'standard_rated', 9700, 388, false]]);
    const wa = await t.firstInvoice(await t.customer({ address: { country: 'US', state: 'WA', postal_code: '98101' } }), community);
    expect(totals(wa)).toEqual([9700, 0, 9700, 9700, 'paid']);
    expect(wa.total_tax_amounts).toEqual([]);
    expect(wa.automatic_tax).toMatchObject({ enabled: true, taxability_reason: 'not_collecting', location: { country: 'US', state: 'WA' } });
  });

  it('an exempt customer pays no tax and the invoice says "Exempt"; no address falls back to the seller (NY)', async () => {
    const exempt = await t.firstInvoice(await t.customer({ address: { country: 'DE' }, tax_exempt: 'exempt' }), community);
    expect(totals(exempt)).toEqual([9700, 0, 9700, 9700, 'paid']);
    expect(taxOf(exempt)).toEqual([['VAT', 0, 'Germany', 'customer_exempt', 9700, 0, false]]);
    expect(exempt.automatic_tax.note).toBe('Exempt');
    expect(await t.pdfText(`/v1/invoices/${exempt.id}/pdf`)).toContain('Exempt: no tax is charged to this customer');
    const noAddress = await t.firstInvoice(await t.customer({}), community);
    expect(totals(noAddress)).toEqual([9700, 388, 10_088, 10_088, 'paid']);
    expect(noAddress.automatic_tax.location).toEqual({ country: 'US', state: 'NY', source: 'fallback' });
  });

  it('a tax-inclusive EUR price: the customer pays the list price, the tax is backed out of it', async () => {
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'eur', unit_amount: 9900, recurring: { interval: 'month' }, tax_behavior: 'inclusive' });
    const customer = await t.customer({ currency: 'eur', address: { country: 'DE' } });
    const inv = await t.firstInvoice(customer, price.id);
    expect(inv.currency).toBe('eur');
    expect(totals(inv)).toEqual([9900, 1581, 9900, 9900, 'paid']);
    expect([inv.subtotal_excluding_tax, inv.total_excluding_tax]).toEqual([8319, 8319]);
    expect(taxOf(inv)).toEqual([['VAT', 19, 'Germany', 'standard_rated', 8319, 1581, true]]);
    const text = await t.pdfText(`/v1/invoices/${inv.id}/pdf`);
    expect(text).toContain('VAT 19% incl. (Germany) €15.81');
    expect(text).toContain('Total €99.00');
  });

  it('JPY (no decimals) and KWD (three) through currency_options, end to end', async () => {
    const price = await t.ok('POST', '/v1/prices', {
      product: 'prod_community',
      currency: 'usd',
      unit_amount: 9700,
      recurring: { interval: 'month' },
      currency_options: { jpy: { unit_amount: 14_985 }, kwd: { unit_amount: 29_995 } },
    });
    const jp = await t.customer({ currency: 'jpy', address: { country: 'JP', city: 'Tokyo' } });
    const yen = await t.firstInvoice(jp, price.id);
    expect(yen.currency).toBe('jpy');
    expect(totals(yen)).toEqual([14_985, 1498, 16_483, 16_483, 'paid']);
    expect(taxOf(yen)).toEqual([['JCT', 10, 'Japan', 'standard_rated', 14_985, 1498, false]]);
    const yenText = await t.pdfText(`/v1/invoices/${yen.id}/pdf`);
    expect(yenText).toContain('Total ¥16,483');
    expect(yenText).toContain('JCT 10% (Japan) ¥1,498');

    const kw = await t.customer({ currency: 'kwd', address: { country: 'KW', city: 'Kuwait City' } });
    const dinar = await t.firstInvoice(kw, price.id);
    expect(totals(dinar)).toEqual([29_995, 0, 29_995, 29_995, 'paid']);
    expect(dinar.automatic_tax.taxability_reason).toBe('not_collecting');
    const kwdText = await t.pdfText(`/v1/invoices/${dinar.id}/pdf`);
    expect(kwdText).toContain('Total KWD 29.995');
    const pi = (await t.ok('GET', `/v1/payment_intents?customer=${kw}`)).data[0];
    expect([pi.amount, pi.currency, pi.status]).toEqual([29_995, 'kwd', 'succeeded']);
  });

  it("fixes a customer's currency with the first finalized invoice; mixing currencies is a 400", async () => {
    const customer = await t.customer({ address: { country: 'DE' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 5000, currency: 'eur', description: 'Workshop seat' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer, currency: 'eur' });
    expect((await t.ok('GET', `/v1/customers/${customer}`)).currency).toBeNull();
    const fin = await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    expect([fin.status, fin.total, fin.tax]).toEqual(['open', 5950, 950]);
    expect((await t.ok('GET', `/v1/customers/${customer}`)).currency).toBe('eur');
    const usd = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: community }] } });
    expect(usd.status).toBe(400);
    expect(usd.body.error).toMatchObject({ code: 'currency_mismatch', param: 'items[0][price]' });
    const manual = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer, currency: 'usd' } });
    expect(manual.status).toBe(400);
    expect(manual.body.error).toMatchObject({ code: 'currency_mismatch', param: 'currency', message: 'The customer is billed in eur; an invoice in usd would mix currencies.' });
  });
});

describe('currency lock in a worker batch', () => {
  it('a draft in another currency stays a draft, with invoice.finalization_failed saying why', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ test_clock: clock, address: { country: 'DE' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 5000, currency: 'eur', description: 'Workshop seat' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer, currency: 'eur', auto_advance: true });
    // A USD subscription fixes the customer's currency before the EUR draft's turn comes.
    const usd = await t.firstInvoice(customer, community);
    expect([usd.currency, usd.status]).toEqual(['usd', 'paid']);
    await t.advance(clock, '2026-01-15T14:00:00Z');
    const after = await t.ok('GET', `/v1/invoices/${draft.id}`);
    expect([after.status, after.auto_advance, after.number]).toEqual(['draft', false, null]);
    // The invoice itself says why (Stripe's last_finalization_error), until a finalization succeeds.
    expect(after.last_finalization_error).toEqual({ code: 'currency_mismatch', type: 'invalid_request_error', message: expect.stringContaining('is billed in usd') });
    const failed = (await t.ok('GET', `/v1/events?customer=${customer}&type=invoice.finalization_failed`)).data;
    expect(failed.map((e: { data: { object: { id: string; last_finalization_error: { code: string } } } }) => [e.data.object.id, e.data.object.last_finalization_error.code])).toEqual([
      [draft.id, 'currency_mismatch'],
    ]);
  });

  it('a finalization that succeeds clears the last error', async () => {
    const customer = await t.customer({ address: { country: 'DE' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 5000, currency: 'eur', description: 'Workshop seat' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer, currency: 'eur' });
    expect(draft.last_finalization_error).toBeNull();
    // As a failed worker attempt leaves it (the currency case above cannot be finalized afterwards).
    await t.testDb.db.query(`UPDATE invoices SET last_finalization_error = '{"code":"currency_mismatch","message":"m","type":"invalid_request_error"}' WHERE id = $1`, [draft.id]);
    expect((await t.ok('GET', `/v1/invoices/${draft.id}`)).last_finalization_error.code).toBe('currency_mismatch');
    const open = await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    expect([open.status, open.last_finalization_error]).toEqual(['open', null]);
  });
});

describe('rate versions', () => {
  it('a new rate applies from its effective date; an issued invoice and its PDF keep the old one', async () => {
    const customer = await t.customer({ address: { country: 'DE' } });
    const before = await t.firstInvoice(customer, community);
    expect(before.tax).toBe(1843);
    const pdfBefore = await t.pdfBytes(`/v1/invoices/${before.id}/pdf`);

    const from = unix('2026-01-20T00:00:00Z');
    const v2 = await t.ok('POST', '/v1/tax_rates', { display_name: 'VAT', jurisdiction: 'Germany', country: 'DE', tax_type: 'vat', percentage: '21', effective_from: from });
    expect([v2.percentage, v2.effective_from, v2.effective_until, v2.inclusive]).toEqual([21, from, null, false]);
    const de = (await t.ok('GET', '/v1/tax_rates?country=DE')).data;
    expect(de.map((r: { percentage: number; effective_until: number | null }) => [r.percentage, r.effective_until])).toEqual([
      [21, null],
      [19, from],
    ]);
    const immutable = await t.call({ method: 'POST', url: `/v1/tax_rates/${v2.id}`, payload: { percentage: 22 } });
    expect(immutable.status).toBe(400);
    expect(immutable.body.error).toMatchObject({ code: 'parameter_immutable', param: 'percentage' });
    const badPct = await t.call({ method: 'POST', url: '/v1/tax_rates', payload: { display_name: 'X', country: 'DE', tax_type: 'vat', percentage: '19.12345' } });
    expect(badPct.status).toBe(400);
    expect(badPct.body.error.param).toBe('percentage');

    // Before the change, a new invoice still gets 19 %; after it, 21 %.
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 10_000, currency: 'usd', description: 'Extra session' });
    const jan19 = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer });
    expect(jan19.tax).toBe(1900);
    t.clock.set('2026-01-21T00:00:00Z');
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 10_000, currency: 'usd', description: 'Extra session' });
    const jan21 = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer });
    expect([jan21.tax, jan21.total]).toEqual([2100, 12_100]);
    expect(taxOf(jan21)).toEqual([['VAT', 21, 'Germany', 'standard_rated', 10_000, 2100, false]]);

    const again = await t.ok('GET', `/v1/invoices/${before.id}`);
    expect(taxOf(again)).toEqual([['VAT', 19, 'Germany', 'standard_rated', 9700, 1843, false]]);
    // Deterministic: the same invoice renders the same bytes, whenever asked.
    expect((await t.pdfBytes(`/v1/invoices/${before.id}/pdf`)).equals(pdfBefore)).toBe(true);
    // Put the rate back for the other tests of this file.
    await t.ok('POST', `/v1/tax_rates/${v2.id}`, { active: false });
    await t.ok('POST', `/v1/tax_rates/${de[1].id}`, { effective_until: '' });
    t.clock.set('2026-01-15T12:00:00Z');
  });
});
