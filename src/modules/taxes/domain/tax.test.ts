import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildInvoice, type InvoiceDraft, type LineDraft } from '../../invoices/builder.js';
import type { DraftTax } from '../context.js';
import { BUILTIN_RATES, EU_MEMBER_STATES } from './builtin-rates.js';
import { aggregateTaxAmounts, computeLineTax } from './compute.js';
import { determineTax, normalizeState, taxLocation, type DetermineInput, type RateCandidate } from './determine.js';
import { checkTaxId } from './tax-ids.js';
import { percentageToPpm, ppmToPercentage, type TaxDecision, type TaxRateSnapshot } from './types.js';

const AT = new Date('2026-01-15T12:00:00Z');

// The built-in rates as candidates, the way the loader returns them.
const RATES: RateCandidate[] = BUILTIN_RATES.map((b) => ({
  id: `txr_${b.key}`,
  country: b.country,
  state: b.state ?? null,
  postal_code_prefix: null,
  percentage_ppm: percentageToPpm(b.percentage),
  display_name: b.displayName,
  jurisdiction: b.jurisdiction,
  tax_type: b.taxType,
  inclusive: false,
  active: true,
  effective_from: b.effectiveFrom ? new Date(b.effectiveFrom) : null,
  effective_until: b.effectiveUntil ? new Date(b.effectiveUntil) : null,
}));

const US_SELLER: Omit<DetermineInput, 'customer'> = { seller: { country: 'US', state: 'NY' }, usNexus: ['NY', 'PA'], missingAddress: 'seller', rates: RATES, at: AT };
const decide = (customer: Partial<DetermineInput['customer']>, base: Partial<DetermineInput> = {}) =>
  determineTax({ ...US_SELLER, ...base, customer: { address: null, taxIds: [], taxExempt: 'none', ...customer } });
const rates = (d: TaxDecision) => d.rates.map((r) => [r.display_name, ppmToPercentage(r.percentage_ppm), r.jurisdiction]);

describe('percentages', () => {
  it('are stored exactly in millionths', () => {
    expect(percentageToPpm('19')).toBe(190_000);
    expect(percentageToPpm(9.975)).toBe(99_750);
    expect(percentageToPpm('25.5')).toBe(255_000);
    expect(percentageToPpm('0')).toBe(0);
    expect(ppmToPercentage(99_750)).toBe(9.975);
    expect(() => percentageToPpm('19.12345')).toThrow(RangeError);
    expect(() => percentageToPpm('101')).toThrow(RangeError);
    expect(() => percentageToPpm('-1')).toThrow(RangeError);
  });
  it('cover all 27 EU member states', () => {
    expect(EU_MEMBER_STATES.size).toBe(27);
    for (const c of EU_MEMBER_STATES) expect(decide({ address: { country: c } }).rates, c).toHaveLength(1);
  });
});

