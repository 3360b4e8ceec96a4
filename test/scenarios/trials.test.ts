import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, invTuple, iso, lineTuple, secs, subscribe, unix, type BillingApp } from './support.js';

// Trials: one that converts, the trial_will_end notice, and a trial ending without a payment method
// under each `trial_settings[end_behavior][missing_payment_method]`.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('a trial that converts', () => {
  it('bills $0 for the 14-day trial, warns 3 days before it ends, then bills and charges the plan', async () => {
    const clock = await t.clockAt('2026-05-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    // Group monthly carries a 14-day trial: 14 × 86,400 s after May 1 10:00 = May 15 10:00.
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }] });
    expect([sub.status, iso(sub.trial_start), iso(sub.trial_end), iso(sub.current_period_start), iso(sub.current_period_end), iso(sub.billing_cycle_anchor)]).toEqual([
      'trialing',
      '2026-05-01T10:00:00Z',
      '2026-05-15T10:00:00Z',
      '2026-05-01T10:00:00Z',
      '2026-05-15T10:00:00Z',
      '2026-05-15T10:00:00Z',
    ]);
    expect(sub.trial_end - sub.trial_start).toBe(secs(14));
    const [trialInvoice] = await t.invoices(sub.id);
    expect(invTuple(trialInvoice!)).toEqual(['paid', 0, 0, '2026-05-01T10:00:00Z', '2026-05-15T10:00:00Z', 'subscription_create']);
    expect(trialInvoice!.lines.data.map(lineTuple)).toEqual([['Trial period for Group Coaching Programs', 0, '2026-05-01T10:00:00Z', '2026-05-15T10:00:00Z', false]]);
    expect(trialInvoice!.number).toMatch(/^RECUR-\d{4}$/);

    // trial_will_end: exactly 3 days (259,200 s) before May 15 10:00 = May 12 10:00, not a second earlier.
    await t.advance(clock, '2026-05-12T09:59:59Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(0);
    await t.advance(clock, '2026-05-14T00:00:00Z');
    const notices = await events(t, customer, 'customer.subscription.trial_will_end');
    expect(notices.map((e) => e.created)).toEqual([unix('2026-05-12T10:00:00Z')]);
    expect(unix('2026-05-15T10:00:00Z') - notices[0]!.created).toBe(secs(3));
    expect(notices[0]!.data.object.id).toBe(sub.id);

    await t.advance(clock, '2026-05-15T12:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['active', '2026-05-15T10:00:00Z', '2026-06-15T10:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-05-01T10:00:00Z', '2026-05-15T10:00:00Z', 'subscription_create'],
      ['paid', 150_000, 150_000, '2026-05-15T10:00:00Z', '2026-06-15T10:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, '2026-05-15T10:00:00Z', '2026-06-15T10:00:00Z', false]]);
    const updates = await events(t, customer, 'customer.subscription.updated');
    const toActive = updates.filter((e) => e.data.object.status === 'active');
    expect(toActive.map((e) => e.created)).toEqual([unix('2026-05-15T10:00:00Z')]);
    // Still exactly one notice after the trial ended.
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);
  });
});

describe('a trial ending without a payment method', () => {
  // Community monthly carries a 30-day trial: Jun 1 00:00 + 30 × 86,400 s = Jul 1 00:00.
  async function trialWithoutCard(behavior: 'cancel' | 'create_invoice' | 'pause') {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, {
      customer,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_settings: { end_behavior: { missing_payment_method: behavior } },
    });
    expect([sub.status, iso(sub.trial_end), sub.trial_settings.end_behavior.missing_payment_method]).toEqual(['trialing', '2026-07-01T00:00:00Z', behavior]);
    return { clock, customer, sub };
  }

  it('cancel: the subscription is canceled at the trial end, with no invoice', async () => {
    const { clock, customer, sub } = await trialWithoutCard('cancel');
    await t.advance(clock, '2026-07-02T00:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.canceled_at), iso(after.ended_at)]).toEqual(['canceled', '2026-07-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual([['paid', 0, 0, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_create']]);
    expect((await events(t, customer, 'customer.subscription.deleted')).map((e) => e.created)).toEqual([unix('2026-07-01T00:00:00Z')]);
    // Nothing more happens later.
    await t.advance(clock, '2026-08-02T00:00:00Z');
    expect(await t.invoices(sub.id)).toHaveLength(1);
  });

  it('create_invoice: the invoice is created and fails for want of a payment method; the subscription is past_due', async () => {
    const { clock, customer, sub } = await trialWithoutCard('create_invoice');
    await t.advance(clock, '2026-07-01T02:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['past_due', '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_create'],
      ['open', 9700, 0, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 'subscription_cycle'],
    ]);
    const open = await t.call({ method: 'GET', url: `/v1/invoices/${invs[1]!.id}` });
    expect([open.body.amount_due, open.body.amount_remaining, open.body.attempt_count, open.body.attempted]).toEqual([9700, 9700, 1, true]);
    // Finalized at 01:00 (one hour after creation) and attempted at once.
    expect((await events(t, customer, 'invoice.payment_failed')).map((e) => e.created)).toEqual([unix('2026-07-01T01:00:00Z')]);
  });

  it('pause: the subscription pauses at the trial end, bills nothing, and resumes with a new cycle', async () => {
    const { clock, customer, sub } = await trialWithoutCard('pause');
    await t.advance(clock, '2026-08-05T00:00:00Z');
    const paused = await t.sub(sub.id);
    expect(paused.status).toBe('paused');
    expect(await t.invoices(sub.id)).toHaveLength(1);
    expect((await events(t, customer, 'customer.subscription.paused')).map((e) => e.created)).toEqual([unix('2026-07-01T00:00:00Z')]);

    // The customer adds a card; resuming starts a new period now and charges it.
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.body.id } } });
    const resumed = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume`, payload: {} });
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect([resumed.body.status, iso(resumed.body.current_period_start), iso(resumed.body.current_period_end), iso(resumed.body.billing_cycle_anchor)]).toEqual([
      'active',
      '2026-08-05T00:00:00Z',
      '2026-09-05T00:00:00Z',
      '2026-08-05T00:00:00Z',
    ]);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_create'],
      ['paid', 9700, 9700, '2026-08-05T00:00:00Z', '2026-09-05T00:00:00Z', 'subscription_cycle'],
    ]);
    expect((await events(t, customer, 'customer.subscription.resumed')).map((e) => e.created)).toEqual([unix('2026-08-05T00:00:00Z')]);

    await t.advance(clock, '2026-09-05T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[2]!)).toEqual(['paid', 9700, 9700, '2026-09-05T00:00:00Z', '2026-10-05T00:00:00Z', 'subscription_cycle']);
  });
});
