import { z } from 'zod';
import { isCurrency } from '../core/money/index.js';

// Shared request/response building blocks. Form-encoded bodies (Stripe's SDK) arrive as strings, so
// numbers and booleans accept their string spelling too; everything else stays strictly typed.

const numericString = /^-?\d+$/;

export const zInt = () =>
  z.preprocess((v) => (typeof v === 'string' && numericString.test(v) ? Number(v) : v), z.number().int().refine(Number.isSafeInteger, 'must be a safe integer'));

export const zBool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** The last second PostgreSQL and JavaScript dates both render in four-digit years: 9999-12-31T23:59:59Z. */
export const MAX_TIMESTAMP = 253_402_300_799;

/** A Unix timestamp in seconds, from 1970 to the end of year 9999 (past that, dates overflow). */
export const zTimestamp = () => zInt().pipe(z.number().int().min(0).max(MAX_TIMESTAMP, 'must be a Unix timestamp no later than 9999-12-31'));

export const zCurrency = () =>
  z
    .string()
    .transform((s) => s.toLowerCase())
    .refine(isCurrency, 'must be an ISO-4217 currency code');

/**
 * The largest single amount in minor units (9,999,999.99 in a two-decimal currency; Stripe stops at
 * 999,999.99). Times the largest quantity (1,000,000) it stays a safe integer, so no line overflows.
 */
export const MAX_AMOUNT = 999_999_999;

/** Minor units, never negative unless the caller allows it. */
export const zAmount = () => zInt().pipe(z.number().int().min(0).max(MAX_AMOUNT));

/** Minor units that may be negative (a credit). */
export const zSignedAmount = () => zInt().pipe(z.number().int().min(-MAX_AMOUNT).max(MAX_AMOUNT));

/**
 * A metadata patch that is `metadata=""` (Stripe's way to unset every key: the SDKs send `metadata: ''`
 * as a form-encoded empty value). It parses to an empty record carrying this marker, so every caller
 * that merges with `mergeMetadata` clears all keys without knowing about it, and one that stores the
 * value as is (a create) stores `{}` (a symbol key is not serialized).
 */
export const METADATA_CLEAR: unique symbol = Symbol('recur.metadata.clear');

/** True for the parsed `metadata=""` (unset every key). */
export function clearsAllMetadata(m: Record<string, string> | undefined): boolean {
  return m !== undefined && (m as { [METADATA_CLEAR]?: true })[METADATA_CLEAR] === true;
}

// `""` becomes a record with this one key before the record checks: no request can carry a NUL
// character (the router refuses them first, PostgreSQL text cannot hold them), so no real key collides.
const CLEAR_KEY = '\u0000clear';

/**
 * Stripe's metadata limits: 50 keys, keys ≤ 40 chars without `[` or `]` (a bracket would make the key
 * ambiguous in form encoding: `metadata[a[b]]`), values ≤ 500 chars. On update a "" value removes
 * its key and `metadata=""` removes every key (see METADATA_CLEAR).
 */
export const zMetadata = () =>
  z.preprocess(
    (v) => (v === '' ? { [CLEAR_KEY]: '' } : v),
    z
      .record(
        z
          .string()
          .max(40, 'metadata keys must be at most 40 characters')
          .refine((k) => !k.includes('[') && !k.includes(']'), "metadata keys must not contain '[' or ']'"),
        z.string().max(500, 'metadata values must be at most 500 characters'),
      )
      .refine((m) => Object.keys(m).length <= 50, 'metadata can have at most 50 keys')
      .overwrite((m) => (Object.hasOwn(m, CLEAR_KEY) ? ({ [METADATA_CLEAR]: true } as unknown as Record<string, string>) : m)),
  );

/** An optional text field where "" (Stripe's way to unset) becomes null. */
export const zNullableText = (max = 5000) => z.string().max(max).transform((s) => (s === '' ? null : s));

export const zExpand = () => z.array(z.string()).optional();

export const listQuery = {
  limit: zInt().pipe(z.number().int().min(1).max(100)).optional(),
  starting_after: z.string().optional(),
  ending_before: z.string().optional(),
  expand: zExpand(),
};

export const zList = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean(), url: z.string() });

export const zDeleted = (object: string) => z.object({ id: z.string(), object: z.literal(object), deleted: z.literal(true) });

export const zErrorBody = z.object({
  error: z.object({ type: z.string(), code: z.string(), message: z.string(), param: z.string().optional() }),
});

/**
 * Stripe's `created` list filter: an exact Unix timestamp (`created=1768478400`) or a range
 * (`created[gte]=…&created[lt]=…`).
 */
export const zCreatedFilter = z.union(
  [
    zTimestamp(),
    z.strictObject({ gte: zTimestamp().optional(), gt: zTimestamp().optional(), lte: zTimestamp().optional(), lt: zTimestamp().optional() }),
  ],
  { error: 'must be a Unix timestamp or a range with gt, gte, lt or lte Unix timestamps' },
);

export type CreatedFilter = z.infer<typeof zCreatedFilter>;

/**
 * The `created` filter as half-open bounds, in Unix seconds, on the stored timestamp. An object shows
 * `created` in whole seconds while its row keeps milliseconds, so the filter compares the second the
 * event shows, as Stripe does: created <= X is every instant before X + 1, created > X every instant
 * from X + 1 on, and created = X the second [X, X + 1). The bounds go to SQL as seconds for
 * to_timestamp() (a JavaScript Date for X + 1 past 9999-12-31 would not serialize), and the column
 * stays bare so an index on created (events_created) still serves the range.
 */
export function createdBounds(created: z.infer<typeof zCreatedFilter> | undefined): Array<['>=' | '<', number]> {
  if (created === undefined) return [];
  if (typeof created === 'number') {
    return [
      ['>=', created],
      ['<', created + 1],
    ];
  }
  const bounds: Array<['>=' | '<', number]> = [];
  if (created.gte !== undefined) bounds.push(['>=', created.gte]);
  if (created.gt !== undefined) bounds.push(['>=', created.gt + 1]);
  if (created.lte !== undefined) bounds.push(['<', created.lte + 1]);
  if (created.lt !== undefined) bounds.push(['<', created.lt]);
  return bounds;
}
