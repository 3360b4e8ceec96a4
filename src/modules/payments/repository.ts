import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { CvcCheckResult, FailureClass, RoutingInfo } from './gateway.js';
import type { CancellationReason, LastPaymentError, PaymentIntentStatus } from './schemas.js';

// All of the payments module's SQL. Rows hold what the gateway gave back for a card (brand, last4,
// expiry, country, fingerprint, funding, the CVC check's result) and the gateway's opaque token.

export interface StoredCard {
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  country: string | null;
  fingerprint: string;
  funding: string;
  cvc_check: CvcCheckResult | null;
}

export interface BillingDetails {
  address: { city: string | null; country: string | null; line1: string | null; line2: string | null; postal_code: string | null; state: string | null };
  email: string | null;
  name: string | null;
  phone: string | null;
}

export interface PaymentMethodRow {
  id: string;
  customer: string | null;
  type: 'card';
  card: StoredCard;
  billing_details: BillingDetails;
  gateway: string;
  gateway_token: string;
  metadata: Record<string, string>;
  created: Date;
  detached_at: Date | null;
}

const PM_COLUMNS = ['id', 'customer', 'type', 'card', 'billing_details', 'gateway', 'gateway_token', 'metadata', 'created', 'detached_at'] as const;
const PM_JSON = new Set(['card', 'billing_details', 'metadata']);

export interface PaymentIntentRow {
  id: string;
  customer: string | null;
  invoice: string | null;
  amount: number;
  amount_received: number;
  currency: string;
  status: PaymentIntentStatus;
  payment_method: string | null;
  gateway: string | null;
  gateway_ref: string | null;
  idempotency_key: string;
  last_payment_error: LastPaymentError | null;
  failure_class: FailureClass | null;
  description: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  created: Date;
  updated: Date;
  // Added by migration 0004 (optional here: rows built elsewhere leave them to their defaults).
  /** What the router did: rule, candidates, the gateways tried and their results. */
  routing?: RoutingInfo | null;
  risk_score?: number | null;
  risk_rule?: string | null;
  risk_outcome?: 'allow' | 'review' | 'block' | null;
  client_ip?: string | null;
  amount_refunded?: number;
  disputed?: boolean;
  // Added by migration 0046: payment intents confirmed after their creation (intent-flow.ts).
  canceled_at?: Date | null;
  cancellation_reason?: CancellationReason | null;
  /** Charge attempts made by confirming (each with its own gateway key). */
  confirmations?: number;
  // Added by migration 0051.
  /** The key the charge was sent to the gateway with, when not idempotency_key (a renewal charged as it is written). */
  gateway_key?: string | null;
}

const PI_COLUMNS = [
  'id', 'customer', 'invoice', 'amount', 'amount_received', 'currency', 'status', 'payment_method', 'gateway', 'gateway_ref', 'idempotency_key',
  'last_payment_error', 'failure_class', 'description', 'metadata', 'test_clock', 'created', 'updated',
  'routing', 'risk_score', 'risk_rule', 'risk_outcome', 'client_ip', 'gateway_key',
] as const;
/** Columns an update may also set. */
const PI_UPDATABLE = new Set<string>([...PI_COLUMNS, 'amount_refunded', 'disputed', 'canceled_at', 'cancellation_reason', 'confirmations']);
const PI_JSON = new Set(['last_payment_error', 'metadata', 'routing']);

function toParam(json: Set<string>, col: string, v: unknown): unknown {
  return json.has(col) && v !== null && v !== undefined ? JSON.stringify(v) : v;
}

function insertSql(table: string, cols: readonly string[], suffix = ''): string {
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})${suffix} RETURNING *`;
}

function updateSql(table: string, cols: string[]): string {
  return `UPDATE ${table} SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`;
}

// ---- payment methods ----

export async function insertPaymentMethod(q: Queryable, row: PaymentMethodRow): Promise<PaymentMethodRow> {
  const { rows } = await q.query<PaymentMethodRow>(insertSql('payment_methods', PM_COLUMNS), PM_COLUMNS.map((c) => toParam(PM_JSON, c, row[c])));
  return rows[0]!;
}

export async function findPaymentMethod(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<PaymentMethodRow | null> {
  const { rows } = await q.query<PaymentMethodRow>(`SELECT * FROM payment_methods WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function updatePaymentMethodRow(q: Queryable, id: string, patch: Partial<PaymentMethodRow>): Promise<PaymentMethodRow> {
  const cols = Object.keys(patch).filter((c) => (PM_COLUMNS as readonly string[]).includes(c) && c !== 'id');
  const { rows } = await q.query<PaymentMethodRow>(updateSql('payment_methods', cols), [
    id,
    ...cols.map((c) => toParam(PM_JSON, c, (patch as Record<string, unknown>)[c])),
  ]);
  return rows[0]!;
}

