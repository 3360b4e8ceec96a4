import { z } from 'zod';
import { AppError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { listQuery, zAmount, zCreatedFilter, zExpand, zInt, zMetadata } from '../../http/schemas.js';
import { mergeMetadata } from '../customers/service.js';
import { recordEvent } from '../events/service.js';
import { findInvoice, linesOf, reserveNumbers, updateInvoiceRow, type InvoiceRow } from '../invoices/repository.js';
import { inclusiveTaxBeforeDiscounts } from '../invoices/serialize.js';
import { DEFAULT_SERIES, invoiceObject, settleInvoice } from '../invoices/service.js';
import { createRefund, linkRefundToCreditNote } from '../payments/refunds.js';
import type { PaymentDeps } from '../payments/service.js';
import { stripeTaxes, type TaxAmount } from '../taxes/domain/types.js';
import { effectiveNow } from '../subscriptions/service.js';
import { changeBalance } from './balance.js';
import { CreditError, creditAmount, creditLines, creditTotals, withZeroLines, type CreditableLine, type CreditLine } from './domain/amounts.js';

// Credit notes (Stripe's): they correct a finalised invoice without touching it or its number. On an
// open invoice a credit note lowers what is due (pre-payment); on a paid one it is settled
// (post-payment) by a refund through the payment that paid the invoice, a credit to the customer's
// balance (used by their next invoices), or out of band — refund + credit + out of band = total.
// Credit notes have their own gapless number series (RECUR-CN-0001, …), kept even when voided.

export const CREDIT_NOTE_SERIES = `${DEFAULT_SERIES}-CN`;
export const CREDIT_NOTE_REASONS = ['duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory'] as const;

const zLine = z.strictObject({
  type: z.literal('invoice_line_item').optional(),
  invoice_line_item: z.string().min(1),
  amount: zAmount().optional(),
  quantity: zInt().pipe(z.number().int().min(1)).optional(),
});

const creditNoteFields = {
  invoice: z.string().min(1),
  /** Lines to credit: whole, by quantity, or an amount of each (before discount and tax). */
  lines: z.array(zLine).max(100).optional(),
  /** Or: an amount, tax included, spread over the invoice's lines. */
  amount: zAmount().optional(),
  reason: z.enum(CREDIT_NOTE_REASONS).optional(),
  memo: z.string().max(1000).optional(),
  refund_amount: zAmount().optional(),
  credit_amount: zAmount().optional(),
  out_of_band_amount: zAmount().optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
};
export const createCreditNoteBody = z.strictObject(creditNoteFields);
export const previewCreditNoteQuery = z.strictObject(creditNoteFields);
export type CreditNoteInput = z.output<typeof createCreditNoteBody>;

export const listCreditNotesQuery = z.strictObject({ ...listQuery, created: zCreatedFilter.optional(), invoice: z.string().optional(), customer: z.string().optional() });

export interface CreditNoteRow {
  id: string;
  number: string;
  invoice: string;
  customer: string;
  currency: string;
  status: 'issued' | 'void';
  type: 'pre_payment' | 'post_payment';
  reason: (typeof CREDIT_NOTE_REASONS)[number] | null;
  memo: string | null;
  subtotal: number;
  discount_amount: number;
  total_tax: number;
  total: number;
  tax_amounts: TaxAmount[];
  refund_amount: number;
  credit_amount: number;
  out_of_band_amount: number;
  refund: string | null;
  customer_balance_transaction: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  effective_at: Date;
  voided_at: Date | null;
  created: Date;
}

export interface CreditNoteLineRow extends Omit<CreditLine, 'amount_excluding_tax'> {
  /** NULL on lines written before migration 0032: computed from the line alone then. */
  amount_excluding_tax: number | null;
  id: string;
  credit_note: string;
  type: 'invoice_line_item' | 'custom_line_item';
  position: number;
}

const ts = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

/**
 * The inclusive tax inside credited lines' amounts BEFORE their discounts, for amount_excluding_tax
 * and subtotal_excluding_tax (Stripe: "excluding all tax and invoice level discounts"): the invoice's
 * own primitive (subtotal_excluding_tax of the invoice), so crediting a whole line gives the invoice's
 * figure — not the line's amount less the tax of its discounted amount.
 */
function inclusiveTaxOf(lines: readonly Pick<CreditLine, 'amount' | 'discount_amount' | 'tax_amounts'>[]): number {
  return inclusiveTaxBeforeDiscounts(
    lines.map((l) => ({ amount: Number(l.amount), discount_amounts: [{ discount: '', amount: Number(l.discount_amount) }], tax_amounts: l.tax_amounts ?? [] })),
  );
}

/** The line's amount_excluding_tax: stored since migration 0032 (a share of what was left, see domain/amounts.ts). */
function amountExcludingTax(l: Pick<CreditNoteLineRow, 'amount' | 'discount_amount' | 'tax_amounts' | 'amount_excluding_tax'>): number {
  return l.amount_excluding_tax === null ? Number(l.amount) - inclusiveTaxOf([l]) : Number(l.amount_excluding_tax);
}

function serializeLine(l: Omit<CreditNoteLineRow, 'total'> & { total?: number }) {
  const exclusive = l.tax_amounts.filter((t) => !t.inclusive).reduce((s, t) => s + t.amount, 0);
  return {
    id: l.id,
    object: 'credit_note_line_item' as const,
    amount: Number(l.amount),
    amount_excluding_tax: amountExcludingTax(l),
    description: l.description,
    discount_amount: Number(l.discount_amount),
    invoice_line_item: l.invoice_line,
    livemode: false,
    quantity: l.quantity,
    tax_amounts: l.tax_amounts,
    taxes: stripeTaxes(l.tax_amounts),
    total: Number(l.amount) - Number(l.discount_amount) + exclusive,
    type: l.type,
    unit_amount: l.unit_amount === null ? null : Number(l.unit_amount),
  };
}

export function serializeCreditNote(r: CreditNoteRow, lines: CreditNoteLineRow[]) {
  return {
    id: r.id,
    object: 'credit_note' as const,
    amount: Number(r.total),
    created: toUnix(new Date(r.created)),
    credit_amount: Number(r.credit_amount),
    currency: r.currency,
    customer: r.customer,
    customer_balance_transaction: r.customer_balance_transaction,
    discount_amount: Number(r.discount_amount),
    effective_at: ts(r.effective_at),
    invoice: r.invoice,
    lines: { object: 'list' as const, data: lines.map(serializeLine), has_more: false, url: `/v1/credit_notes/${r.id}/lines` },
    livemode: false,
    memo: r.memo,
    metadata: r.metadata,
    number: r.number,
    out_of_band_amount: Number(r.out_of_band_amount),
    post_payment_amount: r.type === 'post_payment' ? Number(r.total) : 0,
    pre_payment_amount: r.type === 'pre_payment' ? Number(r.total) : 0,
    reason: r.reason,
    refund: r.refund,
    // Stripe's current shape: the refunds that settle the note (`refund` above is the older field).
    refunds: r.refund ? [{ amount_refunded: Number(r.refund_amount), refund: r.refund, type: 'refund' as const }] : [],
    refund_amount: Number(r.refund_amount),
    status: r.status,
    subtotal: Number(r.subtotal),
    // The sum of its lines' amount_excluding_tax.
    subtotal_excluding_tax: lines.reduce((s, l) => s + amountExcludingTax(l), 0),
    tax_amounts: r.tax_amounts,
    total: Number(r.total),
    total_taxes: stripeTaxes(r.tax_amounts),
    total_excluding_tax: Number(r.total) - Number(r.total_tax) + 0,
    type: r.type,
    voided_at: ts(r.voided_at),
  };
}
export type CreditNoteObject = ReturnType<typeof serializeCreditNote>;

export async function creditNoteLines(q: Queryable, ids: string[]): Promise<Map<string, CreditNoteLineRow[]>> {
  const out = new Map<string, CreditNoteLineRow[]>(ids.map((id) => [id, []]));
  if (!ids.length) return out;
  const { rows } = await q.query<CreditNoteLineRow>(`SELECT * FROM credit_note_lines WHERE credit_note = ANY($1::text[]) ORDER BY credit_note, position`, [ids]);
  for (const r of rows) out.get(r.credit_note)!.push(r);
  return out;
}

export async function getCreditNoteRow(q: Queryable, id: string, forUpdate = false): Promise<CreditNoteRow> {
  const { rows } = await q.query<CreditNoteRow>(`SELECT * FROM credit_notes WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  if (!rows[0]) throw new NotFoundError('credit_note', id);
  return rows[0];
}

export async function creditNoteObject(q: Queryable, row: CreditNoteRow): Promise<CreditNoteObject> {
  return serializeCreditNote(row, (await creditNoteLines(q, [row.id])).get(row.id)!);
}

/** The invoice's lines with what issued credit notes already took from each. */
async function creditableLines(q: Queryable, inv: InvoiceRow): Promise<CreditableLine[]> {
  const lines = (await linesOf(q, [inv.id])).get(inv.id)!;
  const { rows: credited } = await q.query<{ invoice_line: string; amount: number; discount_amount: number; tax_amounts: TaxAmount[]; amount_excluding_tax: number | null }>(
    `SELECT l.invoice_line, l.amount, l.discount_amount, l.tax_amounts, l.amount_excluding_tax FROM credit_note_lines l JOIN credit_notes n ON n.id = l.credit_note
      WHERE n.invoice = $1 AND n.status = 'issued' AND l.invoice_line IS NOT NULL`,
    [inv.id],
  );
  return lines.map((l) => {
    const mine = credited.filter((c) => c.invoice_line === l.id);
    const taxes = l.tax_amounts ?? [];
    return {
      id: l.id,
      description: l.description,
      quantity: l.quantity,
      unit_amount: l.unit_amount === null ? null : Number(l.unit_amount),
      amount: Number(l.amount),
      discount: l.discount_amounts.reduce((s, d) => s + Number(d.amount), 0),
      taxes,
      inclusiveBefore: inclusiveTaxBeforeDiscounts([l]),
      credited: {
        amount: mine.reduce((s, c) => s + Number(c.amount), 0),
        discount: mine.reduce((s, c) => s + Number(c.discount_amount), 0),
        taxes: taxes.map((_, i) => mine.reduce((s, c) => s + (c.tax_amounts[i]?.amount ?? 0), 0)),
        inclusiveBefore: mine.reduce((s, c) => s + Number(c.amount) - amountExcludingTax(c), 0),
      },
    };
  });
}

interface Plan {
  inv: InvoiceRow;
  type: 'pre_payment' | 'post_payment';
  lines: CreditLine[];
  totals: ReturnType<typeof creditTotals>;
  refund: number;
  credit: number;
  outOfBand: number;
}

/** Validates a credit note request against the invoice and computes it (no writes). */
async function plan(q: Queryable, input: CreditNoteInput, forUpdate: boolean): Promise<Plan> {
  const inv = await findInvoice(q, input.invoice, forUpdate);
  if (!inv) throw new NotFoundError('invoice', input.invoice, 'invoice');
  if (inv.status === 'draft' || inv.status === 'void') {
    throw new InvalidRequestError(`A credit note needs a finalized, unvoided invoice; this one is ${inv.status}.`, 'invoice', 'invoice_not_creditable');
  }
  if ((input.lines?.length ?? 0) > 0 === (input.amount !== undefined)) {
    throw new InvalidRequestError('Give either lines or an amount.', input.amount !== undefined ? 'amount' : 'lines', 'parameter_invalid');
  }
  const creditable = await creditableLines(q, inv);
  let lines: CreditLine[];
  try {
    lines = input.amount !== undefined
      ? creditAmount(creditable, input.amount)
      : creditLines(
          creditable,
          input.lines!.map((l, i) => ({ line: l.invoice_line_item, amount: l.amount, quantity: l.quantity, param: `lines[${i}]` })),
        );
  } catch (err) {
    if (err instanceof CreditError) throw new InvalidRequestError(err.message, err.param, err.code);
    throw err;
  }
  let totals = creditTotals(lines);
  if (totals.total <= 0) throw new InvalidRequestError('The credit note would credit nothing.', 'lines', 'parameter_invalid');
  const already = Number(inv.pre_payment_credit_notes_amount) + Number(inv.post_payment_credit_notes_amount);
  if (totals.total > Number(inv.total) - already) {
    throw new InvalidRequestError(`The invoice has ${Number(inv.total) - already} left to credit; this credit note is ${totals.total}.`, 'amount', 'credit_note_exceeds_invoice');
  }
  if (totals.total === Number(inv.total) - already) {
    lines = withZeroLines(creditable, lines);
    totals = creditTotals(lines);
  }
  const settlement = [input.refund_amount, input.credit_amount, input.out_of_band_amount];
  if (inv.status !== 'paid') {
    // An open (or uncollectible) invoice: the credit note lowers what is due.
    if (settlement.some((x) => x !== undefined && x > 0)) {
      throw new InvalidRequestError('A credit note on an unpaid invoice reduces its amount due; refund_amount, credit_amount and out_of_band_amount apply to paid invoices.', 'refund_amount', 'parameter_invalid');
    }
    if (totals.total > Number(inv.amount_remaining)) {
      throw new InvalidRequestError(`Only ${Number(inv.amount_remaining)} is still due on this invoice; this credit note is ${totals.total}.`, 'amount', 'credit_note_exceeds_remaining');
    }
    return { inv, type: 'pre_payment', lines, totals, refund: 0, credit: 0, outOfBand: 0 };
  }
  // Paid: settled by refund + balance credit + out of band; by default all to the customer's balance.
  const given = settlement.some((x) => x !== undefined);
  const refund = input.refund_amount ?? 0;
  const credit = given ? (input.credit_amount ?? 0) : totals.total;
  const outOfBand = input.out_of_band_amount ?? 0;
  if (refund + credit + outOfBand !== totals.total) {
    throw new InvalidRequestError(
      `refund_amount + credit_amount + out_of_band_amount (${refund + credit + outOfBand}) must equal the credit note's total (${totals.total}).`,
      'credit_amount',
      'credit_note_settlement_mismatch',
    );
  }
  return { inv, type: 'post_payment', lines, totals, refund, credit, outOfBand };
}

