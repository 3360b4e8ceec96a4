import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { invTuple, iso, lineTuple, secs, subscribe, unix, type BillingApp } from './support.js';

// Billing-cycle anchors: end-of-month clamping that returns to the anchor day, leap days, and an
// anchor in the future (a prorated first invoice up to it).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

/** Consecutive [start, end) pairs from a list of boundaries. */
const periods = (bounds: string[]) => bounds.slice(0, -1).map((b, i) => [b, bounds[i + 1]!] as const);

describe('anchor on Jan 31', () => {
  it('clamps to the end of shorter months and returns to the 31st (12 months)', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    expect(iso(sub.billing_cycle_anchor)).toBe('2026-01-31T10:00:00Z');
    await t.advance(clock, '2027-01-31T12:00:00Z');

    // 2026 is not a leap year: Feb 28; then back to the 31st whenever the month has one.
    const bounds = [
      '2026-01-31T10:00:00Z',
      '2026-02-28T10:00:00Z',
      '2026-03-31T10:00:00Z',
      '2026-04-30T10:00:00Z',
      '2026-05-31T10:00:00Z',
      '2026-06-30T10:00:00Z',
      '2026-07-31T10:00:00Z',
      '2026-08-31T10:00:00Z',
      '2026-09-30T10:00:00Z',
      '2026-10-31T10:00:00Z',
      '2026-11-30T10:00:00Z',
      '2026-12-31T10:00:00Z',
      '2027-01-31T10:00:00Z',
      '2027-02-28T10:00:00Z',
    ];
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 9700, 9700, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
    expect(invs.map((i) => i.lines.data.map(lineTuple))).toEqual(periods(bounds).map(([s, e]) => [['1 × Community Access (at $97.00 / month)', 9700, s, e, false]]));
    const after = await t.sub(sub.id);
    expect([iso(after.current_period_start), iso(after.current_period_end), iso(after.billing_cycle_anchor)]).toEqual([
      '2027-01-31T10:00:00Z',
      '2027-02-28T10:00:00Z',
      '2026-01-31T10:00:00Z',
    ]);
  });
});

describe('anchor on Feb 29 2028', () => {
  it('monthly: the 29th every month, Feb 28 in 2029, back to the 29th in March', async () => {
    const clock = await t.clockAt('2028-02-29T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2029-03-29T12:00:00Z');
    const bounds = [
      '2028-02-29T10:00:00Z',
      '2028-03-29T10:00:00Z',
      '2028-04-29T10:00:00Z',
      '2028-05-29T10:00:00Z',
      '2028-06-29T10:00:00Z',
      '2028-07-29T10:00:00Z',
      '2028-08-29T10:00:00Z',
      '2028-09-29T10:00:00Z',
      '2028-10-29T10:00:00Z',
      '2028-11-29T10:00:00Z',
      '2028-12-29T10:00:00Z',
      '2029-01-29T10:00:00Z',
      '2029-02-28T10:00:00Z',
      '2029-03-29T10:00:00Z',
      '2029-04-29T10:00:00Z',
    ];
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 9700, 9700, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
  });

  it('annual: Feb 28 in common years, Feb 29 again in 2032', async () => {
    const clock = await t.clockAt('2028-02-29T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_annual') }], trial_end: 'now' });
    await t.advance(clock, '2032-02-29T12:00:00Z');
    const bounds = ['2028-02-29T10:00:00Z', '2029-02-28T10:00:00Z', '2030-02-28T10:00:00Z', '2031-02-28T10:00:00Z', '2032-02-29T10:00:00Z', '2033-02-28T10:00:00Z'];
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual(periods(bounds).map(([s, e], k) => ['paid', 97_000, 97_000, s, e, k === 0 ? 'subscription_create' : 'subscription_cycle']));
    expect(invs.map((i) => i.lines.data[0]!.description)).toEqual(bounds.slice(0, -1).map(() => '1 × Community Access (at $970.00 / year)'));
  });
});

describe('billing_cycle_anchor in the future', () => {
  it('bills a prorated first invoice up to the anchor, then full periods from it', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, {
      customer,
      items: [{ price: await t.priceId('community_monthly') }],
      trial_end: 'now',
      billing_cycle_anchor: unix('2026-02-01T00:00:00Z'),
    });
    expect([sub.status, iso(sub.current_period_start), iso(sub.current_period_end), iso(sub.billing_cycle_anchor)]).toEqual([
      'active',
      '2026-01-10T00:00:00Z',
      '2026-02-01T00:00:00Z',
      '2026-02-01T00:00:00Z',
    ]);
    // The period the anchor closes is [Jan 1, Feb 1): 31 days = 2,678,400 s; Jan 10 → Feb 1 is
    // 22 days = 1,900,800 s. 9,700 × 1,900,800 / 2,678,400 = 6,883.87… → 6,884.
    expect(secs(31)).toBe(2_678_400);
    expect(secs(22)).toBe(1_900_800);
    const [first] = await t.invoices(sub.id);
    expect(invTuple(first!)).toEqual(['paid', 6884, 6884, '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z', 'subscription_create']);
    expect(first!.lines.data.map(lineTuple)).toEqual([['Remaining time on Community Access after Jan 10, 2026', 6884, '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z', true]]);

    await t.advance(clock, '2026-03-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 6884, 6884, '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z', 'subscription_create'],
      ['paid', 9700, 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', false]]);
  });
});

describe('billing_cycle_anchor limits', () => {
  it('rejects an anchor later than the next natural billing date (Stripe), instead of failing with a 500', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const price = await t.priceId('community_monthly');
    // Natural next billing date: Feb 10 00:00. Mar 20 is beyond it; Feb 10 itself is allowed.
    const late = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price }], trial_end: 'now', billing_cycle_anchor: unix('2026-03-20T00:00:00Z') } });
    expect([late.status, late.body.error?.param, late.body.error?.code]).toEqual([400, 'billing_cycle_anchor', 'parameter_invalid']);
    const edge = await subscribe(t, { customer, items: [{ price }], trial_end: 'now', billing_cycle_anchor: unix('2026-02-10T00:00:00Z') });
    // [Jan 10, Feb 10) is a whole period: 9,700 × 2,678,400 / 2,678,400 = 9,700.
    expect(invTuple((await t.invoices(edge.id))[0]!)).toEqual(['paid', 9700, 9700, '2026-01-10T00:00:00Z', '2026-02-10T00:00:00Z', 'subscription_create']);
  });

  it('a trial followed by a future anchor prorates the stretch from the trial end to the anchor', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 5, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect(iso(sub.trial_end)).toBe('2026-01-15T00:00:00Z');
    await t.advance(clock, '2026-02-01T02:00:00Z');
    // [Jan 1, Feb 1) = 2,678,400 s; Jan 15 → Feb 1 = 17 days = 1,468,800 s.
    // 9,700 × 1,468,800 / 2,678,400 = 5,319.35… → 5,319.
    expect(secs(17)).toBe(1_468_800);
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2026-01-10T00:00:00Z', '2026-01-15T00:00:00Z', 'subscription_create'],
      ['paid', 5319, 5319, '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z', 'subscription_cycle'],
      ['paid', 9700, 9700, '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[1]!.lines.data.map((l) => [l.amount, l.proration])).toEqual([[5319, true]]);
  });
});
