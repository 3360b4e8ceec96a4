import { z } from 'zod';
import { MAX_AMOUNT, listQuery, zCreatedFilter, zAmount, zBool, zCurrency, zExpand, zInt, zMetadata, zNullableText } from '../../http/schemas.js';
import { FEATURE_KEY, MAX_FEATURES, duplicateFeatureIndex } from './domain/features.js';
import { INTERVALS, MAX_INTERVAL_COUNT, MAX_TRIAL_PERIOD_DAYS, intervalCountAllowed } from './domain/recurring.js';

// Products and prices, shaped like Stripe's. A price's amount, currency, type and interval are fixed
// at creation (subscriptions and invoices point at it); changing them means a new price.

/** "" (Stripe's way to clear a list or a map) becomes null before the real schema runs. */
const emptyToNull = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? null : v), schema.nullable());

/** A list filter given once (`ids=a`), as `ids[]=a&ids[]=b` or as `ids[0]=a`: always an array. */
const zStringList = (max = 100) =>
  z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(z.string().min(1)).max(max));

// ---------- products ----------

export const PRODUCT_ID = /^[A-Za-z0-9_-]+$/;

// Form encoding carries every value as a string: "4" is the number 4 and "true" a boolean, as for
// zInt/zBool. A feature value that must stay textual is spelled with a non-numeric string.
const zFeatureValue = z.preprocess(
  (v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v),
  z.union([z.number(), z.boolean(), z.string().min(1).max(500)]),
);

export const zFeature = z.strictObject({
  key: z.string().min(1).max(80).regex(FEATURE_KEY, 'must contain only lower-case letters, digits and underscores'),
  name: z.string().min(1).max(80),
  value: zFeatureValue.nullable().optional(),
});

const zFeatures = emptyToNull(
  z
    .array(zFeature)
    .max(MAX_FEATURES)
    .superRefine((features, ctx) => {
      const i = duplicateFeatureIndex(features);
      if (i >= 0) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `duplicate feature key '${features[i]!.key}'` });
    }),
);

const zTaxBehavior = z.enum(['inclusive', 'exclusive', 'unspecified']);

const zUnitAmountDecimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal string')
  .refine((s) => Number(s) <= MAX_AMOUNT, `must be at most ${MAX_AMOUNT}`);

const zCurrencyOption = z.strictObject({
  unit_amount: zAmount().optional(),
  unit_amount_decimal: zUnitAmountDecimal.optional(),
});

const lowerCaseKeys = (v: unknown) =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), x])) : v;

/** `currency_options[eur][unit_amount]=4500`; keys are currencies, lower-cased. */
const zCurrencyOptions = <T extends z.ZodType>(value: T) =>
  z.preprocess(
    lowerCaseKeys,
    z.record(z.string(), value).superRefine((opts, ctx) => {
      for (const k of Object.keys(opts)) {
        if (!zCurrency().safeParse(k).success) ctx.addIssue({ code: 'custom', path: [k], message: `'${k}' is not an ISO-4217 currency code` });
      }
    }),
  );

const zRecurring = z
  .strictObject({
    interval: z.enum(INTERVALS),
    interval_count: zInt().pipe(z.number().int().min(1)).optional(),
    usage_type: z.enum(['licensed'], { message: "only 'licensed' is supported; usage is billed through credits" }).optional(),
    trial_period_days: zInt().pipe(z.number().int().min(0).max(MAX_TRIAL_PERIOD_DAYS)).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.interval_count !== undefined && !intervalCountAllowed(r.interval, r.interval_count)) {
      const max = MAX_INTERVAL_COUNT[r.interval];
      ctx.addIssue({ code: 'custom', path: ['interval_count'], message: `at most ${max} for interval '${r.interval}' (three years between bills)` });
    }
  });

const priceDataFields = {
  currency: zCurrency(),
  unit_amount: zAmount().optional(),
  unit_amount_decimal: zUnitAmountDecimal.optional(),
  recurring: zRecurring.optional(),
  tax_behavior: zTaxBehavior.optional(),
  currency_options: zCurrencyOptions(zCurrencyOption).optional(),
  metadata: zMetadata().optional(),
};

