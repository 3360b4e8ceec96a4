import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, get, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// Changes mid-period (issue 3 item 4), checked by an audit against Stripe's documented behaviour; the
// defects it found are in change-rules.test.ts.
// Period [Mar 1, Apr 1) 2026 = 31 days = 2,678,400 s. Community 9,700/month, Group 150,000/month,
// Elite 500,000/month, Community annual 97,000/year.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Promise.all(TABLES.map((n) => countRows(t, n)));
type Pending = { description: string; amount: number; proration: boolean; period: { start: number; end: number } };
const pending = async (customer: string) =>
  ((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true&limit=100`)).data as Pending[])
    .map((p) => [p.description, p.amount, iso(p.period.start), iso(p.period.end), p.proration] as const)
    .sort();
const post = (url: string, payload: Record<string, unknown>) => t.call({ method: 'POST', url, payload });
const prices = async () => ({
  community: await t.priceId('community_monthly'),
  group: await t.priceId('group_monthly'),
  elite: await t.priceId('elite_monthly'),
  annual: await t.priceId('community_annual'),
});

async function communityFrom(start = '2026-03-01T00:00:00Z') {
  const clock = await t.clockAt(start);
  const customer = await t.customer({ clock, card: 'pm_card_visa' });
  const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
  return { clock, customer, sub, item: sub.items.data[0].id as string };
}

// 08:16:47 leaves 1,352,593 s of 2,678,400 (one second more than changes.test.ts uses).
const AT = '2026-03-16T08:16:47Z';
const END = '2026-04-01T00:00:00Z';

describe('formula to the second (create_prorations, price replaced via items[0][id] + price)', () => {
  it('credit −9,700×1,352,593/2,678,400 = −4,898.50… → −4,899; debit 150,000×… = 75,750.06 → 75,750; billed on the renewal', async () => {
    expect(unix(END) - unix(AT)).toBe(secs(15, 15, 43, 13));
    expect(secs(15, 15, 43, 13)).toBe(1_352_593);
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, AT);
    const updated = await update(t, sub.id, { items: [{ id: item, price: p.group }] });
    expect(updated.items.data.map((i: { id: string; price: { id: string } }) => [i.id, i.price.id])).toEqual([[item, p.group]]);
    const expected = [
      ['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, AT, END, true],
      ['Unused time on Community Access after Mar 16, 2026', -4899, AT, END, true],
    ];
    expect(await pending(customer)).toEqual(expected);
    expect(await t.invoices(sub.id)).toHaveLength(1);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    // 150,000 − 4,899 + 75,750 = 220,851
    expect(invTuple(renewal)).toEqual(['paid', 220_851, 220_851, END, '2026-05-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data.map(lineTuple).slice(1).sort()).toEqual(expected);
  });
});

describe('adding and deleting an item, quantity changes', () => {
  it('add → debit only; delete (deleted=true) → credit only; quantity 1→0 → credit of 1 and a 0 debit; the renewal nets to a credit', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, AT);
    const added = await update(t, sub.id, { items: [{ price: p.group }] });
    expect(added.items.data.map((i: { price: { id: string }; quantity: number }) => [i.price.id, i.quantity]).sort()).toEqual([[p.community, 1], [p.group, 1]].sort());
    expect(await pending(customer)).toEqual([['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, AT, END, true]]);
    const groupItem = added.items.data.find((i: { price: { id: string } }) => i.price.id === p.group).id;
    const deleted = await update(t, sub.id, { items: [{ id: groupItem, deleted: true }] });
    expect(deleted.items.data.map((i: { id: string }) => i.id)).toEqual([item]);
    await update(t, sub.id, { items: [{ id: item, quantity: 0 }] });
    expect(await pending(customer)).toEqual([
      ['Remaining time on 0 × Community Access after Mar 16, 2026', 0, AT, END, true],
      ['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, AT, END, true],
      ['Unused time on Community Access after Mar 16, 2026', -4899, AT, END, true],
      ['Unused time on Group Coaching Programs after Mar 16, 2026', -75_750, AT, END, true],
    ]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    // 0 × 9,700 + 75,750 − 75,750 − 4,899 + 0 = −4,899: nothing charged, credited to the balance.
    expect([renewal.status, renewal.total, renewal.amount_due, renewal.amount_paid]).toEqual(['paid', -4899, 0, 0]);
    expect((await get(t, `/v1/customers/${customer}`)).balance).toBe(-4899);
  });

  it('the only item cannot be deleted (400 on items), nothing written', async () => {
    const { sub, item } = await communityFrom();
    const before = await counts();
    const res = await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, deleted: true }] });
    expect([res.status, res.body.error?.param]).toEqual([400, 'items']);
    expect(await counts()).toEqual(before);
  });
});

describe('proration_date', () => {
  it('in the future inside the period: prorates from it (remaining 993,599 s)', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    // Apr 1 − Mar 20 12:00:01 = 11 d 11:59:59 = 993,599 s. 150,000×993,599/2,678,400 = 55,645.04; 9,700×… = 3,598.39
    expect(unix(END) - unix('2026-03-20T12:00:01Z')).toBe(993_599);
    await update(t, sub.id, { items: [{ id: item, price: p.group }], proration_date: unix('2026-03-20T12:00:01Z') });
    expect(await pending(customer)).toEqual([
      ['Remaining time on Group Coaching Programs after Mar 20, 2026', 55_645, '2026-03-20T12:00:01Z', END, true],
      ['Unused time on Community Access after Mar 20, 2026', -3598, '2026-03-20T12:00:01Z', END, true],
    ]);
  });

  it('outside the period (before its start, at its end) → 400 proration_date, nothing written, items unchanged', async () => {
    const p = await prices();
    const { clock, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const before = await counts();
    for (const when of ['2026-02-28T23:59:59Z', END]) {
      const res = await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: item, price: p.group }], proration_date: unix(when) });
      expect([res.status, res.body.error?.param]).toEqual([400, 'proration_date']);
    }
    expect(await counts()).toEqual(before);
    expect((await t.sub(sub.id)).items.data[0].price.id).toBe(p.community);
  });

  it('always_invoice with a past proration_date: invoiced now, and the upcoming preview matched it to the cent without writing', async () => {
    const { clock, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const pd = unix('2026-03-09T13:14:15Z');
    // Apr 1 − Mar 9 13:14:15 = 1,939,545 s. −9,700×… = −7,024.19 → −7,024; 29,100×… = 21,072.58 → 21,073; total 14,049
    expect(unix(END) - pd).toBe(1_939_545);
    const lines = [
      ['Unused time on Community Access after Mar 9, 2026', -7024, '2026-03-09T13:14:15Z', END, true],
      ['Remaining time on 3 × Community Access after Mar 9, 2026', 21_073, '2026-03-09T13:14:15Z', END, true],
    ];
    const before = await counts();
    const pv = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${item}&subscription_items[0][quantity]=3&subscription_proration_behavior=always_invoice&subscription_proration_date=${pd}`);
    expect(await counts()).toEqual(before);
    expect([pv.total, pv.billing_reason, pv.lines.data.map(lineTuple)]).toEqual([14_049, 'subscription_update', lines]);
    await t.advance(clock, '2026-03-11T00:00:00Z');
    await update(t, sub.id, { items: [{ id: item, quantity: 3 }], proration_behavior: 'always_invoice', proration_date: pd });
    const inv = (await t.invoices(sub.id))[1]!;
    expect(invTuple(inv)).toEqual(['paid', 14_049, 14_049, '2026-03-09T13:14:15Z', END, 'subscription_update']);
    expect(inv.lines.data.map(lineTuple)).toEqual(lines);
  });
});

