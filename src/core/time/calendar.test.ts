import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addIntervals, addMonths, daysInMonth, periodContaining, utcDate } from './calendar.js';
import { ManualClock } from './clock.js';

const iso = (d: Date) => d.toISOString().slice(0, 10);

describe('month arithmetic with anchor clamping', () => {
  it('Jan 31 → Feb 28 → Mar 31, computed from the anchor', () => {
    const anchor = new Date('2026-01-31T10:00:00Z');
    expect([0, 1, 2, 3].map((n) => iso(addMonths(anchor, n)))).toEqual(['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30']);
    expect(addMonths(anchor, 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
  });

  it('leap years: Jan 31 2028 → Feb 29; Feb 29 2028 yearly → Feb 28 2029 … Feb 29 2032', () => {
    expect(iso(addMonths(new Date('2028-01-31T00:00:00Z'), 1))).toBe('2028-02-29');
    const leap = new Date('2028-02-29T00:00:00Z');
    expect([1, 2, 3, 4].map((n) => iso(addIntervals(leap, 'year', 1, n)))).toEqual(['2029-02-28', '2030-02-28', '2031-02-28', '2032-02-29']);
  });

  it('utcDate writes YYYY-MM-DD, also past year 9999 (where toISOString adds a sign and six digits)', () => {
    expect(utcDate(new Date('2026-03-09T23:59:59Z'))).toBe('2026-03-09');
    expect(utcDate(new Date(Date.UTC(10000, 0, 1)))).toBe('10000-01-01');
  });

  it('quarters, weeks and days with interval_count', () => {
    expect(iso(addIntervals(new Date('2026-11-30T00:00:00Z'), 'month', 3, 1))).toBe('2027-02-28');
    expect(iso(addIntervals(new Date('2026-11-30T00:00:00Z'), 'month', 3, 2))).toBe('2027-05-30');
    expect(iso(addIntervals(new Date('2026-01-01T00:00:00Z'), 'week', 2, 3))).toBe('2026-02-12');
    expect(iso(addIntervals(new Date('2026-01-01T00:00:00Z'), 'day', 10, 1))).toBe('2026-01-11');
  });

  it('month steps land on min(anchor day, month length) and are strictly increasing (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 600 }),
        (anchor, n) => {
          const d = addMonths(anchor, n);
          const expectedDay = Math.min(anchor.getUTCDate(), daysInMonth(d.getUTCFullYear(), d.getUTCMonth()));
          expect(d.getUTCDate()).toBe(expectedDay);
          expect((d.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + d.getUTCMonth() - anchor.getUTCMonth()).toBe(n);
          expect(d.getUTCHours()).toBe(anchor.getUTCHours());
          expect(addMonths(anchor, n + 1).getTime()).toBeGreaterThan(d.getTime());
        },
      ),
    );
  });

  it('periodContaining finds the period that holds the instant (property)', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2060-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 0, max: 3650 * 86_400_000 }),
        fc.constantFrom('day', 'week', 'month', 'year') as fc.Arbitrary<'day' | 'week' | 'month' | 'year'>,
        fc.integer({ min: 1, max: 4 }),
        (anchor, offsetMs, interval, count) => {
          const at = new Date(anchor.getTime() + offsetMs);
          const p = periodContaining(anchor, interval, count, at);
          expect(p.start.getTime()).toBeLessThanOrEqual(at.getTime());
          expect(p.end.getTime()).toBeGreaterThan(at.getTime());
          expect(p.start.getTime()).toBe(addIntervals(anchor, interval, count, p.index).getTime());
        },
      ),
    );
  });
});

describe('ManualClock', () => {
  it('moves only when told', () => {
    const c = new ManualClock('2026-01-01T00:00:00Z');
    expect(c.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    c.advance(1000);
    expect(c.now().toISOString()).toBe('2026-01-01T00:00:01.000Z');
    c.set('2027-01-01T00:00:00Z');
    expect(c.now().getUTCFullYear()).toBe(2027);
    expect(() => c.set('nonsense')).toThrow(RangeError);
  });
});
