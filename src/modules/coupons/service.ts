import { randomInt } from 'node:crypto';
import type { Queryable } from '../../db/index.js';
import { AppError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { hasPrefix, newId } from '../../core/ids/index.js';
import { addMonths, fromUnix, toUnix } from '../../core/time/index.js';
import { isCurrency } from '../../core/money/index.js';
import type { ListParams } from '../../http/pagination.js';
import { findProductsByIds } from '../catalog/repository.js';
import { getCustomerRow, mergeMetadata } from '../customers/service.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import {
  activeCodeTaken,
  customerHasPaid,
  endDiscountRow,
  findActiveDiscountRows,
  findCoupon,
  findCouponsByIds,
  findDiscount,
  findPromotionCode,
  findPromotionCodeByCode,
  incrementCouponRedemptions,
  incrementPromotionCodeRedemptions,
  insertCoupon,
  insertDiscount,
  insertPromotionCode,
  isUniqueViolation,
  listCouponRows,
  listPromotionCodeRows,
  updateCouponRow,
  updatePromotionCodeRow,
  type CouponRow,
  type DiscountRow,
  type PromotionCodeRow,
} from './repository.js';
import {
  PROMOTION_CODE,
  type CouponObject,
  type CreateCouponInput,
  type CreatePromotionCodeInput,
  type DiscountObject,
  type ListPromotionCodesFilter,
  type PromotionCodeObject,
  type UpdateCouponInput,
  type UpdatePromotionCodeInput,
} from './schemas.js';

export type { CouponRow, DiscountRow, PromotionCodeRow } from './repository.js';

type DeletedCoupon = { id: string; object: 'coupon'; deleted: true };

const unixOrNull = (d: Date | null): number | null => (d === null ? null : toUnix(new Date(d)));
const isPast = (d: Date | null, now: Date): boolean => d !== null && new Date(d).getTime() <= now.getTime();

// ---------- coupons ----------

/** Stripe's `valid`: a new redemption is possible right now. */
export function couponIsValid(r: CouponRow, now: Date): boolean {
  return r.deleted_at === null && !isPast(r.redeem_by, now) && (r.max_redemptions === null || r.times_redeemed < r.max_redemptions);
}

export function serializeCoupon(r: CouponRow, now: Date): CouponObject {
  return {
    id: r.id,
    object: 'coupon',
    amount_off: r.amount_off,
    ...(r.applies_to_products ? { applies_to: { products: r.applies_to_products } } : {}),
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    ...(r.amount_off !== null ? { currency_options: r.currency_options } : {}),
    duration: r.duration,
    duration_in_months: r.duration_in_months,
    livemode: false,
    max_redemptions: r.max_redemptions,
    metadata: r.metadata,
    name: r.name,
    // Stored in hundredths of a percent; /100 of an integer is the shortest decimal again (2550 → 25.5).
    percent_off: r.percent_off_bp === null ? null : r.percent_off_bp / 100,
    redeem_by: unixOrNull(r.redeem_by),
    times_redeemed: r.times_redeemed,
    valid: couponIsValid(r, now),
  };
}

/** Why a coupon cannot be redeemed now (null: it can). Deleted coupons read as expired, like Stripe's. */
function couponUnavailable(r: CouponRow, now: Date, param: string): InvalidRequestError | null {
  if (r.deleted_at !== null) return new InvalidRequestError(`Coupon '${r.id}' has been deleted and can no longer be redeemed.`, param, 'coupon_expired');
  if (isPast(r.redeem_by, now)) return new InvalidRequestError(`Coupon '${r.id}' expired at its redeem_by date.`, param, 'coupon_expired');
  if (r.max_redemptions !== null && r.times_redeemed >= r.max_redemptions) {
    return new InvalidRequestError(`Coupon '${r.id}' has reached its max_redemptions (${r.max_redemptions}).`, param, 'coupon_max_redemptions');
  }
  return null;
}

