import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { Lot } from './domain/lots.js';
import type { OverageMode, StoredUsage } from './domain/usage.js';

// All of the credits module's SQL. Writes are set-based: one statement per table per batch (a usage
// batch writes all of its tables in one statement, with a data-modifying CTE per table).
// Locking rule: every write that changes a wallet's credits first locks the wallet's account row
// (in id order), so wallets are the only serialisation point and lock order is always the same.

export const SYSTEM_ACCOUNTS = {
  plan_grants: 'cacct_plan_grants',
  purchases: 'cacct_purchases',
  promotions: 'cacct_promotions',
  overage: 'cacct_overage',
  consumption: 'cacct_consumption',
  expiry: 'cacct_expiry',
  refunds: 'cacct_refunds',
} as const;

export type AccountType = 'wallet' | keyof typeof SYSTEM_ACCOUNTS;

/** One wallet per customer and unit; its id is derived from the customer, so no lookup is needed. */
export const walletId = (customer: string) => `cwal_${customer}`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

// ---------- wallets ----------

export interface WalletRow {
  id: string;
  customer: string;
  overage: OverageMode | null;
  low_balance_thresholds: number[] | null;
  test_clock: string | null;
  /** The customer's clock time when it is on a test clock. */
  frozen_time: Date | null;
}

/**
 * Creates the wallets that do not exist yet for existing customers. Usage never creates one for a
 * deleted customer; jobs do (a deleted customer's paid plan or pack still grants, and lots still expire).
 */
export async function ensureWallets(q: Queryable, customers: readonly string[], now: Date, opts: { includeDeleted?: boolean } = {}): Promise<void> {
  if (customers.length === 0) return;
  await q.query(
    `INSERT INTO credit_accounts (id, type, unit, customer, test_clock, created)
     SELECT 'cwal_' || c.id, 'wallet', 'credit', c.id, c.test_clock, $2
       FROM customers c
      WHERE c.id = ANY($1::text[])${opts.includeDeleted ? '' : ' AND c.deleted_at IS NULL'}
        AND NOT EXISTS (SELECT 1 FROM credit_accounts a WHERE a.id = 'cwal_' || c.id)
     ON CONFLICT DO NOTHING`,
    [customers, now],
  );
}

/**
 * Locks the wallets of live customers, in id order (so two batches never deadlock on each other).
 * `skipLocked` is for workers: a wallet busy with usage is left for the next pass.
 */
export async function lockWallets(q: Queryable, customers: readonly string[], opts: { skipLocked?: boolean; includeDeleted?: boolean } = {}): Promise<WalletRow[]> {
  if (customers.length === 0) return [];
  const { rows } = await q.query<WalletRow>(
    `SELECT a.id, a.customer, a.overage, a.low_balance_thresholds, a.test_clock, tc.frozen_time
       FROM credit_accounts a
       JOIN customers c ON c.id = a.customer
       LEFT JOIN test_clocks tc ON tc.id = c.test_clock
      WHERE a.id = ANY($1::text[])${opts.includeDeleted ? '' : ' AND c.deleted_at IS NULL'}
      ORDER BY a.id
      FOR UPDATE OF a${opts.skipLocked ? ' SKIP LOCKED' : ''}`,
    [customers.map(walletId)],
  );
  return rows;
}

export async function findWallet(q: Queryable, customer: string): Promise<WalletRow | null> {
  const { rows } = await q.query<WalletRow>(
    `SELECT a.id, a.customer, a.overage, a.low_balance_thresholds, a.test_clock, NULL::timestamptz AS frozen_time FROM credit_accounts a WHERE a.id = $1`,
    [walletId(customer)],
  );
  return rows[0] ?? null;
}

export async function updateWalletSettings(q: Queryable, customer: string, patch: { overage?: OverageMode | null; low_balance_thresholds?: number[] | null }): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [walletId(customer)];
  if (patch.overage !== undefined) {
    params.push(patch.overage);
    sets.push(`overage = $${params.length}`);
  }
  if (patch.low_balance_thresholds !== undefined) {
    params.push(patch.low_balance_thresholds === null ? null : JSON.stringify(patch.low_balance_thresholds));
    sets.push(`low_balance_thresholds = $${params.length}`);
  }
  if (sets.length) await q.query(`UPDATE credit_accounts SET ${sets.join(', ')} WHERE id = $1`, params);
}