describe('proration_behavior none and billing_cycle_anchor', () => {
  it('none: nothing pending; the renewal bills the new price in full', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, AT);
    await update(t, sub.id, { items: [{ id: item, price: p.group }], proration_behavior: 'none' });
    expect(await pending(customer)).toEqual([]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 150_000, 150_000, END, '2026-05-01T00:00:00Z', 'subscription_cycle']);
  });

  it('billing_cycle_anchor=now with none: a full period from now, no credit; preview identical', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, AT);
    const q = `subscription_items[0][id]=${item}&subscription_items[0][price]=${p.group}&subscription_billing_cycle_anchor=now&subscription_proration_behavior=none`;
    const pv = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&${q}`);
    const res = await update(t, sub.id, { items: [{ id: item, price: p.group }], billing_cycle_anchor: 'now', proration_behavior: 'none' });
    expect([iso(res.billing_cycle_anchor), iso(res.current_period_start), iso(res.current_period_end)]).toEqual([AT, AT, '2026-04-16T08:16:47Z']);
    const inv = (await t.invoices(sub.id))[1]!;
    expect(invTuple(inv)).toEqual(['paid', 150_000, 150_000, AT, '2026-04-16T08:16:47Z', 'subscription_update']);
    expect(pv.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
    expect(await pending(customer)).toEqual([]);
  });

  it('billing_cycle_anchor=unchanged: same as the default (pending prorations, period kept)', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, AT);
    const res = await update(t, sub.id, { items: [{ id: item, price: p.group }], billing_cycle_anchor: 'unchanged' });
    expect([iso(res.current_period_start), iso(res.current_period_end)]).toEqual(['2026-03-01T00:00:00Z', END]);
    expect((await pending(customer)).map((l) => l[1])).toEqual([75_750, -4899]);
  });

  it('monthly → annual with a past proration_date: credit from it, a year from now, invoiced now; preview identical', async () => {
    const p = await prices();
    const { clock, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const pd = unix('2026-03-09T13:14:15Z');
    const pv = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${item}&subscription_items[0][price]=${p.annual}&subscription_proration_date=${pd}`);
    const res = await update(t, sub.id, { items: [{ id: item, price: p.annual }], proration_date: pd });
    expect([iso(res.billing_cycle_anchor), iso(res.current_period_end)]).toEqual(['2026-03-10T00:00:00Z', '2027-03-10T00:00:00Z']);
    const inv = (await t.invoices(sub.id))[1]!;
    // 97,000 − 7,024 = 89,976
    expect(invTuple(inv)).toEqual(['paid', 89_976, 89_976, '2026-03-10T00:00:00Z', '2027-03-10T00:00:00Z', 'subscription_update']);
    expect(pv.lines.data.map(lineTuple)).toEqual(inv.lines.data.map(lineTuple));
    expect(pv.total).toBe(89_976);
  });
});

