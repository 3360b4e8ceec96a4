import { newId } from '../../core/ids/index.js';
import { addDays, type Interval } from '../../core/time/index.js';
import { noteClaimed, type Db, type Queryable } from '../../db/index.js';
import { drainPasses, heldFilter, runPass, type HoldableJob } from '../../jobs/holds.js';
import { recordEvents, type EventInput } from '../events/service.js';
import type { BillingDeps, Scope } from '../subscriptions/jobs.js';
import { EXPIRE_AT_PERIOD_END, available, carryoverExcess, planCreditsExpireAt, type CarryoverPolicy } from './domain/lots.js';
import { SYSTEM_ACCOUNTS, ensureWallets, lockWallets, markGrants, openGrantsOf, postTransactions, toLot, type GrantRow, type TransactionDraft } from './repository.js';
import { balanceLowEvents, createGrants, serializeGrant, thresholdsOf, type GrantDraft } from './service.js';

// The credit worker's due work, per scope (real time: rows without a test clock; or one test clock's
// rows), each job in the caller's transaction:
//   - expiry of lots whose expires_at has come;
//   - plan-included credits for each (subscription, current period) not granted yet;
//   - credits of packs whose invoice is paid and not granted yet.
// Candidates are found without locks; then their wallets are locked with SKIP LOCKED (workers share
// the work, a wallet busy with usage waits for the next pass). The unique indexes on
// (subscription, period_start) and (invoice_line) make a double grant impossible even if two workers
// pick the same candidate. nextCreditDueAt uses the very same conditions, so test clocks step to
// every credit boundary and never spin on work the jobs would not do.

function scopeOf(column: string, scope: Scope): string {
  return scope.clock === null ? `${column} IS NULL` : `${column} = $1`;
}
const scopeParams = (scope: Scope): unknown[] => (scope.clock === null ? [] : [scope.clock]);

/** Names of the credit jobs, as stored with a held row (src/jobs/holds.ts). */
export const CREDIT_JOB = { expire: 'credits.expire', plan: 'credits.plan_grant', packs: 'credits.pack_grant' } as const;
/** On real time, candidates held after failing alone are skipped; a test clock's advance fails instead. */
const skipHeld = (scope: Scope, job: string, key: string, now: string) => (scope.clock === null ? ` AND ${heldFilter(job, key, now)}` : '');

const OPEN_EXPIRING = `g.expired_at IS NULL AND g.voided_at IS NULL AND g.expires_at IS NOT NULL`;

// A subscription's plan credits: included_credits (product metadata) × quantity over its items. Set-based
// from the few credit products (not a probe per subscription), so databases with many subscriptions
// without credits pay next to nothing for this scan.
const PLAN_CREDITS = `JOIN (
    SELECT i.subscription, sum((pr.metadata->>'included_credits')::bigint * i.quantity) AS credits, min(pr.id) AS product, min(pr.name) AS product_name
      FROM products pr JOIN prices p ON p.product = pr.id JOIN subscription_items i ON i.price = p.id
     WHERE pr.metadata->>'included_credits' ~ '^[0-9]{1,12}$'
     GROUP BY i.subscription
  ) ci ON ci.subscription = s.id AND ci.credits > 0`;
// Periods that are being served (a trial too; not an incomplete first period) and not granted yet.
const PLAN_DUE = `s.status IN ('active', 'trialing', 'past_due')
  AND NOT EXISTS (SELECT 1 FROM credit_grants g WHERE g.source = 'plan' AND g.subscription = s.id AND g.period_start = s.current_period_start)`;

// Paid invoice lines of credit packs (products with `credits` metadata) not granted yet.
const PACK_LINES = `FROM products pr
    JOIN prices p ON p.product = pr.id
    JOIN invoice_lines l ON l.price = p.id
    JOIN invoices i ON i.id = l.invoice
   WHERE pr.metadata->>'credits' ~ '^[0-9]{1,12}$' AND pr.metadata->>'credits' !~ '^0+$' AND l.quantity > 0 AND i.status = 'paid'
     AND NOT EXISTS (SELECT 1 FROM credit_grants g WHERE g.source = 'purchase' AND g.invoice_line = l.id)`;
const PAID_AT = `coalesce(to_timestamp((i.status_transitions->>'paid_at')::bigint), i.updated)`;

