import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { stripeClient } from '../../../test/helpers/stripe-sdk.js';

// A payment intent created without confirm (Stripe's default), then updated, confirmed or canceled:
// the flow of Stripe's server-side guides for a one-time purchase (the course).

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => t.call({ method: 'POST', url, payload });
const attach = async (customer: string, testPm: string) => (await post(`/v1/payment_methods/${testPm}/attach`, { customer })).body.id as string;
const eventTypes = async (pi: string) => {
  const { rows } = await t.testDb.db.query<{ type: string }>(`SELECT type FROM events WHERE data->'object'->>'id' = $1 ORDER BY id`, [pi]);
  return rows.map((r) => r.type);
};
const gatewayKey = async (pi: string) => (await t.testDb.db.query<{ k: string }>(`SELECT idempotency_key AS k FROM payment_intents WHERE id = $1`, [pi])).rows[0]!.k;

describe('payment intents confirmed after their creation', () => {
  it('waits without a payment method, takes one by update, and is charged once when confirmed', async () => {
    const customer = await t.customer();
    const created = await post('/v1/payment_intents', { amount: 49_700, currency: 'usd', customer, description: 'Course' });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect([created.body.status, created.body.amount_received, created.body.payment_method]).toEqual(['requires_payment_method', 0, null]);
    const pi = created.body.id as string;

    const visa = await attach(customer, 'pm_card_visa');
    const updated = await post(`/v1/payment_intents/${pi}`, { payment_method: visa, amount: 39_700, metadata: { order: 'c-1' } });
    expect([updated.status, updated.body.status, updated.body.amount, updated.body.payment_method, updated.body.metadata]).toEqual([200, 'requires_confirmation', 39_700, visa, { order: 'c-1' }]);
    expect(await eventTypes(pi)).toEqual(['payment_intent.created']);

    const confirmed = await post(`/v1/payment_intents/${pi}/confirm`);
    expect([confirmed.status, confirmed.body.status, confirmed.body.amount_received, confirmed.body.gateway]).toEqual([200, 'succeeded', 39_700, 'simulated']);
    expect(await eventTypes(pi)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
    expect(await gatewayKey(pi)).toBe(`${pi}:confirm:1`);

    const again = await post(`/v1/payment_intents/${pi}/confirm`);
    expect([again.status, again.body.error.code]).toEqual([400, 'payment_intent_unexpected_state']);
    const late = await post(`/v1/payment_intents/${pi}`, { amount: 100 });
    expect([late.status, late.body.error.code]).toEqual([400, 'payment_intent_unexpected_state']);
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi}` })).body.amount).toBe(39_700);
  });

  it('a declined confirmation answers 402 and can be confirmed again with another card, under a new gateway key', async () => {
    const customer = await t.customer();
    const declined = await attach(customer, 'pm_card_visa_chargeDeclinedInsufficientFunds');
    const pi = (await post('/v1/payment_intents', { amount: 12_000, currency: 'usd', customer, payment_method: declined })).body.id as string;
    const first = await post(`/v1/payment_intents/${pi}/confirm`, { off_session: true });
    expect([first.status, first.body.error.code, first.body.error.decline_code, first.body.error.payment_intent.status]).toEqual([402, 'card_declined', 'insufficient_funds', 'requires_payment_method']);
    const afterFailure = (await t.call({ method: 'GET', url: `/v1/payment_intents/${pi}` })).body;
    expect([afterFailure.status, afterFailure.last_payment_error.decline_code]).toEqual(['requires_payment_method', 'insufficient_funds']);

    const visa = await attach(customer, 'pm_card_visa');
    const second = await post(`/v1/payment_intents/${pi}/confirm`, { payment_method: visa });
    expect([second.status, second.body.status, second.body.payment_method, second.body.last_payment_error]).toEqual([200, 'succeeded', visa, null]);
    expect(await gatewayKey(pi)).toBe(`${pi}:confirm:2`);
    expect(await eventTypes(pi)).toEqual(['payment_intent.created', 'payment_intent.payment_failed', 'payment_intent.succeeded']);
  });

  it('refuses a confirmation without a payment method, and confirm=true at creation without one, writing nothing', async () => {
    const customer = await t.customer();
    const pi = (await post('/v1/payment_intents', { amount: 5_000, currency: 'usd', customer })).body.id as string;
    const res = await post(`/v1/payment_intents/${pi}/confirm`);
    expect([res.status, res.body.error.code, res.body.error.param]).toEqual([400, 'parameter_missing', 'payment_method']);
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi}` })).body.status).toBe('requires_payment_method');
    const before = (await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${customer}` })).body.data.length;
    const eager = await post('/v1/payment_intents', { amount: 5_000, currency: 'usd', customer, confirm: true });
    expect([eager.status, eager.body.error.code, eager.body.error.param]).toEqual([400, 'parameter_missing', 'payment_method']);
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${customer}` })).body.data.length).toBe(before);
    const other = await t.customer({ card: 'pm_card_visa' });
    const foreign = (await t.call({ method: 'GET', url: `/v1/customers/${other}` })).body.invoice_settings.default_payment_method as string;
    const wrong = await post(`/v1/payment_intents/${pi}/confirm`, { payment_method: foreign });
    expect([wrong.status, wrong.body.error.param]).toEqual([400, 'payment_method']);
  });

  it('cancels one that waits, with its reason; a canceled or succeeded one, or an invoice’s, cannot be canceled or confirmed', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const pm = (await t.call({ method: 'GET', url: `/v1/customers/${customer}` })).body.invoice_settings.default_payment_method as string;
    const pi = (await post('/v1/payment_intents', { amount: 2_500, currency: 'usd', customer, payment_method: pm })).body.id as string;
    const canceled = await post(`/v1/payment_intents/${pi}/cancel`, { cancellation_reason: 'requested_by_customer' });
    expect([canceled.status, canceled.body.status, canceled.body.cancellation_reason, typeof canceled.body.canceled_at]).toEqual([200, 'canceled', 'requested_by_customer', 'number']);
    expect(await eventTypes(pi)).toEqual(['payment_intent.created', 'payment_intent.canceled']);
    for (const action of ['confirm', 'cancel']) {
      const res = await post(`/v1/payment_intents/${pi}/${action}`);
      expect([action, res.status, res.body.error.code]).toEqual([action, 400, 'payment_intent_unexpected_state']);
    }
    const bad = await post(`/v1/payment_intents/${pi}/cancel`, { cancellation_reason: 'bored' });
    expect([bad.status, bad.body.error.param]).toEqual([400, 'cancellation_reason']);

    const paid = (await post('/v1/payment_intents', { amount: 2_500, currency: 'usd', customer, payment_method: pm, confirm: true })).body.id as string;
    expect((await post(`/v1/payment_intents/${paid}/cancel`)).body.error.code).toBe('payment_intent_unexpected_state');

    const item = await post('/v1/invoiceitems', { customer, amount: 3_000, currency: 'usd', description: 'Workshop' });
    expect(item.status, JSON.stringify(item.body)).toBe(200);
    const inv = (await post('/v1/invoices', { customer, pending_invoice_items_behavior: 'include' })).body.id as string;
    await post(`/v1/invoices/${inv}/finalize`);
    const invoicePi = (await post(`/v1/invoices/${inv}/pay`)).body.payment_intent as string;
    const byInvoice = await post(`/v1/payment_intents/${invoicePi}/cancel`);
    expect([byInvoice.status, byInvoice.body.error.code]).toEqual([400, 'payment_intent_unexpected_state']);
    expect(byInvoice.body.error.message).toContain(`/v1/invoices/${inv}/pay`);
  });

  it('two confirmations racing charge once', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const pm = (await t.call({ method: 'GET', url: `/v1/customers/${customer}` })).body.invoice_settings.default_payment_method as string;
    const pi = (await post('/v1/payment_intents', { amount: 9_700, currency: 'usd', customer, payment_method: pm })).body.id as string;
    const results = await Promise.all([post(`/v1/payment_intents/${pi}/confirm`), post(`/v1/payment_intents/${pi}/confirm`)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(await eventTypes(pi)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
  });

  it('the official SDK creates, updates, confirms and cancels', async () => {
    const stripe = await stripeClient(t);
    const customer = await stripe.customers.create({ email: 'course@example.com' });
    const pm = await stripe.paymentMethods.attach('pm_card_mastercard', { customer: customer.id });
    const pi = await stripe.paymentIntents.create({ amount: 19_900, currency: 'usd', customer: customer.id, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } });
    expect(pi.status).toBe('requires_payment_method');
    const withPm = await stripe.paymentIntents.update(pi.id, { payment_method: pm.id, metadata: { course: 'foundations' } });
    expect(withPm.status).toBe('requires_confirmation');
    const done = await stripe.paymentIntents.confirm(pi.id, { return_url: 'https://example.com/done' });
    expect([done.status, done.amount_received, done.metadata]).toEqual(['succeeded', 19_900, { course: 'foundations' }]);
    const other = await stripe.paymentIntents.create({ amount: 500, currency: 'usd', customer: customer.id });
    const gone = await stripe.paymentIntents.cancel(other.id, { cancellation_reason: 'abandoned' });
    expect([gone.status, gone.cancellation_reason]).toEqual(['canceled', 'abandoned']);
    const listed = await stripe.paymentIntents.list({ customer: customer.id });
    expect(listed.data.map((p) => p.status)).toEqual(['canceled', 'succeeded']);
  });
});
