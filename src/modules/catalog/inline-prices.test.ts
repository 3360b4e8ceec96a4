import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';

// Stripe's price_data, as integrations send it: a coaching package priced for one client (subscription
// items), a one-off setup fee (add_invoice_items) and a workshop seat (invoice items), each without a
// catalog price made first. Each becomes an inactive price of its own, billed like any other.

let t: TestApp & BillingHelpers;
let product: string;
beforeAll(async () => {
  t = await createBillingApp();
  product = (await t.ok('GET', `/v1/prices/${await t.priceId('community_monthly')}`)).product;
});
afterAll(() => t.close());

const monthly = (unit_amount: number) => ({ currency: 'usd', product, unit_amount, recurring: { interval: 'month' } });
const refused = async (method: 'POST', url: string, payload: Record<string, unknown>) => {
  const res = await t.call({ method, url, payload });
  return [res.status, res.body.error?.code, res.body.error?.param];
};
const priceCount = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prices`)).rows[0]!.n;

describe('price_data on subscriptions', () => {
  it('creates an inactive price per item and add_invoice_item, billed on the first invoice and the renewals', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await t.ok('POST', '/v1/subscriptions', {
      customer,
      items: [{ price_data: monthly(12_500), quantity: 2 }],
      add_invoice_items: [{ price_data: { currency: 'usd', product, unit_amount: 30_000 } }],
    });
    const price = sub.items.data[0].price;
    expect([sub.status, price.active, price.unit_amount, price.type, price.recurring.interval, price.recurring.interval_count, price.product]).toEqual([
      'active', false, 12_500, 'recurring', 'month', 1, product,
    ]);
    const first = await t.ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    expect([first.status, first.total, first.lines.data.map((l: { amount: number }) => l.amount).sort()]).toEqual(['paid', 55_000, [25_000, 30_000]]);
    // Ordinary prices otherwise: retrievable, with their price.created events.
    const fee = first.lines.data.find((l: { amount: number }) => l.amount === 30_000).pricing.price_details.price;
    expect((await t.ok('GET', `/v1/prices/${fee}`)).active).toBe(false);
    for (const id of [price.id, fee]) expect((await t.ok('GET', `/v1/events?type=price.created&object_id=${id}`)).data.length).toBe(1);

    await t.advance(clock, '2026-04-01T01:30:00Z');
    const renewal = (await t.invoices(sub.id)).find((i) => i.id !== first.id)!;
    expect([renewal.status, renewal.total]).toEqual(['paid', 25_000]);
  });

  it('changes items to inline prices on update and through /v1/subscription_items; an unchanged item keeps an archived price', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    const item = sub.items.data[0].id;
    const updated = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: item, price_data: monthly(15_000) }], proration_behavior: 'none' });
    expect([updated.items.data[0].price.unit_amount, updated.items.data[0].price.active]).toEqual([15_000, false]);

    const seats = await t.ok('POST', '/v1/subscription_items', { subscription: sub.id, price_data: monthly(2_000), quantity: 3, proration_behavior: 'none' });
    expect([seats.quantity, seats.price.unit_amount, seats.price.active]).toEqual([3, 2_000, false]);
    const repriced = await t.ok('POST', `/v1/subscription_items/${seats.id}`, { price_data: monthly(2_500), proration_behavior: 'none' });
    expect([repriced.id, repriced.price.unit_amount, repriced.price.id === seats.price.id]).toEqual([seats.id, 2_500, false]);
    // Its price is inactive, yet the item's quantity still changes (Stripe: an archived price goes on billing)…
    await t.ok('POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: seats.id, quantity: 4 }], proration_behavior: 'none' });
    // …while moving an item to an archived catalog price is refused.
    const archived = await t.ok('POST', '/v1/prices', monthly(999));
    await t.ok('POST', `/v1/prices/${archived.id}`, { active: false });
    expect(await refused('POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: archived.id }] })).toEqual([400, 'price_inactive', 'items[0][price]']);

    await t.advance(clock, '2026-06-01T01:30:00Z');
    const renewal = (await t.invoices(sub.id)).find((i) => i.id !== sub.latest_invoice)!;
    expect([renewal.status, renewal.total]).toEqual(['paid', 15_000 + 4 * 2_500]);
  });
});

describe('price_data in a preview', () => {
  it('previews a new subscription and a change of items without keeping the prices', async () => {
    const clock = await t.clockAt('2026-07-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const before = await priceCount();
    const fresh = await t.ok('POST', '/v1/invoices/create_preview', { customer, subscription_details: { items: [{ price_data: monthly(12_000), quantity: 2 }] } });
    expect([fresh.total, fresh.lines.data.length]).toEqual([24_000, 1]);
    expect(await priceCount()).toBe(before);

    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-07-16T00:00:00Z');
    const count = await priceCount();
    // Half of July (16 of 31 days) left: −9,700 × 16/31 and +31,000 × 16/31, each rounded once.
    const change = await t.ok('POST', '/v1/invoices/create_preview', {
      subscription: sub.id,
      subscription_details: { items: [{ id: sub.items.data[0].id, price_data: monthly(31_000) }] },
    });
    // The next invoice (Aug 1): August at the new price, then the two prorations.
    expect(change.lines.data.map((l: { amount: number; proration: boolean }) => [l.amount, l.proration])).toEqual([[31_000, false], [-5_006, true], [16_000, true]]);
    expect(change.total).toBe(41_994);
    expect(await priceCount()).toBe(count);
    // The same preview through GET upcoming, its items in the query string.
    const item = `subscription_items[0][id]=${sub.items.data[0].id}`;
    const data = `subscription_items[0][price_data][currency]=usd&subscription_items[0][price_data][product]=${product}&subscription_items[0][price_data][unit_amount]=31000&subscription_items[0][price_data][recurring][interval]=month`;
    const upcoming = await t.ok('GET', `/v1/invoices/upcoming?subscription=${sub.id}&${item}&${data}`);
    expect(upcoming.lines.data.map((l: { amount: number }) => l.amount)).toEqual([31_000, -5_006, 16_000]);
    expect(await priceCount()).toBe(count);
    const missing = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}&${item}&${data.replace(product, 'prod_missing')}` });
    expect([missing.status, missing.body.error.param]).toEqual([404, 'subscription_items[0][price_data][product]']);
    const bad = (details: Record<string, unknown>, extra: Record<string, unknown> = {}) => refused('POST', '/v1/invoices/create_preview', { customer, subscription_details: details, ...extra });
    expect(await bad({ items: [{ price_data: { ...monthly(1), product: 'prod_missing' } }] })).toEqual([404, 'resource_missing', 'subscription_details[items][0][price_data][product]']);
    expect(await bad({ items: [{ id: sub.items.data[0].id, price_data: { ...monthly(1), product: 'prod_missing' } }] }, { subscription: sub.id })).toEqual([
      404, 'resource_missing', 'subscription_details[items][0][price_data][product]',
    ]);
  });
});

