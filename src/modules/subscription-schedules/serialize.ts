import { toUnix } from '../../core/time/index.js';
import { phaseAt, type Phase } from './domain/phases.js';
import type { ScheduleRow } from './repository.js';
import type { ScheduleObject } from './schemas.js';

const unixOrNull = (d: Date | null) => (d ? toUnix(new Date(d)) : null);
const automaticTax = (enabled: boolean) => ({ enabled, liability: enabled ? { type: 'self' as const } : null });

function phaseObject(p: Phase, currency: string) {
  return {
    add_invoice_items: (p.add_invoice_items ?? []).map((i) => ({ discounts: [], price: i.price, quantity: i.quantity, tax_rates: [] })),
    application_fee_percent: null,
    automatic_tax: p.settings?.automatic_tax != null ? automaticTax(p.settings.automatic_tax) : null,
    billing_cycle_anchor: p.billing_cycle_anchor ?? null,
    billing_thresholds: null,
    collection_method: p.settings?.collection_method ?? null,
    currency,
    default_payment_method: p.settings?.default_payment_method ?? null,
    default_tax_rates: [],
    description: p.description ?? null,
    discounts: (p.discounts ?? []).map((d) => ({ coupon: d.coupon, discount: null, promotion_code: d.promotion_code })),
    end_date: p.end_date,
    invoice_settings: p.settings?.days_until_due != null ? { account_tax_ids: null, days_until_due: p.settings.days_until_due, issuer: null } : null,
    items: p.items.map((i) => ({ billing_thresholds: null, discounts: [], metadata: {}, price: i.price, quantity: i.quantity, tax_rates: [] })),
    metadata: p.metadata,
    on_behalf_of: null,
    proration_behavior: p.proration_behavior,
    start_date: p.start_date,
    transfer_data: null,
    trial_end: p.trial_end ?? null,
  };
}

/**
 * Stripe's subscription_schedule object; `now` places current_phase (the schedule's clock time).
 * default_settings shows the schedule's own, else what its subscription has (`sub`: its collection
 * method and automatic tax; without one, a new subscription's: charge_automatically, taxed).
 */
export function scheduleObject(r: ScheduleRow, now: Date, sub?: { collection_method: 'charge_automatically' | 'send_invoice'; automatic_tax: boolean }): ScheduleObject {
  const collectionMethod = sub?.collection_method ?? 'charge_automatically';
  const defaults = r.default_settings ?? {};
  const current = r.status === 'active' ? phaseAt(r.phases, now) : null;
  return {
    id: r.id,
    object: 'subscription_schedule',
    application: null,
    billing_mode: { type: 'classic' },
    canceled_at: unixOrNull(r.canceled_at),
    completed_at: unixOrNull(r.completed_at),
    created: toUnix(new Date(r.created)),
    current_phase: current ? { start_date: current.phase.start_date, end_date: current.phase.end_date } : null,
    customer: r.customer,
    default_settings: {
      application_fee_percent: null,
      // Phases that set nothing keep the subscription's (a new one's: taxed unless turned off).
      automatic_tax: automaticTax(defaults.automatic_tax ?? sub?.automatic_tax ?? true),
      billing_cycle_anchor: defaults.billing_cycle_anchor ?? 'automatic',
      billing_thresholds: null,
      collection_method: defaults.collection_method ?? collectionMethod,
      default_payment_method: defaults.default_payment_method ?? null,
      description: null,
      invoice_settings: { account_tax_ids: null, days_until_due: defaults.days_until_due ?? null, issuer: { type: 'self' } },
      on_behalf_of: null,
      transfer_data: null,
    },
    end_behavior: r.end_behavior,
    livemode: false,
    metadata: r.metadata,
    phases: r.phases.map((p) => phaseObject(p, r.currency)),
    released_at: unixOrNull(r.released_at),
    released_subscription: r.released_subscription,
    status: r.status,
    subscription: r.subscription,
    test_clock: r.test_clock,
  };
}
export type { ScheduleObject };
