import type { Queryable } from '../../db/index.js';
import { bulkInsert, bulkUpdate, type Column } from '../../db/bulk.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { CustomerDetails, InvoiceTaxContext } from '../taxes/context.js';
import type { TaxAmount } from '../taxes/domain/types.js';

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
export type BillingReason = 'subscription_create' | 'subscription_cycle' | 'subscription_update' | 'subscription_threshold' | 'manual';
export type CollectionMethod = 'charge_automatically' | 'send_invoice';

export interface InvoiceRow {
  id: string;
  customer: string;
  subscription: string | null;
  status: InvoiceStatus;
  number: string | null;
  series: string | null;
  currency: string;
  collection_method: CollectionMethod;
  billing_reason: BillingReason;
  description: string | null;
  period_start: Date;
  period_end: Date;
  subtotal: number;
  total_discount: number;
  total_tax: number;
  total: number;
  starting_balance: number;
  ending_balance: number | null;
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  next_payment_attempt: Date | null;
  auto_advance: boolean;
  finalize_at: Date | null;
  due_date: Date | null;
  default_payment_method: string | null;
  discounts: { discount: string; amount: number }[];
  paid_out_of_band: boolean;
  status_transitions: { finalized_at?: number | null; paid_at?: number | null; voided_at?: number | null; marked_uncollectible_at?: number | null };
  test_clock: string | null;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
  /** Taxes, documents, credit notes, NET terms (modules/taxes, documents, credit-notes). */
  total_tax_amounts: TaxAmount[];
  tax_context: InvoiceTaxContext | null;
  customer_details: CustomerDetails | null;
  pre_payment_credit_notes_amount: number;
  post_payment_credit_notes_amount: number;
  hosted_invoice_url: string | null;
  overdue_at: Date | null;
  payment_reference: string | null;
  /** Stripe's custom_fields and footer (migration 0036): the customer's invoice_settings ones unless the invoice named its own. */
  custom_fields: InvoiceCustomField[] | null;
  footer: string | null;
  /** Stripe's last_finalization_error (migration 0038): set when the worker could not finalize the draft, cleared by a finalization. */
  last_finalization_error: { code: string; message: string; type: 'invalid_request_error' } | null;
  /** Stripe's shipping_details (migration 0040): the invoice's own "Ship to", else the customer's shipping is printed. */
  shipping_details: ShippingDetails | null;
  /** Stripe's effective_at set by hand (migration 0043); null: the finalization date. */
  effective_at: Date | null;
  /** The invoice's discounts were given for it (`discounts`, "" included; migration 0044), not inherited. */
  discounts_chosen: boolean;
}

/** Stripe's shipping details: a name, an address (every key present) and a phone. */
export interface ShippingDetails {
  name: string;
  phone: string | null;
  address: Record<string, string | null>;
}

export interface InvoiceCustomField {
  name: string;
  value: string;
}

export interface LineRow {
  id: string;
  invoice: string;
  type: 'subscription' | 'invoiceitem';
  subscription: string | null;
  subscription_item: string | null;
  invoice_item: string | null;
  price: string | null;
  description: string | null;
  quantity: number;
  unit_amount: number | null;
  amount: number;
  currency: string;
  period_start: Date;
  period_end: Date;
  proration: boolean;
  discountable: boolean;
  discount_amounts: { discount: string; amount: number }[];
  position: number;
  tax_amounts: TaxAmount[];
  /** The price's product: not a column (linesOf joins it; the builder copies it from the draft). */
  product?: string | null;
}

