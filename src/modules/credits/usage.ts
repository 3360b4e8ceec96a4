import { newId } from '../../core/ids/index.js';
import { toUnix, type Clock } from '../../core/time/index.js';
import type { Db, Queryable } from '../../db/index.js';
import { recordEvents } from '../events/service.js';
import type { CreditsConfig } from './config.js';
import { planUsageBatch, type BatchPlan, type CustomerState, type Outcome, type PriceSchedule, type StoredUsage, type UsageInput } from './domain/usage.js';
import { isIdRace, isRetryable } from './errors.js';
import {
  SYSTEM_ACCOUNTS,
  ensureWallets,
  existingUsageIds,
  insertOverageItems,
  loadUsageState,
  lockWallets,
  writeUsageBatch,
  type TransactionDraft,
  type UsageState,
  type WalletRow,
} from './repository.js';
import { balanceLowEvents, thresholdsOf } from './service.js';
import { outsideRequest } from '../../core/context/index.js';

// Usage ingestion. One batch = one transaction: lock the customers' wallets (id order), read their
// lots and the features' prices in one statement, plan the batch in memory (domain/usage.ts), then
// write it in one statement with a data-modifying CTE per table: events, ledger transactions, their
// entries, the lots' balances, the daily roll-up (and, when needed, overage invoice items and
// low-balance events). Single-event requests of one process are coalesced into such batches.

export function serializeUsageEvent(e: StoredUsage, status: 'accepted' | 'duplicate') {
  return {
    id: e.id,
    object: 'usage_event' as const,
    status,
    customer: e.customer,
    feature: e.feature,
    quantity: e.quantity,
    timestamp: toUnix(e.timestamp),
    properties: e.properties ?? {},
    credits: e.credits,
    overage_credits: e.overage_credits,
    credit_transaction: e.transaction,
    created: toUnix(e.created),
    livemode: false,
  };
}
export type UsageEventObject = ReturnType<typeof serializeUsageEvent>;

export function serializeOutcome(o: Outcome) {
  if (o.status === 'failed') {
    const { status: _s, ...error } = o.error;
    return { id: o.id, object: 'usage_event' as const, status: 'failed' as const, error: { type: o.error.status === 409 ? 'idempotency_error' : 'invalid_request_error', ...error } };
  }
  return serializeUsageEvent(o.event, o.status);
}

/**
 * Ingests one batch in the caller's transaction; returns one outcome per input, in order.
 *
 * `lookupExisting: false` is the optimistic mode for the common case, fresh ids: the batch's ids are
 * not looked up first. An accepted id that exists after all makes the write fail on the primary key
 * (the caller retries in lookup mode); a refused event might be a replay of a recorded one, whose
 * answer must be "duplicate", so refused ids are looked up, and if one exists the batch is planned
 * again with every id looked up.
 */
export async function ingestUsage(q: Queryable, cfg: CreditsConfig, now: Date, items: readonly UsageInput[], opts: { lookupExisting?: boolean } = {}): Promise<Outcome[]> {
  if (items.length === 0) return [];
  const lookup = opts.lookupExisting ?? true;
  const customers = [...new Set(items.map((i) => i.customer))].sort();
  let wallets = await lockWallets(q, customers);
  if (wallets.length < customers.length) {
    // A customer's first usage (or an unknown customer): create the missing wallets, then lock them.
    const have = new Set(wallets.map((w) => w.customer));
    const missing = customers.filter((c) => !have.has(c));
    await ensureWallets(q, missing, now);
    wallets = [...wallets, ...(await lockWallets(q, missing))];
  }
  const walletIds = wallets.map((w) => w.id);
  const ids = [...new Set(items.map((i) => i.id))];
  const features = [...new Set(items.map((i) => i.feature))];
  let state = await loadUsageState(q, walletIds, lookup ? ids : [], features);
  const plan = (st: UsageState) => planBatch(cfg, now, items, wallets, st);
  let planned = plan(state);
  if (!lookup) {
    const refused = planned.plan.outcomes.flatMap((o) => (o.status === 'failed' ? [o.id] : []));
    if (refused.length && (await existingUsageIds(q, refused)).length) {
      state = await loadUsageState(q, walletIds, ids, features);
      planned = plan(state);
    }
  }
  const { plan: result, customerStates } = planned;
  return writePlanned(q, cfg, result, wallets, customerStates);
}

