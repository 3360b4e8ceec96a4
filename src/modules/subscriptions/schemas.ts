import { z } from 'zod';
import { listQuery, zCreatedFilter, zBool, zExpand, zInt, zMetadata, zTimestamp, zCurrency } from '../../http/schemas.js';
import { zAddress, zShippingParam, zTaxId } from '../customers/schemas.js';
import { zOneTimePriceData, zRecurringPriceData } from '../catalog/schemas.js';
import { invoiceItemFields } from '../invoices/schemas.js';

const zQuantity = zInt().pipe(z.number().int().min(0).max(1_000_000));

// `plan` is the older name of `price` (Stripe still takes it from integrations written before prices);
// `price_data` makes a price for the item inline (catalog/inline-prices.ts): one of the three.
const oneOf = (names: string[]) => (i: Record<string, unknown>, ctx: z.RefinementCtx) => {
  const given = names.filter((n) => i[n] !== undefined);
  if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: `pass one of ${names.join(', ')}, not ${given.join(' and ')}` });
};
export const oneOfRequired = (names: string[]) => (i: Record<string, unknown>, ctx: z.RefinementCtx) => {
  if (names.every((n) => i[n] === undefined)) ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: [names[0]!], message: 'Invalid input: expected string, received undefined' });
  oneOf(names)(i, ctx);
};
const ITEM_PRICE = ['price', 'plan', 'price_data'];
/** A new item's price (one of the three), quantity and metadata: on a subscription and at /v1/subscription_items. */
const newItemFields = {
  price: z.string().min(1).optional(),
  plan: z.string().min(1).optional(),
  price_data: zRecurringPriceData.optional(),
  quantity: zQuantity.optional(),
  metadata: zMetadata().optional(),
};
const zCreateItem = z
  .strictObject(newItemFields)
  .superRefine(oneOfRequired(ITEM_PRICE))
  .transform(({ plan, ...i }) => ({ ...i, price: i.price ?? plan }));
const updateItemFields = {
  id: z.string().optional(),
  price: z.string().optional(),
  plan: z.string().min(1).optional(),
  quantity: zQuantity.optional(),
  deleted: zBool().optional(),
  metadata: zMetadata().optional(),
};
const dropPlan = <T extends { plan?: string; price?: string }>({ plan, ...i }: T) => ({ ...i, ...(i.price ?? plan ? { price: i.price ?? plan } : {}) });
/** An item of GET /v1/invoices/upcoming's proposed items: by price only (create_preview also takes price_data). */
export const zUpdateItem = z.strictObject(updateItemFields).superRefine(oneOf(['price', 'plan'])).transform(dropPlan);
/** An item of a subscription update or of create_preview: also `price_data`. */
export const zUpdateItemWithData = z
  .strictObject({ ...updateItemFields, price_data: zRecurringPriceData.optional() })
  .superRefine(oneOf(ITEM_PRICE))
  .transform(dropPlan);

const zNowOr = (inner: z.ZodType<number>) => z.union([z.literal('now'), inner]);

// Stripe's values for cancellation_details.feedback.
const zFeedback = z.enum(['customer_service', 'low_quality', 'missing_features', 'other', 'switched_service', 'too_complex', 'too_expensive', 'unused']);
const zCancellationDetails = z.strictObject({ comment: z.string().max(5000).optional(), feedback: zFeedback.optional() });
/** Stripe's bound on a subscription's discounts. */
export const MAX_SUBSCRIPTION_DISCOUNTS = 20;
const zDiscounts = z.array(z.strictObject({ coupon: z.string().optional(), promotion_code: z.string().optional() })).max(MAX_SUBSCRIPTION_DISCOUNTS);
const zUpdateDiscounts = z.array(z.strictObject({ coupon: z.string().optional(), promotion_code: z.string().optional(), discount: z.string().optional() })).max(MAX_SUBSCRIPTION_DISCOUNTS);

/** Stripe's add_invoice_items: one-time prices billed on the subscription's next invoice. */
const zAddInvoiceItems = z
  .array(
    z
      .strictObject({ price: z.string().min(1).optional(), price_data: zOneTimePriceData.optional(), quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional() })
      .superRefine(oneOfRequired(['price', 'price_data'])),
  )
  .max(20);

