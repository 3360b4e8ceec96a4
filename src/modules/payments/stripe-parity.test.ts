import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// Payment methods and intents where an integration follows Stripe's testing docs and list params:
// the pm_card_visa_chargeDeclined* test ids, a CVC of the wrong length as a card error, and the
// created filter of GET /v1/payment_intents (PaymentIntentListParams.created). The decline codes of
// every test card are in payment-intents.test.ts.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('Stripe test payment methods', () => {
  it.each([
    ['pm_card_visa_chargeDeclined', '0002'],
    ['pm_card_visa_chargeDeclinedInsufficientFunds', '9995'],
    ['pm_card_visa_chargeDeclinedLostCard', '9987'],
    ['pm_card_visa_chargeDeclinedStolenCard', '9979'],
  ])('%s attaches as the Visa ending %s', async (testPm, last4) => {
    const customer = await t.customer();
    const res = await t.call({ method: 'POST', url: `/v1/payment_methods/${testPm}/attach`, payload: { customer } });
    expect([res.status, res.body.card?.brand, res.body.card?.last4, res.body.customer]).toEqual([200, 'visa', last4, customer]);
  });

  it('pm_card_visa_chargeDeclinedInsufficientFunds declines card_declined / insufficient_funds', async () => {
    const customer = await t.customer({ card: 'pm_card_visa_chargeDeclinedInsufficientFunds' });
    const pm = (await t.call({ method: 'GET', url: `/v1/customers/${customer}` })).body.invoice_settings.default_payment_method as string;
    const res = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 2900, currency: 'usd', customer, payment_method: pm, confirm: true } });
    expect([res.status, res.body.error.type, res.body.error.code, res.body.error.decline_code]).toEqual([402, 'card_error', 'card_declined', 'insufficient_funds']);
  });

  it('a CVC of the wrong length is a 402 invalid_cvc card error on card[cvc], not a parameter error', async () => {
    for (const cvc of ['12', '12345']) {
      const res = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc } } });
      expect([cvc, res.status, res.body.error.type, res.body.error.code, res.body.error.param]).toEqual([cvc, 402, 'card_error', 'invalid_cvc', 'card[cvc]']);
    }
  });
});

describe('GET /v1/payment_intents?created', () => {
  it('filters by created (gte, gt, an exact second), as Stripe', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const pm = (await t.call({ method: 'GET', url: `/v1/customers/${customer}` })).body.invoice_settings.default_payment_method as string;
    const made = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 700, currency: 'usd', customer, payment_method: pm, confirm: true } });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const created = made.body.created as number;
    const ids = async (filter: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${customer}&${filter}` });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.data.map((p: { id: string }) => p.id);
    };
    expect(await ids(`created[gte]=${created}`)).toEqual([made.body.id]);
    expect(await ids(`created[gt]=${created}`)).toEqual([]);
    expect(await ids(`created=${created}`)).toEqual([made.body.id]);
    expect(await ids(`created[lt]=${created}`)).toEqual([]);
    const bad = await t.call({ method: 'GET', url: `/v1/payment_intents?created[after]=1` });
    expect([bad.status, bad.body.error.param]).toEqual([400, 'created[after]']);
  });
});
