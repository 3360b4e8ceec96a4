import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { countRows, get, invTuple, iso, lineTuple, secs, subscribe, unix, update, type BillingApp } from './support.js';

// The upcoming-invoice preview shows what the proposed update would really invoice: the immediate
// invoice when the update invoices at once (billing_cycle_anchor=now, an interval change,
// always_invoice), the prorated stretch after a trial that ends before a later anchor. Each preview
// writes nothing, and the real update (or the worker) then bills exactly the previewed lines.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const TABLES = ['invoices', 'invoice_items', 'invoice_lines', 'events', 'payment_intents'] as const;
const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (n) => [n, await countRows(t, n)] as const)));

/** A preview by GET /v1/invoices/upcoming and by POST /v1/invoices/create_preview: both must write nothing and agree. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function preview(query: string, body: Record<string, unknown>): Promise<any> {
  const before = await counts();
  const up = await get(t, `/v1/invoices/upcoming?${query}`);
  const created = await t.call({ method: 'POST', url: '/v1/invoices/create_preview', payload: body });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  expect(await counts()).toEqual(before);
  expect([created.body.total, created.body.billing_reason, created.body.period_start, created.body.period_end, created.body.lines.data.map(lineTuple)]).toEqual([
    up.total,
    up.billing_reason,
    up.period_start,
    up.period_end,
    up.lines.data.map(lineTuple),
  ]);
  return up;
}

// [Mar 1, Apr 1) 2026 = 31 days = 2,678,400 s; Mar 16 08:16:48 leaves 1,352,592 s (see changes.test.ts):
//   community credit −9,700 × 1,352,592 / 2,678,400 = −4,898.5 → −4,898 (half-even)
//   group debit      150,000 × 1,352,592 / 2,678,400 = 75,750
const CHANGE_AT = '2026-03-16T08:16:48Z';

describe('preview of billing_cycle_anchor=now', () => {
  it('is the immediate invoice: credit for the unused time and a new full period from now', async () => {
    expect(unix('2026-04-01T00:00:00Z') - unix(CHANGE_AT)).toBe(secs(15, 15, 43, 12));
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);

    const up = await preview(`subscription=${sub.id}&subscription_billing_cycle_anchor=now`, { subscription: sub.id, subscription_details: { billing_cycle_anchor: 'now' } });
    const expectedLines = [
      ['1 × Community Access (at $97.00 / month)', 9700, CHANGE_AT, '2026-04-16T08:16:48Z', false],
      ['Unused time on Community Access after Mar 16, 2026', -4898, CHANGE_AT, '2026-04-01T00:00:00Z', true],
    ];
    // 9,700 − 4,898 = 4,802
    expect([up.total, up.billing_reason, iso(up.period_start), iso(up.period_end)]).toEqual([4802, 'subscription_update', CHANGE_AT, '2026-04-16T08:16:48Z']);
    expect(up.lines.data.map(lineTuple)).toEqual(expectedLines);

    await update(t, sub.id, { billing_cycle_anchor: 'now' });
    const invs = await t.invoices(sub.id);
    expect(invTuple(invs[1]!)).toEqual(['paid', 4802, 4802, CHANGE_AT, '2026-04-16T08:16:48Z', 'subscription_update']);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual(expectedLines);
  });
});

describe('preview of an interval change (monthly → quarterly)', () => {
  it('is the immediate invoice the change makes: credit for the unused month and a quarter from now', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-16T00:00:00Z');
    const quarterly = await t.priceId('group_quarterly');
    const itemId = sub.items.data[0].id as string;

    const up = await preview(`subscription=${sub.id}&subscription_items[0][id]=${itemId}&subscription_items[0][price]=${quarterly}`, {
      subscription: sub.id,
      subscription_details: { items: [{ id: itemId, price: quarterly }] },
    });
    // Mar 16 → Apr 1 = 16 of 31 days: −150,000 × 16 / 31 = −77,419.35… → −77,419; 420,000 − 77,419 = 342,581.
    const expectedLines = [
      ['1 × Group Coaching Programs (at $4,200.00 every 3 months)', 420_000, '2026-03-16T00:00:00Z', '2026-06-16T00:00:00Z', false],
      ['Unused time on Group Coaching Programs after Mar 16, 2026', -77_419, '2026-03-16T00:00:00Z', '2026-04-01T00:00:00Z', true],
    ];
    expect([up.total, up.billing_reason, iso(up.period_start), iso(up.period_end)]).toEqual([342_581, 'subscription_update', '2026-03-16T00:00:00Z', '2026-06-16T00:00:00Z']);
    expect(up.lines.data.map(lineTuple)).toEqual(expectedLines);

    await update(t, sub.id, { items: [{ id: itemId, price: quarterly }] });
    const invs = await t.invoices(sub.id);
    expect(invTuple(invs[1]!)).toEqual(['paid', 342_581, 342_581, '2026-03-16T00:00:00Z', '2026-06-16T00:00:00Z', 'subscription_update']);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual(expectedLines);
  });
});

describe('preview of a trial that ends before a later billing_cycle_anchor', () => {
  it('is the prorated stretch from the trial end to the anchor, as the worker bills it', async () => {
    const clock = await t.clockAt('2026-01-10T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 5, billing_cycle_anchor: unix('2026-02-01T00:00:00Z') });
    expect([sub.status, iso(sub.trial_end)]).toEqual(['trialing', '2026-01-15T00:00:00Z']);

    const up = await preview(`subscription=${sub.id}`, { subscription: sub.id });
    // [Jan 1, Feb 1) = 2,678,400 s; Jan 15 → Feb 1 = 17 days = 1,468,800 s: 9,700 × 1,468,800 / 2,678,400 = 5,319.35… → 5,319.
    expect(secs(17)).toBe(1_468_800);
    const expectedLines = [['Remaining time on Community Access after Jan 15, 2026', 5319, '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z', true]];
    expect([up.total, up.billing_reason, iso(up.period_start), iso(up.period_end), iso(up.next_payment_attempt)]).toEqual([
      5319,
      'subscription_cycle',
      '2026-01-15T00:00:00Z',
      '2026-02-01T00:00:00Z',
      '2026-01-15T00:00:00Z',
    ]);
    expect(up.lines.data.map(lineTuple)).toEqual(expectedLines);

    await t.advance(clock, '2026-01-15T02:00:00Z');
    const invs = await t.invoices(sub.id);
    expect(invTuple(invs[1]!)).toEqual(['paid', 5319, 5319, '2026-01-15T00:00:00Z', '2026-02-01T00:00:00Z', 'subscription_cycle']);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual(expectedLines);
  });
});

describe('preview with always_invoice', () => {
  it('is the invoice of the prorations made now, for the rest of the period, not the next renewal', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, CHANGE_AT);
    const group = await t.priceId('group_monthly');
    const itemId = sub.items.data[0].id as string;

    const up = await preview(`subscription=${sub.id}&subscription_items[0][id]=${itemId}&subscription_items[0][price]=${group}&subscription_proration_behavior=always_invoice`, {
      subscription: sub.id,
      subscription_details: { items: [{ id: itemId, price: group }], proration_behavior: 'always_invoice' },
    });
    const expectedLines = [
      ['Unused time on Community Access after Mar 16, 2026', -4898, CHANGE_AT, '2026-04-01T00:00:00Z', true],
      ['Remaining time on Group Coaching Programs after Mar 16, 2026', 75_750, CHANGE_AT, '2026-04-01T00:00:00Z', true],
    ];
    // −4,898 + 75,750 = 70,852
    expect([up.total, up.billing_reason, iso(up.period_start), iso(up.period_end)]).toEqual([70_852, 'subscription_update', CHANGE_AT, '2026-04-01T00:00:00Z']);
    expect(up.lines.data.map(lineTuple)).toEqual(expectedLines);

    await update(t, sub.id, { items: [{ id: itemId, price: group }], proration_behavior: 'always_invoice' });
    const invs = await t.invoices(sub.id);
    expect(invTuple(invs[1]!)).toEqual(['paid', 70_852, 70_852, CHANGE_AT, '2026-04-01T00:00:00Z', 'subscription_update']);
    expect(invs[1]!.lines.data.map(lineTuple)).toEqual(expectedLines);
  });
});
