import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { stripeClient } from '../../../test/helpers/stripe-sdk.js';
import { setupIntentObject } from './schemas.js';

// Stripe's SetupIntent, server-side: a member's card saved before a trial, then charged by the renewal.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => t.call({ method: 'POST', url, payload });
const get = async (url: string) => (await t.call({ method: 'GET', url })).body;
const eventTypes = async (id: string) => {
  const { rows } = await t.testDb.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY id`, [id]);
  return rows.map((r) => r.type);
};

describe('setup intents', () => {
  it('waits, takes a card by update, and on confirmation attaches it to the customer', async () => {
    const customer = await t.customer();
    const created = await post('/v1/setup_intents', { customer, usage: 'off_session', metadata: { plan: 'group' } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(setupIntentObject.safeParse(created.body).error).toBeUndefined();
    expect([created.body.status, created.body.payment_method, created.body.usage, created.body.metadata]).toEqual(['requires_payment_method', null, 'off_session', { plan: 'group' }]);
    const si = created.body.id as string;

    const card = await post('/v1/payment_methods', { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2031, cvc: '123' } });
    const updated = await post(`/v1/setup_intents/${si}`, { payment_method: card.body.id });
    expect([updated.body.status, updated.body.payment_method]).toEqual(['requires_confirmation', card.body.id]);
    // Not attached before the confirmation.
    expect((await get(`/v1/payment_methods/${card.body.id}`)).customer).toBeNull();

    const confirmed = await post(`/v1/setup_intents/${si}/confirm`);
    expect([confirmed.status, confirmed.body.status]).toEqual([200, 'succeeded']);
    expect((await get(`/v1/payment_methods/${card.body.id}`)).customer).toBe(customer);
    expect(await eventTypes(si)).toEqual(['setup_intent.created', 'setup_intent.succeeded']);
    expect(await eventTypes(card.body.id)).toEqual(['payment_method.attached']);

    const again = await post(`/v1/setup_intents/${si}/confirm`);
    expect([again.status, again.body.error.code]).toEqual([400, 'setup_intent_unexpected_state']);
    expect((await get(`/v1/setup_intents?customer=${customer}`)).data.map((s: { id: string }) => s.id)).toEqual([si]);
    expect((await get(`/v1/setup_intents?payment_method=${card.body.id}`)).data.map((s: { id: string }) => s.id)).toEqual([si]);
  });

  it('confirm=true saves a test card at once; the saved card pays the subscription after the trial', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const si = await post('/v1/setup_intents', { customer, payment_method: 'pm_card_mastercard', confirm: true });
    expect([si.status, si.body.status]).toEqual([200, 'succeeded']);
    const pm = si.body.payment_method as string;
    expect((await get(`/v1/payment_methods/${pm}`)).card.brand).toBe('mastercard');
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 14, default_payment_method: pm });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    await t.advance(clock, '2026-03-15T01:00:00Z');
    const invoices = await t.invoices(sub.body.id);
    expect(invoices.map((i) => [i.total, i.status])).toEqual([
      [0, 'paid'],
      [9700, 'paid'],
    ]);
  });

  it('refuses what it cannot do and writes nothing', async () => {
    const customer = await t.customer();
    const other = await t.customer({ card: 'pm_card_visa' });
    const foreign = (await get(`/v1/customers/${other}`)).invoice_settings.default_payment_method as string;
    const count = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM setup_intents`)).rows[0]!.n;
    const before = await count();
    const refused = async (payload: Record<string, unknown>) => {
      const r = await post('/v1/setup_intents', payload);
      return [r.status, r.body.error?.param];
    };
    expect(await refused({ customer, confirm: true })).toEqual([400, 'payment_method']);
    expect(await refused({ customer, payment_method: foreign })).toEqual([400, 'payment_method']);
    expect(await refused({ customer: 'cus_missing' })).toEqual([404, 'customer']);
    expect(await refused({ customer, usage: 'sometimes' })).toEqual([400, 'usage']);
    expect(await refused({ customer, payment_method_types: ['sepa_debit'] })).toEqual([400, 'payment_method_types[0]']);
    expect(await count()).toBe(before);

    const si = (await post('/v1/setup_intents', { customer })).body.id as string;
    const missing = await post(`/v1/setup_intents/${si}/confirm`);
    expect([missing.status, missing.body.error.code, missing.body.error.param]).toEqual([400, 'parameter_missing', 'payment_method']);
    const canceled = await post(`/v1/setup_intents/${si}/cancel`, { cancellation_reason: 'abandoned' });
    expect([canceled.body.status, canceled.body.cancellation_reason]).toEqual(['canceled', 'abandoned']);
    expect(await eventTypes(si)).toEqual(['setup_intent.created', 'setup_intent.canceled']);
    for (const action of ['confirm', 'cancel']) expect((await post(`/v1/setup_intents/${si}/${action}`)).body.error.code).toBe('setup_intent_unexpected_state');
    expect((await post(`/v1/setup_intents/${si}`, { description: 'late' })).body.error.code).toBe('setup_intent_unexpected_state');
    expect((await t.call({ method: 'GET', url: '/v1/setup_intents/seti_missing' })).status).toBe(404);
  });

  it('the official SDK creates, confirms, lists and cancels', async () => {
    const stripe = await stripeClient(t);
    const customer = await stripe.customers.create({ email: 'setup@example.com' });
    const si = await stripe.setupIntents.create({ customer: customer.id, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } });
    expect(si.status).toBe('requires_payment_method');
    const done = await stripe.setupIntents.confirm(si.id, { payment_method: 'pm_card_visa', return_url: 'https://example.com/back' });
    expect(done.status).toBe('succeeded');
    const cards = await stripe.customers.listPaymentMethods(customer.id);
    expect(cards.data.map((p) => p.id)).toEqual([done.payment_method]);
    const other = await stripe.setupIntents.create({ customer: customer.id });
    expect((await stripe.setupIntents.cancel(other.id, { cancellation_reason: 'duplicate' })).status).toBe('canceled');
    expect((await stripe.setupIntents.list({ customer: customer.id })).data.map((s) => s.status)).toEqual(['canceled', 'succeeded']);
  });
});

