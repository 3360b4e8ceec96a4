import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { allEvents } from '../../src/modules/events/batches.js';
import { countRows, errorOf, events, get, ok, unix, type BillingApp } from './support.js';

// Stripe "automatically finalizes drafts before sending and attempting payment on invoices": paying
// or sending a draft finalizes it first, in the same request. A payment refused with a 400 (nothing
// to charge with) leaves the draft as it was, its number not taken.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-05-04T09:00:00Z');
});
afterAll(() => t.close());

async function draftFor(customer: string, amount: number, extra: Record<string, unknown> = {}) {
  if (amount > 0) await ok(t, 'POST', '/v1/invoiceitems', { customer, amount, currency: 'usd', description: 'Coaching session' });
  return ok(t, 'POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
}
const seq = (n: string) => Number(n.split('-').pop());
/** Every number given so far, in order: 1, 2, 3, … without a gap (one series for the account). */
async function numbersGiven(): Promise<number[]> {
  const { rows } = await t.testDb.db.query<{ number: string }>(`SELECT number FROM invoices WHERE number IS NOT NULL`);
  return rows.map((r) => seq(r.number)).sort((a, b) => a - b);
}

describe('paying a draft', () => {
  it('finalizes it, then charges the card on file: invoice.finalized before invoice.paid', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const draft = await draftFor(customer, 35_000);
    expect([draft.status, draft.number]).toEqual(['draft', null]);
    const paid = await ok(t, 'POST', `/v1/invoices/${draft.id}/pay`);
    expect([paid.status, paid.amount_paid, paid.amount_remaining, paid.attempt_count]).toEqual(['paid', 35_000, 0, 1]);
    expect([paid.number !== null, paid.status_transitions.finalized_at, paid.status_transitions.paid_at]).toEqual([true, unix('2026-05-04T09:00:00Z'), unix('2026-05-04T09:00:00Z')]);
    const finalized = await events(t, customer, 'invoice.finalized');
    const paidEvents = await events(t, customer, 'invoice.paid');
    expect([finalized.length, paidEvents.length, finalized[0]!.data.object.status, paidEvents[0]!.data.object.status]).toEqual([1, 1, 'open', 'paid']);
    expect(finalized[0]!.id < paidEvents[0]!.id).toBe(true);
  });

  it('with a declining card: finalized and left open with the failed attempt, answered 402', async () => {
    const customer = await t.customer({ card: 'pm_card_chargeCustomerFail' });
    const draft = await draftFor(customer, 12_000);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay` });
    expect([res.status, res.body.error.type, res.body.error.code]).toEqual([402, 'card_error', 'card_declined']);
    const inv = await get(t, `/v1/invoices/${draft.id}`);
    expect([inv.status, inv.attempt_count, inv.amount_remaining, inv.number === null]).toEqual(['open', 1, 12_000, false]);
    const intents = (await get(t, `/v1/payment_intents?invoice=${draft.id}`)).data;
    expect(intents.map((p: { status: string; amount: number }) => [p.status, p.amount])).toEqual([['requires_payment_method', 12_000]]);
  });

  it('without a payment method: 400, and the draft stays a draft without a number', async () => {
    const customer = await t.customer();
    const draft = await draftFor(customer, 8_000);
    const before = await countRows(t, 'events');
    expect(errorOf(await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay` }))).toEqual([400, 'payment_method_missing', 'payment_method']);
    const inv = await get(t, `/v1/invoices/${draft.id}`);
    expect([inv.status, inv.number, inv.status_transitions.finalized_at]).toEqual(['draft', null, null]);
    expect(await countRows(t, 'events')).toBe(before);
    // Paid out of band instead: finalized, then marked paid.
    const given = await numbersGiven();
    const oob = await ok(t, 'POST', `/v1/invoices/${draft.id}/pay`, { paid_out_of_band: true });
    expect([oob.status, oob.paid_out_of_band, oob.amount_paid, seq(oob.number)]).toEqual(['paid', true, 8_000, given.length + 1]);
    expect(await numbersGiven()).toEqual([...given.keys(), given.length].map((i) => i + 1));
  });

  it('with nothing due: its finalization pays it, and the answer is the paid invoice', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const draft = await draftFor(customer, 0, { currency: 'usd' });
    expect(draft.total).toBe(0);
    const paid = await ok(t, 'POST', `/v1/invoices/${draft.id}/pay`);
    expect([paid.status, paid.amount_paid, paid.attempt_count]).toEqual(['paid', 0, 0]);
    expect((await get(t, `/v1/payment_intents?invoice=${draft.id}`)).data).toEqual([]);
    // Paying it again is refused as for any paid invoice.
    expect(errorOf(await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay` }))).toEqual([400, 'invoice_already_paid', undefined]);
  });
});

describe('sending a draft', () => {
  it('finalizes a send_invoice draft and emails it; a deleted draft cannot be sent', async () => {
    const customer = await t.customer({ email: 'team@enterprise.example' });
    const draft = await draftFor(customer, 250_000, { collection_method: 'send_invoice', days_until_due: 14 });
    const sent = await ok(t, 'POST', `/v1/invoices/${draft.id}/send`);
    expect([sent.status, sent.due_date]).toEqual(['open', unix('2026-05-18T09:00:00Z')]);
    expect((await numbersGiven()).at(-1)).toBe(seq(sent.number));
    expect((await events(t, customer, 'invoice.sent')).map((e) => [e.data.object.id, e.data.object.status])).toEqual([[draft.id, 'open']]);

    const other = await draftFor(customer, 1_000, { collection_method: 'send_invoice', days_until_due: 14 });
    await ok(t, 'DELETE', `/v1/invoices/${other.id}`);
    expect(errorOf(await t.call({ method: 'POST', url: `/v1/invoices/${other.id}/send` }))).toEqual([404, 'resource_missing', 'id']);
  });
});

describe('paying a draft, racing', () => {
  it('two pay calls on one draft: one finalization, one charge; the other is told it is paid', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const draft = await draftFor(customer, 4_400);
    const results = await Promise.all([1, 2].map(() => t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay` })));
    expect(results.map((r) => [r.status, r.body.error?.code ?? r.body.status]).sort()).toEqual([
      [200, 'paid'],
      [400, 'invoice_already_paid'],
    ]);
    expect((await get(t, `/v1/payment_intents?invoice=${draft.id}`)).data.map((p: { status: string }) => p.status)).toEqual(['succeeded']);
    expect((await events(t, customer, 'invoice.finalized')).length).toBe(1);
  });

  it.skipIf(!usingPostgres)('pay calls racing two workers over renewal drafts: each invoice finalized once and charged once', async () => {
    const price = await t.priceId('community_monthly');
    const subs: { customer: string; sub: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const customer = await t.customer({ card: 'pm_card_visa' });
      subs.push({ customer, sub: (await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now' })).id });
    }
    // The renewals' drafts: the worker makes them at the period end and finalizes them an hour later.
    const due = new Date(t.clock.now().getTime() + 32 * 86_400_000);
    await drainBilling(t.testDb.db, t.deps, { clock: null }, due);
    const { rows } = await t.testDb.db.query<{ id: string }>(`SELECT id FROM invoices WHERE subscription = ANY($1::text[]) AND status = 'draft' ORDER BY id`, [subs.map((s) => s.sub)]);
    expect(rows.length).toBe(12);
    t.clock.set(new Date(due.getTime() + 2 * 3600_000));
    const other = await t.testDb.openAnother(2);
    const later = t.clock.now();
    // The workers take two drafts a batch in id order; two API callers go through them from the other end,
    // so that they meet somewhere in the middle.
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 2 } };
    const backwards = [...rows].reverse();
    const caller = async (ids: { id: string }[]) => {
      const out: string[] = [];
      for (const r of ids) {
        const res = await t.call({ method: 'POST', url: `/v1/invoices/${r.id}/pay` });
        out.push(`${res.status} ${res.body.error?.code ?? res.body.status}`);
      }
      return out;
    };
    const [a, b] = await Promise.all([
      caller(backwards.filter((_, i) => i % 2 === 0)),
      caller(backwards.filter((_, i) => i % 2 === 1)),
      drainBilling(t.testDb.db, deps, { clock: null }, later),
      drainBilling(other, deps, { clock: null }, later),
    ]);
    // Each call either paid the draft itself or found it paid by a worker.
    for (const answer of [...a, ...b]) expect(['200 paid', '400 invoice_already_paid']).toContain(answer);
    const { rows: counts } = await t.testDb.db.query<{ status: string; intents: number; numbered: boolean }>(
      `SELECT i.status, (SELECT count(*)::int FROM payment_intents p WHERE p.invoice = i.id) AS intents, i.number IS NOT NULL AS numbered
         FROM invoices i WHERE i.id = ANY($1::text[]) ORDER BY i.id`,
      [rows.map((r) => r.id)],
    );
    expect(counts).toEqual(rows.map(() => ({ status: 'paid', intents: 1, numbered: true })));
    const finalized = (await allEvents(t.testDb.db, { types: ['invoice.finalized'] })).filter((e) => rows.some((r) => r.id === e.object_id));
    expect(finalized.length).toBe(12);
    expect(await numbersGiven()).toEqual((await numbersGiven()).map((_, i) => i + 1));
  });
});
