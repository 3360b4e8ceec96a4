import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, get, subscribe, unix, update, type BillingApp } from './support.js';

// Changes mid-period (issue 3 item 4) that an audit found wrong once.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Promise.all(TABLES.map((n) => countRows(t, n)));
const post = (url: string, payload: Record<string, unknown>) => t.call({ method: 'POST', url, payload });

describe('changes mid-period', () => {
  it('an item change made after the period ended but before the worker renewed renews first, then applies (update and preview)', async () => {
    // Real time (no test clock): Community from Mar 1; at Apr 1 00:00:05 the worker has not run yet
    // (it polls; renewals are batched), and the customer upgrades. Stripe renews at the period end
    // itself, so the change applies to the new period; Recur renews first in the request (and the
    // preview does the same in a rolled-back transaction).
    t.clock.set(new Date('2026-03-01T00:00:00Z'));
    const customer = await t.customer({ card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const item = sub.items.data[0].id;
    t.clock.set(new Date('2026-04-01T00:00:05Z'));
    const before = await counts();
    const preview = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${item}&subscription_items[0][price]=${group}` });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(await counts()).toEqual(before);
    // The invoice after the change is May 1's: Group 150,000, with the change inside Apr 1 – May 1
    // (2,592,000 s, 2,591,995 left): −9,700 × 2,591,995/2,592,000 = −9,699.98 → −9,700 and
    // +150,000 × 2,591,995/2,592,000 = 149,999.71 → 150,000.
    expect(preview.body.lines.data.map((l: { amount: number }) => l.amount)).toEqual([150_000, -9_700, 150_000]);
    expect(preview.body.total).toBe(290_300);
    const res = await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: group }] });
    expect([res.status, res.body.error?.param]).toEqual([200, undefined]);
    expect(res.body.items.data[0].price.id).toBe(group);
    expect([res.body.current_period_start, res.body.current_period_end]).toEqual([unix('2026-04-01T00:00:00Z'), unix('2026-05-01T00:00:00Z')]);
    // The renewal the request ran first billed Apr 1 – May 1 on Community; its events are automatic.
    const invs = await t.invoices(sub.id);
    expect(invs.map((i) => [i.billing_reason, i.subtotal, i.period_start])).toEqual([
      ['subscription_create', 9_700, unix('2026-03-01T00:00:00Z')],
      ['subscription_cycle', 9_700, unix('2026-04-01T00:00:00Z')],
    ]);
    const created = await get(t, `/v1/events?type=invoice.created&limit=1`);
    expect([created.data[0].data.object.id, created.data[0].request]).toEqual([invs[1]!.id, { id: null, idempotency_key: null }]);
    // The worker finds nothing more to renew; the next invoice is the one the preview showed.
    await drainBilling(t.testDb.db, { ...t.deps, config: { ...t.deps.config, finalizeDelaySeconds: 0 } }, { clock: null }, new Date('2026-04-01T00:00:10Z'));
    expect((await t.invoices(sub.id)).length).toBe(2);
    expect((await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(290_300);
  });

  it('billing_cycle_anchor=now on a trialing subscription is a 400 subscription_update_trial_after_billing_cycle_anchor, nothing written', async () => {
    // Stripe changelog 2026-10-28 "Adds an error code for billing cycle anchor and trial validation":
    // "The API returns this error when you set a Subscription object's billing_cycle_anchor to a date
    // earlier than its trial_end." Recur answers 200 with the anchor still at the trial end.
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 14 });
    await t.advance(clock, '2026-03-05T00:00:00Z');
    const before = await counts();
    const res = await post(`/v1/subscriptions/${sub.id}`, { billing_cycle_anchor: 'now' });
    expect([res.status, res.body.error?.param]).toEqual([400, 'billing_cycle_anchor']);
    expect(await counts()).toEqual(before);
  });

  it('updating only an item’s metadata keeps the downgrade scheduled for the period end', async () => {
    // Group with Community scheduled for Jun 1 (schedule_at_period_end). A later request that only sets
    // items[0][metadata] answers with schedule: null, and Jun 1 renews on Group at 150,000 instead of
    // Community at 9,700. Nothing about the items' prices changed; the schedule should stay.
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    const item = sub.items.data[0].id;
    await t.advance(clock, '2026-05-10T00:00:00Z');
    const sched = await update(t, sub.id, { items: [{ id: item, price: community }], schedule_at_period_end: true });
    const res = await update(t, sub.id, { items: [{ id: item, metadata: { seat: 'coach-a' } }] });
    expect(res.items.data[0].metadata).toEqual({ seat: 'coach-a' });
    expect(res.schedule?.id).toBe(sched.schedule.id);
    await t.advance(clock, '2026-06-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    expect(renewal.total).toBe(9700);
  });

  it('a preview with an unknown subscription item id names the parameter sent', async () => {
    // GET /v1/invoices/upcoming names subscription_items[0][price] for an unknown price (correct) but
    // items[0][id] for an unknown item id; create_preview likewise says items[0][id] instead of
    // subscription_details[items][0][id]. A Stripe client maps errors by `param`.
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const upcoming = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=si_unknown&subscription_items[0][price]=${group}` });
    const preview = await post('/v1/invoices/create_preview', { subscription: sub.id, subscription_details: { items: [{ id: 'si_unknown', price: group }] } });
    expect([upcoming.status, upcoming.body.error?.param, preview.status, preview.body.error?.param]).toEqual([
      404,
      'subscription_items[0][id]',
      404,
      'subscription_details[items][0][id]',
    ]);
  });

  it('schedule_at_period_end with billing_cycle_anchor=now or always_invoice is a 400 on that parameter', async () => {
    // The schedule is stored, the anchor stays Mar 1 and no invoice is made: the caller asked for a
    // new cycle now (or an invoice now) and gets neither, with a 200. Contradictory parameters are a
    // 400 naming the parameter elsewhere in Recur (schedule_at_period_end without items → 400 items).
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    const item = sub.items.data[0].id;
    await t.advance(clock, '2026-03-05T00:00:00Z');
    const anchor = await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: community }], schedule_at_period_end: true, billing_cycle_anchor: 'now' });
    const always = await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: community }], schedule_at_period_end: true, proration_behavior: 'always_invoice' });
    expect([anchor.status, anchor.body.error?.param, always.status, always.body.error?.param]).toEqual([400, 'billing_cycle_anchor', 400, 'proration_behavior']);
  });

  it('an item change keeps the kept subscription item’s created timestamp', async () => {
    // Stripe's subscription_item.created is when the item was created; Recur's replaceItems deletes
    // and re-inserts every item with created = now, so a price or quantity change (or a metadata-only
    // update) moves created of an item that kept its id.
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const item = sub.items.data[0];
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const res = await update(t, sub.id, { items: [{ id: item.id, quantity: 2 }] });
    expect([res.items.data[0].id, res.items.data[0].created]).toEqual([item.id, unix('2026-03-01T00:00:00Z')]);
    expect((await get(t, `/v1/subscriptions/${sub.id}`)).items.data[0].created).toBe(item.created);
  });
});