function planBatch(cfg: CreditsConfig, now: Date, items: readonly UsageInput[], wallets: WalletRow[], state: UsageState) {
  const lotsByWallet = new Map<string, CustomerState['lots']>();
  for (const l of state.lots) {
    const list = lotsByWallet.get(l.account) ?? [];
    list.push({ id: l.id, remaining: Number(l.remaining), effectiveAt: new Date(l.effective_at), expiresAt: l.expires_at ? new Date(l.expires_at) : null });
    lotsByWallet.set(l.account, list);
  }
  const customerStates = new Map<string, CustomerState>(
    wallets.map((w) => [
      w.customer,
      {
        now: w.frozen_time ? new Date(w.frozen_time) : now,
        overage: w.overage ?? cfg.overage,
        thresholds: thresholdsOf(w, cfg),
        wallet: w.id,
        lots: lotsByWallet.get(w.id) ?? [],
      },
    ]),
  );
  const prices = new Map<string, { credits: number; effectiveAt: Date }[]>();
  for (const p of state.prices) {
    const list = prices.get(p.feature) ?? [];
    list.push({ credits: p.credits, effectiveAt: new Date(p.effective_at) });
    prices.set(p.feature, list);
  }
  const plan = planUsageBatch(items, {
    customers: customerStates,
    prices: prices as Map<string, PriceSchedule>,
    existing: new Map(state.existing.map((e) => [e.id, e])),
    limits: { maxAgeMs: cfg.usageMaxAgeDays * 86_400_000, maxFutureMs: cfg.usageMaxFutureSeconds * 1000 },
    created: now,
    newId: () => newId('ctx'),
  });
  return { plan, customerStates };
}

async function writePlanned(q: Queryable, cfg: CreditsConfig, plan: BatchPlan, wallets: WalletRow[], customerStates: Map<string, CustomerState>): Promise<Outcome[]> {
  const byCustomer = new Map(wallets.map((w) => [w.customer, w]));
  const txs: TransactionDraft[] = plan.postings.map((p) => ({
    id: p.transaction,
    type: 'usage',
    customer: p.customer,
    idempotencyKey: `usage:${p.firstEvent}`,
    grant: null,
    description: null,
    testClock: byCustomer.get(p.customer)?.test_clock ?? null,
    created: customerStates.get(p.customer)!.now,
    entries: [
      ...[...p.takes].map(([lot, amount]) => ({ account: p.wallet!, grant: lot, amount: -amount })),
      ...(p.overage > 0 ? [{ account: SYSTEM_ACCOUNTS.overage, grant: null, amount: -p.overage }] : []),
      { account: SYSTEM_ACCOUNTS.consumption, grant: null, amount: p.consumed },
    ],
  }));
  await writeUsageBatch(q, plan.accepted, txs);

  const overage = plan.postings.filter((p) => p.overage > 0);
  if (overage.length) {
    await insertOverageItems(
      q,
      overage.map((p) => ({
        id: newId('ii'),
        customer: p.customer,
        credits: p.overage,
        unitAmount: cfg.overageUnitAmount,
        currency: cfg.overageCurrency,
        description: `Credit overage: ${p.overage.toLocaleString('en-US')} credits`,
        periodStart: p.from,
        periodEnd: p.to,
        transaction: p.transaction,
        testClock: byCustomer.get(p.customer)?.test_clock ?? null,
        created: customerStates.get(p.customer)!.now,
      })),
    );
  }
  // Alerts are rare: written one customer at a time, at that customer's clock time.
  for (const p of plan.postings) {
    const state = customerStates.get(p.customer)!;
    const alerts = balanceLowEvents([{ customer: p.customer, before: p.before, after: p.after, thresholds: state.thresholds }]);
    if (alerts.length) await recordEvents(q, state.now, alerts);
  }
  return plan.outcomes;
}

// After a batch clashed on an id (a replay), the next batches of that database look their ids up
// from the start: a client that is replaying events would otherwise make every batch run twice.
const LOOKUP_AFTER_CLASH = 50;
const lookupBudget = new WeakMap<Db, number>();

/**
 * One batch in its own transaction, retried on a deadlock or an id race. The first attempt is
 * optimistic (ids assumed new, not looked up) unless batches clashed recently; after a clash on an
 * id, attempts look them up.
 */
export async function ingestUsageTx(db: Db, clock: Clock, cfg: CreditsConfig, items: readonly UsageInput[]): Promise<Outcome[]> {
  const budget = lookupBudget.get(db) ?? 0;
  if (budget > 0) lookupBudget.set(db, budget - 1);
  let lookupExisting = budget > 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.tx((q) => ingestUsage(q, cfg, clock.now(), items, { lookupExisting }));
    } catch (err) {
      if (attempt < 5 && isRetryable(err)) {
        if (isIdRace(err)) {
          lookupExisting = true;
          lookupBudget.set(db, LOOKUP_AFTER_CLASH);
        }
        continue;
      }
      throw err;
    }
  }
}

interface Pending {
  items: readonly UsageInput[];
  resolve: (o: Outcome[]) => void;
  reject: (err: unknown) => void;
}

interface Partition {
  queue: Pending[];
  busy: boolean;
  scheduled: boolean;
}

