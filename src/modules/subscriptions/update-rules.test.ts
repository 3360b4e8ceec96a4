import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../../../test/helpers/billing.js';

// Update and create parameters whose combinations Stripe refuses or gives a specific meaning:
// payment_behavior on update, proration_behavior none with a future anchor, billing_cycle_anchor
// now on its own, status=ended, and the combinations that are 400s.

let t: Awaited<ReturnType<typeof createBillingApp>>;
const price: Record<string, string> = {};
beforeAll(async () => {
  t = await createBillingApp();
  for (const key of ['community_monthly', 'group_monthly']) price[key] = await t.priceId(key);
});
afterAll(() => t.close());

async function post(url: string, payload: Record<string, unknown>) {
  return t.call({ method: 'POST', url, payload });
}

async function active(clock: string, priceKey = 'community_monthly') {
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const res = await post('/v1/subscriptions', { customer, items: [{ price: price[priceKey] }], trial_end: 'now' });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { customer, sub: res.body };
}

describe('payment_behavior on update', () => {
  it('error_if_incomplete: a declined upgrade is refused with 402 and changes nothing', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const { customer, sub } = await active(clock);
    const failing = await post('/v1/payment_methods/pm_card_chargeCustomerFail/attach', { customer });
    expect(failing.status).toBe(200);
    expect((await post(`/v1/subscriptions/${sub.id}`, { default_payment_method: failing.body.id })).status).toBe(200);
    await t.advance(clock, '2026-03-16T00:00:00Z');

    const upgrade = { items: [{ id: sub.items.data[0].id, price: price.group_monthly }], proration_behavior: 'always_invoice' };
    const refused = await post(`/v1/subscriptions/${sub.id}`, { ...upgrade, payment_behavior: 'error_if_incomplete' });
    expect([refused.status, refused.body.error.type, refused.body.error.code]).toEqual([402, 'card_error', 'card_declined']);
    const after = await t.sub(sub.id);
    expect([after.status, after.items.data[0].price.id]).toEqual(['active', price.community_monthly]);
    expect(await t.invoices(sub.id)).toHaveLength(1);

    // pending_if_incomplete: the change waits for its invoice (test/scenarios/pending-updates); voiding it discards the change.
    const pending = await post(`/v1/subscriptions/${sub.id}`, { ...upgrade, payment_behavior: 'pending_if_incomplete' });
    expect([pending.status, pending.body.status, pending.body.items.data[0].price.id, pending.body.pending_update?.subscription_items[0].price.id]).toEqual([
      200,
      'active',
      price.community_monthly,
      price.group_monthly,
    ]);
    expect((await post(`/v1/invoices/${pending.body.latest_invoice}/void`, {})).status).toBe(200);

    // allow_incomplete (the default): the change stands, the invoice stays open, the subscription is past_due.
    const allowed = await post(`/v1/subscriptions/${sub.id}`, upgrade);
    expect([allowed.status, allowed.body.status, allowed.body.items.data[0].price.id]).toEqual([200, 'past_due', price.group_monthly]);
  });
});

