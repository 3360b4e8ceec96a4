// The schedule's side of the subscription's life: what the subscription carries as its next step, and
// what the schedule becomes when the subscription reaches a phase's start or ends. Called from the
// subscription's own code (renewal, transition), so it uses none of the subscription's services —
// only its row types, its period arithmetic and the pending-item writer.
import type { Queryable } from '../../db/index.js';
import { fromUnix, toUnix } from '../../core/time/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import { mergeMetadata } from '../customers/service.js';
import { recordEvent } from '../events/service.js';
import { addInvoiceItems } from '../subscriptions/add-invoice-items.js';
import { periodContainingTime, type BillingSchedule } from '../subscriptions/domain/periods.js';
import type { SubscriptionRow } from '../subscriptions/repository.js';
import { applyPhaseDiscounts } from './discounts.js';
import { anchorsAtStart, effectiveSettings } from './domain/phases.js';
import { findSchedule, updateSchedule, type ScheduleRow } from './repository.js';
import { scheduleObject, type ScheduleObject } from './serialize.js';

/**
 * What the subscription carries while phase `k` is in force: the next phase's items for the phase's
 * end, or the end itself — a release (the items stay) or, with end_behavior cancel, a cancel_at. An
 * end on a period boundary of `billing` (the subscription's schedule) is applied by the renewal there;
 * one inside a period carries step_at, for the worker to apply at that instant, prorated.
 */
export function stepFor(s: ScheduleRow, k: number, billing: BillingSchedule): Pick<SubscriptionRow, 'pending_schedule' | 'cancel_at'> {
  const phase = s.phases[k]!;
  const end = fromUnix(phase.end_date);
  const effective_at = end.toISOString();
  const inside = periodContainingTime(billing, end).start.getTime() !== end.getTime();
  const step = inside ? { step_at: phase.end_date } : {};
  const next = s.phases[k + 1];
  // A trial at the next phase's start is the renewal's to apply (a phase starting inside a period takes none).
  const trial = next?.trial_end && !inside ? { trial_end: next.trial_end } : {};
  // Its collection method with it (its default payment method is put in place when it starts: schedulePhaseStarted).
  const settings = next ? effectiveSettings(next, s.default_settings ?? {}) : {};
  const collection = settings.collection_method ? { collection_method: settings.collection_method, days_until_due: settings.days_until_due ?? null } : {};
  const reset = next && anchorsAtStart(next, s.default_settings ?? {}) ? { reset_anchor: true as const } : {};
  if (next) return { pending_schedule: { id: s.id, items: next.items, effective_at, ...step, ...trial, ...collection, ...reset }, cancel_at: null };
  // A cancel_at ends the subscription there itself (billed up to it), inside a period or not.
  if (s.end_behavior === 'cancel') return { pending_schedule: { id: s.id, items: null, effective_at }, cancel_at: end };
  return { pending_schedule: { id: s.id, items: null, effective_at, ...step }, cancel_at: null };
}

/**
 * The index of the phase in force on a subscription: the one whose end is the step it carries (a step
 * inside a period is applied later than the period's start, so the period alone cannot tell); before
 * the schedule installed a step, the one containing the current period's start.
 */
export function phaseIndexOf(s: ScheduleRow, sub: Pick<SubscriptionRow, 'current_period_start' | 'pending_schedule'>): number {
  if (sub.pending_schedule?.id === s.id) {
    const end = toUnix(new Date(sub.pending_schedule.effective_at));
    const k = s.phases.findIndex((p) => p.end_date === end);
    if (k >= 0) return k;
  }
  const t = toUnix(new Date(sub.current_period_start));
  const k = s.phases.findIndex((p) => p.start_date <= t && t < p.end_date);
  return k < 0 ? s.phases.length - 1 : k;
}

/** The API object: its default_settings show the subscription's collection method and automatic tax. */
export async function scheduleObjectOf(q: Queryable, s: ScheduleRow, now: Date): Promise<ScheduleObject> {
  const subId = s.subscription ?? s.released_subscription;
  const { rows } = subId
    ? await q.query<Pick<SubscriptionRow, 'collection_method' | 'automatic_tax'>>(`SELECT collection_method, automatic_tax FROM subscriptions WHERE id = $1`, [subId])
    : { rows: [] };
  return scheduleObject(s, now, rows[0]);
}

async function record(q: Queryable, s: ScheduleRow, type: string, now: Date, previous?: Record<string, unknown>): Promise<void> {
  await recordEvent(q, now, { type, object: await scheduleObjectOf(q, s, now), customerId: s.customer, ...(previous ? { previousAttributes: previous } : {}) });
}

/**
 * The renewal at `at` applied the schedule's step: the next phase starts (its successor's step is
 * returned for the subscription to carry), or — past the last phase — the schedule releases the
 * subscription (end_behavior release; `cancel` ends it before any renewal). `at` is the phase's start
 * unless the periods moved under the schedule (a paused subscription resumed with a new anchor): then
 * the step applied at the first renewal after it, and the phase containing `at` is the one in force.
 */
