// A schedule's phases as dates. Each phase bills on its own billing schedule: the same anchor while
// the interval stays, a new anchor at the phase's start when the interval changes (as a change to
// another interval does). A boundary on a period end is applied by the renewal there (nothing to
// prorate); one inside a period (an end_date or a duration that lands there) by the worker at that
// instant, prorated. `iterations` counts billing periods, so it needs a phase that starts on a
// period boundary (or the subscription's own current phase, whose stub counts as one).
import { InvalidRequestError } from '../../../core/errors/index.js';
import { MAX_TRIAL_PERIOD_DAYS } from '../../catalog/domain/recurring.js';
import { addIntervals, fromUnix, toUnix, type Interval } from '../../../core/time/index.js';
import { periodAt, periodContainingTime, type BillingSchedule } from '../../subscriptions/domain/periods.js';

export interface PhaseItem {
  price: string;
  quantity: number;
}

export type PhaseProration = 'create_prorations' | 'none' | 'always_invoice';

/** A phase's discount: a coupon, and the promotion code it was given by (resolved when the phases are set). */
export interface PhaseDiscount {
  coupon: string;
  promotion_code: string | null;
}

export interface PhaseInput {
  start_date?: number;
  end_date?: number;
  iterations?: number;
  duration?: { interval: Interval; interval_count?: number };
  items: PhaseItem[];
  add_invoice_items?: PhaseItem[];
  /** The phase is a trial from its start to this instant (Stripe: "must be before the phase end date"). */
  trial_end?: number;
  /** The whole phase is a trial. */
  trial?: boolean;
  /** phase_start: the cycle is anchored at the phase's start (automatic: it goes on as it was). */
  billing_cycle_anchor?: 'phase_start' | 'automatic';
  /** The subscription's description while the phase runs. */
  description?: string;
  proration_behavior?: PhaseProration;
  metadata?: Record<string, string>;
}

/**
 * How a phase collects (Stripe's collection_method, invoice_settings.days_until_due,
 * default_payment_method), set on the phase or in the schedule's default_settings. Absent or null:
 * the subscription keeps what it has.
 */
export interface PhaseSettings {
  collection_method?: 'charge_automatically' | 'send_invoice' | null;
  days_until_due?: number | null;
  default_payment_method?: string | null;
  /** Stripe's automatic_tax[enabled], put on the subscription when the phase starts. */
  automatic_tax?: boolean | null;
  /** In default_settings only: the billing_cycle_anchor of phases that set none of their own. */
  billing_cycle_anchor?: 'phase_start' | 'automatic';
}

/** A phase as stored: Unix seconds, as the API shows them. */
export interface Phase {
  start_date: number;
  end_date: number;
  items: PhaseItem[];
  /** One-time prices for the phase's first invoice (absent on phases stored before it existed). */
  add_invoice_items?: PhaseItem[];
  /**
   * The subscription's own discount while the phase runs ([] for none), put in place when the phase
   * starts. Absent on phases stored before phases took discounts: those leave the discount alone.
   */
  discounts?: PhaseDiscount[];
  /** The phase is a trial from its start to this instant (its whole length with `trial: true`); null or absent: none. */
  trial_end?: number | null;
  /** The phase's own collection settings (absent on phases stored before they existed). */
  settings?: PhaseSettings;
  /** phase_start: the cycle restarts at the phase's start (absent: the schedule's default_settings, else automatic). */
  billing_cycle_anchor?: 'phase_start' | 'automatic';
  /** Set on the subscription when the phase is entered (absent: the subscription keeps its own). */
  description?: string;
  proration_behavior: PhaseProration;
  metadata: Record<string, string>;
}

/** Whether a phase restarts the billing cycle at its start: its own billing_cycle_anchor, else the schedule's default. */
export function anchorsAtStart(phase: Pick<Phase, 'billing_cycle_anchor'>, defaults: Pick<PhaseSettings, 'billing_cycle_anchor'>): boolean {
  return (phase.billing_cycle_anchor ?? defaults.billing_cycle_anchor) === 'phase_start';
}

