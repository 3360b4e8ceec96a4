import { z } from 'zod';
import { MAX_AMOUNT, listQuery, zBool, zCurrency, zExpand, zInt, zMetadata, zNullableText, zCreatedFilter } from '../../http/schemas.js';
import { zAddress } from '../customers/schemas.js';

// Payment methods and payment intents, in Stripe's shapes. Card numbers and CVCs enter through
// `createPaymentMethodBody` only; they go straight to the gateway and never reach a row, a log or
// an event.

/** Card data arrives as strings from forms; a JSON number is accepted as its decimal spelling. */
const zDigits = (max: number) =>
  z.preprocess((v) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v), z.string().min(1).max(max));

const zBillingDetails = z.strictObject({
  address: zAddress.optional(),
  email: zNullableText(512).optional(),
  name: zNullableText(256).optional(),
  phone: zNullableText(30).optional(),
});
export type BillingDetailsInput = z.output<typeof zBillingDetails>;

/** A required card field missing from `card` (without `card[token]`): the 400 names it as zod would. */
const missingCardField = (ctx: z.RefinementCtx, field: string, expected: 'string' | 'number') =>
  ctx.addIssue({ code: 'invalid_type', expected, input: undefined, path: [field], message: `Invalid input: expected ${expected}, received undefined` });

/**
 * Card details, or Stripe's `card[token]` (a test token such as `tok_visa`, standing for one of the
 * test cards) instead of them. One object rather than a union, so a missing or invalid field is still
 * reported by its own name (`card[number]`).
 */
const zCardInput = z
  .strictObject({
    token: z.string().min(1).max(255).optional(),
    number: zDigits(30).optional(),
    exp_month: zInt().optional(),
    exp_year: zInt().optional(),
    // Any length here: a CVC of the wrong length is the gateway's card error (invalid_cvc), as on Stripe.
    cvc: zDigits(10).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.token !== undefined) {
      const extra = (['number', 'exp_month', 'exp_year', 'cvc'] as const).find((k) => c[k] !== undefined);
      if (extra) ctx.addIssue({ code: 'custom', path: [extra], message: 'cannot be combined with card[token]' });
      return;
    }
    if (c.number === undefined) missingCardField(ctx, 'number', 'string');
    if (c.exp_month === undefined) missingCardField(ctx, 'exp_month', 'number');
    if (c.exp_year === undefined) missingCardField(ctx, 'exp_year', 'number');
  });

