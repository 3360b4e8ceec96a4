import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';

/** A tax id as a customer row keeps it: created in Unix seconds. */
export interface StoredTaxId {
  id: string;
  type: string;
  value: string;
  created: number;
}

export interface CustomerRow {
  id: string;
  email: string | null;
  name: string | null;
  description: string | null;
  phone: string | null;
  address: Record<string, string | null> | null;
  /** Stripe's shipping details, with every address key present (normalizeAddress). */
  shipping: { name: string; phone: string | null; address: Record<string, string | null> } | null;
  /** Stripe's customer.delinquent (delinquency.ts); written only there. */
  delinquent: boolean;
  /** Stripe's tax ids, each with its own id (customers/tax-ids.ts; migration 0045). */
  tax_ids: StoredTaxId[];
  preferred_locales: string[];
  currency: string | null;
  tax_exempt: 'none' | 'exempt' | 'reverse';
  /** Stripe's tax[ip_address]: kept and shown in the `tax` hash; no location is inferred from it. */
  tax_ip_address: string | null;
  invoice_settings: { default_payment_method?: string | null; custom_fields?: { name: string; value: string }[] | null; footer?: string | null };
  /** Stripe's invoice_prefix: the customer's own number series, or null for the account's. */
  invoice_prefix: string | null;
  balance: number;
  metadata: Record<string, string>;
  test_clock: string | null;
  /** The customer's own discount (customers/discount.ts), kept here so a customer without one costs no read. */
  discount: string | null;
  created: Date;
  updated: Date;
  deleted_at: Date | null;
}

const COLUMNS = [
  'id', 'email', 'name', 'description', 'phone', 'address', 'shipping', 'tax_ids', 'preferred_locales', 'currency', 'tax_exempt',
  'tax_ip_address', 'invoice_settings', 'invoice_prefix', 'balance', 'metadata', 'test_clock', 'created', 'updated',
] as const;
const JSON_COLUMNS = new Set(['address', 'shipping', 'tax_ids', 'preferred_locales', 'invoice_settings', 'metadata']);

function toParam(col: string, v: unknown): unknown {
  return JSON_COLUMNS.has(col) && v !== null && v !== undefined ? JSON.stringify(v) : v;
}

export async function insertCustomer(q: Queryable, row: Omit<CustomerRow, 'deleted_at' | 'discount' | 'delinquent'>): Promise<CustomerRow> {
  const values = COLUMNS.map((c) => toParam(c, row[c]));
  const { rows } = await q.query<CustomerRow>(
    `INSERT INTO customers (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    values,
  );
  return rows[0]!;
}

/** Includes soft-deleted rows: retrieving a deleted customer answers `deleted: true`, as Stripe does. */
export async function findCustomer(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<CustomerRow | null> {
  const { rows } = await q.query<CustomerRow>(`SELECT * FROM customers WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function updateCustomerRow(q: Queryable, id: string, patch: Partial<CustomerRow>): Promise<CustomerRow> {
  const cols = Object.keys(patch).filter((c) => (COLUMNS as readonly string[]).includes(c) || c === 'deleted_at' || c === 'discount');
  const sets = cols.map((c, i) => `${c} = $${i + 2}`);
  const { rows } = await q.query<CustomerRow>(
    `UPDATE customers SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
    [id, ...cols.map((c) => toParam(c, (patch as Record<string, unknown>)[c]))],
  );
  return rows[0]!;
}

export async function listCustomerRows(q: Queryable, filter: { email?: string; test_clock?: string }, list: ListParams) {
  const where = ['deleted_at IS NULL'];
  const params: unknown[] = [];
  if (filter.email !== undefined) {
    params.push(filter.email);
    where.push(`email = $${params.length}`);
  }
  if (filter.test_clock !== undefined) {
    params.push(filter.test_clock);
    where.push(`test_clock = $${params.length}`);
  }
  return paginate<CustomerRow>(q, { table: 'customers', where: where.join(' AND '), params }, list);
}
