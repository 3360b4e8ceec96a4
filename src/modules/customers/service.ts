import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { previousAttributes, recordEvent, recordEvents } from '../events/service.js';
import type { ListParams } from '../../http/pagination.js';
import { clearsAllMetadata } from '../../http/schemas.js';
import { attachPaymentMethod, resolvePaymentMethod, type PaymentDeps } from '../payments/service.js';
import { findCustomer, insertCustomer, listCustomerRows, updateCustomerRow, type CustomerRow, type StoredTaxId } from './repository.js';
import type { CreateCustomerInput, CustomerObject, UpdateCustomerInput } from './schemas.js';
import { recordBalanceSet } from '../credit-notes/balance.js';
import { DEFAULT_SERIES } from '../invoices/service.js';
import { nextNumbers, startSeriesAt } from '../invoices/repository.js';
import { cancelNotStartedSchedules } from '../subscription-schedules/lifecycle.js';
import type { DiscountObject } from '../coupons/schemas.js';
import { customerDiscounts, setCustomerDiscount } from './discount.js';
import { serializeTaxId, withTaxIdIds } from './tax-id-objects.js';
import type { TaxConfig } from '../taxes/config.js';
import { customerTaxObjects, validateTaxLocation, type CustomerTaxObject } from '../taxes/customer-tax.js';

/** The payment deps (attaching payment methods) and the tax settings (tax[validate_location]). */
type CustomerDeps = PaymentDeps & { config?: { tax?: TaxConfig } };

/**
 * `discount`: the customer's own discount in force (customerDiscounts), or null. `nextInvoiceSequence`:
 * the next number of the customer's own series (its invoice_prefix); null on the account's.
 */
export function serializeCustomer(r: CustomerRow, discount: DiscountObject | null, nextInvoiceSequence: number | null = null): CustomerObject {
  return {
    id: r.id,
    object: 'customer',
    address: r.address,
    balance: r.balance,
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    delinquent: r.delinquent,
    description: r.description,
    discount,
    email: r.email,
    invoice_prefix: r.invoice_prefix ?? null,
    invoice_settings: {
      custom_fields: r.invoice_settings.custom_fields ?? null,
      default_payment_method: r.invoice_settings.default_payment_method ?? null,
      footer: r.invoice_settings.footer ?? null,
      rendering_options: null,
    },
    livemode: false,
    metadata: r.metadata,
    name: r.name,
    next_invoice_sequence: nextInvoiceSequence,
    phone: r.phone,
    preferred_locales: r.preferred_locales,
    shipping: r.shipping,
    tax_exempt: r.tax_exempt,
    tax_ids: { object: 'list', data: r.tax_ids.map((t) => serializeTaxId(r.id, t)), has_more: false, url: `/v1/customers/${r.id}/tax_ids` },
    test_clock: r.test_clock,
  };
}

/**
 * Stripe's metadata update: keys merge, a "" value removes its key, and `metadata=""` (parsed by
 * zMetadata to a patch marked METADATA_CLEAR) removes every key. More than 50 keys after the merge is
 * a 400 on `metadata`. Every create and update of metadata goes through here.
 */
export function mergeMetadata(current: Record<string, string>, patch: Record<string, string> | undefined): Record<string, string> {
  if (!patch) return current;
  const out: Record<string, string> = clearsAllMetadata(patch) ? {} : { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === '') delete out[k];
    else out[k] = v;
  }
  if (Object.keys(out).length > 50) throw new InvalidRequestError('metadata can have at most 50 keys', 'metadata');
  return out;
}

function normalizeAddress(a: CreateCustomerInput['address']): CustomerRow['address'] {
  if (!a) return a ?? null;
  return {
    line1: a.line1 ?? null,
    line2: a.line2 ?? null,
    city: a.city ?? null,
    state: a.state ?? null,
    postal_code: a.postal_code ?? null,
    country: a.country ?? null,
  };
}

/** Shipping details with every address key present (the customer's, an invoice's). */
export function normalizeShipping(s: CreateCustomerInput['shipping']): CustomerRow['shipping'] {
  if (!s) return null;
  return { address: normalizeAddress(s.address)!, name: s.name, phone: s.phone ?? null };
}

/**
 * A test clock's customer lives at the clock's frozen time (Stripe: "create objects at a frozen time in
 * the past or future"): its own changes are stamped then, like the subscription and invoice work the
 * clock runs, so its event stream stays in one time order. Other customers: `now`.
 */