export const createPaymentMethodBody = z.strictObject({
  type: z.literal('card'),
  card: zCardInput,
  billing_details: zBillingDetails.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type CreatePaymentMethodInput = z.output<typeof createPaymentMethodBody>;

export const updatePaymentMethodBody = z.strictObject({
  card: z.strictObject({ exp_month: zInt().optional(), exp_year: zInt().optional() }).optional(),
  billing_details: zBillingDetails.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdatePaymentMethodInput = z.output<typeof updatePaymentMethodBody>;

export const attachPaymentMethodBody = z.strictObject({ customer: z.string().min(1), expand: zExpand() });

export const listPaymentMethodsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  type: z.literal('card').optional(),
  /** Stripe's allow_redisplay: Recur's payment methods are all `unspecified`, so the other values match none. */
  allow_redisplay: z.enum(['always', 'limited', 'unspecified']).optional(),
});

export const listCustomerPaymentMethodsQuery = z.strictObject({
  ...listQuery,
  type: z.literal('card').optional(),
});

const addressObject = z.object({
  city: z.string().nullable(),
  country: z.string().nullable(),
  line1: z.string().nullable(),
  line2: z.string().nullable(),
  postal_code: z.string().nullable(),
  state: z.string().nullable(),
});

export const paymentMethodObject = z.object({
  id: z.string(),
  object: z.literal('payment_method'),
  allow_redisplay: z.literal('unspecified'),
  billing_details: z.object({
    address: addressObject,
    email: z.string().nullable(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    tax_id: z.null(),
  }),
  card: z.object({
    brand: z.string(),
    checks: z.object({ address_line1_check: z.null(), address_postal_code_check: z.null(), cvc_check: z.string().nullable() }),
    country: z.string().nullable(),
    display_brand: z.string(),
    exp_month: z.number().int(),
    exp_year: z.number().int(),
    fingerprint: z.string(),
    funding: z.string(),
    generated_from: z.null(),
    last4: z.string(),
    networks: z.object({ available: z.array(z.string()), preferred: z.null() }),
    three_d_secure_usage: z.object({ supported: z.boolean() }),
    wallet: z.null(),
  }),
  created: z.number().int(),
  customer: z.string().nullable(),
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  type: z.literal('card'),
});
export type PaymentMethodObject = z.infer<typeof paymentMethodObject>;

/** Stripe's reasons for canceling a payment intent that an API caller may give. */
export const CANCELLATION_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'] as const;
export type CancellationReason = (typeof CANCELLATION_REASONS)[number];

export const PAYMENT_INTENT_STATUSES = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'succeeded', 'canceled'] as const;
export type PaymentIntentStatus = (typeof PAYMENT_INTENT_STATUSES)[number];

export const lastPaymentErrorObject = z.object({
  type: z.enum(['card_error', 'invalid_request_error', 'api_error']),
  code: z.string(),
  decline_code: z.string().optional(),
  message: z.string(),
  charge: z.string().optional(),
  payment_method: paymentMethodObject.optional(),
});
export type LastPaymentError = z.infer<typeof lastPaymentErrorObject>;

export const paymentIntentObject = z.object({
  id: z.string(),
  object: z.literal('payment_intent'),
  amount: z.number().int(),
  amount_capturable: z.number().int(),
  amount_received: z.number().int(),
  canceled_at: z.number().int().nullable(),
  cancellation_reason: z.enum(CANCELLATION_REASONS).nullable(),
  capture_method: z.literal('automatic'),
  confirmation_method: z.literal('automatic'),
  created: z.number().int(),
  currency: z.string(),
  customer: z.string().nullable(),
  description: z.string().nullable(),
  invoice: z.string().nullable(),
  last_payment_error: lastPaymentErrorObject.nullable(),
  latest_charge: z.string().nullable(),
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  payment_method: z.string().nullable(),
  payment_method_types: z.array(z.string()),
  status: z.enum(PAYMENT_INTENT_STATUSES),
  amount_refunded: z.number().int().describe('Recur: refunded so far (pending and succeeded refunds), never more than amount_received.'),
  disputed: z.boolean().describe('Recur: a dispute (chargeback) was opened on this payment.'),
  gateway: z.string().nullable().describe('Recur: the gateway that took the payment (or was tried), e.g. stripe, paypal.'),
  risk: z
    .object({
      score: z.number().int().min(0).max(100),
      level: z.enum(['normal', 'elevated', 'highest']),
      rule: z.string().nullable(),
      outcome: z.enum(['allow', 'review', 'block']),
    })
    .nullable()
    .describe('Recur: the fraud rules evaluated before the charge.'),
});
export type PaymentIntentObject = z.infer<typeof paymentIntentObject>;

export const listPaymentIntentsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  invoice: z.string().optional(),
  status: z.enum(PAYMENT_INTENT_STATUSES).optional(),
  risk_outcome: z.enum(['allow', 'review', 'block']).optional(),
  created: zCreatedFilter.optional(),
});

// ---- payment intents created through the API (on-session payments) ----

export const createPaymentIntentBody = z.strictObject({
  amount: zInt().pipe(z.number().int().min(1).max(MAX_AMOUNT)),
  currency: zCurrency(),
  customer: z.string().min(1),
  payment_method: z.string().min(1).optional(),
  /** true: charged now (payment_method required); false, as Stripe's default: it waits for POST …/confirm. */
  confirm: zBool().default(false),
  off_session: zBool().optional(),
  description: zNullableText(1000).optional(),
  metadata: zMetadata().optional(),
  payment_method_types: z.array(z.literal('card')).optional(),
  // What Stripe's server-side guides send, each already how Recur works: cards only (no redirect, no
  // customer action, so nothing for use_stripe_sdk or return_url to do), captured at once, confirmed
  // here, and every card kept on the customer for later payments (setup_future_usage).
  automatic_payment_methods: z.strictObject({ enabled: zBool(), allow_redirects: z.enum(['always', 'never']).optional() }).optional(),
  capture_method: z.literal('automatic', { message: "Recur captures at once: 'automatic' is the only capture_method (no separate authorization)" }).optional(),
  confirmation_method: z.literal('automatic', { message: "Recur confirms with confirm=true or POST …/confirm: 'automatic' is the only confirmation_method" }).optional(),
  error_on_requires_action: zBool().optional(),
  use_stripe_sdk: zBool().optional(),
  return_url: z.string().url().max(5000).optional(),
  setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
  expand: zExpand(),
});

