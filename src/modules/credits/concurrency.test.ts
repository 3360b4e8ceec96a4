import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { usingPostgres } from '../../../test/helpers/db.js';
import { buildApp } from '../../app.js';
import { testConfig } from '../../config.js';
import type { Db } from '../../db/index.js';
import { seedCatalog } from '../catalog/seed.js';
import { loadCreditsConfig } from './config.js';
import { drainCredits } from './jobs.js';
import { checkLedger } from './service.js';

// Real concurrency on PostgreSQL (PGlite is one connection: nothing to race there). Two API apps
// on separate connection pools — like two API processes — take 20 usage requests for one customer
// at once, near a zero balance. The wallet's row lock must serialise the deductions: never an
// overdraft, never a lost credit. Each event costs 10 credits (2 × lead_enrichment). Then three
// workers race to grant the same plan periods.

describe.skipIf(!usingPostgres)('concurrent usage and grants on PostgreSQL', () => {
  let t: TestApp;
  let other: { app: FastifyInstance; db: Db };
  let coalescing: { a: FastifyInstance; b: FastifyInstance };

  beforeAll(async () => {
    const noCoalesce = { credits: { ...loadCreditsConfig({}), usageCoalesce: false } };
    t = await createTestApp({ config: noCoalesce });
    const db = await t.testDb.openAnother(15);
    other = { app: (await buildApp({ db, clock: t.clock, config: testConfig(noCoalesce) })).app, db };
    // The same two pools with group commit on: concurrent requests share transactions.
    const a = (await buildApp({ db: await t.testDb.openAnother(10), clock: t.clock, config: testConfig() })).app;
    const b = (await buildApp({ db: await t.testDb.openAnother(10), clock: t.clock, config: testConfig() })).app;
    coalescing = { a, b };
  });
  afterAll(async () => {
    await other?.app.close();
    await coalescing?.a.close();
    await coalescing?.b.close();
    await t?.close();
  });

  async function customerWith(credits: number, overage: 'reject' | 'bill' = 'reject'): Promise<string> {
    const c = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'race@example.com' } })).body.id;
    await t.call({ method: 'POST', url: '/v1/credit_grants', payload: { customer: c, amount: credits } });
    await t.call({ method: 'POST', url: `/v1/customers/${c}/credit_settings`, payload: { overage } });
    return c;
  }

  function fire(apps: FastifyInstance[], customer: string, n: number, prefix: string) {
    return Promise.all(
      Array.from({ length: n }, (_, i) =>
        apps[i % apps.length]!.inject({
          method: 'POST',
          url: '/v1/usage_events',
          headers: { authorization: `Bearer ${t.key}` },
          payload: { id: `${prefix}-${i}`, customer, feature: 'lead_enrichment', quantity: 2 },
        }),
      ),
    );
  }

  async function ledgerOf(customer: string) {
    const { rows } = await t.testDb.db.query<{ wallet: number; consumed: number; overage: number; events: number; items: number }>(
      `SELECT (SELECT coalesce(sum(amount), 0)::int FROM credit_entries WHERE account = 'cwal_' || $1) AS wallet,
              (SELECT coalesce(sum(e.amount), 0)::int FROM credit_entries e JOIN credit_transactions x ON x.id = e.transaction WHERE x.customer = $1 AND e.account = 'cacct_consumption') AS consumed,
              (SELECT coalesce(-sum(e.amount), 0)::int FROM credit_entries e JOIN credit_transactions x ON x.id = e.transaction WHERE x.customer = $1 AND e.account = 'cacct_overage') AS overage,
              (SELECT count(*)::int FROM usage_events WHERE customer = $1) AS events,
              (SELECT coalesce(sum(amount), 0)::int FROM invoice_items WHERE customer = $1) AS items`,
      [customer],
    );
    return rows[0]!;
  }

  it('20 concurrent requests (one transaction each, two pools) never overdraw: 95 credits pay for exactly 9 events', async () => {
    const c = await customerWith(95);
    const res = await fire([t.app, other.app], c, 20, 'race');
    const statuses = res.map((r) => r.statusCode).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    expect(statuses.filter((s) => s === 402)).toHaveLength(11);
    expect(await ledgerOf(c)).toEqual({ wallet: 5, consumed: 90, overage: 0, events: 9, items: 0 });
    expect((await t.call({ method: 'GET', url: `/v1/customers/${c}/credit_balance` })).body.available).toBe(5);
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });

  it('with overage allowed, all 20 are accepted and exactly the shortfall is billed', async () => {
    const c = await customerWith(95, 'bill');
    const res = await fire([t.app, other.app], c, 20, 'race-bill');
    expect(res.every((r) => r.statusCode === 200)).toBe(true);
    // 20 × 10 = 200 credits: 95 from the wallet, 105 overage (USD 1.05 on the next invoice).
    expect(await ledgerOf(c)).toEqual({ wallet: 0, consumed: 200, overage: 105, events: 20, items: 105 });
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });

  it('with group commit on both pools, 40 concurrent requests (each id sent twice) still pay for exactly 9 events once', async () => {
    const c = await customerWith(95);
    const [first, second] = await Promise.all([fire([coalescing.a, coalescing.b], c, 20, 'gc'), fire([coalescing.b, coalescing.a], c, 20, 'gc')]);
    const all = [...first, ...second];
    expect(all.filter((r) => r.statusCode === 200 && r.json().status === 'accepted')).toHaveLength(9);
    expect(all.filter((r) => r.statusCode === 200 && r.json().status === 'duplicate')).toHaveLength(9);
    expect(all.filter((r) => r.statusCode === 402)).toHaveLength(22);
    expect(await ledgerOf(c)).toEqual({ wallet: 5, consumed: 90, overage: 0, events: 9, items: 0 });
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });

  it('two batches racing on one event id for two customers: one records it, the other answers a conflict', async () => {
    const a = await customerWith(100);
    const b = await customerWith(100);
    const post = (app: FastifyInstance, customer: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/usage_events',
        headers: { authorization: `Bearer ${t.key}` },
        payload: { events: [{ id: 'shared-id', customer, feature: 'ai_message', quantity: 1 }] },
      });
    const [ra, rb] = await Promise.all([post(t.app, a), post(other.app, b)]);
    const statuses = [ra.json().data[0].status, rb.json().data[0].status].sort();
    expect(statuses).toEqual(['accepted', 'failed']);
    const failed = [ra.json().data[0], rb.json().data[0]].find((d) => d.status === 'failed');
    expect(failed.error.code).toBe('idempotency_key_in_use');
    const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_events WHERE id = 'shared-id'`);
    expect(rows[0]!.n).toBe(1);
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });

  it('three workers racing over the same due periods grant each (subscription, period) exactly once', async () => {
    await t.testDb.db.tx((q) => seedCatalog(q, t.clock.now()));
    const price = (await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=platform_starter_monthly' })).body.data[0].id;
    const subs: string[] = [];
    for (let i = 0; i < 20; i++) {
      const c = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: `w${i}@example.com` } })).body.id;
      // Collected by invoice (NET 30): active at once, no card needed.
      const s = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: c, items: [{ price }], collection_method: 'send_invoice', days_until_due: 30 } });
      expect(s.status, JSON.stringify(s.body)).toBe(200);
      subs.push(s.body.id);
    }
    const workers = [t.testDb.db, other.db, await t.testDb.openAnother(4)];
    const now = t.clock.now();
    await Promise.all(workers.flatMap((db) => [drainCredits(db, t.deps, { clock: null }, now), drainCredits(db, t.deps, { clock: null }, now)]));
    const { rows } = await t.testDb.db.query<{ subscription: string; n: number }>(
      `SELECT subscription, count(*)::int AS n FROM credit_grants WHERE source = 'plan' AND subscription = ANY($1::text[]) GROUP BY subscription`,
      [subs],
    );
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const txs = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM credit_transactions WHERE idempotency_key LIKE 'plan:%'`);
    expect(txs.rows[0]!.n).toBe(20);
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });
});
