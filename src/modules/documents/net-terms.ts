import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { fromUnix, toUnix } from '../../core/time/index.js';
import { claimRows, type Queryable } from '../../db/index.js';
import { heldFilter } from '../../jobs/holds.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { zAmount, zCurrency, zExpand, zMetadata, zTimestamp } from '../../http/schemas.js';
import { changeBalance } from '../credit-notes/balance.js';
import { setDelinquent } from '../customers/delinquency.js';
import { recordEvent, recordEvents } from '../events/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { updateInvoiceRow } from '../invoices/repository.js';
import { invoiceObject, settleInvoice } from '../invoices/service.js';
import { findSubscription } from '../subscriptions/repository.js';
import { transition } from '../subscriptions/state.js';

// NET terms (collection_method send_invoice): the invoice opens with a due date; unpaid at the due
// date it becomes overdue (`invoice.overdue`, its subscription past_due). It is paid by card on the
// hosted page, out of band (POST /v1/invoices/{id}/pay with paid_out_of_band and a reference), or by
// bank transfer: transfers are recorded against the reference the customer wrote — the invoice
// number — and a partial transfer leaves the rest open.

export interface OverdueScope {
  clock: string | null;
}

/**
 * Worker job (runs in the billing pass, and at each step of a test clock): open invoices past their
 * due date get `invoice.overdue` once, and an active subscription they belong to becomes past_due.
 */
export async function markOverdueInvoices(q: Queryable, scope: OverdueScope, now: Date, limit: number, job = 'billing.overdue'): Promise<number> {
  // On real time, rows the worker held after they failed alone are skipped (src/jobs/holds.ts).
  const clockCond = scope.clock === null ? `test_clock IS NULL AND ${heldFilter(job, 'invoices.id', '$1')}` : 'test_clock = $2';
  const { rows } = await claimRows<InvoiceRow>(q, `SELECT * FROM invoices WHERE status = 'open' AND due_date IS NOT NULL AND overdue_at IS NULL AND due_date <= $1 AND ${clockCond} ORDER BY due_date, id`, scope.clock === null ? [now] : [now, scope.clock], limit);
  for (const inv of rows) {
    const row = await updateInvoiceRow(q, inv.id, { overdue_at: now, updated: now });
    await recordEvents(q, now, [{ type: 'invoice.overdue', object: await invoiceObject(q, row), customerId: row.customer }]);
    await setDelinquent(q, [row.customer], true, now);
    if (row.subscription) {
      const sub = await findSubscription(q, row.subscription, true);
      if (sub?.status === 'active') await transition(q, sub, { status: 'past_due' }, now);
    }
  }
  return rows.length;
}

// ---- bank transfers ----