describe("a subscription's pending_setup_intent", () => {
  it('a trial made with default_incomplete collects its card: the confirmed card becomes its default and pays after the trial', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const price = await t.priceId('community_monthly');
    const created = await post('/v1/subscriptions', {
      customer,
      items: [{ price }],
      trial_period_days: 7,
      payment_behavior: 'default_incomplete',
      payment_settings: { save_default_payment_method: 'on_subscription' },
      expand: ['pending_setup_intent'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const si = created.body.pending_setup_intent;
    expect([created.body.status, si.object, si.status, si.customer, si.usage]).toEqual(['trialing', 'setup_intent', 'requires_payment_method', customer, 'off_session']);
    const sub = created.body.id as string;
    const createdEvent = (await t.testDb.db.query<{ id: string }>(`SELECT data->'object'->>'pending_setup_intent' AS id FROM events WHERE type = 'customer.subscription.created' AND data->'object'->>'id' = $1`, [sub])).rows[0]!;
    expect(createdEvent.id).toBe(si.id);

    const confirmed = await post(`/v1/setup_intents/${si.id}/confirm`, { payment_method: 'pm_card_visa' });
    expect(confirmed.body.status).toBe('succeeded');
    const after = await get(`/v1/subscriptions/${sub}`);
    expect([after.pending_setup_intent, after.default_payment_method]).toEqual([null, confirmed.body.payment_method]);
    const updated = (await t.testDb.db.query<{ prev: Record<string, unknown> }>(
      `SELECT data->'previous_attributes' AS prev FROM events WHERE type = 'customer.subscription.updated' AND data->'object'->>'id' = $1 ORDER BY id`,
      [sub],
    )).rows;
    expect(updated.map((r) => r.prev)).toEqual([{ pending_setup_intent: si.id, default_payment_method: null }]);

    await t.advance(clock, '2026-04-08T01:00:00Z');
    expect((await t.invoices(sub)).map((i) => [i.total, i.status])).toEqual([
      [0, 'paid'],
      [9700, 'paid'],
    ]);
  });

  it('is made only when nothing is paid at creation with default_incomplete, and a card saved elsewhere is not its default without on_subscription', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const paying = await post('/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now', payment_behavior: 'default_incomplete' });
    expect([paying.body.status, paying.body.pending_setup_intent]).toEqual(['incomplete', null]);
    const allow = await post('/v1/subscriptions', { customer, items: [{ price }], trial_period_days: 7 });
    expect(allow.body.pending_setup_intent).toBeNull();
    const invoiced = await post('/v1/subscriptions', { customer, items: [{ price }], trial_period_days: 7, payment_behavior: 'default_incomplete', collection_method: 'send_invoice', days_until_due: 30 });
    expect(invoiced.body.pending_setup_intent).toBeNull();

    const trial = await post('/v1/subscriptions', { customer, items: [{ price }], trial_period_days: 7, payment_behavior: 'default_incomplete' });
    const si = trial.body.pending_setup_intent as string;
    expect(si).toMatch(/^seti_/);
    await post(`/v1/setup_intents/${si}/confirm`, { payment_method: 'pm_card_mastercard' });
    expect([(await get(`/v1/subscriptions/${trial.body.id}`)).pending_setup_intent, (await get(`/v1/subscriptions/${trial.body.id}`)).default_payment_method]).toEqual([null, null]);

    // Canceled before its card was collected: the late confirmation leaves the ended subscription alone.
    const gone = await post('/v1/subscriptions', { customer, items: [{ price }], trial_period_days: 7, payment_behavior: 'default_incomplete', payment_settings: { save_default_payment_method: 'on_subscription' } });
    expect((await t.call({ method: 'DELETE', url: `/v1/subscriptions/${gone.body.id}` })).status).toBe(200);
    expect((await post(`/v1/setup_intents/${gone.body.pending_setup_intent}/confirm`, { payment_method: 'pm_card_visa' })).body.status).toBe('succeeded');
    const ended = await get(`/v1/subscriptions/${gone.body.id}`);
    expect([ended.status, ended.default_payment_method]).toEqual(['canceled', null]);
    const lastEvent = (await t.testDb.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY id DESC LIMIT 1`, [gone.body.id])).rows[0]!.type;
    expect(lastEvent).toBe('customer.subscription.deleted');
  });
});
