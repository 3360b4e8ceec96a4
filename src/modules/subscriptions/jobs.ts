import { addSeconds } from '../../core/time/index.js';
import type { Db, Queryable } from '../../db/index.js';
import { claimRows } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { recordEvent } from '../events/service.js';
import { createInvoices, finalizeInvoices, markUncollectible, voidInvoice } from '../invoices/service.js';
import { collectInvoices } from '../invoices/collect.js';
import { announceEndedDiscounts, recordLapsedDiscounts } from '../invoices/discount-ends.js';
import type { DiscountRow } from '../coupons/repository.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { defaultPaymentMethodFor } from '../payments/service.js';
import { discountsFor, loadPricing, pendingItemsFor, pendingLines } from './billing.js';
import { storeStretch } from './proration-items.js';
import { nextCycle, scheduleOf } from './drafts.js';
import { itemsOf, replaceItems, type ItemRow, type SubscriptionRow } from './repository.js';
import { subscriptionObject } from './serialize.js';
import { currentPeriodPaid, stopCollection, transition } from './state.js';
import { isPlainRenewal, renewPlain } from './renewals.js';
import { discardPendingUpdate } from './pending-update.js';
import { newId } from '../../core/ids/index.js';
import { markOverdueInvoices } from '../documents/net-terms.js';
import { drainPasses, heldFilter, runPass, type HoldableJob } from '../../jobs/holds.js';
import { schedulePhaseStarted } from '../subscription-schedules/lifecycle.js';
import { isScheduleId, type ScheduleRow } from '../subscription-schedules/repository.js';
import { applyScheduleStep, startSchedule } from '../subscription-schedules/service.js';

// The billing worker's due work. Each function claims a batch of due rows for one scope (real time:
// rows without a test clock; or one test clock's rows) with FOR UPDATE SKIP LOCKED, and handles them
// in the caller's transaction. The unique index on (subscription, period_start) makes a double
// renewal impossible even if two workers were to claim the same subscription.

export type BillingDeps = Pick<AppDeps, 'gateways' | 'config'>;

export interface Scope {
  /** null: objects on real time; otherwise the test clock whose objects to advance. */
  clock: string | null;
}

function scopeSql(scope: Scope, param: number): string {
  return scope.clock === null ? 'test_clock IS NULL' : `test_clock = $${param}`;
}
const scopeParams = (scope: Scope) => (scope.clock === null ? [] : [scope.clock]);

/** Statuses whose period end is due work (renewal, trial end, period-end cancellation). */
export const RENEWABLE_STATUSES = ['trialing', 'active', 'past_due', 'unpaid'] as const;
const RENEWABLE = `status IN (${RENEWABLE_STATUSES.map((s) => `'${s}'`).join(', ')})`;
/** Not ended: an ended subscription's leftover pause_collection never resumes (no event after .deleted). */
const LIVE = `status NOT IN ('canceled', 'incomplete_expired')`;
/** Can take a schedule's step inside a period: live and past its first payment. */
const STEPPABLE = `status NOT IN ('canceled', 'incomplete_expired', 'incomplete')`;

/** Names of the billing jobs, as stored with a held row (src/jobs/holds.ts). */
export const JOB = {
  expireIncomplete: 'billing.expire_incomplete',
  pendingUpdates: 'billing.expire_pending_update',
  trialWillEnd: 'billing.trial_will_end',
  resumes: 'billing.resume_collection',
  cancelAt: 'billing.cancel_at',
  periodEnds: 'billing.period_end',
  finalize: 'billing.finalize',
  payments: 'billing.payment',
  overdue: 'billing.overdue',
  scheduleStarts: 'billing.schedule_start',
  scheduleSteps: 'billing.schedule_step',
  discountEnds: 'billing.discount_end',
} as const;

