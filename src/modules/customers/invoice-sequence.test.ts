import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { checkBooks } from '../../../test/helpers/books.js';
import { usingPostgres } from '../../../test/helpers/db.js';

// Stripe's next_invoice_sequence: a customer moving from another billing system keeps counting where
// its invoices stopped (ACME-0457 there, ACME-0458 here). Settable until its series has numbered an
// invoice, so that the series stays gapless.

let t: TestApp;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<any> {
  const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
  expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body;
}
async function invoice(customer: string, amount: number) {
  await ok('POST', '/v1/invoiceitems', { customer, amount, currency: 'usd', description: 'Leadership workshop' });
  const draft = await ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 });
  return ok('POST', `/v1/invoices/${draft.id}/finalize`, {});
}

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('next_invoice_sequence', () => {
  it("continues the customer's own series from the number given, then counts on", async () => {
    const acme = await ok('POST', '/v1/customers', { email: 'ap@acme.example', invoice_prefix: 'ACME', next_invoice_sequence: 458 });
    expect(acme.next_invoice_sequence).toBe(458);
    // Corrected before its first invoice: allowed, and an event says so.
    const corrected = await ok('POST', `/v1/customers/${acme.id}`, { next_invoice_sequence: 460 });
    expect(corrected.next_invoice_sequence).toBe(460);
    const ev = (await ok('GET', `/v1/events?type=customer.updated&object_id=${acme.id}`)).data[0];
    expect(ev.data.previous_attributes).toEqual({ next_invoice_sequence: 458 });

    expect((await invoice(acme.id, 250_000)).number).toBe('ACME-0460');
    expect((await invoice(acme.id, 120_000)).number).toBe('ACME-0461');
    expect((await ok('GET', `/v1/customers/${acme.id}`)).next_invoice_sequence).toBe(462);

    // Once the series has numbered invoices it cannot jump (a gap) or go back (a clash); the same number is a no-op.
    for (const n of [500, 400]) {
      const res = await t.call({ method: 'POST', url: `/v1/customers/${acme.id}`, payload: { next_invoice_sequence: n } });
      expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'invoice_sequence_in_use', 'next_invoice_sequence']);
    }
    expect((await ok('POST', `/v1/customers/${acme.id}`, { next_invoice_sequence: 462 })).next_invoice_sequence).toBe(462);
    expect((await invoice(acme.id, 5_000)).number).toBe('ACME-0462');

    // The books' gapless check counts from the series' first number, and still sees a gap in it.
    expect(await checkBooks(t.testDb.db)).toEqual([]);
    await t.testDb.db.query(`UPDATE invoices SET number = 'ACME-0463' WHERE number = 'ACME-0462'`);
    expect((await checkBooks(t.testDb.db)).map((p) => p.check)).toEqual(['invoice numbers gapless per series']);
    await t.testDb.db.query(`UPDATE invoices SET number = 'ACME-0462' WHERE number = 'ACME-0463'`);
  });

  it('is null on the account series and refused there, with nothing written', async () => {
    const plain = await ok('POST', '/v1/customers', { email: 'solo@example.com' });
    expect(plain.next_invoice_sequence).toBeNull();
    const res = await t.call({ method: 'POST', url: `/v1/customers/${plain.id}`, payload: { next_invoice_sequence: 10, name: 'Solo' } });
    expect([res.status, res.body.error?.param]).toEqual([400, 'next_invoice_sequence']);
    expect((await ok('GET', `/v1/customers/${plain.id}`)).name).toBeNull();
    const created = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'refused@example.com', next_invoice_sequence: 10 } });
    expect(created.status).toBe(400);
    expect((await ok('GET', '/v1/customers?email=refused@example.com')).data).toEqual([]);
  });

  it.skipIf(!usingPostgres)('racing finalizations (PostgreSQL): the series starts where it was set, or the change is refused — never a gap', async () => {
    const outcomes = new Set<number>();
    for (let round = 0; round < 6; round++) {
      const prefix = `RACE${round}`;
      const cus = await ok('POST', '/v1/customers', { email: `race${round}@acme.example`, invoice_prefix: prefix });
      const drafts: string[] = [];
      for (let i = 0; i < 4; i++) {
        await ok('POST', '/v1/invoiceitems', { customer: cus.id, amount: 1_000 + i, currency: 'usd' });
        drafts.push((await ok('POST', '/v1/invoices', { customer: cus.id, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 30 })).id);
      }
      const change = () => t.call({ method: 'POST', url: `/v1/customers/${cus.id}`, payload: { next_invoice_sequence: 100 } });
      const finals = drafts.map((d) => () => t.call({ method: 'POST', url: `/v1/invoices/${d}/finalize`, payload: {} }));
      // The change goes first, in the middle or last, while the finalizations run.
      const calls = [...finals];
      calls.splice(round % 5, 0, change);
      const res = await Promise.all(calls.map((c) => c()));
      const changed = res[round % 5]!;
      const numbers = res.filter((r) => r !== changed).map((r) => { expect(r.status, JSON.stringify(r.body)).toBe(200); return r.body.number as string; }).sort();
      if (changed.status === 200) {
        expect(numbers).toEqual([100, 101, 102, 103].map((n) => `${prefix}-0${n}`));
      } else {
        expect([changed.status, changed.body.error.code]).toEqual([400, 'invoice_sequence_in_use']);
        expect(numbers).toEqual([1, 2, 3, 4].map((n) => `${prefix}-000${n}`));
      }
      outcomes.add(changed.status);
    }
    // Which side wins a round depends on timing (both are seen across runs; the first test covers each
    // side in order): whichever it was, the numbers above matched it and the books hold.
    expect(await checkBooks(t.testDb.db), `outcomes ${[...outcomes].join(', ')}`).toEqual([]);
  }, 60_000);
});
