import { formatMoney } from '../../core/money/index.js';
import type { Queryable } from '../../db/index.js';
import { findPricesByIds, findProductsByIds, type PriceRow } from '../catalog/repository.js';
import type { LineDraft } from '../invoices/builder.js';
import type { Discount } from '../invoices/domain/discounts.js';
import type { PricedItem } from './domain/proration.js';
import type { ItemRow, SubscriptionRow } from './repository.js';

// What billing needs to know about a batch of subscriptions, loaded with a handful of set-based
// queries (never one per subscription): prices and product names, pending invoice items, discounts.

export interface PriceInfo {
  price: PriceRow;
  productId: string;
  productName: string;
}

export async function loadPricing(q: Queryable, priceIds: string[]): Promise<Map<string, PriceInfo>> {
  const prices = await findPricesByIds(q, [...new Set(priceIds)]);
  const products = new Map((await findProductsByIds(q, [...new Set(prices.map((p) => p.product))])).map((p) => [p.id, p]));
  return new Map(prices.map((p) => [p.id, { price: p, productId: p.product, productName: products.get(p.product)?.name ?? p.product }]));
}

/** The unit amount of a price in the subscription's currency (its own or a currency option). */
export function unitAmountIn(price: PriceRow, currency: string): number | null {
  if (price.currency === currency) return price.unit_amount;
  return price.currency_options[currency]?.unit_amount ?? null;
}

function intervalLabel(p: PriceRow): string {
  if (p.type !== 'recurring') return '';
  const n = p.interval_count ?? 1;
  return n === 1 ? ` / ${p.interval}` : ` every ${n} ${p.interval}s`;
}

/** Stripe's wording: "1 × Elite 1:1 Coaching (at $5,000.00 / month)". */
export function itemDescription(info: PriceInfo, quantity: number, currency: string): string {
  const unit = unitAmountIn(info.price, currency) ?? info.price.unit_amount;
  return `${quantity} × ${info.productName} (at ${formatMoney({ amount: unit, currency })}${intervalLabel(info.price)})`;
}

export function pricedItems(sub: Pick<SubscriptionRow, 'currency'>, items: Pick<ItemRow, 'price' | 'quantity'>[], pricing: Map<string, PriceInfo>): PricedItem[] {
  return items.map((i) => {
    const info = pricing.get(i.price)!;
    return { priceId: i.price, productName: info.productName, unitAmount: unitAmountIn(info.price, sub.currency)!, quantity: i.quantity, currency: sub.currency };
  });
}

/** Licensed items billed in advance for a whole period. */
export function periodLines(sub: SubscriptionRow, items: ItemRow[], pricing: Map<string, PriceInfo>, period: { start: Date; end: Date }): LineDraft[] {
  return items.map((i) => {
    const info = pricing.get(i.price)!;
    const unit = unitAmountIn(info.price, sub.currency)!;
    return {
      type: 'subscription',
      subscription: sub.id,
      subscriptionItem: i.id,
      invoiceItem: null,
      price: i.price,
      productId: info.productId,
      description: itemDescription(info, i.quantity, sub.currency),
      quantity: i.quantity,
      unitAmount: unit,
      amount: unit * i.quantity,
      currency: sub.currency,
      periodStart: period.start,
      periodEnd: period.end,
      proration: false,
      discountable: true,
    };
  });
}

/** A trial's $0 lines for `items` over `period` (the trial's invoice). */
export function trialLines(sub: SubscriptionRow, items: ItemRow[], pricing: Map<string, PriceInfo>, period: { start: Date; end: Date }): LineDraft[] {
  return periodLines(sub, items, pricing, period).map((l) => ({ ...l, description: `Trial period for ${pricing.get(l.price!)!.productName}`, unitAmount: 0, amount: 0 }));
}

export interface PendingItemRow {
  id: string;
  customer: string;
  subscription: string | null;
  subscription_item: string | null;
  price: string | null;
  description: string | null;
  quantity: number;
  unit_amount: number;
  amount: number;
  currency: string;
  period_start: Date;
  period_end: Date;
  proration: boolean;
  discountable: boolean;
  /** The product of the item's price (a coupon's applies_to.products matches it), null without a price. */
  product_id?: string | null;
  /**
   * A proration's discount amounts, fixed when it was made (migration 0016; see proration-items.ts);
   * null for other items (and prorations made before): the invoice's discounts apply to them.
   */
  proration_discount_amounts?: { discount: string; amount: number }[] | null;
}

/**
 * Pending invoice items that the next invoice of each subscription picks up: those of the
 * subscription, and the customer's items not tied to a live subscription — items of no subscription
 * and those left by an ended one, such as the prorated credit of a cancellation without a final
 * invoice (as Stripe, the customer's next invoice takes them).
 *
 * `lock` (on for anything that writes an invoice) locks the items, so two transactions billing the
 * same customer at once cannot both take an item: the second waits, then finds it attached to the
 * first one's invoice and leaves it out.
 */