/** What an unconfirmed payment intent's update may change (POST /v1/payment_intents/{id}). */
export const updatePaymentIntentBody = z.strictObject({
  amount: zInt().pipe(z.number().int().min(1).max(MAX_AMOUNT)).optional(),
  currency: zCurrency().optional(),
  payment_method: z.string().optional(),
  description: zNullableText(1000).optional(),
  metadata: zMetadata().optional(),
  payment_method_types: z.array(z.literal('card')).optional(),
  setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
  capture_method: z.literal('automatic', { message: "Recur captures at once: 'automatic' is the only capture_method (no separate authorization)" }).optional(),
  expand: zExpand(),
});

/** POST /v1/payment_intents/{id}/confirm. */
export const confirmPaymentIntentBody = z.strictObject({
  payment_method: z.string().min(1).optional(),
  off_session: zBool().optional(),
  error_on_requires_action: zBool().optional(),
  use_stripe_sdk: zBool().optional(),
  return_url: z.string().url().max(5000).optional(),
  setup_future_usage: z.enum(['off_session', 'on_session']).optional(),
  capture_method: z.literal('automatic', { message: "Recur captures at once: 'automatic' is the only capture_method (no separate authorization)" }).optional(),
  expand: zExpand(),
});

/** POST /v1/payment_intents/{id}/cancel. */
export const cancelPaymentIntentBody = z.strictObject({
  cancellation_reason: z.enum(CANCELLATION_REASONS).optional(),
  expand: zExpand(),
});

// ---- refunds ----

export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer', 'expired_uncaptured_charge'] as const;

export const createRefundBody = z.strictObject({
  payment_intent: z.string().min(1),
  amount: zInt().pipe(z.number().int().min(1).max(MAX_AMOUNT)).optional(),
  reason: z.enum(REFUND_REASONS).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});

export const refundObject = z.object({
  id: z.string(),
  object: z.literal('refund'),
  amount: z.number().int(),
  balance_transaction: z.null(),
  charge: z.string().nullable(),
  created: z.number().int(),
  currency: z.string(),
  failure_reason: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  payment_intent: z.string(),
  reason: z.enum(REFUND_REASONS).nullable(),
  receipt_number: z.null(),
  status: z.enum(['pending', 'requires_action', 'succeeded', 'failed', 'canceled']),
  gateway: z.string().describe('Recur: the gateway that refunded (the one that took the money).'),
  gateway_reference: z.string().nullable().describe("Recur: the gateway's id for the refund."),
  credit_note: z.string().nullable().describe('Recur: the credit note this refund pays out, if any.'),
  invoice: z.string().nullable(),
});

export const listRefundsQuery = z.strictObject({ ...listQuery, created: zCreatedFilter.optional(), payment_intent: z.string().optional() });

// ---- disputes ----

export const DISPUTE_STATUSES = ['warning_needs_response', 'warning_under_review', 'warning_closed', 'needs_response', 'under_review', 'won', 'lost'] as const;

export const disputeObject = z.object({
  id: z.string(),
  object: z.literal('dispute'),
  amount: z.number().int(),
  charge: z.string().nullable(),
  created: z.number().int(),
  currency: z.string(),
  evidence_details: z.object({ due_by: z.number().int().nullable(), has_evidence: z.boolean(), past_due: z.boolean(), submission_count: z.number().int() }),
  is_charge_refundable: z.boolean(),
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  payment_intent: z.string().nullable(),
  reason: z.string(),
  status: z.enum(DISPUTE_STATUSES),
  gateway: z.string(),
  gateway_dispute_id: z.string(),
  invoice: z.string().nullable(),
  customer: z.string().nullable(),
  closed_at: z.number().int().nullable(),
});

export const listDisputesQuery = z.strictObject({
  ...listQuery,
  status: z.enum(DISPUTE_STATUSES).optional(),
  customer: z.string().optional(),
  payment_intent: z.string().optional(),
});
