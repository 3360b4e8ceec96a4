import { InvalidRequestError } from '../../core/errors/index.js';
import { addSeconds } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { previousAttributes, recordEvents, type EventInput } from '../events/service.js';
import { findSubscription, replaceItems, updateSubscriptionRow, type ItemRow, type PendingUpdate, type SubscriptionRow } from './repository.js';
import type { UpdateSubscriptionInput } from './schemas.js';
import { subscriptionObject, type SubscriptionObject } from './serialize.js';

// Stripe's pending updates (payment_behavior=pending_if_incomplete; docs.stripe.com/billing/subscriptions/
// pending-updates-reference): an update whose invoice is not paid at once is not applied. Its items and
// fields wait on the subscription (`pending_update`) while the subscription cycles as before; paying the
// invoice later (a retry, the hosted page, by hand) applies them; at the expiry the invoice is voided and
// the change discarded, as is the case when the invoice is voided before.

/** Stripe: pending updates expire 23 hours after the update, or earlier at the period's (or trial's) end. */
export const PENDING_UPDATE_TTL_SECONDS = 23 * 3600;

/**
 * Stripe's supported attributes of a pending update (trial_from_plan: not in Recur). add_invoice_items
 * go on the change's invoice, so they are paid, or voided, with it.
 */
const PENDING_PARAMS = new Set(['items', 'proration_behavior', 'proration_date', 'billing_cycle_anchor', 'trial_end', 'add_invoice_items', 'payment_behavior', 'expand']);
const PENDING_ITEM_PARAMS = new Set(['id', 'price', 'quantity', 'deleted']);

/** The checks of an update made with pending_if_incomplete, and of any item change while one waits. */
export function assertPendingUpdateAllowed(sub: SubscriptionRow, input: UpdateSubscriptionInput): void {
  const changesBilling = input.items?.length || input.billing_cycle_anchor === 'now' || input.trial_end !== undefined;
  if (sub.pending_update && changesBilling) {
    throw new InvalidRequestError(
      `This subscription has a pending update waiting for invoice ${sub.pending_update.invoice}; pay or void that invoice before changing the subscription again.`,
      input.items?.length ? 'items' : input.trial_end !== undefined ? 'trial_end' : 'billing_cycle_anchor',
      'subscription_pending_update',
    );
  }
  if (input.payment_behavior !== 'pending_if_incomplete') return;
  const other = Object.entries(input).find(([k, v]) => v !== undefined && !PENDING_PARAMS.has(k));
  if (other) throw new InvalidRequestError(`${other[0]} cannot be updated with payment_behavior=pending_if_incomplete.`, other[0], 'parameter_invalid');
  for (const [i, item] of (input.items ?? []).entries()) {
    const bad = Object.entries(item).find(([k, v]) => v !== undefined && !PENDING_ITEM_PARAMS.has(k));
    if (bad) throw new InvalidRequestError(`items[${i}][${bad[0]}] cannot be updated with payment_behavior=pending_if_incomplete.`, `items[${i}][${bad[0]}]`, 'parameter_invalid');
  }
  if (sub.collection_method !== 'charge_automatically') {
    throw new InvalidRequestError('Pending updates need collection_method=charge_automatically.', 'payment_behavior', 'parameter_invalid');
  }
}

/** When a pending update made now expires: 23 hours on, or the period's or trial's end if earlier. */
export function pendingUpdateExpiry(sub: SubscriptionRow, now: Date): Date {
  const candidates = [addSeconds(now, PENDING_UPDATE_TTL_SECONDS), new Date(sub.current_period_end)];
  if (sub.status === 'trialing' && sub.trial_end) candidates.push(new Date(sub.trial_end));
  return new Date(Math.min(...candidates.map((d) => d.getTime())));
}

const jsonPatch = (patch: Partial<SubscriptionRow>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));

/**
 * Parks an update computed by updateSubscription — its items already written and its invoice created —
 * before the invoice is charged: the old items go back and the subscription row keeps them, with the
 * change in `pending_update` marked as being charged by this request.
 */
