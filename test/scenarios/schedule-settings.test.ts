import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { checkBooks } from '../helpers/books.js';
import { subscriptionScheduleObject } from '../../src/modules/subscription-schedules/schemas.js';
import { advanceTo, communityOnClock, errorOf, get, iso, ok, unix, type BillingApp } from './support.js';

// How a schedule's phases collect: collection_method, invoice_settings.days_until_due and
// default_payment_method on a phase, or in the schedule's default_settings. The enterprise case: paid by
// card at first, then invoiced (net 30) from a later phase. Community is 9,700 a month, Group 150,000.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const schedules = '/v1/subscription_schedules';
type Invoice = { total: number; status: string; collection_method: string; due_date: number | null; period_start: number; payment_intent: string | null; lines: { data: { amount: number }[] } };
const invoiceRows = async (sub: string) =>
  ((await t.invoices(sub)) as unknown as Invoice[]).map((i) => [iso(i.period_start), i.total, i.collection_method, i.status, i.due_date === null ? null : iso(i.due_date)]);

/**
 * Community from Jan 1 taken over by a schedule. `groupFrom16(next, extra)` ends the phase in force on
 * Jan 16 and puts Group (with `next`'s terms) after it, in an update that may carry `extra`.
 */
async function communityUntilJan16() {
  const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
  const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
  const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
  const groupFrom16 = (next: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    ok(t, 'POST', `${schedules}/${sched.id}`, {
      ...extra,
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z') },
        { items: [{ price: group }], ...next },
      ],
    });
  return { clock, customer, sub, sched, community, groupFrom16 };
}

