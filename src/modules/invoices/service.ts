import { AppError, ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { addDays, addSeconds, fromUnix, toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import type { Config } from '../../config.js';
import { previousAttributes, recordEvents } from '../events/service.js';
import type { Discount } from './domain/discounts.js';
import { noSuchPaymentMethod, notAttachedToCustomer } from '../payments/errors.js';
import { findPaymentMethod } from '../payments/repository.js';
import { attemptPayment, defaultPaymentMethodFor, isTestPaymentMethod, PAYMENT_METHOD_MISSING, resolvePaymentMethod, type PaymentAttempt, type PaymentDeps } from '../payments/service.js';
import { redeem, resolveDiscountSource } from '../coupons/service.js';
import { discountsFor, pendingItemsFor, pendingLines, toDiscount, type DiscountTermsRow, type PendingItemRow } from '../subscriptions/billing.js';
import { syncSubscriptionAfterPayment } from '../subscriptions/state.js';
import { saveDefaultPaymentMethods } from '../subscriptions/payment-settings.js';
import { discardPendingUpdate } from '../subscriptions/pending-update.js';
import { getCustomerRow, mergeMetadata, normalizeShipping } from '../customers/service.js';
import type { CreateCustomerInput } from '../customers/schemas.js';
import { buildInvoice, type BuiltInvoice, type InvoiceDraft, type LineDraft } from './builder.js';
import { MAX_INVOICE_AMOUNT, withinInvoiceBound } from './domain/totals.js';
import { findInvoice, insertInvoices, insertLines, INVOICE_COLUMNS, linesOf, updateInvoiceRow, updateInvoices, type InvoiceCustomField, type InvoiceRow, type LineRow } from './repository.js';
import { serializeInvoice, type InvoiceObject } from './serialize.js';
import type { TaxConfig } from '../taxes/config.js';
import { setDelinquent } from '../customers/delinquency.js';
import { applyTax, loadPriceBehaviors, type CustomerDetails } from '../taxes/context.js';
import { spendOnceDiscounts } from './discount-ends.js';
import { customerDetails, finishFinalization, lockCustomers, numberFinalization, planFinalization, writeBalances, type FinalizationPlan, type FinalizeOptions, type LockedCustomer } from './finalize.js';
import { chargeAsFinalized, paidByAttempts, recordAttempts } from './charge-batch.js';

// Invoice lifecycle: draft → open → paid | void | uncollectible. Finalised invoices are immutable
// (only status, payment and balance fields move). Every transition writes its event in the same
// transaction. Functions take batches so the worker can run them set-based.

export { DEFAULT_SERIES, type FinalizeOptions } from './finalize.js';
/** How long to wait before asking the gateway again about an attempt whose outcome is unknown. */
const GATEWAY_FAULT_RETRY_MS = 5 * 60_000;

type Deps = Pick<AppDeps, 'gateways'>;

export async function invoiceObject(q: Queryable, inv: InvoiceRow): Promise<InvoiceObject> {
  return (await invoiceObjects(q, [inv]))[0]!;
}

/**
 * Invoices as the API shows them: their lines and, for drafts, the customer's current details (Stripe:
 * until finalization customer_email, customer_name, … equal the customer's; finalization keeps a copy).
 */
export async function invoiceObjects(q: Queryable, invs: readonly InvoiceRow[]): Promise<InvoiceObject[]> {
  const lines = await linesOf(q, invs.map((i) => i.id));
  const customers = await draftCustomers(q, invs);
  const intents = await latestPaymentIntents(q, invs.map((i) => i.id));
  return invs.map((inv) => serializeInvoice(inv, lines.get(inv.id) ?? [], { customer: customers.get(inv.customer), paymentIntent: intents.get(inv.id) }));
}

/** Each invoice's latest payment intent (ids sort by creation), for `payment_intent`. */
export async function latestPaymentIntents(q: Queryable, invoiceIds: readonly string[]): Promise<Map<string, string>> {
  if (invoiceIds.length === 0) return new Map();
  const { rows } = await q.query<{ invoice: string; id: string }>(
    `SELECT DISTINCT ON (invoice) invoice, id FROM payment_intents WHERE invoice = ANY($1::text[]) ORDER BY invoice, id DESC`,
    [invoiceIds],
  );
  return new Map(rows.map((r) => [r.invoice, r.id]));
}

/**
 * A draft's customer as the draft shows it: current details and current balance (its starting_balance);
 * and the customer's invoice_settings custom_fields and footer, which a new invoice takes.
 */
export type DraftCustomer = CustomerDetails & { balance: number; settings: { custom_fields: InvoiceCustomField[] | null; footer: string | null } };

/** The current details and balances of the customers of the drafts among `invs` (one query; none without drafts). */
export async function draftCustomers(q: Queryable, invs: readonly Pick<InvoiceRow, 'status' | 'customer'>[]): Promise<Map<string, DraftCustomer>> {
  const ids = [...new Set(invs.filter((i) => i.status === 'draft').map((i) => i.customer))];
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<CustomerDetails & { id: string; balance: number; custom_fields: InvoiceCustomField[] | null; footer: string | null }>(
    `SELECT id, name, email, phone, address, shipping, tax_ids, tax_exempt, balance,
            invoice_settings->'custom_fields' AS custom_fields, invoice_settings->>'footer' AS footer
       FROM customers WHERE id = ANY($1::text[])`,
    [ids],
  );
  return draftCustomerMap(rows);
}

function draftCustomerMap(rows: readonly (CustomerDetails & { id: string; balance: number; custom_fields: InvoiceCustomField[] | null; footer: string | null })[]): Map<string, DraftCustomer> {
  return new Map(rows.map((c) => [c.id, { ...customerDetails(c)!, balance: Number(c.balance), settings: { custom_fields: c.custom_fields ?? null, footer: c.footer ?? null } }]));
}

/** Stripe: a new invoice shows the customer's invoice_settings custom_fields and footer unless it names its own. */
export function applyInvoiceSettings(built: readonly BuiltInvoice[], customers: ReadonlyMap<string, DraftCustomer>): void {
  for (const b of built) {
    const settings = customers.get(b.invoice.customer)?.settings;
    if (!settings || !b.inheritsSettings) continue;
    if (b.inheritsSettings.customFields) b.invoice.custom_fields = settings.custom_fields;
    if (b.inheritsSettings.footer) b.invoice.footer = settings.footer;
  }
}

export async function getInvoiceRow(q: Queryable, id: string, forUpdate = false, param = 'id'): Promise<InvoiceRow> {
  const inv = await findInvoice(q, id, forUpdate);
  if (!inv) throw new NotFoundError('invoice', id, param);
  return inv;
}

/**
 * Writes built invoices and their lines. Invoices that would bill an already-invoiced subscription
 * period are dropped by the database (unique index) and reported as skipped; their pending items
 * stay pending. Pending invoice items used by an invoice are attached to it; `once` discounts end
 * (each with its customer.discount.deleted).
 */
export async function persistInvoices(q: Queryable, built: BuiltInvoice[], now: Date): Promise<BuiltInvoice[]> {
  if (built.length === 0) return [];
  const customers = await draftCustomers(q, built.map((b) => b.invoice));
  applyInvoiceSettings(built, customers);
  const inserted = await insertInvoices(q, built.map((b) => b.invoice));
  const kept = built.filter((b) => inserted.has(b.invoice.id));
  await insertLinesAndItems(q, kept);
  await spendAndAnnounce(q, kept, customers, now);
  return kept;
}

export interface StagedInvoices {
  /** The built invoices that will be written (a period already invoiced is left out). */
  kept: BuiltInvoice[];
  /** Those finalised as they are written: open (or paid when nothing is due), not yet numbered. */
  finalized: InvoiceRow[];
  /** Their customers, locked (when any invoice is finalised). */
  customers: readonly LockedCustomer[];
  /**
   * Numbers and writes them; `paid`: what a charge made meanwhile changes on an invoice (paidByAttempts),
   * written with its finalised row (its invoice.finalized still shows it open, as finalised).
   */
  write: (paid?: ReadonlyMap<string, Partial<InvoiceRow>>) => Promise<void>;
}

/**
 * persistInvoices for a renewal batch, in two steps around the renewal's own writes. The first does what
 * needs no invoice number: it leaves out the periods already invoiced (what the unique index would drop,
 * so what is kept is known before anything is written), spends `once` discounts and records invoice.created.
 * With `finalize`, the invoices whose finalisation is due now (auto_advance, finalize_at reached: no
 * finalisation delay) are also planned finalised (their customers locked). `write` then reserves their
 * numbers and writes every invoice once — those due already open and numbered, instead of a draft the
 * finalisation pass would update — with the finalisation's events after the caller's. The series' counter
 * stays locked from `write` to the commit, so the caller calls it last: another worker's renewal waits for it
 * only that long.
 */
export async function stageInvoices(q: Queryable, built: BuiltInvoice[], now: Date, finalize?: FinalizeOptions): Promise<StagedInvoices> {
  if (built.length === 0) return { kept: [], finalized: [], customers: [], write: async () => {} };
  const isDue = (b: BuiltInvoice) => finalize !== undefined && b.invoice.auto_advance && b.invoice.finalize_at !== null && b.invoice.finalize_at <= now;
  // Finalising: the customers are locked now, and that one read also gives the drafts' view of them.
  const locked = built.some(isDue) ? await lockCustomers(q, [...new Set(built.map((b) => b.invoice.customer))]) : undefined;
  const customers = locked ? draftCustomerMap(locked) : await draftCustomers(q, built.map((b) => b.invoice));
  applyInvoiceSettings(built, customers);
  const taken = await invoicedPeriods(q, built.map((b) => b.invoice));
  const kept = built.filter((b) => !taken.has(periodKey(b.invoice)));
  const due = kept.filter(isDue);
  const plan = due.length ? await planFinalization(q, due.map((b) => b.invoice), now, finalize!, locked) : undefined;
  await spendAndAnnounce(q, kept, customers, now);
  const write = async (paid?: ReadonlyMap<string, Partial<InvoiceRow>>) => {
    if (plan) await numberFinalization(q, plan);
    const finalRow = new Map((plan?.out ?? []).map((r) => [r.id, r]));
    const rowOf = (b: BuiltInvoice): InvoiceRow => {
      const row = finalRow.get(b.invoice.id) ?? b.invoice;
      const p = paid?.get(b.invoice.id);
      return p ? { ...row, ...p } : row;
    };
    const inserted = await insertInvoices(q, kept.map(rowOf));
    // Under the claim's locks nothing else writes these periods; if something did, the batch rolls back
    // (and is retried) rather than leave an invoice.created without its invoice, or a reserved number unused.
    if (inserted.size !== kept.length) throw new Error(`${kept.length - inserted.size} invoice(s) of a renewal batch could not be written`);
    await insertLinesAndItems(q, kept);
    if (!plan) return;
    await recordFinalizationFailures(q, plan.mismatched, now);
    await writeBalances(q, plan, now);
    await finishFinalization(q, plan.out, now, new Map(kept.map((b) => [b.invoice.id, b.lines])));
  };
  return { kept, finalized: plan?.out ?? [], customers: locked ?? [], write };
}

/** The invoices' lines, and the pending invoice items they bill attached to them. */
async function insertLinesAndItems(q: Queryable, kept: readonly BuiltInvoice[]): Promise<void> {
  await insertLines(q, kept.flatMap((b) => b.lines));
  const itemLinks = kept.flatMap((b) => b.lines.filter((l) => l.invoice_item).map((l) => ({ item: l.invoice_item!, invoice: b.invoice.id })));
  if (itemLinks.length) {
    await q.query(`UPDATE invoice_items AS t SET invoice = u.invoice FROM unnest($1::text[], $2::text[]) AS u(item, invoice) WHERE t.id = u.item`, [
      itemLinks.map((l) => l.item),
      itemLinks.map((l) => l.invoice),
    ]);
  }
}

/** `once` discounts spent by the first invoice they reduce (customer.discount.deleted), and invoice.created. */
async function spendAndAnnounce(q: Queryable, kept: readonly BuiltInvoice[], customers: ReadonlyMap<string, DraftCustomer>, now: Date): Promise<void> {
  await spendOnceDiscounts(q, kept.flatMap((b) => b.invoice.discounts.map((d) => d.discount)), now);
  await recordEvents(
    q,
    now,
    kept.map((b) => ({ type: 'invoice.created', object: serializeInvoice(b.invoice, b.lines, { customer: customers.get(b.invoice.customer) }), customerId: b.invoice.customer })),
  );
}

const periodKey = (i: Pick<InvoiceRow, 'subscription' | 'period_start'>) => `${i.subscription}|${new Date(i.period_start).getTime()}`;

const ONE_PER_PERIOD = ['subscription_create', 'subscription_cycle'];

/** Among `invs`, the (subscription, period_start) pairs already invoiced: what the unique index invoices_one_per_period would refuse. */
async function invoicedPeriods(q: Queryable, invs: readonly InvoiceRow[]): Promise<Set<string>> {
  const subs = invs.filter((i) => i.subscription && ONE_PER_PERIOD.includes(i.billing_reason));
  if (subs.length === 0) return new Set();
  const { rows } = await q.query<{ subscription: string; period_start: Date }>(
    `SELECT i.subscription, i.period_start FROM invoices i JOIN unnest($1::text[], $2::timestamptz[]) AS u(sub, ps) ON i.subscription = u.sub AND i.period_start = u.ps
      WHERE i.billing_reason IN ('subscription_create', 'subscription_cycle')`,
    [subs.map((i) => i.subscription), subs.map((i) => new Date(i.period_start).toISOString())],
  );
  return new Set(rows.map(periodKey));
}

/** Builds and writes invoices; with a tax config (automatic tax on) each draft is taxed first. */
export async function createInvoices(q: Queryable, drafts: InvoiceDraft[], now: Date, tax?: TaxConfig): Promise<BuiltInvoice[]> {
  const taxed = await applyTax(q, tax, drafts, now);
  return persistInvoices(
    q,
    taxed.map((d) => buildInvoice(d, now)),
    now,
  );
}

/**
 * Finalises stored drafts: gapless numbers, the customer balance applied (planFinalization), then opens
 * them (or marks them paid when nothing is due) and schedules the automatic payment attempt. With `charge`
 * (the worker's finalisation pass with chargeOnFinalize, ADR 0008) that attempt is made here, before the
 * numbers are reserved, and each invoice it pays is updated once, to paid.
 */
export async function finalizeInvoices(q: Queryable, ids: string[], now: Date, opts: FinalizeOptions = {}, charge?: PaymentDeps): Promise<InvoiceRow[]> {
  if (ids.length === 0) return [];
  const { rows: locked } = await q.query<InvoiceRow>(`SELECT * FROM invoices WHERE id = ANY($1::text[]) AND status = 'draft' ORDER BY id FOR UPDATE`, [ids]);
  if (locked.length === 0) return [];
  const plan = await planFinalization(q, locked, now, opts);
  await recordFinalizationFailures(q, plan.mismatched, now);
  const out = plan.out;
  if (out.length === 0) return [];
  const attempts = charge ? await chargeAsFinalized(q, charge, out, plan.customers, now, { checkTaken: true }) : [];
  const paid = paidByAttempts(attempts, now);
  await numberFinalization(q, plan);
  const rows = out.map((r) => ({ ...r, ...paid.get(r.id) }));
  await updateInvoices(
    q,
    FINALIZED_COLUMNS,
    rows.map((r) => ({ ...r, updated: now, last_finalization_error: null })),
  );
  await writeBalances(q, plan, now);
  // invoice.finalized shows each invoice as finalised (open), then the payment's events follow.
  const lines = attempts.length
    ? await linesOf(
        q,
        out.map((r) => r.id),
      )
    : undefined;
  await finishFinalization(q, out, now, lines);
  if (charge && lines) await recordAttempts(q, charge, attempts, now, { paidWritten: { lines } });
  return rows;
}

/** What finalisation (and a charge made with it) changes on a stored draft: these of the row's columns. */
const FINALIZED = new Set([
  'status',
  'number',
  'series',
  'starting_balance',
  'ending_balance',
  'amount_due',
  'amount_paid',
  'amount_remaining',
  'attempt_count',
  'next_payment_attempt',
  'status_transitions',
  'customer_details',
  'hosted_invoice_url',
  'last_finalization_error',
  'updated',
]);
const FINALIZED_COLUMNS = INVOICE_COLUMNS.filter((c) => FINALIZED.has(c.name));
// A name the row's columns lack would silently go unwritten.
if (FINALIZED_COLUMNS.length !== FINALIZED.size) throw new Error('FINALIZED names a column INVOICE_COLUMNS does not have');

/** Drafts whose currency is not their customer's: left drafts, auto_advance off, invoice.finalization_failed. */
async function recordFinalizationFailures(q: Queryable, mismatched: FinalizationPlan['mismatched'], now: Date): Promise<void> {
  for (const { draft: d, message } of mismatched) {
    const failed = await updateInvoiceRow(q, d.id, { auto_advance: false, last_finalization_error: { code: 'currency_mismatch', message, type: 'invalid_request_error' }, updated: now });
    await recordEvents(q, now, [{ type: 'invoice.finalization_failed', object: await invoiceObject(q, failed), customerId: d.customer }]);
  }
}

export interface PaymentResult {
  invoice: InvoiceRow;
  paymentIntent: Record<string, unknown> | null;
  succeeded: boolean;
  error: { code: string; decline_code?: string; message: string; failure_class?: string } | null;
  /** The payment attempt as attemptPayment answered it (for paymentErrorFor); null when none was made. */
  attempt: PaymentAttempt | null;
}

/**
 * One payment attempt on an open (or uncollectible: Stripe lets those be paid too) invoice through
 * its payment method's gateway. The attempt's idempotency key is derived from the invoice and
 * attempt number, so a worker that crashes and retries the same attempt can never charge twice.
 *
 * Without a payment method to charge, the default (automatic collection) records a failed attempt;
 * `missingPaymentMethod: 'throw'` (a caller asking to pay now) answers 400 and records nothing.
 */
export async function payInvoice(
  q: Queryable,
  deps: Deps,
  invoiceId: string,
  now: Date,
  opts: {
    paymentMethod?: string;
    missingPaymentMethod?: 'record' | 'throw';
    /** Asked for by a person (the pay call, a hosted page): its failure is not an automatic one, so the customer's delinquency stays. */
    manual?: boolean;
  } = {},
): Promise<PaymentResult> {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status === 'paid') throw new ConflictError('Invoice is already paid.', 'invoice_already_paid');
  if (inv.status !== 'open' && inv.status !== 'uncollectible') {
    throw new InvalidRequestError(`You can only pay an open or uncollectible invoice; this one is ${inv.status}.`, 'id', 'invoice_not_open');
  }
  const sub = inv.subscription
    ? (await q.query<{ default_payment_method: string | null }>(`SELECT default_payment_method FROM subscriptions WHERE id = $1`, [inv.subscription])).rows[0]
    : undefined;
  // Stripe's order (the invoice's, the subscription's, the customer's default), skipping any that has been
  // detached since it was set — as the batch charge does (collect.ts).
  const pm = opts.paymentMethod ?? (await defaultPaymentMethodFor(q, { invoiceDefault: inv.default_payment_method, subscriptionDefault: sub?.default_payment_method ?? null, customerId: inv.customer }));
  const attempt = inv.attempt_count + 1;
  if (!pm) {
    if (opts.missingPaymentMethod === 'throw') {
      throw new AppError(400, 'invalid_request_error', PAYMENT_METHOD_MISSING, 'This customer has no attached payment method or default payment method.', 'payment_method');
    }
    const failed = await recordFailure(q, inv, attempt, now, !opts.manual);
    return { invoice: failed, paymentIntent: null, succeeded: false, error: { code: 'payment_method_missing', message: 'The customer has no payment method to charge.' }, attempt: null };
  }
  const result = await attemptPayment(q, deps, {
    customer: inv.customer,
    invoice: inv.id,
    amount: inv.amount_remaining,
    currency: inv.currency,
    paymentMethodId: pm,
    idempotencyKey: `${inv.id}:attempt:${attempt}`,
    now,
    testClock: inv.test_clock,
  });
  const { paymentIntent, outcome } = result;
  if (outcome.status === 'succeeded') {
    const paid = await markPaid(q, inv, { attempt, now, outOfBand: false });
    // Stripe's payment_settings.save_default_payment_method=on_subscription: the card that paid becomes the default.
    if (paymentIntent.payment_method) await saveDefaultPaymentMethods(q, [{ subscription: inv.subscription, paymentMethod: paymentIntent.payment_method }], now);
    return { invoice: paid, paymentIntent, succeeded: true, error: null, attempt: result };
  }
  const error = { code: outcome.code, decline_code: outcome.declineCode, message: outcome.message, failure_class: outcome.failureClass };
  if (outcome.failureClass === 'gateway_fault') {
    // The outcome is unknown (timeout, 5xx): the charge may have gone through. Keep the attempt
    // number, so the retry reuses this attempt's idempotency key and the gateway settles it instead
    // of charging again.
    const row = await updateInvoiceRow(q, inv.id, { next_payment_attempt: new Date(now.getTime() + GATEWAY_FAULT_RETRY_MS), updated: now });
    return { invoice: row, paymentIntent, succeeded: false, error, attempt: result };
  }
  const failed = await recordFailure(q, inv, attempt, now, !opts.manual);
  return { invoice: failed, paymentIntent, succeeded: false, error, attempt: result };
}

async function markPaid(q: Queryable, inv: InvoiceRow, o: { attempt: number; now: Date; outOfBand: boolean; reference?: string }): Promise<InvoiceRow> {
  const row = await updateInvoiceRow(q, inv.id, {
    ...(o.reference !== undefined ? { payment_reference: o.reference } : {}),
    status: 'paid',
    amount_paid: inv.amount_paid + inv.amount_remaining,
    amount_remaining: 0,
    attempt_count: o.outOfBand ? inv.attempt_count : o.attempt,
    next_payment_attempt: null,
    paid_out_of_band: o.outOfBand,
    status_transitions: { ...inv.status_transitions, paid_at: toUnix(o.now) },
    updated: o.now,
  });
  const obj = await invoiceObject(q, row);
  await recordEvents(q, o.now, [
    { type: 'invoice.paid', object: obj, customerId: row.customer },
    { type: 'invoice.payment_succeeded', object: obj, customerId: row.customer },
  ]);
  await setDelinquent(q, [row.customer], false, o.now);
  if (row.subscription) await syncSubscriptionAfterPayment(q, row, true, o.now);
  return row;
}

async function recordFailure(q: Queryable, inv: InvoiceRow, attempt: number, now: Date, automatic: boolean): Promise<InvoiceRow> {
  // Retries are scheduled by dunning; without a campaign the invoice waits open for a new attempt.
  const row = await updateInvoiceRow(q, inv.id, { attempt_count: attempt, next_payment_attempt: null, updated: now });
  await recordEvents(q, now, [{ type: 'invoice.payment_failed', object: await invoiceObject(q, row), customerId: row.customer }]);
  if (automatic) await setDelinquent(q, [row.customer], true, now);
  // An uncollectible invoice was given up on: a failed attempt to pay it anyway moves no subscription.
  if (row.subscription && inv.status === 'open') await syncSubscriptionAfterPayment(q, row, false, now);
  return row;
}

/** Paid outside Recur (cheque, bank transfer handled elsewhere); `reference` records how. */
export async function payOutOfBand(q: Queryable, invoiceId: string, now: Date, reference?: string): Promise<InvoiceRow> {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status !== 'open' && inv.status !== 'uncollectible') throw new InvalidRequestError(`You can only pay an open invoice; this one is ${inv.status}.`, 'id', 'invoice_not_open');
  return markPaid(q, inv, { attempt: inv.attempt_count, now, outOfBand: true, reference });
}