export async function customerNow(q: Queryable, customerId: string, now: Date): Promise<Date> {
  const { rows } = await q.query<{ frozen_time: Date }>(
    `SELECT tc.frozen_time FROM customers c JOIN test_clocks tc ON tc.id = c.test_clock WHERE c.id = $1`,
    [customerId],
  );
  return rows[0] ? new Date(rows[0].frozen_time) : now;
}

export async function createCustomer(q: Queryable, deps: CustomerDeps, requestNow: Date, input: CreateCustomerInput): Promise<CustomerObject> {
  let now = requestNow;
  if (input.test_clock) {
    const clock = await q.query<{ frozen_time: Date }>(`SELECT frozen_time FROM test_clocks WHERE id = $1 AND deleted_at IS NULL`, [input.test_clock]);
    if (!clock.rows[0]) throw new NotFoundError('test_clock', input.test_clock, 'test_clock');
    now = new Date(clock.rows[0].frozen_time);
  }
  if (input.tax_ids !== undefined && input.tax_id_data !== undefined) throw new InvalidRequestError('Pass either tax_id_data or tax_ids, not both.', 'tax_id_data', 'parameter_invalid');
  const address = normalizeAddress(input.address);
  const shipping = normalizeShipping(input.shipping);
  await validateTaxLocation(q, deps.config?.tax, input.tax?.validate_location ?? 'deferred', { id: null, before: null, after: { address, shipping } });
  const row = await insertCustomer(q, {
    id: newId('cus'),
    email: input.email ?? null,
    name: input.name ?? null,
    description: input.description ?? null,
    phone: input.phone ?? null,
    address,
    shipping,
    tax_ids: withTaxIdIds(input.tax_ids ?? input.tax_id_data ?? [], now),
    preferred_locales: input.preferred_locales ?? [],
    currency: input.currency ?? null,
    tax_exempt: input.tax_exempt ?? 'none',
    tax_ip_address: input.tax?.ip_address ?? null,
    invoice_settings: { default_payment_method: null, custom_fields: input.invoice_settings?.custom_fields ?? null, footer: input.invoice_settings?.footer ?? null },
    invoice_prefix: input.invoice_prefix ?? null,
    balance: input.balance ?? 0,
    metadata: mergeMetadata({}, input.metadata),
    test_clock: input.test_clock ?? null,
    created: now,
    updated: now,
  });
  if (row.invoice_prefix) await claimInvoicePrefix(q, row.invoice_prefix, row.id, now);
  if (input.next_invoice_sequence !== undefined) await setNextInvoiceSequence(q, row, input.next_invoice_sequence);
  // The balance is a ledger: a starting balance is its first transaction.
  await recordBalanceSet(q, now, { customer: row.id, before: 0, after: row.balance, currency: row.currency, initial: true });
  // Stripe: `payment_method` is attached to the new customer, as POST /v1/payment_methods/{id}/attach
  // would (a test id such as pm_card_visa creates the card). An invoice default naming the same id
  // (Stripe's test-mode recipe: both pm_card_visa) is that attached card, not a second one.
  const attached = input.payment_method ? await attachPaymentMethod(q, deps, now, input.payment_method, row.id, { param: 'payment_method' }) : null;
  const pm = input.invoice_settings?.default_payment_method;
  const defaultId =
    pm && attached && pm === input.payment_method
      ? attached.id
      : pm
        ? (await resolvePaymentMethod(q, deps, pm, row.id, now, { param: 'invoice_settings[default_payment_method]' })).id
        : null;
  const final = defaultId ? await updateCustomerRow(q, row.id, { invoice_settings: { ...row.invoice_settings, default_payment_method: defaultId } }) : row;
  const obj = await customerObject(q, await setCustomerDiscount(q, final, input, now), now);
  await recordEvent(q, now, { type: 'customer.created', object: obj, customerId: row.id });
  await recordTaxIdChanges(q, now, row.id, [], row.tax_ids);
  return obj;
}

export async function getCustomerRow(q: Queryable, id: string, opts: { forUpdate?: boolean; param?: string } = {}): Promise<CustomerRow> {
  const row = await findCustomer(q, id, opts);
  if (!row || row.deleted_at) throw new NotFoundError('customer', id, opts.param ?? 'id');
  return row;
}

/** The customer as the API shows it, with its discount in force at its own time (its test clock's, or `now`). */
export async function customerObject(q: Queryable, row: CustomerRow, now: Date): Promise<CustomerObject> {
  return (await customerObjects(q, [row], now))[0]!;
}

