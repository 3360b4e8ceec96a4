import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, subscribe, type BillingApp } from './support.js';

// The upcoming invoice applies the customer's credit to amount_due (and amount_remaining) as the invoice
// that will be made does (it used to show the full total). ending_balance stays null until finalization,
// as Stripe's preview.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('GET /v1/invoices/upcoming with a customer credit balance', () => {
  it('applies the credit to amount_due, as the real renewal does', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const set = await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { balance: -5_000 } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);

    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, up.starting_balance]).toEqual([9_700, -5_000]);

    await t.advance(clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    const renewal = await get(t, `/v1/invoices/${invs[1]!.id}`);
    // The real renewal: 9,700 − 5,000 credit = 4,700 due, ending balance 0.
    expect([renewal.total, renewal.starting_balance, renewal.ending_balance, renewal.amount_due]).toEqual([9_700, -5_000, 0, 4_700]);
    // The preview said amount_due 9,700 (Stripe: amount_due takes the starting_balance into account → 4,700).
    expect([up.amount_due, up.amount_remaining]).toEqual([4_700, 4_700]);
  });
});
