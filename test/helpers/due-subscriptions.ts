import type { Queryable } from '../../src/db/index.js';

// Creates `n` customers, each with a card (simulated gateway, always succeeds), a default payment
// method and an active monthly subscription whose period ends at `dueAt` — with one set-based
// statement per table, so a million rows take seconds. Used by the worker-race test and bench:billing.

export async function createDueSubscriptions(
  q: Queryable,
  opts: { n: number; dueAt: Date; priceId: string; prefix?: string },
): Promise<void> {
  const p = opts.prefix ?? 'due';
  const start = new Date(opts.dueAt.getTime() - 31 * 86_400_000);
  // Ids are zero-padded so they sort in creation order like real ids.
  await q.query(
    `INSERT INTO customers (id, email, currency, invoice_settings, created, updated)
     SELECT 'cus_' || $3 || lpad(g::text, 9, '0'), $3 || g || '@example.com', 'usd',
            jsonb_build_object('default_payment_method', 'pm_' || $3 || lpad(g::text, 9, '0')), $2::timestamptz, $2::timestamptz
       FROM generate_series(1, $1::int) g`,
    [opts.n, start.toISOString(), p],
  );
  await q.query(
    `INSERT INTO payment_methods (id, customer, type, card, gateway, gateway_token, created)
     SELECT 'pm_' || $3 || lpad(g::text, 9, '0'), 'cus_' || $3 || lpad(g::text, 9, '0'), 'card',
            '{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2035,"country":"US","fingerprint":"bench","funding":"credit"}',
            'simulated', 'simtok_succeed_' || md5(g::text), $2::timestamptz
       FROM generate_series(1, $1::int) g`,
    [opts.n, start.toISOString(), p],
  );
  await q.query(
    `INSERT INTO subscriptions (id, customer, status, currency, interval, interval_count, billing_cycle_anchor,
                                current_period_start, current_period_end, created, updated)
     SELECT 'sub_' || $4 || lpad(g::text, 9, '0'), 'cus_' || $4 || lpad(g::text, 9, '0'), 'active', 'usd', 'month', 1,
            $2::timestamptz, $2::timestamptz, $3::timestamptz, $2::timestamptz, $2::timestamptz
       FROM generate_series(1, $1::int) g`,
    [opts.n, start.toISOString(), opts.dueAt.toISOString(), p],
  );
  await q.query(
    `INSERT INTO subscription_items (id, subscription, price, quantity, created)
     SELECT 'si_' || $4 || lpad(g::text, 9, '0'), 'sub_' || $4 || lpad(g::text, 9, '0'), $3, 1, $2::timestamptz
       FROM generate_series(1, $1::int) g`,
    [opts.n, start.toISOString(), opts.priceId, p],
  );
}

export interface RenewalCounts {
  invoices: number;
  paidInvoices: number;
  subscriptionsWithOneInvoice: number;
  duplicatePeriods: number;
  succeededIntents: number;
  intentsPerInvoiceMax: number;
  advanced: number;
}

/** What a correct run must show: one invoice, one successful charge and one period step per subscription. */
export async function renewalCounts(q: Queryable, prefix: string, nextPeriodEnd: Date): Promise<RenewalCounts> {
  const like = `sub_${prefix}%`;
  const one = async (sql: string, params: unknown[]) => Number(((await q.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0));
  return {
    invoices: await one(`SELECT count(*)::int AS n FROM invoices WHERE subscription LIKE $1 AND billing_reason = 'subscription_cycle'`, [like]),
    paidInvoices: await one(`SELECT count(*)::int AS n FROM invoices WHERE subscription LIKE $1 AND billing_reason = 'subscription_cycle' AND status = 'paid'`, [like]),
    subscriptionsWithOneInvoice: await one(
      `SELECT count(*)::int AS n FROM (SELECT subscription FROM invoices WHERE subscription LIKE $1 GROUP BY subscription HAVING count(*) = 1) x`,
      [like],
    ),
    duplicatePeriods: await one(`SELECT count(*)::int AS n FROM (SELECT 1 FROM invoices WHERE subscription LIKE $1 GROUP BY subscription, period_start HAVING count(*) > 1) x`, [like]),
    succeededIntents: await one(
      `SELECT count(*)::int AS n FROM payment_intents pi JOIN invoices i ON i.id = pi.invoice WHERE i.subscription LIKE $1 AND pi.status = 'succeeded'`,
      [like],
    ),
    intentsPerInvoiceMax: await one(
      `SELECT coalesce(max(c), 0)::int AS n FROM (SELECT count(*) AS c FROM payment_intents pi JOIN invoices i ON i.id = pi.invoice WHERE i.subscription LIKE $1 GROUP BY pi.invoice) x`,
      [like],
    ),
    advanced: await one(`SELECT count(*)::int AS n FROM subscriptions WHERE id LIKE $1 AND current_period_end = $2`, [like, nextPeriodEnd]),
  };
}
