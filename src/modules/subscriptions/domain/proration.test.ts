import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backdatedLines, cancellationCredit, formatProrationDate, prorateChange, prorationCredit, prorationDebit, type PricedItem } from './proration.js';

const d = (iso: string) => new Date(iso);
const DAY = 86_400;

const community: PricedItem = { priceId: 'price_community', productName: 'Community', unitAmount: 9700, quantity: 1, currency: 'usd' };
const group: PricedItem = { priceId: 'price_group', productName: 'Group', unitAmount: 150000, quantity: 1, currency: 'usd' };
// March 2026 has 31 days: the period is 31 × 86 400 = 2 678 400 seconds.
const march = { start: d('2026-03-01T00:00:00Z'), end: d('2026-04-01T00:00:00Z') };

/** Independent reference: exact rational, rounded half-even, in BigInt. */
function exactHalfEven(num: bigint, den: bigint): number {
  let q = num / den;
  const r = num % den;
  if (2n * r > den || (2n * r === den && q % 2n === 1n)) q += 1n;
  return Number(q);
}

describe('worked example: Community → Group mid-March', () => {
  it('change at Mar 16 12:00 UTC leaves 15.5 of 31 days: exactly half of each price', () => {
    const at = d('2026-03-16T12:00:00Z');
    // Remaining: Mar 16 12:00 → Apr 1 00:00 = 15 days + 12 h = 15.5 days = 1 339 200 s.
    const remaining = 15.5 * DAY;
    const length = 31 * DAY;
    expect(remaining).toBe(1_339_200);
    // 9700 × 1 339 200 / 2 678 400 = 4850 exactly; 150000 × ½ = 75000 exactly.
    const lines = prorateChange({ oldItems: [community], newItems: [group], period: march, prorationDate: at });
    expect(lines).toEqual([
      {
        priceId: 'price_community', productName: 'Community', description: 'Unused time on Community after Mar 16, 2026',
        amount: -4850, currency: 'usd', unitAmount: 9700, quantity: 1, proration: true, period: { start: at, end: march.end },
      },
      {
        priceId: 'price_group', productName: 'Group', description: 'Remaining time on Group after Mar 16, 2026',
        amount: 75000, currency: 'usd', unitAmount: 150000, quantity: 1, proration: true, period: { start: at, end: march.end },
      },
    ]);
    expect((9700 * remaining) / length).toBe(4850);
    expect(lines.reduce((s, l) => s + l.amount, 0)).toBe(70150);
  });

  it('change at Mar 10 09:30 UTC: non-round fractions rounded once', () => {
    const at = d('2026-03-10T09:30:00Z');
    // Remaining: 21 days + 14.5 h = 1 866 600 s.
    // Credit: 9700 × 1 866 600 / 2 678 400 = 6760.0134… → 6760.
    // Debit: 150000 × 1 866 600 / 2 678 400 = 104 536.290… → 104 536.
    const lines = prorateChange({ oldItems: [community], newItems: [group], period: march, prorationDate: at });
    expect(lines.map((l) => l.amount)).toEqual([-6760, 104536]);
    expect(lines[0]!.description).toBe('Unused time on Community after Mar 10, 2026');
  });

  it('ties round half-even: 9701 × ½ = 4850.5 → 4850, 9703 × ½ = 4851.5 → 4852', () => {
    const at = d('2026-03-16T12:00:00Z');
    expect(prorationCredit({ ...community, unitAmount: 9701 }, march, at).amount).toBe(-4850);
    expect(prorationDebit({ ...community, unitAmount: 9701 }, march, at).amount).toBe(4850);
    expect(prorationCredit({ ...community, unitAmount: 9703 }, march, at).amount).toBe(-4852);
  });
});

describe('prorateChange', () => {
  const at = d('2026-03-16T12:00:00Z');
  const seat: PricedItem = { priceId: 'price_seat', productName: 'Seat', unitAmount: 2000, quantity: 2, currency: 'usd' };

  it('quantity-only change credits the old quantity and debits the new one', () => {
    const lines = prorateChange({ oldItems: [seat], newItems: [{ ...seat, quantity: 5 }], period: march, prorationDate: at });
    expect(lines.map((l) => [l.description, l.amount, l.quantity])).toEqual([
      ['Unused time on 2 × Seat after Mar 16, 2026', -2000, 2],
      ['Remaining time on 5 × Seat after Mar 16, 2026', 5000, 5],
    ]);
  });

  it('unchanged items produce no lines; removed and added items do', () => {
    const lines = prorateChange({ oldItems: [seat, community], newItems: [seat, group], period: march, prorationDate: at });
    expect(lines.map((l) => [l.priceId, l.amount])).toEqual([
      ['price_community', -4850],
      ['price_group', 75000],
    ]);
    expect(prorateChange({ oldItems: [seat], newItems: [seat], period: march, prorationDate: at })).toEqual([]);
  });

  it('a change at the very start of the period prorates the whole amount', () => {
    expect(prorateChange({ oldItems: [community], newItems: [group], period: march, prorationDate: march.start }).map((l) => l.amount)).toEqual([-9700, 150000]);
  });

  it('rejects dates outside the period, mixed currencies and duplicate prices', () => {
    expect(() => prorateChange({ oldItems: [community], newItems: [group], period: march, prorationDate: march.end })).toThrow(RangeError);
    expect(() => prorateChange({ oldItems: [community], newItems: [group], period: march, prorationDate: d('2026-02-28T23:59:59Z') })).toThrow(RangeError);
    expect(() => prorateChange({ oldItems: [community], newItems: [{ ...group, currency: 'eur' }], period: march, prorationDate: at })).toThrow(RangeError);
    expect(() => prorateChange({ oldItems: [community, community], newItems: [], period: march, prorationDate: at })).toThrow(RangeError);
  });
});

