import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { CouponDuration, ListPromotionCodesFilter } from './schemas.js';

export interface CouponRow {
  id: string;
  name: string | null;
  /** Hundredths of a percent: 25.5 % → 2550. Exactly one of percent_off_bp and amount_off is set. */
  percent_off_bp: number | null;
  /** Minor units of `currency`. */
  amount_off: number | null;
  currency: string | null;
  /** An amount_off coupon's amount in other currencies (Stripe's currency_options). */
  currency_options: Record<string, { amount_off: number }>;
  duration: CouponDuration;
  /** Set iff duration is 'repeating'. */
  duration_in_months: number | null;
  max_redemptions: number | null;
  times_redeemed: number;
  redeem_by: Date | null;
  /** null: the coupon applies to every product. */
  applies_to_products: string[] | null;
  metadata: Record<string, string>;
  created: Date;
  deleted_at: Date | null;
}

export interface PromotionCodeRow {
  id: string;
  /** As the merchant typed it; matched case-insensitively. */
  code: string;
  coupon: string;
  active: boolean;
  customer: string | null;
  expires_at: Date | null;
  max_redemptions: number | null;
  times_redeemed: number;
  first_time_transaction: boolean;
  minimum_amount: number | null;
  minimum_amount_currency: string | null;
  /** The minimum in other currencies than minimum_amount_currency (Stripe's restrictions.currency_options). */
  minimum_amount_options: Record<string, { minimum_amount: number }>;
  metadata: Record<string, string>;
  created: Date;
}

export interface DiscountRow {
  id: string;
  coupon: string;
  customer: string;
  subscription: string | null;
  invoice: string | null;
  promotion_code: string | null;
  start_at: Date;
  /** null: open-ended (forever, or once until the invoice service ends it). */
  end_at: Date | null;
  created: Date;
  deleted_at: Date | null;
}

const COUPON_COLUMNS = [
  'id', 'name', 'percent_off_bp', 'amount_off', 'currency', 'currency_options', 'duration', 'duration_in_months', 'max_redemptions', 'times_redeemed',
  'redeem_by', 'applies_to_products', 'metadata', 'created',
] as const;
const PROMOTION_CODE_COLUMNS = [
  'id', 'code', 'coupon', 'active', 'customer', 'expires_at', 'max_redemptions', 'times_redeemed', 'first_time_transaction',
  'minimum_amount', 'minimum_amount_currency', 'minimum_amount_options', 'metadata', 'created',
] as const;
const DISCOUNT_COLUMNS = ['id', 'coupon', 'customer', 'subscription', 'invoice', 'promotion_code', 'start_at', 'end_at', 'created'] as const;
const JSON_COLUMNS = new Set(['applies_to_products', 'metadata', 'currency_options', 'minimum_amount_options']);

function toParam(col: string, v: unknown): unknown {
  return JSON_COLUMNS.has(col) && v !== null && v !== undefined ? JSON.stringify(v) : v;
}

/** INSERT … ON CONFLICT DO NOTHING: null when a unique key (id, or an active code) is taken. */
async function insertRow<R>(q: Queryable, table: string, columns: readonly string[], row: Record<string, unknown>): Promise<R | null> {
  const { rows } = await q.query<R>(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING RETURNING *`,
    columns.map((c) => toParam(c, row[c])),
  );
  return rows[0] ?? null;
}

async function updateRow<R>(q: Queryable, table: string, columns: readonly string[], id: string, patch: Record<string, unknown>): Promise<R> {
  const cols = Object.keys(patch).filter((c) => columns.includes(c) || c === 'deleted_at');
  const sets = cols.map((c, i) => `${c} = $${i + 2}`);
  const { rows } = await q.query<R>(`UPDATE ${table} SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [id, ...cols.map((c) => toParam(c, patch[c]))]);
  return rows[0]!;
}

/** PostgreSQL's unique_violation, as both drivers report it. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

// ---------- coupons ----------

/** null when a coupon with this id already exists (deleted ones included: ids are never reused). */
export function insertCoupon(q: Queryable, row: Omit<CouponRow, 'deleted_at'>): Promise<CouponRow | null> {
  return insertRow<CouponRow>(q, 'coupons', COUPON_COLUMNS, row as unknown as Record<string, unknown>);
}

