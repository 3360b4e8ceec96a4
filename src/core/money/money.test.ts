import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, currencyExponent, divideRounded, formatMoney, money, minimumCharge, multiplyRatio, parseMajor, supportedCurrencies } from './index.js';

describe('currencies', () => {
  it('uses ISO-4217 exponents', () => {
    const expected: Record<string, number> = { usd: 2, eur: 2, gbp: 2, cad: 2, aud: 2, nzd: 2, chf: 2, sek: 2, nok: 2, dkk: 2, jpy: 0, krw: 0, kwd: 3, bhd: 3 };
    for (const [c, e] of Object.entries(expected)) expect(currencyExponent(c)).toBe(e);
    expect(currencyExponent('USD')).toBe(2);
    expect(supportedCurrencies().length).toBeGreaterThan(150);
    expect(() => currencyExponent('xyz')).toThrow(/Invalid currency/);
  });

  it('formats through Intl with the exponent', () => {
    expect(formatMoney(money(500000, 'usd'))).toBe('$5,000.00');
    expect(formatMoney(money(1234, 'jpy'))).toBe('¥1,234');
    expect(formatMoney(money(1234, 'kwd'))).toBe('KWD\u00a01.234');
    expect(formatMoney(money(9700, 'eur'), 'de-DE')).toBe('97,00\u00a0€');
  });

  it('parses major-unit strings exactly and refuses excess precision', () => {
    expect(parseMajor('54000.00', 'usd')).toBe(5400000);
    expect(parseMajor('1.234', 'kwd')).toBe(1234);
    expect(parseMajor('500', 'jpy')).toBe(500);
    expect(() => parseMajor('1.5', 'jpy')).toThrow(/0 decimals/);
    expect(() => parseMajor('0.1', 'usd')).not.toThrow();
  });

  it('refuses non-integer amounts', () => {
    expect(() => money(1.5, 'usd')).toThrow(RangeError);
  });
});

describe('rounding', () => {
  it('rounds half-even, half-up, down and up symmetrically', () => {
    expect(divideRounded(5n, 2n, 'half_even')).toBe(2);
    expect(divideRounded(7n, 2n, 'half_even')).toBe(4);
    expect(divideRounded(-5n, 2n, 'half_even')).toBe(-2);
    expect(divideRounded(5n, 2n, 'half_up')).toBe(3);
    expect(divideRounded(-5n, 2n, 'half_up')).toBe(-3);
    expect(divideRounded(7n, 3n, 'down')).toBe(2);
    expect(divideRounded(7n, 3n, 'up')).toBe(3);
    expect(multiplyRatio(9700, 1425600, 2678400)).toBe(5163); // 97.00 × 16.5/31 days = 51.629…
  });

  it('half-even matches exact rational rounding (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.bigInt({ min: 1n, max: 10n ** 9n }), (n, d) => {
        const r = BigInt(divideRounded(n, d, 'half_even'));
        // |n/d − r| ≤ 1/2, and exactly 1/2 only when r is even.
        const diff2 = (n - r * d) * 2n;
        const abs = diff2 < 0n ? -diff2 : diff2;
        expect(abs <= d).toBe(true);
        if (abs === d) expect(r % 2n).toBe(0n);
      }),
    );
  });
});

describe('allocate', () => {
  it('splits without losing a cent, remainder to the largest remainders', () => {
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocate(-100, [1, 1, 1])).toEqual([-34, -33, -33]);
    expect(allocate(5, [3, 7])).toEqual([2, 3]); // 1.5 / 3.5: equal remainders, the earlier index gets the unit
    expect(allocate(0, [1, 2])).toEqual([0, 0]);
    expect(allocate(10, [0, 0])).toEqual([5, 5]);
  });

  it('parts always sum to the total and stay within one unit of the exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 20 }),
        (total, weights) => {
          const parts = allocate(total, weights);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(total);
          const sum = weights.reduce((a, b) => a + b, 0);
          if (sum > 0) {
            parts.forEach((p, i) => {
              const exact = (total * weights[i]!) / sum;
              expect(Math.abs(p - exact)).toBeLessThan(1 + 1e-6);
            });
          }
        },
      ),
    );
  });
});

describe('minimumCharge', () => {
  it("is Stripe's minimum in minor units, 0 where none is known", () => {
    expect(['usd', 'EUR', 'gbp', 'jpy', 'huf', 'dkk', 'kes'].map(minimumCharge)).toEqual([50, 50, 30, 50, 17_500, 250, 0]);
  });
});
