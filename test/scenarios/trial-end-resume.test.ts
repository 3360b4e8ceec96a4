import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// Ending a trial early with trial_end=now (invoiced and charged in the same request, the anchor reset
// to now), and resuming a paused subscription with billing_cycle_anchor and proration_behavior.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('trial_end=now on a trialing subscription', () => {
  it('ends the trial in the request: active, a new period from now invoiced and charged, the anchor now', async () => {
    const clock = await t.clockAt('2026-05-01T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    // Group monthly: a 14-day trial, to May 15 10:00.
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }] });
    expect([sub.status, iso(sub.trial_end)]).toEqual(['trialing', '2026-05-15T10:00:00Z']);
    await t.advance(clock, '2026-05-05T00:00:00Z');

    const ended = await update(t, sub.id, { trial_end: 'now' });
    expect([ended.status, iso(ended.trial_end), iso(ended.current_period_start), iso(ended.current_period_end), iso(ended.billing_cycle_anchor)]).toEqual([
      'active',
      '2026-05-05T00:00:00Z',
      '2026-05-05T00:00:00Z',
      '2026-06-05T00:00:00Z',
      '2026-05-05T00:00:00Z',
    ]);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-05-01T10:00:00Z', '2026-05-15T10:00:00Z', 'subscription_create'],
      ['paid', 150_000, 150_000, '2026-05-05T00:00:00Z', '2026-06-05T00:00:00Z', 'subscription_update'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, '2026-05-05T00:00:00Z', '2026-06-05T00:00:00Z', false]]);
    expect(ended.latest_invoice).toBe(invs[1]!.id);
    const toActive = (await events(t, customer, 'customer.subscription.updated')).filter((e) => e.data.object.status === 'active');
    expect(toActive.map((e) => e.created)).toEqual([unix('2026-05-05T00:00:00Z')]);

    // Nothing more at the old trial end; the next renewal is a month after the new anchor.
    await t.advance(clock, '2026-05-16T00:00:00Z');
    expect(await t.invoices(sub.id)).toHaveLength(2);
    await t.advance(clock, '2026-06-05T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[2]!)).toEqual(['paid', 150_000, 150_000, '2026-06-05T00:00:00Z', '2026-07-05T00:00:00Z', 'subscription_cycle']);
  });

  it('without a payment method: the invoice is created and attempted, the attempt fails, and the subscription is past_due', async () => {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    // Community monthly: a 30-day trial, to Jul 1.
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }] });
    await t.advance(clock, '2026-06-10T00:00:00Z');
    const ended = await update(t, sub.id, { trial_end: 'now' });
    expect([ended.status, iso(ended.current_period_start), iso(ended.current_period_end), iso(ended.billing_cycle_anchor)]).toEqual([
      'past_due',
      '2026-06-10T00:00:00Z',
      '2026-07-10T00:00:00Z',
      '2026-06-10T00:00:00Z',
    ]);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)[1]).toEqual(['open', 9700, 0, '2026-06-10T00:00:00Z', '2026-07-10T00:00:00Z', 'subscription_update']);
    const open = await t.call({ method: 'GET', url: `/v1/invoices/${invs[1]!.id}` });
    expect([open.body.amount_remaining, open.body.attempt_count]).toEqual([9700, 1]);
  });
});

describe('resume with billing_cycle_anchor and proration_behavior', () => {
  // Community monthly, a 30-day trial from Jun 1 to Jul 1 without a card: paused at Jul 1 (the anchor).
  async function pausedAt(resumeAt: string) {
    const clock = await t.clockAt('2026-06-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_settings: { end_behavior: { missing_payment_method: 'pause' } } });
    await t.advance(clock, resumeAt);
    expect((await t.sub(sub.id)).status).toBe('paused');
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.body.id } } });
    return { clock, customer, sub };
  }
  const resume = async (id: string, payload: Record<string, unknown>) => {
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}/resume`, payload });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  };
  const periodOf = (s: { status: string; current_period_start: number; current_period_end: number; billing_cycle_anchor: number }) => [
    s.status,
    iso(s.current_period_start),
    iso(s.current_period_end),
    iso(s.billing_cycle_anchor),
  ];
  // Anchor Jul 1: the period containing Aug 5 is [Aug 1, Sep 1) = 31 days; Aug 5 → Sep 1 = 27 days.
  // 9,700 × 27 / 31 = 8,448.38… → 8,448.
  const PRORATED = 8448;

  it('unchanged with create_prorations: the stretch to the old anchor\'s next date is invoiced prorated now', async () => {
    expect(secs(27) / secs(31)).toBe(27 / 31);
    const { clock, sub } = await pausedAt('2026-08-05T00:00:00Z');
    const resumed = await resume(sub.id, { billing_cycle_anchor: 'unchanged', proration_behavior: 'create_prorations' });
    expect(periodOf(resumed)).toEqual(['active', '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple).slice(1)).toEqual([['paid', PRORATED, PRORATED, '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', 'subscription_update']]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['Remaining time on Community Access after Aug 5, 2026', PRORATED, '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', true]]);
    expect(resumed.latest_invoice).toBe(invs[1]!.id);

    await t.advance(clock, '2026-09-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[2]!)).toEqual(['paid', 9700, 9700, '2026-09-01T00:00:00Z', '2026-10-01T00:00:00Z', 'subscription_cycle']);
  });

  it('unchanged with always_invoice: the same prorated invoice now', async () => {
    const { sub } = await pausedAt('2026-08-05T00:00:00Z');
    const resumed = await resume(sub.id, { billing_cycle_anchor: 'unchanged', proration_behavior: 'always_invoice' });
    expect(periodOf(resumed)).toEqual(['active', '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect((await t.invoices(sub.id)).map(invTuple).slice(1)).toEqual([['paid', PRORATED, PRORATED, '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', 'subscription_update']]);
  });

  it('unchanged with none: nothing is charged until the next period starts', async () => {
    const { clock, customer, sub } = await pausedAt('2026-08-05T00:00:00Z');
    const resumed = await resume(sub.id, { billing_cycle_anchor: 'unchanged', proration_behavior: 'none' });
    expect(periodOf(resumed)).toEqual(['active', '2026-08-05T00:00:00Z', '2026-09-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect(await t.invoices(sub.id)).toHaveLength(1);
    expect((await events(t, customer, 'customer.subscription.resumed')).map((e) => e.created)).toEqual([unix('2026-08-05T00:00:00Z')]);

    await t.advance(clock, '2026-09-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map(invTuple).slice(1)).toEqual([['paid', 9700, 9700, '2026-09-01T00:00:00Z', '2026-10-01T00:00:00Z', 'subscription_cycle']]);
  });

  it('now (explicit): a new period from now, invoiced and charged in full, whatever proration_behavior says', async () => {
    const { sub } = await pausedAt('2026-08-05T00:00:00Z');
    const resumed = await resume(sub.id, { billing_cycle_anchor: 'now', proration_behavior: 'none' });
    expect(periodOf(resumed)).toEqual(['active', '2026-08-05T00:00:00Z', '2026-09-05T00:00:00Z', '2026-08-05T00:00:00Z']);
    expect((await t.invoices(sub.id)).map(invTuple).slice(1)).toEqual([['paid', 9700, 9700, '2026-08-05T00:00:00Z', '2026-09-05T00:00:00Z', 'subscription_cycle']]);
  });
});