describe('determination', () => {
  it('B2C: the destination rate', () => {
    expect(rates(decide({ address: { country: 'DE' } }))).toEqual([['VAT', 19, 'Germany']]);
    expect(rates(decide({ address: { country: 'GB' } }))).toEqual([['VAT', 20, 'United Kingdom']]);
    expect(rates(decide({ address: { country: 'CH' } }))).toEqual([['VAT', 8.1, 'Switzerland']]);
    expect(rates(decide({ address: { country: 'NO' } }))).toEqual([['VAT', 25, 'Norway']]);
    expect(rates(decide({ address: { country: 'NZ' } }))).toEqual([['GST', 15, 'New Zealand']]);
    expect(rates(decide({ address: { country: 'SG' } }))).toEqual([['GST', 9, 'Singapore']]);
    expect(rates(decide({ address: { country: 'IN' } }))).toEqual([['GST', 18, 'India']]);
    expect(rates(decide({ address: { country: 'JP' } }))).toEqual([['JCT', 10, 'Japan']]);
    expect(decide({ address: { country: 'DE' } })).toMatchObject({ reason: 'standard_rated', note: null, status: 'complete', location: { country: 'DE', state: null, source: 'billing_address' } });
  });
  it('versions: the rate in effect at the instant', () => {
    expect(rates(decide({ address: { country: 'EE' } }, { at: new Date('2025-06-30T23:59:59Z') }))).toEqual([['VAT', 22, 'Estonia']]);
    expect(rates(decide({ address: { country: 'EE' } }, { at: new Date('2025-07-01T00:00:00Z') }))).toEqual([['VAT', 24, 'Estonia']]);
    expect(rates(decide({ address: { country: 'CA', state: 'NS' } }, { at: new Date('2025-03-31T12:00:00Z') }))).toEqual([['HST', 15, 'Nova Scotia']]);
    expect(rates(decide({ address: { country: 'CA', state: 'NS' } }))).toEqual([['HST', 14, 'Nova Scotia']]);
  });
  it('Canada: GST everywhere, HST instead of GST, PST/RST/QST on top of GST', () => {
    expect(rates(decide({ address: { country: 'CA', state: 'AB' } }))).toEqual([['GST', 5, 'Canada']]);
    expect(rates(decide({ address: { country: 'CA', state: 'Ontario' } }))).toEqual([['HST', 13, 'Ontario']]);
    expect(rates(decide({ address: { country: 'CA', state: 'BC' } }))).toEqual([['GST', 5, 'Canada'], ['PST', 7, 'British Columbia']]);
    expect(rates(decide({ address: { country: 'CA', state: 'MB' } }))).toEqual([['GST', 5, 'Canada'], ['RST', 7, 'Manitoba']]);
    expect(rates(decide({ address: { country: 'CA', state: 'CA-QC' } }))).toEqual([['GST', 5, 'Canada'], ['QST', 9.975, 'Québec']]);
    // A GST/HST number lifts GST only: a BC business still pays PST.
    const bcBusiness = decide({ address: { country: 'CA', state: 'BC' }, taxIds: [{ type: 'ca_gst_hst', value: '123456789RT0001' }] });
    expect(bcBusiness.rates.map((r) => [r.tax_type, r.percentage_ppm])).toEqual([
      ['gst', 0],
      ['pst', 70_000],
    ]);
    expect(bcBusiness.note).toBe('Reverse charge (in part)');
    expect(decide({ address: { country: 'CA', state: 'ON' }, taxIds: [{ type: 'ca_gst_hst', value: '123456789RT0001' }] }).reason).toBe('reverse_charge');
  });
  it('US: state rates only where the seller has nexus; local rates by postal prefix add up', () => {
    expect(rates(decide({ address: { country: 'US', state: 'New York' } }))).toEqual([['Sales tax', 4, 'New York']]);
    expect(decide({ address: { country: 'US', state: 'WA' } })).toMatchObject({ reason: 'not_collecting', rates: [] });
    expect(decide({ address: { country: 'US', state: 'TX' } }).rates).toEqual([]);
    expect(decide({ address: { country: 'US' } }).rates).toEqual([]);
    const nyc: RateCandidate = { ...RATES.find((r) => r.id === 'txr_us_ny_sales_tax')!, id: 'txr_nyc', postal_code_prefix: '100', percentage_ppm: 45_000, jurisdiction: 'New York City' };
    const withLocal = decide({ address: { country: 'US', state: 'NY', postal_code: '10001' } }, { rates: [...RATES, nyc] });
    expect(rates(withLocal)).toEqual([['Sales tax', 4, 'New York'], ['Sales tax', 4.5, 'New York City']]);
    expect(rates(decide({ address: { country: 'US', state: 'NY', postal_code: '14201' } }, { rates: [...RATES, nyc] }))).toEqual([['Sales tax', 4, 'New York']]);
  });
  it('EU B2B: a valid-format VAT id from another member state → 0 % reverse charge; a bad one is ignored', () => {
    const fr = decide({ address: { country: 'FR' }, taxIds: [{ type: 'eu_vat', value: 'DE136695976' }] });
    expect(fr).toMatchObject({ reason: 'reverse_charge', note: 'Reverse charge' });
    expect(fr.rates.map((r) => [r.id, r.percentage_ppm, r.jurisdiction])).toEqual([[null, 0, 'France']]);
    expect(decide({ address: { country: 'FR' }, taxIds: [{ type: 'eu_vat', value: 'DE12' }] }).reason).toBe('standard_rated');
    // An EU seller: a VAT id of its own member state is a domestic sale, taxed.
    const deSeller = { seller: { country: 'DE', state: null } };
    expect(decide({ address: { country: 'DE' }, taxIds: [{ type: 'eu_vat', value: 'DE136695976' }] }, deSeller).reason).toBe('standard_rated');
    expect(decide({ address: { country: 'FR' }, taxIds: [{ type: 'eu_vat', value: 'DE136695976' }] }, deSeller).reason).toBe('standard_rated');
    expect(decide({ address: { country: 'FR' }, taxIds: [{ type: 'eu_vat', value: 'FR40303265045' }] }, deSeller).reason).toBe('reverse_charge');
  });
  it('other B2B ids that shift the tax to the buyer', () => {
    expect(decide({ address: { country: 'GB' }, taxIds: [{ type: 'gb_vat', value: 'GB980780684' }] }).reason).toBe('reverse_charge');
    expect(decide({ address: { country: 'AU' }, taxIds: [{ type: 'au_abn', value: '51824753556' }] }).reason).toBe('reverse_charge');
    expect(decide({ address: { country: 'AU' }, taxIds: [{ type: 'au_abn', value: '51824753557' }] }).reason).toBe('standard_rated');
    // The seller's own country: no reverse charge, whatever the ids.
    expect(decide({ address: { country: 'GB' }, taxIds: [{ type: 'gb_vat', value: 'GB980780684' }] }, { seller: { country: 'GB', state: null } }).reason).toBe('standard_rated');
  });
  it('tax_exempt, and no address: the configured fallback, never a guess', () => {
    expect(decide({ address: { country: 'DE' }, taxExempt: 'exempt' })).toMatchObject({ reason: 'customer_exempt', note: 'Exempt' });
    expect(decide({ address: { country: 'DE' }, taxExempt: 'reverse' })).toMatchObject({ reason: 'reverse_charge', note: 'Reverse charge' });
    expect(decide({ address: null })).toMatchObject({ reason: 'standard_rated', location: { country: 'US', state: 'NY', source: 'fallback' } });
    expect(decide({ address: { postal_code: '12345' } }, { missingAddress: 'none' })).toEqual({ reason: 'not_collecting', rates: [], note: null, location: null, status: 'requires_location_inputs' });
    expect(decide({ address: { country: 'BR' } })).toMatchObject({ reason: 'not_collecting', rates: [] });
  });
  it('the shipping address first, as Stripe Tax; one without a country gives no location (not the billing address)', () => {
    expect(decide({ address: { country: 'DE' }, shippingAddress: { country: 'FR' } })).toMatchObject({ location: { country: 'FR', state: null, source: 'shipping_address' } });
    expect(rates(decide({ address: { country: 'DE' }, shippingAddress: { country: 'FR' } }))).toEqual([['VAT', 20, 'France']]);
    // Stripe uses a non-empty shipping address even when it is not precise enough (requires_location_inputs):
    // the seller fallback then applies, or no tax with `none`.
    expect(decide({ address: { country: 'DE' }, shippingAddress: { postal_code: '75001' } })).toMatchObject({ location: { country: 'US', source: 'fallback' } });
    expect(decide({ address: { country: 'DE' }, shippingAddress: { postal_code: '75001' } }, { missingAddress: 'none' })).toMatchObject({ location: null, status: 'requires_location_inputs', rates: [] });
    expect(taxLocation({ address: { country: 'de' }, shippingAddress: null })).toEqual({ country: 'DE', state: null, postal: '', source: 'billing_address' });
    expect(taxLocation({ address: { country: 'CA', state: 'Ontario', postal_code: 'm5v 2t6' }, shippingAddress: undefined })).toEqual({ country: 'CA', state: 'ON', postal: 'M5V2T6', source: 'billing_address' });
    expect(taxLocation({ address: { country: 'DE' }, shippingAddress: { state: 'Bavaria' } })).toBeNull();
    expect(decide({ address: null, shippingAddress: { country: 'us', state: 'pa' } })).toMatchObject({ location: { country: 'US', state: 'PA', source: 'shipping_address' } });
  });
  it('normalizes subdivisions', () => {
    expect(normalizeState('CA', 'Québec')).toBe('QC');
    expect(normalizeState('US', 'ny')).toBe('NY');
    expect(normalizeState('CA', 'CA-BC')).toBe('BC');
    expect(normalizeState('AU', 'NSW')).toBe('NSW');
  });
});

