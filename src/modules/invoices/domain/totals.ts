// Invoice totals and customer-balance application, Stripe style. The customer balance is signed like
// Stripe's: negative = credit the customer holds, positive = an amount they owe on the next invoice.
import { assertMinorUnits } from '../../../core/money/index.js';

export interface InvoiceTotalsInput {
  /** Line amounts before discounts, signed minor units (proration credits are negative). */
  readonly lineAmounts: readonly number[];
  /** Per-line total discount (e.g. applyDiscounts(...).lines[i].totalDiscount); defaults to 0. */
  readonly discountAmounts?: readonly number[];
  /** Per-line tax (all of it, inclusive and exclusive); defaults to 0. */
  readonly taxAmounts?: readonly number[];
  /** The part of each line's tax already inside its amount (tax-inclusive prices); defaults to 0. */
  readonly inclusiveTaxAmounts?: readonly number[];
  /** The customer's balance when the invoice is finalized; defaults to 0. */
  readonly startingBalance?: number;
}

export interface InvoiceTotals {
  readonly subtotal: number;
  readonly total_discount: number;
  readonly total_excluding_tax: number;
  readonly total_tax: number;
  readonly total: number;
  readonly starting_balance: number;
  /** What was added to `total` to get `amount_due`; ending_balance = starting_balance − applied_balance. */
  readonly applied_balance: number;
  readonly ending_balance: number;
  readonly amount_due: number;
}

function perLine(values: readonly number[] | undefined, length: number, name: string): readonly number[] {
  if (values === undefined) return new Array<number>(length).fill(0);
  if (values.length !== length) throw new RangeError(`${name} must have one entry per line (${length}), got ${values.length}`);
  return values;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) {
    assertMinorUnits(v);
    s += v;
  }
  assertMinorUnits(s);
  return s;
}

/**
 * subtotal = Σ lines; total = subtotal − discounts + exclusive tax (inclusive tax is already in the
 * line amounts); total_excluding_tax = total − all tax. Then the balance:
 * - total ≥ 0: a credit balance pays as much of the total as it covers; a debit balance is added in full.
 * - total < 0: nothing is due and the excess becomes customer credit (the balance decreases by |total|).
 * Invariants: amount_due = total + applied_balance ≥ 0 and ending_balance = starting_balance − applied_balance.
 */
export function computeInvoiceTotals(input: InvoiceTotalsInput): InvoiceTotals {
  const n = input.lineAmounts.length;
  const subtotal = sum(input.lineAmounts);
  const total_discount = sum(perLine(input.discountAmounts, n, 'discountAmounts'));
  const total_tax = sum(perLine(input.taxAmounts, n, 'taxAmounts'));
  const inclusive_tax = sum(perLine(input.inclusiveTaxAmounts, n, 'inclusiveTaxAmounts'));
  const starting_balance = input.startingBalance ?? 0;
  assertMinorUnits(starting_balance);

  const total = subtotal - total_discount + total_tax - inclusive_tax;
  const total_excluding_tax = total - total_tax;
  // `+ 0` turns the -0 of Math.max(negative, -0) into 0.
  const applied_balance = (total >= 0 ? Math.max(starting_balance, -total) : -total) + 0;
  return {
    subtotal,
    total_discount,
    total_excluding_tax,
    total_tax,
    total,
    starting_balance,
    applied_balance,
    ending_balance: starting_balance - applied_balance,
    amount_due: total + applied_balance,
  };
}

/**
 * The largest amount an invoice or one of its lines may carry, in minor units (Stripe's limit:
 * 999,999,999.99 in a two-decimal currency, twelve digits). Far below 2^53, so sums of lines, their
 * discounts and tax stay exact integers; a line or invoice past it is refused with a 400 instead of
 * failing assertMinorUnits later (a 500).
 */
export const MAX_INVOICE_AMOUNT = 99_999_999_999;

/** Whether the amounts, one by one and summed (exactly, as BigInt), stay within ±MAX_INVOICE_AMOUNT. */
export function withinInvoiceBound(amounts: readonly (number | string)[]): boolean {
  const max = BigInt(MAX_INVOICE_AMOUNT);
  let sum = 0n;
  for (const a of amounts) {
    const v = BigInt(a);
    if (v > max || v < -max) return false;
    sum += v;
  }
  return sum <= max && sum >= -max;
}
