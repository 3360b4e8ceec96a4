import { addSeconds, toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { previousAttributes, recordEvents } from '../events/service.js';
import { buildInvoice, type BuiltInvoice, type InvoiceDraft } from '../invoices/builder.js';
import type { Config } from '../../config.js';
import type { LinkConfig } from '../documents/links.js';
import { applyTax } from '../taxes/context.js';
import { stageInvoices } from '../invoices/service.js';
import { chargeAsFinalized, paidByAttempts, recordAttempts } from '../invoices/charge-batch.js';
import type { InvoiceRow } from '../invoices/repository.js';
import type { PaymentDeps } from '../payments/service.js';
import { recordLapsedDiscounts } from '../invoices/discount-ends.js';
import { discountsFor, pendingItemsFor, pendingLines, periodLines, type PriceInfo } from './billing.js';
import { periodContainingTime } from './domain/periods.js';
import type { ItemRow, SubscriptionRow } from './repository.js';
import { subscriptionObjects } from './serialize.js';

// The common renewal — an active (or past_due/unpaid) subscription rolling into its next period with
// nothing special pending — done set-based for a whole claimed batch: a few reads for the batch, the
// invoices built in memory, then one INSERT per table and one UPDATE for the subscriptions. This is
// what lets one worker renew tens of thousands of subscriptions a second.

export function isPlainRenewal(sub: SubscriptionRow): boolean {
  return (
    (sub.status === 'active' || sub.status === 'past_due' || sub.status === 'unpaid') &&
    !sub.cancel_at_period_end &&
    sub.cancel_at === null &&
    sub.cancel_billed_to === null &&
    !sub.free_stub &&
    sub.pending_schedule === null &&
    sub.pause_collection === null
  );
}

export async function renewPlain(
  q: Queryable,
  subs: SubscriptionRow[],
  items: Map<string, ItemRow[]>,
  pricing: Map<string, PriceInfo>,
  now: Date,
  config: Pick<Config, 'finalizeDelaySeconds' | 'tax'> & LinkConfig,
  /** Charges the invoices it finalises in this transaction (chargeOnFinalize; ADR 0008); without it the payment pass does. */
  charge?: PaymentDeps,
): Promise<number> {
  if (subs.length === 0) return 0;
  const periods = new Map(
    subs.map((s) => {
      const start = new Date(s.current_period_end);
      const sched = { anchor: new Date(s.billing_cycle_anchor), interval: s.interval, intervalCount: s.interval_count };
      return [s.id, { start, end: periodContainingTime(sched, start).end }];
    }),
  );
  const pending = await pendingItemsFor(q, subs);
  const discounts = await discountsFor(q, subs, new Map([...periods].map(([id, p]) => [id, p.start])));
  const before = await subscriptionObjects(q, subs, items);
  const finalizeAt = addSeconds(now, config.finalizeDelaySeconds);

  const drafts: InvoiceDraft[] = subs.map((sub) => {
    const period = periods.get(sub.id)!;
    return {
      customer: sub.customer,
      subscription: sub.id,
      currency: sub.currency,
      billingReason: 'subscription_cycle',
      periodStart: period.start,
      periodEnd: period.end,
      collectionMethod: sub.collection_method,
      daysUntilDue: sub.days_until_due,
      // Stripe: an unpaid subscription's invoices keep being created but are not collected — they stay
      // drafts until the operator finalises them.
      autoAdvance: sub.status !== 'unpaid',
      finalizeAt: sub.status === 'unpaid' ? null : finalizeAt,
      defaultPaymentMethod: null,
      testClock: sub.test_clock,
      automaticTax: sub.automatic_tax,
      lines: [...periodLines(sub, items.get(sub.id) ?? [], pricing, period), ...pendingLines(pending.get(sub.id) ?? [])],
      discounts: discounts.get(sub.id) ?? [],
    };
  });
  // Tax for the whole batch in three set-based reads (customers, price tax behaviours, rates).
  const built: BuiltInvoice[] = (await applyTax(q, config.tax, drafts, now)).map((d) => buildInvoice(d, now));
  // A period already invoiced is left out (the unique index (subscription, period_start) is the backstop).
  // With no finalisation delay the invoices are written finalised (stageInvoices), where the finalisation
  // pass would take them at once and write each a second time. Written last (`write`, below): the
  // series' number counter stays locked from there to the commit.
  const staged = await stageInvoices(q, built, now, { config, onCurrencyMismatch: 'skip' });
  const { kept } = staged;
  // A `repeating` discount that ended by the new period's start: this renewal is the first to bill
  // without it, so its customer.discount.deleted is written now (one query for the batch).
  await recordLapsedDiscounts(
    q,
    subs.map((s) => ({ subscription: s.id, customer: s.customer, at: periods.get(s.id)!.start })),
    now,
  );
  const invoiceOf = new Map(kept.map((b) => [b.invoice.subscription!, b.invoice.id]));
  // A period whose invoice already exists (a crashed run's leftovers can't exist: all of this is one
  // transaction; this is the constraint's backstop) still moves on, so nothing loops on it.
  const renewed = subs;

  await q.query(
    `UPDATE subscriptions AS s SET current_period_start = u.ps, current_period_end = u.pe, latest_invoice = COALESCE(u.inv, s.latest_invoice), updated = $5
       FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[]) AS u(id, ps, pe, inv)
      WHERE s.id = u.id`,
    [
      renewed.map((s) => s.id),
      renewed.map((s) => periods.get(s.id)!.start.toISOString()),
      renewed.map((s) => periods.get(s.id)!.end.toISOString()),
      renewed.map((s) => invoiceOf.get(s.id) ?? null),
      now,
    ],
  );
  const beforeById = new Map(before.map((o) => [o.id, o]));
  // A `once` discount this renewal's invoice used is spent by it (persistInvoices ends it): no longer listed.
  const spent = new Set(
    kept.flatMap((b) => {
      const once = new Set((discounts.get(b.invoice.subscription!) ?? []).filter((d) => d.coupon.duration === 'once').map((d) => d.id));
      return b.invoice.discounts.map((d) => d.discount).filter((id) => once.has(id));
    }),
  );
  await recordEvents(
    q,
    now,
    renewed.map((s) => {
      const prev = beforeById.get(s.id)!;
      const p = periods.get(s.id)!;
      const period = { current_period_start: toUnix(p.start), current_period_end: toUnix(p.end) };
      // The object after the renewal, built in memory: the periods move (the items' too), the new
      // invoice is the latest, and a discount that ended by the new period's start, or that the new
      // invoice spent, is no longer listed (the discounts in force at the new start, from discountsFor
      // above, keep the object's order).
      const live = new Set((discounts.get(s.id) ?? []).map((d) => d.id).filter((id) => !spent.has(id)));
      const object = {
        ...prev,
        ...period,
        discounts: prev.discounts.filter((id) => live.has(id)),
        latest_invoice: invoiceOf.get(s.id) ?? prev.latest_invoice,
        items: { ...prev.items, data: prev.items.data.map((i) => ({ ...i, ...period })) },
      };
      return { type: 'customer.subscription.updated', object, previousAttributes: previousAttributes(prev, object), customerId: s.customer };
    }),
  );
  // Charged before they are numbered, so the series' counter is never held across a gateway call. The
  // gateway is sent a key made of the subscription and the period, not of the invoice id: a rerun of this
  // renewal (its transaction lost after the charge) makes a new invoice id but the same key, so the gateway
  // answers with the charge it made instead of making a second one.
  const attempts = charge
    ? await chargeAsFinalized(q, charge, staged.finalized, staged.customers, now, {
        subscriptionPm: new Map(subs.map((s) => [s.id, s.default_payment_method])),
        gatewayKeyOf: renewalChargeKey,
      })
    : [];
  const paid = paidByAttempts(attempts, now);
  // The invoices, numbered, and invoice.finalized after the renewal's own events (as the finalisation pass
  // would write it): last, because the numbers' counter stays locked from here to the commit. Then the
  // payment's intents and events, as the payment pass would write them.
  await staged.write(paid);
  if (charge) await recordAttempts(q, charge, attempts, now, { paidWritten: { lines: new Map(kept.map((b) => [b.invoice.id, b.lines])) } });
  return renewed.length;
}

/** The gateway key of a renewal invoice's first attempt, charged as it is written: one per subscription and period. */
export const renewalChargeKey = (inv: Pick<InvoiceRow, 'subscription' | 'period_start'>): string => `${inv.subscription}:${toUnix(new Date(inv.period_start))}:renewal:attempt:1`;
