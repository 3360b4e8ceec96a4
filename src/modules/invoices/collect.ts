import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { bulkInsert, bulkUpdate } from '../../db/bulk.js';
import { setDelinquent } from '../customers/delinquency.js';
import { recordEvents, type EventInput } from '../events/service.js';
import type { BillingDetails, PaymentMethodRow, PaymentIntentRow } from '../payments/repository.js';
import { outcomePatch, serializePaymentIntent, serializePaymentMethod, type PaymentDeps } from '../payments/service.js';
import type { ChargeOutcome } from '../payments/gateway.js';
import { assessPayments, DEFAULT_FRAUD, PAYMENT_BLOCKED } from '../payments/fraud.js';
import { syncSubscriptionAfterPayment } from '../subscriptions/state.js';
import { saveDefaultPaymentMethods } from '../subscriptions/payment-settings.js';
import { linesOf, type InvoiceRow } from './repository.js';
import { serializeInvoice } from './serialize.js';
import { payInvoice } from './service.js';

// Automatic collection for a claimed batch of due invoices, set-based: payment methods resolved for
// the batch in two queries, the fraud rules assessed for the batch in one (assessPayments), payment
// intents inserted in one statement (their unique idempotency keys make a second charge impossible),
// gateway calls made concurrently with the routing context attemptPayment gives, results written
// back in bulk. Anything unusual — no usable payment method, an attempt already on record — takes the
// one-by-one path (payInvoice), which handles every case.
//
// As attemptPayment does one by one: the fraud rules run before a new charge (off-session: no client
// IP); a blocked attempt is recorded failed (`payment_blocked`, failure class fraud) without reaching
// a gateway and the invoice then follows the declined path; a review is charged and flagged.

const GATEWAY_CONCURRENCY = 64;
const FAULT_RETRY_MS = 5 * 60_000;

const PI_COLUMNS = [
  { name: 'id', type: 'text' },
  { name: 'customer', type: 'text' },
  { name: 'invoice', type: 'text' },
  { name: 'amount', type: 'bigint' },
  { name: 'amount_received', type: 'bigint' },
  { name: 'currency', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'payment_method', type: 'text' },
  { name: 'gateway', type: 'text' },
  { name: 'gateway_ref', type: 'text' },
  { name: 'routing', type: 'jsonb' },
  { name: 'idempotency_key', type: 'text' },
  { name: 'last_payment_error', type: 'jsonb' },
  { name: 'failure_class', type: 'text' },
  { name: 'risk_score', type: 'integer' },
  { name: 'risk_rule', type: 'text' },
  { name: 'risk_outcome', type: 'text' },
  { name: 'metadata', type: 'jsonb' },
  { name: 'test_clock', type: 'text' },
  { name: 'created', type: 'timestamptz' },
  { name: 'updated', type: 'timestamptz' },
] as const;

/**
 * Migration 0008 gives every row Stripe's full shape; this guards against a row written some other
 * way without an address (filled in with nulls: the billing country reads as null and the payment
 * method still serialises) rather than failing a whole batch on it.
 */
function withBillingDetails(pm: PaymentMethodRow): PaymentMethodRow {
  const bd = pm.billing_details as Partial<BillingDetails> | null;
  if (bd?.address) return pm;
  return {
    ...pm,
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: bd?.email ?? null,
      name: bd?.name ?? null,
      phone: bd?.phone ?? null,
    },
  };
}

