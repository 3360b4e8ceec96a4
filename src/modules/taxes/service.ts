import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { fromUnix, toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { listQuery, zBool, zExpand, zMetadata, zNullableText, zTimestamp } from '../../http/schemas.js';
import { mergeMetadata } from '../customers/service.js';
import { COUNTRY_CODES } from '../customers/domain/countries.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import { BUILTIN_RATES } from './domain/builtin-rates.js';
import { normalizeState } from './domain/determine.js';
import { TAX_TYPES, percentageToPpm, ppmToPercentage, type TaxType } from './domain/types.js';

// Tax rates (Stripe's TaxRate, versioned): what a rate charges (percentage, inclusive, place, type)
// never changes once created; a new rate with `effective_from` replaces the open version of the
// same jurisdiction from that instant, so invoices built before keep the old rate (they store a
// snapshot on their lines anyway) and invoices built after get the new one.

export interface TaxRateRow {
  id: string;
  display_name: string;
  description: string | null;
  jurisdiction: string | null;
  country: string;
  state: string | null;
  postal_code_prefix: string | null;
  percentage_ppm: number;
  tax_type: TaxType;
  inclusive: boolean;
  active: boolean;
  effective_from: Date | null;
  effective_until: Date | null;
  builtin_key: string | null;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
}

const ts = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeTaxRate(r: TaxRateRow) {
  const percentage = ppmToPercentage(r.percentage_ppm);
  return {
    id: r.id,
    object: 'tax_rate' as const,
    active: r.active,
    country: r.country,
    created: toUnix(new Date(r.created)),
    description: r.description,
    display_name: r.display_name,
    effective_percentage: percentage,
    inclusive: r.inclusive,
    jurisdiction: r.jurisdiction,
    jurisdiction_level: r.postal_code_prefix ? ('city' as const) : r.state ? ('state' as const) : ('country' as const),
    livemode: false,
    metadata: r.metadata,
    percentage,
    state: r.state,
    tax_type: r.tax_type,
    // Recur: versioning and local rates.
    postal_code_prefix: r.postal_code_prefix,
    effective_from: ts(r.effective_from),
    effective_until: ts(r.effective_until),
    builtin: r.builtin_key !== null,
  };
}
export type TaxRateObject = ReturnType<typeof serializeTaxRate>;

const zPercentage = () =>
  z
    .union([z.number(), z.string()])
    .transform((v) => String(v))
    .refine((v) => {
      try {
        percentageToPpm(v);
        return true;
      } catch {
        return false;
      }
    }, 'must be a percentage from 0 to 100 with at most four decimals');

const zCountry = () =>
  z
    .string()
    .transform((s) => s.toUpperCase())
    .refine((c) => COUNTRY_CODES.has(c), 'must be an ISO 3166-1 alpha-2 country code');

export const createTaxRateBody = z.strictObject({
  display_name: z.string().min(1).max(50),
  percentage: zPercentage(),
  inclusive: zBool().optional(),
  active: zBool().optional(),
  country: zCountry(),
  state: z.string().min(1).max(50).optional(),
  postal_code_prefix: z.string().min(1).max(20).optional(),
  jurisdiction: z.string().max(200).optional(),
  description: z.string().max(500).optional(),
  tax_type: z.enum(TAX_TYPES),
  effective_from: zTimestamp().optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
});

export const updateTaxRateBody = z.strictObject({
  active: zBool().optional(),
  display_name: z.string().min(1).max(50).optional(),
  description: zNullableText(500).optional(),
  jurisdiction: zNullableText(200).optional(),
  effective_until: zTimestamp().or(z.literal('').transform(() => null)).optional(),
  metadata: zMetadata().optional(),
  // What the rate charges cannot change (a new version is a new rate); named so the error says so.
  percentage: z.unknown().optional(),
  inclusive: z.unknown().optional(),
  country: z.unknown().optional(),
  state: z.unknown().optional(),
  postal_code_prefix: z.unknown().optional(),
  tax_type: z.unknown().optional(),
  effective_from: z.unknown().optional(),
  expand: zExpand(),
});

export const listTaxRatesQuery = z.strictObject({
  ...listQuery,
  active: zBool().optional(),
  inclusive: zBool().optional(),
  country: zCountry().optional(),
  state: z.string().optional(),
  tax_type: z.enum(TAX_TYPES).optional(),
});

export async function getTaxRateRow(q: Queryable, id: string): Promise<TaxRateRow> {
  const { rows } = await q.query<TaxRateRow>(`SELECT * FROM tax_rates WHERE id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError('tax_rate', id);
  return rows[0];
}

interface NewRate {
  display_name: string;
  percentage_ppm: number;
  inclusive: boolean;
  active: boolean;
  country: string;
  state: string | null;
  postal_code_prefix: string | null;
  jurisdiction: string | null;
  description: string | null;
  tax_type: TaxType;
  effective_from: Date | null;
  effective_until: Date | null;
  builtin_key: string | null;
  metadata: Record<string, string>;
}

async function insertRate(q: Queryable, now: Date, r: NewRate): Promise<TaxRateRow> {
  const { rows } = await q.query<TaxRateRow>(
    `INSERT INTO tax_rates (id, display_name, description, jurisdiction, country, state, postal_code_prefix, percentage_ppm, tax_type, inclusive, active,
       effective_from, effective_until, builtin_key, metadata, created, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING *`,
    [
      newId('txr'),
      r.display_name,
      r.description,
      r.jurisdiction,
      r.country,
      r.state,
      r.postal_code_prefix,
      r.percentage_ppm,
      r.tax_type,
      r.inclusive,
      r.active,
      r.effective_from,
      r.effective_until,
      r.builtin_key,
      JSON.stringify(r.metadata),
      now,
    ],
  );
  return rows[0]!;
}

export async function createTaxRate(q: Queryable, now: Date, input: z.output<typeof createTaxRateBody>): Promise<TaxRateObject> {
  const country = input.country;
  const state = normalizeState(country, input.state);
  const postal = input.postal_code_prefix ? input.postal_code_prefix.replace(/\s/g, '').toUpperCase() : null;
  const from = input.effective_from !== undefined ? fromUnix(input.effective_from) : null;
  if (from) {
    // The open version of the same jurisdiction and type ends where this one starts.
    const { rows: open } = await q.query<TaxRateRow>(
      `SELECT * FROM tax_rates WHERE active AND country = $1 AND state IS NOT DISTINCT FROM $2 AND postal_code_prefix IS NOT DISTINCT FROM $3 AND tax_type = $4
          AND effective_until IS NULL AND (effective_from IS NULL OR effective_from < $5) FOR UPDATE`,
      [country, state, postal, input.tax_type, from],
    );
    for (const old of open) {
      const closed = (await q.query<TaxRateRow>(`UPDATE tax_rates SET effective_until = $2, updated = $3 WHERE id = $1 RETURNING *`, [old.id, from, now])).rows[0]!;
      await recordEvent(q, now, { type: 'tax_rate.updated', object: serializeTaxRate(closed), previousAttributes: { effective_until: null } });
    }
  }
  const row = await insertRate(q, now, {
    display_name: input.display_name,
    percentage_ppm: percentageToPpm(input.percentage),
    inclusive: input.inclusive ?? false,
    active: input.active ?? true,
    country,
    state,
    postal_code_prefix: postal,
    jurisdiction: input.jurisdiction ?? null,
    description: input.description ?? null,
    tax_type: input.tax_type,
    effective_from: from,
    effective_until: null,
    builtin_key: null,
    metadata: mergeMetadata({}, input.metadata),
  });
  const obj = serializeTaxRate(row);
  await recordEvent(q, now, { type: 'tax_rate.created', object: obj });
  return obj;
}

const IMMUTABLE = ['percentage', 'inclusive', 'country', 'state', 'postal_code_prefix', 'tax_type', 'effective_from'] as const;

export async function updateTaxRate(q: Queryable, now: Date, id: string, input: z.output<typeof updateTaxRateBody>): Promise<TaxRateObject> {
  for (const k of IMMUTABLE) {
    if (input[k] !== undefined) {
      throw new InvalidRequestError(
        `A tax rate's ${k} cannot change: issued invoices refer to it. Create a new rate with effective_from to replace it from a date.`,
        k,
        'parameter_immutable',
      );
    }
  }
  const before = await getTaxRateRow(q, id);
  const patch: Record<string, unknown> = { updated: now };
  if (input.active !== undefined) patch.active = input.active;
  if (input.display_name !== undefined) patch.display_name = input.display_name;
  if (input.description !== undefined) patch.description = input.description;
  if (input.jurisdiction !== undefined) patch.jurisdiction = input.jurisdiction;
  if (input.metadata !== undefined) patch.metadata = JSON.stringify(mergeMetadata(before.metadata, input.metadata));
  if (input.effective_until !== undefined) {
    const until = input.effective_until === null ? null : fromUnix(input.effective_until);
    if (until && before.effective_from && until <= new Date(before.effective_from)) {
      throw new InvalidRequestError('effective_until must be after effective_from.', 'effective_until', 'parameter_invalid');
    }
    patch.effective_until = until;
  }
  const cols = Object.keys(patch);
  const { rows } = await q.query<TaxRateRow>(`UPDATE tax_rates SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [id, ...cols.map((c) => patch[c])]);
  const obj = serializeTaxRate(rows[0]!);
  const prev = previousAttributes(serializeTaxRate(before), obj);
  if (Object.keys(prev).length) await recordEvent(q, now, { type: 'tax_rate.updated', object: obj, previousAttributes: prev });
  return obj;
}

export async function listTaxRates(q: Queryable, f: { active?: boolean; inclusive?: boolean; country?: string; state?: string; tax_type?: string }, list: ListParams) {
  const equals = { ...f, state: f.state !== undefined && f.country ? normalizeState(f.country, f.state) : f.state };
  const { rows, hasMore } = await paginate<TaxRateRow>(q, { table: 'tax_rates', equals }, list);
  return { data: rows.map(serializeTaxRate), hasMore };
}

// Two processes seeding at once take turns (as the catalog seed does).
const SEED_LOCK_KEY = 7_202_614;

/** Inserts the built-in rates that are missing (by key): a second run creates nothing. */
export async function seedTaxRates(q: Queryable, now: Date): Promise<{ created: number }> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK_KEY]);
  const { rows } = await q.query<{ builtin_key: string }>(`SELECT builtin_key FROM tax_rates WHERE builtin_key IS NOT NULL`);
  const have = new Set(rows.map((r) => r.builtin_key));
  let created = 0;
  for (const b of BUILTIN_RATES) {
    if (have.has(b.key)) continue;
    await insertRate(q, now, {
      display_name: b.displayName,
      percentage_ppm: percentageToPpm(b.percentage),
      inclusive: false,
      active: true,
      country: b.country,
      state: b.state ?? null,
      postal_code_prefix: null,
      jurisdiction: b.jurisdiction,
      description: `Built-in ${b.displayName} rate for ${b.jurisdiction}; keep it current.`,
      tax_type: b.taxType,
      effective_from: b.effectiveFrom ? new Date(b.effectiveFrom) : null,
      effective_until: b.effectiveUntil ? new Date(b.effectiveUntil) : null,
      builtin_key: b.key,
      metadata: {},
    });
    created++;
  }
  return { created };
}