async function checkProducts(q: Queryable, products: string[]): Promise<string[]> {
  const unique = [...new Set(products)];
  const found = new Map((await findProductsByIds(q, unique)).map((p) => [p.id, p]));
  products.forEach((id, i) => {
    const p = found.get(id);
    if (!p || p.deleted_at) throw new NotFoundError('product', id, `applies_to[products][${i}]`);
  });
  return unique;
}

/** currency_options: only with amount_off, each key a currency other than the coupon's own. */
function checkCurrencyOptions(options: Record<string, { amount_off: number }> | undefined, currency: string | null): Record<string, { amount_off: number }> {
  if (options === undefined) return {};
  if (currency === null) throw new InvalidRequestError('currency_options can only be given with amount_off.', 'currency_options');
  const out: Record<string, { amount_off: number }> = {};
  for (const [key, option] of Object.entries(options)) {
    const code = key.toLowerCase();
    if (!isCurrency(code)) throw new InvalidRequestError(`${key} is not an ISO-4217 currency code.`, `currency_options[${key}]`);
    if (code === currency) throw new InvalidRequestError(`The coupon's own currency (${currency}) takes amount_off, not a currency option.`, `currency_options[${key}]`);
    out[code] = { amount_off: option.amount_off };
  }
  return out;
}

export async function createCoupon(q: Queryable, now: Date, input: CreateCouponInput): Promise<CouponObject> {
  const hasPercent = input.percent_off !== undefined;
  const hasAmount = input.amount_off !== undefined;
  if (hasPercent && hasAmount) throw new InvalidRequestError('You may only specify one of these parameters: percent_off, amount_off.', 'amount_off');
  if (!hasPercent && !hasAmount) throw new InvalidRequestError('Missing required param: percent_off or amount_off.', 'percent_off', 'parameter_missing');
  if (hasAmount && input.currency === undefined) {
    throw new InvalidRequestError('Missing required param: currency (an amount_off coupon needs one).', 'currency', 'parameter_missing');
  }
  if (hasPercent && input.currency !== undefined) throw new InvalidRequestError('currency can only be given with amount_off.', 'currency');
  const currencyOptions = checkCurrencyOptions(input.currency_options, hasAmount ? input.currency! : null);
  const duration = input.duration ?? 'once';
  if (duration === 'repeating' && input.duration_in_months === undefined) {
    throw new InvalidRequestError('Missing required param: duration_in_months (required when duration is repeating).', 'duration_in_months', 'parameter_missing');
  }
  if (duration !== 'repeating' && input.duration_in_months !== undefined) {
    throw new InvalidRequestError('duration_in_months can only be given when duration is repeating.', 'duration_in_months');
  }
  if (input.redeem_by !== undefined && input.redeem_by <= toUnix(now)) throw new InvalidRequestError('redeem_by must be in the future.', 'redeem_by');
  const products = input.applies_to ? await checkProducts(q, input.applies_to.products) : null;

  const id = input.id ?? newId('coupon');
  const row = await insertCoupon(q, {
    id,
    name: input.name ?? null,
    // Validated to two decimals, so the product is within float error of an integer: round, exactly.
    percent_off_bp: hasPercent ? Math.round(input.percent_off! * 100) : null,
    amount_off: input.amount_off ?? null,
    currency: input.currency ?? null,
    currency_options: currencyOptions,
    duration,
    duration_in_months: input.duration_in_months ?? null,
    max_redemptions: input.max_redemptions ?? null,
    times_redeemed: 0,
    redeem_by: input.redeem_by === undefined ? null : fromUnix(input.redeem_by),
    applies_to_products: products,
    metadata: mergeMetadata({}, input.metadata),
    created: now,
  });
  if (!row) throw new InvalidRequestError(`A coupon with the id '${id}' already exists.`, 'id', 'resource_already_exists');
  const obj = serializeCoupon(row, now);
  await recordEvent(q, now, { type: 'coupon.created', object: obj });
  return obj;
}

/** A live coupon; deleted ones are missing here (they can still be read through their discounts). */
export async function getCouponRow(q: Queryable, id: string, opts: { forUpdate?: boolean; param?: string } = {}): Promise<CouponRow> {
  const row = await findCoupon(q, id, opts);
  if (!row || row.deleted_at) throw new NotFoundError('coupon', id, opts.param ?? 'id');
  return row;
}

