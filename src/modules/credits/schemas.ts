import { z } from 'zod';
import { listQuery, zCreatedFilter, zExpand, zInt, zMetadata, zTimestamp } from '../../http/schemas.js';

// Request and response schemas of the credits API (validation, types and the OpenAPI document).

const FEATURE_KEY = /^[a-z0-9_]+$/;
export const MAX_BATCH = 1000;

const zCredits = () => zInt().pipe(z.number().int().min(0).max(1_000_000_000_000));
const zPositiveCredits = () => zInt().pipe(z.number().int().min(1).max(1_000_000_000_000));
/** "" unsets (Stripe's convention), like zNullableText for numbers. */
const zNullableInt = (inner: z.ZodType<number>) => z.union([z.literal('').transform(() => null), inner]);

// ---------- usage events ----------

export const usageEventInput = z.strictObject({
  /** The caller's idempotency id: the same id twice is recorded once. */
  id: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  customer: z.string().min(1).max(255),
  feature: z.string().min(1).max(80),
  quantity: zInt().pipe(z.number().int().min(1).max(1_000_000_000)),
  /** Unix seconds; default: now (the customer's test clock time when it has one). */
  timestamp: zTimestamp().optional(),
  properties: z.record(z.string().max(40), z.union([z.string().max(500), z.number(), z.boolean(), z.null()])).optional(),
});
export type UsageEventInput = z.output<typeof usageEventInput>;

export const usageBatchInput = z.strictObject({ events: z.array(usageEventInput).min(1).max(MAX_BATCH) });

/**
 * One event, or `{ events: [...] }` (up to 1,000). The shape is chosen by the presence of `events`,
 * so a validation error names the parameter of that shape (`quantity` or `events[3][quantity]`).
 */
export const usageEventsBody = z
  .unknown()
  .transform((v, ctx) => {
    const batch = v !== null && typeof v === 'object' && 'events' in v;
    const res = (batch ? usageBatchInput : usageEventInput).safeParse(v);
    if (!res.success) {
      for (const issue of res.error.issues) ctx.issues.push({ ...issue, input: v } as never);
      return z.NEVER;
    }
    return batch ? { batch: true as const, events: (res.data as z.output<typeof usageBatchInput>).events } : { batch: false as const, events: [res.data as UsageEventInput] };
  })
  .describe('A usage event {id, customer, feature, quantity, timestamp?, properties?}, or {events: [...]} with up to 1,000 of them.');

const usageEventObject = z.object({
  id: z.string(),
  object: z.literal('usage_event'),
  status: z.enum(['accepted', 'duplicate']),
  customer: z.string(),
  feature: z.string(),
  quantity: z.number().int(),
  timestamp: z.number().int(),
  properties: z.record(z.string(), z.unknown()),
  credits: z.number().int(),
  overage_credits: z.number().int(),
  credit_transaction: z.string().nullable(),
  created: z.number().int(),
  livemode: z.boolean(),
});
const failedUsageEvent = z.object({
  id: z.string(),
  object: z.literal('usage_event'),
  status: z.literal('failed'),
  error: z.object({ type: z.string(), code: z.string(), message: z.string(), param: z.string().optional() }),
});
export const usageEventsResponse = usageEventObject.or(
  z.object({
    object: z.literal('usage_event_batch'),
    accepted: z.number().int(),
    duplicates: z.number().int(),
    failed: z.number().int(),
    data: z.array(usageEventObject.or(failedUsageEvent)),
  }),
);

// ---------- balances, settings ----------

export const creditBalanceObject = z.object({
  object: z.literal('credit_balance'),
  customer: z.string(),
  unit: z.string(),
  available: z.number().int(),
  pending: z.number().int(),
  grants: z.array(z.object({ id: z.string(), source: z.string(), remaining: z.number().int(), expires_at: z.number().int().nullable() })),
  expiring_soon: z.object({ credits: z.number().int(), before: z.number().int(), grants: z.array(z.string()) }),
  settings: z.object({ overage: z.enum(['reject', 'bill']), low_balance_thresholds: z.array(z.number().int()), overage_unit_amount: z.number().int(), overage_currency: z.string() }),
  as_of: z.number().int(),
  livemode: z.boolean(),
});

export const creditSettingsBody = z.strictObject({
  /** `reject` (402) or `bill` (overage on the next invoice at the credit's face value); "" = the default. */
  overage: z.union([z.literal('').transform(() => null), z.enum(['reject', 'bill'])]).optional(),
  low_balance_thresholds: z
    .union([z.literal('').transform(() => null), z.array(zPositiveCredits()).max(10)])
    .optional(),
});

// ---------- grants ----------

