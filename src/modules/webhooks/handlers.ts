import { currencyExponent, isCurrency } from '../../core/money/index.js';
import type { Queryable } from '../../db/index.js';
import { recordEvent } from '../events/service.js';
import { payInvoice } from '../invoices/service.js';
import { storedRefForms } from '../payments/codec.js';
import type { FailureClass } from '../payments/gateway.js';
import { PAYMENT_PENDING, type ChargeOutcome } from '../payments/gateway.js';
import { classifyPayPalProcessor, classifyStripe } from '../payments/domain/decline-codes.js';
import { upsertDispute, type DisputeStatus } from '../payments/disputes.js';
import { applyRefundStatus, type RefundRow, type RefundStatus } from '../payments/refunds.js';
import {
  findPaymentIntentByGatewayRef,
  findPaymentIntentByKey,
  findPaymentMethod,
  findPaymentMethodsByRef,
  updatePaymentIntentRow,
  updatePaymentMethodRow,
  type PaymentIntentRow,
} from '../payments/repository.js';
import { outcomePatch, serializePaymentIntent, serializePaymentMethod, type PaymentDeps } from '../payments/service.js';
import { outcomeOfPaymentIntent } from '../payments/stripe-gateway.js';
import { mirrorObject } from './mirror.js';
import type { InboxRow } from './inbox.js';

// What an inbound event does. Every handler is idempotent and safe out of order: payment attempts
// only move from processing to a final state (a late event about a settled attempt is stale),
// refunds and disputes keep their newest state, and every other object is mirrored only if the event
// is newer than the stored version. Unknown event types are acknowledged and ignored.

export type HandlerResult = 'applied' | 'stale' | 'ignored';

export interface HandlerContext {
  q: Queryable;
  deps: PaymentDeps;
  now: Date;
  row: InboxRow;
  log?: { warn: (obj: object, msg: string) => void };
}

type Obj = Record<string, unknown> & { id: string };

// ---------------------------------------------------------------------------------------------
// Shared effects
// ---------------------------------------------------------------------------------------------

/**
 * A gateway reports the final outcome of an attempt Recur left processing (its answer was lost, or it
 * settled asynchronously). The attempt takes that outcome; its invoice, if still waiting on exactly
 * this attempt, is settled by replaying the attempt (no new charge: the key is the same).
 */
async function settleAttempt(ctx: HandlerContext, pi: PaymentIntentRow, outcome: ChargeOutcome): Promise<HandlerResult> {
  const { q, now } = ctx;
  if (pi.status !== 'processing') return 'stale';
  if (outcome.status === 'failed' && outcome.code === PAYMENT_PENDING) return 'stale';
  const pm = pi.payment_method ? await findPaymentMethod(q, pi.payment_method) : null;
  if (!pm) return 'stale';
  const { patch, eventType } = outcomePatch(pi, outcome, pm);
  if (!eventType) return 'stale';
  const after = await updatePaymentIntentRow(q, pi.id, { ...patch, updated: now });
  await recordEvent(q, now, { type: eventType, object: serializePaymentIntent(after), customerId: after.customer });
  if (pi.invoice) {
    const { rows } = await q.query<{ status: string; attempt_count: number }>(`SELECT status, attempt_count FROM invoices WHERE id = $1 FOR UPDATE`, [pi.invoice]);
    const inv = rows[0];
    if (inv?.status === 'open' && pi.idempotency_key === `${pi.invoice}:attempt:${inv.attempt_count + 1}`) await payInvoice(q, ctx.deps, pi.invoice, now, pi.payment_method ? { paymentMethod: pi.payment_method } : {});
  }
  return 'applied';
}

async function attemptFor(q: Queryable, gateway: string, key: string | undefined, refs: (string | null | undefined)[]): Promise<PaymentIntentRow | null> {
  if (key) {
    const byKey = await findPaymentIntentByKey(q, key, { forUpdate: true });
    if (byKey) return byKey;
  }
  const forms = refs.filter((r): r is string => !!r).flatMap((r) => storedRefForms(gateway, r));
  return forms.length ? findPaymentIntentByGatewayRef(q, forms, { forUpdate: true }) : null;
}

/**
 * A successful charge carrying Recur's idempotency key that matches no attempt: the answer was lost
 * and the attempt was not recorded (a crash before the commit). Operators see it as an event.
 */
