// A phase's discounts: checked when the phases are set (as a subscription's coupons are checked when it
// is created), redeemed when the phase starts. At the start the subscription's own discounts become
// the phase's: each with the same coupon from the same promotion code goes on as it is (a repeating
// coupon keeps counting its months), in its place; the phase's others are added after those, in its
// order; the subscription's others are removed (an empty list removes all). A coupon that can no longer be
// redeemed by then (deleted, past redeem_by, out of redemptions) is left out: the phase starts, and
// bills, without it — a renewal cannot fail on it.
import type { Queryable } from '../../db/index.js';
import { AppError, InvalidRequestError } from '../../core/errors/index.js';
import { findCoupon, findPromotionCode, findCouponsByIds } from '../coupons/repository.js';
import { couponIsValid, redeem, removeSubscriptionDiscounts, resolveDiscountSource } from '../coupons/service.js';
import type { Discount } from '../invoices/domain/discounts.js';
import { recordLapsedDiscounts } from '../invoices/discount-ends.js';
import { discountsFor, loadPricing, toDiscount, unitAmountIn } from '../subscriptions/billing.js';
import type { SubscriptionRow } from '../subscriptions/repository.js';
import { toUnix } from '../../core/time/index.js';
import { findSchedule, isScheduleId } from './repository.js';
import type { PhaseDiscount } from './domain/phases.js';
import type { CreateScheduleInput } from './schemas.js';

type InputPhase = NonNullable<CreateScheduleInput['phases']>[number];

interface ResolveOptions {
  customer: string;
  currency: string;
  now: Date;
  /** The schedule's subscription, whose discount a phase may name with `discount` (none before it starts). */
  subscription: string | null;
  /**
   * Discounts the schedule's phases already hold: sent back as read, one is not checked again (its
   * promotion code may be for first-time customers, who have paid since).
   */
  known?: readonly PhaseDiscount[];
}

/** The request parameter of a phase's `i`-th discount, as it was sent. */
function paramOf(p: InputPhase, phase: number, d: NonNullable<InputPhase['discounts']>[number], i: number): string {
  if (p.coupon !== undefined) return `phases[${phase}][coupon]`;
  const key = d.discount ? 'discount' : d.promotion_code ? 'promotion_code' : 'coupon';
  return `phases[${phase}][discounts][${i}][${key}]`;
}

/**
 * Each phase's discounts, resolved and checked now (404 for an unknown coupon or code, 400 for one
 * the customer cannot redeem, in another currency, or under a promotion code's minimum for the
 * phase's items; a coupon twice in one phase); undefined where the phase names none.
 */
export async function resolvePhaseDiscounts(q: Queryable, phases: readonly InputPhase[], o: ResolveOptions): Promise<(PhaseDiscount[] | undefined)[]> {
  const out: (PhaseDiscount[] | undefined)[] = [];
  for (const [pi, p] of phases.entries()) {
    if (p.coupon !== undefined && p.discounts !== undefined) {
      throw new InvalidRequestError('Pass either discounts or coupon on a phase, not both.', `phases[${pi}][coupon]`, 'parameter_invalid');
    }
    if (p.coupon === undefined && p.discounts === undefined) {
      out.push(undefined);
      continue;
    }
    const requested = p.coupon !== undefined ? (p.coupon ? [{ coupon: p.coupon }] : []) : p.discounts!;
    const phaseDiscounts: PhaseDiscount[] = [];
    for (const [i, d] of requested.entries()) {
      const param = paramOf(p, pi, d, i);
      const resolved = await resolveOne(q, p, d, o, param);
      if (phaseDiscounts.some((x) => x.coupon === resolved.coupon)) {
        throw new InvalidRequestError(`The coupon ${resolved.coupon} is given twice in this phase.`, param, 'parameter_invalid');
      }
      phaseDiscounts.push(resolved);
    }
    out.push(phaseDiscounts);
  }
  return out;
}

async function resolveOne(q: Queryable, p: InputPhase, d: NonNullable<InputPhase['discounts']>[number], o: ResolveOptions, param: string): Promise<PhaseDiscount> {
  const given = [d.coupon, d.promotion_code, d.discount].filter((x) => x !== undefined && x !== null);
  if (given.length !== 1) {
    // The object shows {coupon, promotion_code} together: sent back as read, the code names its coupon.
    if (!(given.length === 2 && d.coupon && d.promotion_code && !d.discount)) {
      throw new InvalidRequestError('Give one of coupon, promotion_code or discount in a phase discount.', param, given.length ? 'parameter_invalid' : 'parameter_missing');
    }
  }
  if (d.discount) return existingDiscount(q, d.discount, o, param);
  const held = o.known?.find((k) => k.coupon === d.coupon && k.promotion_code === (d.promotion_code ?? null));
  if (held) return { ...held };
  const pricing = await loadPricing(q, p.items.map((it) => it.price));
  const amount = p.items.reduce((sum, it) => sum + (unitAmountIn(pricing.get(it.price)!.price, o.currency) ?? 0) * (it.quantity ?? 1), 0);
  const src = await resolveDiscountSource(q, {
    coupon: d.coupon ?? undefined,
    promotionCode: d.promotion_code ?? undefined,
    customerId: o.customer,
    now: o.now,
    currency: o.currency,
    amount,
    param,
  });
  return { coupon: src.coupon.id, promotion_code: src.promotionCode?.id ?? null };
}