export async function retrieveCustomer(q: Queryable, id: string, now: Date): Promise<CustomerObject | { id: string; object: 'customer'; deleted: true }> {
  const row = await findCustomer(q, id);
  if (!row) throw new NotFoundError('customer', id);
  if (row.deleted_at) return { id: row.id, object: 'customer', deleted: true };
  return customerObject(q, row, now);
}

export async function updateCustomer(q: Queryable, deps: CustomerDeps, now: Date, id: string, input: UpdateCustomerInput): Promise<CustomerObject> {
  const before = await getCustomerRow(q, id, { forUpdate: true });
  const beforeObj = await customerObject(q, before, now);
  if (input.currency !== undefined && before.currency !== null && input.currency !== before.currency) {
    throw new InvalidRequestError(`The customer's currency is already ${before.currency} and cannot be changed.`, 'currency', 'currency_locked');
  }
  const patch: Partial<CustomerRow> = { updated: now };
  if (input.email !== undefined) patch.email = input.email;
  if (input.name !== undefined) patch.name = input.name;
  if (input.description !== undefined) patch.description = input.description;
  if (input.phone !== undefined) patch.phone = input.phone;
  if (input.address !== undefined) patch.address = normalizeAddress(input.address);
  if (input.shipping !== undefined) patch.shipping = normalizeShipping(input.shipping);
  if (input.tax_ids !== undefined) patch.tax_ids = withTaxIdIds(input.tax_ids, now, before.tax_ids);
  if (input.preferred_locales !== undefined) patch.preferred_locales = input.preferred_locales;
  if (input.currency !== undefined) patch.currency = input.currency;
  if (input.tax_exempt !== undefined) patch.tax_exempt = input.tax_exempt;
  if (input.tax?.ip_address !== undefined) patch.tax_ip_address = input.tax.ip_address;
  const mode = input.tax?.validate_location ?? 'auto';
  if (mode === 'immediately' || input.address !== undefined || input.shipping !== undefined) {
    const after = { address: patch.address !== undefined ? patch.address : before.address, shipping: patch.shipping !== undefined ? patch.shipping : before.shipping };
    await validateTaxLocation(q, deps.config?.tax, mode, { id, before, after });
  }
  if (input.invoice_settings !== undefined) {
    patch.invoice_settings = { ...before.invoice_settings, ...input.invoice_settings };
    const pm = input.invoice_settings.default_payment_method;
    // The default must be a payment method of this customer (a Stripe test id creates and attaches one).
    if (pm) patch.invoice_settings.default_payment_method = (await resolvePaymentMethod(q, deps, pm, id, now, { param: 'invoice_settings[default_payment_method]' })).id;
  }
  if (input.balance !== undefined) patch.balance = input.balance;
  if (input.invoice_prefix !== undefined) {
    patch.invoice_prefix = input.invoice_prefix;
    if (input.invoice_prefix) await claimInvoicePrefix(q, input.invoice_prefix, id, now);
  }
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  const after = await updateCustomerRow(q, id, patch);
  if (input.next_invoice_sequence !== undefined) await setNextInvoiceSequence(q, after, input.next_invoice_sequence);
  await recordBalanceSet(q, now, { customer: id, before: Number(before.balance), after: Number(after.balance), currency: after.currency, initial: false });
  const obj = await customerObject(q, await setCustomerDiscount(q, after, input, now), now);
  const prev = previousAttributes(beforeObj, obj);
  if (Object.keys(prev).length > 0) await recordEvent(q, now, { type: 'customer.updated', object: obj, previousAttributes: prev, customerId: id });
  await recordTaxIdChanges(q, now, id, before.tax_ids, after.tax_ids);
  return obj;
}

/** customer.tax_id.created / .deleted for the tax ids a change of the customer's list added or removed (create, update, /v1/customers/{id}/tax_ids). */
export async function recordTaxIdChanges(q: Queryable, now: Date, customer: string, before: readonly StoredTaxId[], after: readonly StoredTaxId[]): Promise<void> {
  const ids = (list: readonly StoredTaxId[]) => new Set(list.map((t) => t.id));
  const [had, has] = [ids(before), ids(after)];
  const events = [
    ...after.filter((t) => !had.has(t.id)).map((t) => ({ type: 'customer.tax_id.created', object: serializeTaxId(customer, t), customerId: customer })),
    ...before.filter((t) => !has.has(t.id)).map((t) => ({ type: 'customer.tax_id.deleted', object: serializeTaxId(customer, t), customerId: customer })),
  ];
  if (events.length) await recordEvents(q, now, events);
}

