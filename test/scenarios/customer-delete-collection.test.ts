import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDunningApp, iso, unix, type DunningApp } from './dunning-support.js';

// Nothing is collected from a deleted customer (ADR 0002): invoices outside their subscriptions stop
// collecting, their cards are detached (Stripe: "Deleting customers removes all credit card details"),
// and a dunning campaign closes at its next step without retrying or writing to them.

let t: DunningApp;
beforeAll(async () => {
  t = await createDunningApp('2026-01-05T15:00:00Z');
});
afterAll(() => t.close());

async function oneOffInvoice(customer: string, amount: number) {
  await t.ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, amount, currency: 'usd', description: 'Course: Pricing Mastery' } });
  return t.ok({ method: 'POST', url: '/v1/invoices', payload: { customer, auto_advance: true, pending_invoice_items_behavior: 'include' } });
}

const intentsOf = async (customer: string) => (await t.testDb.db.query<{ status: string }>(`SELECT status FROM payment_intents WHERE customer = $1 ORDER BY created, id`, [customer])).rows.map((r) => r.status);

describe('deleting a customer stops collecting from them', () => {
  it('leaves a one-off draft unfinalized and uncharged, and detaches the cards', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa', email: 'lee@example.com' });
    const card = (await t.ok({ method: 'GET', url: `/v1/customers/${customer}` })).invoice_settings.default_payment_method as string;
    const spare = (await t.ok({ method: 'POST', url: '/v1/payment_methods/pm_card_mastercard/attach', payload: { customer } })).id as string;
    const draft = await oneOffInvoice(customer, 49_700);
    // Without the deletion this draft finalizes at 16:00 and the Visa pays it.
    expect([draft.status, draft.auto_advance, draft.automatically_finalizes_at]).toEqual(['draft', true, unix('2026-01-05T16:00:00Z')]);

    expect((await t.call({ method: 'DELETE', url: `/v1/customers/${customer}` })).status).toBe(200);
    await t.advance(clock, '2026-01-12T15:00:00Z');

    const after = await t.ok({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    expect([after.status, after.auto_advance, after.automatically_finalizes_at, after.amount_paid]).toEqual(['draft', false, null, 0]);
    expect(await intentsOf(customer)).toEqual([]);
    for (const id of [card, spare]) {
      const pm = await t.ok({ method: 'GET', url: `/v1/payment_methods/${id}` });
      expect([pm.id, pm.customer]).toEqual([id, null]);
    }
    // A detached card cannot pay the invoice by hand either.
    const byHand = await t.call({ method: 'POST', url: `/v1/invoices/${draft.id}/pay`, payload: { payment_method: card } });
    expect(byHand.status).toBe(400);

    const types = (await t.ok({ method: 'GET', url: `/v1/events?customer=${customer}&limit=100` })).data.map((e: { type: string }) => e.type);
    // Newest first: the invoice stops collecting, the cards go (the default with its customer.updated), then customer.deleted.
    expect(types.slice(0, 5)).toEqual(['customer.deleted', 'payment_method.detached', 'customer.updated', 'payment_method.detached', 'invoice.updated']);
    const updated = (await t.ok({ method: 'GET', url: `/v1/events?customer=${customer}&type=invoice.updated` })).data[0];
    expect([updated.data.object.id, updated.data.object.auto_advance, updated.data.previous_attributes.auto_advance]).toEqual([draft.id, false, true]);
    // Money the customer sent another way can still be recorded; no payment intent, no charge.
    const outOfBand = await t.ok({ method: 'POST', url: `/v1/invoices/${draft.id}/pay`, payload: { paid_out_of_band: true } });
    expect([outOfBand.status, outOfBand.paid_out_of_band, outOfBand.amount_paid]).toEqual(['paid', true, 49_700]);
    expect(await intentsOf(customer)).toEqual([]);
  });

  it('stops retrying an open invoice and closes its dunning campaign without another message', async () => {
    const clock = await t.clockAt('2026-01-05T15:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail', email: 'kim@example.com', phone: '+14155550123' });
    const draft = await oneOffInvoice(customer, 29_700);
    await t.advance(clock, '2026-01-05T16:00:00Z');
    const open = await t.ok({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    expect([open.status, open.attempt_count]).toEqual(['open', 1]);
    // With a dunning plan, the campaign holds the retries (its first step an hour later), not the invoice.
    const campaign = await t.campaignOf(draft.id);
    expect([open.next_payment_attempt, campaign.status, iso(campaign.next_step_at)]).toEqual([null, 'active', '2026-01-05T17:00:00Z']);
    const messagesBefore = (await t.messages(customer)).length;

    expect((await t.call({ method: 'DELETE', url: `/v1/customers/${customer}` })).status).toBe(200);
    await t.advance(clock, '2026-01-26T15:00:00Z');

    const after = await t.ok({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    expect([after.status, after.attempt_count, after.next_payment_attempt, after.auto_advance]).toEqual(['open', 1, null, false]);
    expect(await intentsOf(customer)).toEqual(['requires_payment_method']);
    const closed = await t.campaignOf(draft.id);
    expect([closed.status, closed.close_reason]).toEqual(['canceled', 'customer_deleted']);
    expect(iso(closed.closed_at)).toBe('2026-01-05T17:00:00Z');
    expect((await t.messages(customer)).length).toBe(messagesBefore);
  });
});
