import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { get, invTuple, iso, lineTuple, subscribe, unix, update, type BillingApp } from './support.js';

// Proration to the second over several changes in one period, compared with Stripe Billing.
// Period [Mar 1, Apr 1) 2026 = 31 days = 2,678,400 s.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const pending = async (customer: string) =>
  ((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true&limit=100`)).data as { description: string; amount: number; proration: boolean; period: { start: number; end: number } }[])
    .map((p) => [p.description, p.amount, iso(p.period.start), iso(p.period.end), p.proration] as const)
    .sort();

describe('several changes within one period (create_prorations)', () => {
  it('upgrade, downgrade, then a quantity change: each prorated on the items of the moment, all on the renewal', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }], trial_end: 'now' });
    const itemId = sub.items.data[0].id as string;

    // Mar 8: 24 of 31 days left. 9,700×24/31 = 7,509.68 → 7,510; 150,000×24/31 = 116,129.03 → 116,129
    await t.advance(clock, '2026-03-08T00:00:00Z');
    await update(t, sub.id, { items: [{ id: itemId, price: group }] });
    // Mar 16: 16 days left. 150,000×16/31 = 77,419.35 → 77,419; 9,700×16/31 = 5,006.45 → 5,006
    await t.advance(clock, '2026-03-16T00:00:00Z');
    const afterDown = await update(t, sub.id, { items: [{ id: itemId, price: community }] });
    // Mar 24: 8 days left. 9,700×8/31 = 2,503.23 → 2,503; 29,100×8/31 = 7,509.68 → 7,510
    await t.advance(clock, '2026-03-24T00:00:00Z');
    const itemNow = afterDown.items.data[0].id as string;

    const expectedProrations = [
      ['Unused time on Community Access after Mar 8, 2026', -7510, '2026-03-08T00:00:00Z', '2026-04-01T00:00:00Z', true],
      ['Remaining time on Group Coaching Programs after Mar 8, 2026', 116_129, '2026-03-08T00:00:00Z', '2026-04-01T00:00:00Z', true],
      ['Unused time on Group Coaching Programs after Mar 16, 2026', -77_419, '2026-03-16T00:00:00Z', '2026-04-01T00:00:00Z', true],
      ['Remaining time on Community Access after Mar 16, 2026', 5006, '2026-03-16T00:00:00Z', '2026-04-01T00:00:00Z', true],
      ['Unused time on Community Access after Mar 24, 2026', -2503, '2026-03-24T00:00:00Z', '2026-04-01T00:00:00Z', true],
      ['Remaining time on 3 × Community Access after Mar 24, 2026', 7510, '2026-03-24T00:00:00Z', '2026-04-01T00:00:00Z', true],
    ] as const;

    // The preview of the quantity change shows the renewal it will produce.
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${itemNow}&subscription_items[0][quantity]=3`);
    await update(t, sub.id, { items: [{ id: itemNow, quantity: 3 }] });
    expect(await pending(customer)).toEqual([...expectedProrations].sort());

    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    // 29,100 + (−7,510 + 116,129 − 77,419 + 5,006 − 2,503 + 7,510 = 41,213) = 70,313
    expect(invTuple(renewal)).toEqual(['paid', 70_313, 70_313, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data.map(lineTuple)[0]).toEqual(['3 × Community Access (at $97.00 / month)', 29_100, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false]);
    expect(renewal.lines.data.map(lineTuple).slice(1).sort()).toEqual([...expectedProrations].sort());
    expect(up.lines.data.map(lineTuple).sort()).toEqual(renewal.lines.data.map(lineTuple).sort());
    expect(up.total).toBe(70_313);
  });
});

