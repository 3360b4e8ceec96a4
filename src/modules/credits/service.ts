import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { addDays, toUnix, utcDate } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { ListParams } from '../../http/pagination.js';
import { getCustomerRow } from '../customers/service.js';
import { recordEvents, type EventInput } from '../events/service.js';
import type { CreditsConfig } from './config.js';
import { available, thresholdsCrossed, usableLots } from './domain/lots.js';
import { priceAt } from './domain/usage.js';
import {
  SYSTEM_ACCOUNTS,
  allTransactionRows,
  creditPlanRows,
  ensureWallets,
  entriesOf,
  featureRows,
  findGrant,
  findTransaction,
  findWallet,
  insertGrants,
  listGrantRows,
  listTransactionRows,
  lockWallets,
  markGrants,
  openGrantsOf,
  postTransactions,
  toLot,
  updateWalletSettings,
  usageSummaryRows,
  walletId,
  type EntryRow,
  type FeatureRow,
  type GrantRow,
  type GrantSource,
  type PlanRow,
  type TransactionDraft,
  type TransactionFilter,
  type TransactionRow,
  type WalletRow,
} from './repository.js';

// Credit use cases other than usage ingestion (usage.ts) and the worker's jobs (jobs.ts): grants,
// voids (clawback), balances, the transaction history, features and plan policies. The caller owns
// the transaction.

export type CreditsDeps = { config: { credits: CreditsConfig } };

const SOURCE_ACCOUNT: Record<GrantSource, string> = {
  plan: SYSTEM_ACCOUNTS.plan_grants,
  purchase: SYSTEM_ACCOUNTS.purchases,
  promotion: SYSTEM_ACCOUNTS.promotions,
};

const unixOrNull = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

/** The customer's "now": its test clock's frozen time when it has one. */
export async function customerNow(q: Queryable, customer: string, fallback: Date): Promise<Date> {
  const { rows } = await q.query<{ frozen_time: Date | null }>(
    `SELECT tc.frozen_time FROM customers c LEFT JOIN test_clocks tc ON tc.id = c.test_clock WHERE c.id = $1`,
    [customer],
  );
  return rows[0]?.frozen_time ? new Date(rows[0].frozen_time) : fallback;
}

// ---------- serialization ----------

export function grantStatus(g: GrantRow, now: Date): 'pending' | 'active' | 'depleted' | 'expired' | 'voided' {
  if (g.voided_at) return 'voided';
  if (g.expired_at || (g.expires_at && new Date(g.expires_at) <= now)) return 'expired';
  if (new Date(g.effective_at) > now) return 'pending';
  return Number(g.remaining) === 0 ? 'depleted' : 'active';
}

export function serializeGrant(g: GrantRow, now: Date) {
  return {
    id: g.id,
    object: 'credit_grant' as const,
    customer: g.customer,
    source: g.source,
    amount: Number(g.amount),
    remaining: Number(g.remaining),
    status: grantStatus(g, now),
    effective_at: toUnix(new Date(g.effective_at)),
    expires_at: unixOrNull(g.expires_at),
    subscription: g.subscription,
    period: g.period_start ? { start: toUnix(new Date(g.period_start)), end: unixOrNull(g.period_end) } : null,
    product: g.product,
    invoice: g.invoice,
    invoice_line: g.invoice_line,
    description: g.description,
    metadata: g.metadata,
    expired_at: unixOrNull(g.expired_at),
    voided_at: unixOrNull(g.voided_at),
    test_clock: g.test_clock,
    created: toUnix(new Date(g.created)),
    livemode: false,
  };
}
export type CreditGrantObject = ReturnType<typeof serializeGrant>;

export function serializeTransaction(t: TransactionRow, entries: EntryRow[]) {
  return {
    id: t.id,
    object: 'credit_transaction' as const,
    type: t.type,
    customer: t.customer,
    unit: t.unit,
    /** The change to the customer's wallet (0 for usage billed entirely as overage). */
    amount: entries.filter((e) => e.account_type === 'wallet').reduce((s, e) => s + Number(e.amount), 0),
    description: t.description,
    grant: t.grant_id,
    idempotency_key: t.idempotency_key,
    created: toUnix(new Date(t.created)),
    entries: entries.map((e) => ({ account: e.account, account_type: e.account_type, grant: e.grant_id, amount: Number(e.amount) })),
    livemode: false,
  };
}
export type CreditTransactionObject = ReturnType<typeof serializeTransaction>;

