import type { Queryable } from '../../db/index.js';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { ListParams } from '../../http/pagination.js';
import { getCustomerRow, mergeMetadata } from '../customers/service.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import { marketingFeatures, type Feature } from './domain/features.js';
import {
  findPrice,
  findPriceByLookupKey,
  findPricesByIds,
  findProduct,
  findProductsByIds,
  insertPrice,
  insertProduct,
  isUniqueViolation,
  listPriceRows,
  listProductRows,
  productHasPrices,
  updatePriceRow,
  updateProductRow,
  type PriceRow,
  type ProductRow,
  type StoredCurrencyOptions,
} from './repository.js';
import {
  IMMUTABLE_PRICE_PARAMS,
  type CreatePriceInput,
  type CreateProductInput,
  type ExpandedPriceObject,
  type ExpandedProductObject,
  type ListPricesFilter,
  type ListProductsFilter,
  type PriceObject,
  type ProductObject,
  type UpdatePriceInput,
  type UpdateProductInput,
} from './schemas.js';

export type DeletedProduct = { id: string; object: 'product'; deleted: true };

// ---------- serialization ----------

export function serializeProduct(r: ProductRow): ProductObject {
  const features: Feature[] = r.features.map((f) => ({ key: f.key, name: f.name, value: f.value ?? null }));
  return {
    id: r.id,
    object: 'product',
    active: r.active,
    created: toUnix(new Date(r.created)),
    default_price: r.default_price,
    description: r.description,
    features,
    images: [],
    livemode: false,
    marketing_features: marketingFeatures(features),
    metadata: r.metadata,
    name: r.name,
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    type: 'service',
    unit_label: r.unit_label,
    updated: toUnix(new Date(r.updated)),
    url: null,
  };
}

export function serializePrice(r: PriceRow): PriceObject {
  const option = (amount: number) => ({ custom_unit_amount: null, tax_behavior: r.tax_behavior, unit_amount: amount, unit_amount_decimal: String(amount) });
  // The price's own currency first, then the others alphabetically: stable output for diffs and events.
  const currencyOptions: PriceObject['currency_options'] = { [r.currency]: option(r.unit_amount) };
  for (const cur of Object.keys(r.currency_options).sort()) currencyOptions[cur] = option(r.currency_options[cur]!.unit_amount);
  return {
    id: r.id,
    object: 'price',
    active: r.active,
    billing_scheme: 'per_unit',
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    currency_options: currencyOptions,
    custom_unit_amount: null,
    customer: r.customer,
    livemode: false,
    lookup_key: r.lookup_key,
    metadata: r.metadata,
    nickname: r.nickname,
    product: r.product,
    recurring:
      r.type === 'recurring'
        ? { interval: r.interval!, interval_count: r.interval_count!, meter: null, trial_period_days: r.trial_period_days, usage_type: 'licensed' }
        : null,
    tax_behavior: r.tax_behavior,
    tiers_mode: null,
    transform_quantity: null,
    type: r.type,
    unit_amount: r.unit_amount,
    unit_amount_decimal: String(r.unit_amount),
  };
}

// ---------- expand ----------

/**
 * Checks `expand[]` against what the object can expand (`data.` prefixed on lists) and returns the
 * field names. `currency_options` is accepted and needs no work: prices always include them.
 */
export function resolveExpand(expand: readonly string[] | undefined, allowed: readonly string[], opts: { list?: boolean } = {}): Set<string> {
  const out = new Set<string>();
  for (const [i, path] of (expand ?? []).entries()) {
    const field = opts.list ? (path.startsWith('data.') ? path.slice(5) : null) : path;
    if (field === null || !allowed.includes(field)) {
      throw new InvalidRequestError(`This property cannot be expanded (${path}).`, `expand[${i}]`);
    }
    out.add(field);
  }
  return out;
}

export const PRICE_EXPANDABLE = ['product', 'currency_options'] as const;
export const PRODUCT_EXPANDABLE = ['default_price'] as const;

export async function expandPrices(q: Queryable, prices: PriceObject[], expand: Set<string>): Promise<ExpandedPriceObject[]> {
  if (!expand.has('product') || prices.length === 0) return prices;
  const products = new Map((await findProductsByIds(q, [...new Set(prices.map((p) => p.product))])).map((r) => [r.id, serializeProduct(r)]));
  return prices.map((p) => ({ ...p, product: products.get(p.product) ?? p.product }));
}

export async function expandProducts(q: Queryable, products: ProductObject[], expand: Set<string>): Promise<ExpandedProductObject[]> {
  const ids = products.map((p) => p.default_price).filter((id): id is string => id !== null);
  if (!expand.has('default_price') || ids.length === 0) return products;
  const prices = new Map((await findPricesByIds(q, [...new Set(ids)])).map((r) => [r.id, serializePrice(r)]));
  return products.map((p) => ({ ...p, default_price: p.default_price === null ? null : (prices.get(p.default_price) ?? p.default_price) }));
}