/**
 * Marks an open invoice paid after its remaining amount was settled by other means (a bank transfer,
 * a pre-payment credit note): the same events and subscription recovery as a card payment.
 */
export async function settleInvoice(q: Queryable, inv: InvoiceRow, now: Date): Promise<InvoiceRow> {
  return markPaid(q, inv, { attempt: inv.attempt_count, now, outOfBand: false });
}

export async function voidInvoice(q: Queryable, invoiceId: string, now: Date): Promise<InvoiceRow> {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status !== 'open' && inv.status !== 'uncollectible') {
    throw new InvalidRequestError(`You can only void an open or uncollectible invoice; this one is ${inv.status}.`, 'id', 'invoice_not_voidable');
  }
  // Stripe (since 2019-12-03): the customer balance applied at finalization goes back to the customer.
  const applied = inv.ending_balance === null ? 0 : Number(inv.starting_balance) - Number(inv.ending_balance);
  if (applied !== 0) {
    const { rows } = await q.query<{ balance: number }>(`UPDATE customers SET balance = balance + $2, updated = $3 WHERE id = $1 RETURNING balance`, [inv.customer, applied, now]);
    await q.query(
      `INSERT INTO customer_balance_transactions (id, customer, amount, currency, type, invoice, ending_balance, created)
       VALUES ($1, $2, $3, $4, 'unapplied_from_invoice', $5, $6, $7)`,
      [newId('cbtxn'), inv.customer, applied, inv.currency, inv.id, rows[0]!.balance, now],
    );
  }
  // A voided invoice keeps its number: the sequence stays gapless.
  const row = await updateInvoiceRow(q, inv.id, {
    status: 'void',
    amount_remaining: 0,
    next_payment_attempt: null,
    status_transitions: { ...inv.status_transitions, voided_at: toUnix(now) },
    updated: now,
  });
  await recordEvents(q, now, [{ type: 'invoice.voided', object: await invoiceObject(q, row), customerId: row.customer }]);
  // A pending update waiting for this invoice is discarded with it (Stripe).
  await discardPendingUpdate(q, row, now);
  return row;
}

