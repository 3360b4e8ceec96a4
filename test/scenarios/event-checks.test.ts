import { isDeepStrictEqual } from 'node:util';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeClient } from '../helpers/stripe-sdk.js';
import { createBillingApp } from '../helpers/billing.js';
import { communityOnClock, countRows, get, iso, unix, update, type BillingApp } from './support.js';

// Events (issue 3 item 9) and the Stripe SDK as a client (item 12), checked by an audit against Stripe's
// documented behaviour (regression tests; the defects it found are in event-rules.test.ts).

let t: BillingApp;
let stripe: Stripe;
const price: Record<string, string> = {};
beforeAll(async () => {
  t = await createBillingApp();
  stripe = await stripeClient(t);
  for (const p of (await stripe.prices.list({ lookup_keys: ['group_monthly', 'elite_monthly', 'community_monthly'] })).data) price[p.lookup_key!] = p.id;
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const evs = async (q: string): Promise<any[]> => (await get(t, `/v1/events?${q}`)).data;
const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>, headers?: Record<string, string>) => t.call({ method, url, payload, headers });

describe('event shape and data.object', () => {
  it('customer.subscription.updated, invoice.* and payment_intent.* carry the full current object, clock time and Stripe fields', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-03-10T00:00:00Z');
    await update(t, sub.id, { metadata: { a: '1' }, items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    const [ev] = await evs(`type=customer.subscription.updated&customer=${customer}&limit=1`);
    expect(ev).toMatchObject({ object: 'event', api_version: expect.any(String), created: unix('2026-03-10T00:00:00Z'), livemode: false, pending_webhooks: 0, request: { id: expect.any(String) } });
    expect(ev.id).toMatch(/^evt_/);
    expect(ev.data.object).toEqual(await get(t, `/v1/subscriptions/${sub.id}`));
    expect(Object.keys(ev.data.previous_attributes).sort()).toEqual(['items', 'metadata']);

    await t.advance(clock, '2026-04-01T02:00:00Z');
    const all = await evs(`customer=${customer}&limit=100`);
    const renewal = all.find((e) => e.type === 'customer.subscription.updated');
    expect(renewal.created).toBe(unix('2026-04-01T00:00:00Z'));
    expect(renewal.request.id).toBeNull();
    expect(Object.keys(renewal.data.previous_attributes).sort()).toEqual(['current_period_end', 'current_period_start', 'items', 'latest_invoice']);
    expect(renewal.data.object).toEqual(await get(t, `/v1/subscriptions/${sub.id}`));
    const paid = all.find((e) => e.type === 'invoice.paid');
    expect(paid.created).toBe(unix('2026-04-01T01:00:00Z'));
    expect(paid.data.object).toEqual(await get(t, `/v1/invoices/${paid.data.object.id}`));
    const pi = all.find((e) => e.type === 'payment_intent.succeeded');
    expect(pi.data.object).toEqual(await get(t, `/v1/payment_intents/${pi.data.object.id}`));
    // No previous_attributes key holds the value the object still has.
    for (const e of all) for (const [k, v] of Object.entries(e.data.previous_attributes ?? {})) expect(isDeepStrictEqual(v, e.data.object[k]), `${e.type}.${k}`).toBe(false);
    // Created on a clock: the clock's time, not the app clock (2026-01-15).
    expect(all.at(-1)).toMatchObject({ type: 'customer.created', created: unix('2026-03-01T00:00:00Z') });
  });

  it('invoice.upcoming is written 7 days before each renewal, at clock time, as the upcoming invoice without id', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-03-24T23:00:00Z');
    expect(await evs(`type=invoice.upcoming&customer=${customer}`)).toEqual([]);
    await t.advance(clock, '2026-03-25T01:00:00Z');
    const [up] = await evs(`type=invoice.upcoming&customer=${customer}`);
    expect(iso(up.created)).toBe('2026-03-25T00:00:00Z');
    expect(up.data.object).toMatchObject({ object: 'invoice', subscription: sub.id, total: 9_700, period_start: unix('2026-04-01T00:00:00Z') });
    expect(up.data.object.id).toBeUndefined();
    await t.advance(clock, '2026-04-25T01:00:00Z');
    expect((await evs(`type=invoice.upcoming&customer=${customer}`)).map((e) => iso(e.created))).toEqual(['2026-04-24T00:00:00Z', '2026-03-25T00:00:00Z']);
  });

  it('catalog, customer and invoice item events', async () => {
    const p = (await call('POST', '/v1/products', { name: 'Prod A' })).body;
    expect((await evs('type=product.created&limit=1'))[0].data.object).toEqual(await get(t, `/v1/products/${p.id}`));
    await call('POST', `/v1/products/${p.id}`, { name: 'Prod B' });
    expect((await evs('type=product.updated&limit=1'))[0].data.previous_attributes).toEqual({ name: 'Prod A' });
    const pr = (await call('POST', '/v1/prices', { product: p.id, currency: 'usd', unit_amount: 500, nickname: 'n1' })).body;
    expect((await evs('type=price.created&limit=1'))[0].data.object.id).toBe(pr.id);
    await call('POST', `/v1/prices/${pr.id}`, { nickname: 'n2', active: false });
    expect((await evs('type=price.updated&limit=1'))[0].data.previous_attributes).toEqual({ active: true, nickname: 'n1' });
    const p2 = (await call('POST', '/v1/products', { name: 'Prod Del' })).body;
    await call('DELETE', `/v1/products/${p2.id}`);
    expect((await evs('type=product.deleted&limit=1'))[0].data.object).toMatchObject({ id: p2.id, name: 'Prod Del' });
    const c = (await call('POST', '/v1/customers', { email: 'a@example.com', name: 'A' })).body;
    await call('POST', `/v1/customers/${c.id}`, { name: 'B' });
    expect((await evs('type=customer.updated&limit=1'))[0].data.previous_attributes).toEqual({ name: 'A' });
    const ii = (await call('POST', '/v1/invoiceitems', { customer: c.id, amount: 1000, currency: 'usd', description: 'd1' })).body;
    expect((await evs('type=invoiceitem.created&limit=1'))[0].data.object.id).toBe(ii.id);
    await call('POST', `/v1/invoiceitems/${ii.id}`, { description: 'd2', amount: 1200 });
    expect((await evs('type=invoiceitem.updated&limit=1'))[0].data.previous_attributes).toEqual({ amount: 1000, unit_amount: 1000, description: 'd1' });
    await call('DELETE', `/v1/invoiceitems/${ii.id}`);
    expect((await evs('type=invoiceitem.deleted&limit=1'))[0].data.object).toMatchObject({ id: ii.id, amount: 1200 });
    await call('DELETE', `/v1/customers/${c.id}`);
    expect((await evs('type=customer.deleted&limit=1'))[0].data.object).toMatchObject({ id: c.id, email: 'a@example.com', name: 'B' });
  });
});

describe('a 4xx writes no event and changes nothing', () => {
  it('validation, missing references, state conflicts and declined error_if_incomplete', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    const comm = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const cases: [('POST' | 'DELETE'), string, Record<string, unknown>][] = [
      ['POST', '/v1/subscriptions', { customer, items: [{ price: comm }, { price: 'price_missing' }], trial_end: 'now' }],
      ['POST', '/v1/subscriptions', { customer, items: [{ price: comm }], trial_end: 'now', coupon: 'nope' }],
      ['POST', `/v1/customers/${customer}`, { name: 'Changed', invoice_settings: { default_payment_method: 'pm_missing' } }],
      ['POST', '/v1/prices', { product: 'prod_community', currency: 'usd', unit_amount: 100, lookup_key: 'community_monthly' }],
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { x: '1' }, items: [{ id: sub.items.data[0].id, price: group }], coupon: 'nope' }],
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { x: '1' }, cancel_at_period_end: true, cancel_at: unix('2026-03-20T00:00:00Z') }],
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { x: '1' }, items: [{ price: await t.priceId('elite_annual') }] }],
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { x: '1' }, default_payment_method: 'pm_missing' }],
      ['POST', `/v1/subscriptions/${sub.id}`, { metadata: { x: '1' }, pause_collection: { behavior: 'void', resumes_at: 5 } }],
    ];
    for (const [m, u, p] of cases) {
      const before = await countRows(t, 'events');
      const r = await call(m, u, p);
      expect(r.status, JSON.stringify(p)).toBeGreaterThanOrEqual(400);
      expect(await countRows(t, 'events'), JSON.stringify(p)).toBe(before);
    }
    expect((await get(t, `/v1/customers/${customer}`)).name).toBeNull();
    expect((await get(t, `/v1/subscriptions/${sub.id}`)).metadata).toEqual({});

    const declined = await t.customer({ clock, card: 'pm_card_chargeDeclined' });
    const before = await countRows(t, 'events');
    const r = await call('POST', '/v1/subscriptions', { customer: declined, items: [{ price: comm }], trial_end: 'now', payment_behavior: 'error_if_incomplete' });
    expect(r.status).toBe(402);
    expect(await countRows(t, 'events')).toBe(before);
  });

  it('an Idempotency-Key replay writes no second event', async () => {
    const before = await countRows(t, 'events');
    const h = { 'idempotency-key': 'audit-events-1' };
    const a = await call('POST', '/v1/customers', { email: 'idem@example.com' }, h);
    const b = await call('POST', '/v1/customers', { email: 'idem@example.com' }, h);
    expect(b.body.id).toBe(a.body.id);
    expect(await countRows(t, 'events')).toBe(before + 1);
  });
});

