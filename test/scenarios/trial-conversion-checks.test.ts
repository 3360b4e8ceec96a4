import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, iso, subscribe, unix, advanceTo, type BillingApp } from './support.js';

// Audit: trial conversion amounts, item-level periods, and the invoice's own period fields.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('trial conversion', () => {
  it('two items (3 × 9,700 + 4,900): $0 trial invoice with both items, then 34,000 for [trial end, +1 month)', async () => {
    const clock = await t.clockAt('2028-02-15T10:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, {
      customer,
      items: [{ price: await t.priceId('community_monthly'), quantity: 3 }, { price: await t.priceId('platform_starter_monthly') }],
      trial_period_days: 14,
    });
    // Feb 15 + 14 d = Feb 29 2028 (leap day): the anchor is the leap day.
    expect([iso(sub.trial_end), iso(sub.billing_cycle_anchor)]).toEqual(['2028-02-29T10:00:00Z', '2028-02-29T10:00:00Z']);
    expect(sub.items.data.map((i: { current_period_start: number; current_period_end: number }) => [iso(i.current_period_start), iso(i.current_period_end)])).toEqual([
      ['2028-02-15T10:00:00Z', '2028-02-29T10:00:00Z'],
      ['2028-02-15T10:00:00Z', '2028-02-29T10:00:00Z'],
    ]);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.total, iso(up.next_payment_attempt)]).toEqual([34_000, '2028-02-29T10:00:00Z']);

    await t.advance(clock, '2028-04-29T12:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 0, 0, '2028-02-15T10:00:00Z', '2028-02-29T10:00:00Z', 'subscription_create'],
      ['paid', 34_000, 34_000, '2028-02-29T10:00:00Z', '2028-03-29T10:00:00Z', 'subscription_cycle'],
      ['paid', 34_000, 34_000, '2028-03-29T10:00:00Z', '2028-04-29T10:00:00Z', 'subscription_cycle'],
      ['paid', 34_000, 34_000, '2028-04-29T10:00:00Z', '2028-05-29T10:00:00Z', 'subscription_cycle'],
    ]);
    expect(invs[0]!.lines.data.map((l) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([
      [0, '2028-02-15T10:00:00Z', '2028-02-29T10:00:00Z'],
      [0, '2028-02-15T10:00:00Z', '2028-02-29T10:00:00Z'],
    ]);
    expect(invs[1]!.lines.data.map((l) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([
      [29_100, '2028-02-29T10:00:00Z', '2028-03-29T10:00:00Z'],
      [4_900, '2028-02-29T10:00:00Z', '2028-03-29T10:00:00Z'],
    ]);
  });

  it('free stub: the subscription and its items show [now, anchor) as the current period', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', proration_behavior: 'none', billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect([sub.status, iso(sub.items.data[0].current_period_start), iso(sub.items.data[0].current_period_end), sub.latest_invoice]).toEqual(['active', '2026-01-10T00:00:00Z', '2026-02-01T00:00:00Z', null]);
  });
});

describe("the invoice's own period_start / period_end (documented deviation, docs/adr/0005)", () => {
  it('Recur: a renewal on Apr 1 carries [Apr 1, May 1) (Stripe would look back: [Mar 1, Apr 1))', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await advanceTo(t, clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [iso(i.period_start), iso(i.period_end), iso(i.lines.data[0]!.period.start), iso(i.lines.data[0]!.period.end)])).toEqual([
      ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
      ['2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z'],
    ]);
  });
});
