import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { advanceTo, errorOf, iso, ok, unix, type BillingApp, type Inv } from './support.js';

// Stripe's backdate_start_date (classic billing mode), for members who had access before their
// subscription was created (or who are migrated from another system): the time since the backdated
// start is billed on the first invoice, prorated over an imagined interval starting on the backdated
// start. Community is 9,700 a month.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const lines = (i: Inv) => i.lines.data.map((l) => [l.description, l.amount, iso(l.period.start), iso(l.period.end), l.proration]);

async function backdated(at: string, payload: Record<string, unknown>) {
  const clock = await t.clockAt(at);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], ...payload });
  return { clock, customer, sub, first: (await t.invoices(sub.id))[0]! };
}

describe('backdate_start_date', () => {
  it("Stripe's example: on Mar 1, backdated to Feb 15 — 14 of the 28 days of Feb 15–Mar 15 are half a month (4,850), with March (9,700)", async () => {
    const { clock, sub, first } = await backdated('2026-03-01T00:00:00Z', { backdate_start_date: unix('2026-02-15T00:00:00Z') });
    expect([sub.status, iso(sub.start_date), iso(sub.billing_cycle_anchor), iso(sub.current_period_start), iso(sub.current_period_end), sub.trial_end]).toEqual([
      'active',
      '2026-02-15T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-04-01T00:00:00Z',
      null,
    ]);
    expect([first.total, first.status, first.billing_reason]).toEqual([14_550, 'paid', 'subscription_create']);
    expect(lines(first)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', false],
      ['Remaining time on Community Access after Feb 15, 2026', 4850, '2026-02-15T00:00:00Z', '2026-03-01T00:00:00Z', true],
    ]);
    await advanceTo(t, clock, '2026-04-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => i.total)).toEqual([14_550, 9700]);
  });

  it('backdated to Jan 15 on Feb 1: 17 of the 31 days of Jan 15–Feb 15, 9,700 × 17/31 = 5,319.35 → 5,319; the price’s trial does not apply', async () => {
    const { sub, first } = await backdated('2026-02-01T00:00:00Z', { backdate_start_date: unix('2026-01-15T00:00:00Z') });
    // Community has a 30-day default trial: a backdated subscription started in the past, without it.
    expect([sub.status, sub.trial_end, first.total]).toEqual(['active', null, 15_019]);
    expect(lines(first)[1]).toEqual(['Remaining time on Community Access after Jan 15, 2026', 5319, '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z', true]);
  });

  it('with proration_behavior none: the start is kept for the record, nothing before now is billed', async () => {
    const { sub, first } = await backdated('2026-03-01T00:00:00Z', { backdate_start_date: unix('2025-06-01T00:00:00Z'), proration_behavior: 'none' });
    expect([iso(sub.start_date), first.total, lines(first).length]).toEqual(['2025-06-01T00:00:00Z', 9700, 1]);
  });

  it("Stripe's migration example: on Oct 15, started Sep 1, next billing date Nov 1 — Sep 1 to Nov 1 over the 30 days of Sep 1–Oct 1 (19,723), then 9,700 each month", async () => {
    const { clock, sub, first } = await backdated('2026-10-15T00:00:00Z', {
      backdate_start_date: unix('2026-09-01T00:00:00Z'),
      billing_cycle_anchor: unix('2026-11-01T00:00:00Z'),
    });
    // 9,700 × 61/30 = 19,723.33 → 19,723.
    expect([first.total, lines(first)]).toEqual([19_723, [['Remaining time on Community Access after Sep 1, 2026', 19_723, '2026-09-01T00:00:00Z', '2026-11-01T00:00:00Z', true]]]);
    expect([iso(sub.start_date), iso(sub.current_period_end)]).toEqual(['2026-09-01T00:00:00Z', '2026-11-01T00:00:00Z']);
    await advanceTo(t, clock, '2026-11-01T02:00:00Z');
    expect((await t.invoices(sub.id)).map((i) => [iso(i.period_start), i.total])).toEqual([
      ['2026-10-15T00:00:00Z', 19_723],
      ['2026-11-01T00:00:00Z', 9700],
    ]);
  });

  it('refuses a start that is not in the past, or a trial with it, and writes nothing', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    const create = (extra: Record<string, unknown>) => t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price }], ...extra } });
    expect(errorOf(await create({ backdate_start_date: unix('2026-03-01T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'backdate_start_date']);
    expect(errorOf(await create({ backdate_start_date: unix('2026-02-01T00:00:00Z'), trial_period_days: 7 }))).toEqual([400, 'parameter_invalid', 'backdate_start_date']);
    expect(errorOf(await create({ backdate_start_date: unix('2026-02-01T00:00:00Z'), trial_end: unix('2026-03-10T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'backdate_start_date']);
    // Billed time reaches back 730 days at most; kept for the record only, any start.
    expect(errorOf(await create({ backdate_start_date: unix('2024-02-29T00:00:00Z') }))).toEqual([400, 'parameter_invalid', 'backdate_start_date']);
    expect((await ok(t, 'GET', `/v1/subscriptions?customer=${customer}`)).data).toEqual([]);
    const old = await ok(t, 'POST', '/v1/subscriptions', { customer, items: [{ price }], backdate_start_date: unix('2019-05-01T00:00:00Z'), proration_behavior: 'none' });
    expect([iso(old.start_date), (await t.invoices(old.id)).map((i) => i.total)]).toEqual(['2019-05-01T00:00:00Z', [9700]]);
  });
});
