import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../../../test/helpers/billing.js';
import { runLifecycleScans } from './lifecycle.js';

// invoice.upcoming: written by the worker's lifecycle scan 7 days (UPCOMING_RENEWAL_DAYS) before a
// subscription renews, with the preview of the renewal invoice (no id, as on Stripe), once per period.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-01-10T00:00:00Z');
});
afterAll(() => t.close());

interface Evt {
  id: string;
  type: string;
  created: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: { object: any };
}

async function upcomingEvents(query: string): Promise<Evt[]> {
  const res = await t.call({ method: 'GET', url: `/v1/events?type=invoice.upcoming&${query}&limit=100` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.data as Evt[]).slice().reverse();
}

describe('invoice.upcoming', () => {
  it('is written once per period, 7 days before a monthly renewal, with the amount the renewal charges', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const coupon = (await t.call({ method: 'POST', url: '/v1/coupons', payload: { percent_off: 25, duration: 'forever' } })).body.id as string;
    const price = await t.priceId('community_monthly'); // 97.00 a month
    const created = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price, quantity: 2 }], trial_period_days: 0, coupon } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const sub = created.body.id as string;
    expect(created.body.current_period_end).toBe(unix('2026-02-10T00:00:00Z'));
    // Ends at its period end: no renewal, so nothing to announce.
    const ending = await t.customer({ clock, card: 'pm_card_visa' });
    const endingSub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: ending, items: [{ price }], trial_period_days: 0, cancel_at_period_end: true } });
    expect(endingSub.status, JSON.stringify(endingSub.body)).toBe(200);

    await t.advance(clock, '2026-02-02T23:59:00Z');
    expect(await upcomingEvents(`customer=${cus}`)).toEqual([]);

    // The clock stops at Feb 3 00:00 on its way (the event is a due instant of the clock).
    await t.advance(clock, '2026-02-04T00:00:00Z');
    let events = await upcomingEvents(`customer=${cus}`);
    expect(events).toHaveLength(1);
    const first = events[0]!;
    expect(first.created).toBe(unix('2026-02-03T00:00:00Z'));
    expect('id' in first.data.object).toBe(false);
    expect(first.data.object).toMatchObject({
      object: 'invoice',
      customer: cus,
      subscription: sub,
      billing_reason: 'subscription_cycle',
      currency: 'usd',
      subtotal: 19_400,
      total: 14_550,
      amount_due: 14_550,
      next_payment_attempt: unix('2026-02-10T00:00:00Z'),
    });
    expect(first.data.object.lines.data.map((l: { amount: number; period: { start: number; end: number } }) => [l.amount, iso(l.period.start), iso(l.period.end)])).toEqual([
      [19_400, '2026-02-10T00:00:00Z', '2026-03-10T00:00:00Z'],
    ]);
    // Filed under the subscription (the preview has no id of its own).
    expect((await upcomingEvents(`object_id=${sub}`)).map((e) => e.id)).toEqual([first.id]);
    expect(await upcomingEvents(`customer=${ending}`)).toEqual([]);

    // Another worker, or the same one again, scanning at the same instant writes nothing more.
    const at = new Date('2026-02-04T00:00:00Z');
    const again = await Promise.all([0, 1].map(() => t.testDb.db.tx((q) => runLifecycleScans(q, t.deps.config, { clock }, at))));
    expect(again).toEqual([0, 0]);
    expect(await upcomingEvents(`customer=${cus}`)).toHaveLength(1);

    // The renewal: still one event for the period, and the invoice charges what was announced.
    await t.advance(clock, '2026-02-10T01:00:00Z');
    expect(await upcomingEvents(`customer=${cus}`)).toHaveLength(1);
    const renewal = (await t.invoices(sub)).find((i) => i.billing_reason === 'subscription_cycle')!;
    expect([renewal.status, renewal.amount_due, renewal.amount_paid, iso(renewal.period_start)]).toEqual(['paid', 14_550, 14_550, '2026-02-10T00:00:00Z']);
    expect([renewal.period_start, renewal.period_end]).toEqual([first.data.object.period_start, first.data.object.period_end]);

    // The next period's notice, 7 days before Mar 10.
    await t.advance(clock, '2026-03-05T00:00:00Z');
    events = await upcomingEvents(`customer=${cus}`);
    expect(events.map((e) => [iso(e.created), e.data.object.amount_due, iso(e.data.object.next_payment_attempt)])).toEqual([
      ['2026-02-03T00:00:00Z', 14_550, '2026-02-10T00:00:00Z'],
      ['2026-03-03T00:00:00Z', 14_550, '2026-03-10T00:00:00Z'],
    ]);
    expect(await upcomingEvents(`customer=${ending}`)).toEqual([]);
  });
});
