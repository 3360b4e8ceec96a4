import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// The invoice and invoice item routes: manual invoices built from pending items, the invoice
// lifecycle (draft → open → paid | void | uncollectible) with its refusals, payments that fail, and
// the events every transition writes.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let course: string;
beforeAll(async () => {
  t = await createBillingApp();
  course = await t.priceId('course_onetime');
});
afterAll(() => t.close());

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await t.testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n;
}

/** A customer's pending course purchase, invoiced as a draft. */
async function draftFor(customer: string, payload: Record<string, unknown> = {}) {
  const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: course } });
  expect(item.status, JSON.stringify(item.body)).toBe(200);
  const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer, ...payload } });
  expect(inv.status, JSON.stringify(inv.body)).toBe(200);
  return { item: item.body, invoice: inv.body };
}

async function openInvoice(customer: string): Promise<string> {
  const { invoice } = await draftFor(customer);
  const fin = await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}/finalize` });
  expect(fin.status, JSON.stringify(fin.body)).toBe(200);
  return invoice.id;
}

describe('manual invoices', () => {
  it('bills a course purchase: pending item → draft → finalize → pay with pm_card_visa', async () => {
    const cus = await t.customer({ email: 'course@example.com' });
    const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course, description: 'Self-paced course' } });
    expect(item.status).toBe(200);
    expect(item.body).toMatchObject({ object: 'invoiceitem', customer: cus, price: course, amount: 99_700, unit_amount: 99_700, quantity: 1, currency: 'usd', invoice: null, proration: false });
    expect(item.body.id).toMatch(/^ii_/);

    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, description: 'Course', metadata: { order: 'A-1' } } });
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({
      object: 'invoice',
      customer: cus,
      status: 'draft',
      number: null,
      billing_reason: 'manual',
      collection_method: 'charge_automatically',
      currency: 'usd',
      subtotal: 99_700,
      total: 99_700,
      amount_due: 99_700,
      amount_paid: 0,
      attempt_count: 0,
      description: 'Course',
      metadata: { order: 'A-1' },
      subscription: null,
      paid: false,
    });
    expect(draft.body.id).toMatch(/^in_/);
    expect(draft.body.lines.data).toHaveLength(1);
    expect(draft.body.lines.data[0]).toMatchObject({ amount: 99_700, price: course, quantity: 1, invoice_item: item.body.id, proration: false });
    const id = draft.body.id as string;

    // The item now belongs to the draft: a second invoice finds nothing pending.
    const attached = await t.call({ method: 'GET', url: `/v1/invoiceitems/${item.body.id}` });
    expect(attached.body.invoice).toBe(id);
    const pending = await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${cus}&pending=true` });
    expect(pending.body.data).toEqual([]);

    const fin = await t.call({ method: 'POST', url: `/v1/invoices/${id}/finalize` });
    expect(fin.status).toBe(200);
    expect(fin.body).toMatchObject({ status: 'open', amount_due: 99_700, amount_remaining: 99_700, status_transitions: { finalized_at: 1768478400 } });
    expect(fin.body.number).toMatch(/^RECUR-\d{4}$/);

    const again = await t.call({ method: 'POST', url: `/v1/invoices/${id}/finalize` });
    expect(again.status).toBe(400);
    expect(again.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invoice_not_draft' });

    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { payment_method: 'pm_card_visa' } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', paid: true, amount_paid: 99_700, amount_remaining: 0, attempt_count: 1, paid_out_of_band: false, number: fin.body.number });
    expect(paid.body.status_transitions.paid_at).toBe(1768478400);

    const pis = await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${id}` });
    expect(pis.body.data).toHaveLength(1);
    expect(pis.body.data[0]).toMatchObject({ amount: 99_700, amount_received: 99_700, currency: 'usd', customer: cus, invoice: id, status: 'succeeded' });

    // A paid invoice can be neither paid, voided, deleted nor marked uncollectible again.
    const payAgain = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(payAgain.status).toBe(400);
    expect(payAgain.body.error.code).toBe('invoice_already_paid');
    const voided = await t.call({ method: 'POST', url: `/v1/invoices/${id}/void` });
    expect(voided.status).toBe(400);
    expect(voided.body.error).toMatchObject({ code: 'invoice_not_voidable', param: 'id' });
    const deleted = await t.call({ method: 'DELETE', url: `/v1/invoices/${id}` });
    expect(deleted.status).toBe(400);
    expect(deleted.body.error.code).toBe('invoice_not_editable');
    const unc = await t.call({ method: 'POST', url: `/v1/invoices/${id}/mark_uncollectible` });
    expect(unc.status).toBe(400);
    expect(unc.body.error.code).toBe('invoice_not_open');

    const retrieved = await t.call({ method: 'GET', url: `/v1/invoices/${id}` });
    expect(retrieved.body).toEqual(paid.body);

    // Events: invoice.created, .finalized, .paid, .payment_succeeded, each carrying the invoice.
    const types = await t.call({ method: 'GET', url: `/v1/events?object_id=${id}` });
    expect(types.body.data.map((e: { type: string }) => e.type).sort()).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);
    const paidEvents = await t.call({ method: 'GET', url: `/v1/events?type=invoice.paid&customer=${cus}` });
    expect(paidEvents.status).toBe(200);
    expect(paidEvents.body.data).toHaveLength(1);
    expect(paidEvents.body.data[0]).toMatchObject({ object: 'event', type: 'invoice.paid', data: { object: { id, object: 'invoice', status: 'paid', amount_paid: 99_700 } } });
    const wildcard = await t.call({ method: 'GET', url: `/v1/events?type=invoice.*&customer=${cus}` });
    expect(wildcard.body.data).toHaveLength(4);
    const items = await t.call({ method: 'GET', url: `/v1/events?type=invoiceitem.created&customer=${cus}` });
    expect(items.body.data.map((e: { data: { object: { id: string } } }) => e.data.object.id)).toEqual([item.body.id]);
  });

  it('pays with the customer’s default card when none is given', async () => {
    const cus = await t.customer({ card: 'pm_card_mastercard' });
    const id = await openInvoice(cus);
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amount_paid: 99_700 });
  });

  it('refuses to void or mark uncollectible a draft (paying or sending one finalizes it: test/scenarios/draft-actions.test.ts)', async () => {
    const cus = await t.customer();
    const { invoice } = await draftFor(cus);
    expect((await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}/void` })).status).toBe(400);
    expect((await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}/mark_uncollectible` })).status).toBe(400);
    // Nothing was charged and nothing moved.
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1`, [invoice.id])).toBe(0);
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` })).body).toMatchObject({ status: 'draft', number: null, attempt_count: 0 });
  });

  it('marks an open invoice uncollectible, then records an out-of-band payment', async () => {
    const cus = await t.customer();
    const id = await openInvoice(cus);
    const unc = await t.call({ method: 'POST', url: `/v1/invoices/${id}/mark_uncollectible` });
    expect(unc.status).toBe(200);
    expect(unc.body).toMatchObject({ status: 'uncollectible', amount_remaining: 99_700, status_transitions: { marked_uncollectible_at: 1768478400 } });
    const oob = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { paid_out_of_band: true } });
    expect(oob.status).toBe(200);
    expect(oob.body).toMatchObject({ status: 'paid', paid_out_of_band: true, amount_paid: 99_700, amount_remaining: 0, attempt_count: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1`, [id])).toBe(0);
  });

  it('voids an open invoice, which keeps its number', async () => {
    const cus = await t.customer();
    const id = await openInvoice(cus);
    const voided = await t.call({ method: 'POST', url: `/v1/invoices/${id}/void` });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ status: 'void', amount_remaining: 0, amount_paid: 0, status_transitions: { voided_at: 1768478400 } });
    expect(voided.body.number).toMatch(/^RECUR-\d{4}$/);
    const twice = await t.call({ method: 'POST', url: `/v1/invoices/${id}/void` });
    expect(twice.status).toBe(400);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { paid_out_of_band: true } });
    expect(pay.status).toBe(400);
    const ev = await t.call({ method: 'GET', url: `/v1/events?type=invoice.voided&customer=${cus}` });
    expect(ev.body.data.map((e: { data: { object: { id: string; status: string } } }) => [e.data.object.id, e.data.object.status])).toEqual([[id, 'void']]);
  });

  it('keeps a declined payment: 402 card_error with decline_code, a persisted payment intent and attempt_count 1', async () => {
    const cus = await t.customer({ card: 'pm_card_chargeDeclinedInsufficientFunds' });
    const id = await openInvoice(cus);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' });
    expect(res.body.error.payment_intent).toMatchObject({ invoice: id, amount: 99_700, status: 'requires_payment_method' });

    const pis = await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${id}` });
    expect(pis.status).toBe(200);
    expect(pis.body.data).toHaveLength(1);
    expect(pis.body.data[0]).toMatchObject({ id: res.body.error.payment_intent.id, amount: 99_700, amount_received: 0, status: 'requires_payment_method' });
    expect(pis.body.data[0].last_payment_error).toMatchObject({ code: 'card_declined', decline_code: 'insufficient_funds' });

    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${id}` });
    expect(inv.body).toMatchObject({ status: 'open', attempt_count: 1, attempted: true, amount_paid: 0, amount_remaining: 99_700 });
    const failed = await t.call({ method: 'GET', url: `/v1/events?type=invoice.payment_failed&customer=${cus}` });
    expect(failed.body.data).toHaveLength(1);
    expect(failed.body.data[0].data.object).toMatchObject({ id, attempt_count: 1 });

    // A second attempt with a good card settles it.
    const ok = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { payment_method: 'pm_card_visa' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'paid', attempt_count: 2, amount_paid: 99_700 });
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${id}` })).body.data.map((p: { status: string }) => p.status)).toEqual(['succeeded', 'requires_payment_method']);
  });

  it('refuses to charge another customer’s payment method, recording no attempt', async () => {
    const owner = await t.customer();
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: owner } });
    const cus = await t.customer();
    const id = await openInvoice(cus);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { payment_method: pm.body.id } });
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe('payment_method');
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${id}` })).body).toMatchObject({ status: 'open', attempt_count: 0 });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1`, [id])).toBe(0);
  });

  it('applies the customer credit balance at finalization and gives it back when the invoice is voided', async () => {
    const cus = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'credit@example.com', balance: -50_000 } })).body.id as string;
    const id = await openInvoice(cus);
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${id}` });
    expect(inv.body).toMatchObject({ status: 'open', total: 99_700, starting_balance: -50_000, ending_balance: 0, amount_due: 49_700, amount_remaining: 49_700 });
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.balance).toBe(0);
    const voided = await t.call({ method: 'POST', url: `/v1/invoices/${id}/void` });
    expect(voided.body.status).toBe('void');
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.balance).toBe(-50_000);

    // A credit larger than the invoice pays it at finalization, keeping the rest.
    const rich = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'rich@example.com', balance: -100_000 } })).body.id as string;
    const covered = await openInvoice(rich);
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${covered}` })).body).toMatchObject({ status: 'paid', amount_due: 0, amount_paid: 0, starting_balance: -100_000, ending_balance: -300 });
    expect((await t.call({ method: 'GET', url: `/v1/customers/${rich}` })).body.balance).toBe(-300);
  });

  it('answers 400 without charging or counting an attempt when the customer has no payment method', async () => {
    const cus = await t.customer();
    const id = await openInvoice(cus);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'payment_method_missing', param: 'payment_method' });
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${id}` })).body).toMatchObject({ status: 'open', attempt_count: 0 });
  });

  it('updates a draft, and only the description and metadata of a finalized invoice (not its collection_method)', async () => {
    const cus = await t.customer();
    const { invoice } = await draftFor(cus);
    const upd = await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}`, payload: { description: 'Updated', auto_advance: false, metadata: { a: '1' } } });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ description: 'Updated', auto_advance: false, metadata: { a: '1' }, status: 'draft' });
    await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}/finalize` });
    // Stripe: "Once an invoice is finalized, monetary values, as well as collection_method, become uneditable."
    const refused = await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}`, payload: { collection_method: 'send_invoice', days_until_due: 30 } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invoice_not_editable', param: 'collection_method' });
    const meta = await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}`, payload: { description: 'Finalized memo', metadata: { b: '2', a: '' } } });
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({ description: 'Finalized memo', metadata: { b: '2' }, status: 'open', collection_method: 'charge_automatically' });
  });

  it('deletes a draft, putting its items back to pending', async () => {
    const cus = await t.customer();
    const { item, invoice } = await draftFor(cus);
    const del = await t.call({ method: 'DELETE', url: `/v1/invoices/${invoice.id}` });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: invoice.id, object: 'invoice', deleted: true });
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` })).status).toBe(404);
    expect((await t.call({ method: 'DELETE', url: `/v1/invoices/${invoice.id}` })).status).toBe(404);
    const back = await t.call({ method: 'GET', url: `/v1/invoiceitems/${item.id}` });
    expect(back.body.invoice).toBeNull();
    // The item is billed by the next invoice.
    const next = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(next.body).toMatchObject({ status: 'draft', total: 99_700 });
    expect(next.body.lines.data.map((l: { invoice_item: string }) => l.invoice_item)).toEqual([item.id]);
  });

  it('refuses to delete a subscription’s renewal draft, which would leave the period unbilled', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status).toBe(200);
    // Renewal drafts wait an hour (finalizeDelaySeconds) before they are finalized.
    await t.advance(clock, '2026-04-01T00:30:00Z');
    const draft = (await t.invoices(sub.body.id)).find((i) => i.status === 'draft')!;
    expect(draft).toMatchObject({ billing_reason: 'subscription_cycle', total: 9_700 });
    const del = await t.call({ method: 'DELETE', url: `/v1/invoices/${draft.id}` });
    expect(del.status).toBe(400);
    expect(del.body.error).toMatchObject({ code: 'invoice_not_deletable', param: 'id' });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect((await t.invoices(sub.body.id)).map((i) => [i.billing_reason, i.status, i.amount_paid])).toEqual([
      ['subscription_create', 'paid', 9_700],
      ['subscription_cycle', 'paid', 9_700],
    ]);
  });

  it('creates an empty draft with an explicit currency, or refuses without one', async () => {
    const cus = await t.customer();
    const none = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(none.status).toBe(400);
    expect(none.body.error).toMatchObject({ param: 'currency', code: 'parameter_missing' });
    const empty = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, currency: 'USD' } });
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ status: 'draft', currency: 'usd', total: 0, lines: { data: [] } });
    // Excluding pending items leaves them pending.
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const excl = await t.call({ method: 'POST', url: '/v1/invoices', payload: { customer: cus, pending_invoice_items_behavior: 'exclude', currency: 'usd' } });
    expect(excl.body).toMatchObject({ total: 0, lines: { data: [] } });
    expect((await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${cus}&pending=true` })).body.data).toHaveLength(1);
  });

  it('invoices with send_invoice only with days_until_due, and then computes the due date', async () => {
    const cus = await t.customer();
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const missing = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ param: 'days_until_due', code: 'parameter_missing' });
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [cus])).toBe(0);
    const ok = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 30 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ collection_method: 'send_invoice', due_date: 1768478400 + 30 * 86400, total: 99_700 });
  });

  it('404s on unknown invoices and customers, naming the param', async () => {
    const unknownCustomer = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: 'cus_missing' } });
    expect(unknownCustomer.status).toBe(404);
    expect(unknownCustomer.body.error).toMatchObject({ code: 'resource_missing', param: 'customer' });
    for (const [method, url] of [
      ['GET', '/v1/invoices/in_missing'],
      ['GET', '/v1/invoices/in_missing/lines'],
      ['POST', '/v1/invoices/in_missing/finalize'],
      ['POST', '/v1/invoices/in_missing/pay'],
      ['POST', '/v1/invoices/in_missing/void'],
      ['POST', '/v1/invoices/in_missing/mark_uncollectible'],
      ['DELETE', '/v1/invoices/in_missing'],
    ] as const) {
      const res = await t.call({ method, url });
      expect(res.status, url).toBe(404);
      expect(res.body.error, url).toMatchObject({ code: 'resource_missing', param: 'id' });
    }
  });

  it('rejects bad params on every invoice mutation, naming the param', async () => {
    const cus = await t.customer();
    const { invoice } = await draftFor(cus);
    const cases: [string, string, unknown, string, string][] = [
      ['POST', '/v1/invoices', { customer: cus, days_until_due: -1 }, 'days_until_due', 'parameter_invalid'],
      ['POST', '/v1/invoices', { customer: cus, collection_method: 'by_pigeon' }, 'collection_method', 'parameter_invalid'],
      ['POST', '/v1/invoices', { customer: cus, currency: 'zzz' }, 'currency', 'parameter_invalid'],
      ['POST', '/v1/invoices', {}, 'customer', 'parameter_missing'],
      ['POST', '/v1/invoices', { customer: cus, colour: 'red' }, 'colour', 'parameter_unknown'],
      ['POST', `/v1/invoices/${invoice.id}`, { auto_advance: 'maybe' }, 'auto_advance', 'parameter_invalid'],
      ['POST', `/v1/invoices/${invoice.id}`, { total: 1 }, 'total', 'parameter_unknown'],
      ['POST', `/v1/invoices/${invoice.id}/finalize`, { auto_advance: 'x' }, 'auto_advance', 'parameter_invalid'],
      ['POST', `/v1/invoices/${invoice.id}/pay`, { paid_out_of_band: 'perhaps' }, 'paid_out_of_band', 'parameter_invalid'],
      ['POST', `/v1/invoices/${invoice.id}/pay`, { amount: 5 }, 'amount', 'parameter_unknown'],
      ['POST', `/v1/invoices/${invoice.id}/void`, { reason: 'x' }, 'reason', 'parameter_unknown'],
      ['POST', `/v1/invoices/${invoice.id}/mark_uncollectible`, { reason: 'x' }, 'reason', 'parameter_unknown'],
      ['POST', '/v1/invoiceitems', { customer: cus, price: course, quantity: 0 }, 'quantity', 'parameter_invalid'],
      ['POST', '/v1/invoiceitems', { customer: cus, amount: 'ten', currency: 'usd' }, 'amount', 'parameter_invalid'],
      ['POST', '/v1/invoiceitems', { customer: cus, amount: 100, currency: 'usd', period: { start: 1 } }, 'period[end]', 'parameter_missing'],
      // One amount stops at 9,999,999.99 (MAX_AMOUNT), so unit × quantity never overflows.
      ['POST', '/v1/invoiceitems', { customer: cus, amount: -1_000_000_000, currency: 'usd' }, 'amount', 'parameter_invalid'],
      ['POST', '/v1/invoiceitems', { customer: cus, unit_amount: 1_000_000_000, quantity: 250_000, currency: 'usd' }, 'unit_amount', 'parameter_invalid'],
      ['POST', '/v1/invoiceitems', { customer: cus, amount: 100, currency: 'usd', subscription: '' }, 'subscription', 'parameter_invalid'],
    ];
    for (const [method, url, payload, param, code] of cases) {
      const res = await t.call({ method, url, payload: payload as object });
      expect(res.status, `${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(res.body.error, `${url} ${JSON.stringify(payload)}`).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` })).body).toMatchObject({ status: 'draft', total: 99_700, metadata: {} });
  });

  it('lists invoices filtered by customer, subscription and status, and an invoice’s lines', async () => {
    const a = await t.customer({ card: 'pm_card_visa' });
    const b = await t.customer();
    const paidId = await openInvoice(a);
    await t.call({ method: 'POST', url: `/v1/invoices/${paidId}/pay` });
    const openId = await openInvoice(a);
    const { invoice: draftB } = await draftFor(b);
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status).toBe(200);
    const subInvoice = sub.body.latest_invoice as string;

    const ids = async (qs: string) => ((await t.call({ method: 'GET', url: `/v1/invoices?${qs}` })).body.data as { id: string }[]).map((i) => i.id);
    expect(await ids(`customer=${a}`)).toEqual([subInvoice, openId, paidId]);
    expect(await ids(`customer=${b}`)).toEqual([draftB.id]);
    expect(await ids(`customer=${a}&status=paid`)).toEqual([subInvoice, paidId]);
    expect(await ids(`customer=${a}&status=open`)).toEqual([openId]);
    expect(await ids(`customer=${b}&status=draft`)).toEqual([draftB.id]);
    expect(await ids(`subscription=${sub.body.id}`)).toEqual([subInvoice]);
    expect(await ids(`customer=${a}&limit=1`)).toEqual([subInvoice]);
    expect(await ids(`customer=${a}&limit=1&starting_after=${subInvoice}`)).toEqual([openId]);
    const page = await t.call({ method: 'GET', url: `/v1/invoices?customer=${a}&limit=2` });
    expect(page.body).toMatchObject({ object: 'list', has_more: true, url: '/v1/invoices' });
    expect(page.body.data[0]).toMatchObject({ object: 'invoice', subscription: sub.body.id, billing_reason: 'subscription_create', total: 9_700, amount_paid: 9_700 });
    const bad = await t.call({ method: 'GET', url: '/v1/invoices?status=pending' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('status');

    const lines = await t.call({ method: 'GET', url: `/v1/invoices/${subInvoice}/lines` });
    expect(lines.status).toBe(200);
    expect(lines.body).toMatchObject({ object: 'list', has_more: false, url: `/v1/invoices/${subInvoice}/lines` });
    expect(lines.body.data).toHaveLength(1);
    expect(lines.body.data[0]).toMatchObject({ object: 'line_item', type: 'subscription', amount: 9_700, quantity: 1, subscription: sub.body.id, invoice: subInvoice, proration: false });
  });
});