describe('subscription schedule phases: how they collect', () => {
  it('by card for two months, invoiced net 30 for March, then by card again (the defaults): the renewal bills each as its phase says', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const sched = await ok(t, 'POST', schedules, {
      customer,
      default_settings: { collection_method: 'charge_automatically' },
      phases: [
        { items: [{ price: community }], iterations: 2 },
        { items: [{ price: group }], iterations: 1, collection_method: 'send_invoice', invoice_settings: { days_until_due: 30 } },
        { items: [{ price: group }], iterations: 1 },
      ],
    });
    expect(subscriptionScheduleObject.safeParse(sched).error).toBeUndefined();
    expect(sched.phases.map((p: { collection_method: string | null; invoice_settings: { days_until_due: number } | null }) => [p.collection_method, p.invoice_settings?.days_until_due ?? null])).toEqual([
      [null, null],
      ['send_invoice', 30],
      [null, null],
    ]);
    expect(sched.default_settings.collection_method).toBe('charge_automatically');
    const subId = sched.subscription as string;
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    // The preview of Mar 1 is an invoice to send: no payment attempt.
    const upcoming = await get(t, `/v1/invoices/upcoming?subscription=${subId}`);
    expect([upcoming.total, upcoming.collection_method, upcoming.next_payment_attempt, iso(upcoming.due_date)]).toEqual([150_000, 'send_invoice', null, '2026-03-31T00:00:00Z']);
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    const march = await t.sub(subId);
    expect([march.collection_method, march.days_until_due]).toEqual(['send_invoice', 30]);
    await advanceTo(t, clock, '2026-04-01T02:00:00Z');
    expect(await invoiceRows(subId)).toEqual([
      ['2026-01-01T00:00:00Z', 9700, 'charge_automatically', 'paid', null],
      ['2026-02-01T00:00:00Z', 9700, 'charge_automatically', 'paid', null],
      ['2026-03-01T00:00:00Z', 150_000, 'send_invoice', 'open', '2026-03-31T00:00:00Z'],
      ['2026-04-01T00:00:00Z', 150_000, 'charge_automatically', 'paid', null],
    ]);
    const april = await t.sub(subId);
    expect([april.collection_method, april.days_until_due]).toEqual(['charge_automatically', null]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it("a phase's default payment method pays its invoices; one detached before its phase starts is left out", async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const { clock, customer, sub } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const mastercard = await ok(t, 'POST', '/v1/payment_methods/pm_card_mastercard/attach', { customer });
    const amex = await ok(t, 'POST', '/v1/payment_methods/pm_card_amex/attach', { customer });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: group }], iterations: 1, default_payment_method: mastercard.id },
        { items: [{ price: group }], iterations: 1, default_payment_method: amex.id },
      ],
    });
    await ok(t, 'POST', `/v1/payment_methods/${amex.id}/detach`, {});
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    expect((await t.sub(sub.id)).default_payment_method).toBe(mastercard.id);
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    // The detached card is not put in place: mastercard stays the subscription's.
    expect((await t.sub(sub.id)).default_payment_method).toBe(mastercard.id);
    const paidWith = async (i: number) => {
      const inv = ((await t.invoices(sub.id)) as unknown as Invoice[])[i]!;
      return (await get(t, `/v1/payment_intents/${inv.payment_intent}`)).payment_method;
    };
    expect([await paidWith(1), await paidWith(2)]).toEqual([mastercard.id, mastercard.id]);
    expect((await paidWith(0)) === mastercard.id).toBe(false);
  });

  it('a phase inside a period with always_invoice and send_invoice: the change is invoiced, not charged (72,413, due in 14 days)', async () => {
    const { clock, sub, groupFrom16 } = await communityUntilJan16();
    await groupFrom16({ end_date: unix('2026-02-01T00:00:00Z'), proration_behavior: 'always_invoice', collection_method: 'send_invoice', invoice_settings: { days_until_due: 14 } });
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    const rows = await invoiceRows(sub.id);
    expect(rows[1]).toEqual(['2026-01-16T00:00:00Z', 72_413, 'send_invoice', 'open', '2026-01-30T00:00:00Z']);
    expect((await t.sub(sub.id)).collection_method).toBe('send_invoice');
  });

  it("a phase inside a period with always_invoice: the change's invoice (72,413) is paid with the phase's card", async () => {
    const { clock, customer, sub, groupFrom16 } = await communityUntilJan16();
    const mastercard = await ok(t, 'POST', '/v1/payment_methods/pm_card_mastercard/attach', { customer });
    await groupFrom16({ end_date: unix('2026-02-01T00:00:00Z'), proration_behavior: 'always_invoice', default_payment_method: mastercard.id });
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    const change = ((await t.invoices(sub.id)) as unknown as Invoice[])[1]!;
    expect([change.total, change.status]).toEqual([72_413, 'paid']);
    expect((await get(t, `/v1/payment_intents/${change.payment_intent}`)).payment_method).toBe(mastercard.id);
    expect((await t.sub(sub.id)).default_payment_method).toBe(mastercard.id);
  });

  it("a phase's metadata and description update the subscription's when the phase is entered (an empty value unsets a key)", async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const sched = await ok(t, 'POST', schedules, {
      customer,
      phases: [
        { items: [{ price: community }], iterations: 1, metadata: { plan: 'intro', cohort: 'jan' }, description: 'Intro month' },
        { items: [{ price: community }], iterations: 1, metadata: { plan: 'standard', cohort: '' } },
        { items: [{ price: community }], iterations: 1, description: 'Member' },
      ],
    });
    expect(sched.phases.map((p: { description: string | null }) => p.description)).toEqual(['Intro month', null, 'Member']);
    const subId = sched.subscription as string;
    expect([(await t.sub(subId)).metadata, (await t.sub(subId)).description]).toEqual([{ plan: 'intro', cohort: 'jan' }, 'Intro month']);
    await ok(t, 'POST', `/v1/subscriptions/${subId}`, { metadata: { owner: 'coach' } });
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    // A phase without a description leaves the subscription's as it is.
    expect([(await t.sub(subId)).metadata, (await t.sub(subId)).description]).toEqual([{ plan: 'standard', owner: 'coach' }, 'Intro month']);
    await advanceTo(t, clock, '2026-03-01T02:00:00Z');
    expect((await t.sub(subId)).description).toBe('Member');
  });

  it('refuses settings that do not go together, naming the parameter, and writes nothing', async () => {
    const [community, group] = [await t.priceId('community_monthly'), await t.priceId('group_monthly')];
    const { sub, customer } = await communityOnClock(t, '2026-01-01T00:00:00Z');
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const phase0 = { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date };
    const call = (payload: Record<string, unknown>) => t.call({ method: 'POST', url: `${schedules}/${sched.id}`, payload });
    const next = (extra: Record<string, unknown>) => ({ items: [{ price: group }], iterations: 1, ...extra });
    expect(errorOf(await call({ phases: [phase0, next({ collection_method: 'send_invoice' })] }))).toEqual([400, 'parameter_missing', 'phases[1][invoice_settings][days_until_due]']);
    expect(errorOf(await call({ phases: [phase0, next({ invoice_settings: { days_until_due: 5 } })] }))).toEqual([400, 'parameter_invalid', 'phases[1][invoice_settings][days_until_due]']);
    expect(errorOf(await call({ default_settings: { invoice_settings: { days_until_due: 5 } } }))).toEqual([400, 'parameter_invalid', 'default_settings[invoice_settings][days_until_due]']);
    expect(errorOf(await call({ phases: [phase0, next({ default_payment_method: 'pm_nope' })] }))[2]).toBe('phases[1][default_payment_method]');
    expect(errorOf(await call({ phases: [{ ...phase0, collection_method: 'send_invoice', invoice_settings: { days_until_due: 3 } }, next({})] }))).toEqual([400, 'parameter_invalid', 'phases[0][collection_method]']);
    // Defaults that a stored phase no longer agrees with: its own days_until_due needs send_invoice.
    await ok(t, 'POST', `${schedules}/${sched.id}`, { default_settings: { collection_method: 'send_invoice', invoice_settings: { days_until_due: 30 } }, phases: [phase0, next({ invoice_settings: { days_until_due: 7 } })] });
    expect(errorOf(await call({ default_settings: { collection_method: 'charge_automatically' } }))).toEqual([400, 'parameter_invalid', 'phases[1][invoice_settings][days_until_due]']);
    const kept = await get(t, `${schedules}/${sched.id}`);
    expect([kept.default_settings.collection_method, kept.default_settings.invoice_settings.days_until_due, kept.phases[1].invoice_settings.days_until_due]).toEqual(['send_invoice', 30, 7]);
    // The subscription still collects by card until the phase starts.
    expect((await t.sub(sub.id)).collection_method).toBe('charge_automatically');
    const other = await t.call({ method: 'POST', url: schedules, payload: { customer, default_settings: { collection_method: 'send_invoice' }, phases: [{ items: [{ price: community }] }] } });
    expect(errorOf(other)).toEqual([400, 'parameter_missing', 'default_settings[invoice_settings][days_until_due]']);
  });
});