/** Includes soft-deleted rows. */
export async function findCoupon(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<CouponRow | null> {
  const { rows } = await q.query<CouponRow>(`SELECT * FROM coupons WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** Includes soft-deleted rows (a promotion code or discount keeps showing its coupon). */
export async function findCouponsByIds(q: Queryable, ids: readonly string[]): Promise<Map<string, CouponRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<CouponRow>('SELECT * FROM coupons WHERE id = ANY($1::text[])', [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, r]));
}

export function updateCouponRow(q: Queryable, id: string, patch: Partial<CouponRow>): Promise<CouponRow> {
  return updateRow<CouponRow>(q, 'coupons', COUPON_COLUMNS, id, patch);
}

export function listCouponRows(q: Queryable, list: ListParams) {
  return paginate<CouponRow>(q, { table: 'coupons', where: 'deleted_at IS NULL' }, list);
}

/**
 * Takes one redemption if the coupon still allows it. The row lock serialises concurrent
 * redeemers, and PostgreSQL re-checks the WHERE on the row version the winner committed, so
 * max_redemptions can never be overrun (the table's CHECK is the backstop). null: none left.
 */
export async function incrementCouponRedemptions(q: Queryable, id: string, now: Date): Promise<CouponRow | null> {
  const { rows } = await q.query<CouponRow>(
    `UPDATE coupons SET times_redeemed = times_redeemed + 1
     WHERE id = $1 AND deleted_at IS NULL AND (redeem_by IS NULL OR redeem_by > $2)
       AND (max_redemptions IS NULL OR times_redeemed < max_redemptions)
     RETURNING *`,
    [id, now],
  );
  return rows[0] ?? null;
}

// ---------- promotion codes ----------

/** null when the id is taken or another active code has the same spelling (any case). */
export function insertPromotionCode(q: Queryable, row: PromotionCodeRow): Promise<PromotionCodeRow | null> {
  return insertRow<PromotionCodeRow>(q, 'promotion_codes', PROMOTION_CODE_COLUMNS, row as unknown as Record<string, unknown>);
}

export async function findPromotionCode(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<PromotionCodeRow | null> {
  const { rows } = await q.query<PromotionCodeRow>(`SELECT * FROM promotion_codes WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** The code as a customer types it: the active one if any (there is at most one), else the newest. */
export async function findPromotionCodeByCode(q: Queryable, code: string): Promise<PromotionCodeRow | null> {
  const { rows } = await q.query<PromotionCodeRow>(
    'SELECT * FROM promotion_codes WHERE upper(code) = upper($1) ORDER BY active DESC, id DESC LIMIT 1',
    [code],
  );
  return rows[0] ?? null;
}

/** Another active code with the same spelling, ignoring case. */
export async function activeCodeTaken(q: Queryable, code: string, exceptId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM promotion_codes WHERE upper(code) = upper($1) AND active AND id <> $2 LIMIT 1', [code, exceptId]);
  return rows.length > 0;
}

export function updatePromotionCodeRow(q: Queryable, id: string, patch: Partial<PromotionCodeRow>): Promise<PromotionCodeRow> {
  return updateRow<PromotionCodeRow>(q, 'promotion_codes', PROMOTION_CODE_COLUMNS, id, patch);
}

export function listPromotionCodeRows(q: Queryable, filter: ListPromotionCodesFilter, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    where.push(sql(params.length));
  };
  if (filter.code !== undefined) add((n) => `upper(code) = upper($${n})`, filter.code);
  if (filter.coupon !== undefined) add((n) => `coupon = $${n}`, filter.coupon);
  if (filter.customer !== undefined) add((n) => `customer = $${n}`, filter.customer);
  if (filter.active !== undefined) add((n) => `active = $${n}`, filter.active);
  return paginate<PromotionCodeRow>(q, { table: 'promotion_codes', where: where.join(' AND ') || undefined, params }, list);
}

/** Same guarded increment as for coupons, plus the code's own activity and expiry. */
export async function incrementPromotionCodeRedemptions(q: Queryable, id: string, now: Date): Promise<PromotionCodeRow | null> {
  const { rows } = await q.query<PromotionCodeRow>(
    `UPDATE promotion_codes SET times_redeemed = times_redeemed + 1
     WHERE id = $1 AND active AND (expires_at IS NULL OR expires_at > $2)
       AND (max_redemptions IS NULL OR times_redeemed < max_redemptions)
     RETURNING *`,
    [id, now],
  );
  return rows[0] ?? null;
}

/**
 * Whether the customer ever made a successful payment (restrictions[first_time_transaction]): a paid
 * invoice, or a succeeded payment intent of their own, an invoice's or a one-off charge.
 */
export async function customerHasPaid(q: Queryable, customerId: string): Promise<boolean> {
  const { rows } = await q.query<{ paid: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM invoices WHERE customer = $1 AND status = 'paid')
         OR EXISTS (SELECT 1 FROM payment_intents WHERE customer = $1 AND status = 'succeeded') AS paid`,
    [customerId],
  );
  return rows[0]?.paid === true;
}

// ---------- discounts ----------

export async function insertDiscount(q: Queryable, row: Omit<DiscountRow, 'deleted_at'>): Promise<DiscountRow> {
  const { rows } = await q.query<DiscountRow>(
    `INSERT INTO discounts (${DISCOUNT_COLUMNS.join(', ')}) VALUES (${DISCOUNT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    DISCOUNT_COLUMNS.map((c) => row[c]),
  );
  return rows[0]!;
}

export async function findDiscount(q: Queryable, id: string): Promise<DiscountRow | null> {
  const { rows } = await q.query<DiscountRow>('SELECT * FROM discounts WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** Ends the discount at `now` unless it already ended earlier. null: no such (undeleted) discount. */
export async function endDiscountRow(q: Queryable, id: string, now: Date): Promise<{ row: DiscountRow; changed: boolean } | null> {
  const before = await q.query<DiscountRow>('SELECT * FROM discounts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE', [id]);
  const row = before.rows[0];
  if (!row) return null;
  if (row.end_at !== null && new Date(row.end_at).getTime() <= now.getTime()) return { row, changed: false };
  const { rows } = await q.query<DiscountRow>('UPDATE discounts SET end_at = $2 WHERE id = $1 RETURNING *', [id, now]);
  return { row: rows[0]!, changed: true };
}

/**
 * Discounts in force at `at` for a customer: the customer-wide ones (no subscription, no invoice),
 * plus those of the given subscription and invoice. Subscription- and invoice-level rows first.
 */
export async function findActiveDiscountRows(
  q: Queryable,
  filter: { customerId: string; subscriptionId?: string | null; invoiceId?: string | null; at: Date },
): Promise<DiscountRow[]> {
  const { rows } = await q.query<DiscountRow>(
    `SELECT * FROM discounts
     WHERE customer = $1 AND deleted_at IS NULL AND start_at <= $2 AND (end_at IS NULL OR $2 < end_at)
       AND ((subscription IS NULL AND invoice IS NULL) OR subscription = $3::text OR invoice = $4::text)
     ORDER BY (subscription IS NULL AND invoice IS NULL), start_at, id`,
    [filter.customerId, filter.at, filter.subscriptionId ?? null, filter.invoiceId ?? null],
  );
  return rows;
}