/** A deleted coupon answers with a stub, like a deleted customer or product. */
export async function retrieveCoupon(q: Queryable, now: Date, id: string): Promise<CouponObject | DeletedCoupon> {
  const row = await findCoupon(q, id);
  if (!row) throw new NotFoundError('coupon', id);
  if (row.deleted_at) return { id: row.id, object: 'coupon', deleted: true };
  return serializeCoupon(row, now);
}

export async function updateCoupon(q: Queryable, now: Date, id: string, input: UpdateCouponInput): Promise<CouponObject> {
  const before = await getCouponRow(q, id, { forUpdate: true });
  const patch: Partial<CouponRow> = {};
  if (input.name !== undefined) patch.name = input.name;
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  if (input.currency_options !== undefined) {
    // Discounts already granted apply the coupon's amounts: a currency it has keeps its amount; new ones are added.
    const added = checkCurrencyOptions(input.currency_options, before.amount_off !== null ? before.currency : null);
    for (const [code, option] of Object.entries(added)) {
      const had = before.currency_options[code];
      if (had && had.amount_off !== option.amount_off) {
        throw new InvalidRequestError(`The coupon already takes ${had.amount_off} off in ${code}; a currency's amount cannot change.`, `currency_options[${code}]`);
      }
    }
    patch.currency_options = { ...before.currency_options, ...added };
  }
  const after = Object.keys(patch).length > 0 ? await updateCouponRow(q, id, patch) : before;
  const obj = serializeCoupon(after, now);
  const prev = previousAttributes(serializeCoupon(before, now), obj);
  if (Object.keys(prev).length > 0) await recordEvent(q, now, { type: 'coupon.updated', object: obj, previousAttributes: prev });
  return obj;
}

/**
 * Soft delete: discounts already granted keep working until their own end; no new redemptions
 * (resolveDiscountSource and the guarded increment both refuse a deleted coupon).
 */
export async function deleteCoupon(q: Queryable, now: Date, id: string): Promise<DeletedCoupon> {
  const before = await getCouponRow(q, id, { forUpdate: true });
  const after = await updateCouponRow(q, id, { deleted_at: now });
  await recordEvent(q, now, { type: 'coupon.deleted', object: serializeCoupon(after, now) });
  return { id: before.id, object: 'coupon', deleted: true };
}

export async function listCoupons(q: Queryable, now: Date, list: ListParams) {
  const { rows, hasMore } = await listCouponRows(q, list);
  return { data: rows.map((r) => serializeCoupon(r, now)), hasMore };
}

// ---------- promotion codes ----------

export function serializePromotionCode(r: PromotionCodeRow, coupon: CouponRow, now: Date): PromotionCodeObject {
  return {
    id: r.id,
    object: 'promotion_code',
    active: r.active,
    code: r.code,
    coupon: serializeCoupon(coupon, now),
    promotion: { type: 'coupon', coupon: r.coupon },
    created: toUnix(new Date(r.created)),
    customer: r.customer,
    expires_at: unixOrNull(r.expires_at),
    livemode: false,
    max_redemptions: r.max_redemptions,
    metadata: r.metadata,
    restrictions: {
      first_time_transaction: r.first_time_transaction,
      minimum_amount: r.minimum_amount,
      minimum_amount_currency: r.minimum_amount_currency,
      // Shown when set (Stripe includes it on request; an integration reading it finds it here).
      ...(Object.keys(r.minimum_amount_options).length > 0 ? { currency_options: r.minimum_amount_options } : {}),
    },
    times_redeemed: r.times_redeemed,
  };
}

