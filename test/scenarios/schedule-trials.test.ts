import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { checkBooks } from '../helpers/books.js';
import { subscriptionScheduleObject } from '../../src/modules/subscription-schedules/schemas.js';
import { advanceTo, communityOnClock, errorOf, events, get, iso, ok, subscribe, unix, type BillingApp, type Inv } from './support.js';

// Subscription schedule phases with trials (Stripe's `trial` and `trial_end` on a phase): free from the
// phase's start to the trial's end, where the billing cycle is anchored. Community is 9,700 a month,
// Group 150,000.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const schedules = '/v1/subscription_schedules';
const invoices = async (sub: string) => (await t.invoices(sub)).map((i: Inv) => [iso(i.period_start), iso(i.period_end), i.total, i.billing_reason]);
const phaseDates = (s: { phases: { start_date: number; end_date: number; trial_end: number | null }[] }) =>
  s.phases.map((p) => [iso(p.start_date), iso(p.end_date), p.trial_end === null ? null : iso(p.trial_end)]);

describe('subscription schedule phases with trials', () => {
  it('a customer’s schedule: a 14-day trial, Community monthly from Jan 15 to Apr 15, then Group', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [
        { items: [{ price: community }], trial_end: unix('2026-01-15T00:00:00Z'), end_date: unix('2026-04-15T00:00:00Z') },
        { items: [{ price: group }], iterations: 1 },
      ],
    });
    expect(phaseDates(sched)).toEqual([
      ['2026-01-01T00:00:00Z', '2026-04-15T00:00:00Z', '2026-01-15T00:00:00Z'],
      ['2026-04-15T00:00:00Z', '2026-05-15T00:00:00Z', null],
    ]);
    expect(subscriptionScheduleObject.safeParse(sched).error).toBeUndefined();
    const subId = sched.subscription as string;
    const sub = await t.sub(subId);
    expect([sub.status, iso(sub.trial_start), iso(sub.trial_end), iso(sub.billing_cycle_anchor)]).toEqual(['trialing', '2026-01-01T00:00:00Z', '2026-01-15T00:00:00Z', '2026-01-15T00:00:00Z']);
    for (const at of ['2026-01-15', '2026-02-15', '2026-03-15', '2026-04-15', '2026-05-15']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect(await invoices(subId)).toEqual([
      ['2026-01-01T00:00:00Z', '2026-01-15T00:00:00Z', 0, 'subscription_create'],
      ['2026-01-15T00:00:00Z', '2026-02-15T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-02-15T00:00:00Z', '2026-03-15T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-03-15T00:00:00Z', '2026-04-15T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-04-15T00:00:00Z', '2026-05-15T00:00:00Z', 150_000, 'subscription_cycle'],
      // Released: Group goes on.
      ['2026-05-15T00:00:00Z', '2026-06-15T00:00:00Z', 150_000, 'subscription_cycle'],
    ]);
    expect((await events(t, customer, 'customer.subscription.trial_will_end')).map((e) => iso(e.created))).toEqual(['2026-01-12T00:00:00Z']);
  });

  it('a whole-phase trial of Group from Feb 1 (trial: true): $0 for February, 150,000 from Mar 1; the preview shows the $0 invoice', async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: group }], trial: true, iterations: 1 },
        { items: [{ price: group }], iterations: 2 },
      ],
    });
    expect(phaseDates(updated)).toEqual([
      ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', null],
      ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z'],
      ['2026-03-01T00:00:00Z', '2026-05-01T00:00:00Z', null],
    ]);
    const upcoming = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([upcoming.total, upcoming.lines.data.map((l: { description: string; amount: number }) => [l.description, l.amount])]).toEqual([0, [['Trial period for Group Coaching Programs', 0]]]);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const feb = await t.sub(sub.id);
    expect([feb.status, iso(feb.trial_start), iso(feb.trial_end), iso(feb.current_period_end), feb.items.data[0].price.id]).toEqual([
      'trialing',
      '2026-02-01T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:00:00Z',
      group,
    ]);
    for (const at of ['2026-03-01', '2026-04-01', '2026-05-01']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect(await invoices(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 9700, 'subscription_create'],
      ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 0, 'subscription_cycle'],
      ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 150_000, 'subscription_cycle'],
      ['2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 150_000, 'subscription_cycle'],
      ['2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', 150_000, 'subscription_cycle'],
    ]);
    expect((await t.sub(sub.id)).status).toBe('active');
    expect((await events(t, customer, 'customer.subscription.trial_will_end')).map((e) => iso(e.created))).toEqual(['2026-02-26T00:00:00Z']);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('a trial ending inside the phase (Feb 11) anchors the cycle there: $0 for Feb 1–11, then 9,700 each Feb 11, Mar 11, Apr 11', async () => {
    const community = await t.priceId('community_monthly');
    const { clock, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: community }], trial_end: unix('2026-02-11T00:00:00Z'), end_date: unix('2026-04-11T00:00:00Z') },
      ],
    });
    for (const at of ['2026-02-01', '2026-02-11', '2026-03-11', '2026-04-11']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect(await invoices(sub.id)).toEqual([
      ['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z', 9700, 'subscription_create'],
      ['2026-02-01T00:00:00Z', '2026-02-11T00:00:00Z', 0, 'subscription_cycle'],
      ['2026-02-11T00:00:00Z', '2026-03-11T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-03-11T00:00:00Z', '2026-04-11T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-04-11T00:00:00Z', '2026-05-11T00:00:00Z', 9700, 'subscription_cycle'],
    ]);
    expect(iso((await t.sub(sub.id)).billing_cycle_anchor)).toBe('2026-02-11T00:00:00Z');
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
  });

  it('refuses trials it cannot place, naming the parameter; a trialing subscription’s phase shows its trial', async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const { sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const phase0 = { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date };
    const call = (phases: unknown[]) => t.call({ method: 'POST', url: `${schedules}/${sched.id}`, payload: { phases } });
    const next = (extra: Record<string, unknown>) => ({ items: [{ price: group }], ...extra });
    expect(errorOf(await call([phase0, next({ trial: true, trial_end: unix('2026-02-10T00:00:00Z'), iterations: 1 })]))).toEqual([400, 'parameter_invalid', 'phases[1][trial]']);
    expect(errorOf(await call([phase0, next({ trial_end: unix('2026-02-10T00:00:00Z'), iterations: 2 })]))).toEqual([400, 'parameter_invalid', 'phases[1][iterations]']);
    expect(errorOf(await call([phase0, next({ trial_end: unix('2026-02-10T00:00:00Z') })]))).toEqual([400, 'parameter_missing', 'phases[1][end_date]']);
    expect(errorOf(await call([phase0, next({ trial_end: unix('2026-03-01T00:00:00Z'), end_date: unix('2026-03-01T00:00:00Z') })]))).toEqual([400, 'parameter_invalid', 'phases[1][trial_end]']);
    expect(errorOf(await call([phase0, next({ trial_end: unix('2026-02-01T00:00:00Z'), end_date: unix('2026-03-01T00:00:00Z') })]))).toEqual([400, 'parameter_invalid', 'phases[1][trial_end]']);
    expect(errorOf(await call([phase0, next({ trial: true, duration: { interval: 'year', interval_count: 3 } })]))).toEqual([400, 'parameter_invalid', 'phases[1][trial]']);
    // A phase starting inside a period (Jan 20) cannot start with a trial.
    expect(errorOf(await call([{ ...phase0, end_date: unix('2026-01-20T00:00:00Z') }, next({ trial: true, end_date: unix('2026-03-01T00:00:00Z') })]))).toEqual([400, 'parameter_invalid', 'phases[1][trial]']);
    // The phase in force keeps its trial (none).
    expect(errorOf(await call([{ ...phase0, trial_end: unix('2026-01-20T00:00:00Z') }, next({})]))).toEqual([400, 'parameter_invalid', 'phases[0][trial_end]']);
    expect((await get(t, `${schedules}/${sched.id}`)).phases).toHaveLength(1);

    // A trialing subscription taken over: its phase shows the trial, which stays when the phases are set again.
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const trialing = await subscribe(t, { customer, items: [{ price: community }], trial_end: unix('2026-01-10T00:00:00Z') });
    const mine = await ok(t, 'POST', schedules, { from_subscription: trialing.id });
    expect(phaseDates(mine)).toEqual([['2026-01-01T00:00:00Z', '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z']]);
    // Its phase cannot end before the trial does: Group would start on Jan 6 while the subscription is trialing.
    const cut = { items: [{ price: community }], start_date: mine.phases[0].start_date };
    const shorter = (length: Record<string, unknown>) =>
      t.call({ method: 'POST', url: `${schedules}/${mine.id}`, payload: { phases: [{ ...cut, ...length }, { items: [{ price: group }], billing_cycle_anchor: 'phase_start', iterations: 1 }] } });
    expect(errorOf(await shorter({ end_date: unix('2026-01-06T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'phases[0][end_date]']);
    expect(errorOf(await shorter({ duration: { interval: 'day', interval_count: 5 } }))).toEqual([400, 'parameter_invalid', 'phases[0][duration]']);
    expect(phaseDates(await get(t, `${schedules}/${mine.id}`))).toEqual([['2026-01-01T00:00:00Z', '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z']]);
    const again = await ok(t, 'POST', `${schedules}/${mine.id}`, {
      phases: [{ items: [{ price: community }], start_date: mine.phases[0].start_date, end_date: mine.phases[0].end_date }, { items: [{ price: group }], iterations: 1 }],
    });
    expect(phaseDates(again)[0]).toEqual(['2026-01-01T00:00:00Z', '2026-01-10T00:00:00Z', '2026-01-10T00:00:00Z']);
    await advanceTo(t, clock, '2026-01-10T02:00:00Z');
    expect((await invoices(trialing.id)).map((r) => r[2])).toEqual([0, 150_000]);
  });
});

describe('backdated subscription schedules (a start_date in the past)', () => {
  it('on Jan 20, a schedule from Jan 1: its subscription starts Jan 1, January is billed now (9,700), and the phases run from Jan 1', async () => {
    const clock = await t.clockAt('2026-01-20T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, {
      customer,
      start_date: unix('2026-01-01T00:00:00Z'),
      phases: [{ items: [{ price: community }], iterations: 2 }, { items: [{ price: group }], iterations: 1 }],
    });
    expect([sched.status, phaseDates(sched)]).toEqual([
      'active',
      [
        ['2026-01-01T00:00:00Z', '2026-03-01T00:00:00Z', null],
        ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', null],
      ],
    ]);
    const sub = await t.sub(sched.subscription);
    expect([iso(sub.start_date), iso(sub.current_period_start), iso(sub.current_period_end), iso(sub.billing_cycle_anchor), sub.status]).toEqual([
      '2026-01-01T00:00:00Z',
      '2026-01-20T00:00:00Z',
      '2026-02-01T00:00:00Z',
      '2026-01-01T00:00:00Z',
      'active',
    ]);
    const first = (await t.invoices(sub.id))[0]!;
    expect(first.lines.data.map((l) => [l.description, l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([
      ['Remaining time on Community Access after Jan 1, 2026', 9700, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    ]);
    for (const at of ['2026-02-01', '2026-03-01', '2026-04-01']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect(await invoices(sub.id)).toEqual([
      ['2026-01-20T00:00:00Z', '2026-02-01T00:00:00Z', 9700, 'subscription_create'],
      ['2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 9700, 'subscription_cycle'],
      ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 150_000, 'subscription_cycle'],
      ['2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 150_000, 'subscription_cycle'],
    ]);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
  });

  it('from Jan 31 on Feb 10: the first period ends Feb 28 and the next Mar 31, as the phases count from Jan 31', async () => {
    const clock = await t.clockAt('2026-02-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const sched = await ok(t, 'POST', schedules, { customer, start_date: unix('2026-01-31T00:00:00Z'), phases: [{ items: [{ price: community }], iterations: 3 }] });
    expect(phaseDates(sched)).toEqual([['2026-01-31T00:00:00Z', '2026-04-30T00:00:00Z', null]]);
    for (const at of ['2026-02-28', '2026-03-31']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect((await invoices(sched.subscription)).map((r) => [r[0], r[1], r[2]])).toEqual([
      ['2026-02-10T00:00:00Z', '2026-02-28T00:00:00Z', 9700],
      ['2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z', 9700],
      ['2026-03-31T00:00:00Z', '2026-04-30T00:00:00Z', 9700],
    ]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('refuses a start so far back that the first phase has ended, or with a trial on it', async () => {
    const clock = await t.clockAt('2026-03-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const create = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: schedules, payload: { customer, ...payload } });
    expect(errorOf(await create({ start_date: unix('2026-01-01T00:00:00Z'), phases: [{ items: [{ price: community }], iterations: 2 }] }))).toEqual([400, 'parameter_invalid', 'start_date']);
    expect(errorOf(await create({ start_date: unix('2026-03-01T00:00:00Z'), phases: [{ items: [{ price: community }], iterations: 1, trial: true }] }))).toEqual([400, 'parameter_invalid', 'start_date']);
    expect((await get(t, `${schedules}?customer=${customer}`)).data).toEqual([]);
  });
});
