import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { events, get, invTuple, iso, lineTuple, subscribe, unix, update, advanceTo, recurringPrice, type BillingApp } from './support.js';

// Audit: billing periods against Stripe's documented behaviour
// (https://docs.stripe.com/billing/subscriptions/billing-cycle, …/trials, API reference).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const periods = (bounds: string[]) => bounds.slice(0, -1).map((b, i) => [b, bounds[i + 1]!] as const);

describe('interval_count', () => {
  it('quarterly (month × 3) anchored Aug 31: Nov 30, Feb 28, then back to May 31 and Aug 31', async () => {
    const clock = await t.clockAt('2026-08-31T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_quarterly') }], trial_end: 'now' });
    await t.advance(clock, '2027-08-31T12:00:00Z');
    const bounds = ['2026-08-31T10:00:00Z', '2026-11-30T10:00:00Z', '2027-02-28T10:00:00Z', '2027-05-31T10:00:00Z', '2027-08-31T10:00:00Z', '2027-11-30T10:00:00Z'];
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 420_000, 420_000, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
    expect(invs.map((i) => i.lines.data.map((l) => [iso(l.period.start), iso(l.period.end)]))).toEqual(periods(bounds).map(([s, e]) => [[s, e]]));
    const after = await t.sub(sub.id);
    expect([iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['2027-08-31T10:00:00Z', '2027-11-30T10:00:00Z']);
    expect([iso(after.items.data[0].current_period_start), iso(after.items.data[0].current_period_end)]).toEqual(['2027-08-31T10:00:00Z', '2027-11-30T10:00:00Z']);
  });

  it('day × 10: a period every 10 days', async () => {
    const p = await recurringPrice(t, { interval: 'day', interval_count: 10 });
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p }] });
    expect([sub.status, iso(sub.current_period_start), iso(sub.current_period_end), iso(sub.billing_cycle_anchor)]).toEqual(['active', '2026-01-15T12:00:00Z', '2026-01-25T12:00:00Z', '2026-01-15T12:00:00Z']);
    await advanceTo(t, clock, '2026-01-25T13:00:00Z');
    await advanceTo(t, clock, '2026-02-04T13:00:00Z');
    const bounds = ['2026-01-15T12:00:00Z', '2026-01-25T12:00:00Z', '2026-02-04T12:00:00Z', '2026-02-14T12:00:00Z'];
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 1000, 1000, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
  });

  it('week × 2 anchored on Friday Jan 16 2026: every other Friday', async () => {
    const p = await recurringPrice(t, { interval: 'week', interval_count: 2 });
    const clock = await t.clockAt('2026-01-16T09:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p }] });
    await advanceTo(t, clock, '2026-01-30T10:00:00Z');
    await advanceTo(t, clock, '2026-02-13T10:00:00Z');
    const bounds = ['2026-01-16T09:00:00Z', '2026-01-30T09:00:00Z', '2026-02-13T09:00:00Z', '2026-02-27T09:00:00Z'];
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 1000, 1000, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
    expect(new Date('2026-02-27T09:00:00Z').getUTCDay()).toBe(5);
  });

  it('year × 2 anchored Feb 29 2028: Feb 29 2030 does not exist → Feb 28 2030, then Feb 29 2032', async () => {
    const p = await recurringPrice(t, { interval: 'year', interval_count: 2 });
    const clock = await t.clockAt('2028-02-29T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p }] });
    expect(iso(sub.current_period_end)).toBe('2030-02-28T10:00:00Z');
    await t.advance(clock, '2030-02-28T12:00:00Z');
    const after = await t.sub(sub.id);
    expect([iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['2030-02-28T10:00:00Z', '2032-02-29T10:00:00Z']);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 1000, 1000, '2028-02-29T10:00:00Z', '2030-02-28T10:00:00Z', 'subscription_create'],
      ['paid', 1000, 1000, '2030-02-28T10:00:00Z', '2032-02-29T10:00:00Z', 'subscription_cycle'],
    ]);
  });
});

