// A phase's discount: checked when the phases are set (as a subscription's coupon is checked when it
// is created), redeemed when the phase starts. At the start the subscription's own discount becomes
// the phase's: the same coupon from the same promotion code goes on as it is (a repeating coupon
// keeps counting its months); another replaces it; none removes it. A coupon that can no longer be
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

/** The request parameter of a phase's discount, as it was sent. */
function paramOf(p: InputPhase, i: number): string {
  if (p.coupon !== undefined) return `phases[${i}][coupon]`;
  const d = p.discounts![0]!;
  const key = d.discount ? 'discount' : d.promotion_code ? 'promotion_code' : 'coupon';
  return `phases[${i}][discounts][0][${key}]`;
}

/**
 * Each phase's discounts, resolved and checked now (404 for an unknown coupon or code, 400 for one
 * the customer cannot redeem, in another currency, or under a promotion code's minimum for the
 * phase's items); undefined where the phase names none.
 */
export async function resolvePhaseDiscounts(q: Queryable, phases: readonly InputPhase[], o: ResolveOptions): Promise<(PhaseDiscount[] | undefined)[]> {
  const out: (PhaseDiscount[] | undefined)[] = [];
  for (const [i, p] of phases.entries()) {
    if (p.coupon !== undefined && p.discounts !== undefined) {
      throw new InvalidRequestError('Pass either discounts or coupon on a phase, not both.', `phases[${i}][coupon]`, 'parameter_invalid');
    }
    if (p.coupon === undefined && p.discounts === undefined) {
      out.push(undefined);
      continue;
    }
    const d = p.coupon !== undefined ? { coupon: p.coupon } : p.discounts![0];
    if (!d) {
      out.push([]);
      continue;
    }
    const param = paramOf(p, i);
    const given = [d.coupon, d.promotion_code, d.discount].filter((x) => x !== undefined && x !== null);
    if (given.length !== 1) {
      // The object shows {coupon, promotion_code} together: sent back as read, the code names its coupon.
      if (!(given.length === 2 && d.coupon && d.promotion_code && !d.discount)) {
        throw new InvalidRequestError('Give one of coupon, promotion_code or discount in a phase discount.', param, given.length ? 'parameter_invalid' : 'parameter_missing');
      }
    }
    if (d.discount) {
      out.push([await existingDiscount(q, d.discount, o, param)]);
      continue;
    }
    const held = o.known?.find((k) => k.coupon === d.coupon && k.promotion_code === (d.promotion_code ?? null));
    if (held) {
      out.push([{ ...held }]);
      continue;
    }
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
    out.push([{ coupon: src.coupon.id, promotion_code: src.promotionCode?.id ?? null }]);
  }
  return out;
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

/** The subscription's own discount in force at `at`, if any. */
export async function ownDiscountAt(q: Queryable, subscription: string, at: Date): Promise<OwnDiscount | null> {
  const { rows } = await q.query<OwnDiscount>(
    `SELECT id, coupon, promotion_code FROM discounts
      WHERE subscription = $1 AND deleted_at IS NULL AND start_at <= $2 AND (end_at IS NULL OR $2 < end_at) ORDER BY start_at DESC, id LIMIT 1`,
    [subscription, at],
  );
  return rows[0] ?? null;
}

const same = (own: OwnDiscount | null, d: PhaseDiscount | undefined) =>
  own === null ? d === undefined : d !== undefined && own.coupon === d.coupon && own.promotion_code === d.promotion_code;

/** The phase starting at `at` puts its discount in place on the subscription (see the top of this file). */
export async function applyPhaseDiscounts(
  q: Queryable,
  sub: { id: string; customer: string },
  discounts: readonly PhaseDiscount[] | undefined,
  at: Date,
): Promise<void> {
  if (discounts === undefined) return;
  const own = await ownDiscountAt(q, sub.id, at);
  const wanted = discounts[0];
  if (same(own, wanted)) return;
  // A repeating discount that ran out by now gets its customer.discount.deleted before it is removed (unseen).
  await recordLapsedDiscounts(q, [{ subscription: sub.id, customer: sub.customer, at }], at);
  await removeSubscriptionDiscounts(q, sub.id, at);
  if (!wanted) return;
  const coupon = await findCoupon(q, wanted.coupon);
  const promo = wanted.promotion_code ? await findPromotionCode(q, wanted.promotion_code) : null;
  if (!coupon || (wanted.promotion_code && !promo)) return;
  await q.query('SAVEPOINT phase_discount');
  try {
    await redeem(q, { coupon, promotionCode: promo, customerId: sub.customer, subscriptionId: sub.id, now: at });
    await q.query('RELEASE SAVEPOINT phase_discount');
  } catch (err) {
    await q.query('ROLLBACK TO SAVEPOINT phase_discount');
    if (!(err instanceof AppError)) throw err;
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
  // Without a discount of its own, the subscription takes its customer's (no subscription has the id '').
  const customerDiscounts = async () => (await discountsFor(q, [{ id: '', customer: sub.customer, currency: sub.currency }], new Map([['', at]]), { lock: false })).get('')!;
  const own = await ownDiscountAt(q, sub.id, at);
  const wanted = discounts[0];
  if (same(own, wanted)) return null;
  if (!wanted) return customerDiscounts();
  const coupon = (await findCouponsByIds(q, [wanted.coupon])).get(wanted.coupon);
  if (!coupon || !couponIsValid(coupon, at)) return customerDiscounts();
  return [toDiscount({ ...coupon, id: coupon.id, coupon_id: coupon.id, start_at: at })];
}
