import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { buildInvoice } from './builder.js';
import { invoiceLineObjectSchema, invoiceObjectSchema } from './schemas.js';
import { serializeInvoice } from './serialize.js';

// The invoice in the current SDK's spelling (stripe 23, API 2026-10-28): invoice.parent, and each
// line's parent / pricing / subtotal, beside the older top-level fields; the response schema in
// schemas.ts names exactly the fields the serializer returns.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

/** Every key the serializer returns is in the schema, and the schema's types hold. */
function conformsToSchema(inv: { lines: { data: unknown[] } }) {
  invoiceObjectSchema.strict().parse(inv);
  for (const l of inv.lines.data) invoiceLineObjectSchema.strict().parse(l);
}

describe('invoice parent and line parent / pricing / subtotal', () => {
  it('a subscription invoice names its subscription and each line its subscription item and price', async () => {
    const price = await t.priceId('platform_starter_monthly');
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price }] } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${sub.body.latest_invoice}` });
    expect(inv.status).toBe(200);
    expect(inv.body.parent).toEqual({ type: 'subscription_details', subscription_details: { subscription: sub.body.id, metadata: null }, quote_details: null });
    expect(inv.body.subscription).toBe(sub.body.id);
    const [line, ...rest] = inv.body.lines.data;
    expect(rest).toEqual([]);
    const item = sub.body.items.data[0].id;
    expect(line).toMatchObject({
      type: 'subscription',
      amount: 4_900,
      subtotal: 4_900,
      price,
      subscription: sub.body.id,
      subscription_item: item,
      parent: {
        type: 'subscription_item_details',
        subscription_item_details: { subscription: sub.body.id, subscription_item: item, proration: false, invoice_item: null, proration_details: { credited_items: null } },
        invoice_item_details: null,
      },
    });
    const product = (await t.call({ method: 'GET', url: `/v1/prices/${price}` })).body.product;
    expect(line.pricing).toEqual({ type: 'price_details', price_details: { price, product }, unit_amount_decimal: '4900' });
    // The invoice.created event (built before the lines were stored) names the product too.
    const created = (await t.call({ method: 'GET', url: `/v1/events?object_id=${inv.body.id}&type=invoice.created` })).body.data[0];
    expect(created.data.object.lines.data[0].pricing.price_details).toEqual({ price, product });
    // The lines route serializes the same way.
    const lines = await t.call({ method: 'GET', url: `/v1/invoices/${inv.body.id}/lines` });
    expect(lines.body.data).toEqual(inv.body.lines.data);
    conformsToSchema(inv.body);
  });

  it("a proration line is its subscription item's, with proration true and its invoice item", async () => {
    const [starter, professional] = [await t.priceId('platform_starter_monthly'), await t.priceId('platform_professional_monthly')];
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: starter }] } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    await t.advance(clock, '2026-03-16T00:00:00Z');
    const item = sub.body.items.data[0].id;
    const up = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.body.id}`, payload: { items: [{ id: item, price: professional }], proration_behavior: 'always_invoice' } });
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    const inv = await t.call({ method: 'GET', url: `/v1/invoices/${up.body.latest_invoice}` });
    expect(inv.body.parent).toMatchObject({ type: 'subscription_details', subscription_details: { subscription: sub.body.id } });
    const prorations = inv.body.lines.data.filter((l: { proration: boolean }) => l.proration);
    expect(prorations.map((l: { price: string }) => l.price).sort()).toEqual([starter, professional].sort());
    for (const l of prorations) {
      expect(l.parent).toEqual({
        type: 'subscription_item_details',
        subscription_item_details: { subscription: sub.body.id, subscription_item: item, proration: true, invoice_item: l.invoice_item, proration_details: { credited_items: null } },
        invoice_item_details: null,
      });
      expect(l.invoice_item).toMatch(/^ii_/);
      expect(l.subtotal).toBe(l.amount);
    }
    conformsToSchema(inv.body);
  });

  it('a manual invoice has no parent; its lines name their invoice item; a line without a price has no pricing', async () => {
    const course = await t.priceId('course_onetime');
    const cus = await t.customer();
    const priced = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, price: course } });
    const fee = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 1_000, currency: 'usd', description: 'Setup fee' } });
    expect([priced.status, fee.status]).toEqual([200, 200]);
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    expect(inv.body.parent).toBeNull();
    expect(inv.body.subscription).toBeNull();
    const byItem = new Map(inv.body.lines.data.map((l: { invoice_item: string }) => [l.invoice_item, l]));
    expect(byItem.get(priced.body.id)).toMatchObject({
      type: 'invoiceitem',
      amount: 99_700,
      subtotal: 99_700,
      price: course,
      parent: {
        type: 'invoice_item_details',
        invoice_item_details: { invoice_item: priced.body.id, proration: false, subscription: null, proration_details: { credited_items: null } },
        subscription_item_details: null,
      },
      pricing: { type: 'price_details', price_details: { price: course }, unit_amount_decimal: '99700' },
    });
    expect(byItem.get(fee.body.id)).toMatchObject({
      amount: 1_000,
      subtotal: 1_000,
      price: null,
      pricing: null,
      parent: { type: 'invoice_item_details', invoice_item_details: { invoice_item: fee.body.id, proration: false, subscription: null, proration_details: { credited_items: null } } },
    });
    conformsToSchema(inv.body);
  });
});

