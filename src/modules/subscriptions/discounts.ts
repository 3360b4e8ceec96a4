// A subscription's discounts (Stripe's `discounts`: up to twenty). They apply in the order the
// subscription lists them, which is the order they were added (ids are sortable by creation), each on
// what the ones before it left (applyDiscounts). On an update the list given replaces the
// subscription's: `{discount: di_…}` keeps one it has, in its place; `{coupon}` / `{promotion_code}`
// adds one, after those kept, in the order given; one not named is removed. A coupon appears once.
import type { Queryable } from '../../db/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import { redeem, removeSubscriptionDiscounts, resolveDiscountSource, type DiscountSource } from '../coupons/service.js';

export interface DiscountRequest {
  coupon?: string;
  promotion_code?: string;
  discount?: string;
}

interface Context {
  customerId: string;
  currency: string;
  now: Date;
  /** What a period of the items bills before discounts (a promotion code's minimum). */
  amount: number;
  /** The parameter prefix: `discounts` (current SDKs), or null for the older `coupon` / `promotion_code`. */
  listParam: 'discounts' | null;
}

const paramOf = (req: DiscountRequest, i: number, list: Context['listParam']) => {
  const key = req.discount !== undefined ? 'discount' : req.promotion_code ? 'promotion_code' : 'coupon';
  return list ? `${list}[${i}][${key}]` : key;
};

/** New discounts requested (coupons and promotion codes), checked now; nothing is written. */
export async function resolveNewDiscounts(
  q: Queryable,
  requested: readonly DiscountRequest[],
  o: Context,
  taken: Set<string> = new Set(),
): Promise<{ source: DiscountSource; param: string }[]> {
  const out: { source: DiscountSource; param: string }[] = [];
  for (const [i, req] of requested.entries()) {
    if (req.discount !== undefined) continue;
    const param = paramOf(req, i, o.listParam);
    const source = await resolveDiscountSource(q, { coupon: req.coupon, promotionCode: req.promotion_code, customerId: o.customerId, now: o.now, currency: o.currency, amount: o.amount, param });
    if (taken.has(source.coupon.id)) throw new InvalidRequestError(`The coupon ${source.coupon.id} is already one of this subscription's discounts.`, param, 'parameter_invalid');
    taken.add(source.coupon.id);
    out.push({ source, param });
  }
  return out;
}

/** Redeems checked discounts for the subscription, in order. */
export async function redeemForSubscription(q: Queryable, subscriptionId: string, customerId: string, sources: readonly { source: DiscountSource; param: string }[], now: Date): Promise<void> {
  for (const { source, param } of sources) {
    await redeem(q, { coupon: source.coupon, promotionCode: source.promotionCode, customerId, subscriptionId, now, param });
  }
}

/**
 * The subscription's discounts replaced by the list given (see the top of this file). Each
 * `{discount}` must be one the subscription has; every check runs before anything is written.
 */
export async function replaceSubscriptionDiscounts(q: Queryable, sub: { id: string; customer: string }, requested: readonly DiscountRequest[], o: Context): Promise<void> {
  const { rows: own } = await q.query<{ id: string; coupon: string }>(
    `SELECT id, coupon FROM discounts WHERE subscription = $1 AND deleted_at IS NULL ORDER BY id FOR UPDATE`,
    [sub.id],
  );
  const kept = new Set<string>();
  const taken = new Set<string>();
  for (const [i, req] of requested.entries()) {
    if (req.discount === undefined) continue;
    const param = paramOf(req, i, o.listParam);
    if (req.coupon || req.promotion_code) throw new InvalidRequestError(`Pass one of coupon, promotion_code or discount in discounts[${i}].`, param, 'parameter_invalid');
    const row = own.find((r) => r.id === req.discount);
    if (!row) throw new InvalidRequestError(`${req.discount} is not a discount of this subscription.`, param, 'resource_missing');
    if (kept.has(row.id)) throw new InvalidRequestError(`${row.id} is given twice.`, param, 'parameter_invalid');
    kept.add(row.id);
    taken.add(row.coupon);
  }
  const added = await resolveNewDiscounts(q, requested, o, taken);
  await removeSubscriptionDiscounts(q, sub.id, o.now, kept);
  await redeemForSubscription(q, sub.id, sub.customer, added, o.now);
}
