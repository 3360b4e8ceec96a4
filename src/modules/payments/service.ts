import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { AppError, ConflictError, IdempotencyError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import type { AppDeps } from '../../deps.js';
import type { Config } from '../../config.js';
import { decodeStoredRef, decodeVaultToken, encodeChargeRef, encodeTriedRef, publicChargeRef } from './codec.js';
import { parseStripeToken } from './stripe-gateway.js';
import type { FraudSettings } from './config.js';
import { riskLevel } from './domain/fraud-rules.js';
import { assessPayment, DEFAULT_FRAUD, PAYMENT_BLOCKED } from './fraud.js';
import type { ListParams } from '../../http/pagination.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import { findCustomer, updateCustomerRow } from '../customers/repository.js';
import { customerNow, customerObjects, getCustomerRow, mergeMetadata } from '../customers/service.js';
import type { ChargeOutcome } from './gateway.js';
import { DETACHED_MESSAGE, noSuchPaymentMethod, notAttachedToCustomer, paymentMethodState } from './errors.js';
import {
  findPaymentIntent,
  findPaymentIntentByKey,
  findPaymentMethod,
  findSucceededIntentForInvoice,
  insertPaymentIntentOnce,
  insertPaymentMethod,
  insertPaymentMethodRefs,
  listPaymentIntentRows,
  listPaymentMethodRows,
  lockInvoice,
  updatePaymentIntentRow,
  updatePaymentMethodRow,
  type BillingDetails,
  type PaymentIntentRow,
  type PaymentMethodRow,
} from './repository.js';
import type {
  BillingDetailsInput,
  CreatePaymentMethodInput,
  LastPaymentError,
  PaymentIntentObject,
  PaymentIntentStatus,
  PaymentMethodObject,
  UpdatePaymentMethodInput,
} from './schemas.js';
import { CardError, TEST_CARD_TOKENS, TEST_PAYMENT_METHODS } from './simulated-gateway.js';

/** What the payments service needs from the app: the gateways (a test builds its own). */
export type PaymentDeps = Pick<AppDeps, 'gateways'> & { config?: Pick<Config, 'payments'> };

// ---------------------------------------------------------------------------------------------
// Payment methods
// ---------------------------------------------------------------------------------------------

export function serializePaymentMethod(r: PaymentMethodRow): PaymentMethodObject {
  const a = r.billing_details.address;
  return {
    id: r.id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: {
      address: { city: a.city, country: a.country, line1: a.line1, line2: a.line2, postal_code: a.postal_code, state: a.state },
      email: r.billing_details.email,
      name: r.billing_details.name,
      phone: r.billing_details.phone,
      tax_id: null,
    },
    card: {
      brand: r.card.brand,
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: r.card.cvc_check },
      country: r.card.country,
      display_brand: r.card.brand,
      exp_month: r.card.exp_month,
      exp_year: r.card.exp_year,
      fingerprint: r.card.fingerprint,
      funding: r.card.funding,
      generated_from: null,
      last4: r.card.last4,
      networks: { available: [r.card.brand], preferred: null },
      three_d_secure_usage: { supported: true },
      wallet: null,
    },
    created: toUnix(new Date(r.created)),
    customer: r.customer,
    livemode: false,
    metadata: r.metadata,
    type: 'card',
  };
}

const NO_ADDRESS: BillingDetails['address'] = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };
const NO_BILLING_DETAILS: BillingDetails = { address: NO_ADDRESS, email: null, name: null, phone: null };

/** Stripe's billing_details update: the fields given replace theirs, the others stay. */
function mergeBillingDetails(base: BillingDetails, input: BillingDetailsInput | undefined): BillingDetails {
  if (!input) return base;
  const address = { ...base.address };
  for (const [k, v] of Object.entries(input.address ?? {})) if (v !== undefined) address[k as keyof typeof address] = v;
  return {
    address,
    email: input.email !== undefined ? input.email : base.email,
    name: input.name !== undefined ? input.name : base.name,
    phone: input.phone !== undefined ? input.phone : base.phone,
  };
}

/**
 * How far ahead a card's expiry year may be: Recur's documented bound is the current UTC year + 50;
 * a later year is a 402 card_error `invalid_expiry_year` on `card[exp_year]`, on create and on update.
 * Stripe refuses expiry years too far in the future with that same error (about 50 years ahead; its
 * reference gives no exact figure), and cards are issued for far less (typically 3–5 years, at most
 * about 20). The bound also keeps every stored expiry a four-digit year, which the card-expiry notices
 * and the dates computed from an expiry rely on.
 */
export const MAX_CARD_EXPIRY_YEARS_AHEAD = 50;

/** Expiry years below 100 are two-digit spellings of 20xx (Stripe accepts both). */
const fullExpiryYear = (year: number) => (year < 100 ? 2000 + year : year);

