import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import type { BillingApp } from './states-support.js';

// payment_behavior=default_incomplete: Stripe creates the first invoice open with a PaymentIntent the
// client confirms; no automatic payment attempt is made, and unpaid after 23 hours the subscription
// becomes incomplete_expired. Recur finalizes it with no next_payment_attempt: the worker does not charge
// the default card by itself.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('payment_behavior=default_incomplete', () => {
  it('makes no automatic payment attempt on the first invoice', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const res = await t.call({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', payment_behavior: 'default_incomplete' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('incomplete');
    await t.advance(clock, '2026-02-01T00:05:00Z');
    const pis = (await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${customer}` })).body.data as { status: string }[];
    expect({ status: (await t.sub(res.body.id)).status, paymentIntents: pis.map((p) => p.status) }).toEqual({ status: 'incomplete', paymentIntents: [] });
  });
});
