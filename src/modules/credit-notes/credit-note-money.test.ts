import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaxApp, type TaxApp } from '../../../test/scenarios/taxes-support.js';
import type { TaxAmount } from '../taxes/domain/types.js';
import { serializeCreditNote, type CreditNoteLineRow, type CreditNoteRow } from './service.js';

// Two money defects of credit notes (from the money audit):
// 1. subtotal_excluding_tax / amount_excluding_tax of a discounted tax-inclusive line: Stripe, "the
//    amount of the credit note, excluding all tax and invoice level discounts" — the amount less the
//    inclusive tax of the UNDISCOUNTED amount, as the invoice's subtotal_excluding_tax (not less the
//    tax of the discounted amount: 9,900 − 790 = 9,110).
// 2. Repeated partial credits of one line: each takes its share of what is LEFT of the line's tax and
//    discount, so together they never take more than the line had and no credit note line is negative.

const vat = (amount: number, taxable: number, inclusive = true): TaxAmount => ({
  amount, inclusive, tax_rate: 'txr_de', taxability_reason: 'standard_rated', taxable_amount: taxable, percentage: 19,
  display_name: 'VAT', jurisdiction: 'DE', country: 'DE', state: null, tax_type: 'vat',
});

type NoteLine = Omit<CreditNoteLineRow, 'id' | 'credit_note' | 'type' | 'position' | 'invoice_line' | 'description' | 'quantity' | 'unit_amount' | 'amount_excluding_tax'> & { amount_excluding_tax?: number };

function note(lines: NoteLine[]): ReturnType<typeof serializeCreditNote> {
  const rows: CreditNoteLineRow[] = lines.map((l, i) => ({ ...l, id: `cnli_${i}`, credit_note: 'cn_1', type: 'invoice_line_item', position: i, invoice_line: `il_${i}`, description: null, quantity: null, unit_amount: null, amount_excluding_tax: l.amount_excluding_tax ?? null }));
  const sum = (f: (l: CreditNoteLineRow) => number) => rows.reduce((s, l) => s + f(l), 0);
  const total_tax = sum((l) => l.tax_amounts.reduce((s, t) => s + t.amount, 0));
  const row: CreditNoteRow = {
    id: 'cn_1', number: 'RECUR-CN-0001', invoice: 'in_1', customer: 'cus_1', currency: 'eur', status: 'issued', type: 'post_payment', reason: null, memo: null,
    subtotal: sum((l) => l.amount), discount_amount: sum((l) => l.discount_amount), total_tax, total: sum((l) => l.total),
    tax_amounts: rows.flatMap((l) => l.tax_amounts), refund_amount: 0, credit_amount: sum((l) => l.total), out_of_band_amount: 0, refund: null,
    customer_balance_transaction: null, metadata: {}, test_clock: null, effective_at: new Date(0), voided_at: null, created: new Date(0),
  };
  return serializeCreditNote(row, rows);
}

describe('serializeCreditNote: amounts excluding tax are before the discounts', () => {
  it('the whole of a 99.00 incl. 19 % VAT line 50 % off: 8,319 (9,900 − 1,581), like the invoice, not 9,110', () => {
    const cn = note([{ amount: 9900, discount_amount: 4950, tax_amounts: [vat(790, 4160)], total: 4950 }]);
    expect([cn.subtotal, cn.discount_amount, cn.total, cn.total_excluding_tax, cn.subtotal_excluding_tax]).toEqual([9900, 4950, 4950, 4160, 8319]);
    expect(cn.lines.data[0]!.amount_excluding_tax).toBe(8319);
  });

  it('sums the lines: an undiscounted inclusive line keeps its stored tax, exclusive tax is not inside, a half credit recomputes its own', () => {
    const cn = note([
      // Half the discounted line: 4,950 − round(4,950 × 19/119 = 790.3) = 4,160.
      { amount: 4950, discount_amount: 2475, tax_amounts: [vat(395, 2080)], total: 2475 },
      // Not discounted: 1,190 − 190.
      { amount: 1190, discount_amount: 0, tax_amounts: [vat(190, 1000)], total: 1190 },
      // Exclusive tax: nothing to take out of the amount.
      { amount: 1000, discount_amount: 500, tax_amounts: [vat(95, 500, false)], total: 595 },
    ]);
    expect(cn.lines.data.map((l) => l.amount_excluding_tax)).toEqual([4160, 1000, 1000]);
    expect(cn.subtotal_excluding_tax).toBe(4160 + 1000 + 1000);
    // total = subtotal − discounts + exclusive tax; total_excluding_tax = total − all tax.
    expect([cn.subtotal, cn.discount_amount, cn.total, cn.total_excluding_tax]).toEqual([7140, 2975, 4260, 4260 - 680]);
  });

  it('a stored amount_excluding_tax (a share of what was left of the line, since migration 0032) is the one shown', () => {
    const cn = note([{ amount: 4950, discount_amount: 2475, tax_amounts: [vat(395, 2080)], total: 2475, amount_excluding_tax: 4159 }]);
    expect([cn.lines.data[0]!.amount_excluding_tax, cn.subtotal_excluding_tax]).toEqual([4159, 4159]);
  });
});

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

