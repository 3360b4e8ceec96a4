import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, invTuple, iso, subscribe, unix, type BillingApp } from './support.js';

// Payment failures: a card that fails on renewal (past_due, open invoice, failed payment intent), and
// a declined first payment (incomplete, then incomplete_expired 23 hours later with the invoice void).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('a card that fails on renewal', () => {
  it('leaves the subscription past_due, the invoice open and the payment intent requiring a payment method', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    expect(sub.status).toBe('active');

    // Before the renewal the customer's default becomes a card that attaches fine but fails every charge.
    await t.advance(clock, '2026-02-20T00:00:00Z');
    const failing = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_chargeCustomerFail/attach', payload: { customer } });
    expect(failing.status, JSON.stringify(failing.body)).toBe(200);
    const visa = (await get(t, `/v1/customers/${customer}`)).invoice_settings.default_payment_method;
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: failing.body.id } } });

    await t.advance(clock, '2026-03-01T02:00:00Z');
    const after = await t.sub(sub.id);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 'subscription_create'],
      ['open', 9700, 0, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_cycle'],
    ]);
    const renewal = invs[1]!;
    expect([after.status, after.latest_invoice]).toEqual(['past_due', renewal.id]);
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${renewal.id}` })).body;
    expect([inv.amount_due, inv.amount_remaining, inv.attempt_count, inv.next_payment_attempt]).toEqual([9700, 9700, 1, null]);

    const pis = (await get(t, `/v1/payment_intents?invoice=${renewal.id}`)).data;
    expect(pis).toHaveLength(1);
    expect([pis[0].status, pis[0].amount, pis[0].payment_method, pis[0].last_payment_error.type, pis[0].last_payment_error.code, pis[0].last_payment_error.decline_code]).toEqual([
      'requires_payment_method',
      9700,
      failing.body.id,
      'card_error',
      'card_declined',
      'generic_decline',
    ]);
    // Finalized one hour after the period began (01:00), attempted at once.
    expect((await events(t, customer, 'invoice.payment_failed')).map((e) => e.created)).toEqual([unix('2026-03-01T01:00:00Z')]);
    const toPastDue = (await events(t, customer, 'customer.subscription.updated')).filter((e) => e.data.object.status === 'past_due');
    expect(toPastDue.map((e) => e.created)).toEqual([unix('2026-03-01T01:00:00Z')]);

    // Paying with the good card recovers the subscription.
    const paid = await t.call({ method: 'POST', url: `/v1/invoices/${renewal.id}/pay`, payload: { payment_method: visa } });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect([paid.body.status, paid.body.amount_paid, paid.body.attempt_count]).toEqual(['paid', 9700, 2]);
    // The invoice lives on the test clock: it is paid at the clock's time, not the server's.
    expect(paid.body.status_transitions.paid_at).toBe(unix('2026-03-01T02:00:00Z'));
    expect((await t.sub(sub.id)).status).toBe('active');
  });
});

describe('an incomplete first payment', () => {
  it('stays incomplete for 23 hours, then expires and voids its invoice (which keeps its number)', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', default_payment_method: 'pm_card_chargeDeclined' });
    expect(sub.status).toBe('incomplete');
    const [first] = await t.invoices(sub.id);
    expect(invTuple(first!)).toEqual(['open', 9700, 0, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_create']);
    expect(sub.latest_invoice).toBe(first!.id);
    const number = first!.number;
    expect(number).toMatch(/^RECUR-\d{4}$/);
    const [pi] = (await get(t, `/v1/payment_intents?invoice=${first!.id}`)).data;
    expect([pi.status, pi.last_payment_error.code, pi.last_payment_error.decline_code]).toEqual(['requires_payment_method', 'card_declined', 'generic_decline']);

    // 23 h = 82,800 s after creation: Mar 1 23:00.
    await t.advance(clock, '2026-03-01T22:59:59Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete');
    await t.advance(clock, '2026-03-02T00:00:00Z');
    const expired = await t.sub(sub.id);
    expect([expired.status, iso(expired.ended_at)]).toEqual(['incomplete_expired', '2026-03-01T23:00:00Z']);
    const voided = (await t.invoices(sub.id))[0]!;
    expect([voided.status, voided.number, voided.amount_due, voided.amount_paid]).toEqual(['void', number, 9700, 0]);
    expect((await events(t, customer, 'customer.subscription.deleted')).map((e) => e.created)).toEqual([unix('2026-03-01T23:00:00Z')]);
    expect((await events(t, customer, 'invoice.voided')).map((e) => e.created)).toEqual([unix('2026-03-01T23:00:00Z')]);

    // Nothing renews afterwards, and an expired subscription cannot be updated.
    await t.advance(clock, '2026-04-02T00:00:00Z');
    expect(await t.invoices(sub.id)).toHaveLength(1);
    const upd = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { metadata: { a: 'b' } } });
    expect(upd.status).toBe(400);
  });
});

describe('a voided invoice that used customer credit', () => {
  it('gives the credit back, so a later invoice can use it', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const credited = await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { balance: -100_000 } });
    expect(credited.body.balance).toBe(-100_000);

    // Elite monthly, 500,000: the credit covers 100,000 and the declined card the rest (400,000).
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('elite_monthly') }], trial_end: 'now', default_payment_method: 'pm_card_chargeDeclined' });
    expect(sub.status).toBe('incomplete');
    const first = (await t.call({ method: 'GET', url: `/v1/invoices/${sub.latest_invoice}` })).body;
    expect([first.status, first.total, first.starting_balance, first.ending_balance, first.amount_due]).toEqual(['open', 500_000, -100_000, 0, 400_000]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);

    // 23 h later the subscription expires and its invoice is voided: the 100,000 credit returns.
    await t.advance(clock, '2026-04-02T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete_expired');
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${sub.latest_invoice}` })).body.status).toBe('void');
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-100_000);

    // A community subscription (9,700) is then paid from it: −100,000 + 9,700 = −90,300 left.
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.body.id } } });
    const community = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${community.latest_invoice}` })).body;
    expect([community.status, inv.status, inv.amount_due, inv.amount_paid, inv.starting_balance, inv.ending_balance]).toEqual(['active', 'paid', 0, 0, -100_000, -90_300]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-90_300);
  });
});
