import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseSegment, DEFAULT_SEGMENT_RULES, installments, SEED_PLANS, stepDueAt } from './plans.js';
import { isQuiet, localParts, outOfQuietHours, zonedTimeToUtc } from './quiet-hours.js';

const QUIET = { start: '21:00', end: '08:00' };
const ZONES = ['UTC', 'America/New_York', 'America/Los_Angeles', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Lord_Howe', 'Asia/Kolkata'];

describe('quiet hours', () => {
  it('moves 22:00 in New York to 08:00 the next morning there, DST or not', () => {
    expect(outOfQuietHours(new Date('2026-01-15T03:00:00Z'), QUIET, 'America/New_York').toISOString()).toBe('2026-01-15T13:00:00.000Z');
    expect(outOfQuietHours(new Date('2026-07-15T02:00:00Z'), QUIET, 'America/New_York').toISOString()).toBe('2026-07-15T12:00:00.000Z');
    // 06:00 local: the same morning's 08:00.
    expect(outOfQuietHours(new Date('2026-01-15T11:00:00Z'), QUIET, 'America/New_York').toISOString()).toBe('2026-01-15T13:00:00.000Z');
    // The night the clocks go forward (8 March 2026): 08:00 EDT is 12:00Z.
    expect(outOfQuietHours(new Date('2026-03-08T05:00:00Z'), QUIET, 'America/New_York').toISOString()).toBe('2026-03-08T12:00:00.000Z');
    expect(outOfQuietHours(new Date('2026-01-15T15:00:00Z'), QUIET, 'America/New_York').toISOString()).toBe('2026-01-15T15:00:00.000Z');
  });

  it('converts wall-clock times back to instants', () => {
    expect(zonedTimeToUtc(2026, 1, 15, 8, 0, 'Asia/Tokyo').toISOString()).toBe('2026-01-14T23:00:00.000Z');
    expect(zonedTimeToUtc(2026, 10, 25, 8, 0, 'Europe/Berlin').toISOString()).toBe('2026-10-25T07:00:00.000Z');
    // The morning the clocks go forward west of UTC: 08:00 PDT, although 08:00Z is still PST there (found by the property below).
    expect(zonedTimeToUtc(2029, 3, 11, 8, 0, 'America/Los_Angeles').toISOString()).toBe('2029-03-11T15:00:00.000Z');
    expect(outOfQuietHours(new Date('2026-03-08T05:00:00Z'), QUIET, 'America/Los_Angeles').toISOString()).toBe('2026-03-08T15:00:00.000Z');
    // A time in the gap (02:30 on 8 March 2026 in New York) lands as far after it: 03:30 EDT.
    expect(zonedTimeToUtc(2026, 3, 8, 2, 30, 'America/New_York').toISOString()).toBe('2026-03-08T07:30:00.000Z');
    // A time shown twice (01:30 on 1 November 2026 in New York): the first, EDT.
    expect(zonedTimeToUtc(2026, 11, 1, 1, 30, 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });

  it('never lands in quiet hours, never moves earlier, moves less than a day, and leaves other times alone (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.constantFrom(...ZONES), (ms, tz) => {
        const d = new Date(Math.floor(ms / 60_000) * 60_000);
        const out = outOfQuietHours(d, QUIET, tz);
        expect(isQuiet(out, QUIET, tz)).toBe(false);
        expect(out.getTime()).toBeGreaterThanOrEqual(d.getTime());
        expect(out.getTime() - d.getTime()).toBeLessThan(25 * 3_600_000);
        if (!isQuiet(d, QUIET, tz)) expect(out.getTime()).toBe(d.getTime());
        else expect(localParts(out, tz)).toMatchObject({ hour: 8, minute: 0 });
      }),
      { numRuns: 400, examples: [[1_867_899_600_000, 'America/Los_Angeles']] },
    );
  });
});

describe('plans and segmentation', () => {
  it('seeds the three plans of the product brief', () => {
    expect(SEED_PLANS.map((p) => [p.key, p.steps.map((s) => s.after_hours)])).toEqual([
      ['standard', [1, 24, 72, 168, 336]],
      ['high_value', [0.5, 2, 12, 48, 96, 168, 240, 504]],
      ['trial', [2, 24, 72]],
    ]);
    const standard = SEED_PLANS[0]!;
    expect(standard.steps[3]!.offer).toEqual({ kind: 'discount', percent_off: 20, duration: 'once' });
    expect(standard.steps[4]!.offer).toEqual({ kind: 'discount', percent_off: 30, duration: 'repeating', duration_in_months: 3 });
  });

  it('chooses high value on MRR or lifetime paid, trial for the first invoice after a trial, else standard', () => {
    const facts = { currency: 'usd', mrr: 9_700, lifetime_paid: 0, first_invoice_after_trial: false };
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, facts)?.rule.segment).toBe('standard');
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, { ...facts, mrr: 150_000 })?.rule.segment).toBe('high_value');
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, { ...facts, mrr: 149_999 })?.rule.segment).toBe('standard');
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, { ...facts, lifetime_paid: 1_000_000 })?.matched).toEqual([{ metric: 'lifetime_paid', gte: { usd: 1_000_000 } }]);
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, { ...facts, first_invoice_after_trial: true })?.rule.segment).toBe('trial');
    // Thresholds are per currency: EUR amounts never match a USD rule.
    expect(chooseSegment(DEFAULT_SEGMENT_RULES, { ...facts, currency: 'eur', mrr: 900_000 })?.rule.segment).toBe('standard');
  });

  it('splits a payment plan without losing a cent (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 2, max: 24 }), (amount, n) => {
        const parts = installments(amount, n, new Date('2026-01-01T00:00:00Z'), 30);
        expect(parts.reduce((s, p) => s + p.amount, 0)).toBe(amount);
        expect(Math.max(...parts.map((p) => p.amount)) - Math.min(...parts.map((p) => p.amount))).toBeLessThanOrEqual(1);
        expect(parts[n - 1]!.due.toISOString()).toBe(new Date(Date.UTC(2026, 0, 1) + (n - 1) * 30 * 86_400_000).toISOString());
      }),
    );
    expect(installments(500_000, 3, new Date(0), 30).map((p) => p.amount)).toEqual([166_667, 166_667, 166_666]);
  });

  it('moves retry steps out of quiet hours but not email-only steps', () => {
    const failed = new Date('2026-02-05T02:00:00Z'); // 21:00 in New York
    const retry = { after_hours: 1, retry: true, email: 'x', sms: null, phone_task: null, offer: null, escalate: false };
    expect(stepDueAt(failed, retry, QUIET, 'America/New_York').toISOString()).toBe('2026-02-05T13:00:00.000Z');
    expect(stepDueAt(failed, { ...retry, retry: false }, QUIET, 'America/New_York').toISOString()).toBe('2026-02-05T03:00:00.000Z');
  });
});