// ---------- grants ----------

export interface GrantDraft {
  source: GrantSource;
  customer: string;
  amount: number;
  effectiveAt: Date;
  expiresAt: Date | null;
  subscription?: string | null;
  periodStart?: Date | null;
  periodEnd?: Date | null;
  product?: string | null;
  invoice?: string | null;
  invoiceLine?: string | null;
  description: string | null;
  metadata?: Record<string, string>;
  testClock: string | null;
}

export function grantIdempotencyKey(g: { source: GrantSource; id: string; subscription?: string | null; periodStart?: Date | null; invoiceLine?: string | null }): string {
  if (g.source === 'plan') return `plan:${g.subscription}:${g.periodStart!.toISOString()}`;
  if (g.source === 'purchase') return `purchase:${g.invoiceLine}`;
  return `promotion:${g.id}`;
}

/**
 * Creates grants and posts their transactions (source account → wallet lot). The caller holds the
 * customers' wallet locks. A plan period or invoice line granted before is skipped (unique index).
 * Returns the grants created.
 */
export async function createGrants(q: Queryable, now: Date, drafts: readonly GrantDraft[]): Promise<GrantRow[]> {
  if (drafts.length === 0) return [];
  const rows = drafts.map((d) => ({
    id: newId('cgrant'),
    customer: d.customer,
    account: walletId(d.customer),
    source: d.source,
    amount: d.amount,
    effective_at: d.effectiveAt,
    expires_at: d.expiresAt,
    subscription: d.subscription ?? null,
    period_start: d.periodStart ?? null,
    period_end: d.periodEnd ?? null,
    product: d.product ?? null,
    invoice: d.invoice ?? null,
    invoice_line: d.invoiceLine ?? null,
    description: d.description,
    metadata: d.metadata ?? {},
    test_clock: d.testClock,
    created: now,
  }));
  const inserted = await insertGrants(q, rows);
  const kept = rows.filter((r) => inserted.has(r.id));
  const txs: TransactionDraft[] = kept.map((g) => ({
    id: newId('ctx'),
    type: 'grant',
    customer: g.customer,
    idempotencyKey: grantIdempotencyKey({ source: g.source, id: g.id, subscription: g.subscription, periodStart: g.period_start, invoiceLine: g.invoice_line }),
    grant: g.id,
    description: g.description,
    testClock: g.test_clock,
    created: now,
    entries: [
      { account: SOURCE_ACCOUNT[g.source], grant: null, amount: -g.amount },
      { account: g.account, grant: g.id, amount: g.amount },
    ],
  }));
  await postTransactions(q, txs);
  const out: GrantRow[] = kept.map((g) => ({ ...g, remaining: g.amount, expired_at: null, voided_at: null }));
  await recordEvents(
    q,
    now,
    out.map((g) => ({ type: 'credit_grant.created', object: serializeGrant(g, now), customerId: g.customer })),
  );
  return out;
}

/** A promotional grant (API): credits with an optional start and expiry. */
export async function createPromotionalGrant(
  q: Queryable,
  now: Date,
  input: { customer: string; amount: number; expires_at?: number; effective_at?: number; description?: string; metadata?: Record<string, string> },
) {
  const customer = await getCustomerRow(q, input.customer, { param: 'customer' });
  const at = await customerNow(q, customer.id, now);
  const effectiveAt = input.effective_at !== undefined ? new Date(input.effective_at * 1000) : at;
  const expiresAt = input.expires_at !== undefined ? new Date(input.expires_at * 1000) : null;
  if (expiresAt && expiresAt <= at) throw new InvalidRequestError('expires_at must be in the future.', 'expires_at');
  if (expiresAt && expiresAt <= effectiveAt) throw new InvalidRequestError('expires_at must be after effective_at.', 'expires_at');
  await ensureWallets(q, [customer.id], now);
  await lockWallets(q, [customer.id]);
  const [grant] = await createGrants(q, at, [
    {
      source: 'promotion',
      customer: customer.id,
      amount: input.amount,
      effectiveAt,
      expiresAt,
      description: input.description ?? 'Promotional credits',
      metadata: input.metadata,
      testClock: customer.test_clock,
    },
  ]);
  return serializeGrant(grant!, at);
}