function assertExpiryYearNotTooFar(expYear: number, now: Date): void {
  if (expYear > now.getUTCFullYear() + MAX_CARD_EXPIRY_YEARS_AHEAD) {
    throw new CardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'card[exp_year]');
  }
}

export function isTestPaymentMethod(id: string): boolean {
  return Object.hasOwn(TEST_PAYMENT_METHODS, id);
}

/**
 * Tokenises a card with the default gateway and stores what comes back. The number and CVC are
 * handed to the gateway and dropped: they are in no row, event or log line.
 */
async function tokenizeAndInsert(
  q: Queryable,
  deps: PaymentDeps,
  now: Date,
  card: { number: string; exp_month: number; exp_year: number; cvc?: string },
  extra: { customer: string | null; billing_details?: BillingDetailsInput; metadata?: Record<string, string> },
): Promise<PaymentMethodRow> {
  // Before the gateway sees the card: whatever the gateway, no far-future expiry is stored.
  assertExpiryYearNotTooFar(fullExpiryYear(card.exp_year), now);
  const gateway = deps.gateways.default;
  // Gateways that keep customers (Stripe) file the card under who it is for, when known.
  const owner = extra.customer ? await findCustomer(q, extra.customer) : null;
  const tok = await gateway.tokenizeCard({
    number: card.number,
    exp_month: card.exp_month,
    exp_year: card.exp_year,
    cvc: card.cvc,
    ...(owner ? { customer: { id: owner.id, email: owner.email, name: owner.name } } : {}),
  });
  const row = await insertPaymentMethod(q, {
    id: newId('pm'),
    customer: extra.customer,
    type: 'card',
    card: {
      brand: tok.brand,
      last4: tok.last4,
      exp_month: tok.exp_month,
      exp_year: tok.exp_year,
      country: tok.country,
      fingerprint: tok.fingerprint,
      funding: tok.funding,
      // The gateway's CVC check when a CVC was given (Stripe's 4000000000000101 fails it); null without one.
      cvc_check: card.cvc !== undefined ? (tok.cvc_check ?? 'pass') : null,
    },
    billing_details: mergeBillingDetails(NO_BILLING_DETAILS, extra.billing_details),
    gateway: gateway.name,
    gateway_token: tok.token,
    metadata: mergeMetadata({}, extra.metadata),
    created: now,
    detached_at: null,
  });
  await insertPaymentMethodRefs(q, row.id, gatewayRefsOfToken(gateway.name, tok.token));
  return row;
}

/** The ids a card is known by at each gateway (Stripe customer + PaymentMethod, PayPal vault token). */
export function gatewayRefsOfToken(gateway: string, token: string): { gateway: string; ref: string }[] {
  const vault = decodeVaultToken(token);
  const entries = vault ? Object.entries(vault.tokens) : [[gateway, token] as const];
  return entries.flatMap(([g, t]) => {
    const stripe = g === 'stripe' ? parseStripeToken(t) : null;
    return stripe ? [{ gateway: g, ref: stripe.customer }, { gateway: g, ref: stripe.paymentMethod }] : [{ gateway: g, ref: t }];
  });
}

/**
 * Saves a card that a gateway's own element created in the customer's browser (Stripe.js gives a
 * `pm_…` id; no card number ever reaches Recur), attached to the customer and set up at the gateway
 * for off-session charges. For the hosted card page.
 */
export async function importGatewayPaymentMethod(
  q: Queryable,
  deps: PaymentDeps,
  now: Date,
  input: { customer: string; gateway: string; paymentMethod: string; billing_details?: BillingDetailsInput },
): Promise<PaymentMethodObject> {
  const owner = await getCustomerRow(q, input.customer, { param: 'customer' });
  let gw;
  try {
    gw = deps.gateways.get(input.gateway);
  } catch {
    throw new InvalidRequestError(`The gateway '${input.gateway}' is not configured.`, 'gateway');
  }
  if (!gw.importPaymentMethod) throw new InvalidRequestError(`The gateway '${input.gateway}' cannot import payment methods.`, 'gateway');
  const tok = await gw.importPaymentMethod(input.paymentMethod, { id: owner.id, email: owner.email, name: owner.name });
  const row = await insertPaymentMethod(q, {
    id: newId('pm'),
    customer: owner.id,
    type: 'card',
    card: { brand: tok.brand, last4: tok.last4, exp_month: tok.exp_month, exp_year: tok.exp_year, country: tok.country, fingerprint: tok.fingerprint, funding: tok.funding, cvc_check: null },
    billing_details: mergeBillingDetails(NO_BILLING_DETAILS, input.billing_details),
    gateway: gw.name,
    gateway_token: tok.token,
    metadata: {},
    created: now,
    detached_at: null,
  });
  await insertPaymentMethodRefs(q, row.id, gatewayRefsOfToken(gw.name, tok.token));
  const obj = serializePaymentMethod(row);
  await recordEvent(q, now, { type: 'payment_method.attached', object: obj, customerId: owner.id });
  return obj;
}

