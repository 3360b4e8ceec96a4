import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { postOk } from './states-support.js';
import { get, iso, subscribe, unix, type BillingApp } from './support.js';

// Manual invoices and invoice items, compared with Stripe (InvoiceCreateParams, InvoiceItems).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);

describe('manual invoice lifecycle', () => {
  it('invoice items by amount and by one-time price × quantity; finalize, pay; void keeps its number; numbers gapless', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const course = await t.priceId('course_onetime');
    const a = await post('/v1/invoiceitems', { customer, amount: 2500, currency: 'usd', description: 'Setup fee' });
    expect([a.amount, a.quantity, a.unit_amount, a.invoice, a.proration]).toEqual([2500, 1, 2500, null, false]);
    const b = await post('/v1/invoiceitems', { customer, price: course, quantity: 2 });
    expect([b.amount, b.quantity, b.unit_amount, b.price]).toEqual([199_400, 2, 99_700, course]);

    const draft = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    expect([draft.status, draft.number, draft.total, draft.auto_advance, draft.billing_reason, draft.status_transitions.finalized_at]).toEqual(['draft', null, 201_900, false, 'manual', null]);
    await t.advance(clock, '2026-03-01T05:00:00Z');
    // auto_advance false: still a draft hours later.
    expect((await get(t, `/v1/invoices/${draft.id}`)).status).toBe('draft');

    const fin = await post(`/v1/invoices/${draft.id}/finalize`);
    expect([fin.status, fin.number, fin.status_transitions.finalized_at]).toEqual(['open', expect.stringMatching(/^[A-Z0-9]+-\d{4,}$/), unix('2026-03-01T05:00:00Z')]);
    const paid = await post(`/v1/invoices/${draft.id}/pay`);
    expect([paid.status, paid.amount_paid, paid.amount_remaining, paid.status_transitions.paid_at]).toEqual(['paid', 201_900, 0, unix('2026-03-01T05:00:00Z')]);

    // A second one, voided: keeps its number; a third gets the next number.
    await post('/v1/invoiceitems', { customer, amount: 1000, currency: 'usd' });
    const d2 = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    const f2 = await post(`/v1/invoices/${d2.id}/finalize`, { auto_advance: false });
    const v2 = await post(`/v1/invoices/${d2.id}/void`);
    expect([v2.status, v2.number, v2.status_transitions.voided_at !== null]).toEqual(['void', f2.number, true]);
    await post('/v1/invoiceitems', { customer, amount: 1000, currency: 'usd' });
    const d3 = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    const f3 = await post(`/v1/invoices/${d3.id}/finalize`, { auto_advance: false });
    const seq = (n: string) => Number(n.split('-').pop());
    expect([seq(f2.number) - seq(fin.number), seq(f3.number) - seq(f2.number)]).toEqual([1, 1]);

    // mark_uncollectible then pay.
    const u = await post(`/v1/invoices/${d3.id}/mark_uncollectible`);
    expect([u.status, u.status_transitions.marked_uncollectible_at !== null]).toEqual(['uncollectible', true]);
    const p3 = await post(`/v1/invoices/${d3.id}/pay`);
    expect([p3.status, p3.amount_paid, p3.status_transitions.marked_uncollectible_at !== null]).toEqual(['paid', 1000, true]);

    // Stripe: "Once an invoice is finalized, monetary values, as well as collection_method, become
    // uneditable" — each refused with a stable code; the description (the memo) and metadata stay editable.
    const addItem = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, amount: 10, currency: 'usd', invoice: d3.id } });
    expect([addItem.status, addItem.body.error?.code]).toEqual([400, 'invoice_not_editable']);
    const lineItem = (await get(t, `/v1/invoiceitems?invoice=${d3.id}`)).data[0];
    const del = await t.call({ method: 'DELETE', url: `/v1/invoiceitems/${lineItem.id}` });
    expect([del.status, del.body.error?.code]).toEqual([400, 'invoice_not_editable']);
    for (const [param, value] of [
      ['collection_method', 'send_invoice'],
      ['days_until_due', 30],
    ] as const) {
      const refused = await t.call({ method: 'POST', url: `/v1/invoices/${d3.id}`, payload: { [param]: value } });
      expect([refused.status, refused.body.error?.code, refused.body.error?.param]).toEqual([400, 'invoice_not_editable', param]);
    }
    const desc = await post(`/v1/invoices/${d3.id}`, { description: 'PO 4711', metadata: { po: '4711' } });
    expect([desc.status, desc.description, desc.metadata, desc.total, desc.amount_paid, desc.number]).toEqual(['paid', 'PO 4711', { po: '4711' }, 1000, 1000, f3.number]);
    const delInv = await t.call({ method: 'DELETE', url: `/v1/invoices/${d3.id}` });
    expect([delInv.status, delInv.body.error?.code]).toEqual([400, 'invoice_not_editable']);
  });
});

