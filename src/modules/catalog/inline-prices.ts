import { AppError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import type { InlinePriceData } from './schemas.js';
import { createPrice } from './service.js';

// Stripe's `price_data` on subscription items, add_invoice_items and invoice items: a new price made for
// that one use, in the request's own transaction (a refused request leaves no price behind). Like
// Stripe's inline prices it is created inactive, so it is never offered anywhere else; it is an ordinary
// price otherwise (retrievable, listed, with its price.created event), and the item refers to it by id.

/** Creates the price `data` describes and returns its id; an error names its param inside `param` (`items[0][price_data]`). */
export async function createInlinePrice(q: Queryable, now: Date, data: InlinePriceData, param: string): Promise<string> {
  try {
    return (await createPrice(q, now, { ...data, active: false })).id;
  } catch (err) {
    // The same error (status, code, message), its param named as the request spelled it.
    if (err instanceof AppError && err.param) throw new AppError(err.status, err.type, err.code, err.message, `${param}[${err.param}]`, err.extra);
    throw err;
  }
}

/**
 * Each entry given as `price_data` gets the id of its new price as `price`, and `priceChecked: true` (its
 * price is inactive by design, which the active-price checks let through). `param` is the list's name
 * (`items`), for errors as `items[1][price_data][product]`.
 */
export async function withInlinePrices<T extends { price?: string; price_data?: InlinePriceData }>(
  q: Queryable,
  now: Date,
  entries: T[] | undefined,
  param: string,
): Promise<(Omit<T, 'price_data'> & { price?: string; priceChecked?: boolean })[] | undefined> {
  if (!entries) return undefined;
  const out: (Omit<T, 'price_data'> & { price?: string; priceChecked?: boolean })[] = [];
  for (const [i, { price_data, ...rest }] of entries.entries()) {
    out.push(price_data ? { ...rest, price: await createInlinePrice(q, now, price_data, `${param}[${i}][price_data]`), priceChecked: true } : rest);
  }
  return out;
}
