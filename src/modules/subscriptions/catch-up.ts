import type { Queryable } from '../../db/index.js';
import { outsideRequest } from '../../core/context/index.js';
import { loadPricing } from './billing.js';
import { advanceOne, RENEWABLE_STATUSES, type BillingDeps } from './jobs.js';
import { itemsOf, type SubscriptionRow } from './repository.js';

/**
 * A request that changes a subscription whose period has ended before the worker renewed it (the
 * worker polls, so on real time this lasts up to a poll): the due period ends are run first, as the
 * worker would run them, so the change applies to the period that contains now. Stripe renews at
 * the period end itself; the caller never sees the lag. The caller holds the subscription's row lock.
 * The renewals are automatic work: their events carry no request (outsideRequest).
 */
export async function catchUpPeriods(q: Queryable, deps: BillingDeps, subscriptionId: string, now: Date): Promise<void> {
  // Each pass moves one period forward; a bound keeps a malformed row from looping forever.
  for (let pass = 0; pass < 1000; pass++) {
    const { rows } = await q.query<SubscriptionRow>(
      `SELECT * FROM subscriptions WHERE id = $1 AND status = ANY($3::text[]) AND current_period_end <= $2 FOR UPDATE`,
      [subscriptionId, now, RENEWABLE_STATUSES],
    );
    const sub = rows[0];
    if (!sub) return;
    const items = (await itemsOf(q, [sub.id])).get(sub.id) ?? [];
    const pricing = await loadPricing(q, [...items.map((i) => i.price), ...(sub.pending_schedule?.items ?? []).map((i) => i.price)]);
    await outsideRequest(() => advanceOne(q, deps, sub, items, pricing, now));
  }
}

/** Whether a subscription's period has ended and its renewal (or end) is still due. */
export function periodDue(sub: Pick<SubscriptionRow, 'status' | 'current_period_end'>, now: Date): boolean {
  return (RENEWABLE_STATUSES as readonly string[]).includes(sub.status) && new Date(sub.current_period_end) <= now;
}