/**
 * Ended discounts (a `repeating` one past its months) still without their customer.discount.deleted that
 * no renewal will announce. The renewal that bills the first period starting at or after a discount's
 * end announces it (renewals.ts), and the subscription lists the discount until then; so a discount of
 * a subscription that renews (or a customer's own, when one of the customer's subscriptions renews)
 * waits for it, and the claim reads past those (at most a billing period's worth of discounts that end
 * inside a period). The claim of billing.discount_end and nextDueAt share this condition, so a test
 * clock stops at each end. Each probe is by a key (the customer, the subscription, the customer's
 * subscriptions), whatever the number of rows.
 */
const unannouncedDiscountEnds = (scope: Scope) =>
  `d.deleted_event_at IS NULL AND d.deleted_at IS NULL AND d.end_at IS NOT NULL
     AND ${scope.clock === null ? 'NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = d.customer AND c.test_clock IS NOT NULL)' : 'EXISTS (SELECT 1 FROM customers c WHERE c.id = d.customer AND c.test_clock = $1)'}
     AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription AND s.${RENEWABLE})
     AND NOT (d.subscription IS NULL AND d.invoice IS NULL AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.customer = d.customer AND s.${RENEWABLE}))`;

/** On real time, claims skip rows held after failing alone; a test clock's advance fails instead. */
const skipHeld = (scope: Scope, job: string, table: string, now: string) => (scope.clock === null ? ` AND ${heldFilter(job, `${table}.id`, now)}` : '');

/**
 * The hot claims' SQL (a claim's ORDER BY is its index's order: see migration 0010 and claimRows).
 * Exported so a test can check each one's plan.
 */
export const claims = {
  resumes: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE pause_collection->>'resumes_at' IS NOT NULL AND (pause_collection->>'resumes_at')::bigint <= $${scope.clock ? 2 : 1} AND ${LIVE} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.resumes, 'subscriptions', `to_timestamp($${scope.clock ? 2 : 1})`)} ORDER BY id`,
  // A cancel_at inside the current period (one in a later period waits for that period's renewal).
  cancelAt: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE cancel_at IS NOT NULL AND ${LIVE} AND cancel_at <= $${scope.clock ? 2 : 1} AND cancel_at <= current_period_end AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.cancelAt, 'subscriptions', '$1')} ORDER BY cancel_at, id`,
  periodEnds: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE ${RENEWABLE} AND current_period_end <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.periodEnds, 'subscriptions', '$1')} ORDER BY current_period_end, id`,
  finalize: (scope: Scope) =>
    `SELECT id FROM invoices WHERE status = 'draft' AND auto_advance AND finalize_at <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.finalize, 'invoices', '$1')} ORDER BY finalize_at, id`,
  payments: (scope: Scope) =>
    `SELECT * FROM invoices WHERE status = 'open' AND next_payment_attempt <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.payments, 'invoices', '$1')} ORDER BY next_payment_attempt, id`,
  trialWillEnd: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE status = 'trialing' AND NOT trial_will_end_sent AND trial_end - interval '3 days' <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.trialWillEnd, 'subscriptions', '$1')} ORDER BY trial_end`,
  expireIncomplete: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE status = 'incomplete' AND incomplete_expires_at <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.expireIncomplete, 'subscriptions', '$1')} ORDER BY incomplete_expires_at`,
  // Subscription schedules whose start_date came: their subscription is created then.
  scheduleStarts: (scope: Scope) =>
    `SELECT * FROM subscription_schedules WHERE status = 'not_started' AND start_date <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.scheduleStarts, 'subscription_schedules', '$1')} ORDER BY start_date, id`,
  // A schedule's phase change inside a billing period, due at its step_at (Unix seconds). An incomplete
  // subscription (first payment pending) takes no change until it is paid (Stripe: only metadata and the
  // payment method change then); it waits, and applies late if still inside the period.
  scheduleSteps: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE pending_schedule->>'step_at' IS NOT NULL AND (pending_schedule->>'step_at')::bigint <= $${scope.clock ? 2 : 1} AND ${STEPPABLE} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.scheduleSteps, 'subscriptions', `to_timestamp($${scope.clock ? 2 : 1})`)} ORDER BY (pending_schedule->>'step_at')::bigint, id`,
  discountEnds: (scope: Scope) =>
    `SELECT d.* FROM discounts d WHERE ${unannouncedDiscountEnds(scope)} AND d.end_at <= $${scope.clock ? 2 : 1}${skipHeld(scope, JOB.discountEnds, 'd', '$1')} ORDER BY d.end_at, d.id`,
  pendingUpdates: (scope: Scope) =>
    `SELECT * FROM subscriptions WHERE pending_update_expires_at <= $${scope.clock ? 2 : 1} AND ${scopeSql(scope, 1)}${skipHeld(scope, JOB.pendingUpdates, 'subscriptions', '$1')} ORDER BY pending_update_expires_at, id`,
};

