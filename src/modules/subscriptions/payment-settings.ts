import type { Queryable } from '../../db/index.js';
import { recordEvents } from '../events/service.js';
import type { PaymentSettings, SubscriptionRow } from './repository.js';
import { subscriptionObjects } from './serialize.js';

// Stripe's subscription payment_settings. save_default_payment_method=on_subscription is what Stripe's
// subscription guide sets with payment_behavior=default_incomplete: the card the customer pays the
// first invoice with becomes the subscription's default, and renewals charge it.

/** The settings after a create (before: null) or an update: given keys replace, others stay; all defaults → null. */
export function paymentSettings(
  before: PaymentSettings | null,
  input: { payment_method_types?: 'card'[] | null; save_default_payment_method?: 'off' | 'on_subscription' } | undefined,
): PaymentSettings | null {
  if (!input) return before;
  const next: PaymentSettings = {
    payment_method_types: input.payment_method_types !== undefined ? input.payment_method_types : (before?.payment_method_types ?? null),
    save_default_payment_method: input.save_default_payment_method ?? before?.save_default_payment_method ?? 'off',
  };
  return next.payment_method_types === null && next.save_default_payment_method === 'off' ? null : next;
}

/**
 * After successful payments of subscription invoices: each subscription set to save_default_payment_method
 * on_subscription takes the payment method that paid as its default (a customer.subscription.updated).
 * One statement for a batch; subscriptions without the setting, or already on that payment method, are
 * not touched (the usual case: it matches nothing).
 */
export async function saveDefaultPaymentMethods(q: Queryable, paid: readonly { subscription: string | null; paymentMethod: string }[], now: Date): Promise<void> {
  const pairs = paid.filter((p): p is { subscription: string; paymentMethod: string } => p.subscription !== null);
  if (pairs.length === 0) return;
  const { rows } = await q.query<SubscriptionRow & { before_pm: string | null }>(
    // A subscription paid twice in the batch takes the later payment's method.
    `WITH u AS (SELECT DISTINCT ON (id) id, pm FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(id, pm, n) ORDER BY id, n DESC),
          old AS (SELECT s.id, s.default_payment_method FROM subscriptions s JOIN u ON u.id = s.id
                   WHERE s.payment_settings->>'save_default_payment_method' = 'on_subscription'
                     AND s.default_payment_method IS DISTINCT FROM u.pm
                     AND s.status NOT IN ('canceled', 'incomplete_expired')
                   FOR UPDATE OF s)
     UPDATE subscriptions s SET default_payment_method = u.pm, updated = $3
       FROM u JOIN old ON old.id = u.id
      WHERE s.id = u.id
     RETURNING s.*, old.default_payment_method AS before_pm`,
    [pairs.map((p) => p.subscription), pairs.map((p) => p.paymentMethod), now],
  );
  if (rows.length === 0) return;
  const objects = await subscriptionObjects(q, rows);
  await recordEvents(
    q,
    now,
    objects.map((o, i) => ({
      type: 'customer.subscription.updated',
      object: o,
      previousAttributes: { default_payment_method: rows[i]!.before_pm },
      customerId: o.customer,
    })),
  );
}
