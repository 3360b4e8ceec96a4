import { z } from 'zod';
import { listQuery, zCreatedFilter, zAmount, zBool, zCurrency, zExpand, zInt, zMetadata, zNullableText, zTimestamp } from '../../http/schemas.js';

// Coupons, promotion codes and discounts, shaped like Stripe's. A coupon's terms (amount, duration,
// limits) are fixed at creation because discounts already granted point at it; only name and
// metadata change afterwards.

export const COUPON_DURATIONS = ['once', 'repeating', 'forever'] as const;
export type CouponDuration = (typeof COUPON_DURATIONS)[number];

/** Custom coupon ids travel in URLs: letters, digits, underscores and hyphens. */
export const COUPON_ID = /^[A-Za-z0-9_-]+$/;
/**
 * Customer-facing codes: letters, digits and hyphens. No underscore, so a `promo_…` id can never be
 * mistaken for a code where either is accepted.
 */
export const PROMOTION_CODE = /^[A-Za-z0-9-]+$/;

/** The latest timestamp we accept (9999-12-31T23:59:59Z), so every value is a valid date. */
const MAX_UNIX = 253_402_300_799;
const zFutureCapable = () => zTimestamp().pipe(z.number().max(MAX_UNIX, 'must be a Unix timestamp before the year 10000'));
const zPositiveInt32 = () => zInt().pipe(z.number().int().min(1).max(2_147_483_647));

/**
 * A percentage in (0, 100] with at most two decimals (stored exactly as hundredths of a percent).
 * The shortest round-trip decimal string of a number is what the caller typed (25.5, 33.33), so the
 * decimals are checked on that string rather than by floating-point arithmetic.
 */
export const zPercentOff = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v),
    z
      .number()
      .refine((p) => p > 0 && p <= 100, 'must be greater than 0 and at most 100')
      .refine((p) => /^\d+(\.\d{1,2})?$/.test(String(p)), 'must have at most two decimal places'),
  );

// ---------- coupons ----------

const zCurrencyOptions = () =>
  z.record(z.string(), z.strictObject({ amount_off: zInt().pipe(z.number().int().min(1, 'must be a positive amount in minor units')) })).optional();