/** The earliest instant some credit work of this scope is due (test clocks step to it). */
export async function nextCreditDueAt(q: Queryable, scope: Scope): Promise<Date | null> {
  const { rows } = await q.query<{ t: Date | null }>(
    // LEAST of scalar subqueries (NULLs skipped), planned faster than min() over a UNION ALL.
    `SELECT LEAST(
       (SELECT min(g.expires_at) FROM credit_grants g WHERE ${OPEN_EXPIRING} AND ${scopeOf('g.test_clock', scope)}),
       (SELECT min(s.current_period_start) FROM subscriptions s ${PLAN_CREDITS} WHERE ${PLAN_DUE} AND ${scopeOf('s.test_clock', scope)}),
       (SELECT min(${PAID_AT}) ${PACK_LINES} AND ${scopeOf('i.test_clock', scope)})
     ) AS t`,
    scopeParams(scope),
  );
  return rows[0]?.t ? new Date(rows[0].t) : null;
}

/** Low-balance alerts for wallets whose available credits went from `before` to `after`. */
function alerts(wallets: Awaited<ReturnType<typeof lockWallets>>, deps: BillingDeps, before: Map<string, number>, after: Map<string, number>): EventInput[] {
  return balanceLowEvents(
    wallets.map((w) => ({ customer: w.customer, before: before.get(w.id) ?? 0, after: after.get(w.id) ?? 0, thresholds: thresholdsOf(w, deps.config.credits) })),
  );
}

function balancesAt(grants: readonly GrantRow[], at: Date, exclude: ReadonlySet<string> = new Set()): Map<string, number> {
  const byWallet = new Map<string, GrantRow[]>();
  for (const g of grants) if (!exclude.has(g.id)) byWallet.set(g.account, [...(byWallet.get(g.account) ?? []), g]);
  return new Map([...byWallet].map(([w, gs]) => [w, available(gs.map(toLot), at)]));
}

/** Lots whose expiry has come: their unused credits move to the expiry account. */
export async function expireGrants(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const params = scopeParams(scope);
  const { rows } = await q.query<{ customer: string }>(
    `SELECT g.customer FROM credit_grants g WHERE ${OPEN_EXPIRING} AND g.expires_at <= $${params.length + 1} AND ${scopeOf('g.test_clock', scope)}${skipHeld(scope, CREDIT_JOB.expire, 'g.customer', `$${params.length + 1}`)}
      GROUP BY g.customer ORDER BY min(g.expires_at), g.customer LIMIT ${Math.max(1, limit)}`,
    [...params, now],
  );
  if (rows.length === 0) return 0;
  const wallets = await lockWallets(
    q,
    rows.map((r) => r.customer),
    { skipLocked: true, includeDeleted: true },
  );
  noteClaimed(
    q,
    wallets.map((w) => w.customer),
  );
  const grants = await openGrantsOf(
    q,
    wallets.map((w) => w.id),
  );
  const due = grants.filter((g) => g.expires_at !== null && new Date(g.expires_at) <= now);
  if (due.length === 0) return 0;
  const dueIds = new Set(due.map((g) => g.id));
  // Before: the due lots still counted (they were spendable until their expiry); after: without them.
  const before = balancesAt(grants, now);
  for (const g of due) before.set(g.account, (before.get(g.account) ?? 0) + Number(g.remaining));
  const after = balancesAt(grants, now, dueIds);
  const txs: TransactionDraft[] = due
    .filter((g) => Number(g.remaining) > 0)
    .map((g) => ({
      id: newId('ctx'),
      type: 'expiry',
      customer: g.customer,
      idempotencyKey: `expire:${g.id}`,
      grant: g.id,
      description: `${Number(g.remaining).toLocaleString('en-US')} unused credits of ${g.description ?? g.id} expired`,
      testClock: g.test_clock,
      created: now,
      entries: [
        { account: g.account, grant: g.id, amount: -Number(g.remaining) },
        { account: SYSTEM_ACCOUNTS.expiry, grant: null, amount: Number(g.remaining) },
      ],
    }));
  await postTransactions(q, txs);
  await markGrants(q, [...dueIds], 'expired_at', now);
  await recordEvents(q, now, [
    ...due.map((g) => ({ type: 'credit_grant.expired', object: serializeGrant({ ...g, remaining: 0, expired_at: now }, now), customerId: g.customer })),
    ...alerts(wallets, deps, before, after),
  ]);
  return due.length;
}