describe('an archived price', () => {
  it('goes on billing for the items that have it, which can still change quantity', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const retired = await t.ok('POST', '/v1/prices', monthly(4_000));
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: retired.id }] });
    await t.ok('POST', `/v1/prices/${retired.id}`, { active: false });
    const more = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: retired.id, quantity: 2 }], proration_behavior: 'none' });
    expect([more.items.data[0].quantity, more.items.data[0].price.id]).toEqual([2, retired.id]);
    const other = await t.customer({ card: 'pm_card_visa' });
    expect(await refused('POST', '/v1/subscriptions', { customer: other, items: [{ price: retired.id }] })).toEqual([400, 'price_inactive', 'items[0][price]']);
  });
});

describe('price_data on invoice items', () => {
  it('bills a one-time price made for the item', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const item = await t.ok('POST', '/v1/invoiceitems', { customer, price_data: { currency: 'usd', product, unit_amount: 7_500 }, quantity: 2, description: 'Workshop seat' });
    const price = await t.ok('GET', `/v1/prices/${item.price}`);
    expect([item.amount, item.quantity, price.unit_amount, price.active, price.type]).toEqual([15_000, 2, 7_500, false, 'one_time']);
    const inv = await t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    expect(inv.total).toBe(15_000);
  });
});

describe('price_data refused', () => {
  it('names the parameter inside price_data and writes nothing', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    const before = await priceCount();
    const create = (item: Record<string, unknown>, extra: Record<string, unknown> = {}) => refused('POST', '/v1/subscriptions', { customer, items: [item], ...extra });
    const { product: _p, ...noProduct } = monthly(1_000);
    const { unit_amount: _u, ...noAmount } = monthly(1_000);
    const { recurring: _r, ...noRecurring } = monthly(1_000);
    expect(await create({ price: await t.priceId('community_monthly'), price_data: monthly(1_000) })).toEqual([400, 'parameter_invalid', 'items[0][price_data]']);
    expect(await create({ price_data: noProduct })).toEqual([400, 'parameter_missing', 'items[0][price_data][product]']);
    expect(await create({ price_data: { ...monthly(1_000), product: 'prod_missing' } })).toEqual([404, 'resource_missing', 'items[0][price_data][product]']);
    expect(await create({ price_data: noAmount })).toEqual([400, 'parameter_missing', 'items[0][price_data][unit_amount]']);
    expect(await create({ price_data: noRecurring })).toEqual([400, 'parameter_missing', 'items[0][price_data][recurring]']);
    // A valid inline item with a refused add_invoice_item: neither price is left behind.
    expect(await create({ price_data: monthly(1_000) }, { add_invoice_items: [{ price_data: { ...monthly(500) } }] })).toEqual([
      400, 'parameter_unknown', 'add_invoice_items[0][price_data][recurring]',
    ]);
    expect(await create({ price_data: monthly(1_000) }, { currency: 'eur' })).toEqual([400, 'currency_mismatch', 'currency']);
    expect(await refused('POST', '/v1/subscription_items', { subscription: sub.id, price_data: { ...monthly(1_000), product: 'prod_missing' } })).toEqual([
      404, 'resource_missing', 'price_data[product]',
    ]);
    expect(await refused('POST', '/v1/invoiceitems', { customer, price_data: { currency: 'usd', product, unit_amount: 100 }, amount: 100 })).toEqual([400, 'parameter_invalid', 'price_data']);
    expect(await priceCount()).toBe(before);
  });
});