/**
 * Stripe's `price_data`: a price made inline for one subscription item or invoice item. `recurring` for
 * subscription items (interval and interval_count only), none for one-time items.
 */
const inlinePriceFields = {
  currency: zCurrency(),
  product: z.string().min(1),
  unit_amount: zAmount().optional(),
  unit_amount_decimal: zUnitAmountDecimal.optional(),
  tax_behavior: zTaxBehavior.optional(),
};
export const zRecurringPriceData = z.strictObject({
  ...inlinePriceFields,
  recurring: z
    .strictObject({ interval: z.enum(INTERVALS), interval_count: zInt().pipe(z.number().int().min(1)).optional() })
    .superRefine((r, ctx) => {
      if (r.interval_count !== undefined && !intervalCountAllowed(r.interval, r.interval_count)) {
        ctx.addIssue({ code: 'custom', path: ['interval_count'], message: `at most ${MAX_INTERVAL_COUNT[r.interval]} for interval '${r.interval}' (three years between bills)` });
      }
    }),
});
export const zOneTimePriceData = z.strictObject(inlinePriceFields);
export type InlinePriceData = z.output<typeof zRecurringPriceData> | z.output<typeof zOneTimePriceData>;

const productIdField = z.string().min(1).max(100).regex(PRODUCT_ID, 'must contain only letters, digits, underscores and hyphens');

const productFields = {
  name: z.string().min(1).max(250),
  description: zNullableText(40_000).optional(),
  active: zBool().optional(),
  features: zFeatures.optional(),
  metadata: zMetadata().optional(),
  unit_label: zNullableText(12).optional(),
  expand: zExpand(),
};

export const createProductBody = z.strictObject({
  ...productFields,
  id: productIdField.optional(),
  /** Stripe's shortcut: create the product's first price with it and make it the default. */
  default_price_data: z.strictObject(priceDataFields).optional(),
});

export const updateProductBody = z.strictObject({
  ...productFields,
  name: productFields.name.optional(),
  /** A price of this product, or "" to clear. */
  default_price: zNullableText(255).optional(),
});

export type CreateProductInput = z.output<typeof createProductBody>;
export type UpdateProductInput = z.output<typeof updateProductBody>;

export const listProductsQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  active: zBool().optional(),
  ids: zStringList().optional(),
});
export type ListProductsFilter = { active?: boolean; ids?: string[] };

// ---------- prices ----------

export const createPriceBody = z.strictObject({
  ...priceDataFields,
  /** The product, or `product_data` to create one with the price (Stripe's shortcut): one of the two. */
  product: z.string().min(1).optional(),
  product_data: z
    .strictObject({
      id: productIdField.optional(),
      name: productFields.name,
      active: productFields.active,
      metadata: productFields.metadata,
      unit_label: productFields.unit_label,
    })
    .optional(),
  /** Optional: inferred from `recurring`; when given it must agree with it. */
  type: z.enum(['recurring', 'one_time']).optional(),
  /** The same as `recurring[trial_period_days]`, accepted at the top level too. */
  trial_period_days: zInt().pipe(z.number().int().min(0).max(MAX_TRIAL_PERIOD_DAYS)).optional(),
  active: zBool().optional(),
  nickname: zNullableText(250).optional(),
  lookup_key: zNullableText(200).optional(),
  transfer_lookup_key: zBool().optional(),
  /** A custom price for one customer (enterprise deals). */
  customer: z.string().min(1).optional(),
  expand: zExpand(),
});

/** Params a price accepts on create but never on update: 400 naming the param. */
export const IMMUTABLE_PRICE_PARAMS = [
  'currency', 'unit_amount', 'unit_amount_decimal', 'type', 'recurring', 'product', 'customer', 'trial_period_days',
] as const;

const immutable = z.unknown().optional().meta({ description: 'Fixed when the price is created; sending it is a 400. Create a new price instead.' });