/** The earliest instant at which some work of this scope becomes due (for test clock stepping). */
export async function nextDueAt(q: Queryable, scope: Scope): Promise<Date | null> {
  const s = scopeSql(scope, 1);
  const { rows } = await q.query<{ t: Date | null }>(
    // LEAST of scalar subqueries, not min() over a UNION ALL: the same answer (LEAST skips NULLs), planned
    // in about a fifth of the time — on PGlite this query runs at every step of a test clock's advance.
    `SELECT LEAST(
       (SELECT min(current_period_end) AS t FROM subscriptions WHERE ${RENEWABLE} AND ${s}),
       (SELECT min(trial_end - interval '3 days') FROM subscriptions WHERE status = 'trialing' AND NOT trial_will_end_sent AND ${s}),
       (SELECT min(incomplete_expires_at) FROM subscriptions WHERE status = 'incomplete' AND ${s}),
       (SELECT min(pending_update_expires_at) FROM subscriptions WHERE pending_update_expires_at IS NOT NULL AND ${s}),
       (SELECT min(cancel_at) FROM subscriptions WHERE cancel_at IS NOT NULL AND ${LIVE} AND cancel_at <= current_period_end AND ${s}),
       (SELECT min(to_timestamp((pause_collection->>'resumes_at')::bigint)) FROM subscriptions WHERE pause_collection->>'resumes_at' IS NOT NULL AND ${LIVE} AND ${s}),
       (SELECT min(finalize_at) FROM invoices WHERE status = 'draft' AND auto_advance AND ${s}),
       (SELECT min(next_payment_attempt) FROM invoices WHERE status = 'open' AND ${s}),
       (SELECT min(due_date) FROM invoices WHERE status = 'open' AND due_date IS NOT NULL AND overdue_at IS NULL AND ${s}),
       (SELECT min(start_date) FROM subscription_schedules WHERE status = 'not_started' AND ${s}),
       (SELECT min(to_timestamp((pending_schedule->>'step_at')::bigint)) FROM subscriptions WHERE pending_schedule->>'step_at' IS NOT NULL AND ${STEPPABLE} AND ${s}),
       (SELECT min(d.end_at) FROM discounts d WHERE ${unannouncedDiscountEnds(scope)})
     ) AS t`,
    scopeParams(scope),
  );
  return rows[0]?.t ? new Date(rows[0].t) : null;
}

/** Starts the subscription schedules whose start_date came (each creates its subscription, charged then). */
export async function startDueSchedules(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<ScheduleRow>(q, claims.scheduleStarts(scope), [...scopeParams(scope), now], limit);
  for (const s of rows) await startSchedule({ q, deps, now }, s);
  return rows.length;
}

/** Applies the schedule phase changes due inside a billing period (prorated, as an update at that instant). */
export async function applyScheduleSteps(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.scheduleSteps(scope), [...scopeParams(scope), Math.floor(now.getTime() / 1000)], limit);
  for (const sub of rows) await applyScheduleStep({ q, deps, now }, sub);
  return rows.length;
}

