import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPaymentsTestApp, openInvoice, type PaymentsTestApp } from '../../../test/fakes/payments-app.js';
import { payDue } from '../subscriptions/jobs.js';
import { decodeVaultToken } from './codec.js';
import { parseStripeToken } from './stripe-gateway.js';
import { importGatewayPaymentMethod } from './service.js';

// The router inside a whole app: cards saved at Stripe and PayPal (the real adapters on the official
// SDKs, against local servers speaking each gateway's wire format), invoices paid through
// payInvoice, the worker's set-based collection and POST /v1/payment_intents, refunds through the
// gateway that took the money. The stories from the issue: failover after a fault succeeds on PayPal,
// a hard decline does not fail over, a timeout that did charge is reconciled and never charged twice.

let t: PaymentsTestApp;
beforeAll(async () => {
  t = await createPaymentsTestApp({
    env: {
      STRIPE_TIMEOUT_MS: '1500',
      PAYPAL_TIMEOUT_MS: '1500',
      RECUR_BREAKER_FAILURES: '50',
      RECUR_ROUTING_RULES: JSON.stringify([{ name: 'eur-via-paypal', currencies: ['eur'], gateways: ['paypal', 'stripe'] }]),
    },
  });
});
afterAll(() => t.close());
beforeEach(() => {
  t.stripe.clearFaults();
  t.paypal.clearFaults();
});

async function customer(country = 'US'): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'router@example.com', address: { country, line1: '1 Main St' } } });
  expect(res.status).toBe(200);
  return res.body.id;
}

async function savedCard(cus: string, number = '4242424242424242'): Promise<string> {
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2031, cvc: '123' } } });
  expect(pm.status).toBe(200);
  expect((await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.body.id}/attach`, payload: { customer: cus } })).status).toBe(200);
  return pm.body.id;
}

async function tokens(pmId: string) {
  const { rows } = await t.testDb.db.query<{ gateway: string; gateway_token: string }>('SELECT gateway, gateway_token FROM payment_methods WHERE id = $1', [pmId]);
  const vault = decodeVaultToken(rows[0]!.gateway_token)!;
  return { gateway: rows[0]!.gateway, vault, stripe: parseStripeToken(vault.tokens.stripe!)! };
}

async function piRow(id: string) {
  return (await t.testDb.db.query<Record<string, any>>('SELECT * FROM payment_intents WHERE id = $1', [id])).rows[0]!; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const stripeCharges = (key: string) => t.stripe.charges().filter((p) => (p.metadata as Record<string, string>).recur_idempotency_key === key);
const paypalCaptures = (key: string) => t.paypal.completedCaptures().filter((c) => c.custom_id === key);

describe('saving cards and routing charges', () => {
  it('saves a new card at every gateway; a charge goes to the first gateway and records where and why', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    const tok = await tokens(pm);
    expect(tok.gateway).toBe('router');
    expect(Object.keys(tok.vault.tokens)).toEqual(['stripe', 'paypal']);
    expect(tok.vault).toMatchObject({ brand: 'visa', country: 'US', type: 'card' });
    // The card is filed at Stripe under a customer of its own, named after the Recur customer.
    expect(t.stripe.customers.get(tok.stripe.customer)!.metadata).toEqual({ recur_customer: cus });

    const res = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 2500, currency: 'usd', customer: cus, payment_method: pm, confirm: true } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'succeeded', amount_received: 2500, gateway: 'stripe', latest_charge: expect.stringMatching(/^pi_/), risk: { outcome: 'allow', rule: null } });
    const row = await piRow(res.body.id);
    expect(row.gateway).toBe('stripe');
    expect(row.gateway_ref).toBe(`stripe:${res.body.latest_charge}`);
    expect(row.routing).toEqual({ rule: null, candidates: ['stripe', 'paypal'], steps: [{ gateway: 'stripe', result: 'succeeded' }], explored: false, reconciled: false });
    expect(t.paypal.calls('POST', '/v2/checkout/orders')).toHaveLength(0);
  });

  it('a card saved by Stripe.js (hosted page) is imported at Stripe only and charged there', async () => {
    const cus = await customer();
    const browserPm = t.stripe.createPaymentMethodAsBrowser('4242424242424242');
    const pm = await t.testDb.db.tx((q) => importGatewayPaymentMethod(q, t.deps, t.clock.now(), { customer: cus, gateway: 'router', paymentMethod: browserPm }));
    expect(pm).toMatchObject({ customer: cus, card: { brand: 'visa', last4: '4242' } });
    const tok = await tokens(pm.id);
    expect(Object.keys(tok.vault.tokens)).toEqual(['stripe']);
    expect(tok.stripe.paymentMethod).toBe(browserPm);
    const res = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 1200, currency: 'usd', customer: cus, payment_method: pm.id, confirm: true } });
    expect(res.body).toMatchObject({ status: 'succeeded', gateway: 'stripe' });
    // The card has no PayPal token: PayPal is not a candidate (a Stripe fault could not fail over).
    expect((await piRow(res.body.id)).routing).toMatchObject({ candidates: ['stripe'], steps: [{ gateway: 'paypal', result: 'no_token' }, { gateway: 'stripe', result: 'succeeded' }] });
  });

  it('a rule sends EUR to PayPal first', async () => {
    const cus = await customer('DE');
    const pm = await savedCard(cus);
    const inv = await openInvoice(t, cus, 1999, 'eur');
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('paid');
    const pi = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${inv}` })).body.data[0];
    expect(pi).toMatchObject({ gateway: 'paypal', status: 'succeeded' });
    expect((await piRow(pi.id)).routing).toMatchObject({ rule: 'eur-via-paypal', candidates: ['paypal', 'stripe'] });
    expect(paypalCaptures(`${inv}:attempt:1`)).toHaveLength(1);
    expect(paypalCaptures(`${inv}:attempt:1`)[0]!.amount).toEqual({ currency_code: 'EUR', value: '19.99' });
    expect(stripeCharges(`${inv}:attempt:1`)).toHaveLength(0);
  });
});