describe('POST /v1/invoices pending_invoice_items_behavior', () => {
  // Stripe (InvoiceCreateParams.pending_invoice_items_behavior, node_modules/stripe/esm/resources/Invoices.d.ts):
  // "How to handle pending invoice items on invoice creation. Defaults to `exclude` if the parameter is omitted."
  it('defaults to exclude: the new draft is empty and the item stays pending', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const item = await post('/v1/invoiceitems', { customer, amount: 4200, currency: 'usd' });
    const inv = await post('/v1/invoices', { customer, currency: 'usd' });
    expect([inv.status, inv.total, inv.lines.data.length]).toEqual(['draft', 0, 0]);
    expect((await get(t, `/v1/invoiceitems/${item.id}`)).invoice).toBeNull();
  });

  it('exclude leaves the items pending; include takes them', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const item = await post('/v1/invoiceitems', { customer, amount: 4200, currency: 'usd' });
    const ex = await post('/v1/invoices', { customer, currency: 'usd', pending_invoice_items_behavior: 'exclude' });
    expect([ex.total, ex.lines.data.length]).toEqual([0, 0]);
    const inc = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    expect([inc.total, inc.lines.data.length]).toEqual([4200, 1]);
    expect((await get(t, `/v1/invoiceitems/${item.id}`)).invoice).toBe(inc.id);
  });
});

describe('GET /v1/invoices filters', () => {
  it('customer, subscription and status filter', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await post('/v1/invoiceitems', { customer, amount: 5000, currency: 'usd' });
    const manual = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    const byCustomer = await get(t, `/v1/invoices?customer=${customer}`);
    expect(byCustomer.data.map((i: { id: string }) => i.id)).toContain(manual.id);
    expect(byCustomer.data).toHaveLength(2);
    const bySub = await get(t, `/v1/invoices?subscription=${sub.id}`);
    expect(bySub.data.map((i: { subscription: string }) => i.subscription)).toEqual([sub.id]);
    const drafts = await get(t, `/v1/invoices?customer=${customer}&status=draft`);
    expect(drafts.data.map((i: { id: string }) => i.id)).toEqual([manual.id]);
  });

  // Stripe: GET /v1/invoices takes `created` (and `collection_method`, `due_date`) filters
  // (InvoiceListParams in node_modules/stripe/esm/resources/Invoices.d.ts: `created?: RangeQueryParam | number`).
  it('created[gte]/[lt] filters by creation time', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post('/v1/invoiceitems', { customer, amount: 5000, currency: 'usd' });
    const first = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    await t.advance(clock, '2026-03-05T00:00:00Z');
    await post('/v1/invoiceitems', { customer, amount: 6000, currency: 'usd' });
    const second = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    const res = await t.call({ method: 'GET', url: `/v1/invoices?customer=${customer}&created[gte]=${unix('2026-03-03T00:00:00Z')}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.map((i: { id: string }) => i.id)).toEqual([second.id]);
    const lt = await get(t, `/v1/invoices?customer=${customer}&created[lt]=${unix('2026-03-03T00:00:00Z')}`);
    expect(lt.data.map((i: { id: string }) => i.id)).toEqual([first.id]);
    expect(iso(first.created)).toBe('2026-03-01T00:00:00Z');
  });
});

describe('auto_advance on a manual invoice', () => {
  // Stripe: an invoice with auto_advance=true is finalized automatically about an hour after creation,
  // then collected (charge_automatically).
  it('true: finalized about an hour later and charged', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post('/v1/invoiceitems', { customer, amount: 5000, currency: 'usd' });
    const inv = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include', auto_advance: true });
    expect([inv.status, inv.auto_advance]).toEqual(['draft', true]);
    await t.advance(clock, '2026-03-01T03:00:00Z');
    const after = await get(t, `/v1/invoices/${inv.id}`);
    expect([after.status, after.amount_paid, after.number !== null]).toEqual(['paid', 5000, true]);
  });
});

describe('updating an invoice item', () => {
  // Stripe: POST /v1/invoiceitems/{id} ("Updates the amount or description of an invoice item on an
  // upcoming invoice. Updating an invoice item is only possible before the invoice it's attached to is
  // closed." — InvoiceItems.d.ts / docs.stripe.com/api/invoiceitems/update).
  it('works on a pending item and is refused with invoice_not_editable once its invoice is finalized', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const item = await post('/v1/invoiceitems', { customer, amount: 4200, currency: 'usd' });
    const upd = await t.call({ method: 'POST', url: `/v1/invoiceitems/${item.id}`, payload: { amount: 5000, description: 'changed' } });
    expect([upd.status, upd.body.amount, upd.body.description]).toEqual([200, 5000, 'changed']);
    const inv = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    await post(`/v1/invoices/${inv.id}/finalize`, { auto_advance: false });
    const refused = await t.call({ method: 'POST', url: `/v1/invoiceitems/${item.id}`, payload: { amount: 1 } });
    expect([refused.status, refused.body.error?.code]).toEqual([400, 'invoice_not_editable']);
  });
});