/** restrictions[currency_options]: beside a minimum_amount, each key a currency other than its own. */
function checkMinimumOptions(options: Record<string, { minimum_amount: number }> | undefined, currency: string | null): Record<string, { minimum_amount: number }> {
  if (options === undefined) return {};
  if (currency === null) {
    throw new InvalidRequestError('restrictions[currency_options] extends restrictions[minimum_amount] to other currencies: set minimum_amount and minimum_amount_currency too.', 'restrictions[currency_options]');
  }
  const out: Record<string, { minimum_amount: number }> = {};
  for (const [key, option] of Object.entries(options)) {
    const code = key.toLowerCase();
    const param = `restrictions[currency_options][${key}]`;
    if (!isCurrency(code)) throw new InvalidRequestError(`${key} is not an ISO-4217 currency code.`, param);
    if (code === currency) throw new InvalidRequestError(`The minimum in ${currency} is restrictions[minimum_amount], not a currency option.`, param);
    out[code] = { minimum_amount: option.minimum_amount };
  }
  return out;
}

// No 0/O or 1/I: customers read these codes off screens and receipts.
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const GENERATED_CODE_LENGTH = 8;

function generateCode(): string {
  let out = '';
  for (let i = 0; i < GENERATED_CODE_LENGTH; i++) out += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return out;
}

function promotionCodeExists(code: string, param: string): InvalidRequestError {
  return new InvalidRequestError(`An active promotion code '${code}' already exists (codes are case-insensitive).`, param, 'promotion_code_exists');
}

async function couponOf(q: Queryable, promo: PromotionCodeRow): Promise<CouponRow> {
  const coupon = await findCoupon(q, promo.coupon);
  if (!coupon) throw new Error(`promotion code ${promo.id} points at a missing coupon ${promo.coupon}`);
  return coupon;
}

export async function createPromotionCode(q: Queryable, now: Date, input: CreatePromotionCodeInput): Promise<PromotionCodeObject> {
  const nested = input.promotion?.coupon;
  if (input.coupon !== undefined && nested !== undefined && input.coupon !== nested) {
    throw new InvalidRequestError('coupon and promotion[coupon] name different coupons; give one of them.', 'promotion[coupon]');
  }
  const couponId = input.coupon ?? nested;
  const couponParam = input.coupon !== undefined ? 'coupon' : 'promotion[coupon]';
  if (couponId === undefined) throw new InvalidRequestError('Missing required param: coupon.', 'coupon', 'parameter_missing');
  const coupon = await getCouponRow(q, couponId, { param: couponParam });
  const unavailable = couponUnavailable(coupon, now, couponParam);
  if (unavailable) throw unavailable;
  if (input.customer !== undefined) await getCustomerRow(q, input.customer, { param: 'customer' });
  if (input.expires_at !== undefined) {
    if (input.expires_at <= toUnix(now)) throw new InvalidRequestError('expires_at must be in the future.', 'expires_at');
    if (coupon.redeem_by !== null && input.expires_at > toUnix(new Date(coupon.redeem_by))) {
      throw new InvalidRequestError("expires_at cannot be later than the coupon's redeem_by.", 'expires_at');
    }
  }
  const r = input.restrictions ?? {};
  if (r.minimum_amount !== undefined && r.minimum_amount_currency === undefined) {
    throw new InvalidRequestError('Missing required param: restrictions[minimum_amount_currency].', 'restrictions[minimum_amount_currency]', 'parameter_missing');
  }
  if (r.minimum_amount_currency !== undefined && r.minimum_amount === undefined) {
    throw new InvalidRequestError('Missing required param: restrictions[minimum_amount].', 'restrictions[minimum_amount]', 'parameter_missing');
  }
  const minimumOptions = checkMinimumOptions(r.currency_options, r.minimum_amount_currency ?? null);

  const base = {
    coupon: coupon.id,
    active: input.active ?? true,
    customer: input.customer ?? null,
    expires_at: input.expires_at === undefined ? null : fromUnix(input.expires_at),
    max_redemptions: input.max_redemptions ?? null,
    times_redeemed: 0,
    first_time_transaction: r.first_time_transaction ?? false,
    minimum_amount: r.minimum_amount ?? null,
    minimum_amount_currency: r.minimum_amount_currency ?? null,
    minimum_amount_options: minimumOptions,
    metadata: mergeMetadata({}, input.metadata),
    created: now,
  };
  let row: PromotionCodeRow | null = null;
  if (input.code !== undefined) {
    // The partial unique index on upper(code) decides, so two concurrent creates cannot both win.
    row = await insertPromotionCode(q, { ...base, id: newId('promo'), code: input.code });
    if (!row) throw promotionCodeExists(input.code, 'code');
  } else {
    // 32^8 ≈ 10^12 codes: a collision is rare, five in a row means something else is wrong.
    for (let attempt = 0; attempt < 5 && !row; attempt++) row = await insertPromotionCode(q, { ...base, id: newId('promo'), code: generateCode() });
    if (!row) throw new Error('could not generate a unique promotion code');
  }
  const obj = serializePromotionCode(row, coupon, now);
  await recordEvent(q, now, { type: 'promotion_code.created', object: obj, customerId: row.customer });
  return obj;
}

