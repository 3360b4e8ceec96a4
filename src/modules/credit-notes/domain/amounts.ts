import { allocate, divideRounded, multiplyRatio } from '../../../core/money/index.js';
import { aggregateTaxAmounts } from '../../taxes/domain/compute.js';
import type { TaxAmount } from '../../taxes/domain/types.js';

// What a credit note credits, line by line. A credit of part of an invoice line takes the same share
// of what is left of the line's discount and of each of its taxes, rounded half-even once; crediting
// what is left of a line takes exactly what is left, so any number of partial credit notes add up to
// the line and never to a cent more. A credit "of an amount" (tax included) is spread over the lines in
// proportion to what is left of each, with allocate(), and each share is split the same way. The
// inclusive tax before discounts (for amount_excluding_tax) is shared out the same way, so the credit
// notes of a wholly credited invoice add up to its subtotal_excluding_tax too.

export interface CreditableLine {
  id: string;
  description: string | null;
  quantity: number;
  unit_amount: number | null;
  /** The line's amount before discounts (gross of tax for tax-inclusive prices). */
  amount: number;
  discount: number;
  taxes: readonly TaxAmount[];
  /**
   * The inclusive tax inside `amount` before discounts: the line's share of the invoice's
   * subtotal_excluding_tax (amount − this). Credit notes take shares of what is left of it, so those
   * of a wholly credited line add up to the invoice's figure to the cent.
   */
  inclusiveBefore: number;
  /** Already credited by issued (not void) credit notes. */
  credited: { amount: number; discount: number; taxes: readonly number[]; inclusiveBefore: number };
}

export type LineRequest = { line: string; amount?: number; quantity?: number; param: string };

export interface CreditLine {
  invoice_line: string;
  description: string | null;
  quantity: number | null;
  unit_amount: number | null;
  amount: number;
  discount_amount: number;
  tax_amounts: TaxAmount[];
  /** amount − discount + exclusive tax: what this line credits. */
  total: number;
  /** amount less the inclusive tax inside it before discounts (Stripe's amount_excluding_tax). */
  amount_excluding_tax: number;
}

export interface CreditTotals {
  subtotal: number;
  discount_amount: number;
  total_tax: number;
  total: number;
  tax_amounts: TaxAmount[];
}