// ---------- products ----------

export async function getProductRow(q: Queryable, id: string, opts: { lock?: 'update' | 'share'; param?: string } = {}): Promise<ProductRow> {
  const row = await findProduct(q, id, opts);
  if (!row || row.deleted_at) throw new NotFoundError('product', id, opts.param ?? 'id');
  return row;
}

function normalizeFeatures(features: CreateProductInput['features']): Feature[] {
  return (features ?? []).map((f) => ({ key: f.key, name: f.name, value: f.value ?? null }));
}

/** Names a nested param the way the request spelled it: `currency` inside `default_price_data`. */
function nestParam(prefix: string, param: string): string {
  const i = param.indexOf('[');
  return i < 0 ? `${prefix}[${param}]` : `${prefix}[${param.slice(0, i)}]${param.slice(i)}`;
}

/**
 * `opts.defaultPriceId` lets the seed point the product at a price it creates right after, so the
 * product.created event already carries its default price (as Stripe's `default_price_data` does).
 */
export async function createProduct(q: Queryable, now: Date, input: CreateProductInput, opts: { defaultPriceId?: string } = {}): Promise<ProductObject> {
  const id = input.id ?? newId('prod');
  const defaultPriceId = input.default_price_data ? newId('price') : (opts.defaultPriceId ?? null);
  const row = await insertProduct(q, {
    id,
    name: input.name,
    description: input.description ?? null,
    active: input.active ?? true,
    features: normalizeFeatures(input.features),
    metadata: mergeMetadata({}, input.metadata),
    unit_label: input.unit_label ?? null,
    default_price: defaultPriceId,
    created: now,
    updated: now,
  });
  if (!row) throw new InvalidRequestError(`A product with the id '${id}' already exists.`, 'id', 'resource_already_exists');
  const obj = serializeProduct(row);
  await recordEvent(q, now, { type: 'product.created', object: obj });
  if (input.default_price_data && defaultPriceId) {
    try {
      await createPrice(q, now, { ...input.default_price_data, product: id }, { id: defaultPriceId });
    } catch (err) {
      if (err instanceof InvalidRequestError && err.param) throw new InvalidRequestError(err.message, nestParam('default_price_data', err.param), err.code);
      throw err;
    }
  }
  return obj;
}

/** Stripe answers a deleted product with a stub, like a deleted customer. */
export async function retrieveProduct(q: Queryable, id: string): Promise<ProductObject | DeletedProduct> {
  const row = await findProduct(q, id);
  if (!row) throw new NotFoundError('product', id);
  if (row.deleted_at) return { id: row.id, object: 'product', deleted: true };
  return serializeProduct(row);
}

export async function updateProduct(q: Queryable, now: Date, id: string, input: UpdateProductInput): Promise<ProductObject> {
  const before = await getProductRow(q, id, { lock: 'update' });
  const patch: Partial<ProductRow> = { updated: now };
  if (input.name !== undefined) patch.name = input.name;
  if (input.description !== undefined) patch.description = input.description;
  if (input.active !== undefined) patch.active = input.active;
  if (input.features !== undefined) patch.features = normalizeFeatures(input.features);
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  if (input.unit_label !== undefined) patch.unit_label = input.unit_label;
  if (input.default_price !== undefined) {
    if (input.default_price !== null) {
      const price = await findPrice(q, input.default_price);
      if (!price) throw new NotFoundError('price', input.default_price, 'default_price');
      if (price.product !== id) throw new InvalidRequestError(`The price '${price.id}' belongs to another product (${price.product}).`, 'default_price');
      if (!price.active) throw new InvalidRequestError(`The price '${price.id}' is archived; a default price must be active.`, 'default_price');
    }
    patch.default_price = input.default_price;
  }
  const after = await updateProductRow(q, id, patch);
  const obj = serializeProduct(after);
  const prev = previousAttributes(serializeProduct(before), obj);
  // `updated` moves on every request; only a real change is an event.
  if (Object.keys(prev).some((k) => k !== 'updated')) await recordEvent(q, now, { type: 'product.updated', object: obj, previousAttributes: prev });
  return obj;
}

