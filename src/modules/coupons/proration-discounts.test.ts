import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { get, subscribe, update, type BillingApp } from '../../../test/scenarios/support.js';

// A proration keeps the discounts in force when it was made, as Stripe records them on the proration
// (invoice_item.proration_details.discount_amounts): the invoice that later takes it applies those
// amounts, not the discounts in force by then (audit: test/audit-coupons/proration-discount.test.ts).
//
// [Mar 1, Apr 1) 2026 = 2,678,400 s; Mar 16 08:16:48 leaves 1,352,592 s (see changes.test.ts):
//   community credit −9,700 × 1,352,592 / 2,678,400 = −4,898.5 → −4,898 (half-even)
//   group debit      150,000 × 1,352,592 / 2,678,400 = 75,750

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const CHANGE_AT = '2026-03-16T08:16:48Z';

type Line = { amount: number; proration: boolean; discount_amounts: { discount: string; amount: number }[] };
const prorationsOf = (inv: { lines: { data: Line[] } }) => inv.lines.data.filter((l) => l.proration);
const discountOf = (lines: Line[]) => lines.flatMap((l) => l.discount_amounts).reduce((s, d) => s + d.amount, 0);

async function coupon(payload: Record<string, unknown>): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/coupons', payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id;
}

async function storedAmounts(subscription: string): Promise<unknown[]> {
  const { rows } = await t.testDb.db.query<{ proration_discount_amounts: unknown }>(
    `SELECT proration_discount_amounts FROM invoice_items WHERE subscription = $1 AND proration ORDER BY id`,
    [subscription],
  );
  return rows.map((r) => r.proration_discount_amounts);
}

describe('proration lines and a discount that ends before the renewal', () => {
  it('a 50 % 1-month coupon in force at the upgrade discounts its proration lines', async () => {
    const c = await coupon({ percent_off: 50, duration: 'repeating', duration_in_months: 1 });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c });
    const discount = sub.discounts[0] as string;
    // Mar 1 invoice: 9,700 at 50 % = 4,850. The discount ends Apr 1 00:00.
    await t.advance(clock, CHANGE_AT);
    const group = await t.priceId('group_monthly');
    const itemId = sub.items.data[0].id as string;

    // The preview of the change shows the renewal the worker will bill.
    const preview = await get(t, `/v1/invoices/upcoming?subscription=${sub.id}&subscription_items[0][id]=${itemId}&subscription_items[0][price]=${group}`);
    // Upgrade while the discount is in force: credit −4,898 (unused community), debit 75,750 (group).
    await update(t, sub.id, { items: [{ id: itemId, price: group }] });
    expect(await storedAmounts(sub.id)).toEqual([[{ discount, amount: -2449 }], [{ discount, amount: 37_875 }]]);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    const renewal = await get(t, `/v1/invoices/${invs[1]!.id}`);
    const prorations = prorationsOf(renewal);
    expect(prorations.map((l) => l.amount)).toEqual([-4898, 75_750]);
    // The prorations cover Mar 16 – Apr 1, entirely inside the discounted month: 50 % of the net 70,852 = 35,426.
    // Stripe: 150,000 (new period, discount over) + 70,852 − 35,426 = 185,426.
    expect(prorations.map((l) => l.discount_amounts)).toEqual([[{ discount, amount: -2449 }], [{ discount, amount: 37_875 }]]);
    expect(discountOf(prorations)).toBe(35_426);
    expect([renewal.subtotal, renewal.total]).toEqual([220_852, 185_426]);
    // The period line: no discount (the coupon has ended); the invoice's own discounts are none.
    expect(renewal.lines.data.filter((l: Line) => !l.proration).map((l: Line) => [l.amount, l.discount_amounts])).toEqual([[150_000, []]]);
    expect(renewal.discounts).toEqual([]);
    // …but the invoice's total_discount_amounts counts the proration lines' discount.
    expect(renewal.total_discount_amounts).toEqual([{ discount, amount: 35_426 }]);

    expect([preview.subtotal, preview.total, discountOf(prorationsOf(preview))]).toEqual([220_852, 185_426, 35_426]);
    expect(prorationsOf(preview).map((l) => l.discount_amounts)).toEqual(prorations.map((l) => l.discount_amounts));
  });

  it('a draft rebuilt after an item is added keeps them, and does not discount its other lines', async () => {
    const c = await coupon({ percent_off: 50, duration: 'repeating', duration_in_months: 1 });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c });
    await t.advance(clock, CHANGE_AT);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }] });
    // The renewal draft waits an hour (finalizeDelaySeconds) before it is finalized.
    await t.advance(clock, '2026-04-01T00:30:00Z');
    const draft = (await t.invoices(sub.id)).find((i) => i.status === 'draft')!;
    expect(draft.total).toBe(185_426);
    const added = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, invoice: draft.id, amount: 1_000, currency: 'usd' } });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    const rebuilt = await get(t, `/v1/invoices/${draft.id}`);
    expect([rebuilt.subtotal, rebuilt.total, rebuilt.discounts]).toEqual([221_852, 186_426, []]);
    expect(rebuilt.lines.data.map((l: Line) => [l.amount, l.discount_amounts.reduce((s, d) => s + d.amount, 0)])).toEqual([
      [150_000, 0],
      [-4898, -2449],
      [75_750, 37_875],
      [1_000, 0],
    ]);
  });
});