export const createCouponBody = z.strictObject({
  id: z.string().min(1).max(100).regex(COUPON_ID, 'must contain only letters, digits, underscores and hyphens').optional(),
  name: zNullableText(40).optional(),
  percent_off: zPercentOff().optional(),
  amount_off: zInt().pipe(z.number().int().min(1, 'must be a positive amount in minor units')).optional(),
  currency: zCurrency().optional(),
  /** amount_off in other currencies: {eur: {amount_off: 900}} (keys checked in the service, to name the bad one). */
  currency_options: zCurrencyOptions(),
  /** Stripe's default is `once`. */
  duration: z.enum(COUPON_DURATIONS).optional(),
  duration_in_months: zInt().pipe(z.number().int().min(1).max(1200)).optional(),
  max_redemptions: zPositiveInt32().optional(),
  redeem_by: zFutureCapable().optional(),
  applies_to: z.strictObject({ products: z.array(z.string().min(1).max(255)).min(1).max(100) }).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type CreateCouponInput = z.output<typeof createCouponBody>;

/** Like Stripe: everything but the name and metadata is fixed once discounts can point at the coupon. */
export const updateCouponBody = z.strictObject({
  name: zNullableText(40).optional(),
  /** More currencies for an amount_off coupon (those it has keep their amounts). */
  currency_options: zCurrencyOptions(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdateCouponInput = z.output<typeof updateCouponBody>;

export const listCouponsQuery = z.strictObject({ ...listQuery, created: zCreatedFilter.optional() });

export const couponObject = z.object({
  id: z.string(),
  object: z.literal('coupon'),
  amount_off: z.number().int().nullable(),
  /** Present only when the coupon is limited to some products. */
  applies_to: z.object({ products: z.array(z.string()) }).optional(),
  created: z.number().int(),
  currency: z.string().nullable(),
  /** An amount_off coupon's amounts in other currencies ({} for none; absent on a percent_off coupon). */
  currency_options: z.record(z.string(), z.object({ amount_off: z.number().int() })).optional(),
  duration: z.enum(COUPON_DURATIONS),
  duration_in_months: z.number().int().nullable(),
  livemode: z.boolean(),
  max_redemptions: z.number().int().nullable(),
  metadata: z.record(z.string(), z.string()),
  name: z.string().nullable(),
  percent_off: z.number().nullable(),
  redeem_by: z.number().int().nullable(),
  times_redeemed: z.number().int(),
  /** Whether new redemptions are possible now: not deleted, not past redeem_by, not exhausted. */
  valid: z.boolean(),
});
export type CouponObject = z.infer<typeof couponObject>;

// ---------- promotion codes ----------

export const createPromotionCodeBody = z.strictObject({
  /** The flat form most SDK versions send. */
  coupon: z.string().min(1).max(255).optional(),
  /** Stripe's newer nested form: promotion[type]=coupon&promotion[coupon]=… */
  promotion: z.strictObject({ type: z.literal('coupon').optional(), coupon: z.string().min(1).max(255) }).optional(),
  code: z.string().min(1).max(500).regex(PROMOTION_CODE, 'must contain only letters, digits and hyphens').optional(),
  active: zBool().optional(),
  customer: z.string().min(1).max(255).optional(),
  expires_at: zFutureCapable().optional(),
  max_redemptions: zPositiveInt32().optional(),
  restrictions: z
    .strictObject({
      first_time_transaction: zBool().optional(),
      minimum_amount: zAmount().optional(),
      minimum_amount_currency: zCurrency().optional(),
      /** The minimum in other currencies: {eur: {minimum_amount: 900}} (keys checked in the service, to name the bad one). */
      currency_options: z.record(z.string(), z.strictObject({ minimum_amount: zAmount() })).optional(),
    })
    .optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type CreatePromotionCodeInput = z.output<typeof createPromotionCodeBody>;

export const updatePromotionCodeBody = z.strictObject({
  active: zBool().optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});
export type UpdatePromotionCodeInput = z.output<typeof updatePromotionCodeBody>;

export const listPromotionCodesQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  code: z.string().min(1).optional(),
  coupon: z.string().min(1).optional(),
  customer: z.string().min(1).optional(),
  active: zBool().optional(),
});
export type ListPromotionCodesFilter = { code?: string; coupon?: string; customer?: string; active?: boolean };

export const promotionCodeObject = z.object({
  id: z.string(),
  object: z.literal('promotion_code'),
  active: z.boolean(),
  code: z.string(),
  /** The full coupon, as in the API versions most SDKs speak. */
  coupon: couponObject,
  /** Stripe's newer shape of the same link. */
  promotion: z.object({ type: z.literal('coupon'), coupon: z.string() }),
  created: z.number().int(),
  customer: z.string().nullable(),
  expires_at: z.number().int().nullable(),
  livemode: z.boolean(),
  max_redemptions: z.number().int().nullable(),
  metadata: z.record(z.string(), z.string()),
  restrictions: z.object({
    first_time_transaction: z.boolean(),
    minimum_amount: z.number().int().nullable(),
    minimum_amount_currency: z.string().nullable(),
    currency_options: z.record(z.string(), z.object({ minimum_amount: z.number().int() })).optional(),
  }),
  times_redeemed: z.number().int(),
});
export type PromotionCodeObject = z.infer<typeof promotionCodeObject>;

// ---------- discounts ----------

export const discountObject = z.object({
  id: z.string(),
  object: z.literal('discount'),
  checkout_session: z.null(),
  coupon: couponObject,
  /** Stripe's newer shape: the coupon id under `source`. */
  source: z.object({ type: z.literal('coupon'), coupon: z.string() }),
  customer: z.string(),
  subscription: z.string().nullable(),
  subscription_item: z.null(),
  invoice: z.string().nullable(),
  invoice_item: z.null(),
  promotion_code: z.string().nullable(),
  start: z.number().int(),
  end: z.number().int().nullable(),
});
export type DiscountObject = z.infer<typeof discountObject>;
