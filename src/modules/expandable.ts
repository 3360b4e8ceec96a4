import type { Computed, ComputedFields, Fetcher, Fetchers } from '../http/expand.js';
import type { TaxConfig } from './taxes/config.js';
import { customerTax } from './customers/service.js';
import { retrievePrice, retrieveProduct } from './catalog/service.js';
import { creditNoteObject, getCreditNoteRow } from './credit-notes/service.js';
import { retrieveDiscount } from './coupons/service.js';
import { retrieveCustomer } from './customers/service.js';
import { getInvoiceRow, invoiceObject } from './invoices/service.js';
import { retrievePaymentIntent, retrievePaymentMethod } from './payments/service.js';
import { subscriptionObject } from './subscriptions/serialize.js';
import { retrieveSetupIntent } from './setup-intents/service.js';
import { retrieveSchedule } from './subscription-schedules/service.js';
import { customerSubscriptions, getSubscriptionRow } from './subscriptions/service.js';

// The objects `expand[]` can put in place of their ids (src/http/expand.ts), by id prefix: each
// fetched as its own GET route answers it.
export const expandFetchers: Fetchers = new Map<string, Fetcher>([
  ['cus', (q, id, now) => retrieveCustomer(q, id, now)],
  ['sub', async (q, id) => subscriptionObject(q, await getSubscriptionRow(q, id))],
  ['sub_sched', (q, id, now) => retrieveSchedule(q, now, id)],
  ['in', async (q, id) => invoiceObject(q, await getInvoiceRow(q, id))],
  ['pi', (q, id) => retrievePaymentIntent(q, id)],
  ['pm', (q, id) => retrievePaymentMethod(q, id)],
  ['seti', (q, id) => retrieveSetupIntent(q, id)],
  ['cn', async (q, id) => creditNoteObject(q, await getCreditNoteRow(q, id))],
  ['price', (q, id) => retrievePrice(q, id)],
  ['prod', (q, id) => retrieveProduct(q, id)],
  // Discounts have no GET route of their own (as on Stripe): expand is how their start and end are read.
  ['di', (q, id, now) => retrieveDiscount(q, now, id)],
]);

/** Stripe's includable fields (absent unless expanded), computed from their object: `customer.tax`, `customer.subscriptions`. */
export function expandComputed(config: { tax?: TaxConfig }): ComputedFields {
  return new Map<string, Computed>([
    ['customer.tax', (q, obj, now) => customerTax(q, config.tax, String(obj.id), now)],
    // The first page (10, newest first) of the customer's subscriptions not ended, as Stripe includes it.
    ['customer.subscriptions', (q, obj) => customerSubscriptions(q, String(obj.id), { limit: 10 })],
  ]);
}
