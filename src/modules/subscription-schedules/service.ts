import type { Queryable } from '../../db/index.js';
import { AppError, ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { fromUnix, toUnix } from '../../core/time/index.js';
import type { ListParams } from '../../http/pagination.js';
import { listObject } from '../../http/pagination.js';
import { getCustomerRow, mergeMetadata } from '../customers/service.js';
import { previousAttributes } from '../events/service.js';
import { addInvoiceItems, checkInvoiceItemPrices } from '../subscriptions/add-invoice-items.js';
import { loadPricing, unitAmountIn } from '../subscriptions/billing.js';
import { catchUpPeriods, periodDue } from '../subscriptions/catch-up.js';
import { scheduleOf } from '../subscriptions/drafts.js';
import { periodContainingTime } from '../subscriptions/domain/periods.js';
import { MAX_TRIAL_PERIOD_DAYS } from '../catalog/domain/recurring.js';
import { RENEWABLE_STATUSES } from '../subscriptions/jobs.js';
import { itemsOf, type SubscriptionRow } from '../subscriptions/repository.js';
import { cancelSubscription, createSubscription, effectiveNow, getSubscriptionRow, lockCaughtUp, updateSubscription, type Ctx } from '../subscriptions/service.js';
import { transition } from '../subscriptions/state.js';
import { anchorsAtStart, effectiveSettings, planPhases, sameDiscounts, sameItems, type Phase, type PhaseDiscount, type PhaseInput, type PhaseSettings, type PriceTerms } from './domain/phases.js';
import { ownDiscountsAt, resolvePhaseDiscounts } from './discounts.js';
import { checkPhases, resolveDefaultSettings, resolvePhaseSettings } from './settings.js';
import { phaseIndexOf, phasePaymentMethod, recordScheduleEvent, scheduleObjectOf, schedulePhaseStarted, stepFor } from './lifecycle.js';
import { findSchedule, insertSchedule, isScheduleId, listScheduleRows, updateSchedule, type ScheduleRow } from './repository.js';
import type { CreateScheduleInput, UpdateScheduleInput } from './schemas.js';
import { scheduleObject, type ScheduleObject } from './serialize.js';

type InputPhases = NonNullable<CreateScheduleInput['phases']>;

const LIVE: ReadonlySet<string> = new Set(['not_started', 'active']);


async function getSchedule(q: Queryable, id: string, forUpdate = false): Promise<ScheduleRow> {
  const s = await findSchedule(q, id, forUpdate);
  if (!s) throw new NotFoundError('subscription_schedule', id);
  return s;
}

/**
 * The schedule and its subscription, both locked, in the order the renewal locks them (the
 * subscription first, then the schedule), so an API call and a worker never wait on each other in a
 * cycle. The schedule's subscription only changes when it starts or is released: read again if so.
 */
async function lockWithSubscription(q: Queryable, id: string): Promise<{ s: ScheduleRow; sub: SubscriptionRow | null }> {
  for (;;) {
    const peek = await getSchedule(q, id);
    const sub = peek.subscription ? await getSubscriptionRow(q, peek.subscription, true) : null;
    const s = await getSchedule(q, id, true);
    if (s.subscription === peek.subscription) return { s, sub };
  }
}

function assertLive(s: ScheduleRow, verb: string): void {
  if (!LIVE.has(s.status)) throw new ConflictError(`You cannot ${verb} a subscription schedule that is ${s.status}.`, 'subscription_schedule_ended', 'id');
}

/** The phases' prices (404 naming the entry), as the phase planner sees them in `currency`. */
async function phasePrices(q: Queryable, phases: InputPhases, currency: string | null): Promise<{ prices: Map<string, PriceTerms>; currency: string }> {
  const pricing = await loadPricing(q, phases.flatMap((p) => p.items.map((i) => i.price)));
  phases.forEach((p, i) =>
    p.items.forEach((it, j) => {
      if (!pricing.has(it.price)) throw new NotFoundError('price', it.price, `phases[${i}][items][${j}][price]`);
    }),
  );
  const cur = currency ?? pricing.get(phases[0]!.items[0]!.price)!.price.currency;
  const prices = new Map<string, PriceTerms>();
  for (const [id, { price }] of pricing) {
    prices.set(id, { type: price.type, active: price.active, interval: price.interval, intervalCount: price.interval_count, inCurrency: unitAmountIn(price, cur) !== null, customer: price.customer });
  }
  return { prices, currency: cur };
}

const withQuantity = (i: { price: string; quantity?: number }) => ({ price: i.price, quantity: i.quantity ?? 1 });
const withQuantities = (phases: InputPhases): PhaseInput[] =>
  phases.map(({ coupon: _c, discounts: _d, collection_method: _m, invoice_settings: _i, default_payment_method: _p, ...p }) => ({
    ...p,
    items: p.items.map(withQuantity),
    add_invoice_items: p.add_invoice_items?.map(withQuantity),
  }));

/**
 * The planned phases with their discounts (a phase that names none has none of its own — Stripe: the
 * coupon is removed) and their own collection settings.
 */
const withTerms = (phases: Phase[], discounts: readonly (PhaseDiscount[] | undefined)[], settings: readonly PhaseSettings[]): Phase[] =>
  phases.map((p, i) => ({ ...p, discounts: discounts[i] ?? [], settings: settings[i] ?? {} }));

/** Each phase's add_invoice_items: one-time prices with an amount in the schedule's currency (one the schedule already has may be archived since). */
async function checkAddInvoiceItems(q: Queryable, phases: InputPhases, currency: string, inUse: ReadonlySet<string> = new Set()): Promise<void> {
  for (const [i, p] of phases.entries()) {
    const items = p.add_invoice_items?.map((a) => ({ ...a, priceChecked: inUse.has(a.price) }));
    if (items?.length) await checkInvoiceItemPrices(q, items, currency, `phases[${i}][add_invoice_items]`);
  }
}

/** The prices a schedule already has: its phases' items and one-time items, and its subscription's items. */
const pricesInUse = (s: ScheduleRow, subItems: readonly { price: string }[] = []): Set<string> =>
  new Set([...s.phases.flatMap((p) => [...p.items, ...(p.add_invoice_items ?? [])].map((i) => i.price)), ...subItems.map((i) => i.price)]);

/**
 * The schedule takes the subscription over: it carries the step at the end of phase `k` (the phase in
 * force; by default, found from the subscription — an update passes the index it found before it
 * replaced the phases) from now on.
 */
async function attach(q: Queryable, s: ScheduleRow, sub: SubscriptionRow, now: Date, k = phaseIndexOf(s, sub)): Promise<void> {
  await transition(q, sub, stepFor(s, k, scheduleOf(sub)), now);
}

/** `made`: prices made from the request's price_data, inactive by design (price-data.ts). */
export async function createSchedule(ctx: Ctx, input: CreateScheduleInput, made: ReadonlySet<string> = new Set()): Promise<ScheduleObject> {
  return input.from_subscription !== undefined ? fromSubscription(ctx, input) : forCustomer(ctx, input, made);
}

/** Stripe's from_subscription: one phase, the subscription's current period with its items, then release. */
async function fromSubscription(ctx: Ctx, input: CreateScheduleInput): Promise<ScheduleObject> {
  const { q } = ctx;
  const other = (['customer', 'phases', 'start_date', 'end_behavior'] as const).find((k) => input[k] !== undefined);
  if (other) throw new InvalidRequestError(`from_subscription takes the subscription as the schedule's first phase: set ${other} with an update of the schedule.`, other, 'parameter_invalid');
  const id = input.from_subscription!;
  const { sub, now } = await lockCaughtUp(ctx, id, 'from_subscription');
  if (!(RENEWABLE_STATUSES as readonly string[]).includes(sub.status)) {
    throw new InvalidRequestError(`A ${sub.status} subscription cannot be put on a schedule.`, 'from_subscription', 'parameter_invalid');
  }
  if (sub.pending_schedule) {
    const by = isScheduleId(sub.pending_schedule.id) ? `the subscription schedule ${sub.pending_schedule.id}` : `a change scheduled for the period end (${sub.pending_schedule.id}); release it first`;
    throw new ConflictError(`The subscription is already managed by ${by}.`, 'subscription_managed_by_schedule', 'from_subscription');
  }
  if (sub.cancel_at || sub.cancel_at_period_end) {
    throw new InvalidRequestError('The subscription is set to cancel: clear its cancellation first, and end the schedule with end_behavior=cancel instead.', 'from_subscription', 'parameter_invalid');
  }
  if (sub.pending_update) throw new InvalidRequestError('The subscription has a pending update waiting for its invoice to be paid.', 'from_subscription', 'parameter_invalid');
  const items = (await itemsOf(q, [sub.id])).get(sub.id)!;
  const own = await ownDiscountsAt(q, sub.id, now);
  const phase: Phase = {
    start_date: toUnix(new Date(sub.current_period_start)),
    end_date: toUnix(new Date(sub.current_period_end)),
    items: items.map((i) => ({ price: i.price, quantity: i.quantity })),
    // The subscription's own discounts are the phase's, so a later phase without them removes them.
    discounts: own.map((d) => ({ coupon: d.coupon, promotion_code: d.promotion_code })),
    trial_end: sub.status === 'trialing' && sub.trial_end ? toUnix(new Date(sub.trial_end)) : null,
    proration_behavior: 'create_prorations',
    metadata: {},
  };
  const s = await insertSchedule(q, {
    ...blank(),
    id: newId('sub_sched'),
    customer: sub.customer,
    subscription: sub.id,
    status: 'active',
    currency: sub.currency,
    phases: [phase],
    default_settings: {},
    start_date: new Date(sub.current_period_start),
    metadata: mergeMetadata({}, input.metadata),
    test_clock: sub.test_clock,
    created: now,
  });
  await recordScheduleEvent(q, s, 'subscription_schedule.created', now);
  await attach(q, s, sub, now);
  return scheduleObjectOf(q, s, now);
}

function blank(): Pick<ScheduleRow, 'released_subscription' | 'end_behavior' | 'canceled_at' | 'completed_at' | 'released_at'> {
  return { released_subscription: null, end_behavior: 'release', canceled_at: null, completed_at: null, released_at: null };
}

/** A schedule for a customer: its subscription starts now, or the worker starts it at start_date. */
async function forCustomer(ctx: Ctx, input: CreateScheduleInput, made: ReadonlySet<string>): Promise<ScheduleObject> {
  const { q } = ctx;
  if (input.customer === undefined) throw new InvalidRequestError('Provide customer (with phases) or from_subscription.', 'customer', 'parameter_missing');
  if (!input.phases) throw new InvalidRequestError('A schedule for a customer needs its phases.', 'phases', 'parameter_missing');
  const customer = await getCustomerRow(q, input.customer, { param: 'customer', forUpdate: true });
  const now = await effectiveNow(q, customer.test_clock, ctx.now);
  const start = input.start_date === undefined || input.start_date === 'now' ? now : fromUnix(input.start_date);
  const { prices, currency } = await phasePrices(q, input.phases, customer.currency);
  const planned = planPhases(withQuantities(input.phases), { start, first: null, prices, currency, customer: customer.id, defaultAnchor: input.default_settings?.billing_cycle_anchor, inUse: made });
  if (start.getTime() < now.getTime()) checkBackdate(planned, start, now);
  await checkAddInvoiceItems(q, input.phases, currency, made);
  const discounts = await resolvePhaseDiscounts(q, input.phases, { customer: customer.id, currency, now, subscription: null });
  const c = { q, deps: ctx.deps, now, customer: customer.id };
  const defaults = await resolveDefaultSettings(c, input.default_settings);
  const phases = withTerms(planned, discounts, await resolvePhaseSettings(c, input.phases, defaults));
  let s = await insertSchedule(q, {
    ...blank(),
    id: newId('sub_sched'),
    customer: customer.id,
    subscription: null,
    status: 'not_started',
    end_behavior: input.end_behavior ?? 'release',
    currency,
    phases,
    default_settings: defaults,
    start_date: start,
    metadata: mergeMetadata({}, input.metadata),
    test_clock: customer.test_clock,
    created: now,
  });
  await recordScheduleEvent(q, s, 'subscription_schedule.created', now);
  if (start.getTime() <= now.getTime()) s = await startSchedule({ ...ctx, now }, s, { backdated: start.getTime() < now.getTime() });
  return scheduleObjectOf(q, s, now);
}

/**
 * A start_date in the past (Stripe's backdated schedule): its subscription is created now, backdated to
 * it (backdate_start_date), so Recur backdates within the first phase only, without a trial on it, and
 * bills at most 730 days back.
 */
function checkBackdate(phases: readonly Phase[], start: Date, now: Date): void {
  if (phases[0]!.end_date <= toUnix(now)) {
    throw new InvalidRequestError(`Recur backdates a schedule within its first phase: phases[0] would have ended by now (${phases[0]!.end_date}).`, 'start_date', 'parameter_invalid');
  }
  if (phases[0]!.trial_end) throw new InvalidRequestError('A backdated schedule starts without a trial: its first phase cannot have one.', 'start_date', 'parameter_invalid');
  if (now.getTime() - start.getTime() > MAX_TRIAL_PERIOD_DAYS * 86_400_000) {
    throw new InvalidRequestError(`start_date can be at most ${MAX_TRIAL_PERIOD_DAYS} days in the past.`, 'start_date', 'parameter_invalid');
  }
}

/**
 * Starts a not_started schedule at its start_date: the subscription of its first phase, charged at
 * once (Stripe's schedules bill their first invoice as a subscription created then would; no trial
 * from the prices), then carrying the schedule's next step.
 */
export async function startSchedule(ctx: Ctx, s: ScheduleRow, opts: { backdated?: boolean } = {}): Promise<ScheduleRow> {
  const { q } = ctx;
  // A backdated schedule's subscription is created now, backdated to the start; the worker creates a
  // future one as of its start_date.
  const at = opts.backdated ? ctx.now : new Date(s.start_date);
  const first = s.phases[0]!;
  const backdate = opts.backdated ? await backdateTerms(q, s, at) : {};
  const settings = effectiveSettings(first, s.default_settings ?? {});
  // A payment method detached since the phases were set is left out (the customer's default pays).
  const pm = await phasePaymentMethod(q, s, 0);
  const create = (discount?: PhaseDiscount) =>
    createSubscription(
      { ...ctx, now: at },
      {
        customer: s.customer,
        currency: s.currency,
        // Checked when the phases were set: a price archived since still bills, as at a later phase's start.
        items: first.items.map((i) => ({ price: i.price, quantity: i.quantity, priceChecked: true })),
        add_invoice_items: first.add_invoice_items?.map((i) => ({ ...i, priceChecked: true })),
        // A trial only if the phase has one (never the prices' default).
        trial_end: first.trial_end ?? 'now',
        payment_behavior: 'allow_incomplete',
        // The first phase's metadata is the subscription's (Stripe: set when the phase is entered).
        metadata: first.metadata,
        ...(first.description ? { description: first.description } : {}),
        ...(settings.collection_method ? { collection_method: settings.collection_method } : {}),
        ...(settings.collection_method === 'send_invoice' ? { days_until_due: settings.days_until_due! } : {}),
        ...(settings.automatic_tax != null ? { automatic_tax: { enabled: settings.automatic_tax } } : {}),
        ...('default_payment_method' in pm ? { default_payment_method: pm.default_payment_method! } : {}),
        ...(discount ? { discounts: [discount.promotion_code ? { promotion_code: discount.promotion_code } : { coupon: discount.coupon }] } : {}),
        ...backdate,
      },
    );
  const created = await withFallback(q, first.discounts?.[0], create);
  const before = await scheduleObjectOf(q, s, at);
  const started = await updateSchedule(q, s.id, { status: 'active', subscription: created.id });
  const after = await scheduleObjectOf(q, started, at);
  await recordScheduleEvent(q, started, 'subscription_schedule.updated', at, previousAttributes(before, after));
  let sub = await getSubscriptionRow(q, created.id, true);
  // Backdated: the periods count from the schedule's start, as its phases do (a Jan 31 start renews
  // Feb 28, then Mar 31 — not from the first billing date, Feb 28, which would give Mar 28).
  if (opts.backdated) sub = await transition(q, sub, { billing_cycle_anchor: new Date(s.start_date) }, at);
  // A first payment that failed for good ends the subscription (incomplete_expired) later, and the schedule with it.
  await attach(q, started, sub, at);
  return started;
}

/** backdate_start_date and the first billing date: the end of the first phase's period containing now (or now, on a boundary). */
async function backdateTerms(q: Queryable, s: ScheduleRow, now: Date): Promise<{ backdate_start_date: number; billing_cycle_anchor?: number }> {
  const start = new Date(s.start_date);
  const { price } = (await loadPricing(q, [s.phases[0]!.items[0]!.price])).values().next().value!;
  const period = periodContainingTime({ anchor: start, interval: price.interval!, intervalCount: price.interval_count! }, now);
  const anchor = period.start.getTime() === now.getTime() ? null : period.end;
  return { backdate_start_date: toUnix(start), ...(anchor ? { billing_cycle_anchor: toUnix(anchor) } : {}) };
}

/**
 * The first phase's subscription with the phase's discount, checked when the phases were set; one that
 * can no longer be redeemed at the start (deleted, used up, expired — refused before anything is
 * charged) is left out rather than failing the start (as at a later phase's start, discounts.ts).
 */
async function withFallback<T>(q: Queryable, discount: PhaseDiscount | undefined, create: (d?: PhaseDiscount) => Promise<T>): Promise<T> {
  if (!discount) return create();
  await q.query('SAVEPOINT schedule_start');
  try {
    const out = await create(discount);
    await q.query('RELEASE SAVEPOINT schedule_start');
    return out;
  } catch (err) {
    await q.query('ROLLBACK TO SAVEPOINT schedule_start');
    if (!(err instanceof AppError) || err.status >= 500 || err.status === 402) throw err;
    return create();
  }
}

export async function retrieveSchedule(q: Queryable, now: Date, id: string): Promise<ScheduleObject> {
  const s = await getSchedule(q, id);
  return scheduleObjectOf(q, s, await effectiveNow(q, s.test_clock, now));
}

/** A page of schedules: their subscriptions' collection methods and their clocks' times read once for the page. */
export async function listSchedules(q: Queryable, now: Date, filter: Parameters<typeof listScheduleRows>[1], list: ListParams) {
  const { rows, hasMore } = await listScheduleRows(q, filter, list);
  const subIds = rows.map((r) => r.subscription ?? r.released_subscription).filter((x): x is string => x !== null);
  const clockIds = [...new Set(rows.map((r) => r.test_clock).filter((x): x is string => x !== null))];
  const subs = new Map(
    subIds.length
      ? (await q.query<Pick<SubscriptionRow, 'id' | 'collection_method' | 'automatic_tax'>>(`SELECT id, collection_method, automatic_tax FROM subscriptions WHERE id = ANY($1::text[])`, [subIds])).rows.map((r) => [r.id, r])
      : [],
  );
  const clocks = new Map(
    clockIds.length ? (await q.query<{ id: string; frozen_time: Date }>(`SELECT id, frozen_time FROM test_clocks WHERE id = ANY($1::text[])`, [clockIds])).rows.map((r) => [r.id, new Date(r.frozen_time)]) : [],
  );
  const data = rows.map((r) => scheduleObject(r, (r.test_clock && clocks.get(r.test_clock)) || now, subs.get(r.subscription ?? r.released_subscription ?? '')));
  return listObject('/v1/subscription_schedules', data, hasMore);
}

export async function updateScheduleById(ctx: Ctx, id: string, input: UpdateScheduleInput, made: ReadonlySet<string> = new Set()): Promise<ScheduleObject> {
  const { q } = ctx;
  let { s, sub } = await lockWithSubscription(q, id);
  assertLive(s, 'update');
  const now = await effectiveNow(q, s.test_clock, ctx.now);
  if (sub && periodDue(sub, now)) {
    await catchUpPeriods(q, ctx.deps, sub.id, now);
    sub = await getSubscriptionRow(q, sub.id, true);
    s = await getSchedule(q, id, true);
    assertLive(s, 'update');
  }
  const before = await scheduleObjectOf(q, s, now);
  // The phase in force keeps its index: past phases stay, the new ones follow it.
  const inForce = sub ? phaseIndexOf(s, sub) : 0;
  const patch: Partial<ScheduleRow> = {};
  if (input.metadata) patch.metadata = mergeMetadata(s.metadata, input.metadata);
  if (input.end_behavior) patch.end_behavior = input.end_behavior;
  const c = { q, deps: ctx.deps, now, customer: s.customer };
  if (input.default_settings) patch.default_settings = await resolveDefaultSettings(c, input.default_settings, s.default_settings ?? {});
  const defaults = patch.default_settings ?? s.default_settings ?? {};
  if (input.phases) patch.phases = sub ? await replanActive(c, s, sub, input.phases, defaults, made) : await replanNotStarted(c, s, input.phases, defaults, made);
  // New defaults alone: the phases still to come must agree with them (their own days_until_due, say).
  else if (input.default_settings) checkPhases(s.phases.slice(sub ? phaseIndexOf(s, sub) + 1 : 0), defaults, sub ? phaseIndexOf(s, sub) + 1 : 0);
  const after = await updateSchedule(q, s.id, patch);
  if (sub && (input.phases || input.end_behavior || input.default_settings)) await attach(q, after, sub, now, inForce);
  const obj = await scheduleObjectOf(q, after, now);
  const prev = previousAttributes(before, obj);
  if (Object.keys(prev).length > 0) await recordScheduleEvent(q, after, 'subscription_schedule.updated', now, prev);
  return obj;
}

/**
 * New phases for a running schedule. Past phases stay as they were (sent again, they are skipped);
 * the first phase given is the one in force: same items as the subscription has, same start; its end
 * and everything after it may change.
 */
type SettingsCtx = Parameters<typeof resolvePhaseSettings>[0];

async function replanActive(c: SettingsCtx, s: ScheduleRow, sub: SubscriptionRow, input: InputPhases, defaults: PhaseSettings, made: ReadonlySet<string>): Promise<Phase[]> {
  const { q, now } = c;
  const k = phaseIndexOf(s, sub);
  const current = s.phases[k]!;
  const skip = input.findIndex((p) => p.start_date === undefined || p.start_date >= current.start_date);
  if (skip < 0) throw new InvalidRequestError('The phases must include the phase in force.', 'phases', 'parameter_invalid');
  const given = withQuantities(input.slice(skip));
  const items = (await itemsOf(q, [sub.id])).get(sub.id)!.map((i) => ({ price: i.price, quantity: i.quantity }));
  if (!sameItems(given[0]!.items, items)) {
    throw new InvalidRequestError(
      `phases[${skip}] is the phase in force: its items must be the subscription's. To change them now, update the subscription; to change them later, end this phase then and give the items to the next one.`,
      `phases[${skip}][items]`,
      'parameter_invalid',
    );
  }
  // The phase in force has started: its one-time prices were billed then and stay as they were.
  if (!sameItems(given[0]!.add_invoice_items ?? [], current.add_invoice_items ?? [])) {
    throw new InvalidRequestError(`phases[${skip}] is the phase in force: its add_invoice_items were billed when it started.`, `phases[${skip}][add_invoice_items]`, 'parameter_invalid');
  }
  const inUse = new Set([...pricesInUse(s, items), ...made]);
  const planned = await renumber(skip, async () => {
    const rest = input.slice(skip);
    const { prices } = await phasePrices(q, rest, s.currency);
    const out = planPhases(given, { start: fromUnix(current.start_date), first: scheduleOf(sub), prices, currency: s.currency, customer: s.customer, defaultAnchor: defaults.billing_cycle_anchor, inUse });
    await checkAddInvoiceItems(q, rest, s.currency, inUse);
    // The phase in force put its discount in place when it started: it keeps it (change the subscription's instead).
    const inForce = current.discounts ?? [];
    const discounts = await resolvePhaseDiscounts(q, rest, { customer: s.customer, currency: s.currency, now, subscription: sub.id, known: s.phases.flatMap((p) => p.discounts ?? []) });
    if (discounts[0] !== undefined && !sameDiscounts(discounts[0], inForce)) {
      throw new InvalidRequestError(
        'phases[0] is the phase in force: its discount was put in place when it started. To change it now, update the subscription; to change it later, end this phase then and give the discount to the next one.',
        rest[0]!.coupon !== undefined ? 'phases[0][coupon]' : 'phases[0][discounts]',
        'parameter_invalid',
      );
    }
    // …and its trial, as it started (or as the subscription had it when the schedule took it over).
    const trial = current.trial_end ?? null;
    const sent = rest[0]!;
    if ((sent.trial_end !== undefined && sent.trial_end !== trial) || (sent.trial && trial !== out[0]!.end_date)) {
      throw new InvalidRequestError(
        'phases[0] is the phase in force: its trial was set when it started and stays as it is.',
        sent.trial_end !== undefined ? 'phases[0][trial_end]' : 'phases[0][trial]',
        'parameter_invalid',
      );
    }
    out[0] = { ...out[0]!, trial_end: trial };
    // A phase's trial ends by the phase's end (Stripe: trial_end "must be before the phase end date"; the
    // trial of a subscription taken over ends with its phase): the phase in force cannot be cut shorter
    // than its trial, or the next phase would start while the subscription is still trialing.
    if (trial !== null && trial > out[0]!.end_date) {
      const length = sent.end_date !== undefined ? 'end_date' : sent.duration !== undefined ? 'duration' : 'iterations';
      throw new InvalidRequestError(
        `phases[0] is the phase in force and its trial runs to ${trial}: it cannot end before then (${out[0]!.end_date}).`,
        `phases[0][${length}]`,
        'parameter_invalid',
      );
    }
    // …and where its cycle was anchored.
    if (sent.billing_cycle_anchor === 'phase_start' && !anchorsAtStart(current, s.default_settings ?? {})) {
      throw new InvalidRequestError('phases[0] is the phase in force: it started on the cycle it has.', 'phases[0][billing_cycle_anchor]', 'parameter_invalid');
    }
    if (current.billing_cycle_anchor) out[0] = { ...out[0]!, billing_cycle_anchor: current.billing_cycle_anchor };
    // …and its collection settings (put in place when it started): later phases' are checked with the defaults.
    const settings = await resolvePhaseSettings(c, rest, defaults);
    const changed = (['collection_method', 'days_until_due', 'default_payment_method', 'automatic_tax'] as const).find((key) => settings[0]![key] != null && settings[0]![key] !== current.settings?.[key]);
    if (changed) {
      throw new InvalidRequestError(
        'phases[0] is the phase in force: its collection settings were put in place when it started. To change them now, update the subscription.',
        `phases[0][${changed === 'days_until_due' ? 'invoice_settings][days_until_due' : changed === 'automatic_tax' ? 'automatic_tax][enabled' : changed}]`,
        'parameter_invalid',
      );
    }
    return withTerms(out, [inForce, ...discounts.slice(1)], [current.settings ?? {}, ...settings.slice(1)]);
  });
  if (planned[0]!.end_date <= toUnix(now)) {
    throw new InvalidRequestError(`The phase in force must end after now (${toUnix(now)}).`, `phases[${skip}][end_date]`, 'parameter_invalid');
  }
  return [...s.phases.slice(0, k), ...planned];
}

async function replanNotStarted(c: SettingsCtx, s: ScheduleRow, input: InputPhases, defaults: PhaseSettings, made: ReadonlySet<string>): Promise<Phase[]> {
  const { q, now } = c;
  const { prices } = await phasePrices(q, input, s.currency);
  const inUse = new Set([...pricesInUse(s), ...made]);
  const phases = planPhases(withQuantities(input), { start: new Date(s.start_date), first: null, prices, currency: s.currency, customer: s.customer, defaultAnchor: defaults.billing_cycle_anchor, inUse });
  await checkAddInvoiceItems(q, input, s.currency, inUse);
  const known = s.phases.flatMap((p) => p.discounts ?? []);
  const discounts = await resolvePhaseDiscounts(q, input, { customer: s.customer, currency: s.currency, now, subscription: null, known });
  return withTerms(phases, discounts, await resolvePhaseSettings(c, input, defaults));
}

/** Errors name the phase as the request numbered it, past phases included. */
async function renumber<T>(offset: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (offset > 0 && err instanceof AppError && err.param?.startsWith('phases[')) {
      const shift = (text: string) => text.replace(/phases\[(\d+)\]/g, (_, i: string) => `phases[${Number(i) + offset}]`);
      throw new AppError(err.status, err.type, err.code, shift(err.message), shift(err.param), err.extra);
    }
    throw err;
  }
}