interface PlanCandidate {
  id: string;
  customer: string;
  current_period_start: Date;
  current_period_end: Date;
  billing_cycle_anchor: Date;
  interval: Interval;
  interval_count: number;
  test_clock: string | null;
  credits: number;
  product: string;
  product_name: string;
}

/**
 * Plan-included credits at each period start: one grant per (subscription, period), expiring as the
 * plan's carryover policy says; when the policy caps carryover, the subscription's earlier plan
 * credits above the cap expire at the same moment.
 */
export async function grantPlanCredits(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const params = scopeParams(scope);
  const { rows: subs } = await q.query<PlanCandidate>(
    `SELECT s.id, s.customer, s.current_period_start, s.current_period_end, s.billing_cycle_anchor, s.interval, s.interval_count, s.test_clock,
            ci.credits, ci.product, ci.product_name
       FROM subscriptions s ${PLAN_CREDITS}
      WHERE ${PLAN_DUE} AND s.current_period_start <= $${params.length + 1} AND ${scopeOf('s.test_clock', scope)}${skipHeld(scope, CREDIT_JOB.plan, 's.id', `$${params.length + 1}`)}
      ORDER BY s.current_period_start, s.id LIMIT ${Math.max(1, limit)}`,
    [...params, now],
  );
  if (subs.length === 0) return 0;
  const customers = [...new Set(subs.map((s) => s.customer))].sort();
  await ensureWallets(q, customers, now, { includeDeleted: true });
  const wallets = await lockWallets(q, customers, { skipLocked: true, includeDeleted: true });
  const locked = new Set(wallets.map((w) => w.customer));
  const todo = subs.filter((s) => locked.has(s.customer));
  if (todo.length === 0) return 0;
  noteClaimed(
    q,
    todo.map((s) => s.id),
  );

  const { rows: policyRows } = await q.query<{ product: string; carryover_periods: number | null; carryover_cap: number | null }>(
    `SELECT product, carryover_periods, carryover_cap FROM credit_plan_policies WHERE product = ANY($1::text[])`,
    [[...new Set(todo.map((s) => s.product))]],
  );
  const policies = new Map<string, CarryoverPolicy>(
    policyRows.map((p) => [p.product, { carryoverPeriods: p.carryover_periods, carryoverCap: p.carryover_cap === null ? null : Number(p.carryover_cap) }]),
  );
  const grantsBefore = await openGrantsOf(
    q,
    wallets.map((w) => w.id),
  );
  const before = balancesAt(grantsBefore, now);

  const drafts: GrantDraft[] = todo.map((s) => {
    const policy = policies.get(s.product) ?? EXPIRE_AT_PERIOD_END;
    const start = new Date(s.current_period_start);
    const end = new Date(s.current_period_end);
    const credits = Number(s.credits);
    return {
      source: 'plan',
      customer: s.customer,
      amount: credits,
      effectiveAt: start,
      expiresAt: planCreditsExpireAt({ anchor: new Date(s.billing_cycle_anchor), interval: s.interval, intervalCount: s.interval_count }, end, policy),
      subscription: s.id,
      periodStart: start,
      periodEnd: end,
      product: s.product,
      description: `${credits.toLocaleString('en-US')} credits included in ${s.product_name} for ${start.toISOString().slice(0, 10)} – ${end.toISOString().slice(0, 10)}`,
      testClock: s.test_clock,
    };
  });
  const created = await createGrants(q, now, drafts);

  // The carryover cap, for the periods just granted (never twice: the grant above is unique).
  const capTxs: TransactionDraft[] = [];
  const capped = new Map<string, number>();
  for (const g of created) {
    const cap = (policies.get(g.product!) ?? EXPIRE_AT_PERIOD_END).carryoverCap;
    const earlier = grantsBefore.filter((e) => e.source === 'plan' && e.subscription === g.subscription).map(toLot);
    const takes = carryoverExcess(earlier, cap, now);
    if (takes.length === 0) continue;
    const total = takes.reduce((s, t) => s + t.amount, 0);
    capped.set(g.account, (capped.get(g.account) ?? 0) + total);
    capTxs.push({
      id: newId('ctx'),
      type: 'expiry',
      customer: g.customer,
      idempotencyKey: `carryover:${g.subscription}:${g.period_start!.toISOString()}`,
      grant: null,
      description: `${total.toLocaleString('en-US')} unused plan credits above the carryover cap of ${cap!.toLocaleString('en-US')} expired`,
      testClock: g.test_clock,
      created: now,
      entries: [...takes.map((t) => ({ account: g.account, grant: t.lot, amount: -t.amount })), { account: SYSTEM_ACCOUNTS.expiry, grant: null, amount: total }],
    });
  }
  await postTransactions(q, capTxs);
  const after = new Map(before);
  for (const g of created) if (new Date(g.effective_at) <= now) after.set(g.account, (after.get(g.account) ?? 0) + Number(g.amount));
  for (const [w, n] of capped) after.set(w, (after.get(w) ?? 0) - n);
  const events = alerts(wallets, deps, before, after);
  if (events.length) await recordEvents(q, now, events);
  return todo.length;
}

