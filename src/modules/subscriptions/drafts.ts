import { InvalidRequestError } from '../../core/errors/index.js';
import type { LineDraft } from '../invoices/builder.js';
import { periodLines, pricedItems, trialLines, type PriceInfo } from './billing.js';
import { fromUnix } from '../../core/time/index.js';
import { periodAt, periodContainingTime, type BillingSchedule } from './domain/periods.js';
import { cancellationCredit, prorateChange, type ProrationLine } from './domain/proration.js';
import type { ItemRow, SubscriptionRow } from './repository.js';
import { isScheduleId } from '../subscription-schedules/repository.js';

// What an operation would invoice, as pure functions of the loaded state. The real operations
// (update, trial end, resume) apply the plan — write items, pending proration items, invoices — and
// the upcoming-invoice preview turns the same plan into a draft without writing anything, so the
// preview cannot drift from what the operation does.

export interface Period {
  start: Date;
  end: Date;
}

export type ProrationBehavior = 'create_prorations' | 'always_invoice' | 'none';

export function scheduleOf(sub: Pick<SubscriptionRow, 'billing_cycle_anchor' | 'interval' | 'interval_count'>): BillingSchedule {
  return { anchor: new Date(sub.billing_cycle_anchor), interval: sub.interval, intervalCount: sub.interval_count };
}

/**
 * The period a proration divides by: the current period, except when that is a stub — the stretch
 * up to a later billing_cycle_anchor, or from a trial end to it — which was charged as a share of the
 * whole interval ending at the anchor: crediting unused time over the stub alone would give back more
 * than was paid. So the whole interval, as the stub's own charge used.
 */
export function pricedPeriod(sub: SubscriptionRow): Period {
  const current = { start: new Date(sub.current_period_start), end: new Date(sub.current_period_end) };
  const whole = periodContainingTime(scheduleOf(sub), current.start);
  return whole.end.getTime() === current.end.getTime() ? { start: whole.start, end: whole.end } : current;
}

export function prorationLine(sub: Pick<SubscriptionRow, 'id' | 'currency'>, l: ProrationLine, subscriptionItem: string | null, pricing: Map<string, PriceInfo>): LineDraft {
  return {
    type: 'invoiceitem',
    subscription: sub.id,
    subscriptionItem,
    invoiceItem: null,
    price: l.priceId,
    productId: pricing.get(l.priceId)?.productId ?? null,
    description: l.description,
    quantity: l.quantity,
    unitAmount: l.unitAmount,
    amount: l.amount,
    currency: sub.currency,
    periodStart: l.period.start,
    periodEnd: l.period.end,
    proration: true,
    discountable: true,
  };
}

/**
 * Billing `items` from `start` to the end of the schedule's period containing it: that whole period
 * at the full price when `start` is one of its boundaries; otherwise (a trial ending before a later
 * anchor, a resume that keeps its anchor) the stretch left, prorated over the whole period.
 */
export function billFrom(sub: SubscriptionRow, items: ItemRow[], pricing: Map<string, PriceInfo>, sched: BillingSchedule, start: Date): { period: Period; lines: LineDraft[]; partial: boolean } {
  const containing = periodContainingTime(sched, start);
  const period = { start, end: containing.end };
  const partial = containing.start.getTime() < start.getTime();
  const lines = partial
    ? prorateChange({ oldItems: [], newItems: pricedItems(sub, items, pricing), period: containing, prorationDate: start }).map((l, i) =>
        prorationLine(sub, l, items[i]!.id || null, pricing),
      )
    : periodLines(sub, items, pricing, period);
  return { period, lines, partial };
}

/**
 * The invoice at the end of the current period (a renewal or a trial end), as the worker bills it:
 * a scheduled change that is due replaces the items, and one to another interval starts a new cycle
 * anchored at the period end. `applied` is what the subscription takes on when a schedule applies
 * (the worker writes it with the new items; `itemId` names them — the preview leaves them unnamed).
 */
