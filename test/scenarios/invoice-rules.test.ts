import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { eventsOf, postOk } from './states-support.js';
import { communityOnClock, get, subscribe, unix, update, type BillingApp } from './support.js';

// Invoice fields against Stripe's rules: what a finalized invoice still takes (description), a draft's
// starting_balance, "" for description, due_date, auto_advance turned on for a draft, and the
// customer's invoice_prefix numbering.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());
const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);
const call = (url: string, payload: Record<string, unknown>) => t.call({ method: 'POST', url, payload });

async function draft(customer: string, amounts: number[], extra: Record<string, unknown> = {}) {
  for (const a of amounts) await post('/v1/invoiceitems', { customer, amount: a, currency: 'usd' });
  return post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
}

describe('POST /v1/invoices/:id on a finalized invoice (Stripe: monetary values and collection_method become uneditable)', () => {
  it('changes the description of an open and of a paid invoice; totals, number and status stay', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await draft(customer, [5000], { description: 'Draft memo' });
    const fin = await post(`/v1/invoices/${d.id}/finalize`, { auto_advance: false });
    const open = await post(`/v1/invoices/${d.id}`, { description: 'PO 4711' });
    expect([open.status, open.description, open.total, open.amount_due, open.number]).toEqual(['open', 'PO 4711', 5000, 5000, fin.number]);
    const updated = (await eventsOf(t, d.id, 'invoice.updated')).at(-1)!;
    expect([updated.data.object.description, updated.data.previous_attributes]).toEqual(['PO 4711', { description: 'Draft memo' }]);

    await post(`/v1/invoices/${d.id}/pay`);
    const paid = await post(`/v1/invoices/${d.id}`, { description: 'PO 4712' });
    expect([paid.status, paid.description, paid.amount_paid]).toEqual(['paid', 'PO 4712', 5000]);
    const cleared = await post(`/v1/invoices/${d.id}`, { description: '' });
    expect(cleared.description).toBeNull();
  });

  it('refuses collection_method, days_until_due and due_date with invoice_not_editable', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const d = await draft(customer, [5000]);
    await post(`/v1/invoices/${d.id}/finalize`, { auto_advance: false });
    for (const [param, value] of [
      ['collection_method', 'send_invoice'],
      ['days_until_due', 10],
      ['due_date', unix('2026-06-01T00:00:00Z')],
    ] as const) {
      const res = await call(`/v1/invoices/${d.id}`, { [param]: value });
      expect([res.status, res.body.error?.code, res.body.error?.param]).toEqual([400, 'invoice_not_editable', param]);
    }
    const after = await get(t, `/v1/invoices/${d.id}`);
    expect([after.collection_method, after.due_date]).toEqual(['charge_automatically', null]);
  });
});

describe("a draft's starting_balance (Stripe: until finalization, the customer's current balance)", () => {
  it('follows the customer balance while a draft; ending_balance is null until finalization stores both', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await post(`/v1/customers/${customer}`, { balance: -2000 });
    const d = await draft(customer, [5000]);
    expect([d.status, d.starting_balance, d.ending_balance]).toEqual(['draft', -2000, null]);
    expect((await get(t, `/v1/invoices/${d.id}`)).starting_balance).toBe(-2000);
    const created = (await eventsOf(t, d.id, 'invoice.created'))[0]!;
    expect(created.data.object.starting_balance).toBe(-2000);

    await post(`/v1/customers/${customer}`, { balance: -1500 });
    expect((await get(t, `/v1/invoices/${d.id}`)).starting_balance).toBe(-1500);

    const fin = await post(`/v1/invoices/${d.id}/finalize`, { auto_advance: false });
    expect([fin.starting_balance, fin.ending_balance, fin.amount_due]).toEqual([-1500, 0, 3500]);
    // Finalized, the invoice keeps its own balances whatever the customer's does next.
    await post(`/v1/customers/${customer}`, { balance: -700 });
    const later = await get(t, `/v1/invoices/${d.id}`);
    expect([later.starting_balance, later.ending_balance]).toEqual([-1500, 0]);
  });
});

describe('description "" (ADR 0002: "" unsets a nullable field)', () => {
  it('unsets a draft description to null, and creates an invoice with "" as null', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await draft(customer, [5000], { description: 'first' });
    expect(d.description).toBe('first');
    const cleared = await post(`/v1/invoices/${d.id}`, { description: '' });
    expect(cleared.description).toBeNull();
    const empty = await post('/v1/invoices', { customer, currency: 'usd', description: '' });
    expect(empty.description).toBeNull();
  });
});

