import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

// Which parameters of the official SDK's request types Recur's API does not take, read from the SDK's
// own type declarations (the version package-lock.json pins) and Recur's OpenAPI document. Each list
// below is what Recur refuses on purpose, with the reason; an SDK upgrade that adds a parameter, or a
// parameter Recur starts taking, changes a list here — a decision to make, not a silent 400 for an
// integration. (This comparison found automatic_tax, payment_settings, off_session, plan, product_data,
// tax_id_data and others that Stripe's guides send and Recur used to refuse.)

const CONNECT = ['application_fee_percent', 'application_fee_amount', 'on_behalf_of', 'transfer_data', 'customer_account', 'transfer_group', 'reverse_transfer', 'refund_application_fee'];
const LEGACY_SOURCES = ['source', 'default_source', 'validate', 'forgive', 'charge'];
const MANUAL_TAX_RATES = ['default_tax_rates', 'tax_rates', 'tax_code', 'tax_details'];
/** Features Recur has not (ADR 0005's list): each is a 400 parameter_unknown naming it. */
const REFUSED: Record<string, string[]> = {
  // Stripe's newer customer name fields and cash balances (bank transfers are recorded against invoices instead).
  CustomerCreateParams: ['business_name', 'cash_balance', 'individual_name', ...LEGACY_SOURCES],
  CustomerUpdateParams: ['business_name', 'cash_balance', 'individual_name', ...LEGACY_SOURCES],
  // Usage thresholds, pending-item intervals, Stripe's billing_mode/billing_schedules, issuer settings.
  SubscriptionCreateParams: ['billing_mode', 'billing_schedules', 'billing_thresholds', 'invoice_settings', 'pending_invoice_item_interval', ...CONNECT, ...LEGACY_SOURCES, ...MANUAL_TAX_RATES],
  // trial_from_plan: only at creation in Recur (a trial is added on update with trial_end).
  SubscriptionUpdateParams: ['billing_schedules', 'billing_thresholds', 'invoice_settings', 'pending_invoice_item_interval', 'trial_from_plan', ...CONNECT, ...LEGACY_SOURCES, ...MANUAL_TAX_RATES],
  SubscriptionCancelParams: [],
  // number: Recur numbers invoices itself, gapless; from_invoice (revisions), rendering templates,
  // statement descriptors, issuer and account tax ids, payment_settings, shipping rates.
  InvoiceCreateParams: ['account_tax_ids', 'from_invoice', 'issuer', 'number', 'payment_settings', 'rendering', 'shipping_cost', 'statement_descriptor', ...CONNECT, ...LEGACY_SOURCES, ...MANUAL_TAX_RATES],
  InvoiceUpdateParams: ['account_tax_ids', 'issuer', 'number', 'payment_settings', 'rendering', 'shipping_cost', 'statement_descriptor', ...CONNECT, ...LEGACY_SOURCES, ...MANUAL_TAX_RATES],
  InvoicePayParams: ['mandate', ...LEGACY_SOURCES],
  InvoiceFinalizeInvoiceParams: [],
  // Previews: of a subscription (new or existing), not of schedules.
  InvoiceCreatePreviewParams: ['currency', 'issuer', 'preview_mode', 'schedule', 'schedule_details', ...CONNECT],
  // Fractional quantities and amounts, per-item tax behaviour (price_data's tax_behavior sets it on the item's own price).
  InvoiceItemCreateParams: ['discounts', 'quantity_decimal', 'tax_behavior', 'unit_amount_decimal', ...CONNECT, ...MANUAL_TAX_RATES],
  // Tiered and customer-chosen prices.
  PriceCreateParams: ['billing_scheme', 'custom_unit_amount', 'tiers', 'tiers_mode', 'transform_quantity'],
  // Merchandising fields of physical goods.
  ProductCreateParams: ['images', 'marketing_features', 'package_dimensions', 'shippable', 'statement_descriptor', 'type', 'url', ...MANUAL_TAX_RATES],
  CouponCreateParams: [],
  PromotionCodeCreateParams: [...CONNECT],
  SubscriptionScheduleCreateParams: ['billing_mode', 'pause_schedules', ...CONNECT],
  CreditNoteCreateParams: ['effective_at', 'email_type', 'refunds', 'shipping_cost'],
  // Other payment method types and their options, inline payment method data, manual capture, Radar
  // sessions, shipping and statement descriptors, receipts by email (Recur's receipts go to the
  // customer), Stripe's confirmation tokens and hooks.
  PaymentIntentCreateParams: [
    'allowed_payment_method_types', 'amount_details', 'confirmation_token', 'excluded_payment_method_types', 'hooks', 'mandate', 'mandate_data',
    'payment_details', 'payment_method_configuration', 'payment_method_data', 'payment_method_options', 'radar_options', 'receipt_email', 'shipping',
    'statement_descriptor', 'statement_descriptor_suffix', ...CONNECT,
  ],
  // As on create; and the customer, which a payment intent gets at its creation in Recur.
  PaymentIntentUpdateParams: [
    'allowed_payment_method_types', 'amount_details', 'customer', 'excluded_payment_method_types', 'hooks', 'payment_details', 'payment_method_configuration',
    'payment_method_data', 'payment_method_options', 'receipt_email', 'shipping', 'statement_descriptor', 'statement_descriptor_suffix', ...CONNECT,
  ],
  // As on create; and amount_to_confirm (Recur confirms the whole amount).
  PaymentIntentConfirmParams: [
    'allowed_payment_method_types', 'amount_details', 'amount_to_confirm', 'confirmation_token', 'excluded_payment_method_types', 'hooks', 'mandate', 'mandate_data',
    'payment_details', 'payment_method_data', 'payment_method_options', 'radar_options', 'receipt_email', 'shipping',
  ],
  PaymentIntentCancelParams: [],
  // Setup intents: as payment intents (other types, inline payment method data, mandates, Stripe's
  // confirmation tokens), and Connect's attach_to_self, flow_directions and single_use.
  SetupIntentCreateParams: [
    'allowed_payment_method_types', 'attach_to_self', 'confirmation_token', 'excluded_payment_method_types', 'flow_directions', 'mandate_data',
    'payment_method_configuration', 'payment_method_data', 'payment_method_options', 'single_use', ...CONNECT,
  ],
  SetupIntentUpdateParams: [
    'allowed_payment_method_types', 'attach_to_self', 'excluded_payment_method_types', 'flow_directions', 'payment_method_configuration', 'payment_method_data',
    'payment_method_options', ...CONNECT,
  ],
  SetupIntentConfirmParams: ['allowed_payment_method_types', 'confirmation_token', 'mandate_data', 'payment_method_data', 'payment_method_options'],
  SetupIntentCancelParams: [],
  SetupIntentListParams: ['attach_to_self', ...CONNECT],
  // Usage thresholds, item-level discounts and trials, manual tax rates.
  SubscriptionItemCreateParams: ['billing_thresholds', 'current_trial', 'discounts', ...MANUAL_TAX_RATES],
  SubscriptionItemUpdateParams: ['billing_thresholds', 'current_trial', 'discounts', ...MANUAL_TAX_RATES],
  CustomerCreateTaxIdParams: [],
  PaymentMethodAttachParams: [...CONNECT],
  // Lists: Connect's customer_account; products' merchandising fields; events by delivery (Recur's
  // outbound webhooks are not built yet); refunds by charge (Recur has no charge objects).
  CustomerListParams: [],
  SubscriptionListParams: [...CONNECT],
  InvoiceListParams: [...CONNECT],
  InvoiceItemListParams: [...CONNECT],
  PriceListParams: [],
  ProductListParams: ['shippable', 'type', 'url'],
  PaymentIntentListParams: [...CONNECT],
  EventListParams: ['delivery_success'],
  CouponListParams: [],
  PromotionCodeListParams: [...CONNECT],
  CreditNoteListParams: [...CONNECT],
  SubscriptionScheduleListParams: [...CONNECT],
  PaymentMethodListParams: [...CONNECT],
  RefundListParams: ['charge'],
  RefundCreateParams: ['currency', 'customer', 'instructions_email', 'origin', ...CONNECT, ...LEGACY_SOURCES],
};

