import { newId } from '../../core/ids/index.js';
import { addDays } from '../../core/time/index.js';
import { applyDiscounts, type Discount } from './domain/discounts.js';
import { computeInvoiceTotals } from './domain/totals.js';
import { lineBehavior, type DraftTax } from '../taxes/context.js';
import { aggregateTaxAmounts, computeLineTax, lineTaxTotals } from '../taxes/domain/compute.js';
import type { BillingReason, CollectionMethod, InvoiceCustomField, InvoiceRow, LineRow, ShippingDetails } from './repository.js';

// Builds an invoice and its lines in memory from drafts: the same code serves one API call and a
// worker batch of thousands (which then writes them set-based), and the upcoming-invoice preview.

export interface LineDraft {
  type: 'subscription' | 'invoiceitem';
  subscription: string | null;
  subscriptionItem: string | null;
  invoiceItem: string | null;
  price: string | null;
  productId: string | null;
  description: string;
  quantity: number;
  unitAmount: number | null;
  amount: number;
  currency: string;
  periodStart: Date;
  periodEnd: Date;
  proration: boolean;
  discountable: boolean;
  /**
   * Discount amounts fixed on the line before this invoice — a proration item's, the discounts in force
   * when it was made (Stripe's proration_details.discount_amounts; see discountProrations) — or
   * null/absent: the invoice's discounts apply. A line with fixed amounts takes of the invoice's
   * discounts only `once` ones (applyDiscounts).
   */
  fixedDiscountAmounts?: readonly { discount: string; amount: number }[] | null;
}

export interface InvoiceDraft {
  /** Set when rebuilding an existing draft. */
  id?: string;
  customer: string;
  subscription: string | null;
  currency: string;
  billingReason: BillingReason;
  periodStart: Date;
  periodEnd: Date;
  collectionMethod: CollectionMethod;
  daysUntilDue: number | null;
  /** A send_invoice invoice's due date given as such (Stripe's due_date); else `now` + daysUntilDue. */
  dueDate?: Date | null;
  autoAdvance: boolean;
  /** When the worker finalises this draft; null = only by hand (or now, by the caller). */
  finalizeAt: Date | null;
  defaultPaymentMethod: string | null;
  testClock: string | null;
  /** Stripe's automatic_tax[enabled]: false leaves the draft untaxed (applyTax); absent: taxed when Recur computes tax. */
  automaticTax?: boolean;
  description?: string | null;
  metadata?: Record<string, string>;
  /** Stripe's custom_fields / footer; absent: the customer's invoice_settings ones (persistInvoices). */
  customFields?: InvoiceCustomField[] | null;
  footer?: string | null;
  /** Stripe's shipping_details: the invoice's own; not taken from the customer (its PDF falls back to them). */
  shippingDetails?: ShippingDetails | null;
  /** Stripe's effective_at, when set by hand: the date of issue the invoice shows. */
  effectiveAt?: Date | null;
  /** The discounts were chosen for this invoice (Stripe's `discounts`, "" included), not inherited. */
  discountsChosen?: boolean;
  lines: LineDraft[];
  /**
   * Discounts active for this invoice (already filtered by period): they apply to the lines without
   * fixedDiscountAmounts. Only these are the invoice's `discounts` (a discount only fixed on lines is
   * in those lines' discount_amounts and in total_discount), so a rebuilt draft re-applies just these.
   */
  discounts: Discount[];
  /** Automatic tax (taxes/context.ts applyTax); absent = no tax (e.g. installments of a taxed invoice). */
  tax?: DraftTax | null;
}

export interface BuiltInvoice {
  invoice: InvoiceRow;
  lines: LineRow[];
  /** Which of the customer's invoice_settings the invoice takes when it is written (persistInvoices). */
  inheritsSettings?: { customFields: boolean; footer: boolean };
}