/** A test card (by its number) as Stripe's test ids and tokens give it: expiring a year from now. */
const testCard = (number: string, now: Date) => ({ number, exp_month: now.getUTCMonth() + 1, exp_year: now.getUTCFullYear() + 1 });

/** The card of `card[...]`: its details, or the test card a `card[token]` (`tok_visa`, …) stands for. */
function cardOfInput(card: CreatePaymentMethodInput['card'], now: Date): { number: string; exp_month: number; exp_year: number; cvc?: string } {
  if (card.token !== undefined) {
    if (!Object.hasOwn(TEST_CARD_TOKENS, card.token)) throw new InvalidRequestError(`No such token: '${card.token}'`, 'card[token]', 'resource_missing');
    return testCard(TEST_CARD_TOKENS[card.token]!, now);
  }
  // The schema requires number, exp_month and exp_year without a token.
  return { number: card.number!, exp_month: card.exp_month!, exp_year: card.exp_year!, ...(card.cvc !== undefined ? { cvc: card.cvc } : {}) };
}

export async function createPaymentMethod(q: Queryable, deps: PaymentDeps, now: Date, input: CreatePaymentMethodInput): Promise<PaymentMethodObject> {
  // Stripe writes no event for a bare payment method: it is not anyone's until attached.
  const row = await tokenizeAndInsert(q, deps, now, cardOfInput(input.card, now), { customer: null, billing_details: input.billing_details, metadata: input.metadata });
  return serializePaymentMethod(row);
}

/**
 * Stripe's test ids (`pm_card_visa`, …) name a card, not a stored payment method: using one creates a
 * new payment method from that card (expiring a year from now, as Stripe's do) attached to the customer.
 */
async function createFromTestToken(q: Queryable, deps: PaymentDeps, now: Date, token: string, customerId: string): Promise<PaymentMethodRow> {
  const row = await tokenizeAndInsert(q, deps, now, testCard(TEST_PAYMENT_METHODS[token]!, now), { customer: customerId });
  await recordEvent(q, now, { type: 'payment_method.attached', object: serializePaymentMethod(row), customerId });
  return row;
}

/**
 * A payment method named for a setup intent: a Stripe test id (`pm_card_visa`) makes a new card, not
 * yet attached (the confirmation attaches it); any other id must exist, not be detached, and belong to
 * no customer or to `customerId` (400 on `param` otherwise).
 */
export async function setupPaymentMethod(q: Queryable, deps: PaymentDeps, now: Date, idOrTestToken: string, customerId: string | null, param: string): Promise<PaymentMethodRow> {
  if (isTestPaymentMethod(idOrTestToken)) return tokenizeAndInsert(q, deps, now, testCard(TEST_PAYMENT_METHODS[idOrTestToken]!, now), { customer: null });
  const pm = await findPaymentMethod(q, idOrTestToken);
  if (!pm) throw noSuchPaymentMethod(idOrTestToken, param);
  if (pm.detached_at) throw paymentMethodState(DETACHED_MESSAGE, param);
  if (pm.customer !== null && pm.customer !== customerId) throw notAttachedToCustomer(idOrTestToken, param);
  return pm;
}

async function getPaymentMethodRow(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<PaymentMethodRow> {
  const row = await findPaymentMethod(q, id, opts);
  if (!row) throw new NotFoundError('PaymentMethod', id);
  return row;
}

export async function retrievePaymentMethod(q: Queryable, id: string): Promise<PaymentMethodObject> {
  return serializePaymentMethod(await getPaymentMethodRow(q, id));
}

/** Cards may change expiry (a reissued card), billing details and metadata; never the number. */
export async function updatePaymentMethod(q: Queryable, now: Date, id: string, input: UpdatePaymentMethodInput): Promise<PaymentMethodObject> {
  const before = await getPaymentMethodRow(q, id, { forUpdate: true });
  if (before.customer === null) throw paymentMethodState('You must save this PaymentMethod to a customer before you can update it.');
  const patch: Partial<PaymentMethodRow> = {};
  if (input.card && (input.card.exp_month !== undefined || input.card.exp_year !== undefined)) {
    const expMonth = input.card.exp_month ?? before.card.exp_month;
    const expYear = fullExpiryYear(input.card.exp_year ?? before.card.exp_year);
    if (expMonth < 1 || expMonth > 12) throw new CardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'card[exp_month]');
    if (expYear < now.getUTCFullYear() || (expYear === now.getUTCFullYear() && expMonth < now.getUTCMonth() + 1)) {
      throw new CardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'card[exp_year]');
    }
    assertExpiryYearNotTooFar(expYear, now);
    patch.card = { ...before.card, exp_month: expMonth, exp_year: expYear };
  }
  if (input.billing_details !== undefined) patch.billing_details = mergeBillingDetails(before.billing_details, input.billing_details);
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  if (Object.keys(patch).length === 0) return serializePaymentMethod(before);
  const after = await updatePaymentMethodRow(q, id, patch);
  const obj = serializePaymentMethod(after);
  const prev = previousAttributes(serializePaymentMethod(before), obj);
  if (Object.keys(prev).length > 0) {
    await recordEvent(q, now, { type: 'payment_method.updated', object: obj, previousAttributes: prev, customerId: after.customer });
  }
  return obj;
}

