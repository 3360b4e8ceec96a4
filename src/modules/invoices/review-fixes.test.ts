import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// Stripe semantics the invoice routes got wrong (review findings): drafts rebuilt after an item
// change keep their discounts and products; finalize and update honour auto_advance; uncollectible
// invoices can be paid by card; pay failures answer like the payment intents do; amounts too large
// for an invoice are a 400, not a 500; default_payment_method is checked at creation.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let course: string;
let community: string;
beforeAll(async () => {
  t = await createBillingApp();
  course = await t.priceId('course_onetime');
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function ok(opts: Parameters<typeof t.call>[0]): Promise<any> {
  const res = await t.call(opts);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await t.testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n;
}

async function subscribed(customer: string): Promise<string> {
  return (await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: community }], trial_end: 'now' } })).id;
}

async function coupon(payload: Record<string, unknown>): Promise<string> {
  return (await ok({ method: 'POST', url: '/v1/coupons', payload })).id;
}

async function openInvoice(customer: string, payload: Record<string, unknown> = {}): Promise<string> {
  await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: course } });
  const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer, ...payload } });
  await ok({ method: 'POST', url: `/v1/invoices/${draft.id}/finalize` });
  return draft.id;
}

describe('a draft rebuilt after an item change', () => {
  it('keeps the `once` discount its creation spent (review repro: 5000, then 6000 after a 2000 item, not 12000)', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribed(cus);
    const half = await coupon({ percent_off: 50, duration: 'once' });
    const withCoupon = await ok({ method: 'POST', url: `/v1/subscriptions/${sub}`, payload: { coupon: half } });
    const discount = withCoupon.discounts[0] as string;
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, subscription: sub, amount: 10_000, currency: 'usd' } });
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, subscription: sub } });
    expect(draft).toMatchObject({ subtotal: 10_000, total: 5_000, total_discount_amounts: [{ discount, amount: 5_000 }] });

    const added = await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: draft.id, amount: 2_000, currency: 'usd' } });
    const rebuilt = await ok({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    expect(rebuilt).toMatchObject({ subtotal: 12_000, total: 6_000, amount_due: 6_000, discounts: [discount], total_discount_amounts: [{ discount, amount: 6_000 }] });
    expect(rebuilt.lines.data.map((l: { amount: number; discount_amounts: unknown }) => [l.amount, l.discount_amounts])).toEqual([
      [10_000, [{ discount, amount: 5_000 }]],
      [2_000, [{ discount, amount: 1_000 }]],
    ]);

    await ok({ method: 'DELETE', url: `/v1/invoiceitems/${added.id}` });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${draft.id}` })).toMatchObject({ subtotal: 10_000, total: 5_000 });

    // Still spent once: the next invoice is at full price.
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, subscription: sub, amount: 3_000, currency: 'usd' } });
    expect(await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, subscription: sub } })).toMatchObject({ subtotal: 3_000, total: 3_000, discounts: [] });
  });

  it('a draft created empty takes the live discount with its first item and spends a `once` one then', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await subscribed(cus);
    const half = await coupon({ percent_off: 50, duration: 'once' });
    const discount = (await ok({ method: 'POST', url: `/v1/subscriptions/${sub}`, payload: { coupon: half } })).discounts[0] as string;
    const empty = await ok({ method: 'POST', url: '/v1/invoices', payload: { customer: cus, subscription: sub, currency: 'usd', pending_invoice_items_behavior: 'exclude' } });
    expect(empty).toMatchObject({ total: 0, discounts: [] });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: empty.id, amount: 4_000, currency: 'usd' } });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${empty.id}` })).toMatchObject({ subtotal: 4_000, total: 2_000, discounts: [discount] });
    // A second item keeps it; the discount is spent for any other invoice.
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: empty.id, amount: 1_000, currency: 'usd' } });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${empty.id}` })).toMatchObject({ subtotal: 5_000, total: 2_500 });
    const other = await ok({ method: 'POST', url: '/v1/invoices', payload: { customer: cus, subscription: sub, currency: 'usd', pending_invoice_items_behavior: 'exclude' } });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: other.id, amount: 1_000, currency: 'usd' } });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${other.id}` })).toMatchObject({ subtotal: 1_000, total: 1_000, discounts: [] });
  });

  it('keeps the product of subscription lines, so an applies_to.products coupon still applies', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribed(cus);
    const communityOnly = await coupon({ percent_off: 20, duration: 'forever', applies_to: { products: ['prod_community'] } });
    const discount = (await ok({ method: 'POST', url: `/v1/subscriptions/${sub}`, payload: { coupon: communityOnly } })).discounts[0] as string;
    // The renewal draft waits an hour (finalizeDelaySeconds) before it is finalized.
    await t.advance(clock, '2026-04-01T00:30:00Z');
    const draft = (await t.invoices(sub)).find((i) => i.status === 'draft')!;
    expect(draft).toMatchObject({ billing_reason: 'subscription_cycle', subtotal: 9_700, total: 7_760 });

    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: draft.id, amount: 1_000, currency: 'usd', description: 'Workbook' } });
    const rebuilt = await ok({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    // 20 % of the 9,700 community line only; the item is not a community product.
    expect(rebuilt).toMatchObject({ subtotal: 10_700, total: 8_760, total_discount_amounts: [{ discount, amount: 1_940 }] });
    expect(rebuilt.lines.data.map((l: { amount: number; discount_amounts: unknown }) => [l.amount, l.discount_amounts])).toEqual([
      [9_700, [{ discount, amount: 1_940 }]],
      [1_000, []],
    ]);
  });
});

