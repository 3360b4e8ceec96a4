import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { testConfig } from '../../config.js';
import { ManualClock } from '../../core/time/index.js';
import type { Db } from '../../db/index.js';
import { ensureWallets, lockWallets } from './repository.js';
import { createGrants } from './service.js';
import { UsageCoalescer, partitionOf } from './usage.js';

// Group commit: concurrent requests share transactions, each request gets its own outcomes in its
// own order, and a request spanning partitions is split and reassembled.

let tdb: TestDb;
const clock = new ManualClock('2026-01-15T12:00:00Z');
const cfg = testConfig().credits;
const customers = Array.from({ length: 12 }, (_, i) => `cus_gc${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  tdb = await openTestDb();
  const now = clock.now();
  await tdb.db.tx(async (q) => {
    for (const c of customers) await q.query(`INSERT INTO customers (id, created, updated) VALUES ($1, $2, $2)`, [c, now]);
    await ensureWallets(q, customers, now);
    await lockWallets(q, customers);
    await createGrants(q, now, customers.map((customer) => ({ source: 'promotion' as const, customer, amount: 1000, effectiveAt: now, expiresAt: null, description: null, testClock: null })));
  });
});
afterAll(() => tdb.close());

describe('usage group commit', () => {
  it('puts concurrent requests into few transactions and answers each in order', async () => {
    let transactions = 0;
    const counting: Db = { ...tdb.db, tx: (fn) => (transactions++, tdb.db.tx(fn)) };
    const c = new UsageCoalescer(counting, clock, cfg, 3);
    const single = customers.map((customer, i) => c.submit([{ id: `gc-${i}`, customer, feature: 'ai_message', quantity: 1, timestamp: null, properties: null }]));
    // One request over every partition, with a repeated id and an unknown customer inside.
    const spanning = c.submit([
      { id: 'gc-span-1', customer: customers[0]!, feature: 'email_send', quantity: 1, timestamp: null, properties: null },
      { id: 'gc-span-2', customer: customers[5]!, feature: 'email_send', quantity: 2, timestamp: null, properties: null },
      { id: 'gc-span-3', customer: 'cus_nobody', feature: 'email_send', quantity: 1, timestamp: null, properties: null },
      { id: 'gc-span-1', customer: customers[0]!, feature: 'email_send', quantity: 1, timestamp: null, properties: null },
      { id: 'gc-span-4', customer: customers[11]!, feature: 'email_send', quantity: 3, timestamp: null, properties: null },
    ]);
    const outcomes = await Promise.all(single);
    expect(outcomes.map((o) => [o.length, o[0]!.status, o[0]!.status === 'accepted' ? o[0]!.event.id : null])).toEqual(customers.map((_, i) => [1, 'accepted', `gc-${i}`]));
    const span = await spanning;
    expect(span.map((o) => (o.status === 'failed' ? [o.status, o.error.code] : [o.status, o.event.id, o.event.credits]))).toEqual([
      ['accepted', 'gc-span-1', 1],
      ['accepted', 'gc-span-2', 2],
      ['failed', 'resource_missing'],
      ['duplicate', 'gc-span-1', 1],
      ['accepted', 'gc-span-4', 3],
    ]);
    // 13 requests, spread over 3 partitions: a handful of transactions, not 13.
    expect(new Set([...customers, 'cus_nobody'].map((x) => partitionOf(x, 3))).size).toBe(3);
    expect(transactions).toBeLessThanOrEqual(4);
  });
});
