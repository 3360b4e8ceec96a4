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
import type { LockedCustomer } from './finalize.js';
import { linesOf, type InvoiceRow, type LineRow } from './repository.js';
import { serializeInvoice } from './serialize.js';
import { payInvoice } from './service.js';

// A batch of automatic payment attempts, set-based, in three steps shared by the payment pass
// (collect.ts: invoices already stored, open) and, with chargeOnFinalize (ADR 0008), the transactions
// that finalise invoices: a renewal that charges the invoices it is writing (renewals.ts) and the
// finalisation pass (finalizeInvoices), through chargeAsFinalized. planCharges picks each invoice's payment method; chargeAll assesses the
// fraud rules for the batch and calls the gateways concurrently; recordAttempts writes the payment
// intents, once each as they ended, and what their outcomes move. Anything unusual — no usable payment
// method, an attempt already on record — is left to the one-by-one path (payInvoice), which handles
// every case.
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
  { name: 'gateway_key', type: 'text' },
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

/** What an invoice's payment method is chosen from, besides the invoice itself. */
export interface ChargeRef {
  /** The subscription's default_payment_method. */
  subPm: string | null;
  /** The customer's invoice_settings.default_payment_method. */
  cusPm: string | null;
  /** The customer's address country (fraud rules, routing). */
  cusCountry: string | null;
  /** This attempt's key is already on record: it resumes one by one. */
  attempted: boolean;
}

export interface ChargeInput {
  inv: InvoiceRow;
  pm: PaymentMethodRow;
  key: string;
  attempt: number;
  customerCountry: string | null;
  /** The key sent to the gateway when it is not `key` (stored as the intent's gateway_key). */
  gatewayKey: string | null;
}

export interface Attempt extends ChargeInput {
  /** The intent as created (processing, or failed when a rule refused it). */
  row: PaymentIntentRow;
  /** The intent as it ended. */
  final: PaymentIntentRow;
  /** null: refused by a fraud rule, no gateway reached. */
  outcome: ChargeOutcome | null;
  eventType: string | null;
}

/** The attempt's key: derived from the invoice and the attempt number, so a retry of it never charges twice. */
export const attemptKey = (inv: Pick<InvoiceRow, 'id' | 'attempt_count'>): string => `${inv.id}:attempt:${inv.attempt_count + 1}`;

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

/**
 * Each invoice's payment method, in Stripe's order (the invoice's, the subscription's, then the customer's
 * default; one attached to the customer and not detached), read in one query. An invoice without one, with
 * nothing to pay, or whose attempt is already on record goes to `slow`.
 */
export async function planCharges(
  q: Queryable,
  invoices: readonly InvoiceRow[],
  refOf: ReadonlyMap<string, ChargeRef>,
  gatewayKeyOf: (inv: InvoiceRow) => string | null = () => null,
): Promise<{ fast: ChargeInput[]; slow: InvoiceRow[] }> {
  const candidateIds = [...new Set(invoices.flatMap((i) => [i.default_payment_method, refOf.get(i.id)?.subPm, refOf.get(i.id)?.cusPm]).filter((x): x is string => !!x))];
  const { rows: pms } = candidateIds.length ? await q.query<PaymentMethodRow>(`SELECT * FROM payment_methods WHERE id = ANY($1::text[])`, [candidateIds]) : { rows: [] };
  const pmById = new Map(pms.map((p) => [p.id, withBillingDetails(p)]));
  const fast: ChargeInput[] = [];
  const slow: InvoiceRow[] = [];
  for (const inv of invoices) {
    const ref = refOf.get(inv.id);
    const pm = [inv.default_payment_method, ref?.subPm, ref?.cusPm]
      .map((id) => (id ? pmById.get(id) : undefined))
      .find((p) => p && p.customer === inv.customer && !p.detached_at);
    // An attempt already on record (a crashed worker's, or a gateway fault) resumes one by one.
    if (!pm || inv.amount_remaining <= 0 || ref?.attempted) slow.push(inv);
    else fast.push({ inv, pm, key: attemptKey(inv), attempt: inv.attempt_count + 1, customerCountry: ref?.cusCountry ?? null, gatewayKey: gatewayKeyOf(inv) });
  }
  return { fast, slow };
}