/** The settings a phase puts in place when it starts: its own, else the schedule's defaults (only what is set). */
export function effectiveSettings(phase: Pick<Phase, 'settings'>, defaults: PhaseSettings): PhaseSettings {
  const own = phase.settings ?? {};
  const method = own.collection_method ?? defaults.collection_method ?? null;
  const out: PhaseSettings = {};
  if (method) {
    out.collection_method = method;
    // days_until_due belongs to send_invoice: the phase's own with its own method, else the defaults'.
    out.days_until_due = method === 'send_invoice' ? (own.days_until_due ?? defaults.days_until_due ?? null) : null;
  }
  const pm = own.default_payment_method ?? defaults.default_payment_method ?? null;
  if (pm) out.default_payment_method = pm;
  const tax = own.automatic_tax ?? defaults.automatic_tax ?? null;
  if (tax !== null) out.automatic_tax = tax;
  return out;
}

/** What the phases need to know of a price. */
export interface PriceTerms {
  type: 'recurring' | 'one_time';
  active: boolean;
  interval: Interval | null;
  intervalCount: number | null;
  /** Whether the price can be billed in the schedule's currency (its own or a currency option). */
  inCurrency: boolean;
  /** A customer's own price (Stripe's price.customer), or null. */
  customer?: string | null;
}

export interface PlanOptions {
  /** When the first phase starts. */
  start: Date;
  /** The billing schedule the first phase continues (a subscription's), or null: anchored at `start`. */
  first: BillingSchedule | null;
  prices: ReadonlyMap<string, PriceTerms>;
  currency: string;
  /** The schedule's customer: another customer's own price is refused. */
  customer?: string;
  /** default_settings.billing_cycle_anchor: what phases without their own take. */
  defaultAnchor?: 'phase_start' | 'automatic';
  /**
   * Prices the schedule already has (its phases', its subscription's items): archived since, they go on
   * billing where they are given again, as an archived price goes on billing on a subscription.
   */
  inUse?: ReadonlySet<string>;
}

export const isBoundary = (s: BillingSchedule, t: Date) => periodContainingTime(s, t).start.getTime() === t.getTime();

/** The billing schedule of a phase's items (all of one interval), continuing `previous` when it is the same. */
function phaseSchedule(items: PhaseItem[], i: number, o: PlanOptions, start: Date, previous: BillingSchedule | null): BillingSchedule {
  let terms: { interval: Interval; intervalCount: number } | null = null;
  const seen = new Set<string>();
  items.forEach((item, j) => {
    const p = o.prices.get(item.price)!;
    const param = `phases[${i}][items][${j}][price]`;
    if (seen.has(item.price)) throw new InvalidRequestError(`The price ${item.price} appears twice in the phase; use quantity instead.`, param, 'duplicate_price');
    seen.add(item.price);
    if (p.customer && o.customer !== undefined && p.customer !== o.customer) throw new InvalidRequestError(`The price ${item.price} belongs to another customer.`, param, 'price_customer_mismatch');
    if (p.type !== 'recurring' || !p.interval || !p.intervalCount) throw new InvalidRequestError(`The price ${item.price} is not recurring: a phase's items are recurring prices.`, param, 'parameter_invalid');
    if (!p.active && !o.inUse?.has(item.price)) throw new InvalidRequestError(`The price ${item.price} is not active.`, param, 'parameter_invalid');
    if (!p.inCurrency) throw new InvalidRequestError(`The price ${item.price} has no amount in ${o.currency}, the schedule's currency.`, param, 'parameter_invalid');
    if (terms && (terms.interval !== p.interval || terms.intervalCount !== p.intervalCount)) {
      throw new InvalidRequestError("All items of a phase must bill on the same interval.", param, 'parameter_invalid');
    }
    terms = { interval: p.interval, intervalCount: p.intervalCount };
  });
  const t = terms as { interval: Interval; intervalCount: number } | null;
  if (!t) throw new InvalidRequestError('A phase needs at least one item.', `phases[${i}][items]`, 'parameter_missing');
  if (previous && previous.interval === t.interval && previous.intervalCount === t.intervalCount) return previous;
  return { anchor: start, interval: t.interval, intervalCount: t.intervalCount };
}

