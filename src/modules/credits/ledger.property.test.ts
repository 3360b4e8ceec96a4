import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { testConfig } from '../../config.js';
import type { BillingDeps } from '../subscriptions/jobs.js';
import { drainCredits } from './jobs.js';
import { ensureWallets, lockWallets, updateWalletSettings } from './repository.js';
import { checkLedger, createGrants, voidGrant } from './service.js';
import { ingestUsageTx } from './usage.js';
import type { Outcome, UsageInput } from './domain/usage.js';

// Property: after any sequence of grants (promotions and purchases, some expiring), usage (single
// events and batches), exact replays, changed replays, expiries (time passing), refunds (voids) and
// overage switches, (1) every transaction and the whole ledger sum to zero, (2) no wallet is negative
// — even with overage, which is billed, never borrowed — (3) every cached lot balance and every
// wallet balance equals its entries (credit_ledger_check() finds nothing), and (4) consumption,
// overage and overage invoice items match the recorded events, each id charged once.

let tdb: TestDb;
const config = testConfig();
const deps = { config, gateways: {} } as unknown as BillingDeps;
let now = new Date('2026-01-15T12:00:00Z');
let run = 0;

beforeAll(async () => {
  tdb = await openTestDb();
});
afterAll(() => tdb.close());

type Op =
  | { kind: 'grant'; customer: number; source: 'promotion' | 'purchase'; amount: number; expiresInDays: number | null }
  | { kind: 'use'; events: { customer: number; slot: number; feature: string; quantity: number }[] }
  | { kind: 'replay'; index: number; changed: boolean }
  | { kind: 'advance'; days: number }
  | { kind: 'refund'; index: number }
  | { kind: 'overage'; customer: number; mode: 'reject' | 'bill' };

const zOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('grant' as const), customer: fc.integer({ min: 0, max: 1 }), source: fc.constantFrom('promotion' as const, 'purchase' as const), amount: fc.integer({ min: 1, max: 400 }), expiresInDays: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('use' as const),
      events: fc.array(fc.record({ customer: fc.integer({ min: 0, max: 1 }), slot: fc.integer({ min: 0, max: 15 }), feature: fc.constantFrom('lead_enrichment', 'ai_message', 'email_send'), quantity: fc.integer({ min: 1, max: 40 }) }), { minLength: 1, maxLength: 5 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replay' as const), index: fc.nat(), changed: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('overage' as const), customer: fc.integer({ min: 0, max: 1 }), mode: fc.constantFrom('reject' as const, 'bill' as const) }) },
);

async function runOps(ops: Op[]): Promise<void> {
  run++;
  const db = tdb.db;
  const customers = [`cus_prop${run}a`, `cus_prop${run}b`];
  for (const c of customers) await db.query(`INSERT INTO customers (id, email, created, updated) VALUES ($1, $2, $3, $3)`, [c, `${c}@example.com`, now]);
  const everBilled = new Set<string>();
  const sent: UsageInput[] = [];
  const accepted = new Map<string, UsageInput>();
  const grants: string[] = [];
  let line = 0;

  // Through the retrying entry point: its first attempt is optimistic (ids not looked up), so replays
  // exercise the id-race retry and the look-up of refused ids.
  const clock = { now: () => now };
  const ingest = async (items: UsageInput[]): Promise<Outcome[]> => ingestUsageTx(db, clock, config.credits, items);

  for (const op of ops) {
    if (op.kind === 'grant') {
      const customer = customers[op.customer]!;
      const created = await db.tx(async (q) => {
        await ensureWallets(q, [customer], now);
        await lockWallets(q, [customer]);
        return createGrants(q, now, [
          {
            source: op.source,
            customer,
            amount: op.amount,
            effectiveAt: now,
            expiresAt: op.expiresInDays === null ? null : new Date(now.getTime() + op.expiresInDays * 86_400_000),
            invoiceLine: op.source === 'purchase' ? `il_prop${run}_${line++}` : null,
            invoice: op.source === 'purchase' ? `in_prop${run}` : null,
            description: `${op.source} ${op.amount}`,
            testClock: null,
          },
        ]);
      });
      grants.push(created[0]!.id);
    } else if (op.kind === 'use') {
      const items = op.events.map((e) => ({ id: `r${run}-${e.slot}`, customer: customers[e.customer]!, feature: e.feature, quantity: e.quantity, timestamp: null, properties: null }));
      const outcomes = await ingest(items);
      items.forEach((it, i) => {
        sent.push(it);
        const o = outcomes[i]!;
        if (o.status === 'accepted') accepted.set(it.id, it);
        // An id already accepted is never charged again: a replay is a duplicate or a conflict.
        const first = accepted.get(it.id);
        if (first && o.status !== 'accepted') expect(o.status === 'duplicate' || (o.status === 'failed' && o.error.code === 'idempotency_key_in_use')).toBe(true);
      });
    } else if (op.kind === 'replay') {
      if (sent.length === 0) continue;
      const original = sent[op.index % sent.length]!;
      const item = op.changed ? { ...original, quantity: original.quantity + 1 } : original;
      const [o] = await ingest([item]);
      if (accepted.has(item.id)) {
        const stored = accepted.get(item.id)!;
        const same = stored.customer === item.customer && stored.feature === item.feature && stored.quantity === item.quantity;
        expect(o!.status).toBe(same ? 'duplicate' : 'failed');
      } else if (o!.status === 'accepted') accepted.set(item.id, item);
    } else if (op.kind === 'advance') {
      now = new Date(now.getTime() + op.days * 86_400_000);
      await drainCredits(db, deps, { clock: null }, now);
    } else if (op.kind === 'refund') {
      if (grants.length === 0) continue;
      await db.tx((q) => voidGrant(q, { config }, now, grants[op.index % grants.length]!));
    } else {
      const customer = customers[op.customer]!;
      if (op.mode === 'bill') everBilled.add(customer);
      await db.tx(async (q) => {
        await ensureWallets(q, [customer], now);
        await lockWallets(q, [customer]);
        await updateWalletSettings(q, customer, { overage: op.mode });
      });
    }
  }

  // (1)–(3): the SQL check, on this run's rows (so that fast-check's shrinking sees each run alone;
  // the whole ledger is checked once at the end), then the identities of (4).
  const { rows: problems } = await db.query(
    `SELECT * FROM credit_ledger_check() WHERE ref IS NULL OR ref = ANY($1::text[])
        OR ref IN (SELECT id FROM credit_transactions WHERE customer = ANY($2::text[])) OR ref IN (SELECT id FROM credit_grants WHERE customer = ANY($2::text[]))`,
    [customers.map((c) => `cwal_${c}`), customers],
  );
  expect(problems).toEqual([]);
  // (4): this run's customers.
  for (const c of customers) {
    const { rows } = await db.query<{ events: number; credits: number; overage: number; consumed: number; overaged: number; items: number; wallet: number }>(
      `SELECT
         (SELECT count(*)::int FROM usage_events WHERE customer = $1) AS events,
         (SELECT coalesce(sum(credits), 0)::int FROM usage_events WHERE customer = $1) AS credits,
         (SELECT coalesce(sum(overage_credits), 0)::int FROM usage_events WHERE customer = $1) AS overage,
         (SELECT coalesce(sum(e.amount), 0)::int FROM credit_entries e JOIN credit_transactions t ON t.id = e.transaction WHERE t.customer = $1 AND e.account = 'cacct_consumption') AS consumed,
         (SELECT coalesce(-sum(e.amount), 0)::int FROM credit_entries e JOIN credit_transactions t ON t.id = e.transaction WHERE t.customer = $1 AND e.account = 'cacct_overage') AS overaged,
         (SELECT coalesce(sum(amount), 0)::int FROM invoice_items WHERE customer = $1) AS items,
         (SELECT coalesce(sum(e.amount), 0)::int FROM credit_entries e WHERE e.account = 'cwal_' || $1) AS wallet`,
      [c],
    );
    const r = rows[0]!;
    expect(r.events).toBe([...accepted.values()].filter((a) => a.customer === c).length);
    expect(r.consumed).toBe(r.credits);
    expect(r.overaged).toBe(r.overage);
    expect(r.items).toBe(r.overage);
    expect(r.wallet).toBeGreaterThanOrEqual(0);
    if (!everBilled.has(c)) expect(r.overage).toBe(0);
  }
}

describe('credit ledger invariants (property, on the database)', () => {
  it('hold after any sequence of grants, usage, replays, expiries, refunds and overage switches', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(zOp, { minLength: 1, maxLength: 25 }), (ops) => runOps(ops)),
      { numRuns: 25 },
    );
    expect(await checkLedger(tdb.db)).toEqual([]);
  }, 120_000);
});