// ---------- grants ----------

export type GrantSource = 'plan' | 'purchase' | 'promotion';

export interface GrantRow {
  id: string;
  customer: string;
  account: string;
  source: GrantSource;
  amount: number;
  remaining: number;
  effective_at: Date;
  expires_at: Date | null;
  subscription: string | null;
  period_start: Date | null;
  period_end: Date | null;
  product: string | null;
  invoice: string | null;
  invoice_line: string | null;
  description: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  expired_at: Date | null;
  voided_at: Date | null;
  created: Date;
}

export const toLot = (g: Pick<GrantRow, 'id' | 'remaining' | 'effective_at' | 'expires_at'>): Lot => ({
  id: g.id,
  remaining: Number(g.remaining),
  effectiveAt: new Date(g.effective_at),
  expiresAt: g.expires_at ? new Date(g.expires_at) : null,
});

/**
 * Inserts grants with remaining = 0 (the posting of their grant transaction adds the credits). A
 * plan period or a purchased invoice line granted already is skipped by its unique index; returns the
 * ids actually inserted.
 */
export async function insertGrants(q: Queryable, rows: readonly Omit<GrantRow, 'remaining' | 'expired_at' | 'voided_at'>[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const { rows: ins } = await q.query<{ id: string }>(
    `INSERT INTO credit_grants (id, customer, account, source, amount, remaining, effective_at, expires_at, subscription, period_start, period_end,
       product, invoice, invoice_line, description, metadata, test_clock, created)
     SELECT u.id, u.customer, u.account, u.source, u.amount, 0, u.effective_at, u.expires_at, u.subscription, u.period_start, u.period_end,
       u.product, u.invoice, u.invoice_line, u.description, u.metadata::jsonb, u.test_clock, u.created
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::timestamptz[],
                   $10::timestamptz[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[])
         AS u(id, customer, account, source, amount, effective_at, expires_at, subscription, period_start, period_end, product, invoice, invoice_line,
              description, metadata, test_clock, created)
     ON CONFLICT DO NOTHING RETURNING id`,
    [
      rows.map((r) => r.id),
      rows.map((r) => r.customer),
      rows.map((r) => r.account),
      rows.map((r) => r.source),
      rows.map((r) => r.amount),
      rows.map((r) => iso(r.effective_at)),
      rows.map((r) => iso(r.expires_at)),
      rows.map((r) => r.subscription),
      rows.map((r) => iso(r.period_start)),
      rows.map((r) => iso(r.period_end)),
      rows.map((r) => r.product),
      rows.map((r) => r.invoice),
      rows.map((r) => r.invoice_line),
      rows.map((r) => r.description),
      rows.map((r) => JSON.stringify(r.metadata)),
      rows.map((r) => r.test_clock),
      rows.map((r) => iso(r.created)),
    ],
  );
  return new Set(ins.map((r) => r.id));
}

export async function findGrant(q: Queryable, id: string): Promise<GrantRow | null> {
  const { rows } = await q.query<GrantRow>(`SELECT * FROM credit_grants WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Lots still open (neither expired nor voided) of some wallets, with credits left or due to expire. */
export async function openGrantsOf(q: Queryable, wallets: readonly string[]): Promise<GrantRow[]> {
  if (wallets.length === 0) return [];
  const { rows } = await q.query<GrantRow>(
    `SELECT * FROM credit_grants WHERE account = ANY($1::text[]) AND expired_at IS NULL AND voided_at IS NULL ORDER BY account, id`,
    [wallets],
  );
  return rows;
}

export async function markGrants(q: Queryable, ids: readonly string[], column: 'expired_at' | 'voided_at', at: Date): Promise<void> {
  if (ids.length === 0) return;
  await q.query(`UPDATE credit_grants SET ${column} = $2 WHERE id = ANY($1::text[])`, [ids, at]);
}

export async function listGrantRows(q: Queryable, f: { customer?: string; source?: GrantSource; subscription?: string; invoice?: string }, list: ListParams) {
  return paginate<GrantRow>(q, { table: 'credit_grants', equals: f }, list);
}

// ---------- the ledger ----------

export type TransactionType = 'grant' | 'usage' | 'expiry' | 'void' | 'adjustment';

export interface EntryDraft {
  account: string;
  grant: string | null;
  amount: number;
}

export interface TransactionDraft {
  id: string;
  type: TransactionType;
  customer: string | null;
  idempotencyKey: string;
  grant: string | null;
  description: string | null;
  testClock: string | null;
  created: Date;
  entries: EntryDraft[];
}

/** The rows a set of transactions writes: transactions, numbered entries, and each lot's balance change. */
export function ledgerRows(txs: readonly TransactionDraft[]) {
  const transactions = txs.map((t) => ({
    id: t.id,
    type: t.type,
    customer: t.customer,
    idempotency_key: t.idempotencyKey,
    grant_id: t.grant,
    description: t.description,
    test_clock: t.testClock,
    created: t.created,
  }));
  const entries: { transaction: string; position: number; account: string; grant_id: string | null; amount: number }[] = [];
  const deltas = new Map<string, number>();
  for (const t of txs) {
    let position = 0;
    for (const e of t.entries) {
      if (e.amount === 0) continue;
      entries.push({ transaction: t.id, position: ++position, account: e.account, grant_id: e.grant, amount: e.amount });
      if (e.grant) deltas.set(e.grant, (deltas.get(e.grant) ?? 0) + e.amount);
    }
  }
  return { transactions, entries, deltas: [...deltas].map(([id, d]) => ({ id, d })) };
}

// Rows travel as one JSON document per statement (json_to_recordset): one string to send instead of
// an array per column, each of whose elements node-pg would escape in JavaScript.
const TX_RECORD = `x(id text, type text, customer text, idempotency_key text, grant_id text, description text, test_clock text, created timestamptz)`;
const ENTRY_RECORD = `x(transaction text, position integer, account text, grant_id text, amount bigint)`;

/**
 * Posts transactions: one INSERT for the transactions, one for all their entries, one UPDATE for the
 * lots' cached `remaining` — the only places that cache changes (here and writeUsageBatch), always
 * beside the entries that move it. A transaction whose idempotency key exists already is skipped with
 * its entries (a retried job or request posts nothing twice). Returns the ids posted.
 */
export async function postTransactions(q: Queryable, txs: readonly TransactionDraft[]): Promise<Set<string>> {
  if (txs.length === 0) return new Set();
  const { rows: ins } = await q.query<{ id: string }>(
    `INSERT INTO credit_transactions (id, type, customer, idempotency_key, grant_id, description, test_clock, created)
     SELECT * FROM json_to_recordset($1::json) AS ${TX_RECORD}
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
    [JSON.stringify(ledgerRows(txs).transactions)],
  );
  const ids = new Set(ins.map((r) => r.id));
  const { entries, deltas } = ledgerRows(txs.filter((t) => ids.has(t.id)));
  if (entries.length) {
    await q.query(`INSERT INTO credit_entries (transaction, position, account, grant_id, amount) SELECT * FROM json_to_recordset($1::json) AS ${ENTRY_RECORD}`, [
      JSON.stringify(entries),
    ]);
  }
  if (deltas.length) {
    await q.query(`UPDATE credit_grants AS g SET remaining = g.remaining + x.d FROM json_to_recordset($1::json) AS x(id text, d bigint) WHERE g.id = x.id`, [
      JSON.stringify(deltas),
    ]);
  }
  return ids;
}

export interface TransactionRow {
  id: string;
  type: TransactionType;
  customer: string | null;
  unit: string;
  idempotency_key: string;
  grant_id: string | null;
  description: string | null;
  test_clock: string | null;
  created: Date;
}

export interface EntryRow {
  transaction: string;
  account: string;
  account_type: AccountType;
  grant_id: string | null;
  amount: number;
}

export async function entriesOf(q: Queryable, txIds: readonly string[]): Promise<Map<string, EntryRow[]>> {
  const out = new Map<string, EntryRow[]>(txIds.map((id) => [id, []]));
  if (txIds.length === 0) return out;
  const { rows } = await q.query<EntryRow>(
    `SELECT e.transaction, e.account, a.type AS account_type, e.grant_id, e.amount
       FROM credit_entries e JOIN credit_accounts a ON a.id = e.account
      WHERE e.transaction = ANY($1::text[]) ORDER BY e.transaction, e.position`,
    [txIds],
  );
  for (const r of rows) out.get(r.transaction)?.push(r);
  return out;
}

export interface TransactionFilter {
  customer?: string;
  type?: TransactionType;
  grant?: string;
  /**
   * Half-open bounds on the stored instant, in Unix seconds (events' createdBounds): a transaction
   * shows `created` in whole seconds while its row keeps milliseconds, so `created[lte]=X` arrives
   * here as ['<', X + 1]. Seconds go to to_timestamp() (a Date for X + 1 past 9999-12-31 would not
   * serialize).
   */
  created?: ReadonlyArray<readonly ['>=' | '<', number]>;
}

function transactionWhere(f: TransactionFilter): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    conds.push(sql.replace('?', `$${params.length}`));
  };
  if (f.customer !== undefined) add('customer = ?', f.customer);
  if (f.type !== undefined) add('type = ?', f.type);
  if (f.grant !== undefined) add('id IN (SELECT transaction FROM credit_entries WHERE grant_id = ?)', f.grant);
  for (const [op, at] of f.created ?? []) add(`created ${op} to_timestamp(?)`, at);
  return { where: conds.join(' AND '), params };
}