interface PackCandidate {
  line: string;
  invoice: string;
  quantity: number;
  customer: string;
  test_clock: string | null;
  product: string;
  name: string;
  credits: number;
  paid_at: Date;
}

/** Purchased packs: their credits are granted once the invoice is paid (not expiring by default). */
export async function grantPurchasedPacks(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const params = scopeParams(scope);
  const { rows } = await q.query<PackCandidate>(
    `SELECT l.id AS line, l.invoice, l.quantity, i.customer, i.test_clock, pr.id AS product, pr.name, (pr.metadata->>'credits')::bigint AS credits, ${PAID_AT} AS paid_at
       ${PACK_LINES} AND ${PAID_AT} <= $${params.length + 1} AND ${scopeOf('i.test_clock', scope)}${skipHeld(scope, CREDIT_JOB.packs, 'l.id', `$${params.length + 1}`)}
      ORDER BY l.id LIMIT ${Math.max(1, limit)}`,
    [...params, now],
  );
  if (rows.length === 0) return 0;
  const customers = [...new Set(rows.map((r) => r.customer))].sort();
  await ensureWallets(q, customers, now, { includeDeleted: true });
  const wallets = await lockWallets(q, customers, { skipLocked: true, includeDeleted: true });
  const locked = new Set(wallets.map((w) => w.customer));
  const todo = rows.filter((r) => locked.has(r.customer));
  if (todo.length === 0) return 0;
  noteClaimed(
    q,
    todo.map((r) => r.line),
  );
  const expiryDays = deps.config.credits.packExpiryDays;
  await createGrants(
    q,
    now,
    todo.map((r) => {
      const paidAt = new Date(r.paid_at);
      return {
        source: 'purchase',
        customer: r.customer,
        amount: Number(r.credits) * r.quantity,
        effectiveAt: paidAt,
        expiresAt: expiryDays > 0 ? addDays(paidAt, expiryDays) : null,
        product: r.product,
        invoice: r.invoice,
        invoiceLine: r.line,
        description: `${r.quantity > 1 ? `${r.quantity} × ` : ''}${r.name} (invoice ${r.invoice})`,
        testClock: r.test_clock,
      } satisfies GrantDraft;
    }),
  );
  return todo.length;
}

/**
 * Runs every credit job once for a scope at `now` (runPass: a failed batch does not stop the other
 * jobs; on real time its candidates are retried one by one and one that fails alone is held).
 */
export async function runCreditPass(db: Db, deps: BillingDeps, scope: Scope, now: Date): Promise<number> {
  const jobs: HoldableJob[] = [
    { name: CREDIT_JOB.expire, run: (q, limit) => expireGrants(q, deps, scope, now, limit) },
    { name: CREDIT_JOB.plan, run: (q, limit) => grantPlanCredits(q, deps, scope, now, limit) },
    { name: CREDIT_JOB.packs, run: (q, limit) => grantPurchasedPacks(q, deps, scope, now, limit) },
  ];
  return runPass(db, jobs, deps.config.workerBatchSize, now, scope.clock === null);
}

/** Runs passes until nothing of the scope is due at `now` (test clocks call it at each step). */
export async function drainCredits(db: Db, deps: BillingDeps, scope: Scope, now: Date, maxPasses = 10_000): Promise<number> {
  return drainPasses(() => runCreditPass(db, deps, scope, now), { maxPasses });
}
