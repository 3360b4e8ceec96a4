// Coupons and discounts (Stripe's model). Percentages are held as integer basis points so that
// 12.5 % is exact; every discount is rounded once on the eligible subtotal, then split across lines
// with allocate(), so per-line discounts always sum to the invoice discount.
import { addMonths } from '../../../core/time/index.js';
import { allocate, assertMinorUnits, divideRounded, multiplyRatio } from '../../../core/money/index.js';

export type CouponDuration = 'once' | 'repeating' | 'forever';

/** The Stripe coupon shape (snake_case, as stored and served). Exactly one of percent_off / amount_off. */
export interface Coupon {
  readonly id: string;
  /** A decimal percentage like 20 or 12.5 (at most two decimals), 0 < p ≤ 100. */
  readonly percent_off?: number | null;
  /** Minor units, with `currency`. */
  readonly amount_off?: number | null;
  readonly currency?: string | null;
  /** amount_off in other currencies (Stripe's currency_options), keyed by lowercase currency. */
  readonly currency_options?: Readonly<Record<string, { readonly amount_off: number }>> | null;
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
  /**
   * False for a line no discount may touch (Stripe's `discountable: false`): it is left out of every
   * discount, takes no part of any and gets no discount_amounts entry. Defaults to true.
   */
  readonly discountable?: boolean;
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
  /** Discounts fixed on lines (ApplyDiscountsOptions.fixed) that are not among the discounts applied. */
  readonly otherDiscountAmounts: DiscountAmount[];
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
  if (line.discountable === false) return false;
  const products = coupon.applies_to?.products;
  if (!products) return true;
  return line.productId !== null && products.includes(line.productId);
}

/** Splits `total` (≥ 0) over `indices` in proportion to `amounts[i]` (all ≥ 0); parts sum to total. */
function split(total: number, indices: readonly number[], amounts: readonly number[], into: number[]): void {
  if (indices.length === 0 || total === 0) return;
  const parts = allocate(total, indices.map((i) => amounts[i]!));
  indices.forEach((i, k) => (into[i] = parts[k]!));
}

/** The lines' discount amounts in force before `discounts` apply (see ApplyDiscountsOptions.fixed). */
export type FixedDiscounts = readonly (readonly DiscountAmount[] | null | undefined)[];

