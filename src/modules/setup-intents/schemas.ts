import { z } from 'zod';
import { listQuery, zBool, zCreatedFilter, zExpand, zMetadata, zNullableText } from '../../http/schemas.js';

export const SETUP_INTENT_STATUSES = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing', 'canceled', 'succeeded'] as const;
export type SetupIntentStatus = (typeof SETUP_INTENT_STATUSES)[number];
export const SETUP_CANCELLATION_REASONS = ['abandoned', 'requested_by_customer', 'duplicate'] as const;
export type SetupCancellationReason = (typeof SETUP_CANCELLATION_REASONS)[number];
const zUsage = z.enum(['off_session', 'on_session']);

export const setupIntentObject = z.object({
  id: z.string(),
  object: z.literal('setup_intent'),
  application: z.null(),
  automatic_payment_methods: z.object({ enabled: z.boolean().nullable() }).nullable(),
  cancellation_reason: z.enum(SETUP_CANCELLATION_REASONS).nullable(),
  created: z.number().int(),
  customer: z.string().nullable(),
  description: z.string().nullable(),
  flow_directions: z.null(),
  last_setup_error: z.null(),
  latest_attempt: z.null(),
  livemode: z.literal(false),
  mandate: z.null(),
  metadata: z.record(z.string(), z.string()),
  next_action: z.null(),
  on_behalf_of: z.null(),
  payment_method: z.string().nullable(),
  payment_method_options: z.object({}),
  payment_method_types: z.array(z.literal('card')),
  single_use_mandate: z.null(),
  status: z.enum(SETUP_INTENT_STATUSES),
  usage: zUsage,
});
export type SetupIntentObject = z.infer<typeof setupIntentObject>;

// What Stripe's server-side guides send and already describes how Recur works: cards only, with no
// redirect and no customer action (so nothing for use_stripe_sdk or return_url to do).
const guideParams = {
  payment_method_types: z.array(z.literal('card', { message: "Recur's payment methods are cards: the only type is 'card'" })).optional(),
  automatic_payment_methods: z.strictObject({ enabled: zBool(), allow_redirects: z.enum(['always', 'never']).optional() }).optional(),
  use_stripe_sdk: zBool().optional(),
  return_url: z.string().url().max(5000).optional(),
  expand: zExpand(),
};

export const createSetupIntentBody = z.strictObject({
  customer: z.string().min(1).optional(),
  payment_method: z.string().min(1).optional(),
  /** true: confirmed at once (payment_method required); false, Stripe's default: it waits for POST …/confirm. */
  confirm: zBool().default(false),
  usage: zUsage.default('off_session'),
  description: zNullableText(1000).optional(),
  metadata: zMetadata().optional(),
  ...guideParams,
});
export type CreateSetupIntentInput = z.output<typeof createSetupIntentBody>;

export const updateSetupIntentBody = z.strictObject({
  customer: z.string().min(1).optional(),
  /** "" takes the payment method off. */
  payment_method: z.string().optional(),
  description: zNullableText(1000).optional(),
  metadata: zMetadata().optional(),
  payment_method_types: guideParams.payment_method_types,
  expand: zExpand(),
});
export type UpdateSetupIntentInput = z.output<typeof updateSetupIntentBody>;

export const confirmSetupIntentBody = z.strictObject({
  payment_method: z.string().min(1).optional(),
  use_stripe_sdk: guideParams.use_stripe_sdk,
  return_url: guideParams.return_url,
  expand: zExpand(),
});

export const cancelSetupIntentBody = z.strictObject({ cancellation_reason: z.enum(SETUP_CANCELLATION_REASONS).optional(), expand: zExpand() });

export const listSetupIntentsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  payment_method: z.string().optional(),
  created: zCreatedFilter.optional(),
});
