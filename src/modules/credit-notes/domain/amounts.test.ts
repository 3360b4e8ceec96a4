import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaxAmount } from '../../taxes/domain/types.js';
import { CreditError, creditAmount, creditLinePart, creditLines, creditTotals, withZeroLines, type CreditableLine } from './amounts.js';

const tax = (amount: number, inclusive = false): TaxAmount => ({
  amount,
  inclusive,
  tax_rate: 'txr_de',
  taxability_reason: 'standard_rated',
  taxable_amount: 0,
  percentage: 19,
  display_name: 'VAT',
  jurisdiction: 'Germany',
  country: 'DE',
  state: null,
  tax_type: 'vat',
});

// inclusiveBefore: the inclusive tax inside the amount before discounts; without a discount, the tax itself.
const line = (amount: number, taxAmount: number, discount = 0, inclusive = false, inclusiveBefore = inclusive ? taxAmount : 0): CreditableLine => ({
  id: 'il_1',
  description: 'Community Access',
  quantity: 1,
  unit_amount: amount,
  amount,
  discount,
  taxes: [tax(taxAmount, inclusive)],
  inclusiveBefore,
  credited: { amount: 0, discount: 0, taxes: [0], inclusiveBefore: 0 },
});

/** The line after `c` was credited (what the service reads back from issued credit notes). */
function after(l: CreditableLine, c: ReturnType<typeof creditLinePart>): CreditableLine {
  return {
    ...l,
    credited: {
      amount: l.credited.amount + c.amount,
      discount: l.credited.discount + c.discount_amount,
      taxes: l.credited.taxes.map((x, i) => x + c.tax_amounts[i]!.amount),
      inclusiveBefore: l.credited.inclusiveBefore + c.amount - c.amount_excluding_tax,
    },
  };
}

