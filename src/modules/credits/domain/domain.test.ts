import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { available, carryoverExcess, compareLots, planCreditsExpireAt, takeFromLots, thresholdsCrossed, usableLots, type Lot } from './lots.js';
import { planUsageBatch, priceAt, type CustomerState, type StoredUsage, type UsageInput } from './usage.js';

const T0 = new Date('2026-01-15T12:00:00Z');
const day = (n: number) => new Date(T0.getTime() + n * 86_400_000);
const lot = (id: string, remaining: number, expiresInDays: number | null, startedDaysAgo = 1): Lot => ({
  id,
  remaining,
  effectiveAt: day(-startedDaysAgo),
  expiresAt: expiresInDays === null ? null : day(expiresInDays),
});

describe('lots', () => {
  it('spends the soonest-expiring lot first, lots without expiry last, and ignores expired or future lots', () => {
    const lots = [lot('never', 100, null), lot('late', 100, 30), lot('soon', 100, 10), lot('gone', 100, -1), lot('future', 100, 60, -2)];
    expect(usableLots(lots, T0).map((l) => l.id)).toEqual(['soon', 'late', 'never']);
    expect(available(lots, T0)).toBe(300);
    expect(takeFromLots(usableLots(lots, T0), 150)).toEqual({
      takes: [
        { lot: 'soon', amount: 100 },
        { lot: 'late', amount: 50 },
      ],
      shortfall: 0,
    });
    expect(takeFromLots(usableLots(lots, T0), 350)).toEqual({
      takes: [
        { lot: 'soon', amount: 100 },
        { lot: 'late', amount: 100 },
        { lot: 'never', amount: 100 },
      ],
      shortfall: 50,
    });
  });

  const zLot = fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }),
    remaining: fc.integer({ min: 0, max: 10_000 }),
    effectiveAt: fc.integer({ min: -30, max: 5 }).map(day),
    expiresAt: fc.option(fc.integer({ min: -5, max: 90 }).map(day), { nil: null }),
  });

  it('takes exactly the amount (or all there is), never more than a lot holds, in consumption order (property)', () => {
    fc.assert(
      fc.property(fc.array(zLot, { maxLength: 8 }), fc.integer({ min: 0, max: 50_000 }), (lots, amount) => {
        const ordered = usableLots(lots, T0);
        const { takes, shortfall } = takeFromLots(ordered, amount);
        const taken = takes.reduce((s, t) => s + t.amount, 0);
        expect(taken + shortfall).toBe(amount);
        expect(shortfall).toBe(Math.max(0, amount - available(lots, T0)));
        for (const t of takes) expect(t.amount).toBeGreaterThan(0);
        // Lots are used in order, and every lot before the last one used is emptied.
        const nonEmpty = ordered.filter((l) => l.remaining > 0);
        takes.forEach((t, i) => {
          expect(t.lot).toBe(nonEmpty[i]!.id);
          if (i < takes.length - 1) expect(t.amount).toBe(nonEmpty[i]!.remaining);
        });
        // The order is by expiry.
        for (let i = 1; i < ordered.length; i++) expect(compareLots(ordered[i - 1]!, ordered[i]!)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('caps carryover: at most `cap` earlier credits stay, the soonest-expiring go first (property)', () => {
    fc.assert(
      fc.property(fc.array(zLot, { maxLength: 6 }), fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: null }), (lots, cap) => {
        const takes = carryoverExcess(lots, cap, T0);
        const total = available(lots, T0);
        const excess = takes.reduce((s, t) => s + t.amount, 0);
        expect(excess).toBe(cap === null ? 0 : Math.max(0, total - cap));
        expect(total - excess).toBe(cap === null ? total : Math.min(total, cap));
      }),
    );
    expect(carryoverExcess([lot('a', 4000, 30), lot('b', 5000, 60)], 2500, T0)).toEqual([
      { lot: 'a', amount: 4000 },
      { lot: 'b', amount: 2500 },
    ]);
  });

  it('dates plan credits by the carryover policy, from the anchor (end-of-month clamping stays temporary)', () => {
    const sched = { anchor: new Date('2026-01-31T00:00:00Z'), interval: 'month' as const, intervalCount: 1 };
    const febEnd = new Date('2026-02-28T00:00:00Z'); // the period Jan 31 – Feb 28
    expect(planCreditsExpireAt(sched, febEnd, { carryoverPeriods: 0, carryoverCap: null })).toEqual(febEnd);
    expect(planCreditsExpireAt(sched, febEnd, { carryoverPeriods: 1, carryoverCap: null })).toEqual(new Date('2026-03-31T00:00:00Z'));
    expect(planCreditsExpireAt(sched, febEnd, { carryoverPeriods: 2, carryoverCap: 10 })).toEqual(new Date('2026-04-30T00:00:00Z'));
    expect(planCreditsExpireAt(sched, febEnd, { carryoverPeriods: null, carryoverCap: 10 })).toBeNull();
    // A trial ends at the anchor: the first period after it is the next one.
    const trial = { anchor: new Date('2026-01-22T12:00:00Z'), interval: 'month' as const, intervalCount: 1 };
    expect(planCreditsExpireAt(trial, trial.anchor, { carryoverPeriods: 1, carryoverCap: null })).toEqual(new Date('2026-02-22T12:00:00Z'));
  });

  it('alerts on thresholds crossed downwards only', () => {
    expect(thresholdsCrossed(5000, 900, [1000, 100])).toEqual([1000]);
    expect(thresholdsCrossed(900, 0, [1000, 100])).toEqual([100]);
    expect(thresholdsCrossed(5000, 50, [100, 1000, 100])).toEqual([1000, 100]);
    expect(thresholdsCrossed(1000, 1000, [1000])).toEqual([]);
    expect(thresholdsCrossed(500, 5000, [1000])).toEqual([]);
  });
});

describe('usage batch planning', () => {
  const prices = new Map([
    ['lead_enrichment', [{ credits: 5, effectiveAt: new Date(0) }, { credits: 6, effectiveAt: day(10) }]],
    ['ai_message', [{ credits: 2, effectiveAt: new Date(0) }]],
  ]);
  const limits = { maxAgeMs: 35 * 86_400_000, maxFutureMs: 300_000 };
  let n = 0;
  const ctx = (customers: Map<string, CustomerState>, existing = new Map<string, StoredUsage>()) => ({
    customers,
    prices,
    existing,
    limits,
    created: T0,
    newId: () => `ctx_${++n}`,
  });
  const state = (lots: Lot[], overage: 'reject' | 'bill' = 'reject'): CustomerState => ({ now: T0, overage, thresholds: [100], wallet: 'w', lots });
  const ev = (id: string, customer: string, feature: string, quantity: number, timestamp: Date | null = null): UsageInput => ({ id, customer, feature, quantity, timestamp, properties: null });

  it('prices at the event timestamp', () => {
    expect(priceAt(prices.get('lead_enrichment'), day(9))).toBe(5);
    expect(priceAt(prices.get('lead_enrichment'), day(10))).toBe(6);
    expect(priceAt([{ credits: 1, effectiveAt: day(1) }], T0)).toBeNull();
  });

  it('never overdraws in reject mode, conserves credits, and charges a replayed id once (property)', () => {
    const zEvent = fc.record({
      id: fc.integer({ min: 0, max: 12 }).map((i) => `e${i}`),
      customer: fc.constantFrom('a', 'b', 'nobody'),
      feature: fc.constantFrom('lead_enrichment', 'ai_message', 'unknown'),
      quantity: fc.integer({ min: 1, max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.array(zEvent, { maxLength: 30 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.constantFrom<'reject' | 'bill'>('reject', 'bill'),
        (events, creditsA, creditsB, mode) => {
          const customers = new Map([
            ['a', state([lot('a1', creditsA, 5), lot('a2', 50, null)], mode)],
            ['b', state([lot('b1', creditsB, null)], 'reject')],
          ]);
          const items = events.map((e) => ev(e.id, e.customer, e.feature, e.quantity));
          const plan = planUsageBatch(items, ctx(customers));
          expect(plan.outcomes).toHaveLength(items.length);
          // An id is accepted at most once.
          const ids = plan.accepted.map((e) => e.id);
          expect(new Set(ids).size).toBe(ids.length);
          for (const p of plan.postings) {
            const taken = [...p.takes.values()].reduce((s, x) => s + x, 0);
            const charged = plan.accepted.filter((e) => e.customer === p.customer);
            expect(p.consumed).toBe(charged.reduce((s, e) => s + e.credits, 0));
            expect(p.overage).toBe(charged.reduce((s, e) => s + e.overage_credits, 0));
            expect(taken + p.overage).toBe(p.consumed);
            expect(p.before - p.after).toBe(taken);
            expect(p.after).toBeGreaterThanOrEqual(0);
            // Overage only when allowed, and only once the lots are empty.
            if (customers.get(p.customer)!.overage === 'reject') expect(p.overage).toBe(0);
            if (p.overage > 0) expect(p.after).toBe(0);
            // No lot gives more than it holds.
            for (const [id, amount] of p.takes) expect(amount).toBeLessThanOrEqual(customers.get(p.customer)!.lots.find((l) => l.id === id)!.remaining);
          }
          plan.outcomes.forEach((o, i) => {
            if (o.status === 'failed' && o.error.code === 'insufficient_credits') expect(customers.get(events[i]!.customer)!.overage).toBe('reject');
          });
        },
      ),
    );
  });

  it('answers a stored id with the stored event, and a changed one with a conflict', () => {
    const stored: StoredUsage = { id: 'x', customer: 'a', feature: 'ai_message', quantity: 2, timestamp: T0, properties: null, credits: 4, overage_credits: 0, transaction: 'ctx_1', created: T0 };
    const plan = planUsageBatch([ev('x', 'a', 'ai_message', 2), ev('x', 'a', 'ai_message', 3)], ctx(new Map([['a', state([lot('a1', 100, null)])]]), new Map([['x', stored]])));
    expect(plan.outcomes.map((o) => o.status)).toEqual(['duplicate', 'failed']);
    expect(plan.postings).toEqual([]);
  });

  it('refuses events too old or too far in the future, relative to the customer clock', () => {
    const customers = new Map([['a', state([lot('a1', 100, null)])]]);
    const plan = planUsageBatch(
      [ev('old', 'a', 'ai_message', 1, day(-36)), ev('ok', 'a', 'ai_message', 1, day(-35)), ev('future', 'a', 'ai_message', 1, new Date(T0.getTime() + 301_000))],
      ctx(customers),
    );
    expect(plan.outcomes.map((o) => (o.status === 'failed' ? o.error.code : o.status))).toEqual(['timestamp_too_old', 'accepted', 'timestamp_in_future']);
  });
});
