import { toUnix } from '../../core/time/index.js';
import type { InvoiceRow, LineRow } from './repository.js';

const ts = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeLine(l: LineRow) {
  return {
    id: l.id,
    object: 'line_item' as const,
    amount: l.amount,
    currency: l.currency,
    description: l.description,
    discount_amounts: l.discount_amounts,
    discountable: l.discountable,
    invoice: l.invoice,
    invoice_item: l.invoice_item,
    livemode: false,
    metadata: {},
    period: { start: ts(l.period_start)!, end: ts(l.period_end)! },
    price: l.price,
    proration: l.proration,
    quantity: l.quantity,
    subscription: l.subscription,
    subscription_item: l.subscription_item,
    type: l.type,
    unit_amount: l.unit_amount,
  };
}

export type InvoiceObject = ReturnType<typeof serializeInvoice>;

export function serializeInvoice(inv: InvoiceRow, lines: LineRow[]) {
  return {
    id: inv.id,
    object: 'invoice' as const,
    amount_due: inv.amount_due,
    amount_paid: inv.amount_paid,
    amount_remaining: inv.amount_remaining,
    attempt_count: inv.attempt_count,
    attempted: inv.attempt_count > 0,
    auto_advance: inv.auto_advance,
    billing_reason: inv.billing_reason,
    collection_method: inv.collection_method,
    created: ts(inv.created)!,
    currency: inv.currency,
    customer: inv.customer,
    default_payment_method: inv.default_payment_method,
    description: inv.description,
    discounts: inv.discounts.map((d) => d.discount),
    due_date: ts(inv.due_date),
    effective_at: inv.status_transitions.finalized_at ?? null,
    ending_balance: inv.ending_balance,
    hosted_invoice_url: null,
    invoice_pdf: null,
    lines: { object: 'list' as const, data: lines.map(serializeLine), has_more: false, url: `/v1/invoices/${inv.id}/lines` },
    livemode: false,
    metadata: inv.metadata,
    next_payment_attempt: ts(inv.next_payment_attempt),
    number: inv.number,
    paid: inv.status === 'paid',
    paid_out_of_band: inv.paid_out_of_band,
    period_end: ts(inv.period_end)!,
    period_start: ts(inv.period_start)!,
    starting_balance: inv.starting_balance,
    status: inv.status,
    status_transitions: {
      finalized_at: inv.status_transitions.finalized_at ?? null,
      marked_uncollectible_at: inv.status_transitions.marked_uncollectible_at ?? null,
      paid_at: inv.status_transitions.paid_at ?? null,
      voided_at: inv.status_transitions.voided_at ?? null,
    },
    subscription: inv.subscription,
    subtotal: inv.subtotal,
    subtotal_excluding_tax: inv.subtotal,
    tax: inv.total_tax,
    test_clock: inv.test_clock,
    total: inv.total,
    total_discount_amounts: inv.discounts,
    total_excluding_tax: inv.total - inv.total_tax,
  };
}
