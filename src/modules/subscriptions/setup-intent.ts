// Stripe's `pending_setup_intent`: a subscription created with payment_behavior=default_incomplete
// whose first invoice asks for no payment (a trial, a free first period) gets a setup intent for its
// customer, so the card its later invoices charge can be collected now. When that setup intent
// succeeds, the subscription no longer points to it, and with
// payment_settings.save_default_payment_method=on_subscription the card becomes the subscription's
// default_payment_method (customer.subscription.updated), as Stripe's trial guides rely on.
import type { Queryable } from '../../db/index.js';
import { previousAttributes, recordEvent } from '../events/service.js';
import { createSetupIntent } from '../setup-intents/service.js';
import type { PaymentDeps } from '../payments/service.js';
import { updateSubscriptionRow, type SubscriptionRow } from './repository.js';
import { subscriptionObject } from './serialize.js';

/** Makes the subscription's pending setup intent (before its customer.subscription.created is written). */
export async function withPendingSetupIntent(q: Queryable, deps: PaymentDeps, sub: SubscriptionRow, now: Date): Promise<SubscriptionRow> {
  const si = await createSetupIntent(q, deps, now, { customer: sub.customer, usage: 'off_session', confirm: false });
  return updateSubscriptionRow(q, sub.id, { pending_setup_intent: si.id });
}

/** A setup intent succeeded with `paymentMethod`: the subscription waiting on it, if any, takes it. */
export async function setupIntentSucceeded(q: Queryable, setupIntent: string, paymentMethod: string, now: Date): Promise<void> {
  // An ended subscription takes no change (and writes no event after its .deleted).
  const { rows } = await q.query<SubscriptionRow>(
    `SELECT * FROM subscriptions WHERE pending_setup_intent = $1 AND status NOT IN ('canceled', 'incomplete_expired') FOR UPDATE`,
    [setupIntent],
  );
  for (const sub of rows) {
    const before = await subscriptionObject(q, sub);
    const saves = sub.payment_settings?.save_default_payment_method === 'on_subscription';
    const after = await updateSubscriptionRow(q, sub.id, { pending_setup_intent: null, ...(saves ? { default_payment_method: paymentMethod } : {}), updated: now });
    const object = await subscriptionObject(q, after);
    await recordEvent(q, now, { type: 'customer.subscription.updated', object, previousAttributes: previousAttributes(before, object), customerId: sub.customer });
  }
}