/** `customer.subscription.trial_will_end`, 3 days before a trial ends (Stripe's notice). */
export async function sendTrialWillEnd(q: Queryable, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.trialWillEnd(scope), [...scopeParams(scope), now], limit);
  for (const sub of rows) {
    await q.query(`UPDATE subscriptions SET trial_will_end_sent = true WHERE id = $1`, [sub.id]);
    await recordEvent(q, now, { type: 'customer.subscription.trial_will_end', object: await subscriptionObject(q, { ...sub, trial_will_end_sent: true }), customerId: sub.customer });
  }
  return rows.length;
}

/** Discounts whose end came with no renewal to announce it: customer.discount.deleted (announceEndedDiscounts). */
export async function announceDiscountEnds(q: Queryable, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<DiscountRow>(q, claims.discountEnds(scope), [...scopeParams(scope), now], limit);
  await announceEndedDiscounts(q, rows, now);
  return rows.length;
}

/** A first invoice unpaid for 23 hours: incomplete → incomplete_expired, its invoice voided. */
export async function expireIncomplete(q: Queryable, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.expireIncomplete(scope), [...scopeParams(scope), now], limit);
  for (const sub of rows) {
    await transition(q, sub, { status: 'incomplete_expired', ended_at: now, incomplete_expires_at: null }, now, 'customer.subscription.deleted');
    if (sub.latest_invoice) {
      const inv = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [sub.latest_invoice]);
      if (inv.rows[0]?.status === 'open') await voidInvoice(q, sub.latest_invoice, now);
    }
  }
  return rows.length;
}

/** Pending updates whose invoice was not paid in time: discarded, and their invoice voided (Stripe). */
export async function expirePendingUpdates(q: Queryable, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.pendingUpdates(scope), [...scopeParams(scope), now], limit);
  for (const sub of rows) {
    const invoice = sub.pending_update?.invoice;
    if (!invoice) {
      await q.query(`UPDATE subscriptions SET pending_update_expires_at = NULL WHERE id = $1`, [sub.id]);
      continue;
    }
    await discardPendingUpdate(q, { id: invoice, subscription: sub.id }, now, true);
    const inv = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [invoice]);
    if (inv.rows[0]?.status === 'open' || inv.rows[0]?.status === 'uncollectible') await voidInvoice(q, invoice, now);
  }
  return rows.length;
}

/** pause_collection with resumes_at: collection resumes by itself. */
export async function resumeCollection(q: Queryable, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.resumes(scope), [...scopeParams(scope), Math.floor(now.getTime() / 1000)], limit);
  for (const sub of rows) await transition(q, sub, { pause_collection: null }, now);
  return rows.length;
}

/**
 * Period ends: renewals, trial ends, period-end cancellations and scheduled changes. Each claimed
 * subscription moves exactly one period forward; the worker drains until nothing is due.
 */
export async function advancePeriods(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number, chargeOnFinalize = false): Promise<number> {
  const { rows: subs } = await claimRows<SubscriptionRow>(q, claims.periodEnds(scope), [...scopeParams(scope), now], limit);
  if (subs.length === 0) return 0;
  const items = await itemsOf(
    q,
    subs.map((s) => s.id),
  );
  const priceIds = [...items.values()].flat().map((i) => i.price);
  for (const s of subs) for (const i of s.pending_schedule?.items ?? []) priceIds.push(i.price);
  const pricing = await loadPricing(q, priceIds);
  const plain = subs.filter(isPlainRenewal);
  await renewPlain(q, plain, items, pricing, now, deps.config, chargeOnFinalize ? deps : undefined);
  for (const sub of subs) if (!isPlainRenewal(sub)) await advanceOne(q, deps, sub, items.get(sub.id) ?? [], pricing, now);
  return subs.length;
}