/**
 * Attaches a payment method (or a new one from a Stripe test id such as `pm_card_visa`) to a customer.
 * `opts.param` names the parameter that gave the payment method (customers.create's
 * `payment_method`); without it the id came in the URL.
 */
export async function attachPaymentMethod(
  q: Queryable,
  deps: PaymentDeps,
  requestNow: Date,
  idOrTestToken: string,
  customerId: string,
  opts: { param?: string } = {},
): Promise<PaymentMethodObject> {
  await getCustomerRow(q, customerId, { param: 'customer' });
  const now = await customerNow(q, customerId, requestNow);
  if (isTestPaymentMethod(idOrTestToken)) return serializePaymentMethod(await createFromTestToken(q, deps, now, idOrTestToken, customerId));
  const pm = opts.param ? await findPaymentMethod(q, idOrTestToken, { forUpdate: true }) : await getPaymentMethodRow(q, idOrTestToken, { forUpdate: true });
  if (!pm) throw noSuchPaymentMethod(idOrTestToken, opts.param!);
  if (pm.detached_at) throw paymentMethodState(DETACHED_MESSAGE, opts.param);
  if (pm.customer === customerId) return serializePaymentMethod(pm);
  if (pm.customer !== null) throw paymentMethodState('The payment method you provided has already been attached to a customer.', opts.param);
  const after = await updatePaymentMethodRow(q, pm.id, { customer: customerId });
  const obj = serializePaymentMethod(after);
  await recordEvent(q, now, { type: 'payment_method.attached', object: obj, customerId });
  await syncGatewayCustomer(q, deps, after);
  return obj;
}

/**
 * Tells the card's gateways who it belongs to now (Stripe: the name and email of the Stripe customer
 * holding it). Best effort: the card charges the same without it, so a gateway error does not undo
 * the attach.
 */
async function syncGatewayCustomer(q: Queryable, deps: PaymentDeps, pm: PaymentMethodRow): Promise<void> {
  if (!pm.customer) return;
  const gw = deps.gateways.get(pm.gateway);
  if (!gw.syncCustomer) return;
  const c = await findCustomer(q, pm.customer);
  if (!c) return;
  try {
    await gw.syncCustomer(pm.gateway_token, { id: c.id, email: c.email, name: c.name });
  } catch {
    /* best effort (see above) */
  }
}

/**
 * Detaching is final (Stripe: a detached payment method cannot be used again). If it was the
 * customer's default for invoices, that default is cleared, as Stripe does, with a customer.updated.
 */
export async function detachPaymentMethod(q: Queryable, requestNow: Date, id: string): Promise<PaymentMethodObject> {
  const pm = await getPaymentMethodRow(q, id, { forUpdate: true });
  if (pm.customer === null) throw paymentMethodState(`The payment method ${id} is not attached to a customer.`);
  const customerId = pm.customer;
  const now = await customerNow(q, customerId, requestNow);
  const after = await updatePaymentMethodRow(q, id, { customer: null, detached_at: now });
  const obj = serializePaymentMethod(after);
  await recordEvent(q, now, { type: 'payment_method.detached', object: obj, previousAttributes: { customer: customerId }, customerId });

  const customer = await findCustomer(q, customerId, { forUpdate: true });
  if (customer && customer.invoice_settings.default_payment_method === id) {
    const updated = await updateCustomerRow(q, customerId, { invoice_settings: { ...customer.invoice_settings, default_payment_method: null }, updated: now });
    const [beforeObj, custObj] = await customerObjects(q, [customer, updated], now);
    await recordEvent(q, now, {
      type: 'customer.updated',
      object: custObj!,
      previousAttributes: previousAttributes(beforeObj!, custObj!),
      customerId,
    });
  }
  return obj;
}

/**
 * A deleted customer's cards are all detached (Stripe: "Deleting customers removes all credit card
 * details"), each with its payment_method.detached, so nothing can charge them again.
 */
export async function detachCustomerPaymentMethods(q: Queryable, now: Date, customerId: string): Promise<number> {
  const { rows } = await q.query<{ id: string }>(`SELECT id FROM payment_methods WHERE customer = $1 AND detached_at IS NULL ORDER BY id`, [customerId]);
  for (const { id } of rows) await detachPaymentMethod(q, now, id);
  return rows.length;
}