export async function schedulePhaseStarted(
  q: Queryable,
  scheduleId: string,
  subId: string,
  at: Date,
  now: Date,
  billing: BillingSchedule,
  opts: { itemsAdded?: boolean } = {},
): Promise<Partial<SubscriptionRow>> {
  const s = await findSchedule(q, scheduleId, true);
  if (!s || s.status !== 'active') return {};
  const t = toUnix(at);
  const k = s.phases.findIndex((p) => p.start_date <= t && t < p.end_date);
  if (k >= 0) {
    // Its one-time prices join the invoice this renewal is about to make (pending items of the subscription).
    if (!opts.itemsAdded) await addInvoiceItems(q, { id: subId, customer: s.customer, currency: s.currency }, s.phases[k]!.add_invoice_items, now, { checked: true });
    // Its discount too, from its start: the renewal's invoice there takes it (read after this).
    await applyPhaseDiscounts(q, { id: subId, customer: s.customer }, s.phases[k]!.discounts, at);
    const phase = s.phases[k]!;
    const tax = effectiveSettings(phase, s.default_settings ?? {}).automatic_tax;
    return {
      ...(await phasePaymentMethod(q, s, k)),
      // Its automatic_tax (its own, else the schedule's default): the renewal's invoice there takes it.
      ...(tax != null ? { automatic_tax: tax } : {}),
      ...(await phaseMetadata(q, subId, phase.metadata)),
      ...(phase.description ? { description: phase.description } : {}),
      ...stepFor(s, k, billing),
    };
  }
  const released = await updateSchedule(q, s.id, { status: 'released', released_at: at, released_subscription: subId, subscription: null });
  await record(q, released, 'subscription_schedule.released', now);
  return {};
}

/**
 * The default payment method phase `k` sets (its own or the schedule's default), if it is still the
 * customer's: one detached since the phases were set is left out (the subscription keeps its own).
 */
export async function phasePaymentMethod(q: Queryable, s: ScheduleRow, k: number): Promise<Pick<SubscriptionRow, 'default_payment_method'> | Record<string, never>> {
  const pm = effectiveSettings(s.phases[k]!, s.default_settings ?? {}).default_payment_method;
  if (!pm) return {};
  const { rows } = await q.query(`SELECT 1 FROM payment_methods WHERE id = $1 AND customer = $2 AND detached_at IS NULL`, [pm, s.customer]);
  return rows[0] ? { default_payment_method: pm } : {};
}

/**
 * Stripe: "Metadata on a schedule's phase will update the underlying subscription's metadata when the
 * phase is entered, adding new keys and replacing existing keys … an empty value unsets a key." More
 * than 50 keys in all leaves the subscription's as they are (a renewal cannot fail on it).
 */
async function phaseMetadata(q: Queryable, subId: string, metadata: Record<string, string>): Promise<Pick<SubscriptionRow, 'metadata'> | Record<string, never>> {
  if (Object.keys(metadata).length === 0) return {};
  const { rows } = await q.query<Pick<SubscriptionRow, 'metadata'>>(`SELECT metadata FROM subscriptions WHERE id = $1`, [subId]);
  try {
    return { metadata: mergeMetadata(rows[0]?.metadata ?? {}, metadata) };
  } catch (err) {
    if (err instanceof InvalidRequestError) return {};
    throw err;
  }
}

/**
 * The subscription ended (canceled, or expired incomplete): its schedule completes or is canceled —
 * `subscription_schedule.aborted` when dunning canceled it for failed payments (Stripe's "canceled
 * due to delinquency"), `.canceled` otherwise.
 */
export async function scheduleSubscriptionEnded(q: Queryable, scheduleId: string, sub: SubscriptionRow, now: Date): Promise<void> {
  const s = await findSchedule(q, scheduleId, true);
  if (!s || s.status !== 'active') return;
  const endedAt = sub.ended_at ? new Date(sub.ended_at) : now;
  const last = s.phases[s.phases.length - 1]!;
  const completed = s.end_behavior === 'cancel' && toUnix(endedAt) === last.end_date;
  const after = await updateSchedule(q, s.id, completed ? { status: 'completed', completed_at: endedAt } : { status: 'canceled', canceled_at: endedAt });
  const delinquent = sub.cancellation_details?.reason === 'payment_failed';
  await record(q, after, completed ? 'subscription_schedule.completed' : delinquent ? 'subscription_schedule.aborted' : 'subscription_schedule.canceled', now);
}

/** A deleted customer's schedules that have not started are canceled (their subscription never comes). */
export async function cancelNotStartedSchedules(q: Queryable, customer: string, now: Date): Promise<void> {
  const { rows } = await q.query<ScheduleRow>(
    `UPDATE subscription_schedules SET status = 'canceled', canceled_at = $2 WHERE customer = $1 AND status = 'not_started' RETURNING *`,
    [customer, now],
  );
  for (const s of rows) await record(q, s, 'subscription_schedule.canceled', now);
}

export { record as recordScheduleEvent };
