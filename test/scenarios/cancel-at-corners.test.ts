import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { chainProblems } from './event-chain-support.js';
import { communityOnClock, countRows, get, iso, lineTuple, subscribe, unix, update, type BillingApp } from './support.js';

// Corner cases of cancel_at (moved, cleared, with proration_behavior none, inside a free stub), a trial
// added with billing_cycle_anchor=now, free-stub previews, DELETE …/discount. Values by hand; sources in each test.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const community = (start: string, extra: Record<string, unknown> = {}) => communityOnClock(t, start, extra);

const clearCancelAt = (id: string) =>
  t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'cancel_at=' });

describe('cancel_at in a later period, changed after that period was billed short', () => {
  it('moved later (May 15 → May 25): the customer pays for May 1–25, not a second credit', async () => {
    const { clock, customer, sub } = await community('2026-03-01T00:00:00Z', { cancel_at: unix('2026-05-15T00:00:00Z') });
    await t.advance(clock, '2026-05-02T00:00:00Z');
    // The May renewal: 9,700 − 9,700 × 17/31 (5,319.35 → 5,319) = 4,381.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, 9700, 4381]);
    await update(t, sub.id, { cancel_at: unix('2026-05-25T00:00:00Z') });
    await t.advance(clock, '2026-06-02T00:00:00Z');
    const invs = await t.invoices(sub.id);
    // Used May 1 → May 25 (24 of 31 days); unused 7 days: 9,700 × 7/31 = 2,190.32 → 2,190 credit on a
    // full month, i.e. 7,510 for May in all. Already billed 4,381, so 3,129 (= 9,700 × 10/31 = 3,129.03
    // → 3,129, May 15 → 25) is still owed. Recur instead credits the last 7 days a second time (−2,190,
    // customer balance −2,190): May ends up at 2,191 for 24 days of use.
    const mayTotal = invs.slice(2).reduce((s, i) => s + i.total, 0);
    expect(mayTotal).toBe(7510);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });

  it('cleared: the May 15 → June 1 stretch the renewal credited is billed again (not free)', async () => {
    const { clock, sub } = await community('2026-03-01T00:00:00Z', { cancel_at: unix('2026-05-15T00:00:00Z') });
    await t.advance(clock, '2026-05-02T00:00:00Z');
    expect((await clearCancelAt(sub.id)).status).toBe(200);
    // The credit −5,319 (17 of May's 31 days) no longer applies: +5,319 on the next invoice.
    const preview = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(preview.total).toBe(9700 + 5319);
    await t.advance(clock, '2026-06-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    // May + the June renewal: 4,381 + 5,319 + 9,700 = 19,400 (two full months). Recur: 14,081.
    expect(invs.slice(2).reduce((s, i) => s + i.total, 0)).toBe(19_400);
    expect(await chainProblems(t, sub.id)).toEqual([]);
  });
});

describe('cancel_at in a later period with proration_behavior none', () => {
  it('still prorates that period (Stripe: "If set during a future period, this will always cause a proration for that period")', async () => {
    // Source: node_modules/stripe/esm/resources/Subscriptions.d.ts, SubscriptionUpdateParams.cancel_at;
    // ADR 0005: "in a later period, that period's renewal bills only up to it".
    const { clock, sub } = await community('2026-03-01T00:00:00Z');
    await update(t, sub.id, { cancel_at: unix('2026-04-15T00:00:00Z'), proration_behavior: 'none' });
    // April has 30 days, 16 after Apr 15: −9,700 × 16/30 = −5,173.33 → −5,173; 9,700 − 5,173 = 4,527.
    const preview = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(preview.total).toBe(4527);
    await t.advance(clock, '2026-04-16T00:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => i.total)).toEqual([9700, 4527]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false],
      ['Unused time on Community Access after Apr 15, 2026', -5173, '2026-04-15T00:00:00Z', '2026-05-01T00:00:00Z', true],
    ]);
  });
});

describe('free stub (trial before a later anchor, proration_behavior none): the preview', () => {
  it('during the trial shows the invoice the worker makes next (the full month at the anchor), not a $0 one at the trial end', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 5, billing_cycle_anchor: unix('2026-02-01T00:00:00Z'), proration_behavior: 'none' });
    const preview = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    // Recur: total 0, no lines, period Jan 15 → Feb 1, next_payment_attempt Jan 15 — an invoice that is never made.
    expect([preview.total, iso(preview.period_start), iso(preview.next_payment_attempt)]).toEqual([9700, '2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z']);
    expect(preview.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', false]]);
    await t.advance(clock, '2026-02-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.total, iso(i.period_start)])).toEqual([
      [0, '2026-01-10T00:00:00Z'],
      [9700, '2026-02-01T00:00:00Z'],
    ]);
  });
});

