import { newId } from '../../core/ids/index.js';
import type { Queryable } from '../../db/index.js';
import type { LineDraft } from '../invoices/builder.js';
import { discountProrations, type Discount, type DiscountableLine } from '../invoices/domain/discounts.js';
import { discountsFor, loadPricing, pricedItems, unitAmountIn, type PriceInfo } from './billing.js';
import { stretchLines, type ProrationLine } from './domain/proration.js';
import { pricedPeriod, prorationLine } from './drafts.js';
import { itemsOf, type ItemRow, type SubscriptionRow } from './repository.js';

// Proration items carry the discounts in force when they are made, as Stripe records them on the
// proration (invoice_item.proration_details.discount_amounts): the invoice that later takes the item
// applies those amounts, not the discounts in force by then — a repeating coupon that has ended since
// still discounts the upgrade made while it ran, and a cancellation credit gives back what was paid
// (after the discount), not the full price. The real operations store them (storeProrationItems) and
// the upcoming-invoice preview shows the same lines (prorationDrafts), from the same computation.

/** The items a change prorates, before and after it (a cancellation has no `after`), and their prices. */
export interface ProrationItems {
  before: Pick<ItemRow, 'price' | 'quantity'>[];
  after: Pick<ItemRow, 'price' | 'quantity'>[];
  pricing: Map<string, PriceInfo>;
}

export type FixedDiscountAmounts = { discount: string; amount: number }[];

/**
 * The discounts a proration made at `at` keeps: the subscription's (else the customer's) in force
 * then, except `once` ones. A `once` discount belongs to the one invoice that spends it and applies to
 * all of that invoice's lines, prorations included (applyDiscounts): fixing it on the proration too
 * would spend it twice — again on whatever invoice takes the proration, or twice on the same one.
 * Read without locking: the lock discountsFor takes guards a `once` discount being spent meanwhile,
 * and none is kept here; taking it here, before the invoice items an immediate invoice then locks,
 * would lock in the opposite order to the worker (items, then discounts).
 */
export async function discountsInForce(q: Queryable, sub: Pick<SubscriptionRow, 'id' | 'customer'>, at: Date): Promise<Discount[]> {
  const all = (await discountsFor(q, [sub], new Map([[sub.id, at]]), { lock: false })).get(sub.id)!;
  return all.filter((d) => d.coupon.duration !== 'once');
}

/** A whole period of `items`, as invoice lines would bill it, for discountProrations. */
function periodOf(sub: Pick<SubscriptionRow, 'currency'>, items: Pick<ItemRow, 'price' | 'quantity'>[], pricing: Map<string, PriceInfo>): DiscountableLine[] {
  return items.map((i) => {
    const info = pricing.get(i.price)!;
    return { amount: (unitAmountIn(info.price, sub.currency) ?? 0) * i.quantity, currency: sub.currency, productId: info.productId };
  });
}

/** Per proration line, the discount amounts to fix on it (Stripe-shaped), given the discounts in force. */
export function prorationDiscountAmounts(sub: Pick<SubscriptionRow, 'currency'>, lines: readonly ProrationLine[], items: ProrationItems, discounts: readonly Discount[]): FixedDiscountAmounts[] {
  if (discounts.length === 0 || lines.length === 0) return lines.map(() => []);
  const result = discountProrations(
    lines.map((l) => ({ amount: l.amount, currency: sub.currency, productId: items.pricing.get(l.priceId)?.productId ?? null })),
    { before: periodOf(sub, items.before, items.pricing), after: periodOf(sub, items.after, items.pricing) },
    discounts,
  );
  return result.lines.map((l) => l.discountAmounts.map((a) => ({ discount: a.discountId, amount: a.amount })));
}

/**
 * Stores proration lines as pending invoice items of `sub` (they wait for its next invoice), each with
 * the discount amounts in force now fixed on it (an empty list when none was: a coupon added later does
 * not discount it). `itemIds`: subscription item id by price.
 */
export async function storeProrationItems(
  q: Queryable,
  sub: SubscriptionRow,
  lines: ProrationLine[],
  itemIds: Map<string, string>,
  now: Date,
  items: ProrationItems,
): Promise<void> {
  if (lines.length === 0) return;
  const fixed = prorationDiscountAmounts(sub, lines, items, await discountsInForce(q, sub, now));
  for (const [i, l] of lines.entries()) {
    await q.query(
      `INSERT INTO invoice_items (id, customer, subscription, subscription_item, price, description, quantity, unit_amount, amount, currency,
         period_start, period_end, proration, discountable, proration_discount_amounts, test_clock, created)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, true, true, $13::jsonb, $14, $15)`,
      [
        newId('ii'),
        sub.customer,
        sub.id,
        itemIds.get(l.priceId) ?? null,
        l.priceId,
        l.description,
        l.quantity,
        l.unitAmount,
        l.amount,
        sub.currency,
        l.period.start,
        l.period.end,
        JSON.stringify(fixed[i]!),
        sub.test_clock,
        now,
      ],
    );
  }
}

/**
 * The invoice lines that proration lines made now would become (the upcoming-invoice preview of a
 * change), with the discount amounts storeProrationItems would fix on them. Writes nothing.
 * `itemIds`: subscription item id by price ('' or absent for an item not created yet).
 */
export async function prorationDrafts(
  q: Queryable,
  sub: Pick<SubscriptionRow, 'id' | 'customer' | 'currency'>,
  lines: ProrationLine[],
  itemIds: Map<string, string>,
  now: Date,
  items: ProrationItems,
): Promise<LineDraft[]> {
  if (lines.length === 0) return [];
  const fixed = prorationDiscountAmounts(sub, lines, items, await discountsInForce(q, sub, now));
  return lines.map((l, i) => ({ ...prorationLine(sub, l, itemIds.get(l.priceId) || null, items.pricing), fixedDiscountAmounts: fixed[i]! }));
}

/**
 * The stretch [from, to) of the current period, credited or billed again for the subscription's items
 * as they are now, stored as pending proration items (the next invoice takes them): the time a
 * cancellation or a new trial leaves unused, or the difference when a cancel_at moves. `itemsStay`:
 * the items go on after it (their discounts then stay in force for the line) or end with it.
 */
export async function storeStretch(
  q: Queryable,
  sub: SubscriptionRow,
  stretch: { kind: 'credit' | 'debit'; from: Date; to: Date },
  now: Date,
  itemsStay: boolean,
): Promise<void> {
  const items = (await itemsOf(q, [sub.id])).get(sub.id)!;
  const pricing = await loadPricing(q, items.map((i) => i.price));
  const lines = stretchLines(stretch.kind, pricedItems(sub, items, pricing), pricedPeriod(sub), stretch.from, stretch.to);
  await storeProrationItems(q, sub, lines, new Map(items.map((i) => [i.price, i.id])), now, { before: items, after: itemsStay ? items : [], pricing });
}
