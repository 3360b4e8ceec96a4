import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { addIntervals, addMonths, toUnix, type Clock } from '../../core/time/index.js';
import type { Db, Queryable } from '../../db/index.js';
import { drainPasses } from '../../jobs/holds.js';
import { nextDueAt, runBillingPass, type BillingDeps } from '../subscriptions/jobs.js';
import { nextCreditDueAt, runCreditPass } from '../credits/jobs.js';
import { dunningNextDueAt, runDunningPass, type DunningJobDeps } from '../dunning/jobs.js';
import { deleteCustomer } from '../customers/service.js';
import { deleteDraft, voidInvoice } from '../invoices/service.js';
import type { SubscriptionRow } from '../subscriptions/repository.js';
import { stopCollection, transition } from '../subscriptions/state.js';

// Test clocks (Stripe's test_helpers): customers created on a clock live at its frozen time.
// Advancing runs all due work of the clock's objects in time order: at each step the clock stands
// at the earliest due instant, every job runs at that instant, and the clock moves on.

export interface TestClockRow {
  id: string;
  name: string | null;
  frozen_time: Date;
  status: 'ready' | 'advancing' | 'internal_failure';
  /** While advancing: the frozen_time the advance moves to. */
  target_frozen_time?: Date | null;
  created: Date;
  deleted_at: Date | null;
}

export function serializeTestClock(r: TestClockRow) {
  return {
    id: r.id,
    object: 'test_helpers.test_clock' as const,
    created: toUnix(new Date(r.created)),
    deletes_after: toUnix(new Date(r.created)) + 30 * 86400,
    frozen_time: toUnix(new Date(r.frozen_time)),
    livemode: false,
    name: r.name,
    status: r.status,
    status_details: r.status === 'advancing' && r.target_frozen_time ? { advancing: { target_frozen_time: toUnix(new Date(r.target_frozen_time)) } } : {},
  };
}

export async function createTestClock(q: Queryable, now: Date, input: { frozen_time: number; name?: string }) {
  const { rows } = await q.query<TestClockRow>(
    `INSERT INTO test_clocks (id, name, frozen_time, status, created) VALUES ($1, $2, $3, 'ready', $4) RETURNING *`,
    [newId('clock'), input.name ?? null, new Date(input.frozen_time * 1000), now],
  );
  return serializeTestClock(rows[0]!);
}

export async function getTestClock(q: Queryable, id: string, param = 'id'): Promise<TestClockRow> {
  const { rows } = await q.query<TestClockRow>(`SELECT * FROM test_clocks WHERE id = $1 AND deleted_at IS NULL`, [id]);
  if (!rows[0]) throw new NotFoundError('test_clock', id, param);
  return rows[0];
}

/**
 * Deletes a clock and, as on Stripe, the test objects attached to it, in one transaction: every live
 * subscription of its customers ends (canceled at the clock's frozen time, which is "now" for them),
 * their open and uncollectible invoices are voided, their non-subscription drafts deleted, and the
 * customers deleted as DELETE /v1/customers/:id does. Each step writes its usual event.
 *
 * A subscription's draft invoice stays a draft (deleteDraft refuses those, and finalizing it just to
 * void it would take a number and the customer's balance), with automatic collection off as for any
 * canceled subscription (stopCollection).
 *
 * A clock that is advancing (its heartbeat within the lease) is refused; one whose advance died
 * (lease expired) or that failed may be deleted.
 */