export const updatePriceBody = z.strictObject({
  active: zBool().optional(),
  nickname: zNullableText(250).optional(),
  lookup_key: zNullableText(200).optional(),
  transfer_lookup_key: zBool().optional(),
  metadata: zMetadata().optional(),
  tax_behavior: zTaxBehavior.optional(),
  /** Merged per currency; `currency_options[eur]=""` removes one, `currency_options=""` removes all. */
  currency_options: emptyToNull(zCurrencyOptions(emptyToNull(zCurrencyOption))).optional(),
  expand: zExpand(),
  ...(Object.fromEntries(IMMUTABLE_PRICE_PARAMS.map((k) => [k, immutable])) as Record<(typeof IMMUTABLE_PRICE_PARAMS)[number], typeof immutable>),
});

export type CreatePriceInput = z.output<typeof createPriceBody>;
export type UpdatePriceInput = z.output<typeof updatePriceBody>;
export type PriceDataInput = NonNullable<CreateProductInput['default_price_data']>;

export const listPricesQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  active: zBool().optional(),
  product: z.string().optional(),
  currency: zCurrency().optional(),
  type: z.enum(['recurring', 'one_time']).optional(),
  customer: z.string().optional(),
  lookup_keys: zStringList(10).optional(),
  recurring: z.strictObject({ interval: z.enum(INTERVALS).optional(), usage_type: z.enum(['licensed', 'metered']).optional() }).optional(),
});
export type ListPricesFilter = {
  active?: boolean;
  product?: string;
  currency?: string;
  type?: 'recurring' | 'one_time';
  customer?: string;
  lookup_keys?: string[];
  interval?: string;
  usage_type?: 'licensed' | 'metered';
};

export const expandQuery = z.strictObject({ expand: zExpand() });

// ---------- objects ----------

const featureObject = z.object({ key: z.string(), name: z.string(), value: z.union([z.number(), z.boolean(), z.string()]).nullable() });

const productFieldsOut = {
  id: z.string(),
  object: z.literal('product'),
  active: z.boolean(),
  created: z.number().int(),
  description: z.string().nullable(),
  features: z.array(featureObject),
  images: z.array(z.string()),
  livemode: z.boolean(),
  marketing_features: z.array(z.object({ name: z.string() })),
  metadata: z.record(z.string(), z.string()),
  name: z.string(),
  package_dimensions: z.null(),
  shippable: z.null(),
  statement_descriptor: z.null(),
  tax_code: z.null(),
  type: z.literal('service'),
  unit_label: z.string().nullable(),
  updated: z.number().int(),
  url: z.null(),
};

const currencyOptionObject = z.object({
  custom_unit_amount: z.null(),
  tax_behavior: zTaxBehavior,
  unit_amount: z.number().int(),
  unit_amount_decimal: z.string(),
});

const priceFieldsOut = {
  id: z.string(),
  object: z.literal('price'),
  active: z.boolean(),
  billing_scheme: z.literal('per_unit'),
  created: z.number().int(),
  currency: z.string(),
  /** Every currency the price can be charged in, its own `currency` included (as Stripe expands it). */
  currency_options: z.record(z.string(), currencyOptionObject),
  custom_unit_amount: z.null(),
  customer: z.string().nullable(),
  livemode: z.boolean(),
  lookup_key: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  nickname: z.string().nullable(),
  recurring: z
    .object({
      interval: z.enum(INTERVALS),
      interval_count: z.number().int(),
      meter: z.null(),
      trial_period_days: z.number().int().nullable(),
      usage_type: z.literal('licensed'),
    })
    .nullable(),
  tax_behavior: zTaxBehavior,
  tiers_mode: z.null(),
  transform_quantity: z.null(),
  type: z.enum(['recurring', 'one_time']),
  unit_amount: z.number().int(),
  unit_amount_decimal: z.string(),
};

export const productObject = z.object({ ...productFieldsOut, default_price: z.string().nullable() });
export const priceObject = z.object({ ...priceFieldsOut, product: z.string() });

/** With `expand`: a price's product, a product's default price. */
export const expandedPriceObject = z.object({ ...priceFieldsOut, product: z.union([z.string(), productObject]) });
export const expandedProductObject = z.object({ ...productFieldsOut, default_price: z.union([z.string(), priceObject]).nullable() });

export type ProductObject = z.infer<typeof productObject>;
export type PriceObject = z.infer<typeof priceObject>;
export type ExpandedPriceObject = z.infer<typeof expandedPriceObject>;
export type ExpandedProductObject = z.infer<typeof expandedProductObject>;