/** Like Stripe, only a product without prices can be deleted; archive it (`active: false`) otherwise. */
export async function deleteProduct(q: Queryable, now: Date, id: string): Promise<DeletedProduct> {
  const before = await getProductRow(q, id, { lock: 'update' });
  if (await productHasPrices(q, id)) {
    throw new InvalidRequestError(
      `The product '${id}' has prices and cannot be deleted. Archive it with active=false instead.`,
      undefined,
      'product_has_prices',
    );
  }
  await updateProductRow(q, id, { deleted_at: now, updated: now });
  await recordEvent(q, now, { type: 'product.deleted', object: serializeProduct(before) });
  return { id, object: 'product', deleted: true };
}

export async function listProducts(q: Queryable, filter: ListProductsFilter, list: ListParams) {
  const { rows, hasMore } = await listProductRows(q, filter, list);
  return { data: rows.map(serializeProduct), hasMore };
}

// ---------- prices ----------

export async function getPriceRow(q: Queryable, id: string, opts: { lock?: 'update' | 'share'; param?: string } = {}): Promise<PriceRow> {
  const row = await findPrice(q, id, opts);
  if (!row) throw new NotFoundError('price', id, opts.param ?? 'id');
  return row;
}

/** One of `unit_amount` / `unit_amount_decimal`, as whole minor units. `param` names the fields. */
function resolveAmount(a: { unit_amount?: number; unit_amount_decimal?: string }, param: (name: string) => string): number {
  if (a.unit_amount !== undefined && a.unit_amount_decimal !== undefined) {
    throw new InvalidRequestError(`You may only specify one of ${param('unit_amount')} and ${param('unit_amount_decimal')}.`, param('unit_amount_decimal'));
  }
  if (a.unit_amount !== undefined) return a.unit_amount;
  if (a.unit_amount_decimal === undefined) {
    throw new InvalidRequestError(`Missing required param: ${param('unit_amount')}.`, param('unit_amount'), 'parameter_missing');
  }
  // Amounts are whole minor units: "2000" and "2000.00" are 2000, "2000.5" (half a cent) is refused.
  const [whole, frac = ''] = a.unit_amount_decimal.split('.');
  const amount = Number(whole);
  if (/[^0]/.test(frac) || !Number.isSafeInteger(amount)) {
    throw new InvalidRequestError(
      `Invalid ${param('unit_amount_decimal')}: amounts are whole minor units of the currency (no fractions of a cent).`,
      param('unit_amount_decimal'),
    );
  }
  return amount;
}

type CurrencyOptionInput = { unit_amount?: number; unit_amount_decimal?: string };

function resolveCurrencyOptions(
  current: StoredCurrencyOptions,
  input: Record<string, CurrencyOptionInput | null>,
  currency: string,
): StoredCurrencyOptions {
  const out = { ...current };
  for (const [cur, opt] of Object.entries(input)) {
    const param = `currency_options[${cur}]`;
    if (cur === currency) {
      throw new InvalidRequestError(`The price's own currency (${currency}) is set by unit_amount, not by ${param}.`, param);
    }
    if (opt === null) delete out[cur];
    else out[cur] = { unit_amount: resolveAmount(opt, (name) => `${param}[${name}]`) };
  }
  return out;
}

function lookupKeyInUse(holder: string | null): InvalidRequestError {
  return new InvalidRequestError(
    `A price${holder ? ` (${holder})` : ''} already uses that lookup key. Pass transfer_lookup_key=true to move it to this price.`,
    'lookup_key',
    'lookup_key_in_use',
  );
}

/**
 * Frees `lookupKey` for `forPriceId`: with `transfer`, takes it from the price holding it (which gets
 * a price.updated event); without, a key in use is a 400.
 */
async function claimLookupKey(q: Queryable, now: Date, lookupKey: string, forPriceId: string, transfer: boolean): Promise<void> {
  const holder = await findPriceByLookupKey(q, lookupKey, { lock: 'update' });
  if (!holder || holder.id === forPriceId) return;
  if (!transfer) throw lookupKeyInUse(holder.id);
  const after = await updatePriceRow(q, holder.id, { lookup_key: null, updated: now });
  await recordEvent(q, now, {
    type: 'price.updated',
    object: serializePrice(after),
    previousAttributes: { lookup_key: lookupKey },
    customerId: after.customer,
  });
}

