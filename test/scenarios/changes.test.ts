import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// Plan changes: an upgrade mid-period prorated to the second, and a downgrade scheduled for the
// period end (visible as `schedule`, releasable).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

// The period [Mar 1, Apr 1) 2026 is 31 days = 2,678,400 s. The change happens at Mar 16 08:16:48, which
// leaves 15 d 15 h 43 m 12 s = 1,352,592 s (= 101 × 13,392) of the period:
//   credit = −9,700 × 1,352,592 / 2,678,400 = −4,898.5 → half-even → −4,898 (half-up would say −4,899)
//   debit  = 150,000 × 1,352,592 / 2,678,400 = 75,750 exactly
const CHANGE_AT = '2026-03-16T08:16:48Z';
const PERIOD_SECONDS = secs(31);
const REMAINING_SECONDS = secs(15, 15, 43, 12);
const CREDIT = -4898;
const DEBIT = 75_750;
const PRORATIONS = [
  ['Unused time on Community Access after Mar 16, 2026', CREDIT, CHANGE_AT, '2026-04-01T00:00:00Z', true],
  ['Remaining time on Group Coaching Programs after Mar 16, 2026', DEBIT, CHANGE_AT, '2026-04-01T00:00:00Z', true],
] as const;

describe('community → group upgrade mid-period', () => {
  it('checks the arithmetic behind the expected amounts', () => {
    expect(PERIOD_SECONDS).toBe(2_678_400);
    expect(unix('2026-04-01T00:00:00Z') - unix(CHANGE_AT)).toBe(REMAINING_SECONDS);
    expect(REMAINING_SECONDS).toBe(1_352_592);
    expect((9700 * REMAINING_SECONDS) / PERIOD_SECONDS).toBe(4898.5);
    expect((150_000 * REMAINING_SECONDS) / PERIOD_SECONDS).toBe(75_750);
  });

  it('create_prorations: a credit and a debit line wait for the renewal invoice', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);

    const group = await t.priceId('group_monthly');
    const updated = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: group }] });
    expect(updated.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);
    expect([iso(updated.current_period_start), iso(updated.current_period_end)]).toEqual(['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z']);
    // Nothing is invoiced yet: the prorations are pending invoice items.
    expect(await t.invoices(sub.id)).toHaveLength(1);
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data as { description: string; amount: number; proration: boolean; period: { start: number; end: number } }[];
    expect(pending.map((p) => [p.description, p.amount, iso(p.period.start), iso(p.period.end), p.proration]).sort()).toEqual([...PRORATIONS].sort());

    await t.advance(clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_create'],
      // 150,000 − 4,898 + 75,750 = 220,852
      ['paid', 220_852, 220_852, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false], ...PRORATIONS]);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);

    // The following month bills the group plan alone.
    await t.advance(clock, '2026-05-01T02:00:00Z');
    const may = (await t.invoices(sub.id))[2]!;
    expect(invTuple(may)).toEqual(['paid', 150_000, 150_000, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', 'subscription_cycle']);
    expect(may.lines.data).toHaveLength(1);
  });

  it('always_invoice: the prorations are invoiced and charged at once, and not again at renewal', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const updated = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }], proration_behavior: 'always_invoice' });

    const invs = await t.invoices(sub.id);
    // −4,898 + 75,750 = 70,852, for the rest of the current period.
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_create'],
      ['paid', 70_852, 70_852, CHANGE_AT, '2026-04-01T00:00:00Z', 'subscription_update'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([...PRORATIONS]);
    expect(updated.latest_invoice).toBe(invs[1]!.id);

    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[2]!;
    expect(invTuple(renewal)).toEqual(['paid', 150_000, 150_000, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data).toHaveLength(1);
  });
});

describe('monthly → annual (an interval change)', () => {
  it('credits the unused month and bills a full year from now, resetting the anchor', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const updated = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('community_annual') }] });
    expect([iso(updated.billing_cycle_anchor), iso(updated.current_period_start), iso(updated.current_period_end)]).toEqual([CHANGE_AT, CHANGE_AT, '2027-03-16T08:16:48Z']);

    const invs = await t.invoices(sub.id);
    // 97,000 for the year − 4,898 for the unused month = 92,102, invoiced and charged now.
    expect(invs.map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_create'],
      ['paid', 92_102, 92_102, CHANGE_AT, '2027-03-16T08:16:48Z', 'subscription_update'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $970.00 / year)', 97_000, CHANGE_AT, '2027-03-16T08:16:48Z', false],
      PRORATIONS[0],
    ]);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);

    // No renewal on Apr 1 any more; the next one is a year after the change.
    await t.advance(clock, '2027-03-16T10:00:00Z');
    const later = await t.invoices(sub.id);
    expect(later.map(invTuple).slice(2)).toEqual([['paid', 97_000, 97_000, '2027-03-16T08:16:48Z', '2028-03-16T08:16:48Z', 'subscription_cycle']]);
  });
});

