import type { Queryable } from '../../db/index.js';
import type { ProductRow, PriceRow } from '../catalog/repository.js';
import { serializePrice, serializeProduct } from '../catalog/service.js';
import type { CustomerRow } from '../customers/repository.js';
import { customerObjects } from '../customers/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { invoiceObjects } from '../invoices/service.js';
import type { PaymentIntentRow } from '../payments/repository.js';
import { serializePaymentIntent } from '../payments/service.js';
import type { SubscriptionRow } from '../subscriptions/repository.js';
import { subscriptionObjects } from '../subscriptions/serialize.js';
import type { Fields } from './domain/compile.js';

// The searchable resources and their query fields, as Stripe's (docs.stripe.com/search#query-fields):
// the fields Recur stores. Each resource's objects are built by the code its list route uses, so a
// search result's object is exactly what GET /v1/<resource> answers.

export interface SearchResource {
  /** The URL segment and the name in error messages: customers, subscriptions, … */
  name: string;
  tag: string;
  table: string;
  /** Rows a list never shows (deleted customers and products). */
  base?: string;
  fields: Fields;
  /** The rows (SELECT * of `table`) as API objects. */
  objects: (q: Queryable, rows: unknown[], now: Date) => Promise<unknown[]>;
}

const created = { type: 'timestamp', sql: 'created' } as const;
const metadata = { type: 'metadata', sql: 'metadata' } as const;
const str = (sql: string) => ({ type: 'string', sql }) as const;
const token = (sql: string) => ({ type: 'token', sql }) as const;
const sync =
  <R>(f: (r: R) => unknown) =>
  async (_q: Queryable, rows: unknown[]) =>
    (rows as R[]).map(f);

export const SEARCH_RESOURCES: readonly SearchResource[] = [
  {
    name: 'customers',
    tag: 'Customers',
    table: 'customers',
    base: 'deleted_at IS NULL',
    fields: { created, email: str('email'), metadata, name: str('name'), phone: str('phone') },
    objects: (q, rows, now) => customerObjects(q, rows as CustomerRow[], now),
  },
  {
    name: 'subscriptions',
    tag: 'Subscriptions',
    table: 'subscriptions',
    fields: { created, metadata, status: str('status') },
    objects: (q, rows) => subscriptionObjects(q, rows as SubscriptionRow[]),
  },
  {
    name: 'invoices',
    tag: 'Invoices',
    table: 'invoices',
    fields: {
      created,
      currency: str('currency'),
      customer: token('customer'),
      metadata,
      number: str('number'),
      status: str('status'),
      subscription: token('subscription'),
      total: { type: 'numeric', sql: 'total' },
    },
    objects: (q, rows) => invoiceObjects(q, rows as InvoiceRow[]),
  },
  {
    name: 'payment_intents',
    tag: 'Payment intents',
    table: 'payment_intents',
    fields: { amount: { type: 'numeric', sql: 'amount' }, created, currency: str('currency'), customer: token('customer'), metadata, status: str('status') },
    objects: sync<PaymentIntentRow>(serializePaymentIntent),
  },
  {
    name: 'prices',
    tag: 'Catalog',
    table: 'prices',
    fields: {
      active: { type: 'boolean', sql: 'active' },
      created,
      currency: str('currency'),
      lookup_key: str('lookup_key'),
      metadata,
      product: token('product'),
      type: str('type'),
    },
    objects: sync<PriceRow>(serializePrice),
  },
  {
    name: 'products',
    tag: 'Catalog',
    table: 'products',
    base: 'deleted_at IS NULL',
    fields: { active: { type: 'boolean', sql: 'active' }, created, description: str('description'), metadata, name: str('name') },
    objects: sync<ProductRow>(serializeProduct),
  },
];
