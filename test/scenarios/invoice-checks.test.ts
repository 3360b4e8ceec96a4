import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { eventsOf, postOk } from './states-support.js';
import { communityOnClock, events, get, subscribe, unix, update, type BillingApp } from './support.js';

// Invoices and pause_collection (issue 3 items 5 and 7), checked by an audit against Stripe's documented
// behaviour; the defects it found are in invoice-rules.test.ts.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());
const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);
const call = (method: 'POST' | 'GET' | 'DELETE', url: string, payload?: Record<string, unknown>) => t.call({ method, url, ...(payload ? { payload } : {}) });

async function draft(customer: string, amounts: number[], extra: Record<string, unknown> = {}) {
  for (const a of amounts) await post('/v1/invoiceitems', { customer, amount: a, currency: 'usd' });
  return post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
}
async function openInvoice(customer: string, amount = 5000, extra: Record<string, unknown> = {}) {
  const d = await draft(customer, [amount], extra);
  return post(`/v1/invoices/${d.id}/finalize`, { auto_advance: false });
}
const seq = (n: string) => Number(n.split('-').pop());

describe('statuses and status_transitions at test-clock time', () => {
  it('void, mark_uncollectible → void, paid out of band; forbidden transitions; events', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const a = await openInvoice(customer);
    expect(a.status_transitions.finalized_at).toBe(unix('2026-03-01T00:00:00Z'));
    await t.advance(clock, '2026-03-02T00:00:00Z');
    const v = await post(`/v1/invoices/${a.id}/void`);
    expect([v.status, v.number, v.status_transitions.voided_at, v.status_transitions.paid_at]).toEqual(['void', a.number, unix('2026-03-02T00:00:00Z'), null]);
    const b = await openInvoice(customer);
    await t.advance(clock, '2026-03-03T00:00:00Z');
    const u = await post(`/v1/invoices/${b.id}/mark_uncollectible`);
    expect([u.status, u.status_transitions.marked_uncollectible_at]).toEqual(['uncollectible', unix('2026-03-03T00:00:00Z')]);
    await t.advance(clock, '2026-03-04T00:00:00Z');
    const vu = await post(`/v1/invoices/${b.id}/void`);
    expect([vu.status, vu.status_transitions.voided_at, vu.status_transitions.marked_uncollectible_at]).toEqual(['void', unix('2026-03-04T00:00:00Z'), unix('2026-03-03T00:00:00Z')]);
    expect((await eventsOf(t, b.id)).map((e) => e.type)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.marked_uncollectible', 'invoice.voided']);

    const c = await openInvoice(customer);
    const p = await post(`/v1/invoices/${c.id}/pay`, { paid_out_of_band: true });
    expect([p.status, p.paid_out_of_band, p.amount_paid, p.amount_remaining, p.status_transitions.paid_at, p.attempt_count]).toEqual(['paid', true, 5000, 0, unix('2026-03-04T00:00:00Z'), 0]);
    // Stripe: a paid invoice cannot be voided, marked uncollectible or paid again.
    expect((await call('POST', `/v1/invoices/${c.id}/void`)).body.error?.code).toBe('invoice_not_voidable');
    expect((await call('POST', `/v1/invoices/${c.id}/mark_uncollectible`)).status).toBe(400);
    const pp = await call('POST', `/v1/invoices/${c.id}/pay`);
    expect([pp.status, pp.body.error?.code]).toEqual([400, 'invoice_already_paid']);
    // Numbers are consecutive; a void keeps its number.
    expect([seq(b.number) - seq(a.number), seq(c.number) - seq(b.number)]).toEqual([1, 1]);
  });

  it('a draft cannot be voided or marked uncollectible (paying one finalizes it); a void invoice cannot be paid/marked/voided', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await draft(customer, [1000]);
    expect((await call('POST', `/v1/invoices/${d.id}/void`)).status).toBe(400);
    expect((await call('POST', `/v1/invoices/${d.id}/mark_uncollectible`)).status).toBe(400);
    await post(`/v1/invoices/${d.id}/finalize`, { auto_advance: false });
    expect((await call('POST', `/v1/invoices/${d.id}/finalize`)).body.error?.code).toBe('invoice_not_draft');
    await post(`/v1/invoices/${d.id}/void`);
    for (const op of ['pay', 'mark_uncollectible', 'void']) expect((await call('POST', `/v1/invoices/${d.id}/${op}`)).status).toBe(400);
  });

  it('an empty manual invoice is paid at finalization', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await post('/v1/invoices', { customer, currency: 'usd' });
    const f = await post(`/v1/invoices/${d.id}/finalize`);
    expect([f.status, f.amount_due, f.status_transitions.paid_at, f.status_transitions.finalized_at]).toEqual(['paid', 0, f.status_transitions.finalized_at, expect.any(Number)]);
  });
});

