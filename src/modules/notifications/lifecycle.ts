import { AppError } from '../../core/errors/index.js';
import { formatMoney } from '../../core/money/index.js';
import { toUnix } from '../../core/time/index.js';
import { newId } from '../../core/ids/index.js';
import type { Config } from '../../config.js';
import { bulkInsert } from '../../db/bulk.js';
import type { Queryable } from '../../db/index.js';
import { recordEvents, type EventInput } from '../events/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import type { Gateway, Gateways } from '../payments/gateway.js';
import { findSubscription } from '../subscriptions/repository.js';
import { upcomingInvoice } from '../subscriptions/service.js';
import { invoiceVars, localeTag } from '../dunning/service.js';
import { customerContext, enqueueMessage, formatDate, type Scope } from './service.js';
import type { MessageRow } from './repository.js';

// Lifecycle messages beside dunning. Event-driven ones (receipt, invoice sent, trial ending) are
// called from the inbox; time-driven ones (card expiring, upcoming renewal, overdue reminders) are
// scans of what is due now. Each is sent once: its dedupe key names the object and the occasion,
// and the messages table's unique index holds it. When several occasions of one kind are due at
// once (the worker was down, a clock jumped), only the latest is sent; the skipped ones are stored
// as suppressed, so nothing is sent twice and nothing comes due again.

const DAY = 86_400_000;

/**
 * Days before a renewal that it is announced: the upcoming-renewal email (quarterly and longer
 * plans) and the invoice.upcoming event (every renewing subscription), Stripe's "upcoming renewal
 * events" setting.
 */
export const UPCOMING_RENEWAL_DAYS = 7;

export async function sendReceipt(q: Queryable, config: Config, inv: InvoiceRow, now: Date): Promise<void> {
  if (inv.status !== 'paid' || inv.amount_paid <= 0) return;
  const ctx = await customerContext(q, inv.customer, config.notifications);
  const paidAt = inv.status_transitions.paid_at ? new Date(inv.status_transitions.paid_at * 1000) : now;
  // The card that paid, not whatever the default is by the time the receipt is written.
  const { rows } = await q.query<{ last4: string | null }>(
    `SELECT pm.card->>'last4' AS last4 FROM payment_intents pi JOIN payment_methods pm ON pm.id = pi.payment_method WHERE pi.invoice = $1 AND pi.status = 'succeeded'`,
    [inv.id],
  );
  await enqueueMessage(q, config, {
    customer: inv.customer,
    template: 'payment_receipt',
    channel: 'email',
    vars: {
      ...(await invoiceVars(q, inv, ctx)),
      last4: rows[0]?.last4 ?? null,
      amount: formatMoney({ amount: inv.amount_paid, currency: inv.currency }, localeTag(ctx?.locale ?? 'en')),
      paid_date: ctx ? formatDate(paidAt, ctx) : paidAt.toISOString(),
    },
    dedupeKey: `receipt:${inv.id}`,
    objectId: inv.id,
    now,
  });
}

export async function sendInvoiceSent(q: Queryable, config: Config, inv: InvoiceRow, now: Date): Promise<void> {
  if (inv.collection_method !== 'send_invoice' || inv.status !== 'open') return;
  await enqueueInvoiceEmail(q, config, inv, now, `invoice_sent:${inv.id}`);
}

/**
 * POST /v1/invoices/{id}/send (Stripe's "send an invoice for manual payment"): the invoice email again,
 * now, for any open or paid invoice — each request its own message (an Idempotency-Key makes a retry
 * one).
 */
export function sendInvoiceNow(q: Queryable, config: Config, inv: InvoiceRow, now: Date): Promise<MessageRow | null> {
  return enqueueInvoiceEmail(q, config, inv, now, `invoice_sent:${inv.id}:manual:${newId('send')}`);
}

/** The invoice_sent email, once per dedupe key; an open invoice's carries the pay link. */
async function enqueueInvoiceEmail(q: Queryable, config: Config, inv: InvoiceRow, now: Date, dedupeKey: string): Promise<MessageRow | null> {
  const ctx = await customerContext(q, inv.customer, config.notifications);
  return enqueueMessage(q, config, {
    customer: inv.customer,
    template: 'invoice_sent',
    channel: 'email',
    vars: await invoiceVars(q, inv, ctx),
    dedupeKey,
    ...(inv.status === 'open' ? { payLinkFor: { customer: inv.customer, invoice: inv.id } } : {}),
    objectId: inv.id,
    now,
  });
}

