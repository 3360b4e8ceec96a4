import qs from 'qs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closedPort } from '../../../test/fakes/http.js';
import { STRIPE_TEST_KEY, startFakeStripe, type FakeStripe } from '../../../test/fakes/stripe-server.js';
import type { StripeSettings } from './config.js';
import { parseStripeToken, StripeGateway } from './stripe-gateway.js';

// The Stripe adapter on the official SDK, against a local server speaking Stripe's wire format. Each
// test asserts what the SDK actually sent (form-encoded parameters, Idempotency-Key) and how Stripe's
// answers are normalised.

let fake: FakeStripe;
let stripe: StripeGateway;

function settings(over: Partial<StripeSettings> = {}): StripeSettings {
  return { secretKey: STRIPE_TEST_KEY, host: '127.0.0.1', port: fake.port, protocol: 'http', timeoutMs: 2000, maxNetworkRetries: 0, ...over };
}

beforeAll(async () => {
  fake = await startFakeStripe();
  stripe = new StripeGateway(settings());
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.requests.length = 0;
  fake.clearFaults();
});

const card = (number: string) => ({ number, exp_month: 12, exp_year: 2031, cvc: '123', customer: { id: 'cus_recur1', email: 'a@example.com', name: 'Ada' } });

describe('saving a card', () => {
  it('creates the card, a customer, and a SetupIntent for off-session use; the token names both', async () => {
    const tok = await stripe.tokenizeCard(card('4242 4242 4242 4242'));
    // The card facts are Stripe's (a test PaymentMethod carries Stripe's own expiry).
    expect(tok).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, country: 'US', funding: 'credit', fingerprint: expect.any(String) });
    const parsed = parseStripeToken(tok.token)!;
    expect(parsed.customer).toMatch(/^cus_/);
    expect(parsed.paymentMethod).toMatch(/^pm_/);

    // In test mode, Stripe's test card numbers travel as their test PaymentMethods: no raw number is sent.
    expect(fake.calls('POST', '/v1/payment_methods')).toHaveLength(0);
    const [cust] = fake.calls('POST', '/v1/customers');
    expect(cust!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(cust!.body).toMatchObject({ email: 'a@example.com', name: 'Ada', metadata: { recur_customer: 'cus_recur1' } });
    const [seti] = fake.calls('POST', '/v1/setup_intents');
    expect(qs.parse(seti!.raw)).toEqual({
      customer: parsed.customer,
      payment_method: 'pm_card_visa',
      confirm: 'true',
      usage: 'off_session',
      allowed_payment_method_types: ['card'],
    });
    expect(fake.paymentMethods.get(parsed.paymentMethod)!.customer).toBe(parsed.customer);
  });

  it('sends a number Stripe has no test PaymentMethod for as card[number] and maps a card error to a 402', async () => {
    const tok = await stripe.tokenizeCard({ number: '4111111111111111', exp_month: 3, exp_year: 2032 });
    expect(tok.last4).toBe('1111');
    expect(fake.calls('POST', '/v1/payment_methods')[0]!.raw).toBe('type=card&card[number]=4111111111111111&card[exp_month]=3&card[exp_year]=2032');

    const err = await stripe.tokenizeCard({ number: '4111111111111112', exp_month: 3, exp_year: 2032 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 402, type: 'card_error', code: 'incorrect_number' });
    // No Stripe customer is left behind for a typo.
    expect(fake.calls('POST', '/v1/customers')).toHaveLength(1);
  });

  it('refuses a card the bank declines at setup', async () => {
    const err = await stripe.tokenizeCard(card('4000000000009995')).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 402, code: 'card_declined', extra: { decline_code: 'insufficient_funds' } });
  });

  it('card setup for Stripe.js: a SetupIntent with a client secret, then the saved card once the customer confirmed it', async () => {
    const gw = new StripeGateway(settings({ publishableKey: 'pk_test_recur' }));
    const setup = await gw.createCardSetup({ id: 'cus_recur2', email: 'b@example.com' });
    expect(setup).toMatchObject({ id: expect.stringMatching(/^seti_/), clientSecret: expect.stringContaining('_secret_'), publishableKey: 'pk_test_recur', status: 'requires_payment_method' });
    fake.confirmSetupIntentAsCustomer(setup.id, '5555555555554444');
    const saved = await gw.completeCardSetup(setup.id);
    expect(saved).toMatchObject({ brand: 'mastercard', last4: '4444' });
    expect(parseStripeToken(saved.token)!.customer).toBe(fake.setupIntents.get(setup.id)!.customer);
  });
});

