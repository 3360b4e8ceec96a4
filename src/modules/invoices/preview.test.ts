import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, recurringPrice } from '../../../test/scenarios/support.js';
import { createBillingApp, iso } from '../../../test/helpers/billing.js';

// Which invoice a preview shows when no subscription is named (Stripe, "Create a preview invoice"):
// "If not provided, but a subscription_details.items is provided, you will preview creating a
// subscription with those items. If neither subscription nor subscription_details.items is provided,
// you will retrieve the next upcoming invoice from among the customer's subscriptions."

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Object.fromEntries(await Promise.all([...TABLES.map(async (n) => [n, await countRows(t, n)] as const), ['subscriptions', Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM subscriptions`)).rows[0]!.n)] as const]));
const preview = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload });

describe('create_preview of a new subscription (customer + subscription_details.items)', () => {
  it('is the first invoice the create would make, and writes nothing', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const enterprise = await t.priceId('platform_enterprise_monthly');
    const before = await counts();
    const res = await preview({ customer, subscription_details: { items: [{ price: enterprise, quantity: 2 }] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([res.body.object, res.body.status, res.body.number, res.body.subscription, res.body.billing_reason, res.body.total, res.body.amount_due]).toEqual([
      'invoice',
      'draft',
      null,
      null,
      'subscription_create',
      79_800,
      79_800,
    ]);
    expect(res.body.lines.data.map((l: { amount: number; quantity: number; period: { start: number; end: number } }) => [l.amount, l.quantity, iso(l.period.start), iso(l.period.end)])).toEqual([
      [79_800, 2, '2026-01-15T12:00:00Z', '2026-02-15T12:00:00Z'],
    ]);
    expect(await counts()).toEqual(before);
    // The real create bills the same.
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: enterprise, quantity: 2 }] } });
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${sub.body.latest_invoice}` })).body;
    expect([inv.total, inv.lines.data.map((l: { amount: number }) => l.amount)]).toEqual([res.body.total, [79_800]]);
  });

  it('names the item that has no price', async () => {
    const customer = await t.customer();
    const res = await preview({ customer, subscription_details: { items: [{ quantity: 2 }] } });
    expect([res.status, res.body.error.param]).toEqual([400, 'subscription_details[items][0][price]']);
  });
});