describe('auto_advance', () => {
  it('finalize with auto_advance=false opens the invoice without automatic collection; true schedules it', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, auto_advance: true } });
    expect(draft.auto_advance).toBe(true);
    const fin = await ok({ method: 'POST', url: `/v1/invoices/${draft.id}/finalize`, payload: { auto_advance: false } });
    expect(fin).toMatchObject({ status: 'open', auto_advance: false, next_payment_attempt: null });

    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const manual = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(manual.auto_advance).toBe(false);
    const auto = await ok({ method: 'POST', url: `/v1/invoices/${manual.id}/finalize`, payload: { auto_advance: true } });
    expect(auto).toMatchObject({ status: 'open', auto_advance: true, next_payment_attempt: auto.status_transitions.finalized_at });
    expect(auto.next_payment_attempt).toBe(1768478400);
  });

  it('updates auto_advance, description and metadata of an open invoice; collection terms stay immutable', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const id = await openInvoice(cus, { auto_advance: true });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${id}` })).toMatchObject({ status: 'open', auto_advance: true, next_payment_attempt: 1768478400 });

    const off = await ok({ method: 'POST', url: `/v1/invoices/${id}`, payload: { auto_advance: false, metadata: { po: '42' } } });
    expect(off).toMatchObject({ status: 'open', auto_advance: false, next_payment_attempt: null, metadata: { po: '42' } });
    const on = await ok({ method: 'POST', url: `/v1/invoices/${id}`, payload: { auto_advance: true } });
    expect(on).toMatchObject({ status: 'open', auto_advance: true, next_payment_attempt: 1768478400, metadata: { po: '42' } });

    // A refused field refuses the whole request: auto_advance stays on.
    const terms = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { collection_method: 'send_invoice', days_until_due: 30, auto_advance: false } });
    expect(terms.status).toBe(400);
    expect(terms.body.error).toMatchObject({ code: 'invoice_not_editable', param: 'collection_method' });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${id}` })).toMatchObject({ auto_advance: true, description: null, collection_method: 'charge_automatically' });
    expect(await ok({ method: 'POST', url: `/v1/invoices/${id}`, payload: { description: 'late memo' } })).toMatchObject({ status: 'open', description: 'late memo' });

    await ok({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${id}`, payload: { auto_advance: false } });
    expect(paid.status).toBe(400);
    expect(paid.body.error).toMatchObject({ code: 'invoice_not_editable', param: 'auto_advance' });
    expect(await ok({ method: 'POST', url: `/v1/invoices/${id}`, payload: { metadata: { po: '43' } } })).toMatchObject({ status: 'paid', metadata: { po: '43' } });
  });
});

describe('paying an invoice', () => {
  it('pays an uncollectible invoice by card, which makes it paid', async () => {
    const cus = await t.customer({ card: 'pm_card_chargeDeclined' });
    const id = await openInvoice(cus);
    await ok({ method: 'POST', url: `/v1/invoices/${id}/mark_uncollectible` });
    // A declined card leaves it uncollectible (and counts the attempt).
    const declined = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({ type: 'card_error', code: 'card_declined' });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${id}` })).toMatchObject({ status: 'uncollectible', attempt_count: 1, amount_remaining: 99_700 });

    const paid = await ok({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { payment_method: 'pm_card_visa' } });
    expect(paid).toMatchObject({ status: 'paid', paid: true, amount_paid: 99_700, amount_remaining: 0, attempt_count: 2, paid_out_of_band: false });
    expect(paid.status_transitions).toMatchObject({ marked_uncollectible_at: 1768478400, paid_at: 1768478400 });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1 AND status = 'succeeded'`, [id])).toBe(1);
  });

  it('answers 400 payment_method_missing without counting an attempt when there is nothing to charge', async () => {
    const cus = await t.customer();
    const id = await openInvoice(cus);
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'payment_method_missing', param: 'payment_method' });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${id}` })).toMatchObject({ status: 'open', attempt_count: 0, attempted: false });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1`, [id])).toBe(0);
    expect((await ok({ method: 'GET', url: `/v1/events?type=invoice.payment_failed&customer=${cus}` })).data).toEqual([]);
  });

  it('answers a gateway fault with 502 api_error (outcome unknown), and the retry settles it under the same attempt', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const id = await openInvoice(cus);
    const gateway = t.deps.gateways.default;
    const spy = vi.spyOn(gateway, 'charge').mockRejectedValueOnce(new Error('ETIMEDOUT'));
    try {
      const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay` });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(res.status).toBe(502);
      expect(res.body.error).toMatchObject({ type: 'api_error', code: 'gateway_unavailable' });
      expect(res.body.error.payment_intent).toMatchObject({ invoice: id, status: 'processing' });
      expect(await ok({ method: 'GET', url: `/v1/invoices/${id}` })).toMatchObject({ status: 'open', attempt_count: 0 });
    } finally {
      spy.mockRestore();
    }
    const paid = await ok({ method: 'POST', url: `/v1/invoices/${id}/pay` });
    expect(paid).toMatchObject({ status: 'paid', attempt_count: 1, amount_paid: 99_700 });
    expect(await count(`SELECT count(*)::int AS n FROM payment_intents WHERE invoice = $1`, [id])).toBe(1);
  });
});

