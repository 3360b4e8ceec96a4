import { toUnix } from '../../core/time/index.js';
import { computeLineTax, lineTaxTotals } from '../taxes/domain/compute.js';
import { percentageToPpm, stripeTaxes, type TaxAmount, type TaxDecision } from '../taxes/domain/types.js';
import type { CustomerDetails } from '../taxes/context.js';
import type { InvoiceRow, LineRow } from './repository.js';
import type { InvoiceLineObject, InvoiceObject } from './schemas.js';

export type { InvoiceLineObject, InvoiceObject } from './schemas.js';

const ts = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

/** A line as stored; `product` (for pricing.price_details) when linesOf or the builder set it. */
export type SerializableLine = LineRow;

/**
 * What generated the line (Stripe's line `parent`): a subscription item for a period line and for a
 * proration of one (Stripe: previews' prorations are the lines whose
 * parent.subscription_item_details.proration is true; the proration's invoice item is then
 * subscription_item_details.invoice_item); an invoice item for any other line. Recur keeps no link
 * from a proration to the lines it credits, so credited_items is null.
 */
function lineParent(l: LineRow): InvoiceLineObject['parent'] {
  const proration_details = { credited_items: null };
  if (l.type === 'subscription' || l.subscription_item !== null) {
    return {
      type: 'subscription_item_details',
      subscription_item_details: { subscription: l.subscription, subscription_item: l.subscription_item, proration: l.proration, invoice_item: l.invoice_item, proration_details },
      invoice_item_details: null,
    };
  }
  return {
    type: 'invoice_item_details',
    invoice_item_details: { invoice_item: l.invoice_item, proration: l.proration, subscription: l.subscription, proration_details },
    subscription_item_details: null,
  };
}

export function serializeLine(l: SerializableLine): InvoiceLineObject {
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
    parent: lineParent(l),
    period: { start: ts(l.period_start)!, end: ts(l.period_end)! },
    price: l.price,
    pricing:
      l.price === null
        ? null
        : { type: 'price_details', price_details: { price: l.price, product: l.product ?? null }, unit_amount_decimal: l.unit_amount === null ? null : String(l.unit_amount) },
    proration: l.proration,
    quantity: l.quantity,
    subscription: l.subscription,
    subscription_item: l.subscription_item,
    // Stripe: "before any discounts or taxes". A line's amount is before its discount_amounts and before
    // exclusive tax; inclusive tax is inside it, as in Stripe's line amount and invoice subtotal.
    subtotal: l.amount,
    tax_amounts: l.tax_amounts ?? [],
    taxes: stripeTaxes(l.tax_amounts ?? []),
    type: l.type,
    unit_amount: l.unit_amount,
  };
}

export interface SerializeOptions {
  /**
   * The customer's current details. Stripe: until the invoice is finalized its customer_email,
   * customer_name, customer_address, customer_tax_exempt and customer_tax_ids equal the customer's;
   * a draft stores no snapshot (customer_details is taken at finalization), so a draft shows these
   * when the caller passes them, and nulls otherwise. With `balance`, a draft's starting_balance is
   * the customer's current balance (Stripe's rule until finalization).
   */
  customer?: (CustomerDetails & { balance?: number }) | null;
  /**
   * The invoice's latest payment intent (each attempt is one), or null before any: Stripe's
   * `payment_intent` (API versions before 2025-03-31), which `expand[]=latest_invoice.payment_intent`
   * turns into the object. Events written before any attempt (invoice.created, .finalized) have null.
   */
  paymentIntent?: string | null;
}

