import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { addDays, fromUnix, toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { zExpand, zInt, zTimestamp } from '../../http/schemas.js';
import type { Feature } from '../catalog/domain/features.js';
import { recordEvent } from '../events/service.js';
import { effectiveNow } from '../subscriptions/service.js';

// Entitlements: the features a customer may use right now, and why — what the coaching platform
// asks before giving access. They are derived when asked, never copied into a table that could
// drift: from live subscriptions (the subscribed products' features), from paid one-time purchases
// (through entitlement rules: the course grants itself for life and Community Access for 90 days
// from the payment), and from manual grants. An entitlement with an end simply stops being listed
// at that instant of the customer's clock — it expires on its own, with no job to forget. A
// purchase whose line was fully credited (credit note) no longer grants anything.

export type EntitlementSource = { type: 'subscription'; subscription: string } | { type: 'purchase'; invoice: string; product: string } | { type: 'grant'; grant: string };

export interface Entitlement {
  object: 'entitlement';
  feature: string;
  name: string;
  value: Feature['value'];
  product: string;
  source: EntitlementSource;
  starts_at: number;
  ends_at: number | null;
}

interface ProductFeatures {
  id: string;
  features: Feature[];
}

async function productsById(q: Queryable, ids: string[]): Promise<Map<string, ProductFeatures>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<ProductFeatures>(`SELECT id, features FROM products WHERE id = ANY($1::text[])`, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, r]));
}

const LIVE_SUBSCRIPTION = ['active', 'trialing', 'past_due'];

export async function activeEntitlements(q: Queryable, customerId: string, requestNow: Date): Promise<{ now: Date; data: Entitlement[] }> {
  const { rows: customers } = await q.query<{ id: string; test_clock: string | null }>(`SELECT id, test_clock FROM customers WHERE id = $1 AND deleted_at IS NULL`, [customerId]);
  if (!customers[0]) throw new NotFoundError('customer', customerId);
  const now = await effectiveNow(q, customers[0].test_clock, requestNow);
  const t = now.getTime();

  const { rows: subs } = await q.query<{ id: string; created: Date; cancel_at_period_end: boolean; cancel_at: Date | null; current_period_end: Date; product: string }>(
    `SELECT s.id, s.created, s.cancel_at_period_end, s.cancel_at, s.current_period_end, p.product
       FROM subscriptions s JOIN subscription_items i ON i.subscription = s.id JOIN prices p ON p.id = i.price
      WHERE s.customer = $1 AND s.status = ANY($2::text[]) AND i.quantity > 0
      ORDER BY s.id, i.id`,
    [customerId, LIVE_SUBSCRIPTION],
  );
  // Paid one-time purchases, with what credit notes took back from each line.
  const { rows: purchases } = await q.query<{ invoice: string; paid_at: string; product: string; amount: number; credited: number }>(
    `SELECT inv.id AS invoice, inv.status_transitions->>'paid_at' AS paid_at, p.product, l.amount,
            COALESCE((SELECT sum(cl.amount) FROM credit_note_lines cl JOIN credit_notes cn ON cn.id = cl.credit_note
                       WHERE cl.invoice_line = l.id AND cn.status = 'issued'), 0) AS credited
       FROM invoices inv JOIN invoice_lines l ON l.invoice = inv.id JOIN prices p ON p.id = l.price
      WHERE inv.customer = $1 AND inv.status = 'paid' AND p.type = 'one_time' AND l.amount > 0
      ORDER BY inv.id, l.position`,
    [customerId],
  );
  const { rows: rules } = await q.query<{ product: string; grants_product: string; duration_days: number | null }>(
    `SELECT product, grants_product, duration_days FROM entitlement_rules WHERE product = ANY($1::text[]) ORDER BY id`,
    [[...new Set(purchases.map((p) => p.product))]],
  );
  const { rows: grants } = await q.query<{ id: string; product: string; starts_at: Date; ends_at: Date | null }>(
    `SELECT id, product, starts_at, ends_at FROM entitlement_grants WHERE customer = $1 AND revoked_at IS NULL ORDER BY id`,
    [customerId],
  );
  const products = await productsById(q, [...subs.map((s) => s.product), ...rules.map((r) => r.grants_product), ...grants.map((g) => g.product)]);

  const out: Entitlement[] = [];
  const add = (product: string, source: EntitlementSource, start: Date, end: Date | null) => {
    if (start.getTime() > t || (end !== null && end.getTime() <= t)) return;
    for (const f of products.get(product)?.features ?? []) {
      out.push({ object: 'entitlement', feature: f.key, name: f.name, value: f.value ?? null, product, source, starts_at: toUnix(start), ends_at: end ? toUnix(end) : null });
    }
  };
  for (const s of subs) add(s.product, { type: 'subscription', subscription: s.id }, new Date(s.created), s.cancel_at_period_end ? new Date(s.current_period_end) : s.cancel_at ? new Date(s.cancel_at) : null);
  for (const p of purchases) {
    if (Number(p.credited) >= Number(p.amount) || p.paid_at === null) continue;
    const paidAt = fromUnix(Number(p.paid_at));
    for (const r of rules.filter((x) => x.product === p.product)) {
      add(r.grants_product, { type: 'purchase', invoice: p.invoice, product: p.product }, paidAt, r.duration_days ? addDays(paidAt, r.duration_days) : null);
    }
  }
  for (const g of grants) add(g.product, { type: 'grant', grant: g.id }, new Date(g.starts_at), g.ends_at ? new Date(g.ends_at) : null);
  out.sort((a, b) => a.feature.localeCompare(b.feature) || a.starts_at - b.starts_at);
  return { now, data: out };
}