export async function getPromotionCodeRow(q: Queryable, id: string, opts: { forUpdate?: boolean; param?: string } = {}): Promise<PromotionCodeRow> {
  const row = await findPromotionCode(q, id, opts);
  if (!row) throw new NotFoundError('promotion code', id, opts.param ?? 'id');
  return row;
}

export async function retrievePromotionCode(q: Queryable, now: Date, id: string): Promise<PromotionCodeObject> {
  const row = await getPromotionCodeRow(q, id);
  return serializePromotionCode(row, await couponOf(q, row), now);
}

export async function updatePromotionCode(q: Queryable, now: Date, id: string, input: UpdatePromotionCodeInput): Promise<PromotionCodeObject> {
  const before = await getPromotionCodeRow(q, id, { forUpdate: true });
  const coupon = await couponOf(q, before);
  const patch: Partial<PromotionCodeRow> = {};
  if (input.active !== undefined) patch.active = input.active;
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  if (input.active === true && !before.active) {
    // Stripe's rule: a code comes back only while its coupon can still be redeemed.
    const unavailable = couponUnavailable(coupon, now, 'active');
    if (unavailable) throw unavailable;
    if (await activeCodeTaken(q, before.code, id)) throw promotionCodeExists(before.code, 'active');
  }
  let after = before;
  if (Object.keys(patch).length > 0) {
    try {
      after = await updatePromotionCodeRow(q, id, patch);
    } catch (err) {
      // A concurrent reactivation of the same spelling won between our check and our write.
      if (isUniqueViolation(err)) throw promotionCodeExists(before.code, 'active');
      throw err;
    }
  }
  const obj = serializePromotionCode(after, coupon, now);
  const prev = previousAttributes(serializePromotionCode(before, coupon, now), obj);
  if (Object.keys(prev).length > 0) {
    await recordEvent(q, now, { type: 'promotion_code.updated', object: obj, previousAttributes: prev, customerId: after.customer });
  }
  return obj;
}

export async function listPromotionCodes(q: Queryable, now: Date, filter: ListPromotionCodesFilter, list: ListParams) {
  const { rows, hasMore } = await listPromotionCodeRows(q, filter, list);
  const coupons = await findCouponsByIds(q, rows.map((r) => r.coupon));
  return { data: rows.map((r) => serializePromotionCode(r, coupons.get(r.coupon)!, now)), hasMore };
}

// ---------- redemption (used by the subscription and invoice services) ----------

export interface DiscountSource {
  coupon: CouponRow;
  promotionCode: PromotionCodeRow | null;
}

export interface ResolveDiscountSourceArgs {
  /** A coupon id. */
  coupon?: string;
  /** A promotion code id (`promo_…`) or the customer-facing code itself, in any case. */
  promotionCode?: string;
  customerId: string;
  now: Date;
  /** The request parameter every error names, e.g. `discounts[0][coupon]`. */
  param: string;
  /** The currency of what is being discounted (any case): an amount_off coupon must match it. */
  currency?: string;
  /**
   * The amount being discounted (minor units of `currency`; without `currency`, of the restriction's
   * currency), for restrictions[minimum_amount]. Not given: that restriction is not checked here.
   */
  amount?: number;
}

