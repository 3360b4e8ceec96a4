import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { checkBooks } from '../helpers/books.js';
import { subscriptionScheduleObject } from '../../src/modules/subscription-schedules/schemas.js';
import { advanceTo, communityOnClock, customerBalance, errorOf, events, get, iso, ok, recurringPrice, subscribe, unix, type BillingApp, type Inv } from './support.js';

// Stripe's subscription schedules, as an integration uses them: from_subscription then an update with
// the next phase (the period-end downgrade), a customer's schedule of phases (three months monthly,
// then a year), a future start, release and cancel. Community is 9,700 a month (97,000 a year),
// Group 150,000 a month.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const schedules = '/v1/subscription_schedules';
const totals = async (sub: string) => (await t.invoices(sub)).map((i: Inv) => [i.total, i.billing_reason, iso(i.period_start), iso(i.period_end)]);
const phaseDates = (s: { phases: { start_date: number; end_date: number; items: { price: string; quantity: number }[] }[] }) =>
  s.phases.map((p) => [iso(p.start_date), iso(p.end_date), p.items.map((i) => `${i.price}×${i.quantity}`).join(',')]);

async function groupOnClock(start = '2026-01-01T00:00:00Z') {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
  return { clock, customer, sub };
}

/** from_subscription, then the Community phase from Feb 1: Stripe's period-end downgrade. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function downgradeAtPeriodEnd(sub: { id: string }, existing?: any) {
  const sched = existing ?? (await ok(t, 'POST', schedules, { from_subscription: sub.id }));
  const [group, community] = [await t.priceId('group_monthly'), await t.priceId('community_monthly')];
  return ok(t, 'POST', `${schedules}/${sched.id}`, {
    phases: [
      { items: [{ price: group, quantity: 1 }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
      { items: [{ price: community }], iterations: 1 },
    ],
  });
}

describe('subscription schedules', () => {
  it('from_subscription then a Community phase: Feb 1 bills 9,700 with no proration, Mar 1 releases the subscription', async () => {
    const { clock, customer, sub } = await groupOnClock();
    const created = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    expect([created.object, created.status, created.end_behavior, created.subscription, created.customer]).toEqual(['subscription_schedule', 'active', 'release', sub.id, customer]);
    expect(phaseDates(created)).toEqual([['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', `${await t.priceId('group_monthly')}×1`]]);
    expect(created.current_phase).toEqual({ start_date: unix('2026-01-01T00:00:00Z'), end_date: unix('2026-02-01T00:00:00Z') });
    expect((await t.sub(sub.id)).schedule).toBe(created.id);
    const expanded = await get(t, `/v1/subscriptions/${sub.id}?expand[]=schedule&expand[]=schedule.subscription`);
    expect([expanded.schedule.object, expanded.schedule.id, expanded.schedule.subscription.id]).toEqual(['subscription_schedule', created.id, sub.id]);
    expect((await get(t, `${schedules}/${created.id}?expand[]=customer`)).customer.id).toBe(customer);

    const updated = await downgradeAtPeriodEnd(sub, created);
    expect(phaseDates(updated).map((p) => [p[0], p[1]])).toEqual([
      ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
      ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ]);
    // Nothing changes or prorates now; the preview of Feb 1 shows the Community phase.
    expect((await t.sub(sub.id)).items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([await t.priceId('group_monthly')]);
    const upcoming = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([upcoming.total, upcoming.period_start]).toEqual([9700, unix('2026-02-01T00:00:00Z')]);

    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const feb = await t.sub(sub.id);
    expect(feb.items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([await t.priceId('community_monthly')]);
    expect(feb.schedule).toBe(created.id);
    const inFeb = await get(t, `${schedules}/${created.id}`);
    expect([inFeb.status, inFeb.current_phase]).toEqual(['active', { start_date: unix('2026-02-01T00:00:00Z'), end_date: unix('2026-03-01T00:00:00Z') }]);
    const febInvoice: Inv = await get(t, `/v1/invoices/${feb.latest_invoice}`);
    expect(febInvoice.lines.data.map((l) => [l.description, l.amount, l.proration])).toEqual([['1 × Community Access (at $97.00 / month)', 9700, false]]);

    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    const done = await get(t, `${schedules}/${created.id}`);
    expect([done.status, done.subscription, done.released_subscription, done.released_at, done.current_phase]).toEqual(['released', null, sub.id, unix('2026-03-01T00:00:00Z'), null]);
    const mar = await t.sub(sub.id);
    expect([mar.schedule, mar.status]).toEqual([null, 'active']);
    await advanceTo(t, clock, '2026-04-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      [150_000, 'subscription_create', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
      [9700, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
      [9700, 'subscription_cycle', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
      [9700, 'subscription_cycle', '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'],
    ]);
    expect((await events(t, customer, 'subscription_schedule.created')).length).toBe(1);
    expect((await events(t, customer, 'subscription_schedule.updated')).map((e) => e.data.previous_attributes.phases.length)).toEqual([1]);
    expect((await events(t, customer, 'subscription_schedule.released')).map((e) => [e.created, e.data.object.released_subscription])).toEqual([[unix('2026-03-01T00:00:00Z'), sub.id]]);
  });

  it('a customer’s schedule: three months of Community monthly, then a year of Community annual, then cancel', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sched = await ok(t, 'POST', schedules, {
      customer,
      start_date: 'now',
      end_behavior: 'cancel',
      phases: [{ items: [{ price: await t.priceId('community_monthly') }], iterations: 3 }, { items: [{ price: await t.priceId('community_annual') }], iterations: 1 }],
    });
    expect([sched.status, sched.end_behavior]).toEqual(['active', 'cancel']);
    expect(phaseDates(sched).map((p) => [p[0], p[1]])).toEqual([
      ['2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z'],
      ['2026-04-01T00:00:00Z', '2027-04-01T00:00:00Z'],
    ]);
    const subId = sched.subscription as string;
    // No trial from the prices (Community has 30 days by default): the schedule's subscription bills at once.
    const sub = await t.sub(subId);
    expect([sub.status, sub.schedule, sub.cancel_at, sub.trial_end]).toEqual(['active', sched.id, null, null]);
    for (const at of ['2026-02-01T02:00:00Z', '2026-03-01T02:00:00Z', '2026-04-01T02:00:00Z']) await advanceTo(t, clock, at);
    // The last phase is in force: the subscription now carries the schedule's end.
    expect((await t.sub(subId)).cancel_at).toBe(unix('2027-04-01T00:00:00Z'));
    await advanceTo(t, clock, '2027-04-01T02:00:00Z');
    const ended = await t.sub(subId);
    expect([ended.status, ended.ended_at, ended.schedule]).toEqual(['canceled', unix('2027-04-01T00:00:00Z'), null]);
    const done = await get(t, `${schedules}/${sched.id}`);
    expect([done.status, done.completed_at, done.subscription]).toEqual(['completed', unix('2027-04-01T00:00:00Z'), subId]);
    expect(await totals(subId)).toEqual([
      [9700, 'subscription_create', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
      [9700, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
      [9700, 'subscription_cycle', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
      [97_000, 'subscription_cycle', '2026-04-01T00:00:00Z', '2027-04-01T00:00:00Z'],
    ]);
    expect((await events(t, customer, 'subscription_schedule.completed')).length).toBe(1);
  });

  it('anchored Jan 31: Group from Feb 28 for two months (to Apr 30, the clamp undone), then a year of Community annual', async () => {
    const clock = await t.clockAt('2026-01-31T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: await t.priceId('community_monthly') }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: await t.priceId('group_monthly') }], iterations: 2 },
        { items: [{ price: await t.priceId('community_annual') }], iterations: 1 },
      ],
    });
    expect(phaseDates(updated).map((p) => [p[0], p[1]])).toEqual([
      ['2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z'],
      ['2026-02-28T00:00:00Z', '2026-04-30T00:00:00Z'],
      ['2026-04-30T00:00:00Z', '2027-04-30T00:00:00Z'],
    ]);
    for (const at of ['2026-02-28T02:00:00Z', '2026-03-31T02:00:00Z', '2026-04-30T02:00:00Z', '2027-04-30T02:00:00Z']) await advanceTo(t, clock, at);
    expect(await totals(sub.id)).toEqual([
      [9700, 'subscription_create', '2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z'],
      [150_000, 'subscription_cycle', '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z'],
      [150_000, 'subscription_cycle', '2026-03-31T00:00:00Z', '2026-04-30T00:00:00Z'],
      [97_000, 'subscription_cycle', '2026-04-30T00:00:00Z', '2027-04-30T00:00:00Z'],
      // Released at the last phase's end: the subscription renews on as it is.
      [97_000, 'subscription_cycle', '2027-04-30T00:00:00Z', '2028-04-30T00:00:00Z'],
    ]);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
  });

  it("add_invoice_items: the course (99,700) on a phase's first invoice — at the schedule's start and at a later phase", async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const [community, group, course] = [await t.priceId('community_monthly'), await t.priceId('group_monthly'), await t.priceId('course_onetime')];
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [
        { items: [{ price: community }], add_invoice_items: [{ price: course }], iterations: 1 },
        { items: [{ price: group }], add_invoice_items: [{ price: course, quantity: 2 }], iterations: 1 },
      ],
    });
    expect(sched.phases.map((p: { add_invoice_items: { price: string; quantity: number }[] }) => p.add_invoice_items.map((i) => [i.price, i.quantity]))).toEqual([[[course, 1]], [[course, 2]]]);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    const lines = (await t.invoices(sched.subscription)).map((i: Inv) => i.lines.data.map((l) => [l.description, l.amount]));
    expect(lines).toEqual([
      [['1 × Community Access (at $97.00 / month)', 9700], ['Self-Paced Courses', 99_700]],
      [['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000], ['Self-Paced Courses', 199_400]],
      // Released: Group renews alone.
      [['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000]],
    ]);
    // A recurring price is not an invoice item; the phase in force keeps what it billed.
    const { sub } = await groupOnClock();
    const mine = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const phase0 = { items: [{ price: group }], start_date: mine.phases[0].start_date, end_date: mine.phases[0].end_date };
    const upd = (phases: unknown[]) => t.call({ method: 'POST', url: `${schedules}/${mine.id}`, payload: { phases } });
    expect(errorOf(await upd([phase0, { items: [{ price: community }], add_invoice_items: [{ price: group }] }]))).toEqual([400, 'parameter_invalid', 'phases[1][add_invoice_items][0][price]']);
    expect(errorOf(await upd([{ ...phase0, add_invoice_items: [{ price: course }] }, { items: [{ price: community }] }]))).toEqual([400, 'parameter_invalid', 'phases[0][add_invoice_items]']);
  });

  it('a phase change inside a period (Jan 16): prorated then, −5,006 + 77,419, billed with the Feb 1 renewal (222,413)', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z') },
        { items: [{ price: group }], end_date: unix('2026-02-01T00:00:00Z') },
      ],
    });
    expect(phaseDates(updated).map((p) => [p[0], p[1]])).toEqual([
      ['2026-01-01T00:00:00Z', '2026-01-16T00:00:00Z'],
      ['2026-01-16T00:00:00Z', '2026-02-01T00:00:00Z'],
    ]);
    await advanceTo(t, clock, '2026-01-15T23:59:59Z');
    expect((await t.sub(sub.id)).items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([community]);
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    expect((await t.sub(sub.id)).items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([group]);
    // Unused Community: 9,700 × 16/31 = 5,006.45 → −5,006; remaining Group: 150,000 × 16/31 = 77,419.35 → 77,419.
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data.map((i: { amount: number; proration: boolean }) => [i.amount, i.proration]);
    expect(pending.sort()).toEqual([[-5006, true], [77_419, true]].sort());
    expect((await get(t, `${schedules}/${sched.id}`)).current_phase).toEqual({ start_date: unix('2026-01-16T00:00:00Z'), end_date: unix('2026-02-01T00:00:00Z') });
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect((await totals(sub.id)).map((r) => r[0])).toEqual([9700, 222_413]);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('inside a period with always_invoice: 72,413 invoiced and paid at Jan 16; a release and a cancel inside a period', async () => {
    const a = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, { from_subscription: a.sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z') },
        { items: [{ price: group }], end_date: unix('2026-02-01T00:00:00Z'), proration_behavior: 'always_invoice' },
      ],
    });
    await advanceTo(t, a.clock, '2026-01-16T01:00:00Z');
    const inv: Inv = await get(t, `/v1/invoices/${(await t.sub(a.sub.id)).latest_invoice}`);
    expect([inv.status, inv.total, inv.amount_paid]).toEqual(['paid', 72_413, 72_413]);

    // A single phase ending Jan 20 with end_behavior release: released then, nothing else changes.
    const b = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const rel = await ok(t, 'POST', schedules, { from_subscription: b.sub.id });
    await ok(t, 'POST', `${schedules}/${rel.id}`, { phases: [{ items: [{ price: community }], start_date: rel.phases[0].start_date, end_date: unix('2026-01-20T00:00:00Z') }] });
    await advanceTo(t, b.clock, '2026-01-20T01:00:00Z');
    const released = await get(t, `${schedules}/${rel.id}`);
    expect([released.status, released.released_at]).toEqual(['released', unix('2026-01-20T00:00:00Z')]);
    expect([(await t.sub(b.sub.id)).schedule, (await t.sub(b.sub.id)).status]).toEqual([null, 'active']);

    // The same with end_behavior cancel: canceled Jan 20, the schedule completed.
    const c = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const can = await ok(t, 'POST', schedules, { from_subscription: c.sub.id });
    await ok(t, 'POST', `${schedules}/${can.id}`, { end_behavior: 'cancel', phases: [{ items: [{ price: community }], start_date: can.phases[0].start_date, end_date: unix('2026-01-20T00:00:00Z') }] });
    expect((await t.sub(c.sub.id)).cancel_at).toBe(unix('2026-01-20T00:00:00Z'));
    await advanceTo(t, c.clock, '2026-01-20T01:00:00Z');
    const ended = await t.sub(c.sub.id);
    expect([ended.status, ended.ended_at]).toEqual(['canceled', unix('2026-01-20T00:00:00Z')]);
    expect((await get(t, `${schedules}/${can.id}`)).status).toBe('completed');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('a price archived after the phases were set still bills when its phase starts inside a period (−5,006 + 10,323)', async () => {
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const community = await t.priceId('community_monthly');
    const later = await recurringPrice(t, { interval: 'month' }, 20_000);
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [{ items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z') }, { items: [{ price: later }], end_date: unix('2026-02-01T00:00:00Z') }],
    });
    await ok(t, 'POST', `/v1/prices/${later}`, { active: false });
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    expect((await t.sub(sub.id)).items.data.map((i: { price: { id: string } }) => i.price.id)).toEqual([later]);
    // 20,000 × 16/31 = 10,322.58 → 10,323.
    const pending = (await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data.map((i: { amount: number }) => i.amount);
    expect(pending.sort((a: number, b: number) => a - b)).toEqual([-5006, 10_323]);
  });

  it('an incomplete subscription takes no change inside its period; expired, it cancels the schedule', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_chargeCustomerFail' });
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [{ items: [{ price: community }], end_date: unix('2026-01-01T05:00:00Z') }, { items: [{ price: group }], duration: { interval: 'month' } }],
    });
    expect((await t.sub(sched.subscription)).status).toBe('incomplete');
    // The advance passes 05:00 without applying the change (and without waiting on it forever).
    await advanceTo(t, clock, '2026-01-01T06:00:00Z');
    const sub = await t.sub(sched.subscription);
    expect([sub.status, sub.items.data.map((i: { price: { id: string } }) => i.price.id)]).toEqual(['incomplete', [community]]);
    await advanceTo(t, clock, '2026-01-02T01:00:00Z');
    expect((await t.sub(sched.subscription)).status).toBe('incomplete_expired');
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('canceled');
  });

  it('a future start: not_started until Jan 10, when the worker creates the subscription and charges 150,000', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sched = await ok(t, 'POST', schedules, {
      customer,
      start_date: unix('2026-01-10T09:00:00Z'),
      phases: [{ items: [{ price: await t.priceId('group_monthly') }], iterations: 2 }],
    });
    expect([sched.status, sched.subscription, sched.current_phase]).toEqual(['not_started', null, null]);
    expect((await get(t, `${schedules}?customer=${customer}&scheduled=true`)).data.map((s: { id: string }) => s.id)).toEqual([sched.id]);
    await advanceTo(t, clock, '2026-01-10T08:59:59Z');
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('not_started');
    await advanceTo(t, clock, '2026-01-10T10:00:00Z');
    const started = await get(t, `${schedules}/${sched.id}`);
    expect(started.status).toBe('active');
    const sub = await t.sub(started.subscription);
    expect([sub.status, sub.start_date, sub.current_period_end, sub.schedule]).toEqual(['active', unix('2026-01-10T09:00:00Z'), unix('2026-02-10T09:00:00Z'), sched.id]);
    expect(await totals(sub.id)).toEqual([[150_000, 'subscription_create', '2026-01-10T09:00:00Z', '2026-02-10T09:00:00Z']]);
    expect((await get(t, `${schedules}?customer=${customer}&scheduled=true`)).data).toEqual([]);
    // Two periods, then released: the subscription goes on.
    await advanceTo(t, clock, '2026-02-10T10:00:00Z');
    await advanceTo(t, clock, '2026-03-10T10:00:00Z');
    expect([(await get(t, `${schedules}/${sched.id}`)).status, (await t.sub(sub.id)).status]).toEqual(['released', 'active']);
  });

  it('an update with an empty body changes nothing and answers the schedule (found by the API fuzz, seed 9802: it was a 500)', async () => {
    const { customer, sub } = await groupOnClock();
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const same = await ok(t, 'POST', `${schedules}/${sched.id}`, {});
    expect(same).toEqual(sched);
    expect(await events(t, customer, 'subscription_schedule.updated')).toEqual([]);
  });

  it('ends with its subscription (DELETE) or its customer (before it starts): canceled either way', async () => {
    const { customer, sub } = await groupOnClock();
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'DELETE', `/v1/subscriptions/${sub.id}`);
    expect([(await get(t, `${schedules}/${sched.id}`)).status, (await get(t, `${schedules}/${sched.id}`)).canceled_at]).toEqual(['canceled', unix('2026-01-01T00:00:00Z')]);
    expect((await events(t, customer, 'subscription_schedule.canceled')).length).toBe(1);

    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const later = await t.customer({ clock, card: 'pm_card_visa' });
    const future = await ok(t, 'POST', schedules, { customer: later, start_date: unix('2026-02-01T00:00:00Z'), phases: [{ items: [{ price: await t.priceId('group_monthly') }] }] });
    await ok(t, 'DELETE', `/v1/customers/${later}`);
    expect((await get(t, `${schedules}/${future.id}`)).status).toBe('canceled');
    await advanceTo(t, clock, '2026-02-01T01:00:00Z');
    expect((await get(t, `/v1/subscriptions?customer=${later}&status=all`)).data).toEqual([]);
  });

  it('release before the change keeps Group; cancel ends the subscription with a credit of 77,419 for 16 of 31 days', async () => {
    const a = await groupOnClock();
    const released = await ok(t, 'POST', `${schedules}/${(await downgradeAtPeriodEnd(a.sub)).id}/release`, {});
    expect([released.status, released.subscription, released.released_subscription]).toEqual(['released', null, a.sub.id]);
    expect((await t.sub(a.sub.id)).schedule).toBeNull();
    await advanceTo(t, a.clock, '2026-02-01T02:00:00Z');
    expect((await totals(a.sub.id)).map((r) => r[0])).toEqual([150_000, 150_000]);

    const b = await groupOnClock();
    const sched = await downgradeAtPeriodEnd(b.sub);
    await advanceTo(t, b.clock, '2026-01-16T00:00:00Z');
    const canceled = await ok(t, 'POST', `${schedules}/${sched.id}/cancel`, {});
    expect([canceled.status, canceled.canceled_at]).toEqual(['canceled', unix('2026-01-16T00:00:00Z')]);
    const sub = await t.sub(b.sub.id);
    expect([sub.status, sub.ended_at, sub.schedule]).toEqual(['canceled', unix('2026-01-16T00:00:00Z'), null]);
    // Unused time on Group: 150,000 × 16/31 = 77,419.35 → 77,419, on the final invoice, credited to the balance.
    expect(await customerBalance(t, b.customer)).toBe(-77_419);
    expect((await events(t, b.customer, 'subscription_schedule.canceled')).length).toBe(1);
    expect((await events(t, b.customer, 'subscription_schedule.completed')).length).toBe(0);
  });

  it('refuses what it cannot do, naming the parameter, and writes nothing', async () => {
    const { sub } = await groupOnClock();
    const call = (url: string, payload: Record<string, unknown>) => t.call({ method: 'POST', url, payload });
    const [group, community, course] = [await t.priceId('group_monthly'), await t.priceId('community_monthly'), await t.priceId('course_onetime')];
    expect(errorOf(await call(schedules, { from_subscription: sub.id, phases: [{ items: [{ price: group }] }] }))).toEqual([400, 'parameter_invalid', 'phases']);
    expect(errorOf(await call(schedules, { from_subscription: 'sub_nope' }))).toEqual([404, 'resource_missing', 'from_subscription']);
    expect(errorOf(await call(schedules, { phases: [{ items: [{ price: group }] }] }))).toEqual([400, 'parameter_missing', 'customer']);
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    expect(errorOf(await call(schedules, { from_subscription: sub.id }))).toEqual([400, 'subscription_managed_by_schedule', 'from_subscription']);

    const phase0 = { items: [{ price: group }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date };
    const upd = (phases: unknown[]) => call(`${schedules}/${sched.id}`, { phases });
    // A phase ending inside a period (Jan 20) makes the next start there: its length cannot be counted in periods.
    expect(errorOf(await upd([{ ...phase0, end_date: unix('2026-01-20T00:00:00Z') }, { items: [{ price: community }], iterations: 1 }]))).toEqual([400, 'parameter_invalid', 'phases[1][iterations]']);
    expect(errorOf(await upd([{ ...phase0, items: [{ price: group, quantity: 2 }] }, { items: [{ price: community }] }]))).toEqual([400, 'parameter_invalid', 'phases[0][items]']);
    expect(errorOf(await upd([phase0, { items: [{ price: 'price_nope' }] }]))).toEqual([404, 'resource_missing', 'phases[1][items][0][price]']);
    expect(errorOf(await upd([phase0, { items: [{ price: course }] }]))).toEqual([400, 'parameter_invalid', 'phases[1][items][0][price]']);
    // A past phase sent again is skipped, and errors keep the request's numbering.
    const past = { items: [{ price: group }], start_date: unix('2025-12-01T00:00:00Z'), end_date: sched.phases[0].start_date };
    expect(errorOf(await upd([past, phase0, { items: [{ price: 'price_nope' }] }]))).toEqual([404, 'resource_missing', 'phases[2][items][0][price]']);
    expect(errorOf(await upd([past, { ...phase0, end_date: unix('2026-01-20T00:00:00Z') }, { items: [{ price: community }] }]))).toEqual([400, 'parameter_missing', 'phases[2][end_date]']);
    expect(phaseDates(await get(t, `${schedules}/${sched.id}`)).length).toBe(1);

    // The schedule owns the subscription's end and cycle.
    expect(errorOf(await call(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true }))).toEqual([400, 'subscription_managed_by_schedule', 'cancel_at_period_end']);
    expect(errorOf(await call(`/v1/subscriptions/${sub.id}`, { billing_cycle_anchor: 'now' }))).toEqual([400, 'subscription_managed_by_schedule', 'billing_cycle_anchor']);
    expect(errorOf(await call(`/v1/subscriptions/${sub.id}`, { trial_end: unix('2026-01-20T00:00:00Z') }))).toEqual([400, 'subscription_managed_by_schedule', 'trial_end']);
    const item = (await t.sub(sub.id)).items.data[0].id;
    expect(errorOf(await call(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: await t.priceId('group_quarterly') }] }))).toEqual([400, 'subscription_managed_by_schedule', 'items']);

    await ok(t, 'POST', `${schedules}/${sched.id}/release`, {});
    expect(errorOf(await upd([phase0]))).toEqual([400, 'subscription_schedule_ended', 'id']);
    expect(errorOf(await call(`${schedules}/${sched.id}/cancel`, {}))).toEqual([400, 'subscription_schedule_ended', 'id']);
    expect(errorOf(await call(`${schedules}/sub_sched_nope/release`, {}))).toEqual([404, 'resource_missing', 'id']);
    // Released, the subscription is its own again.
    await ok(t, 'POST', `/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
  });

  it("shows the subscription's collection method in default_settings, in the API and in its events", async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 14 });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id, metadata: { plan: 'intro' } });
    expect([sched.default_settings.collection_method, sched.metadata]).toEqual(['send_invoice', { plan: 'intro' }]);
    expect((await get(t, `${schedules}?customer=${customer}`)).data.map((x: { default_settings: { collection_method: string } }) => x.default_settings.collection_method)).toEqual(['send_invoice']);
    expect((await events(t, customer, 'subscription_schedule.created')).map((e) => e.data.object.default_settings.collection_method)).toEqual(['send_invoice']);
  });

  it('starts on its date with a price archived since it was set (and its setup fee), as a later phase would', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const product = (await get(t, `/v1/prices/${await t.priceId('community_monthly')}`)).product;
    const retired = await ok(t, 'POST', '/v1/prices', { currency: 'usd', product, unit_amount: 5_000, recurring: { interval: 'month' } });
    const fee = await ok(t, 'POST', '/v1/prices', { currency: 'usd', product, unit_amount: 2_500 });
    const sched = await ok(t, 'POST', schedules, {
      customer,
      start_date: unix('2026-02-01T00:00:00Z'),
      phases: [{ items: [{ price: retired.id }], add_invoice_items: [{ price: fee.id }], iterations: 2 }],
    });
    for (const p of [retired, fee]) await ok(t, 'POST', `/v1/prices/${p.id}`, { active: false });
    await t.advance(clock, '2026-02-01T02:00:00Z');
    const started = await get(t, `${schedules}/${sched.id}`);
    expect(started.status).toBe('active');
    expect(await totals(started.subscription)).toEqual([[7_500, 'subscription_create', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z']]);
  });

  it('schedules the move off a grandfathered (archived) price: the schedule goes on billing the prices it has', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const product = (await get(t, `/v1/prices/${await t.priceId('community_monthly')}`)).product;
    const legacy = await ok(t, 'POST', '/v1/prices', { currency: 'usd', product, unit_amount: 5_000, recurring: { interval: 'month' } });
    const sub = await subscribe(t, { customer, items: [{ price: legacy.id }], trial_end: 'now' });
    await ok(t, 'POST', `/v1/prices/${legacy.id}`, { active: false });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const community = await t.priceId('community_monthly');
    const moved = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: legacy.id, quantity: 1 }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: community }], iterations: 1 },
      ],
    });
    expect(moved.phases.map((p: { items: { price: string }[] }) => p.items[0]!.price)).toEqual([legacy.id, community]);
    // An archived price the schedule does not have is still refused.
    const other = await ok(t, 'POST', '/v1/prices', { currency: 'usd', product, unit_amount: 6_000, recurring: { interval: 'month' } });
    await ok(t, 'POST', `/v1/prices/${other.id}`, { active: false });
    const refused = await t.call({
      method: 'POST',
      url: `${schedules}/${sched.id}`,
      payload: { phases: [{ items: [{ price: legacy.id, quantity: 1 }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date }, { items: [{ price: other.id }], iterations: 1 }] },
    });
    expect(errorOf(refused)).toEqual([400, 'parameter_invalid', 'phases[1][items][0][price]']);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect(await totals(sub.id)).toEqual([
      [5_000, 'subscription_create', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
      [9_700, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
    ]);
  });

  it('prices phases inline (price_data): a custom first phase with an onboarding fee, then Community', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const product = (await get(t, `/v1/prices/${await t.priceId('community_monthly')}`)).product;
    const community = await t.priceId('community_monthly');
    const prices = async () => (await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM prices`)).rows[0]!.n;
    const before = await prices();
    const bad = await t.call({
      method: 'POST',
      url: schedules,
      payload: { customer, start_date: 'now', phases: [{ items: [{ price_data: { currency: 'usd', product: 'prod_missing', unit_amount: 1, recurring: { interval: 'month' } } }], iterations: 1 }] },
    });
    expect(errorOf(bad)).toEqual([404, 'resource_missing', 'phases[0][items][0][price_data][product]']);
    expect(await prices()).toBe(before);

    const sched = await ok(t, 'POST', schedules, {
      customer,
      start_date: 'now',
      phases: [
        {
          items: [{ price_data: { currency: 'usd', product, unit_amount: 12_000, recurring: { interval: 'month' } } }],
          add_invoice_items: [{ price_data: { currency: 'usd', product, unit_amount: 25_000 } }],
          iterations: 2,
        },
        { items: [{ price: community }], iterations: 1 },
      ],
    });
    const custom = sched.phases[0].items[0].price;
    expect((await get(t, `/v1/prices/${custom}`)).active).toBe(false);
    // Sent back as read (the inline prices by id), the phases are taken.
    const ids = (list: { price: string; quantity: number }[]) => list.map((i) => ({ price: i.price, quantity: i.quantity }));
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      phases: sched.phases.map((p: any) => ({ items: ids(p.items), add_invoice_items: ids(p.add_invoice_items), start_date: p.start_date, end_date: p.end_date })),
    });
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    expect(await totals(sched.subscription)).toEqual([
      [37_000, 'subscription_create', '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
      [12_000, 'subscription_cycle', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'],
      [9_700, 'subscription_cycle', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    ]);
  });

  it('keeps the books (and the books see a schedule its subscription no longer carries)', async () => {
    const { sub } = await groupOnClock();
    const sched = await downgradeAtPeriodEnd(sub);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
    // Every schedule this file made, in every state, is the object the OpenAPI document describes.
    const all = await get(t, `${schedules}?limit=100`);
    expect(new Set(all.data.map((x: { status: string }) => x.status))).toEqual(new Set(['active', 'released', 'canceled', 'completed']));
    for (const x of all.data) expect(subscriptionScheduleObject.safeParse(x).error).toBeUndefined();
    await t.testDb.db.query(`UPDATE subscriptions SET pending_schedule = NULL WHERE id = $1`, [sub.id]);
    expect((await checkBooks(t.testDb.db)).map((p) => [p.check, (p.detail as { id: string }).id])).toEqual([['an active schedule is carried by its live subscription, and only by it', sched.id]]);
  });
});