describe('GET /v1/events', () => {
  it('filters, limits, orders newest first, paginates and answers 404 like Stripe', async () => {
    await communityOnClock(t, '2026-03-01T00:00:00Z');
    expect((await call('GET', '/v1/events/evt_missing')).body).toEqual({ error: { type: 'invalid_request_error', code: 'resource_missing', message: "No such event: 'evt_missing'", param: 'id' } });
    expect((await call('GET', '/v1/events?limit=101')).body.error).toMatchObject({ param: 'limit' });
    expect((await call('GET', '/v1/events?limit=0')).body.error).toMatchObject({ param: 'limit' });
    expect((await evs('types[]=customer.created&types[]=product.created&limit=100')).every((e) => ['customer.created', 'product.created'].includes(e.type))).toBe(true);
    expect((await evs('type=customer.*&limit=100')).every((e) => e.type.startsWith('customer.'))).toBe(true);
    const all = await evs('limit=100');
    const ids = all.map((e) => e.id);
    expect(ids).toEqual([...ids].sort().reverse());
    // (Ordered by id, i.e. when written: events of test clocks carry clock time, so `created` is not monotonic across clocks.)
    expect((await evs(`limit=3&starting_after=${ids[2]}`)).map((e) => e.id)).toEqual(ids.slice(3, 6));
    expect((await evs(`limit=3&ending_before=${ids[6]}`)).map((e) => e.id)).toEqual(ids.slice(3, 6));
    const at = Math.max(...all.map((e) => e.created));
    expect((await evs(`created[gt]=${at}&limit=100`))).toEqual([]);
    expect((await evs(`created[gte]=${at}&limit=100`)).length).toBeGreaterThan(0);
    expect((await get(t, `/v1/events/${ids[0]}`)).id).toBe(ids[0]);
  });
});

