import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { halfEven } from '../helpers/half-even.js';
import { createTaxApp, type TaxApp } from './taxes-support.js';

// Property test of invoice and credit-note arithmetic through the real API (tax app: a US seller with
// NY nexus, VAT abroad). Every expected value is computed here independently from the inputs, using
// Stripe's field definitions:
//   subtotal = Σ line.amount; total = subtotal − discounts + exclusive tax; total_excluding_tax = total − tax;
//   amount_due = total − applied balance ≥ 0; amount_paid + amount_remaining = amount_due;
//   Σ line discount_amounts = Σ total_discount_amounts; tax per line half-even once per line.

let t: TaxApp;
beforeAll(async () => {
  t = await createTaxApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

const ADDR = {
  DE: { country: 'DE', postal_code: '10117', city: 'Berlin' },
  NY: { country: 'US', state: 'NY', postal_code: '10001' },
  QC: { country: 'CA', state: 'QC', postal_code: 'H2X 1Y4' },
  WA: { country: 'US', state: 'WA', postal_code: '98101' },
  JP: { country: 'JP', city: 'Tokyo' },
} as const;
// ppm per rate, in the order the engine lists them
const RATES: Record<keyof typeof ADDR, number[]> = { DE: [190_000], NY: [40_000], QC: [50_000, 99_750], WA: [], JP: [100_000] };


type Line = { amount: number; price: string | null; discount_amounts: { discount: string; amount: number }[]; tax_amounts: { amount: number; inclusive: boolean; taxable_amount: number }[] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function checkInvoice(inv: any, behaviorOf: (l: Line) => 'inclusive' | 'exclusive', rates: number[]) {
  const lines = inv.lines.data as Line[];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const lineDisc = lines.map((l) => sum(l.discount_amounts.map((d) => d.amount)));
  const lineTax = lines.map((l) => sum(l.tax_amounts.map((x) => x.amount)));
  const lineIncl = lines.map((l) => sum(l.tax_amounts.filter((x) => x.inclusive).map((x) => x.amount)));
  const discount = sum(lineDisc);
  const tax = sum(lineTax);
  const incl = sum(lineIncl);
  expect(inv.subtotal, 'subtotal = Σ lines').toBe(sum(lines.map((l) => l.amount)));
  expect(sum((inv.total_discount_amounts ?? []).map((d: { amount: number }) => d.amount)), 'Σ total_discount_amounts = Σ line discounts').toBe(discount);
  expect(inv.tax, 'tax = Σ line tax').toBe(tax);
  expect(sum(inv.total_tax_amounts.map((x: { amount: number }) => x.amount)), 'total_tax_amounts').toBe(tax);
  expect(inv.total, 'total = subtotal − discount + exclusive tax').toBe(inv.subtotal - discount + tax - incl);
  expect(inv.total_excluding_tax, 'total_excluding_tax').toBe(inv.total - tax);
  // Expected tax per line, computed here.
  lines.forEach((l, i) => {
    const net = l.amount - lineDisc[i]!;
    const b = behaviorOf(l);
    if (rates.length === 0) return expect(l.tax_amounts.length).toBe(0);
    if (b === 'exclusive') {
      expect(l.tax_amounts.map((x) => x.amount), `line ${i} exclusive tax`).toEqual(rates.map((r) => halfEven(BigInt(net) * BigInt(r), 1_000_000n)));
    } else {
      const R = rates.reduce((a, b) => a + b, 0);
      expect(lineTax[i], `line ${i} inclusive tax`).toBe(halfEven(BigInt(net) * BigInt(R), BigInt(1_000_000 + R)));
    }
  });
  // subtotal_excluding_tax: subtotal minus the inclusive tax of the undiscounted amounts.
  const inclBefore = sum(
    lines.map((l) => {
      if (rates.length === 0 || behaviorOf(l) === 'exclusive') return 0;
      const R = rates.reduce((a, b) => a + b, 0);
      return halfEven(BigInt(l.amount) * BigInt(R), BigInt(1_000_000 + R));
    }),
  );
  expect(inv.subtotal_excluding_tax, 'subtotal_excluding_tax').toBe(inv.subtotal - inclBefore);
  if (inv.status !== 'draft') {
    expect(inv.amount_due, 'amount_due').toBe(inv.total + inv.starting_balance - inv.ending_balance - inv.pre_payment_credit_notes_amount);
    expect(inv.amount_due).toBeGreaterThanOrEqual(0);
  }
  expect(inv.amount_paid + inv.amount_remaining, 'paid + remaining = due').toBe(inv.amount_due);
}

async function checkLedger(customer: string) {
  const c = await t.ok('GET', `/v1/customers/${customer}`);
  const txs = (await t.ok('GET', `/v1/customers/${customer}/balance_transactions?limit=100`)).data as { amount: number; ending_balance: number }[];
  const total = txs.reduce((s, x) => s + x.amount, 0);
  expect(c.balance, 'balance = Σ transactions').toBe(total);
  if (txs.length) expect(txs[0]!.ending_balance, 'latest ending_balance = balance').toBe(c.balance);
  // each ending balance is the running sum
  let run = 0;
  for (const x of txs.slice().reverse()) {
    run += x.amount;
    expect(x.ending_balance).toBe(run);
  }
}

const arbScenario = fc.record({
  place: fc.constantFrom<keyof typeof ADDR>('DE', 'NY', 'QC', 'WA', 'JP'),
  currency: fc.constantFrom('usd', 'eur', 'jpy', 'kwd', 'bhd'),
  items: fc.array(fc.record({ unit: fc.integer({ min: 1, max: 200_000 }), qty: fc.integer({ min: 1, max: 5 }), behavior: fc.constantFrom('inclusive', 'exclusive') }), { minLength: 1, maxLength: 3 }),
  extras: fc.array(fc.record({ amount: fc.integer({ min: -3000, max: 20_000 }).filter((n) => n !== 0), discountable: fc.boolean() }), { maxLength: 2 }),
  // None, one, or up to three stacked (applied in order, each on what the ones before it left).
  coupons: fc.array(
    fc.oneof(fc.record({ percent_off: fc.integer({ min: 1, max: 10_000 }).map((bp) => bp / 100) }), fc.record({ amount_off: fc.integer({ min: 1, max: 60_000 }) })),
    { maxLength: 3 },
  ),
  credits: fc.array(fc.record({ kind: fc.constantFrom('amount', 'line', 'lineAll'), frac: fc.double({ min: 0.01, max: 1, noNaN: true }), pick: fc.nat() }), { maxLength: 3 }),
});

let seq = 0;
describe('invoice and credit-note arithmetic (property)', () => {
  it('holds for random subscriptions, coupons, taxes, currencies and credit notes', async () => {
    await fc.assert(
      fc.asyncProperty(arbScenario, async (s) => {
        seq++;
        const customer = await t.customer({ currency: s.currency, address: ADDR[s.place], email: `p${seq}@example.com` });
        const behaviors = new Map<string, 'inclusive' | 'exclusive'>();
        const items = [];
        for (const it of s.items) {
          const p = await t.ok('POST', '/v1/prices', { product: 'prod_community', currency: s.currency, unit_amount: it.unit, recurring: { interval: 'month' }, tax_behavior: it.behavior });
          behaviors.set(p.id, it.behavior);
          items.push({ price: p.id, quantity: it.qty });
        }
        for (const e of s.extras) await t.ok('POST', '/v1/invoiceitems', { customer, amount: e.amount, currency: s.currency, description: 'Extra', discountable: e.discountable });
        const coupons: string[] = [];
        for (const c of s.coupons) coupons.push((await t.ok('POST', '/v1/coupons', { ...c, ...('amount_off' in c ? { currency: s.currency } : {}), duration: 'once' })).id);
        // One coupon as the older `coupon` parameter, several as `discounts`.
        const discounts = coupons.length === 1 ? { coupon: coupons[0] } : coupons.length ? { discounts: coupons.map((coupon) => ({ coupon })) } : {};
        const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items, trial_end: 'now', payment_behavior: 'allow_incomplete', ...discounts } });
        expect(sub.status, JSON.stringify(sub.body)).toBe(200);
        const inv = await t.ok('GET', `/v1/invoices/${sub.body.latest_invoice}`);
        // Invoice items without a price follow the default (exclusive) behaviour.
        const behaviorOf = (l: Line) => (l.price && behaviors.get(l.price)) || 'exclusive';
        checkInvoice(inv, behaviorOf, RATES[s.place]);
        await checkLedger(customer);

        // Expected discount total.
        const lines = inv.lines.data as (Line & { id: string; discountable: boolean })[];
        const eligible = lines.filter((l) => l.discountable);
        const disc = lines.reduce((a, l) => a + l.discount_amounts.reduce((b, d) => b + d.amount, 0), 0);
        // Each coupon in turn, on the eligible debits (pos) and credits (neg) the ones before it left: a
        // percentage of the net, its debits' share taken from the debits; an amount off only from the
        // debits, never more than they or the net hold.
        let pos = eligible.filter((l) => l.amount > 0).reduce((a, l) => a + l.amount, 0);
        let neg = eligible.filter((l) => l.amount < 0).reduce((a, l) => a + l.amount, 0);
        const expected = s.coupons.map((c) => {
          if ('percent_off' in c) {
            const bp = BigInt(Math.round(c.percent_off * 100));
            const total = halfEven(BigInt(pos + neg) * bp, 10_000n);
            const onDebits = halfEven(BigInt(pos) * bp, 10_000n);
            pos -= onDebits;
            neg -= total - onDebits;
            return total;
          }
          const cap = Math.max(0, Math.min(c.amount_off, pos, pos + neg));
          pos -= cap;
          return cap;
        });
        expect((inv.total_discount_amounts as { amount: number }[]).map((d) => d.amount), 'each discount').toEqual(expected);
        expect(disc, 'discounts').toBe(expected.reduce((a, b) => a + b, 0));

        if (process.env.MONEY_PROPS_VERBOSE) console.log(JSON.stringify({ s, status: inv.status, total: inv.total, sub: inv.subtotal, tax: inv.tax }));
        // Credit notes.
        if (inv.status !== 'paid' || inv.total <= 0) return;
        let credited = 0;
        // Lines credited by an explicit part of their amount (only these may keep a remainder, below).
        const partOfLine = new Set<string>();
        const run = async (req: Record<string, unknown>) => {
          const res = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: req });
          return res;
        };
        for (const c of s.credits) {
          const left = inv.total - credited;
          if (left <= 0) break;
          let req: Record<string, unknown>;
          const pos = lines.filter((l) => l.amount > 0);
          if (c.kind === 'amount') req = { invoice: inv.id, amount: Math.max(1, Math.floor(left * c.frac)) };
          else {
            const l = pos[c.pick % pos.length] as unknown as { id: string; amount: number };
            req = { invoice: inv.id, lines: [c.kind === 'lineAll' ? { invoice_line_item: l.id } : { invoice_line_item: l.id, amount: Math.max(1, Math.floor(l.amount * c.frac)) }] };
          }
          const pre = await t.call({ method: 'GET', url: `/v1/credit_notes/preview?${qs(req)}` });
          if (pre.status !== 200) continue;
          const res = await run({ ...req, credit_amount: pre.body.total });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          if (c.kind === 'line') partOfLine.add((req.lines as { invoice_line_item: string }[])[0]!.invoice_line_item);
          checkCreditNote(res.body);
          credited += res.body.total;
          expect(credited, 'Σ credit notes ≤ invoice total').toBeLessThanOrEqual(inv.total);
        }
        // Credit the rest: everything together must be exactly the invoice.
        const left = inv.total - credited;
        if (left > 0) {
          const res = await run({ invoice: inv.id, amount: left, credit_amount: left });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          checkCreditNote(res.body);
        }
        type CnLine = { invoice_line_item: string; amount: number; discount_amount: number; tax_amounts: { amount: number }[] };
        const all = (await t.ok('GET', `/v1/credit_notes?invoice=${inv.id}&limit=100`)).data as { total: number; subtotal_excluding_tax: number; total_tax: number; tax_amounts: { amount: number }[]; discount_amount: number; subtotal: number; lines: { data: CnLine[]; has_more: boolean } }[];
        expect(all.reduce((a, c) => a + c.total, 0), 'credit notes add up to the invoice total').toBe(inv.total);
        if (!lines.some((l) => l.amount < 0)) {
          expect(all.reduce((a, c) => a + c.tax_amounts.reduce((b, x) => b + x.amount, 0), 0), 'credit notes credit exactly the invoice tax').toBe(inv.tax);
          // Line by line, everything is credited — but for the cent a credit of an explicit part of a line
          // can leave, worth nothing (credited 144,889 of 144,890 discounted 144,803 leaves 1 discounted 1,
          // and the invoice had nothing more to credit). A line discounted to zero is credited too: with
          // the credit note that takes the rest of the invoice.
          const credited = all.flatMap((c) => (expect(c.lines.has_more).toBe(false), c.lines.data));
          let whole = true;
          for (const l of lines) {
            const mine = credited.filter((c) => c.invoice_line_item === l.id);
            const left = {
              amount: l.amount - mine.reduce((a, c) => a + c.amount, 0),
              discount: l.discount_amounts.reduce((a, d) => a + d.amount, 0) - mine.reduce((a, c) => a + c.discount_amount, 0),
              tax: l.tax_amounts.reduce((a, x) => a + x.amount, 0) - mine.reduce((a, c) => a + c.tax_amounts.reduce((b, x) => b + x.amount, 0), 0),
            };
            const allowed = left.amount === 0 ? left.discount === 0 : partOfLine.has(l.id) && left.amount === left.discount && left.discount > 0;
            expect(allowed && left.tax === 0, `left of line ${l.amount}: ${JSON.stringify(left)}`).toBe(true);
            whole &&= left.amount === 0;
          }
          // Every line wholly credited: the notes' subtotal_excluding_tax add up to the invoice's, to the cent.
          if (whole) expect(all.reduce((a, c) => a + c.subtotal_excluding_tax, 0), 'Σ cn subtotal_excluding_tax').toBe(inv.subtotal_excluding_tax);
        }
        await checkLedger(customer);
      }),
      { numRuns: Number(process.env.MONEY_PROPS_RUNS ?? 30), seed: Number(process.env.MONEY_PROPS_SEED ?? 4242), endOnFailure: true, verbose: 2 },
    );
  }, 600_000);
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function checkCreditNote(cn: any) {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const lines = cn.lines.data as { amount: number; discount_amount: number; tax_amounts: { amount: number; inclusive: boolean }[]; total: number; amount_excluding_tax: number }[];
  const tax = sum(lines.flatMap((l) => l.tax_amounts.map((x) => x.amount)));
  const excl = sum(lines.flatMap((l) => l.tax_amounts.filter((x) => !x.inclusive).map((x) => x.amount)));
  expect(cn.subtotal, 'cn subtotal = Σ line amounts').toBe(sum(lines.map((l) => l.amount)));
  expect(cn.discount_amount, 'cn discount').toBe(sum(lines.map((l) => l.discount_amount)));
  expect(cn.total, 'cn total').toBe(cn.subtotal - cn.discount_amount + excl);
  expect(cn.amount, 'cn amount').toBe(cn.total);
  expect(sum(cn.tax_amounts.map((x: { amount: number }) => x.amount)), 'cn tax_amounts').toBe(tax);
  expect(cn.total_excluding_tax, 'cn total_excluding_tax').toBe(cn.total - tax);
  expect(cn.credit_amount + cn.refund_amount + cn.out_of_band_amount === cn.total || cn.type === 'pre_payment').toBe(true);
  lines.forEach((l) => expect(l.total).toBe(l.amount - l.discount_amount + sum(l.tax_amounts.filter((x) => !x.inclusive).map((x) => x.amount))));
}

function qs(req: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(req)) {
    if (Array.isArray(v)) v.forEach((o, i) => Object.entries(o as Record<string, unknown>).forEach(([kk, vv]) => parts.push(`${k}[${i}][${kk}]=${encodeURIComponent(String(vv))}`)));
    else parts.push(`${k}=${encodeURIComponent(String(v))}`);
  }
  return parts.join('&');
}