export interface ApplyDiscountsOptions {
  /**
   * Per line (same index), discount amounts fixed before this invoice, or null: a proration item
   * carries the discounts in force when it was made (Stripe's proration_details.discount_amounts),
   * see discountProrations. A line with fixed amounts keeps exactly those; of `discounts` it takes
   * only `once` ones, which are never fixed: a `once` discount belongs to the one invoice that spends
   * it and reduces every line of it. Lines with null take `discounts` as usual.
   */
  readonly fixed?: FixedDiscounts;
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
 *
 * `opts.fixed`: lines whose discounts were fixed earlier keep those amounts (applied first) and are
 * left out of every discount of `discounts` but `once` ones. totalDiscountAmounts then has one entry
 * per discount of `discounts` (with any fixed amounts of the same discount added in), and
 * otherDiscountAmounts the fixed discounts that are not among `discounts`.
 */
export function applyDiscounts(lines: readonly DiscountableLine[], discounts: readonly Discount[], opts: ApplyDiscountsOptions = {}): DiscountResult {
  for (const l of lines) assertMinorUnits(l.amount);
  const currencies = new Set(lines.map((l) => l.currency.toLowerCase()));
  if (currencies.size > 1) throw new RangeError(`An invoice has one currency, got ${[...currencies].join(', ')}`);
  const currency = [...currencies][0];
  const fixed = lines.map((l, i) => {
    const f = opts.fixed?.[i] ?? null;
    if (f) assertFixed(l.amount, f);
    return f;
  });

  const remaining = lines.map((l, i) => l.amount - (fixed[i] ?? []).reduce((s, a) => s + a.amount, 0));
  const perLine: DiscountAmount[][] = lines.map((_, i) => [...(fixed[i] ?? [])]);
  const totals: DiscountAmount[] = [];

  for (const discount of discounts) {
    const coupon = inCurrency(discount.coupon, currency);
    assertCoupon(coupon);
    const idx = lines.map((_, i) => i).filter((i) => eligible(coupon, lines[i]!) && (fixed[i] === null || coupon.duration === 'once'));
    const parts = discountParts(coupon, remaining, idx, currency);
    totals.push({ discountId: discount.id, amount: takeParts(discount.id, idx, parts, perLine, remaining) });
  }

  // Fixed amounts count in their discount's total: that of `discounts` when it is one of them.
  const others: DiscountAmount[] = [];
  for (const a of fixed.flatMap((f) => f ?? [])) addById(totals.some((t) => t.discountId === a.discountId) ? totals : others, a);

  const outLines = lines.map((l, i) => {
    const amounts = fixed[i] ? mergeById(perLine[i]!) : perLine[i]!;
    const totalDiscount = amounts.reduce((s, a) => s + a.amount, 0);
    return { discountAmounts: amounts, totalDiscount, amountAfterDiscount: l.amount - totalDiscount };
  });
  return {
    lines: outLines,
    totalDiscountAmounts: totals,
    otherDiscountAmounts: others,
    totalDiscount: outLines.reduce((s, l) => s + l.totalDiscount, 0),
  };
}

/**
 * What one discount takes off each line of `idx` (by index into `remaining`, the amounts left by the
 * discounts before it), as applyDiscounts describes; 0 for the other lines.
 */
function discountParts(coupon: Coupon, remaining: readonly number[], idx: readonly number[], currency: string | undefined): number[] {
  const pos = idx.filter((i) => remaining[i]! > 0);
  const neg = idx.filter((i) => remaining[i]! < 0);
  const posSum = pos.reduce((s, i) => s + remaining[i]!, 0);
  const negSum = neg.reduce((s, i) => s + remaining[i]!, 0);
  const parts = remaining.map(() => 0);
  if (coupon.percent_off !== null && coupon.percent_off !== undefined) {
    const bps = percentToBasisPoints(coupon.percent_off);
    const total = multiplyRatio(posSum + negSum, bps, BASIS_POINTS, 'half_even');
    const onDebits = multiplyRatio(posSum, bps, BASIS_POINTS, 'half_even');
    // Rounding is monotone, so total ≤ onDebits and the credit share is ≤ 0 and ≤ |negSum| in size.
    splitSigned(onDebits, total - onDebits, pos, neg, remaining, parts);
  } else {
    assertCouponCurrency(coupon, currency);
    const cap = Math.max(0, Math.min(coupon.amount_off!, posSum, posSum + negSum));
    split(cap, pos, remaining, parts);
  }
  return parts;
}

/**
 * The coupon's terms in `currency`: an amount_off coupon takes its currency option's amount there
 * (Stripe's currency_options); otherwise it is unchanged (and a currency it has no amount in is refused
 * by assertCouponCurrency).
 */
export function inCurrency(c: Coupon, currency: string | undefined): Coupon {
  if (currency === undefined || c.amount_off === null || c.amount_off === undefined || c.currency?.toLowerCase() === currency) return c;
  const option = c.currency_options?.[currency];
  return option ? { ...c, amount_off: option.amount_off, currency } : c;
}

function assertCouponCurrency(coupon: Coupon, currency: string | undefined): void {
  if (currency !== undefined && coupon.currency!.toLowerCase() !== currency) {
    throw new RangeError(`Coupon ${coupon.id} is in ${coupon.currency}, the invoice in ${currency}`);
  }
}

/** `onDebits` (≥ 0) over the `pos` lines and `onCredits` (≤ 0) over the `neg` lines, each in proportion to `remaining`. */
function splitSigned(onDebits: number, onCredits: number, pos: readonly number[], neg: readonly number[], remaining: readonly number[], into: number[]): void {
  split(onDebits, pos, remaining, into);
  const negParts = remaining.map(() => 0);
  split(-onCredits, neg, remaining.map((a) => -a), negParts);
  neg.forEach((i) => (into[i] = 0 - negParts[i]!));
}

/** Fixed amounts must be whole minor units that reduce the line without flipping its sign. */
function assertFixed(amount: number, fixed: readonly DiscountAmount[]): void {
  let sum = 0;
  for (const a of fixed) {
    assertMinorUnits(a.amount);
    sum += a.amount;
  }
  const ok = amount >= 0 ? sum >= 0 && sum <= amount : sum <= 0 && sum >= amount;
  if (!ok) throw new RangeError(`Fixed discounts of ${sum} cannot apply to a line of ${amount}`);
}

/** One entry per discount, in order of first appearance (a line may carry a discount fixed and again as a `once` one). */
function mergeById(amounts: readonly DiscountAmount[]): DiscountAmount[] {
  const out: DiscountAmount[] = [];
  for (const a of amounts) addById(out, a);
  return out;
}

/** Adds `a` to the entry of its discount in `list`, or appends it. */
function addById(list: DiscountAmount[], a: DiscountAmount): void {
  const k = list.findIndex((o) => o.discountId === a.discountId);
  if (k >= 0) list[k] = { discountId: a.discountId, amount: list[k]!.amount + a.amount };
  else list.push({ discountId: a.discountId, amount: a.amount });
}

/** A proration's basis: the whole-period amounts of the subscription's items before and after the change. */
export interface ProrationBasis {
  /** What the credit (negative) lines give back part of: a whole period of the items before the change. */
  readonly before: readonly DiscountableLine[];
  /** What the debit (positive) lines charge part of: a whole period of the items after it. */
  readonly after: readonly DiscountableLine[];
}

/**
 * The discount amounts to fix on proration lines when they are made (Stripe records them on the
 * proration item: proration_details.discount_amounts), from `discounts`, the discounts in force then.
 * A proration line is a share of a whole period of its items, so each discount takes the same share of
 * it as it takes of that period: a credit (amount < 0) as of a period of the items `before` the change
 * (what was paid for the time given back), a debit as of a period of those `after` it.
 *
 * Percent: pct of the line, exactly as applyDiscounts does (rounded once on the eligible net of the
 * lines, debits round(positive part × pct), credits the remainder). Amount off: the rate it takes of
 * a period, min(amount_off, eligible period subtotal) / eligible period subtotal, on each line — not
 * amount_off on every proration line (a fixed amount per period must not be granted again for every
 * part of a period), nor one amount_off for the whole change (which would leave the credit for time
 * paid at the discounted price undiscounted). Several discounts apply in order, each on what the
 * previous ones left, of the lines and of the periods. Rounded once per discount on the net of the
 * lines, split over them with allocate(); a credit's discount is ≤ 0 and never flips it.
 */
export function discountProrations(lines: readonly DiscountableLine[], basis: ProrationBasis, discounts: readonly Discount[]): DiscountResult {
  for (const l of lines) assertMinorUnits(l.amount);
  const currencies = new Set([...lines, ...basis.before, ...basis.after].map((l) => l.currency.toLowerCase()));
  if (currencies.size > 1) throw new RangeError(`A subscription bills in one currency, got ${[...currencies].join(', ')}`);
  const currency = [...currencies][0];

  const remaining = lines.map((l) => l.amount);
  const before = basis.before.map((l) => l.amount);
  const after = basis.after.map((l) => l.amount);
  const perLine: DiscountAmount[][] = lines.map(() => []);
  const totals: DiscountAmount[] = [];

  for (const discount of discounts) {
    const coupon = inCurrency(discount.coupon, currency);
    assertCoupon(coupon);
    if (coupon.amount_off !== null && coupon.amount_off !== undefined) assertCouponCurrency(coupon, currency);
    const idx = lines.map((_, i) => i).filter((i) => eligible(coupon, lines[i]!));
    const pos = idx.filter((i) => remaining[i]! > 0);
    const neg = idx.filter((i) => remaining[i]! < 0);
    const posSum = pos.reduce((s, i) => s + remaining[i]!, 0);
    const negSum = neg.reduce((s, i) => s + remaining[i]!, 0);
    // The share of a period this discount takes: debits of the periods after, credits of those before.
    const onAfter = periodRate(coupon, basis.after, after);
    const onBefore = periodRate(coupon, basis.before, before);
    const total = divideRounded(BigInt(posSum) * onAfter.num * onBefore.den + BigInt(negSum) * onBefore.num * onAfter.den, onAfter.den * onBefore.den, 'half_even');
    const onDebits = divideRounded(BigInt(posSum) * onAfter.num, onAfter.den, 'half_even');
    // Monotone rounding keeps the credits' share ≤ 0; it never takes more than the credits.
    const onCredits = Math.max(total - onDebits, negSum);
    const parts = lines.map(() => 0);
    splitSigned(onDebits, onCredits, pos, neg, remaining, parts);

    totals.push({ discountId: discount.id, amount: takeParts(discount.id, idx, parts, perLine, remaining) });
    // What this discount took of each period, for the next discount's rate.
    applyToPeriod(coupon, basis.before, before, currency);
    applyToPeriod(coupon, basis.after, after, currency);
  }

  return {
    lines: lines.map((l, i) => {
      const totalDiscount = perLine[i]!.reduce((s, a) => s + a.amount, 0);
      return { discountAmounts: perLine[i]!, totalDiscount, amountAfterDiscount: l.amount - totalDiscount };
    }),
    totalDiscountAmounts: totals,
    otherDiscountAmounts: [],
    totalDiscount: totals.reduce((s, a) => s + a.amount, 0),
  };
}

/** The exact share (num / den) of a period of `items` (amounts left: `left`) that `coupon` takes. */
function periodRate(coupon: Coupon, items: readonly DiscountableLine[], left: readonly number[]): { num: bigint; den: bigint } {
  if (coupon.percent_off !== null && coupon.percent_off !== undefined) return { num: BigInt(percentToBasisPoints(coupon.percent_off)), den: BigInt(BASIS_POINTS) };
  const base = items.reduce((s, item, i) => (eligible(coupon, item) && left[i]! > 0 ? s + left[i]! : s), 0);
  if (base <= 0) return { num: 0n, den: 1n };
  return { num: BigInt(Math.min(coupon.amount_off!, base)), den: BigInt(base) };
}

/** Reduces `left` (the period amounts of `items`) by what `coupon` takes of a period, as on an invoice. */
function applyToPeriod(coupon: Coupon, items: readonly DiscountableLine[], left: number[], currency: string | undefined): void {
  const idx = items.map((_, i) => i).filter((i) => eligible(coupon, items[i]!));
  const parts = discountParts(coupon, left, idx, currency);
  for (const i of idx) left[i] = left[i]! - parts[i]!;
}

/** Books one discount's parts on its lines (what each line still has shrinks); returns their sum. */
function takeParts(discountId: string, idx: readonly number[], parts: readonly number[], perLine: DiscountAmount[][], remaining: number[]): number {
  let sum = 0;
  for (const i of idx) {
    const p = parts[i]!;
    perLine[i]!.push({ discountId, amount: p });
    remaining[i] = remaining[i]! - p;
    sum += p;
  }
  return sum;
}