describe('billing_cycle_anchor and proration_behavior', () => {
  it('proration_behavior none with a future anchor: the stretch to the anchor is free', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const res = await post('/v1/subscriptions', { customer, items: [{ price: price.group_monthly }], trial_end: 'now', billing_cycle_anchor: unix('2026-02-01T00:00:00Z'), proration_behavior: 'none' });
    expect([res.status, res.body.status, iso(res.body.current_period_end)]).toEqual([200, 'active', '2026-02-01T00:00:00Z']);
    // Stripe: "Unlike a trial, there is no 0 USD invoice."
    expect([await t.invoices(res.body.id), res.body.latest_invoice]).toEqual([[], null]);
    await t.advance(clock, '2026-02-01T02:00:00Z');
    const invs = await t.invoices(res.body.id);
    expect(invs.map((i) => [i.status, i.total, i.billing_reason, iso(i.period_start), iso(i.period_end)])).toEqual([['paid', 150_000, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z']]);
    const created = (await t.call({ method: 'GET', url: `/v1/events?type=customer.subscription.created&customer=${customer}` })).body.data;
    expect(created.map((e: { data: { object: { status: string; latest_invoice: string | null } } }) => [e.data.object.status, e.data.object.latest_invoice])).toEqual([['active', null]]);
  });

  it('proration_behavior none with a trial before a later anchor: the stretch from the trial end to the anchor is free too', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const res = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_period_days: 5, billing_cycle_anchor: unix('2026-02-01T00:00:00Z'), proration_behavior: 'none' });
    expect([res.status, iso(res.body.trial_end)]).toEqual([200, '2026-01-15T00:00:00Z']);
    await t.advance(clock, '2026-01-16T00:00:00Z');
    const after = await t.sub(res.body.id);
    expect([after.status, iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['active', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z']);
    await t.advance(clock, '2026-02-01T02:00:00Z');
    // The $0 trial invoice, nothing at the trial end, then the full month at the anchor (not 5,319 prorated on Jan 15).
    const invs = await t.invoices(res.body.id);
    expect(invs.map((i) => [i.status, i.total, i.billing_reason, iso(i.period_start), iso(i.period_end)])).toEqual([
      ['paid', 0, 'subscription_create', '2026-01-10T00:00:00Z', '2026-01-15T00:00:00Z'],
      ['paid', 9700, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ]);
    // With proration (the default) such a stretch is billed: created Feb 1 02:00, trial to Feb 6 02:00,
    // anchor Mar 1: 22 d 22 h of February's 28 days, 9,700 × 550 / 672 = 7,938.99 → 7,939.
    const prorated = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_period_days: 5, billing_cycle_anchor: unix('2026-03-01T00:00:00Z') });
    await t.advance(clock, '2026-02-06T03:00:00Z');
    expect((await t.invoices(prorated.body.id)).map((i) => i.total)).toEqual([0, 7_939]);
  });

  it('billing_cycle_anchor now on its own restarts the cycle: credit for the unused time, a full period now', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const { sub } = await active(clock);
    await t.advance(clock, '2026-03-17T00:00:00Z');
    const res = await post(`/v1/subscriptions/${sub.id}`, { billing_cycle_anchor: 'now' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect([iso(res.body.billing_cycle_anchor), iso(res.body.current_period_start), iso(res.body.current_period_end)]).toEqual([
      '2026-03-17T00:00:00Z',
      '2026-03-17T00:00:00Z',
      '2026-04-17T00:00:00Z',
    ]);
    // 15 of March's 31 days unused: −9,700 × 15 / 31 = −4,693.5 → half-even −4,694; 9,700 − 4,694 = 5,006.
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.total, i.status, i.billing_reason])).toEqual([
      [9700, 'paid', 'subscription_create'],
      [5006, 'paid', 'subscription_update'],
    ]);
  });
});

describe('lists and refused combinations', () => {
  it('status=ended lists canceled and incomplete_expired subscriptions', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const incomplete = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_end: 'now' });
    expect(incomplete.body.status).toBe('incomplete');
    const canceled = await post('/v1/subscriptions', { customer, items: [{ price: price.group_monthly }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 7 });
    expect((await t.call({ method: 'DELETE', url: `/v1/subscriptions/${canceled.body.id}`, payload: {} })).status).toBe(200);
    await t.advance(clock, '2026-05-02T00:00:00Z');
    const ended = await t.call({ method: 'GET', url: `/v1/subscriptions?customer=${customer}&status=ended` });
    expect(ended.body.data.map((s: { id: string; status: string }) => [s.id, s.status]).sort()).toEqual(
      [
        [incomplete.body.id, 'incomplete_expired'],
        [canceled.body.id, 'canceled'],
      ].sort(),
    );
  });

  it('refuses contradictory parameters with 400 and the param, writing nothing', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const { customer, sub } = await active(clock);
    const cases: [string, Record<string, unknown>, string][] = [
      ['/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], days_until_due: 7 }, 'days_until_due'],
      ['/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_end: unix('2026-06-20T00:00:00Z'), trial_period_days: 5 }, 'trial_period_days'],
      [`/v1/subscriptions/${sub.id}`, { days_until_due: 7 }, 'days_until_due'],
      [`/v1/subscriptions/${sub.id}`, { collection_method: 'send_invoice' }, 'days_until_due'],
      [`/v1/subscriptions/${sub.id}`, { schedule_at_period_end: true }, 'items'],
      [`/v1/subscriptions/${sub.id}`, { pause_collection: { behavior: 'void', resumes_at: unix('2026-05-31T00:00:00Z') } }, 'pause_collection[resumes_at]'],
    ];
    for (const [url, payload, param] of cases) {
      const res = await post(url, payload);
      expect([res.status, res.body.error?.param], `${url} ${JSON.stringify(payload)}`).toEqual([400, param]);
    }
    const list = await t.call({ method: 'GET', url: `/v1/subscriptions?customer=${customer}&status=all` });
    expect(list.body.data).toHaveLength(1);
    const after = await t.sub(sub.id);
    expect([after.collection_method, after.days_until_due, after.pause_collection, after.schedule]).toEqual(['charge_automatically', null, null, null]);
  });

  it('a paused subscription (trial ended without a card) takes item changes without proration, and cannot be set to cancel at period end', async () => {
    const clock = await t.clockAt('2026-07-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const res = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_period_days: 7, trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await t.advance(clock, '2026-07-09T00:00:00Z');
    expect((await t.sub(res.body.id)).status).toBe('paused');
    const changed = await post(`/v1/subscriptions/${res.body.id}`, { items: [{ id: res.body.items.data[0].id, price: price.group_monthly }] });
    expect([changed.status, changed.body.status, changed.body.items?.data[0].price.id]).toEqual([200, 'paused', price.group_monthly]);
    expect((await t.call({ method: 'GET', url: `/v1/invoiceitems?customer=${customer}&pending=true` })).body.data).toEqual([]);
    const refused = await post(`/v1/subscriptions/${res.body.id}`, { cancel_at_period_end: true });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'subscription_paused']);
  });
});

