import { NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { recordEvent } from '../events/service.js';
import { storedRefForms } from './codec.js';
import { findPaymentIntentByGatewayRef } from './repository.js';

// Disputes (chargebacks) arrive from the gateways' webhooks, in any order and more than once. One row
// per gateway dispute; an update applies only if it is newer than the stored state (the gateway's time,
// then how far along the dispute is), so a late "created" never reopens a closed dispute. The first
// time a dispute is seen, the payment, its invoice and its customer are flagged and
// `charge.dispute.created` is written; reaching won or lost writes `charge.dispute.closed` once. Lost
// disputes stay in this table for revenue analytics.

export type DisputeStatus = 'warning_needs_response' | 'warning_under_review' | 'warning_closed' | 'needs_response' | 'under_review' | 'won' | 'lost';

const RANK: Record<DisputeStatus, number> = {
  warning_needs_response: 1,
  needs_response: 1,
  warning_under_review: 2,
  under_review: 2,
  warning_closed: 3,
  won: 3,
  lost: 3,
};
const CLOSED = new Set<DisputeStatus>(['won', 'lost', 'warning_closed']);

export interface DisputeRow {
  id: string;
  gateway: string;
  gateway_dispute_id: string;
  payment_intent: string | null;
  invoice: string | null;
  customer: string | null;
  charge_ref: string | null;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidence_due_by: Date | null;
  gateway_updated: Date;
  closed_at: Date | null;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
}

export function serializeDispute(r: DisputeRow) {
  const due = r.evidence_due_by ? toUnix(new Date(r.evidence_due_by)) : null;
  return {
    id: r.id,
    object: 'dispute' as const,
    amount: r.amount,
    charge: r.charge_ref,
    created: toUnix(new Date(r.created)),
    currency: r.currency,
    evidence_details: { due_by: due, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: r.metadata,
    payment_intent: r.payment_intent,
    reason: r.reason,
    status: r.status,
    // Recur's additions.
    gateway: r.gateway,
    gateway_dispute_id: r.gateway_dispute_id,
    invoice: r.invoice,
    customer: r.customer,
    closed_at: r.closed_at ? toUnix(new Date(r.closed_at)) : null,
  };
}

export interface DisputeUpdate {
  gateway: string;
  gatewayDisputeId: string;
  /** The gateway's ids for the disputed payment (Stripe PaymentIntent and charge; PayPal capture). */
  paymentRefs: string[];
  chargeRef: string | null;
  amount: number;
  currency: string;
  reason: string;
  status: DisputeStatus;
  evidenceDueBy: Date | null;
  /** When the gateway produced this state (the event's time). */
  gatewayUpdated: Date;
}

/** Records a dispute state from a webhook: 'applied', or 'stale' when a newer state is already stored. */
export async function upsertDispute(q: Queryable, now: Date, u: DisputeUpdate): Promise<'applied' | 'stale'> {
  const { rows } = await q.query<DisputeRow>(`SELECT * FROM disputes WHERE gateway = $1 AND gateway_dispute_id = $2 FOR UPDATE`, [u.gateway, u.gatewayDisputeId]);
  const existing = rows[0];
  const forms = u.paymentRefs.flatMap((r) => storedRefForms(u.gateway, r));
  if (existing) {
    // A dispute first seen before Recur knew the payment (or a replay after it did): link it now.
    const linked = existing.payment_intent === null && forms.length ? await linkDispute(q, now, existing, forms) : false;
    const storedAt = new Date(existing.gateway_updated).getTime();
    const at = u.gatewayUpdated.getTime();
    if (at < storedAt || (at === storedAt && RANK[u.status] <= RANK[existing.status])) return linked ? 'applied' : 'stale';
    const closing = CLOSED.has(u.status) && !CLOSED.has(existing.status);
    const { rows: upd } = await q.query<DisputeRow>(
      `UPDATE disputes SET status = $2, amount = $3, reason = $4, evidence_due_by = $5, gateway_updated = $6, closed_at = $7, updated = $8 WHERE id = $1 RETURNING *`,
      [existing.id, u.status, u.amount, u.reason, u.evidenceDueBy, u.gatewayUpdated, closing ? now : existing.closed_at, now],
    );
    const after = upd[0]!;
    await recordEvent(q, now, {
      type: closing ? 'charge.dispute.closed' : 'charge.dispute.updated',
      object: serializeDispute(after),
      previousAttributes: { status: existing.status },
      customerId: after.customer,
    });
    return 'applied';
  }

  const pi = forms.length ? await findPaymentIntentByGatewayRef(q, forms, { forUpdate: true }) : null;
  const closed = CLOSED.has(u.status);
  const { rows: ins } = await q.query<DisputeRow>(
    `INSERT INTO disputes (id, gateway, gateway_dispute_id, payment_intent, invoice, customer, charge_ref, amount, currency, reason, status, evidence_due_by, gateway_updated, closed_at, created, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING *`,
    [newId('dp'), u.gateway, u.gatewayDisputeId, pi?.id ?? null, pi?.invoice ?? null, pi?.customer ?? null, u.chargeRef, u.amount, u.currency.toLowerCase(), u.reason, u.status, u.evidenceDueBy, u.gatewayUpdated, closed ? now : null, now],
  );
  const row = ins[0]!;
  if (pi) await flag(q, now, pi);
  const obj = serializeDispute(row);
  await recordEvent(q, now, { type: 'charge.dispute.created', object: obj, customerId: row.customer });
  // Seen for the first time already decided (events out of order): it is closed as well.
  if (closed) await recordEvent(q, now, { type: 'charge.dispute.closed', object: obj, customerId: row.customer });
  return 'applied';
}

/** Flags the disputed payment, its invoice and its customer. */
async function flag(q: Queryable, now: Date, pi: { id: string; invoice: string | null; customer: string | null }): Promise<void> {
  await q.query(`UPDATE payment_intents SET disputed = true, updated = $2 WHERE id = $1`, [pi.id, now]);
  if (pi.invoice) await q.query(`UPDATE invoices SET disputed = true, updated = $2 WHERE id = $1`, [pi.invoice, now]);
  if (pi.customer) await q.query(`UPDATE customers SET disputed = true, updated = $2 WHERE id = $1`, [pi.customer, now]);
}

async function linkDispute(q: Queryable, now: Date, d: DisputeRow, forms: string[]): Promise<boolean> {
  const pi = await findPaymentIntentByGatewayRef(q, forms, { forUpdate: true });
  if (!pi) return false;
  await q.query(`UPDATE disputes SET payment_intent = $2, invoice = $3, customer = $4, updated = $5 WHERE id = $1`, [d.id, pi.id, pi.invoice, pi.customer, now]);
  await flag(q, now, pi);
  return true;
}

export async function retrieveDispute(q: Queryable, id: string) {
  const { rows } = await q.query<DisputeRow>(`SELECT * FROM disputes WHERE id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError('dispute', id);
  return serializeDispute(rows[0]);
}

export async function listDisputes(q: Queryable, filter: { status?: DisputeStatus; customer?: string; payment_intent?: string }, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const col of ['status', 'customer', 'payment_intent'] as const) {
    if (filter[col] === undefined) continue;
    params.push(filter[col]);
    where.push(`${col} = $${params.length}`);
  }
  const { rows, hasMore } = await paginate<DisputeRow>(q, { table: 'disputes', where: where.join(' AND ') || undefined, params }, list);
  return { data: rows.map(serializeDispute), hasMore };
}
