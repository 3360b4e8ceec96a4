import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';

// The renewal race of worker-race.test.ts covers the set-based path (plain renewals). This one races
// two workers (two connection pools, the real worker pass) over the one-by-one path: trials that
// convert, period-end cancellations and changes scheduled for the period end, due at the same moment.
// And, on either database, the constraint under it all: one invoice per subscription period.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp('2026-03-01T00:00:00Z');
});
afterAll(() => t.close());

async function post(url: string, payload: Record<string, unknown>) {
  const res = await t.call({ method: 'POST', url, payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe('one invoice per subscription period', () => {
  it('is a database constraint: a second invoice for the same period is refused by PostgreSQL itself', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = await post('/v1/subscriptions', { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const copy = `INSERT INTO invoices SELECT (jsonb_populate_record(i, jsonb_build_object('id', 'in_copy_' || i.id, 'number', NULL, 'status', 'draft'))).* FROM invoices i WHERE i.subscription = $1`;
    await expect(t.testDb.db.query(copy, [sub.id])).rejects.toThrow(/invoices_one_per_period/);
    const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invoices WHERE subscription = $1`, [sub.id]);
    expect(rows[0]!.n).toBe(1);
  });
});

describe.skipIf(!usingPostgres)('two workers over the one-by-one path on PostgreSQL', () => {
  it('convert trials, cancel and apply scheduled changes exactly once', async () => {
    const N = 60;
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_monthly');
    const kinds: ('trial' | 'cancel' | 'schedule')[] = [];
    for (let i = 0; i < N; i++) {
      const customer = await t.customer({ card: 'pm_card_visa' });
      const kind = (['trial', 'cancel', 'schedule'] as const)[i % 3]!;
      kinds.push(kind);
      if (kind === 'trial') {
        await post('/v1/subscriptions', { customer, items: [{ price: group }], trial_end: Date.parse('2026-04-01T00:00:00Z') / 1000, metadata: { race: 'yes' } });
      } else {
        const sub = await post('/v1/subscriptions', { customer, items: [{ price: group }], trial_end: 'now', metadata: { race: 'yes' } });
        if (kind === 'cancel') await post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
        else await post(`/v1/subscriptions/${sub.id}`, { items: [{ id: sub.items.data[0].id, price: community }], schedule_at_period_end: true });
      }
    }
    const other = await t.testDb.openAnother(4);
    const at = new Date('2026-04-01T00:00:00Z');
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 7, finalizeDelaySeconds: 0 } };
    const passes = await Promise.all([drainBilling(t.testDb.db, deps, { clock: null }, at), drainBilling(other, deps, { clock: null }, at)]);
    expect(passes[0]! + passes[1]!).toBeGreaterThan(0);

    const { rows } = await t.testDb.db.query<{ status: string; reason: string; total: number; n: number }>(
      `SELECT s.status, i.billing_reason AS reason, i.total, count(*)::int AS n
         FROM subscriptions s JOIN invoices i ON i.subscription = s.id AND i.period_start = $1
        WHERE s.metadata->>'race' = 'yes'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      [at],
    );
    // 20 trials convert to Group (150,000 each), 20 downgrade to Community (9,700), 20 cancel (no invoice).
    expect(rows).toEqual([
      { status: 'active', reason: 'subscription_cycle', total: 9700, n: 20 },
      { status: 'active', reason: 'subscription_cycle', total: 150_000, n: 20 },
    ]);
    const { rows: statuses } = await t.testDb.db.query<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM subscriptions WHERE metadata->>'race' = 'yes' GROUP BY 1 ORDER BY 1`);
    expect(statuses).toEqual([
      { status: 'active', n: 40 },
      { status: 'canceled', n: 20 },
    ]);
    const { rows: charges } = await t.testDb.db.query<{ n: number; sum: number }>(
      `SELECT count(*)::int AS n, sum(p.amount)::bigint AS sum FROM payment_intents p JOIN invoices i ON i.id = p.invoice JOIN subscriptions s ON s.id = i.subscription
        WHERE p.status = 'succeeded' AND p.created >= $1 AND s.metadata->>'race' = 'yes'`,
      [at],
    );
    expect([charges[0]!.n, Number(charges[0]!.sum)]).toEqual([40, 20 * 9700 + 20 * 150_000]);
    expect(kinds.filter((k) => k === 'trial')).toHaveLength(20);
  }, 120_000);
});
