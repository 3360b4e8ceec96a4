import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaxApp, type TaxApp } from '../../../test/scenarios/taxes-support.js';

// Stripe's automatic_tax[enabled] on subscriptions, invoices and create_preview, as Stripe Tax
// integrations send it. Recur taxes where it is configured to collect; enabled=false turns that off
// for one subscription (all its invoices) or one invoice. A German consumer: 19 % VAT on 97.00.

let t: TaxApp;
let community: string;
const berlin = { address: { line1: 'Unter den Linden 1', postal_code: '10117', city: 'Berlin', country: 'DE' } };

beforeAll(async () => {
  t = await createTaxApp();
  community = await t.priceId('community_monthly');
});
afterAll(() => t.close());

const money = (inv: { subtotal: number; tax: number; total: number; automatic_tax: { enabled: boolean } }) => [inv.subtotal, inv.tax, inv.total, inv.automatic_tax.enabled];

describe('automatic_tax on subscriptions', () => {
  it('enabled=false leaves every invoice of the subscription untaxed until it is turned on again', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ ...berlin, test_clock: clock });
    const off = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', automatic_tax: { enabled: false }, off_session: true });
    expect(off.automatic_tax).toEqual({ disabled_reason: null, enabled: false, liability: null });
    expect(money(await t.ok('GET', `/v1/invoices/${off.latest_invoice}`))).toEqual([9_700, 0, 9_700, false]);

    // The default, and Stripe's explicit spelling of it: taxed.
    const on = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now', automatic_tax: { enabled: true, liability: { type: 'self' } } });
    expect(on.automatic_tax).toEqual({ disabled_reason: null, enabled: true, liability: { type: 'self' } });
    expect(money(await t.ok('GET', `/v1/invoices/${on.latest_invoice}`))).toEqual([9_700, 1_843, 11_543, true]);

    // April renews both as they are; turned on before May, the first subscription's May invoice is taxed.
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const april = async (sub: string) => (await t.ok('GET', `/v1/invoices?subscription=${sub}&limit=1`)).data[0];
    expect(money(await april(off.id))).toEqual([9_700, 0, 9_700, false]);
    expect(money(await april(on.id))).toEqual([9_700, 1_843, 11_543, true]);
    const turned = await t.ok('POST', `/v1/subscriptions/${off.id}`, { automatic_tax: { enabled: true }, off_session: true });
    expect(turned.automatic_tax.enabled).toBe(true);
    const change = (await t.ok('GET', `/v1/events?type=customer.subscription.updated&object_id=${off.id}`)).data[0];
    expect(change.data.previous_attributes.automatic_tax).toEqual({ enabled: false, liability: null });
    await t.advance(clock, '2026-05-01T02:00:00Z');
    expect(money(await april(off.id))).toEqual([9_700, 1_843, 11_543, true]);
  });

  it('a new subscription previewed with automatic_tax shows it; an existing one keeps its own setting', async () => {
    const customer = await t.customer(berlin);
    // Platform Starter (49.00 a month) has no trial: the first invoice bills at once.
    const starter = await t.priceId('platform_starter_monthly');
    const preview = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload });
    const untaxed = await preview({ customer, subscription_details: { items: [{ price: starter }] }, automatic_tax: { enabled: false } });
    const taxed = await preview({ customer, subscription_details: { items: [{ price: starter }] } });
    expect([untaxed.status, taxed.status]).toEqual([200, 200]);
    expect([untaxed.body.total, taxed.body.total]).toEqual([4_900, 5_831]);
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    const refused = await preview({ subscription: sub.id, automatic_tax: { enabled: false } });
    expect([refused.status, refused.body.error?.param]).toEqual([400, 'automatic_tax']);
  });
});