describe('tax id formats', () => {
  it('per type', () => {
    const valid: [string, string][] = [
      ['eu_vat', 'DE123456789'],
      ['eu_vat', 'FR40303265045'],
      ['eu_vat', 'EL123456789'],
      ['gb_vat', 'GB980780684'],
      ['ch_vat', 'CHE-123.456.788 MWST'],
      ['no_vat', '123456785MVA'],
      ['au_abn', '51 824 753 556'],
      ['nz_gst', '123456789'],
      ['sg_gst', 'M12345678X'],
      ['jp_trn', 'T1234567891234'],
      ['in_gst', '27AAPFU0939F1ZV'],
      ['ca_gst_hst', '123456789RT0002'],
      ['ca_qst', '1234567890TQ1234'],
      ['ca_pst_bc', 'PST-1234-5678'],
      ['us_ein', '12-3456789'],
      ['unknown', 'anything'],
    ];
    for (const [type, value] of valid) expect(checkTaxId(type, value).valid, `${type} ${value}`).toBe(true);
    const invalid: [string, string][] = [
      ['eu_vat', 'DE12345'],
      ['eu_vat', 'GB980780684'], // not an EU member state
      ['eu_vat', 'US123456789'],
      ['gb_vat', 'DE123456789'],
      ['au_abn', '51824753557'], // check digits
      ['jp_trn', '1234567891234'],
      ['in_gst', '27AAPFU0939F1Z'],
      ['ca_gst_hst', '123456789'],
      ['us_ein', '123'],
    ];
    for (const [type, value] of invalid) expect(checkTaxId(type, value).valid, `${type} ${value}`).toBe(false);
    expect(checkTaxId('eu_vat', 'EL123456789').country).toBe('GR');
  });
});