/**
 * Stripe's payment_settings. Recur's payment methods are all cards, so payment_method_types takes
 * ['card'] (or "" for any); payment_method_options is not taken (nothing to configure per type).
 */
const zPaymentSettings = z.strictObject({
  // "" resets to any type; a preprocess rather than a union, so an error names the element (…[0]).
  payment_method_types: z
    .preprocess((v) => (v === '' ? null : v), z.array(z.enum(['card'], { message: "Recur's payment methods are cards: the only type is 'card'" })).min(1).max(1).nullable())
    .optional(),
  save_default_payment_method: z.enum(['off', 'on_subscription']).optional(),
});

const zTrialSettings = z.strictObject({ end_behavior: z.strictObject({ missing_payment_method: z.enum(['cancel', 'create_invoice', 'pause']) }) });

/** Stripe's automatic_tax: `enabled` (false: no tax on this one's invoices); the liability is always the account's own. */
export const zAutomaticTax = z.strictObject({ enabled: zBool(), liability: z.strictObject({ type: z.literal('self') }).optional() });

export const createSubscriptionBody = z.strictObject({
  customer: z.string().min(1),
  items: z.array(zCreateItem).min(1).max(20),
  add_invoice_items: zAddInvoiceItems.optional(),
  /** Stripe: the currency to bill in, picking the prices' currency_options (the customer's by default). */
  currency: zCurrency().optional(),
  trial_period_days: zInt().pipe(z.number().int().min(0).max(730)).optional(),
  trial_end: zNowOr(zTimestamp()).optional(),
  trial_from_plan: zBool().optional(),
  coupon: z.string().optional(),
  promotion_code: z.string().optional(),
  discounts: zDiscounts.optional(),
  billing_cycle_anchor: zTimestamp().optional(),
  /** A past start (Stripe's): the time from it to the first billing date is billed, unless proration_behavior is none. */
  backdate_start_date: zTimestamp().optional(),
  // Stripe: the anchor as the next occurrence of a day of the month (month and year intervals only).
  billing_cycle_anchor_config: z
    .strictObject({
      day_of_month: zInt().pipe(z.number().int().min(1).max(31)),
      hour: zInt().pipe(z.number().int().min(0).max(23)).optional(),
      minute: zInt().pipe(z.number().int().min(0).max(59)).optional(),
      second: zInt().pipe(z.number().int().min(0).max(59)).optional(),
      month: zInt().pipe(z.number().int().min(1).max(12)).optional(),
    })
    .optional(),
  collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
  days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
  default_payment_method: z.string().optional(),
  payment_settings: zPaymentSettings.optional(),
  automatic_tax: zAutomaticTax.optional(),
  /** Stripe: whether the customer is away while the first invoice is paid. Recur's charges never ask the customer to authenticate: nothing to change. */
  off_session: zBool().optional(),
  cancel_at_period_end: zBool().optional(),
  cancel_at: zTimestamp().optional(),
  payment_behavior: z.enum(['default_incomplete', 'error_if_incomplete', 'allow_incomplete']).optional(),
  proration_behavior: z.enum(['create_prorations', 'none']).optional(),
  trial_settings: zTrialSettings.optional(),
  metadata: zMetadata().optional(),
  description: z.string().max(500).optional(),
  expand: zExpand(),
});
/** The create request as sent: items may carry `price_data` instead of a price. */
export type CreateSubscriptionRequest = z.output<typeof createSubscriptionBody>;
/**
 * `priceChecked`: the price was made from this request's price_data (inactive by design), or checked when
 * a schedule's phase was set: the active-price checks let it through.
 */
type Priced<T> = Omit<T, 'price' | 'price_data'> & { price: string; priceChecked?: boolean };
type AddInvoiceItem = Priced<NonNullable<CreateSubscriptionRequest['add_invoice_items']>[number]>;
/** What the service takes: every price an id (inline prices created: price-data.ts). */
export type CreateSubscriptionInput = Omit<CreateSubscriptionRequest, 'items' | 'add_invoice_items'> & {
  items: Priced<CreateSubscriptionRequest['items'][number]>[];
  add_invoice_items?: AddInvoiceItem[];
};

