import { z } from 'zod';
import { TAX_TYPES } from '../taxes/domain/types.js';
import { zBool, zCurrency, zInt, zMetadata, zSignedAmount, zTimestamp } from '../../http/schemas.js';
import { zOneTimePriceData } from '../catalog/schemas.js';

/**
 * What a pending invoice item is made of: POST /v1/invoiceitems takes these (with its customer,
 * subscription or invoice), and so does create_preview's invoice_items.
 */
export const invoiceItemFields = {
  price: z.string().min(1).optional(),
  /** A one-time price made for this item (catalog/inline-prices.ts), instead of price or an amount. */
  price_data: zOneTimePriceData.optional(),
  amount: zSignedAmount().optional(),
  unit_amount: zSignedAmount().optional(),
  currency: zCurrency().optional(),
  quantity: zInt().pipe(z.number().int().min(1).max(1_000_000)).optional(),
  description: z.string().max(500).optional(),
  discountable: zBool().optional(),
  period: z.strictObject({ start: zTimestamp(), end: zTimestamp() }).optional(),
  metadata: zMetadata().optional(),
};

// The invoice and its line as the API returns them (serialize.ts builds them; its return types are
// these). Field names and nullability follow the official SDK's Invoice / InvoiceLineItem types
// (stripe 23, API 2026-10-28): `parent` and the line's `parent` / `pricing` / `subtotal` are the
// current spelling, while the older top-level fields (invoice.subscription, line.price,
// line.subscription_item, line.proration …) stay for integrations on older API versions.

const discountAmount = z.object({ discount: z.string(), amount: z.number().int() });

const taxAmount = z.object({
  amount: z.number().int(),
  inclusive: z.boolean(),
  tax_rate: z.string().nullable(),
  taxability_reason: z.enum(['standard_rated', 'reverse_charge', 'customer_exempt', 'not_collecting', 'not_subject_to_tax']),
  taxable_amount: z.number().int(),
  percentage: z.number(),
  display_name: z.string(),
  jurisdiction: z.string().nullable(),
  country: z.string(),
  state: z.string().nullable(),
  tax_type: z.enum(TAX_TYPES),
});

/** Stripe's newer tax shape (taxes/domain/types.ts stripeTaxes). */
const stripeTax = z.object({
  amount: z.number().int(),
  tax_behavior: z.enum(['inclusive', 'exclusive']),
  tax_rate_details: z.object({ tax_rate: z.string() }).nullable(),
  taxability_reason: taxAmount.shape.taxability_reason,
  taxable_amount: z.number().int(),
  type: z.literal('tax_rate_details'),
});

/** Stripe's proration_details: Recur does not record which earlier lines a proration credits. */
const prorationDetails = z.object({ credited_items: z.null() });

/** What generated the line: a subscription item (a period line) or an invoice item (one-off or proration). */
const lineParent = z.object({
  type: z.enum(['subscription_item_details', 'invoice_item_details']),
  subscription_item_details: z
    .object({
      subscription: z.string().nullable(),
      subscription_item: z.string().nullable(),
      proration: z.boolean(),
      invoice_item: z.string().nullable(),
      proration_details: prorationDetails,
    })
    .nullable(),
  invoice_item_details: z
    .object({
      invoice_item: z.string().nullable(),
      proration: z.boolean(),
      subscription: z.string().nullable(),
      proration_details: prorationDetails,
    })
    .nullable(),
});

/** The price the line was charged at; null for a line without a price (an invoice item given an amount). */
const linePricing = z.object({
  type: z.literal('price_details'),
  price_details: z.object({
    price: z.string(),
    /** The price's product; null when the line row does not carry it (see serializeLine). */
    product: z.string().nullable(),
  }),
  unit_amount_decimal: z.string().nullable(),
});

export const invoiceLineObjectSchema = z.object({
  id: z.string(),
  object: z.literal('line_item'),
  /** Before discounts and exclusive tax (inclusive tax is inside it). */
  amount: z.number().int(),
  currency: z.string(),
  description: z.string().nullable(),
  discount_amounts: z.array(discountAmount),
  discountable: z.boolean(),
  invoice: z.string(),
  invoice_item: z.string().nullable(),
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  parent: lineParent.nullable(),
  period: z.object({ start: z.number().int(), end: z.number().int() }),
  price: z.string().nullable(),
  pricing: linePricing.nullable(),
  proration: z.boolean(),
  quantity: z.number().int(),
  subscription: z.string().nullable(),
  subscription_item: z.string().nullable(),
  /** Stripe: "before any discounts or taxes" — the line's amount. */
  subtotal: z.number().int(),
  tax_amounts: z.array(taxAmount),
  taxes: z.array(stripeTax),
  type: z.enum(['subscription', 'invoiceitem']),
  unit_amount: z.number().int().nullable(),
});

/** What generated the invoice: its subscription, or null (a manual invoice). */
const invoiceParent = z.object({
  type: z.literal('subscription_details'),
  quote_details: z.null(),
  subscription_details: z.object({
    subscription: z.string(),
    /** Stripe: the subscription's metadata as at finalization; null while Recur keeps no such snapshot. */
    metadata: z.record(z.string(), z.string()).nullable(),
  }),
});