// ---- rules (what a one-time purchase grants) ----

export const ruleBody = z.strictObject({
  product: z.string().min(1),
  grants_product: z.string().min(1),
  /** Omit for access for life. */
  duration_days: zInt().pipe(z.number().int().min(1).max(36_500)).optional(),
  expand: zExpand(),
});

interface RuleRow {
  id: string;
  product: string;
  grants_product: string;
  duration_days: number | null;
  created: Date;
}

const serializeRule = (r: RuleRow) => ({
  id: r.id,
  object: 'entitlement_rule' as const,
  product: r.product,
  grants_product: r.grants_product,
  duration_days: r.duration_days,
  created: toUnix(new Date(r.created)),
});

async function productExists(q: Queryable, id: string, param: string): Promise<void> {
  const { rows } = await q.query(`SELECT 1 FROM products WHERE id = $1 AND deleted_at IS NULL`, [id]);
  if (!rows[0]) throw new NotFoundError('product', id, param);
}

export async function createRule(q: Queryable, now: Date, input: z.output<typeof ruleBody>) {
  await productExists(q, input.product, 'product');
  await productExists(q, input.grants_product, 'grants_product');
  const { rows } = await q.query<RuleRow>(
    `INSERT INTO entitlement_rules (id, product, grants_product, duration_days, created) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (product, grants_product) DO NOTHING RETURNING *`,
    [newId('entr'), input.product, input.grants_product, input.duration_days ?? null, now],
  );
  if (!rows[0]) throw new InvalidRequestError(`A purchase of ${input.product} already grants ${input.grants_product}; delete that rule first.`, 'grants_product', 'resource_already_exists');
  return serializeRule(rows[0]);
}

export async function listRules(q: Queryable) {
  const { rows } = await q.query<RuleRow>(`SELECT * FROM entitlement_rules ORDER BY id`);
  return rows.map(serializeRule);
}

export async function deleteRule(q: Queryable, id: string) {
  const res = await q.query(`DELETE FROM entitlement_rules WHERE id = $1`, [id]);
  if (res.rowCount === 0) throw new NotFoundError('entitlement_rule', id);
  return { id, object: 'entitlement_rule' as const, deleted: true as const };
}