export function serializeInvoice(inv: InvoiceRow, lines: readonly SerializableLine[], opts: SerializeOptions = {}): InvoiceObject {
  const taxAmounts = inv.total_tax_amounts ?? [];
  const decision = inv.tax_context?.decision ?? null;
  const draft = inv.status === 'draft';
  const customer = (draft ? (opts.customer ?? inv.customer_details) : inv.customer_details) ?? null;
  // Stripe starting_balance: "If the invoice has not been finalized yet, this will be the current
  // customer balance" (when the caller passed it); ending_balance: "null if the invoice has not been
  // finalized yet". Finalization stores both.
  const startingBalance = draft && opts.customer?.balance !== undefined ? Number(opts.customer.balance) : inv.starting_balance;
  return {
    id: inv.id,
    object: 'invoice' as const,
    amount_due: inv.amount_due,
    amount_paid: inv.amount_paid,
    amount_remaining: inv.amount_remaining,
    attempt_count: inv.attempt_count,
    attempted: inv.attempt_count > 0,
    auto_advance: inv.auto_advance,
    // Stripe's automatic_tax, with how the tax was determined (Recur: reason, note, location).
    automatic_tax: {
      enabled: decision !== null,
      status: decision ? decision.status : null,
      taxability_reason: decision ? decision.reason : null,
      note: decision ? decision.note : null,
      location: decision ? decision.location : null,
    },
    billing_reason: inv.billing_reason,
    collection_method: inv.collection_method,
    created: ts(inv.created)!,
    currency: inv.currency,
    customer: inv.customer,
    customer_address: customer?.address ?? null,
    customer_email: customer?.email ?? null,
    customer_name: customer?.name ?? null,
    customer_phone: customer?.phone ?? null,
    customer_shipping: customer?.shipping ?? null,
    customer_tax_exempt: customer?.tax_exempt ?? null,
    customer_tax_ids: customer?.tax_ids ?? [],
    default_payment_method: inv.default_payment_method,
    custom_fields: inv.custom_fields ?? null,
    description: inv.description,
    footer: inv.footer ?? null,
    last_finalization_error: inv.last_finalization_error ?? null,
    discounts: inv.discounts.map((d) => d.discount),
    due_date: ts(inv.due_date),
    // Set by hand (a date of issue other than the finalization's), else the finalization date.
    effective_at: inv.effective_at ? ts(inv.effective_at) : (inv.status_transitions.finalized_at ?? null),
    ending_balance: draft ? null : inv.ending_balance,
    hosted_invoice_url: inv.hosted_invoice_url ?? null,
    invoice_pdf: inv.hosted_invoice_url ? `${inv.hosted_invoice_url}/pdf` : null,
    lines: { object: 'list' as const, data: lines.map(serializeLine), has_more: false, url: `/v1/invoices/${inv.id}/lines` },
    livemode: false,
    metadata: inv.metadata,
    // A draft the worker will finalize and charge shows when (Stripe: about an hour after a renewal
    // draft is created); null for send_invoice, as Stripe documents, and for drafts finalized by hand.
    // Stripe: "The time when this invoice is currently scheduled to be automatically finalized".
    automatically_finalizes_at: inv.status === 'draft' && inv.auto_advance && inv.finalize_at ? ts(inv.finalize_at) : null,
    next_payment_attempt:
      inv.status === 'draft'
        ? inv.collection_method === 'charge_automatically' && inv.auto_advance && inv.finalize_at
          ? ts(inv.finalize_at)
          : null
        : ts(inv.next_payment_attempt),
    number: inv.number,
    paid: inv.status === 'paid',
    paid_out_of_band: inv.paid_out_of_band,
    payment_intent: opts.paymentIntent ?? null,
    // Stripe's parent (since 2025-03-31.basil; `subscription` below is the older spelling). The
    // subscription's metadata snapshot at finalization is not kept on the invoice: null.
    parent: inv.subscription
      ? { type: 'subscription_details', subscription_details: { subscription: inv.subscription, metadata: null }, quote_details: null }
      : null,
    payment_reference: inv.payment_reference ?? null,
    // Stripe's shipping cost needs shipping rates, which Recur has not: always null.
    shipping_cost: null,
    shipping_details: inv.shipping_details ?? null,
    overdue: inv.overdue_at !== null && inv.overdue_at !== undefined,
    post_payment_credit_notes_amount: inv.post_payment_credit_notes_amount ?? 0,
    pre_payment_credit_notes_amount: inv.pre_payment_credit_notes_amount ?? 0,
    period_end: ts(inv.period_end)!,
    period_start: ts(inv.period_start)!,
    starting_balance: startingBalance,
    status: inv.status,
    status_transitions: {
      finalized_at: inv.status_transitions.finalized_at ?? null,
      marked_uncollectible_at: inv.status_transitions.marked_uncollectible_at ?? null,
      paid_at: inv.status_transitions.paid_at ?? null,
      voided_at: inv.status_transitions.voided_at ?? null,
    },
    subscription: inv.subscription,
    subtotal: inv.subtotal,
    subtotal_excluding_tax: inv.subtotal - inclusiveTaxBeforeDiscounts(lines),
    tax: inv.total_tax,
    test_clock: inv.test_clock,
    total: inv.total,
    total_discount_amounts: totalDiscountAmounts(inv, lines),
    total_tax_amounts: taxAmounts,
    total_taxes: stripeTaxes(taxAmounts),
    total_excluding_tax: inv.total - inv.total_tax,
  };
}

