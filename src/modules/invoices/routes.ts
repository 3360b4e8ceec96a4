import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors/index.js';
import { listObject } from '../../http/pagination.js';
import { Respond, type Router } from '../../http/router.js';
import { listQuery, zBool, zExpand, zInt, zMetadata, zCurrency } from '../../http/schemas.js';
import { upcomingQuery } from '../subscriptions/schemas.js';
import { upcomingInvoice } from '../subscriptions/service.js';
import { createInvoiceItemBody, deleteInvoiceItem, getInvoiceItemRow, listInvoiceItems, listInvoiceItemsQuery, serializeInvoiceItem, createInvoiceItem } from './items.js';
import { linesOf, listInvoiceRows, updateInvoiceRow } from './repository.js';
import { serializeInvoice, serializeLine } from './serialize.js';
import {
  createManualInvoice,
  deleteDraft,
  finalizeInvoices,
  getInvoiceRow,
  invoiceObject,
  markUncollectible,
  payInvoice,
  payOutOfBand,
  voidInvoice,
} from './service.js';

const idParams = z.object({ id: z.string().min(1) });
const expandOnly = z.strictObject({ expand: zExpand() });
const invoiceSchema = z.object({ id: z.string(), object: z.literal('invoice'), status: z.string(), number: z.string().nullable(), amount_due: z.number().int(), total: z.number().int() });