describe("subscription schedule phases: billing_cycle_anchor=phase_start", () => {
  it('anchored Jan 31: a phase from Feb 28 anchored at its start bills Feb 28, Mar 28, Apr 28 (the clamp kept, not undone)', async () => {
    const clock = await t.clockAt('2026-01-31T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: community }], trial_end: 'now' });
    const sched = await ok(t, 'POST', schedules, { from_subscription: sub.id });
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, {
      phases: [
        { items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: sched.phases[0].end_date },
        { items: [{ price: community, quantity: 2 }], iterations: 2, billing_cycle_anchor: 'phase_start' },
      ],
    });
    expect(updated.phases.map((p: { start_date: number; end_date: number; billing_cycle_anchor: string | null }) => [iso(p.start_date), iso(p.end_date), p.billing_cycle_anchor])).toEqual([
      ['2026-01-31T00:00:00Z', '2026-02-28T00:00:00Z', null],
      ['2026-02-28T00:00:00Z', '2026-04-28T00:00:00Z', 'phase_start'],
    ]);
    for (const at of ['2026-02-28', '2026-03-28', '2026-04-28']) await advanceTo(t, clock, `${at}T02:00:00Z`);
    expect(((await t.invoices(sub.id)) as unknown as Invoice[]).map((i) => [iso(i.period_start), i.total])).toEqual([
      ['2026-01-31T00:00:00Z', 9700],
      ['2026-02-28T00:00:00Z', 19_400],
      ['2026-03-28T00:00:00Z', 19_400],
      ['2026-04-28T00:00:00Z', 19_400],
    ]);
    expect(iso((await t.sub(sub.id)).billing_cycle_anchor)).toBe('2026-02-28T00:00:00Z');
  });

  it('a phase from Jan 16 anchored at its start: unused Community credited (−5,006) and a full Group month invoiced then (144,994), renewing on the 16th', async () => {
    const { clock, sub, sched, community, groupFrom16 } = await communityUntilJan16();
    const updated = await groupFrom16({ iterations: 1, billing_cycle_anchor: 'phase_start' });
    expect(iso(updated.phases[1].end_date)).toBe('2026-02-16T00:00:00Z');
    // The phase in force keeps the cycle it started on.
    const moved = await t.call({
      method: 'POST',
      url: `${schedules}/${sched.id}`,
      payload: { phases: [{ items: [{ price: community }], start_date: sched.phases[0].start_date, end_date: unix('2026-01-16T00:00:00Z'), billing_cycle_anchor: 'phase_start' }] },
    });
    expect(errorOf(moved)).toEqual([400, 'parameter_invalid', 'phases[0][billing_cycle_anchor]']);
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    await advanceTo(t, clock, '2026-02-16T02:00:00Z');
    expect(((await t.invoices(sub.id)) as unknown as Invoice[]).map((i) => [iso(i.period_start), i.total, i.status])).toEqual([
      ['2026-01-01T00:00:00Z', 9700, 'paid'],
      ['2026-01-16T00:00:00Z', 144_994, 'paid'],
      ['2026-02-16T00:00:00Z', 150_000, 'paid'],
    ]);
    expect((await get(t, `${schedules}/${sched.id}`)).status).toBe('released');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it('default_settings.billing_cycle_anchor=phase_start, set after the phases, anchors a phase that sets none (−5,006, 144,994 on Jan 16)', async () => {
    const { clock, sub, sched, groupFrom16 } = await communityUntilJan16();
    await groupFrom16({ end_date: unix('2026-02-16T00:00:00Z') });
    // The default alone: the step already on the subscription is put there again with it.
    const updated = await ok(t, 'POST', `${schedules}/${sched.id}`, { default_settings: { billing_cycle_anchor: 'phase_start' } });
    expect([updated.default_settings.billing_cycle_anchor, updated.phases.map((p: { billing_cycle_anchor: string | null }) => p.billing_cycle_anchor)]).toEqual(['phase_start', [null, null]]);
    await advanceTo(t, clock, '2026-01-16T01:00:00Z');
    await advanceTo(t, clock, '2026-02-16T02:00:00Z');
    expect(((await t.invoices(sub.id)) as unknown as Invoice[]).map((i) => [iso(i.period_start), i.total, i.status])).toEqual([
      ['2026-01-01T00:00:00Z', 9700, 'paid'],
      ['2026-01-16T00:00:00Z', 144_994, 'paid'],
      ['2026-02-16T00:00:00Z', 150_000, 'paid'],
    ]);
    expect(iso((await t.sub(sub.id)).billing_cycle_anchor)).toBe('2026-01-16T00:00:00Z');
    expect(await checkBooks(t.testDb.db)).toEqual([]);
  });

  it("a phase's own billing_cycle_anchor=automatic wins over the default: prorated on Jan 16 (−5,006 + 77,419), billed with February's 150,000 on Feb 1", async () => {
    const { clock, sub, groupFrom16 } = await communityUntilJan16();
    const updated = await groupFrom16({ end_date: unix('2026-03-01T00:00:00Z'), billing_cycle_anchor: 'automatic' }, { default_settings: { billing_cycle_anchor: 'phase_start' } });
    expect(updated.phases.map((p: { billing_cycle_anchor: string | null }) => p.billing_cycle_anchor)).toEqual([null, 'automatic']);
    await advanceTo(t, clock, '2026-02-01T02:00:00Z');
    const invoices = (await t.invoices(sub.id)) as unknown as Invoice[];
    expect(invoices.map((i) => [iso(i.period_start), i.total, i.status])).toEqual([
      ['2026-01-01T00:00:00Z', 9700, 'paid'],
      ['2026-02-01T00:00:00Z', 222_413, 'paid'],
    ]);
    expect(invoices[1]!.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-5006, 77_419, 150_000]);
    expect(iso((await t.sub(sub.id)).billing_cycle_anchor)).toBe('2026-01-01T00:00:00Z');
  });
});
