import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../config.js';
import { seedCatalog } from '../catalog/seed.js';
import { allEvents } from '../events/batches.js';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { advancePeriods, finalizeDue, payDue, type BillingDeps } from './jobs.js';

// A renewal whose invoice is due for finalisation at once (no finalisation delay) writes the invoice once,
// already open and numbered (stageInvoices with `finalize`), instead of a draft the finalisation pass
// then updates. These tests hold it to what the two passes write: the same objects and events, in
// the same order, numbers without gaps, and the two cases the finalisation pass handles on its own (a
// period already invoiced, a currency that is not the customer's).

let t: TestApp;
let price: string;
const scope = { clock: null };
const withDelay = (seconds: number): BillingDeps => ({ gateways: t.deps.gateways, config: testConfig({ ...t.deps.config, finalizeDelaySeconds: seconds }) });

beforeAll(async () => {
  t = await createTestApp({ start: '2026-01-15T12:00:00Z', config: { finalizeDelaySeconds: 0 } });
  await t.testDb.db.tx((q) => seedCatalog(q, t.clock.now()));
  const res = await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=community_monthly' });
  price = res.body.data[0].id;
});
afterAll(() => t.close());

async function subscribe(at: string): Promise<{ sub: string; customer: string }> {
  t.clock.set(at);
  const c = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'c@example.com' } });
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: c.body.id } });
  await t.call({ method: 'POST', url: `/v1/customers/${c.body.id}`, payload: { invoice_settings: { default_payment_method: pm.body.id } } });
  const s = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: c.body.id, items: [{ price }], trial_end: 'now' } });
  expect(s.status, JSON.stringify(s.body)).toBe(200);
  return { sub: s.body.id, customer: c.body.id };
}

const renewalOf = async (sub: string) =>
  (await t.testDb.db.query<{ id: string; status: string; number: string | null; auto_advance: boolean }>(`SELECT id, status, number, auto_advance FROM invoices WHERE subscription = $1 AND billing_reason = 'subscription_cycle'`, [sub])).rows;
const counter = async () => Number((await t.testDb.db.query<{ n: number }>(`SELECT next_number AS n FROM invoice_number_series WHERE series = 'RECUR'`)).rows[0]!.n);
const serial = (n: string | null) => Number(n!.split('-').pop());
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;
const events = async () => (await allEvents(t.testDb.db)).map((e) => ({ type: e.type, object: (e.data as { object: Obj }).object }));