export async function parkPendingUpdate(
  q: Queryable,
  sub: SubscriptionRow,
  o: { before: ItemRow[]; after: ItemRow[]; patch: Partial<SubscriptionRow>; invoice: string; now: Date },
): Promise<PendingUpdate> {
  await replaceItems(q, sub.id, o.before);
  const pending: PendingUpdate = {
    invoice: o.invoice,
    items: o.after.map((i) => ({ id: i.id, price: i.price, quantity: i.quantity, metadata: i.metadata, created: new Date(i.created).toISOString() })),
    patch: jsonPatch(o.patch),
    charging: true,
  };
  await updateSubscriptionRow(q, sub.id, { pending_update: pending, pending_update_expires_at: pendingUpdateExpiry(sub, o.now), latest_invoice: o.invoice, updated: o.now });
  return pending;
}

/** Applies a pending update: its items and fields; the pending hash is cleared. No event (the caller's). */
export async function applyPendingUpdate(q: Queryable, sub: SubscriptionRow, now: Date): Promise<SubscriptionRow> {
  const u = sub.pending_update!;
  await replaceItems(
    q,
    sub.id,
    u.items.map((i) => ({ ...i, subscription: sub.id, created: new Date(i.created) })),
  );
  return updateSubscriptionRow(q, sub.id, { ...(u.patch as Partial<SubscriptionRow>), pending_update: null, pending_update_expires_at: null, updated: now });
}

/** The request's own attempt failed: the update stays pending (no longer marked as being charged). */
export async function keepPendingUpdate(q: Queryable, sub: SubscriptionRow, now: Date): Promise<SubscriptionRow> {
  const { charging: _charging, ...rest } = sub.pending_update!;
  return updateSubscriptionRow(q, sub.id, { pending_update: rest, updated: now });
}

/**
 * An applied update that ends the trial (trial_end=now) sends the trial's customer.subscription.trial_will_end
 * first, as the update made at once does (service.ts) — once per trial.
 */
export function trialNotice(sub: SubscriptionRow, patch: Record<string, unknown>, before: SubscriptionObject): EventInput[] {
  return patch.trial_will_end_sent === true && !sub.trial_will_end_sent ? [{ type: 'customer.subscription.trial_will_end', object: before, customerId: sub.customer }] : [];
}

async function recordChange(q: Queryable, sub: SubscriptionRow, before: SubscriptionObject, after: SubscriptionRow, now: Date, also: string | null, patch: Record<string, unknown> = {}): Promise<void> {
  const obj = await subscriptionObject(q, after);
  const prev = previousAttributes(before, obj);
  const events: EventInput[] = [...trialNotice(sub, patch, before), { type: 'customer.subscription.updated', object: obj, previousAttributes: prev, customerId: sub.customer }];
  if (also) events.push({ type: also, object: obj, previousAttributes: prev, customerId: sub.customer });
  await recordEvents(q, now, events);
}

/**
 * The pending update's invoice was paid by a later attempt: the change applies now, with
 * customer.subscription.updated and Stripe's customer.subscription.pending_update_applied.
 */
export async function applyPaidPendingUpdate(q: Queryable, sub: SubscriptionRow, now: Date): Promise<SubscriptionRow> {
  const before = await subscriptionObject(q, sub);
  const after = await applyPendingUpdate(q, sub, now);
  await recordChange(q, sub, before, after, now, 'customer.subscription.pending_update_applied', sub.pending_update!.patch);
  return after;
}

/**
 * Discards the pending update waiting on `invoice` (voided, or expiring: then with Stripe's
 * customer.subscription.pending_update_expired). Nothing if the invoice is not a pending update's.
 */
export async function discardPendingUpdate(q: Queryable, invoice: { id: string; subscription: string | null }, now: Date, expired = false): Promise<void> {
  if (!invoice.subscription) return;
  const sub = await findSubscription(q, invoice.subscription, true);
  if (!sub || sub.pending_update?.invoice !== invoice.id) return;
  const before = await subscriptionObject(q, sub);
  const after = await updateSubscriptionRow(q, sub.id, { pending_update: null, pending_update_expires_at: null, updated: now });
  await recordChange(q, sub, before, after, now, expired ? 'customer.subscription.pending_update_expired' : null);
}
