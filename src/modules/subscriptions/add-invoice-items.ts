import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import { createInvoiceItem } from '../invoices/items.js';
import { loadPricing, unitAmountIn } from './billing.js';
import type { SubscriptionRow } from './repository.js';

// Stripe's add_invoice_items on subscription create and update: one-time prices (a setup fee, a
// workbook) added as pending invoice items of the subscription, so the next invoice it makes bills
// them — the first invoice on create (the trial's too), the change's invoice on an update that invoices
// now, else the next renewal.

export interface AddInvoiceItem {
  price: string;
  /** Made from the request's price_data (inactive by design), or checked when a schedule's phase was set: not refused as archived. */
  priceChecked?: boolean;
  quantity?: number;
}

/**
 * Checks the prices (one-time, active, with an amount in `currency`), naming a refused one as
 * `{prefix}[i][price]`; returns their pricing.
 */
export async function checkInvoiceItemPrices(q: Queryable, list: readonly AddInvoiceItem[], currency: string, prefix = 'add_invoice_items') {
  const pricing = await loadPricing(
    q,
    list.map((i) => i.price),
  );
  for (const [idx, item] of list.entries()) {
    const param = `${prefix}[${idx}][price]`;
    const info = pricing.get(item.price);
    if (!info) throw new NotFoundError('price', item.price, param);
    if (info.price.type !== 'one_time') throw new InvalidRequestError(`add_invoice_items takes one-time prices; ${item.price} is recurring.`, param, 'parameter_invalid');
    if (!info.price.active && !item.priceChecked) throw new InvalidRequestError(`The price ${item.price} is not active.`, param, 'price_inactive');
    if (unitAmountIn(info.price, currency) === null) {
      throw new InvalidRequestError(`The price ${item.price} has no ${currency} amount, the subscription's currency.`, param, 'currency_mismatch');
    }
  }
  return pricing;
}

/**
 * Creates the pending items (invoiceitem.created each); returns their ids. `checked: true` takes the
 * prices as checked already (a schedule's phase, checked when it was set: it bills them when it starts
 * even if a price was archived meanwhile, rather than failing the renewal).
 */
export async function addInvoiceItems(
  q: Queryable,
  sub: Pick<SubscriptionRow, 'id' | 'customer' | 'currency'>,
  list: readonly AddInvoiceItem[] | undefined,
  now: Date,
  opts: { checked?: boolean } = {},
): Promise<string[]> {
  if (!list?.length) return [];
  const pricing = opts.checked ? await loadPricing(q, list.map((i) => i.price)) : await checkInvoiceItemPrices(q, list, sub.currency);
  const ids: string[] = [];
  for (const item of list) {
    const info = pricing.get(item.price)!;
    const created = await createInvoiceItem(q, now, {
      customer: sub.customer,
      subscription: sub.id,
      price: item.price,
      quantity: item.quantity,
      currency: sub.currency,
      description: info.productName,
    });
    ids.push(created.id);
  }
  return ids;
}