/** cancel_at inside the current period has come: the subscription ends then (endSubscription). */
export async function cancelAtDue(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<SubscriptionRow>(q, claims.cancelAt(scope), [...scopeParams(scope), now], limit);
  for (const sub of rows) await endSubscription(q, deps, sub, new Date(sub.cancel_at!), now);
  return rows.length;
}

/**
 * A scheduled end (cancel_at_period_end, cancel_at) takes effect at `at`: before the period's end, the
 * time after `at` is credited (unless proration_behavior none was asked, or the period was billed only
 * up to `at` already); the subscription is canceled (.deleted), its collection stops, and its pending
 * prorations go on one final invoice (Stripe: "left in place and collected at the end of the period").
 */
async function endSubscription(q: Queryable, deps: BillingDeps, sub: SubscriptionRow, at: Date, now: Date): Promise<void> {
  const periodEnd = new Date(sub.current_period_end);
  // Only time that was paid for is credited: not a trial, a pause or a free stub, nor a period whose
  // renewal billed it only up to cancel_at already.
  const paidPeriod = currentPeriodPaid(sub) && at > new Date(sub.current_period_start);
  if (at < periodEnd && sub.cancel_at_prorate && !sub.cancel_billed_to && paidPeriod) {
    await storeStretch(q, sub, { kind: 'credit', from: at, to: periodEnd }, at, false);
  }
  await transition(
    q,
    sub,
    { status: 'canceled', canceled_at: sub.canceled_at ?? at, ended_at: at, cancel_at_period_end: false, cancellation_details: { ...sub.cancellation_details, reason: 'cancellation_requested' } },
    now,
    'customer.subscription.deleted',
  );
  await stopCollection(q, sub.id, now);
  await invoicePendingAtEnd(q, deps, sub, at, now);
}

