import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { MAX_CARD_EXPIRY_YEARS_AHEAD } from './service.js';
import { TEST_CARD_TOKENS } from './simulated-gateway.js';

// Card input on POST /v1/payment_methods and its update: the expiry year bound (Stripe refuses years
// far in the future with invalid_expiry_year) and Stripe's test card tokens (card[token]=tok_visa).

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const pmCount = async () => Number((await t.testDb.db.query<{ n: string }>(`SELECT count(*) AS n FROM payment_methods`)).rows[0]!.n);
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const card = (exp_year: number) => ({ type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year } });

beforeAll(async () => {
  t = await createBillingApp(); // 2026-01-15
});
afterAll(() => t.close());

describe('card expiry year bound', () => {
  it('is 50 years', () => expect(MAX_CARD_EXPIRY_YEARS_AHEAD).toBe(50));

  it.each([300_000, Number.MAX_SAFE_INTEGER, 2077])('refuses exp_year %d at creation: 402 invalid_expiry_year on card[exp_year], nothing stored', async (year) => {
    const before = await pmCount();
    const res = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: card(year) });
    expect(res.status).toBe(402);
    expect(res.body.error).toMatchObject({ type: 'card_error', code: 'invalid_expiry_year', param: 'card[exp_year]' });
    expect(await pmCount()).toBe(before);
  });

  it('accepts the last year of the bound (2026 + 50 = 2076) and a two-digit year', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: card(2076) });
    expect(res.status).toBe(200);
    expect(res.body.card.exp_year).toBe(2076);
    const short = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: card(30) });
    expect(short.body.card.exp_year).toBe(2030);
  });

  it('refuses a far-future exp_year on update and leaves the card as it was', async () => {
    const cus = await t.customer({});
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: cus } })).body;
    for (const year of [300_000, Number.MAX_SAFE_INTEGER, 2077]) {
      const res = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}`, payload: { card: { exp_year: year } } });
      expect(res.status).toBe(402);
      expect(res.body.error).toMatchObject({ type: 'card_error', code: 'invalid_expiry_year', param: 'card[exp_year]' });
    }
    const after = (await t.call({ method: 'GET', url: `/v1/payment_methods/${pm.id}` })).body;
    expect(after.card.exp_year).toBe(2027);
    const ok = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}`, payload: { card: { exp_year: 2076 } } });
    expect(ok.body.card.exp_year).toBe(2076);
  });
});

describe('card[token]: Stripe test card tokens', () => {
  it('maps every pm_card_ test id to a tok_ of the same name', () => {
    expect(TEST_CARD_TOKENS).toMatchObject({ tok_jcb: '3566002020360505', tok_diners: '3056930009020004', tok_us: '4000008400001629', tok_visa: '4242424242424242', tok_mastercard: '5555555555554444', tok_chargeDeclined: '4000000000000002' });
    expect(Object.keys(TEST_CARD_TOKENS)).toHaveLength(88);
  });

  it('creates an unattached card from tok_visa (JSON and form-encoded), expiring a year from now', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_visa' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ object: 'payment_method', type: 'card', customer: null, card: { brand: 'visa', last4: '4242', exp_month: 1, exp_year: 2027 } });
    const viaForm = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: 'type=card&card[token]=tok_mastercard', headers: form });
    expect(viaForm.status).toBe(200);
    expect(viaForm.body.card).toMatchObject({ brand: 'mastercard', last4: '4444' });
  });

  it('a decline token makes a card that declines when charged', async () => {
    const cus = await t.customer({});
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_chargeDeclined' } } })).body;
    expect(pm.card.last4).toBe('0002');
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}/attach`, payload: { customer: cus } });
    const pi = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { customer: cus, amount: 1000, currency: 'usd', payment_method: pm.id, confirm: true } });
    expect(pi.status).toBe(402);
    expect(pi.body.error.code).toBe('card_declined');
  });

  it('an unknown token is a 400 on card[token]; a token with card details or no card details at all is refused by name', async () => {
    const before = await pmCount();
    const unknown = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_nope' } } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'card[token]' });
    const both = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_visa', number: '4242424242424242' } } });
    expect(both.status).toBe(400);
    expect(both.body.error.param).toBe('card[number]');
    const missing = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { exp_month: 12, exp_year: 2030 } } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'card[number]' });
    expect(await pmCount()).toBe(before);
  });
});