async function findPromotionCodeByIdOrCode(q: Queryable, value: string): Promise<PromotionCodeRow | null> {
  if (hasPrefix(value, 'promo')) return findPromotionCode(q, value);
  return PROMOTION_CODE.test(value) ? findPromotionCodeByCode(q, value) : null;
}

function promotionCodeUnavailable(p: PromotionCodeRow, now: Date, param: string): InvalidRequestError | null {
  if (!p.active) return new InvalidRequestError(`Promotion code '${p.code}' is not active.`, param, 'promotion_code_inactive');
  if (isPast(p.expires_at, now)) return new InvalidRequestError(`Promotion code '${p.code}' has expired.`, param, 'promotion_code_expired');
  if (p.max_redemptions !== null && p.times_redeemed >= p.max_redemptions) {
    return new InvalidRequestError(`Promotion code '${p.code}' has reached its max_redemptions (${p.max_redemptions}).`, param, 'promotion_code_max_redemptions');
  }
  return null;
}

function customerMismatch(p: PromotionCodeRow, param: string): InvalidRequestError {
  return new InvalidRequestError(`Promotion code '${p.code}' is restricted to another customer.`, param, 'promotion_code_customer_mismatch');
}

/**
 * Checks that a coupon or promotion code can be redeemed by this customer now, without taking a
 * redemption (redeem does, atomically). Throws a 400 naming `param` with a stable code, or a 404.
 */
export async function resolveDiscountSource(q: Queryable, args: ResolveDiscountSourceArgs): Promise<DiscountSource> {
  const { now, param } = args;
  // Stored currencies are lowercase (zCurrency); a caller may hold one as the customer typed it.
  const currency = args.currency?.toLowerCase();
  let promo: PromotionCodeRow | null = null;
  if (args.promotionCode !== undefined) {
    promo = await findPromotionCodeByIdOrCode(q, args.promotionCode);
    if (!promo) throw new NotFoundError('promotion code', args.promotionCode, param);
    if (args.coupon !== undefined && args.coupon !== promo.coupon) {
      throw new InvalidRequestError(`Promotion code '${promo.code}' is for coupon '${promo.coupon}', not '${args.coupon}'.`, param, 'promotion_code_coupon_mismatch');
    }
    if (promo.customer !== null && promo.customer !== args.customerId) throw customerMismatch(promo, param);
    const unavailable = promotionCodeUnavailable(promo, now, param);
    if (unavailable) throw unavailable;
  }
  const couponId = promo?.coupon ?? args.coupon;
  if (couponId === undefined) throw new InvalidRequestError('Missing required param: a coupon or a promotion code.', param, 'parameter_missing');
  const coupon = await findCoupon(q, couponId);
  if (!coupon) throw new NotFoundError('coupon', couponId, param);
  const unavailable = couponUnavailable(coupon, now, param);
  if (unavailable) throw unavailable;
  if (currency !== undefined && coupon.currency !== null && coupon.currency !== currency && !coupon.currency_options[currency]) {
    throw new InvalidRequestError(
      `Coupon '${coupon.id}' takes ${coupon.amount_off} off in ${coupon.currency} and has no currency option for ${currency}; it cannot apply to amounts in ${currency}.`,
      param,
      'coupon_currency_mismatch',
    );
  }
  if (promo) {
    if (promo.first_time_transaction && (await customerHasPaid(q, args.customerId))) {
      throw new InvalidRequestError(`Promotion code '${promo.code}' is only for customers without a previous payment.`, param, 'promotion_code_first_time_only');
    }
    // The minimum is in the restriction's currency or one of its currency options: an amount in
    // another currency cannot meet it.
    if (promo.minimum_amount !== null && args.amount !== undefined) {
      const minimum = currency === undefined || currency === promo.minimum_amount_currency ? promo.minimum_amount : promo.minimum_amount_options[currency]?.minimum_amount;
      const inCurrency = currency ?? promo.minimum_amount_currency;
      if (minimum === undefined || args.amount < minimum) {
        throw new InvalidRequestError(
          minimum === undefined
            ? `Promotion code '${promo.code}' needs a minimum amount of ${promo.minimum_amount} ${promo.minimum_amount_currency}; this amount is in ${currency}.`
            : `Promotion code '${promo.code}' needs a minimum amount of ${minimum} ${inCurrency}; this amount is ${args.amount} ${inCurrency}.`,
          param,
          'promotion_code_minimum_amount',
        );
      }
    }
  }
  return { coupon, promotionCode: promo };
}

