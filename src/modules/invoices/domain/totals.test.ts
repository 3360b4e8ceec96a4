import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeInvoiceTotals } from './totals.js';

describe('computeInvoiceTotals', () => {
  // Upgrade invoice: Group remaining +75000, Community unused −4850, 20 % off (15000 and −970).
  const lineAmounts = [75000, -4850];
  const discountAmounts = [15000, -970];

  it('no balance: amount due is the total', () => {
    expect(computeInvoiceTotals({ lineAmounts, discountAmounts })).toEqual({
      subtotal: 70150, total_discount: 14030, total_excluding_tax: 56120, total_tax: 0, total: 56120,
      starting_balance: 0, applied_balance: 0, ending_balance: 0, amount_due: 56120,
    });
  });

  it('adds per-line tax', () => {
    const t = computeInvoiceTotals({ lineAmounts: [10000, 5000], discountAmounts: [1000, 0], taxAmounts: [1800, 1000] });
    expect([t.subtotal, t.total_discount, t.total_excluding_tax, t.total_tax, t.total, t.amount_due]).toEqual([15000, 1000, 14000, 2800, 16800, 16800]);
  });

  it('a credit balance covering part of the total', () => {
    expect(computeInvoiceTotals({ lineAmounts: [9700], startingBalance: -2000 })).toMatchObject({
      total: 9700, starting_balance: -2000, applied_balance: -2000, ending_balance: 0, amount_due: 7700,
    });
  });

  it('a credit balance covering all of the total keeps the rest', () => {
    expect(computeInvoiceTotals({ lineAmounts: [9700], startingBalance: -15000 })).toMatchObject({
      total: 9700, applied_balance: -9700, ending_balance: -5300, amount_due: 0,
    });
  });

  it('a debit balance is added to the amount due', () => {
    expect(computeInvoiceTotals({ lineAmounts: [9700], startingBalance: 1500 })).toMatchObject({
      total: 9700, applied_balance: 1500, ending_balance: 0, amount_due: 11200,
    });
  });

  it('a negative total (downgrade) goes to the credit balance and nothing is due', () => {
    // Group → Community mid-March: −75000 + 4850 = −70150.
    expect(computeInvoiceTotals({ lineAmounts: [-75000, 4850], startingBalance: -1000 })).toMatchObject({
      subtotal: -70150, total: -70150, applied_balance: 70150, ending_balance: -71150, amount_due: 0,
    });
    // A debit balance is first absorbed by the credit; it stays owed if larger.
    expect(computeInvoiceTotals({ lineAmounts: [-3000], startingBalance: 5000 })).toMatchObject({ amount_due: 0, ending_balance: 2000 });
  });

  it('an empty invoice and a zero total with credit leave the balance alone', () => {
    expect(computeInvoiceTotals({ lineAmounts: [] })).toMatchObject({ subtotal: 0, total: 0, amount_due: 0, ending_balance: 0 });
    const t = computeInvoiceTotals({ lineAmounts: [0], startingBalance: -500 });
    expect(Object.is(t.applied_balance, 0)).toBe(true);
    expect(t).toMatchObject({ amount_due: 0, ending_balance: -500 });
  });

  it('rejects per-line arrays of the wrong length and non-integer amounts', () => {
    expect(() => computeInvoiceTotals({ lineAmounts: [1, 2], discountAmounts: [1] })).toThrow(RangeError);
    expect(() => computeInvoiceTotals({ lineAmounts: [1.5] })).toThrow(RangeError);
  });

  it('properties: nothing is lost between the invoice and the balance', () => {
    const amt = fc.integer({ min: -10_000_000, max: 10_000_000 });
    fc.assert(
      fc.property(fc.array(amt, { maxLength: 6 }), amt, amt, (lines, discount, starting) => {
        const t = computeInvoiceTotals({ lineAmounts: lines, discountAmounts: lines.map((_, i) => (i === 0 ? discount : 0)), startingBalance: starting });
        const subtotal = lines.reduce((s, a) => s + a, 0);
        expect(t.subtotal).toBe(subtotal);
        expect(t.total).toBe(lines.length ? subtotal - discount : 0);
        expect(t.amount_due).toBeGreaterThanOrEqual(0);
        expect(t.amount_due).toBe(t.total + t.applied_balance);
        expect(t.ending_balance).toBe(t.starting_balance - t.applied_balance);
        // What the customer owes overall is unchanged: due now + balance after = total + balance before.
        expect(t.amount_due + t.ending_balance).toBe(t.total + t.starting_balance);
        if (t.total >= 0) {
          // A credit is never over-used and never turns into a debit; a debit is always collected.
          expect(t.ending_balance).toBe(starting < 0 ? Math.min(0, starting + t.total) : 0);
        } else {
          expect(t.amount_due).toBe(0);
        }
      }),
    );
  });
});