describe('failover', () => {
  it('a fault at Stripe (500) is reconciled (nothing charged there), then the payment succeeds on PayPal', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    const inv = await openInvoice(t, cus, 4900);
    const key = `${inv}:attempt:1`;
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'status', status: 500, body: { error: { type: 'api_error', message: 'An unknown error occurred' } } });
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amount_paid: 4900 });

    const pi = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${inv}` })).body.data[0];
    expect(pi).toMatchObject({ status: 'succeeded', gateway: 'paypal', latest_charge: expect.stringMatching(/^[0-9A-F]{17}$/) });
    expect((await piRow(pi.id)).routing.steps).toEqual([
      { gateway: 'stripe', result: 'gateway_fault', code: 'gateway_error' },
      { gateway: 'paypal', result: 'succeeded' },
    ]);
    // Stripe was asked whether the key had charged (a list, not a charge) before PayPal was tried.
    const tok = await tokens(pm);
    expect(t.stripe.calls('GET', '/v1/payment_intents').some((r) => r.query.includes(`customer=${tok.stripe.customer}`))).toBe(true);
    expect(t.paypal.calls('POST', '/v2/checkout/orders').at(-1)!.headers['paypal-request-id']).toBe(key);
    expect(stripeCharges(key)).toHaveLength(0);
    expect(paypalCaptures(key)).toHaveLength(1);
  });

  it.each([
    ['a hard decline (lost card)', '4000000000009987', 'hard_decline', 'lost_card'],
    ['a soft decline (insufficient funds)', '4000000000009995', 'soft_decline', 'insufficient_funds'],
    ['a fraud decline', '4100000000000019', 'fraud', 'fraudulent'],
  ])('%s does not fail over', async (_label, number, failureClass, declineCode) => {
    const cus = await customer();
    const pm = await savedCard(cus);
    t.stripe.paymentMethods.get((await tokens(pm)).stripe.paymentMethod)!._number = number;
    const inv = await openInvoice(t, cus, 1500);
    const ordersBefore = t.paypal.calls('POST', '/v2/checkout/orders').length;
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: declineCode });
    const row = await piRow(res.body.error.payment_intent.id);
    expect(row).toMatchObject({ status: 'requires_payment_method', failure_class: failureClass, gateway: 'stripe' });
    expect(row.routing.steps).toEqual([{ gateway: 'stripe', result: failureClass, code: 'card_declined' }]);
    expect(t.paypal.calls('POST', '/v2/checkout/orders')).toHaveLength(ordersBefore);
  });

  it('a timeout after Stripe charged is reconciled by the idempotency key: paid once, never charged again', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    const inv = await openInvoice(t, cus, 7700);
    const key = `${inv}:attempt:1`;
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'delay_after_work', delayMs: 3000 });
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('paid');
    const pi = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${inv}` })).body.data;
    expect(pi).toHaveLength(1);
    expect(pi[0]).toMatchObject({ status: 'succeeded', gateway: 'stripe', latest_charge: stripeCharges(key)[0]!.id });
    expect((await piRow(pi[0].id)).routing).toMatchObject({ reconciled: true });
    expect(stripeCharges(key)).toHaveLength(1);
    expect(paypalCaptures(key)).toHaveLength(0);
  });

  it('an outcome that stays unknown keeps the attempt processing; the retry reconciles before anything else', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    const inv = await openInvoice(t, cus, 3300);
    const key = `${inv}:attempt:1`;
    // Stripe charges but the answer is lost, and Stripe cannot be asked either: the outcome is unknown.
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'delay_after_work', delayMs: 3000 });
    t.stripe.inject((r) => r.method === 'GET' && r.path === '/v1/payment_intents', { kind: 'status', status: 503, body: { error: { type: 'api_error', message: 'unavailable' } } });
    const first = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    // Not a decline: the gateway's answer is unknown, a 502 api_error carrying the processing intent.
    expect([first.status, first.body.error.type]).toEqual([502, 'api_error']);
    const pi = first.body.error.payment_intent;
    expect(pi).toMatchObject({ status: 'processing', latest_charge: null });
    expect((await piRow(pi.id)).gateway_ref).toBe('tried:stripe');
    expect(paypalCaptures(key)).toHaveLength(0); // never failed over on an unknown outcome

    t.clock.advance(10 * 60_000);
    const retry = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm } });
    expect(retry.status).toBe(200);
    expect(retry.body.status).toBe('paid');
    expect(await piRow(pi.id)).toMatchObject({ status: 'succeeded', gateway: 'stripe' });
    expect((await piRow(pi.id)).routing).toMatchObject({ reconciled: true, steps: [{ gateway: 'stripe', result: 'succeeded' }] });
    expect(stripeCharges(key)).toHaveLength(1);
    expect(paypalCaptures(key)).toHaveLength(0);
  });

  it("the worker's set-based collection goes through the router too, failover included", async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { invoice_settings: { default_payment_method: pm } } });
    const inv = await openInvoice(t, cus, 1234);
    await t.testDb.db.query('UPDATE invoices SET next_payment_attempt = $2 WHERE id = $1', [inv, t.clock.now()]);
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'status', status: 502, body: { error: { type: 'api_error', message: 'Bad gateway' } } });
    await t.testDb.db.tx((q) => payDue(q, t.deps, { clock: null }, t.clock.now(), 100));
    const invoice = (await t.call({ method: 'GET', url: `/v1/invoices/${inv}` })).body;
    expect(invoice).toMatchObject({ status: 'paid', amount_paid: 1234 });
    const pi = (await t.call({ method: 'GET', url: `/v1/payment_intents?invoice=${inv}` })).body.data[0];
    // collectInvoices stores the status and the reference together: where the money went is known.
    expect(pi).toMatchObject({ status: 'succeeded', gateway: 'paypal' });
    expect((await piRow(pi.id)).gateway_ref).toMatch(/^paypal:[0-9A-F]{17}$/);
    expect(paypalCaptures(`${inv}:attempt:1`)).toHaveLength(1);
  });
});

