// Stripe-style proration to the second. Each line is rounded ONCE (half-even) from the exact
// rational amount × remaining / period, so lines never accumulate rounding drift.
import { assertMinorUnits, currencyExponent, multiplyRatio } from '../../../core/money/index.js';
import { toUnix } from '../../../core/time/index.js';

export interface PricedItem {
  readonly priceId: string;
  readonly productName: string;
  /** Unit price in minor units. */
  readonly unitAmount: number;
  readonly quantity: number;
  readonly currency: string;
}

export interface ProrationPeriod {
  readonly start: Date;
  readonly end: Date;
}

export interface ProrationLine {
  readonly priceId: string;
  readonly productName: string;
  readonly description: string;
  /** Signed minor units: negative for credits (unused time), positive for debits (remaining time). */
  readonly amount: number;
  readonly currency: string;
  readonly unitAmount: number;
  readonly quantity: number;
  readonly proration: true;
  readonly period: { readonly start: Date; readonly end: Date };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** "Jan 15, 2026" in UTC, the way Stripe words proration descriptions. */
export function formatProrationDate(d: Date): string {
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
}

function itemLabel(item: PricedItem): string {
  // Stripe prefixes the quantity when it is not 1; it is also what tells apart the two lines of a
  // quantity-only change ("Unused time on 2 × Pro" vs "Remaining time on 5 × Pro").
  return item.quantity === 1 ? item.productName : `${item.quantity} × ${item.productName}`;
}

function assertItem(item: PricedItem): void {
  assertMinorUnits(item.unitAmount);
  if (item.unitAmount < 0) throw new RangeError(`unitAmount must be non-negative (price ${item.priceId})`);
  if (!Number.isSafeInteger(item.quantity) || item.quantity < 0) throw new RangeError(`quantity must be a non-negative integer (price ${item.priceId})`);
  currencyExponent(item.currency);
}

function assertWindow(period: ProrationPeriod, prorationDate: Date): { remaining: number; length: number } {
  const start = toUnix(period.start);
  const end = toUnix(period.end);
  const at = toUnix(prorationDate);
  if (!(end > start)) throw new RangeError('period end must be after period start');
  if (at < start || at >= end) throw new RangeError('prorationDate must fall inside [period.start, period.end)');
  return { remaining: end - at, length: end - start };
}

/** round_half_even(unitAmount × quantity × remaining / length); the product is formed in BigInt. */
function proratedAmount(item: PricedItem, remaining: number, length: number): number {
  return multiplyRatio(item.unitAmount, BigInt(item.quantity) * BigInt(remaining), length, 'half_even');
}

function line(kind: 'credit' | 'debit', item: PricedItem, period: ProrationPeriod, prorationDate: Date, until: Date = period.end): ProrationLine {
  assertItem(item);
  const { length } = assertWindow(period, prorationDate);
  if (until.getTime() <= prorationDate.getTime() || until.getTime() > period.end.getTime()) throw new RangeError('until must fall inside (prorationDate, period.end]');
  const magnitude = proratedAmount(item, toUnix(until) - toUnix(prorationDate), length);
  const verb = kind === 'credit' ? 'Unused time on' : 'Remaining time on';
  return {
    priceId: item.priceId,
    productName: item.productName,
    description: `${verb} ${itemLabel(item)} after ${formatProrationDate(prorationDate)}`,
    // `0 - x` rather than `-x` so a zero credit is 0, not -0.
    amount: kind === 'credit' ? 0 - magnitude : magnitude,
    currency: item.currency.toLowerCase(),
    unitAmount: item.unitAmount,
    quantity: item.quantity,
    proration: true,
    period: { start: prorationDate, end: until },
  };
}

/** Credit for the unused remainder of an item the customer already paid for. */
export function prorationCredit(item: PricedItem, period: ProrationPeriod, prorationDate: Date): ProrationLine {
  return line('credit', item, period, prorationDate);
}

/** Debit for the remainder of the period on an item the customer now has. */
export function prorationDebit(item: PricedItem, period: ProrationPeriod, prorationDate: Date): ProrationLine {
  return line('debit', item, period, prorationDate);
}

function sameTerms(a: PricedItem, b: PricedItem): boolean {
  return a.priceId === b.priceId && a.unitAmount === b.unitAmount && a.quantity === b.quantity && a.currency.toLowerCase() === b.currency.toLowerCase();
}

function assertOneCurrency(items: readonly PricedItem[]): void {
  const currencies = new Set(items.map((i) => i.currency.toLowerCase()));
  if (currencies.size > 1) throw new RangeError(`A subscription bills in one currency, got ${[...currencies].join(', ')}`);
}

function assertUniquePrices(items: readonly PricedItem[], which: string): void {
  const ids = new Set(items.map((i) => i.priceId));
  if (ids.size !== items.length) throw new RangeError(`${which} items contain the same price twice`);
}

/**
 * Proration lines for replacing `oldItems` with `newItems` at `prorationDate` inside `period`.
 * Items are matched by priceId; an item whose price, unit amount and quantity are unchanged yields no
 * lines. Anything else (new price, removed price, quantity change) is a full credit of the old item
 * plus a full debit of the new one, as Stripe does. Credits come first, each list in input order.
 */
export function prorateChange(input: {
  oldItems: readonly PricedItem[];
  newItems: readonly PricedItem[];
  period: ProrationPeriod;
  prorationDate: Date;
}): ProrationLine[] {
  const { oldItems, newItems, period, prorationDate } = input;
  assertUniquePrices(oldItems, 'old');
  assertUniquePrices(newItems, 'new');
  assertOneCurrency([...oldItems, ...newItems]);
  assertWindow(period, prorationDate);
  const unchanged = (item: PricedItem, other: readonly PricedItem[]) => other.some((o) => sameTerms(item, o));
  return [
    ...oldItems.filter((o) => !unchanged(o, newItems)).map((o) => prorationCredit(o, period, prorationDate)),
    ...newItems.filter((n) => !unchanged(n, oldItems)).map((n) => prorationDebit(n, period, prorationDate)),
  ];
}

/**
 * A stretch [from, to) of `period` credited (a cancellation moved earlier) or billed again (one moved
 * later or cleared after the period was billed only up to it): each item's amount × (to − from) /
 * period length, rounded once.
 */
export function stretchLines(kind: 'credit' | 'debit', items: readonly PricedItem[], period: ProrationPeriod, from: Date, to: Date): ProrationLine[] {
  assertOneCurrency(items);
  return items.map((item) => line(kind, item, period, from, to));
}

/** Immediate cancellation with `prorate`: credits for the unused time only, no debits. */
export function cancellationCredit(items: readonly PricedItem[], period: ProrationPeriod, cancelAt: Date): ProrationLine[] {
  assertOneCurrency(items);
  return items.map((item) => prorationCredit(item, period, cancelAt));
}

/**
 * Stripe's backdated time (classic billing mode): the span from a backdated start to `to`, one line per
 * item, prorated over an imagined interval that starts at the backdated start (`imaginedEnd` is one
 * billing interval after it) — "a month running February 15 to March 15 … the 14 days of February 15 to
 * March 1 is exactly half". A span longer than the interval bills more than one period's amount.
 */
export function backdatedLines(items: readonly PricedItem[], from: Date, to: Date, imaginedEnd: Date): ProrationLine[] {
  assertOneCurrency(items);
  const span = toUnix(to) - toUnix(from);
  const length = toUnix(imaginedEnd) - toUnix(from);
  if (!(span > 0) || !(length > 0)) throw new RangeError('a backdated span needs from < to and from < imaginedEnd');
  return items.map((item) => {
    assertItem(item);
    return {
      priceId: item.priceId,
      productName: item.productName,
      description: `Remaining time on ${itemLabel(item)} after ${formatProrationDate(from)}`,
      amount: proratedAmount(item, span, length),
      currency: item.currency.toLowerCase(),
      unitAmount: item.unitAmount,
      quantity: item.quantity,
      proration: true as const,
      period: { start: from, end: to },
    };
  });
}
