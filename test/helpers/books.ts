import type { Db } from '../../src/db/index.js';
import { batchedEvents } from '../../src/modules/events/batches.js';

// The invariants of the books that must hold at any instant, whatever happened before — each
// invoice's arithmetic, the customer balance ledger, gapless numbers, one invoice per period, one
// charge per paid invoice, one event per state reached, credit notes within their invoices and lines. Randomised and concurrent tests check them
// after every step; each returns the offending rows, named by the check they break.

export interface Problem {
  check: string;
  detail: unknown;
}

/** The events whose object the checks read (`all_events.data` is null for the others' batched rows). */
const CUSTOMER_EVENTS = ['customer.created', 'customer.updated', 'customer.deleted'];

export async function checkBooks(q: Db): Promise<Problem[]> {
  const problems: Problem[] = [];
  const add = (check: string, rows: unknown[]) => {
    for (const r of rows) problems.push({ check, detail: r });
  };
  const rows = async (sql: string) => (await q.query<Record<string, unknown>>(sql)).rows;
  // The events of both storages (rows of `events`, and the worker's compressed groups: event_batches,
  // inflated here) as `all_events` for the event checks: a CTE, so the checks still use the indexes
  // of `events` (copying the table into a temporary one made long randomised runs several times slower).
  const batched = await batchedEvents(q);
  const evRows = async (sql: string) =>
    (
      await q.query<Record<string, unknown>>(
        `WITH all_events AS (SELECT id, type, object_id, data FROM events
                             UNION ALL SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) AS b(id, type, object_id, data))
         ${sql}`,
        // `data` only where a check reads it (customer events): a worker's batches hold tens of thousands of
        // events, and parsing all their objects into jsonb took ~3 s per check on PostgreSQL.
        [batched.map((e) => e.id), batched.map((e) => e.type), batched.map((e) => e.object_id), batched.map((e) => (CUSTOMER_EVENTS.includes(e.type) ? JSON.stringify(e.data) : null))],
      )
    ).rows;

  add(
    'subtotal = sum of line amounts',
    await rows(`SELECT i.id, i.subtotal, coalesce(sum(l.amount), 0) AS lines FROM invoices i LEFT JOIN invoice_lines l ON l.invoice = i.id
                 GROUP BY i.id HAVING i.subtotal <> coalesce(sum(l.amount), 0)`),
  );
  add(
    'total_discount = sum of line discount amounts',
    await rows(`SELECT i.id, i.total_discount, d.s FROM invoices i
                  JOIN (SELECT l.invoice, coalesce(sum((x->>'amount')::bigint), 0) AS s FROM invoice_lines l LEFT JOIN LATERAL jsonb_array_elements(l.discount_amounts) x ON true GROUP BY l.invoice) d
                    ON d.invoice = i.id
                 WHERE i.total_discount <> d.s`),
  );
  // Exclusive tax is added to the total; inclusive tax is already inside the line amounts.
  add(
    'total = subtotal - discounts + exclusive tax; total_tax = sum of line taxes',
    await rows(`SELECT i.id, i.subtotal, i.total_discount, i.total_tax, i.total, t.tax, t.inclusive FROM invoices i
                  LEFT JOIN (SELECT l.invoice, coalesce(sum((x->>'amount')::bigint), 0) AS tax,
                                    coalesce(sum((x->>'amount')::bigint) FILTER (WHERE (x->>'inclusive')::boolean), 0) AS inclusive
                               FROM invoice_lines l LEFT JOIN LATERAL jsonb_array_elements(l.tax_amounts) x ON true GROUP BY l.invoice) t ON t.invoice = i.id
                 WHERE i.total_tax <> coalesce(t.tax, 0) OR i.total <> i.subtotal - i.total_discount + coalesce(t.tax, 0) - coalesce(t.inclusive, 0)`),
  );
  add(
    "the invoice's tax breakdown adds up to its total_tax",
    await rows(`SELECT i.id, i.total_tax, (SELECT coalesce(sum((x->>'amount')::bigint), 0) FROM jsonb_array_elements(i.total_tax_amounts) x) AS breakdown
                  FROM invoices i WHERE i.total_tax <> (SELECT coalesce(sum((x->>'amount')::bigint), 0) FROM jsonb_array_elements(i.total_tax_amounts) x)`),
  );
  add(
    'finalized: amount_due = total + applied balance - pre-payment credit notes >= 0',
    await rows(`SELECT id, status, total, starting_balance, ending_balance, pre_payment_credit_notes_amount, amount_due FROM invoices
                 WHERE status <> 'draft'
                   AND (ending_balance IS NULL OR amount_due <> total + starting_balance - ending_balance - pre_payment_credit_notes_amount OR amount_due < 0)`),
  );
  add(
    'draft: amount_due = max(total, 0), no number',
    await rows(`SELECT id, total, amount_due, number FROM invoices WHERE status = 'draft' AND (amount_due <> greatest(total, 0) OR number IS NOT NULL)`),
  );
  add(
    'paid: amount_paid = amount_due, nothing remaining',
    await rows(`SELECT id, amount_due, amount_paid, amount_remaining FROM invoices WHERE status = 'paid' AND (amount_paid <> amount_due OR amount_remaining <> 0)`),
  );
  add('open: paid + remaining = due', await rows(`SELECT id, amount_due, amount_paid, amount_remaining FROM invoices WHERE status = 'open' AND amount_paid + amount_remaining <> amount_due`));
  add(
    'a charged invoice has exactly one succeeded payment intent for what was paid',
    await rows(`SELECT i.id, i.status, i.amount_paid, count(p.id) AS n, coalesce(sum(p.amount_received), 0) AS received FROM invoices i
                  LEFT JOIN payment_intents p ON p.invoice = i.id AND p.status = 'succeeded'
                 WHERE NOT i.paid_out_of_band
                 GROUP BY i.id
                HAVING (i.status = 'paid' AND i.amount_paid > 0 AND (count(p.id) <> 1 OR coalesce(sum(p.amount_received), 0) <> i.amount_paid))
                    OR (i.amount_paid = 0 AND count(p.id) > 0)`),
  );
  add(
    'one invoice per subscription period',
    await rows(`SELECT subscription, period_start, count(*) AS n FROM invoices WHERE billing_reason IN ('subscription_create', 'subscription_cycle')
                 GROUP BY subscription, period_start HAVING count(*) > 1`),
  );
  add(
    'invoice numbers gapless per series',
    // From the series' first number: 1, or a customer's next_invoice_sequence set before its first invoice.
    await rows(`SELECT i.series, count(*) AS n, min(split_part(i.number, '-', 2)::int) AS lo, max(split_part(i.number, '-', 2)::int) AS hi,
                       count(DISTINCT i.number) AS distinct_numbers, coalesce(s.first_number, 1) AS first
                  FROM invoices i LEFT JOIN invoice_number_series s ON s.series = i.series
                 WHERE i.number IS NOT NULL GROUP BY i.series, s.first_number
                HAVING min(split_part(i.number, '-', 2)::int) <> coalesce(s.first_number, 1)
                    OR max(split_part(i.number, '-', 2)::int) - coalesce(s.first_number, 1) + 1 <> count(*) OR count(DISTINCT i.number) <> count(*)`),
  );
  add(
    'customer balance = its ledger',
    await rows(`SELECT c.id, c.balance, coalesce(sum(b.amount), 0) AS ledger FROM customers c LEFT JOIN customer_balance_transactions b ON b.customer = c.id
                 GROUP BY c.id HAVING c.balance <> coalesce(sum(b.amount), 0)`),
  );
  add(
    "a payment's refunded amount = its live refunds, within what was captured",
    await rows(`SELECT p.id, p.amount_received, p.amount_refunded, coalesce(sum(r.amount) FILTER (WHERE r.status NOT IN ('failed', 'canceled')), 0) AS refunds
                  FROM payment_intents p LEFT JOIN refunds r ON r.payment_intent = p.id GROUP BY p.id
                HAVING p.amount_refunded <> coalesce(sum(r.amount) FILTER (WHERE r.status NOT IN ('failed', 'canceled')), 0) OR p.amount_refunded > p.amount_received`),
  );
  add(
    "an invoice's credit-note amounts = its issued credit notes, within its total",
    await rows(`SELECT i.id, i.total, i.pre_payment_credit_notes_amount AS pre, i.post_payment_credit_notes_amount AS post, coalesce(sum(c.total) FILTER (WHERE c.status = 'issued'), 0) AS issued
                  FROM invoices i LEFT JOIN credit_notes c ON c.invoice = i.id GROUP BY i.id
                HAVING i.pre_payment_credit_notes_amount + i.post_payment_credit_notes_amount <> coalesce(sum(c.total) FILTER (WHERE c.status = 'issued'), 0)
                    OR coalesce(sum(c.total) FILTER (WHERE c.status = 'issued'), 0) > greatest(i.total, 0)`),
  );
  add('line periods are ordered', await rows(`SELECT id, invoice, period_start, period_end FROM invoice_lines WHERE period_start > period_end`));
  add(
    'live subscriptions have a forward period',
    await rows(`SELECT id, status, current_period_start, current_period_end FROM subscriptions
                 WHERE status NOT IN ('canceled', 'incomplete_expired') AND current_period_start >= current_period_end`),
  );
  add(
    'a proration line is at most a whole period of its price',
    // Backdated time (a line before its subscription's creation) may span several periods: at most as many
    // as fit in it, each at least the interval's shortest length (a month: 28 days).
    await rows(`SELECT l.id, l.amount, l.quantity, p.unit_amount FROM invoice_lines l JOIN prices p ON p.id = l.price
                  LEFT JOIN subscriptions s ON s.id = l.subscription
                 WHERE l.proration AND abs(l.amount) > p.unit_amount * l.quantity *
                       CASE WHEN s.start_date IS NOT NULL AND l.period_start < s.created
                            THEN greatest(1, ceil(extract(epoch FROM l.period_end - l.period_start) / 86400.0 /
                                   (p.interval_count * CASE p.interval WHEN 'day' THEN 1 WHEN 'week' THEN 7 WHEN 'month' THEN 28 ELSE 365 END)))
                            ELSE 1 END`),
  );
  add(
    'status_transitions record each state reached',
    await rows(`SELECT id, status, status_transitions FROM invoices
                 WHERE (status <> 'draft' AND status_transitions->>'finalized_at' IS NULL)
                    OR (status = 'paid' AND status_transitions->>'paid_at' IS NULL)
                    OR (status = 'void' AND status_transitions->>'voided_at' IS NULL)
                    OR (status = 'uncollectible' AND status_transitions->>'marked_uncollectible_at' IS NULL)`),
  );
  // Every state change writes its event: one invoice.created per invoice, one invoice.finalized per
  // finalized invoice, one invoice.paid per paid one, one customer.subscription.created per subscription.
  add(
    'one event per invoice state reached',
    await evRows(`SELECT i.id, i.status, e.created_n, e.finalized_n, e.paid_n FROM invoices i
                  LEFT JOIN (SELECT object_id, count(*) FILTER (WHERE type = 'invoice.created') AS created_n,
                                    count(*) FILTER (WHERE type = 'invoice.finalized') AS finalized_n,
                                    count(*) FILTER (WHERE type = 'invoice.paid') AS paid_n
                               FROM all_events WHERE type LIKE 'invoice.%' GROUP BY object_id) e ON e.object_id = i.id
                 WHERE coalesce(e.created_n, 0) <> 1
                    OR coalesce(e.finalized_n, 0) <> (CASE WHEN i.status_transitions->>'finalized_at' IS NULL THEN 0 ELSE 1 END)
                    OR coalesce(e.paid_n, 0) <> (CASE WHEN i.status = 'paid' THEN 1 ELSE 0 END)`),
  );
  add(
    'one customer.subscription.created per subscription',
    await evRows(`SELECT s.id, count(e.id) AS n FROM subscriptions s LEFT JOIN all_events e ON e.object_id = s.id AND e.type = 'customer.subscription.created'
                 GROUP BY s.id HAVING count(e.id) <> 1`),
  );
  // customer.delinquent changes only with a customer.updated that shows it (customers/delinquency.ts):
  // the customer's latest event shows the value it has (customers written without events are skipped).
  add(
    "a customer's delinquent is what its latest event shows",
    // One sorted pass over the customer events (DISTINCT ON), not a LATERAL probe per customer: with
    // batched events in the CTE a probe scans all of them (3,000 customers took 36 s on PostgreSQL).
    await evRows(`SELECT c.id, c.delinquent, e.id AS event, e.type, e.data->'object'->'delinquent' AS shown FROM customers c
                  JOIN (SELECT DISTINCT ON (object_id) object_id, id, type, data FROM all_events
                         WHERE type IN (${CUSTOMER_EVENTS.map((t) => `'${t}'`).join(', ')}) ORDER BY object_id, id DESC) e ON e.object_id = c.id
                 WHERE (e.data->'object'->>'delinquent')::boolean IS DISTINCT FROM c.delinquent`),
  );
  add(
    'latest_invoice belongs to the subscription',
    await rows(`SELECT s.id, s.latest_invoice, i.subscription FROM subscriptions s JOIN invoices i ON i.id = s.latest_invoice WHERE i.subscription IS DISTINCT FROM s.id`),
  );
  // A running schedule and its subscription point at each other, and only while the subscription lives.
  add(
    'an active schedule is carried by its live subscription, and only by it',
    await rows(`SELECT ss.id, ss.status, s.id AS sub, s.status AS sub_status, s.pending_schedule->>'id' AS carried
                  FROM subscription_schedules ss FULL JOIN subscriptions s ON s.id = ss.subscription AND ss.status = 'active'
                 WHERE (ss.status = 'active' AND (s.id IS NULL OR s.status IN ('canceled', 'incomplete_expired') OR s.pending_schedule->>'id' IS DISTINCT FROM ss.id))
                    OR (ss.id IS NULL AND s.pending_schedule->>'id' LIKE 'sub\\_sched\\_%')`),
  );
  // Credit notes line by line: each is the sum of its lines, and the issued ones never credit more of
  // an invoice line than it has. (The invoice's own check is above; a positive total and a post-payment
  // note's settlement adding up to it are constraints of the table: migration 0006.)
  add(
    'a credit note is the sum of its lines',
    await rows(`SELECT n.id, n.subtotal, n.discount_amount, n.total_tax, n.total, l.amount, l.discount, l.tax, l.exclusive FROM credit_notes n
                  JOIN (SELECT cl.credit_note, sum(cl.amount) AS amount, sum(cl.discount_amount) AS discount,
                               coalesce(sum(t.tax), 0) AS tax, coalesce(sum(t.exclusive), 0) AS exclusive
                          FROM credit_note_lines cl
                          LEFT JOIN LATERAL (SELECT sum((x->>'amount')::bigint) AS tax,
                                                    sum((x->>'amount')::bigint) FILTER (WHERE NOT (x->>'inclusive')::boolean) AS exclusive
                                               FROM jsonb_array_elements(cl.tax_amounts) x) t ON true
                         GROUP BY cl.credit_note) l ON l.credit_note = n.id
                 WHERE n.subtotal <> l.amount OR n.discount_amount <> l.discount OR n.total_tax <> l.tax
                    OR n.total <> l.amount - l.discount + l.exclusive`),
  );
  add(
    'issued credit notes never credit more of a line than it has',
    await rows(`SELECT l.id, l.amount, c.amount AS credited, c.discount, c.tax FROM invoice_lines l
                  JOIN (SELECT cl.invoice_line, sum(cl.amount) AS amount, sum(cl.discount_amount) AS discount,
                               coalesce(sum((SELECT sum((x->>'amount')::bigint) FROM jsonb_array_elements(cl.tax_amounts) x)), 0) AS tax
                          FROM credit_note_lines cl JOIN credit_notes n ON n.id = cl.credit_note AND n.status = 'issued'
                         WHERE cl.invoice_line IS NOT NULL GROUP BY cl.invoice_line) c ON c.invoice_line = l.id
                 WHERE c.amount > l.amount
                    OR c.discount > (SELECT coalesce(sum((x->>'amount')::bigint), 0) FROM jsonb_array_elements(l.discount_amounts) x)
                    OR c.tax > (SELECT coalesce(sum((x->>'amount')::bigint), 0) FROM jsonb_array_elements(l.tax_amounts) x)`),
  );
  return problems;
}