type CnLine = { amount: number; discount_amount: number; amount_excluding_tax: number; tax_amounts: { amount: number; inclusive: boolean }[]; total: number; invoice_line_item: string };
type Cn = { subtotal: number; discount_amount: number; total: number; total_excluding_tax: number; subtotal_excluding_tax: number; tax_amounts: { amount: number; inclusive: boolean }[]; lines: { data: CnLine[] } };

/** total = subtotal − discounts + exclusive tax, and the note is the sum of its lines. */
function expectConsistent(cn: Cn) {
  const exclusive = cn.tax_amounts.filter((x) => !x.inclusive).reduce((s, x) => s + x.amount, 0);
  const allTax = cn.tax_amounts.reduce((s, x) => s + x.amount, 0);
  expect(cn.total).toBe(cn.subtotal - cn.discount_amount + exclusive);
  expect(cn.total_excluding_tax).toBe(cn.total - allTax);
  expect(cn.total).toBe(cn.lines.data.reduce((s, l) => s + l.total, 0));
  expect(cn.subtotal_excluding_tax).toBe(cn.lines.data.reduce((s, l) => s + l.amount_excluding_tax, 0));
  for (const l of cn.lines.data) {
    expect(l.discount_amount).toBeGreaterThanOrEqual(0);
    for (const x of l.tax_amounts) expect(x.amount).toBeGreaterThanOrEqual(0);
  }
}