export async function listTransactionRows(q: Queryable, f: TransactionFilter, list: ListParams) {
  // The created bounds go to paginate, which would otherwise apply the list's own `created` a second time.
  const { where, params } = transactionWhere({ ...f, created: undefined });
  return paginate<TransactionRow>(q, { table: 'credit_transactions', where: where || undefined, params, created: f.created ?? [] }, list);
}

/** Every matching transaction, oldest first, up to `max` (the CSV export). */
export async function allTransactionRows(q: Queryable, f: TransactionFilter, max: number): Promise<TransactionRow[]> {
  const { where, params } = transactionWhere(f);
  params.push(max);
  const { rows } = await q.query<TransactionRow>(
    `SELECT * FROM credit_transactions ${where ? `WHERE ${where}` : ''} ORDER BY id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

export async function findTransaction(q: Queryable, id: string): Promise<TransactionRow | null> {
  const { rows } = await q.query<TransactionRow>(`SELECT * FROM credit_transactions WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

// ---------- usage ----------

export interface UsageState {
  lots: { id: string; account: string; remaining: number; effective_at: string; expires_at: string | null }[];
  existing: StoredUsage[];
  prices: { feature: string; credits: number; effective_at: string }[];
}

/**
 * Everything a usage batch reads, in one round trip, after its wallets are locked (a new statement,
 * so under READ COMMITTED it sees every lot change committed before the locks were granted).
 */
export async function loadUsageState(q: Queryable, wallets: readonly string[], eventIds: readonly string[], features: readonly string[]): Promise<UsageState> {
  const { rows } = await q.query<{ lots: UsageState['lots'] | null; existing: (Omit<StoredUsage, 'timestamp' | 'created'> & { timestamp: string; created: string })[] | null; prices: UsageState['prices'] | null }>(
    `SELECT
       (SELECT json_agg(json_build_object('id', g.id, 'account', g.account, 'remaining', g.remaining, 'effective_at', g.effective_at, 'expires_at', g.expires_at))
          FROM credit_grants g WHERE g.account = ANY($1::text[]) AND g.expired_at IS NULL AND g.voided_at IS NULL AND g.remaining > 0) AS lots,
       (SELECT json_agg(json_build_object('id', u.id, 'customer', u.customer, 'feature', u.feature, 'quantity', u.quantity, 'timestamp', u."timestamp",
               'properties', u.properties, 'credits', u.credits, 'overage_credits', u.overage_credits, 'transaction', u.transaction, 'created', u.created))
          FROM usage_events u WHERE u.id = ANY($2::text[])) AS existing,
       (SELECT json_agg(json_build_object('feature', p.feature, 'credits', p.credits, 'effective_at', p.effective_at) ORDER BY p.feature, p.effective_at)
          FROM credit_feature_prices p WHERE p.feature = ANY($3::text[])) AS prices`,
    [wallets, eventIds, features],
  );
  const r = rows[0]!;
  return {
    lots: r.lots ?? [],
    existing: (r.existing ?? []).map((e) => ({ ...e, quantity: Number(e.quantity), credits: Number(e.credits), overage_credits: Number(e.overage_credits), timestamp: new Date(e.timestamp), created: new Date(e.created) })),
    prices: (r.prices ?? []).map((p) => ({ ...p, credits: Number(p.credits) })),
  };
}

/** Which of these usage event ids are recorded already. */
export async function existingUsageIds(q: Queryable, ids: readonly string[]): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM usage_events WHERE id = ANY($1::text[])`, [ids]);
  return rows.map((r) => r.id);
}

/** The daily roll-up rows of a batch, sorted by key so concurrent batches update rows in one order. */
function dailyRows(events: readonly StoredUsage[]) {
  const agg = new Map<string, { customer: string; feature: string; day: string; events: number; quantity: number; credits: number }>();
  const days = new Map<number, string>();
  for (const e of events) {
    const t = e.timestamp.getTime();
    let day = days.get(t);
    if (day === undefined) days.set(t, (day = e.timestamp.toISOString().slice(0, 10)));
    const key = `${e.customer}\u0000${e.feature}\u0000${day}`;
    let a = agg.get(key);
    if (!a) agg.set(key, (a = { customer: e.customer, feature: e.feature, day, events: 0, quantity: 0, credits: 0 }));
    a.events += 1;
    a.quantity += e.quantity;
    a.credits += e.credits;
  }
  return [...agg.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/**
 * Writes a planned usage batch in ONE statement (data-modifying CTEs, one per table): the events, the
 * usage transactions, their entries, the lots' balances and the daily roll-up. The tables do not read
 * each other within it (no foreign keys), and the entries' balance trigger runs at the end of the
 * statement. Plain INSERTs, no speculative insertion: an event id or transaction key taken meanwhile
 * by a concurrent batch (for another customer, so not ordered by the wallet locks) is a unique
 * violation that aborts this batch, which is then retried and sees the duplicate (isRetryable).
 * Timestamps travel as epoch milliseconds (exact integer arithmetic in SQL), `created` once.
 */
export async function writeUsageBatch(q: Queryable, events: readonly StoredUsage[], txs: readonly TransactionDraft[]): Promise<void> {
  if (events.length === 0) return;
  const { transactions, entries, deltas } = ledgerRows(txs);
  const rows = events.map((e) => ({
    id: e.id,
    customer: e.customer,
    feature: e.feature,
    quantity: e.quantity,
    ms: e.timestamp.getTime(),
    properties: e.properties,
    credits: e.credits,
    overage_credits: e.overage_credits,
    transaction: e.transaction,
  }));
  await q.query(
    `WITH ev AS (
       INSERT INTO usage_events (id, customer, feature, quantity, "timestamp", properties, credits, overage_credits, transaction, created)
       SELECT x.id, x.customer, x.feature, x.quantity, 'epoch'::timestamptz + x.ms * interval '1 millisecond', x.properties, x.credits, x.overage_credits, x.transaction, $2
         FROM json_to_recordset($1::json)
           AS x(id text, customer text, feature text, quantity bigint, ms bigint, properties jsonb, credits bigint, overage_credits bigint, transaction text)
     ), tx AS (
       INSERT INTO credit_transactions (id, type, customer, idempotency_key, grant_id, description, test_clock, created)
       SELECT * FROM json_to_recordset($3::json) AS ${TX_RECORD}
     ), en AS (
       INSERT INTO credit_entries (transaction, position, account, grant_id, amount) SELECT * FROM json_to_recordset($4::json) AS ${ENTRY_RECORD}
     ), lots AS (
       UPDATE credit_grants AS g SET remaining = g.remaining + x.d FROM json_to_recordset($5::json) AS x(id text, d bigint) WHERE g.id = x.id
     )
     INSERT INTO usage_daily (customer, feature, day, events, quantity, credits)
     SELECT * FROM json_to_recordset($6::json) AS x(customer text, feature text, day date, events bigint, quantity bigint, credits bigint)
     ON CONFLICT (customer, feature, day) DO UPDATE
       SET events = usage_daily.events + EXCLUDED.events, quantity = usage_daily.quantity + EXCLUDED.quantity, credits = usage_daily.credits + EXCLUDED.credits`,
    [JSON.stringify(rows), events[0]!.created, JSON.stringify(transactions), JSON.stringify(entries), JSON.stringify(deltas), JSON.stringify(dailyRows(events))],
  );
}

export interface OverageItem {
  id: string;
  customer: string;
  credits: number;
  unitAmount: number;
  currency: string;
  description: string;
  periodStart: Date;
  periodEnd: Date;
  transaction: string;
  testClock: string | null;
  created: Date;
}

/** Overage as pending invoice items: the customer's next invoice (a renewal or a manual one) bills them. */
export async function insertOverageItems(q: Queryable, items: readonly OverageItem[]): Promise<void> {
  if (items.length === 0) return;
  await q.query(
    `INSERT INTO invoice_items (id, customer, description, quantity, unit_amount, amount, currency, period_start, period_end, proration, discountable,
       metadata, test_clock, created)
     SELECT u.id, u.customer, u.description, u.quantity, u.unit_amount, u.quantity * u.unit_amount, u.currency, u.ps, u.pe, false, false,
       jsonb_build_object('credit_transaction', u.tx, 'credits', u.quantity::text), u.tc, $11
       FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
         AS u(id, customer, description, quantity, unit_amount, currency, ps, pe, tx, tc)`,
    [
      items.map((i) => i.id),
      items.map((i) => i.customer),
      items.map((i) => i.description),
      items.map((i) => i.credits),
      items.map((i) => i.unitAmount),
      items.map((i) => i.currency),
      items.map((i) => i.periodStart.toISOString()),
      items.map((i) => i.periodEnd.toISOString()),
      items.map((i) => i.transaction),
      items.map((i) => i.testClock),
      items[0]!.created,
    ],
  );
}

export interface UsageSummaryRow {
  customer: string | null;
  feature: string;
  day: string;
  events: number;
  quantity: number;
  credits: number;
}

export async function usageSummaryRows(q: Queryable, f: { customer?: string; feature?: string; from: string; to: string }): Promise<UsageSummaryRow[]> {
  const params: unknown[] = [f.from, f.to];
  const conds = ['day >= $1::date', 'day < $2::date'];
  if (f.customer) {
    params.push(f.customer);
    conds.push(`customer = $${params.length}`);
  }
  if (f.feature) {
    params.push(f.feature);
    conds.push(`feature = $${params.length}`);
  }
  const { rows } = await q.query<UsageSummaryRow>(
    `SELECT ${f.customer ? '$3::text' : 'NULL::text'} AS customer, feature, to_char(day, 'YYYY-MM-DD') AS day,
            sum(events)::bigint AS events, sum(quantity)::bigint AS quantity, sum(credits)::bigint AS credits
       FROM usage_daily WHERE ${conds.join(' AND ')} GROUP BY feature, day ORDER BY day, feature`,
    params,
  );
  return rows;
}

// ---------- features and plans ----------

export interface FeatureRow {
  key: string;
  name: string;
  unit_label: string | null;
  created: Date;
  updated: Date;
  prices: { credits: number; effective_at: string }[];
}

export async function featureRows(q: Queryable, keys?: readonly string[]): Promise<FeatureRow[]> {
  const { rows } = await q.query<FeatureRow>(
    `SELECT f.key, f.name, f.unit_label, f.created, f.updated,
            coalesce((SELECT json_agg(json_build_object('credits', p.credits, 'effective_at', p.effective_at) ORDER BY p.effective_at)
                        FROM credit_feature_prices p WHERE p.feature = f.key), '[]'::json) AS prices
       FROM credit_features f ${keys ? 'WHERE f.key = ANY($1::text[])' : ''} ORDER BY f.key`,
    keys ? [keys] : [],
  );
  return rows.map((r) => ({ ...r, prices: r.prices.map((p) => ({ ...p, credits: Number(p.credits) })) }));
}

export interface PlanRow {
  product: string;
  name: string;
  included_credits: string;
  carryover_periods: number | null;
  carryover_cap: number | null;
  has_policy: boolean;
}

/** Products that include credits, with their carryover policy (or none: expire at period end). */
export async function creditPlanRows(q: Queryable, product?: string): Promise<PlanRow[]> {
  const { rows } = await q.query<PlanRow>(
    `SELECT p.id AS product, p.name, p.metadata->>'included_credits' AS included_credits, c.carryover_periods, c.carryover_cap, c.product IS NOT NULL AS has_policy
       FROM products p LEFT JOIN credit_plan_policies c ON c.product = p.id
      WHERE p.deleted_at IS NULL AND p.metadata ? 'included_credits' ${product ? 'AND p.id = $1' : ''}
      ORDER BY p.id`,
    product ? [product] : [],
  );
  return rows;
}
