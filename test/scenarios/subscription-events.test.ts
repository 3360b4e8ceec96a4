import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../helpers/billing.js';
import { chainProblems } from './event-chain-support.js';
import { eventsOf, postOk, type BillingApp } from './states-support.js';

// customer.subscription.* events: each event's previous_attributes names exactly the top-level fields
// that changed since the event before it (with their old values), no change to the object happens
// without an event, and an update that changes nothing writes none.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);

async function typesFor(customer: string, since: number) {
  const res = await t.call({ method: 'GET', url: `/v1/events?customer=${customer}&limit=100&created[gte]=${since}` });
  return (res.body.data as { type: string }[]).map((e) => e.type).reverse();
}

const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});

describe('subscription event chain', () => {
  it('trial with a card: the created event and what follows chain', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    expect(sub.status).toBe('trialing');
    const created = (await eventsOf(t, sub.id, 'customer.subscription.created'))[0]!;
    // The response (and Stripe's created event) carry the first invoice.
    expect(created.data.object.latest_invoice).toBe(sub.latest_invoice);
  });

  it('plain renewals: previous_attributes names the items whose periods moved', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    expect(sub.status).toBe('active');
    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });

  it('cancel_at_period_end, undo, and pause_collection', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: false });
    await post(`/v1/subscriptions/${sub.id}`, { pause_collection: { behavior: 'void' } });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    await post(`/v1/subscriptions/${sub.id}`, { pause_collection: '' });
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(200);
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });

  it('trial end without a payment method → paused, then resumed', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await post('/v1/subscriptions', {
      customer,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_period_days: 7,
      trial_settings: { end_behavior: { missing_payment_method: 'pause' } },
    });
    await t.advance(clock, '2026-02-08T01:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('paused');
    const pm = await post('/v1/payment_methods/pm_card_visa/attach', { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm.id } });
    const resumed = await post(`/v1/subscriptions/${sub.id}/resume`, {});
    expect(resumed.status).toBe('active');
    const ev = (await eventsOf(t, sub.id, 'customer.subscription.resumed'))[0]!;
    expect(ev.data.object.latest_invoice).toBe(resumed.latest_invoice);
    expect(ev.data.previous_attributes).toHaveProperty('latest_invoice');
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });
});

// transition() (state.ts) serialises the "before" object from the database, but updateSubscription
// has already replaced the items (and redeemed the coupon) by then, so previous_attributes misses
// `items` / `discounts` on exactly the updates that change them.

describe('previous_attributes on an item change', () => {
  it('names items with the old price', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: group }], trial_end: 'now' });
    await t.advance(clock, '2026-02-10T00:00:00Z');
    await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: await t.priceId('elite_monthly') }] });
    const updated = await eventsOf(t, sub.id, 'customer.subscription.updated');
    const last = updated[updated.length - 1]!;
    const prevItems = last.data.previous_attributes?.items as { data: { price: { id: string } }[] } | undefined;
    expect(prevItems?.data.map((i) => i.price.id)).toEqual([group]);
  });

  it('names discounts when a coupon is applied', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'forever' });
    await post(`/v1/subscriptions/${sub.id}`, { coupon: coupon.id });
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });

  it('a plain renewal past the end of a repeating coupon drops it from discounts', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'repeating', duration_in_months: 1 });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', coupon: coupon.id });
    expect(sub.discounts).toHaveLength(1);
    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect((await t.sub(sub.id)).discounts).toEqual([]);
    const updated = await eventsOf(t, sub.id, 'customer.subscription.updated');
    expect(updated[updated.length - 1]!.data.previous_attributes?.discounts).toEqual(sub.discounts);
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });

  it('a scheduled change applied at the period end names items', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('elite_monthly') }], trial_end: 'now' });
    await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], schedule_at_period_end: true });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });
});

describe('event counts', () => {
  it('a successful renewal: each event once, status_transitions set', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const types = count(await typesFor(customer, unix('2026-03-01T00:00:00Z')));
    expect(types).toMatchObject({
      'invoice.created': 1,
      'invoice.finalized': 1,
      'invoice.paid': 1,
      'invoice.payment_succeeded': 1,
      'payment_intent.succeeded': 1,
      'customer.subscription.updated': 1,
    });
    const inv = (await t.invoices(sub.id))[1]!;
    const full = (await t.call({ method: 'GET', url: `/v1/invoices/${inv.id}` })).body;
    expect(full.status_transitions).toMatchObject({ finalized_at: unix('2026-03-01T01:00:00Z'), paid_at: unix('2026-03-01T01:00:00Z') });
  });

  it('a failed renewal: each event once', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const bad = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: bad.id } });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const types = count(await typesFor(customer, unix('2026-03-01T00:00:00Z')));
    expect(types).toMatchObject({
      'invoice.created': 1,
      'invoice.finalized': 1,
      'invoice.payment_failed': 1,
      'payment_intent.payment_failed': 1,
      'customer.subscription.updated': 2,
    });
  });

  it('an update that changes nothing writes no customer.subscription.updated with empty previous_attributes', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await post(`/v1/subscriptions/${sub.id}`, { metadata: {} });
    await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: false });
    const updated = await eventsOf(t, sub.id, 'customer.subscription.updated');
    expect(updated.map((e) => Object.keys(e.data.previous_attributes ?? {}))).not.toContainEqual([]);
    // Only the first payment's incomplete → active.
    expect(updated.length).toBe(1);
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });
});

describe('incomplete → incomplete_expired', () => {
  it('expires after 23 hours, voids the first invoice, and every change has its event', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const sub = res.body;
    expect(sub.status).toBe('incomplete');
    expect(sub.latest_invoice).toMatch(/^in_/);

    await t.advance(clock, '2026-02-01T22:59:00Z');
    expect((await t.sub(sub.id)).status).toBe('incomplete');
    await t.advance(clock, '2026-02-01T23:01:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.ended_at)]).toEqual(['incomplete_expired', '2026-02-01T23:00:00Z']);
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${sub.latest_invoice}` })).body;
    expect([inv.status, inv.status_transitions.voided_at && iso(inv.status_transitions.voided_at)]).toEqual(['void', '2026-02-01T23:00:00Z']);
    expect((await eventsOf(t, inv.id, 'invoice.voided')).length).toBe(1);

    expect(await chainProblems(t, sub.id)).toEqual([]);
  });
});