describe('due_date (Stripe InvoiceCreateParams.due_date: send_invoice only)', () => {
  it('creates a send_invoice invoice due at the given date; the date stays through finalization', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const d = await draft(customer, [5000], { collection_method: 'send_invoice', due_date: unix('2026-03-20T00:00:00Z') });
    expect([d.collection_method, d.due_date]).toEqual(['send_invoice', unix('2026-03-20T00:00:00Z')]);
    const fin = await post(`/v1/invoices/${d.id}/finalize`);
    expect([fin.status, fin.due_date, fin.next_payment_attempt]).toEqual(['open', unix('2026-03-20T00:00:00Z'), null]);
  });

  it('is refused with charge_automatically, with days_until_due, and in the past (400 on due_date)', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post('/v1/invoiceitems', { customer, amount: 5000, currency: 'usd' });
    const base = { customer, pending_invoice_items_behavior: 'include' };
    const cases: Record<string, unknown>[] = [
      { due_date: unix('2026-03-20T00:00:00Z') },
      { collection_method: 'charge_automatically', due_date: unix('2026-03-20T00:00:00Z') },
      { collection_method: 'send_invoice', days_until_due: 10, due_date: unix('2026-03-20T00:00:00Z') },
      { collection_method: 'send_invoice', due_date: unix('2026-02-28T00:00:00Z') },
      { collection_method: 'send_invoice', due_date: unix('2026-03-01T00:00:00Z') },
    ];
    for (const extra of cases) {
      const res = await call('/v1/invoices', { ...base, ...extra });
      expect([res.status, res.body.error?.code, res.body.error?.param], JSON.stringify(extra)).toEqual([400, 'parameter_invalid', 'due_date']);
    }
    const missing = await call('/v1/invoices', { ...base, collection_method: 'send_invoice' });
    expect([missing.status, missing.body.error?.code, missing.body.error?.param]).toEqual([400, 'parameter_missing', 'days_until_due']);
    // Nothing was created: the item is still pending.
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toHaveLength(1);
  });

  it('changes on a draft: to send_invoice with due_date or days_until_due, and back to charge_automatically', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const d = await draft(customer, [5000]);
    const sent = await post(`/v1/invoices/${d.id}`, { collection_method: 'send_invoice', due_date: unix('2026-03-25T00:00:00Z') });
    expect([sent.collection_method, sent.due_date]).toEqual(['send_invoice', unix('2026-03-25T00:00:00Z')]);
    const days = await post(`/v1/invoices/${d.id}`, { days_until_due: 14 });
    expect(days.due_date).toBe(unix('2026-03-15T00:00:00Z'));
    const back = await post(`/v1/invoices/${d.id}`, { collection_method: 'charge_automatically' });
    expect([back.collection_method, back.due_date]).toEqual(['charge_automatically', null]);

    const past = await call(`/v1/invoices/${d.id}`, { collection_method: 'send_invoice', due_date: unix('2026-02-01T00:00:00Z') });
    expect([past.status, past.body.error?.param]).toEqual([400, 'due_date']);
    const noTerms = await call(`/v1/invoices/${d.id}`, { collection_method: 'send_invoice' });
    expect([noTerms.status, noTerms.body.error?.code, noTerms.body.error?.param]).toEqual([400, 'parameter_missing', 'days_until_due']);
  });
});

describe('auto_advance turned on for a draft (Stripe: the draft is then finalized about an hour later and collected)', () => {
  it('finalizes a manual draft one finalize delay (3600 s here) after the change, then charges it', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const d = await draft(customer, [5000]);
    expect(d.auto_advance).toBe(false);
    await t.advance(clock, '2026-03-01T00:30:00Z');
    const on = await post(`/v1/invoices/${d.id}`, { auto_advance: true });
    expect([on.status, on.auto_advance]).toEqual(['draft', true]);
    await t.advance(clock, '2026-03-01T01:29:00Z');
    expect((await get(t, `/v1/invoices/${d.id}`)).status).toBe('draft');
    await t.advance(clock, '2026-03-01T03:00:00Z');
    const after = await get(t, `/v1/invoices/${d.id}`);
    expect([after.status, after.amount_paid, after.status_transitions.finalized_at, after.number]).toEqual([
      'paid',
      5000,
      unix('2026-03-01T01:30:00Z'),
      expect.stringMatching(/^RECUR-\d{4}$/),
    ]);
  });

  it('a draft turned back to auto_advance=false stays a draft', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const d = await draft(customer, [5000]);
    await post(`/v1/invoices/${d.id}`, { auto_advance: true });
    await post(`/v1/invoices/${d.id}`, { auto_advance: false });
    await t.advance(clock, '2026-03-01T05:00:00Z');
    const after = await get(t, `/v1/invoices/${d.id}`);
    expect([after.status, after.auto_advance, after.number]).toEqual(['draft', false, null]);
  });

  it('finalizes and charges a keep_as_draft renewal draft turned to auto_advance=true', async () => {
    const { clock, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    await t.advance(clock, '2026-04-01T00:10:00Z');
    const renewal = await get(t, `/v1/invoices/${(await t.invoices(sub.id))[1]!.id}`);
    expect([renewal.status, renewal.auto_advance]).toEqual(['draft', false]);
    await post(`/v1/invoices/${renewal.id}`, { auto_advance: true });
    await t.advance(clock, '2026-04-01T03:00:00Z');
    const after = await get(t, `/v1/invoices/${renewal.id}`);
    expect([after.status, after.amount_paid, after.status_transitions.finalized_at]).toEqual(['paid', 9700, unix('2026-04-01T01:10:00Z')]);
  });
});

