import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaxApp, type TaxApp } from '../../../test/scenarios/taxes-support.js';
import type { TaxAmount } from '../taxes/domain/types.js';
import { inclusiveTaxBeforeDiscounts } from './serialize.js';

// subtotal_excluding_tax on a discounted invoice with a tax-inclusive price. Stripe:
// "the subtotal of the invoice before any invoice level discount or tax is applied" — so the tax
// backed out of the subtotal must be the tax of the undiscounted amount, not of the discounted one.

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp();
});
afterAll(() => t.close());

describe('tax-inclusive price with a 50 % coupon', () => {
  it('discount before tax: tax on the discounted amount; subtotal_excluding_tax before the discount', async () => {
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'eur', unit_amount: 9900, recurring: { interval: 'month' }, tax_behavior: 'inclusive' });
    const coupon = await t.ok('POST', '/v1/coupons', { percent_off: 50, duration: 'once' });
    const customer = await t.customer({ currency: 'eur', address: { country: 'DE' } });
    const inv = await t.firstInvoice(customer, price.id, { coupon: coupon.id });
    // 9,900 − 4,950 = 4,950 incl. 19 % VAT: tax = 4,950 × 19/119 = 790.3 → 790.
    expect([inv.subtotal, inv.total, inv.tax, inv.total_excluding_tax]).toEqual([9900, 4950, 790, 4160]);
    // Without the discount the same line holds 1,581 of VAT (as taxes.test.ts shows): 9,900 − 1,581 = 8,319.
    // Not the tax of the *discounted* amount taken from the *undiscounted* subtotal (9,900 − 790 = 9,110).
    expect(inv.subtotal_excluding_tax).toBe(8319);
  });
});

describe('inclusiveTaxBeforeDiscounts', () => {
  const vat = (amount: number, taxable: number, inclusive = true, percentage = 19): TaxAmount => ({
    amount, inclusive, tax_rate: 'txr_de', taxability_reason: 'standard_rated', taxable_amount: taxable, percentage,
    display_name: 'VAT', jurisdiction: 'DE', country: 'DE', state: null, tax_type: 'vat',
  });
  const half = [{ discount: 'di_1', amount: 4_950 }];

  it('recomputes the tax of each discounted inclusive line on its undiscounted amount', () => {
    const lines = [
      { amount: 9_900, discount_amounts: half, tax_amounts: [vat(790, 4_160)] },
      // Not discounted: its stored tax stands.
      { amount: 1_190, discount_amounts: [], tax_amounts: [vat(190, 1_000)] },
      // Exclusive tax is not inside the subtotal.
      { amount: 1_000, discount_amounts: [{ discount: 'di_1', amount: 500 }], tax_amounts: [vat(95, 500, false)] },
      // A non-discountable inclusive line.
      { amount: 2_380, discount_amounts: [], tax_amounts: [vat(380, 2_000)] },
    ];
    expect(inclusiveTaxBeforeDiscounts(lines)).toBe(1_581 + 190 + 0 + 380);
  });

  it('splits a multi-rate inclusive line once, as the tax code does', () => {
    // 5 % + 9.975 % inclusive on 11,498 → round(11,498 × 14.975 / 114.975) = 1,498 (undiscounted).
    const gst = { ...vat(250, 5_000, true, 5), tax_rate: 'txr_gst' };
    const qst = { ...vat(499, 5_000, true, 9.975), tax_rate: 'txr_qst' };
    const lines = [{ amount: 11_498, discount_amounts: [{ discount: 'di_1', amount: 5_749 }], tax_amounts: [gst, qst] }];
    expect(inclusiveTaxBeforeDiscounts(lines)).toBe(1_498);
  });

  it('keeps the stored tax of an undiscounted line, recomputes a discounted one (even at 100 %), and is 0 without lines', () => {
    expect(inclusiveTaxBeforeDiscounts([{ amount: 9_900, discount_amounts: [], tax_amounts: [vat(1_581, 8_319)] }])).toBe(1_581);
    expect(inclusiveTaxBeforeDiscounts([{ amount: 9_900, discount_amounts: half, tax_amounts: [vat(790, 4_160), vat(5, 50, false)] }])).toBe(1_581);
    expect(inclusiveTaxBeforeDiscounts([{ amount: 9_900, discount_amounts: [{ discount: 'di_1', amount: 9_900 }], tax_amounts: [vat(0, 0)] }])).toBe(1_581);
    expect(inclusiveTaxBeforeDiscounts([])).toBe(0);
  });
});
