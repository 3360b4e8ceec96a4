import { describe, expect, it } from 'vitest';
import { anchorFromConfig } from './anchor-config.js';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');
const at = (s: string) => new Date(s);

describe('anchorFromConfig (Stripe billing_cycle_anchor_config)', () => {
  it('the next day_of_month, at the base time of day when hour/minute/second are left out', () => {
    expect(iso(anchorFromConfig(at('2026-01-10T10:20:30Z'), { day_of_month: 31 }))).toBe('2026-01-31T10:20:30Z');
    expect(iso(anchorFromConfig(at('2026-01-10T10:20:30Z'), { day_of_month: 5 }))).toBe('2026-02-05T10:20:30Z');
  });

  it('clamps the day to a shorter month (Feb 2026: 28 days; Feb 2028: 29)', () => {
    expect(iso(anchorFromConfig(at('2026-02-03T00:00:00Z'), { day_of_month: 31, hour: 0, minute: 0, second: 0 }))).toBe('2026-02-28T00:00:00Z');
    expect(iso(anchorFromConfig(at('2028-02-03T00:00:00Z'), { day_of_month: 30, hour: 12 }))).toBe('2028-02-29T12:00:00Z');
  });

  it('today at a later hour is today; today at an earlier hour is next month', () => {
    expect(iso(anchorFromConfig(at('2026-03-15T08:00:00Z'), { day_of_month: 15, hour: 9, minute: 0, second: 0 }))).toBe('2026-03-15T09:00:00Z');
    expect(iso(anchorFromConfig(at('2026-03-15T08:00:00Z'), { day_of_month: 15, hour: 7, minute: 0, second: 0 }))).toBe('2026-04-15T07:00:00Z');
    // The base instant itself matches: the anchor is now (no stub).
    expect(iso(anchorFromConfig(at('2026-03-15T08:00:00Z'), { day_of_month: 15 }))).toBe('2026-03-15T08:00:00Z');
  });

  it('December rolls into January of the next year', () => {
    expect(iso(anchorFromConfig(at('2026-12-20T00:00:00Z'), { day_of_month: 1, hour: 0, minute: 0, second: 0 }))).toBe('2027-01-01T00:00:00Z');
  });

  it('with month: the next occurrence of that month and day (this year or next)', () => {
    expect(iso(anchorFromConfig(at('2026-05-10T00:00:00Z'), { month: 9, day_of_month: 1, hour: 0, minute: 0, second: 0 }))).toBe('2026-09-01T00:00:00Z');
    expect(iso(anchorFromConfig(at('2026-05-10T00:00:00Z'), { month: 2, day_of_month: 29, hour: 0, minute: 0, second: 0 }))).toBe('2027-02-28T00:00:00Z');
    expect(iso(anchorFromConfig(at('2027-05-10T00:00:00Z'), { month: 2, day_of_month: 29, hour: 0, minute: 0, second: 0 }))).toBe('2028-02-29T00:00:00Z');
  });
});
