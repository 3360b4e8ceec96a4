import { addIntervals, periodContaining, type Interval } from '../../../core/time/index.js';

// Credit lots (grants) and the rules that move credits out of them. Pure functions, no I/O.

export interface Lot {
  id: string;
  remaining: number;
  effectiveAt: Date;
  /** null: never expires (purchased packs by default). */
  expiresAt: Date | null;
}

export interface Take {
  lot: string;
  amount: number;
}

/** Consumption order: the lot that expires soonest first, lots without expiry last, then the oldest. */
export function compareLots(a: Lot, b: Lot): number {
  const ea = a.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const sa = a.effectiveAt.getTime();
  const sb = b.effectiveAt.getTime();
  if (sa !== sb) return sa < sb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Lots that can be spent at `at` (started, not yet expired, not empty), in consumption order. */
export function usableLots(lots: readonly Lot[], at: Date): Lot[] {
  const t = at.getTime();
  return lots.filter((l) => l.remaining > 0 && l.effectiveAt.getTime() <= t && (l.expiresAt === null || l.expiresAt.getTime() > t)).sort(compareLots);
}

export function available(lots: readonly Lot[], at: Date): number {
  return usableLots(lots, at).reduce((s, l) => s + l.remaining, 0);
}

/**
 * Takes `amount` credits from `ordered` lots (already in consumption order), soonest-expiring first.
 * Returns what each lot gives and the part no lot could cover. Never takes more than a lot holds.
 */
export function takeFromLots(ordered: readonly Lot[], amount: number): { takes: Take[]; shortfall: number } {
  if (!Number.isSafeInteger(amount) || amount < 0) throw new RangeError(`amount must be a non-negative safe integer, got ${amount}`);
  const takes: Take[] = [];
  let left = amount;
  for (const lot of ordered) {
    if (left === 0) break;
    const n = Math.min(lot.remaining, left);
    if (n > 0) {
      takes.push({ lot: lot.id, amount: n });
      left -= n;
    }
  }
  return { takes, shortfall: left };
}

// ---------- plan credits and carryover ----------

/**
 * A plan's carryover policy (data, per product):
 * - carryoverPeriods: 0 = the credits expire at the end of their period; N = they stay usable N more
 *   periods; null = no time limit.
 * - carryoverCap: at a new period, at most this many of the subscription's earlier plan credits roll
 *   over; the excess expires then. null = no cap.
 */
export interface CarryoverPolicy {
  carryoverPeriods: number | null;
  carryoverCap: number | null;
}

export const EXPIRE_AT_PERIOD_END: CarryoverPolicy = { carryoverPeriods: 0, carryoverCap: null };

export interface Schedule {
  anchor: Date;
  interval: Interval;
  intervalCount: number;
}

/**
 * When plan credits granted for the period ending at `periodEnd` expire: that boundary plus
 * `carryoverPeriods` periods, computed from the anchor (so month-end clamping stays temporary).
 */
export function planCreditsExpireAt(schedule: Schedule, periodEnd: Date, policy: CarryoverPolicy): Date | null {
  if (policy.carryoverPeriods === null) return null;
  if (policy.carryoverPeriods === 0) return periodEnd;
  // The index of the period that follows periodEnd (periodEnd is normally a boundary of the grid; a
  // shortened first period may end off it, and then the period containing it is the next one).
  const k = periodContaining(schedule.anchor, schedule.interval, schedule.intervalCount, periodEnd).index;
  return addIntervals(schedule.anchor, schedule.interval, schedule.intervalCount, k + policy.carryoverPeriods);
}

/**
 * The cap at rollover: given the subscription's earlier plan lots still alive at the new period's
 * start, which credits expire so that at most `cap` carry over. The soonest-expiring go first (they
 * would be spent first too).
 */
export function carryoverExcess(earlierPlanLots: readonly Lot[], cap: number | null, at: Date): Take[] {
  if (cap === null) return [];
  const alive = usableLots(earlierPlanLots, at);
  const total = alive.reduce((s, l) => s + l.remaining, 0);
  if (total <= cap) return [];
  return takeFromLots(alive, total - cap).takes;
}

// ---------- low-balance alerts ----------

/** Thresholds crossed downwards by a move from `before` to `after` (alert when the balance drops below t). */
export function thresholdsCrossed(before: number, after: number, thresholds: readonly number[]): number[] {
  return [...new Set(thresholds)].filter((t) => before >= t && after < t).sort((a, b) => b - a);
}