describe('invoice currency, subscriptions and lines', () => {
  it('bills only the pending items in the invoice currency; the others wait for their own invoice', async () => {
    const cus = await t.customer();
    const usd = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 100, currency: 'usd' } });
    const eur = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 200, currency: 'eur' } });
    expect([usd.status, eur.status]).toEqual([200, 200]);
    const first = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ currency: 'usd', subtotal: 100, total: 100 });
    expect(first.body.lines.data.map((l: { invoice_item: string; currency: string }) => [l.invoice_item, l.currency])).toEqual([[usd.body.id, 'usd']]);
    expect((await t.call({ method: 'GET', url: `/v1/invoiceitems/${eur.body.id}` })).body.invoice).toBeNull();
    const second = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, currency: 'eur' } });
    expect(second.body).toMatchObject({ currency: 'eur', total: 200 });
    expect(second.body.lines.data.map((l: { invoice_item: string; currency: string }) => [l.invoice_item, l.currency])).toEqual([[eur.body.id, 'eur']]);
    // An item in another currency cannot join a draft either.
    const mixed = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: first.body.id, amount: 300, currency: 'eur' } });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error).toMatchObject({ param: 'currency', code: 'currency_mismatch' });
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${first.body.id}` })).body.total).toBe(100);
  });

  it('404s (not 500s) on a subscription that does not exist or is another customer’s', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const other = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: other, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status).toBe(200);
    for (const subscription of ['sub_missing', sub.body.id as string]) {
      const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, subscription, currency: 'usd' } });
      expect(inv.status, subscription).toBe(404);
      expect(inv.body.error).toMatchObject({ code: 'resource_missing', param: 'subscription' });
      const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, subscription, amount: 100, currency: 'usd' } });
      expect(item.status, subscription).toBe(404);
      expect(item.body.error).toMatchObject({ code: 'resource_missing', param: 'subscription' });
    }
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [cus])).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = $1`, [cus])).toBe(0);

    // With its own subscription, a manual invoice takes that subscription's and customer-level items.
    const own = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: other, subscription: sub.body.id, amount: 700, currency: 'usd' } });
    expect(own.body.subscription).toBe(sub.body.id);
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: other, subscription: sub.body.id } });
    expect(inv.status).toBe(200);
    expect(inv.body).toMatchObject({ subscription: sub.body.id, total: 700, billing_reason: 'manual' });
  });

  it('pages through an invoice’s lines in invoice order', async () => {
    const cus = await t.customer();
    const ids: string[] = [];
    for (const amount of [100, 200, 300]) ids.push((await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount, currency: 'usd' } })).body.id);
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(inv.body.total).toBe(600);
    const all = (inv.body.lines.data as { id: string; amount: number }[]).map((l) => l.id);
    expect(inv.body.lines.data.map((l: { amount: number }) => l.amount)).toEqual([100, 200, 300]);
    const page = (qs: string) => t.call({ method: 'GET', url: `/v1/invoices/${inv.body.id}/lines?${qs}` });
    const p1 = await page('limit=2');
    expect(p1.body.data.map((l: { id: string }) => l.id)).toEqual(all.slice(0, 2));
    expect(p1.body.has_more).toBe(true);
    const p2 = await page(`limit=2&starting_after=${all[1]}`);
    expect(p2.body.data.map((l: { id: string }) => l.id)).toEqual([all[2]]);
    expect(p2.body.has_more).toBe(false);
    const back = await page(`limit=1&ending_before=${all[2]}`);
    expect(back.body.data.map((l: { id: string }) => l.id)).toEqual([all[1]]);
    expect(back.body.has_more).toBe(true);
    const bad = await page('starting_after=il_missing');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('starting_after');
  });
});