describe('a cancellation credit of a discounted subscription', () => {
  it('credits what was paid (after the 50 % forever discount), not the full price', async () => {
    const c = await coupon({ percent_off: 50, duration: 'forever' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', coupon: c });
    const first = (await t.invoices(sub.id))[0]!;
    expect([first.total, first.amount_paid]).toEqual([75_000, 75_000]); // March paid at 50 %
    await t.advance(clock, CHANGE_AT);
    const del = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}`, payload: { prorate: true } });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    // The unused-time credit waits for the customer's next invoice (no invoice_now).
    const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer } });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    expect(inv.body.lines.data.map((l: { amount: number }) => l.amount)).toEqual([-75_750]);
    // Stripe fixes the discount on the proration when it is created (proration_details.discount_amounts):
    // −75,750 + 37,875 = −37,875, half of the half month: not more than the 75,000 paid for the month.
    expect(inv.body.lines.data[0].discount_amounts).toEqual([{ discount: sub.discounts[0], amount: -37_875 }]);
    expect(inv.body.total).toBe(-37_875);
  });
});

describe('other discounts and prorations', () => {
  it('an amount_off coupon takes the share of the prorations it takes of a period: the upgrade costs what it did', async () => {
    const c = await coupon({ amount_off: 1_000, currency: 'usd', duration: 'forever' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', coupon: c });
    const discount = sub.discounts[0] as string;
    expect((await t.invoices(sub.id))[0]!.total).toBe(8_700);
    await t.advance(clock, CHANGE_AT);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }] });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = await get(t, `/v1/invoices/${(await t.invoices(sub.id))[1]!.id}`);
    // 1,000 off a month: the credit gives back 4,898 × 1,000 / 9,700 = 504.9 less (what was paid for the
    // unused time: 8,700 for the month), the debit costs 75,750 × 1,000 / 150,000 = 505 less; rounded once
    // on the net (0.05 → 0): −505 and +505. Not 1,000 off each proration line, nor one 1,000 off the change.
    expect(renewal.lines.data.map((l: Line) => [l.amount, l.discount_amounts])).toEqual([
      [150_000, [{ discount, amount: 1_000 }]],
      [-4898, [{ discount, amount: -505 }]],
      [75_750, [{ discount, amount: 505 }]],
    ]);
    expect([renewal.total, renewal.total_discount_amounts]).toEqual([219_852, [{ discount, amount: 1_000 }]]);
  });

  it('a once coupon is not fixed on the prorations: the invoice that spends it discounts all its lines, once', async () => {
    const c = await coupon({ percent_off: 50, duration: 'once' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-10T00:00:00Z');
    const discount = (await update(t, sub.id, { coupon: c })).discounts[0] as string;
    await t.advance(clock, CHANGE_AT);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }] });
    expect(await storedAmounts(sub.id)).toEqual([[], []]);
    await t.advance(clock, '2026-05-01T02:00:00Z');
    const invs = await t.invoices(sub.id);
    const renewal = await get(t, `/v1/invoices/${invs[1]!.id}`);
    // 50 % of 150,000 − 4,898 + 75,750 = 220,852: 110,426, then spent.
    expect([renewal.total, renewal.total_discount_amounts]).toEqual([110_426, [{ discount, amount: 110_426 }]]);
    expect(invs.map((i) => i.total)).toEqual([9_700, 110_426, 150_000]);
  });

  it('a coupon added after the proration was made does not discount it', async () => {
    const c = await coupon({ percent_off: 50, duration: 'forever' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, price: await t.priceId('group_monthly') }] });
    await t.advance(clock, '2026-03-20T00:00:00Z');
    const discount = (await update(t, sub.id, { coupon: c })).discounts[0] as string;
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal = await get(t, `/v1/invoices/${(await t.invoices(sub.id))[1]!.id}`);
    // The new period at 50 %; the upgrade was priced when no discount was in force (Stripe the same).
    expect(renewal.lines.data.map((l: Line) => [l.amount, l.discount_amounts])).toEqual([
      [150_000, [{ discount, amount: 75_000 }]],
      [-4898, []],
      [75_750, []],
    ]);
    expect(renewal.total).toBe(145_852);
  });
});