describe('promotion code restrictions on subscriptions', () => {
  it('minimum_amount is checked against a period of the items', async () => {
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'once' });
    const promo = await post('/v1/promotion_codes', { coupon: coupon.body.id, code: 'BIGSPENDER', restrictions: { minimum_amount: 50_000, minimum_amount_currency: 'usd' } });
    expect(promo.status, JSON.stringify(promo.body)).toBe(200);
    const customer = await t.customer({ card: 'pm_card_visa' });
    // Community is 9,700 a month: under the 50,000 minimum.
    const small = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_end: 'now', promotion_code: 'BIGSPENDER' });
    expect([small.status, small.body.error?.code, small.body.error?.param]).toEqual([400, 'promotion_code_minimum_amount', 'promotion_code']);
    expect((await t.call({ method: 'GET', url: `/v1/subscriptions?customer=${customer}&status=all` })).body.data).toEqual([]);
    // Group is 150,000: the code applies, 10 % off the first invoice.
    const big = await post('/v1/subscriptions', { customer, items: [{ price: price.group_monthly }], trial_end: 'now', promotion_code: 'BIGSPENDER' });
    expect(big.status, JSON.stringify(big.body)).toBe(200);
    expect((await t.invoices(big.body.id)).map((i) => i.total)).toEqual([135_000]);
    const smallSub = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_end: 'now' });
    const onUpdate = await post(`/v1/subscriptions/${smallSub.body.id}`, { promotion_code: 'BIGSPENDER' });
    expect([onUpdate.status, onUpdate.body.error?.code]).toEqual([400, 'promotion_code_minimum_amount']);
  });
});

describe('coupons limited to products', () => {
  it('discount the proration lines of their product too, as Stripe', async () => {
    const product = (await t.call({ method: 'GET', url: `/v1/prices/${price.community_monthly}` })).body.product as string;
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'forever', applies_to: { products: [product] } });
    expect(coupon.status, JSON.stringify(coupon.body)).toBe(200);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: price.community_monthly }], trial_end: 'now', coupon: coupon.body.id });
    expect((await t.invoices(sub.body.id)).map((i) => i.total)).toEqual([8730]);
    await t.advance(clock, '2026-03-17T00:00:00Z');
    await post(`/v1/subscriptions/${sub.body.id}`, { items: [{ id: sub.body.items.data[0].id, quantity: 2 }] });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.body.id))[1]!;
    // 15 of 31 days left: credit −9,700 × 15 / 31 = −4,693.5 → −4,694 (half-even), debit 19,400 × 15 / 31 = 9,387.1 → 9,387.
    // Subtotal 19,400 − 4,694 + 9,387 = 24,093; 10 % off every line of the product: −2,409 → 21,684.
    expect(renewal.lines.data.map((l) => l.amount)).toEqual([19_400, -4694, 9387]);
    expect([renewal.subtotal, renewal.total]).toEqual([24_093, 21_684]);
  });
});
