import { AppError, ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { addIntervals, addSeconds, fromUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { redeemForSubscription, replaceSubscriptionDiscounts, resolveNewDiscounts, type DiscountRequest } from './discounts.js';
import { upcomingPhaseDiscounts } from '../subscription-schedules/discounts.js';
import { getCustomerRow, mergeMetadata } from '../customers/service.js';
import type { CustomerRow } from '../customers/repository.js';
import { previousAttributes, recordEvent, recordEvents } from '../events/service.js';
import { buildInvoice, type InvoiceDraft, type LineDraft } from '../invoices/builder.js';
import { serializeInvoice } from '../invoices/serialize.js';
import { computeInvoiceTotals } from '../invoices/domain/totals.js';
import { applyTax } from '../taxes/context.js';
import { applyInvoiceSettings, createInvoices, draftCustomers, finalizeInvoices, payInvoice, voidInvoice } from '../invoices/service.js';
import { updateInvoiceRow } from '../invoices/repository.js';
import { resolvePaymentMethod } from '../payments/service.js';
import { discountsFor, loadPricing, pendingItemsFor, pendingLines, periodLines, pricedItems, trialLines, unitAmountIn, type PriceInfo } from './billing.js';
import { periodAt, trialEnd as trialEndAfter, type BillingSchedule } from './domain/periods.js';
import { backdatedLines, prorateChange } from './domain/proration.js';
import { anchorFromConfig } from './domain/anchor-config.js';
import { nextCycle, planChange, planResume, planTrialEndNow, pricedPeriod, prorationLine, type ImmediateInvoice, type ProrationBehavior } from './drafts.js';
import { findSubscription, insertItems, insertSubscriptions, itemsOf, listSubscriptionRows, replaceItems, updateSubscriptionRow, type ItemRow, type SubscriptionRow } from './repository.js';
import { listObject, type ListParams } from '../../http/pagination.js';
import { paymentSettings } from './payment-settings.js';
import type { CreateSubscriptionInput, UpdateSubscriptionInput } from './schemas.js';
import { subscriptionObject, subscriptionObjects, type SubscriptionObject } from './serialize.js';
import { prorationDrafts, storeProrationItems, storeStretch } from './proration-items.js';
import { currentPeriodPaid, stopCollection, transition } from './state.js';
import { catchUpPeriods, periodDue } from './catch-up.js';
import { addInvoiceItems } from './add-invoice-items.js';
import { withPendingSetupIntent } from './setup-intent.js';
import { applyPendingUpdate, assertPendingUpdateAllowed, discardPendingUpdate, keepPendingUpdate, parkPendingUpdate, trialNotice } from './pending-update.js';
import { deleteInvoiceItem } from '../invoices/items.js';
import { MAX_TRIAL_PERIOD_DAYS } from '../catalog/domain/recurring.js';
import { isScheduleId } from '../subscription-schedules/repository.js';

// Subscription use cases behind the API. Each runs inside the caller's transaction. Time is the
// request's `now`, or the customer's test clock when the customer has one.

export interface Ctx {
  q: Queryable;
  deps: Pick<AppDeps, 'gateways' | 'config'>;
  now: Date;
}

const INCOMPLETE_TTL_SECONDS = 23 * 3600;

/** A trial lasts at most 730 days however it is given: trial_end has trial_period_days' bound, as on Stripe. */
function assertTrialLength(now: Date, trialEnd: Date): void {
  if (trialEnd.getTime() - now.getTime() > MAX_TRIAL_PERIOD_DAYS * 86_400_000) {
    throw new InvalidRequestError(`trial_end can be at most ${MAX_TRIAL_PERIOD_DAYS} days after the current time.`, 'trial_end', 'parameter_invalid');
  }
}

/** Objects attached to a test clock live at the clock's frozen time. */
export async function effectiveNow(q: Queryable, testClock: string | null, now: Date): Promise<Date> {
  if (!testClock) return now;
  const { rows } = await q.query<{ frozen_time: Date }>(`SELECT frozen_time FROM test_clocks WHERE id = $1`, [testClock]);
  return rows[0] ? new Date(rows[0].frozen_time) : now;
}

/**
 * A subscription locked for a change, with the time it lives at (its test clock's). A period that has
 * ended but that the worker has not renewed yet is renewed (or ended) first, as Stripe would have at
 * the period end, so the change applies to the period that contains now.
 */
export async function lockCaughtUp(ctx: Ctx, id: string, param = 'id'): Promise<{ sub: SubscriptionRow; now: Date }> {
  const sub = await getSubscriptionRow(ctx.q, id, true, param);
  const now = await effectiveNow(ctx.q, sub.test_clock, ctx.now);
  if (!periodDue(sub, now)) return { sub, now };
  await catchUpPeriods(ctx.q, ctx.deps, sub.id, now);
  return { sub: await getSubscriptionRow(ctx.q, id, true, param), now };
}

export async function getSubscriptionRow(q: Queryable, id: string, forUpdate = false, param = 'id'): Promise<SubscriptionRow> {
  const sub = await findSubscription(q, id, forUpdate);
  if (!sub) throw new NotFoundError('subscription', id, param);
  return sub;
}

/** What one full period of these items costs, before discounts and tax. */
function periodAmount(items: { price: string; quantity: number }[], pricing: Map<string, PriceInfo>, currency: string): number {
  return items.reduce((sum, i) => sum + (unitAmountIn(pricing.get(i.price)!.price, currency) ?? 0) * i.quantity, 0);
}

interface ResolvedItem {
  price: string;
  quantity: number;
  metadata: Record<string, string>;
  /** The request parameter this item came from, for errors (merged item lists reorder items). */
  param?: string;
  /** Its price was made from the request's price_data (inactive by design), or checked when a schedule's phase was set: not refused as archived. */
  priceChecked?: boolean;
  /** An item the subscription already has, at the price it already bills: an archived price goes on billing. */
  unchanged?: boolean;
}

/** Validates prices for a subscription: recurring, active, one currency, one interval. */
function validateItems(
  items: ResolvedItem[],
  pricing: Map<string, PriceInfo>,
  customer: CustomerRow,
  currency: string | null,
  paramBase = 'items',
  opts: { allowInactive?: boolean } = {},
): { currency: string; interval: SubscriptionRow['interval']; intervalCount: number } {
  let cur = currency;
  let interval: { interval: SubscriptionRow['interval']; count: number } | null = null;
  const seen = new Set<string>();
  items.forEach((it, i) => {
    const param = it.param ?? `${paramBase}[${i}][price]`;
    const info = pricing.get(it.price);
    if (!info) throw new NotFoundError('price', it.price, param);
    const p = info.price;
    if (!p.active && !opts.allowInactive && !it.priceChecked && !it.unchanged) throw new InvalidRequestError(`The price ${p.id} is not active and cannot be used for new subscriptions.`, param, 'price_inactive');
    if (p.type !== 'recurring') throw new InvalidRequestError(`The price ${p.id} is a one_time price; subscriptions need recurring prices.`, param, 'price_not_recurring');
    if (p.customer && p.customer !== customer.id) throw new InvalidRequestError(`The price ${p.id} belongs to another customer.`, param, 'price_customer_mismatch');
    if (seen.has(p.id)) throw new InvalidRequestError(`The price ${p.id} appears twice; use quantity instead.`, param, 'duplicate_price');
    seen.add(p.id);
    if (cur === null) cur = customer.currency && unitAmountIn(p, customer.currency) !== null ? customer.currency : p.currency;
    if (unitAmountIn(p, cur) === null) {
      throw new InvalidRequestError(`All items of a subscription must have the same currency (${cur}); ${p.id} has no ${cur} amount.`, param, 'currency_mismatch');
    }
    if (interval === null) interval = { interval: p.interval!, count: p.interval_count! };
    else if (interval.interval !== p.interval || interval.count !== p.interval_count) {
      throw new InvalidRequestError(`All items of a subscription must bill on the same interval; ${p.id} bills every ${p.interval_count} ${p.interval}.`, param, 'interval_mismatch');
    }
  });
  if (customer.currency && cur !== customer.currency) {
    throw new InvalidRequestError(`The customer is billed in ${customer.currency}; these prices are in ${cur}.`, `${paramBase}[0][price]`, 'currency_mismatch');
  }
  return { currency: cur!, interval: interval!.interval, intervalCount: interval!.count };
}

function draftFor(sub: SubscriptionRow, o: { reason: InvoiceDraft['billingReason']; period: { start: Date; end: Date }; lines: LineDraft[]; discounts: InvoiceDraft['discounts'] }): InvoiceDraft {
  return {
    customer: sub.customer,
    subscription: sub.id,
    currency: sub.currency,
    billingReason: o.reason,
    periodStart: o.period.start,
    periodEnd: o.period.end,
    collectionMethod: sub.collection_method,
    daysUntilDue: sub.days_until_due,
    autoAdvance: true,
    finalizeAt: null,
    defaultPaymentMethod: null,
    testClock: sub.test_clock,
    automaticTax: sub.automatic_tax,
    lines: o.lines,
    discounts: o.discounts,
  };
}

/** Lines for an invoice of `sub` covering `period` with `items`, plus its pending items. */
async function invoiceDraftNow(q: Queryable, sub: SubscriptionRow, items: ItemRow[], pricing: Map<string, PriceInfo>, reason: InvoiceDraft['billingReason'], period: { start: Date; end: Date }, extra: LineDraft[] = []) {
  const pending = (await pendingItemsFor(q, [sub])).get(sub.id)!;
  const discounts = (await discountsFor(q, [sub], new Map([[sub.id, period.start]]))).get(sub.id)!;
  return draftFor(sub, { reason, period, lines: [...periodLines(sub, items, pricing, period), ...extra, ...pendingLines(pending)], discounts });
}

/** Creates an invoice that an operation makes at once (see drafts.ts); returns its id. */
async function createImmediate(ctx: Ctx, sub: SubscriptionRow, imm: ImmediateInvoice, pricing: Map<string, PriceInfo>, now: Date): Promise<string | null> {
  const draft = await invoiceDraftNow(ctx.q, sub, imm.items, pricing, imm.reason, imm.period, imm.lines);
  return (await createInvoices(ctx.q, [draft], now, ctx.deps.config.tax))[0]?.invoice.id ?? null;
}

/** payment_behavior=error_if_incomplete: the declined payment as Stripe's 402 card error. */
function cardError(error: { code: string; message: string; decline_code?: string | null }): AppError {
  return new AppError(402, 'card_error', error.code, error.message, undefined, error.decline_code ? { decline_code: error.decline_code } : {});
}

/**
 * Finalises and (for charge_automatically) pays an invoice created now. Returns the payment error,
 * if any, so the caller can apply payment_behavior.
 */
async function collectNow(ctx: Ctx, invoiceId: string, sub: SubscriptionRow, charge: boolean) {
  const [fin] = await finalizeInvoices(ctx.q, [invoiceId], ctx.now, { config: ctx.deps.config });
  if (fin && fin.status === 'open' && sub.collection_method === 'charge_automatically' && !charge) {
    // default_incomplete: the invoice waits for the customer to pay it (Stripe: the client confirms the
    // payment); no automatic attempt, so unpaid it expires with the subscription after 23 hours.
    const waiting = await updateInvoiceRow(ctx.q, fin.id, { next_payment_attempt: null });
    return { invoice: waiting, error: null, paymentIntent: null };
  }
  if (!fin || fin.status !== 'open' || sub.collection_method !== 'charge_automatically' || !charge) return { invoice: fin, error: null, paymentIntent: null };
  const res = await payInvoice(ctx.q, ctx.deps, invoiceId, ctx.now);
  return { invoice: res.invoice, error: res.succeeded ? null : res.error, paymentIntent: res.paymentIntent };
}

export async function createSubscription(ctx: Ctx, input: CreateSubscriptionInput): Promise<SubscriptionObject> {
  const { q } = ctx;
  const customer = await getCustomerRow(q, input.customer, { param: 'customer', forUpdate: true });
  const now = await effectiveNow(q, customer.test_clock, ctx.now);
  const c: Ctx = { ...ctx, now };
  const items: ResolvedItem[] = input.items.map((i) => ({ price: i.price, quantity: i.quantity ?? 1, metadata: i.metadata ?? {}, priceChecked: i.priceChecked }));
  const pricing = await loadPricing(
    q,
    items.map((i) => i.price),
  );
  if (input.currency && customer.currency && input.currency !== customer.currency) {
    throw new InvalidRequestError(`The customer is billed in ${customer.currency}; currency ${input.currency} cannot be used.`, 'currency', 'currency_mismatch');
  }
  const terms = validateItems(items, pricing, customer, input.currency ?? null);
  if (input.collection_method === 'send_invoice' && input.days_until_due === undefined) {
    throw new InvalidRequestError('days_until_due is required when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
  }
  if (input.days_until_due !== undefined && input.collection_method !== 'send_invoice') {
    throw new InvalidRequestError('days_until_due can only be set when collection_method is send_invoice.', 'days_until_due', 'parameter_invalid');
  }
  if (input.trial_end !== undefined && input.trial_period_days !== undefined) {
    throw new InvalidRequestError('You may only specify one of trial_end and trial_period_days.', 'trial_period_days', 'parameter_invalid');
  }

  // Stripe's backdate_start_date: a start in the past, the time since billed on the first invoice.
  const backdate = input.backdate_start_date !== undefined ? fromUnix(input.backdate_start_date) : null;
  if (backdate && backdate >= now) throw new InvalidRequestError('backdate_start_date must be in the past.', 'backdate_start_date', 'parameter_invalid');
  // Billed time reaches back two years at most (a trial's bound); kept for the record only (proration_behavior none), any past start.
  if (backdate && input.proration_behavior !== 'none' && now.getTime() - backdate.getTime() > MAX_TRIAL_PERIOD_DAYS * 86_400_000) {
    throw new InvalidRequestError(`A billed backdated start is at most ${MAX_TRIAL_PERIOD_DAYS} days in the past; use proration_behavior none to record an earlier one without billing it.`, 'backdate_start_date', 'parameter_invalid');
  }
  if (backdate && ((input.trial_end !== undefined && input.trial_end !== 'now') || input.trial_period_days)) {
    throw new InvalidRequestError('A backdated subscription starts without a trial in Recur: drop trial_end or trial_period_days.', 'backdate_start_date', 'parameter_invalid');
  }

  // Trial: explicit trial_end (or "now" for none), else trial_period_days, else the prices' default
  // (not for a backdated subscription: it started in the past).
  let trialEnd: Date | null = null;
  if (input.trial_end !== undefined && input.trial_end !== 'now') {
    trialEnd = fromUnix(input.trial_end);
    if (trialEnd <= now) throw new InvalidRequestError('trial_end must be in the future.', 'trial_end', 'parameter_invalid');
    assertTrialLength(now, trialEnd);
  } else if (input.trial_end === undefined) {
    const days = input.trial_period_days ?? (input.trial_from_plan === false || backdate ? 0 : Math.max(0, ...items.map((i) => pricing.get(i.price)!.price.trial_period_days ?? 0)));
    if (days > 0) trialEnd = trialEndAfter(now, days);
  }
  let anchor = trialEnd ?? now;
  const anchorConfig = input.billing_cycle_anchor_config ?? null;
  if (anchorConfig) {
    if (input.billing_cycle_anchor !== undefined) {
      throw new InvalidRequestError('billing_cycle_anchor_config and billing_cycle_anchor are mutually exclusive.', 'billing_cycle_anchor_config', 'parameter_invalid');
    }
    if (terms.interval !== 'month' && terms.interval !== 'year') {
      throw new InvalidRequestError('billing_cycle_anchor_config is only valid with monthly and yearly prices.', 'billing_cycle_anchor_config', 'parameter_invalid');
    }
    // The next occurrence after the trial, when there is one (the anchor cannot precede the trial end).
    anchor = anchorFromConfig(trialEnd ?? now, anchorConfig);
  }
  if (input.billing_cycle_anchor !== undefined || anchorConfig) {
    const param = anchorConfig ? 'billing_cycle_anchor_config' : 'billing_cycle_anchor';
    if (input.billing_cycle_anchor !== undefined) anchor = fromUnix(input.billing_cycle_anchor);
    if (anchor < (trialEnd ?? now)) throw new InvalidRequestError('billing_cycle_anchor must be in the future (and after the trial).', param, 'parameter_invalid');
    // Stripe: at most one period ahead, so the first (prorated) stretch is never longer than a period.
    const natural = periodAt({ anchor: trialEnd ?? now, interval: terms.interval, intervalCount: terms.intervalCount }, 0).end;
    if (anchor > natural) {
      throw new InvalidRequestError(`billing_cycle_anchor cannot be later than the next natural billing date (${Math.floor(natural.getTime() / 1000)}).`, param, 'parameter_invalid');
    }
  }

  const pm = input.default_payment_method ? (await resolvePaymentMethod(q, ctx.deps, input.default_payment_method, customer.id, now, { param: 'default_payment_method' })).id : null;
  // Stripe takes one way of naming the discount: discounts, or coupon / promotion_code.
  if (input.discounts?.length && (input.coupon || input.promotion_code)) {
    throw new InvalidRequestError('Pass either discounts or coupon/promotion_code, not both.', input.coupon ? 'coupon' : 'promotion_code', 'parameter_invalid');
  }
  const discountReqs: DiscountRequest[] = input.discounts?.length ? input.discounts : input.coupon || input.promotion_code ? [{ coupon: input.coupon, promotion_code: input.promotion_code }] : [];
  const discountSources = await resolveNewDiscounts(q, discountReqs, {
    customerId: customer.id,
    now,
    currency: terms.currency,
    // restrictions.minimum_amount: a period of the items, before discounts.
    amount: periodAmount(items, pricing, terms.currency),
    // The parameter as it was sent: discounts[i][coupon] (current SDKs) or coupon (older ones).
    listParam: input.discounts?.length ? 'discounts' : null,
  });

  const cancelAt = input.cancel_at !== undefined ? cancelAtFor(input.cancel_at, input.cancel_at_period_end, now) : null;
  const sched: BillingSchedule = { anchor, interval: terms.interval, intervalCount: terms.intervalCount };
  const firstPeriodEnd = trialEnd ?? (anchor > now ? anchor : periodAt(sched, 0).end);
  // Stripe: "If proration_behavior is none, the initial period up to the billing cycle anchor will be
  // free—similar to a free trial. Unlike a trial, there is no 0 USD invoice." Active at once; the first
  // invoice is the full period at the anchor (the worker's renewal).
  const freeStub = !trialEnd && anchor > now && input.proration_behavior === 'none';
  const sub: SubscriptionRow = {
    id: newId('sub'),
    customer: customer.id,
    // A send_invoice subscription attempts no payment, so it is active from its creation (Stripe: only
    // a failed first charge makes a subscription incomplete).
    status: trialEnd ? 'trialing' : freeStub || input.collection_method === 'send_invoice' ? 'active' : 'incomplete',
    currency: terms.currency,
    interval: terms.interval,
    interval_count: terms.intervalCount,
    collection_method: input.collection_method ?? 'charge_automatically',
    days_until_due: input.days_until_due ?? null,
    default_payment_method: pm,
    payment_settings: paymentSettings(null, input.payment_settings),
    automatic_tax: input.automatic_tax?.enabled ?? true,
    billing_cycle_anchor: anchor,
    current_period_start: now,
    current_period_end: firstPeriodEnd,
    trial_start: trialEnd ? now : null,
    trial_end: trialEnd,
    trial_missing_pm_behavior: input.trial_settings?.end_behavior.missing_payment_method ?? 'create_invoice',
    trial_will_end_sent: false,
    cancel_at_period_end: input.cancel_at_period_end ?? false,
    cancel_at: cancelAt,
    cancel_at_prorate: input.proration_behavior !== 'none',
    cancel_billed_to: null,
    canceled_at: input.cancel_at_period_end || cancelAt ? now : null,
    ended_at: null,
    cancellation_details: {},
    pause_collection: null,
    latest_invoice: null,
    pending_schedule: null,
    pending_update: null,
    pending_update_expires_at: null,
    incomplete_expires_at: null,
    test_clock: customer.test_clock,
    metadata: mergeMetadata({}, input.metadata),
    description: input.description || null,
    billing_cycle_anchor_config: anchorConfig,
    // The stretch to the anchor is free: from now (freeStub), or from the trial end.
    free_stub: freeStub || (trialEnd !== null && anchor > trialEnd && input.proration_behavior === 'none'),
    start_date: backdate,
    created: now,
    updated: now,
  };
  await insertSubscriptions(q, [sub]);
  const itemRows: ItemRow[] = items.map((i) => ({ id: newId('si'), subscription: sub.id, price: i.price, quantity: i.quantity, metadata: i.metadata, created: now }));
  await insertItems(q, itemRows);
  await redeemForSubscription(q, sub.id, customer.id, discountSources, now);
  if (!customer.currency) await q.query(`UPDATE customers SET currency = $2 WHERE id = $1`, [customer.id, sub.currency]);
  const added = await addInvoiceItems(q, sub, input.add_invoice_items, now);

  const behavior = input.payment_behavior ?? 'allow_incomplete';
  // Nothing to pay now, the card to be collected for later (Stripe's pending_setup_intent).
  const collectsCard = behavior === 'default_incomplete' && sub.collection_method === 'charge_automatically';
  if (freeStub) {
    const row = collectsCard ? await withPendingSetupIntent(q, ctx.deps, sub, now) : sub;
    await recordEvent(q, now, { type: 'customer.subscription.created', object: await subscriptionObject(q, row), customerId: customer.id });
    return subscriptionObject(q, row);
  }
  // The first invoice: $0 for a trial; the first period (or the prorated stretch to a future anchor) otherwise.
  // Backdated time runs from the backdated start to `end`, over an interval imagined from that start.
  const backdatedTo = (end: Date) => backdatedLines(pricedItems(sub, itemRows, pricing), backdate!, end, addIntervals(backdate!, terms.interval, terms.intervalCount, 1));
  let draft: InvoiceDraft;
  if (trialEnd) {
    const lines = trialLines(sub, itemRows, pricing, { start: now, end: trialEnd });
    // add_invoice_items are billed at once, on the trial's invoice (with the subscription's discount).
    const fees = added.length ? pendingLines(((await pendingItemsFor(q, [sub])).get(sub.id) ?? []).filter((p) => added.includes(p.id))) : [];
    const discounts = fees.length ? (await discountsFor(q, [sub], new Map([[sub.id, now]]))).get(sub.id)! : [];
    draft = draftFor(sub, { reason: 'subscription_create', period: { start: now, end: trialEnd }, lines: [...lines, ...fees], discounts });
  } else if (anchor > now) {
    // The stretch to the anchor: from now, a share of the interval ending at the anchor; from a backdated start, Stripe's backdated time.
    const full = periodAt(sched, -1);
    const stretch = backdate
      ? backdatedTo(anchor)
      : prorateChange({ oldItems: [], newItems: pricedItems(sub, itemRows, pricing), period: full, prorationDate: now });
    const lines = stretch.map((l, i) => prorationLine(sub, l, itemRows[i]!.id, pricing));
    draft = await invoiceDraftNow(q, sub, [], pricing, 'subscription_create', { start: now, end: anchor }, lines);
  } else {
    // A backdated start bills the time since it with the first period (not with proration_behavior none).
    const since = backdate && input.proration_behavior !== 'none' ? backdatedTo(now).map((l, i) => prorationLine(sub, l, itemRows[i]!.id, pricing)) : [];
    draft = await invoiceDraftNow(q, sub, itemRows, pricing, 'subscription_create', { start: now, end: firstPeriodEnd }, since);
  }
  const [built] = await createInvoices(q, [draft], now, ctx.deps.config.tax);
  // `created` comes before any update, with the starting status and (as Stripe's) the first invoice as
  // latest_invoice; what the first payment changes follows as `customer.subscription.updated`
  // (incomplete → active), so consumers never see an update first.
  let created = await updateSubscriptionRow(q, sub.id, { latest_invoice: built!.invoice.id });
  if (collectsCard && built!.invoice.amount_due === 0) created = await withPendingSetupIntent(q, ctx.deps, created, now);
  await recordEvent(q, now, { type: 'customer.subscription.created', object: await subscriptionObject(q, created), customerId: customer.id });
  const collected = await collectNow(c, built!.invoice.id, created, behavior !== 'default_incomplete');
  // Stripe: the subscription is not created; the whole transaction rolls back.
  if (collected.error && behavior === 'error_if_incomplete') throw cardError(collected.error);
  const paid = collected.invoice?.status === 'paid';
  const status: SubscriptionRow['status'] = trialEnd ? 'trialing' : paid || sub.collection_method === 'send_invoice' ? 'active' : 'incomplete';
  const current = (await findSubscription(q, sub.id, true))!;
  const patch: Partial<SubscriptionRow> = {
    status,
    latest_invoice: built!.invoice.id,
    incomplete_expires_at: status === 'incomplete' ? addSeconds(now, INCOMPLETE_TTL_SECONDS) : null,
  };
  const row = current.status === status ? await updateSubscriptionRow(q, sub.id, patch) : await transition(q, current, patch, now);
  return subscriptionObject(q, row);
}

/** An ended subscription (canceled, incomplete_expired) takes no more changes. */
export function assertNotEnded(sub: SubscriptionRow): void {
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
    throw new InvalidRequestError(`A ${sub.status} subscription can no longer be updated.`, 'id', 'subscription_ended');
  }
}

/**
 * The current period was billed only up to `cancel_billed_to` (its renewal fell short of cancel_at).
 * When cancel_at moves or is cleared, the difference is billed (a later end) or credited (an earlier
 * one) as a pending proration, so the period nets exactly the time it runs; the end then credits
 * nothing more.
 */
async function rebillShortPeriod(q: Queryable, sub: SubscriptionRow, patch: Partial<SubscriptionRow>, now: Date): Promise<void> {
  const periodEnd = new Date(sub.current_period_end);
  const billedTo = new Date(sub.cancel_billed_to!);
  const cancelAt = patch.cancel_at !== undefined ? patch.cancel_at : sub.cancel_at;
  const atPeriodEnd = patch.cancel_at_period_end ?? sub.cancel_at_period_end;
  const newEnd = !atPeriodEnd && cancelAt && new Date(cancelAt) < periodEnd ? new Date(cancelAt) : periodEnd;
  if (newEnd > billedTo) await storeStretch(q, sub, { kind: 'debit', from: billedTo, to: newEnd }, now, true);
  if (newEnd < billedTo) await storeStretch(q, sub, { kind: 'credit', from: newEnd, to: billedTo }, now, true);
  patch.cancel_billed_to = newEnd < periodEnd ? newEnd : null;
}

/**
 * A subscription whose cancel_at has come has ended, whether or not the worker has written it yet:
 * changing it in that gap would bill or credit a subscription that no longer runs (or revive it). So
 * it is refused as an ended one is; the worker ends it at cancel_at.
 */
function assertNotPastCancelAt(sub: SubscriptionRow, now: Date): void {
  if (sub.cancel_at && new Date(sub.cancel_at) <= now) {
    throw new InvalidRequestError(`This subscription ended at its cancel_at (${Math.floor(new Date(sub.cancel_at).getTime() / 1000)}).`, 'id', 'subscription_ended');
  }
}

/** A cancel_at asked for: in the future, and not with cancel_at_period_end (Stripe takes one of them). */
function cancelAtFor(at: number, atPeriodEnd: boolean | undefined, now: Date): Date {
  if (atPeriodEnd) throw new InvalidRequestError('Pass either cancel_at or cancel_at_period_end, not both.', 'cancel_at', 'parameter_invalid');
  const when = fromUnix(at);
  if (when <= now) throw new InvalidRequestError('cancel_at must be in the future.', 'cancel_at', 'parameter_invalid');
  return when;
}

/** Applies Stripe's item-update semantics: entries with `id` change or delete that item, others add one. */
function mergeItems(current: ItemRow[], updates: NonNullable<UpdateSubscriptionInput['items']>, paramBase = 'items'): ResolvedItem[] {
  const result: (ResolvedItem & { id: string; deleted: boolean })[] = current.map((i) => ({ id: i.id, price: i.price, quantity: i.quantity, metadata: i.metadata, deleted: false, unchanged: true }));
  updates.forEach((u, idx) => {
    if (u.id) {
      const target = result.find((r) => r.id === u.id);
      if (!target) throw new NotFoundError('subscription_item', u.id, `${paramBase}[${idx}][id]`);
      if (u.deleted) target.deleted = true;
      if (u.price && u.price !== target.price) {
        target.price = u.price;
        target.param = `${paramBase}[${idx}][price]`;
        target.priceChecked = u.priceChecked;
        target.unchanged = false;
      }
      if (u.quantity !== undefined) target.quantity = u.quantity;
      if (u.metadata) target.metadata = mergeMetadata(target.metadata, u.metadata);
    } else {
      if (!u.price) throw new InvalidRequestError('A new item needs a price.', `${paramBase}[${idx}][price]`, 'parameter_missing');
      result.push({ id: '', price: u.price, quantity: u.quantity ?? 1, metadata: u.metadata ?? {}, deleted: false, param: `${paramBase}[${idx}][price]`, priceChecked: u.priceChecked });
    }
  });
  const kept = result.filter((r) => !r.deleted);
  if (kept.length === 0) throw new InvalidRequestError('A subscription needs at least one item; cancel it instead.', 'items', 'parameter_invalid');
  return kept;
}

/** `bySchedule`: the subscription's own schedule changes its phase (what the API refuses on a managed subscription). */
export async function updateSubscription(ctx: Ctx, id: string, input: UpdateSubscriptionInput, opts: { bySchedule?: boolean } = {}): Promise<SubscriptionObject> {
  const { q } = ctx;
  const caught = await lockCaughtUp(ctx, id);
  let sub = caught.sub;
  const now = caught.now;
  assertNotEnded(sub);
  if (sub.status === 'incomplete') {
    // Stripe: until its first payment succeeds, only metadata and the payment method can change.
    const other = Object.entries(input).find(([k, v]) => v !== undefined && !['metadata', 'default_payment_method', 'expand'].includes(k));
    if (other) throw new InvalidRequestError(`An incomplete subscription can only have its metadata and default_payment_method updated until its first invoice is paid.`, other[0], 'subscription_incomplete');
  }
  assertNotPastCancelAt(sub, now);
  assertPendingUpdateAllowed(sub, input);
  if (!opts.bySchedule) assertScheduleAllows(sub, input);
  const c: Ctx = { ...ctx, now };
  const customer = await getCustomerRow(q, sub.customer, { param: 'customer' });
  const patch: Partial<SubscriptionRow> = {};

  if (input.metadata) patch.metadata = mergeMetadata(sub.metadata, input.metadata);
  if (input.description !== undefined) patch.description = input.description || null;
  // The comment and feedback given with a cancellation request; kept when it takes effect (jobs.ts).
  if (input.cancellation_details) patch.cancellation_details = { ...sub.cancellation_details, ...input.cancellation_details };
  if (input.cancel_at !== undefined) {
    if (input.cancel_at === null) {
      Object.assign(patch, { cancel_at: null, cancel_at_prorate: true, ...(sub.cancel_at_period_end ? {} : { canceled_at: null }) });
    } else {
      if (input.proration_behavior === 'always_invoice') {
        throw new InvalidRequestError('cancel_at credits the time after it when the subscription ends: use create_prorations or none.', 'proration_behavior', 'parameter_invalid');
      }
      // Stripe: canceled_at is when the cancellation was asked for.
      const at = cancelAtFor(input.cancel_at, input.cancel_at_period_end, now);
      Object.assign(patch, { cancel_at: at, cancel_at_period_end: false, canceled_at: now, cancel_at_prorate: input.proration_behavior !== 'none' });
    }
  }
  if (input.cancel_at_period_end !== undefined) {
    // cancel_at_period_end replaces a cancel_at (Stripe shows either as cancel_at).
    if (input.cancel_at_period_end) Object.assign(patch, { cancel_at: null, cancel_at_prorate: true });
    patch.cancel_at_period_end = input.cancel_at_period_end;
    // Stripe: canceled_at is when the cancellation was requested (kept when it then takes effect at
    // the period end), and undoing it clears it — unless a cancel_at still stands.
    const cancelAtStands = patch.cancel_at !== undefined ? patch.cancel_at !== null : sub.cancel_at !== null;
    if (input.cancel_at_period_end) patch.canceled_at = now;
    else if (!cancelAtStands) patch.canceled_at = null;
  }
  if ((input.cancel_at !== undefined || input.cancel_at_period_end !== undefined) && sub.cancel_billed_to) {
    await rebillShortPeriod(q, sub, patch, now);
  }
  if (input.schedule_at_period_end && !input.items?.length) {
    throw new InvalidRequestError('schedule_at_period_end needs the items to switch to.', 'items', 'parameter_missing');
  }
  // A change scheduled for the period end neither restarts the cycle nor invoices now.
  if (input.schedule_at_period_end && input.billing_cycle_anchor === 'now') {
    throw new InvalidRequestError('schedule_at_period_end applies the items at the period end: billing_cycle_anchor=now contradicts it.', 'billing_cycle_anchor', 'parameter_invalid');
  }
  if (input.schedule_at_period_end && input.proration_behavior === 'always_invoice') {
    throw new InvalidRequestError('schedule_at_period_end applies the items at the period end without proration: always_invoice contradicts it.', 'proration_behavior', 'parameter_invalid');
  }
  // Stripe: the cycle cannot be anchored before the trial's end (end the trial with trial_end=now).
  if (input.billing_cycle_anchor === 'now' && sub.status === 'trialing' && input.trial_end !== 'now') {
    throw new InvalidRequestError('billing_cycle_anchor=now would fall before the trial ends; end the trial with trial_end=now instead.', 'billing_cycle_anchor', 'subscription_update_trial_after_billing_cycle_anchor');
  }
  const method = input.collection_method ?? sub.collection_method;
  if (input.days_until_due !== undefined && method !== 'send_invoice') {
    throw new InvalidRequestError('days_until_due can only be set when collection_method is send_invoice.', 'days_until_due', 'parameter_invalid');
  }
  if (input.collection_method === 'send_invoice' && input.days_until_due === undefined && sub.days_until_due === null) {
    throw new InvalidRequestError('days_until_due is required when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
  }
  if (input.pause_collection?.resumes_at !== undefined && fromUnix(input.pause_collection.resumes_at) <= now) {
    throw new InvalidRequestError('pause_collection[resumes_at] must be in the future.', 'pause_collection[resumes_at]', 'parameter_invalid');
  }
  if (input.cancel_at_period_end && sub.status === 'paused') {
    throw new InvalidRequestError('A paused subscription has no period to end; cancel it now or resume it first.', 'cancel_at_period_end', 'subscription_paused');
  }
  if (input.collection_method) patch.collection_method = input.collection_method;
  if (input.days_until_due !== undefined) patch.days_until_due = input.days_until_due;
  if (input.default_payment_method) patch.default_payment_method = (await resolvePaymentMethod(q, ctx.deps, input.default_payment_method, sub.customer, now, { param: 'default_payment_method' })).id;
  if (input.payment_settings !== undefined) patch.payment_settings = paymentSettings(sub.payment_settings, input.payment_settings);
  if (input.automatic_tax !== undefined) patch.automatic_tax = input.automatic_tax.enabled;
  if (input.trial_settings !== undefined) patch.trial_missing_pm_behavior = input.trial_settings.end_behavior.missing_payment_method;
  if (input.pause_collection !== undefined) {
    patch.pause_collection = input.pause_collection ? { behavior: input.pause_collection.behavior, resumes_at: input.pause_collection.resumes_at ?? null } : null;
  }
  // A trial added to an active subscription (Stripe: "Introducing a trial results in setting the anchor
  // to the end of the trial"): free from now to trial_end, billed from there on.
  const addingTrial = input.trial_end !== undefined && input.trial_end !== 'now' && sub.status === 'active';
  if (input.trial_end !== undefined) {
    if (sub.status !== 'trialing' && !addingTrial) {
      throw new InvalidRequestError('Only a trialing subscription can change or end its trial; an active one can be given a new trial_end.', 'trial_end', 'subscription_not_trialing');
    }
    const end = input.trial_end === 'now' ? now : fromUnix(input.trial_end);
    if (end < now || (addingTrial && end.getTime() === now.getTime())) throw new InvalidRequestError('trial_end must be in the future.', 'trial_end', 'parameter_invalid');
    assertTrialLength(now, end);
    if (addingTrial && input.items?.length) throw new InvalidRequestError('Add a trial and change the items in separate requests.', 'trial_end', 'parameter_invalid');
    // trial_end sets the anchor to the trial end; billing_cycle_anchor=now would set it to now.
    if (addingTrial && input.billing_cycle_anchor === 'now') throw new InvalidRequestError('A new trial sets the billing cycle anchor to its end: billing_cycle_anchor=now contradicts it.', 'billing_cycle_anchor', 'parameter_invalid');
    if (addingTrial && input.proration_behavior === 'always_invoice') {
      throw new InvalidRequestError('A trial added to an active subscription credits its unused time to the next invoice: use create_prorations or none.', 'proration_behavior', 'parameter_invalid');
    }
    // trial_end=now ends the trial in this request (below, once any item change is applied).
    if (input.trial_end !== 'now') Object.assign(patch, { trial_end: end, current_period_end: end, billing_cycle_anchor: end, trial_will_end_sent: false });
    if (addingTrial) Object.assign(patch, { status: 'trialing', trial_start: now, current_period_start: now });
  }
  // The object before anything it shows is written (the coupon's discount, the items), for the
  // event's previous_attributes.
  const before = await subscriptionObject(q, sub);
  if (input.discounts && (input.coupon || input.promotion_code)) {
    throw new InvalidRequestError('Pass either discounts or coupon/promotion_code, not both.', input.coupon ? 'coupon' : 'promotion_code', 'parameter_invalid');
  }
  // discounts: [] (sent as "") removes every discount, as does coupon: "" (older integrations); a
  // list replaces the subscription's (discounts.ts); coupon / promotion_code replaces them with one.
  const clearsDiscount = input.coupon === '' || input.promotion_code === '';
  const discountReqs: DiscountRequest[] | undefined = input.discounts
    ? input.discounts
    : input.coupon || input.promotion_code
      ? [{ coupon: input.coupon || undefined, promotion_code: input.promotion_code || undefined }]
      : clearsDiscount
        ? []
        : undefined;
  if (discountReqs !== undefined) {
    // A promotion code's minimum amount applies to what will be billed: the items this request sets.
    const current = (await itemsOf(q, [sub.id])).get(sub.id)!;
    const items = input.items?.length && !input.schedule_at_period_end ? mergeItems(current, input.items) : current;
    const amount = periodAmount(items, await loadPricing(q, items.map((i) => i.price)), sub.currency);
    await replaceSubscriptionDiscounts(q, sub, discountReqs, { customerId: sub.customer, now, currency: sub.currency, amount, listParam: input.discounts ? 'discounts' : null });
  }

  if (addingTrial && (input.proration_behavior ?? 'create_prorations') === 'create_prorations' && now < new Date(sub.current_period_end)) {
    // The paid time from now to the old period end is unused: credited as a proration, which the
    // invoice at the trial end takes (as a cancellation with prorate does).
    await storeStretch(q, sub, { kind: 'credit', from: now, to: new Date(sub.current_period_end) }, now, true);
  }

  // One-time prices for the next invoice: this change's, if it invoices now (created first, so it takes them).
  await addInvoiceItems(q, sub, input.add_invoice_items, now);
  let invoiceNow: string | null = null;
  // The items as they are, for a pending update to put back if its invoice is not paid at once.
  const pendingMode = input.payment_behavior === 'pending_if_incomplete';
  const itemsBefore = pendingMode ? (await itemsOf(q, [sub.id])).get(sub.id)! : [];
  // billing_cycle_anchor: now alone restarts the cycle with the same items (credit for the unused
  // time, a new full period invoiced now), as Stripe.
  if (input.items?.length || input.billing_cycle_anchor === 'now') {
    const current = (await itemsOf(q, [sub.id])).get(sub.id)!;
    const next = mergeItems(current, input.items ?? []);
    const pricing = await loadPricing(q, [...current.map((i) => i.price), ...next.map((i) => i.price)]);
    // A schedule's phase was checked when it was set: a price archived since still bills, as at a renewal.
    const terms = validateItems(next, pricing, customer, sub.currency, 'items', { allowInactive: opts.bySchedule });
    if (!opts.bySchedule && isScheduleId(sub.pending_schedule?.id) && (terms.interval !== sub.interval || terms.intervalCount !== sub.interval_count)) {
      // Another interval would move the period ends, where the schedule's phases change.
      throw new InvalidRequestError(`The subscription is managed by the subscription schedule ${sub.pending_schedule!.id}: its items keep their interval. Change the interval in a phase of the schedule.`, 'items', 'subscription_managed_by_schedule');
    }
    if (input.schedule_at_period_end) {
      // A downgrade for the period end: nothing changes or prorates now; the worker applies it.
      patch.pending_schedule = { id: newId('sched'), items: next.map((i) => ({ price: i.price, quantity: i.quantity })), effective_at: new Date(sub.current_period_end).toISOString() };
    } else {
      // A period billed only up to a later cancel_at: bill its rest first (as if cancel_at were cleared),
      // so the change prorates a fully billed period and the end credits the time after cancel_at on the
      // new items — rather than crediting the old items' [cancel_at, end) twice.
      const billedTo = patch.cancel_billed_to !== undefined ? patch.cancel_billed_to : sub.cancel_billed_to;
      if (billedTo) {
        await rebillShortPeriod(q, { ...sub, cancel_billed_to: billedTo, cancel_at: null, cancel_at_period_end: false }, {}, now);
        Object.assign(patch, { cancel_billed_to: null, cancel_at_prorate: true });
      }
      const prorationDate = input.proration_date !== undefined ? fromUnix(input.proration_date) : now;
      // A kept item keeps its id and its creation time.
      const createdOf = new Map(current.map((r) => [r.id, r.created]));
      const newRows: ItemRow[] = next.map((i) => {
        const id = (i as { id?: string }).id || newId('si');
        return { id, subscription: sub.id, price: i.price, quantity: i.quantity, metadata: i.metadata, created: createdOf.get(id) ?? now };
      });
      const plan = planChange(sub, {
        current,
        next: newRows,
        pricing,
        terms,
        anchorNow: input.billing_cycle_anchor === 'now',
        behavior: input.proration_behavior ?? 'create_prorations',
        prorationDate,
        now,
        prorationDateParam: 'proration_date',
      });
      const itemIds = new Map([...current, ...newRows].map((r) => [r.price, r.id]));
      await replaceItems(q, sub.id, newRows);
      Object.assign(patch, plan.patch);
      await storeProrationItems(q, sub, plan.prorations, itemIds, now, { before: current, after: newRows, pricing });
      if (plan.immediate) invoiceNow = await createImmediate(ctx, { ...sub, ...patch } as SubscriptionRow, plan.immediate, pricing, now);
    }
  }

  // trial_end=now: the first paid period starts now (anchored now), invoiced and charged below, as
  // Stripe ends a trial early; the items are those after any change made above.
  if (input.trial_end === 'now') {
    const items = (await itemsOf(q, [sub.id])).get(sub.id)!;
    const pricing = await loadPricing(
      q,
      items.map((i) => i.price),
    );
    const plan = planTrialEndNow({ ...sub, ...patch } as SubscriptionRow, items, pricing, now, {
      keepAnchor: input.billing_cycle_anchor === 'unchanged',
      behavior: input.proration_behavior ?? 'create_prorations',
    });
    // Stripe sends trial_will_end also when a trial is ended at once (once per trial). A pending update
    // ends the trial only once its invoice is paid: the notice is written then (pending-update.ts).
    if (!sub.trial_will_end_sent) {
      patch.trial_will_end_sent = true;
      if (!(pendingMode && plan.immediate)) await recordEvent(q, now, { type: 'customer.subscription.trial_will_end', object: await subscriptionObject(q, sub), customerId: sub.customer });
    }
    Object.assign(patch, plan.patch);
    if (plan.immediate) invoiceNow = await createImmediate(ctx, { ...sub, ...patch } as SubscriptionRow, plan.immediate, pricing, now);
  }

  if (invoiceNow && pendingMode) return chargePendingUpdate(c, sub, { before, itemsBefore, patch, invoice: invoiceNow });
  sub = await transition(q, sub, { ...patch, ...(invoiceNow ? { latest_invoice: invoiceNow } : {}) }, now, undefined, before);
  if (invoiceNow) {
    const behavior = input.payment_behavior ?? 'allow_incomplete';
    const collected = await collectNow(c, invoiceNow, sub, behavior !== 'default_incomplete');
    // Stripe: the update is refused and nothing changes (the transaction rolls back).
    if (collected.error && behavior === 'error_if_incomplete') throw cardError(collected.error);
    // Stripe: "default_incomplete … transition[s] the subscription to status=past_due when payment is
    // required and await[s] explicit confirmation" — the open invoice is not attempted.
    if (behavior === 'default_incomplete' && collected.invoice?.status === 'open' && sub.collection_method === 'charge_automatically' && sub.status !== 'past_due') {
      sub = await transition(q, sub, { status: 'past_due' }, now);
    }
  }
  return subscriptionObject(q, (await findSubscription(q, sub.id))!);
}

/**
 * payment_behavior=pending_if_incomplete with an invoice to pay now: the change is parked, the invoice
 * charged, and the change applied only if it was paid; otherwise it waits in `pending_update`. One
 * customer.subscription.updated tells which (the items changed, or a pending_update appeared).
 */
async function chargePendingUpdate(
  c: Ctx,
  sub: SubscriptionRow,
  o: { before: SubscriptionObject; itemsBefore: ItemRow[]; patch: Partial<SubscriptionRow>; invoice: string },
): Promise<SubscriptionObject> {
  const { q, now } = c;
  const after = (await itemsOf(q, [sub.id])).get(sub.id)!;
  await parkPendingUpdate(q, sub, { before: o.itemsBefore, after, patch: o.patch, invoice: o.invoice, now });
  const collected = await collectNow(c, o.invoice, sub, true);
  const parked = (await findSubscription(q, sub.id, true))!;
  const paid = collected.invoice?.status === 'paid';
  const done = paid ? await applyPendingUpdate(q, parked, now) : await keepPendingUpdate(q, parked, now);
  const obj = await subscriptionObject(q, done);
  const prev = previousAttributes(o.before, obj);
  const notice = paid ? trialNotice(sub, o.patch, o.before) : [];
  const updated = Object.keys(prev).length > 0 ? [{ type: 'customer.subscription.updated', object: obj, previousAttributes: prev, customerId: sub.customer }] : [];
  await recordEvents(q, now, [...notice, ...updated]);
  return obj;
}

/**
 * A subscription managed by a schedule takes its end and its cycle from the schedule: setting them
 * directly is refused, as Stripe refuses "updating any cancelation behavior directly".
 */
function assertScheduleAllows(sub: SubscriptionRow, input: UpdateSubscriptionInput): void {
  if (!isScheduleId(sub.pending_schedule?.id)) return;
  const param =
    (['cancel_at', 'cancel_at_period_end', 'schedule_at_period_end', 'trial_end'] as const).find((k) => input[k] !== undefined) ??
    (input.billing_cycle_anchor === 'now' ? 'billing_cycle_anchor' : undefined);
  if (param) {
    throw new InvalidRequestError(
      `The subscription is managed by the subscription schedule ${sub.pending_schedule!.id}: ${param} cannot be set on it directly. Update or release the schedule instead.`,
      param,
      'subscription_managed_by_schedule',
    );
  }
}

/** Releases a period-end change before it applies. */
export async function releaseSchedule(ctx: Ctx, scheduleId: string): Promise<SubscriptionObject> {
  const { rows } = await ctx.q.query<SubscriptionRow>(`SELECT * FROM subscriptions WHERE pending_schedule->>'id' = $1 FOR UPDATE`, [scheduleId]);
  const sub = rows[0];
  if (!sub) throw new NotFoundError('subscription_schedule', scheduleId);
  const now = await effectiveNow(ctx.q, sub.test_clock, ctx.now);
  const after = await transition(ctx.q, sub, { pending_schedule: null }, now);
  return subscriptionObject(ctx.q, after);
}

export async function cancelSubscription(ctx: Ctx, id: string, input: { invoice_now?: boolean; prorate?: boolean; cancellation_details?: { comment?: string; feedback?: string } }): Promise<SubscriptionObject> {
  const { q } = ctx;
  // Due periods first, so the cancellation credits the period that contains now.
  const caught = await lockCaughtUp(ctx, id);
  let sub = caught.sub;
  const now = caught.now;
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') throw new ConflictError(`This subscription is already ${sub.status}.`, 'subscription_ended');
  assertNotPastCancelAt(sub, now);
  const items = (await itemsOf(q, [sub.id])).get(sub.id)!;
  const pricing = await loadPricing(
    q,
    items.map((i) => i.price),
  );
  const period = pricedPeriod(sub);
  // Only time that was paid for is credited, as at a scheduled end (an incomplete subscription's unpaid
  // invoice is voided below).
  if (input.prorate && currentPeriodPaid(sub) && now < period.end && now >= new Date(sub.current_period_start)) {
    await storeStretch(q, sub, { kind: 'credit', from: now, to: period.end }, now, false);
  }
  // Stripe: cancelled at once without prorate or invoice_now, the subscription's pending prorations
  // are removed (nothing will invoice them for it any more).
  if (!input.prorate && !input.invoice_now) {
    const { rows: pendingProrations } = await q.query<{ id: string }>(
      `SELECT id FROM invoice_items WHERE subscription = $1 AND invoice IS NULL AND proration AND deleted_at IS NULL ORDER BY id`,
      [sub.id],
    );
    for (const item of pendingProrations) await deleteInvoiceItem(q, now, item.id);
  }
  // A pending update ends with the subscription: its invoice is voided (which discards it), before the
  // .deleted event, after which the subscription has no more events.
  if (sub.pending_update) {
    const pendingInvoice = sub.pending_update.invoice;
    const { rows } = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [pendingInvoice]);
    if (rows[0]?.status === 'open' || rows[0]?.status === 'uncollectible') await voidInvoice(q, pendingInvoice, now);
    else await discardPendingUpdate(q, { id: pendingInvoice, subscription: sub.id }, now);
    sub = (await findSubscription(q, sub.id, true))!;
  }
  // The final invoice (invoice_now): pending items, including the prorated credit; a negative total
  // becomes customer credit when it is finalised. Written before the cancellation so the subscription
  // (and its .deleted event) names it as latest_invoice, as Stripe's; collected after it.
  let finalInvoice: string | null = null;
  if (input.invoice_now) {
    const draft = await invoiceDraftNow(q, sub, [], pricing, 'subscription_update', { start: now, end: now });
    if (draft.lines.length) finalInvoice = (await createInvoices(q, [draft], now, ctx.deps.config.tax))[0]?.invoice.id ?? null;
  }
  const after = await transition(
    q,
    sub,
    {
      status: 'canceled',
      canceled_at: now,
      ended_at: now,
      cancel_at_period_end: false,
      cancellation_details: { reason: 'cancellation_requested', ...input.cancellation_details },
      ...(finalInvoice ? { latest_invoice: finalInvoice } : {}),
    },
    now,
    'customer.subscription.deleted',
  );
  if (finalInvoice) await collectNow({ ...ctx, now }, finalInvoice, after, true);
  // An incomplete subscription's open first invoice is voided with it.
  if (sub.status === 'incomplete' && sub.latest_invoice) {
    const { rows } = await q.query<{ status: string }>(`SELECT status FROM invoices WHERE id = $1`, [sub.latest_invoice]);
    if (rows[0]?.status === 'open') await voidInvoice(q, sub.latest_invoice, now);
  }
  await stopCollection(q, sub.id, now);
  return subscriptionObject(q, after);
}

/**
 * Deleting a customer "immediately cancels any active subscriptions" (Stripe's API reference), each as an
 * immediate cancel without proration or final invoice: its usual customer.subscription.deleted event,
 * and collection of its open invoices stops. The caller holds the customer's row lock, which
 * createSubscription also takes, so no subscription appears while this runs.
 */
export async function cancelCustomerSubscriptions(ctx: Ctx, customerId: string): Promise<void> {
  const { rows } = await ctx.q.query<{ id: string }>(
    `SELECT id FROM subscriptions WHERE customer = $1 AND status NOT IN ('canceled', 'incomplete_expired') ORDER BY id`,
    [customerId],
  );
  for (const { id } of rows) await cancelSubscription(ctx, id, {});
}

/**
 * Resumes a paused subscription (paused at trial end without a payment method), per Stripe:
 * billing_cycle_anchor `now` (the default) starts a new cycle invoiced and charged now; `unchanged`
 * keeps the old anchor, prorating the stretch to its next date unless proration_behavior is none.
 */
export async function resumeSubscription(
  ctx: Ctx,
  id: string,
  input: { billing_cycle_anchor?: 'now' | 'unchanged'; proration_behavior?: ProrationBehavior; proration_date?: number } = {},
): Promise<SubscriptionObject> {
  const { q } = ctx;
  const sub = await getSubscriptionRow(q, id, true);
  if (sub.status !== 'paused') throw new InvalidRequestError('Only a paused subscription can be resumed.', 'id', 'subscription_not_paused');
  const now = await effectiveNow(q, sub.test_clock, ctx.now);
  const items = (await itemsOf(q, [sub.id])).get(sub.id)!;
  const pricing = await loadPricing(
    q,
    items.map((i) => i.price),
  );
  const plan = planResume(sub, items, pricing, now, {
    billingCycleAnchor: input.billing_cycle_anchor ?? 'now',
    behavior: input.proration_behavior ?? 'create_prorations',
    prorationDate: input.proration_date !== undefined ? fromUnix(input.proration_date) : undefined,
  });
  // The invoice the resume makes is the .resumed event's latest_invoice (drafted for the resumed
  // subscription, before the row is written).
  const resumed = { ...sub, ...plan.patch, updated: now } as SubscriptionRow;
  const invoiceId = plan.immediate ? await createImmediate(ctx, resumed, plan.immediate, pricing, now) : null;
  const after = await transition(q, sub, { ...plan.patch, ...(invoiceId ? { latest_invoice: invoiceId } : {}) }, now, 'customer.subscription.resumed');
  if (invoiceId) await collectNow({ ...ctx, now }, invoiceId, after, true);
  return subscriptionObject(q, (await findSubscription(q, sub.id))!);
}

/**
 * The next invoice of a subscription, computed without writing anything (nor calling a gateway):
 * with a proposed change, the invoice the change itself makes at once, if it makes one (a new anchor,
 * another interval, always_invoice), else the next period's invoice with the change's prorations and
 * pending items. Both come from the same plans (drafts.ts) as the real update and renewal.
 */
export async function upcomingInvoice(
  ctx: Ctx,
  input: { subscription: string; items?: UpdateSubscriptionInput['items']; prorationDate?: number; prorationBehavior?: ProrationBehavior; billingCycleAnchor?: 'now' | 'unchanged' },
) {
  const { q } = ctx;
  const sub = await getSubscriptionRow(q, input.subscription);
  // Set to cancel at the period end: it ends instead of renewing, so there is no next invoice (Stripe).
  const endsThisPeriod = sub.cancel_at !== null && new Date(sub.cancel_at) <= new Date(sub.current_period_end);
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired' || sub.cancel_at_period_end || endsThisPeriod) {
    throw new InvalidRequestError('This subscription will not be invoiced again.', 'subscription', 'invoice_upcoming_none');
  }
  const now = await effectiveNow(q, sub.test_clock, ctx.now);
  const current = (await itemsOf(q, [sub.id])).get(sub.id)!;
  const customer = await getCustomerRow(q, sub.customer, { param: 'customer' });
  let pricing = await loadPricing(q, [...current.map((i) => i.price), ...(sub.pending_schedule?.items ?? []).map((i) => i.price)]);
  let planned = sub;
  let items = current;
  let prorations: LineDraft[] = [];
  let immediate: ImmediateInvoice | null = null;
  if (input.billingCycleAnchor === 'now' && sub.status === 'trialing') {
    throw new InvalidRequestError('billing_cycle_anchor=now would fall before the trial ends.', 'subscription_billing_cycle_anchor', 'subscription_update_trial_after_billing_cycle_anchor');
  }
  if (input.items?.length || input.billingCycleAnchor === 'now') {
    const merged = mergeItems(current, input.items ?? [], 'subscription_items');
    pricing = await loadPricing(q, [...current.map((i) => i.price), ...merged.map((i) => i.price)]);
    const terms = validateItems(merged, pricing, customer, sub.currency, 'subscription_items');
    items = merged.map((m) => ({ id: (m as { id?: string }).id ?? '', subscription: sub.id, price: m.price, quantity: m.quantity, metadata: m.metadata, created: now }));
    const plan = planChange(sub, {
      current,
      next: items,
      pricing,
      terms,
      anchorNow: input.billingCycleAnchor === 'now',
      behavior: input.prorationBehavior ?? 'create_prorations',
      prorationDate: input.prorationDate !== undefined ? fromUnix(input.prorationDate) : now,
      now,
      prorationDateParam: 'subscription_proration_date',
    });
    planned = { ...sub, ...plan.patch };
    const itemIds = new Map([...current, ...items].map((r) => [r.price, r.id]));
    prorations = await prorationDrafts(q, sub, plan.prorations, itemIds, now, { before: current, after: items, pricing });
    immediate = plan.immediate;
  }
  const pending = pendingLines((await pendingItemsFor(q, [sub], { lock: false })).get(sub.id)!);
  // The real operation stores the prorations as pending items; its invoice takes them after the
  // items' period lines and after the pending items already there (renewals.ts and jobs.ts list the
  // period lines first, then the pending items oldest first).
  let draft: InvoiceDraft;
  if (immediate) {
    const discounts = (await discountsFor(q, [sub], new Map([[sub.id, immediate.period.start]]), { lock: false })).get(sub.id)!;
    const lines = [...periodLines(planned, immediate.items, pricing, immediate.period), ...immediate.lines, ...pending, ...prorations];
    draft = draftFor(planned, { reason: immediate.reason, period: immediate.period, lines, discounts });
  } else {
    let cycle = nextCycle(planned, items, pricing);
    if (cycle.freeStub && pending.length === 0 && prorations.length === 0) {
      // The free stretch after a trial bills nothing (the worker makes no invoice then): the next
      // invoice is the full period at the anchor.
      planned = { ...planned, status: 'active', current_period_start: cycle.period.start, current_period_end: cycle.period.end, free_stub: false };
      cycle = nextCycle(planned, items, pricing);
    }
    // A schedule's phase starting there brings its own discount (put in place by the renewal).
    const discounts =
      (cycle.applied ? await upcomingPhaseDiscounts(q, sub, cycle.period.start) : null) ??
      (await discountsFor(q, [sub], new Map([[sub.id, cycle.period.start]]), { lock: false })).get(sub.id)!;
    // The collection method a schedule's phase starting there brings bills this invoice already.
    const billed = cycle.applied?.collection_method ? { ...planned, collection_method: cycle.applied.collection_method, days_until_due: cycle.applied.days_until_due ?? null } : planned;
    draft = draftFor(billed, { reason: 'subscription_cycle', period: cycle.period, lines: [...cycle.lines, ...pending, ...prorations], discounts });
  }
  // The preview is taxed as the real invoice will be.
  const [taxed] = await applyTax(q, ctx.deps.config.tax, [draft], now);
  const invoiceAt = immediate ? now : draft.periodStart;
  const built = buildInvoice(taxed!, invoiceAt);
  // The customer's balance applies at finalisation: the preview shows the amount that will then be due
  // (ending_balance stays unknown until then, as in Stripe's preview).
  const due = computeInvoiceTotals({ lineAmounts: [built.invoice.total], startingBalance: customer.balance });
  // A draft, so it shows the customer's current details, as any draft does (invoiceObjects).
  const customers = await draftCustomers(q, [built.invoice]);
  applyInvoiceSettings([built], customers);
  const details = customers.get(sub.customer);
  const obj = serializeInvoice({ ...built.invoice, starting_balance: customer.balance, amount_due: due.amount_due, amount_remaining: due.amount_due }, built.lines, { customer: details });
  // Stripe: next_payment_attempt "will be null for invoices where collection_method=send_invoice".
  const nextAttempt = draft.collectionMethod === 'send_invoice' ? null : Math.floor(invoiceAt.getTime() / 1000);
  return { ...obj, id: `upcoming_${sub.id}`, next_payment_attempt: nextAttempt };
}

/** A customer's subscriptions (by default those not ended, newest first): Stripe's `customer.subscriptions` list. */
export async function customerSubscriptions(q: Queryable, customer: string, list: ListParams, status?: string) {
  const { rows, hasMore } = await listSubscriptionRows(q, { customer, status }, list);
  return listObject(`/v1/customers/${customer}/subscriptions`, await subscriptionObjects(q, rows), hasMore);
}