/**
 * The fraud rules for the whole batch at once (attemptPayment's inputs: the payment method's billing
 * country, else the customer's; no IP off-session; the batch's attempts do not see each other), then the
 * gateway calls, concurrently, with the routing context attemptPayment gives. Writes nothing: each intent
 * is then written once, as it ended (recordAttempts; ADR 0006).
 */
export async function chargeAll(q: Queryable, deps: PaymentDeps, fast: readonly ChargeInput[], now: Date): Promise<Attempt[]> {
  if (fast.length === 0) return [];
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
      gateway_key: f.gatewayKey,
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
  // of it: the caller holds each invoice's row lock (the payment and finalisation passes' claims; a
  // renewal's invoice is not yet written, and its subscription is claimed) until this transaction ends,
  // attempt keys already on record went to the slow path, and a key taken all the same (a writer that
  // did not lock the invoice) meets the gateway's idempotency: the same key gets the first answer back.
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
            idempotencyKey: w.gatewayKey ?? w.key,
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
  return fast.map((f, i) => {
    const row = rows[i]!;
    const outcome = outcomes.get(row.id);
    if (!outcome) return { ...f, row, final: row, outcome: null, eventType: null };
    const { patch, eventType } = outcomePatch(row, outcome, f.pm);
    return { ...f, row, final: { ...row, ...patch, updated: now }, outcome, eventType };
  });
}

/**
 * The first automatic payment attempt of invoices being finalised, made before they are numbered and written
 * (ADR 0008: each is then written once, paid when the charge succeeded). Only those open for automatic
 * collection and due now; one without a usable payment method is left open and due, for the payment pass.
 * `customers`: theirs, as finalisation locked them; `subscriptionPm`: each subscription's
 * default_payment_method when the caller has the rows (else read for the invoices due); `gatewayKeyOf`: the
 * key the gateway is sent when the invoice id is not stable across a rerun (a renewal's invoice is made in
 * the same transaction). `checkTaken`: an attempt whose key is already on record is left to the payment pass.
 */
export async function chargeAsFinalized(
  q: Queryable,
  deps: PaymentDeps,
  finalized: readonly InvoiceRow[],
  customers: readonly LockedCustomer[],
  now: Date,
  opts: { subscriptionPm?: ReadonlyMap<string, string | null>; gatewayKeyOf?: (inv: InvoiceRow) => string | null; checkTaken?: boolean } = {},
): Promise<Attempt[]> {
  const due = finalized.filter((r) => r.status === 'open' && r.collection_method === 'charge_automatically' && r.next_payment_attempt !== null && r.next_payment_attempt <= now);
  if (due.length === 0) return [];
  const subscriptionPm = opts.subscriptionPm ?? (await subscriptionPaymentMethods(q, due));
  const taken = opts.checkTaken
    ? new Set((await q.query<{ idempotency_key: string }>(`SELECT idempotency_key FROM payment_intents WHERE idempotency_key = ANY($1::text[])`, [due.map(attemptKey)])).rows.map((r) => r.idempotency_key))
    : new Set<string>();
  const customerOf = new Map(customers.map((c) => [c.id, c]));
  const refOf = new Map<string, ChargeRef>(
    due.map((r) => {
      const c = customerOf.get(r.customer);
      const subPm = r.subscription ? (subscriptionPm.get(r.subscription) ?? null) : null;
      return [r.id, { subPm, cusPm: c?.default_payment_method ?? null, cusCountry: c?.address?.country ?? null, attempted: taken.has(attemptKey(r)) }];
    }),
  );
  const { fast } = await planCharges(q, due, refOf, opts.gatewayKeyOf);
  return chargeAll(q, deps, fast, now);
}

/** Each invoice's subscription's default_payment_method (one read). */
async function subscriptionPaymentMethods(q: Queryable, invs: readonly InvoiceRow[]): Promise<Map<string, string | null>> {
  const subs = [...new Set(invs.map((i) => i.subscription).filter((s): s is string => !!s))];
  if (subs.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; default_payment_method: string | null }>(`SELECT id, default_payment_method FROM subscriptions WHERE id = ANY($1::text[])`, [subs]);
  return new Map(rows.map((r) => [r.id, r.default_payment_method]));
}

