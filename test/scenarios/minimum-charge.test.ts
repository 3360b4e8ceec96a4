import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';

// A coupon can leave an invoice with less than the smallest chargeable amount (USD 0.50 on Stripe).
// As Stripe, the invoice is paid without a charge and the amount due is carried to the customer's
// balance (an invoice_too_small transaction), which the next invoice collects.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('an invoice below the minimum charge after a discount', () => {
  it('is paid without a charge, the amount carried to the customer balance', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 99.5, duration: 'once' } })).body.id;
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${sub.body.latest_invoice}` })).body;
    // 9,700 × 99.5 % = 9,651.5 → 9,652 off → total 48.
    expect([inv.subtotal, inv.total, inv.status]).toEqual([9_700, 48, 'paid']);
    const { rows } = await t.testDb.db.query<{ amount: number }>(`SELECT amount FROM payment_intents WHERE invoice = $1`, [inv.id]);
    // No payment intent, amount_paid 0, the customer owes 48 on the balance.
    expect(rows.map((r) => Number(r.amount))).toEqual([]);
    // amount_due 0 (Stripe: "may be 0" below the minimum charge): due = total + starting − ending = 48 + 0 − 48.
    expect([inv.amount_due, inv.amount_paid, inv.amount_remaining, inv.starting_balance, inv.ending_balance]).toEqual([0, 0, 0, 0, 48]);
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}` })).body.balance).toBe(48);
    const txs = (await t.call({ method: 'GET', url: `/v1/customers/${cus}/balance_transactions` })).body.data;
    expect(txs.map((x: { type: string; amount: number; ending_balance: number; invoice: string }) => [x.type, x.amount, x.ending_balance, x.invoice])).toEqual([['invoice_too_small', 48, 48, inv.id]]);
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.body.id}` })).body.status).toBe('active');

    // The next invoice (a 2,500 item) collects the 48 with it: 2,548 charged.
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 2500, currency: 'usd', description: 'Workbook' } });
    const draft = (await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus } })).body;
    const open = (await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/finalize`, payload: { auto_advance: false } })).body;
    expect([open.total, open.starting_balance, open.amount_due, open.ending_balance]).toEqual([2500, 48, 2548, 0]);
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay`, payload: {} });
    expect([paid.status, paid.body.status, paid.body.amount_paid]).toEqual([200, 'paid', 2548]);
  });
});