describe('DELETE a draft', () => {
  it('deletes it, its items go back to pending, no number consumed; a finalized one is refused', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const before = await openInvoice(customer, 600);
    const item = await post('/v1/invoiceitems', { customer, amount: 1234, currency: 'usd' });
    const d = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' });
    const del = await call('DELETE', `/v1/invoices/${d.id}`);
    expect([del.status, del.body]).toEqual([200, { id: d.id, object: 'invoice', deleted: true }]);
    expect((await call('GET', `/v1/invoices/${d.id}`)).status).toBe(404);
    expect((await get(t, `/v1/invoiceitems/${item.id}`)).invoice).toBeNull();
    expect((await eventsOf(t, d.id)).map((e) => e.type)).toEqual(['invoice.created', 'invoice.deleted']);
    const after = await openInvoice(customer, 800);
    expect(seq(after.number) - seq(before.number)).toBe(1);
    const del2 = await call('DELETE', `/v1/invoices/${after.id}`);
    expect([del2.status, del2.body.error?.code]).toEqual([400, 'invoice_not_editable']);
  });
});

describe('pay', () => {
  it('declined card → 402 card_error; invoice stays open with the payment intent; a retry with the default card pays', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const o = await openInvoice(customer, 5000);
    const pm = await post('/v1/payment_methods/pm_card_chargeDeclined/attach', { customer });
    const r = await call('POST', `/v1/invoices/${o.id}/pay`, { payment_method: pm.id });
    expect([r.status, r.body.error?.type, r.body.error?.code, r.body.error?.decline_code]).toEqual([402, 'card_error', 'card_declined', 'generic_decline']);
    const after = await get(t, `/v1/invoices/${o.id}`);
    expect([after.status, after.attempt_count, after.attempted, after.amount_remaining, after.payment_intent?.startsWith('pi_')]).toEqual(['open', 1, true, 5000, true]);
    const pi = await get(t, `/v1/payment_intents/${after.payment_intent}`);
    expect([pi.status, pi.amount, pi.invoice, pi.last_payment_error?.code]).toEqual(['requires_payment_method', 5000, o.id, 'card_declined']);
    expect((await eventsOf(t, o.id)).map((e) => e.type)).toContain('invoice.payment_failed');
    const ok = await post(`/v1/invoices/${o.id}/pay`);
    expect([ok.status, ok.amount_paid, ok.attempt_count]).toEqual(['paid', 5000, 2]);
  });

  it('uncollectible: a declined attempt leaves it uncollectible (402), a good card pays it', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const o = await openInvoice(customer, 5000);
    await post(`/v1/invoices/${o.id}/mark_uncollectible`);
    const pm = await post('/v1/payment_methods/pm_card_chargeDeclinedInsufficientFunds/attach', { customer });
    const r = await call('POST', `/v1/invoices/${o.id}/pay`, { payment_method: pm.id });
    expect([r.status, r.body.error?.decline_code]).toEqual([402, 'insufficient_funds']);
    expect((await get(t, `/v1/invoices/${o.id}`)).status).toBe('uncollectible');
    const p = await post(`/v1/invoices/${o.id}/pay`);
    expect([p.status, p.amount_paid]).toEqual(['paid', 5000]);
  });

  it("another customer's payment method is a 400 on payment_method", async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const other = await t.customer({ card: 'pm_card_visa' });
    const opm = (await get(t, `/v1/customers/${other}`)).invoice_settings.default_payment_method;
    const o = await openInvoice(customer, 5000);
    const r = await call('POST', `/v1/invoices/${o.id}/pay`, { payment_method: opm });
    expect([r.status, r.body.error?.param]).toEqual([400, 'payment_method']);
    expect((await get(t, `/v1/invoices/${o.id}`)).status).toBe('open');
  });
});