describe('downgrade scheduled for the period end', () => {
  it('is visible as schedule, can be released, and applies at the period end without proration', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const community = await t.priceId('community_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: group }], trial_end: 'now' });
    const itemId = sub.items.data[0].id;
    await t.advance(clock, '2026-05-10T00:00:00Z');

    // Schedule, then release: the subscription renews on Group as if nothing happened.
    const scheduled = await update(t, sub.id, { items: [{ id: itemId, price: community }], schedule_at_period_end: true });
    expect(scheduled.schedule).toEqual({ id: expect.stringMatching(/^sched_/), effective_at: unix('2026-06-01T00:00:00Z'), items: [{ price: community, quantity: 1 }] });
    expect(scheduled.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);
    expect((await t.sub(sub.id)).schedule.id).toBe(scheduled.schedule.id);

    const released = await t.call({ method: 'POST', url: `/v1/subscription_schedules/${scheduled.schedule.id}/release`, payload: {} });
    expect(released.status, JSON.stringify(released.body)).toBe(200);
    expect(released.body.schedule).toBeNull();
    expect(released.body.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);
    const again = await t.call({ method: 'POST', url: `/v1/subscription_schedules/${scheduled.schedule.id}/release`, payload: {} });
    expect(again.status).toBe(404);

    await t.advance(clock, '2026-06-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 150_000, 150_000, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_cycle']);

    // Schedule again and let it apply on Jul 1.
    const second = await update(t, sub.id, { items: [{ id: itemId, price: community }], schedule_at_period_end: true });
    expect(second.schedule.effective_at).toBe(unix('2026-07-01T00:00:00Z'));
    expect(second.schedule.id).not.toBe(scheduled.schedule.id);
    // The preview of the next invoice already shows the downgraded plan, without prorations.
    const upcoming = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(upcoming.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', false]]);
    await t.advance(clock, '2026-07-01T02:00:00Z');

    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 150_000, 150_000, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', 'subscription_create'],
      ['paid', 150_000, 150_000, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[2]!.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', false]]);
    const after = await t.sub(sub.id);
    expect(after.schedule).toBeNull();
    expect(after.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([community]);
  });
});

describe('change scheduled for the period end to another interval', () => {
  it('monthly → annual starts an annual cycle at the period end, billed once a year', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-05-10T00:00:00Z');
    const annual = await t.priceId('community_annual');
    const scheduled = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: annual }], schedule_at_period_end: true });
    expect(scheduled.schedule.effective_at).toBe(unix('2026-06-01T00:00:00Z'));
    const upcoming = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(upcoming.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $970.00 / year)', 97_000, '2026-06-01T00:00:00Z', '2027-06-01T00:00:00Z', false]]);

    await t.advance(clock, '2026-12-15T00:00:00Z');
    expect((await t.invoices(sub.id)).map(invTuple)).toEqual([
      ['paid', 9700, 9700, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', 'subscription_create'],
      ['paid', 97_000, 97_000, '2026-06-01T00:00:00Z', '2027-06-01T00:00:00Z', 'subscription_cycle'],
    ]);
    const after = await t.sub(sub.id);
    expect([after.plan?.interval ?? after.items.data[0].price.recurring.interval, iso(after.current_period_start), iso(after.current_period_end), iso(after.billing_cycle_anchor)]).toEqual([
      'year',
      '2026-06-01T00:00:00Z',
      '2027-06-01T00:00:00Z',
      '2026-06-01T00:00:00Z',
    ]);
  });
});

describe('change during a stub period before a later billing_cycle_anchor', () => {
  it('prorates over the whole interval the stub was charged against, never crediting more than was paid', async () => {
    // Group (150,000/month) from Jan 15 12:00 with the anchor on Feb 1: the stub [Jan 15 12:00, Feb 1)
    // is 16.5 of January's 31 days: 150,000 × 16.5 / 31 = 79,838.7 → 79,839.
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect((await t.invoices(sub.id)).map((i) => [i.total, i.status])).toEqual([[79_839, 'paid']]);

    // Downgrade on Jan 16 00:00, 16 of 31 days left: credit −150,000 × 16 / 31 = −77,419.35 → −77,419
    // (over the stub alone it would be −150,000 × 16 / 16.5 = −145,455, more than the 79,839 paid);
    // debit 9,700 × 16 / 31 = 5,006.45 → 5,006.
    expect((150_000 * 16) / 31).toBeCloseTo(77_419.35, 2);
    expect((9700 * 16) / 31).toBeCloseTo(5006.45, 2);
    await t.advance(clock, '2026-01-16T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('community_monthly') }], proration_behavior: 'always_invoice' });
    const invs = await t.invoices(sub.id);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([
      ['Unused time on Group Coaching Programs after Jan 16, 2026', -77_419, '2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z', true],
      ['Remaining time on Community Access after Jan 16, 2026', 5006, '2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z', true],
    ]);
    expect(invs[1]!.total).toBe(-72_413);
  });
});
