import type { Queryable } from '../../db/index.js';
import { withInlinePrices } from '../catalog/inline-prices.js';
import type { InlinePriceData } from '../catalog/schemas.js';
import type { CreateScheduleRequest, PricedPhase } from './schemas.js';

// A schedule request's `price_data` entries (phase items and add_invoice_items) become prices before the
// service sees the request, in the request's transaction, as a subscription's do (subscriptions/price-data.ts).
// They are made inactive for this schedule alone: `made` lets the phase checks take them.

type Entry = { price?: string; price_data?: InlinePriceData; quantity?: number };

export async function pricedPhases(
  q: Queryable,
  now: Date,
  phases: CreateScheduleRequest['phases'],
): Promise<{ phases: PricedPhase[] | undefined; made: Set<string> }> {
  const made = new Set<string>();
  if (!phases) return { phases: undefined, made };
  // The schema requires one of price and price_data, so every entry has a price once its inline one is made.
  const priced = async (list: Entry[], param: string) =>
    (await withInlinePrices(q, now, list, param))!.map(({ price, quantity, priceChecked }) => {
      if (priceChecked) made.add(price!);
      return quantity === undefined ? { price: price! } : { price: price!, quantity };
    });
  const out: PricedPhase[] = [];
  for (const [i, p] of phases.entries()) {
    const { items, add_invoice_items, ...rest } = p;
    out.push({
      ...rest,
      items: await priced(items, `phases[${i}][items]`),
      ...(add_invoice_items ? { add_invoice_items: await priced(add_invoice_items, `phases[${i}][add_invoice_items]`) } : {}),
    });
  }
  return { phases: out, made };
}
