import { randomBytes } from 'node:crypto';

// Stripe event payloads as Stripe sends them (shapes from Stripe's published object fixtures), for
// webhook tests. Each builder returns the event object; JSON.stringify it to deliver.

export function stripeEvent(type: string, object: Record<string, unknown>, created: number, opts: { id?: string; previous?: Record<string, unknown> } = {}) {
  return {
    id: opts.id ?? `evt_${randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: { object, ...(opts.previous ? { previous_attributes: opts.previous } : {}) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  };
}

export function disputeObject(o: { id: string; paymentIntent: string; charge?: string; amount: number; status: string; reason?: string; dueBy?: number; created: number }) {
  return {
    id: o.id,
    object: 'dispute',
    amount: o.amount,
    balance_transactions: [],
    charge: o.charge ?? `ch_${o.paymentIntent.slice(3)}`,
    created: o.created,
    currency: 'usd',
    evidence: { customer_email_address: null, customer_name: null, product_description: null, uncategorized_text: null },
    evidence_details: { due_by: o.dueBy ?? o.created + 7 * 86400, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: o.paymentIntent,
    payment_method_details: { card: { brand: 'visa', case_type: 'chargeback', network_reason_code: '10.4' }, type: 'card' },
    reason: o.reason ?? 'fraudulent',
    status: o.status,
  };
}

export function customerObject(o: { id: string; name: string; email?: string; created: number }) {
  return {
    id: o.id,
    object: 'customer',
    address: null,
    balance: 0,
    created: o.created,
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    email: o.email ?? null,
    invoice_prefix: '7FE1103',
    invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
    livemode: false,
    metadata: {},
    name: o.name,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

export function paymentIntentObject(o: { id: string; amount: number; status: string; customer: string; key: string; created: number; lastError?: Record<string, unknown> }) {
  return {
    id: o.id,
    object: 'payment_intent',
    amount: o.amount,
    amount_capturable: 0,
    amount_received: o.status === 'succeeded' ? o.amount : 0,
    capture_method: 'automatic',
    confirmation_method: 'automatic',
    created: o.created,
    currency: 'usd',
    customer: o.customer,
    description: null,
    last_payment_error: o.lastError ?? null,
    latest_charge: `ch_${o.id.slice(3)}`,
    livemode: false,
    metadata: { recur_idempotency_key: o.key },
    payment_method: 'pm_x',
    payment_method_types: ['card'],
    status: o.status,
  };
}

export function paymentMethodObject(o: { id: string; customer: string; expMonth: number; expYear: number; created: number }) {
  return {
    id: o.id,
    object: 'payment_method',
    allow_redisplay: 'unspecified',
    billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: null, phone: null, tax_id: null },
    card: { brand: 'visa', country: 'US', exp_month: o.expMonth, exp_year: o.expYear, fingerprint: 'AOB934RVNwzk6xtn', funding: 'credit', last4: '4242' },
    created: o.created,
    customer: o.customer,
    livemode: false,
    metadata: {},
    type: 'card',
  };
}

export function cardObject(o: { id: string; customer: string; expMonth: number; expYear: number }) {
  return { id: o.id, object: 'card', brand: 'Visa', country: 'US', customer: o.customer, exp_month: o.expMonth, exp_year: o.expYear, last4: '4242', funding: 'credit', metadata: {} };
}