export const createGrantBody = z.strictObject({
  customer: z.string().min(1),
  /** Credits granted. */
  amount: zPositiveCredits(),
  expires_at: zTimestamp().optional(),
  effective_at: zTimestamp().optional(),
  description: z.string().max(500).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});

export const voidGrantBody = z.strictObject({ reason: z.string().max(500).optional(), expand: zExpand() });

export const listGrantsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  source: z.enum(['plan', 'purchase', 'promotion']).optional(),
  subscription: z.string().optional(),
  invoice: z.string().optional(),
});

export const creditGrantObject = z.object({
  id: z.string(),
  object: z.literal('credit_grant'),
  customer: z.string(),
  source: z.enum(['plan', 'purchase', 'promotion']),
  amount: z.number().int(),
  remaining: z.number().int(),
  status: z.enum(['pending', 'active', 'depleted', 'expired', 'voided']),
  effective_at: z.number().int(),
  expires_at: z.number().int().nullable(),
  subscription: z.string().nullable(),
  invoice: z.string().nullable(),
  created: z.number().int(),
});

// ---------- transactions ----------

/**
 * Stripe's `created` list filter: an exact Unix timestamp (`created=1768478400`) or a range
 * (`created[gte]=…&created[lt]=…`), as on GET /v1/events.
 */
export const listTransactionsQuery = z.strictObject({
  ...listQuery,
  customer: z.string().optional(),
  type: z.enum(['grant', 'usage', 'expiry', 'void', 'adjustment']).optional(),
  grant: z.string().optional(),
  created: zCreatedFilter.optional(),
  /** `csv`: every matching transaction (oldest first, one row per entry) as text/csv. `Accept: text/csv` does the same. */
  format: z.enum(['json', 'csv']).optional(),
});

export const creditTransactionObject = z.object({
  id: z.string(),
  object: z.literal('credit_transaction'),
  type: z.string(),
  customer: z.string().nullable(),
  unit: z.string(),
  amount: z.number().int(),
  description: z.string().nullable(),
  grant: z.string().nullable(),
  idempotency_key: z.string(),
  created: z.number().int(),
  entries: z.array(z.object({ account: z.string(), account_type: z.string(), grant: z.string().nullable(), amount: z.number().int() })),
});

// ---------- usage summaries ----------

export const usageSummariesQuery = z.strictObject({
  customer: z.string().optional(),
  feature: z.string().optional(),
  /** Unix seconds; default: the 31 days up to today (whole UTC days). */
  start: zTimestamp().optional(),
  end: zTimestamp().optional(),
});

export const usageSummaryObject = z.object({
  object: z.literal('usage_summary'),
  customer: z.string().nullable(),
  feature: z.string(),
  day: z.string(),
  start: z.number().int(),
  end: z.number().int(),
  events: z.number().int(),
  quantity: z.number().int(),
  credits: z.number().int(),
});

// ---------- features ----------

export const featureObject = z.object({
  id: z.string(),
  object: z.literal('feature'),
  key: z.string(),
  name: z.string(),
  unit_label: z.string().nullable(),
  credits: z.number().int().nullable(),
  prices: z.array(z.object({ credits: z.number().int(), effective_at: z.number().int() })),
  created: z.number().int(),
  updated: z.number().int(),
});

export const listFeaturesQuery = z.strictObject({
  /** Show the price in effect at this Unix time (default now). */
  at: zTimestamp().optional(),
  expand: zExpand(),
});

export const createFeatureBody = z.strictObject({
  key: z.string().min(1).max(80).regex(FEATURE_KEY, 'must contain only lower-case letters, digits and underscores'),
  name: z.string().min(1).max(200),
  unit_label: z.string().max(50).optional(),
  /** Credits per unit. */
  credits: zCredits(),
  effective_at: zTimestamp().optional(),
});

export const updateFeatureBody = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  unit_label: z.union([z.literal('').transform(() => null), z.string().max(50)]).optional(),
  credits: zCredits().optional(),
  /** When the new price takes effect (default now; never in the past). */
  effective_at: zTimestamp().optional(),
});

// ---------- plans ----------

export const creditPlanObject = z.object({
  id: z.string(),
  object: z.literal('credit_plan'),
  product: z.string(),
  name: z.string(),
  included_credits: z.number().int(),
  carryover: z.object({ periods: z.number().int().nullable(), cap: z.number().int().nullable() }),
});

export const updateCreditPlanBody = z.strictObject({
  /** 0 = expire at period end; N = usable N more periods; "" = no time limit. */
  carryover_periods: zNullableInt(zInt().pipe(z.number().int().min(0).max(120))).optional(),
  /** At most this many earlier plan credits carry into a new period; "" = no cap. */
  carryover_cap: zNullableInt(zCredits()).optional(),
});
