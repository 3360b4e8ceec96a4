import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { zCurrency, zExpand, zMetadata, zSignedAmount } from '../../http/schemas.js';
import { recordEvent } from '../events/service.js';
import { mergeMetadata } from '../customers/service.js';

// The customer balance as a ledger (Stripe's customer_balance_transaction): every change of
// customers.balance writes one transaction with the balance after it, so the balance always equals
// the sum of the customer's transactions. Negative = credit the customer holds (proration credits,
// credit notes, manual credits), positive = owed; finalisation applies it to the next invoices.

export type BalanceTxType =
  | 'adjustment'
  | 'applied_to_invoice'
  | 'credit_note'
  | 'initial'
  | 'invoice_overpaid'
  | 'invoice_too_small'
  | 'unapplied_from_invoice';

export interface BalanceTxRow {
  id: string;
  customer: string;
  amount: number;
  currency: string | null;
  type: BalanceTxType;
  description: string | null;
  invoice: string | null;
  credit_note: string | null;
  ending_balance: number;
  metadata: Record<string, string>;
  created: Date;
}

export function serializeBalanceTransaction(r: BalanceTxRow) {
  return {
    id: r.id,
    object: 'customer_balance_transaction' as const,
    amount: Number(r.amount),
    created: toUnix(new Date(r.created)),
    credit_note: r.credit_note,
    currency: r.currency,
    customer: r.customer,
    description: r.description,
    ending_balance: Number(r.ending_balance),
    invoice: r.invoice,
    livemode: false,
    metadata: r.metadata ?? {},
    type: r.type,
  };
}

export const createBalanceTransactionBody = z.strictObject({
  amount: zSignedAmount().refine((n) => n !== 0, 'must not be zero'),
  currency: zCurrency(),
  /** The reason, shown to the operator and in the customer's history. */
  description: z.string().min(1).max(350).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});

export const updateBalanceTransactionBody = z.strictObject({
  description: z.string().min(1).max(350).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});

export interface BalanceChange {
  customer: string;
  /** Signed minor units added to the balance (negative = credit to the customer). */
  amount: number;
  currency: string | null;
  type: BalanceTxType;
  description?: string | null;
  invoice?: string | null;
  creditNote?: string | null;
  metadata?: Record<string, string>;
}

async function insertTransaction(q: Queryable, now: Date, c: BalanceChange, ending: number): Promise<BalanceTxRow> {
  const { rows } = await q.query<BalanceTxRow>(
    `INSERT INTO customer_balance_transactions (id, customer, amount, currency, type, description, invoice, credit_note, ending_balance, metadata, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [newId('cbtxn'), c.customer, c.amount, c.currency, c.type, c.description ?? null, c.invoice ?? null, c.creditNote ?? null, ending, JSON.stringify(c.metadata ?? {}), now],
  );
  return rows[0]!;
}

/**
 * Moves a customer's balance by `amount` and records the transaction. The customer row is locked;
 * a currency other than the customer's is refused, and a customer without one takes this one.
 */
export async function changeBalance(q: Queryable, now: Date, c: BalanceChange, param = 'currency'): Promise<BalanceTxRow> {
  const { rows } = await q.query<{ id: string; balance: number; currency: string | null; deleted_at: Date | null }>(
    `SELECT id, balance, currency, deleted_at FROM customers WHERE id = $1 FOR UPDATE`,
    [c.customer],
  );
  const customer = rows[0];
  if (!customer || customer.deleted_at) throw new NotFoundError('customer', c.customer);
  if (c.currency && customer.currency && c.currency !== customer.currency) {
    throw new InvalidRequestError(`The customer's balance is in ${customer.currency}; this transaction is in ${c.currency}.`, param, 'currency_mismatch');
  }
  const ending = Number(customer.balance) + c.amount;
  await q.query(`UPDATE customers SET balance = $2, currency = COALESCE(currency, $3), updated = $4 WHERE id = $1`, [c.customer, ending, c.currency, now]);
  const tx = await insertTransaction(q, now, { ...c, currency: c.currency ?? customer.currency }, ending);
  await recordEvent(q, now, { type: 'customer_balance_transaction.created', object: serializeBalanceTransaction(tx), customerId: c.customer });
  return tx;
}

/**
 * For code that has already written customers.balance itself (customer create/update with
 * `balance`): records the transaction that explains the change.
 */
export async function recordBalanceSet(q: Queryable, now: Date, o: { customer: string; before: number; after: number; currency: string | null; initial: boolean }): Promise<void> {
  if (o.after === o.before) return;
  const tx = await insertTransaction(
    q,
    now,
    { customer: o.customer, amount: o.after - o.before, currency: o.currency, type: o.initial ? 'initial' : 'adjustment', description: o.initial ? 'Starting balance' : 'Balance set on the customer' },
    o.after,
  );
  await recordEvent(q, now, { type: 'customer_balance_transaction.created', object: serializeBalanceTransaction(tx), customerId: o.customer });
}

export async function getBalanceTransaction(q: Queryable, customer: string, id: string) {
  const { rows } = await q.query<BalanceTxRow>(`SELECT * FROM customer_balance_transactions WHERE id = $1 AND customer = $2`, [id, customer]);
  if (!rows[0]) throw new NotFoundError('customer_balance_transaction', id);
  return serializeBalanceTransaction(rows[0]);
}

/**
 * Stripe's update of a balance transaction: only its description and metadata (the amount is the
 * ledger's and never changes). As on Stripe, no event is written: nothing about the balance changed.
 */
export async function updateBalanceTransaction(q: Queryable, customer: string, id: string, input: z.output<typeof updateBalanceTransactionBody>) {
  const { rows } = await q.query<BalanceTxRow>(`SELECT * FROM customer_balance_transactions WHERE id = $1 AND customer = $2 FOR UPDATE`, [id, customer]);
  const row = rows[0];
  if (!row) throw new NotFoundError('customer_balance_transaction', id);
  const { rows: after } = await q.query<BalanceTxRow>(
    `UPDATE customer_balance_transactions SET description = $2, metadata = $3 WHERE id = $1 RETURNING *`,
    [id, input.description ?? row.description, JSON.stringify(mergeMetadata(row.metadata ?? {}, input.metadata))],
  );
  return serializeBalanceTransaction(after[0]!);
}

export async function listBalanceTransactions(q: Queryable, customer: string, list: ListParams) {
  const { rows, hasMore } = await paginate<BalanceTxRow>(q, { table: 'customer_balance_transactions', where: 'customer = $1', params: [customer] }, list);
  return { data: rows.map(serializeBalanceTransaction), hasMore };
}
