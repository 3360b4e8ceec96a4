import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closedPort } from '../../../test/fakes/http.js';
import { PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID, paypalWebhookHeaders, startFakePayPal, type FakePayPal } from '../../../test/fakes/paypal-server.js';
import type { PayPalSettings } from './config.js';
import { PayPalGateway, toPayPalValue, verifyPayPalWebhook } from './paypal-gateway.js';

// The PayPal adapter on PayPal's official server SDK, against a local server speaking PayPal's JSON
// (OAuth token endpoint included). Tests assert the requests the SDK sent and the normalised outcomes.

let fake: FakePayPal;
let paypal: PayPalGateway;

function settings(over: Partial<PayPalSettings> = {}): PayPalSettings {
  return { clientId: PAYPAL_CLIENT_ID, clientSecret: PAYPAL_CLIENT_SECRET, environment: 'sandbox', apiBase: fake.url, timeoutMs: 2000, ...over };
}

beforeAll(async () => {
  fake = await startFakePayPal();
  paypal = new PayPalGateway(settings());
});
afterAll(() => fake.stop());
beforeEach(() => {
  fake.clearFaults();
});

const card = (number: string) => ({ number, exp_month: 9, exp_year: 2031, cvc: '123', customer: { id: 'cus_recur1' } });

describe('money', () => {
  it('formats minor units with the currency exponent', () => {
    expect(toPayPalValue(2500, 'usd')).toBe('25.00');
    expect(toPayPalValue(5, 'usd')).toBe('0.05');
    expect(toPayPalValue(1234, 'jpy')).toBe('1234');
    expect(toPayPalValue(1234, 'kwd')).toBe('1.234');
  });
});

