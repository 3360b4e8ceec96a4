import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { communityOnClock, events, get, iso, lineTuple, unix, update, type BillingApp } from './support.js';

// cancel_at (Stripe, update a subscription: "A timestamp at which the subscription should cancel. If
// set to a date before the current period ends, this will cause a proration if prorations have been
// enabled using proration_behavior. If set during a future period, this will always cause a proration
// for that period.") — a fixed-term coaching programme, or a member who leaves on a given day.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const communityFrom = (start: string, extra: Record<string, unknown> = {}) => communityOnClock(t, start, extra);

describe('cancel_at inside the current period', () => {
  it('ends the subscription then and credits the time after it on a final invoice', async () => {
    const { clock, customer, sub } = await communityFrom('2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const set = await update(t, sub.id, { cancel_at: unix('2026-03-20T00:00:00Z') });
    expect([set.status, iso(set.cancel_at), set.cancel_at_period_end, iso(set.canceled_at)]).toEqual(['active', '2026-03-20T00:00:00Z', false, '2026-03-10T00:00:00Z']);
    // No next invoice to preview: it ends first.
    expect((await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}` })).status).toBe(400);

    await t.advance(clock, '2026-03-21T00:00:00Z');
    const ended = await t.sub(sub.id);
    expect([ended.status, iso(ended.ended_at), iso(ended.canceled_at), ended.cancellation_details.reason]).toEqual(['canceled', '2026-03-20T00:00:00Z', '2026-03-10T00:00:00Z', 'cancellation_requested']);
    expect((await events(t, customer, 'customer.subscription.deleted')).map((e) => iso(e.created))).toEqual(['2026-03-20T00:00:00Z']);
    // 12 of March's 31 days unused: −9,700 × 12 / 31 = −3,754.84 → −3,755, credited to the balance.
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.billing_reason, i.total, i.status])).toEqual([
      ['subscription_create', 9700, 'paid'],
      ['subscription_update', -3755, 'paid'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual([['Unused time on Community Access after Mar 20, 2026', -3755, '2026-03-20T00:00:00Z', '2026-04-01T00:00:00Z', true]]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-3755);
    await t.advance(clock, '2026-04-02T00:00:00Z');
    expect(await t.invoices(sub.id)).toHaveLength(2);
  });

  it('with proration_behavior none ends it without a credit', async () => {
    const { clock, sub } = await communityFrom('2026-03-01T00:00:00Z');
    await update(t, sub.id, { cancel_at: unix('2026-03-20T00:00:00Z'), proration_behavior: 'none' });
    await t.advance(clock, '2026-04-02T00:00:00Z');
    expect([(await t.sub(sub.id)).status, (await t.invoices(sub.id)).map((i) => i.total)]).toEqual(['canceled', [9700]]);
  });

  it('is cleared with "" and the subscription renews as before', async () => {
    const { clock, sub } = await communityFrom('2026-03-01T00:00:00Z');
    await update(t, sub.id, { cancel_at: unix('2026-03-20T00:00:00Z') });
    const cleared = await t.call({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'cancel_at=',
    });
    expect([cleared.status, cleared.body.cancel_at, cleared.body.canceled_at]).toEqual([200, null, null]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect([(await t.sub(sub.id)).status, (await t.invoices(sub.id)).map((i) => i.total)]).toEqual(['active', [9700, 9700]]);
  });
});

describe('cancel_at in a later period', () => {
  it('bills that period only up to cancel_at, then ends without a further credit', async () => {
    // A three-month programme from Mar 1, ending mid-May.
    const { clock, sub } = await communityFrom('2026-03-01T00:00:00Z', { cancel_at: unix('2026-05-15T00:00:00Z') });
    expect([iso(sub.cancel_at), iso(sub.canceled_at)]).toEqual(['2026-05-15T00:00:00Z', '2026-03-01T00:00:00Z']);
    await t.advance(clock, '2026-05-16T00:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.billing_reason, i.total])).toEqual([
      ['subscription_create', 9700],
      ['subscription_cycle', 9700],
      ['subscription_cycle', 4381],
    ]);
    // May has 31 days, 17 of them after May 15: −9,700 × 17 / 31 = −5,319.35 → −5,319; 9,700 − 5,319 = 4,381.
    expect(invs[2]!.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, '2026-05-01T00:00:00Z', '2026-06-01T00:00:00Z', false],
      ['Unused time on Community Access after May 15, 2026', -5319, '2026-05-15T00:00:00Z', '2026-06-01T00:00:00Z', true],
    ]);
    const ended = await t.sub(sub.id);
    expect([ended.status, iso(ended.ended_at)]).toEqual(['canceled', '2026-05-15T00:00:00Z']);
  });
});

describe('cancel_at refused', () => {
  it('in the past, with cancel_at_period_end, or with always_invoice', async () => {
    const { sub } = await communityFrom('2026-03-01T00:00:00Z');
    const cases: [Record<string, unknown>, string][] = [
      [{ cancel_at: unix('2026-02-01T00:00:00Z') }, 'cancel_at'],
      [{ cancel_at: unix('2026-03-20T00:00:00Z'), cancel_at_period_end: true }, 'cancel_at'],
      [{ cancel_at: unix('2026-03-20T00:00:00Z'), proration_behavior: 'always_invoice' }, 'proration_behavior'],
    ];
    for (const [payload, param] of cases) {
      const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.id}`, payload });
      expect([res.status, res.body.error?.param], JSON.stringify(payload)).toEqual([400, param]);
    }
    expect((await t.sub(sub.id)).cancel_at).toBeNull();
    // cancel_at_period_end replaces a cancel_at.
    await update(t, sub.id, { cancel_at: unix('2026-03-20T00:00:00Z') });
    const atEnd = await update(t, sub.id, { cancel_at_period_end: true });
    expect([atEnd.cancel_at_period_end, iso(atEnd.cancel_at)]).toEqual([true, '2026-04-01T00:00:00Z']);
  });
});
