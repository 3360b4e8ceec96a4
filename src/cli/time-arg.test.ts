import { describe, expect, it } from 'vitest';
import { parseCliTime } from './time-arg.js';

describe('recur clock advance --to', () => {
  it('reads Unix seconds, ISO 8601 with a zone, and a date-time without one as UTC (not the machine zone)', () => {
    const iso = (s: string) => parseCliTime(s).toISOString();
    expect(iso('1780272000')).toBe('2026-06-01T00:00:00.000Z');
    expect(iso('2026-06-03T00:00:00Z')).toBe('2026-06-03T00:00:00.000Z');
    expect(iso('2026-06-03T00:00:00+02:00')).toBe('2026-06-02T22:00:00.000Z');
    expect(iso('2026-06-03T00:00:00')).toBe('2026-06-03T00:00:00.000Z');
    expect(iso('2026-06-03 00:00')).toBe('2026-06-03T00:00:00.000Z');
    expect(iso('2026-06-03')).toBe('2026-06-03T00:00:00.000Z');
    expect(Number.isNaN(parseCliTime('next tuesday').getTime())).toBe(true);
  });
});