describe('the stripe SDK: calls an integration makes', () => {
  it('lists, updates, previews, cancels, resumes, paginates and raises typed errors', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: unix('2026-03-01T00:00:00Z'), name: 'audit' });
    const customer = await stripe.customers.create({ email: 'sdk-audit@example.com', test_clock: clock.id });
    const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.community_monthly! }, { price: price.group_monthly! }], trial_end: 'now', default_payment_method: pm.id });

    const listed = await stripe.subscriptions.list({ customer: customer.id, status: 'all', expand: ['data.default_payment_method'] });
    expect((listed.data[0]!.default_payment_method as Stripe.PaymentMethod).id).toBe(pm.id);
    const removed = await stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[1]!.id, deleted: true }] });
    expect(removed.items.data.map((i) => i.price.id)).toEqual([price.community_monthly]);
    const preview = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-150_000, 9_700]);

    const ids: string[] = [];
    for await (const inv of stripe.invoices.list({ customer: customer.id, limit: 1 })) ids.push(inv.id!);
    expect(ids).toHaveLength(1);
    expect((await stripe.paymentMethods.list({ customer: customer.id, type: 'card' })).data.map((p) => p.id)).toEqual([pm.id]);
    expect((await stripe.customers.listPaymentMethods(customer.id, { type: 'card' })).data.map((p) => p.id)).toEqual([pm.id]);
    expect((await stripe.events.list({ type: 'customer.subscription.updated', limit: 3 })).data.every((e) => e.type === 'customer.subscription.updated')).toBe(true);
    let n = 0;
    for await (const e of stripe.events.list({ limit: 5 })) if (e.object === 'event') n++;
    expect(n).toBeGreaterThan(5);
    expect((await stripe.testHelpers.testClocks.list({ limit: 100 })).data.map((c) => c.id)).toContain(clock.id);

    const a = await stripe.customers.create({ email: 'idem-sdk@example.com' }, { idempotencyKey: 'audit-sdk-1' });
    const b = await stripe.customers.create({ email: 'idem-sdk@example.com' }, { idempotencyKey: 'audit-sdk-1' });
    expect(b.id).toBe(a.id);

    const bad = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_nope' }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(bad).toMatchObject({ code: 'resource_missing', param: 'items[0][price]' });
    const declinedPm = await stripe.paymentMethods.attach('pm_card_chargeDeclined', { customer: customer.id });
    await stripe.invoiceItems.create({ customer: customer.id, amount: 1000, currency: 'usd' });
    const inv = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    await stripe.invoices.finalizeInvoice(inv.id!);
    const card = await stripe.invoices.pay(inv.id!, { payment_method: declinedPm.id }).catch((e: unknown) => e);
    expect(card).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(card).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });

    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-03-16T12:00:00Z') });
    const canceled = await stripe.subscriptions.cancel(sub.id, { invoice_now: true, prorate: true, cancellation_details: { comment: 'bye' } });
    expect(canceled).toMatchObject({ status: 'canceled', canceled_at: unix('2026-03-16T12:00:00Z'), cancellation_details: { comment: 'bye', reason: 'cancellation_requested' } });

    const c2 = await stripe.customers.create({ email: 'pause@example.com', test_clock: clock.id });
    const trial = await stripe.subscriptions.create({ customer: c2.id, items: [{ price: price.community_monthly! }], trial_period_days: 1, trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: unix('2026-03-18T12:00:00Z') });
    expect((await stripe.subscriptions.retrieve(trial.id)).status).toBe('paused');
    const pm2 = await stripe.paymentMethods.attach('pm_card_visa', { customer: c2.id });
    await stripe.customers.update(c2.id, { invoice_settings: { default_payment_method: pm2.id } });
    const resumed = await stripe.subscriptions.resume(trial.id, { billing_cycle_anchor: 'now' } as unknown as Stripe.SubscriptionResumeParams);
    expect(resumed.status).toBe('active');
    expect(resumed.latest_invoice).not.toBe(trial.latest_invoice);
  });
});