/** Subscriptions' list price per period, in their currency (what the renewal or the trial's end will charge before discounts). */
async function periodAmounts(q: Queryable, subIds: string[]): Promise<Map<string, { amount: number; names: string }>> {
  const { rows } = await q.query<{ id: string; amount: string | number; names: string }>(
    `SELECT s.id, sum(COALESCE(CASE WHEN p.currency = s.currency THEN p.unit_amount END, (p.currency_options->s.currency->>'unit_amount')::bigint, 0) * si.quantity) AS amount,
            string_agg(DISTINCT pr.name, ', ') AS names
       FROM subscriptions s JOIN subscription_items si ON si.subscription = s.id JOIN prices p ON p.id = si.price JOIN products pr ON pr.id = p.product
      WHERE s.id = ANY($1::text[]) GROUP BY s.id`,
    [subIds],
  );
  return new Map(rows.map((r) => [r.id, { amount: Number(r.amount), names: r.names }]));
}

/** The card a subscription's next invoice would be charged to: its own default, else the customer's. */
async function subscriptionPm(q: Queryable, sub: { customer: string; default_payment_method: string | null }): Promise<{ id: string; last4: string } | null> {
  const { rows } = await q.query<{ id: string; last4: string }>(
    `SELECT pm.id, pm.card->>'last4' AS last4 FROM customers c
       JOIN payment_methods pm ON pm.id = COALESCE($2, c.invoice_settings->>'default_payment_method')
      WHERE c.id = $1 AND pm.customer = $1 AND pm.detached_at IS NULL`,
    [sub.customer, sub.default_payment_method],
  );
  return rows[0] ?? null;
}

export async function sendTrialEnding(q: Queryable, config: Config, subscriptionId: string, now: Date): Promise<void> {
  const sub = await findSubscription(q, subscriptionId);
  if (!sub || sub.status !== 'trialing' || !sub.trial_end) return;
  const ctx = await customerContext(q, sub.customer, config.notifications);
  const price = (await periodAmounts(q, [sub.id])).get(sub.id);
  const pm = await subscriptionPm(q, sub);
  await enqueueMessage(q, config, {
    customer: sub.customer,
    template: 'trial_ending',
    channel: 'email',
    vars: {
      plan_name: price?.names ?? 'your subscription',
      amount: formatMoney({ amount: price?.amount ?? 0, currency: sub.currency }, localeTag(ctx?.locale ?? 'en')),
      trial_end_date: ctx ? formatDate(new Date(sub.trial_end), ctx) : new Date(sub.trial_end).toISOString(),
      last4: pm?.last4 ?? null,
      payment_update_link: `${config.notifications.publicUrl}/`,
    },
    dedupeKey: `trial_ending:${sub.id}:${toUnix(new Date(sub.trial_end))}`,
    objectId: sub.id,
    now,
  });
}

function scopeSql(scope: Scope, alias: string, param: number): string {
  return scope.clock === null ? `${alias}.test_clock IS NULL` : `${alias}.test_clock = $${param}`;
}

interface CardCandidate {
  pm: string;
  customer: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  invoice: string | null;
  names: string | null;
}

/** Months since year 0 of the first instant after a card expiring in (month, year): year × 12 + month. */
const expiryMonthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();

/**
 * Default cards of live subscriptions that expire within 30 days of `now` (and have not expired).
 * A card expires at the first instant of the month after its expiry month, month index
 * exp_year × 12 + exp_month; that instant is after `now` exactly when the index is above now's, and
 * at most `now + horizon` exactly when it is at most the horizon's. Compared as numerics this way, no
 * stored value can make the scan throw (defence in depth: the API refuses expiry years more than 50
 * years ahead, but a row written before that, or by a gateway webhook, could hold any number — an
 * int cast or make_timestamptz of it would fail the whole test clock advance or worker pass).
 */
