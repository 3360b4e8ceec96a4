import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { listQuery, zCreatedFilter, zBool, zExpand, zInt, zMetadata, zSignedAmount, zTimestamp } from '../../http/schemas.js';
import { createInlinePrice } from '../catalog/inline-prices.js';
import { getPriceRow } from '../catalog/service.js';
import { getCustomerRow, mergeMetadata } from '../customers/service.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import { unitAmountIn } from '../subscriptions/billing.js';
import type { PendingItemRow } from '../subscriptions/billing.js';
import { MAX_INVOICE_AMOUNT } from './domain/totals.js';
import { invoiceItemFields } from './schemas.js';
import { rebuildDraft } from './service.js';

// Invoice items: one-off charges (a course, a setup fee, a credit) waiting for the next invoice of
// the customer, or added to a draft invoice directly.

export const createInvoiceItemBody = z.strictObject({
  customer: z.string().min(1),
  ...invoiceItemFields,
  /** The current Stripe API (and SDK) spell the price as pricing[price]. */
  pricing: z.strictObject({ price: z.string().min(1) }).optional(),
  subscription: z.string().min(1).optional(),
  invoice: z.string().min(1).optional(),
  expand: zExpand(),
});
export type CreateInvoiceItemInput = z.output<typeof createInvoiceItemBody>;

/** POST /v1/invoiceitems/{id}: what Stripe lets change before the item's invoice is finalized. */
export const updateInvoiceItemBody = z.strictObject({
  amount: zSignedAmount().optional(),
  unit_amount: zSignedAmount().optional(),
  quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional(),
  description: z.string().max(500).optional(),
  discountable: zBool().optional(),
  period: z.strictObject({ start: zTimestamp(), end: zTimestamp() }).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdateInvoiceItemInput = z.output<typeof updateInvoiceItemBody>;

export const listInvoiceItemsQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  customer: z.string().optional(),
  invoice: z.string().optional(),
  pending: zBool().optional(),
});

export interface InvoiceItemRow extends PendingItemRow {
  invoice: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  created: Date;
  deleted_at: Date | null;
}

/**
 * `product`: the product of the item's price (for Stripe's current `pricing.price_details`; null without
 * a price). invoiceItemObjects reads it for a batch.
 */
export function serializeInvoiceItem(r: InvoiceItemRow, product: string | null) {
  return {
    id: r.id,
    object: 'invoiceitem' as const,
    amount: r.amount,
    currency: r.currency,
    customer: r.customer,
    date: toUnix(new Date(r.created)),
    description: r.description,
    discountable: r.discountable,
    invoice: r.invoice,
    livemode: false,
    metadata: r.metadata,
    // Stripe's current shape: what made the item (a subscription's), and its price by id.
    parent: r.subscription ? { type: 'subscription_details' as const, subscription_details: { subscription: r.subscription } } : null,
    period: { start: toUnix(new Date(r.period_start)), end: toUnix(new Date(r.period_end)) },
    price: r.price,
    pricing: r.price
      ? { type: 'price_details' as const, price_details: { price: r.price, product }, unit_amount_decimal: r.unit_amount === null ? null : String(r.unit_amount) }
      : null,
    proration: r.proration,
    quantity: r.quantity,
    subscription: r.subscription,
    test_clock: r.test_clock,
    unit_amount: r.unit_amount,
  };
}