describe('manual invoices', () => {
  it('course price, send_invoice with days_until_due (due = created + N days), auto_advance finalizes an hour later without charging', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post('/v1/invoiceitems', { customer, price: await t.priceId('course_onetime') });
    const d = await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 7, auto_advance: true });
    expect([d.collection_method, d.total, d.due_date]).toEqual(['send_invoice', 99_700, unix('2026-03-08T00:00:00Z')]);
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const g = await get(t, `/v1/invoices/${d.id}`);
    expect([g.status, g.payment_intent, g.next_payment_attempt, g.status_transitions.finalized_at]).toEqual(['open', null, null, unix('2026-03-01T01:00:00Z')]);
    await t.advance(clock, '2026-03-10T00:00:00Z');
    expect((await get(t, `/v1/invoices/${d.id}`)).overdue).toBe(true);
    const p = await post(`/v1/invoices/${d.id}/pay`);
    expect([p.status, p.amount_paid]).toEqual(['paid', 99_700]);
  });

  it('metadata editable on a paid invoice, with invoice.updated previous_attributes', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const o = await openInvoice(customer, 5000);
    await post(`/v1/invoices/${o.id}/pay`);
    const r = await post(`/v1/invoices/${o.id}`, { metadata: { a: 'b' } });
    expect(r.metadata).toEqual({ a: 'b' });
    expect((await eventsOf(t, o.id, 'invoice.updated')).at(-1)!.data.previous_attributes).toEqual({ metadata: { a: null } });
  });

  it('an item added to a renewal draft in its hour is billed with it', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-04-01T00:10:00Z');
    const r = (await t.invoices(sub.id))[1]!;
    await post('/v1/invoiceitems', { customer, amount: 1500, currency: 'usd', invoice: r.id });
    await t.advance(clock, '2026-04-01T03:00:00Z');
    const g = await get(t, `/v1/invoices/${r.id}`);
    expect([g.status, g.total, g.amount_paid]).toEqual(['paid', 11_200, 11_200]);
  });
});

describe('customer balance', () => {
  it('credit larger than the invoice: paid at finalization, amount_due 0, rest stays credit', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await post(`/v1/customers/${customer}`, { balance: -8000 });
    const o = await openInvoice(customer, 5000);
    expect([o.status, o.starting_balance, o.ending_balance, o.amount_due, o.amount_paid, o.amount_remaining, o.total]).toEqual(['paid', -8000, -3000, 0, 0, 0, 5000]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-3000);
    const txs = await get(t, `/v1/customers/${customer}/balance_transactions`);
    expect(txs.data.map((x: { type: string; amount: number; ending_balance: number }) => [x.type, x.amount, x.ending_balance])).toEqual([
      ['applied_to_invoice', 5000, -3000],
      ['adjustment', -8000, -8000],
    ]);
  });

  it('debit balance is added to amount_due and collected', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await post(`/v1/customers/${customer}`, { balance: 1500 });
    const o = await openInvoice(customer, 5000);
    expect([o.status, o.starting_balance, o.ending_balance, o.amount_due, o.amount_remaining, o.total]).toEqual(['open', 1500, 0, 6500, 6500, 5000]);
    const p = await post(`/v1/invoices/${o.id}/pay`);
    expect([p.amount_paid, p.status]).toEqual([6500, 'paid']);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);
  });

  it('voiding (also after mark_uncollectible) gives the applied balance back', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await post(`/v1/customers/${customer}`, { balance: -2000 });
    const o = await openInvoice(customer, 5000);
    expect([o.status, o.starting_balance, o.ending_balance, o.amount_due]).toEqual(['open', -2000, 0, 3000]);
    await post(`/v1/invoices/${o.id}/mark_uncollectible`);
    await post(`/v1/invoices/${o.id}/void`);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-2000);
  });

  it('a negative total becomes credit', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const d = await draft(customer, [1000, -3000]);
    const f = await post(`/v1/invoices/${d.id}/finalize`);
    expect([f.status, f.total, f.starting_balance, f.ending_balance, f.amount_due]).toEqual(['paid', -2000, 0, -2000, 0]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-2000);
  });

  it('two drafts finalized in one worker pass share the credit in order', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post(`/v1/customers/${customer}`, { balance: -6000 });
    const a = await draft(customer, [5000], { auto_advance: true });
    const b = await draft(customer, [5000], { auto_advance: true });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const ga = await get(t, `/v1/invoices/${a.id}`);
    const gb = await get(t, `/v1/invoices/${b.id}`);
    expect([ga.status, ga.starting_balance, ga.ending_balance, ga.amount_due]).toEqual(['paid', -6000, -1000, 0]);
    expect([gb.status, gb.starting_balance, gb.ending_balance, gb.amount_due, gb.amount_paid]).toEqual(['paid', -1000, 0, 4000, 4000]);
  });
});