export function buildInvoice(d: InvoiceDraft, now: Date): BuiltInvoice {
  const id = d.id ?? newId('in');
  // A non-discountable line is no discount's: it takes no part of one and gets no discount_amounts entry.
  const discountable = d.lines.map((l) => ({ amount: l.amount, currency: d.currency, productId: l.productId, discountable: l.discountable }));
  const fixed = d.lines.map((l) => (l.discountable && l.fixedDiscountAmounts ? l.fixedDiscountAmounts.map((a) => ({ discountId: a.discount, amount: a.amount })) : null));
  const anyFixed = fixed.some((f) => f !== null);
  const discounted = (d.discounts.length || anyFixed) && d.lines.length ? applyDiscounts(discountable, d.discounts, anyFixed ? { fixed } : {}) : null;
  // Tax per line, on the amount after discounts.
  const tax = d.tax ?? null;
  const lineTaxes = d.lines.map((l, i) => (tax ? computeLineTax(l.amount - (discounted ? discounted.lines[i]!.totalDiscount : 0), lineBehavior(tax, l.price), tax.context.decision) : []));
  const taxTotals = lineTaxes.map(lineTaxTotals);
  const totals = computeInvoiceTotals({
    lineAmounts: d.lines.map((l) => l.amount),
    discountAmounts: discounted ? discounted.lines.map((l) => l.totalDiscount) : undefined,
    taxAmounts: taxTotals.map((t) => t.tax),
    inclusiveTaxAmounts: taxTotals.map((t) => t.inclusive),
  });
  const lines: LineRow[] = d.lines.map((l, i) => ({
    id: newId('il'),
    invoice: id,
    type: l.type,
    subscription: l.subscription,
    subscription_item: l.subscriptionItem,
    invoice_item: l.invoiceItem,
    price: l.price,
    product: l.productId,
    description: l.description,
    quantity: l.quantity,
    unit_amount: l.unitAmount,
    amount: l.amount,
    currency: d.currency,
    period_start: l.periodStart,
    period_end: l.periodEnd,
    proration: l.proration,
    discountable: l.discountable,
    discount_amounts: discounted ? discounted.lines[i]!.discountAmounts.map((a) => ({ discount: a.discountId, amount: a.amount })) : [],
    position: i,
    tax_amounts: lineTaxes[i]!,
  }));
  const invoice: InvoiceRow = {
    id,
    customer: d.customer,
    subscription: d.subscription,
    status: 'draft',
    number: null,
    series: null,
    currency: d.currency,
    collection_method: d.collectionMethod,
    billing_reason: d.billingReason,
    description: d.description ?? null,
    period_start: d.periodStart,
    period_end: d.periodEnd,
    subtotal: totals.subtotal,
    total_discount: totals.total_discount,
    total_tax: totals.total_tax,
    total: totals.total,
    // The customer balance is applied at finalisation; until then amount_due is the total.
    starting_balance: 0,
    ending_balance: null,
    amount_due: Math.max(0, totals.total),
    amount_paid: 0,
    amount_remaining: Math.max(0, totals.total),
    attempt_count: 0,
    next_payment_attempt: null,
    auto_advance: d.autoAdvance,
    finalize_at: d.finalizeAt,
    due_date: d.collectionMethod === 'send_invoice' ? (d.dueDate ?? addDays(now, d.daysUntilDue ?? 30)) : null,
    default_payment_method: d.defaultPaymentMethod,
    discounts: discounted ? discounted.totalDiscountAmounts.map((a) => ({ discount: a.discountId, amount: a.amount })) : [],
    paid_out_of_band: false,
    status_transitions: { finalized_at: null, paid_at: null, voided_at: null, marked_uncollectible_at: null },
    test_clock: d.testClock,
    metadata: d.metadata ?? {},
    created: now,
    updated: now,
    total_tax_amounts: aggregateTaxAmounts(lineTaxes),
    tax_context: tax ? tax.context : null,
    customer_details: null,
    pre_payment_credit_notes_amount: 0,
    post_payment_credit_notes_amount: 0,
    hosted_invoice_url: null,
    overdue_at: null,
    payment_reference: null,
    custom_fields: d.customFields ?? null,
    footer: d.footer ?? null,
    last_finalization_error: null,
    shipping_details: d.shippingDetails ?? null,
    effective_at: d.effectiveAt ?? null,
    discounts_chosen: d.discountsChosen ?? false,
  };
  return { invoice, lines, inheritsSettings: { customFields: d.customFields === undefined, footer: d.footer === undefined } };
}