export async function createInvoiceItem(q: Queryable, now: Date, input: CreateInvoiceItemInput) {
  // As Stripe, a period cannot end before it starts; checked before anything is read or written.
  if (input.period && input.period.end < input.period.start) {
    throw new InvalidRequestError('The period end must be on or after the period start.', 'period[end]', 'parameter_invalid');
  }
  const customer = await getCustomerRow(q, input.customer, { param: 'customer' });
  const quantity = input.quantity ?? 1;
  let currency = input.currency ?? customer.currency ?? null;
  let unitAmount: number;
  if (input.price !== undefined && input.pricing !== undefined) throw new InvalidRequestError('Pass price or pricing[price], not both.', 'pricing', 'parameter_invalid');
  if (input.price_data && [input.price, input.pricing, input.amount, input.unit_amount].some((v) => v !== undefined)) {
    throw new InvalidRequestError('Pass price_data alone: not with price, pricing, amount or unit_amount.', 'price_data', 'parameter_invalid');
  }
  const priceId = input.price ?? input.pricing?.price ?? (input.price_data ? await createInlinePrice(q, now, input.price_data, 'price_data') : undefined);
  const priceParam = input.pricing ? 'pricing[price]' : input.price_data ? 'price_data' : 'price';
  if (priceId) {
    const price = await getPriceRow(q, priceId, { param: priceParam });
    currency = currency ?? price.currency;
    const amount = unitAmountIn(price, currency);
    if (amount === null) throw new InvalidRequestError(`The price ${price.id} has no ${currency} amount.`, priceParam, 'currency_mismatch');
    unitAmount = amount;
  } else if (input.unit_amount !== undefined || input.amount !== undefined) {
    if (!currency) throw new InvalidRequestError('currency is required with amount or unit_amount.', 'currency', 'parameter_missing');
    unitAmount = input.unit_amount ?? input.amount!;
    if (input.amount !== undefined && input.unit_amount === undefined && quantity !== 1) {
      throw new InvalidRequestError('Use unit_amount with quantity; amount is the total of a single item.', 'amount', 'parameter_invalid');
    }
  } else {
    throw new InvalidRequestError('Provide a price, or an amount and currency.', 'price', 'parameter_missing');
  }
  if (customer.currency && currency !== customer.currency) {
    throw new InvalidRequestError(`The customer is billed in ${customer.currency}; this item is in ${currency}.`, 'currency', 'currency_mismatch');
  }
  // unit_amount × quantity must fit an invoice (each factor alone is bounded by the schema).
  if (Math.abs(unitAmount) * quantity > MAX_INVOICE_AMOUNT) {
    throw new InvalidRequestError(
      `The item's amount (unit_amount ${unitAmount} × quantity ${quantity}) exceeds the maximum of ${MAX_INVOICE_AMOUNT} minor units; use a lower quantity.`,
      'quantity',
      'amount_too_large',
    );
  }
  if (input.subscription) {
    const { rows } = await q.query<{ customer: string }>(`SELECT customer FROM subscriptions WHERE id = $1`, [input.subscription]);
    if (rows[0]?.customer !== customer.id) throw new NotFoundError('subscription', input.subscription, 'subscription');
  }
  if (input.invoice) {
    const { rows } = await q.query<{ status: string; customer: string; currency: string }>(`SELECT status, customer, currency FROM invoices WHERE id = $1`, [input.invoice]);
    if (!rows[0] || rows[0].customer !== customer.id) throw new NotFoundError('invoice', input.invoice, 'invoice');
    if (rows[0].status !== 'draft') throw new InvalidRequestError('Items can only be added to a draft invoice.', 'invoice', 'invoice_not_editable');
    if (rows[0].currency !== currency) throw new InvalidRequestError(`The invoice is in ${rows[0].currency}; this item is in ${currency}.`, 'currency', 'currency_mismatch');
  }
  const start = input.period ? new Date(input.period.start * 1000) : now;
  const end = input.period ? new Date(input.period.end * 1000) : now;
  const { rows } = await q.query<InvoiceItemRow>(
    `INSERT INTO invoice_items (id, customer, subscription, invoice, price, description, quantity, unit_amount, amount, currency,
       period_start, period_end, proration, discountable, metadata, test_clock, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, false, $13, $14, $15, $16) RETURNING *`,
    [
      newId('ii'),
      customer.id,
      input.subscription ?? null,
      input.invoice ?? null,
      priceId ?? null,
      input.description ?? null,
      quantity,
      unitAmount,
      unitAmount * quantity,
      currency,
      start,
      end,
      // Stripe: discountable "defaults to false for prorations or negative invoice items".
      input.discountable ?? unitAmount * quantity >= 0,
      JSON.stringify(mergeMetadata({}, input.metadata)),
      customer.test_clock,
      now,
    ],
  );
  const obj = await invoiceItemObject(q, rows[0]!);
  if (input.invoice) await refreshDraftTotals(q, input.invoice, now, 'invoice');
  await recordEvent(q, now, { type: 'invoiceitem.created', object: obj, customerId: customer.id });
  return obj;
}

