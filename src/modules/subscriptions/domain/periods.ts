// Billing schedules. Every boundary is computed from the anchor (never chained from the previous
// period), so month clamping is temporary: anchor Jan 31 → Feb 28 → Mar 31.
import { addDays, addIntervals, periodContaining, type Interval } from '../../../core/time/index.js';

export type { Interval } from '../../../core/time/index.js';

export interface BillingSchedule {
  readonly anchor: Date;
  readonly interval: Interval;
  readonly intervalCount: number;
}

/** The k-th period of a schedule: [start, end), with start = anchor + k·step. */
export interface BillingPeriod {
  readonly index: number;
  readonly start: Date;
  readonly end: Date;
}

const INTERVALS: ReadonlySet<string> = new Set(['day', 'week', 'month', 'year']);

/** Programmer errors (the API layer validates user input first), hence RangeError. */
export function assertSchedule(s: BillingSchedule): void {
  if (!(s.anchor instanceof Date) || Number.isNaN(s.anchor.getTime())) throw new RangeError('anchor must be a valid Date');
  if (!INTERVALS.has(s.interval)) throw new RangeError(`Unknown interval: ${String(s.interval)}`);
  if (!Number.isSafeInteger(s.intervalCount) || s.intervalCount < 1) throw new RangeError('intervalCount must be a positive integer');
}

/** The period at index k (k may be negative: periods before the anchor, e.g. for backdating). */
export function periodAt(s: BillingSchedule, index: number): BillingPeriod {
  assertSchedule(s);
  if (!Number.isSafeInteger(index)) throw new RangeError('index must be an integer');
  return {
    index,
    start: addIntervals(s.anchor, s.interval, s.intervalCount, index),
    end: addIntervals(s.anchor, s.interval, s.intervalCount, index + 1),
  };
}

/** The period with start ≤ at < end. */
export function periodContainingTime(s: BillingSchedule, at: Date): BillingPeriod {
  assertSchedule(s);
  if (Number.isNaN(at.getTime())) throw new RangeError('at must be a valid Date');
  return periodContaining(s.anchor, s.interval, s.intervalCount, at);
}

/** The period that begins when `period` ends. */
export function nextPeriod(s: BillingSchedule, period: BillingPeriod): BillingPeriod {
  return periodAt(s, period.index + 1);
}

/** `count` consecutive periods starting at index `fromIndex`. */
export function listPeriods(s: BillingSchedule, count: number, fromIndex = 0): BillingPeriod[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('count must be a non-negative integer');
  return Array.from({ length: count }, (_, i) => periodAt(s, fromIndex + i));
}

/** Stripe's trial_period_days: the trial ends exactly N × 24 h after the start (UTC has no DST). */
export function trialEnd(start: Date, trialPeriodDays: number): Date {
  if (!Number.isSafeInteger(trialPeriodDays) || trialPeriodDays < 0) throw new RangeError('trialPeriodDays must be a non-negative integer');
  return addDays(start, trialPeriodDays);
}

/** When Stripe sends customer.subscription.trial_will_end: three days before the trial ends. */
export function trialWillEndAt(trialEndsAt: Date): Date {
  return addDays(trialEndsAt, -3);
}

/**
 * The billing cycle anchor when none is given: the trial end if there is a trial (the first paid
 * period starts then), otherwise the creation time.
 */
export function defaultBillingAnchor(createdAt: Date, trialEndsAt?: Date | null): Date {
  return trialEndsAt ?? createdAt;
}