const CASES: [file: string, iface: string, path: string, method: 'post' | 'delete' | 'get'][] = [
  ['Customers', 'CustomerCreateParams', '/v1/customers', 'post'],
  ['Customers', 'CustomerUpdateParams', '/v1/customers/{id}', 'post'],
  ['Subscriptions', 'SubscriptionCreateParams', '/v1/subscriptions', 'post'],
  ['Subscriptions', 'SubscriptionUpdateParams', '/v1/subscriptions/{id}', 'post'],
  ['Subscriptions', 'SubscriptionCancelParams', '/v1/subscriptions/{id}', 'delete'],
  ['Invoices', 'InvoiceCreateParams', '/v1/invoices', 'post'],
  ['Invoices', 'InvoiceUpdateParams', '/v1/invoices/{id}', 'post'],
  ['Invoices', 'InvoicePayParams', '/v1/invoices/{id}/pay', 'post'],
  ['Invoices', 'InvoiceFinalizeInvoiceParams', '/v1/invoices/{id}/finalize', 'post'],
  ['Invoices', 'InvoiceCreatePreviewParams', '/v1/invoices/create_preview', 'post'],
  ['InvoiceItems', 'InvoiceItemCreateParams', '/v1/invoiceitems', 'post'],
  ['Prices', 'PriceCreateParams', '/v1/prices', 'post'],
  ['Products', 'ProductCreateParams', '/v1/products', 'post'],
  ['Coupons', 'CouponCreateParams', '/v1/coupons', 'post'],
  ['PromotionCodes', 'PromotionCodeCreateParams', '/v1/promotion_codes', 'post'],
  ['SubscriptionSchedules', 'SubscriptionScheduleCreateParams', '/v1/subscription_schedules', 'post'],
  ['CreditNotes', 'CreditNoteCreateParams', '/v1/credit_notes', 'post'],
  ['Refunds', 'RefundCreateParams', '/v1/refunds', 'post'],
  ['PaymentIntents', 'PaymentIntentCreateParams', '/v1/payment_intents', 'post'],
  ['PaymentIntents', 'PaymentIntentUpdateParams', '/v1/payment_intents/{id}', 'post'],
  ['PaymentIntents', 'PaymentIntentConfirmParams', '/v1/payment_intents/{id}/confirm', 'post'],
  ['PaymentIntents', 'PaymentIntentCancelParams', '/v1/payment_intents/{id}/cancel', 'post'],
  ['SetupIntents', 'SetupIntentCreateParams', '/v1/setup_intents', 'post'],
  ['SetupIntents', 'SetupIntentUpdateParams', '/v1/setup_intents/{id}', 'post'],
  ['SetupIntents', 'SetupIntentConfirmParams', '/v1/setup_intents/{id}/confirm', 'post'],
  ['SetupIntents', 'SetupIntentCancelParams', '/v1/setup_intents/{id}/cancel', 'post'],
  ['SetupIntents', 'SetupIntentListParams', '/v1/setup_intents', 'get'],
  ['SubscriptionItems', 'SubscriptionItemCreateParams', '/v1/subscription_items', 'post'],
  ['SubscriptionItems', 'SubscriptionItemUpdateParams', '/v1/subscription_items/{id}', 'post'],
  ['Customers', 'CustomerCreateTaxIdParams', '/v1/customers/{id}/tax_ids', 'post'],
  ['PaymentMethods', 'PaymentMethodAttachParams', '/v1/payment_methods/{id}/attach', 'post'],
  // Lists: the filters an integration syncs with.
  ['Customers', 'CustomerListParams', '/v1/customers', 'get'],
  ['Subscriptions', 'SubscriptionListParams', '/v1/subscriptions', 'get'],
  ['Invoices', 'InvoiceListParams', '/v1/invoices', 'get'],
  ['InvoiceItems', 'InvoiceItemListParams', '/v1/invoiceitems', 'get'],
  ['Prices', 'PriceListParams', '/v1/prices', 'get'],
  ['Products', 'ProductListParams', '/v1/products', 'get'],
  ['PaymentIntents', 'PaymentIntentListParams', '/v1/payment_intents', 'get'],
  ['Events', 'EventListParams', '/v1/events', 'get'],
  ['Coupons', 'CouponListParams', '/v1/coupons', 'get'],
  ['PromotionCodes', 'PromotionCodeListParams', '/v1/promotion_codes', 'get'],
  ['CreditNotes', 'CreditNoteListParams', '/v1/credit_notes', 'get'],
  ['SubscriptionSchedules', 'SubscriptionScheduleListParams', '/v1/subscription_schedules', 'get'],
  ['PaymentMethods', 'PaymentMethodListParams', '/v1/payment_methods', 'get'],
  ['Refunds', 'RefundListParams', '/v1/refunds', 'get'],
];