export function invoiceRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/invoices',
    summary: "Create a draft invoice from the customer's pending invoice items",
    tag: 'Invoices',
    scope: 'write',
    body: z.strictObject({
      customer: z.string().min(1),
      subscription: z.string().optional(),
      collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
      days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
      auto_advance: zBool().optional(),
      description: z.string().max(1000).optional(),
      metadata: zMetadata().optional(),
      pending_invoice_items_behavior: z.enum(['include', 'exclude']).optional(),
      default_payment_method: z.string().optional(),
      currency: zCurrency().optional(),
      expand: zExpand(),
    }),
    response: invoiceSchema,
    handler: async ({ q, now, body }) => invoiceObject(q, await createManualInvoice(q, now, body)),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoices/upcoming',
    summary: 'Preview the next invoice of a subscription (optionally with proposed item changes); writes nothing',
    tag: 'Invoices',
    scope: 'read',
    query: upcomingQuery,
    handler: async ({ q, now, deps, query }) => {
      if (!query.subscription) throw new InvalidRequestError('subscription is required.', 'subscription', 'parameter_missing');
      return upcomingInvoice(
        { q, deps, now },
        { subscription: query.subscription, items: query.subscription_items, prorationDate: query.subscription_proration_date, prorationBehavior: query.subscription_proration_behavior },
      );
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/invoices/{id}',
    summary: 'Retrieve an invoice',
    tag: 'Invoices',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    response: invoiceSchema,
    handler: async ({ q, params }) => invoiceObject(q, await getInvoiceRow(q, params.id)),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoices/{id}/lines',
    summary: "List an invoice's lines",
    tag: 'Invoices',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, params }) => {
      await getInvoiceRow(q, params.id);
      const lines = (await linesOf(q, [params.id])).get(params.id)!;
      return listObject(`/v1/invoices/${params.id}/lines`, lines.map(serializeLine), false);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}',
    summary: 'Update a draft invoice',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ description: z.string().max(1000).optional(), metadata: zMetadata().optional(), auto_advance: zBool().optional(), expand: zExpand() }),
    handler: async ({ q, now, params, body }) => {
      const inv = await getInvoiceRow(q, params.id, true);
      if (inv.status !== 'draft' && (body.description !== undefined || body.auto_advance !== undefined)) {
        throw new InvalidRequestError('A finalized invoice is immutable; only metadata can change.', body.description !== undefined ? 'description' : 'auto_advance', 'invoice_not_editable');
      }
      const row = await updateInvoiceRow(q, inv.id, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.auto_advance !== undefined ? { auto_advance: body.auto_advance } : {}),
        ...(body.metadata ? { metadata: { ...inv.metadata, ...body.metadata } } : {}),
        updated: now,
      });
      return invoiceObject(q, row);
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/invoices/{id}',
    summary: 'Delete a draft invoice',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    handler: ({ q, now, params }) => deleteDraft(q, params.id, now),
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/finalize',
    summary: 'Finalize a draft invoice: assigns its number and opens it',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ auto_advance: zBool().optional(), expand: zExpand() }),
    handler: async ({ q, now, params }) => {
      const inv = await getInvoiceRow(q, params.id, true);
      if (inv.status !== 'draft') throw new InvalidRequestError(`This invoice is already ${inv.status}.`, 'id', 'invoice_not_draft');
      await finalizeInvoices(q, [inv.id], now);
      return invoiceObject(q, await getInvoiceRow(q, inv.id));
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/pay',
    summary: 'Pay an open invoice now (card on file, a given payment_method, or out of band)',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ payment_method: z.string().optional(), paid_out_of_band: zBool().optional(), expand: zExpand() }),
    handler: async ({ q, now, deps, params, body }) => {
      if (body.paid_out_of_band) return invoiceObject(q, await payOutOfBand(q, params.id, now));
      const res = await payInvoice(q, deps, params.id, now, { paymentMethod: body.payment_method });
      if (res.succeeded) return invoiceObject(q, res.invoice);
      // The failed attempt (payment intent, attempt count, events) is kept: commit, then answer 402.
      return new Respond(402, {
        error: {
          type: 'card_error',
          code: res.error!.code,
          ...(res.error!.decline_code ? { decline_code: res.error!.decline_code } : {}),
          message: res.error!.message,
          payment_intent: res.paymentIntent,
        },
      });
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/void',
    summary: 'Void an open invoice (it keeps its number)',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: expandOnly,
    handler: async ({ q, now, params }) => invoiceObject(q, await voidInvoice(q, params.id, now)),
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/mark_uncollectible',
    summary: 'Mark an open invoice uncollectible',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: expandOnly,
    handler: async ({ q, now, params }) => invoiceObject(q, await markUncollectible(q, params.id, now)),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoices',
    summary: 'List invoices',
    tag: 'Invoices',
    scope: 'read',
    query: z.strictObject({
      ...listQuery,
      customer: z.string().optional(),
      subscription: z.string().optional(),
      status: z.enum(['draft', 'open', 'paid', 'void', 'uncollectible']).optional(),
    }),
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await listInvoiceRows(q, { customer: query.customer, subscription: query.subscription, status: query.status }, query);
      const lines = await linesOf(
        q,
        rows.map((r) => r.id),
      );
      return listObject(
        '/v1/invoices',
        rows.map((r) => serializeInvoice(r, lines.get(r.id)!)),
        hasMore,
      );
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/invoiceitems',
    summary: 'Create an invoice item (pending until the next invoice, or on a draft)',
    tag: 'Invoice items',
    scope: 'write',
    body: createInvoiceItemBody,
    handler: ({ q, now, body }) => createInvoiceItem(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoiceitems/{id}',
    summary: 'Retrieve an invoice item',
    tag: 'Invoice items',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    handler: async ({ q, params }) => serializeInvoiceItem(await getInvoiceItemRow(q, params.id)),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/invoiceitems/{id}',
    summary: 'Delete a pending invoice item',
    tag: 'Invoice items',
    scope: 'write',
    params: idParams,
    handler: ({ q, now, params }) => deleteInvoiceItem(q, now, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoiceitems',
    summary: 'List invoice items',
    tag: 'Invoice items',
    scope: 'read',
    query: listInvoiceItemsQuery,
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listInvoiceItems(q, { customer: query.customer, invoice: query.invoice, pending: query.pending }, query);
      return listObject('/v1/invoiceitems', data, hasMore);
    },
  });
}
