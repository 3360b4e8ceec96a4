import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';

// A pending invoice item in another currency than the subscription (made while the customer had no
// currency yet) stays out of the subscription's invoices: an invoice has one currency.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

describe('pending items in another currency', () => {
  it('stay out of a renewal invoice in a different currency', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 5000, currency: 'eur', description: 'EUR setup' } });
    expect(item.status, JSON.stringify(item.body)).toBe(200);
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }] } });
    expect(sub.status, JSON.stringify(sub.body)).toBe(200);
    expect(sub.body.currency).toBe('usd');
    await t.advance(clock, '2026-03-01T00:00:00Z');
    const invoices = await t.invoices(sub.body.id);
    const cycle = invoices.find((i) => i.billing_reason === 'subscription_cycle')!;
    // It was billed as 50.00 USD on the USD renewal (total 14,700); now it waits for an invoice in euros.
    expect(cycle.lines.data.map((l) => l.description)).not.toContain('EUR setup');
    expect(cycle.total).toBe(9700);
    const stillPending = await t.call({ method: 'GET', url: `/v1/invoiceitems/${item.body.id}` });
    expect([stillPending.body.invoice, stillPending.body.currency, stillPending.body.amount]).toEqual([null, 'eur', 5000]);
  });
});
