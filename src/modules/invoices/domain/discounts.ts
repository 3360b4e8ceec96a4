// Coupons and discounts (Stripe's model). Percentages are held as integer basis points so that
// 12.5 % is exact; every discount is rounded once on the eligible subtotal, then split across lines
// with allocate(), so per-line discounts always sum to the invoice discount.
import { addMonths } from '../../../core/time/index.js';
import { allocate, assertMinorUnits, multiplyRatio } from '../../../core/money/index.js';

export type CouponDuration = 'once' | 'repeating' | 'forever';

/** The Stripe coupon shape (snake_case, as stored and served). Exactly one of percent_off / amount_off. */
export interface Coupon {
  readonly id: string;
  /** A decimal percentage like 20 or 12.5 (at most two decimals), 0 < p ≤ 100. */
  readonly percent_off?: number | null;
  /** Minor units, with `currency`. */
  readonly amount_off?: number | null;
  readonly currency?: string | null;
  readonly duration: CouponDuration;
  readonly duration_in_months?: number | null;
  readonly applies_to?: { readonly products: readonly string[] } | null;
}

/** A coupon applied to a customer or subscription from `start`. */
export interface Discount {
  readonly id: string;
  readonly coupon: Coupon;
  readonly start: Date;
  /** How many invoices this discount has already reduced; a `once` discount is spent after one. */
  readonly invoicesApplied?: number;
}

export interface DiscountableLine {
  /** Signed minor units; negative for credits such as proration "Unused time" lines. */
  readonly amount: number;
  readonly currency: string;
  /** The product the line bills, for `applies_to.products`; null for lines without one. */
  readonly productId: string | null;
}

export interface DiscountAmount {
  readonly discountId: string;
  /** Minor units subtracted from the line (negative when it shrinks a credit line). */
  readonly amount: number;
}

export interface DiscountedLine {
  readonly discountAmounts: DiscountAmount[];
  readonly totalDiscount: number;
  /** amount − totalDiscount. */
  readonly amountAfterDiscount: number;
}

export interface DiscountResult {
  readonly lines: DiscountedLine[];
  /** One entry per discount, in input order (Stripe's total_discount_amounts). */
  readonly totalDiscountAmounts: DiscountAmount[];
  readonly totalDiscount: number;
}

const BASIS_POINTS = 10_000;

/** 20 → 2000, 12.5 → 1250. Rejects more than two decimals instead of rounding a coupon silently. */
export function percentToBasisPoints(percent: number): number {
  if (!Number.isFinite(percent) || percent <= 0 || percent > 100) throw new RangeError(`percent_off must be in (0, 100], got ${percent}`);
  // The shortest round-trip decimal string is what the user typed (12.5, 33.33), so parse that.
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(percent));
  if (!match) throw new RangeError(`percent_off supports at most two decimals, got ${percent}`);
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

export function assertCoupon(c: Coupon): void {
  const hasPercent = c.percent_off !== null && c.percent_off !== undefined;
  const hasAmount = c.amount_off !== null && c.amount_off !== undefined;
  if (hasPercent === hasAmount) throw new RangeError(`Coupon ${c.id} needs exactly one of percent_off or amount_off`);
  if (hasPercent) percentToBasisPoints(c.percent_off!);
  if (hasAmount) {
    assertMinorUnits(c.amount_off!);
    if (c.amount_off! <= 0) throw new RangeError(`Coupon ${c.id}: amount_off must be positive`);
    if (!c.currency) throw new RangeError(`Coupon ${c.id}: amount_off needs a currency`);
  }
  if (c.duration === 'repeating') {
    const n = c.duration_in_months;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new RangeError(`Coupon ${c.id}: repeating needs a positive duration_in_months`);
  }
}

/** Stripe's discount.end: start + N months for `repeating`, null otherwise. */
export function discountEnd(discount: Discount): Date | null {
  const c = discount.coupon;
  if (c.duration !== 'repeating') return null;
  return addMonths(discount.start, c.duration_in_months ?? 0);
}

/**
 * Whether the discount applies to an invoice for the period starting at `invoicePeriodStart`:
 * the period must start at or after the discount; `repeating` stops once the period starts at or
 * after start + N months (same clamped month arithmetic as the billing schedule, so a 3-month coupon
 * started on the anchor covers exactly periods 0, 1, 2); `once` covers the first invoice only.
 */
