import { discountObject } from '../coupons/schemas.js';
import { isIP } from 'node:net';
import { z } from 'zod';
import { listQuery, zCreatedFilter, zCurrency, zExpand, zInt, zMetadata, zNullableText, zSignedAmount } from '../../http/schemas.js';
import { COUNTRY_CODES } from './domain/countries.js';
import { checkTaxId } from '../taxes/domain/tax-ids.js';
import { zInvoiceCustomFields, zInvoiceFooter } from '../invoices/schemas.js';

export const zAddress = z.strictObject({
  line1: zNullableText(200).optional(),
  line2: zNullableText(200).optional(),
  city: zNullableText(200).optional(),
  state: zNullableText(100).optional(),
  postal_code: zNullableText(20).optional(),
  country: z
    .string()
    .transform((s) => s.toUpperCase())
    .refine((c) => COUNTRY_CODES.has(c), 'must be an ISO 3166-1 alpha-2 country code')
    .optional(),
});

export const TAX_ID_TYPES = [
  'eu_vat', 'gb_vat', 'ch_vat', 'no_vat', 'au_abn', 'au_arn', 'nz_gst', 'sg_gst', 'sg_uen', 'jp_cn', 'jp_trn', 'in_gst',
  'ca_bn', 'ca_gst_hst', 'ca_pst_bc', 'ca_pst_mb', 'ca_pst_sk', 'ca_qst', 'us_ein', 'unknown',
] as const;

// Each type's format is checked (EU VAT numbers through jsvat): reverse charge relies on it.
/** A tax id's number in its type's format (a refinement of `{type, value}`). */
export const taxIdFormat = (t: { type: string; value: string }, ctx: z.RefinementCtx) => {
  const check = checkTaxId(t.type, t.value);
  if (!check.valid) ctx.addIssue({ code: 'custom', path: ['value'], message: `is not a valid ${t.type} number (expected a format like ${check.example})` });
};
export const zTaxId = z.strictObject({ type: z.enum(TAX_ID_TYPES), value: z.string().min(1).max(50) }).superRefine(taxIdFormat);

// E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
const e164 = /^\+[1-9]\d{6,14}$/;

const zEmail = z.email('must be a valid email address').max(512).or(z.literal('').transform(() => null));
const zPhone = z.string().regex(e164, 'must be in E.164 format, e.g. +14155552671').or(z.literal('').transform(() => null));

/** Stripe's shipping details: a name and an address (line1 at least), and optionally a phone. */
export const zShipping = z.strictObject({
  name: z.string().min(1).max(256),
  address: zAddress.refine((a) => !!a.line1, { message: 'must include line1', path: ['line1'] }),
  phone: zPhone.optional(),
});

/** Stripe's `tax` parameter: a recent IP address (`""` unsets) and when to check the tax location. */
const zTaxParam = <V extends readonly [string, ...string[]]>(validate: V) =>
  z.strictObject({
    ip_address: z
      .string()
      .refine((v) => v === '' || isIP(v) !== 0, 'must be an IPv4 or IPv6 address')
      .transform((v) => (v === '' ? null : v))
      .optional(),
    validate_location: z.enum(validate).optional(),
  });

/** Shipping details as a parameter (the customer's, an invoice's): `""` unsets; a preprocess rather than a union, so an error names the nested parameter (shipping[name]). */
export const zShippingParam = () => z.preprocess((v) => (v === '' ? null : v), zShipping.nullable());

const customerFields = {
  email: zEmail.optional(),
  name: zNullableText(256).optional(),
  description: zNullableText().optional(),
  phone: zPhone.optional(),
  address: zAddress.or(z.literal('').transform(() => null)).optional(),
  shipping: zShippingParam().optional(),
  tax_ids: z.array(zTaxId).max(25).optional(),
  preferred_locales: z.array(z.string().min(2).max(20)).max(10).optional(),
  currency: zCurrency().optional(),
  tax_exempt: z.enum(['none', 'exempt', 'reverse']).optional(),
  invoice_settings: z
    .strictObject({
      default_payment_method: zNullableText(255).optional(),
      /** Stripe: the custom fields and footer every new invoice of the customer shows, unless it names its own. */
      custom_fields: zInvoiceCustomFields().optional(),
      footer: zInvoiceFooter().optional(),
    })
    .optional(),
  balance: zSignedAmount().optional(),
  /**
   * Stripe: "The prefix for the customer used to generate unique invoice numbers": 3–12 upper-case
   * letters or digits. Set, the customer's invoices are numbered PREFIX-0001, … in their own gapless
   * series; `""` unsets it (the account series again, for invoices finalized from then on).
   */
  invoice_prefix: z
    .string()
    .regex(/^[A-Z0-9]{3,12}$/, 'must be 3–12 upper-case letters or digits')
    .or(z.literal('').transform(() => null))
    .optional(),
  /** Stripe: where the customer's own series (invoice_prefix) starts, e.g. after another system's last number. */
  next_invoice_sequence: zInt().pipe(z.number().int().min(1).max(999_999_999)).optional(),
  /** Stripe: a coupon (or below, a promotion code) for the customer's own discount, replacing the one before. */
  coupon: z.string().min(1).max(255).optional(),
  promotion_code: z.string().min(1).max(255).optional(),
  metadata: zMetadata().optional(),
  expand: zExpand(),
};