async function reportUnmatched(ctx: HandlerContext, gateway: string, id: string, key: string, amount: unknown, currency: unknown): Promise<HandlerResult> {
  await recordEvent(ctx.q, ctx.now, {
    type: 'payment.unmatched',
    object: { id, object: 'gateway_payment', gateway, idempotency_key: key, amount: Number(amount ?? 0), currency: String(currency ?? '').toLowerCase() },
  });
  ctx.log?.warn({ gateway, id, key }, 'a gateway charge carries a Recur idempotency key but matches no payment attempt');
  return 'applied';
}

async function refundFor(q: Queryable, gateway: string, gatewayRefundId: string, recurRefundId: string | undefined): Promise<RefundRow | null> {
  const { rows } = await q.query<RefundRow>(
    `SELECT * FROM refunds WHERE (gateway = $1 AND gateway_ref = $2) OR id = $3 ORDER BY id LIMIT 1 FOR UPDATE`,
    [gateway, gatewayRefundId, recurRefundId ?? ''],
  );
  return rows[0] ?? null;
}

async function mirror(ctx: HandlerContext, gateway: string, object: Obj, objectType: string, deleted: boolean, version: number): Promise<HandlerResult> {
  return (await mirrorObject(ctx.q, { gateway, object, objectType, deleted, version, eventId: ctx.row.event_id, now: ctx.now })) ? 'applied' : 'stale';
}

// ---------------------------------------------------------------------------------------------
// Stripe
// ---------------------------------------------------------------------------------------------

const STRIPE_REFUND_STATUS: Record<string, RefundStatus> = { pending: 'pending', requires_action: 'requires_action', succeeded: 'succeeded', failed: 'failed', canceled: 'canceled' };

/** The event types Recur acts on or keeps a mirror of (the rest are stored, acknowledged, ignored). */
export const STRIPE_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.finalized',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.succeeded',
  'charge.failed',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'customer.source.expiring',
  'payment_method.updated',
  'payment_method.automatically_updated',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.refund.updated',
] as const;

const STRIPE_MIRRORED = new Set<string>(STRIPE_EVENT_TYPES);

