import { allocate, divideRounded } from '../../../core/money/index.js';
import { PPM, ppmToPercentage, type TaxAmount, type TaxBehavior, type TaxDecision, type TaxRateSnapshot } from './types.js';

// Tax on one invoice line, after its discounts, in the line's minor units, rounded half-even ONCE
// per line: exclusive rates add round(net × rate) each; inclusive rates back the tax out of the
// amount, round(net × R / (1 + R)) for their sum R, split over the rates with allocate() so the
// parts add up to exactly that one rounded figure and the line's gross amount never moves.

function reasonOf(decision: TaxDecision, rate: TaxRateSnapshot): TaxAmount['taxability_reason'] {
  if (decision.reason === 'customer_exempt') return 'customer_exempt';
  if (rate.id === null) return 'reverse_charge';
  return 'standard_rated';
}

function entry(decision: TaxDecision, rate: TaxRateSnapshot, amount: number, taxable: number, inclusive: boolean): TaxAmount {
  return {
    amount,
    inclusive,
    tax_rate: rate.id,
    taxability_reason: reasonOf(decision, rate),
    taxable_amount: taxable,
    percentage: ppmToPercentage(rate.percentage_ppm),
    display_name: rate.display_name,
    jurisdiction: rate.jurisdiction,
    country: rate.country,
    state: rate.state,
    tax_type: rate.tax_type,
  };
}

/**
 * The taxes of a line whose amount after discounts is `net` (signed: a credit line gets negative
 * tax). For an inclusive line `net` is the gross amount and stays what the customer pays.
 */
export function computeLineTax(net: number, behavior: TaxBehavior, decision: TaxDecision): TaxAmount[] {
  const rates = decision.rates;
  if (rates.length === 0) return [];
  if (behavior === 'exclusive') {
    return rates.map((r) => entry(decision, r, divideRounded(BigInt(net) * BigInt(r.percentage_ppm), BigInt(PPM), 'half_even'), net, false));
  }
  const sum = rates.reduce((s, r) => s + r.percentage_ppm, 0);
  const tax = sum === 0 ? 0 : divideRounded(BigInt(net) * BigInt(sum), BigInt(PPM + sum), 'half_even');
  const parts = sum === 0 ? rates.map(() => 0) : allocate(tax, rates.map((r) => r.percentage_ppm));
  return rates.map((r, i) => entry(decision, r, parts[i]!, net - tax, true));
}

/** Σ tax of a line, and the part of it already inside the line's amount. */
export function lineTaxTotals(amounts: readonly TaxAmount[]): { tax: number; inclusive: number } {
  let tax = 0;
  let inclusive = 0;
  for (const a of amounts) {
    tax += a.amount;
    if (a.inclusive) inclusive += a.amount;
  }
  return { tax, inclusive };
}

/**
 * The invoice's breakdown: one entry per rate (and inclusive flag and reason) with the tax and the
 * taxable amount summed over the lines — what the invoice and its PDF show per rate and jurisdiction.
 */
export function aggregateTaxAmounts(lines: readonly (readonly TaxAmount[])[]): TaxAmount[] {
  const out = new Map<string, TaxAmount>();
  for (const line of lines) {
    for (const a of line) {
      const key = [a.tax_rate ?? '', a.display_name, a.jurisdiction ?? '', a.percentage, a.inclusive, a.taxability_reason, a.country, a.state ?? ''].join('|');
      const prev = out.get(key);
      out.set(key, prev ? { ...prev, amount: prev.amount + a.amount, taxable_amount: prev.taxable_amount + a.taxable_amount } : { ...a });
    }
  }
  return [...out.values()];
}