// "" unsets it (Stripe's empty value). Not a union, so a bad field is reported as pause_collection[behavior].
const zPauseCollection = z.preprocess(
  (v) => (v === '' ? null : v),
  z.strictObject({ behavior: z.enum(['keep_as_draft', 'mark_uncollectible', 'void']), resumes_at: zTimestamp().optional() }).nullable(),
);

export const updateSubscriptionBody = z.strictObject({
  items: z.array(zUpdateItemWithData).max(20).optional(),
  add_invoice_items: zAddInvoiceItems.optional(),
  proration_behavior: z.enum(['create_prorations', 'always_invoice', 'none']).optional(),
  proration_date: zTimestamp().optional(),
  billing_cycle_anchor: z.enum(['now', 'unchanged']).optional(),
  /** Recur: apply the item change at the end of the current period instead of now (no proration). */
  schedule_at_period_end: zBool().optional(),
  cancel_at_period_end: zBool().optional(),
  // A time to end at; "" clears it.
  cancel_at: z.preprocess((v) => (v === '' ? null : v), zTimestamp().nullable()).optional(),
  default_payment_method: z.string().optional(),
  payment_settings: zPaymentSettings.optional(),
  automatic_tax: zAutomaticTax.optional(),
  off_session: zBool().optional(),
  trial_settings: zTrialSettings.optional(),
  pause_collection: zPauseCollection.optional(),
  trial_end: zNowOr(zTimestamp()).optional(),
  coupon: z.string().optional(),
  promotion_code: z.string().optional(),
  // Current SDKs add a coupon with discounts: [{coupon}] and remove it with discounts: "" (empty list);
  // [{discount: di_…}] keeps the subscription's current discount (Stripe: "an existing discount … to reuse").
  discounts: z.preprocess((v) => (v === '' ? [] : v), zUpdateDiscounts).optional(),
  cancellation_details: zCancellationDetails.optional(),
  // "" unsets it.
  description: z.string().max(500).optional(),
  collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
  days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
  // pending_if_incomplete: Stripe's pending updates (pending-update.ts).
  payment_behavior: z.enum(['default_incomplete', 'error_if_incomplete', 'allow_incomplete', 'pending_if_incomplete']).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
/** The update request as sent: items may carry `price_data`. */
export type UpdateSubscriptionRequest = z.output<typeof updateSubscriptionBody>;
/** What the service takes: every price an id (inline prices created: price-data.ts). */
export type UpdateSubscriptionInput = Omit<UpdateSubscriptionRequest, 'items' | 'add_invoice_items'> & {
  items?: (z.output<typeof zUpdateItem> & { priceChecked?: boolean })[];
  add_invoice_items?: AddInvoiceItem[];
};

export const cancelSubscriptionBody = z.strictObject({
  invoice_now: zBool().optional(),
  prorate: zBool().optional(),
  cancellation_details: zCancellationDetails.optional(),
  expand: zExpand(),
});

export const resumeSubscriptionBody = z.strictObject({
  billing_cycle_anchor: z.enum(['now', 'unchanged']).optional(),
  proration_behavior: z.enum(['create_prorations', 'always_invoice', 'none']).optional(),
  proration_date: zTimestamp().optional(),
  expand: zExpand(),
});

export const listSubscriptionsQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  current_period_start: zCreatedFilter.optional(),
  current_period_end: zCreatedFilter.optional(),
  collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
  automatic_tax: z.strictObject({ enabled: zBool() }).optional(),
  customer: z.string().optional(),
  price: z.string().optional(),
  /** The older name of price. */
  plan: z.string().optional(),
  status: z.enum(['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'unpaid', 'canceled', 'paused', 'all', 'ended']).optional(),
  test_clock: z.string().optional(),
});

export const upcomingQuery = z.strictObject({
  customer: z.string().optional(),
  subscription: z.string().optional(),
  subscription_items: z.array(zUpdateItemWithData).max(20).optional(),
  subscription_proration_behavior: z.enum(['create_prorations', 'always_invoice', 'none']).optional(),
  subscription_proration_date: zTimestamp().optional(),
  subscription_billing_cycle_anchor: z.enum(['now', 'unchanged']).optional(),
  expand: zExpand(),
});
export type UpcomingQuery = z.output<typeof upcomingQuery>;

/** A one-off item a preview adds (create_preview's invoice_items): what POST /v1/invoiceitems takes for a pending item. */
const zPreviewInvoiceItem = z.strictObject(invoiceItemFields);
export type PreviewInvoiceItem = z.output<typeof zPreviewInvoiceItem>;

/** POST /v1/invoices/create_preview: the same preview as upcoming, spelled as current Stripe SDKs send it. */
export const createPreviewBody = z.strictObject({
  customer: z.string().optional(),
  subscription: z.string().optional(),
  subscription_details: z
    .strictObject({
      items: z.array(zUpdateItemWithData).max(20).optional(),
      proration_behavior: z.enum(['create_prorations', 'always_invoice', 'none']).optional(),
      proration_date: zTimestamp().optional(),
      billing_cycle_anchor: z.enum(['now', 'unchanged']).optional(),
      /** A new subscription's trial (or `now`: none), or a trial given to (or ended on) an existing one. */
      trial_end: zNowOr(zTimestamp()).optional(),
    })
    .optional(),
  /**
   * Stripe: the coupons the preview redeems instead of the subscription's (or customer's) discounts —
   * a checkout page showing a promotion code's price; "" for none at all. As an update's `discounts`.
   */
  discounts: z.preprocess((v) => (v === '' ? [] : v), zUpdateDiscounts).optional(),
  /** Stripe: one-off items the previewed invoice would also bill (made in the rolled-back transaction). */
  invoice_items: z.array(zPreviewInvoiceItem).max(250).optional(),
  /** For the preview of a new subscription: whether it would be taxed (an existing one's own setting applies). */
  automatic_tax: zAutomaticTax.optional(),
  /**
   * Stripe: the customer as the preview should see them — for a new subscription, the tax a visitor would
   * pay before any customer exists (with `customer`: their details replaced for the preview only).
   */
  customer_details: z
    .strictObject({
      address: zAddress.or(z.literal('').transform(() => null)).optional(),
      shipping: zShippingParam().optional(),
      tax_exempt: z.enum(['none', 'exempt', 'reverse']).optional(),
      tax_ids: z.array(zTaxId).max(25).optional(),
    })
    .optional(),
  expand: zExpand(),
});export type CreatePreviewInput = z.output<typeof createPreviewBody>;


export const subscriptionObjectSchema = z.object({
  id: z.string(),
  object: z.literal('subscription'),
  status: z.string(),
  customer: z.string(),
  currency: z.string(),
  current_period_start: z.number().int(),
  current_period_end: z.number().int(),
  billing_cycle_anchor: z.number().int(),
  cancel_at_period_end: z.boolean(),
  trial_start: z.number().int().nullable(),
  trial_end: z.number().int().nullable(),
  items: z.object({ object: z.literal('list'), data: z.array(z.object({ id: z.string(), quantity: z.number().int(), price: z.unknown() })) }),
  latest_invoice: z.string().nullable(),
  pending_setup_intent: z.string().nullable().describe('The setup intent collecting the card for a subscription that asked for no payment at creation (payment_behavior=default_incomplete)'),
  schedule: z.unknown(),
  pause_collection: z.unknown(),
  metadata: z.record(z.string(), z.string()),
});

// ---------- subscription items (/v1/subscription_items): one item changed through its subscription ----------

const zItemChange = {
  proration_behavior: z.enum(['create_prorations', 'always_invoice', 'none']).optional(),
  proration_date: zTimestamp().optional(),
  payment_behavior: z.enum(['default_incomplete', 'error_if_incomplete', 'allow_incomplete', 'pending_if_incomplete']).optional(),
  expand: zExpand(),
};

export const createSubscriptionItemBody = z
  .strictObject({ subscription: z.string().min(1), ...newItemFields, ...zItemChange })
  .superRefine(oneOfRequired(ITEM_PRICE))
  .transform(dropPlan);

export const updateSubscriptionItemBody = z
  .strictObject({
    ...newItemFields,
    /** As on a subscription update: Recur's charges never ask the customer to authenticate. */
    off_session: zBool().optional(),
    ...zItemChange,
  })
  .superRefine(oneOf(ITEM_PRICE))
  .transform(dropPlan);

export const deleteSubscriptionItemBody = z.strictObject({
  proration_behavior: zItemChange.proration_behavior,
  proration_date: zItemChange.proration_date,
});

export const listSubscriptionItemsQuery = z.strictObject({ ...listQuery, subscription: z.string().min(1) });