export async function handleStripeEvent(ctx: HandlerContext): Promise<HandlerResult> {
  const evt = ctx.row.payload as { type?: string; created?: number; data?: { object?: Obj } };
  const type = ctx.row.type;
  const obj = evt.data?.object;
  if (!STRIPE_MIRRORED.has(type) || !obj || typeof obj.id !== 'string') return 'ignored';
  const version = Number(evt.created ?? 0) * 1000;
  const objectType = typeof obj.object === 'string' ? obj.object : type.split('.')[0]!;

  if (type.startsWith('charge.dispute.')) {
    await mirror(ctx, 'stripe', obj, 'dispute', false, version);
    const due = (obj.evidence_details as { due_by?: number | null } | undefined)?.due_by;
    return upsertDispute(ctx.q, ctx.now, {
      gateway: 'stripe',
      gatewayDisputeId: obj.id,
      paymentRefs: [obj.payment_intent as string, obj.charge as string].filter(Boolean),
      chargeRef: (obj.charge as string) ?? null,
      amount: Number(obj.amount ?? 0),
      currency: String(obj.currency ?? 'usd'),
      reason: String(obj.reason ?? 'general'),
      status: String(obj.status) as DisputeStatus,
      evidenceDueBy: due ? new Date(due * 1000) : null,
      gatewayUpdated: new Date(version),
    });
  }

  if (type === 'payment_intent.succeeded' || type === 'payment_intent.payment_failed') {
    await mirror(ctx, 'stripe', obj, objectType, false, version);
    const key = (obj.metadata as Record<string, string> | undefined)?.recur_idempotency_key;
    const pi = await attemptFor(ctx.q, 'stripe', key, [obj.id]);
    if (!pi) return key && type === 'payment_intent.succeeded' ? reportUnmatched(ctx, 'stripe', obj.id, key, obj.amount, obj.currency) : 'ignored';
    return settleAttempt(ctx, pi, { ...outcomeOfPaymentIntent(obj as never), gateway: 'stripe' });
  }

  if (type === 'charge.succeeded' || type === 'charge.failed') {
    await mirror(ctx, 'stripe', obj, objectType, false, version);
    const piId = obj.payment_intent as string | undefined;
    const pi = await attemptFor(ctx.q, 'stripe', (obj.metadata as Record<string, string> | undefined)?.recur_idempotency_key, [piId]);
    if (!pi || !piId) return 'ignored';
    let outcome: ChargeOutcome;
    if (type === 'charge.succeeded') outcome = { status: 'succeeded', gatewayRef: piId, gateway: 'stripe' };
    else {
      const reason = (obj.outcome as { reason?: string | null } | undefined)?.reason ?? undefined;
      const c = classifyStripe((obj.failure_code as string) ?? 'card_declined', reason ?? undefined);
      outcome = { status: 'failed', failureClass: c.failureClass, code: c.code, declineCode: c.declineCode, message: String(obj.failure_message ?? 'Your card was declined.'), gatewayRef: piId, gateway: 'stripe' };
    }
    return settleAttempt(ctx, pi, outcome);
  }

  if (type === 'refund.created' || type === 'refund.updated' || type === 'refund.failed' || type === 'charge.refund.updated' || type === 'charge.refunded') {
    await mirror(ctx, 'stripe', obj, objectType, false, version);
    const refunds: Obj[] = type === 'charge.refunded' ? ((obj.refunds as { data?: Obj[] } | undefined)?.data ?? []) : [obj];
    let result: HandlerResult = 'stale';
    for (const re of refunds) {
      const row = await refundFor(ctx.q, 'stripe', re.id, (re.metadata as Record<string, string> | undefined)?.recur_refund);
      const status = STRIPE_REFUND_STATUS[String(re.status)];
      if (!row || !status) continue;
      const after = await applyRefundStatus(ctx.q, row, { status, gatewayRef: re.id, failureReason: (re.failure_reason as string) ?? null }, ctx.now);
      if (after !== row) result = 'applied';
    }
    return result;
  }

  if (type === 'payment_method.updated' || type === 'payment_method.automatically_updated') {
    if ((await mirror(ctx, 'stripe', obj, objectType, false, version)) === 'stale') return 'stale';
    const card = obj.card as { exp_month?: number; exp_year?: number } | undefined;
    if (!card?.exp_month || !card.exp_year) return 'applied';
    for (const pm of await findPaymentMethodsByRef(ctx.q, 'stripe', obj.id)) {
      if (pm.card.exp_month === card.exp_month && pm.card.exp_year === card.exp_year) continue;
      // The card was reissued (network updater) or its expiry changed: charges keep working on the same token.
      const after = await updatePaymentMethodRow(ctx.q, pm.id, { card: { ...pm.card, exp_month: card.exp_month, exp_year: card.exp_year } });
      await recordEvent(ctx.q, ctx.now, {
        type: 'payment_method.updated',
        object: serializePaymentMethod(after),
        previousAttributes: { card: serializePaymentMethod(pm).card },
        customerId: after.customer,
      });
    }
    return 'applied';
  }

  if (type === 'customer.source.expiring') {
    // A card expiring at the end of the month: dunning's card-expiry notices start from this event.
    if ((await mirror(ctx, 'stripe', obj, objectType, false, version)) === 'stale') return 'stale';
    const owner = obj.customer as string | undefined;
    const pms = owner ? await findPaymentMethodsByRef(ctx.q, 'stripe', owner) : [];
    for (const pm of pms.filter((p) => p.customer && !p.detached_at)) {
      await recordEvent(ctx.q, ctx.now, { type: 'customer.source.expiring', object: serializePaymentMethod(pm), customerId: pm.customer });
    }
    return 'applied';
  }

  // Customers, subscriptions, invoices at Stripe: Recur bills itself, so these are kept as a mirror
  // (the newest state of each object), e.g. while migrating from Stripe Billing.
  return mirror(ctx, 'stripe', obj, objectType, type.endsWith('.deleted'), version);
}

// ---------------------------------------------------------------------------------------------
// PayPal
// ---------------------------------------------------------------------------------------------

const PAYPAL_REFUND_STATUS: Record<string, RefundStatus> = { COMPLETED: 'succeeded', PENDING: 'pending', FAILED: 'failed', CANCELLED: 'canceled' };

function paypalDisputeStatus(r: Obj): DisputeStatus {
  const status = String(r.status ?? '');
  if (status === 'RESOLVED') {
    const outcome = String((r.dispute_outcome as { outcome_code?: string } | undefined)?.outcome_code ?? '');
    return outcome === 'RESOLVED_BUYER_FAVOUR' || outcome === 'ACCEPTED' ? 'lost' : 'won';
  }
  if (status === 'UNDER_REVIEW' || status === 'WAITING_FOR_BUYER_RESPONSE') return 'under_review';
  return 'needs_response';
}