describe('trials and the anchor', () => {
  it('trial_end timestamp on Jan 31: the anchor is the trial end, then Feb 28, Mar 31', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: unix('2026-01-31T10:00:00Z') });
    expect([sub.status, iso(sub.billing_cycle_anchor), iso(sub.current_period_start), iso(sub.current_period_end), iso(sub.trial_start), iso(sub.trial_end)]).toEqual([
      'trialing',
      '2026-01-31T10:00:00Z',
      '2026-01-15T12:00:00Z',
      '2026-01-31T10:00:00Z',
      '2026-01-15T12:00:00Z',
      '2026-01-31T10:00:00Z',
    ]);
    // Upcoming during the trial: the first paid period, charged at the trial end.
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, up.amount_due, iso(up.next_payment_attempt), up.billing_reason]).toEqual([9700, 9700, '2026-01-31T10:00:00Z', 'subscription_cycle']);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z', false]]);

    await advanceTo(t, clock, '2026-01-28T09:59:59Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(0);
    await advanceTo(t, clock, '2026-01-28T10:00:00Z');
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);

    await t.advance(clock, '2026-03-31T12:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-01-15T12:00:00Z', '2026-01-31T10:00:00Z', 'subscription_create'],
      ['paid', 9700, 9700, '2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-03-31T10:00:00Z', '2026-04-30T10:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[0]!.lines.data.map((l) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([[0, '2026-01-15T12:00:00Z', '2026-01-31T10:00:00Z']]);
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.billing_cycle_anchor)]).toEqual(['active', '2026-01-31T10:00:00Z']);
  });

  it('trial_period_days=7 ends exactly 7 × 86,400 s later and anchors the cycle there', async () => {
    const clock = await t.clockAt('2026-03-05T08:30:15Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 7 });
    expect(sub.trial_end - sub.trial_start).toBe(7 * 86_400);
    expect([iso(sub.trial_end), iso(sub.billing_cycle_anchor), iso(sub.current_period_end)]).toEqual(['2026-03-12T08:30:15Z', '2026-03-12T08:30:15Z', '2026-03-12T08:30:15Z']);
    await advanceTo(t, clock, '2026-03-12T09:00:00Z');
    const after = await t.sub(sub.id);
    expect([after.status, iso(after.current_period_start), iso(after.current_period_end)]).toEqual(['active', '2026-03-12T08:30:15Z', '2026-04-12T08:30:15Z']);
  });

  it("trial_from_plan=true applies the price's default trial (community_monthly: 30 days)", async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_from_plan: true });
    expect([sub.status, iso(sub.trial_end), iso(sub.billing_cycle_anchor)]).toEqual(['trialing', '2026-02-14T12:00:00Z', '2026-02-14T12:00:00Z']);
    const none = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_from_plan: false });
    expect([none.status, none.trial_end, iso(none.current_period_end)]).toEqual(['active', null, '2026-02-15T12:00:00Z']);
  });

  it('trial_end=now on a trialing subscription: trial_will_end, anchor now, a full period billed now', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 14 });
    await advanceTo(t, clock, '2026-01-20T06:00:00Z');
    const ended = await update(t, sub.id, { trial_end: 'now' });
    expect([ended.status, iso(ended.trial_end), iso(ended.billing_cycle_anchor), iso(ended.current_period_start), iso(ended.current_period_end)]).toEqual([
      'active',
      '2026-01-20T06:00:00Z',
      '2026-01-20T06:00:00Z',
      '2026-01-20T06:00:00Z',
      '2026-02-20T06:00:00Z',
    ]);
    expect(await events(t, customer, 'customer.subscription.trial_will_end')).toHaveLength(1);
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.status, i.total, iso(i.period_start), iso(i.period_end)])).toEqual([
      ['paid', 0, '2026-01-15T12:00:00Z', '2026-01-29T12:00:00Z'],
      ['paid', 9700, '2026-01-20T06:00:00Z', '2026-02-20T06:00:00Z'],
    ]);
    expect(invs[1]!.lines.data.map((l) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([[9700, '2026-01-20T06:00:00Z', '2026-02-20T06:00:00Z']]);
  });
});