describe('credit notes through the API', () => {
  it('a full credit note of a discounted tax-inclusive line has subtotal_excluding_tax 8,319, like the invoice', async () => {
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'eur', unit_amount: 9900, recurring: { interval: 'month' }, tax_behavior: 'inclusive' });
    const coupon = await t.ok('POST', '/v1/coupons', { percent_off: 50, duration: 'once' });
    const customer = await t.customer({ currency: 'eur', address: { country: 'DE' } });
    const inv = await t.firstInvoice(customer, price.id, { coupon: coupon.id });
    expect([inv.subtotal, inv.subtotal_excluding_tax, inv.total, inv.total_excluding_tax, inv.tax]).toEqual([9900, 8319, 4950, 4160, 790]);
    // Stripe's newer tax shape, for integrations on the current API: the same tax.
    const vat = { amount: 790, tax_behavior: 'inclusive', tax_rate_details: { tax_rate: inv.total_tax_amounts[0].tax_rate }, taxability_reason: 'standard_rated', taxable_amount: 4160, type: 'tax_rate_details' };
    expect(inv.total_tax_amounts[0].tax_rate).toMatch(/^txr_/);
    expect([inv.total_taxes, inv.lines.data[0].taxes]).toEqual([[vat], [vat]]);
    const preview = await t.ok('GET', `/v1/credit_notes/preview?invoice=${inv.id}&lines[0][invoice_line_item]=${inv.lines.data[0].id}`);
    const cn = (await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: inv.lines.data[0].id }] })) as Cn;
    for (const c of [preview as Cn, cn]) {
      expect([c.subtotal, c.discount_amount, c.total, c.total_excluding_tax, c.subtotal_excluding_tax]).toEqual([9900, 4950, 4950, 4160, 8319]);
      expect(c.lines.data[0]!.amount_excluding_tax).toBe(8319);
      expect((c as unknown as { total_taxes: unknown }).total_taxes).toEqual([expect.objectContaining({ amount: 790, tax_behavior: 'inclusive', type: 'tax_rate_details' })]);
      expectConsistent(c);
    }
    // Read back from the database, the same.
    expect(((await t.ok('GET', `/v1/credit_notes/${(cn as unknown as { id: string }).id}`)) as Cn).subtotal_excluding_tax).toBe(8319);
  });

  it('credits of 333, 333 and the rest of a 10.00 line with VAT inside add up to its subtotal_excluding_tax, 840 (alone each: 841)', async () => {
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'eur', unit_amount: 1000, recurring: { interval: 'month' }, tax_behavior: 'inclusive' });
    const customer = await t.customer({ currency: 'eur', address: { country: 'DE' } });
    const inv = await t.firstInvoice(customer, price.id);
    // 1,000 × 19/119 = 159.7 → 160 of VAT inside.
    expect([inv.status, inv.subtotal, inv.subtotal_excluding_tax, inv.tax]).toEqual(['paid', 1000, 840, 160]);
    const line = inv.lines.data[0].id as string;
    const notes: Cn[] = [];
    for (const amount of [333, 333, undefined]) notes.push(await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: line, ...(amount ? { amount } : {}) }] }));
    // Shares of what is left of the 160: 333 × 160/1,000 = 53.3 → 53; 333 × 107/667 = 53.4 → 53; the rest 54.
    // Each alone would hold 53, 53 and 334 × 19/119 = 53.3 → 53: 159 in all, a cent short.
    expect(notes.map((n) => [n.subtotal, n.subtotal_excluding_tax])).toEqual([
      [333, 280],
      [333, 280],
      [334, 280],
    ]);
    for (const n of notes) expectConsistent(n);
    expect(notes.reduce((s, n) => s + n.subtotal_excluding_tax, 0)).toBe(840);
    // Read back, the same.
    const listed = (await t.ok('GET', `/v1/credit_notes?invoice=${inv.id}`)).data as Cn[];
    expect(listed.map((n) => n.subtotal_excluding_tax)).toEqual([280, 280, 280]);
  });

  it('credits of 3, 3, 3 and the rest of a 10-cent line taxed 2 (DE 19 %): tax 1, 0, 1, 0 — the line exactly', async () => {
    const customer = await t.customer({ address: { country: 'DE' } });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 10, currency: 'usd', description: 'Small' });
    await t.ok('POST', '/v1/invoiceitems', { customer, amount: 10_000, currency: 'usd', description: 'Big' });
    const draft = await t.ok('POST', '/v1/invoices', { pending_invoice_items_behavior: 'include', customer });
    await t.ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
    const inv = await t.ok('POST', `/v1/invoices/${draft.id}/pay`, {});
    const small = inv.lines.data.find((l: { amount: number }) => l.amount === 10);
    const big = inv.lines.data.find((l: { amount: number }) => l.amount === 10_000);
    expect([inv.status, inv.total, small.tax_amounts[0].amount]).toEqual(['paid', 11_912, 2]);
    const notes: Cn[] = [];
    for (let i = 0; i < 3; i++) notes.push(await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: small.id, amount: 3 }] }));
    // round(2 × 3/10) = 1; round(1 × 3/7) = 0; round(1 × 3/4) = 1 (Recur credited 1 + 1 + 1 = 3 > 2).
    expect(notes.map((n) => [n.lines.data[0]!.tax_amounts[0]!.amount, n.total])).toEqual([[1, 4], [0, 3], [1, 4]]);
    const rest = (await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: small.id }, { invoice_line_item: big.id }] })) as Cn;
    const restSmall = rest.lines.data.find((l) => l.invoice_line_item === small.id)!;
    // The last cent takes what is left: 2 − 1 − 0 − 1 = 0 (Recur: −1).
    expect([restSmall.amount, restSmall.tax_amounts[0]!.amount, restSmall.total, rest.total]).toEqual([1, 0, 1, 1 + 11_900]);
    for (const n of [...notes, rest]) expectConsistent(n);
    expect([...notes, rest].reduce((s, n) => s + n.total, 0)).toBe(inv.total);
    const after = await t.ok('GET', `/v1/invoices/${inv.id}`);
    expect(after.post_payment_credit_notes_amount).toBe(11_912);
    // Nothing is left to credit.
    expect((await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: inv.id, amount: 1 } })).status).toBe(400);
  });

  it('credits of 3, 3 and 4 of a 10-cent line discounted 5 (50 % coupon): discount 2, 1, 2 — the line exactly', async () => {
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'usd', unit_amount: 10, recurring: { interval: 'month' }, tax_behavior: 'exclusive' });
    const big = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'usd', unit_amount: 10_000, recurring: { interval: 'month' }, tax_behavior: 'exclusive' });
    const coupon = await t.ok('POST', '/v1/coupons', { percent_off: 50, duration: 'once' });
    const customer = await t.customer({ address: { country: 'US', state: 'WA' } });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: price.id }, { price: big.id }], coupon: coupon.id, trial_end: 'now' });
    const inv = await t.ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    const small = inv.lines.data.find((l: { amount: number }) => l.amount === 10);
    expect([inv.total, small.discount_amounts[0].amount]).toEqual([5005, 5]);
    const notes: Cn[] = [];
    for (const amount of [3, 3, 4]) notes.push(await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: small.id, amount }] }));
    // round(5 × 3/10 = 1.5) = 2 (half-even); round(3 × 3/7) = 1; the rest (4) takes what is left: 2.
    expect(notes.map((n) => [n.subtotal, n.discount_amount, n.total])).toEqual([[3, 2, 1], [3, 1, 2], [4, 2, 2]]);
    for (const n of notes) expectConsistent(n);
    expect(notes.reduce((s, n) => s + n.total, 0)).toBe(10 - 5);
    // The line is fully credited.
    const more = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: inv.id, lines: [{ invoice_line_item: small.id, amount: 1 }] } });
    expect(more.status).toBe(400);
  });

  it('a line discounted to zero goes with the credit note that takes the rest of the invoice: the notes add up to its subtotal and discount', async () => {
    // Found by the invoice property test (seeds 9901, 9902): an amount_off coupon larger than the only
    // discountable line, which is then 4,959 − 4,959 = 0, untaxed; two undiscountable items, NY 4 %.
    const price = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: 'eur', unit_amount: 4959, recurring: { interval: 'month' }, tax_behavior: 'exclusive' });
    const customer = await t.customer({ currency: 'eur', address: { country: 'US', state: 'NY', postal_code: '10001' } });
    for (const amount of [3557, 7728]) await t.ok('POST', '/v1/invoiceitems', { customer, amount, currency: 'eur', description: 'Extra', discountable: false });
    const coupon = await t.ok('POST', '/v1/coupons', { amount_off: 25_918, currency: 'eur', duration: 'once' });
    const inv = await t.firstInvoice(customer, price.id, { coupon: coupon.id });
    expect([inv.status, inv.subtotal, inv.total, inv.tax]).toEqual(['paid', 16_244, 11_736, 451]);
    const line = (amount: number) => inv.lines.data.find((l: { amount: number }) => l.amount === amount).id as string;
    // On its own the free line credits nothing: refused.
    const alone = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: inv.id, lines: [{ invoice_line_item: line(4959) }] } });
    expect([alone.status, alone.body.error.code, alone.body.error.param]).toEqual([400, 'parameter_invalid', 'lines']);
    const first = (await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, lines: [{ invoice_line_item: line(3557) }] })) as Cn;
    expect(first.lines.data.map((l) => [l.amount, l.discount_amount, l.total])).toEqual([[3557, 0, 3699]]);
    // The rest of the invoice: the free line comes with it (amount 4,959, discount 4,959, total 0).
    const rest = (await t.ok('POST', '/v1/credit_notes', { invoice: inv.id, amount: 8037 })) as Cn;
    expect(rest.lines.data.map((l) => [l.invoice_line_item, l.amount, l.discount_amount, l.total])).toEqual([
      [line(4959), 4959, 4959, 0],
      [line(7728), 7728, 0, 8037],
    ]);
    for (const n of [first, rest]) expectConsistent(n);
    const sum = (f: (n: Cn) => number) => f(first) + f(rest);
    expect([sum((n) => n.subtotal), sum((n) => n.discount_amount), sum((n) => n.tax_amounts.reduce((s, x) => s + x.amount, 0)), sum((n) => n.total)]).toEqual([16_244, 4959, 451, 11_736]);
  });
});
