import type { Queryable } from '../../db/index.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { stopInvoiceCollection } from '../invoices/stop-collection.js';
import { findSubscription, updateSubscriptionRow, type SubscriptionRow, type SubscriptionStatus } from './repository.js';
import { subscriptionObject, type SubscriptionObject } from './serialize.js';
import { applyPaidPendingUpdate } from './pending-update.js';
import { scheduleSubscriptionEnded } from '../subscription-schedules/lifecycle.js';
import { isScheduleId } from '../subscription-schedules/repository.js';

// Status transitions, as Stripe defines them. Every transition writes customer.subscription.updated
// (or .deleted / .paused / .resumed) with the previous status, in the caller's transaction.

/**
 * Whether the subscription's current period was paid for, so that time in it can be credited (a
 * cancellation with prorate, a cancel_at end): not a trial, a pause, a free stub, nor an incomplete
 * subscription's unpaid first period.
 */
export function currentPeriodPaid(sub: Pick<SubscriptionRow, 'status' | 'free_stub'>): boolean {
  return sub.status !== 'trialing' && sub.status !== 'paused' && sub.status !== 'incomplete' && !sub.free_stub;
}

/**
 * Applies `patch` and records the event with the object after it and, as previous_attributes, the
 * top-level fields that differ from `before`. A caller that has already written something the object
 * shows (items, discounts) must pass `before`, the object serialised before that write; without it the
 * object is serialised from the database as it is now. An update that changes nothing the object shows
 * records no customer.subscription.updated (.deleted / .paused / .resumed are always recorded).
 */
export async function transition(
  q: Queryable,
  sub: SubscriptionRow,
  patch: Partial<SubscriptionRow>,
  now: Date,
  eventType = 'customer.subscription.updated',
  before?: SubscriptionObject,
): Promise<SubscriptionRow> {
  const beforeObj = before ?? (await subscriptionObject(q, sub));
  // An ending subscription leaves its schedule, which completes or is canceled with it.
  const schedule = (patch.status === 'canceled' || patch.status === 'incomplete_expired') && isScheduleId(sub.pending_schedule?.id) ? sub.pending_schedule!.id : null;
  const after = await updateSubscriptionRow(q, sub.id, { ...patch, ...(schedule ? { pending_schedule: null } : {}), updated: now });
  if (schedule) await scheduleSubscriptionEnded(q, schedule, after, now);
  const obj = await subscriptionObject(q, after);
  const previous = previousAttributes(beforeObj, obj);
  if (eventType === 'customer.subscription.updated' && Object.keys(previous).length === 0) return after;
  await recordEvent(q, now, { type: eventType, object: obj, previousAttributes: previous, customerId: sub.customer });
  return after;
}

/** After a payment attempt on one of its invoices: recover to active, or fall to past_due. */
export async function syncSubscriptionAfterPayment(q: Queryable, invoice: InvoiceRow, succeeded: boolean, now: Date): Promise<void> {
  let sub = await findSubscription(q, invoice.subscription!, true);
  if (!sub) return;
  if (sub.pending_update?.invoice === invoice.id) {
    // A pending update's invoice: the update request's own attempt decides itself (chargePendingUpdate);
    // a later failed attempt leaves the update waiting and the subscription as it was (Stripe: it
    // "will continue to cycle as if no update request was made"); a later success applies it.
    if (sub.pending_update.charging || !succeeded) return;
    sub = await applyPaidPendingUpdate(q, sub, now);
  }
  // Stripe: past_due and unpaid are about the latest finalized invoice. Paying (or failing) an older one
  // changes the status only if the latest invoice is not itself in arrears: open after a failed attempt,
  // or past its due date (an open NET-terms invoice not yet due is not).
  let decides = !sub.latest_invoice || sub.latest_invoice === invoice.id;
  if (!decides) {
    const { rows } = await q.query<{ status: string; attempt_count: number; overdue_at: Date | null }>(`SELECT status, attempt_count, overdue_at FROM invoices WHERE id = $1`, [sub.latest_invoice]);
    const latest = rows[0];
    decides = !latest || latest.status !== 'open' || (latest.attempt_count === 0 && latest.overdue_at === null);
  }
  let next: SubscriptionStatus | null = null;
  if (succeeded) {
    if (decides && (sub.status === 'incomplete' || sub.status === 'past_due' || sub.status === 'unpaid')) next = 'active';
  } else if (decides && sub.status === 'active') {
    next = 'past_due';
  }
  // An incomplete subscription stays incomplete until paid or expired (23 h).
  const patch: Partial<SubscriptionRow> = { latest_invoice: sub.latest_invoice ?? invoice.id };
  if (next) {
    patch.status = next;
    if (next === 'active') patch.incomplete_expires_at = null;
    await transition(q, sub, patch, now);
  } else if (patch.latest_invoice !== sub.latest_invoice) {
    // latest_invoice is part of the object: its change is an update like any other.
    await transition(q, sub, patch, now);
  }
}

/**
 * Stripe: once a subscription is canceled, the customer is not charged again for it — automatic
 * collection of its finalized invoices stops (they stay open, payable by hand) and a renewal still in
 * its draft hour is not finalized. The final invoice of invoice_now has been collected already.
 */
export async function stopCollection(q: Queryable, subscriptionId: string, now: Date): Promise<void> {
  await stopInvoiceCollection(q, { subscription: subscriptionId }, now);
}