describe('a renewal with no finalisation delay', () => {
  it('writes its invoice open and numbered, with invoice.created (the draft), then the subscription update, then invoice.finalized', async () => {
    const a = await subscribe('2026-01-15T12:00:00Z');
    const b = await subscribe('2026-01-15T12:00:01Z');
    const db = t.testDb.db;
    // a renews with no delay (one write); b with the hour, as the finalisation pass does it.
    await db.tx((q) => advancePeriods(q, withDelay(0), scope, new Date('2026-02-15T12:00:00Z'), 100));
    const [fused] = await renewalOf(a.sub);
    expect([fused!.status, fused!.auto_advance]).toEqual(['open', true]);
    await db.tx((q) => advancePeriods(q, withDelay(3600), scope, new Date('2026-02-15T12:00:01Z'), 100));
    expect((await renewalOf(b.sub))[0]!.status).toBe('draft');
    await db.tx((q) => finalizeDue(q, scope, new Date('2026-02-15T13:00:01Z'), 100, withDelay(3600)));
    const [twoStep] = await renewalOf(b.sub);
    // One series, no gap: b's number follows a's.
    expect(serial(twoStep!.number)).toBe(serial(fused!.number) + 1);

    const all = await events();
    const of = (id: string) => all.filter((e) => e.object.id === id || e.object.latest_invoice === id);
    expect(of(fused!.id).map((e) => e.type)).toEqual(['invoice.created', 'customer.subscription.updated', 'invoice.finalized']);
    expect(of(twoStep!.id).map((e) => e.type)).toEqual(['invoice.created', 'customer.subscription.updated', 'invoice.finalized']);
    const created = of(fused!.id)[0]!.object;
    expect([created.status, created.number, created.amount_due]).toEqual(['draft', null, 9700]);
    // The finalised object is the stored invoice as the API shows it (what the finalisation pass serialises).
    const finalized = of(fused!.id)[2]!.object;
    const stored = await t.call({ method: 'GET', url: `/v1/invoices/${fused!.id}` });
    expect(finalized).toEqual(stored.body);
    expect([finalized.status, finalized.number, finalized.amount_remaining, finalized.next_payment_attempt]).toEqual(['open', fused!.number, 9700, Date.parse('2026-02-15T12:00:00Z') / 1000]);
    // …and has every field the two-step invoice has, with the same values where the two renewals do not differ.
    const other = of(twoStep!.id)[2]!.object;
    expect(Object.keys(finalized).sort()).toEqual(Object.keys(other).sort());
    const same = (o: Obj) => ({
      ...o,
      id: 'x',
      number: 'x',
      customer: 'x',
      subscription: 'x',
      hosted_invoice_url: o.hosted_invoice_url === null ? null : 'x',
      invoice_pdf: o.invoice_pdf === null ? null : 'x',
      created: 0,
      period_start: 0,
      period_end: 0,
      effective_at: 0,
      next_payment_attempt: 0,
      webhooks_delivered_at: 0,
      status_transitions: 0,
      lines: 0,
      parent: 0,
      customer_email: 0,
    });
    expect(same(finalized)).toEqual(same(other));
    expect(finalized.lines.data.map((l: Obj) => l.amount)).toEqual(other.lines.data.map((l: Obj) => l.amount));

    // The payment pass then charges it as any open invoice.
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions/${a.sub}` })).body.latest_invoice).toBe(fused!.id);
    await db.tx((q) => payDue(q, withDelay(0), scope, new Date('2026-02-15T13:00:01Z'), 100));
    const paid = await t.call({ method: 'GET', url: `/v1/invoices/${fused!.id}` });
    expect([paid.body.status, paid.body.amount_paid, paid.body.number]).toEqual(['paid', 9700, fused!.number]);
  });

  it('reserves no number for a period already invoiced, nor for an invoice in another currency than its customer', async () => {
    const db = t.testDb.db;
    const dup = await subscribe('2026-01-20T12:00:00Z');
    const eur = await subscribe('2026-01-20T12:00:00Z');
    const plain = await subscribe('2026-01-20T12:00:00Z');
    // An invoice for dup's next period exists already (as if written by another path).
    await db.query(
      `INSERT INTO invoices SELECT (jsonb_populate_record(NULL::invoices, to_jsonb(i) || jsonb_build_object(
         'id', 'in_already', 'number', NULL, 'series', NULL, 'status', 'draft', 'auto_advance', false, 'billing_reason', 'subscription_cycle',
         'period_start', '2026-02-20T12:00:00Z', 'period_end', '2026-03-20T12:00:00Z'))).*
         FROM invoices i WHERE i.subscription = $1`,
      [dup.sub],
    );
    // eur's customer is billed in euros now: its usd renewal cannot be finalised.
    await db.query(`UPDATE customers SET currency = 'eur' WHERE id = $1`, [eur.customer]);
    const before = await counter();
    await db.tx((q) => advancePeriods(q, withDelay(0), scope, new Date('2026-02-20T12:00:00Z'), 100));

    expect(await counter()).toBe(before + 1);
    const [renewed] = await renewalOf(plain.sub);
    expect([renewed!.status, serial(renewed!.number)]).toEqual(['open', before]);
    // dup moved on without a second invoice for the period.
    expect((await renewalOf(dup.sub)).map((i) => i.id)).toEqual(['in_already']);
    const moved = await t.call({ method: 'GET', url: `/v1/subscriptions/${dup.sub}` });
    expect(moved.body.current_period_start).toBe(Date.parse('2026-02-20T12:00:00Z') / 1000);
    // eur's invoice stays a draft, auto_advance off, with the reason; invoice.finalization_failed.
    const [left] = await renewalOf(eur.sub);
    expect([left!.status, left!.number, left!.auto_advance]).toEqual(['draft', null, false]);
    const failed = (await events()).filter((e) => e.type === 'invoice.finalization_failed' && e.object.id === left!.id);
    expect(failed.map((e) => e.object.last_finalization_error.code)).toEqual(['currency_mismatch']);
  });
});