export const INVOICE_COLUMNS: Column[] = [
  { name: 'id', type: 'text' },
  { name: 'customer', type: 'text' },
  { name: 'subscription', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'number', type: 'text' },
  { name: 'series', type: 'text' },
  { name: 'currency', type: 'text' },
  { name: 'collection_method', type: 'text' },
  { name: 'billing_reason', type: 'text' },
  { name: 'description', type: 'text' },
  { name: 'period_start', type: 'timestamptz' },
  { name: 'period_end', type: 'timestamptz' },
  { name: 'subtotal', type: 'bigint' },
  { name: 'total_discount', type: 'bigint' },
  { name: 'total_tax', type: 'bigint' },
  { name: 'total', type: 'bigint' },
  { name: 'starting_balance', type: 'bigint' },
  { name: 'ending_balance', type: 'bigint' },
  { name: 'amount_due', type: 'bigint' },
  { name: 'amount_paid', type: 'bigint' },
  { name: 'amount_remaining', type: 'bigint' },
  { name: 'attempt_count', type: 'integer' },
  { name: 'next_payment_attempt', type: 'timestamptz' },
  { name: 'auto_advance', type: 'boolean' },
  { name: 'finalize_at', type: 'timestamptz' },
  { name: 'due_date', type: 'timestamptz' },
  { name: 'default_payment_method', type: 'text' },
  { name: 'discounts', type: 'jsonb' },
  { name: 'paid_out_of_band', type: 'boolean' },
  { name: 'status_transitions', type: 'jsonb' },
  { name: 'test_clock', type: 'text' },
  { name: 'metadata', type: 'jsonb' },
  { name: 'created', type: 'timestamptz' },
  { name: 'updated', type: 'timestamptz' },
  { name: 'total_tax_amounts', type: 'jsonb' },
  { name: 'tax_context', type: 'jsonb' },
  { name: 'customer_details', type: 'jsonb' },
  { name: 'pre_payment_credit_notes_amount', type: 'bigint' },
  { name: 'post_payment_credit_notes_amount', type: 'bigint' },
  { name: 'hosted_invoice_url', type: 'text' },
  { name: 'overdue_at', type: 'timestamptz' },
  { name: 'payment_reference', type: 'text' },
  { name: 'custom_fields', type: 'jsonb' },
  { name: 'footer', type: 'text' },
  { name: 'last_finalization_error', type: 'jsonb' },
  { name: 'shipping_details', type: 'jsonb' },
  { name: 'effective_at', type: 'timestamptz' },
  { name: 'discounts_chosen', type: 'boolean' },
];

export const LINE_COLUMNS: Column[] = [
  { name: 'id', type: 'text' },
  { name: 'invoice', type: 'text' },
  { name: 'type', type: 'text' },
  { name: 'subscription', type: 'text' },
  { name: 'subscription_item', type: 'text' },
  { name: 'invoice_item', type: 'text' },
  { name: 'price', type: 'text' },
  { name: 'description', type: 'text' },
  { name: 'quantity', type: 'integer' },
  { name: 'unit_amount', type: 'bigint' },
  { name: 'amount', type: 'bigint' },
  { name: 'currency', type: 'text' },
  { name: 'period_start', type: 'timestamptz' },
  { name: 'period_end', type: 'timestamptz' },
  { name: 'proration', type: 'boolean' },
  { name: 'discountable', type: 'boolean' },
  { name: 'discount_amounts', type: 'jsonb' },
  { name: 'position', type: 'integer' },
  { name: 'tax_amounts', type: 'jsonb' },
];

/**
 * Inserts invoices; those that would invoice an already-invoiced subscription period are skipped by
 * the unique index (ON CONFLICT DO NOTHING). Returns the ids actually inserted.
 */
export async function insertInvoices(q: Queryable, rows: InvoiceRow[]): Promise<Set<string>> {
  const inserted = await bulkInsert<{ id: string }>(q, 'invoices', INVOICE_COLUMNS, rows as unknown as Record<string, unknown>[], 'ON CONFLICT DO NOTHING RETURNING id');
  return new Set(inserted.map((r) => r.id));
}

export async function insertLines(q: Queryable, rows: LineRow[]): Promise<void> {
  await bulkInsert(q, 'invoice_lines', LINE_COLUMNS, rows as unknown as Record<string, unknown>[]);
}