describe('quantity change on a multi-item subscription', () => {
  const CHANGE_AT = '2026-03-16T08:16:48Z'; // 1,352,592 s left of 2,678,400
  it('prorates only the changed item; always_invoice bills it now; the preview shows exactly those lines', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }, { price: group }], trial_end: 'now' });
    const groupItem = sub.items.data.find((i: { price: { id: string } }) => i.price.id === group).id as string;
    await t.advance(clock, '2026-03-20T00:00:00Z');

    // proration_date in the past (inside the period): 150,000×1,352,592/2,678,400 = 75,750; ×2 = 151,500
    const expected = [
      ['Unused time on Group Coaching Programs after Mar 16, 2026', -75_750, CHANGE_AT, '2026-04-01T00:00:00Z', true],
      ['Remaining time on 2 × Group Coaching Programs after Mar 16, 2026', 151_500, CHANGE_AT, '2026-04-01T00:00:00Z', true],
    ];
    const up = await get(
      t,
      `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${groupItem}&subscription_items[0][quantity]=2` +
        `&subscription_proration_behavior=always_invoice&subscription_proration_date=${unix(CHANGE_AT)}`,
    );
    expect(up.lines.data.map(lineTuple)).toEqual(expected);
    expect([up.total, up.billing_reason]).toEqual([75_750, 'subscription_update']);

    const updated = await update(t, sub.id, { items: [{ id: groupItem, quantity: 2 }], proration_behavior: 'always_invoice', proration_date: unix(CHANGE_AT) });
    expect(updated.items.data.map((i: { price: { id: string }; quantity: number }) => [i.price.id, i.quantity]).sort()).toEqual([[community, 1], [group, 2]].sort());
    const invs = await t.invoices(sub.id);
    expect(invs.map(invTuple)).toEqual([
      ['paid', 159_700, 159_700, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z', 'subscription_create'],
      ['paid', 75_750, 75_750, CHANGE_AT, '2026-04-01T00:00:00Z', 'subscription_update'],
    ]);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual(expected);
    expect(await pending(customer)).toEqual([]);

    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[2]!)).toEqual(['paid', 309_700, 309_700, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle']);
  });

  it('proration_behavior none: nothing prorates, the renewal bills the new quantity', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }, { price: group }], trial_end: 'now' });
    const communityItem = sub.items.data.find((i: { price: { id: string } }) => i.price.id === community).id as string;
    await t.advance(clock, CHANGE_AT);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${communityItem}&subscription_items[0][quantity]=4&subscription_proration_behavior=none`);
    await update(t, sub.id, { items: [{ id: communityItem, quantity: 4 }], proration_behavior: 'none' });
    expect(await pending(customer)).toEqual([]);
    expect(await t.invoices(sub.id)).toHaveLength(1);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    // 4 × 9,700 + 150,000
    expect(invTuple(renewal)).toEqual(['paid', 188_800, 188_800, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data.every((l) => !l.proration)).toBe(true);
    expect(up.lines.data.map(lineTuple).sort()).toEqual(renewal.lines.data.map(lineTuple).sort());
  });
});

describe('annual → monthly (interval change, anchor reset)', () => {
  const CHANGE_AT = '2026-03-16T08:16:48Z';
  it('credits the unused year (more than the month costs) and bills a month from now; the rest goes to the balance', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_annual') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const monthly = await t.priceId('community_monthly');
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${sub.items.data[0].id}&subscription_items[0][price]=${monthly}`);
    const updated = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: monthly }] });
    expect([iso(updated.billing_cycle_anchor), iso(updated.current_period_start), iso(updated.current_period_end)]).toEqual([CHANGE_AT, CHANGE_AT, '2026-04-16T08:16:48Z']);
    // [Mar 1 2026, Mar 1 2027) = 31,536,000 s; 30,210,192 s left: 97,000 × 30,210,192 / 31,536,000 = 92,922.01 → 92,922
    const invs = await t.invoices(sub.id);
    const inv = invs[1]!;
    expect(inv.lines.data.map(lineTuple)).toEqual([
      ['1 × Community Access (at $97.00 / month)', 9700, CHANGE_AT, '2026-04-16T08:16:48Z', false],
      ['Unused time on Community Access after Mar 16, 2026', -92_922, CHANGE_AT, '2027-03-01T00:00:00Z', true],
    ]);
    // 9,700 − 92,922 = −83,222: nothing due, paid, the credit goes to the customer's balance.
    expect([inv.status, inv.total, inv.amount_due, inv.billing_reason]).toEqual(['paid', -83_222, 0, 'subscription_update']);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-83_222);
    expect(up.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
    // The next renewal (Apr 16) is paid from the balance.
    await t.advance(clock, '2026-04-16T10:30:00Z');
    const next = (await t.invoices(sub.id))[2]!;
    expect([next.status, next.total, next.amount_due, iso(next.period_start)]).toEqual(['paid', 9700, 0, '2026-04-16T08:16:48Z']);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-73_522);
  });
});

describe('JPY (zero-decimal) proration', () => {
  const CHANGE_AT = '2026-03-16T08:16:48Z';
  it('rounds each line once to whole yen', async () => {
    const prod = await t.call({ method: 'POST', url: '/v1/products', payload: { name: 'Yen Plan' } });
    expect(prod.status, JSON.stringify(prod.body)).toBe(200);
    const mk = async (amount: number) => {
      const r = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: prod.body.id, currency: 'jpy', unit_amount: amount, recurring: { interval: 'month' } } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.id as string;
    };
    const small = await mk(980);
    const big = await mk(4980);
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: small }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: big }], proration_behavior: 'always_invoice' });
    const inv = (await t.invoices(sub.id))[1]!;
    // 980 × 0.505 = 494.9 → 495; 4,980 × 0.505 = 2,514.9 → 2,515
    expect(inv.lines.data.map((l) => [l.description, l.amount])).toEqual([
      ['Unused time on Yen Plan after Mar 16, 2026', -495],
      ['Remaining time on Yen Plan after Mar 16, 2026', 2515],
    ]);
    expect([inv.status, inv.total, inv.amount_paid, (inv as unknown as { currency: string }).currency]).toEqual(['paid', 2020, 2020, 'jpy']);
  });
});

describe('schedule_at_period_end on a multi-item subscription', () => {
  it('keeps the other items, applies at renewal without proration, and shows in the preview', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const elite = await t.priceId('elite_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }, { price: elite }], trial_end: 'now' });
    const eliteItem = sub.items.data.find((i: { price: { id: string } }) => i.price.id === elite).id as string;
    await t.advance(clock, '2026-05-10T00:00:00Z');
    const scheduled = await update(t, sub.id, { items: [{ id: eliteItem, price: group }], schedule_at_period_end: true });
    expect(scheduled.schedule.items.slice().sort((a: { price: string }, b: { price: string }) => a.price.localeCompare(b.price))).toEqual(
      [{ price: community, quantity: 1 }, { price: group, quantity: 1 }].sort((a, b) => a.price.localeCompare(b.price)),
    );
    // A metadata update leaves the schedule alone.
    const meta = await update(t, sub.id, { metadata: { a: '1' } });
    expect(meta.schedule?.id).toBe(scheduled.schedule.id);
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(up.total).toBe(159_700);
    await t.advance(clock, '2026-06-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    expect(invTuple(renewal)).toEqual(['paid', 159_700, 159_700, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data.every((l) => !l.proration)).toBe(true);
    const after = await t.sub(sub.id);
    expect(after.items.data.map((i: { price: { id: string } }) => i.price.id).sort()).toEqual([community, group].sort());
  });
});