/**
 * What the attempts that succeeded change on their invoices, by invoice id: merged into an invoice's
 * finalised row (`{ ...row, ...paid.get(row.id) }`, after it is numbered), it is the row to write.
 */
export const paidByAttempts = (attempts: readonly Attempt[], now: Date): Map<string, Partial<InvoiceRow>> =>
  new Map(attempts.filter((a) => a.outcome?.status === 'succeeded').map((a) => [a.inv.id, paidFields(a.inv, a.attempt, now)]));

/** The fields a successful attempt changes on the invoice it paid. */
function paidFields(inv: InvoiceRow, attempt: number, now: Date): Partial<InvoiceRow> {
  return {
    status: 'paid',
    amount_paid: inv.amount_paid + inv.amount_remaining,
    amount_remaining: 0,
    attempt_count: attempt,
    next_payment_attempt: null,
    status_transitions: { ...inv.status_transitions, paid_at: toUnix(now) },
    updated: now,
  };
}

/** The invoice a successful attempt paid, as it is after the payment. */
const paidInvoice = (inv: InvoiceRow, attempt: number, now: Date): InvoiceRow => ({ ...inv, ...paidFields(inv, attempt, now) });

/**
 * Writes the attempts' payment intents and what their outcomes move: paid invoices (updated here, unless
 * the caller wrote them paid already: `paidWritten`, with their `lines`), the events, the customers'
 * delinquency, a subscription's saved payment method and recovery; a decline, a rule's refusal and an
 * intent whose key was taken since take the one-by-one path (payInvoice replays the recorded attempt: the
 * same key, no second charge); a gateway fault is retried later with the same key.
 */
export async function recordAttempts(
  q: Queryable,
  deps: PaymentDeps,
  attempts: readonly Attempt[],
  now: Date,
  opts: { paidWritten?: { lines: ReadonlyMap<string, LineRow[]> } } = {},
): Promise<void> {
  if (attempts.length === 0) return;
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
  // An invoice written paid must have its intent: rolled back (and retried: the gateway key answers the
  // same charge) rather than left paid by nothing.
  if (opts.paidWritten && inserted.size !== attempts.length) throw new Error(`${attempts.length - inserted.size} payment intent(s) of a batch whose invoices are written paid could not be written`);
  const slow: InvoiceRow[] = [];
  // A key taken since the check (another writer): that attempt resumes one by one.
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
      events.push({ type: 'payment_intent.payment_failed', object: serializePaymentIntent(a.row), customerId: a.row.customer });
      declined.push(a.inv);
      continue;
    }
    if (a.eventType) events.push({ type: a.eventType, object: serializePaymentIntent(a.final), customerId: a.row.customer });
    if (a.outcome.status === 'succeeded') paid.push({ inv: a.inv, attempt: a.attempt, pm: a.pm.id, intent: a.row.id });
    else if (a.outcome.failureClass === 'gateway_fault') faulted.push(a.inv);
    else declined.push(a.inv);
  }

  const paidRows = paid.map(({ inv, attempt }) => paidInvoice(inv, attempt, now));
  if (!opts.paidWritten) {
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
  }
  const lines =
    opts.paidWritten?.lines ??
    (await linesOf(
      q,
      paidRows.map((r) => r.id),
    ));
  // The invoice's latest payment intent is the one that just paid it (inserted above, under the invoice's lock).
  const intents = new Map(paid.map((p) => [p.inv.id, p.intent]));
  for (const r of paidRows) {
    const obj = serializeInvoice(r, lines.get(r.id) ?? [], { paymentIntent: intents.get(r.id) });
    events.push({ type: 'invoice.paid', object: obj, customerId: r.customer }, { type: 'invoice.payment_succeeded', object: obj, customerId: r.customer });
  }
  await recordEvents(q, now, events);
  await setDelinquent(
    q,
    paidRows.map((r) => r.customer),
    false,
    now,
  );
  // Subscriptions with payment_settings.save_default_payment_method=on_subscription take the card that paid (one statement).
  await saveDefaultPaymentMethods(
    q,
    paid.map((p) => ({ subscription: p.inv.subscription, paymentMethod: p.pm })),
    now,
  );

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