/** An item put on a draft directly: the draft's lines and totals are rebuilt from its items. */
export async function refreshDraftTotals(q: Queryable, invoiceId: string, now: Date, param: string): Promise<void> {
  await rebuildDraft(q, invoiceId, now, { param });
}

/**
 * Updates an item while it is pending or on a draft (whose lines and totals are rebuilt); on a
 * finalized invoice it is refused (invoice_not_editable). amount, unit_amount and quantity follow the
 * create rules: amount is the total of a single item; unit_amount × quantity otherwise.
 */
export async function updateInvoiceItem(q: Queryable, now: Date, id: string, input: UpdateInvoiceItemInput) {
  if (input.period && input.period.end < input.period.start) {
    throw new InvalidRequestError('The period end must be on or after the period start.', 'period[end]', 'parameter_invalid');
  }
  const row = await getInvoiceItemRow(q, id, { forUpdate: true });
  if (row.invoice) {
    const { rows } = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1 FOR UPDATE`, [row.invoice]);
    if (rows[0]?.status !== 'draft') throw new InvalidRequestError('This item is on a finalized invoice and cannot be changed.', 'id', 'invoice_not_editable');
  }
  if (input.amount !== undefined && input.unit_amount !== undefined) throw new InvalidRequestError('Pass amount or unit_amount, not both.', 'amount', 'parameter_invalid');
  if (row.price && (input.amount !== undefined || input.unit_amount !== undefined)) {
    throw new InvalidRequestError("This item's amount comes from its price; change the quantity, or delete it and create another.", input.amount !== undefined ? 'amount' : 'unit_amount', 'parameter_invalid');
  }
  const money = (['amount', 'unit_amount', 'quantity'] as const).find((k) => input[k] !== undefined);
  // A proration's amount is the subscription change's (its unit_amount is the price's, not amount ÷
  // quantity, and its discount is fixed on it): only what describes it can change.
  if (row.proration && money) {
    throw new InvalidRequestError("A proration's amount comes from the subscription change; only its description, period and metadata can change.", money, 'parameter_invalid');
  }
  const quantity = input.quantity ?? row.quantity;
  if (input.amount !== undefined && quantity !== 1) throw new InvalidRequestError('Use unit_amount with quantity; amount is the total of a single item.', 'amount', 'parameter_invalid');
  const unitAmount = input.unit_amount ?? input.amount ?? Number(row.unit_amount);
  // Nothing about the money asked: the amount stays as it is (a proration's is not unit_amount × quantity).
  const amount = money ? unitAmount * quantity : Number(row.amount);
  if (Math.abs(unitAmount) * quantity > MAX_INVOICE_AMOUNT) {
    throw new InvalidRequestError(`The item's amount (unit_amount ${unitAmount} × quantity ${quantity}) exceeds the maximum of ${MAX_INVOICE_AMOUNT} minor units.`, 'quantity', 'amount_too_large');
  }
  const { rows } = await q.query<InvoiceItemRow>(
    `UPDATE invoice_items SET quantity = $2, unit_amount = $3, amount = $4, description = $5, discountable = $6, period_start = $7, period_end = $8, metadata = $9
      WHERE id = $1 RETURNING *`,
    [
      id,
      quantity,
      unitAmount,
      amount,
      input.description !== undefined ? input.description || null : row.description,
      input.discountable ?? row.discountable,
      input.period ? new Date(input.period.start * 1000) : row.period_start,
      input.period ? new Date(input.period.end * 1000) : row.period_end,
      JSON.stringify(mergeMetadata(row.metadata ?? {}, input.metadata)),
    ],
  );
  const [before, obj] = (await invoiceItemObjects(q, [row, rows[0]!])) as [InvoiceItemObject, InvoiceItemObject];
  if (row.invoice) await refreshDraftTotals(q, row.invoice, now, 'id');
  const previous = previousAttributes(before, obj);
  if (Object.keys(previous).length) await recordEvent(q, now, { type: 'invoiceitem.updated', object: obj, previousAttributes: previous, customerId: row.customer });
  return obj;
}