export function nextCycle(
  sub: SubscriptionRow,
  items: ItemRow[],
  pricing: Map<string, PriceInfo>,
  itemId: () => string = () => '',
): { items: ItemRow[]; period: Period; lines: LineDraft[]; applied: Partial<SubscriptionRow> | null; cancelCredited: boolean; freeStub: boolean } {
  const periodEnd = new Date(sub.current_period_end);
  let billed = items;
  let sched = scheduleOf(sub);
  let applied: Partial<SubscriptionRow> | null = null;
  // A step inside a period (step_at) is the worker's to apply at that instant, not the renewal's.
  const step = sub.pending_schedule && sub.pending_schedule.step_at === undefined && new Date(sub.pending_schedule.effective_at) <= periodEnd ? sub.pending_schedule : null;
  if (step && !step.items) {
    // A schedule ending here (end_behavior release): the items stay, the schedule lets go.
    applied = { pending_schedule: null };
  } else if (step?.items) {
    billed = step.items.map((i) => ({ id: itemId(), subscription: sub.id, price: i.price, quantity: i.quantity, metadata: {}, created: periodEnd }));
    applied = { pending_schedule: null };
    // The next phase's collection method (and days until due) bills this renewal's invoice already.
    if (step.collection_method) Object.assign(applied, { collection_method: step.collection_method, days_until_due: step.days_until_due ?? null });
    const price = pricing.get(billed[0]!.price)!.price;
    // Another interval, or a phase that restarts the cycle (billing_cycle_anchor=phase_start): a new cycle from here.
    if (price.interval !== sub.interval || price.interval_count !== sub.interval_count || step.reset_anchor) {
      sched = { anchor: periodEnd, interval: price.interval!, intervalCount: price.interval_count! };
      Object.assign(applied, { interval: price.interval!, interval_count: price.interval_count!, billing_cycle_anchor: periodEnd });
    }
  }
  // A schedule's phase starting with a trial: free up to the trial's end, where the cycle is anchored.
  if (step?.items && step.trial_end !== undefined) {
    const trialEnd = fromUnix(step.trial_end);
    const period = { start: periodEnd, end: trialEnd };
    Object.assign(applied!, { status: 'trialing', trial_start: periodEnd, trial_end: trialEnd, billing_cycle_anchor: trialEnd, trial_will_end_sent: false });
    return { items: billed, period, lines: trialLines(sub, billed, pricing, period), applied, cancelCredited: false, freeStub: false };
  }
  const { period, lines, partial } = billFrom(sub, billed, pricing, sched, periodEnd);
  // A free stub (a trial ending before a later anchor, created with proration_behavior none) bills nothing.
  const freeStub = partial && sub.free_stub;
  const billedLines = freeStub ? [] : lines;
  // Stripe: a cancel_at "during a future period … will always cause a proration for that period" (so
  // whatever proration_behavior it was set with): the period it falls in is billed only up to it — its
  // line, and a credit for the time after cancel_at.
  const cancelAt = sub.cancel_at ? new Date(sub.cancel_at) : null;
  if (cancelAt && cancelAt > period.start && cancelAt < period.end && billedLines.length > 0) {
    const credits = cancellationCredit(pricedItems(sub, billed, pricing), period, cancelAt).map((l, i) => prorationLine(sub, l, billed[i]!.id || null, pricing));
    return { items: billed, period, lines: [...billedLines, ...credits], applied, cancelCredited: true, freeStub };
  }
  return { items: billed, period, lines: billedLines, applied, cancelCredited: false, freeStub };
}

/** An invoice an operation creates at once: period lines of `items` for `period`, plus the pending items. */
export interface ImmediateInvoice {
  period: Period;
  items: ItemRow[];
  /** Lines besides the items' period lines and the pending items (a prorated stretch). */
  lines: LineDraft[];
  reason: 'subscription_update' | 'subscription_cycle';
}

export interface ChangePlan {
  patch: Partial<SubscriptionRow>;
  /** Stored as pending invoice items: on the immediate invoice if there is one, else on the next. */
  prorations: ProrationLine[];
  immediate: ImmediateInvoice | null;
}

/**
 * An item change (or billing_cycle_anchor=now) made now, Stripe's way. A new anchor — asked for, or
 * forced by another interval — credits the unused time and invoices a new full period from now;
 * otherwise the prorations wait for the next invoice, or with always_invoice are invoiced now for
 * the rest of the period. A trialing or paused subscription has no paid period: nothing prorates.
 */
export function planChange(
  sub: SubscriptionRow,
  o: {
    current: ItemRow[];
    next: ItemRow[];
    pricing: Map<string, PriceInfo>;
    terms: { interval: SubscriptionRow['interval']; intervalCount: number };
    anchorNow: boolean;
    behavior: ProrationBehavior;
    prorationDate: Date;
    now: Date;
    /** How the request names the proration date, for its error. */
    prorationDateParam: string;
  },
): ChangePlan {
  const intervalChanged = o.terms.interval !== sub.interval || o.terms.intervalCount !== sub.interval_count;
  const resetAnchor = o.anchorNow || intervalChanged;
  const unbilled = sub.status === 'trialing' || sub.status === 'paused';
  const current = { start: new Date(sub.current_period_start), end: new Date(sub.current_period_end) };
  if (!unbilled && (o.prorationDate < current.start || o.prorationDate >= current.end)) {
    throw new InvalidRequestError(`${o.prorationDateParam} must fall within the current period.`, o.prorationDateParam, 'parameter_invalid');
  }
  const period = pricedPeriod(sub);
  let prorations: ProrationLine[] = [];
  if (o.behavior !== 'none' && !unbilled) {
    prorations = resetAnchor
      ? cancellationCredit(pricedItems(sub, o.current, o.pricing), period, o.prorationDate)
      : prorateChange({ oldItems: pricedItems(sub, o.current, o.pricing), newItems: pricedItems(sub, o.next, o.pricing), period, prorationDate: o.prorationDate });
  }
  // A change of price or quantity (or a new cycle) replaces a change scheduled for the period end;
  // one that only touches item metadata leaves it standing. A subscription schedule's next phase
  // stays: it applies at the phase's end whatever the items are by then, as Stripe's.
  const key = (rows: ItemRow[]) => rows.map((r) => `${r.id}|${r.price}|${r.quantity}`).sort().join(',');
  const itemsChanged = resetAnchor || key(o.current) !== key(o.next);
  const patch: Partial<SubscriptionRow> = { interval: o.terms.interval, interval_count: o.terms.intervalCount, ...(itemsChanged && !isScheduleId(sub.pending_schedule?.id) ? { pending_schedule: null } : {}) };
  let immediate: ImmediateInvoice | null = null;
  if (resetAnchor && !unbilled) {
    const newPeriod = periodAt({ anchor: o.now, interval: o.terms.interval, intervalCount: o.terms.intervalCount }, 0);
    Object.assign(patch, { billing_cycle_anchor: o.now, current_period_start: newPeriod.start, current_period_end: newPeriod.end });
    immediate = { period: { start: newPeriod.start, end: newPeriod.end }, items: o.next, lines: [], reason: 'subscription_update' };
  } else if (o.behavior === 'always_invoice' && prorations.length) {
    immediate = { period: { start: o.prorationDate, end: period.end }, items: [], lines: [], reason: 'subscription_update' };
  }
  return { patch, prorations, immediate };
}

