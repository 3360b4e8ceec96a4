import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { Feature } from './domain/features.js';
import type { Interval } from './domain/recurring.js';
import type { ListPricesFilter, ListProductsFilter } from './schemas.js';

export interface ProductRow {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  features: Feature[];
  metadata: Record<string, string>;
  unit_label: string | null;
  default_price: string | null;
  created: Date;
  updated: Date;
  deleted_at: Date | null;
}

/** Extra currencies only; the price's own currency and amount live in their columns. */
export type StoredCurrencyOptions = Record<string, { unit_amount: number }>;

export interface PriceRow {
  id: string;
  product: string;
  active: boolean;
  currency: string;
  unit_amount: number;
  type: 'recurring' | 'one_time';
  interval: Interval | null;
  interval_count: number | null;
  trial_period_days: number | null;
  tax_behavior: 'inclusive' | 'exclusive' | 'unspecified';
  currency_options: StoredCurrencyOptions;
  lookup_key: string | null;
  nickname: string | null;
  customer: string | null;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
}

type Lock = 'update' | 'share';
const lockClause = (lock?: Lock) => (lock === 'update' ? ' FOR UPDATE' : lock === 'share' ? ' FOR SHARE' : '');

const PRODUCT_COLUMNS = ['id', 'name', 'description', 'active', 'features', 'metadata', 'unit_label', 'default_price', 'created', 'updated'] as const;
const PRICE_COLUMNS = [
  'id', 'product', 'active', 'currency', 'unit_amount', 'type', 'interval', 'interval_count', 'trial_period_days', 'tax_behavior',
  'currency_options', 'lookup_key', 'nickname', 'customer', 'metadata', 'created', 'updated',
] as const;
const JSON_COLUMNS = new Set(['features', 'metadata', 'currency_options']);

// `interval` is an SQL keyword; quote every column name rather than remember which ones are.
const quote = (c: string) => `"${c}"`;

function toParam(col: string, v: unknown): unknown {
  return JSON_COLUMNS.has(col) && v !== null && v !== undefined ? JSON.stringify(v) : v;
}

async function insertRow<R>(q: Queryable, table: string, columns: readonly string[], row: Record<string, unknown>): Promise<R | null> {
  const { rows } = await q.query<R>(
    `INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT DO NOTHING RETURNING *`,
    columns.map((c) => toParam(c, row[c])),
  );
  return rows[0] ?? null;
}

async function updateRow<R>(q: Queryable, table: string, columns: readonly string[], id: string, patch: Record<string, unknown>): Promise<R> {
  const cols = Object.keys(patch).filter((c) => columns.includes(c) || c === 'deleted_at');
  const sets = cols.map((c, i) => `${quote(c)} = $${i + 2}`);
  const { rows } = await q.query<R>(`UPDATE ${table} SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [id, ...cols.map((c) => toParam(c, patch[c]))]);
  return rows[0]!;
}

/** PostgreSQL's unique_violation, as both drivers report it. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

// ---------- products ----------

/** null when a product with this id already exists (deleted ones included: ids are never reused). */
export function insertProduct(q: Queryable, row: Omit<ProductRow, 'deleted_at'>): Promise<ProductRow | null> {
  return insertRow<ProductRow>(q, 'products', PRODUCT_COLUMNS, row as unknown as Record<string, unknown>);
}

/** Includes soft-deleted rows. */
export async function findProduct(q: Queryable, id: string, opts: { lock?: Lock } = {}): Promise<ProductRow | null> {
  const { rows } = await q.query<ProductRow>(`SELECT * FROM products WHERE id = $1${lockClause(opts.lock)}`, [id]);
  return rows[0] ?? null;
}

export async function findProductsByIds(q: Queryable, ids: readonly string[]): Promise<ProductRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<ProductRow>('SELECT * FROM products WHERE id = ANY($1::text[])', [ids]);
  return rows;
}

export function updateProductRow(q: Queryable, id: string, patch: Partial<ProductRow>): Promise<ProductRow> {
  return updateRow<ProductRow>(q, 'products', PRODUCT_COLUMNS, id, patch);
}

export async function productHasPrices(q: Queryable, productId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM prices WHERE product = $1 LIMIT 1', [productId]);
  return rows.length > 0;
}

export function listProductRows(q: Queryable, filter: ListProductsFilter, list: ListParams) {
  const where = ['deleted_at IS NULL'];
  const params: unknown[] = [];
  if (filter.active !== undefined) {
    params.push(filter.active);
    where.push(`active = $${params.length}`);
  }
  if (filter.ids !== undefined) {
    params.push(filter.ids);
    where.push(`id = ANY($${params.length}::text[])`);
  }
  return paginate<ProductRow>(q, { table: 'products', where: where.join(' AND '), params }, list);
}

// ---------- prices ----------

/** null when the id or the lookup_key is already taken (a concurrent create won the race). */
export function insertPrice(q: Queryable, row: PriceRow): Promise<PriceRow | null> {
  return insertRow<PriceRow>(q, 'prices', PRICE_COLUMNS, row as unknown as Record<string, unknown>);
}

export async function findPrice(q: Queryable, id: string, opts: { lock?: Lock } = {}): Promise<PriceRow | null> {
  const { rows } = await q.query<PriceRow>(`SELECT * FROM prices WHERE id = $1${lockClause(opts.lock)}`, [id]);
  return rows[0] ?? null;
}

export async function findPricesByIds(q: Queryable, ids: readonly string[]): Promise<PriceRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<PriceRow>('SELECT * FROM prices WHERE id = ANY($1::text[])', [ids]);
  return rows;
}

export async function findPriceByLookupKey(q: Queryable, lookupKey: string, opts: { lock?: Lock } = {}): Promise<PriceRow | null> {
  const { rows } = await q.query<PriceRow>(`SELECT * FROM prices WHERE lookup_key = $1${lockClause(opts.lock)}`, [lookupKey]);
  return rows[0] ?? null;
}

export function updatePriceRow(q: Queryable, id: string, patch: Partial<PriceRow>): Promise<PriceRow> {
  return updateRow<PriceRow>(q, 'prices', PRICE_COLUMNS, id, patch);
}

export function listPriceRows(q: Queryable, filter: ListPricesFilter, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (cond: (p: string) => string, v: unknown) => {
    params.push(v);
    where.push(cond(`$${params.length}`));
  };
  if (filter.active !== undefined) add((p) => `active = ${p}`, filter.active);
  if (filter.product !== undefined) add((p) => `product = ${p}`, filter.product);
  if (filter.currency !== undefined) add((p) => `currency = ${p}`, filter.currency);
  if (filter.type !== undefined) add((p) => `type = ${p}`, filter.type);
  if (filter.customer !== undefined) add((p) => `customer = ${p}`, filter.customer);
  if (filter.lookup_keys !== undefined) add((p) => `lookup_key = ANY(${p}::text[])`, filter.lookup_keys);
  if (filter.interval !== undefined) add((p) => `"interval" = ${p}`, filter.interval);
  // Every price is licensed today: a filter for metered prices matches none.
  if (filter.usage_type === 'metered') where.push('false');
  return paginate<PriceRow>(q, { table: 'prices', where: where.join(' AND ') || undefined, params }, list);
}