function rowsOf(p: Plan, id: string, number: string | null, input: CreditNoteInput, now: Date): { row: CreditNoteRow; lines: CreditNoteLineRow[] } {
  const row: CreditNoteRow = {
    id,
    number: number ?? '',
    invoice: p.inv.id,
    customer: p.inv.customer,
    currency: p.inv.currency,
    status: 'issued',
    type: p.type,
    reason: input.reason ?? null,
    memo: input.memo ?? null,
    subtotal: p.totals.subtotal,
    discount_amount: p.totals.discount_amount,
    total_tax: p.totals.total_tax,
    total: p.totals.total,
    tax_amounts: p.totals.tax_amounts,
    refund_amount: p.refund,
    credit_amount: p.credit,
    out_of_band_amount: p.outOfBand,
    refund: null,
    customer_balance_transaction: null,
    metadata: mergeMetadata({}, input.metadata),
    test_clock: p.inv.test_clock,
    effective_at: now,
    voided_at: null,
    created: now,
  };
  const lines = p.lines.map((l, i) => ({ ...l, id: newId('cnli'), credit_note: id, type: 'invoice_line_item' as const, position: i }));
  return { row, lines };
}

/** What the credit note would be, without writing anything (GET /v1/credit_notes/preview). */
export async function previewCreditNote(q: Queryable, input: CreditNoteInput): Promise<CreditNoteObject> {
  const p = await plan(q, input, false);
  const { rows } = await q.query<{ frozen_time: Date }>(`SELECT frozen_time FROM test_clocks WHERE id = $1`, [p.inv.test_clock]);
  const now = rows[0] ? new Date(rows[0].frozen_time) : new Date(p.inv.updated);
  const { row, lines } = rowsOf(p, 'cn_preview', null, input, now);
  return { ...serializeCreditNote(row, lines), number: null as unknown as string };
}

