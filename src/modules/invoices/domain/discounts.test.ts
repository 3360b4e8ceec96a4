import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addMonths } from '../../../core/time/index.js';
import { applyDiscounts, discountEnd, discountProrations, isDiscountActive, percentToBasisPoints, type Coupon, type Discount, type DiscountableLine } from './discounts.js';

const d = (iso: string) => new Date(iso);
const start = d('2026-01-31T00:00:00Z');
const usd = (amount: number, productId: string | null = 'prod_a'): DiscountableLine => ({ amount, currency: 'usd', productId });
const percent = (p: number, extra: Partial<Coupon> = {}): Discount => ({ id: `di_${p}`, start, coupon: { id: `co_${p}`, percent_off: p, duration: 'forever', ...extra } });
const amountOff = (a: number, extra: Partial<Coupon> = {}): Discount => ({ id: `di_amt_${a}`, start, coupon: { id: `co_amt_${a}`, amount_off: a, currency: 'usd', duration: 'forever', ...extra } });
const perLine = (r: ReturnType<typeof applyDiscounts>) => r.lines.map((l) => l.totalDiscount);

function exactHalfEven(num: bigint, den: bigint): number {
  const neg = num < 0n;
  const n = neg ? -num : num;
  let q = n / den;
  const r = n % den;
  if (2n * r > den || (2n * r === den && q % 2n === 1n)) q += 1n;
  return Number(neg ? -q : q);
}

describe('percentToBasisPoints', () => {
  it('holds percentages exactly as integers', () => {
    expect([20, 12.5, 33.33, 0.01, 100].map(percentToBasisPoints)).toEqual([2000, 1250, 3333, 1, 10000]);
    for (const bad of [0, -5, 100.01, 12.345, NaN, Infinity]) expect(() => percentToBasisPoints(bad)).toThrow(RangeError);
  });
});

describe('percent_off', () => {
  it('20 % off three lines: rounded once on the subtotal, remainder units by largest remainder', () => {
    // 10000 × 20 % = 2000. Exact shares 666.6, 666.6, 666.8; rounding each line would give 2001.
    // Floors 666+666+666 = 1998; the 2 left go to the largest remainders: line 3 (.8), then line 1 (.6, earlier wins).
    const r = applyDiscounts([usd(3333), usd(3333), usd(3334)], [percent(20)]);
    expect(perLine(r)).toEqual([667, 666, 667]);
    expect(r.totalDiscount).toBe(2000);
    expect(r.totalDiscountAmounts).toEqual([{ discountId: 'di_20', amount: 2000 }]);
    expect(r.lines.map((l) => l.amountAfterDiscount)).toEqual([2666, 2667, 2667]);
  });

  it('12.5 % rounds half-even: 9700 × 12.5 % = 1212.5 → 1212', () => {
    expect(applyDiscounts([usd(9700)], [percent(12.5)]).totalDiscount).toBe(1212);
    expect(applyDiscounts([usd(9900)], [percent(12.5)]).totalDiscount).toBe(1238); // 1237.5 → 1238
  });

  it('also reduces proration credits, proportionally (the credit shrinks, never flips)', () => {
    // Upgrade Community → Group mid-March: +75000 and −4850, net 70150. 20 % of 70150 = 14030:
    // 15000 on the debit (20 % of 75000) and −970 on the credit.
    const r = applyDiscounts([usd(75000, 'prod_group'), usd(-4850, 'prod_community')], [percent(20)]);
    expect(perLine(r)).toEqual([15000, -970]);
    expect(r.lines.map((l) => l.amountAfterDiscount)).toEqual([60000, -3880]);
    expect(r.totalDiscount).toBe(14030);
  });

  it('stacks in order on what is left: two 10 % coupons give 19 %', () => {
    const r = applyDiscounts([usd(10000)], [percent(10), { ...percent(10), id: 'di_second' }]);
    expect(r.totalDiscountAmounts).toEqual([
      { discountId: 'di_10', amount: 1000 },
      { discountId: 'di_second', amount: 900 },
    ]);
    expect(r.lines[0]!.discountAmounts).toEqual(r.totalDiscountAmounts);
  });
});

