import type { Queryable } from '../../db/index.js';
import { updateInvoiceRow, type InvoiceRow } from './repository.js';
import { recordInvoiceUpdated } from './service.js';

/**
 * Ends automatic collection of a subscription's or a customer's unpaid invoices: drafts are no longer
 * finalized by themselves and open invoices are no longer charged (auto_advance off, no finalize_at or
 * next_payment_attempt), each with its invoice.updated. They stay in the books, payable or voidable by
 * hand. Used when a subscription is canceled and when a customer is deleted (Stripe charges neither again).
 */
export async function stopInvoiceCollection(q: Queryable, of: { subscription: string } | { customer: string }, now: Date): Promise<number> {
  const [column, id] = 'subscription' in of ? ['subscription', of.subscription] : ['customer', of.customer];
  const { rows } = await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE ${column} = $1 AND auto_advance AND status IN ('draft', 'open') ORDER BY id FOR UPDATE`, [id]);
  for (const inv of rows) {
    const after = await updateInvoiceRow(q, inv.id, { auto_advance: false, finalize_at: null, next_payment_attempt: null, updated: now });
    await recordInvoiceUpdated(q, inv, after, now);
  }
  return rows.length;
}
