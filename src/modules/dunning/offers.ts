import { ConflictError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { createCoupon, getCouponRow, redeem } from '../coupons/service.js';
import { recordEvent } from '../events/service.js';
import { createInvoices, getInvoiceRow, voidInvoice } from '../invoices/service.js';
import { findSubscription } from '../subscriptions/repository.js';
import { transition } from '../subscriptions/state.js';
import { installments, type OfferSpec } from './domain/plans.js';
import { findCampaign, findOffer, insertOfferOnce, updateOffer, type CampaignRow, type OfferRow } from './repository.js';
import { closeCampaign } from './service.js';

// Offers a step makes and the customer (through the payment page) or staff (through the API) takes.
// A discount is a real coupon, redeemed onto the subscription when taken, so it lowers the next
// invoices (finalised invoices never change). A trial extension puts the subscription back in trial
// once, voiding the unpaid first invoice. A payment plan voids the overdue invoice and bills the same
// amount as N installment invoices, each charged automatically on its date.

export async function createOffer(q: Queryable, c: CampaignRow, spec: OfferSpec, step: number, now: Date): Promise<OfferRow | null> {
  let coupon: string | null = null;
  if (spec.kind === 'trial_extension') {
    const sub = c.subscription ? await findSubscription(q, c.subscription) : null;
    if (!sub?.trial_end) return null;
    const { rows } = await q.query(`SELECT 1 FROM dunning_offers WHERE subscription = $1 AND kind = 'trial_extension' AND status = 'accepted'`, [sub.id]);
    if (rows.length) return null; // a trial is extended once
  }
  if (spec.kind === 'discount') {
    if (!c.subscription) return null;
    const id = `dunning_${c.id}_${step + 1}`;
    const existing = await q.query(`SELECT 1 FROM coupons WHERE id = $1`, [id]);
    if (!existing.rowCount) {
      await createCoupon(q, now, {
        id,
        name: `${spec.percent_off}% off${spec.duration === 'repeating' ? ` for ${spec.duration_in_months} months` : ''}`.slice(0, 40),
        percent_off: spec.percent_off,
        duration: spec.duration,
        ...(spec.duration === 'repeating' ? { duration_in_months: spec.duration_in_months } : {}),
        max_redemptions: 1,
        metadata: { dunning_campaign: c.id },
      });
    }
    coupon = id;
  }
  const row = await insertOfferOnce(q, {
    id: newId('doffer'),
    campaign: c.id,
    customer: c.customer,
    subscription: c.subscription,
    kind: spec.kind,
    step,
    terms: spec,
    coupon,
    status: 'offered',
    offered_at: now,
    accepted_at: null,
    result: {},
  });
  if (row) await recordEvent(q, now, { type: 'dunning.offer.created', object: serializeOffer(row), customerId: c.customer });
  return row;
}

export function serializeOffer(o: OfferRow) {
  return {
    id: o.id,
    object: 'dunning_offer' as const,
    accepted_at: o.accepted_at ? toUnix(new Date(o.accepted_at)) : null,
    campaign: o.campaign,
    coupon: o.coupon,
    customer: o.customer,
    kind: o.kind,
    offered_at: toUnix(new Date(o.offered_at)),
    result: o.result,
    status: o.status,
    step: o.step + 1,
    subscription: o.subscription,
    taken: o.status === 'accepted',
    terms: o.terms,
  };
}

/** Takes an offer. The caller holds no lock; this locks the offer and its campaign. */
export async function acceptOffer(q: Queryable, offerId: string, now: Date, opts: { customer?: string } = {}): Promise<OfferRow> {
  const offer = await findOffer(q, offerId, true);
  if (!offer || (opts.customer && offer.customer !== opts.customer)) throw new NotFoundError('dunning_offer', offerId);
  if (offer.status === 'accepted') return offer;
  if (offer.status !== 'offered') throw new ConflictError('This offer has expired.', 'offer_expired');
  const c = (await findCampaign(q, offer.campaign, true))!;
  if (c.status !== 'active') throw new ConflictError('This offer is no longer available: the payment was already settled.', 'offer_expired');
  let result: Record<string, unknown>;
  if (offer.terms.kind === 'discount') {
    const coupon = await getCouponRow(q, offer.coupon!);
    const discount = await redeem(q, { coupon, promotionCode: null, customerId: offer.customer, subscriptionId: offer.subscription, now, param: 'offer' });
    result = { discount: discount.id };
  } else if (offer.terms.kind === 'trial_extension') {
    result = await extendTrial(q, c, offer.terms.days, now);
  } else {
    result = await startPaymentPlan(q, c, offer.terms.installments, offer.terms.interval_days, now);
  }
  const after = await updateOffer(q, offer.id, { status: 'accepted', accepted_at: now, result });
  await recordEvent(q, now, { type: 'dunning.offer.accepted', object: serializeOffer(after), customerId: offer.customer });
  return after;
}

async function extendTrial(q: Queryable, c: CampaignRow, days: number, now: Date): Promise<Record<string, unknown>> {
  const sub = c.subscription ? await findSubscription(q, c.subscription, true) : null;
  if (!sub || !['past_due', 'active', 'unpaid'].includes(sub.status)) throw new InvalidRequestError('Only a live subscription can have its trial extended.', 'offer', 'offer_not_applicable');
  const trialEnd = new Date(now.getTime() + days * 86_400_000);
  // Closed first, so the void below is not mistaken for an operator's.
  await closeCampaign(q, c, now, 'resolved', 'trial_extended');
  await voidInvoice(q, c.invoice, now);
  await transition(
    q,
    sub,
    {
      status: 'trialing',
      trial_start: sub.trial_start ?? now,
      trial_end: trialEnd,
      trial_will_end_sent: false,
      current_period_start: now,
      current_period_end: trialEnd,
      billing_cycle_anchor: trialEnd,
    },
    now,
  );
  return { trial_end: toUnix(trialEnd), voided_invoice: c.invoice };
}

async function startPaymentPlan(q: Queryable, c: CampaignRow, n: number, intervalDays: number, now: Date): Promise<Record<string, unknown>> {
  const inv = await getInvoiceRow(q, c.invoice, true);
  if (inv.status !== 'open') throw new ConflictError('The invoice is no longer open.', 'invoice_not_open');
  // What was owed before any customer credit: voiding gives that credit back to the customer.
  const applied = inv.ending_balance === null ? 0 : Number(inv.starting_balance) - Number(inv.ending_balance);
  const owed = inv.amount_remaining - applied;
  await closeCampaign(q, c, now, 'resolved', 'payment_plan');
  await voidInvoice(q, inv.id, now);
  const parts = installments(owed, n, now, intervalDays);
  const built = await createInvoices(
    q,
    parts.map((p, i) => {
      const description = `Installment ${i + 1} of ${n} for invoice ${inv.number}`;
      return {
        customer: inv.customer,
        subscription: inv.subscription,
        currency: inv.currency,
        billingReason: 'manual' as const,
        periodStart: now,
        periodEnd: now,
        collectionMethod: 'charge_automatically' as const,
        daysUntilDue: null,
        autoAdvance: true,
        finalizeAt: p.due,
        defaultPaymentMethod: null,
        testClock: inv.test_clock,
        description,
        metadata: { dunning_campaign: c.id, installment: `${i + 1}/${n}`, replaces_invoice: inv.id },
        lines: [
          {
            type: 'invoiceitem' as const,
            subscription: inv.subscription,
            subscriptionItem: null,
            invoiceItem: null,
            price: null,
            productId: null,
            description,
            quantity: 1,
            unitAmount: p.amount,
            amount: p.amount,
            currency: inv.currency,
            periodStart: now,
            periodEnd: now,
            proration: false,
            discountable: false,
          },
        ],
        discounts: [],
      };
    }),
    now,
  );
  return { voided_invoice: inv.id, installments: built.map((b, i) => ({ invoice: b.invoice.id, amount: b.invoice.total, due: toUnix(parts[i]!.due) })) };
}