export async function pendingItemsFor(
  q: Queryable,
  subs: (Pick<SubscriptionRow, 'id' | 'customer'> & { currency?: string })[],
  opts: { lock?: boolean } = {},
): Promise<Map<string, PendingItemRow[]>> {
  const out = new Map<string, PendingItemRow[]>(subs.map((s) => [s.id, []]));
  if (subs.length === 0) return out;
  const { rows } = await q.query<PendingItemRow & { subscription_ended: boolean }>(
    `SELECT i.*, s.status IN ('canceled', 'incomplete_expired') AS subscription_ended, p.product AS product_id
       FROM invoice_items i LEFT JOIN subscriptions s ON s.id = i.subscription LEFT JOIN prices p ON p.id = i.price
      WHERE i.invoice IS NULL AND i.deleted_at IS NULL AND i.customer = ANY($1::text[])
      ORDER BY i.id${opts.lock === false ? '' : ' FOR UPDATE OF i'}`,
    [[...new Set(subs.map((s) => s.customer))]],
  );
  // An invoice has one currency: an item in another currency than its subscription's stays pending
  // (a manual invoice, whose currency is not known yet, passes none and filters itself).
  const takes = (s: (typeof subs)[number], currency: string) => s.currency === undefined || s.currency === currency;
  const byId = new Map(subs.map((s) => [s.id, s]));
  for (const { subscription_ended, ...r } of rows) {
    // A customer-level item goes to one invoice only: the first subscription of the batch that takes it.
    const target = r.subscription && !subscription_ended ? byId.get(r.subscription) : subs.find((s) => s.customer === r.customer && takes(s, r.currency));
    if (target && takes(target, r.currency)) out.get(target.id)!.push(r);
  }
  return out;
}

export function pendingLines(items: PendingItemRow[]): LineDraft[] {
  return items.map((r) => ({
    type: 'invoiceitem',
    subscription: r.subscription,
    subscriptionItem: r.subscription_item,
    invoiceItem: r.id,
    price: r.price,
    productId: r.product_id ?? null,
    description: r.description ?? 'Invoice item',
    quantity: r.quantity,
    unitAmount: r.unit_amount,
    amount: r.amount,
    currency: r.currency,
    periodStart: r.period_start,
    periodEnd: r.period_end,
    proration: r.proration,
    discountable: r.discountable,
    fixedDiscountAmounts: r.proration_discount_amounts ?? null,
  }));
}

/** A discount joined with its coupon's terms: what an invoice needs to apply it. */
export interface DiscountTermsRow {
  id: string;
  start_at: Date;
  coupon_id: string;
  percent_off_bp: number | null;
  amount_off: number | null;
  currency: string | null;
  currency_options: Record<string, { amount_off: number }> | null;
  duration: 'once' | 'repeating' | 'forever';
  duration_in_months: number | null;
  applies_to_products: string[] | null;
}

interface DiscountJoinRow extends DiscountTermsRow {
  subscription: string | null;
  customer: string;
  end_at: Date | null;
}

/**
 * Discounts that apply to an invoice whose period starts at `at`, per subscription: the
 * subscription's own, else the customer's (Stripe: a subscription discount overrides a customer one).
 * Locked (unless `lock: false`, for previews) like pending items: a `once` discount that another
 * transaction spends meanwhile is read as ended once that one commits. A customer's own `amount_off`
 * discount in another currency than the invoice's (`currency`), without an option for it, does not
 * apply to it (a subscription's own were checked against its currency when redeemed).
 */
export async function discountsFor(
  q: Queryable,
  subs: (Pick<SubscriptionRow, 'id' | 'customer'> & { currency?: string | null })[],
  at: Map<string, Date>,
  opts: { lock?: boolean } = {},
): Promise<Map<string, Discount[]>> {
  const out = new Map<string, Discount[]>(subs.map((s) => [s.id, []]));
  if (subs.length === 0) return out;
  const { rows } = await q.query<DiscountJoinRow>(
    `SELECT d.id, d.subscription, d.customer, d.start_at, d.end_at, c.id AS coupon_id, c.percent_off_bp, c.amount_off, c.currency, c.currency_options,
            c.duration, c.duration_in_months, c.applies_to_products
       FROM discounts d JOIN coupons c ON c.id = d.coupon
      WHERE d.deleted_at IS NULL AND (d.subscription = ANY($1::text[]) OR (d.subscription IS NULL AND d.invoice IS NULL AND d.customer = ANY($2::text[])))
      ORDER BY d.id${opts.lock === false ? '' : ' FOR UPDATE OF d'}`,
    [subs.map((s) => s.id), [...new Set(subs.map((s) => s.customer))]],
  );
  for (const s of subs) {
    const t = at.get(s.id)!.getTime();
    const live = (r: DiscountJoinRow) => new Date(r.start_at).getTime() <= t && (r.end_at === null || t < new Date(r.end_at).getTime());
    const own = rows.filter((r) => r.subscription === s.id && live(r));
    const fits = (r: DiscountJoinRow) => r.amount_off === null || !s.currency || r.currency === s.currency || !!r.currency_options?.[s.currency];
    const chosen = own.length ? own : rows.filter((r) => r.subscription === null && r.customer === s.customer && live(r) && fits(r));
    out.set(s.id, chosen.map(toDiscount));
  }
  return out;
}

export function toDiscount(r: DiscountTermsRow): Discount {
  return {
    id: r.id,
    start: new Date(r.start_at),
    coupon: {
      id: r.coupon_id,
      percent_off: r.percent_off_bp === null ? null : r.percent_off_bp / 100,
      amount_off: r.amount_off,
      currency: r.currency,
      currency_options: r.currency_options,
      duration: r.duration,
      duration_in_months: r.duration_in_months,
      applies_to: r.applies_to_products ? { products: r.applies_to_products } : null,
    },
  };
}

export type { ItemRow };