export interface RedeemArgs {
  coupon: CouponRow;
  promotionCode: PromotionCodeRow | null;
  customerId: string;
  subscriptionId?: string | null;
  invoiceId?: string | null;
  now: Date;
  /** The request parameter errors name; default `coupon` (or `promotion_code`). */
  param?: string;
}

export function serializeDiscount(r: DiscountRow, coupon: CouponRow, now: Date): DiscountObject {
  return {
    id: r.id,
    object: 'discount',
    checkout_session: null,
    coupon: serializeCoupon(coupon, now),
    source: { type: 'coupon', coupon: r.coupon },
    customer: r.customer,
    subscription: r.subscription,
    subscription_item: null,
    invoice: r.invoice,
    invoice_item: null,
    promotion_code: r.promotion_code,
    start: toUnix(new Date(r.start_at)),
    end: unixOrNull(r.end_at),
  };
}

/**
 * Takes one redemption of the coupon (and of the promotion code) and grants the discount, in the
 * caller's transaction. Each counter moves with a guarded UPDATE, so concurrent redeemers can never
 * exceed max_redemptions; the loser gets the same 400 that resolveDiscountSource would give.
 */
export async function redeem(q: Queryable, args: RedeemArgs): Promise<DiscountObject> {
  const { now, promotionCode: promo } = args;
  const param = args.param ?? (promo ? 'promotion_code' : 'coupon');
  if (promo && promo.coupon !== args.coupon.id) throw new Error(`promotion code ${promo.id} is not for coupon ${args.coupon.id}`);
  if (promo && promo.customer !== null && promo.customer !== args.customerId) throw customerMismatch(promo, param);

  const coupon = await incrementCouponRedemptions(q, args.coupon.id, now);
  if (!coupon) {
    const current = (await findCoupon(q, args.coupon.id)) ?? args.coupon;
    throw couponUnavailable(current, now, param) ?? new InvalidRequestError(`Coupon '${current.id}' cannot be redeemed.`, param, 'coupon_max_redemptions');
  }
  if (promo) {
    const updated = await incrementPromotionCodeRedemptions(q, promo.id, now);
    if (!updated) {
      const current = (await findPromotionCode(q, promo.id)) ?? promo;
      throw promotionCodeUnavailable(current, now, param) ??
        new InvalidRequestError(`Promotion code '${current.code}' cannot be redeemed.`, param, 'promotion_code_max_redemptions');
    }
  }

  const row = await insertDiscount(q, {
    id: newId('di'),
    coupon: coupon.id,
    customer: args.customerId,
    subscription: args.subscriptionId ?? null,
    invoice: args.invoiceId ?? null,
    promotion_code: promo?.id ?? null,
    start_at: now,
    // `once` stays open until the invoice service ends it after the first invoice; `forever` never ends.
    end_at: coupon.duration === 'repeating' ? addMonths(now, coupon.duration_in_months!) : null,
    created: now,
  });
  const obj = serializeDiscount(row, coupon, now);
  await recordEvent(q, now, { type: 'customer.discount.created', object: obj, customerId: row.customer });
  return obj;
}

export interface ActiveDiscount {
  discount: DiscountRow;
  coupon: CouponRow;
}

/**
 * Discounts in force at `at`: start ≤ at < end (or no end), not deleted. Returns the subscription's
 * (and the invoice's, when given) discounts first, then the customer-wide ones; the caller decides
 * precedence. Coupons are joined even when deleted: a discount outlives its coupon's deletion.
 */
export async function activeDiscountsFor(
  q: Queryable,
  args: { subscriptionId?: string | null; invoiceId?: string | null; customerId: string; at: Date },
): Promise<ActiveDiscount[]> {
  const rows = await findActiveDiscountRows(q, args);
  const coupons = await findCouponsByIds(q, rows.map((r) => r.coupon));
  return rows.map((discount) => ({ discount, coupon: coupons.get(discount.coupon)! }));
}