export async function advanceOne(q: Queryable, deps: BillingDeps, sub: SubscriptionRow, items: ItemRow[], pricing: Awaited<ReturnType<typeof loadPricing>>, now: Date): Promise<void> {
  const periodEnd = new Date(sub.current_period_end);
  // Ends instead of renewing: at the period end, or at a cancel_at the period reached (a late worker).
  const cancelAt = sub.cancel_at ? new Date(sub.cancel_at) : null;
  if (sub.cancel_at_period_end || (cancelAt && cancelAt <= periodEnd)) {
    await endSubscription(q, deps, sub, sub.cancel_at_period_end || !cancelAt ? periodEnd : cancelAt, now);
    return;
  }
  const patch: Partial<SubscriptionRow> = {};
  if (sub.status === 'trialing') {
    const pm = await defaultPaymentMethodFor(q, { subscriptionDefault: sub.default_payment_method, customerId: sub.customer });
    if (!pm && sub.trial_missing_pm_behavior === 'cancel') {
      await transition(q, sub, { status: 'canceled', canceled_at: periodEnd, ended_at: periodEnd, cancellation_details: { reason: 'cancellation_requested', comment: 'The trial ended without a payment method.' } }, now, 'customer.subscription.deleted');
      return;
    }
    if (!pm && sub.trial_missing_pm_behavior === 'pause') {
      await transition(q, sub, { status: 'paused' }, now, 'customer.subscription.paused');
      return;
    }
    patch.status = 'active';
  }
  // The same plan the upcoming preview shows (drafts.ts): a due schedule, the next period, its lines.
  const cycle = nextCycle(sub, items, pricing, () => newId('si'));
  // A due schedule replaces the items before the transition: the event's previous_attributes need the
  // object as it was before that write.
  const before = cycle.applied ? await subscriptionObject(q, sub) : undefined;
  if (cycle.applied) {
    if (sub.pending_schedule?.items) await replaceItems(q, sub.id, cycle.items);
    Object.assign(patch, cycle.applied);
  }
  const next = cycle.period;
  patch.current_period_start = next.start;
  patch.current_period_end = next.end;
  // A subscription schedule's step applied: the subscription takes on the following one.
  if (cycle.applied && isScheduleId(sub.pending_schedule?.id)) {
    Object.assign(patch, await schedulePhaseStarted(q, sub.pending_schedule!.id, sub.id, next.start, now, scheduleOf({ ...sub, ...patch })));
  }
  // A free stub stays free until the period at the anchor starts.
  if (sub.free_stub && !cycle.freeStub) patch.free_stub = false;
  // The new period is billed up to a cancel_at inside it, or in full.
  patch.cancel_billed_to = cycle.cancelCredited ? new Date(sub.cancel_at!) : null;

  const pending = (await pendingItemsFor(q, [sub])).get(sub.id)!;
  // Nothing to bill (the free stub to a later anchor, no pending items): no invoice, as Stripe.
  if (cycle.lines.length === 0 && pending.length === 0) {
    await transition(q, sub, patch, now, undefined, before);
    return;
  }
  const discounts = (await discountsFor(q, [sub], new Map([[sub.id, next.start]]))).get(sub.id)!;
  // A `repeating` discount that ended by the new period's start: its customer.discount.deleted now.
  await recordLapsedDiscounts(q, [{ subscription: sub.id, customer: sub.customer, at: next.start }], now);
  const paused = sub.pause_collection?.behavior ?? null;
  const [built] = await createInvoices(
    q,
    [
      {
        customer: sub.customer,
        subscription: sub.id,
        currency: sub.currency,
        billingReason: 'subscription_cycle',
        periodStart: next.start,
        periodEnd: next.end,
        // A schedule's phase starting here may change how the subscription collects, from this invoice on.
        collectionMethod: patch.collection_method ?? sub.collection_method,
        daysUntilDue: patch.days_until_due !== undefined ? patch.days_until_due : sub.days_until_due,
        // keep_as_draft and unpaid subscriptions (Stripe: invoices are created, not collected) stay drafts.
        autoAdvance: paused !== 'keep_as_draft' && sub.status !== 'unpaid',
        finalizeAt: paused || sub.status === 'unpaid' ? null : addSeconds(now, deps.config.finalizeDelaySeconds),
        defaultPaymentMethod: null,
        testClock: sub.test_clock,
        // A schedule's phase starting here may turn automatic tax on or off, from this invoice on.
        automaticTax: patch.automatic_tax ?? sub.automatic_tax,
        lines: [...cycle.lines, ...pendingLines(pending)],
        discounts,
      },
    ],
    now,
    deps.config.tax,
  );
  if (built) {
    patch.latest_invoice = built.invoice.id;
    if (paused === 'mark_uncollectible' || paused === 'void') {
      await finalizeInvoices(q, [built.invoice.id], now, { config: deps.config });
      const { rows } = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [built.invoice.id]);
      if (rows[0]?.status === 'open') {
        if (paused === 'void') await voidInvoice(q, built.invoice.id, now);
        else await markUncollectible(q, built.invoice.id, now);
      }
    }
  }
  await transition(q, sub, patch, now, undefined, before);
}

/**
 * Stripe: at a cancellation at period end, the subscription's pending prorations are "left in place
 * and collected at the end of the period" — one final invoice, finalised and charged as a renewal is.
 */
async function invoicePendingAtEnd(q: Queryable, deps: BillingDeps, sub: SubscriptionRow, periodEnd: Date, now: Date): Promise<void> {
  const pending = (await pendingItemsFor(q, [sub])).get(sub.id)!.filter((i) => i.subscription === sub.id);
  if (pending.length === 0) return;
  await createInvoices(
    q,
    [
      {
        customer: sub.customer,
        subscription: sub.id,
        currency: sub.currency,
        billingReason: 'subscription_update',
        periodStart: periodEnd,
        periodEnd: periodEnd,
        collectionMethod: sub.collection_method,
        daysUntilDue: sub.days_until_due,
        autoAdvance: true,
        finalizeAt: addSeconds(now, deps.config.finalizeDelaySeconds),
        defaultPaymentMethod: null,
        testClock: sub.test_clock,
        automaticTax: sub.automatic_tax,
        lines: pendingLines(pending),
        discounts: [],
      },
    ],
    now,
    deps.config.tax,
  );
}