async function expiringCards(q: Queryable, scope: Scope, now: Date, horizonDays = 30): Promise<CardCandidate[]> {
  const params: unknown[] = [expiryMonthIndex(now), expiryMonthIndex(new Date(now.getTime() + horizonDays * DAY))];
  if (scope.clock !== null) params.push(scope.clock);
  // CASE evaluates its branches in order (AND does not): a value is cast only once it is a JSON number.
  const expiry = `CASE WHEN jsonb_typeof(pm.card->'exp_year') IS DISTINCT FROM 'number' OR jsonb_typeof(pm.card->'exp_month') IS DISTINCT FROM 'number' THEN NULL
                       WHEN (pm.card->>'exp_month')::numeric NOT IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
                         OR (pm.card->>'exp_year')::numeric <> trunc((pm.card->>'exp_year')::numeric) THEN NULL
                       ELSE (pm.card->>'exp_year')::numeric * 12 + (pm.card->>'exp_month')::numeric END`;
  const { rows } = await q.query<Omit<CardCandidate, 'exp_month' | 'exp_year'> & { exp_month: string; exp_year: string }>(
    `SELECT DISTINCT ON (pm.id) pm.id AS pm, pm.customer, pm.card->>'last4' AS last4, pm.card->>'exp_month' AS exp_month, pm.card->>'exp_year' AS exp_year,
            s.latest_invoice AS invoice, NULL AS names
       FROM subscriptions s JOIN customers c ON c.id = s.customer
       JOIN payment_methods pm ON pm.id = COALESCE(s.default_payment_method, c.invoice_settings->>'default_payment_method')
      WHERE s.status IN ('active', 'trialing', 'past_due') AND ${scopeSql(scope, 's', 3)} AND pm.customer = s.customer AND pm.detached_at IS NULL
        AND ${expiry} > $1 AND ${expiry} <= $2
      ORDER BY pm.id, s.id`,
    params,
  );
  // Only expiries within the horizon pass the filter above: a month 1–12 of about this year.
  return rows.map((r) => ({ ...r, exp_month: Number(r.exp_month), exp_year: Number(r.exp_year) }));
}

/** A card works through the last day of its expiry month: it expires at the first instant of the next month (UTC). */
export function cardExpiresAt(expMonth: number, expYear: number): Date {
  return new Date(Date.UTC(expYear, expMonth, 1));
}

async function sentKeys(q: Queryable, keys: string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const { rows } = await q.query<{ dedupe_key: string }>(`SELECT dedupe_key FROM notification_messages WHERE dedupe_key = ANY($1::text[])`, [keys]);
  return new Set(rows.map((r) => r.dedupe_key));
}

/** One occasion of a time-driven notice: when it falls due, and its dedupe key. */
interface Occasion {
  at: Date;
  key: string;
}

/** The occasions due at `now` that were not sent: the latest is sent, the earlier ones are marked superseded. */
function dueOccasions(occasions: Occasion[], sent: Set<string>, now: Date): { send: Occasion | null; supersede: Occasion[] } {
  const due = occasions.filter((o) => o.at.getTime() <= now.getTime() && !sent.has(o.key)).sort((a, b) => a.at.getTime() - b.at.getTime());
  return { send: due[due.length - 1] ?? null, supersede: due.slice(0, -1) };
}

function cardOccasions(c: CardCandidate): Occasion[] {
  const exp = cardExpiresAt(c.exp_month, c.exp_year);
  const tag = `${c.exp_year}-${String(c.exp_month).padStart(2, '0')}`;
  return [30, 7].map((d) => ({ at: new Date(exp.getTime() - d * DAY), key: `card_expiring_${d}:${c.pm}:${tag}` }));
}

async function suppress(q: Queryable, config: Config, base: { customer: string; template: string; objectId: string }, o: Occasion, now: Date): Promise<void> {
  await enqueueMessage(q, config, { customer: base.customer, template: base.template, channel: 'email', to: null, vars: {}, dedupeKey: o.key, objectId: base.objectId, now });
  await q.query(`UPDATE notification_messages SET status = 'suppressed', error = 'superseded by a later notice of the same kind' WHERE dedupe_key = $1`, [o.key]);
}