/**
 * trial_end=now: the trial ends at once and the first paid period starts now, anchored now, invoiced
 * (and charged) in the same request — unless billing_cycle_anchor=unchanged keeps a future anchor.
 */
export function planTrialEndNow(
  sub: SubscriptionRow,
  items: ItemRow[],
  pricing: Map<string, PriceInfo>,
  now: Date,
  o: { keepAnchor: boolean; behavior: ProrationBehavior },
): { patch: Partial<SubscriptionRow>; immediate: ImmediateInvoice | null } {
  // billing_cycle_anchor=unchanged with the anchor still ahead (an anchor set after the trial, or the
  // trial end itself): the anchor stays, and the stretch from now to it is billed as the natural end of
  // the trial would bill it — prorated, or free with proration_behavior none.
  if (o.keepAnchor && new Date(sub.billing_cycle_anchor).getTime() > now.getTime()) {
    const bill = billFrom(sub, items, pricing, scheduleOf(sub), now);
    const patch: Partial<SubscriptionRow> = { status: 'active', trial_end: now, current_period_start: bill.period.start, current_period_end: bill.period.end };
    if (!bill.partial) return { patch, immediate: { period: bill.period, items, lines: [], reason: 'subscription_update' } };
    if (o.behavior === 'none') return { patch: { ...patch, free_stub: true }, immediate: null };
    return { patch, immediate: { period: bill.period, items: [], lines: bill.lines, reason: 'subscription_update' } };
  }
  const period = periodAt({ anchor: now, interval: sub.interval, intervalCount: sub.interval_count }, 0);
  return {
    patch: { status: 'active', trial_end: now, billing_cycle_anchor: now, current_period_start: period.start, current_period_end: period.end },
    immediate: { period: { start: period.start, end: period.end }, items, lines: [], reason: 'subscription_update' },
  };
}

/**
 * Resuming a paused subscription. `now` (the default): a new cycle anchored now, its first period
 * invoiced in full. `unchanged`: the old anchor's period that contains now runs from now; with
 * create_prorations or always_invoice the stretch left is invoiced prorated now, with none nothing is
 * charged until the next period starts (unless now is a period boundary: then a whole period starts).
 */
export function planResume(
  sub: SubscriptionRow,
  items: ItemRow[],
  pricing: Map<string, PriceInfo>,
  now: Date,
  o: { billingCycleAnchor: 'now' | 'unchanged'; behavior: ProrationBehavior; prorationDate?: Date },
): { patch: Partial<SubscriptionRow>; immediate: ImmediateInvoice | null } {
  if (o.billingCycleAnchor === 'now') {
    const period = periodAt({ anchor: now, interval: sub.interval, intervalCount: sub.interval_count }, 0);
    return {
      patch: { status: 'active', billing_cycle_anchor: now, current_period_start: period.start, current_period_end: period.end },
      immediate: { period: { start: period.start, end: period.end }, items, lines: [], reason: 'subscription_cycle' },
    };
  }
  // proration_date (Stripe): prorate as though resumed then, inside the anchor's period containing now.
  const from = o.prorationDate ?? now;
  if (o.prorationDate) {
    const containing = periodContainingTime(scheduleOf(sub), now);
    if (from < containing.start || from >= containing.end) {
      throw new InvalidRequestError('proration_date must fall within the current period.', 'proration_date', 'parameter_invalid');
    }
  }
  const bill = billFrom(sub, items, pricing, scheduleOf(sub), from);
  const patch: Partial<SubscriptionRow> = { status: 'active', current_period_start: bill.period.start, current_period_end: bill.period.end };
  if (!bill.partial) return { patch, immediate: { period: bill.period, items, lines: [], reason: 'subscription_cycle' } };
  // The stretch to the anchor is free: a cancellation or cancel_at inside it credits nothing.
  if (o.behavior === 'none') return { patch: { ...patch, free_stub: true }, immediate: null };
  return { patch, immediate: { period: bill.period, items: [], lines: bill.lines, reason: 'subscription_update' } };
}
