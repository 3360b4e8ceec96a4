import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { communityOnClock, events, iso, lineTuple, secs, unix, update, type BillingApp } from './support.js';

// A trial added to an active subscription (trial_end on update). Stripe, "Changing the billing cycle on
// pre-existing subscriptions": "Introducing a trial results in setting the anchor to the end of the
// trial". Its example: on May 15 a subscription billed on the 23rd gets a trial until June 1 — no bill
// on May 23, billed on June 1, then on the 1st of each month. API reference, trial_end on update: "The
// billing_cycle_anchor will be updated to the trial_end value."

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const activeSince = (start: string) => communityOnClock(t, start);

const charged = (invs: Awaited<ReturnType<BillingApp['invoices']>>) =>
  invs.flatMap((i) => i.lines.data.filter((l) => !l.proration).map((l) => [iso(l.period.start), iso(l.period.end), l.amount]));

describe('trial_end on an active subscription', () => {
  it('proration_behavior none: the old renewal is skipped, the anchor moves to the trial end', async () => {
    const { clock, customer, sub } = await activeSince('2026-04-23T00:00:00Z');
    await t.advance(clock, '2026-05-15T00:00:00Z');
    const res = await update(t, sub.id, { trial_end: unix('2026-06-01T00:00:00Z'), proration_behavior: 'none' });
    expect([res.status, iso(res.trial_start), iso(res.trial_end), iso(res.billing_cycle_anchor), iso(res.current_period_start), iso(res.current_period_end)]).toEqual([
      'trialing',
      '2026-05-15T00:00:00Z',
      '2026-06-01T00:00:00Z',
      '2026-06-01T00:00:00Z',
      '2026-05-15T00:00:00Z',
      '2026-06-01T00:00:00Z',
    ]);
    const updated = await events(t, customer, 'customer.subscription.updated');
    expect(updated.at(-1)!.data.object.status).toBe('trialing');

    await t.advance(clock, '2026-07-01T02:00:00Z');
    expect(charged(await t.invoices(sub.id))).toEqual([
      ['2026-04-23T00:00:00Z', '2026-05-23T00:00:00Z', 9700],
      ['2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 9700],
      ['2026-07-01T00:00:00Z', '2026-08-01T00:00:00Z', 9700],
    ]);
    expect((await t.sub(sub.id)).status).toBe('active');
    // trial_will_end 3 days before the new trial's end.
    expect((await events(t, customer, 'customer.subscription.trial_will_end')).map((e) => iso(e.created))).toEqual(['2026-05-29T00:00:00Z']);
  });

  it('create_prorations (the default): the unused paid time is credited on the invoice at the trial end', async () => {
    const { clock, sub } = await activeSince('2026-04-23T00:00:00Z');
    await t.advance(clock, '2026-05-15T00:00:00Z');
    await update(t, sub.id, { trial_end: unix('2026-06-01T00:00:00Z') });
    await t.advance(clock, '2026-06-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    // [Apr 23, May 23) is 30 days; 8 of them (May 15 → May 23) unused: −9,700 × 8 / 30 = −2,586.67 → −2,587.
    expect(secs(8) / secs(30)).toBeCloseTo(0.26667, 5);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', false],
      ['Unused time on Community Access after May 15, 2026', -2587, '2026-05-15T00:00:00Z', '2026-05-23T00:00:00Z', true],
    ]);
    expect([invs[1]!.status, invs[1]!.total, invs[1]!.amount_paid]).toEqual(['paid', 7113, 7113]);
  });

  it('is refused with items in the same request, with always_invoice, and on a canceled subscription', async () => {
    const { clock, sub } = await activeSince('2026-04-23T00:00:00Z');
    await t.advance(clock, '2026-05-15T00:00:00Z');
    const at = unix('2026-06-01T00:00:00Z');
    const withItems = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: at, items: [{ id: sub.items.data[0].id, quantity: 2 }] } });
    expect([withItems.status, withItems.body.error.param]).toEqual([400, 'trial_end']);
    const invoiceNow = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: at, proration_behavior: 'always_invoice' } });
    expect([invoiceNow.status, invoiceNow.body.error.param]).toEqual([400, 'proration_behavior']);
    expect((await t.sub(sub.id)).status).toBe('active');
    await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    const ended = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload: { trial_end: at } });
    expect(ended.status).toBe(400);
  });
});
