import { z } from 'zod';
import { AppError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import { zBool, zExpand, zInt, zMetadata, zSignedAmount, zTimestamp } from '../../http/schemas.js';
import { recordEvent } from '../events/service.js';
import { createInvoiceItem, deleteInvoiceItem, getInvoiceItemRow, invoiceItemObject, refreshDraftTotals, updateInvoiceItem, type InvoiceItemRow } from './items.js';
import type { InvoiceRow } from './repository.js';

// Stripe's line editing of a draft (POST /v1/invoices/{id}/add_lines, remove_lines, update_lines):
// each line of a draft that is not a subscription's period comes from an invoice item, so these are
// the invoice item operations, named by the line (il_…) or by the item (ii_…), all in one transaction.

const zPeriod = z.strictObject({ start: zTimestamp(), end: zTimestamp() });

const zNewLine = z.strictObject({
  amount: zSignedAmount().optional(),
  description: z.string().max(500).optional(),
  discountable: zBool().optional(),
  metadata: zMetadata().optional(),
  period: zPeriod.optional(),
  pricing: z.strictObject({ price: z.string().min(1) }).optional(),
  quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional(),
});

export const addLinesBody = z.strictObject({ lines: z.array(zNewLine).min(1).max(100), expand: zExpand() });
export const removeLinesBody = z.strictObject({
  lines: z.array(z.strictObject({ id: z.string().min(1), behavior: z.enum(['delete', 'unassign']) })).min(1).max(100),
  expand: zExpand(),
});
export const updateLinesBody = z.strictObject({
  lines: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        amount: zSignedAmount().optional(),
        description: z.string().max(500).optional(),
        discountable: zBool().optional(),
        metadata: zMetadata().optional(),
        period: zPeriod.optional(),
        quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional(),
      }),
    )
    .min(1)
    .max(100),
  expand: zExpand(),
});

/** Runs one line's invoice item operation; its errors name the line's parameter (lines[2][amount], not amount). */
async function inLine<T>(i: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AppError && err.param && !err.param.startsWith('lines[')) {
      // amount → lines[i][amount]; period[end] → lines[i][period][end].
      const param = `lines[${i}]${err.param.replace(/^([^[]+)/, '[$1]')}`;
      throw new AppError(err.status, err.type, err.code, err.message, param, err.extra);
    }
    throw err;
  }
}

function draftOnly(inv: InvoiceRow): void {
  if (inv.status !== 'draft') throw new InvalidRequestError(`Lines can only change on a draft invoice; this one is ${inv.status}.`, 'id', 'invoice_not_editable');
}

/** The invoice item behind a line of this draft, named by the line's id or the item's; a 400 naming `param` otherwise. */
async function itemOf(q: Queryable, inv: InvoiceRow, id: string, param: string): Promise<string> {
  if (id.startsWith('ii_')) {
    const item = await getInvoiceItemRow(q, id).catch((err: unknown) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    });
    if (item?.invoice === inv.id) return id;
  } else {
    const { rows } = await q.query<{ invoice_item: string | null }>(`SELECT invoice_item FROM invoice_lines WHERE id = $1 AND invoice = $2`, [id, inv.id]);
    if (rows[0]?.invoice_item) return rows[0].invoice_item;
    if (rows[0]) throw new InvalidRequestError(`The line ${id} is the subscription's own: change the subscription instead.`, param, 'invoice_line_not_editable');
  }
  throw new InvalidRequestError(`No line ${id} on this invoice.`, param, 'resource_missing');
}

export async function addLines(q: Queryable, now: Date, inv: InvoiceRow, input: z.output<typeof addLinesBody>): Promise<void> {
  draftOnly(inv);
  for (const [i, l] of input.lines.entries()) {
    if (l.amount === undefined && l.pricing === undefined) throw new InvalidRequestError('A line needs an amount or pricing[price].', `lines[${i}][amount]`, 'parameter_missing');
    await inLine(i, () => createInvoiceItem(q, now, {
      customer: inv.customer,
      invoice: inv.id,
      currency: inv.currency,
      amount: l.amount,
      description: l.description,
      discountable: l.discountable,
      metadata: l.metadata,
      period: l.period,
      pricing: l.pricing,
      quantity: l.quantity,
      ...(inv.subscription ? { subscription: inv.subscription } : {}),
    }));
  }
}

export async function removeLines(q: Queryable, now: Date, inv: InvoiceRow, input: z.output<typeof removeLinesBody>): Promise<void> {
  draftOnly(inv);
  for (const [i, l] of input.lines.entries()) {
    const item = await itemOf(q, inv, l.id, `lines[${i}][id]`);
    if (l.behavior === 'delete') {
      await inLine(i, () => deleteInvoiceItem(q, now, item));
      continue;
    }
    // Unassigned, the item is pending again: the customer's next invoice takes it.
    await getInvoiceItemRow(q, item, { forUpdate: true });
    const { rows } = await q.query<InvoiceItemRow>(`UPDATE invoice_items SET invoice = NULL WHERE id = $1 RETURNING *`, [item]);
    await refreshDraftTotals(q, inv.id, now, `lines[${i}][id]`);
    const obj = await invoiceItemObject(q, rows[0]!);
    await recordEvent(q, now, { type: 'invoiceitem.updated', object: obj, previousAttributes: { invoice: inv.id }, customerId: inv.customer });
  }
}

export async function updateLines(q: Queryable, now: Date, inv: InvoiceRow, input: z.output<typeof updateLinesBody>): Promise<void> {
  draftOnly(inv);
  for (const [i, l] of input.lines.entries()) {
    const { id, ...change } = l;
    const item = await itemOf(q, inv, id, `lines[${i}][id]`);
    await inLine(i, () => updateInvoiceItem(q, now, item, change));
  }
}