/** PayPal's decimal string → minor units, exactly (no floating point). */
function minorUnits(value: string | undefined, currency: string): number {
  if (!value) return 0;
  const exp = isCurrency(currency.toLowerCase()) ? currencyExponent(currency.toLowerCase()) : 2;
  const [whole = '0', frac = ''] = value.split('.');
  return Number(whole) * 10 ** exp + Number((frac + '000').slice(0, exp) || '0');
}

export async function handlePayPalEvent(ctx: HandlerContext): Promise<HandlerResult> {
  const evt = ctx.row.payload as { event_type?: string; create_time?: string; resource?: Obj };
  const type = ctx.row.type;
  const r = evt.resource;
  if (!r) return 'ignored';
  const version = Date.parse(String(r.update_time ?? evt.create_time ?? '')) || 0;

  if (type === 'PAYMENT.CAPTURE.COMPLETED' || type === 'PAYMENT.CAPTURE.DENIED' || type === 'PAYMENT.CAPTURE.DECLINED' || type === 'PAYMENT.CAPTURE.PENDING') {
    await mirror(ctx, 'paypal', r, 'capture', false, version);
    const key = r.custom_id as string | undefined;
    const pi = await attemptFor(ctx.q, 'paypal', key, [r.id]);
    if (!pi) {
      const amount = r.amount as { value?: string; currency_code?: string } | undefined;
      return key && type === 'PAYMENT.CAPTURE.COMPLETED' ? reportUnmatched(ctx, 'paypal', r.id, key, minorUnits(amount?.value, amount?.currency_code ?? 'usd'), amount?.currency_code) : 'ignored';
    }
    let outcome: ChargeOutcome;
    if (type === 'PAYMENT.CAPTURE.COMPLETED') outcome = { status: 'succeeded', gatewayRef: r.id, gateway: 'paypal' };
    else if (type === 'PAYMENT.CAPTURE.PENDING') return 'stale';
    else {
      const code = (r.processor_response as { response_code?: string } | undefined)?.response_code;
      const c = classifyPayPalProcessor(code);
      outcome = { status: 'failed', failureClass: c.failureClass as FailureClass, code: c.code, declineCode: c.declineCode, message: 'The card was declined by PayPal.', gatewayRef: r.id, gateway: 'paypal' };
    }
    return settleAttempt(ctx, pi, outcome);
  }

  if (type === 'PAYMENT.CAPTURE.REFUNDED' || type === 'PAYMENT.CAPTURE.REVERSED') {
    await mirror(ctx, 'paypal', r, 'refund', false, version);
    const row = await refundFor(ctx.q, 'paypal', r.id, r.custom_id as string | undefined);
    const status = PAYPAL_REFUND_STATUS[String(r.status ?? 'COMPLETED')];
    if (!row || !status) return 'stale';
    const after = await applyRefundStatus(ctx.q, row, { status, gatewayRef: r.id, failureReason: null }, ctx.now);
    return after === row ? 'stale' : 'applied';
  }

  if (type === 'CUSTOMER.DISPUTE.CREATED' || type === 'CUSTOMER.DISPUTE.UPDATED' || type === 'CUSTOMER.DISPUTE.RESOLVED') {
    const disputeId = String(r.dispute_id ?? r.id);
    await mirror(ctx, 'paypal', { ...r, id: disputeId }, 'dispute', false, version);
    const amount = r.dispute_amount as { currency_code?: string; value?: string } | undefined;
    const currency = (amount?.currency_code ?? 'USD').toLowerCase();
    const tx = ((r.disputed_transactions as { seller_transaction_id?: string }[] | undefined) ?? []).map((t) => t.seller_transaction_id).filter((x): x is string => !!x);
    return upsertDispute(ctx.q, ctx.now, {
      gateway: 'paypal',
      gatewayDisputeId: disputeId,
      paymentRefs: tx,
      chargeRef: tx[0] ?? null,
      amount: minorUnits(amount?.value, currency),
      currency,
      reason: String(r.reason ?? 'general').toLowerCase(),
      status: paypalDisputeStatus(r),
      evidenceDueBy: r.seller_response_due_date ? new Date(String(r.seller_response_due_date)) : null,
      gatewayUpdated: new Date(version),
    });
  }

  if (type.startsWith('VAULT.PAYMENT-TOKEN.') && typeof r.id === 'string') {
    return mirror(ctx, 'paypal', r, 'payment_token', type.endsWith('.DELETED'), version);
  }
  return 'ignored';
}