/** `{discount: di_…}`: a discount of the schedule's subscription, carried on as it is (same coupon and code). */
async function existingDiscount(q: Queryable, id: string, o: ResolveOptions, param: string): Promise<PhaseDiscount> {
  const { rows } = await q.query<{ coupon: string; promotion_code: string | null }>(
    `SELECT coupon, promotion_code FROM discounts WHERE id = $1 AND deleted_at IS NULL AND customer = $2 AND subscription = $3::text`,
    [id, o.customer, o.subscription],
  );
  if (!rows[0]) throw new InvalidRequestError(`${id} is not a discount of this schedule's subscription.`, param, 'resource_missing');
  return rows[0];
}

interface OwnDiscount {
  id: string;
  coupon: string;
  promotion_code: string | null;
}

/** The subscription's own discounts in force at `at`, in the order they apply. */
export async function ownDiscountsAt(q: Queryable, subscription: string, at: Date): Promise<OwnDiscount[]> {
  const { rows } = await q.query<OwnDiscount>(
    `SELECT id, coupon, promotion_code FROM discounts
      WHERE subscription = $1 AND deleted_at IS NULL AND start_at <= $2 AND (end_at IS NULL OR $2 < end_at) ORDER BY id`,
    [subscription, at],
  );
  return rows;
}

const sameDiscount = (own: OwnDiscount, d: PhaseDiscount) => own.coupon === d.coupon && own.promotion_code === d.promotion_code;

/**
 * What a phase's discounts do to the subscription's own: each wanted one that the subscription already
 * has (same coupon, same promotion code) goes on as it is; the others are new. `same`: nothing changes.
 */
function plan(own: OwnDiscount[], wanted: readonly PhaseDiscount[]) {
  const kept = new Set<string>();
  const added: PhaseDiscount[] = [];
  for (const d of wanted) {
    const match = own.find((o) => !kept.has(o.id) && sameDiscount(o, d));
    if (match) kept.add(match.id);
    else added.push(d);
  }
  return { kept, added, same: added.length === 0 && kept.size === own.length };
}

/** The phase starting at `at` puts its discounts in place on the subscription (see the top of this file). */
export async function applyPhaseDiscounts(
  q: Queryable,
  sub: { id: string; customer: string },
  discounts: readonly PhaseDiscount[] | undefined,
  at: Date,
): Promise<void> {
  if (discounts === undefined) return;
  const { kept, added, same } = plan(await ownDiscountsAt(q, sub.id, at), discounts);
  if (same) return;
  // A repeating discount that ran out by now gets its customer.discount.deleted before it is removed (unseen).
  await recordLapsedDiscounts(q, [{ subscription: sub.id, customer: sub.customer, at }], at);
  await removeSubscriptionDiscounts(q, sub.id, at, kept);
  for (const wanted of added) {
    const coupon = await findCoupon(q, wanted.coupon);
    const promo = wanted.promotion_code ? await findPromotionCode(q, wanted.promotion_code) : null;
    if (!coupon || (wanted.promotion_code && !promo)) continue;
    await q.query('SAVEPOINT phase_discount');
    try {
      await redeem(q, { coupon, promotionCode: promo, customerId: sub.customer, subscriptionId: sub.id, now: at });
      await q.query('RELEASE SAVEPOINT phase_discount');
    } catch (err) {
      await q.query('ROLLBACK TO SAVEPOINT phase_discount');
      if (!(err instanceof AppError)) throw err;
    }
  }
}

/**
 * The discounts the renewal at `at` will apply when a phase starting there changes the subscription's
 * own discount (the upcoming-invoice preview, which writes nothing), or null when it does not. The
 * coming discount is shown under its coupon's id until it exists. A coupon that could not be redeemed
 * by then is shown as it would bill: left out.
 */
export async function upcomingPhaseDiscounts(q: Queryable, sub: Pick<SubscriptionRow, 'id' | 'customer' | 'pending_schedule' | 'currency'>, at: Date): Promise<Discount[] | null> {
  if (!sub.pending_schedule || !isScheduleId(sub.pending_schedule.id)) return null;
  const s = await findSchedule(q, sub.pending_schedule.id);
  const phase = s?.status === 'active' ? s.phases.find((p) => p.start_date === toUnix(at)) : undefined;
  const discounts = phase?.discounts;
  if (discounts === undefined) return null;
  const { kept, added, same } = plan(await ownDiscountsAt(q, sub.id, at), discounts);
  if (same) return null;
  // The kept ones first (they are older), then the coming ones, shown under their coupons' ids until
  // they exist; one that could not be redeemed by then is left out.
  const keptDiscounts = kept.size ? (await discountsFor(q, [sub], new Map([[sub.id, at]]), { lock: false })).get(sub.id)!.filter((d) => kept.has(d.id)) : [];
  const coupons = await findCouponsByIds(q, added.map((d) => d.coupon));
  const coming = added.flatMap((d) => {
    const coupon = coupons.get(d.coupon);
    return coupon && couponIsValid(coupon, at) ? [toDiscount({ ...coupon, id: coupon.id, coupon_id: coupon.id, start_at: at })] : [];
  });
  const all = [...keptDiscounts, ...coming];
  if (all.length) return all;
  // Without a discount of its own, the subscription takes its customer's (no subscription has the id '').
  return (await discountsFor(q, [{ id: '', customer: sub.customer, currency: sub.currency }], new Map([['', at]]), { lock: false })).get('')!;
}
