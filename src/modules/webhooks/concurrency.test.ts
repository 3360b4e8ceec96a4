import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerObject, stripeEvent } from '../../../test/fakes/stripe-events.js';
import { openTestDb, usingPostgres, type TestDb } from '../../../test/helpers/db.js';
import { testConfig } from '../../config.js';
import type { Db } from '../../db/index.js';
import { gatewaysOf } from '../payments/gateway.js';
import { SimulatedGateway } from '../payments/simulated-gateway.js';
import { InboxWriter, insertEvents, type IncomingEvent } from './inbox.js';
import { processInbox } from './jobs.js';
import { createRefund } from '../payments/refunds.js';
import { attachPaymentMethod, attemptPayment, createPaymentMethod } from '../payments/service.js';

// Several API and worker processes against one PostgreSQL: deliveries of the same event through
// different processes are stored once, and workers racing over the inbox process each event once.

describe.skipIf(!usingPostgres)('inbox concurrency (PostgreSQL)', () => {
  let t: TestDb;
  let other: Db;
  beforeAll(async () => {
    t = await openTestDb();
    other = await t.openAnother(10);
  });
  afterAll(() => t.close());

  const now = new Date('2026-03-02T10:00:00Z');
  const deps = { gateways: gatewaysOf([new SimulatedGateway({ fingerprintSecret: 'inbox-concurrency-test-secret', now: () => now })]), config: testConfig() };

  it('the same 300 events delivered through two processes at once: 300 rows', async () => {
    const a = new InboxWriter(t.db, () => now);
    const b = new InboxWriter(other, () => now);
    const events = Array.from({ length: 300 }, (_, i) => stripeEvent('customer.updated', customerObject({ id: `cus_race${i % 100}`, name: `n${i}`, created: 1 }), 1_772_000_000 + i, { id: `evt_race_${i}` }));
    const deliveries = events.flatMap((e) => [a, b, a].map((w) => w.store({ source: 'stripe', eventId: e.id, type: e.type, eventCreated: new Date(e.created * 1000), payload: JSON.stringify(e) })));
    const results = await Promise.all(deliveries);
    expect(results.filter(Boolean)).toHaveLength(300);
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_inbox WHERE event_id LIKE 'evt_race_%'`);
    expect(rows[0]!.n).toBe(300);
  });

  it('batches holding the same repeated events in opposite orders never deadlock', async () => {
    const ev = (id: string): IncomingEvent => ({ source: 'stripe', eventId: id, type: 'customer.updated', eventCreated: now, payload: JSON.stringify({ id, type: 'customer.updated', data: { object: { id: 'cus_dl' } } }) });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => [insertEvents(t.db, [ev(`evt_dl_${i}_a`), ev(`evt_dl_${i}_b`)], now), insertEvents(other, [ev(`evt_dl_${i}_b`), ev(`evt_dl_${i}_a`)], now)]).flat(),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const inserted = results.map((r) => (r as PromiseFulfilledResult<Set<string>>).value.size).reduce((a, b) => a + b, 0);
    expect(inserted).toBe(80);
    await t.db.query(`DELETE FROM webhook_inbox WHERE event_id LIKE 'evt_dl_%'`);
  });

  it('two workers drain the inbox together; every event is processed exactly once; the newest version wins', async () => {
    const [x, y] = await Promise.all([processInbox(t.db, deps, now, 1000), processInbox(other, deps, now, 1000)]);
    expect(x + y).toBe(300);
    expect(x).toBeGreaterThan(0);
    expect(y).toBeGreaterThan(0);
    const { rows } = await t.db.query<{ status: string; attempts: number; n: number }>(
      `SELECT status, attempts, count(*)::int AS n FROM webhook_inbox WHERE event_id LIKE 'evt_race_%' GROUP BY status, attempts`,
    );
    expect(rows).toEqual([{ status: 'processed', attempts: 1, n: 300 }]);
    const mirror = await t.db.query<{ name: string }>(`SELECT data->>'name' AS name FROM gateway_objects WHERE object_id = 'cus_race7'`);
    expect(mirror.rows[0]!.name).toBe('n207'); // events 7, 107, 207: the newest
  });

  it('two refunds racing on one payment never refund more than was captured', async () => {
    await t.db.query(`INSERT INTO customers (id, email, created, updated) VALUES ('cus_refundrace', 'r@example.com', $1, $1)`, [now]);
    const pm = await t.db.tx((q) => createPaymentMethod(q, deps, now, { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2031 } }));
    await t.db.tx((q) => attachPaymentMethod(q, deps, now, pm.id, 'cus_refundrace'));
    const paid = await t.db.tx((q) => attemptPayment(q, deps, { customer: 'cus_refundrace', amount: 1000, currency: 'usd', paymentMethodId: pm.id, idempotencyKey: 'race-pay', now }));
    expect(paid.paymentIntent.status).toBe('succeeded');
    const results = await Promise.allSettled([
      t.db.tx((q) => createRefund(q, deps, now, { payment_intent: paid.paymentIntent.id, amount: 600 })),
      other.tx((q) => createRefund(q, deps, now, { payment_intent: paid.paymentIntent.id, amount: 600 })),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'amount_too_large' });
    const { rows } = await t.db.query<{ amount_refunded: number }>('SELECT amount_refunded FROM payment_intents WHERE id = $1', [paid.paymentIntent.id]);
    expect(rows[0]!.amount_refunded).toBe(600);
    // And the database refuses it even past the code: the constraint.
    await expect(t.db.query('UPDATE payment_intents SET amount_refunded = 1001 WHERE id = $1', [paid.paymentIntent.id])).rejects.toThrow(/payment_intents_refund_within_captured/);
  });
});