export function isDiscountActive(discount: Discount, invoicePeriodStart: Date): boolean {
  assertCoupon(discount.coupon);
  const t = invoicePeriodStart.getTime();
  if (t < discount.start.getTime()) return false;
  switch (discount.coupon.duration) {
    case 'forever':
      return true;
    case 'once':
      return (discount.invoicesApplied ?? 0) === 0;
    case 'repeating':
      return t < discountEnd(discount)!.getTime();
  }
}

function eligible(coupon: Coupon, line: DiscountableLine): boolean {
  const products = coupon.applies_to?.products;
  if (!products) return true;
  return line.productId !== null && products.includes(line.productId);
}

/** Splits `total` (≥ 0) over `indices` in proportion to `amounts[i]` (all ≥ 0); parts sum to total. */
function split(total: number, indices: number[], amounts: number[], into: number[]): void {
  if (indices.length === 0 || total === 0) return;
  const parts = allocate(total, indices.map((i) => amounts[i]!));
  indices.forEach((i, k) => (into[i] = parts[k]!));
}

/**
 * Per-line discount amounts for `discounts` (pass only those active for this invoice, see
 * isDiscountActive), applied in order, each on the amounts left by
 * the previous ones (two 10 % coupons give 19 %, never more than the line).
 *
 * Percent: the discount is round_half_even(eligible net subtotal × pct), where the net subtotal
 * includes negative (credit/proration) lines, as Stripe does; the debit lines get
 * round(positive part × pct) and the credit lines the remainder, each group split with allocate().
 * A credit line's discount is therefore ≤ 0 (it shrinks the credit), never flipping its sign.
 *
 * Amount off: only positive eligible lines are reduced, by min(amount_off, positive eligible subtotal,
 * eligible net subtotal), so a fixed discount can never turn into customer credit when proration
 * credits already cover the charges.
 */
export function applyDiscounts(lines: readonly DiscountableLine[], discounts: readonly Discount[]): DiscountResult {
  for (const l of lines) assertMinorUnits(l.amount);
  const currencies = new Set(lines.map((l) => l.currency.toLowerCase()));
  if (currencies.size > 1) throw new RangeError(`An invoice has one currency, got ${[...currencies].join(', ')}`);
  const currency = [...currencies][0];

  const remaining = lines.map((l) => l.amount);
  const perLine: DiscountAmount[][] = lines.map(() => []);
  const totals: DiscountAmount[] = [];

  for (const discount of discounts) {
    const coupon = discount.coupon;
    assertCoupon(coupon);
    const idx = lines.map((_, i) => i).filter((i) => eligible(coupon, lines[i]!));
    const pos = idx.filter((i) => remaining[i]! > 0);
    const neg = idx.filter((i) => remaining[i]! < 0);
    const posSum = pos.reduce((s, i) => s + remaining[i]!, 0);
    const negSum = neg.reduce((s, i) => s + remaining[i]!, 0);
    const parts = lines.map(() => 0);

    if (coupon.percent_off !== null && coupon.percent_off !== undefined) {
      const bps = percentToBasisPoints(coupon.percent_off);
      const total = multiplyRatio(posSum + negSum, bps, BASIS_POINTS, 'half_even');
      const onDebits = multiplyRatio(posSum, bps, BASIS_POINTS, 'half_even');
      // Rounding is monotone, so total ≤ onDebits and the credit share is ≤ 0 and ≤ |negSum| in size.
      const onCredits = total - onDebits;
      split(onDebits, pos, remaining, parts);
      const negParts = lines.map(() => 0);
      split(-onCredits, neg, remaining.map((a) => -a), negParts);
      neg.forEach((i) => (parts[i] = 0 - negParts[i]!));
    } else {
      if (currency !== undefined && coupon.currency!.toLowerCase() !== currency) {
        throw new RangeError(`Coupon ${coupon.id} is in ${coupon.currency}, the invoice in ${currency}`);
      }
      const cap = Math.max(0, Math.min(coupon.amount_off!, posSum, posSum + negSum));
      split(cap, pos, remaining, parts);
    }

    let sum = 0;
    for (const i of idx) {
      const p = parts[i]!;
      perLine[i]!.push({ discountId: discount.id, amount: p });
      remaining[i] = remaining[i]! - p;
      sum += p;
    }
    totals.push({ discountId: discount.id, amount: sum });
  }

  return {
    lines: lines.map((l, i) => {
      const totalDiscount = perLine[i]!.reduce((s, a) => s + a.amount, 0);
      return { discountAmounts: perLine[i]!, totalDiscount, amountAfterDiscount: l.amount - totalDiscount };
    }),
    totalDiscountAmounts: totals,
    totalDiscount: totals.reduce((s, a) => s + a.amount, 0),
  };
}