describe('amount_off', () => {
  it('is capped at the eligible subtotal and split with allocate', () => {
    const r = applyDiscounts([usd(3000), usd(2000)], [amountOff(10000)]);
    expect(perLine(r)).toEqual([3000, 2000]);
    expect(r.lines.map((l) => l.amountAfterDiscount)).toEqual([0, 0]);
  });

  it('splits a partial amount by line size', () => {
    // 1000 over 3000/2000/1: exact 599.8, 399.87, 0.2 → floors 599, 399, 0 + 2 left → [600, 400, 0].
    expect(perLine(applyDiscounts([usd(3000), usd(2000), usd(1)], [amountOff(1000)]))).toEqual([600, 400, 0]);
  });

  it('touches only positive lines and never turns into customer credit', () => {
    expect(perLine(applyDiscounts([usd(75000), usd(-4850)], [amountOff(5000)]))).toEqual([5000, 0]);
    // Charges 4850 against credits of 1000: the net 3850 is the most a fixed discount may take.
    expect(perLine(applyDiscounts([usd(4850), usd(-1000)], [amountOff(5000)]))).toEqual([3850, 0]);
    // A downgrade whose credit exceeds the charge: nothing to discount.
    expect(applyDiscounts([usd(-75000), usd(4850)], [amountOff(5000)]).totalDiscount).toBe(0);
  });

  it('rejects a coupon in another currency', () => {
    expect(() => applyDiscounts([usd(1000)], [amountOff(500, { currency: 'eur' })])).toThrow(RangeError);
  });
});

describe('applies_to.products', () => {
  it('discounts only the listed products; lines without a product are not eligible', () => {
    const r = applyDiscounts([usd(5000, 'prod_a'), usd(3000, 'prod_b'), usd(1000, null)], [percent(50, { applies_to: { products: ['prod_a'] } })]);
    expect(perLine(r)).toEqual([2500, 0, 0]);
    expect(r.lines[1]!.discountAmounts).toEqual([]);
    const fixed = applyDiscounts([usd(5000, 'prod_a'), usd(3000, 'prod_b')], [amountOff(4000, { applies_to: { products: ['prod_b'] } })]);
    expect(perLine(fixed)).toEqual([0, 3000]);
  });
});

describe('isDiscountActive', () => {
  it('repeating 3 months: active for months 0, 1, 2 and not 3 (clamped like the schedule)', () => {
    const disc: Discount = { id: 'di_r', start, coupon: { id: 'co_r', percent_off: 10, duration: 'repeating', duration_in_months: 3 } };
    const periodStarts = [0, 1, 2, 3, 4].map((k) => addMonths(start, k)); // Jan 31, Feb 28, Mar 31, Apr 30, May 31
    expect(periodStarts.map((p) => isDiscountActive(disc, p))).toEqual([true, true, true, false, false]);
    expect(discountEnd(disc)).toEqual(d('2026-04-30T00:00:00Z'));
    expect(isDiscountActive(disc, d('2026-01-30T00:00:00Z'))).toBe(false);
  });

  it('once: the first invoice only; forever: from the start on', () => {
    const once: Discount = { id: 'di_o', start, coupon: { id: 'co_o', amount_off: 500, currency: 'usd', duration: 'once' } };
    expect(isDiscountActive(once, start)).toBe(true);
    expect(isDiscountActive({ ...once, invoicesApplied: 1 }, addMonths(start, 1))).toBe(false);
    const forever = percent(5);
    expect(isDiscountActive(forever, addMonths(start, 120))).toBe(true);
    expect(discountEnd(forever)).toBeNull();
  });

  it('rejects malformed coupons', () => {
    expect(() => isDiscountActive({ ...percent(5), coupon: { id: 'x', duration: 'forever' } }, start)).toThrow(RangeError);
    expect(() => isDiscountActive({ ...percent(5), coupon: { id: 'x', percent_off: 5, amount_off: 5, currency: 'usd', duration: 'forever' } }, start)).toThrow(RangeError);
    expect(() => isDiscountActive({ ...percent(5), coupon: { id: 'x', percent_off: 5, duration: 'repeating' } }, start)).toThrow(RangeError);
    expect(() => isDiscountActive({ ...percent(5), coupon: { id: 'x', amount_off: 5, duration: 'once' } }, start)).toThrow(RangeError);
  });
});