export async function listPaymentMethods(q: Queryable, filter: { customer?: string; allowRedisplay?: string }, list: ListParams) {
  if (filter.customer !== undefined) await getCustomerRow(q, filter.customer, { param: 'customer' });
  const { rows, hasMore } = await listPaymentMethodRows(q, filter, list);
  return { data: rows.map(serializePaymentMethod), hasMore };
}

/** The customer's own payment method, or 404 (Stripe's GET /v1/customers/{c}/payment_methods/{pm}). */
export async function retrieveCustomerPaymentMethod(q: Queryable, customerId: string, id: string): Promise<PaymentMethodObject> {
  await getCustomerRow(q, customerId);
  const pm = await findPaymentMethod(q, id);
  if (!pm || pm.customer !== customerId) throw new NotFoundError('PaymentMethod', id);
  return serializePaymentMethod(pm);
}

export async function resolvePaymentMethodRow(
  q: Queryable,
  deps: PaymentDeps,
  idOrTestToken: string,
  customerId: string,
  now: Date,
  param: string,
): Promise<PaymentMethodRow> {
  if (isTestPaymentMethod(idOrTestToken)) {
    await getCustomerRow(q, customerId, { param: 'customer' });
    return createFromTestToken(q, deps, now, idOrTestToken, customerId);
  }
  const pm = await findPaymentMethod(q, idOrTestToken);
  if (!pm) throw noSuchPaymentMethod(idOrTestToken, param);
  if (pm.customer !== customerId || pm.detached_at) throw notAttachedToCustomer(idOrTestToken, param);
  return pm;
}

/**
 * For a parameter naming a payment method of `customerId` (a subscription's or invoice's
 * `default_payment_method`, a customer's invoice default, `payment_method` on pay): a test id such as
 * `pm_card_visa` creates and attaches a new payment method; any other id must be attached to this
 * customer, else 400 on `opts.param` (default `payment_method`).
 */
export async function resolvePaymentMethod(
  q: Queryable,
  deps: PaymentDeps,
  idOrTestToken: string,
  customerId: string,
  now: Date,
  opts: { param?: string } = {},
): Promise<PaymentMethodObject> {
  return serializePaymentMethod(await resolvePaymentMethodRow(q, deps, idOrTestToken, customerId, now, opts.param ?? 'payment_method'));
}

/**
 * Which payment method pays a subscription's invoice, in Stripe's order: the subscription's
 * default_payment_method, then the customer's invoice_settings.default_payment_method (Stripe would
 * then try default_source; Recur has no sources). A candidate that is no longer attached to the
 * customer is skipped rather than charged and failed. A Stripe test id (`pm_card_visa`) is returned
 * as is: attemptPayment turns it into a real payment method.
 */
