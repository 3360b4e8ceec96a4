import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { eventsOf, postOk, type BillingApp } from './states-support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown> = {}) => postOk(t, url, payload);

/** An active monthly subscription (paid with a good card) whose default card then becomes a failing one. */
async function activeThenFailingCard(start: string, price = 'community_monthly') {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId(price) }], trial_end: 'now' });
  expect(sub.status).toBe('active');
  const bad = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
  await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: bad.id } });
  return { clock, customer, sub };
}

describe('trial_end=now', () => {
  it('writes customer.subscription.trial_will_end (Stripe: "or when a trial is ended immediately")', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }] });
    expect(sub.status).toBe('trialing');
    await t.advance(clock, '2026-02-05T00:00:00Z');
    const ended = await post(`/v1/subscriptions/${sub.id}`, { trial_end: 'now' });
    expect(ended.status).toBe('active');
    expect((await eventsOf(t, sub.id, 'customer.subscription.trial_will_end')).length).toBe(1);
  });
});

describe('incomplete subscription', () => {
  it('refuses item changes (Stripe: only metadata and default payment method can be updated)', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('elite_monthly') }], trial_end: 'now' });
    expect(sub.status).toBe('incomplete');
    await t.advance(clock, '2026-02-01T06:00:00Z');
    const res = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      payload: { items: [{ id: sub.items.data[0].id, price: await t.priceId('community_monthly') }] },
    });
    // Refused: otherwise it would book a proration credit for "unused time" on a period never paid.
    const { rows } = await t.testDb.db.query<{ amount: string }>(`SELECT amount FROM invoice_items WHERE subscription = $1 AND amount < 0`, [sub.id]);
    expect({ status: res.status, credits: rows.map((r) => Number(r.amount)) }).toEqual({ status: 400, credits: [] });
  });
});

describe('past_due recovery', () => {
  it('stays past_due while the latest invoice is unpaid, even when an older one gets paid', async () => {
    const { clock, sub } = await activeThenFailingCard('2026-02-01T00:00:00Z');
    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('past_due');
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => i.status)).toEqual(['paid', 'open', 'open']);
    // The March invoice is settled out of band; April's (the latest) is still unpaid.
    await post(`/v1/invoices/${invs[1]!.id}/pay`, { paid_out_of_band: true });
    const after = await t.sub(sub.id);
    expect(after.latest_invoice).toBe(invs[2]!.id);
    expect(after.status).toBe('past_due');
  });
});

describe('immediate cancel of a past_due subscription', () => {
  it('stops automatic collection of its open invoices (Stripe cancel semantics)', async () => {
    const { clock, sub } = await activeThenFailingCard('2026-02-01T00:00:00Z');
    await t.advance(clock, '2026-03-01T02:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('past_due');
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(200);
    const [, march] = await t.invoices(sub.id);
    const inv = (await t.call({ method: 'GET', url: `/v1/invoices/${march!.id}` })).body;
    expect([inv.status, inv.auto_advance]).toEqual(['open', false]);
  });
});

describe('pause_collection with resumes_at on a subscription canceled meanwhile', () => {
  it('writes no customer.subscription.updated after customer.subscription.deleted', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await post(`/v1/subscriptions/${sub.id}`, { pause_collection: { behavior: 'void', resumes_at: Math.floor(Date.parse('2026-02-20T00:00:00Z') / 1000) } });
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(200);
    await t.advance(clock, '2026-02-21T00:00:00Z');
    const evs = await eventsOf(t, sub.id);
    const types = evs.map((e) => e.type);
    expect(types.slice(types.indexOf('customer.subscription.deleted'))).toEqual(['customer.subscription.deleted']);
  });
});