describe('renewals', () => {
  it('draft for the hour, finalized and charged at +1 h (clock time on status_transitions)', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-04-01T00:59:00Z');
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.billing_reason, i.number])).toEqual([
      ['paid', 'subscription_create', expect.any(String)],
      ['draft', 'subscription_cycle', null],
    ]);
    await t.advance(clock, '2026-04-01T01:00:00Z');
    const r = (await t.invoices(sub.id))[1] as unknown as { id: string; status: string; amount_paid: number; status_transitions: { finalized_at: number; paid_at: number } };
    expect([r.status, r.status_transitions.finalized_at, r.status_transitions.paid_at, r.amount_paid]).toEqual(['paid', unix('2026-04-01T01:00:00Z'), unix('2026-04-01T01:00:00Z'), 9700]);
    expect((await eventsOf(t, r.id)).map((e) => e.type)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);
  });

  it('auto_advance=false on a renewal draft in its hour keeps it a draft', async () => {
    const { clock, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-04-01T00:10:00Z');
    const r = (await t.invoices(sub.id))[1]!;
    await post(`/v1/invoices/${r.id}`, { auto_advance: false });
    await t.advance(clock, '2026-04-01T03:00:00Z');
    expect((await get(t, `/v1/invoices/${r.id}`)).status).toBe('draft');
  });

  it('renewal with a credit balance larger than the period is paid from it', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await post(`/v1/customers/${customer}`, { balance: -20000 });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const r = (await t.invoices(sub.id))[1] as unknown as Record<string, number | string>;
    expect([r.status, r.starting_balance, r.ending_balance, r.amount_due, r.amount_paid]).toEqual(['paid', -20000, -10300, 0, 0]);
  });

  it('the finalization delay is configurable (600 s)', async () => {
    const app: TestApp = await createTestApp({ start: '2026-03-01T00:00:00Z', config: { finalizeDelaySeconds: 600 } });
    try {
      await app.testDb.db.tx((q) => seedCatalog(q, app.clock.now()));
      const price = (await app.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=community_monthly' })).body.data[0].id;
      const clock = (await app.call({ method: 'POST', url: '/v1/test_helpers/test_clocks', payload: { frozen_time: unix('2026-03-01T00:00:00Z') } })).body.id;
      const customer = (await app.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', test_clock: clock } })).body.id;
      await app.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
      const sub = (await app.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price }], trial_end: 'now', default_payment_method: 'pm_card_visa' } })).body;
      expect(sub.status).toBe('active');
      for (const to of ['2026-03-29T00:00:00Z', '2026-04-01T00:09:00Z']) await app.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix(to) } });
      const list = async () => (await app.call({ method: 'GET', url: `/v1/invoices?subscription=${sub.id}` })).body.data.map((i: { status: string }) => i.status);
      expect(await list()).toEqual(['draft', 'paid']);
      await app.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix('2026-04-01T00:10:00Z') } });
      expect(await list()).toEqual(['paid', 'paid']);
    } finally {
      await app.close();
    }
  });
});

describe('list filters and pagination', () => {
  it('customer, status, collection_method, created, starting_after / ending_before', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await openInvoice(customer, 1000 + i)).id);
    await t.advance(clock, '2026-03-02T00:00:00Z');
    const si = await draft(customer, [100], { collection_method: 'send_invoice', days_until_due: 10 });
    const ids_ = (b: { data: { id: string }[] }) => b.data.map((i) => i.id);
    expect(ids_(await get(t, `/v1/invoices?customer=${customer}&limit=100`))).toEqual([si.id, ...ids.slice().reverse()]);
    expect(ids_(await get(t, `/v1/invoices?customer=${customer}&collection_method=send_invoice`))).toEqual([si.id]);
    expect(ids_(await get(t, `/v1/invoices?customer=${customer}&status=draft`))).toEqual([si.id]);
    expect((await get(t, `/v1/invoices?customer=${customer}&status=open&limit=100`)).data).toHaveLength(5);
    expect(ids_(await get(t, `/v1/invoices?customer=${customer}&created=${unix('2026-03-02T00:00:00Z')}`))).toEqual([si.id]);
    expect(ids_(await get(t, `/v1/invoices?customer=${customer}&created[lte]=${unix('2026-03-01T00:00:00Z')}&limit=100`))).toHaveLength(5);
    const p1 = await get(t, `/v1/invoices?customer=${customer}&limit=2`);
    expect([ids_(p1), p1.has_more]).toEqual([[si.id, ids[4]], true]);
    const p2 = await get(t, `/v1/invoices?customer=${customer}&limit=2&starting_after=${ids[4]}`);
    expect([ids_(p2), p2.has_more]).toEqual([[ids[3], ids[2]], true]);
    const p3 = await get(t, `/v1/invoices?customer=${customer}&limit=2&ending_before=${ids[2]}`);
    expect([ids_(p3), p3.has_more]).toEqual([[ids[4], ids[3]], true]);
    const p4 = await get(t, `/v1/invoices?customer=${customer}&limit=2&ending_before=${ids[4]}`);
    expect([ids_(p4), p4.has_more]).toEqual([[si.id], false]);
    expect((await call('GET', '/v1/invoices?status=bogus')).status).toBe(400);
  });
});