export async function defaultPaymentMethodFor(
  q: Queryable,
  opts: { subscriptionDefault?: string | null; invoiceDefault?: string | null; customerId: string },
): Promise<string | null> {
  const customer = await findCustomer(q, opts.customerId);
  const candidates = [opts.invoiceDefault, opts.subscriptionDefault, customer?.invoice_settings.default_payment_method];
  for (const id of candidates) {
    if (!id) continue;
    if (isTestPaymentMethod(id)) return id;
    const pm = await findPaymentMethod(q, id);
    if (pm && pm.customer === opts.customerId && !pm.detached_at) return id;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Payment intents: one row per attempt to collect money
// ---------------------------------------------------------------------------------------------

export function serializePaymentIntent(r: PaymentIntentRow): PaymentIntentObject {
  const stored = decodeStoredRef(r.gateway_ref);
  return {
    id: r.id,
    object: 'payment_intent',
    amount: r.amount,
    amount_capturable: 0,
    amount_received: r.amount_received,
    canceled_at: r.canceled_at ? toUnix(new Date(r.canceled_at)) : null,
    cancellation_reason: r.cancellation_reason ?? null,
    capture_method: 'automatic',
    confirmation_method: 'automatic',
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    customer: r.customer,
    description: r.description,
    invoice: r.invoice,
    last_payment_error: r.last_payment_error,
    latest_charge: stored.ref,
    livemode: false,
    metadata: r.metadata,
    payment_method: r.payment_method,
    payment_method_types: ['card'],
    status: r.status,
    // Recur's additions: refunds, disputes, the gateway that took (or tried) the payment, fraud rules.
    amount_refunded: r.amount_refunded ?? 0,
    disputed: r.disputed ?? false,
    gateway: stored.gateway ?? r.gateway,
    risk:
      r.risk_outcome === undefined || r.risk_outcome === null
        ? null
        : { score: r.risk_score ?? 0, level: riskLevel(r.risk_score ?? 0), rule: r.risk_rule ?? null, outcome: r.risk_outcome },
  };
}

export interface AttemptPaymentInput {
  customer: string;
  invoice?: string | null;
  /** Minor units, > 0. */
  amount: number;
  currency: string;
  /** null when no payment method could be resolved: the attempt is recorded as failed without a charge. */
  paymentMethodId: string | null;
  /** Unique per attempt and stable across its retries (e.g. `${invoiceId}:attempt:${n}`). */
  idempotencyKey: string;
  now: Date;
  testClock?: string | null;
  description?: string | null;
  metadata?: Record<string, string>;
  /** The customer's IP for an on-session payment (fraud velocity rules); null off-session. */
  ip?: string | null;
}

export interface PaymentAttempt {
  paymentIntent: PaymentIntentObject;
  outcome: ChargeOutcome;
  /** True when the key had already been used: nothing was charged by this call. */
  replayed: boolean;
}

export const PAYMENT_METHOD_MISSING = 'payment_method_missing';

function outcomeOf(r: PaymentIntentRow): ChargeOutcome {
  if (r.status === 'succeeded') return { status: 'succeeded', gatewayRef: publicChargeRef(r.gateway_ref) ?? '' };
  const e = r.last_payment_error;
  const ref = publicChargeRef(r.gateway_ref);
  return {
    status: 'failed',
    failureClass: r.failure_class ?? 'gateway_fault',
    code: e?.code ?? 'processing',
    ...(e?.decline_code ? { declineCode: e.decline_code } : {}),
    message: e?.message ?? 'The payment is still being processed.',
    ...(ref ? { gatewayRef: ref } : {}),
  };
}

export function fraudSettings(deps: PaymentDeps): FraudSettings {
  return deps.config?.payments.fraud ?? DEFAULT_FRAUD;
}

/**
 * Charges `paymentMethodId` once for this attempt. The caller owns the transaction (and should hold
 * the invoice row locked; this locks it too). Idempotent on `idempotencyKey`: a finished attempt is
 * returned as stored without calling the gateway; an attempt left `processing` by a gateway fault is
 * re-asked of the gateway with the same key (which never charges twice) and finished.
 *
 * Before a new charge the fraud rules run (velocity per payment method, customer and IP; card
 * testing; card vs billing country): a block records a failed attempt with code `payment_blocked`
 * and the reason, and nothing reaches a gateway; a review lets the charge go through, flagged.
 *
 * Outcomes: `succeeded`; a card failure leaves the intent `requires_payment_method` with Stripe's
 * `last_payment_error`; a gateway fault leaves it `processing` (outcome unknown, failureClass
 * `gateway_fault`: retry with the SAME key); no payment method records a failed intent with code
 * `payment_method_missing` and no charge. A payment method not attached to the customer is a 400.
 */
export async function attemptPayment(q: Queryable, deps: PaymentDeps, input: AttemptPaymentInput): Promise<PaymentAttempt> {
  const { now } = input;
  const currency = input.currency.toLowerCase();
  const invoice = input.invoice ?? null;
  if (!Number.isSafeInteger(input.amount) || input.amount <= 0) throw new InvalidRequestError('amount must be a positive integer in minor units', 'amount');
  if (invoice !== null && !(await lockInvoice(q, invoice))) throw new NotFoundError('invoice', invoice, 'invoice');

  const existing = await findPaymentIntentByKey(q, input.idempotencyKey, { forUpdate: true });
  if (existing) return resumeAttempt(q, deps, existing, { ...input, currency, invoice });

  const customer = await findCustomer(q, input.customer);
  if (!customer) throw new NotFoundError('customer', input.customer, 'customer');
  if (invoice !== null) {
    const paid = await findSucceededIntentForInvoice(q, invoice);
    if (paid) throw new ConflictError(`Invoice ${invoice} has already been paid by ${paid.id}.`, 'invoice_already_paid', 'invoice');
  }
  const pm = input.paymentMethodId === null ? null : await resolvePaymentMethodRow(q, deps, input.paymentMethodId, input.customer, now, 'payment_method');

  const base: PaymentIntentRow = {
    id: newId('pi'),
    customer: input.customer,
    invoice,
    amount: input.amount,
    amount_received: 0,
    currency,
    status: 'processing',
    payment_method: pm?.id ?? null,
    gateway: pm?.gateway ?? null,
    gateway_ref: null,
    idempotency_key: input.idempotencyKey,
    last_payment_error: null,
    failure_class: null,
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    test_clock: input.testClock ?? null,
    created: now,
    updated: now,
    client_ip: input.ip ?? null,
  };

  if (!pm) {
    // Nothing to charge: the attempt is still recorded (dunning counts it, the customer sees why).
    const outcome: ChargeOutcome = {
      status: 'failed',
      failureClass: 'hard_decline',
      code: PAYMENT_METHOD_MISSING,
      message: 'The customer has no attached payment method or default payment method to charge.',
    };
    return recordUncharged(q, deps, { ...base, status: 'requires_payment_method', last_payment_error: { type: 'invalid_request_error', code: outcome.code, message: outcome.message }, failure_class: outcome.failureClass }, outcome, { ...input, currency, invoice });
  }

  const billingCountry = pm.billing_details.address.country ?? (customer.address?.country as string | null | undefined) ?? null;
  const risk = await assessPayment(q, fraudSettings(deps), { customer: input.customer, paymentMethod: pm, amount: input.amount, ip: input.ip ?? null, billingCountry, now });
  base.risk_score = risk.score;
  base.risk_rule = risk.rule;
  base.risk_outcome = risk.outcome;
  if (risk.outcome === 'block') {
    const outcome: ChargeOutcome = { status: 'failed', failureClass: 'fraud', code: PAYMENT_BLOCKED, message: risk.reason ?? 'This payment was blocked by a fraud rule.' };
    return recordUncharged(
      q,
      deps,
      { ...base, status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: PAYMENT_BLOCKED, message: outcome.message, payment_method: serializePaymentMethod(pm) }, failure_class: 'fraud' },
      outcome,
      { ...input, currency, invoice },
    );
  }

  const row = await insertPaymentIntentOnce(q, base);
  // A concurrent attempt with the same key committed first: answer with its result.
  if (!row) return resumeAttempt(q, deps, (await findPaymentIntentByKey(q, input.idempotencyKey, { forUpdate: true }))!, { ...input, currency, invoice });
  await recordEvent(q, now, { type: 'payment_intent.created', object: serializePaymentIntent(row), customerId: row.customer });
  return charge(q, deps, row, pm, now, { customerCountry: (customer.address?.country as string | null | undefined) ?? pm.billing_details.address.country ?? null });
}

/** Records an attempt that reaches no gateway (no payment method, blocked by a fraud rule). */
async function recordUncharged(
  q: Queryable,
  deps: PaymentDeps,
  failed: PaymentIntentRow,
  outcome: ChargeOutcome,
  input: AttemptPaymentInput & { currency: string; invoice: string | null },
): Promise<PaymentAttempt> {
  const row = await insertPaymentIntentOnce(q, failed);
  if (!row) return resumeAttempt(q, deps, (await findPaymentIntentByKey(q, input.idempotencyKey))!, input);
  const obj = serializePaymentIntent(row);
  await recordEvent(q, input.now, { type: 'payment_intent.created', object: obj, customerId: row.customer });
  await recordEvent(q, input.now, { type: 'payment_intent.payment_failed', object: obj, customerId: row.customer });
  return { paymentIntent: obj, outcome, replayed: false };
}

async function resumeAttempt(
  q: Queryable,
  deps: PaymentDeps,
  existing: PaymentIntentRow,
  input: AttemptPaymentInput & { currency: string; invoice: string | null },
): Promise<PaymentAttempt> {
  if (existing.customer !== input.customer || existing.invoice !== input.invoice || existing.amount !== input.amount || existing.currency !== input.currency) {
    throw new IdempotencyError(`The idempotency key '${input.idempotencyKey}' was used for a different payment (${existing.id}).`);
  }
  if (existing.status === 'processing' && existing.payment_method && existing.gateway) {
    const pm = await findPaymentMethod(q, existing.payment_method);
    if (pm) {
      const customer = existing.customer ? await findCustomer(q, existing.customer) : null;
      // The stored reference names the gateways that may have seen the key: they are asked first.
      return charge(q, deps, existing, pm, input.now, {
        customerCountry: (customer?.address?.country as string | null | undefined) ?? pm.billing_details.address.country ?? null,
        previousRef: existing.gateway_ref,
      });
    }
  }
  return { paymentIntent: serializePaymentIntent(existing), outcome: outcomeOf(existing), replayed: true };
}

/** How a gateway outcome changes a payment intent, and which event it writes (none while unknown). */
export function outcomePatch(row: PaymentIntentRow, outcome: ChargeOutcome, pm: PaymentMethodRow): { patch: Partial<PaymentIntentRow>; eventType: string | null } {
  let patch: Partial<PaymentIntentRow>;
  let eventType: string | null;
  // Where the money went, in the column both writers store with the status (see codec.ts).
  const storedRef = outcome.gatewayRef ? (outcome.gateway ? encodeChargeRef(outcome.gateway, outcome.gatewayRef) : outcome.gatewayRef) : null;
  const routed: Partial<PaymentIntentRow> = {
    ...(outcome.gateway ? { gateway: outcome.gateway } : {}),
    ...(outcome.routing ? { routing: outcome.routing } : {}),
  };
  if (outcome.status === 'succeeded') {
    patch = { status: 'succeeded', amount_received: row.amount, gateway_ref: storedRef, last_payment_error: null, failure_class: null, ...routed };
    eventType = 'payment_intent.succeeded';
  } else if (outcome.failureClass === 'gateway_fault') {
    patch = {
      last_payment_error: { type: 'api_error', code: outcome.code, message: outcome.message },
      failure_class: outcome.failureClass,
      gateway_ref: outcome.tried ? encodeTriedRef(outcome.tried) : storedRef,
      ...routed,
    };
    eventType = null; // still processing: the outcome is not known yet
  } else {
    const error: LastPaymentError = {
      type: 'card_error',
      code: outcome.code,
      ...(outcome.declineCode ? { decline_code: outcome.declineCode } : {}),
      message: outcome.message,
      ...(outcome.gatewayRef ? { charge: outcome.gatewayRef } : {}),
      payment_method: serializePaymentMethod(pm),
    };
    patch = { status: 'requires_payment_method', gateway_ref: storedRef, last_payment_error: error, failure_class: outcome.failureClass, ...routed };
    eventType = 'payment_intent.payment_failed';
  }
  return { patch, eventType };
}

export async function charge(
  q: Queryable,
  deps: PaymentDeps,
  row: PaymentIntentRow,
  pm: PaymentMethodRow,
  now: Date,
  ctx: { customerCountry: string | null; previousRef?: string | null },
): Promise<PaymentAttempt> {
  let outcome: ChargeOutcome;
  try {
    outcome = await deps.gateways.get(pm.gateway).charge({
      amount: row.amount,
      currency: row.currency,
      token: pm.gateway_token,
      // A renewal charged as its invoice was written sent another key (migration 0051): a retry sends it again.
      idempotencyKey: row.gateway_key ?? row.idempotency_key,
      customerId: row.customer ?? undefined,
      description: row.description ?? undefined,
      context: {
        paymentMethodId: pm.id,
        paymentMethodType: pm.type,
        brand: pm.card.brand,
        cardCountry: pm.card.country,
        customerCountry: ctx.customerCountry,
        ip: row.client_ip ?? null,
        previousRef: ctx.previousRef ?? null,
      },
    });
  } catch {
    // A timeout or network failure: the charge may or may not have happened. Keep the intent
    // `processing` so a retry with the same key asks the gateway again instead of charging anew.
    outcome = { status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable', message: `The payment gateway '${pm.gateway}' did not answer.` };
  }

  const { patch, eventType } = outcomePatch(row, outcome, pm);
  const after = await updatePaymentIntentRow(q, row.id, { ...patch, updated: now });
  const obj = serializePaymentIntent(after);
  if (eventType) await recordEvent(q, now, { type: eventType, object: obj, customerId: after.customer });
  return { paymentIntent: obj, outcome, replayed: false };
}

/**
 * The HTTP answer for a failed attempt, for a route that pays (POST /v1/invoices/{id}/pay): 402
 * card_error with Stripe's fields, 400 when there is no payment method, 502 when the gateway did not
 * answer; null on success. Return it with `Respond` so the recorded attempt is committed.
 */
export function paymentErrorFor(attempt: PaymentAttempt): AppError | null {
  const { outcome, paymentIntent } = attempt;
  if (outcome.status === 'succeeded') return null;
  if (outcome.code === PAYMENT_METHOD_MISSING) {
    return new AppError(400, 'invalid_request_error', PAYMENT_METHOD_MISSING, 'This customer has no attached payment method or default payment method.', 'payment_method', {
      payment_intent: paymentIntent,
    });
  }
  if (outcome.failureClass === 'gateway_fault') {
    return new AppError(502, 'api_error', outcome.code, outcome.message, undefined, { payment_intent: paymentIntent });
  }
  return new AppError(402, 'card_error', outcome.code, outcome.message, undefined, {
    ...(outcome.declineCode ? { decline_code: outcome.declineCode } : {}),
    ...(outcome.gatewayRef ? { charge: outcome.gatewayRef } : {}),
    payment_intent: paymentIntent,
    ...(paymentIntent.last_payment_error?.payment_method ? { payment_method: paymentIntent.last_payment_error.payment_method } : {}),
  });
}

export async function retrievePaymentIntent(q: Queryable, id: string): Promise<PaymentIntentObject> {
  const row = await findPaymentIntent(q, id);
  if (!row) throw new NotFoundError('payment_intent', id);
  return serializePaymentIntent(row);
}

export async function listPaymentIntents(
  q: Queryable,
  filter: { customer?: string; invoice?: string; status?: PaymentIntentStatus; risk_outcome?: 'allow' | 'review' | 'block'; created?: Array<['>=' | '<', number]> },
  list: ListParams,
) {
  const { rows, hasMore } = await listPaymentIntentRows(q, filter, list);
  return { data: rows.map(serializePaymentIntent), hasMore };
}
