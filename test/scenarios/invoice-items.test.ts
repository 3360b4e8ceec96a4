import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { postOk } from './states-support.js';
import { get, subscribe, type BillingApp } from './support.js';

// Invoice items as Stripe defines them: negative items not discountable by default, an invoice made
// for a subscription takes only that subscription's pending items, items updated before finalization.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);

describe('negative invoice items are not discountable by default', () => {
  // Stripe, InvoiceItemCreateParams.discountable (node_modules/stripe/esm/resources/InvoiceItems.d.ts;
  // docs.stripe.com/api/invoiceitems/create): "Controls whether discounts apply to this invoice item.
  // Defaults to false for prorations or negative invoice items, and true for all other invoice items."
  it('a -500 credit item has discountable=false and a 10 % coupon does not shrink it', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'forever' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: coupon.id });
    const credit = await post('/v1/invoiceitems', { customer, amount: -500, currency: 'usd', subscription: sub.id, description: 'Goodwill credit' });
    expect.soft(credit.discountable).toBe(false);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    // 9,700 − 10 % (970) − 500 = 8,230 (discounting the credit too would give 8,280).
    expect([renewal.subtotal, renewal.total]).toEqual([9200, 8230]);
  });
});

describe('POST /v1/invoices with subscription', () => {
  // Stripe, InvoiceCreateParams.subscription: "The ID of the subscription to invoice, if any. If set, the
  // created invoice will only include pending invoice items for that subscription."
  it('takes only that subscription’s pending items', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const loose = await post('/v1/invoiceitems', { customer, amount: 1111, currency: 'usd' });
    const mine = await post('/v1/invoiceitems', { customer, amount: 2222, currency: 'usd', subscription: sub.id });
    const inv = await post('/v1/invoices', { customer, subscription: sub.id, pending_invoice_items_behavior: 'include' });
    expect(inv.lines.data.map((l: { amount: number }) => l.amount)).toEqual([2222]);
    expect((await get(t, `/v1/invoiceitems/${loose.id}`)).invoice).toBeNull();
    expect((await get(t, `/v1/invoiceitems/${mine.id}`)).invoice).toBe(inv.id);
  });
});

describe('updating an item on a draft invoice', () => {
  it("rebuilds the draft's lines and totals and writes invoiceitem.updated with what changed", async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const draft = await t.call({ method: 'POST', url: '/v1/invoices', payload: { customer: cus, currency: 'usd' } });
    const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, invoice: draft.body.id, unit_amount: 1500, quantity: 2, currency: 'usd', description: 'Workshop seats' } });
    expect((await get(t, `/v1/invoices/${draft.body.id}`)).total).toBe(3000);
    const res = await t.call({ method: 'POST', url: `/v1/invoiceitems/${item.body.id}`, payload: { quantity: 3, description: 'Workshop seats (3)' } });
    expect([res.status, res.body.amount, res.body.quantity, res.body.description]).toEqual([200, 4500, 3, 'Workshop seats (3)']);
    const inv = await get(t, `/v1/invoices/${draft.body.id}`);
    expect([inv.total, inv.lines.data.map((l: { amount: number; description: string }) => [l.amount, l.description])]).toEqual([4500, [[4500, 'Workshop seats (3)']]]);
    const events = (await get(t, `/v1/events?object_id=${item.body.id}&type=invoiceitem.updated`)).data;
    expect(events.map((e: { data: { previous_attributes: Record<string, unknown> } }) => e.data.previous_attributes)).toEqual([{ amount: 3000, quantity: 2, description: 'Workshop seats' }]);
    // amount is the total of a single item: with quantity 3 it takes unit_amount.
    const withQuantity = await t.call({ method: 'POST', url: `/v1/invoiceitems/${item.body.id}`, payload: { amount: 100 } });
    expect([withQuantity.status, withQuantity.body.error.param]).toEqual([400, 'amount']);
  });
});

describe('a proration item keeps its amount when it is edited', () => {
  // Found by the random operations (seed 9828 on PostgreSQL, update_lines): an update that named only
  // the description recomputed the amount as unit_amount × quantity — for a proration, whose
  // unit_amount is the price's, that turned a credit of the unused time into a charge of a whole period.
  it('its description changes and its amount stays; its amount, unit_amount or quantity is refused', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-16T00:00:00Z');
    const item = sub.items.data[0].id as string;
    await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: await t.priceId('group_monthly') }] });
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data as { id: string; amount: number; unit_amount: number; proration: boolean }[];
    const credit = pending.find((p) => p.amount < 0)!;
    // 16 of March's 31 days unused: −9,700 × 16/31 = −5,006.45 → −5,006; the unit amount is the price's.
    expect([credit.proration, credit.amount, credit.unit_amount]).toEqual([true, -5006, 9700]);
    const renamed = await post(`/v1/invoiceitems/${credit.id}`, { description: 'Unused Community' });
    expect([renamed.description, renamed.amount, renamed.unit_amount]).toEqual(['Unused Community', -5006, 9700]);
    for (const change of [{ amount: -100 }, { unit_amount: 100 }, { quantity: 2 }]) {
      const res = await t.call({ method: 'POST', url: `/v1/invoiceitems/${credit.id}`, payload: change });
      expect([res.status, res.body.error.param]).toEqual([400, Object.keys(change)[0]]);
    }
    expect((await get(t, `/v1/invoiceitems/${credit.id}`)).amount).toBe(-5006);
  });
});
