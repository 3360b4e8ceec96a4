import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { drainBilling } from '../../src/modules/subscriptions/jobs.js';
import { allEvents } from '../../src/modules/events/batches.js';
import { checkBooks } from '../helpers/books.js';
import { createBillingApp, unix } from '../helpers/billing.js';
import { usingPostgres } from '../helpers/db.js';
import { recordedCalls } from '../helpers/recorded-calls.js';
import type { BillingApp } from './support.js';

// Three billing workers (three pools, the real pass) racing over due work of every
// kind at once — cancel_at mid-period, trials added to active subscriptions, free stubs, renewals
// whose period holds a later cancel_at, plain renewals, period-end cancellations — while the API
// updates the same subscriptions (clearing cancel_at, adding a coupon, metadata).

const K = 8;

describe.runIf(usingPostgres)('workers and API racing over the new kinds of due work', () => {
  let t: BillingApp;
  let workers: Db[];
  const kinds: Record<string, string[]> = { cancelRace: [], cancelAt: [], trialAdded: [], freeStub: [], laterCancel: [], plain: [], periodEnd: [] };
  const workerErrors: string[] = [];
  beforeAll(async () => {
    t = await createBillingApp('2026-03-01T00:00:00Z');
    workers = [await t.testDb.openAnother(3), await t.testDb.openAnother(3), await t.testDb.openAnother(3)];
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const post = async (url: string, payload: Record<string, unknown>) => {
    const res = await t.call({ method: 'POST', url, payload });
    expect(res.status, `${url} ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const count = async (sql: string, params: unknown[] = []) => Number((await t.testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n);

  const drainAll = (now: Date) => {
    const deps = { ...t.deps, config: { ...t.deps.config, workerBatchSize: 5, finalizeDelaySeconds: 0 } };
    return Promise.all(
      workers.map((w) =>
        drainBilling(w, deps, { clock: null }, now).catch((e: unknown) => {
          workerErrors.push(`${(e as { code?: string }).code ?? ''} ${String(e)}`);
        }),
      ),
    );
  };

  it('bills, charges and ends each subscription exactly once', async () => {
    const community = await t.priceId('community_monthly');
    const coupon = await post('/v1/coupons', { percent_off: 10, duration: 'forever' });
    const mk = async (extra: Record<string, unknown>) => {
      const customer = await t.customer({ card: 'pm_card_visa' });
      return (await post('/v1/subscriptions', { customer, items: [{ price: community }], ...extra })).id as string;
    };
    for (let i = 0; i < K; i++) {
      kinds.cancelRace!.push(await mk({ trial_end: 'now' }));
      kinds.cancelAt!.push(await mk({ trial_end: 'now' }));
      kinds.trialAdded!.push(await mk({ trial_end: 'now' }));
      // Free stub: trial to Mar 20, anchor Apr 1, proration_behavior none: nothing billed at Mar 20.
      kinds.freeStub!.push(await mk({ trial_end: unix('2026-03-20T00:00:00Z'), billing_cycle_anchor: unix('2026-04-01T00:00:00Z'), proration_behavior: 'none' }));
      kinds.laterCancel!.push(await mk({ trial_end: 'now', cancel_at: unix('2026-04-15T00:00:00Z') }));
      kinds.plain!.push(await mk({ trial_end: 'now' }));
      const pe = await mk({ trial_end: 'now' });
      kinds.periodEnd!.push(pe);
    }
    t.clock.set(new Date('2026-03-05T00:00:00Z'));
    for (const id of [...kinds.cancelRace!, ...kinds.cancelAt!]) await post(`/v1/subscriptions/${id}`, { cancel_at: unix('2026-03-20T00:00:00Z') });
    for (const id of kinds.trialAdded!) await post(`/v1/subscriptions/${id}`, { trial_end: unix('2026-03-20T00:00:00Z') });
    for (const id of kinds.periodEnd!) await post(`/v1/subscriptions/${id}`, { cancel_at_period_end: true });

    const { call, fivexx, log } = recordedCalls(t);
    const clearStatuses: number[] = [];

    // Step 1, Mar 21: cancel_at ends (racing a clear), trials end, free stubs move on.
    t.clock.set(new Date('2026-03-21T00:00:00Z'));
    const at1 = t.clock.now();
    await Promise.all([
      drainAll(at1),
      (async () => {
        for (const id of kinds.cancelRace!) {
          const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${id}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'cancel_at=' });
          clearStatuses.push(res.status);
          if (res.status >= 500) fivexx.push(res.body);
        }
      })(),
      (async () => {
        for (const id of kinds.trialAdded!) await call('POST', `/v1/subscriptions/${id}`, { metadata: { touched: 'yes' } });
      })(),
    ]);
    await drainAll(at1);
    expect(fivexx, log.join('\n')).toEqual([]);
    expect(clearStatuses.every((s) => s === 200 || s === 400), JSON.stringify(clearStatuses)).toBe(true);
    expect(await checkBooks(t.testDb.db)).toEqual([]);

    // Step 2, Apr 1 01:00: renewals (some adding a coupon at the same time), free stubs billed,
    // period-end cancellations, a renewal shortened to a later cancel_at.
    t.clock.set(new Date('2026-04-01T01:00:00Z'));
    const at2 = t.clock.now();
    await Promise.all([
      drainAll(at2),
      (async () => {
        for (const id of [...kinds.laterCancel!, ...kinds.plain!]) await call('POST', `/v1/subscriptions/${id}`, { coupon: coupon.id });
      })(),
    ]);
    await drainAll(at2);
    expect(fivexx, log.join('\n')).toEqual([]);
    expect(await checkBooks(t.testDb.db)).toEqual([]);

    // Step 3, Apr 16: the later cancel_at ends them, without a credit.
    t.clock.set(new Date('2026-04-16T00:00:00Z'));
    await drainAll(t.clock.now());
    expect(await checkBooks(t.testDb.db)).toEqual([]);
    expect(workerErrors).toEqual([]);
    expect(await count(`SELECT count(*)::int AS n FROM work_holds`)).toBe(0);

    const invs = async (id: string) =>
      (
        await t.testDb.db.query<{ reason: string; total: number; status: string; ps: Date }>(
          `SELECT billing_reason AS reason, total::int AS total, status, period_start AS ps FROM invoices WHERE subscription = $1 ORDER BY created, id`,
          [id],
        )
      ).rows.map((r) => [r.reason, r.total, r.status, r.ps.toISOString()]);
    // Both storages of events: the workers write their passes' large groups compressed (event_batches).
    const everyEvent = await allEvents(t.testDb.db);
    const evs = async (id: string, type: string) => everyEvent.filter((e) => e.object_id === id && e.type === type).length;
    const sub = async (id: string) => (await t.testDb.db.query<{ status: string; cancel_at: Date | null }>(`SELECT status, cancel_at FROM subscriptions WHERE id = $1`, [id])).rows[0]!;

    const report: Record<string, unknown[]> = {};
    const add = (k: string, v: unknown) => (report[k] ??= []).push(v);
    for (const id of kinds.cancelRace!) {
      const s = await sub(id);
      const i = await invs(id);
      const deleted = await evs(id, 'customer.subscription.deleted');
      // Either the clear won (alive, no credit) or the end won (one credit invoice, one .deleted).
      add('cancelRace', s.status === 'canceled' ? [s.status, deleted, i.slice(1).map((x) => x.slice(0, 3))] : [s.status, deleted, s.cancel_at, i.slice(1, 2).map((x) => x.slice(0, 3))]);
    }
    for (const id of kinds.cancelAt!) add('cancelAt', [(await sub(id)).status, await evs(id, 'customer.subscription.deleted'), (await invs(id)).map((x) => x.slice(0, 3))]);
    for (const id of kinds.trialAdded!) add('trialAdded', (await invs(id)).map((x) => [x[0], x[3]]));
    for (const id of kinds.freeStub!) add('freeStub', (await invs(id)).map((x) => [x[0], x[1], x[3]]));
    for (const id of kinds.laterCancel!) add('laterCancel', [(await sub(id)).status, await evs(id, 'customer.subscription.deleted'), (await invs(id)).map((x) => [x[0], x[3]])]);
    for (const id of kinds.periodEnd!) add('periodEnd', [(await sub(id)).status, await evs(id, 'customer.subscription.deleted'), (await invs(id)).length]);
    for (const id of kinds.plain!) add('plain', (await invs(id)).map((x) => [x[0], x[3]]));

    const ended = report.cancelRace!.filter((r) => (r as unknown[])[0] === 'canceled');
    // Both outcomes are accepted here (the clear winning keeps the subscription alive even though its
    // cancel_at had come: see cancel-at-defects.test.ts for why that outcome is itself a defect).
    console.log(`cancelRace: ${ended.length} ended by the worker, ${K - ended.length} cleared by the API; clear statuses ${clearStatuses.join(',')}`);
    for (const r of ended) expect(r).toEqual(['canceled', 1, [['subscription_update', -3755, 'paid']]]);
    for (const r of report.cancelRace!.filter((r) => (r as unknown[])[0] !== 'canceled')) expect(r).toEqual(['active', 0, null, [['subscription_cycle', 9700, 'paid']]]);
    for (const r of report.cancelAt!) expect(r).toEqual(['canceled', 1, [['subscription_create', 9700, 'paid'], ['subscription_update', -3755, 'paid']]]);
    for (const r of report.trialAdded!)
      expect(r).toEqual([
        ['subscription_create', '2026-03-01T00:00:00.000Z'],
        ['subscription_cycle', '2026-03-20T00:00:00.000Z'],
      ]);
    for (const r of report.freeStub!) expect(r).toEqual([['subscription_create', 0, '2026-03-01T00:00:00.000Z'], ['subscription_cycle', 9700, '2026-04-01T00:00:00.000Z']]);
    for (const r of report.laterCancel!)
      expect(r).toEqual([
        'canceled',
        1,
        [
          ['subscription_create', '2026-03-01T00:00:00.000Z'],
          ['subscription_cycle', '2026-04-01T00:00:00.000Z'],
        ],
      ]);
    for (const r of report.periodEnd!) expect(r).toEqual(['canceled', 1, 1]);
    for (const r of report.plain!)
      expect(r).toEqual([
        ['subscription_create', '2026-03-01T00:00:00.000Z'],
        ['subscription_cycle', '2026-04-01T00:00:00.000Z'],
      ]);
    // Events exactly once per subscription state reached.
    const twice = (type: string) => {
      const seen = everyEvent.filter((e) => e.type === type).map((e) => e.object_id);
      return seen.filter((id, i) => seen.indexOf(id) !== i);
    };
    expect([twice('customer.subscription.deleted'), twice('customer.subscription.trial_will_end')]).toEqual([[], []]);
    expect(await count(`SELECT count(*)::int AS n FROM (SELECT invoice FROM payment_intents WHERE status = 'succeeded' GROUP BY invoice HAVING count(*) > 1) x`)).toBe(0);
  }, 240_000);
});