export async function cardExpiryNotices(q: Queryable, config: Config, scope: Scope, now: Date): Promise<number> {
  const cards = await expiringCards(q, scope, now);
  const sent = await sentKeys(q, cards.flatMap((c) => cardOccasions(c).map((o) => o.key)));
  let n = 0;
  for (const c of cards) {
    const { send, supersede } = dueOccasions(cardOccasions(c), sent, now);
    for (const o of supersede) await suppress(q, config, { customer: c.customer, template: 'card_expiring', objectId: c.pm }, o, now);
    if (!send) continue;
    const exp = cardExpiresAt(c.exp_month, c.exp_year);
    const { rows } = await q.query<{ invoice: string | null }>(
      `SELECT latest_invoice AS invoice FROM subscriptions WHERE customer = $1 AND status IN ('active', 'trialing', 'past_due') AND latest_invoice IS NOT NULL ORDER BY id LIMIT 1`,
      [c.customer],
    );
    const names = await q.query<{ names: string | null }>(
      `SELECT string_agg(DISTINCT pr.name, ', ') AS names FROM subscriptions s JOIN subscription_items si ON si.subscription = s.id JOIN prices p ON p.id = si.price
         JOIN products pr ON pr.id = p.product WHERE s.customer = $1 AND s.status IN ('active', 'trialing', 'past_due')`,
      [c.customer],
    );
    const m = await enqueueMessage(q, config, {
      customer: c.customer,
      template: 'card_expiring',
      channel: 'email',
      vars: {
        last4: c.last4,
        expiry: `${String(c.exp_month).padStart(2, '0')}/${c.exp_year}`,
        days_left: Math.round((exp.getTime() - now.getTime()) / DAY),
        plan_name: names.rows[0]?.names ?? 'your subscription',
        ...(rows[0]?.invoice ? {} : { payment_update_link: `${config.notifications.publicUrl}/` }),
      },
      payLinkFor: rows[0]?.invoice ? { customer: c.customer, invoice: rows[0].invoice } : undefined,
      dedupeKey: send.key,
      objectId: c.pm,
      now,
    });
    if (m) n++;
  }
  return n;
}

interface RenewalCandidate {
  id: string;
  customer: string;
  currency: string;
  current_period_end: Date;
  default_payment_method: string | null;
}

/** Quarterly or longer subscriptions renewing within UPCOMING_RENEWAL_DAYS. */
async function upcomingRenewalCandidates(q: Queryable, scope: Scope, now: Date, horizonDays = UPCOMING_RENEWAL_DAYS): Promise<RenewalCandidate[]> {
  const params: unknown[] = [now, new Date(now.getTime() + horizonDays * DAY)];
  if (scope.clock !== null) params.push(scope.clock);
  const { rows } = await q.query<RenewalCandidate>(
    `SELECT s.id, s.customer, s.currency, s.current_period_end, s.default_payment_method FROM subscriptions s
      WHERE s.status IN ('active', 'past_due') AND NOT s.cancel_at_period_end AND s.cancel_at IS NULL AND ${scopeSql(scope, 's', 3)}
        AND (s.interval = 'year' OR (s.interval = 'month' AND s.interval_count >= 3))
        AND s.current_period_end > $1 AND s.current_period_end <= $2
      ORDER BY s.current_period_end, s.id`,
    params,
  );
  return rows;
}

const renewalKey = (s: RenewalCandidate) => `upcoming_renewal:${s.id}:${toUnix(new Date(s.current_period_end))}`;

export async function upcomingRenewalNotices(q: Queryable, config: Config, scope: Scope, now: Date): Promise<number> {
  const subs = await upcomingRenewalCandidates(q, scope, now);
  const sent = await sentKeys(q, subs.map(renewalKey));
  const amounts = await periodAmounts(q, subs.map((s) => s.id));
  let n = 0;
  for (const s of subs) {
    const key = renewalKey(s);
    if (sent.has(key)) continue;
    const ctx = await customerContext(q, s.customer, config.notifications);
    const price = amounts.get(s.id);
    const pm = await subscriptionPm(q, s);
    const m = await enqueueMessage(q, config, {
      customer: s.customer,
      template: 'upcoming_renewal',
      channel: 'email',
      vars: {
        plan_name: price?.names ?? 'your subscription',
        amount: formatMoney({ amount: price?.amount ?? 0, currency: s.currency }, localeTag(ctx?.locale ?? 'en')),
        renewal_date: ctx ? formatDate(new Date(s.current_period_end), ctx) : new Date(s.current_period_end).toISOString(),
        last4: pm?.last4 ?? null,
      },
      dedupeKey: key,
      objectId: s.id,
      now,
    });
    if (m) n++;
  }
  return n;
}

// ---- invoice.upcoming ----
//
// Stripe writes invoice.upcoming "X days before a subscription is scheduled to create an invoice"
// (X: the upcoming-renewal setting), with the preview of that invoice as data.object, which has no
// id. Recur writes it UPCOMING_RENEWAL_DAYS before current_period_end, for the subscriptions whose
// period end creates an invoice (active, past_due, or trialing; not ending at the period end; not
// with collection paused through it), once per period: invoice_upcoming_sent holds the key
// (subscription, period end) and its insert decides, inside the scan's transaction. A period shorter
// than the notice (daily, weekly plans) gets none: its renewal would be announced as it starts.

