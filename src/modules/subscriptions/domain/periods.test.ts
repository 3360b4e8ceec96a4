import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { daysInMonth } from '../../../core/time/index.js';
import {
  defaultBillingAnchor,
  listPeriods,
  nextPeriod,
  periodAt,
  periodContainingTime,
  trialEnd,
  trialWillEndAt,
  type BillingSchedule,
  type Interval,
} from './periods.js';

const d = (iso: string) => new Date(iso);
const starts = (s: BillingSchedule, n: number) => listPeriods(s, n).map((p) => p.start.toISOString().slice(0, 10));

describe('month schedules clamp and return to the anchor day', () => {
  it('anchor Jan 31, monthly, 13 periods', () => {
    const s: BillingSchedule = { anchor: d('2026-01-31T10:00:00Z'), interval: 'month', intervalCount: 1 };
    expect(starts(s, 13)).toEqual([
      '2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31',
      '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30', '2026-12-31', '2027-01-31',
    ]);
    // Time of day is kept on every boundary.
    expect(listPeriods(s, 13).every((p) => p.start.toISOString().endsWith('T10:00:00.000Z'))).toBe(true);
  });

  it('anchor Feb 29 2028, monthly', () => {
    const s: BillingSchedule = { anchor: d('2028-02-29T00:00:00Z'), interval: 'month', intervalCount: 1 };
    expect(starts(s, 14)).toEqual([
      '2028-02-29', '2028-03-29', '2028-04-29', '2028-05-29', '2028-06-29', '2028-07-29', '2028-08-29',
      '2028-09-29', '2028-10-29', '2028-11-29', '2028-12-29', '2029-01-29', '2029-02-28', '2029-03-29',
    ]);
  });

  it('anchor Feb 29 2028, yearly: Feb 28 in common years, Feb 29 again in 2032', () => {
    const s: BillingSchedule = { anchor: d('2028-02-29T00:00:00Z'), interval: 'year', intervalCount: 1 };
    expect(starts(s, 6)).toEqual(['2028-02-29', '2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29', '2033-02-28']);
  });

  it('quarterly (month × 3) from Nov 30', () => {
    const s: BillingSchedule = { anchor: d('2025-11-30T00:00:00Z'), interval: 'month', intervalCount: 3 };
    expect(starts(s, 6)).toEqual(['2025-11-30', '2026-02-28', '2026-05-30', '2026-08-30', '2026-11-30', '2027-02-28']);
  });
});

describe('day and week schedules with interval_count', () => {
  it('every 2 weeks', () => {
    const s: BillingSchedule = { anchor: d('2026-01-05T09:30:00Z'), interval: 'week', intervalCount: 2 };
    expect(listPeriods(s, 3).map((p) => p.start.toISOString())).toEqual([
      '2026-01-05T09:30:00.000Z', '2026-01-19T09:30:00.000Z', '2026-02-02T09:30:00.000Z',
    ]);
  });

  it('every 10 days, across a month end', () => {
    const s: BillingSchedule = { anchor: d('2026-01-25T00:00:00Z'), interval: 'day', intervalCount: 10 };
    expect(starts(s, 4)).toEqual(['2026-01-25', '2026-02-04', '2026-02-14', '2026-02-24']);
  });
});