describe('discount properties', () => {
  const lineArb = fc.record({
    amount: fc.integer({ min: -1_000_000, max: 1_000_000 }),
    currency: fc.constant('usd'),
    productId: fc.constantFrom<string | null>('prod_a', 'prod_b', null),
  });
  const appliesArb = fc.option(fc.record({ products: fc.subarray(['prod_a', 'prod_b']) }), { nil: null });
  const discountArb = fc.oneof(
    fc.record({ bps: fc.integer({ min: 1, max: 10_000 }), applies: appliesArb }).map(({ bps, applies }): Discount => ({ id: `p${bps}`, start, coupon: { id: 'c', percent_off: bps / 100, duration: 'forever', applies_to: applies } })),
    fc.record({ off: fc.integer({ min: 1, max: 2_000_000 }), applies: appliesArb }).map(({ off, applies }): Discount => ({ id: `a${off}`, start, coupon: { id: 'c', amount_off: off, currency: 'usd', duration: 'forever', applies_to: applies } })),
  );

  it('per-line discounts sum to the total and never exceed a line nor flip its sign', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 8 }), fc.array(discountArb, { maxLength: 3 }), (lines, generated) => {
        const discounts = generated.map((disc, k) => ({ ...disc, id: `di_${k}` }));
        const r = applyDiscounts(lines, discounts);
        // Per discount: the lines' shares sum exactly to that discount's invoice-level amount.
        discounts.forEach((disc, k) => {
          const shares = r.lines.flatMap((l) => l.discountAmounts.filter((a) => a.discountId === disc.id).map((a) => a.amount));
          expect(r.totalDiscountAmounts[k]).toEqual({ discountId: disc.id, amount: shares.reduce((s, a) => s + a, 0) });
        });
        expect(r.lines.reduce((s, l) => s + l.totalDiscount, 0)).toBe(r.totalDiscount);
        expect(r.totalDiscountAmounts.reduce((s, a) => s + a.amount, 0)).toBe(r.totalDiscount);
        lines.forEach((line, i) => {
          const got = r.lines[i]!.totalDiscount;
          if (line.amount >= 0) {
            expect(got).toBeGreaterThanOrEqual(0);
            expect(got).toBeLessThanOrEqual(line.amount);
          } else {
            expect(got).toBeLessThanOrEqual(0);
            expect(got).toBeGreaterThanOrEqual(line.amount);
          }
          expect(r.lines[i]!.amountAfterDiscount).toBe(line.amount - got);
        });
      }),
    );
  });

  it('a single percent discount is the eligible net subtotal × pct, rounded once half-even', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 10_000 }), (lines, bps) => {
        const r = applyDiscounts(lines, [{ id: 'p', start, coupon: { id: 'c', percent_off: bps / 100, duration: 'forever' } }]);
        const net = lines.reduce((s, l) => s + l.amount, 0);
        expect(r.totalDiscount).toBe(exactHalfEven(BigInt(net) * BigInt(bps), 10_000n));
      }),
    );
  });

  it('a single amount_off never exceeds the coupon, the positive subtotal, or the net (no credit created)', () => {
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 2_000_000 }), (lines, off) => {
        const r = applyDiscounts(lines, [{ id: 'a', start, coupon: { id: 'c', amount_off: off, currency: 'usd', duration: 'forever' } }]);
        const pos = lines.filter((l) => l.amount > 0).reduce((s, l) => s + l.amount, 0);
        const net = lines.reduce((s, l) => s + l.amount, 0);
        expect(r.totalDiscount).toBe(Math.max(0, Math.min(off, pos, net)));
      }),
    );
  });
});