const sdkDir = join(dirname(createRequire(import.meta.url).resolve('stripe')), '..', 'esm', 'resources');

/** The top-level parameter names of `export interface <iface> {` in the SDK's declarations. */
function sdkParams(file: string, iface: string): string[] {
  const src = readFileSync(join(sdkDir, `${file}.d.ts`), 'utf8');
  // `export interface XParams {` or, for lists, `export interface XListParams extends PaginationParams {`.
  const start = src.search(new RegExp(`export interface ${iface} (extends \\w+ )?\\{`));
  if (start < 0) throw new Error(`${iface} not in ${file}.d.ts`);
  const out: string[] = [];
  for (const line of src.slice(start).split('\n').slice(1)) {
    if (line.startsWith('}')) break;
    const m = /^ {4}(\w+)\??:/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

let t: TestApp;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;
beforeAll(async () => {
  t = await createTestApp();
  doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
});
afterAll(() => t.close());

function recurParams(path: string, method: 'post' | 'delete' | 'get'): Set<string> {
  const op = doc.paths[path]?.[method];
  if (!op) throw new Error(`no ${method} ${path} in the OpenAPI document`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  if (method !== 'post') return new Set((op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => String(p.name).replace(/\[.*/, '')));
  const content = op.requestBody?.content ?? {};
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const resolve = (s: any): any => (s?.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()]) : s);
  const schema = resolve((content['application/json'] ?? Object.values(content)[0])?.schema);
  return new Set(Object.keys(schema?.properties ?? {}));
}

describe("the official SDK's request parameters", () => {
  it.each(CASES)('%s.%s: Recur takes every one but those it refuses on purpose', (file, iface, path, method) => {
    const ours = recurParams(path, method);
    const missing = sdkParams(file, iface).filter((p) => !ours.has(p));
    expect(missing.sort()).toEqual([...new Set(REFUSED[iface])].filter((p) => sdkParams(file, iface).includes(p)).sort());
  });

  it('payment methods: cards, with billing details and metadata (the other types are not Recur payment methods)', () => {
    const ours = recurParams('/v1/payment_methods', 'post');
    for (const p of ['type', 'card', 'billing_details', 'metadata', 'expand']) expect(ours.has(p), p).toBe(true);
  });
});