describe('refunds through the gateway that took the money', () => {
  it('refunds a PayPal payment (after failover) in parts, never past what was captured', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    t.stripe.inject((r) => r.method === 'POST' && r.path === '/v1/payment_intents', { kind: 'status', status: 500, body: { error: { type: 'api_error', message: 'boom' } } });
    const pi = (await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 5000, currency: 'usd', customer: cus, payment_method: pm, confirm: true } })).body;
    expect(pi).toMatchObject({ status: 'succeeded', gateway: 'paypal' });

    const part = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id, amount: 2000, reason: 'requested_by_customer' }, headers: { 'idempotency-key': 'refund-part-1' } });
    expect(part.status).toBe(200);
    expect(part.body).toMatchObject({ object: 'refund', amount: 2000, status: 'succeeded', gateway: 'paypal', payment_intent: pi.id, charge: pi.latest_charge, credit_note: null });
    const sent = t.paypal.calls('POST', `/v2/payments/captures/${pi.latest_charge}/refund`);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ amount: { currency_code: 'USD', value: '20.00' } });
    expect(sent[0]!.headers['paypal-request-id']).toMatch(/^refund:key_.+:refund-part-1$/);

    const tooMuch = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id, amount: 3001 } });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.error).toMatchObject({ code: 'amount_too_large', param: 'amount' });
    const rest = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id } });
    expect(rest.body).toMatchObject({ amount: 3000, status: 'succeeded' });
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi.id}` })).body.amount_refunded).toBe(5000);
    const again = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id, amount: 1 } });
    expect(again.body.error.code).toBe('charge_already_refunded');
    const list = await t.call({ method: 'GET', url: `/v1/refunds?payment_intent=${pi.id}` });
    expect(list.body.data.map((r: { amount: number }) => r.amount)).toEqual([3000, 2000]);
    expect(t.stripe.calls('POST', '/v1/refunds')).toHaveLength(0);
  });

  it('refunds a Stripe payment at Stripe; a refused refund gives the amount back', async () => {
    const cus = await customer();
    const pm = await savedCard(cus);
    const pi = (await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 900, currency: 'usd', customer: cus, payment_method: pm, confirm: true } })).body;
    expect(pi.gateway).toBe('stripe');
    t.stripe.inject((r) => r.path === '/v1/refunds', { kind: 'status', status: 400, body: { error: { type: 'invalid_request_error', code: 'charge_disputed', message: 'This charge is disputed.' } } });
    const refused = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id } });
    expect(refused.body).toMatchObject({ status: 'failed', failure_reason: 'charge_disputed', gateway: 'stripe' });
    expect((await t.call({ method: 'GET', url: `/v1/payment_intents/${pi.id}` })).body.amount_refunded).toBe(0);
    const ok = await t.call({ method: 'POST', url: '/v1/refunds', payload: { payment_intent: pi.id, amount: 400 } });
    expect(ok.body).toMatchObject({ status: 'succeeded', gateway: 'stripe', gateway_reference: expect.stringMatching(/^re_/) });
    expect(t.stripe.calls('POST', '/v1/refunds').at(-1)!.body).toMatchObject({ payment_intent: pi.latest_charge, amount: '400', metadata: { recur_refund: ok.body.id } });
    const events = (await t.call({ method: 'GET', url: `/v1/events?type=refund.*` })).body.data.map((e: { type: string }) => e.type);
    expect(events).toEqual(expect.arrayContaining(['refund.created', 'refund.failed', 'refund.updated']));
  });
});
