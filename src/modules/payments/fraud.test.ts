import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { loadPaymentsConfig } from './config.js';
import { evaluateFraud, riskLevel } from './domain/fraud-rules.js';
import { DEFAULT_FRAUD } from './fraud.js';

// Fraud rules before a charge: velocity per payment method (more than 5 failures in an hour blocks it
// for 24 h), per customer and per IP; card testing (small attempts with many different cards); a card
// issued in another country than the billing address goes to review. A blocked attempt reaches no
// gateway and answers `payment_blocked` with the reason; the score and rule are on the payment intent.

describe('the rules (pure)', () => {
  const quiet = {
    activeBlock: null,
    paymentMethodFailuresLastHour: 0,
    customerFailuresLastHour: 0,
    ipFailuresLastHour: null,
    otherSmallCardsByCustomer: 0,
    otherSmallCardsByIp: null,
    amount: 5000,
    cardCountry: 'US',
    billingCountry: 'US',
  };
  it('allows a quiet payment with a low score', () => {
    expect(evaluateFraud(quiet, DEFAULT_FRAUD)).toEqual({ outcome: 'allow', score: 0, rule: null, reason: null, newBlocks: [] });
  });
  it('blocks past each threshold, in order, and says which blocks to record', () => {
    expect(evaluateFraud({ ...quiet, paymentMethodFailuresLastHour: 5 }, DEFAULT_FRAUD).outcome).toBe('allow');
    expect(evaluateFraud({ ...quiet, paymentMethodFailuresLastHour: 6 }, DEFAULT_FRAUD)).toMatchObject({ outcome: 'block', score: 100, rule: 'payment_method_velocity', newBlocks: ['payment_method', 'fingerprint'] });
    expect(evaluateFraud({ ...quiet, customerFailuresLastHour: 11 }, DEFAULT_FRAUD)).toMatchObject({ rule: 'customer_velocity', newBlocks: ['customer'] });
    expect(evaluateFraud({ ...quiet, ipFailuresLastHour: 21 }, DEFAULT_FRAUD)).toMatchObject({ rule: 'ip_velocity', newBlocks: ['ip'] });
    expect(evaluateFraud({ ...quiet, amount: 100, otherSmallCardsByCustomer: 3 }, DEFAULT_FRAUD)).toMatchObject({ rule: 'card_testing', newBlocks: ['customer'] });
    expect(evaluateFraud({ ...quiet, amount: 100, otherSmallCardsByCustomer: 1, otherSmallCardsByIp: 3 }, DEFAULT_FRAUD)).toMatchObject({ rule: 'card_testing', newBlocks: ['customer', 'ip'] });
    // Many cards, but large amounts: not card testing.
    expect(evaluateFraud({ ...quiet, amount: 50_000, otherSmallCardsByCustomer: 9 }, DEFAULT_FRAUD).outcome).toBe('allow');
    expect(evaluateFraud({ ...quiet, activeBlock: { rule: 'ip_velocity', reason: 'r' } }, DEFAULT_FRAUD)).toMatchObject({ outcome: 'block', rule: 'ip_velocity', reason: 'r', newBlocks: [] });
  });
  it('a country mismatch goes to review (or is allowed or blocked by configuration)', () => {
    const mismatch = { ...quiet, billingCountry: 'gb' };
    expect(evaluateFraud(mismatch, DEFAULT_FRAUD)).toMatchObject({ outcome: 'review', rule: 'country_mismatch', score: 65, reason: 'The card was issued in US but the billing country is GB.' });
    expect(evaluateFraud(mismatch, { ...DEFAULT_FRAUD, countryMismatch: 'allow' }).outcome).toBe('allow');
    expect(evaluateFraud(mismatch, { ...DEFAULT_FRAUD, countryMismatch: 'block' }).outcome).toBe('block');
    expect([riskLevel(10), riskLevel(65), riskLevel(90)]).toEqual(['normal', 'elevated', 'highest']);
  });
});

let t: TestApp;
beforeAll(async () => {
  // Thresholds are configuration: the IP and customer limits are lowered here to keep the story short.
  t = await createTestApp({ config: { payments: loadPaymentsConfig({ RECUR_FRAUD_IP_FAILURES_PER_HOUR: '3', RECUR_FRAUD_CUSTOMER_FAILURES_PER_HOUR: '8' }) } });
});
afterAll(() => t.close());

async function customer(country?: string): Promise<string> {
  return (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'fraud@example.com', ...(country ? { address: { country } } : {}) } })).body.id;
}