describe('discountProrations (amounts fixed on proration items when they are made)', () => {
  // Community (9,700) → Group (150,000) with 1,352,592 of 2,678,400 s left: credit −4,898, debit 75,750.
  const community = usd(9700, 'prod_community');
  const group = usd(150_000, 'prod_group');
  const upgrade = [usd(-4898, 'prod_community'), usd(75_750, 'prod_group')];

  it('percent: as applyDiscounts on the lines, whatever the periods', () => {
    const r = discountProrations(upgrade, { before: [community], after: [group] }, [percent(50)]);
    expect(perLine(r)).toEqual([-2449, 37_875]);
    expect(r).toEqual(applyDiscounts(upgrade, [percent(50)]));
    // update-rules.test.ts: 10 % of the net 4,693 = 469.3 → 469, rounded once: 939 on the debit, −470 on the credit.
    expect(perLine(discountProrations([usd(-4694), usd(9387)], { before: [usd(9700)], after: [usd(19_400)] }, [percent(10)]))).toEqual([-470, 939]);
  });

  it('amount_off: the share of each line it takes of a whole period of the items prorated', () => {
    // 1,000 of 9,700 on the credit (−504.9…), 1,000 of 150,000 on the debit (505); net 0.05 → 0.
    expect(perLine(discountProrations(upgrade, { before: [community], after: [group] }, [amountOff(1000)]))).toEqual([-505, 505]);
    // A cancellation: the credit gives back what was paid for the unused time.
    expect(perLine(discountProrations([usd(-4898, 'prod_community')], { before: [community], after: [] }, [amountOff(1000)]))).toEqual([-505]);
    // More off than a period costs: the whole period (and so the whole line) is discounted.
    expect(perLine(discountProrations([usd(-4898, 'prod_community')], { before: [community], after: [] }, [amountOff(20_000)]))).toEqual([-4898]);
    // A quantity change (same price): the period's share follows the quantity.
    expect(perLine(discountProrations([usd(-5000), usd(10_000)], { before: [usd(10_000)], after: [usd(20_000)] }, [amountOff(1000)]))).toEqual([-500, 500]);
  });

  it('applies_to.products: only lines of the products, at the share of the products in the period', () => {
    const onlyGroup = amountOff(3000, { applies_to: { products: ['prod_group'] } });
    // After: group 150,000 of 159,700, but only group is eligible: 3,000 of 150,000 → 1,515 on the debit.
    const r = discountProrations(upgrade, { before: [community], after: [group, usd(9700, 'prod_community')] }, [onlyGroup]);
    expect(r.lines.map((l) => l.discountAmounts)).toEqual([[], [{ discountId: onlyGroup.id, amount: 1515 }]]);
  });

  it('stacks in order, each discount on what the previous left of the lines and of the periods', () => {
    // 50 % then 1,000 off: the credit −2,449 left, the period 4,850 left: 1,000/4,850 of −2,449 = −504.9;
    // the debit 37,875 left, the period 75,000 left: 1,000/75,000 of 37,875 = 505.
    const r = discountProrations(upgrade, { before: [community], after: [group] }, [percent(50), amountOff(1000)]);
    expect(r.lines.map((l) => l.discountAmounts.map((a) => a.amount))).toEqual([
      [-2449, -505],
      [37_875, 505],
    ]);
  });

  it('never flips a line, credits shrink and debits fall, within the line', () => {
    const lineArb = fc.record({ amount: fc.integer({ min: -1_000_000, max: 1_000_000 }), currency: fc.constant('usd'), productId: fc.constantFrom<string | null>('prod_a', 'prod_b', null) });
    const itemArb = fc.record({ amount: fc.integer({ min: 0, max: 1_000_000 }), currency: fc.constant('usd'), productId: fc.constantFrom<string | null>('prod_a', 'prod_b', null) });
    const discountArb = fc.oneof(
      fc.integer({ min: 1, max: 10_000 }).map((bps): Discount => ({ id: `p${bps}`, start, coupon: { id: 'c', percent_off: bps / 100, duration: 'forever' } })),
      fc.record({ off: fc.integer({ min: 1, max: 2_000_000 }), products: fc.option(fc.subarray(['prod_a', 'prod_b']), { nil: null }) }).map(
        ({ off, products }): Discount => ({ id: `a${off}`, start, coupon: { id: 'c', amount_off: off, currency: 'usd', duration: 'forever', applies_to: products ? { products } : null } }),
      ),
    );
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 6 }), fc.array(itemArb, { maxLength: 3 }), fc.array(itemArb, { maxLength: 3 }), fc.array(discountArb, { maxLength: 3 }), (lines, before, after, generated) => {
        const discounts = generated.map((disc, k) => ({ ...disc, id: `di_${k}` }));
        const r = discountProrations(lines, { before, after }, discounts);
        expect(r.lines.reduce((s, l) => s + l.totalDiscount, 0)).toBe(r.totalDiscount);
        lines.forEach((line, i) => {
          const got = r.lines[i]!.totalDiscount;
          if (line.amount >= 0) expect(got >= 0 && got <= line.amount).toBe(true);
          else expect(got <= 0 && got >= line.amount).toBe(true);
        });
      }),
    );
  });
});