describe('future anchor and GET /v1/invoices/upcoming', () => {
  it('proration_behavior=none: active, no invoice now; upcoming is the full period at the anchor', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', proration_behavior: 'none', billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect([sub.status, iso(sub.current_period_start), iso(sub.current_period_end)]).toEqual(['active', '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z']);
    expect(await t.invoices(sub.id)).toHaveLength(0);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, iso(up.next_payment_attempt), up.billing_reason]).toEqual([9700, '2026-02-01T00:00:00Z', 'subscription_cycle']);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', false]]);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual([['paid', 9700, 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 'subscription_cycle']]);
  });

  it('prorated stub paid: upcoming is the full period at the anchor', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, iso(up.next_payment_attempt), up.billing_reason]).toEqual([9700, '2026-02-01T00:00:00Z', 'subscription_cycle']);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', false]]);
  });

  it('anchor Jan 31: upcoming in February is [Feb 28, Mar 31), and after that renewal [Mar 31, Apr 30)', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await advanceTo(t, clock, '2026-02-28T11:00:00Z');
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, iso(up.next_payment_attempt)]).toEqual([9700, '2026-03-31T10:00:00Z']);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-03-31T10:00:00Z', '2026-04-30T10:00:00Z', false]]);
  });

  it('a future anchor on the 31st (Jan 10 → Jan 31) keeps the 31st afterwards: Feb 28, Mar 31', async () => {
    const clock = await t.clockAt('2026-01-10T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', billing_cycle_anchor: unix('2026-01-31T10:00:00Z') });
    await t.advance(clock, '2026-03-31T12:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [iso(i.period_start), iso(i.period_end), i.billing_reason])).toEqual([
      ['2026-01-10T10:00:00Z', '2026-01-31T10:00:00Z', 'subscription_create'],
      ['2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z', 'subscription_cycle'],
      ['2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z', 'subscription_cycle'],
      ['2026-03-31T10:00:00Z', '2026-04-30T10:00:00Z', 'subscription_cycle'],
    ]);
  });
});

describe('billing_cycle_anchor_config (Stripe: the next occurrence of day_of_month, at hour, minute, second UTC)', () => {
  it('day_of_month 31 from Jan 10 10:00: anchor Jan 31 10:00, the stub prorated, then Feb 28 and Mar 31', async () => {
    const clock = await t.clockAt('2026-01-10T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', billing_cycle_anchor_config: { day_of_month: 31 } });
    expect([sub.status, iso(sub.billing_cycle_anchor), iso(sub.current_period_end), sub.billing_cycle_anchor_config]).toEqual([
      'active',
      '2026-01-31T10:00:00Z',
      '2026-01-31T10:00:00Z',
      { day_of_month: 31, hour: null, minute: null, month: null, second: null },
    ]);
    // [Jan 10, Jan 31) of the 31-day period [Dec 31, Jan 31): 9,700 × 21/31 = 6,570.97 → 6,571.
    await advanceTo(t, clock, '2026-03-01T00:00:00Z');
    await advanceTo(t, clock, '2026-03-31T12:00:00Z');
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual([
      ['paid', 6571, 6571, '2026-01-10T10:00:00Z', '2026-01-31T10:00:00Z', 'subscription_create'],
      ['paid', 9700, 9700, '2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-03-31T10:00:00Z', '2026-04-30T10:00:00Z', 'subscription_cycle'],
    ]);
  });

  it('hour, minute and second as given; with a trial, the next occurrence after the trial end', async () => {
    const clock = await t.clockAt('2026-01-10T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, {
      customer,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_period_days: 7,
      billing_cycle_anchor_config: { day_of_month: 15, hour: 0, minute: 0, second: 0 },
    });
    // The trial ends Jan 17 10:00; Jan 15 00:00 is before it, so the anchor is Feb 15 00:00.
    expect([sub.status, iso(sub.trial_end), iso(sub.billing_cycle_anchor)]).toEqual(['trialing', '2026-01-17T10:00:00Z', '2026-02-15T00:00:00Z']);
  });

  it('is refused beside billing_cycle_anchor, and with a weekly price, naming billing_cycle_anchor_config; nothing is written', async () => {
    const clock = await t.clockAt('2026-01-10T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const both = await t.call({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: { customer, items: [{ price: await t.priceId('community_monthly') }], billing_cycle_anchor: unix('2026-01-31T00:00:00Z'), billing_cycle_anchor_config: { day_of_month: 31 } },
    });
    const weekly = await t.call({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: { customer, items: [{ price: await recurringPrice(t, { interval: 'week' }) }], billing_cycle_anchor_config: { day_of_month: 31 } },
    });
    const badDay = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId('community_monthly') }], billing_cycle_anchor_config: { day_of_month: 32 } } });
    expect([both.status, both.body.error.param, weekly.status, weekly.body.error.param, badDay.status, badDay.body.error.param]).toEqual([
      400,
      'billing_cycle_anchor_config',
      400,
      'billing_cycle_anchor_config',
      400,
      'billing_cycle_anchor_config[day_of_month]',
    ]);
    expect((await get(t, `/v1/subscriptions?customer=${customer}`)).data).toHaveLength(0);
  });
});