export async function listPaymentMethodRows(q: Queryable, filter: { customer?: string; allowRedisplay?: string }, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.customer !== undefined) {
    params.push(filter.customer);
    where.push(`customer = $${params.length}`);
  }
  // Every payment method shows allow_redisplay `unspecified` (serializePaymentMethod): another value matches none.
  if (filter.allowRedisplay !== undefined && filter.allowRedisplay !== 'unspecified') where.push('false');
  return paginate<PaymentMethodRow>(q, { table: 'payment_methods', where: where.join(' AND ') || undefined, params }, list);
}

// ---- payment intents ----

/** Inserts unless a row with the same idempotency key exists; then returns null (the caller reads it). */
export async function insertPaymentIntentOnce(q: Queryable, row: PaymentIntentRow): Promise<PaymentIntentRow | null> {
  const { rows } = await q.query<PaymentIntentRow>(
    insertSql('payment_intents', PI_COLUMNS, ' ON CONFLICT (idempotency_key) DO NOTHING'),
    PI_COLUMNS.map((c) => toParam(PI_JSON, c, row[c] ?? null)),
  );
  return rows[0] ?? null;
}

export async function findPaymentIntent(q: Queryable, id: string): Promise<PaymentIntentRow | null> {
  const { rows } = await q.query<PaymentIntentRow>(`SELECT * FROM payment_intents WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findPaymentIntentByKey(q: Queryable, idempotencyKey: string, opts: { forUpdate?: boolean } = {}): Promise<PaymentIntentRow | null> {
  const { rows } = await q.query<PaymentIntentRow>(`SELECT * FROM payment_intents WHERE idempotency_key = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [
    idempotencyKey,
  ]);
  return rows[0] ?? null;
}

export async function findSucceededIntentForInvoice(q: Queryable, invoice: string): Promise<PaymentIntentRow | null> {
  const { rows } = await q.query<PaymentIntentRow>(`SELECT * FROM payment_intents WHERE invoice = $1 AND status = 'succeeded'`, [invoice]);
  return rows[0] ?? null;
}

/** Serialises payment attempts on one invoice (the caller may already hold this lock: re-locking is free). */
export async function lockInvoice(q: Queryable, invoice: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT id FROM invoices WHERE id = $1 FOR UPDATE`, [invoice]);
  return rows.length === 1;
}

export async function updatePaymentIntentRow(q: Queryable, id: string, patch: Partial<PaymentIntentRow>): Promise<PaymentIntentRow> {
  const cols = Object.keys(patch).filter((c) => PI_UPDATABLE.has(c) && c !== 'id');
  const { rows } = await q.query<PaymentIntentRow>(updateSql('payment_intents', cols), [
    id,
    ...cols.map((c) => toParam(PI_JSON, c, (patch as Record<string, unknown>)[c])),
  ]);
  return rows[0]!;
}

export async function listPaymentIntentRows(
  q: Queryable,
  filter: { customer?: string; invoice?: string; status?: PaymentIntentStatus; risk_outcome?: 'allow' | 'review' | 'block' },
  list: ListParams,
) {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const col of ['customer', 'invoice', 'status', 'risk_outcome'] as const) {
    if (filter[col] === undefined) continue;
    params.push(filter[col]);
    where.push(`${col} = $${params.length}`);
  }
  // `created` is the list's own (ListParams), applied by paginate.
  return paginate<PaymentIntentRow>(q, { table: 'payment_intents', where: where.join(' AND ') || undefined, params }, list);
}

/** An attempt by the gateway's reference for the charge (stored plain, or "gateway:ref" when routed). */
export async function findPaymentIntentByGatewayRef(q: Queryable, forms: string[], opts: { forUpdate?: boolean } = {}): Promise<PaymentIntentRow | null> {
  const { rows } = await q.query<PaymentIntentRow>(
    `SELECT * FROM payment_intents WHERE gateway_ref = ANY($1::text[]) ORDER BY id DESC LIMIT 1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [forms],
  );
  return rows[0] ?? null;
}

export async function insertPaymentMethodRefs(q: Queryable, paymentMethod: string, refs: { gateway: string; ref: string }[]): Promise<void> {
  if (refs.length === 0) return;
  await q.query(
    `INSERT INTO payment_method_refs (gateway, ref, payment_method) SELECT g, r, $3 FROM unnest($1::text[], $2::text[]) AS u(g, r) ON CONFLICT DO NOTHING`,
    [refs.map((r) => r.gateway), refs.map((r) => r.ref), paymentMethod],
  );
}

/** Recur's payment methods known at `gateway` by `ref`. */
export async function findPaymentMethodsByRef(q: Queryable, gateway: string, ref: string): Promise<PaymentMethodRow[]> {
  const { rows } = await q.query<PaymentMethodRow>(
    `SELECT m.* FROM payment_method_refs r JOIN payment_methods m ON m.id = r.payment_method WHERE r.gateway = $1 AND r.ref = $2 ORDER BY m.id`,
    [gateway, ref],
  );
  return rows;
}