export async function createPrice(q: Queryable, now: Date, input: Omit<CreatePriceInput, 'product' | 'product_data'> & { product: string }, opts: { id?: string } = {}): Promise<PriceObject> {
  const unitAmount = resolveAmount(input, (name) => name);
  const type = input.type ?? (input.recurring ? 'recurring' : 'one_time');
  if (type === 'recurring' && !input.recurring) throw new InvalidRequestError('Missing required param: recurring.', 'recurring', 'parameter_missing');
  if (type === 'one_time' && input.recurring) throw new InvalidRequestError('A one_time price cannot have recurring.', 'recurring');
  const trialTop = input.trial_period_days;
  const trialNested = input.recurring?.trial_period_days;
  if (trialTop !== undefined && trialNested !== undefined && trialTop !== trialNested) {
    throw new InvalidRequestError('trial_period_days and recurring[trial_period_days] disagree; send one of them.', 'trial_period_days');
  }
  const trial = trialNested ?? trialTop ?? null;
  if (trial !== null && type !== 'recurring') throw new InvalidRequestError('Only recurring prices can have a trial.', 'trial_period_days');

  // FOR SHARE: a concurrent delete of the product waits for this price (and then refuses).
  await getProductRow(q, input.product, { lock: 'share', param: 'product' });
  if (input.customer !== undefined) await getCustomerRow(q, input.customer, { param: 'customer' });
  const currencyOptions = resolveCurrencyOptions({}, input.currency_options ?? {}, input.currency);

  const id = opts.id ?? newId('price');
  const lookupKey = input.lookup_key ?? null;
  if (lookupKey !== null) await claimLookupKey(q, now, lookupKey, id, input.transfer_lookup_key ?? false);

  const row = await insertPrice(q, {
    id,
    product: input.product,
    active: input.active ?? true,
    currency: input.currency,
    unit_amount: unitAmount,
    type,
    interval: input.recurring?.interval ?? null,
    interval_count: input.recurring ? (input.recurring.interval_count ?? 1) : null,
    trial_period_days: trial,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    currency_options: currencyOptions,
    lookup_key: lookupKey,
    nickname: input.nickname ?? null,
    customer: input.customer ?? null,
    metadata: mergeMetadata({}, input.metadata),
    created: now,
    updated: now,
  });
  // Only a concurrent request that took the same lookup key between our check and insert gets here.
  if (!row) throw lookupKeyInUse(null);
  const obj = serializePrice(row);
  await recordEvent(q, now, { type: 'price.created', object: obj, customerId: row.customer });
  return obj;
}

export async function retrievePrice(q: Queryable, id: string): Promise<PriceObject> {
  return serializePrice(await getPriceRow(q, id));
}

export async function updatePrice(q: Queryable, now: Date, id: string, input: UpdatePriceInput): Promise<PriceObject> {
  for (const param of IMMUTABLE_PRICE_PARAMS) {
    if (input[param] !== undefined) {
      throw new InvalidRequestError(
        `A price's ${param} cannot be changed once the price is created. Create a new price and archive this one.`,
        param,
        'parameter_immutable',
      );
    }
  }
  const before = await getPriceRow(q, id, { lock: 'update' });
  const patch: Partial<PriceRow> = { updated: now };
  if (input.active !== undefined) {
    if (!input.active && before.active) {
      const product = await findProduct(q, before.product);
      if (product?.default_price === id) {
        throw new InvalidRequestError(
          `The price '${id}' is the default price of its product; set another default_price on ${before.product} before archiving it.`,
          'active',
          'price_is_default',
        );
      }
    }
    patch.active = input.active;
  }
  if (input.nickname !== undefined) patch.nickname = input.nickname;
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(before.metadata, input.metadata);
  if (input.tax_behavior !== undefined && input.tax_behavior !== before.tax_behavior) {
    // As Stripe: once inclusive or exclusive, the amounts' meaning is fixed for invoices already issued.
    if (before.tax_behavior !== 'unspecified') {
      throw new InvalidRequestError(`The price's tax_behavior is already ${before.tax_behavior} and cannot be changed.`, 'tax_behavior', 'tax_behavior_locked');
    }
    patch.tax_behavior = input.tax_behavior;
  }
  if (input.currency_options !== undefined) {
    patch.currency_options = input.currency_options === null ? {} : resolveCurrencyOptions(before.currency_options, input.currency_options, before.currency);
  }
  if (input.lookup_key !== undefined && input.lookup_key !== before.lookup_key) {
    if (input.lookup_key !== null) await claimLookupKey(q, now, input.lookup_key, id, input.transfer_lookup_key ?? false);
    patch.lookup_key = input.lookup_key;
  }
  let after: PriceRow;
  try {
    after = await updatePriceRow(q, id, patch);
  } catch (err) {
    if (isUniqueViolation(err)) throw lookupKeyInUse(null);
    throw err;
  }
  const obj = serializePrice(after);
  const prev = previousAttributes(serializePrice(before), obj);
  if (Object.keys(prev).length > 0) await recordEvent(q, now, { type: 'price.updated', object: obj, previousAttributes: prev, customerId: after.customer });
  return obj;
}

export async function listPrices(q: Queryable, filter: ListPricesFilter, list: ListParams) {
  const { rows, hasMore } = await listPriceRows(q, filter, list);
  return { data: rows.map(serializePrice), hasMore };
}