describe('invoice items', () => {
  it('creates items from a price or from an amount and currency, and lists and deletes pending ones', async () => {
    const cus = await t.customer();
    const fromPrice = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course, quantity: 2 } });
    expect(fromPrice.status).toBe(200);
    expect(fromPrice.body).toMatchObject({ amount: 199_400, unit_amount: 99_700, quantity: 2, currency: 'usd' });
    const fromAmount = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 2_500, currency: 'usd', description: 'Setup fee', metadata: { k: 'v' } } });
    expect(fromAmount.status).toBe(200);
    expect(fromAmount.body).toMatchObject({ amount: 2_500, unit_amount: 2_500, quantity: 1, currency: 'usd', price: null, description: 'Setup fee', metadata: { k: 'v' }, period: { start: 1768478400, end: 1768478400 } });
    const unit = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, unit_amount: 300, quantity: 3, currency: 'usd' } });
    expect(unit.body).toMatchObject({ amount: 900, unit_amount: 300, quantity: 3 });
    const amountWithQuantity = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 300, quantity: 3, currency: 'usd' } });
    expect(amountWithQuantity.status).toBe(400);
    expect(amountWithQuantity.body.error.param).toBe('amount');

    const listed = await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${cus}&pending=true` });
    expect(listed.body.data.map((i: { id: string }) => i.id)).toEqual([unit.body.id, fromAmount.body.id, fromPrice.body.id]);

    const del = await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${unit.body.id}` });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: unit.body.id, object: 'invoiceitem', deleted: true });
    expect((await t.call({ method: 'GET', url: `/v1/invoiceitems/${unit.body.id}` })).status).toBe(404);
    expect((await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${unit.body.id}` })).status).toBe(404);

    // The invoice bills the two remaining items.
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(inv.body).toMatchObject({ subtotal: 201_900, total: 201_900, amount_due: 201_900 });
    expect(inv.body.lines.data).toHaveLength(2);
    const ev = await t.call({ method: 'GET', url: `/v1/events?type=invoiceitem.deleted&customer=${cus}` });
    expect(ev.body.data.map((e: { data: { object: { id: string } } }) => e.data.object.id)).toEqual([unit.body.id]);
  });

  it('refuses an item with neither price nor amount, a price without the currency, or a second currency', async () => {
    const cus = await t.customer();
    const none = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus } });
    expect(none.status).toBe(400);
    expect(none.body.error).toMatchObject({ param: 'price', code: 'parameter_missing' });
    const noCurrency = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 100 } });
    expect(noCurrency.status).toBe(400);
    expect(noCurrency.body.error).toMatchObject({ param: 'currency', code: 'parameter_missing' });
    const priceInEur = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course, currency: 'eur' } });
    expect(priceInEur.status).toBe(400);
    expect(priceInEur.body.error).toMatchObject({ param: 'price', code: 'currency_mismatch' });
    const unknownPrice = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: 'price_missing' } });
    expect(unknownPrice.status).toBe(404);
    expect(unknownPrice.body.error).toMatchObject({ param: 'price', code: 'resource_missing' });
    const unknownCustomer = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: 'cus_missing', price: course } });
    expect(unknownCustomer.status).toBe(404);
    expect(unknownCustomer.body.error).toMatchObject({ param: 'customer', code: 'resource_missing' });

    // A customer billed in USD (its currency is set by its first subscription) takes no EUR item.
    const usd = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: usd, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(sub.status).toBe(200);
    const eur = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: usd, amount: 100, currency: 'eur' } });
    expect(eur.status).toBe(400);
    expect(eur.body.error).toMatchObject({ param: 'currency', code: 'currency_mismatch' });
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = ANY($1::text[])`, [[cus, usd]])).toBe(0);
  });

  it('adds an item to a draft invoice and rebuilds the draft totals; refuses a finalized one', async () => {
    const cus = await t.customer();
    const { invoice } = await draftFor(cus);
    const added = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: invoice.id, amount: 5_000, currency: 'usd', description: 'Workbook' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.invoice).toBe(invoice.id);
    const rebuilt = await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` });
    expect(rebuilt.body).toMatchObject({ status: 'draft', subtotal: 104_700, total: 104_700, amount_due: 104_700, amount_remaining: 104_700 });
    expect(rebuilt.body.lines.data.map((l: { amount: number }) => l.amount).sort()).toEqual([5_000, 99_700]);

    // Deleting it from the draft rebuilds again.
    const del = await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${added.body.id}` });
    expect(del.status).toBe(200);
    const back = await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` });
    expect(back.body).toMatchObject({ total: 99_700, amount_due: 99_700 });
    expect(back.body.lines.data).toHaveLength(1);

    const fin = await t.call({ method: 'POST', url: `/v1/invoices/${invoice.id}/finalize` });
    expect(fin.status).toBe(200);
    const late = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: invoice.id, amount: 100, currency: 'usd' } });
    expect(late.status).toBe(400);
    expect(late.body.error).toMatchObject({ param: 'invoice', code: 'invoice_not_editable' });
    const lineItem = back.body.lines.data[0].invoice_item as string;
    const delFinal = await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${lineItem}` });
    expect(delFinal.status).toBe(400);
    expect(delFinal.body.error.code).toBe('invoice_not_editable');
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${invoice.id}` })).body).toMatchObject({ status: 'open', total: 99_700 });

    const other = await t.customer();
    const foreign = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: other, invoice: invoice.id, amount: 100, currency: 'usd' } });
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.param).toBe('invoice');
  });
});