export const bankTransferBody = z.strictObject({
  /** What the customer wrote as the payment reference: it must contain the invoice number. */
  reference: z.string().min(1).max(500),
  amount: zAmount().refine((n) => n > 0, 'must be positive'),
  currency: zCurrency(),
  /** The bank's own id of the transfer; a second transfer with the same one is the same transfer. */
  bank_reference: z.string().min(1).max(200).optional(),
  received_at: zTimestamp().optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type BankTransferInput = z.output<typeof bankTransferBody>;

interface BankTransferRow {
  id: string;
  invoice: string;
  customer: string;
  amount: number;
  applied_amount: number;
  currency: string;
  reference: string;
  bank_reference: string | null;
  received_at: Date;
  metadata: Record<string, string>;
  created: Date;
}

export function serializeBankTransfer(r: BankTransferRow) {
  return {
    id: r.id,
    object: 'bank_transfer' as const,
    amount: Number(r.amount),
    applied_amount: Number(r.applied_amount),
    // An overpayment goes to the customer's balance, to be used on their next invoices.
    credited_to_balance: Number(r.amount) - Number(r.applied_amount),
    bank_reference: r.bank_reference,
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    customer: r.customer,
    invoice: r.invoice,
    livemode: false,
    metadata: r.metadata,
    received_at: toUnix(new Date(r.received_at)),
    reference: r.reference,
  };
}

/** The invoice numbers a free-text reference may carry ("Invoice RECUR-0042, ACME Ltd" → RECUR-0042). */
export function invoiceNumbersIn(reference: string): string[] {
  const upper = reference.toUpperCase();
  const found = upper.match(/[A-Z0-9]{3,12}-\d{4,}/g) ?? [];
  return [...new Set([upper.trim(), ...found])];
}

/** Finds the invoice a transfer pays; `now` is resolved by the caller (the invoice's clock). */
export async function invoiceForReference(q: Queryable, reference: string): Promise<InvoiceRow> {
  const { rows } = await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE number = ANY($1::text[]) ORDER BY id`, [invoiceNumbersIn(reference)]);
  if (rows.length === 0) throw new InvalidRequestError(`No invoice number found in the reference '${reference}'.`, 'reference', 'invoice_not_found');
  if (rows.length > 1) throw new InvalidRequestError(`The reference '${reference}' names more than one invoice; record one transfer per invoice.`, 'reference', 'reference_ambiguous');
  return rows[0]!;
}

export async function recordBankTransfer(q: Queryable, now: Date, input: BankTransferInput): Promise<ReturnType<typeof serializeBankTransfer>> {
  if (input.bank_reference) {
    const { rows } = await q.query<BankTransferRow>(`SELECT * FROM bank_transfers WHERE bank_reference = $1`, [input.bank_reference]);
    if (rows[0]) return serializeBankTransfer(rows[0]);
  }
  const found = await invoiceForReference(q, input.reference);
  const inv = (await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE id = $1 FOR UPDATE`, [found.id])).rows[0]!;
  if (inv.status === 'draft' || inv.status === 'void') {
    throw new InvalidRequestError(`Invoice ${inv.number} is ${inv.status}; a transfer cannot pay it.`, 'reference', 'invoice_not_open');
  }
  if (inv.currency !== input.currency) {
    throw new InvalidRequestError(`Invoice ${inv.number} is in ${inv.currency}; this transfer is in ${input.currency}.`, 'currency', 'currency_mismatch');
  }
  const payable = inv.status === 'open' || inv.status === 'uncollectible' ? Number(inv.amount_remaining) : 0;
  const applied = Math.min(input.amount, payable);
  if (applied > 0 && applied === payable) {
    await settleInvoice(q, inv, now);
  } else if (applied > 0) {
    const row = await updateInvoiceRow(q, inv.id, { amount_paid: Number(inv.amount_paid) + applied, amount_remaining: payable - applied, updated: now });
    await recordEvent(q, now, {
      type: 'invoice.updated',
      object: await invoiceObject(q, row),
      previousAttributes: { amount_paid: Number(inv.amount_paid), amount_remaining: payable },
      customerId: row.customer,
    });
  }
  const id = newId('btr');
  const excess = input.amount - applied;
  if (excess > 0) {
    await changeBalance(q, now, { customer: inv.customer, amount: -excess, currency: inv.currency, type: 'invoice_overpaid', description: `Bank transfer ${id} paid more than invoice ${inv.number} asked`, invoice: inv.id });
  }
  const { rows } = await q.query<BankTransferRow>(
    `INSERT INTO bank_transfers (id, invoice, customer, amount, applied_amount, currency, reference, bank_reference, received_at, metadata, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [id, inv.id, inv.customer, input.amount, applied, input.currency, input.reference, input.bank_reference ?? null, input.received_at !== undefined ? fromUnix(input.received_at) : now, JSON.stringify(input.metadata ?? {}), now],
  );
  const obj = serializeBankTransfer(rows[0]!);
  await recordEvent(q, now, { type: 'bank_transfer.received', object: obj, customerId: inv.customer });
  return obj;
}

export async function getBankTransfer(q: Queryable, id: string) {
  const { rows } = await q.query<BankTransferRow>(`SELECT * FROM bank_transfers WHERE id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError('bank_transfer', id);
  return serializeBankTransfer(rows[0]);
}

export async function listBankTransfers(q: Queryable, f: { invoice?: string; customer?: string }, list: ListParams) {
  const { rows, hasMore } = await paginate<BankTransferRow>(q, { table: 'bank_transfers', equals: f }, list);
  return { data: rows.map(serializeBankTransfer), hasMore };
}