describe('amounts too large for an invoice', () => {
  it('refuses an item whose unit_amount × quantity exceeds 99,999,999,999 minor units', async () => {
    const cus = await t.customer();
    const huge = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, unit_amount: 999_999_999, quantity: 1_000_000, currency: 'usd' } });
    expect(huge.status).toBe(400);
    expect(huge.body.error).toMatchObject({ type: 'invalid_request_error', code: 'amount_too_large', param: 'quantity' });
    const credit = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, unit_amount: -999_999_999, quantity: 101, currency: 'usd' } });
    expect(credit.status).toBe(400);
    expect(credit.body.error.code).toBe('amount_too_large');
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = $1`, [cus])).toBe(0);
    // At the bound it is accepted: 999,999,999 × 100 = 99,999,999,900.
    const max = await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, unit_amount: 999_999_999, quantity: 100, currency: 'usd' } });
    expect(max.amount).toBe(99_999_999_900);
  });

  it('answers 400 (not 500) when the pending items together exceed it, or an added item would', async () => {
    const cus = await t.customer();
    for (let i = 0; i < 2; i++) await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, unit_amount: 999_999_999, quantity: 100, currency: 'usd' } });
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(inv.status).toBe(400);
    expect(inv.body.error).toMatchObject({ type: 'invalid_request_error', code: 'amount_too_large' });
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [cus])).toBe(0);

    // Items stored before the bound existed (the review's ten 999,999,999 × 1,000,000): 400 too.
    const legacy = await t.customer();
    await t.testDb.db.query(
      `INSERT INTO invoice_items (id, customer, price, description, quantity, unit_amount, amount, currency, period_start, period_end, proration, discountable, metadata, created)
       SELECT 'ii_legacy_' || g, $1, NULL, NULL, 1000000, 999999999, 999999999000000, 'usd', now(), now(), false, true, '{}', now() FROM generate_series(1, 10) g`,
      [legacy],
    );
    const fromLegacy = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: legacy } });
    expect(fromLegacy.status).toBe(400);
    expect(fromLegacy.body.error.code).toBe('amount_too_large');

    const other = await t.customer();
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: other, currency: 'usd' } });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: other, invoice: draft.id, unit_amount: 999_999_999, quantity: 100, currency: 'usd' } });
    const second = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: other, invoice: draft.id, unit_amount: 999_999_999, quantity: 100, currency: 'usd' } });
    expect(second.status).toBe(400);
    expect(second.body.error).toMatchObject({ code: 'amount_too_large', param: 'invoice' });
    expect(await ok({ method: 'GET', url: `/v1/invoices/${draft.id}` })).toMatchObject({ total: 99_999_999_900 });
    expect(await count(`SELECT count(*)::int AS n FROM invoice_items WHERE customer = $1`, [other])).toBe(1);
  });
});

describe('default_payment_method on invoice creation', () => {
  it('400s on an unknown payment method (resource_missing) and on another customer’s, as Stripe', async () => {
    const cus = await t.customer();
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const unknown = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, default_payment_method: 'pm_nope' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'default_payment_method' });

    const owner = await t.customer();
    const foreign = await ok({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: owner } });
    const refused = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, default_payment_method: foreign.id } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', param: 'default_payment_method' });
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = $1`, [cus])).toBe(0);

    const own = await ok({ method: 'POST', url: '/v1/payment_methods/pm_card_mastercard/attach', payload: { customer: cus } });
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, default_payment_method: own.id } });
    expect(draft).toMatchObject({ status: 'draft', default_payment_method: own.id, total: 99_700 });
  });
});

describe('invoice.updated', () => {
  it('is written when an update or an item change alters the invoice, with the previous values', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: course } });
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer } });
    const updatedEvents = async () =>
      ((await ok({ method: 'GET', url: `/v1/events?type=invoice.updated&object_id=${draft.id}` })).data as { data: { object: { total: number; metadata: Record<string, string> }; previous_attributes: Record<string, unknown> } }[]).reverse();

    await ok({ method: 'POST', url: `/v1/invoices/${draft.id}`, payload: { metadata: { order: '42' } } });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, invoice: draft.id, amount: 2000, currency: 'usd', description: 'Workbook' } });
    // An update that changes nothing shown writes nothing.
    await ok({ method: 'POST', url: `/v1/invoices/${draft.id}`, payload: { metadata: { order: '42' } } });
    const events = await updatedEvents();
    expect(events.map((e) => [e.data.object.total, e.data.object.metadata, e.data.previous_attributes])).toEqual([
      [99_700, { order: '42' }, { metadata: { order: null } }],
      [101_700, { order: '42' }, { subtotal: 99_700, subtotal_excluding_tax: 99_700, total: 99_700, total_excluding_tax: 99_700, amount_due: 99_700, amount_remaining: 99_700 }],
    ]);
  });
});