describe('cards created by Stripe.js (a bare pm_ id)', () => {
  it('are attached to a Stripe customer once, then charged off-session; import gives the saved card', async () => {
    const pmId = fake.createPaymentMethodAsBrowser('5555555555554444');
    fake.requests.length = 0;
    const first = await stripe.charge({ amount: 1500, currency: 'usd', token: pmId, idempotencyKey: 'bare-1', customerId: 'cus_recur9' });
    expect(first).toMatchObject({ status: 'succeeded' });
    const holder = fake.paymentMethods.get(pmId)!.customer as string;
    expect(holder).toMatch(/^cus_/);
    expect(fake.calls('POST', `/v1/payment_methods/${pmId}/attach`)).toHaveLength(1);
    expect(fake.calls('POST', '/v1/customers')[0]!.headers['idempotency-key']).toBe(`recur-holder-${pmId}`);
    expect(await stripe.charge({ amount: 1500, currency: 'usd', token: pmId, idempotencyKey: 'bare-2' })).toMatchObject({ status: 'succeeded' });
    expect(fake.calls('POST', `/v1/payment_methods/${pmId}/attach`)).toHaveLength(1); // attached once
    const imported = await stripe.importPaymentMethod(pmId, { id: 'cus_recur9' });
    expect(imported).toMatchObject({ token: `${holder}:${pmId}`, brand: 'mastercard', last4: '4444' });
  });
});