export async function deleteTestClock(q: Queryable, now: Date, id: string) {
  const { rows } = await q.query<TestClockRow & { advancing_since: Date | null }>(`SELECT * FROM test_clocks WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [id]);
  const clock = rows[0];
  if (!clock) throw new NotFoundError('test_clock', id, 'id');
  if (clock.status === 'advancing' && clock.advancing_since !== null && new Date(clock.advancing_since).getTime() >= now.getTime() - ADVANCE_LEASE_SECONDS * 1000) {
    throw new InvalidRequestError('This test clock is advancing; wait for the advance to finish before deleting it.', 'id', 'test_clock_advancing');
  }
  const at = new Date(clock.frozen_time);
  const { rows: customers } = await q.query<{ id: string; deleted_at: Date | null }>(`SELECT id, deleted_at FROM customers WHERE test_clock = $1 ORDER BY id`, [id]);
  const customerIds = customers.map((c) => c.id);
  if (customerIds.length > 0) {
    // Every subscription of the clock's customers (those deleted earlier included: deleting a customer
    // leaves its subscriptions as they are).
    const { rows: subs } = await q.query<SubscriptionRow>(
      `SELECT * FROM subscriptions WHERE customer = ANY($1::text[]) AND status NOT IN ('canceled', 'incomplete_expired') ORDER BY id FOR UPDATE`,
      [customerIds],
    );
    for (const sub of subs) {
      await transition(
        q,
        sub,
        { status: 'canceled', canceled_at: at, ended_at: at, cancel_at_period_end: false, cancellation_details: { reason: 'cancellation_requested' } },
        at,
        'customer.subscription.deleted',
      );
      // Its renewal draft, if any, is never finalized (as for any canceled subscription).
      await stopCollection(q, sub.id, at);
    }
    const { rows: invoices } = await q.query<{ id: string; status: string; subscription: string | null }>(
      `SELECT id, status, subscription FROM invoices WHERE customer = ANY($1::text[]) AND status IN ('draft', 'open', 'uncollectible') ORDER BY id`,
      [customerIds],
    );
    for (const inv of invoices) {
      if (inv.status === 'draft') {
        if (!inv.subscription) await deleteDraft(q, inv.id, at);
      } else {
        await voidInvoice(q, inv.id, at);
      }
    }
    for (const c of customers) if (!c.deleted_at) await deleteCustomer(q, at, c.id);
  }
  await q.query(`UPDATE test_clocks SET deleted_at = $2 WHERE id = $1`, [id, now]);
  return { id, object: 'test_helpers.test_clock' as const, deleted: true as const };
}

/**
 * A clock's time stops at 9900-01-01: the periods and trials computed from it reach some years
 * further, and dates past 9999-12-31 are outside what the API and the database round-trip.
 */
export const MAX_CLOCK_TIME = Date.UTC(9900, 0, 1) / 1000;

/**
 * Stripe's bound on one advance: two intervals of the shortest live subscription on the clock, two
 * years without one. It also keeps one request's work finite (each period is a renewal to run).
 */
export async function advanceLimit(q: Queryable, id: string, from: Date): Promise<Date> {
  const { rows } = await q.query<{ interval: 'day' | 'week' | 'month' | 'year'; interval_count: number }>(
    `SELECT DISTINCT interval, interval_count FROM subscriptions WHERE test_clock = $1 AND status NOT IN ('canceled', 'incomplete_expired')`,
    [id],
  );
  if (rows.length === 0) return addMonths(from, 24);
  return new Date(Math.min(...rows.map((r) => addIntervals(from, r.interval, r.interval_count, 2).getTime())));
}

/** How long an advance may go without a step before another request may take the clock over. */
export const ADVANCE_LEASE_SECONDS = 300;

/** Passes of one kind at one instant before an advance moves on (as the worker's drains of credits and dunning). */
const MAX_PASSES = 10_000;

/**
 * Moves a clock to `to`, running every due job of its objects in time order on the way. Each step
 * commits on its own, so a long advance never holds one huge transaction.
 */
export async function advanceTestClock(db: Db, deps: BillingDeps & Pick<DunningJobDeps, 'notifier'> & { clock: Clock }, id: string, to: Date) {
  const clock = await getTestClock(db, id);
  if (to.getTime() <= new Date(clock.frozen_time).getTime()) {
    throw new InvalidRequestError('frozen_time must be later than the clock\'s current time.', 'frozen_time', 'parameter_invalid');
  }
  const limit = await advanceLimit(db, id, new Date(clock.frozen_time));
  if (to.getTime() > limit.getTime()) {
    throw new InvalidRequestError(
      `frozen_time cannot be later than ${toUnix(limit)} (${limit.toISOString()}): one advance may cover at most two intervals of the clock's shortest subscription, or two years when it has none. Advance in steps.`,
      'frozen_time',
      'test_clock_advance_too_far',
    );
  }
  // The real time (not the clock's frozen one): the heartbeat of this advance.
  const beat = () => deps.clock.now();
  // The claim re-checks, in the same statement, that the clock is still before the target: another
  // advance may have moved it on since the check above (check-then-act), and this one must then not
  // take the clock back. The advance works from the frozen time it claimed, not the one it read first.
  const claimed = await db.query<TestClockRow>(
    `UPDATE test_clocks SET status = 'advancing', advancing_since = $2, target_frozen_time = $4
      WHERE id = $1 AND deleted_at IS NULL AND frozen_time < $4
        AND (status = 'ready' OR (status = 'advancing' AND (advancing_since IS NULL OR advancing_since < $3)))
      RETURNING *`,
    [id, beat(), new Date(beat().getTime() - ADVANCE_LEASE_SECONDS * 1000), to],
  );
  if (claimed.rowCount === 0 || !claimed.rows[0]) {
    const now = await getTestClock(db, id);
    if (now.status === 'internal_failure') {
      throw new InvalidRequestError('This test clock failed while advancing and cannot advance again; delete it and start a new one.', 'id', 'test_clock_internal_failure');
    }
    if (now.status === 'ready' && to.getTime() <= new Date(now.frozen_time).getTime()) {
      throw new InvalidRequestError("frozen_time must be later than the clock's current time.", 'frozen_time', 'parameter_invalid');
    }
    throw new InvalidRequestError('This test clock is already advancing.', 'id', 'test_clock_advancing');
  }
  const from = new Date(claimed.rows[0].frozen_time);
  const scope = { clock: id };
  let current = from;
  try {
    for (;;) {
      const [billingDue, creditDue] = [await nextDueAt(db, scope), await nextCreditDueAt(db, scope)];
      const billingOrCredit = billingDue && creditDue ? (billingDue < creditDue ? billingDue : creditDue) : (billingDue ?? creditDue);
      // Dunning steps, notices and message deliveries are due instants of the clock too.
      const dunningDue = await dunningNextDueAt(db, scope, current);
      const due = billingOrCredit && dunningDue ? (billingOrCredit < dunningDue ? billingOrCredit : dunningDue) : (billingOrCredit ?? dunningDue);
      if (!due || due.getTime() > to.getTime()) break;
      const at = due.getTime() < from.getTime() ? from : due;
      await db.query(`UPDATE test_clocks SET frozen_time = $2, advancing_since = $3 WHERE id = $1`, [id, at, beat()]);
      // Only the kinds of work due by now run (each drain is a dozen claims). Work one drain makes due
      // at this instant (a failed payment's dunning step, a paid invoice's grant) is found by the next
      // turn of the loop, at the same instant.
      const isDue = (t: Date | null) => t !== null && t.getTime() <= at.getTime();
      // A kind's passes repeat while the last did work and its due query still finds work by now. The due
      // queries match the claims (the loop relies on that to stop at every due instant), so this skips
      // the pass that would only confirm there is nothing left: a dozen claims, ~20 % of an advance.
      const drain = (pass: () => Promise<number>, due: () => Promise<Date | null>) =>
        drainPasses(pass, { maxPasses: MAX_PASSES, stillDue: async () => isDue(await due()) });
      if (isDue(billingDue)) await drain(() => runBillingPass(db, deps, scope, at), () => nextDueAt(db, scope));
      if (isDue(creditDue)) await drain(() => runCreditPass(db, deps, scope, at), () => nextCreditDueAt(db, scope));
      if (isDue(dunningDue)) await drain(() => runDunningPass(db, deps, scope, at), () => dunningNextDueAt(db, scope, at));
      current = at;
    }
    const { rows } = await db.query<TestClockRow>(`UPDATE test_clocks SET frozen_time = $2, status = 'ready', advancing_since = NULL, target_frozen_time = NULL WHERE id = $1 RETURNING *`, [id, to]);
    return serializeTestClock(rows[0]!);
  } catch (err) {
    await db.query(`UPDATE test_clocks SET status = 'internal_failure' WHERE id = $1`, [id]);
    throw err;
  }
}
