// UTC calendar arithmetic. Month-based steps are always computed from the anchor, never chained,
// so clamping is temporary: anchor Jan 31 → Feb 28 (or 29) → Mar 31.

export type Interval = 'day' | 'week' | 'month' | 'year';

const DAY_MS = 86_400_000;

export function daysInMonth(year: number, monthIndex0: number): number {
  return new Date(Date.UTC(year, monthIndex0 + 1, 0)).getUTCDate();
}

/** anchor + n months, clamping the day to the target month's length; time of day is kept. */
export function addMonths(anchor: Date, n: number): Date {
  if (!Number.isInteger(n)) throw new RangeError('n must be an integer');
  const y = anchor.getUTCFullYear();
  const m = anchor.getUTCMonth() + n;
  const targetYear = y + Math.floor(m / 12);
  const targetMonth = ((m % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(targetYear, targetMonth));
  return new Date(
    Date.UTC(targetYear, targetMonth, day, anchor.getUTCHours(), anchor.getUTCMinutes(), anchor.getUTCSeconds(), anchor.getUTCMilliseconds()),
  );
}

/** anchor + n × (interval_count intervals). */
export function addIntervals(anchor: Date, interval: Interval, intervalCount: number, n: number): Date {
  switch (interval) {
    case 'day':
      return new Date(anchor.getTime() + n * intervalCount * DAY_MS);
    case 'week':
      return new Date(anchor.getTime() + n * intervalCount * 7 * DAY_MS);
    case 'month':
      return addMonths(anchor, n * intervalCount);
    case 'year':
      return addMonths(anchor, n * intervalCount * 12);
  }
}

/**
 * The billing period containing `at` for a schedule anchored at `anchor`:
 * the k-th period is [anchor + k·step, anchor + (k+1)·step).
 */
export function periodContaining(anchor: Date, interval: Interval, intervalCount: number, at: Date): { index: number; start: Date; end: Date } {
  // Estimate k from average lengths, then correct; exact because boundaries are computed from the anchor.
  const approxMs = { day: DAY_MS, week: 7 * DAY_MS, month: 30.436875 * DAY_MS, year: 365.2425 * DAY_MS }[interval] * intervalCount;
  let k = Math.floor((at.getTime() - anchor.getTime()) / approxMs);
  while (addIntervals(anchor, interval, intervalCount, k).getTime() > at.getTime()) k--;
  while (addIntervals(anchor, interval, intervalCount, k + 1).getTime() <= at.getTime()) k++;
  return { index: k, start: addIntervals(anchor, interval, intervalCount, k), end: addIntervals(anchor, interval, intervalCount, k + 1) };
}

export function toUnix(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export function fromUnix(s: number): Date {
  return new Date(s * 1000);
}

export function addSeconds(d: Date, s: number): Date {
  return new Date(d.getTime() + s * 1000);
}

export function addDays(d: Date, days: number): Date {
  return new Date(d.getTime() + days * DAY_MS);
}

/** The UTC calendar date as YYYY-MM-DD. By hand: past 9999 toISOString() writes '+010000-…', which PostgreSQL rejects. */
export function utcDate(d: Date): string {
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-${String(d.getUTCDate()).padStart(2, '0')}`;
}
