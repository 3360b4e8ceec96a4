// Stripe's two-step payment intent: created without `confirm` (Stripe's default) it waits, as
// `requires_payment_method` or, with a payment method, `requires_confirmation`; it can be updated
// (amount, currency, payment method, description, metadata), confirmed — the charge, with the fraud
// rules and routing of any other payment — or canceled. A confirmation that fails leaves it
// `requires_payment_method` with `last_payment_error`, and it can be confirmed again, with this or
// another payment method. Each confirmation is a new charge attempt under its own gateway key
// (`{id}:confirm:{n}`, n counted in the row), so a retry of the same attempt after a crash can never
// charge twice, and the row lock makes two confirmations racing charge once.
//
// Payment intents made by invoices stay the invoice's: they are paid, retried and voided through the
// invoice (POST /v1/invoices/{id}/pay), as Stripe refuses to cancel one directly.
import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { IdempotencyError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { recordEvent } from '../events/service.js';
import { findCustomer } from '../customers/repository.js';
import { mergeMetadata } from '../customers/service.js';
import { assessPayment, PAYMENT_BLOCKED } from './fraud.js';
import type { ChargeOutcome } from './gateway.js';
import { notAttachedToCustomer } from './errors.js';
import { findPaymentIntentByKey, findPaymentMethod, insertPaymentIntentOnce, updatePaymentIntentRow, type PaymentIntentRow, type PaymentMethodRow } from './repository.js';
import { charge, fraudSettings, resolvePaymentMethodRow, serializePaymentIntent, serializePaymentMethod, type PaymentAttempt, type PaymentDeps } from './service.js';
import type { CancellationReason, PaymentIntentObject } from './schemas.js';

const OPEN_STATUSES = new Set(['requires_payment_method', 'requires_confirmation']);

function unexpectedState(row: PaymentIntentRow, action: string): InvalidRequestError {
  return new InvalidRequestError(`You cannot ${action} this PaymentIntent because it has a status of ${row.status}.`, undefined, 'payment_intent_unexpected_state');
}

function invoiceOwned(row: PaymentIntentRow, action: string): InvalidRequestError {
  return new InvalidRequestError(
    `You cannot ${action} this PaymentIntent because it was created by the invoice ${row.invoice}: pay the invoice (POST /v1/invoices/${row.invoice}/pay) instead.`,
    undefined,
    'payment_intent_unexpected_state',
  );
}

/** The payment intent, locked for this transaction; 404 if there is none. */
async function lockIntent(q: Queryable, id: string): Promise<PaymentIntentRow> {
  const { rows } = await q.query<PaymentIntentRow>(`SELECT * FROM payment_intents WHERE id = $1 FOR UPDATE`, [id]);
  if (!rows[0]) throw new NotFoundError('payment_intent', id);
  return rows[0];
}

export interface UnconfirmedInput {
  customer: string;
  amount: number;
  currency: string;
  paymentMethod?: string;
  description?: string | null;
  metadata?: Record<string, string>;
  /** The creation's key: a retried request finds the intent it made. */
  idempotencyKey: string;
  now: Date;
}

/** POST /v1/payment_intents without confirm: the intent waits for its payment method and confirmation. */
export async function createUnconfirmed(q: Queryable, deps: PaymentDeps, input: UnconfirmedInput): Promise<PaymentIntentObject> {
  const currency = input.currency.toLowerCase();
  const existing = await findPaymentIntentByKey(q, input.idempotencyKey);
  if (existing) {
    if (existing.customer !== input.customer || existing.amount !== input.amount || existing.currency !== currency) {
      throw new IdempotencyError(`The idempotency key was used for a different payment (${existing.id}).`);
    }
    return serializePaymentIntent(existing);
  }
  const customer = await findCustomer(q, input.customer);
  if (!customer) throw new NotFoundError('customer', input.customer, 'customer');
  const pm = input.paymentMethod ? await resolvePaymentMethodRow(q, deps, input.paymentMethod, input.customer, input.now, 'payment_method') : null;
  const row = await insertPaymentIntentOnce(q, {
    id: newId('pi'),
    customer: input.customer,
    invoice: null,
    amount: input.amount,
    amount_received: 0,
    currency,
    status: pm ? 'requires_confirmation' : 'requires_payment_method',
    payment_method: pm?.id ?? null,
    gateway: null,
    gateway_ref: null,
    idempotency_key: input.idempotencyKey,
    last_payment_error: null,
    failure_class: null,
    description: input.description ?? null,
    metadata: mergeMetadata({}, input.metadata),
    test_clock: null,
    created: input.now,
    updated: input.now,
  });
  // Another request with the same key committed first: answer with its intent.
  if (!row) return serializePaymentIntent((await findPaymentIntentByKey(q, input.idempotencyKey))!);
  const obj = serializePaymentIntent(row);
  await recordEvent(q, input.now, { type: 'payment_intent.created', object: obj, customerId: row.customer });
  return obj;
}

export interface IntentUpdate {
  amount?: number;
  currency?: string;
  /** "" takes the payment method off. */
  payment_method?: string;
  description?: string | null;
  metadata?: Record<string, string>;
}

/** POST /v1/payment_intents/{id}: only while it waits (no event: Stripe writes none for an update). */
export async function updateIntent(q: Queryable, deps: PaymentDeps, id: string, input: IntentUpdate, now: Date): Promise<PaymentIntentObject> {
  const row = await lockIntent(q, id);
  if (row.invoice) throw invoiceOwned(row, 'update');
  if (!OPEN_STATUSES.has(row.status)) throw unexpectedState(row, 'update');
  const patch: Partial<PaymentIntentRow> = { updated: now };
  if (input.amount !== undefined) patch.amount = input.amount;
  if (input.currency !== undefined) patch.currency = input.currency.toLowerCase();
  if (input.description !== undefined) patch.description = input.description;
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(row.metadata, input.metadata);
  if (input.payment_method !== undefined) {
    const pm = input.payment_method === '' ? null : await resolvePaymentMethodRow(q, deps, input.payment_method, row.customer!, now, 'payment_method');
    patch.payment_method = pm?.id ?? null;
    patch.status = pm ? 'requires_confirmation' : 'requires_payment_method';
  }
  return serializePaymentIntent(await updatePaymentIntentRow(q, id, patch));
}

export interface ConfirmInput {
  payment_method?: string;
  /** The customer's IP for an on-session confirmation (fraud velocity rules); null off-session. */
  ip: string | null;
}

/** POST /v1/payment_intents/{id}/confirm: the charge. */
export async function confirmIntent(q: Queryable, deps: PaymentDeps, id: string, input: ConfirmInput, now: Date): Promise<PaymentAttempt> {
  const row = await lockIntent(q, id);
  if (row.invoice) throw invoiceOwned(row, 'confirm');
  const customer = await findCustomer(q, row.customer!);
  const countryOf = (pm: PaymentMethodRow) => (customer?.address?.country as string | null | undefined) ?? pm.billing_details.address.country ?? null;
  if (row.status === 'processing' && row.failure_class === 'gateway_fault' && row.payment_method && !input.payment_method) {
    // The gateway did not answer the last confirmation: it is asked again under the same key, which
    // never charges twice (as a retried payment of an invoice is).
    const pm = await findPaymentMethod(q, row.payment_method);
    if (pm) return charge(q, deps, row, pm, now, { customerCountry: countryOf(pm), previousRef: row.gateway_ref });
  }
  if (!OPEN_STATUSES.has(row.status)) throw unexpectedState(row, 'confirm');
  const pm = input.payment_method
    ? await resolvePaymentMethodRow(q, deps, input.payment_method, row.customer!, now, 'payment_method')
    : row.payment_method
      ? await findPaymentMethod(q, row.payment_method)
      : null;
  if (!pm) {
    throw new InvalidRequestError("You cannot confirm this PaymentIntent because it's missing a payment method. Update it with a payment_method, or pass one to confirm.", 'payment_method', 'parameter_missing');
  }
  // A payment method detached since it was set can no longer be charged for this customer.
  if (pm.customer !== row.customer || pm.detached_at) throw notAttachedToCustomer(pm.id, 'payment_method');
  const confirmations = (row.confirmations ?? 0) + 1;
  const billingCountry = pm.billing_details.address.country ?? (customer?.address?.country as string | null | undefined) ?? null;
  const risk = await assessPayment(q, fraudSettings(deps), { customer: row.customer!, paymentMethod: pm, amount: row.amount, ip: input.ip, billingCountry, now });
  const attempt: Partial<PaymentIntentRow> = {
    payment_method: pm.id,
    gateway: pm.gateway,
    idempotency_key: `${row.id}:confirm:${confirmations}`,
    confirmations,
    client_ip: input.ip,
    risk_score: risk.score,
    risk_rule: risk.rule,
    risk_outcome: risk.outcome,
    updated: now,
  };
  if (risk.outcome === 'block') {
    const outcome: ChargeOutcome = { status: 'failed', failureClass: 'fraud', code: PAYMENT_BLOCKED, message: risk.reason ?? 'This payment was blocked by a fraud rule.' };
    const failed = await updatePaymentIntentRow(q, row.id, {
      ...attempt,
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: PAYMENT_BLOCKED, message: outcome.message, payment_method: serializePaymentMethod(pm) },
      failure_class: 'fraud',
    });
    const obj = serializePaymentIntent(failed);
    await recordEvent(q, now, { type: 'payment_intent.payment_failed', object: obj, customerId: failed.customer });
    return { paymentIntent: obj, outcome, replayed: false };
  }
  const processing = await updatePaymentIntentRow(q, row.id, { ...attempt, status: 'processing' });
  return charge(q, deps, processing, pm, now, { customerCountry: countryOf(pm) });
}

/** POST /v1/payment_intents/{id}/cancel: only while it waits for its payment method or confirmation. */
export async function cancelIntent(q: Queryable, id: string, reason: CancellationReason | undefined, now: Date): Promise<PaymentIntentObject> {
  const row = await lockIntent(q, id);
  if (row.invoice) throw invoiceOwned(row, 'cancel');
  if (!OPEN_STATUSES.has(row.status)) throw unexpectedState(row, 'cancel');
  const canceled = await updatePaymentIntentRow(q, id, { status: 'canceled', canceled_at: now, cancellation_reason: reason ?? null, updated: now });
  const obj = serializePaymentIntent(canceled);
  await recordEvent(q, now, { type: 'payment_intent.canceled', object: obj, customerId: canceled.customer });
  return obj;
}