describe('cancellationCredit', () => {
  it('credits unused time only', () => {
    const lines = cancellationCredit([community, { ...group, quantity: 3 }], march, d('2026-03-16T12:00:00Z'));
    expect(lines.map((l) => [l.description, l.amount])).toEqual([
      ['Unused time on Community after Mar 16, 2026', -4850],
      ['Unused time on 3 × Group after Mar 16, 2026', -225000],
    ]);
  });
});

describe('formatProrationDate', () => {
  it('uses UTC, Stripe wording', () => {
    expect(formatProrationDate(d('2026-01-15T23:59:59Z'))).toBe('Jan 15, 2026');
    expect(formatProrationDate(d('2026-12-01T00:00:00Z'))).toBe('Dec 1, 2026');
  });
});

describe('proration properties', () => {
  const itemArb = fc.record({
    priceId: fc.constant('price_x'),
    productName: fc.constant('X'),
    unitAmount: fc.integer({ min: 0, max: 100_000_000 }),
    quantity: fc.integer({ min: 0, max: 10_000 }),
    currency: fc.constant('usd'),
  });
  const caseArb = fc
    .record({
      startSec: fc.integer({ min: 946_684_800, max: 4_102_444_800 }),
      length: fc.integer({ min: 1, max: 400 * DAY }),
      item: itemArb,
      frac: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    })
    .map(({ startSec, length, item, frac }) => {
      const offset = Math.min(length - 1, Math.floor(frac * length));
      return { item, period: { start: new Date(startSec * 1000), end: new Date((startSec + length) * 1000) }, at: new Date((startSec + offset) * 1000), remaining: length - offset, length };
    });

  it('credit and debit of the same item at the same date cancel out', () => {
    fc.assert(
      fc.property(caseArb, ({ item, period, at }) => {
        expect(prorationCredit(item, period, at).amount + prorationDebit(item, period, at).amount).toBe(0);
      }),
    );
  });

  it('each line is the exact rational rounded once, half-even, and never exceeds the full amount', () => {
    fc.assert(
      fc.property(caseArb, ({ item, period, at, remaining, length }) => {
        const debit = prorationDebit(item, period, at).amount;
        const full = item.unitAmount * item.quantity;
        expect(debit).toBe(exactHalfEven(BigInt(item.unitAmount) * BigInt(item.quantity) * BigInt(remaining), BigInt(length)));
        expect(debit).toBeGreaterThanOrEqual(0);
        expect(debit).toBeLessThanOrEqual(full);
        expect(Math.abs(prorationCredit(item, period, at).amount)).toBeLessThanOrEqual(full);
      }),
    );
  });

  it('exact halves (random ones are rare) round to the even neighbour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50_000_000 }), fc.integer({ min: 1, max: 200 * DAY }), (k, half) => {
        const item: PricedItem = { priceId: 'p', productName: 'P', unitAmount: 2 * k + 1, quantity: 1, currency: 'usd' };
        const period = { start: d('2026-01-01T00:00:00Z'), end: new Date(d('2026-01-01T00:00:00Z').getTime() + 2 * half * 1000) };
        const at = new Date(period.start.getTime() + half * 1000);
        // (2k + 1) / 2 = k + ½ → the even one of k and k + 1.
        expect(prorationDebit(item, period, at).amount).toBe(k % 2 === 0 ? k : k + 1);
      }),
    );
  });
});

describe('backdatedLines', () => {
  const item: PricedItem = { priceId: 'price_c', productName: 'Community Access', unitAmount: 9700, quantity: 2, currency: 'usd' };
  const d = (s: string) => new Date(s);
  it('bills a whole imagined interval at the full amount, and more than one when the span is longer', () => {
    expect(backdatedLines([item], d('2026-02-15T00:00:00Z'), d('2026-03-15T00:00:00Z'), d('2026-03-15T00:00:00Z')).map((l) => l.amount)).toEqual([19_400]);
    // 42 days over 28: one and a half months.
    expect(backdatedLines([item], d('2026-02-15T00:00:00Z'), d('2026-03-29T00:00:00Z'), d('2026-03-15T00:00:00Z')).map((l) => l.amount)).toEqual([29_100]);
  });
  it('rounds once, half to even: 2 × 9,700 × 17/31 = 10,638.709… → 10,639', () => {
    const [l] = backdatedLines([item], d('2026-01-15T00:00:00Z'), d('2026-02-01T00:00:00Z'), d('2026-02-15T00:00:00Z'));
    expect([l!.amount, l!.description, l!.proration]).toEqual([10_639, 'Remaining time on 2 × Community Access after Jan 15, 2026', true]);
  });
  it('refuses an empty span', () => {
    expect(() => backdatedLines([item], d('2026-02-15T00:00:00Z'), d('2026-02-15T00:00:00Z'), d('2026-03-15T00:00:00Z'))).toThrow(RangeError);
  });
});