describe('serializer inputs beyond the stored rows', () => {
  const now = new Date('2026-01-15T12:00:00Z');
  const built = () =>
    buildInvoice(
      {
        customer: 'cus_1',
        subscription: null,
        currency: 'usd',
        billingReason: 'manual',
        periodStart: now,
        periodEnd: now,
        collectionMethod: 'charge_automatically',
        daysUntilDue: null,
        autoAdvance: true,
        finalizeAt: null,
        defaultPaymentMethod: null,
        testClock: null,
        discounts: [],
        lines: [
          {
            type: 'invoiceitem',
            subscription: null,
            subscriptionItem: null,
            invoiceItem: 'ii_1',
            price: 'price_1',
            productId: 'prod_1',
            description: 'Course',
            quantity: 2,
            unitAmount: 500,
            amount: 1_000,
            currency: 'usd',
            periodStart: now,
            periodEnd: now,
            proration: false,
            discountable: true,
          },
        ],
      },
      now,
    );
  const live = { name: 'Ada', email: 'ada@example.com', address: { country: 'DE' }, tax_ids: [], tax_exempt: 'none' as const };
  const snapshot = { name: 'Ada Old', email: 'old@example.com', address: null, tax_ids: [], tax_exempt: 'exempt' as const };

  it("a draft shows the customer's current email and name when given them; a finalized invoice its snapshot", () => {
    const { invoice, lines } = built();
    expect(serializeInvoice(invoice, lines)).toMatchObject({ customer_email: null, customer_name: null });
    expect(serializeInvoice(invoice, lines, { customer: live })).toMatchObject({
      customer_email: 'ada@example.com',
      customer_name: 'Ada',
      customer_address: { country: 'DE' },
      customer_tax_exempt: 'none',
    });
    const open = { ...invoice, status: 'open' as const, customer_details: snapshot };
    expect(serializeInvoice(open, lines, { customer: live })).toMatchObject({ customer_email: 'old@example.com', customer_name: 'Ada Old', customer_tax_exempt: 'exempt' });
  });

  it("names the price's product when the line row carries it (the builder copies the draft's), else null", () => {
    const { invoice, lines } = built();
    const line = lines[0]!;
    expect(serializeInvoice(invoice, lines).lines.data[0]!.pricing).toEqual({
      type: 'price_details',
      price_details: { price: 'price_1', product: 'prod_1' },
      unit_amount_decimal: '500',
    });
    expect(serializeInvoice(invoice, [{ ...line, product: undefined }]).lines.data[0]!.pricing!.price_details.product).toBeNull();
  });
});

describe("a draft's customer details", () => {
  it("follow the customer until finalization, then stay as they were (Stripe's customer_email / customer_name)", async () => {
    const cus = await t.customer({ email: 'draft@example.com' });
    await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { name: 'Ada Draft' } });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 1200, currency: 'usd', description: 'Workbook' } });
    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 7 } });
    expect([draft.status, draft.body.customer_email, draft.body.customer_name]).toEqual([200, 'draft@example.com', 'Ada Draft']);
    await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { email: 'renamed@example.com' } });
    const read = (await t.call({ method: 'GET', url: `/v1/invoices?customer=${cus}` })).body.data[0];
    expect([read.status, read.customer_email]).toEqual(['draft', 'renamed@example.com']);
    const fin = await t.call({ method: 'POST', url: `/v1/invoices/${draft.body.id}/finalize`, payload: {} });
    expect([fin.body.status, fin.body.customer_email]).toEqual(['open', 'renamed@example.com']);
    await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { email: 'later@example.com' } });
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${draft.body.id}` })).body.customer_email).toBe('renamed@example.com');
  });
});

describe("an invoice's payment_intent", () => {
  it('is null before any attempt and the latest attempt after, in reads, expand and the invoice.paid event', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('platform_starter_monthly') }], trial_end: 'now', expand: ['latest_invoice.payment_intent'] } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const pi = sub.body.latest_invoice.payment_intent;
    expect([pi.object, pi.status, pi.amount, pi.invoice]).toEqual(['payment_intent', 'succeeded', 4_900, sub.body.latest_invoice.id]);
    // The renewal paid by the worker (after the finalization delay).
    await t.advance(clock, '2026-06-01T02:00:00Z');
    const renewal = (await t.invoices(sub.body.id))[1]!;
    const intents = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${renewal.id}` })).body.data;
    expect(intents).toHaveLength(1);
    expect((renewal as unknown as { payment_intent: string }).payment_intent).toBe(intents[0].id);
    const events = (await t.call({ method: 'GET', url: `/v1/events?object_id=${renewal.id}` })).body.data as { type: string; data: { object: { payment_intent: string | null } } }[];
    expect(events.map((e) => [e.type, e.data.object.payment_intent]).reverse()).toEqual([
      ['invoice.created', null],
      ['invoice.finalized', null],
      ['invoice.paid', intents[0].id],
      ['invoice.payment_succeeded', intents[0].id],
    ]);
  });
});
