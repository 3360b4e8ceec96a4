import { InvalidRequestError } from '../core/errors/index.js';
import type { Queryable } from '../db/index.js';

// Stripe's `expand[]`: a response field holding an object's id is replaced by that object, and a
// dotted path expands inside it (`latest_invoice.customer`); in a list (or search result), paths start with `data.`.
// Which ids can be expanded is decided by their prefix (cus_, in_, pi_, …): the registry maps a prefix
// to the function the object's own GET route uses, so an expanded object is exactly what that route
// answers. At most four levels deep, as on Stripe.

export type Fetcher = (q: Queryable, id: string, now: Date) => Promise<unknown>;
export type Fetchers = ReadonlyMap<string, Fetcher>;
/**
 * Stripe's includable fields: absent from an object unless expanded (`customer.tax`), then computed
 * from the object. Keyed `object.field` (`customer.tax`).
 */
export type Computed = (q: Queryable, obj: Record<string, unknown>, now: Date) => Promise<unknown>;
export type ComputedFields = ReadonlyMap<string, Computed>;

const MAX_DEPTH = 4;

// An id's prefix is what comes before its first underscore (`prod_group_coaching` is a product), except
// for Stripe's one two-word prefix: `sub_sched_…` is a subscription schedule, not a subscription.
const prefixOf = (id: string) => (id.startsWith('sub_sched_') ? 'sub_sched' : id.includes('_') ? id.slice(0, id.indexOf('_')) : '');

function notExpandable(path: string, index: number): InvalidRequestError {
  return new InvalidRequestError(`This property cannot be expanded (${path}).`, `expand[${index}]`, 'parameter_invalid');
}

/** Expands `paths` in `body` in place (the body is the request's own response object). */
export async function expandResponse(
  q: Queryable,
  body: unknown,
  paths: readonly string[],
  fetchers: Fetchers,
  now: Date,
  computed: ComputedFields = new Map(),
): Promise<void> {
  const ctx = { fetchers, computed };
  for (const [index, path] of paths.entries()) {
    const segments = path.split('.');
    if (segments.length > MAX_DEPTH + 1 || segments.some((s) => s === '')) throw notExpandable(path, index);
    await expandAt(q, body, segments, ctx, path, index, now);
  }
}

type Ctx = { fetchers: Fetchers; computed: ComputedFields };

async function expandAt(q: Queryable, node: unknown, segments: string[], ctx: Ctx, path: string, index: number, now: Date): Promise<void> {
  const { fetchers } = ctx;
  if (node === null || typeof node !== 'object') throw notExpandable(path, index);
  const obj = node as Record<string, unknown>;
  const [field, ...rest] = segments as [string, ...string[]];
  if ((obj.object === 'list' || obj.object === 'search_result') && field === 'data' && Array.isArray(obj.data)) {
    // `data.x` on a list or a search result: each element; `data` alone names nothing to expand.
    if (rest.length === 0) throw notExpandable(path, index);
    for (const item of obj.data) await expandAt(q, item, rest, ctx, path, index, now);
    return;
  }
  const compute = obj.deleted === true ? undefined : ctx.computed.get(`${String(obj.object)}.${field}`);
  if (compute && !Object.hasOwn(obj, field)) obj[field] = await compute(q, obj, now);
  if (!Object.hasOwn(obj, field)) throw notExpandable(path, index);
  let value = obj[field];
  // A list of ids (subscription.discounts): each one.
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const holder = { object: 'element', v };
      await expandAt(q, holder, ['v', ...rest], ctx, path, index, now);
      out.push(holder.v);
    }
    obj[field] = out;
    return;
  }
  if (typeof value === 'string') {
    const fetch = fetchers.get(prefixOf(value));
    if (!fetch) throw notExpandable(path, index);
    value = await fetch(q, value, now);
    obj[field] = value;
  }
  // A null reference stays null (Stripe expands nothing there); an object is already expanded.
  if (value === null || rest.length === 0) return;
  await expandAt(q, value, rest, ctx, path, index, now);
}