export async function collectInvoices(q: Queryable, deps: PaymentDeps, invoices: InvoiceRow[], now: Date): Promise<void> {
  if (invoices.length === 0) return;
  const ids = invoices.map((i) => i.id);
  // Also the customer's country (fraud rules, routing) and whether this attempt is already on record
  // (its key is taken: it resumes one by one, without a new fraud assessment).
  const { rows: refs } = await q.query<{ id: string; sub_pm: string | null; cus_pm: string | null; cus_country: string | null }>(
    `SELECT i.id, s.default_payment_method AS sub_pm, c.invoice_settings->>'default_payment_method' AS cus_pm,
            c.address->>'country' AS cus_country
       FROM invoices i JOIN customers c ON c.id = i.customer LEFT JOIN subscriptions s ON s.id = i.subscription
      WHERE i.id = ANY($1::text[])`,
    [ids],
  );
  // Attempt keys already on record, looked up by the unique index (a correlated EXISTS let the planner
  // hash the whole payment_intents table once per batch).
  const keyOf = (inv: InvoiceRow) => `${inv.id}:attempt:${inv.attempt_count + 1}`;
  const { rows: taken } = await q.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM payment_intents WHERE idempotency_key = ANY($1::text[])`, [invoices.map(keyOf)]);
  const takenKeys = new Set(taken.map((r) => r.idempotency_key));
  const invoiceById = new Map(invoices.map((i) => [i.id, i]));
  const refOf = new Map(refs.map((r) => [r.id, { ...r, attempted: takenKeys.has(keyOf(invoiceById.get(r.id)!)) }]));
  const candidateIds = [...new Set(invoices.flatMap((i) => [i.default_payment_method, refOf.get(i.id)?.sub_pm, refOf.get(i.id)?.cus_pm]).filter((x): x is string => !!x))];
  const { rows: pms } = await q.query<PaymentMethodRow>(`SELECT * FROM payment_methods WHERE id = ANY($1::text[])`, [candidateIds]);
  const pmById = new Map(pms.map((p) => [p.id, withBillingDetails(p)]));

  const fast: { inv: InvoiceRow; pm: PaymentMethodRow; key: string; attempt: number; customerCountry: string | null }[] = [];
  const slow: InvoiceRow[] = [];
  for (const inv of invoices) {
    const ref = refOf.get(inv.id);
    // Stripe's order: the invoice's, the subscription's, then the customer's default.
    const pm = [inv.default_payment_method, ref?.sub_pm, ref?.cus_pm]
      .map((id) => (id ? pmById.get(id) : undefined))
      .find((p) => p && p.customer === inv.customer && !p.detached_at);
    // An attempt already on record (a crashed worker's, or a gateway fault) resumes one by one.
    if (!pm || inv.amount_remaining <= 0 || ref?.attempted) slow.push(inv);
    else fast.push({ inv, pm, key: `${inv.id}:attempt:${inv.attempt_count + 1}`, attempt: inv.attempt_count + 1, customerCountry: ref?.cus_country ?? null });
  }

  // The fraud rules, for the whole batch at once (attemptPayment's inputs: the payment method's billing
  // country, else the customer's; no IP off-session). The batch's attempts do not see each other.
  const risks = await assessPayments(
    q,
    deps.config?.payments.fraud ?? DEFAULT_FRAUD,
    fast.map((f) => ({
      customer: f.inv.customer,
      paymentMethod: f.pm,
      amount: f.inv.amount_remaining,
      ip: null,
      billingCountry: f.pm.billing_details.address.country ?? f.customerCountry,
      now,
    })),
  );

  const rows: PaymentIntentRow[] = fast.map((f, i) => {
    const risk = risks[i]!;
    const base: PaymentIntentRow = {
      id: newId('pi'),
      customer: f.inv.customer,
      invoice: f.inv.id,
      amount: f.inv.amount_remaining,
      amount_received: 0,
      currency: f.inv.currency,
      status: 'processing',
      payment_method: f.pm.id,
      gateway: f.pm.gateway,
      gateway_ref: null,
      idempotency_key: f.key,
      last_payment_error: null,
      failure_class: null,
      description: null,
      metadata: {},
      test_clock: f.inv.test_clock,
      created: now,
      updated: now,
      risk_score: risk.score,
      risk_rule: risk.rule,
      risk_outcome: risk.outcome,
    };
    if (risk.outcome !== 'block') return base;
    // Refused by a rule: recorded failed, as attemptPayment records it; nothing reaches a gateway.
    return {
      ...base,
      status: 'requires_payment_method',
      last_payment_error: {
        type: 'card_error',
        code: PAYMENT_BLOCKED,
        message: risk.reason ?? 'This payment was blocked by a fraud rule.',
        payment_method: serializePaymentMethod(f.pm),
      },
      failure_class: 'fraud',
    };
  });
  // Charged before the rows are written, so each payment intent is written once, as it ended (a row
  // version fewer than inserting it as processing and updating it: ADR 0006). No second charge can come
  // of it: the claim holds each invoice's row lock until this transaction ends (payInvoice takes the
  // same lock), attempt keys already on record went to the slow path above, and a key taken all the
  // same (a writer that did not lock the invoice) meets the gateway's idempotency: the same key gets
  // the first answer back, and the attempt then resumes one by one from the row on record.
  const charging = fast.map((f, i) => ({ ...f, row: rows[i]! })).filter((a) => a.row.status === 'processing');
  const outcomes = new Map<string, ChargeOutcome>();
  for (let i = 0; i < charging.length; i += GATEWAY_CONCURRENCY) {
    await Promise.all(
      charging.slice(i, i + GATEWAY_CONCURRENCY).map(async (w) => {
        let outcome: ChargeOutcome;
        try {
          // The context charge() gives one by one: the router's rules (country, brand, type) apply.
          outcome = await deps.gateways.get(w.pm.gateway).charge({
            amount: w.row.amount,
            currency: w.row.currency,
            token: w.pm.gateway_token,
            idempotencyKey: w.key,
            customerId: w.row.customer ?? undefined,
            description: w.row.description ?? undefined,
            context: {
              paymentMethodId: w.pm.id,
              paymentMethodType: w.pm.type,
              brand: w.pm.card.brand,
              cardCountry: w.pm.card.country,
              customerCountry: w.customerCountry ?? w.pm.billing_details.address.country ?? null,
              ip: w.row.client_ip ?? null,
              previousRef: null,
            },
          });
        } catch {
          outcome = { status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable', message: `The payment gateway '${w.pm.gateway}' did not answer.` };
        }
        outcomes.set(w.row.id, outcome);
      }),
    );
  }
  // Each row as it ended: refused by a rule, or with its charge's outcome.
  const attempts = fast.map((f, i) => {
    const row = rows[i]!;
    const outcome = outcomes.get(row.id);
    if (!outcome) return { ...f, row, final: row, outcome: null, eventType: null };
    const { patch, eventType } = outcomePatch(row, outcome, f.pm);
    return { ...f, row, final: { ...row, ...patch, updated: now }, outcome, eventType };
  });
  const inserted = new Set(
    (
      await bulkInsert<{ id: string }>(
        q,
        'payment_intents',
        PI_COLUMNS,
        attempts.map((a) => a.final) as unknown as Record<string, unknown>[],
        'ON CONFLICT (idempotency_key) DO NOTHING RETURNING id',
      )
    ).map((r) => r.id),
  );
  // A key taken since the check above (another writer): that attempt resumes one by one.
  for (const a of attempts) if (!inserted.has(a.row.id)) slow.push(a.inv);

  const events: EventInput[] = [];
  const paid: { inv: InvoiceRow; attempt: number; pm: string; intent: string }[] = [];
  const declined: InvoiceRow[] = [];
  const faulted: InvoiceRow[] = [];
  for (const a of attempts) {
    if (!inserted.has(a.row.id)) continue;
    // The intent as created (processing), then as it ended.
    events.push({ type: 'payment_intent.created', object: serializePaymentIntent(a.row), customerId: a.row.customer });
    if (!a.outcome) {
      // Refused by a rule: payInvoice replays the recorded attempt (no gateway call) and records the failure on the invoice.
      events.push({ type: 'payment_intent.payment_failed', object: serializePaymentIntent(a.row), customerId: a.row.customer });
      declined.push(a.inv);
      continue;
    }
    if (a.eventType) events.push({ type: a.eventType, object: serializePaymentIntent(a.final), customerId: a.row.customer });
    if (a.outcome.status === 'succeeded') paid.push({ inv: a.inv, attempt: a.attempt, pm: a.pm.id, intent: a.row.id });
    else if (a.outcome.failureClass === 'gateway_fault') faulted.push(a.inv);
    else declined.push(a.inv);
  }

  const paidAt = toUnix(now);
  const paidRows: InvoiceRow[] = paid.map(({ inv, attempt }) => ({
    ...inv,
    status: 'paid',
    amount_paid: inv.amount_paid + inv.amount_remaining,
    amount_remaining: 0,
    attempt_count: attempt,
    next_payment_attempt: null,
    status_transitions: { ...inv.status_transitions, paid_at: paidAt },
    updated: now,
  }));
  await bulkUpdate(
    q,
    'invoices',
    [
      { name: 'status', type: 'text' },
      { name: 'amount_paid', type: 'bigint' },
      { name: 'amount_remaining', type: 'bigint' },
      { name: 'attempt_count', type: 'integer' },
      { name: 'next_payment_attempt', type: 'timestamptz' },
      { name: 'status_transitions', type: 'jsonb' },
      { name: 'updated', type: 'timestamptz' },
    ],
    paidRows as unknown as Record<string, unknown>[],
  );
  const lines = await linesOf(
    q,
    paidRows.map((r) => r.id),
  );
  // The invoice's latest payment intent is the one that just paid it (inserted above, under the invoice's lock).
  const intents = new Map(paid.map((p) => [p.inv.id, p.intent]));
  for (const r of paidRows) {
    const obj = serializeInvoice(r, lines.get(r.id)!, { paymentIntent: intents.get(r.id) });
    events.push({ type: 'invoice.paid', object: obj, customerId: r.customer }, { type: 'invoice.payment_succeeded', object: obj, customerId: r.customer });
  }
  await recordEvents(q, now, events);
  await setDelinquent(q, paidRows.map((r) => r.customer), false, now);
  // Subscriptions with payment_settings.save_default_payment_method=on_subscription take the card that paid (one statement).
  await saveDefaultPaymentMethods(q, paid.map((p) => ({ subscription: p.inv.subscription, paymentMethod: p.pm })), now);

  // Subscriptions that recover (past_due, incomplete, unpaid → active) are few: one by one…
  const subIds = paidRows.map((r) => r.subscription).filter((s): s is string => !!s);
  if (subIds.length) {
    // …and those with a pending update, which may be waiting for one of these invoices (pending-update.ts).
    const { rows: moving } = await q.query<{ id: string }>(
      `SELECT id FROM subscriptions WHERE id = ANY($1::text[]) AND (status IN ('incomplete', 'past_due', 'unpaid') OR pending_update IS NOT NULL)`,
      [subIds],
    );
    const movingSet = new Set(moving.map((m) => m.id));
    for (const r of paidRows) if (r.subscription && movingSet.has(r.subscription)) await syncSubscriptionAfterPayment(q, r, true, now);
  }
  // Declines: payInvoice replays the recorded attempt (same key, no second charge) and records the
  // failure the one-by-one way (attempt count, invoice.payment_failed, subscription to past_due).
  for (const inv of declined) await payInvoice(q, deps, inv.id, now);
  for (const inv of faulted) await q.query(`UPDATE invoices SET next_payment_attempt = $2, updated = $3 WHERE id = $1`, [inv.id, new Date(now.getTime() + FAULT_RETRY_MS), now]);
  for (const inv of slow) await payInvoice(q, deps, inv.id, now);
}