describe('pause_collection', () => {
  it('keep_as_draft: the renewal stays a draft (auto_advance false, no number, no charge); subscription stays active', async () => {
    const { clock, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    const u = await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft' } });
    expect([u.status, u.pause_collection]).toEqual(['active', { behavior: 'keep_as_draft', resumes_at: null }]);
    await t.advance(clock, '2026-04-01T03:00:00Z');
    const r = (await t.invoices(sub.id))[1] as unknown as { id: string; status: string; number: null; auto_advance: boolean; amount_paid: number };
    expect([r.status, r.number, r.auto_advance, r.amount_paid]).toEqual(['draft', null, false, 0]);
    expect((await get(t, `/v1/payment_intents?invoice=${r.id}`)).data).toHaveLength(0);
    expect((await eventsOf(t, r.id)).map((e) => e.type)).toEqual(['invoice.created']);
    const s = await t.sub(sub.id);
    expect([s.status, s.latest_invoice, s.current_period_start]).toEqual(['active', r.id, unix('2026-04-01T00:00:00Z')]);
  });

  for (const [behavior, status, stamp, event] of [
    ['mark_uncollectible', 'uncollectible', 'marked_uncollectible_at', 'invoice.marked_uncollectible'],
    ['void', 'void', 'voided_at', 'invoice.voided'],
  ] as const) {
    it(`${behavior}: the renewal is finalized (numbered) and ${status} at the renewal time, never charged`, async () => {
      const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
      await update(t, sub.id, { pause_collection: { behavior } });
      await t.advance(clock, '2026-04-01T03:00:00Z');
      const r = (await t.invoices(sub.id))[1] as unknown as { id: string; status: string; number: string | null; amount_paid: number; status_transitions: Record<string, number | null> };
      expect([r.status, r.number !== null, r.amount_paid, r.status_transitions.finalized_at, r.status_transitions[stamp]]).toEqual([
        status,
        true,
        0,
        unix('2026-04-01T00:00:00Z'),
        unix('2026-04-01T00:00:00Z'),
      ]);
      expect((await get(t, `/v1/payment_intents?invoice=${r.id}`)).data).toHaveLength(0);
      expect((await eventsOf(t, r.id)).map((e) => e.type)).toEqual(['invoice.created', 'invoice.finalized', event]);
      expect((await t.sub(sub.id)).status).toBe('active');
      expect((await events(t, customer, 'customer.subscription.paused'))).toHaveLength(0);
    });
  }

  it('resumes_at reached by a test clock clears pause_collection (automatic event); later renewals are charged', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'keep_as_draft', resumes_at: unix('2026-04-15T00:00:00Z') } });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    expect((await t.sub(sub.id)).pause_collection).toBeNull();
    const last = (await events(t, customer, 'customer.subscription.updated')).at(-1)! as unknown as { created: number; request: { id: null }; data: { previous_attributes: unknown } };
    expect([last.created, last.request.id, last.data.previous_attributes]).toEqual([
      unix('2026-04-15T00:00:00Z'),
      null,
      { pause_collection: { behavior: 'keep_as_draft', resumes_at: unix('2026-04-15T00:00:00Z') } },
    ]);
    await t.advance(clock, '2026-05-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => [i.status, i.amount_paid])).toEqual([
      ['paid', 9700],
      ['draft', 0],
      ['paid', 9700],
    ]);
  });

  it('"" unsets pause_collection (form and JSON), with previous_attributes', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await update(t, sub.id, { pause_collection: { behavior: 'void' } });
    const form = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: 'pause_collection=', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([form.status, form.body.pause_collection]).toEqual([200, null]);
    const last = (await events(t, customer, 'customer.subscription.updated')).at(-1)! as unknown as { data: { previous_attributes: unknown } };
    expect(last.data.previous_attributes).toEqual({ pause_collection: { behavior: 'void', resumes_at: null } });
    await update(t, sub.id, { pause_collection: { behavior: 'mark_uncollectible' } });
    const json = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { pause_collection: '' } });
    expect([json.status, json.body.pause_collection]).toEqual([200, null]);
  });
});
