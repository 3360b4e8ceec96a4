import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, iso, lineTuple, subscribe, unix, update, type BillingApp } from './support.js';

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());
const CHANGE_AT = '2026-03-16T08:16:48Z';

describe('interval change with proration_behavior none', () => {
  it('bills the full year now without a credit', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const annual = await t.priceId('community_annual');
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${sub.items.data[0].id}&subscription_items[0][price]=${annual}&subscription_proration_behavior=none`);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: annual }], proration_behavior: 'none' });
    const inv = (await t.invoices(sub.id))[1]!;
    expect(invTuple(inv)).toEqual(['paid', 97_000, 97_000, CHANGE_AT, '2027-03-16T08:16:48Z', 'subscription_update']);
    expect(inv.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $970.00 / year)', 97_000, CHANGE_AT, '2027-03-16T08:16:48Z', false]]);
    expect(up.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
  });
});

describe('removing one item of two with always_invoice', () => {
  it('invoices only the credit now; the negative total goes to the balance', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }, { price: group }], trial_end: 'now' });
    const groupItem = sub.items.data.find((i: { price: { id: string } }) => i.price.id === group).id as string;
    await t.advance(clock, CHANGE_AT);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${groupItem}&subscription_items[0][deleted]=true&subscription_proration_behavior=always_invoice`);
    await update(t, sub.id, { items: [{ id: groupItem, deleted: true }], proration_behavior: 'always_invoice' });
    const inv = (await t.invoices(sub.id))[1]!;
    expect(inv.lines.data.map(lineTuple)).toEqual([['Unused time on Group Coaching Programs after Mar 16, 2026', -75_750, CHANGE_AT, '2026-04-01T00:00:00Z', true]]);
    expect([inv.status, inv.total, inv.amount_due]).toEqual(['paid', -75_750, 0]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-75_750);
    expect(up.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[2]!;
    expect([renewal.status, renewal.total, renewal.amount_due]).toEqual(['paid', 9700, 0]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-66_050);
  });
});

describe('billing_cycle_anchor=now without an item change', () => {
  it('credits the unused time and bills a full period from now; the preview matches', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_billing_cycle_anchor=now`);
    const updated = await update(t, sub.id, { billing_cycle_anchor: 'now' });
    expect([iso(updated.current_period_start), iso(updated.current_period_end)]).toEqual([CHANGE_AT, '2026-04-16T08:16:48Z']);
    const inv = (await t.invoices(sub.id))[1]!;
    expect(inv.lines.data.map(lineTuple)).toEqual([
      ['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, CHANGE_AT, '2026-04-16T08:16:48Z', false],
      ['Unused time on Group Coaching Programs after Mar 16, 2026', -75_750, CHANGE_AT, '2026-04-01T00:00:00Z', true],
    ]);
    expect(invTuple(inv)).toEqual(['paid', 74_250, 74_250, CHANGE_AT, '2026-04-16T08:16:48Z', 'subscription_update']);
    expect(up.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
    expect(unix(CHANGE_AT)).toBe(updated.billing_cycle_anchor);
  });
});
