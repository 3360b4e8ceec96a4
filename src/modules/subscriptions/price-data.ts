import type { Queryable } from '../../db/index.js';
import { withInlinePrices } from '../catalog/inline-prices.js';
import type { CreateSubscriptionInput, CreateSubscriptionRequest, UpdateSubscriptionInput, UpdateSubscriptionRequest } from './schemas.js';

// A subscription request's `price_data` entries (items, add_invoice_items) become prices before the
// service sees the request: the service only ever deals in price ids, and the new prices are written in
// the request's transaction, so a refused request leaves none behind.

/** The schemas require one of price/plan/price_data, so every entry has a price once its inline one is made. */
function priced<T extends { price?: string }>(entries: T[]): (T & { price: string })[] {
  return entries.map((e) => {
    if (e.price === undefined) throw new Error('unreachable: the schema requires a price or price_data');
    return e as T & { price: string };
  });
}

export async function pricedCreate(q: Queryable, now: Date, body: CreateSubscriptionRequest): Promise<CreateSubscriptionInput> {
  const { items: given, add_invoice_items: givenAdd, ...rest } = body;
  const items = priced((await withInlinePrices(q, now, given, 'items'))!);
  const add = await withInlinePrices(q, now, givenAdd, 'add_invoice_items');
  return { ...rest, items, ...(add ? { add_invoice_items: priced(add) } : {}) };
}

export async function pricedUpdate(q: Queryable, now: Date, body: UpdateSubscriptionRequest): Promise<UpdateSubscriptionInput> {
  const { items: given, add_invoice_items: givenAdd, ...rest } = body;
  const items = await withInlinePrices(q, now, given, 'items');
  const add = await withInlinePrices(q, now, givenAdd, 'add_invoice_items');
  return { ...rest, ...(items ? { items } : {}), ...(add ? { add_invoice_items: priced(add) } : {}) };
}