async function succeededPayment(q: Queryable, invoice: string): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM payment_intents WHERE invoice = $1 AND status = 'succeeded' ORDER BY id LIMIT 1`, [invoice]);
  return rows[0]?.id ?? null;
}

export async function createCreditNote(
  q: Queryable,
  deps: PaymentDeps,
  requestNow: Date,
  input: CreditNoteInput,
  opts: { refundId?: string; idempotencyKey?: string } = {},
): Promise<CreditNoteObject> {
  const p = await plan(q, input, true);
  const now = await effectiveNow(q, p.inv.test_clock, requestNow);
  const id = newId('cn');
  const seq = await reserveNumbers(q, CREDIT_NOTE_SERIES, 1);
  const { row, lines } = rowsOf(p, id, `${CREDIT_NOTE_SERIES}-${String(seq).padStart(4, '0')}`, input, now);

  if (p.refund > 0 && !opts.refundId) {
    const pi = await succeededPayment(q, p.inv.id);
    if (!pi) {
      throw new InvalidRequestError('This invoice was not paid through a gateway, so there is no payment to refund; use credit_amount or out_of_band_amount.', 'refund_amount', 'no_refundable_payment');
    }
    // The credit note row must exist before the refund refers to it.
    await insertCreditNote(q, row, lines);
    const refund = await createRefund(q, deps, now, {
      payment_intent: pi,
      amount: p.refund,
      reason: input.reason === 'duplicate' || input.reason === 'fraudulent' ? input.reason : 'requested_by_customer',
      credit_note: id,
      idempotencyKey: opts.idempotencyKey ? `${opts.idempotencyKey}:refund` : `credit_note:${id}`,
    });
    if (refund.status === 'failed' || refund.status === 'canceled') {
      throw new AppError(402, 'card_error', 'refund_failed', `The refund was refused by the gateway (${refund.failure_reason ?? 'no reason given'}); no credit note was issued.`, 'refund_amount');
    }
    row.refund = refund.id;
    await q.query(`UPDATE credit_notes SET refund = $2 WHERE id = $1`, [id, refund.id]);
  } else {
    if (opts.refundId) row.refund = opts.refundId;
    await insertCreditNote(q, row, lines);
  }
  if (p.credit > 0) {
    const tx = await changeBalance(q, now, {
      customer: p.inv.customer,
      amount: -p.credit,
      currency: p.inv.currency,
      type: 'credit_note',
      description: `Credit note ${row.number} for invoice ${p.inv.number}`,
      invoice: p.inv.id,
      creditNote: id,
    });
    row.customer_balance_transaction = tx.id;
    await q.query(`UPDATE credit_notes SET customer_balance_transaction = $2 WHERE id = $1`, [id, tx.id]);
  }
  await applyToInvoice(q, p.inv, p.type, p.totals.total, now);
  const obj = serializeCreditNote(row, lines);
  await recordEvent(q, now, { type: 'credit_note.created', object: obj, customerId: row.customer });
  return obj;
}

async function insertCreditNote(q: Queryable, row: CreditNoteRow, lines: CreditNoteLineRow[]): Promise<void> {
  await q.query(
    `INSERT INTO credit_notes (id, number, invoice, customer, currency, status, type, reason, memo, subtotal, discount_amount, total_tax, total, tax_amounts,
       refund_amount, credit_amount, out_of_band_amount, refund, customer_balance_transaction, metadata, test_clock, effective_at, voided_at, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
    [
      row.id, row.number, row.invoice, row.customer, row.currency, row.status, row.type, row.reason, row.memo, row.subtotal, row.discount_amount, row.total_tax,
      row.total, JSON.stringify(row.tax_amounts), row.refund_amount, row.credit_amount, row.out_of_band_amount, row.refund, row.customer_balance_transaction,
      JSON.stringify(row.metadata), row.test_clock, row.effective_at, row.voided_at, row.created,
    ],
  );
  for (const l of lines) {
    await q.query(
      `INSERT INTO credit_note_lines (id, credit_note, invoice_line, type, description, quantity, unit_amount, amount, discount_amount, tax_amounts, position, amount_excluding_tax)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [l.id, l.credit_note, l.invoice_line, l.type, l.description, l.quantity, l.unit_amount, l.amount, l.discount_amount, JSON.stringify(l.tax_amounts), l.position, l.amount_excluding_tax],
    );
  }
}

/** A pre-payment credit note lowers what is due (and pays the invoice when nothing is left); a post-payment one is recorded. */
async function applyToInvoice(q: Queryable, inv: InvoiceRow, type: Plan['type'], total: number, now: Date, sign: 1 | -1 = 1): Promise<void> {
  const before = { amount_due: Number(inv.amount_due), amount_remaining: Number(inv.amount_remaining), pre: Number(inv.pre_payment_credit_notes_amount), post: Number(inv.post_payment_credit_notes_amount) };
  const patch =
    type === 'pre_payment'
      ? {
          pre_payment_credit_notes_amount: before.pre + sign * total,
          amount_due: before.amount_due - sign * total,
          amount_remaining: before.amount_remaining - sign * total,
        }
      : { post_payment_credit_notes_amount: before.post + sign * total };
  const row = await updateInvoiceRow(q, inv.id, { ...patch, updated: now });
  if (type === 'pre_payment' && row.amount_remaining === 0 && row.status !== 'paid') {
    await settleInvoice(q, row, now);
    return;
  }
  const previous: Record<string, unknown> =
    type === 'pre_payment'
      ? { pre_payment_credit_notes_amount: before.pre, amount_due: before.amount_due, amount_remaining: before.amount_remaining }
      : { post_payment_credit_notes_amount: before.post };
  await recordEvent(q, now, { type: 'invoice.updated', object: await invoiceObject(q, row), previousAttributes: previous, customerId: row.customer });
}

export async function voidCreditNote(q: Queryable, requestNow: Date, id: string): Promise<CreditNoteObject> {
  const cn = await getCreditNoteRow(q, id, true);
  if (cn.status === 'void') throw new InvalidRequestError('This credit note is already void.', 'id', 'credit_note_already_voided');
  if (Number(cn.refund_amount) > 0) throw new InvalidRequestError('A credit note paid out as a refund cannot be voided.', 'id', 'credit_note_not_voidable');
  const inv = (await findInvoice(q, cn.invoice, true))!;
  const now = await effectiveNow(q, inv.test_clock, requestNow);
  if (cn.type === 'pre_payment' && inv.status !== 'open' && inv.status !== 'uncollectible') {
    throw new InvalidRequestError(`The invoice is ${inv.status} now; its pre-payment credit note can no longer be voided.`, 'id', 'credit_note_not_voidable');
  }
  if (Number(cn.credit_amount) > 0) {
    await changeBalance(q, now, {
      customer: cn.customer,
      amount: Number(cn.credit_amount),
      currency: cn.currency,
      type: 'credit_note',
      description: `Credit note ${cn.number} voided`,
      invoice: cn.invoice,
      creditNote: cn.id,
    });
  }
  await applyToInvoice(q, inv, cn.type, Number(cn.total), now, -1);
  const { rows } = await q.query<CreditNoteRow>(`UPDATE credit_notes SET status = 'void', voided_at = $2 WHERE id = $1 RETURNING *`, [id, now]);
  const obj = await creditNoteObject(q, rows[0]!);
  await recordEvent(q, now, { type: 'credit_note.voided', object: obj, customerId: cn.customer });
  return obj;
}

export async function updateCreditNote(q: Queryable, now: Date, id: string, input: { memo?: string; metadata?: Record<string, string> }): Promise<CreditNoteObject> {
  const cn = await getCreditNoteRow(q, id, true);
  const metadata = mergeMetadata(cn.metadata, input.metadata);
  const { rows } = await q.query<CreditNoteRow>(`UPDATE credit_notes SET memo = $2, metadata = $3 WHERE id = $1 RETURNING *`, [id, input.memo ?? cn.memo, JSON.stringify(metadata)]);
  const obj = await creditNoteObject(q, rows[0]!);
  await recordEvent(q, now, { type: 'credit_note.updated', object: obj, customerId: cn.customer });
  return obj;
}

export async function listCreditNotes(q: Queryable, f: { invoice?: string; customer?: string }, list: ListParams) {
  const { rows, hasMore } = await paginate<CreditNoteRow>(q, { table: 'credit_notes', equals: f }, list);
  const lines = await creditNoteLines(
    q,
    rows.map((r) => r.id),
  );
  return { data: rows.map((r) => serializeCreditNote(r, lines.get(r.id)!)), hasMore };
}

/**
 * The seam for the refund module: a refund made directly against an invoice's payment
 * (POST /v1/refunds) is documented by a post-payment credit note settled by that refund, spread
 * over the invoice's lines like a credit "of an amount". Returns null when the refund is not for
 * an invoice or the invoice has nothing left to credit.
 */
export async function creditNoteForRefund(
  q: Queryable,
  deps: PaymentDeps,
  now: Date,
  refund: { id: string; invoice: string | null; amount: number; reason?: string | null },
): Promise<CreditNoteObject | null> {
  if (!refund.invoice) return null;
  const inv = await findInvoice(q, refund.invoice);
  if (!inv || inv.status !== 'paid') return null;
  const left = Number(inv.total) - Number(inv.pre_payment_credit_notes_amount) - Number(inv.post_payment_credit_notes_amount);
  if (left <= 0) return null;
  const amount = Math.min(refund.amount, left);
  const reason = refund.reason === 'duplicate' || refund.reason === 'fraudulent' ? refund.reason : undefined;
  const cn = await createCreditNote(q, deps, now, { invoice: inv.id, amount, refund_amount: amount, reason }, { refundId: refund.id });
  await linkRefundToCreditNote(q, refund.id, cn.id, now);
  return cn;
}