/**
 * A discount for `expand[]` (Stripe has no endpoint of its own for it). One removed from its
 * subscription since still expands: the invoices it reduced keep naming it.
 */
export async function retrieveDiscount(q: Queryable, now: Date, discountId: string): Promise<DiscountObject> {
  const row = await findDiscount(q, discountId);
  if (!row) throw new NotFoundError('discount', discountId);
  const coupon = (await findCoupon(q, row.coupon))!;
  return serializeDiscount(row, coupon, now);
}

/**
 * Ends a discount at `now` (a `once` discount after its invoice; DELETE …/discount). Idempotent: a
 * discount that already ended keeps its earlier end and no second event is written.
 */
export async function endDiscount(q: Queryable, discountId: string, now: Date): Promise<DiscountObject> {
  const res = await endDiscountRow(q, discountId, now);
  if (!res) throw new NotFoundError('discount', discountId);
  const coupon = (await findCoupon(q, res.row.coupon))!;
  const obj = serializeDiscount(res.row, coupon, now);
  if (res.changed) await recordEvent(q, now, { type: 'customer.discount.deleted', object: obj, customerId: res.row.customer });
  return obj;
}

/**
 * Takes discounts off a subscription (an update's `discounts: ""`, or a new list replacing the old),
 * all but those in `keep`: one in force ends now with its customer.discount.deleted, as DELETE
 * …/discount does, and each is removed from the subscription's list.
 */
export async function removeSubscriptionDiscounts(q: Queryable, subscriptionId: string, now: Date, keep: ReadonlySet<string> = new Set()): Promise<void> {
  const { rows } = await q.query<{ id: string; start_at: Date; end_at: Date | null }>(
    `SELECT id, start_at, end_at FROM discounts WHERE subscription = $1 AND deleted_at IS NULL ORDER BY id FOR UPDATE`,
    [subscriptionId],
  );
  for (const r of rows) {
    if (keep.has(r.id)) continue;
    const inForce = new Date(r.start_at) <= now && (r.end_at === null || now < new Date(r.end_at));
    if (inForce) await endDiscount(q, r.id, now);
    await q.query(`UPDATE discounts SET deleted_at = $2 WHERE id = $1`, [r.id, now]);
  }
}

/**
 * `DELETE /v1/subscriptions/{id}/discount`: ends the subscription's discount in force now — at the
 * test clock's time for a subscription on one — writing customer.discount.deleted. Later invoices no
 * longer take it. 404 if there is none.
 */
export async function deleteActiveDiscount(q: Queryable, requestNow: Date, subscriptionId: string): Promise<DiscountObject & { deleted: true }> {
  const { rows: owners } = await q.query<{ customer: string; frozen_time: Date | null }>(
    `SELECT s.customer, tc.frozen_time FROM subscriptions s LEFT JOIN test_clocks tc ON tc.id = s.test_clock WHERE s.id = $1`,
    [subscriptionId],
  );
  const owner = owners[0];
  if (!owner) throw new NotFoundError('subscription', subscriptionId);
  const now = owner.frozen_time ? new Date(owner.frozen_time) : requestNow;
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM discounts
      WHERE subscription = $1 AND deleted_at IS NULL AND start_at <= $2 AND (end_at IS NULL OR $2 < end_at)
      ORDER BY id FOR UPDATE`,
    [subscriptionId, now],
  );
  if (rows.length === 0) throw new AppError(404, 'invalid_request_error', 'resource_missing', `No active discount for subscription '${subscriptionId}'.`, 'id');
  let last: DiscountObject | null = null;
  for (const r of rows) {
    last = await endDiscount(q, r.id, now);
    // Removed, not merely ended: the subscription no longer lists it (invoices already made keep theirs).
    await q.query(`UPDATE discounts SET deleted_at = $2 WHERE id = $1`, [r.id, now]);
  }
  return { ...last!, deleted: true };
}