describe('a preview with only a customer', () => {
  it("is the next invoice among the customer's subscriptions, the one invoiced first", async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const monthly = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('platform_starter_monthly') }], trial_end: 'now' } });
    await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_annual') }], trial_end: 'now' } });
    const bySub = await preview({ subscription: monthly.body.id });
    const byCustomer = await preview({ customer });
    expect(byCustomer.status, JSON.stringify(byCustomer.body)).toBe(200);
    expect([byCustomer.body.id, byCustomer.body.total, iso(byCustomer.body.period_start)]).toEqual([bySub.body.id, bySub.body.total, '2026-04-01T00:00:00Z']);
    const viaGet = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?customer=${customer}` });
    expect([viaGet.status, viaGet.body.id]).toEqual([200, bySub.body.id]);
  });

  it('is a 400 on customer when the customer has no subscription to invoice', async () => {
    const customer = await t.customer();
    const res = await preview({ customer });
    expect([res.status, res.body.error.code, res.body.error.param]).toEqual([400, 'invoice_upcoming_none', 'customer']);
    const none = await preview({});
    expect([none.status, none.body.error.param]).toEqual([400, 'subscription']);
  });
});

describe('create_preview with invoice_items', () => {
  it('adds one-off items to the previewed invoice (an existing or a new subscription) and keeps none', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = (await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } })).body;
    const product = (await t.call({ method: 'GET', url: `/v1/prices/${await t.priceId('community_monthly')}` })).body.product as string;
    const noTrial = await recurringPrice(t, { interval: 'month' }, 150_000);
    const before = await counts();
    // June 1: the month (9,700), a workshop seat (2 × 4,500) and a goodwill credit (−1,000).
    const res = await preview({
      subscription: sub.id,
      invoice_items: [
        { price_data: { currency: 'usd', product, unit_amount: 4500 }, quantity: 2, description: 'Workshop seat' },
        { amount: -1000, currency: 'usd', description: 'Goodwill credit' },
      ],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.lines.data.map((l: { amount: number }) => l.amount).sort((a: number, b: number) => a - b)).toEqual([-1000, 9000, 9700]);
    expect(res.body.total).toBe(17_700);
    expect(iso(res.body.period_start)).toBe('2026-06-01T00:00:00Z');
    expect(await counts()).toEqual(before);

    // A new subscription's first invoice (a price without a trial) takes them too.
    const fresh = await preview({ customer, subscription_details: { items: [{ price: noTrial }] }, invoice_items: [{ amount: 25_000, currency: 'usd', description: 'Onboarding' }] });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body.lines.data.map((l: { amount: number }) => l.amount).sort((a: number, b: number) => a - b)).toEqual([25_000, 150_000]);

    const bad = await preview({ subscription: sub.id, invoice_items: [{ amount: 100, currency: 'usd' }, { price_data: { currency: 'usd', product: 'prod_missing', unit_amount: 1 } }] });
    expect([bad.status, bad.body.error.code, bad.body.error.param]).toEqual([404, 'resource_missing', 'invoice_items[1][price_data][product]']);
    const unknown = await preview({ subscription: sub.id, invoice_items: [{ amount: 100, currency: 'usd', tax_rates: [] }] });
    expect([unknown.status, unknown.body.error.param]).toEqual([400, 'invoice_items[0][tax_rates]']);
    expect(await counts()).toEqual(before);
  });
});

describe('create_preview with subscription_details[trial_end]', () => {
  it("previews a new subscription without the price's trial, or with another; and an existing trial moved", async () => {
    const clock = await t.clockAt('2026-09-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const trialDays = (await t.call({ method: 'GET', url: `/v1/prices/${community}` })).body.recurring.trial_period_days as number;
    expect(trialDays).toBeGreaterThan(0);
    const before = await counts();
    const fresh = (details: Record<string, unknown>) => preview({ customer, subscription_details: { items: [{ price: community }], ...details } });
    // The price's default trial: $0 today; trial_end=now: the month at once; a 3-day trial: $0 until Sep 4.
    expect((await fresh({})).body.total).toBe(0);
    expect((await fresh({ trial_end: 'now' })).body.total).toBe(9700);
    const short = (await fresh({ trial_end: Date.parse('2026-09-04T00:00:00Z') / 1000 })).body;
    expect([short.total, iso(short.period_end)]).toEqual([0, '2026-09-04T00:00:00Z']);
    const past = await fresh({ trial_end: Date.parse('2026-08-01T00:00:00Z') / 1000 });
    expect([past.status, past.body.error.param]).toEqual([400, 'subscription_details[trial_end]']);
    expect(await counts()).toEqual(before);

    const sub = (await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: community }] } })).body;
    expect(sub.status).toBe('trialing');
    const later = Date.parse('2026-10-10T00:00:00Z') / 1000;
    const moved = (await preview({ subscription: sub.id, subscription_details: { trial_end: later } })).body;
    expect([moved.total, iso(moved.period_start)]).toEqual([9700, '2026-10-10T00:00:00Z']);
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).body.trial_end).toBe(sub.trial_end);

    // Ending the trial now invoices now inside the preview: the card is never charged (a gateway call
    // would not be rolled back with the transaction).
    const gateway = t.deps.gateways.get('simulated');
    const charge = gateway.charge.bind(gateway);
    let charges = 0;
    gateway.charge = (req) => {
      charges++;
      return charge(req);
    };
    try {
      const now = await preview({ subscription: sub.id, subscription_details: { trial_end: 'now' } });
      expect(now.status, JSON.stringify(now.body)).toBe(200);
      const held = await preview({ subscription: sub.id, discounts: '' });
      expect(held.status, JSON.stringify(held.body)).toBe(200);
    } finally {
      gateway.charge = charge;
    }
    expect(charges).toBe(0);
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).body.status).toBe('trialing');
  });
});
