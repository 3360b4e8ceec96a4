import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeClient } from './helpers/stripe-sdk.js';
import { createBillingApp, unix } from './helpers/billing.js';

// The official Stripe SDK after the sale, as an integration's support tooling uses it: credit notes
// (previewed, by line, by amount with a refund, voided), refunds, the customer's balance, an invoice
// marked uncollectible, a card detached and the events listed. A real listening server: the SDK's own
// encoding of nested arrays (lines[0][amount]) in bodies and in GET query strings is what is tested.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let stripe: Stripe;
let group: string;

beforeAll(async () => {
  t = await createBillingApp();
  stripe = await stripeClient(t);
  group = (await stripe.prices.list({ lookup_keys: ['group_monthly'] })).data[0]!.id;
});
afterAll(() => t.close());

/** A paid Group invoice (150,000) of a new customer on a new clock, and its payment intent. */
async function paidInvoice(card = 'pm_card_visa') {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
  const customer = await stripe.customers.create({ email: 'after-sale@example.com', test_clock: clock.id });
  const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: group }], trial_end: 'now' });
  const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
  const pi = (await stripe.paymentIntents.list({ customer: customer.id })).data[0]!;
  return { clock, customer, pm, sub, invoice, pi };
}

describe('the official stripe SDK after the sale', () => {
  it('credit notes: preview and create by line, by amount with a refund, list, lines, void', async () => {
    const { customer, invoice, pi } = await paidInvoice();
    expect([invoice.status, invoice.total, pi.status, pi.amount]).toEqual(['paid', 150_000, 'succeeded', 150_000]);
    const line = invoice.lines.data[0]!.id;

    // The preview is a GET: the SDK puts lines[0][…] in the query string.
    const preview = await stripe.creditNotes.preview({ invoice: invoice.id, lines: [{ type: 'invoice_line_item', invoice_line_item: line, amount: 50_000 }] });
    expect(preview).toMatchObject({ object: 'credit_note', invoice: invoice.id, total: 50_000, subtotal: 50_000, type: 'post_payment' });
    const byLine = await stripe.creditNotes.create({
      invoice: invoice.id,
      lines: [{ type: 'invoice_line_item', invoice_line_item: line, amount: 50_000 }],
      credit_amount: 50_000,
      reason: 'order_change',
      memo: 'Half a month back',
    });
    expect(byLine).toMatchObject({ object: 'credit_note', status: 'issued', total: 50_000, credit_amount: 50_000, refunds: [], reason: 'order_change', memo: 'Half a month back' });
    expect(byLine.number).toMatch(/^RECUR-CN-\d{4}$/);
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ balance: -50_000 });

    // By an amount, settled by a refund through the payment that paid the invoice.
    const refunded = await stripe.creditNotes.create({ invoice: invoice.id, amount: 20_000, refund_amount: 20_000, reason: 'product_unsatisfactory' });
    expect(refunded).toMatchObject({ total: 20_000, credit_amount: 0, refunds: [{ amount_refunded: 20_000, type: 'refund' }] });
    const refund = await stripe.refunds.retrieve(refunded.refunds[0]!.refund as string);
    expect(refund).toMatchObject({ object: 'refund', amount: 20_000, status: 'succeeded', payment_intent: pi.id });
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ amount_received: 150_000 });

    const listed = await stripe.creditNotes.list({ invoice: invoice.id });
    expect(listed.data.map((n) => [n.id, n.total])).toEqual([
      [refunded.id, 20_000],
      [byLine.id, 50_000],
    ]);
    const lines = await stripe.creditNotes.listLineItems(byLine.id);
    expect(lines.data.map((l) => [l.invoice_line_item, l.amount, l.type])).toEqual([[line, 50_000, 'invoice_line_item']]);
    expect((await stripe.invoices.retrieve(invoice.id)).post_payment_credit_notes_amount).toBe(70_000);

    // Voiding the balance credit takes it back off the balance and off the invoice.
    const voided = await stripe.creditNotes.voidCreditNote(byLine.id);
    expect(voided).toMatchObject({ id: byLine.id, status: 'void', voided_at: unix('2026-03-01T00:00:00Z') });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ balance: 0 });
    expect((await stripe.invoices.retrieve(invoice.id)).post_payment_credit_notes_amount).toBe(20_000);

    // More than is left is Stripe's invalid request, with the param.
    const tooMuch = await stripe.creditNotes.create({ invoice: invoice.id, amount: 130_001 }).catch((e: unknown) => e);
    expect(tooMuch).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(tooMuch).toMatchObject({ statusCode: 400, code: 'credit_note_exceeds_invoice', param: 'amount' });
  });

  it('refunds on a payment: partial, then the rest; more is refused', async () => {
    const { pi } = await paidInvoice();
    const part = await stripe.refunds.create({ payment_intent: pi.id, amount: 40_000, reason: 'requested_by_customer' });
    expect(part).toMatchObject({ object: 'refund', amount: 40_000, status: 'succeeded', reason: 'requested_by_customer', currency: 'usd' });
    const rest = await stripe.refunds.create({ payment_intent: pi.id });
    expect(rest).toMatchObject({ amount: 110_000, status: 'succeeded' });
    const more = await stripe.refunds.create({ payment_intent: pi.id, amount: 1 }).catch((e: unknown) => e);
    expect(more).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(more).toMatchObject({ statusCode: 400 });
    expect((await stripe.refunds.list({ payment_intent: pi.id })).data.map((r) => r.amount)).toEqual([110_000, 40_000]);
  });

  it("the customer's balance: a credit, listed, used by the next invoice", async () => {
    const { clock, customer, sub } = await paidInvoice();
    const credit = await stripe.customers.createBalanceTransaction(customer.id, { amount: -25_000, currency: 'usd', description: 'Goodwill' });
    expect(credit).toMatchObject({ object: 'customer_balance_transaction', amount: -25_000, ending_balance: -25_000, type: 'adjustment', description: 'Goodwill' });
    const txs = await stripe.customers.listBalanceTransactions(customer.id);
    expect(txs.data.map((x) => [x.amount, x.ending_balance])).toEqual([[-25_000, -25_000]]);
    // Its description and metadata can change; its amount cannot (not a parameter: refused).
    const renamed = await stripe.customers.updateBalanceTransaction(customer.id, credit.id, { description: 'Goodwill: missed call', metadata: { ticket: 'T-1' } });
    expect(renamed).toMatchObject({ id: credit.id, amount: -25_000, description: 'Goodwill: missed call', metadata: { ticket: 'T-1' } });
    const amount = await stripe.customers.updateBalanceTransaction(customer.id, credit.id, { amount: 1 } as Stripe.CustomerUpdateBalanceTransactionParams).catch((e: unknown) => e);
    expect(amount).toMatchObject({ statusCode: 400, param: 'amount' });
    expect((await stripe.customers.retrieveBalanceTransaction(customer.id, credit.id)).description).toBe('Goodwill: missed call');
    // The renewal draft says when it will be finalized (an hour after it was made).
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-04-01T00:30:00Z') });
    const draft = (await stripe.invoices.list({ subscription: sub.id, limit: 1 })).data[0]!;
    expect([draft.status, draft.automatically_finalizes_at, draft.next_payment_attempt]).toEqual(['draft', unix('2026-04-01T01:00:00Z'), unix('2026-04-01T01:00:00Z')]);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-04-01T02:00:00Z') });
    const renewal = (await stripe.invoices.list({ subscription: sub.id, limit: 1 })).data[0]!;
    expect(renewal.automatically_finalizes_at).toBeNull();
    expect(renewal).toMatchObject({ billing_reason: 'subscription_cycle', total: 150_000, starting_balance: -25_000, ending_balance: 0, amount_due: 125_000, amount_paid: 125_000, status: 'paid' });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ balance: 0 });
  });

  it("a customer's own discount: shown on the customer, taken by its renewals, removed with deleteDiscount", async () => {
    const { clock, customer, sub } = await paidInvoice();
    const coupon = await stripe.coupons.create({ percent_off: 20, duration: 'forever' });
    // `coupon` on the customer is the API's older parameter (this SDK version's types no longer list it).
    const withCoupon = await stripe.customers.update(customer.id, { coupon: coupon.id } as Stripe.CustomerUpdateParams);
    expect(withCoupon.discount).toMatchObject({ object: 'discount', customer: customer.id, subscription: null, end: null });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-04-01T02:00:00Z') });
    expect((await stripe.invoices.list({ subscription: sub.id, limit: 1 })).data[0]).toMatchObject({ billing_reason: 'subscription_cycle', total: 120_000, status: 'paid' });
    const removed = await stripe.customers.deleteDiscount(customer.id);
    expect(removed).toMatchObject({ object: 'discount', deleted: true, id: withCoupon.discount!.id });
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).discount).toBeNull();
  });

  it('drafts and their items edited, a card updated, listed by customer, a paused subscription resumed, clocks listed and deleted', async () => {
    const { clock, customer, pm, sub } = await paidInvoice();
    // Pending items: created, updated, listed, one deleted; a draft takes the rest, is edited, then deleted.
    const a = await stripe.invoiceItems.create({ customer: customer.id, amount: 2_000, currency: 'usd', description: 'Call' });
    const b = await stripe.invoiceItems.create({ customer: customer.id, amount: 3_000, currency: 'usd', description: 'Workbook' });
    expect(await stripe.invoiceItems.update(a.id, { amount: 2_500, description: 'Long call' })).toMatchObject({ amount: 2_500, description: 'Long call', pricing: null, parent: null });
    // An item of a price shows it as the current API does: pricing.price_details, with the product.
    const workbook = (await stripe.prices.list({ lookup_keys: ['course_onetime'] })).data[0]!;
    const priced = await stripe.invoiceItems.create({ customer: customer.id, pricing: { price: workbook.id } });
    // (The SDK turns unit_amount_decimal into its own Decimal.)
    expect([priced.pricing?.type, priced.pricing?.price_details, String(priced.pricing?.unit_amount_decimal)]).toEqual(['price_details', { price: workbook.id, product: workbook.product }, String(workbook.unit_amount)]);
    expect((await stripe.invoiceItems.retrieve(priced.id)).pricing?.price_details).toEqual({ price: workbook.id, product: workbook.product });
    await stripe.invoiceItems.del(priced.id);
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data.map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
    expect(await stripe.invoiceItems.del(b.id)).toMatchObject({ id: b.id, deleted: true });
    const draft = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include', auto_advance: false });
    expect([draft.status, draft.total]).toEqual(['draft', 2_500]);
    const edited = await stripe.invoices.update(draft.id, { description: 'Extra session', metadata: { ref: 'x1' }, collection_method: 'send_invoice', days_until_due: 7 });
    expect(edited).toMatchObject({ description: 'Extra session', metadata: { ref: 'x1' }, collection_method: 'send_invoice' });
    expect(await stripe.invoices.del(draft.id)).toMatchObject({ id: draft.id, deleted: true });

    // The card's expiry and billing details change; the customer's cards are listed.
    const card = await stripe.paymentMethods.update(pm.id, { card: { exp_month: 12, exp_year: 2031 }, billing_details: { name: 'Ada Coach' } });
    expect(card).toMatchObject({ card: { exp_month: 12, exp_year: 2031 }, billing_details: { name: 'Ada Coach' } });
    expect((await stripe.customers.listPaymentMethods(customer.id)).data.map((p) => p.id)).toEqual([pm.id]);
    expect((await stripe.paymentMethods.list({ customer: customer.id, type: 'card' })).data.map((p) => p.id)).toEqual([pm.id]);

    // Paused collection, then resumed.
    expect((await stripe.subscriptions.update(sub.id, { pause_collection: { behavior: 'void' } })).pause_collection).toMatchObject({ behavior: 'void' });
    expect((await stripe.subscriptions.update(sub.id, { pause_collection: '' })).pause_collection).toBeNull();

    expect((await stripe.testHelpers.testClocks.list({ limit: 100 })).data.map((c) => c.id)).toContain(clock.id);
    expect(await stripe.testHelpers.testClocks.del(clock.id)).toMatchObject({ id: clock.id, deleted: true });
  });

  it("a draft's lines added, changed and removed (deleted, or back to pending) with the SDK's line calls", async () => {
    const { customer } = await paidInvoice();
    const draft = await stripe.invoices.create({ customer: customer.id, auto_advance: false });
    const added = await stripe.invoices.addLines(draft.id, {
      lines: [
        { amount: 4_000, description: 'Session' },
        { amount: 1_500, description: 'Notes', period: { start: unix('2026-03-01T00:00:00Z'), end: unix('2026-03-02T00:00:00Z') } },
        { amount: 900, description: 'Worksheet' },
      ],
    });
    expect([added.status, added.total, added.lines.data.map((l) => [l.description, l.amount])]).toEqual([
      'draft',
      6_400,
      [
        ['Session', 4_000],
        ['Notes', 1_500],
        ['Worksheet', 900],
      ],
    ]);
    const [session, notes, sheet] = added.lines.data;
    const changed = await stripe.invoices.updateLines(draft.id, { lines: [{ id: session!.id, amount: 4_500, description: 'Long session' }] });
    // Line ids stay what the integration read (the draft is rebuilt around them).
    expect(changed.lines.data.map((l) => l.id)).toEqual(added.lines.data.map((l) => l.id));
    expect(changed.lines.data.map((l) => [l.description, l.amount])).toEqual([
      ['Long session', 4_500],
      ['Notes', 1_500],
      ['Worksheet', 900],
    ]);
    const removed = await stripe.invoices.removeLines(draft.id, { lines: [{ id: notes!.id, behavior: 'delete' }, { id: sheet!.id, behavior: 'unassign' }] });
    expect([removed.total, removed.lines.data.map((l) => l.description)]).toEqual([4_500, ['Long session']]);
    // The unassigned worksheet is pending again; the deleted notes are gone.
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data.map((i) => [i.description, i.amount])).toEqual([['Worksheet', 900]]);

    // Errors name the line: an unknown line, a bad amount; a finalized invoice refuses them all.
    const unknown = await stripe.invoices.removeLines(draft.id, { lines: [{ id: 'il_nope', behavior: 'delete' }] }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'lines[0][id]' });
    const bad = await stripe.invoices.addLines(draft.id, { lines: [{ amount: 100 }, { description: 'nothing' }] }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'lines[1][amount]' });
    expect((await stripe.invoices.retrieve(draft.id)).total).toBe(4_500);
    await stripe.invoices.finalizeInvoice(draft.id);
    const late = await stripe.invoices.addLines(draft.id, { lines: [{ amount: 100 }] }).catch((e: unknown) => e);
    expect(late).toMatchObject({ statusCode: 400, code: 'invoice_not_editable' });
  });

  it('an invoice marked uncollectible, a card detached, and the events listed by type', async () => {
    const { customer, pm } = await paidInvoice();
    await stripe.invoiceItems.create({ customer: customer.id, amount: 3_000, currency: 'usd', description: 'Workbook' });
    const draft = await stripe.invoices.create({ customer: customer.id, collection_method: 'send_invoice', days_until_due: 14, pending_invoice_items_behavior: 'include' });
    const open = await stripe.invoices.finalizeInvoice(draft.id);
    expect([open.status, open.total]).toEqual(['open', 3_000]);
    const bad = await stripe.invoices.markUncollectible(open.id);
    expect(bad).toMatchObject({ status: 'uncollectible', amount_remaining: 3_000 });
    expect(bad.status_transitions.marked_uncollectible_at).toBe(unix('2026-03-01T00:00:00Z'));

    const detached = await stripe.paymentMethods.detach(pm.id);
    expect(detached).toMatchObject({ id: pm.id, customer: null });
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).invoice_settings.default_payment_method).toBeNull();

    const events = await stripe.events.list({ type: 'invoice.marked_uncollectible', limit: 100 });
    const mine = events.data.filter((e) => (e.data.object as { id: string }).id === open.id);
    expect(mine.map((e) => [e.type, (e.data.object as Stripe.Invoice).status])).toEqual([['invoice.marked_uncollectible', 'uncollectible']]);
  });
});
