import { AppError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import { findCouponsByIds, type DiscountRow } from '../coupons/repository.js';
import type { DiscountObject } from '../coupons/schemas.js';
import { endDiscount, redeem, resolveDiscountSource, serializeDiscount } from '../coupons/service.js';

// A customer's own discount (Stripe's customer `coupon`/`promotion_code` and `customer.discount`): a
// discount with no subscription and no invoice. Billing already applies it to every invoice of the
// customer whose subscription has no discount of its own, and to one-off invoices
// (subscriptions/billing.ts discountsFor); this module sets, shows and removes it. A customer has
// at most one: a new coupon replaces the one before.

type Owner = { id: string; test_clock: string | null; discount: string | null };

/**
 * The discount in force of each customer, at each customer's own time (its test clock's frozen time, or
 * `now`): one query for those that have one (customers.discount), none when no customer has. A
 * `repeating` discount past its end is no longer shown, as on Stripe.
 */
export async function customerDiscounts(q: Queryable, owners: readonly Owner[], now: Date): Promise<Map<string, DiscountObject>> {
  const out = new Map<string, DiscountObject>();
  const customers = owners.filter((c) => c.discount !== null);
  if (customers.length === 0) return out;
  const { rows } = await q.query<DiscountRow & { at: Date }>(
    `SELECT d.*, coalesce(tc.frozen_time, $2) AS at FROM discounts d
       JOIN customers c ON c.id = d.customer LEFT JOIN test_clocks tc ON tc.id = c.test_clock
      WHERE d.customer = ANY($1::text[]) AND d.subscription IS NULL AND d.invoice IS NULL AND d.deleted_at IS NULL
        AND d.start_at <= coalesce(tc.frozen_time, $2) AND (d.end_at IS NULL OR coalesce(tc.frozen_time, $2) < d.end_at)
      ORDER BY d.customer, d.start_at DESC, d.id DESC`,
    [customers.map((c) => c.id), now],
  );
  const coupons = await findCouponsByIds(q, [...new Set(rows.map((r) => r.coupon))]);
  for (const r of rows) if (!out.has(r.customer)) out.set(r.customer, serializeDiscount(r, coupons.get(r.coupon)!, new Date(r.at)));
  return out;
}

/** Ends and removes the customer's own discounts (the one in force writes customer.discount.deleted). Returns the last one ended. */
export async function removeCustomerDiscounts(q: Queryable, customer: string, now: Date): Promise<DiscountObject | null> {
  const { rows } = await q.query<{ id: string; start_at: Date; end_at: Date | null }>(
    `SELECT id, start_at, end_at FROM discounts WHERE customer = $1 AND subscription IS NULL AND invoice IS NULL AND deleted_at IS NULL ORDER BY id FOR UPDATE`,
    [customer],
  );
  let last: DiscountObject | null = null;
  for (const r of rows) {
    const inForce = new Date(r.start_at) <= now && (r.end_at === null || now < new Date(r.end_at));
    if (inForce) last = await endDiscount(q, r.id, now);
    await q.query(`UPDATE discounts SET deleted_at = $2 WHERE id = $1`, [r.id, now]);
  }
  await q.query(`UPDATE customers SET discount = NULL WHERE id = $1 AND discount IS NOT NULL`, [customer]);
  return last;
}

/**
 * `coupon` / `promotion_code` on a customer's create or update: checked first (a 400 or 404 naming the
 * parameter, nothing written), then the customer's discount before is replaced by the new one. Returns
 * the customer row as it is then (its `discount` column set).
 */
export async function setCustomerDiscount<C extends { id: string; currency: string | null; discount: string | null }>(
  q: Queryable,
  customer: C,
  input: { coupon?: string; promotion_code?: string },
  now: Date,
): Promise<C> {
  if (input.coupon === undefined && input.promotion_code === undefined) return customer;
  const source = await resolveDiscountSource(q, {
    coupon: input.coupon,
    promotionCode: input.promotion_code,
    customerId: customer.id,
    now,
    param: input.promotion_code !== undefined ? 'promotion_code' : 'coupon',
    ...(customer.currency ? { currency: customer.currency } : {}),
  });
  await removeCustomerDiscounts(q, customer.id, now);
  const discount = await redeem(q, { coupon: source.coupon, promotionCode: source.promotionCode, customerId: customer.id, now });
  await q.query(`UPDATE customers SET discount = $2 WHERE id = $1`, [customer.id, discount.id]);
  return { ...customer, discount: discount.id };
}

/** `DELETE /v1/customers/{id}/discount`: ends the customer's own discount now (404 when there is none). */
export async function deleteCustomerDiscount(q: Queryable, customer: string, now: Date): Promise<DiscountObject & { deleted: true }> {
  const ended = await removeCustomerDiscounts(q, customer, now);
  if (!ended) throw new AppError(404, 'invalid_request_error', 'resource_missing', `No active discount for customer '${customer}'.`, 'id');
  return { ...ended, deleted: true };
}
