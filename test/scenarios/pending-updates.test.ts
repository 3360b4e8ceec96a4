import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { advanceTo, communityOnClock, errorOf, events, get, iso, lineTuple, ok, type BillingApp, type Inv } from './support.js';

// Stripe's pending updates (payment_behavior=pending_if_incomplete): an upgrade is applied only once its
// invoice is paid. Community (9,700 a month) from Jan 1 2026; the upgrade to Group (150,000) on Jan 16
// with always_invoice bills the 16 days left of 31: −9,700 × 16/31 = −5,006.45 → −5,006 and
// +150,000 × 16/31 = 77,419.35 → 77,419; total 72,413.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const UPGRADE_LINES = [
  ['Unused time on Community Access after Jan 16, 2026', -5006, '2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z', true],
  ['Remaining time on Group Coaching Programs after Jan 16, 2026', 77419, '2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z', true],
];

/** Community on a clock, then on Jan 16 a card that declines every charge as the customer's default. */
async function communityWithFailingCardOnJan16() {
  const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
  await advanceTo(t, clock, '2026-01-16T00:00:00Z');
  const failing = await ok(t, 'POST', '/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
  await ok(t, 'POST', `/v1/customers/${customer}`, { invoice_settings: { default_payment_method: failing.id } });
  return { clock, customer, sub };
}

const upgrade = async (sub: { id: string; items: { data: { id: string }[] } }, extra: Record<string, unknown> = {}) =>
  t.call({
    method: 'POST',
    url: `/v1/subscriptions/${sub.id}`,
    payload: { items: [{ id: sub.items.data[0]!.id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice', payment_behavior: 'pending_if_incomplete', ...extra },
  });

const prices = (s: { items: { data: { price: { lookup_key: string }; quantity: number }[] } }) => s.items.data.map((i) => [i.price.lookup_key, i.quantity]);

describe('pending updates', () => {
  it('applies the upgrade at once when its invoice is paid, with one customer.subscription.updated', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    await advanceTo(t, clock, '2026-01-16T00:00:00Z');
    const res = await upgrade(sub);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(prices(res.body)).toEqual([['group_monthly', 1]]);
    expect(res.body.pending_update).toBeNull();
    const inv: Inv = await get(t, `/v1/invoices/${res.body.latest_invoice}`);
    expect([inv.status, inv.total, inv.amount_paid]).toEqual(['paid', 72413, 72413]);
    expect(inv.lines.data.map(lineTuple)).toEqual(UPGRADE_LINES);
    const updated = await events(t, customer, 'customer.subscription.updated');
    const last = updated[updated.length - 1]!;
    expect(Object.keys(last.data.previous_attributes).sort()).toEqual(['items', 'latest_invoice']);
    expect(prices(last.data.object)).toEqual([['group_monthly', 1]]);
  });

  it('keeps the old items when the charge fails, shows pending_update, and applies it when the invoice is paid later', async () => {
    const { customer, sub } = await communityWithFailingCardOnJan16();
    const res = await upgrade(sub);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Nothing changed but the pending update and the latest invoice; the status stays active.
    expect([res.body.status, prices(res.body)]).toEqual(['active', [['community_monthly', 1]]]);
    const pendingInvoice = res.body.latest_invoice as string;
    expect(res.body.pending_update).toMatchObject({ billing_cycle_anchor: null, trial_end: null, trial_from_plan: null, expires_at: Date.parse('2026-01-16T23:00:00Z') / 1000 });
    expect(res.body.pending_update.subscription_items.map((i: { price: { lookup_key: string }; quantity: number }) => [i.price.lookup_key, i.quantity])).toEqual([['group_monthly', 1]]);
    const inv: Inv = await get(t, `/v1/invoices/${pendingInvoice}`);
    expect([inv.status, inv.total, inv.amount_paid, inv.lines.data.map(lineTuple)]).toEqual(['open', 72413, 0, UPGRADE_LINES]);
    const updated = await events(t, customer, 'customer.subscription.updated');
    expect(Object.keys(updated[updated.length - 1]!.data.previous_attributes).sort()).toEqual(['latest_invoice', 'pending_update']);
    expect(await get(t, `/v1/subscriptions/${sub.id}`)).toMatchObject({ status: 'active', pending_update: { expires_at: Date.parse('2026-01-16T23:00:00Z') / 1000 } });

    // Another item change waits until this one is settled.
    const again = await upgrade(sub);
    expect(errorOf(again)).toEqual([400, 'subscription_pending_update', 'items']);

    // The customer fixes the card and the invoice is paid: the upgrade applies now.
    const visa = await ok(t, 'POST', '/v1/payment_methods/pm_card_visa/attach', { customer });
    const paid = await ok(t, 'POST', `/v1/invoices/${pendingInvoice}/pay`, { payment_method: visa.id });
    expect([paid.status, paid.amount_paid]).toEqual(['paid', 72413]);
    const after = await get(t, `/v1/subscriptions/${sub.id}`);
    expect([after.status, after.pending_update, prices(after), after.latest_invoice]).toEqual(['active', null, [['group_monthly', 1]], pendingInvoice]);
    const applied = await events(t, customer, 'customer.subscription.pending_update_applied');
    expect(applied.map((e) => prices(e.data.object))).toEqual([[['group_monthly', 1]]]);
    expect(applied[0]!.data.previous_attributes.pending_update.subscription_items).toHaveLength(1);
  });

  it('ending a trial now as a pending update sends trial_will_end only when its invoice is paid and the trial ends', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 30 });
    await advanceTo(t, clock, '2026-01-10T00:00:00Z');
    const res = await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { trial_end: 'now', payment_behavior: 'pending_if_incomplete' });
    expect([res.status, res.trial_end, res.pending_update?.trial_end]).toEqual(['trialing', Date.parse('2026-01-31T00:00:00Z') / 1000, Date.parse('2026-01-10T00:00:00Z') / 1000]);
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toEqual([]);
    const visa = await ok(t, 'POST', '/v1/payment_methods/pm_card_visa/attach', { customer });
    await ok(t, 'POST', `/v1/invoices/${res.latest_invoice}/pay`, { payment_method: visa.id });
    const after = await get(t, `/v1/subscriptions/${sub.id}`);
    expect([after.status, after.trial_end]).toEqual(['active', Date.parse('2026-01-10T00:00:00Z') / 1000]);
    const notices = await events(t, customer, 'customer.subscription.trial_will_end');
    expect(notices.map((e) => [e.data.object.status, iso(e.created)])).toEqual([['trialing', '2026-01-10T00:00:00Z']]);
    // Written once: the worker's own notice (3 days before the old end) is not sent again.
    await advanceTo(t, clock, '2026-01-29T00:00:00Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);
  });

  it('voids the invoice and discards the update when it expires unpaid; the next renewal bills the old plan', async () => {
    const { clock, customer, sub } = await communityWithFailingCardOnJan16();
    // With the course as add_invoice_items: on the pending invoice (72,413 + 99,700), voided with it.
    const res = await upgrade(sub, { add_invoice_items: [{ price: await t.priceId('course_onetime') }] });
    const pendingInvoice = res.body.latest_invoice as string;
    expect([(await get(t, `/v1/invoices/${pendingInvoice}`)).total, res.body.pending_update?.expires_at]).toEqual([172_113, Date.parse('2026-01-16T23:00:00Z') / 1000]);
    await advanceTo(t, clock, '2026-01-16T23:00:00Z');
    expect((await get(t, `/v1/invoices/${pendingInvoice}`)).status).toBe('void');
    const after = await get(t, `/v1/subscriptions/${sub.id}`);
    expect([after.status, after.pending_update, prices(after)]).toEqual(['active', null, [['community_monthly', 1]]]);
    const expired = await events(t, customer, 'customer.subscription.pending_update_expired');
    expect(expired.map((e) => [e.created, e.data.object.pending_update])).toEqual([[Date.parse('2026-01-16T23:00:00Z') / 1000, null]]);
    // Feb 1: Community renews as if no update had been asked for (paid with a good card again).
    const visa = await ok(t, 'POST', '/v1/payment_methods/pm_card_visa/attach', { customer });
    await ok(t, 'POST', `/v1/customers/${customer}`, { invoice_settings: { default_payment_method: visa.id } });
    await advanceTo(t, clock, '2026-02-01T01:00:00Z');
    const renewal: Inv = await get(t, `/v1/invoices/${(await get(t, `/v1/subscriptions/${sub.id}`)).latest_invoice}`);
    expect([renewal.status, renewal.total, renewal.billing_reason, iso(renewal.period_start)]).toEqual(['paid', 9700, 'subscription_cycle', '2026-02-01T00:00:00Z']);
  });

  it('discards the update when its invoice is voided, or when the subscription is canceled', async () => {
    const first = await communityWithFailingCardOnJan16();
    const res = await upgrade(first.sub);
    await ok(t, 'POST', `/v1/invoices/${res.body.latest_invoice}/void`);
    expect(await get(t, `/v1/subscriptions/${first.sub.id}`)).toMatchObject({ pending_update: null, status: 'active' });

    const second = await communityWithFailingCardOnJan16();
    const res2 = await upgrade(second.sub);
    const canceled = await ok(t, 'DELETE', `/v1/subscriptions/${second.sub.id}`);
    expect([canceled.status, canceled.pending_update, prices(canceled)]).toEqual(['canceled', null, [['community_monthly', 1]]]);
    expect((await get(t, `/v1/invoices/${res2.body.latest_invoice}`)).status).toBe('void');
    // The .deleted event is the subscription's last.
    const types = (await get(t, `/v1/events?customer=${second.customer}&limit=100`)).data.map((e: { type: string }) => e.type);
    expect(types.filter((ty: string) => ty.startsWith('customer.subscription.'))[0]).toBe('customer.subscription.deleted');
  });

  it('applies a change without an invoice now at once, and refuses what a pending update cannot carry', async () => {
    const { sub } = await communityWithFailingCardOnJan16();
    // create_prorations: nothing to pay now, so the change applies (the prorations wait for Feb 1).
    const plain = await upgrade(sub, { proration_behavior: 'create_prorations' });
    expect(plain.status, JSON.stringify(plain.body)).toBe(200);
    expect([prices(plain.body), plain.body.pending_update]).toEqual([[['group_monthly', 1]], null]);

    expect(errorOf(await upgrade(sub, { metadata: { a: 'b' } }))).toEqual([400, 'parameter_invalid', 'metadata']);
    const withItemMetadata = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      payload: { items: [{ id: plain.body.items.data[0].id, quantity: 2, metadata: { x: 'y' } }], payment_behavior: 'pending_if_incomplete' },
    });
    expect(errorOf(withItemMetadata)).toEqual([400, 'parameter_invalid', 'items[0][metadata]']);

    const invoiced = await communityOnClock(t, '2026-01-01T00:00:00Z', { collection_method: 'send_invoice', days_until_due: 30 });
    expect(errorOf(await upgrade(invoiced.sub))).toEqual([400, 'parameter_invalid', 'payment_behavior']);
  });
});