function phaseEnd(p: PhaseInput, i: number, last: boolean, sched: BillingSchedule, start: Date, countsStub: boolean): Date {
  const given = [p.end_date !== undefined, p.iterations !== undefined, p.duration !== undefined].filter(Boolean).length;
  if (given > 1) throw new InvalidRequestError('Set only one of end_date, iterations and duration on a phase.', `phases[${i}][end_date]`, 'parameter_invalid');
  if (p.end_date !== undefined) {
    const end = fromUnix(p.end_date);
    if (end.getTime() <= start.getTime()) throw new InvalidRequestError(`phases[${i}][end_date] must be after the phase's start (${toUnix(start)}).`, `phases[${i}][end_date]`, 'parameter_invalid');
    return end;
  }
  if (p.duration !== undefined) return addIntervals(start, p.duration.interval, p.duration.interval_count ?? 1, 1);
  if (p.iterations === undefined && !last) throw new InvalidRequestError('Every phase but the last needs end_date, iterations or duration.', `phases[${i}][end_date]`, 'parameter_missing');
  if (!countsStub && !isBoundary(sched, start)) {
    const param = p.iterations === undefined ? `phases[${i}][end_date]` : `phases[${i}][iterations]`;
    throw new InvalidRequestError(`phases[${i}] starts inside a billing period: give its length as end_date or duration (iterations count whole periods).`, param, p.iterations === undefined ? 'parameter_missing' : 'parameter_invalid');
  }
  // The subscription's current phase starting inside a period (a stub before a later anchor) counts that stub as its first iteration.
  return periodAt(sched, periodContainingTime(sched, start).index + (p.iterations ?? 1)).start;
}

/**
 * The phases with their dates, one after another from `start`. `start_date` on a phase may repeat its
 * start, nothing else; the last phase without a length lasts one billing period.
 */
export function planPhases(input: readonly PhaseInput[], o: PlanOptions): Phase[] {
  if (input.length === 0) throw new InvalidRequestError('A schedule needs at least one phase.', 'phases', 'parameter_missing');
  const out: Phase[] = [];
  let start = o.start;
  let sched: BillingSchedule | null = o.first;
  input.forEach((p, i) => {
    if (p.start_date !== undefined && p.start_date !== toUnix(start)) {
      throw new InvalidRequestError(`phases[${i}][start_date] must be ${toUnix(start)}, where the ${i === 0 ? 'schedule' : 'previous phase'} ${i === 0 ? 'starts' : 'ends'}.`, `phases[${i}][start_date]`, 'parameter_invalid');
    }
    const previous = sched;
    const s = phaseSchedule(p.items, i, o, start, i === 0 && o.first ? null : sched);
    // The first phase of a subscription's schedule keeps the subscription's cycle (its items are the subscription's).
    sched = i === 0 && o.first ? o.first : s;
    const inForce = i === 0 && o.first !== null;
    // A trial ending inside the phase moves the anchor to its end (Stripe: "introducing a trial results in
    // setting the anchor to the end of the trial"): the phase's periods, and the next phases', count from there.
    // billing_cycle_anchor=phase_start restarts the cycle at the phase's start (the phase in force keeps the subscription's).
    const anchored = anchorsAtStart(p, { billing_cycle_anchor: o.defaultAnchor }) && !inForce;
    if (anchored) sched = { ...sched, anchor: start };
    const trialEnd = inForce ? undefined : trialEndOf(p, i, start, previous);
    if (trialEnd) sched = { ...sched, anchor: trialEnd };
    const end = phaseEnd(p, i, i === input.length - 1, sched, start, inForce);
    if (trialEnd && trialEnd.getTime() >= end.getTime()) {
      throw new InvalidRequestError(`phases[${i}][trial_end] must be before the phase's end (${toUnix(end)}).`, `phases[${i}][trial_end]`, 'parameter_invalid');
    }
    // A whole-phase trial ends with the phase: the anchor moves there (a no-op on a period boundary).
    if (p.trial) sched = { ...sched, anchor: end };
    const trial = p.trial ? end : trialEnd;
    if (trial && trial.getTime() - start.getTime() > MAX_TRIAL_PERIOD_DAYS * 86_400_000) {
      throw new InvalidRequestError(`A phase's trial lasts at most ${MAX_TRIAL_PERIOD_DAYS} days.`, `phases[${i}][${p.trial ? 'trial' : 'trial_end'}]`, 'parameter_invalid');
    }
    out.push({
      start_date: toUnix(start),
      end_date: toUnix(end),
      trial_end: trial ? toUnix(trial) : null,
      // The phase's own setting, as given (one that takes the default shows null, as on Stripe); the phase in force keeps its cycle.
      ...(p.billing_cycle_anchor && !inForce ? { billing_cycle_anchor: p.billing_cycle_anchor } : {}),
      ...(p.description ? { description: p.description } : {}),
      items: p.items.map((it) => ({ price: it.price, quantity: it.quantity })),
      add_invoice_items: (p.add_invoice_items ?? []).map((it) => ({ price: it.price, quantity: it.quantity })),
      proration_behavior: p.proration_behavior ?? 'create_prorations',
      metadata: p.metadata ?? {},
    });
    start = end;
  });
  return out;
}