/** `byApi`: the operator's call, which clears the customer's delinquency (dunning giving up does not: Stripe). */
export async function markUncollectible(q: Queryable, invoiceId: string, now: Date, opts: { byApi?: boolean } = {}): Promise<InvoiceRow> {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status !== 'open') throw new InvalidRequestError(`You can only mark an open invoice uncollectible; this one is ${inv.status}.`, 'id', 'invoice_not_open');
  const row = await updateInvoiceRow(q, inv.id, {
    status: 'uncollectible',
    next_payment_attempt: null,
    status_transitions: { ...inv.status_transitions, marked_uncollectible_at: toUnix(now) },
    updated: now,
  });
  await recordEvents(q, now, [{ type: 'invoice.marked_uncollectible', object: await invoiceObject(q, row), customerId: row.customer }]);
  if (opts.byApi) await setDelinquent(q, [row.customer], false, now);
  return row;
}

/** A manual invoice: the customer's pending invoice items (or none), as a draft. */
export async function createManualInvoice(
  q: Queryable,
  now: Date,
  input: {
    customer: string;
    subscription?: string;
    collection_method?: 'charge_automatically' | 'send_invoice';
    days_until_due?: number;
    /** Unix seconds (Stripe's due_date): send_invoice only, instead of days_until_due, in the future. */
    due_date?: number;
    auto_advance?: boolean;
    description?: string | null;
    custom_fields?: InvoiceCustomField[] | null;
    footer?: string | null;
    shipping_details?: CreateCustomerInput['shipping'];
    automatic_tax?: { enabled: boolean };
    /** Unix seconds: Stripe's date of issue set by hand. */
    effective_at?: number;
    /** Unix seconds: when the draft finalizes (Stripe's automatically_finalizes_at); auto_advance with it. */
    automatically_finalizes_at?: number;
    /** Stripe: the invoice's own discount (a coupon or promotion code redeemed for it) instead of the customer's; [] for none. */
    discounts?: { coupon?: string; promotion_code?: string }[];
    metadata?: Record<string, string>;
    pending_invoice_items_behavior?: 'include' | 'exclude';
    default_payment_method?: string;
    currency?: string;
  },
  tax?: TaxConfig,
  deps?: PaymentDeps & { config?: Partial<Pick<Config, 'finalizeDelaySeconds'>> },
): Promise<InvoiceRow> {
  const customer = await getCustomerRow(q, input.customer, { param: 'customer' });
  if (input.currency && customer.currency && input.currency !== customer.currency) {
    throw new InvalidRequestError(`The customer is billed in ${customer.currency}; an invoice in ${input.currency} would mix currencies.`, 'currency', 'currency_mismatch');
  }
  const dueDate = checkDueTerms(input, input.collection_method ?? 'charge_automatically', now);
  if (input.collection_method === 'send_invoice' && input.days_until_due === undefined && dueDate === null) {
    throw new InvalidRequestError('days_until_due or due_date is required when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
  }
  // As Stripe (and subscriptions here): a due date only exists for invoices sent to be paid, so
  // days_until_due with charge_automatically (explicit or the default) is refused.
  if (input.days_until_due !== undefined && (input.collection_method ?? 'charge_automatically') === 'charge_automatically') {
    throw new InvalidRequestError('days_until_due can only be set when collection_method is send_invoice.', 'days_until_due', 'parameter_invalid');
  }
  if (input.subscription) {
    const { rows } = await q.query<{ customer: string }>(`SELECT customer FROM subscriptions WHERE id = $1`, [input.subscription]);
    if (rows[0]?.customer !== customer.id) throw new NotFoundError('subscription', input.subscription, 'subscription');
  }
  const defaultPaymentMethod = input.default_payment_method ? await invoicePaymentMethod(q, deps, input.default_payment_method, customer.id, now) : null;
  const pseudo = { id: input.subscription ?? `manual:${customer.id}`, customer: customer.id };
  // Stripe: pending_invoice_items_behavior "defaults to exclude if the parameter is omitted"; with a
  // subscription the invoice "will only include pending invoice items for that subscription".
  const candidates: PendingItemRow[] =
    input.pending_invoice_items_behavior === 'include'
      ? ((await pendingItemsFor(q, [pseudo])).get(pseudo.id) ?? []).filter((p) => !input.subscription || p.subscription === input.subscription)
      : [];
  const currency = input.currency ?? customer.currency ?? candidates[0]?.currency;
  if (!currency) throw new InvalidRequestError('The customer has no pending invoice items and no currency; pass currency.', 'currency', 'parameter_missing');
  // An invoice has one currency: pending items in another one wait for an invoice in theirs.
  const pending = candidates.filter((p) => p.currency === currency);
  assertInvoiceBound(
    pending.map((p) => p.amount),
    `The customer's pending invoice items in ${currency} add up to more than ${MAX_INVOICE_AMOUNT} minor units, the most one invoice can bill; delete some of them or bill them on separate invoices.`,
  );
  const invoiceId = newId('in');
  const discounts =
    input.discounts === undefined
      ? (await discountsFor(q, [{ ...pseudo, currency }], new Map([[pseudo.id, now]]))).get(pseudo.id)!
      : await invoiceDiscounts(q, input.discounts, { invoiceId, customerId: customer.id, currency, amount: pending.reduce((s, p) => s + p.amount, 0), now });
  const [built] = await createInvoices(
    q,
    [
      {
        id: invoiceId,
        customer: customer.id,
        subscription: input.subscription ?? null,
        currency,
        billingReason: 'manual',
        periodStart: now,
        periodEnd: now,
        collectionMethod: input.collection_method ?? 'charge_automatically',
        daysUntilDue: input.days_until_due ?? null,
        dueDate,
        // Stripe: a manual invoice is finalised automatically about an hour later unless auto_advance is false.
        autoAdvance: input.automatically_finalizes_at !== undefined || (input.auto_advance ?? false),
        finalizeAt: finalizesAt(input, now) ?? (input.auto_advance ? finalizeAtFrom(now, deps?.config?.finalizeDelaySeconds) : null),
        effectiveAt: input.effective_at !== undefined ? fromUnix(input.effective_at) : null,
        discountsChosen: input.discounts !== undefined,
        defaultPaymentMethod,
        testClock: customer.test_clock,
        description: input.description ?? null,
        customFields: input.custom_fields,
        footer: input.footer,
        shippingDetails: normalizeShipping(input.shipping_details),
        automaticTax: input.automatic_tax?.enabled,
        metadata: mergeMetadata({}, input.metadata),
        lines: pendingLines(pending),
        discounts,
      },
    ],
    now,
    tax,
  );
  return built!.invoice;
}

/** When a draft whose automatic advance is on is finalized: `delaySeconds` (the configured RECUR_FINALIZE_DELAY_SECONDS, Stripe's hour) after `now`. */
export function finalizeAtFrom(now: Date, delaySeconds = 3600): Date {
  return addSeconds(now, delaySeconds);
}

/**
 * Stripe's due_date rules (InvoiceCreateParams / InvoiceUpdateParams): only for send_invoice invoices,
 * not together with days_until_due, and in the future. Returns the due date, or null when none is given.
 */
export function checkDueTerms(input: { days_until_due?: number; due_date?: number }, collectionMethod: 'charge_automatically' | 'send_invoice', now: Date): Date | null {
  if (input.due_date === undefined) return null;
  if (input.days_until_due !== undefined) {
    throw new InvalidRequestError('Pass either due_date or days_until_due, not both.', 'due_date', 'parameter_invalid');
  }
  if (collectionMethod !== 'send_invoice') {
    throw new InvalidRequestError('due_date can only be set when collection_method is send_invoice.', 'due_date', 'parameter_invalid');
  }
  if (input.due_date <= toUnix(now)) {
    throw new InvalidRequestError('due_date must be in the future.', 'due_date', 'parameter_invalid');
  }
  return fromUnix(input.due_date);
}

/** A line or invoice total past MAX_INVOICE_AMOUNT is a 400 (amount_too_large), not a RangeError (500) later. */
function assertInvoiceBound(amounts: readonly number[], message: string, param?: string): void {
  if (!withinInvoiceBound(amounts)) throw new InvalidRequestError(message, param, 'amount_too_large');
}

/**
 * Stripe's automatically_finalizes_at: a time in the future, at most five years ahead, at which a draft
 * finalizes (so auto_advance with it: `auto_advance: false` as well is a 400). Undefined when not given.
 */
export function finalizesAt(input: { automatically_finalizes_at?: number; auto_advance?: boolean }, now: Date): Date | undefined {
  if (input.automatically_finalizes_at === undefined) return undefined;
  const param = 'automatically_finalizes_at';
  if (input.auto_advance === false) throw new InvalidRequestError('automatically_finalizes_at finalizes the draft automatically: it cannot go with auto_advance false.', param, 'parameter_invalid');
  const at = fromUnix(input.automatically_finalizes_at);
  if (at <= now) throw new InvalidRequestError('automatically_finalizes_at must be in the future.', param, 'parameter_invalid');
  if (at > addDays(now, 5 * 366)) throw new InvalidRequestError('automatically_finalizes_at can be at most five years ahead.', param, 'parameter_invalid');
  return at;
}

/**
 * An invoice's default_payment_method must be the customer's (Stripe checks it at creation): an
 * unknown id is a 404 on the param, another customer's (or a detached) one a 400. A Stripe test id
 * (`pm_card_visa`) is attached to the customer, as everywhere else a payment method is named.
 */
export async function invoicePaymentMethod(q: Queryable, deps: PaymentDeps | undefined, id: string, customerId: string, now: Date): Promise<string> {
  const param = 'default_payment_method';
  if (deps && isTestPaymentMethod(id)) return (await resolvePaymentMethod(q, deps, id, customerId, now, { param })).id;
  const pm = await findPaymentMethod(q, id);
  if (!pm) throw noSuchPaymentMethod(id, param);
  if (pm.customer !== customerId || pm.detached_at) throw notAttachedToCustomer(id, param);
  return pm.id;
}

/**
 * Stripe's invoice `discounts`: coupons or promotion codes redeemed for this invoice alone (each its own
 * discount row), instead of the customer's discount, applied in the order given (each on what the ones
 * before it left: applyDiscounts); an empty list: no discount at all. A coupon appears once. `amount`
 * is what the invoice bills before discounts, for a promotion code's minimum.
 */
export async function invoiceDiscounts(
  q: Queryable,
  requested: { coupon?: string; promotion_code?: string }[],
  o: { invoiceId: string; customerId: string; currency: string; amount: number; now: Date },
): Promise<Discount[]> {
  const ids: string[] = [];
  const coupons = new Set<string>();
  for (const [i, req] of requested.entries()) {
    if ((req.coupon === undefined) === (req.promotion_code === undefined)) {
      throw new InvalidRequestError('Give one of coupon or promotion_code in a discount.', `discounts[${i}][coupon]`, req.coupon === undefined ? 'parameter_missing' : 'parameter_invalid');
    }
    const param = `discounts[${i}][${req.promotion_code !== undefined ? 'promotion_code' : 'coupon'}]`;
    const src = await resolveDiscountSource(q, { coupon: req.coupon, promotionCode: req.promotion_code, customerId: o.customerId, now: o.now, currency: o.currency, amount: o.amount, param });
    if (coupons.has(src.coupon.id)) throw new InvalidRequestError(`The coupon ${src.coupon.id} is already one of this invoice's discounts.`, param, 'parameter_invalid');
    coupons.add(src.coupon.id);
    ids.push((await redeem(q, { coupon: src.coupon, promotionCode: src.promotionCode, customerId: o.customerId, invoiceId: o.invoiceId, now: o.now, param })).id);
  }
  return discountsById(q, ids);
}

/**
 * A draft's discounts replaced (Stripe's invoice update `discounts`): the invoice's own discounts it had
 * are deleted, and the coupons or promotion codes given, if any, are redeemed for it.
 */
export async function replaceInvoiceDiscounts(q: Queryable, inv: InvoiceRow, requested: { coupon?: string; promotion_code?: string }[], now: Date): Promise<Discount[]> {
  await q.query(`UPDATE discounts SET deleted_at = $2 WHERE invoice = $1 AND deleted_at IS NULL`, [inv.id, now]);
  return invoiceDiscounts(q, requested, { invoiceId: inv.id, customerId: inv.customer, currency: inv.currency, amount: inv.subtotal, now });
}

/** Discounts by id, in the given order, whether or not they have ended since (a spent `once` one included). */
async function discountsById(q: Queryable, ids: string[]): Promise<Discount[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<DiscountTermsRow>(
    `SELECT d.id, d.start_at, c.id AS coupon_id, c.percent_off_bp, c.amount_off, c.currency, c.currency_options, c.duration, c.duration_in_months, c.applies_to_products
       FROM discounts d JOIN coupons c ON c.id = d.coupon WHERE d.id = ANY($1::text[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids
    .map((id) => byId.get(id))
    .filter((r): r is DiscountTermsRow => r !== undefined)
    .map(toDiscount);
}

/** The product each price bills, for `applies_to.products` coupons. */
async function productsOfPrices(q: Queryable, priceIds: string[]): Promise<Map<string, string>> {
  if (priceIds.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; product: string }>(`SELECT id, product FROM prices WHERE id = ANY($1::text[])`, [[...new Set(priceIds)]]);
  return new Map(rows.map((r) => [r.id, r.product]));
}

/**
 * Rebuilds a draft's lines and totals after an item was added to or removed from it, as its creation
 * built them: subscription lines keep their product (for `applies_to.products` coupons) and the
 * draft keeps the discounts it was built with (its own discount records), even a `once` discount its
 * creation spent. Only a draft built without lines, which therefore recorded no discount, and whose
 * discounts were not chosen for it (`discounts`, "" included, on create or update), takes the
 * discounts live for its period when its first lines arrive, and spends a `once` one then, as its
 * creation would have. `param` names the request parameter a too-large total is blamed on.
 *
 * An update of the draft's own terms (POST /v1/invoices/{id}) may also change its automatic tax (true:
 * determined afresh now; false: none) or replace its discounts; `record: false` leaves the
 * invoice.updated to that caller, which records the whole change once.
 */
export async function rebuildDraft(
  q: Queryable,
  invoiceId: string,
  now: Date,
  opts: { param?: string; automaticTax?: boolean; taxConfig?: TaxConfig; discounts?: Discount[]; record?: boolean } = {},
): Promise<InvoiceRow> {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status !== 'draft') throw new InvalidRequestError('Only a draft invoice can change.', 'invoice', 'invoice_not_editable');
  const lines = (await linesOf(q, [inv.id])).get(inv.id)!;
  const { rows: items } = await q.query<PendingItemRow>(`SELECT * FROM invoice_items WHERE invoice = $1 AND deleted_at IS NULL ORDER BY id`, [inv.id]);
  const subscriptionLines = lines.filter((l) => l.type === 'subscription');
  const productOf = await productsOfPrices(
    q,
    subscriptionLines.map((l) => l.price).filter((p): p is string => !!p),
  );
  const keep: LineDraft[] = subscriptionLines.map((l) => ({
    type: 'subscription',
    subscription: l.subscription,
    subscriptionItem: l.subscription_item,
    invoiceItem: null,
    price: l.price,
    productId: l.price ? (productOf.get(l.price) ?? null) : null,
    description: l.description ?? '',
    quantity: l.quantity,
    unitAmount: l.unit_amount,
    amount: l.amount,
    currency: l.currency,
    periodStart: new Date(l.period_start),
    periodEnd: new Date(l.period_end),
    proration: l.proration,
    discountable: l.discountable,
  }));
  const newLines = [...keep, ...pendingLines(items)];
  assertInvoiceBound(
    newLines.map((l) => l.amount),
    `The invoice's lines would add up to more than ${MAX_INVOICE_AMOUNT} minor units, the most one invoice can bill.`,
    opts.param ?? 'invoice',
  );
  const recorded = inv.discounts.map((d) => d.discount);
  let discounts: Discount[];
  let live = false;
  if (opts.discounts) discounts = opts.discounts;
  else if (recorded.length > 0) discounts = await discountsById(q, recorded);
  else if (lines.length === 0 && !inv.discounts_chosen) {
    const pseudo = { id: inv.subscription ?? `manual:${inv.customer}`, customer: inv.customer, currency: inv.currency };
    discounts = (await discountsFor(q, [pseudo], new Map([[pseudo.id, new Date(inv.period_start)]]))).get(pseudo.id)!;
    live = true;
  } else discounts = [];
  const draft: InvoiceDraft = {
    id: inv.id,
    customer: inv.customer,
    subscription: inv.subscription,
    currency: inv.currency,
    billingReason: inv.billing_reason,
    periodStart: new Date(inv.period_start),
    periodEnd: new Date(inv.period_end),
    collectionMethod: inv.collection_method,
    daysUntilDue: null,
    autoAdvance: inv.auto_advance,
    finalizeAt: inv.finalize_at,
    defaultPaymentMethod: inv.default_payment_method,
    testClock: inv.test_clock,
    lines: newLines,
    discounts,
  };
  const prices = () => loadPriceBehaviors(q, newLines.map((l) => l.price).filter((p): p is string => !!p));
  // Tax as determined when the draft was created, on the lines as they are now; or, asked for, none or determined now.
  const tax =
    opts.automaticTax === false
      ? null
      : opts.automaticTax === true
        ? ((await applyTax(q, opts.taxConfig, [draft], now))[0]!.tax ?? null)
        : inv.tax_context
          ? { context: inv.tax_context, priceBehaviors: await prices() }
          : null;
  const built = buildInvoice({ ...draft, tax }, new Date(inv.created));
  // A draft left without lines keeps its discounts (at 0) for the lines that come next.
  const kept = opts.discounts ? opts.discounts.map((d) => d.id) : inv.discounts.map((d) => d.discount);
  const discountRecords = built.invoice.discounts.length > 0 || live ? built.invoice.discounts : kept.map((id) => ({ discount: id, amount: 0 }));
  if (live && built.invoice.discounts.length > 0) {
    // As persistInvoices does at creation: a `once` discount is spent by the first invoice it reduces.
    await spendOnceDiscounts(
      q,
      built.invoice.discounts.map((d) => d.discount),
      now,
    );
  }
  // A line keeps its id across rebuilds (Stripe's draft line ids are stable: an integration edits a
  // line by the id it read): an item's line by its invoice item, the subscription's lines in order.
  const oldByItem = new Map(lines.filter((l) => l.invoice_item !== null).map((l) => [l.invoice_item!, l.id]));
  built.lines.forEach((l, k) => {
    const old = l.invoice_item !== null ? oldByItem.get(l.invoice_item) : l.type === 'subscription' ? subscriptionLines[k]?.id : undefined;
    if (old) l.id = old;
  });
  await q.query(`DELETE FROM invoice_lines WHERE invoice = $1`, [inv.id]);
  await insertLines(q, built.lines);
  const after = await updateInvoiceRow(q, inv.id, {
    subtotal: built.invoice.subtotal,
    total_discount: built.invoice.total_discount,
    total_tax: built.invoice.total_tax,
    total_tax_amounts: built.invoice.total_tax_amounts,
    total: built.invoice.total,
    amount_due: built.invoice.amount_due,
    amount_remaining: built.invoice.amount_remaining,
    discounts: discountRecords,
    ...(opts.discounts ? { discounts_chosen: true } : {}),
    ...(opts.automaticTax !== undefined ? { tax_context: built.invoice.tax_context } : {}),
    updated: now,
  });
  if (opts.record !== false) await recordInvoiceUpdated(q, inv, after, now);
  return after;
}

/**
 * invoice.updated, with Stripe's previous_attributes (the top-level fields that changed; the lines
 * are read as they are now, so they never count), when anything shown changed.
 */
export async function recordInvoiceUpdated(q: Queryable, before: InvoiceRow, after: InvoiceRow, now: Date): Promise<void> {
  // Both sides from the same (current) lines, so fields derived from lines compare like for like.
  const lines = (await linesOf(q, [after.id])).get(after.id) ?? [];
  const opts = { customer: (await draftCustomers(q, [after])).get(after.customer), paymentIntent: (await latestPaymentIntents(q, [after.id])).get(after.id) };
  const object = serializeInvoice(after, lines, opts);
  const previous = previousAttributes(serializeInvoice(before, lines, opts), object as unknown as Record<string, unknown>);
  if (Object.keys(previous).length === 0) return;
  await recordEvents(q, now, [{ type: 'invoice.updated', object, previousAttributes: previous, customerId: after.customer }]);
}

export async function deleteDraft(q: Queryable, invoiceId: string, now: Date) {
  const inv = await getInvoiceRow(q, invoiceId, true);
  if (inv.status !== 'draft') throw new InvalidRequestError('Only a draft invoice can be deleted; void a finalized one.', 'id', 'invoice_not_editable');
  // Deleting a subscription's draft would leave its period unbilled (Stripe refuses too): finalize and void it instead.
  if (inv.subscription) throw new InvalidRequestError("A subscription's invoice cannot be deleted; finalize and void it instead.", 'id', 'invoice_not_deletable');
  // The event shows the invoice as it was, lines included.
  const object = await invoiceObject(q, inv);
  // Its items go back to pending, as in Stripe.
  await q.query(`UPDATE invoice_items SET invoice = NULL WHERE invoice = $1`, [inv.id]);
  await q.query(`DELETE FROM invoice_lines WHERE invoice = $1`, [inv.id]);
  await q.query(`UPDATE subscriptions SET latest_invoice = NULL WHERE latest_invoice = $1`, [inv.id]);
  await q.query(`DELETE FROM invoices WHERE id = $1`, [inv.id]);
  await recordEvents(q, now, [{ type: 'invoice.deleted', object, customerId: inv.customer }]);
  return { id: inv.id, object: 'invoice' as const, deleted: true as const };
}

export type { LineRow };