export async function retrieveGrant(q: Queryable, now: Date, id: string) {
  const g = await findGrant(q, id);
  if (!g) throw new NotFoundError('credit_grant', id);
  return serializeGrant(g, await customerNow(q, g.customer, now));
}

export async function listGrants(q: Queryable, now: Date, f: { customer?: string; source?: GrantSource; subscription?: string; invoice?: string }, list: ListParams) {
  const { rows, hasMore } = await listGrantRows(q, f, list);
  const at = f.customer ? await customerNow(q, f.customer, now) : now;
  return { data: rows.map((g) => serializeGrant(g, at)), hasMore };
}

/**
 * Voids a grant and claws back its unused credits (wallet lot → refunds). Spent credits stay spent.
 * Idempotent: voiding a voided grant changes nothing. Used by POST /v1/credit_grants/:id/void and,
 * through clawbackInvoiceCredits, by refunds of pack purchases.
 */
export async function voidGrant(q: Queryable, deps: CreditsDeps, now: Date, id: string, reason: string | null = null): Promise<GrantRow> {
  const found = await findGrant(q, id);
  if (!found) throw new NotFoundError('credit_grant', id);
  const [wallet] = await lockWallets(q, [found.customer], { includeDeleted: true });
  // Re-read under the wallet's lock: usage may have spent from the lot meanwhile.
  const g = (await findGrant(q, id))!;
  if (g.voided_at) return g;
  const at = wallet?.frozen_time ? new Date(wallet.frozen_time) : now;
  const lots = (await openGrantsOf(q, [g.account])).map(toLot);
  const before = available(lots, at);
  const clawback = Number(g.remaining);
  if (clawback > 0) {
    await postTransactions(q, [
      {
        id: newId('ctx'),
        type: 'void',
        customer: g.customer,
        idempotencyKey: `void:${g.id}`,
        grant: g.id,
        description: reason ?? `Void of ${g.description ?? g.id}: ${clawback} unused credits clawed back`,
        testClock: g.test_clock,
        created: at,
        entries: [
          { account: g.account, grant: g.id, amount: -clawback },
          { account: SYSTEM_ACCOUNTS.refunds, grant: null, amount: clawback },
        ],
      },
    ]);
  }
  await markGrants(q, [g.id], 'voided_at', at);
  const after = available(
    lots.filter((l) => l.id !== g.id),
    at,
  );
  const voided: GrantRow = { ...g, remaining: 0, voided_at: at };
  const events: EventInput[] = [{ type: 'credit_grant.voided', object: serializeGrant(voided, at), customerId: g.customer }];
  events.push(...balanceLowEvents([{ customer: g.customer, before, after, thresholds: thresholdsOf(wallet ?? null, deps.config.credits) }]));
  await recordEvents(q, at, events);
  return voided;
}

