import type { Queryable } from '../../db/index.js';
import { createInlinePrice } from '../catalog/inline-prices.js';
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
  const priced = async (list: Entry[], param: string) => {
    const out: { price: string; quantity?: number }[] = [];
    for (const [j, { price, price_data, quantity }] of list.entries()) {
      const id = price ?? (await createInlinePrice(q, now, price_data!, `${param}[${j}][price_data]`));
      if (price === undefined) made.add(id);
      out.push(quantity === undefined ? { price: id } : { price: id, quantity });
    }
    return out;
  };
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
