import { z } from 'zod';
import { listQuery, zBool, zCreatedFilter, zExpand, zInt, zMetadata, zTimestamp } from '../../http/schemas.js';
import { MAX_SUBSCRIPTION_DISCOUNTS, oneOfRequired, zAutomaticTax } from '../subscriptions/schemas.js';
import { zOneTimePriceData, zRecurringPriceData } from '../catalog/schemas.js';

const zProration = z.enum(['create_prorations', 'none', 'always_invoice']);
const zPhaseQuantity = zInt().pipe(z.number().int().min(1).max(1_000_000)).optional();
/** A phase's item: a price, or `price_data` for one made for the schedule (catalog/inline-prices.ts). */
const zPhaseItem = z
  .strictObject({ price: z.string().min(1).optional(), price_data: zRecurringPriceData.optional(), quantity: zPhaseQuantity })
  .superRefine(oneOfRequired(['price', 'price_data']));
const zPhaseAddItem = z
  .strictObject({ price: z.string().min(1).optional(), price_data: zOneTimePriceData.optional(), quantity: zPhaseQuantity })
  .superRefine(oneOfRequired(['price', 'price_data']));
/**
 * A phase's discount, as Stripe takes it: a coupon, a promotion code, or an existing discount of the
 * subscription; the object shows `{coupon, discount: null, promotion_code}`, so it may be sent back as read.
 */
const zPhaseDiscount = z.strictObject({ coupon: z.string().min(1).nullish(), promotion_code: z.string().min(1).nullish(), discount: z.string().min(1).nullish() });
const zCollection = z.enum(['charge_automatically', 'send_invoice']);
const zDaysUntilDue = zInt().pipe(z.number().int().min(0).max(365));
/** How a phase collects (or, as default_settings, every phase that sets none of its own). */
const zSettings = {
  collection_method: zCollection.optional(),
  /** Stripe's automatic_tax: whether the subscription's invoices are taxed while the phase runs. */
  automatic_tax: zAutomaticTax.optional(),
  invoice_settings: z.strictObject({ days_until_due: zDaysUntilDue.optional() }).optional(),
  default_payment_method: z.string().min(1).optional(),
};
const zAnchor = z.enum(['phase_start', 'automatic']);
/** default_settings also takes billing_cycle_anchor, for the phases that set none of their own. */
const zDefaultSettings = z.strictObject({ ...zSettings, billing_cycle_anchor: zAnchor.optional() });
const zPhase = z.strictObject({
  ...zSettings,
  items: z.array(zPhaseItem).min(1).max(20),
  /** The subscription's discounts while the phase runs (up to twenty, as on a subscription); "" or [] for none. */
  discounts: z.preprocess((v) => (v === '' ? [] : v), z.array(zPhaseDiscount).max(MAX_SUBSCRIPTION_DISCOUNTS)).optional(),
  /** Older API versions' way to give the phase's discount. */
  coupon: z.string().min(1).optional(),
  /** The phase is a trial from its start to trial_end (or, with trial, to its end): $0, then the cycle is anchored there. */
  trial_end: zTimestamp().optional(),
  trial: zBool().optional(),
  /** The subscription's description while the phase runs (set when it is entered). */
  description: z.string().max(500).optional(),
  /** phase_start: the billing cycle restarts at the phase's start; automatic (default): it goes on. */
  billing_cycle_anchor: zAnchor.optional(),
  /** One-time prices billed on the phase's first invoice (a setup fee with an upgrade). */
  add_invoice_items: z.array(zPhaseAddItem).max(20).optional(),
  start_date: zTimestamp().optional(),
  end_date: zTimestamp().optional(),
  /** Stripe's older way to give a phase's length: billing periods of its price. */
  iterations: zInt().pipe(z.number().int().min(1).max(1000)).optional(),
  duration: z
    .strictObject({ interval: z.enum(['day', 'week', 'month', 'year']), interval_count: zInt().pipe(z.number().int().min(1).max(1000)).optional() })
    .optional(),
  proration_behavior: zProration.optional(),
  metadata: zMetadata().optional(),
});
const zPhases = z.array(zPhase).min(1).max(10);
const zEndBehavior = z.enum(['release', 'cancel']);

