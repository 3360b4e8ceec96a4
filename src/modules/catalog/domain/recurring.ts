// Billing intervals, as Stripe allows them: at most three years between two bills.

export const INTERVALS = ['day', 'week', 'month', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

export const MAX_INTERVAL_COUNT: Record<Interval, number> = { day: 1095, week: 156, month: 36, year: 3 };

/** Stripe's limit on free trials attached to a price. */
export const MAX_TRIAL_PERIOD_DAYS = 730;

export function intervalCountAllowed(interval: Interval, count: number): boolean {
  return Number.isInteger(count) && count >= 1 && count <= MAX_INTERVAL_COUNT[interval];
}