describe('vault and orders', () => {
  it('gets an OAuth token once, vaults the card, charges an order with the vault id and PayPal-Request-Id', async () => {
    fake.requests.length = 0;
    const tok = await paypal.tokenizeCard(card('4242424242424242'));
    expect(tok).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 9, exp_year: 2031, token: expect.stringMatching(/^[0-9a-f]{8}$/) });

    const [oauth] = fake.calls('POST', '/v1/oauth2/token');
    expect(oauth!.headers.authorization).toBe(`Basic ${Buffer.from(`${PAYPAL_CLIENT_ID}:${PAYPAL_CLIENT_SECRET}`).toString('base64')}`);
    expect(oauth!.raw).toBe('grant_type=client_credentials');
    const [vault] = fake.calls('POST', '/v3/vault/payment-tokens');
    expect(vault!.headers.authorization).toMatch(/^Bearer A21AA/);
    expect(vault!.body).toEqual({
      payment_source: { card: { number: '4242424242424242', expiry: '2031-09', security_code: '123' } },
      customer: { merchant_customer_id: 'cus_recur1' },
    });

    const req = { amount: 2599, currency: 'usd', token: tok.token, idempotencyKey: 'in_9:attempt:1', description: 'Invoice 9' };
    const out = await paypal.charge(req);
    expect(out).toEqual({ status: 'succeeded', gatewayRef: expect.stringMatching(/^[0-9A-F]{17}$/) });
    const [order] = fake.calls('POST', '/v2/checkout/orders');
    expect(order!.headers['paypal-request-id']).toBe('in_9:attempt:1');
    expect(order!.headers.prefer).toBe('return=representation');
    expect(order!.body).toEqual({
      intent: 'CAPTURE',
      purchase_units: [{ amount: { currency_code: 'USD', value: '25.99' }, custom_id: 'in_9:attempt:1', description: 'Invoice 9' }],
      payment_source: { card: { vault_id: tok.token, stored_credential: { payment_initiator: 'MERCHANT', payment_type: 'UNSCHEDULED', usage: 'SUBSEQUENT' } } },
    });
    // The same key again: PayPal answers with the first result; nothing is captured twice.
    expect(await paypal.charge(req)).toEqual(out);
    expect(await paypal.retrieveCharge(req.idempotencyKey, req)).toEqual(out);
    expect(fake.completedCaptures().filter((c) => c.custom_id === 'in_9:attempt:1')).toHaveLength(1);
    expect(fake.calls('POST', '/v1/oauth2/token')).toHaveLength(1);
  });

  it.each([
    ['4000000000009995', 'soft_decline', 'insufficient_funds'],
    ['4000000000000069', 'hard_decline', 'expired_card'],
    ['4000000000009987', 'hard_decline', 'lost_card'],
    ['4100000000000019', 'fraud', 'fraudulent'],
    ['4000000000000002', 'soft_decline', 'generic_decline'],
  ])('%s: a declined capture or a 422 issue → %s (%s)', async (number, failureClass, declineCode) => {
    const tok = await paypal.tokenizeCard(card(number));
    const out = await paypal.charge({ amount: 1000, currency: 'eur', token: tok.token, idempotencyKey: `k-${number}` });
    expect(out).toMatchObject({ status: 'failed', failureClass, code: 'card_declined', declineCode });
  });

  it('refuses an invalid card when vaulting', async () => {
    await expect(paypal.tokenizeCard(card('4242424242424241'))).rejects.toMatchObject({ status: 402, type: 'card_error' });
  });

  it('faults: a 500 is unknown, a refused connection never reached PayPal, bad credentials fail over', async () => {
    const tok = await paypal.tokenizeCard(card('4242424242424242'));
    fake.inject((r) => r.path === '/v2/checkout/orders', { kind: 'status', status: 500, body: { name: 'INTERNAL_SERVER_ERROR', message: 'An internal server error occurred.' } });
    const out = await paypal.charge({ amount: 1000, currency: 'usd', token: tok.token, idempotencyKey: 'k-500' });
    expect(out).toMatchObject({ status: 'failed', failureClass: 'gateway_fault' });
    expect(out.status === 'failed' && out.notProcessed).toBeFalsy();

    const down = new PayPalGateway(settings({ apiBase: `http://127.0.0.1:${await closedPort()}` }));
    expect(await down.charge({ amount: 1000, currency: 'usd', token: tok.token, idempotencyKey: 'k-down' })).toMatchObject({ failureClass: 'gateway_fault', notProcessed: true });

    const wrong = new PayPalGateway(settings({ clientSecret: 'nope' }));
    expect(await wrong.charge({ amount: 1000, currency: 'usd', token: tok.token, idempotencyKey: 'k-creds' })).toMatchObject({ failureClass: 'gateway_fault' });
  });

  it('a timeout after PayPal captured is reconciled by replaying the request: the same capture, not a second one', async () => {
    const tok = await paypal.tokenizeCard(card('4242424242424242'));
    const slow = new PayPalGateway(settings({ timeoutMs: 150 }));
    fake.inject((r) => r.path === '/v2/checkout/orders' && r.method === 'POST', { kind: 'delay_after_work', delayMs: 1000 });
    const req = { amount: 700, currency: 'usd', token: tok.token, idempotencyKey: 'k-pp-timeout' };
    expect(await slow.charge(req)).toMatchObject({ status: 'failed', failureClass: 'gateway_fault' });
    const found = await paypal.retrieveCharge(req.idempotencyKey, req);
    expect(found).toMatchObject({ status: 'succeeded' });
    expect(fake.completedCaptures().filter((c) => c.custom_id === 'k-pp-timeout')).toHaveLength(1);
  });

  it('refunds a capture fully or partly, never past what was captured', async () => {
    const tok = await paypal.tokenizeCard(card('4242424242424242'));
    const out = await paypal.charge({ amount: 3000, currency: 'usd', token: tok.token, idempotencyKey: 'k-refund' });
    const capture = out.status === 'succeeded' ? out.gatewayRef : '';
    expect(await paypal.refund({ gatewayRef: capture, amount: 1000, currency: 'usd', idempotencyKey: 'rf-1', refundId: 're_x' })).toEqual({ status: 'succeeded', gatewayRef: expect.any(String) });
    const sent = fake.calls('POST', `/v2/payments/captures/${capture}/refund`)[0]!;
    expect(sent.headers['paypal-request-id']).toBe('rf-1');
    expect(sent.body).toEqual({ amount: { currency_code: 'USD', value: '10.00' }, custom_id: 're_x' });
    expect(await paypal.refund({ gatewayRef: capture, amount: 2001, currency: 'usd', idempotencyKey: 'rf-2' })).toMatchObject({ status: 'failed', code: 'refund_amount_exceeded' });
  });
});

describe('webhook verification', () => {
  it('asks PayPal to verify the transmission with the raw event embedded as received', async () => {
    const raw = JSON.stringify({ id: 'WH-1', event_type: 'PAYMENT.CAPTURE.COMPLETED', resource: { id: 'CAP1' } });
    const h = paypalWebhookHeaders(raw);
    const input = {
      authAlgo: h['paypal-auth-algo']!,
      certUrl: h['paypal-cert-url']!,
      transmissionId: h['paypal-transmission-id']!,
      transmissionSig: h['paypal-transmission-sig']!,
      transmissionTime: h['paypal-transmission-time']!,
      webhookId: PAYPAL_WEBHOOK_ID,
      rawEvent: raw,
    };
    expect(await verifyPayPalWebhook(paypal.client, input)).toBe(true);
    const sent = fake.calls('POST', '/v1/notifications/verify-webhook-signature').at(-1)!;
    expect(sent.headers.authorization).toMatch(/^Bearer /);
    expect(sent.raw).toContain(`"webhook_event":${raw}}`);
    expect(await verifyPayPalWebhook(paypal.client, { ...input, rawEvent: raw.replace('CAP1', 'CAP2') })).toBe(false);
  });
});