/** The refund hook for pack purchases: voids every pack grant of an invoice, clawing back what is unused. */
export async function clawbackInvoiceCredits(q: Queryable, deps: CreditsDeps, now: Date, invoice: string): Promise<GrantRow[]> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM credit_grants WHERE invoice = $1 AND source = 'purchase' AND voided_at IS NULL ORDER BY id`, [invoice]);
  const out: GrantRow[] = [];
  for (const r of rows) out.push(await voidGrant(q, deps, now, r.id, `Refund of invoice ${invoice}`));
  return out;
}

// ---------- low-balance alerts ----------

export function thresholdsOf(wallet: Pick<WalletRow, 'low_balance_thresholds'> | null, cfg: CreditsConfig): number[] {
  return wallet?.low_balance_thresholds ?? cfg.lowBalanceThresholds;
}

/** `credits.balance_low` for each threshold a balance crossed downwards. */
export function balanceLowEvents(moves: readonly { customer: string; before: number; after: number; thresholds: readonly number[] }[]): EventInput[] {
  const out: EventInput[] = [];
  for (const m of moves) {
    for (const threshold of thresholdsCrossed(m.before, m.after, m.thresholds)) {
      out.push({
        type: 'credits.balance_low',
        object: { id: walletId(m.customer), object: 'credit_balance', customer: m.customer, unit: 'credit', available: m.after, threshold },
        customerId: m.customer,
      });
    }
  }
  return out;
}

// ---------- balances ----------

export async function creditBalance(q: Queryable, deps: CreditsDeps, now: Date, customerId: string) {
  const customer = await getCustomerRow(q, customerId);
  const at = await customerNow(q, customer.id, now);
  const wallet = await findWallet(q, customer.id);
  const grants = wallet ? await openGrantsOf(q, [wallet.id]) : [];
  const lots = grants.map(toLot);
  const usable = usableLots(lots, at);
  const soonUntil = addDays(at, deps.config.credits.expiringSoonDays);
  const soon = usable.filter((l) => l.expiresAt !== null && l.expiresAt <= soonUntil);
  const cfg = deps.config.credits;
  const byId = new Map(grants.map((g) => [g.id, g]));
  return {
    object: 'credit_balance' as const,
    customer: customer.id,
    unit: 'credit',
    available: available(lots, at),
    /** Lots not started yet (future effective_at). */
    pending: lots.filter((l) => l.remaining > 0 && l.effectiveAt > at).reduce((s, l) => s + l.remaining, 0),
    grants: usable.map((l) => {
      const g = byId.get(l.id)!;
      return { id: g.id, source: g.source, remaining: l.remaining, expires_at: unixOrNull(g.expires_at) };
    }),
    expiring_soon: { credits: soon.reduce((s, l) => s + l.remaining, 0), before: toUnix(soonUntil), grants: soon.map((l) => l.id) },
    settings: {
      overage: wallet?.overage ?? cfg.overage,
      low_balance_thresholds: thresholdsOf(wallet, cfg),
      overage_unit_amount: cfg.overageUnitAmount,
      overage_currency: cfg.overageCurrency,
    },
    as_of: toUnix(at),
    livemode: false,
  };
}

export async function updateCreditSettings(
  q: Queryable,
  deps: CreditsDeps,
  now: Date,
  customerId: string,
  input: { overage?: 'reject' | 'bill' | null; low_balance_thresholds?: number[] | null },
) {
  const customer = await getCustomerRow(q, customerId);
  await ensureWallets(q, [customer.id], now);
  await lockWallets(q, [customer.id]);
  await updateWalletSettings(q, customer.id, input);
  return creditBalance(q, deps, now, customer.id);
}

// ---------- transactions ----------

export async function listTransactions(q: Queryable, f: TransactionFilter, list: ListParams) {
  const { rows, hasMore } = await listTransactionRows(q, f, list);
  const entries = await entriesOf(
    q,
    rows.map((r) => r.id),
  );
  return { data: rows.map((r) => serializeTransaction(r, entries.get(r.id) ?? [])), hasMore };
}

export async function retrieveTransaction(q: Queryable, id: string) {
  const t = await findTransaction(q, id);
  if (!t) throw new NotFoundError('credit_transaction', id);
  return serializeTransaction(t, (await entriesOf(q, [id])).get(id) ?? []);
}

export const CSV_MAX_TRANSACTIONS = 100_000;
const CSV_COLUMNS = ['transaction', 'created', 'type', 'customer', 'wallet_change', 'account', 'account_type', 'grant', 'amount', 'description', 'idempotency_key'];

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote when needed; a leading =, +, - or @ is prefixed so spreadsheets do not run it as a formula.
  const safe = /^[=+\-@]/.test(s) && !/^-?\d+$/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The history as CSV, one row per entry, oldest first (at most CSV_MAX_TRANSACTIONS transactions). */
export async function transactionsCsv(q: Queryable, f: TransactionFilter): Promise<string> {
  const rows = await allTransactionRows(q, f, CSV_MAX_TRANSACTIONS);
  const lines = [CSV_COLUMNS.join(',')];
  for (let i = 0; i < rows.length; i += 5000) {
    const chunk = rows.slice(i, i + 5000);
    const entries = await entriesOf(
      q,
      chunk.map((r) => r.id),
    );
    for (const t of chunk) {
      const obj = serializeTransaction(t, entries.get(t.id) ?? []);
      for (const e of obj.entries) {
        lines.push(
          [t.id, new Date(t.created).toISOString(), t.type, t.customer, obj.amount, e.account, e.account_type, e.grant, e.amount, t.description, t.idempotency_key].map(csvField).join(','),
        );
      }
    }
  }
  return lines.join('\r\n') + '\r\n';
}

// ---------- usage summaries ----------

export async function usageSummaries(q: Queryable, now: Date, f: { customer?: string; feature?: string; start?: number; end?: number }) {
  if (f.customer) await getCustomerRow(q, f.customer, { param: 'customer' });
  const at = f.customer ? await customerNow(q, f.customer, now) : now;
  const end = f.end !== undefined ? new Date(f.end * 1000) : addDays(at, 1);
  const start = f.start !== undefined ? new Date(f.start * 1000) : addDays(end, -31);
  if (start >= end) throw new InvalidRequestError('start must be before end.', 'start');
  if (end.getTime() - start.getTime() > 366 * 86_400_000) throw new InvalidRequestError('The range may span at most 366 days.', 'end');
  // Whole UTC days: the day containing `start` up to (excluding) the day containing `end`, unless end is midnight.
  const endDay = end.toISOString().endsWith('T00:00:00.000Z') ? utcDate(end) : utcDate(addDays(end, 1));
  const rows = await usageSummaryRows(q, { customer: f.customer, feature: f.feature, from: utcDate(start), to: endDay });
  return rows.map((r) => ({
    object: 'usage_summary' as const,
    customer: r.customer,
    feature: r.feature,
    day: r.day,
    start: toUnix(new Date(`${r.day}T00:00:00Z`)),
    end: toUnix(new Date(`${r.day}T00:00:00Z`)) + 86_400,
    events: Number(r.events),
    quantity: Number(r.quantity),
    credits: Number(r.credits),
  }));
}

// ---------- features ----------

export function serializeFeature(f: FeatureRow, at: Date) {
  const schedule = f.prices.map((p) => ({ credits: p.credits, effectiveAt: new Date(p.effective_at) }));
  return {
    id: f.key,
    object: 'feature' as const,
    key: f.key,
    name: f.name,
    unit_label: f.unit_label,
    /** Credits per unit in effect at `at` (now unless asked). */
    credits: priceAt(schedule, at),
    prices: f.prices.map((p) => ({ credits: p.credits, effective_at: toUnix(new Date(p.effective_at)) })),
    created: toUnix(new Date(f.created)),
    updated: toUnix(new Date(f.updated)),
  };
}

export async function listFeatures(q: Queryable, at: Date) {
  return (await featureRows(q)).map((f) => serializeFeature(f, at));
}

export async function retrieveFeature(q: Queryable, key: string, at: Date) {
  const [f] = await featureRows(q, [key]);
  if (!f) throw new NotFoundError('feature', key);
  return serializeFeature(f, at);
}

export async function createFeature(q: Queryable, now: Date, input: { key: string; name: string; unit_label?: string | null; credits: number; effective_at?: number }) {
  const effectiveAt = input.effective_at !== undefined ? new Date(input.effective_at * 1000) : now;
  const ins = await q.query(
    `INSERT INTO credit_features (key, name, unit_label, created, updated) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (key) DO NOTHING`,
    [input.key, input.name, input.unit_label ?? null, now],
  );
  if (ins.rowCount === 0) throw new InvalidRequestError(`A feature with the key '${input.key}' already exists.`, 'key', 'resource_already_exists');
  await q.query(`INSERT INTO credit_feature_prices (feature, credits, effective_at, created) VALUES ($1, $2, $3, $4)`, [input.key, input.credits, effectiveAt, now]);
  const obj = await retrieveFeature(q, input.key, now);
  await recordEvents(q, now, [{ type: 'feature.created', object: obj }]);
  return obj;
}

/**
 * Renames a feature and/or changes its price from `effective_at` on (default: now). History is not
 * rewritten: a price may only take effect now or later, so events already charged keep their price.
 */
export async function updateFeature(q: Queryable, now: Date, key: string, input: { name?: string; unit_label?: string | null; credits?: number; effective_at?: number }) {
  const before = await retrieveFeature(q, key, now);
  if (input.effective_at !== undefined && input.credits === undefined) throw new InvalidRequestError('effective_at needs credits.', 'credits', 'parameter_missing');
  if (input.name !== undefined || input.unit_label !== undefined) {
    await q.query(`UPDATE credit_features SET name = coalesce($2, name), unit_label = CASE WHEN $4 THEN $3 ELSE unit_label END, updated = $5 WHERE key = $1`, [
      key,
      input.name ?? null,
      input.unit_label ?? null,
      input.unit_label !== undefined,
      now,
    ]);
  }
  if (input.credits !== undefined) {
    const effectiveAt = input.effective_at !== undefined ? new Date(input.effective_at * 1000) : now;
    if (effectiveAt < now) throw new InvalidRequestError('effective_at cannot be in the past: charged usage keeps its price.', 'effective_at');
    await q.query(
      `INSERT INTO credit_feature_prices (feature, credits, effective_at, created) VALUES ($1, $2, $3, $4)
       ON CONFLICT (feature, effective_at) DO UPDATE SET credits = EXCLUDED.credits`,
      [key, input.credits, effectiveAt, now],
    );
    await q.query(`UPDATE credit_features SET updated = $2 WHERE key = $1`, [key, now]);
  }
  const obj = await retrieveFeature(q, key, now);
  await recordEvents(q, now, [{ type: 'feature.updated', object: obj, previousAttributes: { name: before.name, credits: before.credits, prices: before.prices } }]);
  return obj;
}

// ---------- plan policies ----------

export function serializePlan(p: PlanRow) {
  return {
    id: p.product,
    object: 'credit_plan' as const,
    product: p.product,
    name: p.name,
    included_credits: /^\d+$/.test(p.included_credits) ? Number(p.included_credits) : 0,
    carryover: {
      /** 0: credits expire at the end of their period; N: usable N more periods; null: no time limit. */
      periods: p.has_policy ? p.carryover_periods : 0,
      /** At most this many earlier plan credits roll into a new period; null: no cap. */
      cap: p.has_policy && p.carryover_cap !== null ? Number(p.carryover_cap) : null,
    },
  };
}

export async function listCreditPlans(q: Queryable) {
  return (await creditPlanRows(q)).map(serializePlan);
}

export async function updateCreditPlan(q: Queryable, now: Date, product: string, input: { carryover_periods?: number | null; carryover_cap?: number | null }) {
  const [before] = await creditPlanRows(q, product);
  if (!before) throw new NotFoundError('credit plan (a product with included_credits metadata)', product);
  const periods = input.carryover_periods !== undefined ? input.carryover_periods : before.has_policy ? before.carryover_periods : 0;
  const cap = input.carryover_cap !== undefined ? input.carryover_cap : before.has_policy ? before.carryover_cap : null;
  await q.query(
    `INSERT INTO credit_plan_policies (product, carryover_periods, carryover_cap, updated) VALUES ($1, $2, $3, $4)
     ON CONFLICT (product) DO UPDATE SET carryover_periods = EXCLUDED.carryover_periods, carryover_cap = EXCLUDED.carryover_cap, updated = EXCLUDED.updated`,
    [product, periods, cap, now],
  );
  const obj = serializePlan((await creditPlanRows(q, product))[0]!);
  await recordEvents(q, now, [{ type: 'credit_plan.updated', object: obj, previousAttributes: { carryover: serializePlan(before).carryover } }]);
  return obj;
}

// ---------- ledger check ----------

export interface LedgerProblem {
  problem: string;
  ref: string | null;
  expected: number | null;
  actual: number | null;
}

/** Runs the SQL check function (also usable from psql): no rows means the ledger is consistent. */
export async function checkLedger(q: Queryable): Promise<LedgerProblem[]> {
  const { rows } = await q.query<LedgerProblem>(`SELECT * FROM credit_ledger_check()`);
  return rows.map((r) => ({ ...r, expected: r.expected === null ? null : Number(r.expected), actual: r.actual === null ? null : Number(r.actual) }));
}