describe('applyDiscounts with amounts fixed on lines', () => {
  const fixedOn = (amount: number) => [{ discountId: 'di_old', amount }];

  it('keeps the fixed amounts; the invoice discounts reduce the other lines only, and are its discounts', () => {
    const r = applyDiscounts([usd(150_000), usd(-4898), usd(75_750)], [percent(20)], { fixed: [null, fixedOn(-2449), fixedOn(37_875)] });
    expect(r.lines.map((l) => l.discountAmounts)).toEqual([[{ discountId: 'di_20', amount: 30_000 }], fixedOn(-2449), fixedOn(37_875)]);
    expect(r.totalDiscountAmounts).toEqual([{ discountId: 'di_20', amount: 30_000 }]);
    expect(r.otherDiscountAmounts).toEqual([{ discountId: 'di_old', amount: 35_426 }]);
    expect(r.totalDiscount).toBe(65_426);
  });

  it('a fixed discount that is also one of the invoice: its total counts both, a line lists it once', () => {
    const same = percent(50);
    const r = applyDiscounts([usd(150_000), usd(-4898)], [same], { fixed: [null, [{ discountId: same.id, amount: -2449 }]] });
    expect(r.totalDiscountAmounts).toEqual([{ discountId: same.id, amount: 72_551 }]);
    expect(r.otherDiscountAmounts).toEqual([]);
  });

  it('a once discount (never fixed) reduces the fixed lines too, on what they have left', () => {
    const once = percent(10, { duration: 'once' });
    const r = applyDiscounts([usd(10_000), usd(5000)], [once], { fixed: [null, fixedOn(2500)] });
    // 10 % of 10,000 + 2,500 left = 1,250: 1,000 and 250.
    expect(r.lines.map((l) => l.discountAmounts)).toEqual([[{ discountId: once.id, amount: 1000 }], [...fixedOn(2500), { discountId: once.id, amount: 250 }]]);
    expect(r.totalDiscountAmounts).toEqual([{ discountId: once.id, amount: 1250 }]);
  });

  it('fixed amounts with no invoice discount; an empty fixed list keeps the line undiscounted', () => {
    const r = applyDiscounts([usd(1000), usd(2000)], [], { fixed: [fixedOn(100), []] });
    expect(perLine(r)).toEqual([100, 0]);
    expect(applyDiscounts([usd(1000), usd(2000)], [percent(50)], { fixed: [null, []] }).lines.map((l) => l.totalDiscount)).toEqual([500, 0]);
  });

  it('rejects fixed amounts that would flip a line or are not minor units', () => {
    expect(() => applyDiscounts([usd(1000)], [], { fixed: [fixedOn(1001)] })).toThrow(RangeError);
    expect(() => applyDiscounts([usd(-1000)], [], { fixed: [fixedOn(10)] })).toThrow(RangeError);
    expect(() => applyDiscounts([usd(1000)], [], { fixed: [fixedOn(0.5)] })).toThrow(RangeError);
  });
});
