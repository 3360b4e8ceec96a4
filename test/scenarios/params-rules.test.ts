import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, unix, ok, errorOf, type BillingApp } from './support.js';

// Bad input on recently added parameters and paths: rules an audit found broken once.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) => t.call({ method, url, ...(payload ? { payload } : {}) });

async function finalized(customer: string, amounts: number[]) {
  for (const amount of amounts) await ok(t, 'POST', '/v1/invoiceitems', { customer, amount, currency: 'usd' });
  const d = await ok(t, 'POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', collection_method: 'send_invoice', days_until_due: 5 });
  return ok(t, 'POST', `/v1/invoices/${d.id}/finalize`, { auto_advance: false });
}

describe('invoice_prefix', () => {
  it('a prefix another customer uses (or used) is refused: 400 on invoice_prefix, on create and on update', async () => {
    // Stripe (Invoicing › Customize › invoice numbering): customer prefixes "have to be between 3 and 12
    // characters and they can't match any other customer prefix, including prefixes that are no longer
    // in use" — each customer-level series is one customer's.
    const a = await ok(t, 'POST', '/v1/customers', { invoice_prefix: 'SHARED1' });
    const invA = await finalized(a.id, [1000]);
    expect(invA.number).toBe('SHARED1-0001');
    const b = await call('POST', '/v1/customers', { invoice_prefix: 'SHARED1' });
    expect(errorOf(b)).toEqual([400, expect.any(String), 'invoice_prefix']);
    const c = await ok(t, 'POST', '/v1/customers', {});
    expect(errorOf(await call('POST', `/v1/customers/${c.id}`, { invoice_prefix: 'SHARED1' }))).toEqual([400, expect.any(String), 'invoice_prefix']);
    // A prefix no longer in use by its customer is still taken.
    await ok(t, 'POST', `/v1/customers/${a.id}`, { invoice_prefix: 'SHARED2' });
    expect(errorOf(await call('POST', `/v1/customers/${c.id}`, { invoice_prefix: 'SHARED1' }))).toEqual([400, expect.any(String), 'invoice_prefix']);
  });

  it("the account series' prefix (RECUR) cannot be a customer's prefix", async () => {
    // Stripe: an account prefix "can't match any customer prefix". With RECUR a customer's invoices
    // are numbered inside the account-wide series (RECUR-0002 between other customers' invoices).
    const r = await call('POST', '/v1/customers', { invoice_prefix: 'RECUR' });
    expect(errorOf(r)).toEqual([400, expect.any(String), 'invoice_prefix']);
  });
});

describe('list pagination', () => {
  it('GET /v1/invoices/{id}/lines with both starting_after and ending_before is a 400 on ending_before', async () => {
    // ADR 0002: "Both cursors at once are a 400" (Stripe: "Received both starting_after and
    // ending_before parameters"); every paginate() list does it, the invoice lines list takes
    // starting_after and ignores ending_before.
    const customer = await t.customer();
    const inv = await finalized(customer, [100, 200, 300]);
    const lines = (await ok(t, 'GET', `/v1/invoices/${inv.id}/lines`)).data.map((l: { id: string }) => l.id);
    expect(lines.length).toBe(3);
    const r = await call('GET', `/v1/invoices/${inv.id}/lines?starting_after=${lines[0]}&ending_before=${lines[2]}`);
    expect(errorOf(r)).toEqual([400, 'parameter_invalid', 'ending_before']);
  });

  it('GET /v1/invoices/{id}/lines?starting_after= (empty) names starting_after', async () => {
    // Every other list answers 400 resource_missing on the parameter sent (ADR 0002: "a cursor naming no
    // object of the list's kind is a 400 resource_missing on that parameter"); the lines route picks
    // the param by truthiness, so "" is reported as ending_before.
    const customer = await t.customer();
    const inv = await finalized(customer, [100, 200]);
    const r = await call('GET', `/v1/invoices/${inv.id}/lines?starting_after=`);
    expect(errorOf(r)).toEqual([400, 'resource_missing', 'starting_after']);
  });

  it('GET /v1/credit_notes/{id}/lines honours limit and cursors', async () => {
    // Stripe "Retrieve a credit note's line items": limit, starting_after, ending_before (a list with
    // has_more). Recur accepts the parameters and answers every line with has_more false; an unknown
    // cursor is a 200.
    const customer = await t.customer();
    const inv = await finalized(customer, [100, 200, 300]);
    const lines = (await ok(t, 'GET', `/v1/invoices/${inv.id}/lines`)).data.map((l: { id: string }) => l.id);
    const cn = await ok(t, 'POST', '/v1/credit_notes', { invoice: inv.id, lines: lines.map((id: string) => ({ type: 'invoice_line_item', invoice_line_item: id })) });
    expect(cn.lines.data.length).toBe(3);
    const page = await ok(t, 'GET', `/v1/credit_notes/${cn.id}/lines?limit=1`);
    expect([page.data.length, page.has_more]).toEqual([1, true]);
    const bad = await call('GET', `/v1/credit_notes/${cn.id}/lines?starting_after=nope_1`);
    expect(errorOf(bad)).toEqual([400, 'resource_missing', 'starting_after']);
  });
});

describe('upcoming invoice after an unrenewed period end (real time, worker not run yet)', () => {
  it('GET /v1/invoices/upcoming without proposed items shows the invoice after the due renewal, as with a no-op change and as after the worker', async () => {
    // ADR 0005 "Worker lag never reaches the caller … as on Stripe, which renews at the period end
    // itself". Stripe at Apr 1 00:00:05 has already renewed (Apr 1 – May 1 invoiced), so its upcoming
    // invoice bills May 1 – Jun 1. Recur answers that with a proposed change that changes nothing
    // (quantity 1 → 1), and after the worker has run, but without proposed items it answers the
    // Apr 1 – May 1 invoice: the same question gets two answers depending on the worker's lag.
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
    const customer = await t.customer({ card: 'pm_card_visa' });
    const s = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const item = s.items.data[0].id;
    t.clock.set(new Date('2026-04-01T00:00:05Z'));
    const before = await Promise.all((['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const).map((n) => countRows(t, n)));
    const periods = (inv: { lines: { data: { period: { start: number; end: number } }[] } }) => inv.lines.data.map((l) => [l.period.start, l.period.end]);
    const noop = await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${s.id}&subscription_items[0][id]=${item}&subscription_items[0][quantity]=1`);
    const plain = await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${s.id}`);
    const preview = await ok(t, 'POST', '/v1/invoices/create_preview', { subscription: s.id });
    const may = [[unix('2026-05-01T00:00:00Z'), unix('2026-06-01T00:00:00Z')]];
    expect(periods(noop)).toEqual(may);
    expect(await Promise.all((['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const).map((n) => countRows(t, n)))).toEqual(before);
    // After the worker: May 1 – Jun 1.
    await drainBilling(t.testDb.db, { ...t.deps, config: { ...t.deps.config, finalizeDelaySeconds: 0 } }, { clock: null }, new Date('2026-04-01T00:00:10Z'));
    const after = await ok(t, 'GET', `/v1/invoices/upcoming?subscription=${s.id}`);
    expect(periods(after)).toEqual(may);
    expect([periods(plain), periods(preview)]).toEqual([may, may]);
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
  });
});