/**
 * The end of a trial given by trial_end, checked: after the phase's start, not with `trial`, not with
 * `iterations` (its periods would count from a moved anchor), and on a phase that starts where a
 * billing period does — the schedule's start, or a period end of the phase before (a trial starting
 * inside a period would end a paid period early; end the previous phase on a period end instead).
 */
function trialEndOf(p: PhaseInput, i: number, start: Date, previous: BillingSchedule | null): Date | undefined {
  if (p.trial_end === undefined && !p.trial) return undefined;
  const param = `phases[${i}][${p.trial_end !== undefined ? 'trial_end' : 'trial'}]`;
  if (p.trial_end !== undefined && p.trial) throw new InvalidRequestError('Set only one of trial and trial_end on a phase.', `phases[${i}][trial]`, 'parameter_invalid');
  if (previous && !isBoundary(previous, start)) {
    throw new InvalidRequestError(`phases[${i}] starts inside a billing period: a trial phase must start where a period does.`, param, 'parameter_invalid');
  }
  if (p.trial) return undefined;
  const end = fromUnix(p.trial_end!);
  if (end.getTime() <= start.getTime()) throw new InvalidRequestError(`phases[${i}][trial_end] must be after the phase's start (${toUnix(start)}).`, param, 'parameter_invalid');
  if (p.iterations !== undefined) {
    throw new InvalidRequestError('A phase with trial_end gives its length as end_date or duration: iterations would count periods from the trial end.', `phases[${i}][iterations]`, 'parameter_invalid');
  }
  if (p.end_date === undefined && p.duration === undefined) {
    throw new InvalidRequestError('A phase with trial_end needs end_date or duration.', `phases[${i}][end_date]`, 'parameter_missing');
  }
  return end;
}

/** The phase in force at `at` (start ≤ at < end), if any. */
export function phaseAt(phases: readonly Phase[], at: Date): { index: number; phase: Phase } | null {
  const t = toUnix(at);
  const index = phases.findIndex((p) => p.start_date <= t && t < p.end_date);
  return index < 0 ? null : { index, phase: phases[index]! };
}

/** Same coupons from the same promotion codes, in any order. */
export function sameDiscounts(a: readonly PhaseDiscount[], b: readonly PhaseDiscount[]): boolean {
  const key = (xs: readonly PhaseDiscount[]) => xs.map((x) => `${x.coupon}|${x.promotion_code ?? ''}`).sort().join(',');
  return key(a) === key(b);
}

/** Same prices and quantities, in any order. */
export function sameItems(a: readonly PhaseItem[], b: readonly PhaseItem[]): boolean {
  const key = (xs: readonly PhaseItem[]) => xs.map((x) => `${x.price}×${x.quantity}`).sort().join(',');
  return key(a) === key(b);
}