/**
 * Stripe's invoice custom_fields: up to four name/value pairs shown on the invoice (a purchase order
 * number, a cost centre); `""` unsets them. A preprocess rather than a union, so an error names the
 * nested parameter (custom_fields[0][name]).
 */
export const zInvoiceCustomFields = () =>
  z.preprocess(
    (v) => (v === '' ? null : v),
    z
      .array(z.strictObject({ name: z.string().min(1).max(40), value: z.string().min(1).max(140) }))
      .max(4, 'at most 4 custom fields')
      .nullable(),
  );
/** Stripe's invoice footer; `""` unsets it. */
export const zInvoiceFooter = () => z.preprocess((v) => (v === '' ? null : v), z.string().max(5000).nullable());

const customerAddress = z.record(z.string(), z.string().nullable());

export const invoiceObjectSchema = z.object({
  id: z.string(),
  object: z.literal('invoice'),
  amount_due: z.number().int(),
  amount_paid: z.number().int(),
  amount_remaining: z.number().int(),
  attempt_count: z.number().int(),
  attempted: z.boolean(),
  auto_advance: z.boolean(),
  automatic_tax: z.object({
    enabled: z.boolean(),
    status: z.enum(['complete', 'requires_location_inputs']).nullable(),
    taxability_reason: taxAmount.shape.taxability_reason.nullable(),
    note: z.string().nullable(),
    location: z.object({ country: z.string(), state: z.string().nullable(), source: z.enum(['shipping_address', 'billing_address', 'fallback']) }).nullable(),
  }),
  billing_reason: z.enum(['subscription_create', 'subscription_cycle', 'subscription_update', 'subscription_threshold', 'manual']),
  collection_method: z.enum(['charge_automatically', 'send_invoice']),
  created: z.number().int(),
  currency: z.string(),
  customer: z.string(),
  /** Until finalization the customer's current values (when the caller passes them), then the invoice's snapshot. */
  customer_address: customerAddress.nullable(),
  customer_email: z.string().nullable(),
  customer_name: z.string().nullable(),
  customer_phone: z.string().nullable(),
  customer_shipping: z.object({ address: customerAddress, name: z.string(), phone: z.string().nullable() }).nullable(),
  customer_tax_exempt: z.enum(['none', 'exempt', 'reverse']).nullable(),
  customer_tax_ids: z.array(z.object({ type: z.string(), value: z.string() })),
  custom_fields: z.array(z.object({ name: z.string(), value: z.string() })).nullable(),
  default_payment_method: z.string().nullable(),
  description: z.string().nullable(),
  discounts: z.array(z.string()),
  footer: z.string().nullable(),
  last_finalization_error: z.object({ code: z.string(), message: z.string(), type: z.literal('invalid_request_error') }).nullable(),
  due_date: z.number().int().nullable(),
  effective_at: z.number().int().nullable(),
  ending_balance: z.number().int().nullable(),
  hosted_invoice_url: z.string().nullable(),
  invoice_pdf: z.string().nullable(),
  lines: z.object({ object: z.literal('list'), data: z.array(invoiceLineObjectSchema), has_more: z.boolean(), url: z.string() }),
  livemode: z.literal(false),
  metadata: z.record(z.string(), z.string()),
  next_payment_attempt: z.number().int().nullable(),
  automatically_finalizes_at: z.number().int().nullable(),
  number: z.string().nullable(),
  paid: z.boolean(),
  paid_out_of_band: z.boolean(),
  payment_intent: z.string().nullable(),
  parent: invoiceParent.nullable(),
  payment_reference: z.string().nullable(),
  shipping_cost: z.null(),
  shipping_details: z.object({ address: customerAddress, name: z.string(), phone: z.string().nullable() }).nullable(),
  overdue: z.boolean(),
  post_payment_credit_notes_amount: z.number().int(),
  pre_payment_credit_notes_amount: z.number().int(),
  period_end: z.number().int(),
  period_start: z.number().int(),
  starting_balance: z.number().int(),
  status: z.enum(['draft', 'open', 'paid', 'void', 'uncollectible']),
  status_transitions: z.object({
    finalized_at: z.number().int().nullable(),
    marked_uncollectible_at: z.number().int().nullable(),
    paid_at: z.number().int().nullable(),
    voided_at: z.number().int().nullable(),
  }),
  /** The older spelling of parent.subscription_details.subscription. */
  subscription: z.string().nullable(),
  subtotal: z.number().int(),
  subtotal_excluding_tax: z.number().int(),
  tax: z.number().int(),
  test_clock: z.string().nullable(),
  total: z.number().int(),
  total_discount_amounts: z.array(discountAmount),
  total_tax_amounts: z.array(taxAmount),
  total_taxes: z.array(stripeTax),
  total_excluding_tax: z.number().int(),
});

export type InvoiceLineObject = z.infer<typeof invoiceLineObjectSchema>;
export type InvoiceObject = z.infer<typeof invoiceObjectSchema>;