describe('several changes in one period', () => {
  it('create_prorations then always_invoice: the second invoice takes the first change’s pending lines too', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    // Mar 8: 24 days left. 9,700×24/31 = 7,509.68 → 7,510; 150,000×24/31 = 116,129.03 → 116,129
    await t.advance(clock, '2026-03-08T00:00:00Z');
    await update(t, sub.id, { items: [{ id: item, price: p.group }] });
    // Mar 24: 8 days left. 150,000×8/31 = 38,709.68 → 38,710; 500,000×8/31 = 129,032.26 → 129,032
    await t.advance(clock, '2026-03-24T00:00:00Z');
    await update(t, sub.id, { items: [{ id: item, price: p.elite }], proration_behavior: 'always_invoice' });
    const inv = (await t.invoices(sub.id))[1]!;
    // −7,510 + 116,129 − 38,710 + 129,032 = 198,941
    expect(invTuple(inv)).toEqual(['paid', 198_941, 198_941, '2026-03-24T00:00:00Z', END, 'subscription_update']);
    expect(inv.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([-38_710, -7510, 116_129, 129_032]);
    expect(await pending(customer)).toEqual([]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[2]!)).toEqual(['paid', 500_000, 500_000, END, '2026-05-01T00:00:00Z', 'subscription_cycle']);
  });
});