/**
 * Every discount on the invoice with its total: the invoice's own discounts and those a proration line
 * carries from when it was created (proration-items.ts), which are not the invoice's. Summed from the
 * lines when they are at hand (they split each amount exactly), else the invoice's records.
 */
function totalDiscountAmounts(inv: InvoiceRow, lines: readonly { discount_amounts: { discount: string; amount: number }[] }[]): { discount: string; amount: number }[] {
  if (lines.length === 0) return inv.discounts;
  const sums = new Map<string, number>(inv.discounts.map((d) => [d.discount, 0]));
  for (const l of lines) for (const d of l.discount_amounts) sums.set(d.discount, (sums.get(d.discount) ?? 0) + d.amount);
  return [...sums].map(([discount, amount]) => ({ discount, amount }));
}

/**
 * The tax inside the subtotal, for subtotal_excluding_tax (Stripe: the subtotal "before any invoice
 * level discount or tax is applied"): the inclusive tax of each line's amount BEFORE its discounts —
 * not the tax the invoice charges, which is on the discounted amounts. A line's tax_amounts hold the
 * rates it was taxed at, so the tax of its undiscounted amount is recomputed with them by the tax
 * code's own computeLineTax (same rounding); a line without discounts keeps its stored tax.
 */
export function inclusiveTaxBeforeDiscounts(lines: readonly Pick<LineRow, 'amount' | 'discount_amounts' | 'tax_amounts'>[]): number {
  return lines.reduce((s, l) => s + lineInclusiveTaxBeforeDiscounts(l), 0);
}

function lineInclusiveTaxBeforeDiscounts(l: Pick<LineRow, 'amount' | 'discount_amounts' | 'tax_amounts'>): number {
  const inclusive = (l.tax_amounts ?? []).filter((t) => t.inclusive);
  if (inclusive.length === 0) return 0;
  const discounted = l.discount_amounts.some((d) => d.amount !== 0);
  if (!discounted) return lineTaxTotals(inclusive).inclusive;
  return lineTaxTotals(computeLineTax(l.amount, 'inclusive', decisionOf(inclusive))).inclusive;
}

/** A decision taxing at the rates a line was taxed at (computeLineTax only reads the rates). */
function decisionOf(amounts: readonly TaxAmount[]): TaxDecision {
  return {
    reason: 'standard_rated',
    rates: amounts.map((a) => ({
      id: a.tax_rate,
      percentage_ppm: percentageToPpm(a.percentage),
      display_name: a.display_name,
      jurisdiction: a.jurisdiction,
      country: a.country,
      state: a.state,
      tax_type: a.tax_type,
      inclusive: true,
    })),
    note: null,
    location: null,
    status: 'complete',
  };
}
