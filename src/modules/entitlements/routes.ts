import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors/index.js';
import { listObject } from '../../http/pagination.js';
import { Respond, type Router } from '../../http/router.js';
import { zExpand, zInt } from '../../http/schemas.js';
import { getPriceRow } from '../catalog/service.js';
import { getCustomerRow } from '../customers/service.js';
import { createInvoiceItem } from '../invoices/items.js';
import { createManualInvoice, finalizeInvoices, getInvoiceRow, invoiceObject, payInvoice } from '../invoices/service.js';
import { itemDescription, loadPricing, unitAmountIn } from '../subscriptions/billing.js';
import { effectiveNow } from '../subscriptions/service.js';
import { activeEntitlements, createGrant, createRule, deleteRule, grantBody, listRules, revokeGrant, ruleBody } from './service.js';

const idParams = z.object({ id: z.string().min(1) });

const purchaseBody = z.strictObject({
  customer: z.string().min(1),
  price: z.string().min(1),
  quantity: zInt().pipe(z.number().int().min(1).max(1000)).optional(),
  payment_method: z.string().min(1).optional(),
  collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
  days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
  expand: zExpand(),
});

export function entitlementRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/entitlements',
    summary: 'Active entitlements of a customer: features with their source (subscription, purchase, grant) and end',
    tag: 'Entitlements',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    handler: async ({ q, now, params }) => {
      const { data } = await activeEntitlements(q, params.id, now);
      return listObject(`/v1/customers/${params.id}/entitlements`, data, false);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/purchases',
    summary: 'Buy a one-time price: creates, finalizes and charges (or sends) its invoice; paid purchases grant entitlements',
    tag: 'Entitlements',
    scope: 'write',
    body: purchaseBody,
    handler: async ({ q, now: requestNow, deps, body }) => {
      const customer = await getCustomerRow(q, body.customer, { param: 'customer' });
      const now = await effectiveNow(q, customer.test_clock, requestNow);
      const price = await getPriceRow(q, body.price, { param: 'price' });
      if (price.type !== 'one_time') throw new InvalidRequestError(`The price ${price.id} is recurring; subscribe to it instead.`, 'price', 'price_not_one_time');
      if (!price.active) throw new InvalidRequestError(`The price ${price.id} is not active.`, 'price', 'price_inactive');
      if (price.customer && price.customer !== customer.id) throw new InvalidRequestError(`The price ${price.id} belongs to another customer.`, 'price', 'price_customer_mismatch');
      const currency = customer.currency ?? price.currency;
      if (unitAmountIn(price, currency) === null) throw new InvalidRequestError(`The price ${price.id} has no ${currency} amount.`, 'price', 'currency_mismatch');
      if (body.collection_method === 'send_invoice' && body.days_until_due === undefined) {
        throw new InvalidRequestError('days_until_due is required when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
      }
      // A draft of its own (other pending items wait for their own invoice), taxed like any sale.
      const draft = await createManualInvoice(
        q,
        now,
        { customer: customer.id, currency, pending_invoice_items_behavior: 'exclude', collection_method: body.collection_method, days_until_due: body.days_until_due },
        deps.config.tax,
      );
      const [info] = [...(await loadPricing(q, [price.id])).values()];
      const description = itemDescription(info!, body.quantity ?? 1, currency);
      await createInvoiceItem(q, now, { customer: customer.id, price: price.id, quantity: body.quantity, invoice: draft.id, description });
      await finalizeInvoices(q, [draft.id], now, { config: deps.config });
      let invoice = await getInvoiceRow(q, draft.id);
      let error: { code: string; message: string; decline_code?: string } | null = null;
      if (invoice.status === 'open' && invoice.collection_method === 'charge_automatically') {
        const res = await payInvoice(q, deps, invoice.id, now, { paymentMethod: body.payment_method, manual: true });
        invoice = res.invoice;
        error = res.succeeded ? null : res.error;
      }
      const purchase = {
        object: 'purchase' as const,
        customer: customer.id,
        price: price.id,
        invoice: await invoiceObject(q, invoice),
        entitlements: (await activeEntitlements(q, customer.id, now)).data,
      };
      // A declined card leaves the invoice open (pay it on its hosted page); the attempt is kept.
      return error ? new Respond(402, { error: { type: 'card_error', code: error.code, message: error.message, ...(error.decline_code ? { decline_code: error.decline_code } : {}), purchase } }) : purchase;
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/entitlement_grants',
    summary: "Grant a product's features to a customer by hand (optionally until ends_at)",
    tag: 'Entitlements',
    scope: 'write',
    params: idParams,
    body: grantBody,
    handler: ({ q, now, params, body }) => createGrant(q, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/entitlement_grants/{grant}/revoke',
    summary: 'Revoke a manual grant',
    tag: 'Entitlements',
    scope: 'write',
    params: z.object({ id: z.string().min(1), grant: z.string().min(1) }),
    body: z.strictObject({ expand: zExpand() }),
    handler: ({ q, now, params }) => revokeGrant(q, now, params.id, params.grant),
  });
  r.route({
    method: 'GET',
    url: '/v1/entitlement_rules',
    summary: 'What one-time purchases grant',
    tag: 'Entitlements',
    scope: 'read',
    handler: async ({ q }) => listObject('/v1/entitlement_rules', await listRules(q), false),
  });
  r.route({
    method: 'POST',
    url: '/v1/entitlement_rules',
    summary: "Make a one-time product grant another product's features (for duration_days, or for life)",
    tag: 'Entitlements',
    scope: 'write',
    body: ruleBody,
    handler: ({ q, now, body }) => createRule(q, now, body),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/entitlement_rules/{id}',
    summary: 'Delete an entitlement rule',
    tag: 'Entitlements',
    scope: 'write',
    params: idParams,
    handler: ({ q, params }) => deleteRule(q, params.id),
  });
}