/** The subscriptions whose renewal at current_period_end is announced and not yet announced. */
function upcomingInvoiceWhere(scope: Scope, clockParam: number): string {
  return `s.status IN ('active', 'past_due', 'trialing') AND NOT s.cancel_at_period_end AND (s.cancel_at IS NULL OR s.cancel_at > s.current_period_end)
      AND (s.pause_collection IS NULL OR (s.pause_collection->>'resumes_at')::bigint <= extract(epoch FROM s.current_period_end))
      AND s.current_period_end - make_interval(days => ${UPCOMING_RENEWAL_DAYS}) >= s.current_period_start
      AND ${scopeSql(scope, 's', clockParam)}
      AND NOT EXISTS (SELECT 1 FROM invoice_upcoming_sent u WHERE u.subscription = s.id AND u.period_end = s.current_period_end)`;
}

/** A preview writes and charges nothing: no gateway is reached. */
const NO_GATEWAYS: Gateways = {
  get default(): Gateway {
    throw new Error('an invoice preview does not use a gateway');
  },
  get(): Gateway {
    throw new Error('an invoice preview does not use a gateway');
  },
};

const SENT_COLUMNS = [
  { name: 'subscription', type: 'text' },
  { name: 'period_end', type: 'timestamptz' },
  { name: 'created', type: 'timestamptz' },
] as const;

/** Writes invoice.upcoming for the renewals due to be announced at `now` (at most a worker batch); returns how many. */
export async function upcomingInvoiceEvents(q: Queryable, config: Config, scope: Scope, now: Date): Promise<number> {
  const params: unknown[] = [now, new Date(now.getTime() + UPCOMING_RENEWAL_DAYS * DAY)];
  if (scope.clock !== null) params.push(scope.clock);
  const { rows: subs } = await q.query<{ id: string; customer: string; current_period_end: Date }>(
    `SELECT s.id, s.customer, s.current_period_end FROM subscriptions s
      WHERE s.current_period_end > $1 AND s.current_period_end <= $2 AND ${upcomingInvoiceWhere(scope, 3)}
      ORDER BY s.current_period_end, s.id LIMIT ${Math.max(1, config.workerBatchSize)}`,
    params,
  );
  const previews = new Map<string, { customer: string; object: Record<string, unknown> }>();
  for (const s of subs) {
    let preview: Record<string, unknown>;
    try {
      preview = { ...(await upcomingInvoice({ q, deps: { config, gateways: NO_GATEWAYS }, now }, { subscription: s.id })) };
    } catch (err) {
      // Nothing to announce (the subscription will not be invoiced again): asked again next scan.
      if (err instanceof AppError) continue;
      throw err;
    }
    delete preview.id;
    previews.set(s.id, { customer: s.customer, object: preview });
  }
  const won = await bulkInsert<{ subscription: string }>(
    q,
    'invoice_upcoming_sent',
    SENT_COLUMNS,
    subs.filter((s) => previews.has(s.id)).map((s) => ({ subscription: s.id, period_end: new Date(s.current_period_end), created: now })),
    'ON CONFLICT DO NOTHING RETURNING subscription',
  );
  const events: EventInput[] = won.map(({ subscription }) => {
    const p = previews.get(subscription)!;
    return { type: 'invoice.upcoming', object: p.object, objectId: subscription, customerId: p.customer };
  });
  await recordEvents(q, now, events);
  return events.length;
}

const OVERDUE_DAYS = [1, 7, 14];

function overdueOccasions(inv: { id: string; due_date: Date }): Occasion[] {
  return OVERDUE_DAYS.map((d) => ({ at: new Date(new Date(inv.due_date).getTime() + d * DAY), key: `invoice_overdue_${d}:${inv.id}` }));
}

async function overdueCandidates(q: Queryable, scope: Scope, now: Date): Promise<InvoiceRow[]> {
  const params: unknown[] = [now];
  if (scope.clock !== null) params.push(scope.clock);
  const { rows } = await q.query<InvoiceRow>(
    `SELECT i.* FROM invoices i WHERE i.status = 'open' AND i.collection_method = 'send_invoice' AND i.due_date IS NOT NULL AND i.due_date + interval '1 day' <= $1
        AND ${scopeSql(scope, 'i', 2)} ORDER BY i.due_date, i.id`,
    params,
  );
  return rows;
}

