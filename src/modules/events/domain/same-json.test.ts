import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameJson } from './same-json.js';

// sameJson must answer exactly what comparing the two JSON texts answers (previous_attributes depends
// on it), for any values: equal ones, near-misses, reordered keys, and what JSON leaves out or rewrites.

const byText = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** JSON-like values with the awkward cases: undefined members, NaN, -0, dates, nested arrays. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom(null, undefined, true, false, 0, -0, 1, NaN, Infinity, '', 'a', 'b'),
    fc.integer({ min: -3, max: 3 }),
    fc.date({ min: new Date(0), max: new Date(2_000_000_000_000), noInvalidDate: true }),
  ),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', 'c', 'id'), tie('node'), { maxKeys: 4 }),
})).node;

/** A copy with one leaf changed, or its keys reordered, or unchanged. */
function variant(v: unknown, pick: number): unknown {
  if (Array.isArray(v)) return v.map((x, i) => (i === pick % Math.max(v.length, 1) ? variant(x, pick + 1) : x));
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (pick % 3 === 0) return Object.fromEntries(entries.reverse());
    return Object.fromEntries(entries.map(([k, x], i) => [k, i === pick % Math.max(entries.length, 1) ? variant(x, pick + 1) : x]));
  }
  return pick % 2 === 0 ? v : typeof v === 'number' ? v + 1 : v === null ? 0 : v;
}

describe('sameJson', () => {
  it('answers as comparing JSON.stringify of both, for any two values', () => {
    fc.assert(
      fc.property(value, value, (a, b) => sameJson(a, b) === byText(a, b)),
      { numRuns: 2000 },
    );
  });

  it('answers as comparing JSON.stringify of both, for a value and a near copy of it', () => {
    fc.assert(
      fc.property(value, fc.nat(20), (a, pick) => {
        const b = variant(a, pick);
        return sameJson(a, b) === byText(a, b) && sameJson(b, a) === byText(b, a);
      }),
      { numRuns: 3000 },
    );
  });

  it('is order-sensitive and JSON-faithful on the cases that matter', () => {
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false);
    expect(sameJson({ a: 1, u: undefined }, { a: 1 })).toBe(true);
    expect(sameJson([undefined], [null])).toBe(true);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(sameJson(NaN, null)).toBe(true);
    expect(sameJson(new Date(5), new Date(5).toISOString())).toBe(true);
    expect(sameJson({ items: { data: [{ p: 1 }] } }, { items: { data: [{ p: 2 }] } })).toBe(false);
  });
});