describe('credit note amounts', () => {
  it('thirds of a 10.00 line with 20 % VAT inside add up to its 8.33 excluding tax (each credit alone would give 8.32)', () => {
    // 1,000 − 1,000/1.2 = 166.7 → 167 of VAT inside. Alone, 333 holds 55.5 → 56 and 334 holds 55.7 → 56:
    // 277 + 277 + 278 = 832. As shares of what is left: 333 × 167/1,000 = 55.6 → 56; 333 × 111/667 = 55.4 → 55; the rest 56.
    let l = line(1000, 167, 0, true);
    const credits = [333, 333].map((amount) => {
      const c = creditLinePart(l, amount, null, 'lines[0]');
      l = after(l, c);
      return c;
    });
    const [rest] = creditLines([l], [{ line: 'il_1', param: 'lines[0]' }]);
    expect([...credits, rest!].map((c) => [c.amount, c.amount_excluding_tax])).toEqual([
      [333, 277],
      [333, 278],
      [334, 278],
    ]);
  });
  it('half a line takes half its tax, rounded half-even; the rest takes exactly what is left', () => {
    const l = line(9700, 1843);
    const half = creditLinePart(l, 4850, null, 'lines[0]');
    expect([half.amount, half.tax_amounts[0]!.amount, half.tax_amounts[0]!.taxable_amount, half.total]).toEqual([4850, 922, 4850, 5772]);
    const [rest] = creditLines([after(l, half)], [{ line: 'il_1', param: 'lines[0]' }]);
    expect([rest!.amount, rest!.tax_amounts[0]!.amount, rest!.total]).toEqual([4850, 921, 5771]);
    expect(() => creditLinePart(after(after(l, half), rest!), 1, null, 'lines[0]')).toThrow(CreditError);
  });
  it('an amount, tax included, spreads over the lines; discounts and inclusive tax follow', () => {
    const lines: CreditableLine[] = [
      { ...line(10_000, 1900), id: 'a' },
      { ...line(5000, 855, 500), id: 'b' },
    ];
    const credited = creditAmount(lines, 5950);
    const totals = creditTotals(credited);
    expect(totals.total).toBe(5950);
    expect(credited.map((c) => [c.invoice_line, c.amount, c.discount_amount, c.tax_amounts[0]!.amount, c.total])).toEqual([
      // allocate(5,950; 11,900 : 5,355) = 4,103 + 1,847; a: tax 1,900 × 4,103/11,900 = 655.09 → 655;
      // b: tax 855 × 1,847/5,355 = 294.9 → 295, discount 500 × 1,847/5,355 = 172.5 → 172.
      ['a', 3448, 0, 655, 4103],
      ['b', 1724, 172, 295, 1847],
    ]);
    const incl = creditLinePart(line(9900, 1581, 0, true), 4950, null, 'x');
    expect([incl.amount, incl.tax_amounts[0]!.amount, incl.tax_amounts[0]!.taxable_amount, incl.total]).toEqual([4950, 790, 4160, 4950]);
    expect(() => creditAmount(lines, 17_300)).toThrow(/Only 17255 is left/);
  });
  it('a line discounted to zero is credited by the credit note that takes all that is left, and only by it', () => {
    // Found by the invoice property test (seeds 9901, 9902): an amount_off coupon larger than the only
    // discountable line (4,959, discounted 4,959, so no tax), and two undiscountable items taxed 4 %.
    const lines: CreditableLine[] = [
      { ...line(4959, 0, 4959), id: 'free' },
      { ...line(3557, 142), id: 'x' },
      { ...line(7728, 309), id: 'y' },
    ];
    // On its own it credits nothing (the service refuses such a credit note).
    expect(creditTotals(creditLines(lines, [{ line: 'free', param: 'lines[0]' }])).total).toBe(0);
    // A part of the invoice does not take it (the service adds the zero lines only to a note that takes all that is left).
    expect(creditAmount(lines, 5000).map((c) => c.invoice_line)).toEqual(['x', 'y']);
    // All that is left, by amount or by lines: the invoice's subtotal, discount and tax, in line order.
    const all = withZeroLines(lines, creditAmount(lines, 11_736));
    expect(all.map((c) => [c.invoice_line, c.amount, c.discount_amount, c.tax_amounts[0]!.amount, c.total])).toEqual([
      ['free', 4959, 4959, 0, 0],
      ['x', 3557, 0, 142, 3699],
      ['y', 7728, 0, 309, 8037],
    ]);
    expect(creditTotals(all)).toMatchObject({ subtotal: 16_244, discount_amount: 4959, total_tax: 451, total: 11_736 });
    const byLines = withZeroLines(lines, creditLines(lines, [{ line: 'y', param: 'lines[0]' }, { line: 'x', param: 'lines[1]' }]));
    expect(byLines.map((c) => c.invoice_line)).toEqual(['free', 'x', 'y']);
    // Once credited, nothing of it is left to take again.
    const credited = { ...lines[0]!, credited: { amount: 4959, discount: 4959, taxes: [0], inclusiveBefore: 0 } };
    expect(withZeroLines([credited, lines[1]!], creditLines([credited, lines[1]!], [{ line: 'x', param: 'lines[0]' }])).map((c) => c.invoice_line)).toEqual(['x']);
  });
  it('any sequence of partial credits adds up to the line at most, and to exactly the line when finished (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 6 }),
        (amount, ppm, parts) => {
          let l = line(amount, Math.round((amount * ppm) / 1_000_000), Math.floor(amount / 7));
          const lineTotal = l.amount - l.discount + l.taxes[0]!.amount;
          let sum = 0;
          for (const p of parts) {
            const left = l.amount - l.credited.amount;
            if (left <= 0) break;
            const c = creditLinePart(l, Math.min(p, left), null, 'x');
            expect(c.total).toBeGreaterThanOrEqual(0);
            sum += c.total;
            l = after(l, c);
          }
          const left = l.amount - l.credited.amount;
          if (left > 0) {
            const last = creditLinePart(l, left, null, 'x');
            sum += last.total;
            l = after(l, last);
          }
          expect(sum).toBe(lineTotal);
          expect(l.credited.taxes[0]).toBe(l.taxes[0]!.amount);
        },
      ),
    );
  });
  it('an amount credit is exactly the amount asked, never more than is left (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 0, max: 250_000 })), { minLength: 1, maxLength: 5 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (specs, f) => {
        const lines = specs.map(([a, ppm], i) => ({ ...line(a, Math.round((a * ppm) / 1_000_000)), id: `l${i}` }));
        const available = lines.reduce((s, l) => s + l.amount + l.taxes[0]!.amount, 0);
        const ask = Math.max(1, Math.floor(available * f));
        const credited = creditAmount(lines, ask);
        expect(creditTotals(credited).total).toBe(ask);
        credited.forEach((c) => {
          const l = lines.find((x) => x.id === c.invoice_line)!;
          expect(c.amount).toBeLessThanOrEqual(l.amount);
          expect(Math.abs(c.tax_amounts[0]!.amount)).toBeLessThanOrEqual(l.taxes[0]!.amount);
        });
      }),
    );
  });
});