describe('create_preview with customer_details', () => {
  it('shows the tax a visitor would pay before any customer exists, and a customer elsewhere, writing nothing', async () => {
    const starter = await t.priceId('platform_starter_monthly');
    const customers = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM customers`)).rows[0]!.n;
    const before = await customers();
    const preview = async (payload: Record<string, unknown>) => {
      const res = await t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload: { subscription_details: { items: [{ price: starter }] }, ...payload } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const visitor = await preview({ customer_details: { address: { country: 'DE', postal_code: '10117' } } });
    expect([visitor.customer, visitor.subtotal, visitor.tax, visitor.total, visitor.automatic_tax.location]).toEqual([
      null,
      4_900,
      931,
      5_831,
      { country: 'DE', state: null, source: 'billing_address' },
    ]);
    // New York (nexus, 4 %) and California (none).
    expect((await preview({ customer_details: { address: { country: 'US', state: 'NY', postal_code: '10118' } } })).total).toBe(5_096);
    expect((await preview({ customer_details: { address: { country: 'US', state: 'CA', postal_code: '94103' } } })).total).toBe(4_900);
    // A French customer previewed at a German shipping address; the customer stays French.
    const fr = await t.customer({ address: { line1: '1 rue de Rivoli', country: 'FR' } });
    const moved = await preview({ customer: fr, customer_details: { shipping: { name: 'Ana', address: { line1: 'Unter den Linden 1', country: 'DE' } } } });
    expect([moved.customer, moved.total, moved.automatic_tax.location.source]).toEqual([fr, 5_831, 'shipping_address']);
    expect((await preview({ customer: fr })).total).toBe(5_880);
    expect((await t.ok('GET', `/v1/customers/${fr}`)).shipping).toBeNull();
    expect(await customers()).toBe(before + 1);
    const res = await t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload: { customer_details: { address: { country: 'DE' } } } });
    expect([res.status, res.body.error?.param]).toEqual([400, 'customer_details']);
  });
});

describe('automatic_tax on subscription schedule phases', () => {
  it("a phase's own setting (else the schedule's default) is put on the subscription when the phase starts", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ ...berlin, test_clock: clock });
    const sched = await t.ok('POST', '/v1/subscription_schedules', {
      customer,
      start_date: 'now',
      default_settings: { automatic_tax: { enabled: true } },
      phases: [
        { items: [{ price: community }], iterations: 1, automatic_tax: { enabled: false } },
        { items: [{ price: community }], iterations: 1 },
      ],
    });
    expect(sched.phases.map((p: { automatic_tax: unknown }) => p.automatic_tax)).toEqual([{ enabled: false, liability: null }, null]);
    expect(sched.default_settings.automatic_tax).toEqual({ enabled: true, liability: { type: 'self' } });
    const sub = await t.ok('GET', `/v1/subscriptions/${sched.subscription}`);
    expect(sub.automatic_tax.enabled).toBe(false);
    await t.advance(clock, '2026-03-02T00:00:00Z');
    const march = (await t.ok('GET', `/v1/invoices?subscription=${sub.id}&limit=1`)).data[0];
    expect(money(march)).toEqual([9_700, 0, 9_700, false]);
    // April: the second phase sets nothing, so the schedule's default (taxed) applies from its first invoice.
    // (Without a default, a phase that sets nothing keeps the subscription's setting.)
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const april = (await t.ok('GET', `/v1/invoices?subscription=${sub.id}&limit=1`)).data[0];
    expect(money(april)).toEqual([9_700, 1_843, 11_543, true]);
    expect((await t.ok('GET', `/v1/subscriptions/${sub.id}`)).automatic_tax.enabled).toBe(true);
  });
});

describe('automatic_tax on an invoice, trial_settings on update, tax_id_data', () => {
  it('enabled=false leaves a manual invoice untaxed', async () => {
    const customer = await t.customer(berlin);
    const invoice = async (extra: Record<string, unknown>) => {
      await t.ok('POST', '/v1/invoiceitems', { customer, amount: 50_000, currency: 'usd', description: 'Workshop' });
      return t.ok('POST', '/v1/invoices', { customer, pending_invoice_items_behavior: 'include', ...extra });
    };
    expect(money(await invoice({ automatic_tax: { enabled: false } }))).toEqual([50_000, 0, 50_000, false]);
    const taxed = await invoice({});
    expect(money(taxed)).toEqual([50_000, 9_500, 59_500, true]);
    // On a draft it can be turned off, and on again (determined afresh), before finalization only.
    expect(money(await t.ok('POST', `/v1/invoices/${taxed.id}`, { automatic_tax: { enabled: false } }))).toEqual([50_000, 0, 50_000, false]);
    expect(money(await t.ok('POST', `/v1/invoices/${taxed.id}`, { automatic_tax: { enabled: true } }))).toEqual([50_000, 9_500, 59_500, true]);
    await t.ok('POST', `/v1/invoices/${taxed.id}/finalize`, { auto_advance: false });
    const late = await t.call({ method: 'POST', url: `/v1/invoices/${taxed.id}`, payload: { automatic_tax: { enabled: false } } });
    expect([late.status, late.body.error?.code, late.body.error?.param]).toEqual([400, 'invoice_not_editable', 'automatic_tax']);
  });

  it("trial_settings can change on update: a trial ending without a card then cancels", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ ...berlin, test_clock: clock }, '');
    const sub = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_period_days: 7 });
    expect([sub.status, sub.trial_settings.end_behavior.missing_payment_method]).toEqual(['trialing', 'create_invoice']);
    const updated = await t.ok('POST', `/v1/subscriptions/${sub.id}`, { trial_settings: { end_behavior: { missing_payment_method: 'cancel' } } });
    expect(updated.trial_settings).toEqual({ end_behavior: { missing_payment_method: 'cancel' } });
    await t.advance(clock, '2026-03-08T01:00:00Z');
    expect((await t.ok('GET', `/v1/subscriptions/${sub.id}`)).status).toBe('canceled');
  });

  it("takes Stripe's tax_id_data at creation, as tax_ids", async () => {
    const c = await t.ok('POST', '/v1/customers', { email: 'b2b@example.com', address: { country: 'FR' }, tax_id_data: [{ type: 'eu_vat', value: 'DE136695976' }] });
    expect(c.tax_ids.data.map((x: { object: string; type: string; value: string; country: string }) => [x.object, x.type, x.value, x.country])).toEqual([['tax_id', 'eu_vat', 'DE136695976', 'DE']]);
    const both = await t.call({ method: 'POST', url: '/v1/customers', payload: { tax_id_data: [{ type: 'eu_vat', value: 'DE136695976' }], tax_ids: [] } });
    expect([both.status, both.body.error?.param]).toEqual([400, 'tax_id_data']);
    const bad = await t.call({ method: 'POST', url: '/v1/customers', payload: { tax_id_data: [{ type: 'eu_vat', value: 'DE12345' }] } });
    expect([bad.status, bad.body.error?.param]).toEqual([400, 'tax_id_data[0][value]']);
  });
});