export async function overdueReminders(q: Queryable, config: Config, scope: Scope, now: Date): Promise<number> {
  const invs = await overdueCandidates(q, scope, now);
  const sent = await sentKeys(q, invs.flatMap((i) => overdueOccasions({ id: i.id, due_date: i.due_date! }).map((o) => o.key)));
  let n = 0;
  for (const inv of invs) {
    const { send, supersede } = dueOccasions(overdueOccasions({ id: inv.id, due_date: inv.due_date! }), sent, now);
    for (const o of supersede) await suppress(q, config, { customer: inv.customer, template: 'invoice_overdue', objectId: inv.id }, o, now);
    if (!send) continue;
    const ctx = await customerContext(q, inv.customer, config.notifications);
    const days = Math.round((send.at.getTime() - new Date(inv.due_date!).getTime()) / DAY);
    const m = await enqueueMessage(q, config, {
      customer: inv.customer,
      template: 'invoice_overdue',
      channel: 'email',
      vars: await invoiceVars(q, inv, ctx, { days_overdue: days }),
      dedupeKey: send.key,
      payLinkFor: { customer: inv.customer, invoice: inv.id },
      objectId: inv.id,
      now,
    });
    if (m) n++;
  }
  return n;
}

/** Runs every time-driven notice for a scope; returns how many messages were queued and invoice.upcoming events written. */
export async function runLifecycleScans(q: Queryable, config: Config, scope: Scope, now: Date): Promise<number> {
  return (
    (await cardExpiryNotices(q, config, scope, now)) +
    (await upcomingRenewalNotices(q, config, scope, now)) +
    (await upcomingInvoiceEvents(q, config, scope, now)) +
    (await overdueReminders(q, config, scope, now))
  );
}

/** The next instant a time-driven notice of this scope falls due (for test-clock stepping). */
export async function nextLifecycleDueAt(q: Queryable, scope: Scope, now: Date): Promise<Date | null> {
  const times: number[] = [];
  // Far enough to cover a long advance; each candidate's occasions are checked against what was sent.
  const cards = await expiringCards(q, scope, now, 400);
  const cardSent = await sentKeys(q, cards.flatMap((c) => cardOccasions(c).map((o) => o.key)));
  for (const c of cards) {
    for (const o of cardOccasions(c)) if (!cardSent.has(o.key) && o.at.getTime() > now.getTime()) times.push(o.at.getTime());
  }
  const subs = await upcomingRenewalCandidates(q, scope, now, 400);
  const renewSent = await sentKeys(q, subs.map(renewalKey));
  for (const s of subs) {
    const at = new Date(s.current_period_end).getTime() - UPCOMING_RENEWAL_DAYS * DAY;
    if (!renewSent.has(renewalKey(s)) && at > now.getTime()) times.push(at);
  }
  const upcomingParams: unknown[] = [now];
  if (scope.clock !== null) upcomingParams.push(scope.clock);
  const { rows: upcoming } = await q.query<{ at: Date | null }>(
    `SELECT min(s.current_period_end) - make_interval(days => ${UPCOMING_RENEWAL_DAYS}) AS at FROM subscriptions s
      WHERE s.current_period_end - make_interval(days => ${UPCOMING_RENEWAL_DAYS}) > $1 AND ${upcomingInvoiceWhere(scope, 2)}`,
    upcomingParams,
  );
  if (upcoming[0]?.at) times.push(new Date(upcoming[0].at).getTime());
  const params: unknown[] = [];
  if (scope.clock !== null) params.push(scope.clock);
  const { rows: invs } = await q.query<{ id: string; due_date: Date }>(
    `SELECT i.id, i.due_date FROM invoices i WHERE i.status = 'open' AND i.collection_method = 'send_invoice' AND i.due_date IS NOT NULL AND ${scopeSql(scope, 'i', 1)}`,
    params,
  );
  const overdueSent = await sentKeys(q, invs.flatMap((i) => overdueOccasions(i).map((o) => o.key)));
  for (const i of invs) for (const o of overdueOccasions(i)) if (!overdueSent.has(o.key) && o.at.getTime() > now.getTime()) times.push(o.at.getTime());
  return times.length ? new Date(Math.min(...times)) : null;
}