describe('charging off-session', () => {
  it('confirms a PaymentIntent with the Idempotency-Key and the key in metadata; a retry replays, never charges twice', async () => {
    const tok = await stripe.tokenizeCard(card('4242424242424242'));
    fake.requests.length = 0;
    const req = { amount: 2500, currency: 'usd', token: tok.token, idempotencyKey: 'in_1:attempt:1', customerId: 'cus_recur1', description: 'Invoice 1' };
    const first = await stripe.charge(req);
    expect(first).toEqual({ status: 'succeeded', gatewayRef: expect.stringMatching(/^pi_/) });
    const [sent] = fake.calls('POST', '/v1/payment_intents');
    expect(sent!.headers['idempotency-key']).toBe('in_1:attempt:1');
    expect(sent!.body).toEqual({
      amount: '2500',
      currency: 'usd',
      customer: parseStripeToken(tok.token)!.customer,
      payment_method: parseStripeToken(tok.token)!.paymentMethod,
      allowed_payment_method_types: ['card'],
      confirm: 'true',
      off_session: 'true',
      description: 'Invoice 1',
      metadata: { recur_idempotency_key: 'in_1:attempt:1', recur_customer: 'cus_recur1' },
    });
    expect(await stripe.charge(req)).toEqual(first);
    expect(fake.charges().filter((p) => (p.metadata as Record<string, string>).recur_idempotency_key === 'in_1:attempt:1')).toHaveLength(1);
  });

  it.each([
    ['4000000000009995', 'soft_decline', 'card_declined', 'insufficient_funds'],
    ['4000000000000002', 'soft_decline', 'card_declined', 'generic_decline'],
    ['4000000000009987', 'hard_decline', 'card_declined', 'lost_card'],
    ['4100000000000019', 'fraud', 'card_declined', 'fraudulent'],
  ])('%s declines as %s (%s / %s)', async (number, failureClass, code, declineCode) => {
    // charge_customer_fail-style cards set up fine and fail on charge; the others are saved through a fake token.
    const tok = await stripe.tokenizeCard(card('4000000000000341'));
    const { customer, paymentMethod } = parseStripeToken(tok.token)!;
    fake.paymentMethods.get(paymentMethod)!._number = number;
    const out = await stripe.charge({ amount: 1000, currency: 'usd', token: `${customer}:${paymentMethod}`, idempotencyKey: `k-${number}` });
    expect(out).toMatchObject({ status: 'failed', failureClass, code, declineCode, gatewayRef: expect.stringMatching(/^pi_/) });
  });

  it('a 500 is a gateway fault whose outcome is unknown; a refused connection is a fault that never reached Stripe', async () => {
    const tok = await stripe.tokenizeCard(card('4242424242424242'));
    fake.inject((r) => r.path === '/v1/payment_intents', { kind: 'status', status: 500, body: { error: { type: 'api_error', message: 'Something went wrong on our end.' } } });
    const out = await stripe.charge({ amount: 1000, currency: 'usd', token: tok.token, idempotencyKey: 'k-500' });
    expect(out).toMatchObject({ status: 'failed', failureClass: 'gateway_fault' });
    expect(out.status === 'failed' && out.notProcessed).toBeFalsy();

    const down = new StripeGateway(settings({ port: await closedPort() }));
    const refused = await down.charge({ amount: 1000, currency: 'usd', token: tok.token, idempotencyKey: 'k-down' });
    expect(refused).toMatchObject({ status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable', notProcessed: true });
  });

  it('a timeout after Stripe charged is found again by the idempotency key without a second charge', async () => {
    const tok = await stripe.tokenizeCard(card('4242424242424242'));
    const slow = new StripeGateway(settings({ timeoutMs: 150 }));
    fake.inject((r) => r.path === '/v1/payment_intents' && r.method === 'POST', { kind: 'delay_after_work', delayMs: 1000 });
    const req = { amount: 4200, currency: 'usd', token: tok.token, idempotencyKey: 'k-timeout' };
    const out = await slow.charge(req);
    expect(out).toMatchObject({ status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable' });
    expect(out.status === 'failed' && out.notProcessed).toBeFalsy();

    const found = await stripe.retrieveCharge('k-timeout', req);
    expect(found).toMatchObject({ status: 'succeeded', gatewayRef: expect.stringMatching(/^pi_/) });
    // Reconciliation only lists: one PaymentIntent exists for the key.
    expect(fake.calls('GET', '/v1/payment_intents')[0]!.query).toBe(`customer=${parseStripeToken(tok.token)!.customer}&limit=100`);
    expect(fake.charges().filter((p) => (p.metadata as Record<string, string>).recur_idempotency_key === 'k-timeout')).toHaveLength(1);
    expect(await stripe.retrieveCharge('k-never', req)).toBeNull();
  });
});

describe('refunds', () => {
  it('refunds part then the rest of a PaymentIntent with its own idempotency key; more than captured is refused', async () => {
    const tok = await stripe.tokenizeCard(card('4242424242424242'));
    const charged = await stripe.charge({ amount: 5000, currency: 'usd', token: tok.token, idempotencyKey: 'k-refund' });
    const ref = charged.status === 'succeeded' ? charged.gatewayRef : '';
    const part = await stripe.refund({ gatewayRef: ref, amount: 2000, currency: 'usd', idempotencyKey: 're_1', reason: 'requested_by_customer', refundId: 're_recur1' });
    expect(part).toEqual({ status: 'succeeded', gatewayRef: expect.stringMatching(/^re_/) });
    const sent = fake.calls('POST', '/v1/refunds')[0]!;
    expect(sent.headers['idempotency-key']).toBe('re_1');
    expect(sent.body).toEqual({ payment_intent: ref, amount: '2000', reason: 'requested_by_customer', metadata: { recur_refund: 're_recur1' } });
    expect(await stripe.refund({ gatewayRef: ref, amount: 2000, currency: 'usd', idempotencyKey: 're_1' })).toMatchObject({ status: 'failed', code: 'idempotency_error' });
    expect(await stripe.refund({ gatewayRef: ref, amount: 3001, currency: 'usd', idempotencyKey: 're_2' })).toMatchObject({ status: 'failed', code: 'amount_too_large' });
    expect(await stripe.refund({ gatewayRef: ref, amount: 3000, currency: 'usd', idempotencyKey: 're_3' })).toMatchObject({ status: 'succeeded' });
  });
});