describe('partial credits take their share of what is LEFT of the tax and discount', () => {
  /** Credits `parts` of the line one after the other (as successive credit notes), then whatever is left. */
  function creditInTurn(l0: CreditableLine, parts: readonly number[]) {
    let l = l0;
    const out: ReturnType<typeof creditLinePart>[] = [];
    for (const p of parts) {
      const c = creditLinePart(l, p, null, 'x');
      out.push(c);
      l = after(l, c);
    }
    const left = l.amount - l.credited.amount;
    if (left > 0) {
      const [c] = creditLines([l], [{ line: l.id, param: 'x' }]);
      out.push(c!);
      l = after(l, c!);
    }
    return { credits: out, line: l };
  }
  const row = (c: ReturnType<typeof creditLinePart>) => [c.amount, c.discount_amount, c.tax_amounts.map((t) => t.amount), c.total];

  it('three credits of 3 of a 10 taxed 2: tax 1, 0, 1 and the last cent 0 (not 1 + 1 + 1 and then −1)', () => {
    // round(2 × 3/10) = 1; round(1 × 3/7) = 0; round(1 × 3/4) = 1; the last 1 takes what is left: 0.
    const { credits, line: l } = creditInTurn(line(10, 2), [3, 3, 3]);
    expect(credits.map(row)).toEqual([
      [3, 0, [1], 4],
      [3, 0, [0], 3],
      [3, 0, [1], 4],
      [1, 0, [0], 1],
    ]);
    expect(l.credited).toEqual({ amount: 10, discount: 0, taxes: [2], inclusiveBefore: 0 });
  });

  it('three credits of 3 of a 10 discounted 5: discount 2, 1, 2 and the last cent 0 (not 2 + 2 + 2 and then −1)', () => {
    // round(5 × 3/10) = round(1.5) = 2 (half-even); round(3 × 3/7) = 1; round(2 × 3/4) = round(1.5) = 2; then 0.
    const { credits, line: l } = creditInTurn(line(10, 0, 5), [3, 3, 3]);
    expect(credits.map(row)).toEqual([
      [3, 2, [0], 1],
      [3, 1, [0], 2],
      [3, 2, [0], 1],
      [1, 0, [0], 1],
    ]);
    expect(l.credited).toEqual({ amount: 10, discount: 5, taxes: [0], inclusiveBefore: 0 });
  });

  it('three partial credits (3, 3, 4) of a 10 taxed 2 add up to the line exactly: 4 + 3 + 5 = 12', () => {
    const { credits, line: l } = creditInTurn(line(10, 2), [3, 3, 4]);
    expect(credits.map(row)).toEqual([
      [3, 0, [1], 4],
      [3, 0, [0], 3],
      [4, 0, [1], 5],
    ]);
    expect(credits.reduce((s, c) => s + c.total, 0)).toBe(12);
    expect(l.credited).toEqual({ amount: 10, discount: 0, taxes: [2], inclusiveBefore: 0 });
    expect(creditTotals(credits)).toMatchObject({ subtotal: 10, discount_amount: 0, total_tax: 2, total: 12 });
  });

  it('a discounted line with an inclusive and an exclusive tax: thirds, each share of what is left', () => {
    // 9,900 incl. 19 % VAT, 50 % off (4,950), VAT 790 inside, plus 5 % exclusive tax 208 on 4,160.
    // Before the discount 1,581 of VAT is inside the 9,900 (9,900 × 19/119 = 1,580.7): the invoice's subtotal_excluding_tax is 8,319.
    const l: CreditableLine = { ...line(9900, 790, 4950, true, 1581), taxes: [tax(790, true), { ...tax(208), percentage: 5, tax_rate: 'txr_x' }], credited: { amount: 0, discount: 0, taxes: [0, 0], inclusiveBefore: 0 } };
    const { credits, line: done } = creditInTurn(l, [3300, 3300]);
    // 1st: 4,950 × 3,300/9,900 = 1,650; 790/3 = 263.3 → 263; 208/3 = 69.3 → 69.
    // 2nd: 3,300 × 3,300/6,600 halves what is left: 1,650; 527/2 = 263.5 → 264 (half-even); 139/2 = 69.5 → 70 (half-even).
    // 3rd (the rest): 1,650; 790 − 263 − 264 = 263; 208 − 69 − 70 = 69.
    expect(credits.map(row)).toEqual([
      [3300, 1650, [263, 69], 1719],
      [3300, 1650, [264, 70], 1720],
      [3300, 1650, [263, 69], 1719],
    ]);
    expect(done.credited).toEqual({ amount: 9900, discount: 4950, taxes: [790, 208], inclusiveBefore: 1581 });
    // 1,581/3 = 527; 1,054/2 = 527; the rest 527: the three amount_excluding_tax add up to the invoice's 8,319.
    expect(credits.map((c) => c.amount_excluding_tax)).toEqual([2773, 2773, 2773]);
    expect(credits.reduce((s, c) => s + c.total, 0)).toBe(9900 - 4950 + 208);
  });

  it('no credit ever takes a negative or more-than-left tax or discount, whatever the sequence (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 300_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 50_000 }), { minLength: 1, maxLength: 12 }),
        (amount, ppm, discountPpm, inclusive, parts) => {
          const discount = Math.floor((amount * discountPpm) / 1_000_000);
          const l0 = line(amount, Math.round(((amount - discount) * ppm) / 1_000_000), discount, inclusive);
          let l = l0;
          for (const p of parts) {
            const left = l.amount - l.credited.amount;
            if (left <= 1) break;
            const c = creditLinePart(l, Math.min(p, left - 1), null, 'x');
            expect(c.discount_amount).toBeGreaterThanOrEqual(0);
            expect(c.tax_amounts[0]!.amount).toBeGreaterThanOrEqual(0);
            expect(c.amount - c.amount_excluding_tax).toBeGreaterThanOrEqual(0);
            l = after(l, c);
            expect(l.credited.discount).toBeLessThanOrEqual(l.discount);
            expect(l.credited.taxes[0]).toBeLessThanOrEqual(l.taxes[0]!.amount);
          }
          const [last] = creditLines([l], [{ line: l.id, param: 'x' }]);
          expect(last!.discount_amount).toBeGreaterThanOrEqual(0);
          expect(last!.tax_amounts[0]!.amount).toBeGreaterThanOrEqual(0);
          l = after(l, last!);
          expect(l.credited).toEqual({ amount: l0.amount, discount: l0.discount, taxes: [l0.taxes[0]!.amount], inclusiveBefore: l0.inclusiveBefore });
        },
      ),
    );
  });
});