describe('changes during a trial', () => {
  it('prorate nothing (even always_invoice); the trial end bills the new items; the preview matched it', async () => {
    const p = await prices();
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p.community }], trial_period_days: 10 });
    const item = sub.items.data[0].id;
    await t.advance(clock, '2026-03-05T00:00:00Z');
    const pv = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${item}&subscription_items[0][price]=${p.group}&subscription_items[0][quantity]=2`);
    const res = await update(t, sub.id, { items: [{ id: item, price: p.group, quantity: 2 }], proration_behavior: 'always_invoice' });
    expect([res.status, iso(res.current_period_end)]).toEqual(['trialing', '2026-03-11T00:00:00Z']);
    expect(await pending(customer)).toEqual([]);
    expect(await t.invoices(sub.id)).toHaveLength(1);
    await t.advance(clock, '2026-03-11T02:00:00Z');
    const first = (await t.invoices(sub.id))[1]!;
    expect(invTuple(first)).toEqual(['paid', 300_000, 300_000, '2026-03-11T00:00:00Z', '2026-04-11T00:00:00Z', 'subscription_cycle']);
    expect(pv.lines.data.map(lineTuple)).toEqual(first.lines.data.map(lineTuple));
  });

  it('an interval change during a trial bills the new interval from the trial end', async () => {
    const p = await prices();
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p.community }], trial_period_days: 14 });
    await t.advance(clock, '2026-03-05T00:00:00Z');
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: p.annual }] });
    await t.advance(clock, '2026-03-15T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 97_000, 97_000, '2026-03-15T00:00:00Z', '2027-03-15T00:00:00Z', 'subscription_cycle']);
  });
});

describe('scheduled downgrade, then an upgrade', () => {
  it('the upgrade prorates from the current plan, drops the schedule, and the renewal bills the upgrade', async () => {
    const p = await prices();
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p.group }], trial_end: 'now' });
    const item = sub.items.data[0].id;
    await t.advance(clock, '2026-05-10T00:00:00Z');
    const sched = await update(t, sub.id, { items: [{ id: item, price: p.community }], schedule_at_period_end: true });
    expect(sched.schedule.effective_at).toBe(unix('2026-06-01T00:00:00Z'));
    await t.advance(clock, '2026-05-16T00:00:00Z');
    const up = await update(t, sub.id, { items: [{ id: item, price: p.elite }] });
    expect(up.schedule).toBeNull();
    // 16 of 31 days left: −150,000×16/31 = −77,419.35 → −77,419; 500,000×16/31 = 258,064.52 → 258,065
    expect(await pending(customer)).toEqual([
      ['Remaining time on Elite 1:1 Coaching after May 16, 2026', 258_065, '2026-05-16T00:00:00Z', '2026-06-01T00:00:00Z', true],
      ['Unused time on Group Coaching Programs after May 16, 2026', -77_419, '2026-05-16T00:00:00Z', '2026-06-01T00:00:00Z', true],
    ]);
    await t.advance(clock, '2026-06-01T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 680_646, 680_646, '2026-06-01T00:00:00Z', '2026-07-01T00:00:00Z', 'subscription_cycle']);
  });

  it('a downgrade scheduled during a trial applies at the trial end', async () => {
    const p = await prices();
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: p.group }], trial_period_days: 14 });
    const sched = await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: p.community }], schedule_at_period_end: true });
    expect(sched.schedule.effective_at).toBe(unix('2026-05-15T00:00:00Z'));
    await t.advance(clock, '2026-05-15T02:00:00Z');
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['paid', 9700, 9700, '2026-05-15T00:00:00Z', '2026-06-15T00:00:00Z', 'subscription_cycle']);
    expect((await t.sub(sub.id)).schedule).toBeNull();
  });
});

describe('POST /v1/invoices/create_preview', () => {
  it('subscription_details[items] + proration_date previews the renewal with the prorations, writing nothing', async () => {
    const p = await prices();
    const { clock, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const before = await counts();
    const res = await post('/v1/invoices/create_preview', { subscription: sub.id, subscription_details: { items: [{ id: item, price: p.group }], proration_date: unix('2026-03-16T08:16:48Z') } });
    expect(res.status).toBe(200);
    expect(await counts()).toEqual(before);
    expect(res.body.total).toBe(220_852);
    expect(res.body.lines.data.map(lineTuple)).toEqual([
      ['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, END, '2026-05-01T00:00:00Z', false],
      ['Unused time on Community Access after Mar 16, 2026', -4898, '2026-03-16T08:16:48Z', END, true],
      ['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, '2026-03-16T08:16:48Z', END, true],
    ]);
  });
});

describe('a declined always_invoice change (allow_incomplete, the default)', () => {
  it('is applied, its invoice stays open and the subscription goes past_due (Stripe: allow_incomplete → past_due)', async () => {
    const p = await prices();
    const { clock, customer, sub, item } = await communityFrom();
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const pm = await post(`/v1/payment_methods/pm_card_chargeCustomerFail/attach`, { customer });
    await post(`/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm.body.id } });
    const res = await update(t, sub.id, { items: [{ id: item, price: p.group }], proration_behavior: 'always_invoice' });
    expect(res.status).toBe('past_due');
    // 22 of 31 days: −6,883.87 → −6,884; 106,451.6 → 106,452; 99,568
    expect(invTuple((await t.invoices(sub.id))[1]!)).toEqual(['open', 99_568, 0, '2026-03-10T00:00:00Z', END, 'subscription_update']);
  });
});