const rate = (ppm: number, extra: Partial<TaxRateSnapshot> = {}): TaxRateSnapshot => ({
  id: `txr_${ppm}`,
  percentage_ppm: ppm,
  display_name: 'VAT',
  jurisdiction: 'Test',
  country: 'DE',
  state: null,
  tax_type: 'vat',
  inclusive: false,
  ...extra,
});
const decision = (...r: TaxRateSnapshot[]): TaxDecision => ({ reason: 'standard_rated', rates: r, note: null, location: { country: 'DE', state: null, source: 'billing_address' }, status: 'complete' });

describe('computation', () => {
  it('exclusive adds round-half-even(net × rate) per rate; inclusive backs one rounded figure out of the amount', () => {
    expect(computeLineTax(9750, 'exclusive', decision(rate(190_000))).map((t) => [t.amount, t.taxable_amount])).toEqual([[1852, 9750]]);
    expect(computeLineTax(9700, 'exclusive', decision(rate(50_000), rate(99_750))).map((t) => t.amount)).toEqual([485, 968]);
    expect(computeLineTax(-4899, 'exclusive', decision(rate(190_000))).map((t) => t.amount)).toEqual([-931]); // −930.81
    const incl = computeLineTax(9900, 'inclusive', decision(rate(190_000)));
    expect(incl.map((t) => [t.amount, t.taxable_amount, t.inclusive])).toEqual([[1581, 8319, true]]);
    // Two inclusive rates: one rounding of 10,000 × 14.975/114.975 = 1,302.46 → 1,302, split by rate.
    expect(computeLineTax(10_000, 'inclusive', decision(rate(50_000), rate(99_750))).map((t) => t.amount)).toEqual([435, 867]);
    expect(computeLineTax(10_000, 'exclusive', decision())).toEqual([]);
  });
  it('aggregates the breakdown per rate', () => {
    const d = decision(rate(190_000));
    const agg = aggregateTaxAmounts([computeLineTax(9700, 'exclusive', d), computeLineTax(9750, 'exclusive', d)]);
    expect(agg.map((t) => [t.amount, t.taxable_amount, t.percentage])).toEqual([[3695, 19_450, 19]]);
  });
});

