import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { findPricesByIds } from '../catalog/repository.js';
import { serializePrice } from '../catalog/service.js';
import type { PriceObject } from '../catalog/schemas.js';
import { itemsOf, type ItemRow, type PendingUpdate, type SubscriptionRow } from './repository.js';
import { isScheduleId } from '../subscription-schedules/repository.js';

const ts = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeSubscription(s: SubscriptionRow, items: ItemRow[], prices: Map<string, PriceObject>, discounts: string[] = []) {
  const period = { current_period_start: ts(s.current_period_start)!, current_period_end: ts(s.current_period_end)! };
  return {
    id: s.id,
    object: 'subscription' as const,
    // Stripe's: whether the subscription's invoices are taxed automatically (Recur: where it is configured to collect).
    automatic_tax: { disabled_reason: null, enabled: s.automatic_tax, liability: s.automatic_tax ? { type: 'self' as const } : null },
    billing_cycle_anchor: ts(s.billing_cycle_anchor)!,
    billing_cycle_anchor_config: s.billing_cycle_anchor_config
      ? { hour: null, minute: null, month: null, second: null, ...s.billing_cycle_anchor_config }
      : null,
    cancel_at: s.cancel_at_period_end ? period.current_period_end : ts(s.cancel_at),
    cancel_at_period_end: s.cancel_at_period_end,
    canceled_at: ts(s.canceled_at),
    cancellation_details: { comment: null, feedback: null, reason: null, ...s.cancellation_details },
    collection_method: s.collection_method,
    created: ts(s.created)!,
    currency: s.currency,
    ...period,
    customer: s.customer,
    days_until_due: s.days_until_due,
    default_payment_method: s.default_payment_method,
    description: s.description,
    discounts,
    ended_at: ts(s.ended_at),
    items: {
      object: 'list' as const,
      data: items.map((i) => ({
        id: i.id,
        object: 'subscription_item' as const,
        created: ts(i.created)!,
        metadata: i.metadata,
        price: prices.get(i.price) ?? i.price,
        quantity: i.quantity,
        subscription: s.id,
        ...period,
      })),
      has_more: false,
      url: `/v1/subscription_items?subscription=${s.id}`,
    },
    latest_invoice: s.latest_invoice,
    livemode: false,
    metadata: s.metadata,
    pause_collection: s.pause_collection,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: s.payment_settings?.payment_method_types ?? null,
      save_default_payment_method: s.payment_settings?.save_default_payment_method ?? 'off',
    },
    pending_setup_intent: s.pending_setup_intent ?? null,
    pending_update: s.pending_update ? serializePendingUpdate(s, s.pending_update, prices) : null,
    // The subscription schedule managing it (its id, as Stripe's), or a period-end change waiting to
    // apply (Recur's schedule_at_period_end), released via its id.
    schedule: isScheduleId(s.pending_schedule?.id)
      ? s.pending_schedule!.id
      : s.pending_schedule
      ? { id: s.pending_schedule.id, effective_at: toUnix(new Date(s.pending_schedule.effective_at)), items: s.pending_schedule.items }
      : null,
    start_date: ts(s.start_date ?? s.created)!,
    status: s.status,
    test_clock: s.test_clock,
    trial_end: ts(s.trial_end),
    trial_settings: { end_behavior: { missing_payment_method: s.trial_missing_pm_behavior } },
    trial_start: ts(s.trial_start),
  };
}

export type SubscriptionObject = ReturnType<typeof serializeSubscription>;

/** Stripe's `pending_update` hash: what the subscription becomes once the invoice is paid, and until when. */
function serializePendingUpdate(s: SubscriptionRow, u: PendingUpdate, prices: Map<string, PriceObject>) {
  const at = (v: unknown) => (typeof v === 'string' ? toUnix(new Date(v)) : null);
  const period = {
    current_period_start: at(u.patch.current_period_start) ?? ts(s.current_period_start)!,
    current_period_end: at(u.patch.current_period_end) ?? ts(s.current_period_end)!,
  };
  return {
    billing_cycle_anchor: at(u.patch.billing_cycle_anchor),
    expires_at: ts(s.pending_update_expires_at)!,
    subscription_items: u.items.map((i) => ({
      id: i.id,
      object: 'subscription_item' as const,
      created: toUnix(new Date(i.created)),
      metadata: i.metadata,
      price: prices.get(i.price) ?? i.price,
      quantity: i.quantity,
      subscription: s.id,
      ...period,
    })),
    trial_end: at(u.patch.trial_end),
    trial_from_plan: null,
  };
}

/**
 * Loads items, prices and live discounts for subscriptions and serialises them. `loaded`: the
 * subscriptions' items as itemsOf read them already in this transaction (a renewal batch's).
 */
export async function subscriptionObjects(q: Queryable, subs: SubscriptionRow[], loaded?: Map<string, ItemRow[]>): Promise<SubscriptionObject[]> {
  const items =
    loaded ??
    (await itemsOf(
      q,
      subs.map((s) => s.id),
    ));
  const pendingPrices = subs.flatMap((s) => s.pending_update?.items.map((i) => i.price) ?? []);
  const priceIds = [...new Set([...[...items.values()].flat().map((i) => i.price), ...pendingPrices])];
  const prices = new Map((await findPricesByIds(q, priceIds)).map((p) => [p.id, serializePrice(p)]));
  // Discounts still in force for the current period (an ended repeating coupon is no longer listed).
  const { rows: discounts } = subs.length
    ? await q.query<{ id: string; subscription: string }>(`SELECT d.id, d.subscription FROM discounts d JOIN subscriptions s ON s.id = d.subscription
          WHERE d.subscription = ANY($1::text[]) AND d.deleted_at IS NULL AND (d.end_at IS NULL OR d.end_at > s.current_period_start)
          ORDER BY d.id`, [subs.map((s) => s.id)])
    : { rows: [] };
  return subs.map((s) => serializeSubscription(s, items.get(s.id) ?? [], prices, discounts.filter((d) => d.subscription === s.id).map((d) => d.id)));
}

export async function subscriptionObject(q: Queryable, s: SubscriptionRow): Promise<SubscriptionObject> {
  return (await subscriptionObjects(q, [s]))[0]!;
}