// Like Stripe, a customer's test clock is set at creation only.
export const createCustomerBody = z.strictObject({
  ...customerFields,
  /** Stripe: validate_location `deferred` (default) or `immediately` (refuse a customer whose tax location is unknown). */
  tax: zTaxParam(['deferred', 'immediately'] as const).optional(),
  /** Stripe's spelling of the tax ids given at creation (Recur also takes tax_ids, on create and update). */
  tax_id_data: z.array(zTaxId).max(25).optional(),
  test_clock: z.string().optional(),
  /** Stripe: a payment method to attach to the new customer (a Stripe test id such as pm_card_visa creates one). */
  payment_method: z.string().min(1).max(255).optional(),
});
/** Stripe: validate_location `auto` (default: refuse losing a known location while subscribed), `deferred` or `immediately`. */
export const updateCustomerBody = z.strictObject({ ...customerFields, tax: zTaxParam(['auto', 'deferred', 'immediately'] as const).optional() });
export type CreateCustomerInput = z.output<typeof createCustomerBody>;
export type UpdateCustomerInput = z.output<typeof updateCustomerBody>;

export const listCustomersQuery = z.strictObject({
  ...listQuery,
  created: zCreatedFilter.optional(),
  email: z.string().optional(),
  test_clock: z.string().optional(),
});

/** Stripe's tax_id object (customers/tax-ids.ts). */
export const taxIdObject = z.object({
  id: z.string(),
  object: z.literal('tax_id'),
  country: z.string().nullable(),
  created: z.number().int(),
  customer: z.string(),
  livemode: z.boolean(),
  owner: z.object({ customer: z.string(), type: z.literal('customer') }),
  type: z.string(),
  value: z.string(),
  verification: z.object({ status: z.literal('unavailable'), verified_address: z.null(), verified_name: z.null() }),
});
export type TaxIdObject = z.infer<typeof taxIdObject>;

/** Shipping details as the API shows them (the customer's, and the invoice's snapshot of them). */
export const zShippingObject = z.object({ address: zAddress, name: z.string(), phone: z.string().nullable() });

export const customerObject = z.object({
  id: z.string(),
  object: z.literal('customer'),
  address: zAddress.nullable(),
  balance: z.number().int(),
  created: z.number().int(),
  currency: z.string().nullable(),
  delinquent: z.boolean(),
  description: z.string().nullable(),
  discount: discountObject.nullable(),
  email: z.string().nullable(),
  invoice_prefix: z.string().nullable(),
  invoice_settings: z.object({
    custom_fields: z.array(z.object({ name: z.string(), value: z.string() })).nullable(),
    default_payment_method: z.string().nullable(),
    footer: z.string().nullable(),
    rendering_options: z.null(),
  }),
  livemode: z.boolean(),
  metadata: z.record(z.string(), z.string()),
  name: z.string().nullable(),
  next_invoice_sequence: z.number().int().nullable(),
  phone: z.string().nullable(),
  preferred_locales: z.array(z.string()),
  shipping: zShippingObject.nullable(),
  /** Includable: only with expand[]=tax (src/modules/taxes/customer-tax.ts). */
  tax: z
    .object({
      automatic_tax: z.enum(['supported', 'not_collecting', 'unrecognized_location']),
      ip_address: z.string().nullable(),
      location: z.object({ country: z.string(), source: z.enum(['billing_address', 'shipping_destination']), state: z.string().nullable() }).nullable(),
      provider: z.literal('recur'),
    })
    .optional(),
  tax_exempt: z.enum(['none', 'exempt', 'reverse']),
  tax_ids: z.object({ object: z.literal('list'), data: z.array(taxIdObject), has_more: z.boolean(), url: z.string() }),
  test_clock: z.string().nullable(),
});
export type CustomerObject = z.infer<typeof customerObject>;