const line = (amount: number, price: string | null): LineDraft => ({
  type: 'invoiceitem',
  subscription: null,
  subscriptionItem: null,
  invoiceItem: null,
  price,
  productId: null,
  description: 'x',
  quantity: 1,
  unitAmount: amount,
  amount,
  currency: 'eur',
  periodStart: AT,
  periodEnd: AT,
  proration: false,
  discountable: true,
});

function draft(lines: LineDraft[], tax: DraftTax, percentOff: number | null): InvoiceDraft {
  return {
    customer: 'cus_x',
    subscription: null,
    currency: 'eur',
    billingReason: 'manual',
    periodStart: AT,
    periodEnd: AT,
    collectionMethod: 'charge_automatically',
    daysUntilDue: null,
    autoAdvance: false,
    finalizeAt: null,
    defaultPaymentMethod: null,
    testClock: null,
    lines,
    discounts: percentOff ? [{ id: 'di_1', start: AT, coupon: { id: 'c', percent_off: percentOff, duration: 'forever' } }] : [],
    tax,
  };
}

const arbRates = fc.array(fc.integer({ min: 0, max: 300_000 }), { minLength: 1, maxLength: 3 });
const arbAmounts = fc.array(fc.integer({ min: -500_000, max: 5_000_000 }), { minLength: 1, maxLength: 8 });

describe('invoice totals with tax (properties)', () => {
  it('the invoice total is the sum of its lines (after discount, plus exclusive tax), whatever the mix', () => {
    fc.assert(
      fc.property(arbAmounts, arbRates, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.option(fc.integer({ min: 1, max: 100 })), (amounts, ppms, inclusive, off) => {
        const tax: DraftTax = {
          context: { decision: decision(...ppms.map((p, i) => rate(p, { id: `r${i}` }))), default_behavior: 'exclusive', at: AT.toISOString() },
          priceBehaviors: { p_incl: 'inclusive', p_excl: 'exclusive' },
        };
        const built = buildInvoice(draft(amounts.map((a, i) => line(a, inclusive[i] ? 'p_incl' : 'p_excl')), tax, off), AT);
        const perLine = built.lines.map((l) => {
          const discount = l.discount_amounts.reduce((s, d) => s + d.amount, 0);
          const exclusive = l.tax_amounts.filter((t) => !t.inclusive).reduce((s, t) => s + t.amount, 0);
          return l.amount - discount + exclusive;
        });
        expect(built.invoice.total).toBe(perLine.reduce((a, b) => a + b, 0));
        expect(built.invoice.total_tax).toBe(built.lines.flatMap((l) => l.tax_amounts).reduce((s, t) => s + t.amount, 0));
        expect(built.invoice.total_tax_amounts.reduce((s, t) => s + t.amount, 0)).toBe(built.invoice.total_tax);
        // Each line's tax is its exact share: an exclusive rate rounded once (within one unit); the
        // inclusive tax is backed out of the amount as one rounded figure (within half a unit) and then
        // allocated over the rates (within one more unit), so within 1.5 per rate.
        built.lines.forEach((l) => {
          const net = l.amount - l.discount_amounts.reduce((s, d) => s + d.amount, 0);
          l.tax_amounts.forEach((t, k) => {
            const ppm = ppms[k]!;
            const exact = t.inclusive ? (net * ppm) / (1_000_000 + ppms.reduce((a, b) => a + b, 0)) : (net * ppm) / 1_000_000;
            expect(Math.abs(t.amount - exact)).toBeLessThanOrEqual(t.inclusive ? 1.5 : 1);
          });
        });
      }),
    );
  });
  it('with tax-inclusive prices the total is the list price: tax never moves what the customer pays', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 8 }), arbRates, (amounts, ppms) => {
        const tax: DraftTax = {
          context: { decision: decision(...ppms.map((p, i) => rate(p, { id: `r${i}` }))), default_behavior: 'inclusive', at: AT.toISOString() },
          priceBehaviors: {},
        };
        const built = buildInvoice(draft(amounts.map((a) => line(a, null)), tax, null), AT);
        const list = amounts.reduce((a, b) => a + b, 0);
        expect(built.invoice.total).toBe(list);
        expect(built.invoice.amount_due).toBe(list);
        expect(built.invoice.total - built.invoice.total_tax).toBe(built.invoice.total_tax_amounts.reduce((s, t) => s + t.taxable_amount, 0) / ppms.length);
      }),
    );
  });
});