export class CreditError extends Error {
  constructor(
    message: string,
    readonly param: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function remaining(l: CreditableLine) {
  const taxes = l.taxes.map((t, i) => t.amount - (l.credited.taxes[i] ?? 0));
  const amount = l.amount - l.credited.amount;
  const discount = l.discount - l.credited.discount;
  const exclusive = taxes.reduce((s, t, i) => s + (l.taxes[i]!.inclusive ? 0 : t), 0);
  return { amount, discount, taxes, total: amount - discount + exclusive, inclusiveBefore: l.inclusiveBefore - l.credited.inclusiveBefore };
}

function build(l: CreditableLine, amount: number, discount: number, taxes: number[], quantity: number | null, inclusiveBefore: number): CreditLine {
  const inclusiveTax = taxes.reduce((s, t, i) => s + (l.taxes[i]!.inclusive ? t : 0), 0);
  const exclusiveTax = taxes.reduce((s, t, i) => s + (l.taxes[i]!.inclusive ? 0 : t), 0);
  const taxable = amount - discount - inclusiveTax;
  return {
    invoice_line: l.id,
    description: l.description,
    quantity,
    unit_amount: quantity !== null ? l.unit_amount : null,
    amount,
    discount_amount: discount,
    tax_amounts: l.taxes.map((t, i) => ({ ...t, amount: taxes[i]!, taxable_amount: taxable })),
    total: amount - discount + exclusiveTax,
    amount_excluding_tax: amount - inclusiveBefore,
  };
}

/** Credits `amount` (before discount and exclusive tax) of a line: the same share of its discount and taxes. */
export function creditLinePart(l: CreditableLine, amount: number, quantity: number | null, param: string): CreditLine {
  const rest = remaining(l);
  if (l.amount <= 0) throw new CreditError(`The line ${l.id} is not a charge and cannot be credited.`, param, 'line_not_creditable');
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new CreditError('The amount to credit must be positive.', param, 'parameter_invalid');
  if (amount > rest.amount) {
    throw new CreditError(`Only ${rest.amount} of the line ${l.id} is left to credit; asked for ${amount}.`, param, 'credit_note_exceeds_line');
  }
  if (amount === rest.amount) return build(l, amount, rest.discount, rest.taxes, quantity, rest.inclusiveBefore);
  // The share of what is LEFT of the discount and of each tax (not of the line's original ones): a
  // share of the original, rounded on its own, is never capped by what earlier credit notes took, so
  // three credits of 3 of a 10 taxed 2 credited 1 + 1 + 1 = 3 of tax and the rest of the line −1.
  // With amount < rest.amount each share is ≤ what is left (and ≥ 0), so no credit takes more than
  // the line has and the last one, taking exactly what is left, is never negative.
  const share = (v: number) => multiplyRatio(v, amount, rest.amount, 'half_even');
  return build(l, amount, share(rest.discount), rest.taxes.map(share), quantity, share(rest.inclusiveBefore));
}

export function creditLines(lines: readonly CreditableLine[], requests: readonly LineRequest[]): CreditLine[] {
  const seen = new Set<string>();
  return requests.map((r) => {
    const l = lines.find((x) => x.id === r.line);
    if (!l) throw new CreditError(`No such line on this invoice: '${r.line}'`, r.param, 'resource_missing');
    if (seen.has(l.id)) throw new CreditError(`The line ${l.id} appears twice.`, r.param, 'parameter_invalid');
    seen.add(l.id);
    if (r.amount !== undefined && r.quantity !== undefined) throw new CreditError('Give amount or quantity, not both.', r.param, 'parameter_invalid');
    if (r.quantity !== undefined) {
      if (r.quantity < 1 || r.quantity > l.quantity) throw new CreditError(`quantity must be from 1 to ${l.quantity}.`, r.param, 'parameter_invalid');
      const amount = r.quantity === l.quantity ? remaining(l).amount : multiplyRatio(l.amount, r.quantity, l.quantity, 'half_even');
      return creditLinePart(l, amount, r.quantity, r.param);
    }
    // Without amount or quantity: whatever is left of the whole line.
    return creditLinePart(l, r.amount ?? remaining(l).amount, r.amount === undefined ? l.quantity : null, r.param);
  });
}

/** Credits `total` (tax included) spread over the lines in proportion to what is left of each. */
export function creditAmount(lines: readonly CreditableLine[], total: number, param = 'amount'): CreditLine[] {
  if (!Number.isSafeInteger(total) || total <= 0) throw new CreditError('amount must be positive.', param, 'parameter_invalid');
  const open = lines.map((l) => ({ l, rest: remaining(l) })).filter((x) => x.l.amount > 0 && x.rest.total > 0);
  const available = open.reduce((s, x) => s + x.rest.total, 0);
  if (total > available) throw new CreditError(`Only ${available} is left to credit on this invoice; asked for ${total}.`, param, 'credit_note_exceeds_invoice');
  const shares = allocate(
    total,
    open.map((x) => x.rest.total),
  );
  return open
    .map((x, i) => {
      const s = shares[i]!;
      if (s === 0) return null;
      if (s === x.rest.total) return build(x.l, x.rest.amount, x.rest.discount, x.rest.taxes, null, x.rest.inclusiveBefore);
      const part = (v: number) => divideRounded(BigInt(v) * BigInt(s), BigInt(x.rest.total), 'half_even');
      const taxes = x.rest.taxes.map(part);
      const discount = part(x.rest.discount);
      const exclusive = taxes.reduce((acc, t, k) => acc + (x.l.taxes[k]!.inclusive ? 0 : t), 0);
      // The line amount is what makes this share exact: amount − discount + exclusive tax = s.
      return build(x.l, s - exclusive + discount, discount, taxes, null, part(x.rest.inclusiveBefore));
    })
    .filter((c): c is CreditLine => c !== null);
}

/**
 * The lines of a credit note that takes all that is left of its invoice (the caller decides that): with
 * what is left of the lines that credit nothing on their own (a line discounted to zero: its amount and
 * discount equal, no tax), so the credit notes of a wholly credited invoice add up to its subtotal and
 * discount as well as its total, as one credit note of the whole invoice would. In the invoice's line order.
 */
export function withZeroLines(lines: readonly CreditableLine[], credit: readonly CreditLine[]): CreditLine[] {
  const byLine = new Map(credit.map((c) => [c.invoice_line, c]));
  return lines.flatMap((l) => {
    const c = byLine.get(l.id);
    if (c) return [c];
    const rest = remaining(l);
    return l.amount > 0 && rest.amount > 0 && rest.total === 0 ? [build(l, rest.amount, rest.discount, rest.taxes, null, rest.inclusiveBefore)] : [];
  });
}

export function creditTotals(lines: readonly CreditLine[]): CreditTotals {
  return {
    subtotal: lines.reduce((s, l) => s + l.amount, 0),
    discount_amount: lines.reduce((s, l) => s + l.discount_amount, 0),
    total_tax: lines.reduce((s, l) => s + l.tax_amounts.reduce((a, t) => a + t.amount, 0), 0),
    total: lines.reduce((s, l) => s + l.total, 0),
    tax_amounts: aggregateTaxAmounts(lines.map((l) => l.tax_amounts)),
  };
}