/**
 * Stripe: a customer's invoice prefix "can't match any other customer prefix, including prefixes that
 * are no longer in use", nor the account's (DEFAULT_SERIES). A prefix is claimed for good by its first
 * customer (invoice_prefix_claims, migration 0023); that customer may take it again. A concurrent
 * claim of the same prefix waits on the primary key and then finds it taken.
 */
async function claimInvoicePrefix(q: Queryable, prefix: string, customer: string, now: Date): Promise<void> {
  if (prefix === DEFAULT_SERIES) throw new InvalidRequestError(`${prefix} is the account's invoice prefix.`, 'invoice_prefix', 'invoice_prefix_taken');
  await q.query(`INSERT INTO invoice_prefix_claims (prefix, customer, created) VALUES ($1, $2, $3) ON CONFLICT (prefix) DO NOTHING`, [prefix, customer, now]);
  const { rows } = await q.query<{ customer: string }>(`SELECT customer FROM invoice_prefix_claims WHERE prefix = $1`, [prefix]);
  if (rows[0]?.customer !== customer) throw new InvalidRequestError(`The invoice prefix ${prefix} belongs to another customer.`, 'invoice_prefix', 'invoice_prefix_taken');
}

/** Stripe's includable customer `tax` hash (expand[]=tax): where tax locates the customer, and whether it is taxed there. */
export async function customerTax(q: Queryable, cfg: TaxConfig | undefined, id: string, now: Date): Promise<CustomerTaxObject> {
  const row = await getCustomerRow(q, id);
  // The rates in effect at the customer's own time (its test clock's, or now).
  return (await customerTaxObjects(q, cfg, [row], await customerNow(q, id, now))).get(id)!;
}

/** Soft delete: invoices, payments and events keep pointing at the row; the API answers `deleted`. */
export async function deleteCustomer(q: Queryable, now: Date, id: string): Promise<{ id: string; object: 'customer'; deleted: true }> {
  const before = await getCustomerRow(q, id, { forUpdate: true });
  const obj = await customerObject(q, before, now);
  await updateCustomerRow(q, id, { deleted_at: now, updated: now });
  await recordEvent(q, now, { type: 'customer.deleted', object: obj, customerId: id });
  // Schedules that have not started yet would start a subscription for no one.
  await cancelNotStartedSchedules(q, id, now);
  return { id, object: 'customer', deleted: true };
}

export async function listCustomers(q: Queryable, filter: { email?: string; test_clock?: string }, list: ListParams, now: Date) {
  const { rows, hasMore } = await listCustomerRows(q, filter, list);
  return { data: await customerObjects(q, rows, now), hasMore };
}

/** Customers as the API shows them: one read for all their discounts. */
export async function customerObjects(q: Queryable, rows: CustomerRow[], now: Date): Promise<CustomerObject[]> {
  const discounts = await customerDiscounts(q, rows, now);
  // Customers without an invoice_prefix (nearly all) cost no read.
  const sequences = await nextNumbers(
    q,
    rows.flatMap((r) => (r.invoice_prefix ? [r.invoice_prefix] : [])),
  );
  return rows.map((r) => serializeCustomer(r, discounts.get(r.id) ?? null, r.invoice_prefix ? sequences.get(r.invoice_prefix)! : null));
}

/**
 * Stripe's next_invoice_sequence: where the customer's own series (its invoice_prefix) starts — e.g. to
 * continue another billing system's numbers. Settable until the series has numbered an invoice: a jump
 * after that would leave a gap (or a clash) in a series Recur keeps gapless.
 */
async function setNextInvoiceSequence(q: Queryable, customer: CustomerRow, next: number): Promise<void> {
  const series = customer.invoice_prefix;
  if (!series) throw new InvalidRequestError('next_invoice_sequence applies to a customer with its own invoice_prefix; set one.', 'next_invoice_sequence', 'parameter_invalid');
  const started = await startSeriesAt(q, series, next);
  if (!started.ok) {
    throw new InvalidRequestError(`The series ${series} has numbered invoices already; its next number stays ${started.next} so that it has no gap.`, 'next_invoice_sequence', 'invoice_sequence_in_use');
  }
}
