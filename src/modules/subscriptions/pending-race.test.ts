import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { usingPostgres } from '../../../test/helpers/db.js';
import { advancePeriods } from './jobs.js';

// Two workers renewing two subscriptions of one customer at the same moment: the customer's pending
// invoice item (not tied to either subscription) must land on exactly one of the two invoices.
// The interleaving is forced: the first transaction holds its locks until the second has started.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe.skipIf(!usingPostgres)('concurrent renewals of one customer on PostgreSQL', () => {
  it('bill a pending invoice item once', async () => {
    const clock = await t.clockAt('2026-05-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    for (const key of ['community_monthly', 'group_monthly']) {
      const res = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer, items: [{ price: await t.priceId(key) }], trial_end: 'now' } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const item = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: await t.priceId('course_onetime') } });
    expect([item.status, item.body.amount, item.body.subscription]).toEqual([200, 99_700, null]);

    const other = await t.testDb.openAnother(2);
    const now = new Date('2026-06-01T00:00:00Z');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let firstRenewed!: () => void;
    const renewed = new Promise<void>((r) => (firstRenewed = r));
    const tx1 = t.testDb.db.tx(async (q) => {
      const n = await advancePeriods(q, t.deps, { clock }, now, 1);
      firstRenewed();
      await gate;
      return n;
    });
    await renewed;
    const tx2 = other.tx((q) => advancePeriods(q, t.deps, { clock }, now, 1));
    await new Promise((r) => setTimeout(r, 500));
    release();
    expect([await tx1, await tx2]).toEqual([1, 1]);

    const { rows } = await t.testDb.db.query<{ invoice: string; n: number }>(`SELECT invoice, count(*)::int AS n FROM invoice_lines WHERE invoice_item = $1 GROUP BY invoice`, [item.body.id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.n).toBe(1);
    const { rows: renewals } = await t.testDb.db.query<{ total: number }>(`SELECT total FROM invoices WHERE customer = $1 AND billing_reason = 'subscription_cycle' ORDER BY total`, [customer]);
    // Community 9,700 and Group 150,000; the course's 99,700 on exactly one of them.
    expect(renewals.map((r) => r.total).sort((a, b) => a - b)).toSatisfy((totals: number[]) => JSON.stringify(totals) === JSON.stringify([109_400, 150_000]) || JSON.stringify(totals) === JSON.stringify([9700, 249_700]));
  });
});
