import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimRows, claimSql } from '../../db/index.js';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { createDueSubscriptions } from '../../../test/helpers/due-subscriptions.js';
import { seedCatalog } from '../catalog/seed.js';
import { claims, type Scope } from './jobs.js';

// The worker's claims must stay index scans in the index's own order: a claim that sorts, or reads
// through a bitmap, revisits every row already handled and grows quadratic over a big run (0.5 s per
// batch at a million renewals before migration 0010).

const NOW = new Date('2026-03-01T00:00:10Z');
let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
  await t.db.tx(async (q) => {
    await seedCatalog(q, NOW);
    const price = (await q.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    await createDueSubscriptions(q, { n: 300, dueAt: new Date('2026-03-01T00:00:00Z'), priceId: price, prefix: 'claim' });
  });
  await t.db.query('ANALYZE');
});
afterAll(() => t.close());

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const flatten = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(flatten)];

async function planOf(sql: string, params: unknown[]): Promise<PlanNode> {
  return t.db.tx(async (q) => {
    // As claimRows runs it; seq scans off too, so the test does not depend on the table's size.
    await q.query('SET LOCAL enable_bitmapscan = off');
    await q.query('SET LOCAL enable_seqscan = off');
    const { rows } = await q.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] | string }>(`EXPLAIN (FORMAT JSON) ${claimSql(sql, 1000)}`, params);
    const raw = rows[0]!['QUERY PLAN'];
    return (typeof raw === 'string' ? JSON.parse(raw) : raw)[0].Plan;
  });
}

describe('worker claims', () => {
  const cases: [keyof typeof claims, string, unknown][] = [
    ['periodEnds', 'subscriptions_due_period', NOW],
    ['resumes', 'subscriptions_due_resume', Math.floor(NOW.getTime() / 1000)],
    ['cancelAt', 'subscriptions_due_cancel', NOW],
    ['finalize', 'invoices_due_finalize', NOW],
    ['payments', 'invoices_due_payment', NOW],
    ['pendingUpdates', 'subscriptions_due_pending_update', NOW],
    ['scheduleStarts', 'subscription_schedules_due_start', NOW],
    ['scheduleSteps', 'subscriptions_due_schedule_step', Math.floor(NOW.getTime() / 1000)],
    ['discountEnds', 'discounts_due_end', NOW],
  ];
  // Real time, where the rows are (a test clock's claims may read its few rows by the clock index and sort them).
  const scope: Scope = { clock: null };
  for (const [name, index, at] of cases) {
    it(`${name} reads ${index} in order, without sorting`, async () => {
      const plan = await planOf(claims[name](scope), [at]);
      const nodes = flatten(plan);
      const table =
        name === 'finalize' || name === 'payments' ? 'invoices' : name === 'scheduleStarts' ? 'subscription_schedules' : name === 'discountEnds' ? 'discounts' : 'subscriptions';
      // The claimed table is read by its due index and never sorted (a sort of the few held rows the
      // claim skips, work_holds, is harmless).
      expect(nodes.filter((n) => n['Relation Name'] === table).map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', index]]);
      const sorts = nodes.filter((n) => n['Node Type'] === 'Sort');
      expect(sorts.flatMap(flatten).filter((n) => n['Relation Name'] === table)).toEqual([]);
      expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    });
  }

  it('claimRows returns the due rows in order and puts enable_bitmapscan back', async () => {
    const ids = await t.db.tx(async (q) => {
      const { rows } = await claimRows<{ id: string }>(q, claims.periodEnds({ clock: null }), [NOW], 3);
      const setting = (await q.query<{ enable_bitmapscan: string }>('SHOW enable_bitmapscan')).rows[0]!.enable_bitmapscan;
      return { ids: rows.map((r) => r.id), setting };
    });
    expect(ids).toEqual({ ids: ['sub_claim000000001', 'sub_claim000000002', 'sub_claim000000003'], setting: 'on' });
  });
});
