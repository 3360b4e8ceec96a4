import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, get, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// GET /v1/invoices/upcoming previews a proposed change's prorations without writing anything, and
// the change then bills exactly what the preview showed.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (n) => [n, await countRows(t, n)] as const)));

// Same arithmetic as changes.test.ts: [Mar 1, Apr 1) = 2,678,400 s; from Mar 16 08:16:48 there are
// 15 d 15 h 43 m 12 s = 1,352,592 s left. Credit −9,700 × 1,352,592 / 2,678,400 = −4,898.5 → −4,898
// (half-even); debit 150,000 × 1,352,592 / 2,678,400 = 75,750.
const PRORATION_DATE = '2026-03-16T08:16:48Z';

describe('GET /v1/invoices/upcoming', () => {
  it('previews the next invoice without a change', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const before = await counts();
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect(await counts()).toEqual(before);
    expect([up.status, up.total, up.amount_due, iso(up.period_start), iso(up.period_end), iso(up.next_payment_attempt), up.billing_reason]).toEqual([
      'draft',
      9700,
      9700,
      '2026-04-01T00:00:00Z',
      '2026-05-01T00:00:00Z',
      '2026-04-01T00:00:00Z',
      'subscription_cycle',
    ]);
    expect(up.lines.data.map(lineTuple)).toEqual([['1 × Community Access (at $97.00 / month)', 9700, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false]]);
  });

  it('previews the proration lines of an upgrade at subscription_proration_date, writing nothing; the upgrade then bills the same', async () => {
    expect(unix('2026-04-01T00:00:00Z') - unix(PRORATION_DATE)).toBe(secs(15, 15, 43, 12));
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const sub = await subscribe(t, { customer, items: [{ price: community }], trial_end: 'now' });
    const itemId = sub.items.data[0].id as string;
    await t.advance(clock, '2026-03-10T00:00:00Z');

    const before = await counts();
    const url =
      `/v1/invoices/upcoming?subscription=${sub.id}` +
      `&subscription_items[0][id]=${itemId}&subscription_items[0][price]=${group}` +
      `&subscription_proration_date=${unix(PRORATION_DATE)}`;
    const up = await get(t, url);
    expect(await counts()).toEqual(before);

    // In the renewal's order: the new period's line, then the pending prorations.
    const expectedLines = [
      ['1 × Group Coaching Programs (at $1,500.00 / month)', 150_000, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', false],
      ['Unused time on Community Access after Mar 16, 2026', -4898, PRORATION_DATE, '2026-04-01T00:00:00Z', true],
      ['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, PRORATION_DATE, '2026-04-01T00:00:00Z', true],
    ];
    expect(up.lines.data.map(lineTuple)).toEqual(expectedLines);
    // −4,898 + 75,750 + 150,000 = 220,852
    expect([up.subtotal, up.total, up.amount_due]).toEqual([220_852, 220_852, 220_852]);

    // Nothing changed on the subscription either.
    const unchanged = await t.sub(sub.id);
    expect(unchanged.items.data.map((i: { id: string; price: { id: string } }) => [i.id, i.price.id])).toEqual([[itemId, community]]);
    expect((await get(t, `/v1/invoiceitems?customer=${customer}&pending=true`)).data).toEqual([]);
    // A second preview answers the same.
    expect((await get(t, url)).lines.data.map(lineTuple)).toEqual(expectedLines);

    // The real change with the same proration_date bills exactly the previewed lines at renewal.
    await update(t, sub.id, { items: [{ id: itemId, price: group }], proration_date: unix(PRORATION_DATE) });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = (await t.invoices(sub.id))[1]!;
    expect(invTuple(renewal)).toEqual(['paid', 220_852, 220_852, '2026-04-01T00:00:00Z', '2026-05-01T00:00:00Z', 'subscription_cycle']);
    expect(renewal.lines.data.map(lineTuple)).toEqual(expectedLines);
  });

  it('has no upcoming invoice for a subscription set to cancel at the period end, nor for a canceled one', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await update(t, sub.id, { cancel_at_period_end: true });
    const none = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}` });
    expect([none.status, none.body.error?.code]).toEqual([400, 'invoice_upcoming_none']);
    // Undone: the renewal is previewed again.
    await update(t, sub.id, { cancel_at_period_end: false });
    expect((await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`)).total).toBe(9700);
    await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}`, payload: {} });
    const canceled = await t.call({ method: 'GET', url: `/v1/invoices/upcoming?subscription=${sub.id}` });
    expect([canceled.status, canceled.body.error?.code]).toEqual([400, 'invoice_upcoming_none']);
  });

  it('rejects a proration date outside the current period', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const res = await t.call({
      method: 'GET',
      url: `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${sub.items.data[0].id}&subscription_items[0][price]=${await t.priceId('group_monthly')}&subscription_proration_date=${unix('2026-04-02T00:00:00Z')}`,
    });
    expect([res.status, res.body.error?.param]).toEqual([400, 'subscription_proration_date']);
  });
});

describe('the preview of a send_invoice subscription', () => {
  // Stripe, Invoice.next_payment_attempt: "This value will be null for invoices where
  // collection_method=send_invoice." The real renewal has null; so must its preview.
  it('has no next_payment_attempt, and the due date the renewal gets', async () => {
    const clock = await t.clockAt('2026-04-01T00:00:00Z');
    const customer = await t.customer({ clock });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 5 });
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.collection_method, up.next_payment_attempt, iso(up.due_date)]).toEqual(['send_invoice', null, '2026-05-06T00:00:00Z']);
    await t.advance(clock, '2026-05-01T02:00:00Z');
    const renewal = (await get(t, `/v1/invoices?subscription=${sub.id}&limit=10`)).data[0];
    expect([renewal.billing_reason, renewal.next_payment_attempt, iso(renewal.due_date)]).toEqual(['subscription_cycle', null, '2026-05-06T00:00:00Z']);
  });
});

describe('the preview is a draft', () => {
  it("shows the customer's current email and name, as a draft invoice does", async () => {
    const customer = await t.customer({ card: 'pm_card_visa', email: 'preview@example.com' });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { name: 'Pre View' } });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const up = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}`);
    expect([up.status, up.customer_email, up.customer_name]).toEqual(['draft', 'preview@example.com', 'Pre View']);
  });
});