describe('period lookup', () => {
  const s: BillingSchedule = { anchor: d('2026-01-31T00:00:00Z'), interval: 'month', intervalCount: 1 };

  it('finds the period containing a time, boundaries belong to the next period', () => {
    expect(periodContainingTime(s, d('2026-03-15T00:00:00Z'))).toEqual({ index: 1, start: d('2026-02-28T00:00:00Z'), end: d('2026-03-31T00:00:00Z') });
    expect(periodContainingTime(s, d('2026-03-31T00:00:00Z')).index).toBe(2);
    expect(periodContainingTime(s, d('2026-03-30T23:59:59.999Z')).index).toBe(1);
    expect(periodContainingTime(s, d('2026-01-15T00:00:00Z'))).toEqual({ index: -1, start: d('2025-12-31T00:00:00Z'), end: d('2026-01-31T00:00:00Z') });
  });

  it('nextPeriod starts where the previous one ends', () => {
    const p = periodAt(s, 1);
    const n = nextPeriod(s, p);
    expect(n).toEqual({ index: 2, start: d('2026-03-31T00:00:00Z'), end: d('2026-04-30T00:00:00Z') });
    expect(n.start).toEqual(p.end);
  });

  it('rejects malformed schedules', () => {
    expect(() => periodAt({ ...s, intervalCount: 0 }, 0)).toThrow(RangeError);
    expect(() => periodAt({ ...s, intervalCount: 1.5 }, 0)).toThrow(RangeError);
    expect(() => periodAt({ ...s, interval: 'fortnight' as Interval }, 0)).toThrow(RangeError);
    expect(() => periodAt({ ...s, anchor: new Date(NaN) }, 0)).toThrow(RangeError);
  });
});

describe('trials', () => {
  it('trial end, trial_will_end notice and default anchor', () => {
    const created = d('2026-01-15T12:00:00Z');
    const end = trialEnd(created, 14);
    expect(end).toEqual(d('2026-01-29T12:00:00Z'));
    expect(trialWillEndAt(end)).toEqual(d('2026-01-26T12:00:00Z'));
    expect(defaultBillingAnchor(created, end)).toEqual(end);
    expect(defaultBillingAnchor(created, null)).toEqual(created);
    expect(defaultBillingAnchor(created)).toEqual(created);
    expect(() => trialEnd(created, -1)).toThrow(RangeError);
  });
});

describe('schedule properties', () => {
  const anchorArb = fc.date({ min: d('1990-01-01T00:00:00Z'), max: d('2090-12-31T23:59:59Z'), noInvalidDate: true });
  const scheduleArb = fc.oneof(
    fc.record({ anchor: anchorArb, interval: fc.constant<Interval>('month'), intervalCount: fc.integer({ min: 1, max: 36 }) }),
    fc.record({ anchor: anchorArb, interval: fc.constant<Interval>('year'), intervalCount: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ anchor: anchorArb, interval: fc.constant<Interval>('week'), intervalCount: fc.integer({ min: 1, max: 52 }) }),
    fc.record({ anchor: anchorArb, interval: fc.constant<Interval>('day'), intervalCount: fc.integer({ min: 1, max: 365 }) }),
  );

  it('periods are contiguous and strictly increasing; month/year days are min(anchorDay, daysInMonth)', () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: -24, max: 48 }), (s, from) => {
        const ps = listPeriods(s, 8, from);
        ps.forEach((p, i) => {
          expect(p.index).toBe(from + i);
          expect(p.end.getTime()).toBeGreaterThan(p.start.getTime());
          if (i > 0) expect(p.start.getTime()).toBe(ps[i - 1]!.end.getTime());
          if (s.interval === 'month' || s.interval === 'year') {
            const expectedDay = Math.min(s.anchor.getUTCDate(), daysInMonth(p.start.getUTCFullYear(), p.start.getUTCMonth()));
            expect(p.start.getUTCDate()).toBe(expectedDay);
            expect(p.start.getUTCHours() * 3600 + p.start.getUTCMinutes() * 60 + p.start.getUTCSeconds()).toBe(
              s.anchor.getUTCHours() * 3600 + s.anchor.getUTCMinutes() * 60 + s.anchor.getUTCSeconds(),
            );
          }
        });
      }),
    );
  });

  it('periodContainingTime(t) contains t and agrees with periodAt', () => {
    fc.assert(
      fc.property(scheduleArb, fc.date({ min: d('1985-01-01T00:00:00Z'), max: d('2095-12-31T23:59:59Z'), noInvalidDate: true }), (s, t) => {
        const p = periodContainingTime(s, t);
        expect(p.start.getTime()).toBeLessThanOrEqual(t.getTime());
        expect(t.getTime()).toBeLessThan(p.end.getTime());
        expect(periodAt(s, p.index)).toEqual(p);
      }),
    );
  });
});