export const createScheduleBody = z.strictObject({
  from_subscription: z.string().min(1).optional(),
  customer: z.string().min(1).optional(),
  start_date: z.union([z.literal('now'), zTimestamp()]).optional(),
  end_behavior: zEndBehavior.optional(),
  default_settings: zDefaultSettings.optional(),
  phases: zPhases.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
/** The create request as sent: phase items may carry `price_data`. */
export type CreateScheduleRequest = z.output<typeof createScheduleBody>;
type PhaseRequest = NonNullable<CreateScheduleRequest['phases']>[number];
type PricedItem = { price: string; quantity?: number };
/** A phase whose prices are all ids (inline ones made: price-data.ts). */
export type PricedPhase = Omit<PhaseRequest, 'items' | 'add_invoice_items'> & { items: PricedItem[]; add_invoice_items?: PricedItem[] };
/** What the service takes. */
export type CreateScheduleInput = Omit<CreateScheduleRequest, 'phases'> & { phases?: PricedPhase[] };

export const updateScheduleBody = z.strictObject({
  phases: zPhases.optional(),
  default_settings: zDefaultSettings.optional(),
  end_behavior: zEndBehavior.optional(),
  /** Accepted as Stripe's: Recur's phase changes fall at period ends, where nothing prorates. */
  proration_behavior: zProration.optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdateScheduleRequest = z.output<typeof updateScheduleBody>;
export type UpdateScheduleInput = Omit<UpdateScheduleRequest, 'phases'> & { phases?: PricedPhase[] };

export const cancelScheduleBody = z.strictObject({ invoice_now: zBool().optional(), prorate: zBool().optional(), expand: zExpand() });
export const releaseScheduleBody = z.strictObject({ preserve_cancel_date: zBool().optional(), expand: zExpand() });
export const listSchedulesQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  canceled_at: zCreatedFilter.optional(),
  completed_at: zCreatedFilter.optional(),
  released_at: zCreatedFilter.optional(),
  customer: z.string().optional(),
  scheduled: zBool().optional(),
});

// ---------- the object (the OpenAPI document's response; serialize.ts builds it) ----------

const zUnixOrNull = z.number().int().nullable();
const zPhaseItemObject = z.strictObject({
  billing_thresholds: z.null(),
  discounts: z.array(z.never()),
  metadata: z.record(z.string(), z.string()),
  price: z.string(),
  quantity: z.number().int(),
  tax_rates: z.array(z.never()),
});
const zAddInvoiceItemObject = z.strictObject({ discounts: z.array(z.never()), price: z.string(), quantity: z.number().int(), tax_rates: z.array(z.never()) });
const zAutomaticTaxObject = z.strictObject({ enabled: z.boolean(), liability: z.strictObject({ type: z.literal('self') }).nullable() });
const zPhaseObject = z.strictObject({
  add_invoice_items: z.array(zAddInvoiceItemObject),
  application_fee_percent: z.null(),
  automatic_tax: zAutomaticTaxObject.nullable(),
  billing_cycle_anchor: z.enum(['phase_start', 'automatic']).nullable(),
  billing_thresholds: z.null(),
  collection_method: zCollection.nullable(),
  currency: z.string(),
  default_payment_method: z.string().nullable(),
  default_tax_rates: z.array(z.never()),
  description: z.string().nullable(),
  discounts: z.array(z.strictObject({ coupon: z.string(), discount: z.null(), promotion_code: z.string().nullable() })),
  end_date: z.number().int(),
  invoice_settings: z.strictObject({ account_tax_ids: z.null(), days_until_due: z.number().int().nullable(), issuer: z.null() }).nullable(),
  items: z.array(zPhaseItemObject),
  metadata: z.record(z.string(), z.string()),
  on_behalf_of: z.null(),
  proration_behavior: zProration,
  start_date: z.number().int(),
  transfer_data: z.null(),
  trial_end: z.number().int().nullable(),
});
export const subscriptionScheduleObject = z.strictObject({
  id: z.string(),
  object: z.literal('subscription_schedule'),
  application: z.null(),
  billing_mode: z.strictObject({ type: z.literal('classic') }),
  canceled_at: zUnixOrNull,
  completed_at: zUnixOrNull,
  created: z.number().int(),
  current_phase: z.strictObject({ start_date: z.number().int(), end_date: z.number().int() }).nullable(),
  customer: z.string(),
  default_settings: z.strictObject({
    application_fee_percent: z.null(),
    automatic_tax: zAutomaticTaxObject,
    billing_cycle_anchor: zAnchor,
    billing_thresholds: z.null(),
    collection_method: zCollection,
    default_payment_method: z.string().nullable(),
    description: z.null(),
    invoice_settings: z.strictObject({ account_tax_ids: z.null(), days_until_due: z.number().int().nullable(), issuer: z.strictObject({ type: z.literal('self') }) }),
    on_behalf_of: z.null(),
    transfer_data: z.null(),
  }),
  end_behavior: zEndBehavior,
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  phases: z.array(zPhaseObject),
  released_at: zUnixOrNull,
  released_subscription: z.string().nullable(),
  status: z.enum(['not_started', 'active', 'completed', 'released', 'canceled']),
  subscription: z.string().nullable(),
  test_clock: z.string().nullable(),
});
export type ScheduleObject = z.infer<typeof subscriptionScheduleObject>;