/**
 * A phase change inside a billing period, due at its step_at: the subscription is updated then — the
 * next phase's items, its proration_behavior, proration_date = step_at; its add_invoice_items first,
 * so an always_invoice change bills them — and carries the following step. A worker so late that the
 * period has ended meanwhile leaves the change to the renewal (applied there, without proration).
 */
export async function applyScheduleStep(ctx: Ctx, claimed: SubscriptionRow): Promise<void> {
  const { q } = ctx;
  let sub = claimed;
  const step = sub.pending_schedule!;
  const stepAt = step.step_at!;
  const now = await effectiveNow(q, sub.test_clock, ctx.now);
  if (periodDue(sub, now)) {
    const { step_at: _late, ...atRenewal } = step;
    await transition(q, sub, { pending_schedule: atRenewal }, now);
    return;
  }
  const s = await findSchedule(q, step.id, true);
  if (!s || s.status !== 'active') {
    await transition(q, sub, { pending_schedule: null }, now);
    return;
  }
  const k = s.phases.findIndex((p) => p.start_date === stepAt);
  if (step.items && k >= 0) {
    await addInvoiceItems(q, { id: sub.id, customer: s.customer, currency: s.currency }, s.phases[k]!.add_invoice_items, now, { checked: true });
    const current = (await itemsOf(q, [sub.id])).get(sub.id)!;
    // The phase's payment method (if still the customer's) pays the change's own invoice already.
    const pm = await phasePaymentMethod(q, s, k);
    await updateSubscription(
      { ...ctx, now },
      sub.id,
      {
        items: [...current.map((i) => ({ id: i.id, deleted: true })), ...step.items.map((i) => ({ price: i.price, quantity: i.quantity }))],
        proration_behavior: s.phases[k]!.proration_behavior,
        proration_date: stepAt,
        // billing_cycle_anchor=phase_start: a new cycle from the phase's start, invoiced then (as an anchor reset is).
        ...(step.reset_anchor ? { billing_cycle_anchor: 'now' as const } : {}),
        // The phase's collection method, before any invoice this change makes (always_invoice).
        ...(step.collection_method ? { collection_method: step.collection_method } : {}),
        ...(step.collection_method === 'send_invoice' ? { days_until_due: step.days_until_due ?? undefined } : {}),
        ...('default_payment_method' in pm ? { default_payment_method: pm.default_payment_method! } : {}),
      },
      { bySchedule: true },
    );
    sub = await getSubscriptionRow(q, sub.id, true);
  }
  const next = await schedulePhaseStarted(q, s.id, sub.id, fromUnix(stepAt), now, scheduleOf(sub), { itemsAdded: true });
  await transition(q, sub, { pending_schedule: null, ...next }, now);
}