describe('customer invoice_prefix (Stripe: the prefix of the customer\'s invoice numbers)', () => {
  it('is taken on create and update, returned on the customer, validated, and "" unsets it', async () => {
    const created = await post('/v1/customers', { email: 'p@example.com', invoice_prefix: 'ACME' });
    expect(created.invoice_prefix).toBe('ACME');
    expect((await get(t, `/v1/customers/${created.id}`)).invoice_prefix).toBe('ACME');
    expect((await post('/v1/customers', { email: 'q@example.com' })).invoice_prefix).toBeNull();
    for (const bad of ['AB', 'acme', 'ACME-1', 'ABCDEFGHIJKLM']) {
      const res = await call('/v1/customers', { email: 'r@example.com', invoice_prefix: bad });
      expect([res.status, res.body.error?.param], bad).toEqual([400, 'invoice_prefix']);
    }
    const changed = await post(`/v1/customers/${created.id}`, { invoice_prefix: 'ACME2' });
    expect(changed.invoice_prefix).toBe('ACME2');
    const updated = (await eventsOf(t, created.id, 'customer.updated')).at(-1)!;
    expect(updated.data.previous_attributes).toEqual({ invoice_prefix: 'ACME' });
    expect((await post(`/v1/customers/${created.id}`, { invoice_prefix: '' })).invoice_prefix).toBeNull();
  });

  it("numbers the customer's invoices in their own gapless series; others keep the account series", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const acme = await t.customer({ clock, card: 'pm_card_visa' });
    await post(`/v1/customers/${acme}`, { invoice_prefix: 'ACMEX' });
    const plain = await t.customer({ clock, card: 'pm_card_visa' });
    const a1 = await post(`/v1/invoices/${(await draft(acme, [5000])).id}/finalize`, { auto_advance: false });
    const p1 = await post(`/v1/invoices/${(await draft(plain, [5000])).id}/finalize`, { auto_advance: false });
    const a2 = await post(`/v1/invoices/${(await draft(acme, [6000])).id}/finalize`, { auto_advance: false });
    await post(`/v1/invoices/${a2.id}/void`);
    const a3 = await post(`/v1/invoices/${(await draft(acme, [7000])).id}/finalize`, { auto_advance: false });
    expect([a1.number, a2.number, a3.number]).toEqual(['ACMEX-0001', 'ACMEX-0002', 'ACMEX-0003']);
    expect(p1.number).toMatch(/^RECUR-\d{4}$/);
    // Unset again: the next invoice goes back to the account series; the customer's series keeps its place.
    await post(`/v1/customers/${acme}`, { invoice_prefix: '' });
    const a4 = await post(`/v1/invoices/${(await draft(acme, [8000])).id}/finalize`, { auto_advance: false });
    expect(a4.number).toBe(`RECUR-${String(Number(p1.number.split('-')[1]) + 1).padStart(4, '0')}`);
    await post(`/v1/customers/${acme}`, { invoice_prefix: 'ACMEX' });
    const a5 = await post(`/v1/invoices/${(await draft(acme, [9000])).id}/finalize`, { auto_advance: false });
    expect(a5.number).toBe('ACMEX-0004');
  });

  it('a worker batch of renewals numbers each customer in their series', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const price = await t.priceId('community_monthly');
    const customers: string[] = [];
    // (Prefixes are unique per customer, as Stripe's: each customer is its own series.)
    for (const prefix of ['BATCHA', 'BATCHB', 'BATCHC', null]) {
      const c = await t.customer({ clock, card: 'pm_card_visa' });
      if (prefix) await post(`/v1/customers/${c}`, { invoice_prefix: prefix });
      customers.push(c);
    }
    const subs = [];
    for (const customer of customers) subs.push(await subscribe(t, { customer, items: [{ price }], trial_end: 'now' }));
    // The four April renewals are finalized together by the worker at 01:00.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const numbers = [];
    for (const s of subs) numbers.push((await t.invoices(s.id)).map((i) => [i.number, i.status]));
    expect(numbers.slice(0, 3)).toEqual([
      [['BATCHA-0001', 'paid'], ['BATCHA-0002', 'paid']],
      [['BATCHB-0001', 'paid'], ['BATCHB-0002', 'paid']],
      [['BATCHC-0001', 'paid'], ['BATCHC-0002', 'paid']],
    ]);
    expect(numbers[3]!.map(([n]) => n)).toEqual([expect.stringMatching(/^RECUR-\d{4}$/), expect.stringMatching(/^RECUR-\d{4}$/)]);
  });
});