/** FNV-1a: a stable spread of customers over partitions. */
export function partitionOf(customer: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < customer.length; i++) h = Math.imul(h ^ customer.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

/**
 * Group commit for usage requests: requests arriving while a batch is being written wait (a few
 * milliseconds at most) and go together in the next one, so a stream of single-event POSTs costs a
 * transaction per batch, not per event. A response is sent only after its batch committed.
 *
 * Customers are spread over partitions (one per concurrent batch), each with its own queue and at most
 * one batch in flight: concurrent batches then never lock the same wallet, so they never wait for each
 * other. A batch also takes the queues of idle partitions, so light load makes few large batches. A
 * request whose events belong to several partitions is split (each event is charged whole or refused
 * on its own anyway) and answered when all of its parts are. If a combined batch fails, its
 * requests are retried one by one, so one bad request cannot fail the others.
 */
export class UsageCoalescer {
  private readonly partitions: Partition[];

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly cfg: CreditsConfig,
    partitions: number,
  ) {
    this.partitions = Array.from({ length: Math.max(1, partitions) }, () => ({ queue: [], busy: false, scheduled: false }));
  }

  async submit(items: readonly UsageInput[]): Promise<Outcome[]> {
    const n = this.partitions.length;
    if (n === 1) return this.enqueue(0, items);
    const groups = new Map<number, { items: UsageInput[]; at: number[] }>();
    items.forEach((item, i) => {
      const p = partitionOf(item.customer, n);
      const g = groups.get(p) ?? { items: [], at: [] };
      g.items.push(item);
      g.at.push(i);
      groups.set(p, g);
    });
    if (groups.size === 1) return this.enqueue([...groups.keys()][0]!, items);
    const out: Outcome[] = new Array(items.length);
    await Promise.all(
      [...groups].map(async ([p, g]) => {
        const outcomes = await this.enqueue(p, g.items);
        g.at.forEach((i, k) => (out[i] = outcomes[k]!));
      }),
    );
    return out;
  }

  private enqueue(p: number, items: readonly UsageInput[]): Promise<Outcome[]> {
    return new Promise((resolve, reject) => {
      this.partitions[p]!.queue.push({ items, resolve, reject });
      this.schedule(this.partitions[p]!);
    });
  }

  private schedule(part: Partition): void {
    if (part.scheduled || part.busy || part.queue.length === 0) return;
    part.scheduled = true;
    // setImmediate: every request parsed in this turn of the event loop joins the batch.
    setImmediate(() => {
      part.scheduled = false;
      void outsideRequest(() => this.flush(part));
    });
  }

  private async flush(part: Partition): Promise<void> {
    if (part.busy || part.queue.length === 0) return;
    // This partition's queue, plus the queues of partitions that are idle: under light load one
    // transaction takes everything waiting (larger batches, less overhead per event); under heavy
    // load the partitions run side by side. The partitions taken stay busy until the batch commits,
    // so concurrent batches still never share a customer.
    const parts = [part, ...this.partitions.filter((p) => p !== part && !p.busy && p.queue.length > 0)];
    const batch: Pending[] = [];
    let size = 0;
    for (const q of parts) {
      q.busy = true;
      while (q.queue.length && (batch.length === 0 || size + q.queue[0]!.items.length <= this.cfg.usageCoalesceMaxEvents)) {
        const p = q.queue.shift()!;
        batch.push(p);
        size += p.items.length;
      }
    }
    try {
      const outcomes = await ingestUsageTx(
        this.db,
        this.clock,
        this.cfg,
        batch.flatMap((p) => p.items),
      );
      let i = 0;
      for (const p of batch) {
        p.resolve(outcomes.slice(i, i + p.items.length));
        i += p.items.length;
      }
    } catch (err) {
      if (batch.length === 1) batch[0]!.reject(err);
      else {
        for (const p of batch) await ingestUsageTx(this.db, this.clock, this.cfg, p.items).then(p.resolve, p.reject);
      }
    } finally {
      for (const q of parts) {
        q.busy = false;
        this.schedule(q);
      }
    }
  }
}

// One coalescer per database handle (so per app): no module-level singleton state beyond this map.
const coalescers = new WeakMap<Db, UsageCoalescer>();

export function usageCoalescer(deps: { db: Db; clock: Clock; config: { credits: CreditsConfig; dbPoolSize: number } }): UsageCoalescer {
  let c = coalescers.get(deps.db);
  if (!c) {
    // PGlite is one connection: batches queue there anyway. On PostgreSQL a few batches overlap.
    const partitions = deps.db.kind === 'pglite' ? 1 : Math.max(1, Math.min(deps.config.credits.usagePartitions, deps.config.dbPoolSize - 1));
    c = new UsageCoalescer(deps.db, deps.clock, deps.config.credits, partitions);
    coalescers.set(deps.db, c);
  }
  return c;
}

/** Records usage through the coalescer (or directly when coalescing is off). */
export function recordUsage(deps: { db: Db; clock: Clock; config: { credits: CreditsConfig; dbPoolSize: number } }, items: readonly UsageInput[]): Promise<Outcome[]> {
  if (!deps.config.credits.usageCoalesce) return ingestUsageTx(deps.db, deps.clock, deps.config.credits, items);
  return usageCoalescer(deps).submit(items);
}
