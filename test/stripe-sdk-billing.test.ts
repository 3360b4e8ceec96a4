import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeClient } from './helpers/stripe-sdk.js';
import { createBillingApp, iso, unix } from './helpers/billing.js';

// The official Stripe SDK as an existing integration uses it for billing: customers on a test clock,
// test payment methods, subscriptions created, upgraded and canceled, invoices and payment intents
// listed, the next invoice previewed and the clock advanced. A real listening server, not app.inject.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let stripe: Stripe;
const price: Record<string, string> = {};

beforeAll(async () => {
  t = await createBillingApp();
  stripe = await stripeClient(t);
  const prices = await stripe.prices.list({ lookup_keys: ['group_monthly', 'elite_monthly', 'community_monthly'] });
  for (const p of prices.data) price[p.lookup_key!] = p.id;
});
afterAll(() => t.close());

/** Fields Recur still serves at the top level that this SDK version's types have moved elsewhere. */
const legacy = (o: object) => o as unknown as { subscription: string | null; invoice: string | null };

async function customerOnClock(clock: string, card = 'pm_card_visa') {
  const customer = await stripe.customers.create({ email: 'sdk-billing@example.com', name: 'Sdk Billing', test_clock: clock });
  const pm = await stripe.paymentMethods.attach(card, { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  return { customer, pm };
}

describe('the official stripe SDK drives Recur billing', () => {
  it('test clock → customer → card → subscription → preview → upgrade → renewal → cancel', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z'), name: 'SDK clock' });
    expect(clock).toMatchObject({ object: 'test_helpers.test_clock', status: 'ready', frozen_time: unix('2026-03-01T00:00:00Z'), name: 'SDK clock', livemode: false });
    expect(clock.id).toMatch(/^clock_/);

    const { customer, pm } = await customerOnClock(clock.id);
    expect(customer).toMatchObject({ object: 'customer', test_clock: clock.id, email: 'sdk-billing@example.com' });
    expect(pm).toMatchObject({ object: 'payment_method', type: 'card', customer: customer.id, card: { brand: 'visa', last4: '4242' } });
    const withDefault = await stripe.customers.retrieve(customer.id);
    expect((withDefault as Stripe.Customer).invoice_settings.default_payment_method).toBe(pm.id);

    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.group_monthly! }], trial_end: 'now', metadata: { source: 'sdk' } });
    expect(sub).toMatchObject({ object: 'subscription', status: 'active', customer: customer.id, currency: 'usd', collection_method: 'charge_automatically', metadata: { source: 'sdk' }, test_clock: clock.id });
    expect(sub.items.data).toHaveLength(1);
    const item = sub.items.data[0]!;
    expect(item).toMatchObject({ quantity: 1, price: { id: price.group_monthly, unit_amount: 150_000, recurring: { interval: 'month' } } });
    expect([item.current_period_start, item.current_period_end]).toEqual([unix('2026-03-01T00:00:00Z'), unix('2026-04-01T00:00:00Z')]);
    const first = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(first).toMatchObject({ object: 'invoice', status: 'paid', billing_reason: 'subscription_create', total: 150_000, amount_paid: 150_000, customer: customer.id });
    expect(legacy(first).subscription).toBe(sub.id);

    // Half of March is left on the 16th at noon.
    const advanced = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-03-16T12:00:00Z') });
    expect(advanced).toMatchObject({ id: clock.id, status: 'ready', frozen_time: unix('2026-03-16T12:00:00Z') });
    expect(await stripe.testHelpers.testClocks.retrieve(clock.id)).toMatchObject({ status: 'ready', frozen_time: unix('2026-03-16T12:00:00Z') });

    // Preview the upgrade to Elite with always_invoice: the invoice the update makes at once,
    // -75 000 unused Group and +250 000 remaining Elite.
    const preview = await stripe.invoices.createPreview({
      customer: customer.id,
      subscription: sub.id,
      subscription_details: { items: [{ id: item.id, price: price.elite_monthly! }], proration_behavior: 'always_invoice', proration_date: unix('2026-03-16T12:00:00Z') },
    });
    expect(preview).toMatchObject({ object: 'invoice', customer: customer.id, subtotal: 175_000, total: 175_000, amount_due: 175_000, period_start: unix('2026-03-16T12:00:00Z'), billing_reason: 'subscription_update' });
    expect(preview.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-75_000, 250_000]);

    const upgraded = await stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: price.elite_monthly! }], proration_behavior: 'always_invoice' });
    expect(upgraded.items.data.map((i) => [i.id, i.price.id, i.quantity])).toEqual([[item.id, price.elite_monthly, 1]]);
    expect(upgraded.status).toBe('active');
    expect(upgraded.latest_invoice).not.toBe(sub.latest_invoice);
    const prorationInvoice = await stripe.invoices.retrieve(upgraded.latest_invoice as string);
    expect(prorationInvoice).toMatchObject({ status: 'paid', billing_reason: 'subscription_update', total: 175_000, amount_paid: 175_000 });
    expect(prorationInvoice.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-75_000, 250_000]);

    // The renewal on April 1 bills Elite; it is charged an hour later (finalizeDelaySeconds).
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-04-01T02:00:00Z') });
    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.object).toBe('list');
    expect(invoices.data.map((i) => [i.billing_reason, i.status, i.total, i.amount_paid])).toEqual([
      ['subscription_cycle', 'paid', 500_000, 500_000],
      ['subscription_update', 'paid', 175_000, 175_000],
      ['subscription_create', 'paid', 150_000, 150_000],
    ]);
    expect(invoices.data.every((i) => legacy(i).subscription === sub.id)).toBe(true);
    expect(invoices.data.map((i) => i.number)).toEqual([expect.stringMatching(/^RECUR-\d{4}$/), expect.stringMatching(/^RECUR-\d{4}$/), expect.stringMatching(/^RECUR-\d{4}$/)]);
    const paidInvoices = await stripe.invoices.list({ customer: customer.id, status: 'paid', limit: 2 });
    expect(paidInvoices.data.map((i) => i.id)).toEqual(invoices.data.slice(0, 2).map((i) => i.id));
    expect(paidInvoices.has_more).toBe(true);

    const intents = await stripe.paymentIntents.list({ customer: customer.id });
    expect(intents.data.map((p) => [p.amount, p.status, p.currency, iso(p.created)])).toEqual([
      [500_000, 'succeeded', 'usd', '2026-04-01T01:00:00Z'],
      [175_000, 'succeeded', 'usd', '2026-03-16T12:00:00Z'],
      [150_000, 'succeeded', 'usd', '2026-03-01T00:00:00Z'],
    ]);
    expect(intents.data.map((p) => legacy(p).invoice)).toEqual(invoices.data.map((i) => i.id));

    const renewed = await stripe.subscriptions.retrieve(sub.id);
    expect([renewed.items.data[0]!.current_period_start, renewed.items.data[0]!.current_period_end]).toEqual([unix('2026-04-01T00:00:00Z'), unix('2026-05-01T00:00:00Z')]);

    // The SDK's cancel is a DELETE with its params in the query string.
    const canceled = await stripe.subscriptions.cancel(sub.id, { prorate: true, invoice_now: true, cancellation_details: { comment: 'done' } });
    expect(canceled).toMatchObject({ id: sub.id, status: 'canceled', canceled_at: unix('2026-04-01T02:00:00Z'), cancellation_details: { comment: 'done', reason: 'cancellation_requested' } });
    const final = await stripe.invoices.list({ subscription: sub.id, limit: 1 });
    // All but 2 h of the 30-day April is unused: 500 000 × (30×86400 − 7200) / (30×86400) = 498 611.1.
    expect(final.data[0]).toMatchObject({ billing_reason: 'subscription_update', total: -498_611, amount_due: 0, status: 'paid' });
    expect((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({ balance: -498_611 });

    // A state conflict is a 400 invalid_request_error, as on Stripe: the SDK raises
    // StripeInvalidRequestError (a 409 would be a generic StripeAPIError, and retried).
    const again = await stripe.subscriptions.cancel(sub.id).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again).toMatchObject({ statusCode: 400, code: 'subscription_ended' });
    const listed = await stripe.subscriptions.list({ customer: customer.id, status: 'canceled' });
    expect(listed.data.map((s) => s.id)).toEqual([sub.id]);
  });

  it('surfaces a declined card as a StripeCardError and keeps the failed payment intent', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id, 'pm_card_chargeDeclined');
    const refused = await stripe.subscriptions
      .create({ customer: customer.id, items: [{ price: price.community_monthly! }], trial_end: 'now', payment_behavior: 'error_if_incomplete' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(refused).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data).toEqual([]);
    expect((await stripe.invoices.list({ customer: customer.id })).data).toEqual([]);

    const incomplete = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.community_monthly! }], trial_end: 'now' });
    expect(incomplete.status).toBe('incomplete');
    const invoice = await stripe.invoices.retrieve(incomplete.latest_invoice as string);
    expect(invoice).toMatchObject({ status: 'open', amount_due: 9_700, attempt_count: 1 });
    const intents = await stripe.paymentIntents.list({ customer: customer.id });
    expect(intents.data).toHaveLength(1);
    expect(intents.data[0]).toMatchObject({ amount: 9_700, status: 'requires_payment_method', last_payment_error: { code: 'card_declined', decline_code: 'generic_decline' } });

    // Paying by hand with a good card settles the invoice and activates the subscription.
    const paid = await stripe.invoices.pay(invoice.id, { payment_method: 'pm_card_visa' });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 9_700, attempt_count: 2 });
    expect((await stripe.subscriptions.retrieve(incomplete.id)).status).toBe('active');
  });

  it("follows Stripe's subscription guide: default_incomplete, save the paying card on the subscription", async () => {
    const customer = await stripe.customers.create({ email: 'guide@example.com' });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.community_monthly! }],
      trial_end: 'now',
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['latest_invoice.payment_intent'],
    });
    expect(sub.status).toBe('incomplete');
    expect(sub.payment_settings).toEqual({ payment_method_options: null, payment_method_types: null, save_default_payment_method: 'on_subscription' });
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect([invoice.status, invoice.amount_due]).toEqual(['open', 9_700]);
    // The customer pays (here by hand with a test card; in Recur, usually on the hosted invoice page).
    await stripe.invoices.pay(invoice.id, { payment_method: 'pm_card_visa' });
    const active = await stripe.subscriptions.retrieve(sub.id);
    expect(active.status).toBe('active');
    const [intent] = (await stripe.paymentIntents.list({ customer: customer.id })).data;
    expect(active.default_payment_method).toBe(intent!.payment_method);
  });

  it('takes the parameters Stripe integrations commonly send: product_data, plan, tax_id_data, automatic_tax, off_session', async () => {
    // A price with its product created inline, subscribed to by its older name (plan).
    const workshop = await stripe.prices.create({ currency: 'usd', unit_amount: 25_000, recurring: { interval: 'month' }, product_data: { name: 'Monthly leadership workshop' } });
    const product = await stripe.products.retrieve(workshop.product as string);
    expect([product.name, workshop.unit_amount, workshop.recurring?.interval]).toEqual(['Monthly leadership workshop', 25_000, 'month']);
    const customer = await stripe.customers.create({
      email: 'b2b@example.com',
      address: { country: 'FR' },
      tax_id_data: [{ type: 'eu_vat', value: 'DE136695976' }],
      payment_method: 'pm_card_visa',
      invoice_settings: { default_payment_method: 'pm_card_visa' },
    });
    expect(customer.tax_ids?.data.map((x) => [x.type, x.value])).toEqual([['eu_vat', 'DE136695976']]);
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ plan: workshop.id }], automatic_tax: { enabled: false }, off_session: true });
    expect([sub.status, sub.items.data[0]!.price.id, sub.automatic_tax.enabled]).toEqual(['active', workshop.id, false]);
    const updated = await stripe.subscriptions.update(sub.id, { automatic_tax: { enabled: true }, off_session: true, items: [{ id: sub.items.data[0]!.id, plan: price.community_monthly! }], proration_behavior: 'none' });
    expect([updated.automatic_tax.enabled, updated.items.data[0]!.price.id]).toEqual([true, price.community_monthly]);
    const both = await stripe.prices.create({ currency: 'usd', unit_amount: 100, product: product.id, product_data: { name: 'x' } } as Stripe.PriceCreateParams).catch((e: unknown) => e);
    expect(both).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'product_data' });
  });

  it('prices items inline with price_data, as Stripe integrations do for one-off deals; shows them with the customer (expand subscriptions)', async () => {
    const product = (await stripe.prices.retrieve(price.group_monthly!)).product as string;
    const customer = await stripe.customers.create({ email: 'deal@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price_data: { currency: 'usd', product, unit_amount: 45_000, recurring: { interval: 'month', interval_count: 3 } } }],
      add_invoice_items: [{ price_data: { currency: 'usd', product, unit_amount: 10_000 } }],
    });
    const item = sub.items.data[0]!;
    expect([sub.status, item.price.unit_amount, item.price.recurring?.interval_count, item.price.active]).toEqual(['active', 45_000, 3, false]);
    expect((await stripe.invoices.retrieve(sub.latest_invoice as string)).total).toBe(55_000);
    // The customer with its subscriptions included, as integrations show a member's plans.
    const withSubs = (await stripe.customers.retrieve(customer.id, { expand: ['subscriptions'] })) as Stripe.Customer;
    expect(withSubs.subscriptions?.data.map((x) => [x.id, x.items.data[0]!.price.unit_amount])).toEqual([[sub.id, 45_000]]);
    const fee = await stripe.invoiceItems.create({ customer: customer.id, price_data: { currency: 'usd', product, unit_amount: 2_500 }, quantity: 2 });
    expect(fee.amount).toBe(5_000);
    const bad = await stripe.subscriptionItems.create({ subscription: sub.id, price_data: { currency: 'usd', product: 'prod_missing', unit_amount: 1, recurring: { interval: 'month', interval_count: 3 } } }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'price_data[product]' });
  });

  it("charges a one-off purchase as Stripe's server-side guide sends it; items take plan and off_session", async () => {
    const customer = await stripe.customers.create({ email: 'course@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const card = (await stripe.paymentMethods.list({ customer: customer.id })).data[0]!;
    const pi = await stripe.paymentIntents.create({
      amount: 99_700,
      currency: 'usd',
      customer: customer.id,
      payment_method: card.id,
      confirm: true,
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
      capture_method: 'automatic',
      setup_future_usage: 'off_session',
      error_on_requires_action: true,
      return_url: 'https://coach.example.com/thanks',
    });
    expect([pi.status, pi.amount_received, pi.capture_method]).toEqual(['succeeded', 99_700, 'automatic']);
    const manual = await stripe.paymentIntents.create({ amount: 100, currency: 'usd', customer: customer.id, payment_method: card.id, confirm: true, capture_method: 'manual' }).catch((e: unknown) => e);
    expect(manual).toMatchObject({ statusCode: 400, param: 'capture_method' });

    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.community_monthly! }], trial_end: 'now' });
    const seat = await stripe.subscriptionItems.create({ subscription: sub.id, plan: price.group_monthly!, proration_behavior: 'none' });
    expect(seat.price.id).toBe(price.group_monthly);
    const moved = await stripe.subscriptionItems.update(seat.id, { plan: price.elite_monthly!, off_session: true, proration_behavior: 'none' });
    expect(moved.price.id).toBe(price.elite_monthly);
  });

  it('bills a one-off purchase through invoice items and a manual invoice', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id);
    const course = (await stripe.prices.list({ lookup_keys: ['course_onetime'] })).data[0]!;
    // This SDK version spells the price as pricing[price]; older integrations send price. Both work.
    const created = await stripe.invoiceItems.create({ customer: customer.id, pricing: { price: course.id }, description: 'Course' });
    expect(created).toMatchObject({ object: 'invoiceitem', amount: 99_700, currency: 'usd', customer: customer.id, description: 'Course', invoice: null });
    expect((created as unknown as { price: string }).price).toBe(course.id);
    const missing = await stripe.invoiceItems.create({ customer: customer.id, pricing: { price: 'price_missing' } }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'pricing[price]' });
    // Stripe's default is to leave pending items out (pending_invoice_items_behavior exclude): ask for them.
    const draft = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect(draft).toMatchObject({ status: 'draft', total: 99_700 });
    const open = await stripe.invoices.finalizeInvoice(draft.id!);
    expect(open.status).toBe('open');
    const paid = await stripe.invoices.pay(draft.id!);
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 99_700 });
    const voidPaid = await stripe.invoices.voidInvoice(draft.id!).catch((e: unknown) => e);
    expect(voidPaid).toMatchObject({ statusCode: 400, code: 'invoice_not_voidable' });
  });
  it('searches customers, subscriptions and invoices, paging through every result with the SDK', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await stripe.customers.create({ email: `search-${i}@example.com`, metadata: { cohort: 'sdk-search' } })).id);
    // limit 2: the SDK follows next_page to the second page by itself.
    const all = await stripe.customers.search({ query: `metadata['cohort']:'sdk-search'`, limit: 2 }).autoPagingToArray({ limit: 10 });
    expect(all.map((c) => c.id)).toEqual([...made].reverse());
    const page = await stripe.customers.search({ query: `email~"search-1" AND metadata['cohort']:'sdk-search'` });
    expect(page).toMatchObject({ object: 'search_result', has_more: false, next_page: null });
    expect(page.data.map((c) => c.id)).toEqual([made[1]]);

    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id);
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.elite_monthly! }], trial_end: 'now', metadata: { search: 'sdk-elite' } });
    const subs = await stripe.subscriptions.search({ query: `status:'active' AND metadata['search']:'sdk-elite'` });
    expect(subs.data.map((s) => s.id)).toEqual([sub.id]);
    const invoices = await stripe.invoices.search({ query: `customer:'${customer.id}' AND total>=500000` });
    expect(invoices.data.map((i) => [i.id, i.status, i.total])).toEqual([[sub.latest_invoice, 'paid', 500_000]]);
    const bad = await stripe.customers.search({ query: 'shoe:"9"' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'query' });
  });
  it('manages seats through subscription items', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id);
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.community_monthly! }], trial_end: 'now' });
    const added = await stripe.subscriptionItems.create({ subscription: sub.id, price: price.group_monthly!, quantity: 2, proration_behavior: 'none' });
    expect(added).toMatchObject({ object: 'subscription_item', quantity: 2, subscription: sub.id, price: { id: price.group_monthly } });
    const seats = await stripe.subscriptionItems.update(added.id, { quantity: 5, proration_behavior: 'none' });
    expect([seats.id, seats.quantity]).toEqual([added.id, 5]);
    const listed = await stripe.subscriptionItems.list({ subscription: sub.id });
    expect(listed.data.map((i) => [i.price.id, i.quantity])).toEqual([
      [price.community_monthly, 1],
      [price.group_monthly, 5],
    ]);
    const removed = await stripe.subscriptionItems.del(sub.items.data[0]!.id, { proration_behavior: 'none' });
    expect(removed).toMatchObject({ id: sub.items.data[0]!.id, deleted: true });
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data.map((i) => [i.id, i.quantity])).toEqual([[added.id, 5]]);
  });

  it('schedules a downgrade for the period end with a subscription schedule, as Stripe integrations do', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id);
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.group_monthly! }], trial_end: 'now' });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(schedule).toMatchObject({ object: 'subscription_schedule', status: 'active', subscription: sub.id, end_behavior: 'release' });
    const phase = schedule.phases[0]!;
    const updated = await stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: price.group_monthly!, quantity: 1 }], start_date: phase.start_date, end_date: phase.end_date },
        { items: [{ price: price.community_monthly!, quantity: 1 }], duration: { interval: 'month', interval_count: 2 } },
      ],
      proration_behavior: 'none',
    });
    expect(updated.phases.map((p) => [iso(p.start_date), iso(p.end_date), p.items[0]!.price])).toEqual([
      ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', price.group_monthly],
      ['2026-04-01T00:00:00Z', '2026-06-01T00:00:00Z', price.community_monthly],
    ]);
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBe(schedule.id);
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-04-01T02:00:00Z') });
    const renewal = await stripe.invoices.retrieve((await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string);
    expect([renewal.total, renewal.billing_reason]).toEqual([9700, 'subscription_cycle']);
    const listed = await stripe.subscriptionSchedules.list({ customer: customer.id });
    expect(listed.data.map((s) => [s.id, s.status, s.current_phase?.start_date])).toEqual([[schedule.id, 'active', unix('2026-04-01T00:00:00Z')]]);
    const released = await stripe.subscriptionSchedules.release(schedule.id);
    expect([released.status, released.released_subscription]).toEqual(['released', sub.id]);
    const err = await stripe.subscriptionSchedules.cancel(schedule.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'StripeInvalidRequestError', code: 'subscription_schedule_ended', statusCode: 400 });
  });

  it('an intro offer as a schedule: a free first month (trial), two months at 20 % off, then the full price, invoiced net 15', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z') });
    const { customer } = await customerOnClock(clock.id);
    const coupon = await stripe.coupons.create({ percent_off: 20, duration: 'forever' });
    const schedule = await stripe.subscriptionSchedules.create({
      customer: customer.id,
      start_date: 'now',
      phases: [
        { items: [{ price: price.community_monthly! }], trial: true, duration: { interval: 'month' } },
        { items: [{ price: price.community_monthly! }], discounts: [{ coupon: coupon.id }], duration: { interval: 'month', interval_count: 2 } },
        { items: [{ price: price.community_monthly! }], duration: { interval: 'month' }, collection_method: 'send_invoice', invoice_settings: { days_until_due: 15 } },
      ],
    });
    expect(schedule.phases.map((p) => [iso(p.start_date), p.trial_end === null ? null : iso(p.trial_end), p.discounts.map((d) => d.coupon), p.collection_method])).toEqual([
      ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', [], null],
      ['2026-04-01T00:00:00Z', null, [coupon.id], null],
      ['2026-06-01T00:00:00Z', null, [], 'send_invoice'],
    ]);
    const sub = await stripe.subscriptions.retrieve(schedule.subscription as string);
    expect([sub.status, sub.trial_end]).toEqual(['trialing', unix('2026-04-01T00:00:00Z')]);
    for (const at of ['2026-04-01', '2026-05-01', '2026-06-01']) await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix(`${at}T02:00:00Z`) });
    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => [iso(i.period_start), i.total, i.collection_method, i.status]).reverse()).toEqual([
      ['2026-03-01T00:00:00Z', 0, 'charge_automatically', 'paid'],
      ['2026-04-01T00:00:00Z', 7760, 'charge_automatically', 'paid'],
      ['2026-05-01T00:00:00Z', 7760, 'charge_automatically', 'paid'],
      ['2026-06-01T00:00:00Z', 9700, 'send_invoice', 'open'],
    ]);
  });
});
