import type { Queryable } from '../../db/index.js';
import { recordEvents } from '../events/service.js';
import { findCouponsByIds, type DiscountRow } from '../coupons/repository.js';
import { serializeDiscount } from '../coupons/service.js';

// Discounts that end by their duration, not by a request: a `once` discount spent by the invoice that
// used it, a `repeating` one whose end the first renewal billed without it. Each writes Stripe's
// customer.discount.deleted ("Occurs whenever a coupon is removed from a customer"), shaped as the one
// a discount removed by the API writes (coupons/service.ts endDiscount), once: `deleted_event_at`
// (migration 0021) marks the discounts whose event was written. A discount whose end no renewal will
// pass is announced by the worker when its end comes (announceEndedDiscounts).

/**
 * Ends the `once` discounts among `ids` at `now` (the invoice that used them spent them) and writes their
 * customer.discount.deleted: one UPDATE for the batch, then one read of their coupons.
 */
export async function spendOnceDiscounts(q: Queryable, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  const { rows } = await q.query<DiscountRow>(
    `UPDATE discounts d SET end_at = $2, deleted_event_at = $2 FROM coupons c
      WHERE d.coupon = c.id AND c.duration = 'once' AND d.id = ANY($1::text[]) AND d.end_at IS NULL
      RETURNING d.*`,
    [[...new Set(ids)], now],
  );
  await recordDiscountsDeleted(q, rows, now);
}

/**
 * Renewals billing the periods starting at `at`: the `repeating` discounts of each subscription (its own,
 * or its customer's) that ended by then and have no customer.discount.deleted yet get one, at `now`.
 * One UPDATE for the whole batch (a customer's discount shared by several renewals is written once).
 */
export async function recordLapsedDiscounts(q: Queryable, renewals: readonly { subscription: string; customer: string; at: Date }[], now: Date): Promise<void> {
  if (renewals.length === 0) return;
  const { rows } = await q.query<DiscountRow>(
    `UPDATE discounts d SET deleted_event_at = $4
       FROM coupons c, unnest($1::text[], $2::text[], $3::timestamptz[]) AS u(sub, customer, at)
      WHERE c.id = d.coupon AND c.duration = 'repeating' AND d.deleted_at IS NULL AND d.deleted_event_at IS NULL
        AND d.end_at <= u.at
        AND (d.subscription = u.sub OR (d.subscription IS NULL AND d.invoice IS NULL AND d.customer = u.customer))
      RETURNING d.*`,
    [renewals.map((r) => r.subscription), renewals.map((r) => r.customer), renewals.map((r) => r.at.toISOString()), now],
  );
  await recordDiscountsDeleted(q, rows, now);
}

/**
 * Discounts whose end came and that no renewal will announce (the worker's billing.discount_end claims
 * them at their end: subscriptions/jobs.ts) — a customer's own discount when none of the customer's
 * subscriptions renews, a paused or incomplete subscription's, an ended one's, an invoice's. Each is
 * marked announced; customer.discount.deleted is written, at `now`, for those whose owner still lives —
 * the customer not deleted, the subscription not ended — and never for an invoice's (it stays with its
 * invoice).
 */
export async function announceEndedDiscounts(q: Queryable, rows: readonly DiscountRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  const { rows: live } = await q.query<{ id: string }>(
    `SELECT d.id FROM discounts d JOIN customers c ON c.id = d.customer LEFT JOIN subscriptions s ON s.id = d.subscription
      WHERE d.id = ANY($1::text[]) AND d.invoice IS NULL AND c.deleted_at IS NULL
        AND (d.subscription IS NULL OR s.status NOT IN ('canceled', 'incomplete_expired'))`,
    [rows.map((r) => r.id)],
  );
  await q.query(`UPDATE discounts SET deleted_event_at = $2 WHERE id = ANY($1::text[])`, [rows.map((r) => r.id), now]);
  const announce = new Set(live.map((r) => r.id));
  await recordDiscountsDeleted(
    q,
    rows.filter((r) => announce.has(r.id)),
    now,
  );
}

async function recordDiscountsDeleted(q: Queryable, rows: readonly DiscountRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  // A customer's own discount that ended is no longer the customer's (customers.discount, migration 0034).
  const own = rows.filter((r) => r.subscription === null && r.invoice === null).map((r) => r.id);
  if (own.length) await q.query(`UPDATE customers SET discount = NULL WHERE discount = ANY($1::text[])`, [own]);
  const coupons = await findCouponsByIds(
    q,
    rows.map((r) => r.coupon),
  );
  const ordered = [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  await recordEvents(
    q,
    now,
    ordered.map((r) => ({ type: 'customer.discount.deleted', object: serializeDiscount(r, coupons.get(r.coupon)!, now), customerId: r.customer })),
  );
}