/** The course grants itself for life and 90 days of Community Access (docs: product.md). */
export const SEED_RULES = [
  { product: 'prod_course', grants_product: 'prod_course', duration_days: null },
  { product: 'prod_course', grants_product: 'prod_community', duration_days: 90 },
] as const;

export async function seedEntitlementRules(q: Queryable, now: Date): Promise<{ created: number }> {
  let created = 0;
  for (const r of SEED_RULES) {
    const { rows } = await q.query(
      `INSERT INTO entitlement_rules (id, product, grants_product, duration_days, created)
       SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM products WHERE id = $2) AND EXISTS (SELECT 1 FROM products WHERE id = $3)
       ON CONFLICT (product, grants_product) DO NOTHING RETURNING id`,
      [newId('entr'), r.product, r.grants_product, r.duration_days, now],
    );
    created += rows.length;
  }
  return { created };
}

// ---- manual grants ----

export const grantBody = z.strictObject({
  product: z.string().min(1),
  reason: z.string().max(500).optional(),
  starts_at: zTimestamp().optional(),
  ends_at: zTimestamp().optional(),
  expand: zExpand(),
});

interface GrantRow {
  id: string;
  customer: string;
  product: string;
  reason: string | null;
  starts_at: Date;
  ends_at: Date | null;
  revoked_at: Date | null;
  created: Date;
}

const serializeGrant = (g: GrantRow) => ({
  id: g.id,
  object: 'entitlement_grant' as const,
  customer: g.customer,
  product: g.product,
  reason: g.reason,
  starts_at: toUnix(new Date(g.starts_at)),
  ends_at: g.ends_at ? toUnix(new Date(g.ends_at)) : null,
  revoked_at: g.revoked_at ? toUnix(new Date(g.revoked_at)) : null,
  created: toUnix(new Date(g.created)),
});

export async function createGrant(q: Queryable, requestNow: Date, customer: string, input: z.output<typeof grantBody>) {
  const { rows: cs } = await q.query<{ test_clock: string | null }>(`SELECT test_clock FROM customers WHERE id = $1 AND deleted_at IS NULL`, [customer]);
  if (!cs[0]) throw new NotFoundError('customer', customer);
  await productExists(q, input.product, 'product');
  const now = await effectiveNow(q, cs[0].test_clock, requestNow);
  const start = input.starts_at !== undefined ? fromUnix(input.starts_at) : now;
  const end = input.ends_at !== undefined ? fromUnix(input.ends_at) : null;
  if (end && end <= start) throw new InvalidRequestError('ends_at must be after starts_at.', 'ends_at', 'parameter_invalid');
  const { rows } = await q.query<GrantRow>(
    `INSERT INTO entitlement_grants (id, customer, product, reason, starts_at, ends_at, created) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [newId('entg'), customer, input.product, input.reason ?? null, start, end, now],
  );
  const obj = serializeGrant(rows[0]!);
  await recordEvent(q, now, { type: 'entitlement_grant.created', object: obj, customerId: customer });
  return obj;
}

export async function revokeGrant(q: Queryable, requestNow: Date, customer: string, id: string) {
  const { rows: found } = await q.query<GrantRow & { test_clock: string | null }>(
    `SELECT g.*, c.test_clock FROM entitlement_grants g JOIN customers c ON c.id = g.customer WHERE g.id = $1 AND g.customer = $2`,
    [id, customer],
  );
  if (!found[0]) throw new NotFoundError('entitlement_grant', id);
  const now = await effectiveNow(q, found[0].test_clock, requestNow);
  const { rows } = await q.query<GrantRow>(`UPDATE entitlement_grants SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING *`, [id, now]);
  const obj = serializeGrant(rows[0]!);
  await recordEvent(q, now, { type: 'entitlement_grant.revoked', object: obj, customerId: customer });
  return obj;
}