describe('free stub without a trial, then cancel_at inside it', () => {
  it('credits nothing: the stub was never charged (ADR 0005: a credit never exceeds what the stub cost)', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', billing_cycle_anchor: unix('2026-02-01T00:00:00Z'), proration_behavior: 'none' });
    expect(await t.invoices(sub.id)).toEqual([]);
    await update(t, sub.id, { cancel_at: unix('2026-01-20T00:00:00Z') });
    await t.advance(clock, '2026-01-21T00:00:00Z');
    expect((await t.sub(sub.id)).status).toBe('canceled');
    // Recur: a −3,755 invoice ("Unused time … after Jan 20", 9,700 × 12/31) and balance −3,755 for time never paid.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);
  });
});

describe('customer-only preview', () => {
  it('skips a paused subscription (it is not invoiced while paused) and shows the active one invoiced next', async () => {
    const clock = await t.clockAt('2026-07-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const paused = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 3, trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, '2026-07-05T00:00:00Z');
    expect((await t.sub(paused.id)).status).toBe('paused');
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    const active = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', default_payment_method: pm.body.id });
    expect(active.status).toBe('active');
    // Stripe create_preview: "you will retrieve the next upcoming invoice from among the customer's
    // subscriptions". Recur picks the paused one: 9,700 dated Jul 4, before the clock's now.
    const res = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?customer=${customer}` });
    expect([res.status, res.body.id, res.body.total, iso(res.body.period_start)]).toEqual([200, `upcoming_${active.id}`, 150_000, '2026-08-05T00:00:00Z']);
  });
});

describe('trial_end with billing_cycle_anchor=now on an active subscription', () => {
  it('is refused with 400 and writes nothing (instead of a new period invoiced now with the unused time credited twice)', async () => {
    const { clock, customer, sub } = await community('2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-03-11T00:00:00Z');
    const before = [await countRows(t, 'events'), await countRows(t, 'invoices'), await countRows(t, 'invoice_items')];
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: unix('2026-04-01T00:00:00Z'), billing_cycle_anchor: 'now' } });
    // Recur: 200, status trialing until Apr 1 yet current period Mar 11 → Apr 11 and anchor Mar 11, and a
    // subscription_update invoice of −3,442 = 9,700 − 6,571 − 6,571 (21 unused days of 31, 9,700 × 21/31
    // = 6,570.97 → 6,571, credited twice). The two anchors contradict each other (Stripe: trial_end
    // "The billing_cycle_anchor will be updated to the trial_end value"; billing_cycle_anchor now "resets
    // the anchor to the current time").
    expect(res.status).toBe(400);
    expect(['trial_end', 'billing_cycle_anchor']).toContain(res.body.error?.param);
    expect([await countRows(t, 'events'), await countRows(t, 'invoices'), await countRows(t, 'invoice_items')]).toEqual(before);
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.billing_cycle_anchor), after.trial_end]).toEqual(['active', '2026-03-01T00:00:00Z', null]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(0);
  });
});

describe('DELETE /v1/subscriptions/{id}/discount on a canceled subscription', () => {
  it('is refused as any update of an ended subscription, with no event after customer.subscription.deleted', async () => {
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 10, duration: 'forever' } })).body;
    const { sub } = await community('2026-03-01T00:00:00Z', { coupon: coupon.id });
    expect((await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` })).status).toBe(200);
    const events = await countRows(t, 'events');
    const res = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}/discount` });
    // Recur: 200, then customer.discount.deleted and a customer.subscription.updated of a canceled
    // subscription after its .deleted (POST /v1/subscriptions/{id} on it is a 400 subscription_ended).
    expect(res.status).toBe(400);
    expect(await countRows(t, 'events')).toBe(events);
  });
});

describe('an item change in a period billed short of a later cancel_at', () => {
  it('bills the period by the time each item ran: the short part first, then the change, then the end credit', async () => {
    const { clock, sub } = await community('2026-03-01T00:00:00Z', { cancel_at: unix('2026-04-15T00:00:00Z') });
    await t.advance(clock, '2026-04-02T00:00:00Z');
    // April [Apr 1, May 1) is 30 days: 9,700 − 9,700 × 16/30 (5,173.33 → 5,173) = 4,527.
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([9700, 4527]);
    await t.advance(clock, '2026-04-05T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }] });
    await t.advance(clock, '2026-04-16T00:00:00Z');
    const invs = await t.invoices(sub.id);
    // The rest of April on Community again +5,173; the change on Apr 5: −9,700 × 26/30 (8,406.67 → −8,407)
    // and +150,000 × 26/30 = 130,000; the end on Apr 15: −150,000 × 16/30 = −80,000. Sum 46,766, so April
    // comes to 4,527 + 46,766 = 51,293 = Community Apr 1–5 (1,293.33) + Group Apr 5–15 (50,000).
    expect(invs.map((i) => [i.billing_reason, i.total])).toEqual([
      ['subscription_create', 9700],
      ['subscription_cycle', 4527],
      ['subscription_update', 46_766],
    ]);
    expect((await t.sub(sub.id)).status).toBe('canceled');
  });
});