async function card(cus: string, number: string): Promise<string> {
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2031 } } });
  await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.body.id}/attach`, payload: { customer: cus } });
  return pm.body.id;
}

function pay(cus: string, pm: string, amount = 1000, opts: { ip?: string } = {}) {
  return t.call({
    method: 'POST',
    url: '/v1/payment_intents',
    payload: { amount, currency: 'usd', customer: cus, payment_method: pm, confirm: true, ...(opts.ip ? {} : { off_session: true }) },
    ...(opts.ip ? { remoteAddress: opts.ip } : {}),
  });
}

describe('before a charge', () => {
  it('more than 5 failures in an hour block the payment method for 24 hours, with the reason; nothing reaches the gateway', async () => {
    const cus = await customer();
    const pm = await card(cus, '4000000000000341'); // attaches fine, every charge declines
    for (let i = 0; i < 6; i++) {
      const r = await pay(cus, pm);
      expect(r.body.error).toMatchObject({ type: 'card_error', code: 'card_declined' });
      t.clock.advance(60_000);
    }
    const blocked = await pay(cus, pm);
    expect(blocked.status).toBe(402);
    expect(blocked.body.error).toMatchObject({ type: 'card_error', code: 'payment_blocked', message: 'This payment method failed 6 times in the last hour; it is blocked for 24 hours.' });
    const pi = blocked.body.error.payment_intent;
    expect(pi).toMatchObject({ status: 'requires_payment_method', latest_charge: null, risk: { outcome: 'block', rule: 'payment_method_velocity', score: 100, level: 'highest' } });
    const row = (await t.testDb.db.query<{ failure_class: string; gateway_ref: string | null }>('SELECT failure_class, gateway_ref FROM payment_intents WHERE id = $1', [pi.id])).rows[0]!;
    expect(row).toEqual({ failure_class: 'fraud', gateway_ref: null });

    // Still blocked 23 hours later (the failures have left the one-hour window); free after 24 hours.
    t.clock.advance(23 * 3600_000);
    expect((await pay(cus, pm)).body.error.code).toBe('payment_blocked');
    t.clock.advance(3600_000);
    expect((await pay(cus, pm)).body.error.code).toBe('card_declined');
    // Other cards of the customer are not blocked.
    expect((await pay(cus, await card(cus, '4242424242424242'))).body.status).toBe('succeeded');
  });

  it('an invoice payment refused by a rule answers payment_blocked too', async () => {
    const cus = await customer();
    const pm = await card(cus, '4000000000000341');
    for (let i = 0; i < 6; i++) await pay(cus, pm);
    const id = `in_fraud${Date.now()}`;
    await t.testDb.db.query(
      `INSERT INTO invoices (id, customer, status, number, series, currency, billing_reason, period_start, period_end, total, amount_due, amount_remaining, created, updated)
       VALUES ($1, $2, 'open', $1, 'FRAUD', 'usd', 'manual', $3, $3, 900, 900, 900, $3, $3)`,
      [id, cus, t.clock.now()],
    );
    const res = await t.call({ method: 'POST', url: `/v1/invoices/${id}/pay`, payload: { payment_method: pm } });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ code: 'payment_blocked', message: expect.stringContaining('blocked for 24 hours') });
  });

  it('velocity per customer across cards, and per IP across customers', async () => {
    const cus = await customer();
    // Cards that attach fine and decline every charge (a different card each: no shared fingerprint).
    const a = await card(cus, '4000000000000002');
    const b = await card(cus, '4000000000009987');
    for (let i = 0; i < 5; i++) await pay(cus, a);
    for (let i = 0; i < 4; i++) await pay(cus, b);
    const blocked = await pay(cus, b);
    expect(blocked.body.error).toMatchObject({ code: 'payment_blocked', payment_intent: { risk: { rule: 'customer_velocity' } } });

    const ip = '203.0.113.7';
    for (let i = 0; i < 4; i++) {
      const c = await customer();
      const r = await pay(c, await card(c, '4000000000009995'), 1000, { ip });
      expect(r.body.error.code).toBe('card_declined');
    }
    const other = await customer();
    const byIp = await pay(other, await card(other, '4242424242424242'), 1000, { ip });
    expect(byIp.body.error).toMatchObject({ code: 'payment_blocked', payment_intent: { risk: { rule: 'ip_velocity' } } });
    const { rows } = await t.testDb.db.query<{ client_ip: string }>('SELECT client_ip FROM payment_intents WHERE id = $1', [byIp.body.error.payment_intent.id]);
    expect(rows[0]!.client_ip).toBe(ip);
    // Off-session payments carry no IP and are not affected.
    expect((await pay(other, await card(other, '5555555555554444'))).body.status).toBe('succeeded');
  });

  it('card testing: small payments with a fourth different card are blocked', async () => {
    const cus = await customer();
    for (const n of ['4242424242424242', '5555555555554444', '378282246310005']) expect((await pay(cus, await card(cus, n), 100)).body.status).toBe('succeeded');
    const fourth = await pay(cus, await card(cus, '6011111111111117'), 100);
    expect(fourth.body.error).toMatchObject({ code: 'payment_blocked', message: expect.stringContaining('4 different cards'), payment_intent: { risk: { rule: 'card_testing' } } });
  });

  it('a card from another country than the billing address goes through, flagged for review', async () => {
    const cus = await customer('GB');
    const res = await pay(cus, await card(cus, '4242424242424242'));
    expect(res.body).toMatchObject({ status: 'succeeded', risk: { outcome: 'review', rule: 'country_mismatch', level: 'elevated' } });
    const review = await t.call({ method: 'GET', url: '/v1/payment_intents?risk_outcome=review' });
    expect(review.body.data.map((p: { id: string }) => p.id)).toContain(res.body.id);
    const same = await pay(cus, await card(cus, '4000008260000000')); // a GB card
    expect(same.body.risk).toMatchObject({ outcome: 'allow', rule: null });
  });
});