/** Drafts whose finalisation time has come (renewals wait finalizeDelaySeconds, as Stripe's hour). */
export async function finalizeDue(q: Queryable, scope: Scope, now: Date, limit: number, deps?: BillingDeps, chargeOnFinalize = false): Promise<number> {
  const { rows } = await claimRows<{ id: string }>(q, claims.finalize(scope), [...scopeParams(scope), now], limit);
  await finalizeInvoices(
    q,
    rows.map((r) => r.id),
    now,
    { config: deps?.config, onCurrencyMismatch: 'skip' },
    chargeOnFinalize ? deps : undefined,
  );
  return rows.length;
}

/** Automatic payment attempts that are due. */
export async function payDue(q: Queryable, deps: BillingDeps, scope: Scope, now: Date, limit: number): Promise<number> {
  const { rows } = await claimRows<InvoiceRow>(q, claims.payments(scope), [...scopeParams(scope), now], limit);
  await collectInvoices(q, deps, rows, now);
  return rows.length;
}

/**
 * Runs every billing job once for a scope at `now` (runPass: a failed batch does not stop the other
 * jobs; on real time its rows are retried one by one and a row that fails alone is held).
 */
export async function runBillingPass(db: Db, deps: BillingDeps, scope: Scope, now: Date): Promise<number> {
  const chargeOnFinalize = deps.config.chargeOnFinalize ?? db.kind === 'pglite';
  const jobs: HoldableJob[] = [
    { name: JOB.expireIncomplete, run: (q, limit) => expireIncomplete(q, scope, now, limit) },
    // Before renewals: a pending update expires by its period's end at the latest.
    { name: JOB.pendingUpdates, run: (q, limit) => expirePendingUpdates(q, scope, now, limit) },
    { name: JOB.trialWillEnd, run: (q, limit) => sendTrialWillEnd(q, scope, now, limit) },
    { name: JOB.resumes, run: (q, limit) => resumeCollection(q, scope, now, limit) },
    { name: JOB.scheduleStarts, run: (q, limit) => startDueSchedules(q, deps, scope, now, limit) },
    // Before renewals: a step inside the period ending now comes first (a late one is left to the renewal).
    { name: JOB.scheduleSteps, run: (q, limit) => applyScheduleSteps(q, deps, scope, now, limit) },
    // Before renewals: a subscription whose cancel_at has come ends instead of renewing.
    { name: JOB.cancelAt, run: (q, limit) => cancelAtDue(q, deps, scope, now, limit) },
    { name: JOB.periodEnds, run: (q, limit) => advancePeriods(q, deps, scope, now, limit, chargeOnFinalize) },
    // After renewals: a renewal passing a discount's end announces it itself.
    { name: JOB.discountEnds, run: (q, limit) => announceDiscountEnds(q, scope, now, limit) },
    { name: JOB.finalize, run: (q, limit) => finalizeDue(q, scope, now, limit, deps, chargeOnFinalize) },
    { name: JOB.payments, run: (q, limit) => payDue(q, deps, scope, now, limit) },
    // NET terms: send_invoice invoices unpaid at their due date.
    { name: JOB.overdue, run: (q, limit) => markOverdueInvoices(q, scope, now, limit, JOB.overdue) },
  ];
  return runPass(db, jobs, deps.config.workerBatchSize, now, scope.clock === null);
}

/** Runs passes until nothing of the scope is due at `now`. */
export async function drainBilling(db: Db, deps: BillingDeps, scope: Scope, now: Date, maxPasses = 100_000): Promise<number> {
  return drainPasses(() => runBillingPass(db, deps, scope, now), { maxPasses });
}