/** Cancels the schedule and, if it runs one, its subscription now (Stripe's defaults: invoice_now and prorate true). */
export async function cancelScheduleById(ctx: Ctx, id: string, input: { invoice_now?: boolean; prorate?: boolean }): Promise<ScheduleObject> {
  const { q } = ctx;
  const { s } = await lockWithSubscription(q, id);
  assertLive(s, 'cancel');
  const now = await effectiveNow(q, s.test_clock, ctx.now);
  // Marked first, so the subscription's ending does not complete or cancel it a second time.
  const canceled = await updateSchedule(q, s.id, { status: 'canceled', canceled_at: now });
  await recordScheduleEvent(q, canceled, 'subscription_schedule.canceled', now);
  if (s.subscription) await cancelSubscription({ ...ctx, now }, s.subscription, { invoice_now: input.invoice_now ?? true, prorate: input.prorate ?? true });
  return scheduleObjectOf(q, canceled, now);
}

/** Stops the schedule and leaves its subscription as it is (without the schedule's cancel_at unless preserve_cancel_date). */
export async function releaseScheduleById(ctx: Ctx, id: string, input: { preserve_cancel_date?: boolean }): Promise<ScheduleObject> {
  const { q } = ctx;
  const { s, sub } = await lockWithSubscription(q, id);
  assertLive(s, 'release');
  const now = await effectiveNow(q, s.test_clock, ctx.now);
  const released = await updateSchedule(q, s.id, { status: 'released', released_at: now, released_subscription: s.subscription, subscription: null });
  if (sub) {
    await transition(q, sub, { pending_schedule: null, ...(input.preserve_cancel_date ? {} : { cancel_at: null }) }, now);
  }
  await recordScheduleEvent(q, released, 'subscription_schedule.released', now);
  return scheduleObjectOf(q, released, now);
}