/** Invoice items as the API shows them: one read of their prices' products. */
export async function invoiceItemObjects(q: Queryable, rows: readonly InvoiceItemRow[]) {
  const prices = [...new Set(rows.map((r) => r.price).filter((p): p is string => p !== null))];
  const { rows: products } = prices.length ? await q.query<{ id: string; product: string }>(`SELECT id, product FROM prices WHERE id = ANY($1::text[])`, [prices]) : { rows: [] };
  const productOf = new Map(products.map((p) => [p.id, p.product]));
  return rows.map((r) => serializeInvoiceItem(r, r.price ? (productOf.get(r.price) ?? null) : null));
}

export type InvoiceItemObject = ReturnType<typeof serializeInvoiceItem>;

export async function invoiceItemObject(q: Queryable, row: InvoiceItemRow): Promise<InvoiceItemObject> {
  return (await invoiceItemObjects(q, [row]))[0]!;
}

export async function getInvoiceItemRow(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<InvoiceItemRow> {
  const { rows } = await q.query<InvoiceItemRow>(`SELECT * FROM invoice_items WHERE id = $1 AND deleted_at IS NULL${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  if (!rows[0]) throw new NotFoundError('invoiceitem', id);
  return rows[0];
}

/**
 * Deletes once: the row is locked, so concurrent deletes wait and then find it deleted (PostgreSQL
 * re-checks `deleted_at IS NULL` on the row a waiter locks) and answer 404 with no second event.
 */
export async function deleteInvoiceItem(q: Queryable, now: Date, id: string) {
  const row = await getInvoiceItemRow(q, id, { forUpdate: true });
  if (row.invoice) {
    const { rows } = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [row.invoice]);
    if (rows[0]?.status !== 'draft') throw new InvalidRequestError('This item is on a finalized invoice and cannot be deleted.', 'id', 'invoice_not_editable');
  }
  const deleted = await q.query(`UPDATE invoice_items SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`, [id, now]);
  if (deleted.rowCount !== 1) throw new NotFoundError('invoiceitem', id);
  if (row.invoice) await refreshDraftTotals(q, row.invoice, now, 'id');
  await recordEvent(q, now, { type: 'invoiceitem.deleted', object: await invoiceItemObject(q, row), customerId: row.customer });
  return { id, object: 'invoiceitem' as const, deleted: true as const };
}

export async function listInvoiceItems(q: Queryable, f: { customer?: string; invoice?: string; pending?: boolean }, list: ListParams) {
  const where = ['deleted_at IS NULL'];
  const params: unknown[] = [];
  if (f.customer) {
    params.push(f.customer);
    where.push(`customer = $${params.length}`);
  }
  if (f.invoice) {
    params.push(f.invoice);
    where.push(`invoice = $${params.length}`);
  }
  if (f.pending !== undefined) where.push(f.pending ? 'invoice IS NULL' : 'invoice IS NOT NULL');
  const { rows, hasMore } = await paginate<InvoiceItemRow>(q, { table: 'invoice_items', where: where.join(' AND '), params }, list);
  return { data: await invoiceItemObjects(q, rows), hasMore };
}