export async function findInvoice(q: Queryable, id: string, forUpdate = false): Promise<InvoiceRow | null> {
  const { rows } = await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function linesOf(q: Queryable, invoiceIds: string[]): Promise<Map<string, LineRow[]>> {
  const out = new Map<string, LineRow[]>(invoiceIds.map((id) => [id, []]));
  if (invoiceIds.length === 0) return out;
  const { rows } = await q.query<LineRow>(
    `SELECT l.*, p.product FROM invoice_lines l LEFT JOIN prices p ON p.id = l.price WHERE l.invoice = ANY($1::text[]) ORDER BY l.invoice, l.position`,
    [invoiceIds],
  );
  for (const r of rows) out.get(r.invoice)!.push(r);
  return out;
}

const UPDATABLE = new Set(INVOICE_COLUMNS.map((c) => c.name).filter((c) => c !== 'id'));

export async function updateInvoiceRow(q: Queryable, id: string, patch: Partial<InvoiceRow>): Promise<InvoiceRow> {
  const cols = Object.keys(patch).filter((c) => UPDATABLE.has(c));
  const types = new Map(INVOICE_COLUMNS.map((c) => [c.name, c.type]));
  const values = cols.map((c) => {
    const v = (patch as Record<string, unknown>)[c];
    return types.get(c) === 'jsonb' && v !== null ? JSON.stringify(v) : v;
  });
  const { rows } = await q.query<InvoiceRow>(`UPDATE invoices SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [id, ...values]);
  return rows[0]!;
}

export async function updateInvoices(q: Queryable, columns: Column[], rows: Record<string, unknown>[]): Promise<void> {
  await bulkUpdate(q, 'invoices', columns, rows);
}

const ensureSeries = (q: Queryable, series: string) =>
  q.query(`INSERT INTO invoice_number_series (series, next_number) VALUES ($1, 1) ON CONFLICT (series) DO NOTHING`, [series]);

/** Reserves `count` consecutive numbers of a series. The row lock makes the sequence gapless. */
export async function reserveNumbers(q: Queryable, series: string, count: number): Promise<number> {
  await ensureSeries(q, series);
  const { rows } = await q.query<{ first: number }>(
    `UPDATE invoice_number_series SET next_number = next_number + $2 WHERE series = $1 RETURNING next_number - $2 AS first`,
    [series, count],
  );
  return rows[0]!.first;
}

/** The next number of each series (1 for a series that has none yet): one read. */
export async function nextNumbers(q: Queryable, series: readonly string[]): Promise<Map<string, number>> {
  const wanted = [...new Set(series)];
  if (wanted.length === 0) return new Map();
  const { rows } = await q.query<{ series: string; next_number: string }>(`SELECT series, next_number FROM invoice_number_series WHERE series = ANY($1::text[])`, [wanted]);
  const found = new Map(rows.map((r) => [r.series, Number(r.next_number)]));
  return new Map(wanted.map((s) => [s, found.get(s) ?? 1]));
}

/**
 * Makes a series start at `first`, while it has numbered no invoice (a later jump would leave a gap or
 * a clash). The counter row is locked first: a finalization of the series either committed its number
 * before (and this refuses) or waits. Returns false when the series is in use and not already there.
 */
export async function startSeriesAt(q: Queryable, series: string, first: number): Promise<{ ok: boolean; next: number }> {
  await ensureSeries(q, series);
  const { rows } = await q.query<{ next_number: string }>(`SELECT next_number FROM invoice_number_series WHERE series = $1 FOR UPDATE`, [series]);
  const next = Number(rows[0]!.next_number);
  if (next === first) return { ok: true, next };
  const used = await q.query(`SELECT 1 FROM invoices WHERE series = $1 AND number IS NOT NULL LIMIT 1`, [series]);
  if (used.rows.length > 0) return { ok: false, next };
  await q.query(`UPDATE invoice_number_series SET next_number = $2, first_number = $2 WHERE series = $1`, [series, first]);
  return { ok: true, next: first };
}

export async function listInvoiceRows(
  q: Queryable,
  f: { customer?: string; subscription?: string; status?: string; collection_method?: string; due_date?: Array<['>=' | '<', number]> },
  list: ListParams,
) {
  // `created` is the list's own (ListParams), applied by paginate.
  const { due_date, ...equals } = f;
  return paginate<InvoiceRow>(q, { table: 'invoices', equals, ranges: [['due_date', due_date ?? []]] }, list);
}
