import { AppError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { formatMoney } from '../../core/money/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { recordEvent } from '../events/service.js';
import { decodeStoredRef } from './codec.js';
import type { RefundOutcome } from './gateway.js';
import { ROUTER_NAME } from './router.js';
import type { PaymentDeps } from './service.js';

// Refunds go through the gateway that took the money, full or partial. The amount is reserved on the
// payment intent (amount_refunded) in the same transaction that records the refund, under a
// constraint that keeps it ≤ amount_received: two concurrent refunds can never exceed what was
// captured. A refund the gateway refuses gives its reservation back; one whose answer was lost stays
// pending and is asked again (same idempotency key) by the worker, or settled by the gateway's webhook.

export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
export type RefundReason = 'duplicate' | 'fraudulent' | 'requested_by_customer' | 'expired_uncaptured_charge';

export interface RefundRow {
  id: string;
  payment_intent: string;
  customer: string | null;
  invoice: string | null;
  amount: number;
  currency: string;
  status: RefundStatus;
  reason: RefundReason | null;
  gateway: string;
  gateway_ref: string | null;
  failure_reason: string | null;
  idempotency_key: string;
  credit_note: string | null;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
}

export function serializeRefund(r: RefundRow, chargeRef: string | null = null) {
  return {
    id: r.id,
    object: 'refund' as const,
    amount: r.amount,
    balance_transaction: null,
    charge: chargeRef,
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    failure_reason: r.failure_reason,
    metadata: r.metadata,
    payment_intent: r.payment_intent,
    reason: r.reason,
    receipt_number: null,
    status: r.status,
    // Recur's additions.
    gateway: r.gateway,
    gateway_reference: r.gateway_ref,
    credit_note: r.credit_note,
    invoice: r.invoice,
  };
}
export type RefundObject = ReturnType<typeof serializeRefund>;

interface PiForRefund {
  id: string;
  customer: string | null;
  invoice: string | null;
  status: string;
  currency: string;
  amount_received: number;
  amount_refunded: number;
  gateway: string | null;
  gateway_ref: string | null;
}

export interface CreateRefundInput {
  payment_intent: string;
  /** Default: everything not refunded yet. */
  amount?: number;
  reason?: RefundReason;
  metadata?: Record<string, string>;
  /** The credit note this refund pays out, when the credit-notes module issues one. */
  credit_note?: string | null;
  /** Stable across retries of the same request (derived from the API Idempotency-Key when given). */
  idempotencyKey?: string;
}


export async function createRefund(q: Queryable, deps: PaymentDeps, now: Date, input: CreateRefundInput): Promise<RefundObject> {
  const { rows } = await q.query<PiForRefund>(`SELECT * FROM payment_intents WHERE id = $1 FOR UPDATE`, [input.payment_intent]);
  const pi = rows[0];
  if (!pi) throw new NotFoundError('payment_intent', input.payment_intent, 'payment_intent');
  if (pi.status !== 'succeeded') {
    throw new InvalidRequestError(`This PaymentIntent (${pi.id}) is ${pi.status}; only a succeeded payment can be refunded.`, 'payment_intent', 'payment_intent_unexpected_state');
  }
  const remaining = pi.amount_received - pi.amount_refunded;
  const amount = input.amount ?? remaining;
  if (remaining <= 0) throw new InvalidRequestError(`Charge for ${pi.id} has already been refunded.`, 'payment_intent', 'charge_already_refunded');
  if (!Number.isSafeInteger(amount) || amount <= 0) throw new InvalidRequestError('amount must be a positive integer in minor units', 'amount');
  if (amount > remaining) {
    throw new InvalidRequestError(`Refund amount (${formatMoney({ amount, currency: pi.currency })}) is greater than unrefunded amount on charge (${formatMoney({ amount: remaining, currency: pi.currency })})`, 'amount', 'amount_too_large');
  }
  const where = decodeStoredRef(pi.gateway_ref);
  const gateway = where.gateway ?? pi.gateway;
  if (!gateway || gateway === ROUTER_NAME || !where.ref) {
    throw new AppError(400, 'invalid_request_error', 'charge_location_unknown', `Which gateway holds the payment ${pi.id} is unknown; it cannot be refunded automatically.`, 'payment_intent');
  }
  // The reservation: the constraint refuses to refund past what was captured, even under races.
  await q.query(`UPDATE payment_intents SET amount_refunded = amount_refunded + $2, updated = $3 WHERE id = $1`, [pi.id, amount, now]);

  const id = newId('re');
  const row: RefundRow = {
    id,
    payment_intent: pi.id,
    customer: pi.customer,
    invoice: pi.invoice,
    amount,
    currency: pi.currency,
    status: 'pending',
    reason: input.reason ?? null,
    gateway,
    gateway_ref: null,
    failure_reason: null,
    idempotency_key: input.idempotencyKey ?? `refund:${id}`,
    credit_note: input.credit_note ?? null,
    metadata: input.metadata ?? {},
    created: now,
    updated: now,
  };
  const inserted = await q.query<RefundRow>(
    `INSERT INTO refunds (id, payment_intent, customer, invoice, amount, currency, status, reason, gateway, gateway_ref, failure_reason, idempotency_key, credit_note, metadata, created, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING *`,
    [row.id, row.payment_intent, row.customer, row.invoice, row.amount, row.currency, row.status, row.reason, row.gateway, null, null, row.idempotency_key, row.credit_note, JSON.stringify(row.metadata), now, now],
  );
  if (!inserted.rows[0]) throw new AppError(409, 'idempotency_error', 'idempotency_key_in_use', 'A refund with this idempotency key already exists.');
  await recordEvent(q, now, { type: 'refund.created', object: serializeRefund(row, where.ref), customerId: pi.customer });
  const after = await sendRefund(q, deps, row, where.ref, now);
  return serializeRefund(after, where.ref);
}

/** Asks the gateway to refund (same idempotency key every time) and records its answer. */
async function sendRefund(q: Queryable, deps: PaymentDeps, row: RefundRow, chargeRef: string, now: Date): Promise<RefundRow> {
  let outcome: RefundOutcome;
  try {
    const gw = deps.gateways.get(row.gateway);
    outcome = gw.refund
      ? await gw.refund({ gatewayRef: chargeRef, amount: row.amount, currency: row.currency, idempotencyKey: row.idempotency_key, reason: row.reason, refundId: row.id })
      : { status: 'failed', failureClass: 'hard_decline', code: 'refunds_unsupported', message: `The gateway '${row.gateway}' cannot refund.` };
  } catch (err) {
    outcome = { status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable', message: (err as Error).message };
  }
  if (outcome.status === 'failed' && outcome.failureClass === 'gateway_fault') {
    // Unknown: keep the reservation and the pending status; the worker asks again with the same key.
    return (await q.query<RefundRow>(`UPDATE refunds SET failure_reason = $2, updated = $3 WHERE id = $1 RETURNING *`, [row.id, `gateway_unavailable: ${outcome.message}`.slice(0, 500), now])).rows[0]!;
  }
  if (outcome.status === 'failed') return applyRefundStatus(q, row, { status: 'failed', gatewayRef: outcome.gatewayRef ?? null, failureReason: outcome.code }, now);
  return applyRefundStatus(q, row, { status: outcome.status, gatewayRef: outcome.gatewayRef, failureReason: null }, now);
}

const FINAL: RefundStatus[] = ['succeeded', 'failed', 'canceled'];

/**
 * Moves a refund to a new status (from the gateway's answer or its webhook). Final statuses never
 * change again (a late or repeated event is stale); failing or canceling gives the reserved amount back.
 */
export async function applyRefundStatus(
  q: Queryable,
  row: RefundRow,
  next: { status: RefundStatus; gatewayRef: string | null; failureReason: string | null },
  now: Date,
): Promise<RefundRow> {
  if (FINAL.includes(row.status) || (row.status === next.status && (row.gateway_ref ?? null) === (next.gatewayRef ?? row.gateway_ref))) return row;
  const { rows } = await q.query<RefundRow>(
    `UPDATE refunds SET status = $2, gateway_ref = coalesce($3, gateway_ref), failure_reason = $4, updated = $5 WHERE id = $1 RETURNING *`,
    [row.id, next.status, next.gatewayRef, next.failureReason, now],
  );
  const after = rows[0]!;
  if (next.status === 'failed' || next.status === 'canceled') {
    await q.query(`UPDATE payment_intents SET amount_refunded = amount_refunded - $2, updated = $3 WHERE id = $1`, [row.payment_intent, row.amount, now]);
  }
  const { rows: pis } = await q.query<{ gateway_ref: string | null }>(`SELECT gateway_ref FROM payment_intents WHERE id = $1`, [row.payment_intent]);
  const obj = serializeRefund(after, decodeStoredRef(pis[0]?.gateway_ref).ref);
  await recordEvent(q, now, { type: next.status === 'failed' ? 'refund.failed' : 'refund.updated', object: obj, customerId: after.customer });
  return after;
}

/** Refunds whose gateway answer was lost: asked again with the same key (worker job). */
export async function retryPendingRefunds(q: Queryable, deps: PaymentDeps, now: Date, limit: number): Promise<number> {
  const { rows } = await q.query<RefundRow & { pi_ref: string | null }>(
    `SELECT r.*, p.gateway_ref AS pi_ref FROM refunds r JOIN payment_intents p ON p.id = r.payment_intent
      WHERE r.status = 'pending' AND r.gateway_ref IS NULL AND r.updated <= $1
      ORDER BY r.updated LIMIT ${Math.max(1, Math.floor(limit))} FOR UPDATE OF r SKIP LOCKED`,
    [new Date(now.getTime() - 60_000)],
  );
  for (const r of rows) {
    const ref = decodeStoredRef(r.pi_ref).ref;
    if (ref) await sendRefund(q, deps, r, ref, now);
  }
  return rows.length;
}

export async function findRefund(q: Queryable, id: string): Promise<RefundRow | null> {
  const { rows } = await q.query<RefundRow>(`SELECT * FROM refunds WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function retrieveRefund(q: Queryable, id: string): Promise<RefundObject> {
  const row = await findRefund(q, id);
  if (!row) throw new NotFoundError('refund', id);
  const { rows } = await q.query<{ gateway_ref: string | null }>(`SELECT gateway_ref FROM payment_intents WHERE id = $1`, [row.payment_intent]);
  return serializeRefund(row, decodeStoredRef(rows[0]?.gateway_ref).ref);
}

export async function listRefunds(q: Queryable, filter: { payment_intent?: string }, list: ListParams) {
  const params: unknown[] = [];
  let where: string | undefined;
  if (filter.payment_intent) {
    params.push(filter.payment_intent);
    where = 'payment_intent = $1';
  }
  const { rows, hasMore } = await paginate<RefundRow>(q, { table: 'refunds', where, params }, list);
  const { rows: pis } = await q.query<{ id: string; gateway_ref: string | null }>(`SELECT id, gateway_ref FROM payment_intents WHERE id = ANY($1::text[])`, [rows.map((r) => r.payment_intent)]);
  const refOf = new Map(pis.map((p) => [p.id, decodeStoredRef(p.gateway_ref).ref]));
  return { data: rows.map((r) => serializeRefund(r, refOf.get(r.payment_intent) ?? null)), hasMore };
}

/** Links a refund to the credit note it pays out (for the credit-notes module). */
export async function linkRefundToCreditNote(q: Queryable, refundId: string, creditNote: string, now: Date): Promise<void> {
  const res = await q.query(`UPDATE refunds SET credit_note = $2, updated = $3 WHERE id = $1`, [refundId, creditNote, now]);
  if (res.rowCount === 0) throw new NotFoundError('refund', refundId, 'refund');
}
