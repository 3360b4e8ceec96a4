import type { Queryable } from '../../db/index.js';
import { recordEvent } from '../events/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { findSubscription, updateSubscriptionRow, type SubscriptionRow, type SubscriptionStatus } from './repository.js';
import { subscriptionObject } from './serialize.js';

// Status transitions, as Stripe defines them. Every transition writes customer.subscription.updated
// (or .deleted / .paused / .resumed) with the previous status, in the caller's transaction.

export async function transition(
  q: Queryable,
  sub: SubscriptionRow,
  patch: Partial<SubscriptionRow>,
  now: Date,
  eventType = 'customer.subscription.updated',
): Promise<SubscriptionRow> {
  const before = await subscriptionObject(q, sub);
  const after = await updateSubscriptionRow(q, sub.id, { ...patch, updated: now });
  const obj = await subscriptionObject(q, after);
  const previous: Record<string, unknown> = {};
  for (const k of Object.keys(obj) as (keyof typeof obj)[]) {
    if (JSON.stringify(before[k]) !== JSON.stringify(obj[k])) previous[k] = before[k];
  }
  await recordEvent(q, now, { type: eventType, object: obj, previousAttributes: previous, customerId: sub.customer });
  return after;
}

/** After a payment attempt on one of its invoices: recover to active, or fall to past_due. */
export async function syncSubscriptionAfterPayment(q: Queryable, invoice: InvoiceRow, succeeded: boolean, now: Date): Promise<void> {
  const sub = await findSubscription(q, invoice.subscription!, true);
  if (!sub) return;
  let next: SubscriptionStatus | null = null;
  if (succeeded) {
    if (sub.status === 'incomplete' || sub.status === 'past_due' || sub.status === 'unpaid') next = 'active';
  } else if (sub.status === 'active') {
    next = 'past_due';
  }
  // An incomplete subscription stays incomplete until paid or expired (23 h).
  const patch: Partial<SubscriptionRow> = { latest_invoice: sub.latest_invoice ?? invoice.id };
  if (next) {
    patch.status = next;
    if (next === 'active') patch.incomplete_expires_at = null;
    await transition(q, sub, patch, now);
  } else if (patch.latest_invoice !== sub.latest_invoice) {
    await updateSubscriptionRow(q, sub.id, patch);
  }
}
