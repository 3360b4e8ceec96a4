import { z } from 'zod';
import { InvalidRequestError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { listObject, pageByPosition } from '../../http/pagination.js';
import { Respond, type Router } from '../../http/router.js';
import { addDays, fromUnix } from '../../core/time/index.js';
import { listQuery, zBool, zExpand, zInt, zMetadata, zCurrency, createdBounds, zCreatedFilter, zNullableText, zTimestamp } from '../../http/schemas.js';
import { customerNow, mergeMetadata, normalizeShipping } from '../customers/service.js';
import { zShippingParam } from '../customers/schemas.js';
import { paymentErrorFor } from '../payments/service.js';
import { createPreviewBody, upcomingQuery, zAutomaticTax, type CreatePreviewInput } from '../subscriptions/schemas.js';
import { effectiveNow, upcomingInvoice } from '../subscriptions/service.js';
import { addLines, addLinesBody, removeLines, removeLinesBody, updateLines, updateLinesBody } from './edit-lines.js';
import {
  createInvoiceItem,
  createInvoiceItemBody,
  deleteInvoiceItem,
  getInvoiceItemRow,
  listInvoiceItems,
  listInvoiceItemsQuery,
  invoiceItemObject,
  updateInvoiceItem,
  updateInvoiceItemBody,
} from './items.js';
import { linesOf, listInvoiceRows, updateInvoiceRow, type CollectionMethod, type InvoiceRow } from './repository.js';
import { sendInvoiceNow } from '../notifications/lifecycle.js';
import { recordEvent } from '../events/service.js';
import { inPreviewSpelling, previewAfterDueRenewals, previewDiscounts, previewItemsOf, previewNewSubscription, previewTrialEnd, previewedSubscription } from './preview.js';
import { withInlinePrices } from '../catalog/inline-prices.js';
import { invoiceObjectSchema, zInvoiceCustomFields, zInvoiceFooter } from './schemas.js';
import { serializeLine } from './serialize.js';
import {
  checkDueTerms,
  createManualInvoice,
  deleteDraft,
  finalizeAtFrom,
  finalizesAt,
  invoicePaymentMethod,
  rebuildDraft,
  replaceInvoiceDiscounts,
  finalizeInvoices,
  getInvoiceRow,
  invoiceObject,
  invoiceObjects,
  markUncollectible,
  payInvoice,
  payOutOfBand,
  recordInvoiceUpdated,
  voidInvoice,
} from './service.js';

const idParams = z.object({ id: z.string().min(1) });

/** Objects on a test clock live at its frozen time (as in Stripe): an invoice's clock, or its customer's. */
async function clockNow(q: Queryable, table: 'invoices' | 'invoice_items', id: string, now: Date): Promise<Date> {
  const { rows } = await q.query<{ test_clock: string | null }>(`SELECT test_clock FROM ${table} WHERE id = $1`, [id]);
  return effectiveNow(q, rows[0]?.test_clock ?? null, now);
}

/**
 * Turning auto_advance on or off on an open invoice starts or stops automatic collection: off clears
 * the scheduled attempt (unless one whose outcome the gateway has not told yet must be settled); on
 * schedules the first attempt of a charge_automatically invoice never attempted. Later retries stay
 * dunning's.
 */
async function collectionSchedule(q: Queryable, inv: InvoiceRow, autoAdvance: boolean, now: Date): Promise<Partial<InvoiceRow>> {
  if (!autoAdvance) {
    const { rows } = await q.query(`SELECT 1 FROM payment_intents WHERE idempotency_key = $1 AND status = 'processing'`, [`${inv.id}:attempt:${inv.attempt_count + 1}`]);
    return rows.length ? {} : { next_payment_attempt: null };
  }
  if (inv.collection_method === 'charge_automatically' && inv.attempt_count === 0 && inv.next_payment_attempt === null && inv.amount_remaining > 0) return { next_payment_attempt: now };
  return {};
}

const expandOnly = z.strictObject({ expand: zExpand() });

/** An invoice's own discounts: coupons or promotion codes, applied in order (Stripe's `discounts`, up to 20); `""` or [] for none. */
const zInvoiceDiscounts = () =>
  z.preprocess((v) => (v === '' ? [] : v), z.array(z.strictObject({ coupon: z.string().min(1).optional(), promotion_code: z.string().min(1).optional() })).max(20)).optional();

/** Fields of POST /v1/invoices/{id} that only a draft takes (Stripe: uneditable once finalized). */
const DRAFT_ONLY_FIELDS = ['collection_method', 'days_until_due', 'due_date', 'effective_at', 'automatically_finalizes_at', 'automatic_tax', 'discounts'] as const;

/**
 * A draft's new collection terms (Stripe's rules, as on creation): charge_automatically has no due date
 * and takes no days_until_due or due_date; send_invoice is due at due_date (in the future), or
 * days_until_due after the invoice's creation, or keeps the due date it has (one is required).
 */
function draftTerms(
  inv: InvoiceRow,
  body: { collection_method?: CollectionMethod; days_until_due?: number; due_date?: number },
  now: Date,
): Partial<InvoiceRow> {
  if (body.collection_method === undefined && body.days_until_due === undefined && body.due_date === undefined) return {};
  const method = body.collection_method ?? inv.collection_method;
  const dueDate = checkDueTerms(body, method, now);
  if (method === 'charge_automatically') {
    if (body.days_until_due !== undefined) {
      throw new InvalidRequestError('days_until_due can only be set when collection_method is send_invoice.', 'days_until_due', 'parameter_invalid');
    }
    return { collection_method: method, due_date: null };
  }
  const due = dueDate ?? (body.days_until_due !== undefined ? addDays(new Date(inv.created), body.days_until_due) : inv.due_date);
  if (due === null) throw new InvalidRequestError('days_until_due or due_date is required when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
  return { collection_method: method, due_date: due };
}

/** A subscription's next invoice with the proposed changes (upcoming's or create_preview's, both spelled as create_preview's details). */
async function previewWith(q: Queryable, deps: AppDeps, now: Date, subscription: string, d: NonNullable<CreatePreviewInput['subscription_details']>) {
  return upcomingInvoice(
    { q, deps, now },
    {
      subscription,
      // price_data: made into prices in the preview's rolled-back transaction.
      items: await withInlinePrices(q, now, d.items, 'subscription_items'),
      prorationDate: d.proration_date,
      prorationBehavior: d.proration_behavior,
      billingCycleAnchor: d.billing_cycle_anchor,
    },
  );
}

export function invoiceRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/invoices',
    summary: "Create a draft invoice from the customer's pending invoice items",
    tag: 'Invoices',
    scope: 'write',
    body: z.strictObject({
      customer: z.string().min(1),
      subscription: z.string().min(1).optional(),
      collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
      days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
      /** Stripe: when a send_invoice invoice is due (instead of days_until_due); in the future. */
      due_date: zTimestamp().optional(),
      auto_advance: zBool().optional(),
      description: zNullableText(1000).optional(),
      /** Absent: the customer's invoice_settings ones (Stripe); `""`: none. */
      custom_fields: zInvoiceCustomFields().optional(),
      footer: zInvoiceFooter().optional(),
      /** Stripe: the invoice's own "Ship to" (its PDF prints the customer's shipping details otherwise); `""`: none. */
      shipping_details: zShippingParam().optional(),
      /** Stripe: enabled false leaves this invoice untaxed; absent or true: taxed where Recur collects. */
      automatic_tax: zAutomaticTax.optional(),
      /** Stripe: the date of issue the invoice shows instead of its finalization date. */
      effective_at: zTimestamp().optional(),
      /** Stripe: when the draft finalizes by itself (with auto_advance), in the future. */
      automatically_finalizes_at: zTimestamp().optional(),
      /** Stripe: a coupon or promotion code for this invoice instead of the customer's discount; `""` for none. */
      discounts: zInvoiceDiscounts(),
      metadata: zMetadata().optional(),
      pending_invoice_items_behavior: z.enum(['include', 'exclude']).optional(),
      default_payment_method: z.string().min(1).optional(),
      currency: zCurrency().optional(),
      expand: zExpand(),
    }),
    response: invoiceObjectSchema,
    handler: async ({ q, now, deps, body }) => invoiceObject(q, await createManualInvoice(q, await customerNow(q, body.customer, now), body, deps.config.tax, deps)),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoices/upcoming',
    summary: 'Preview the next invoice of a subscription (optionally with proposed item changes); writes nothing',
    tag: 'Invoices',
    scope: 'read',
    query: upcomingQuery,
    handler: async ({ q, now, deps, query }) => {
      const subscription = await previewedSubscription(q, query);
      const inline = query.subscription_items?.some((i) => i.price_data !== undefined) ?? false;
      const proposed = {
        items: query.subscription_items,
        proration_date: query.subscription_proration_date,
        proration_behavior: query.subscription_proration_behavior,
        billing_cycle_anchor: query.subscription_billing_cycle_anchor,
      };
      return previewAfterDueRenewals(deps, q, now, subscription, (pq) => previewWith(pq, deps, now, subscription, proposed), inline);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/create_preview',
    summary: 'Preview the next invoice of a subscription (optionally with proposed item changes); writes nothing',
    tag: 'Invoices',
    scope: 'read',
    body: createPreviewBody,
    transaction: false,
    handler: async ({ q, now, deps, body }) => {
      const details = body.subscription_details ?? {};
      if (!body.subscription && (body.customer || body.customer_details) && details.items?.length) {
        const at = body.customer ? await customerNow(q, body.customer, now) : now;
        return previewNewSubscription(deps, at, body.customer ?? null, details.items, body.automatic_tax, body.customer_details, body.discounts, body.invoice_items, details.trial_end).catch(
          (err: unknown) => {
            throw inPreviewSpelling(err);
          },
        );
      }
      if (body.customer_details) {
        throw new InvalidRequestError("customer_details applies to the preview of a new subscription (subscription_details[items]); an existing subscription's customer is as they are.", 'customer_details', 'parameter_invalid');
      }
      if (body.automatic_tax) {
        throw new InvalidRequestError("automatic_tax applies to the preview of a new subscription; an existing subscription's own setting applies (change it with an update).", 'automatic_tax', 'parameter_invalid');
      }
      const subscription = await previewedSubscription(q, body);
      // price_data, discounts and invoice items are put in place in the preview's rolled-back transaction.
      const writes = (details.items?.some((i) => i.price_data !== undefined) ?? false) || body.discounts !== undefined || !!body.invoice_items?.length || details.trial_end !== undefined;
      try {
        return await previewAfterDueRenewals(
          deps,
          q,
          now,
          subscription,
          async (pq) => {
            if (details.trial_end !== undefined) await previewTrialEnd(pq, deps, now, subscription, details.trial_end, details.proration_behavior);
            if (body.discounts) await previewDiscounts(pq, deps, now, subscription, body.discounts);
            if (body.invoice_items?.length) await previewItemsOf(pq, now, subscription, body.invoice_items);
            return previewWith(pq, deps, now, subscription, details);
          },
          writes,
        );
      } catch (err) {
        throw inPreviewSpelling(err);
      }
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
    response: invoiceObjectSchema,
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
    handler: async ({ q, params, query }) => {
      await getInvoiceRow(q, params.id);
      const lines = (await linesOf(q, [params.id])).get(params.id)!;
      // Lines keep the invoice's order (not newest first), so the cursor walks their positions.
      const page = pageByPosition(lines, query);
      return listObject(`/v1/invoices/${params.id}/lines`, page.rows.map(serializeLine), page.hasMore);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}',
    summary: 'Update an invoice: a draft fully; a finalized one only description, custom_fields, footer, shipping_details and metadata (and auto_advance while it is open)',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({
      description: zNullableText(1000).optional(),
      custom_fields: zInvoiceCustomFields().optional(),
      footer: zInvoiceFooter().optional(),
      shipping_details: zShippingParam().optional(),
      effective_at: zTimestamp().optional(),
      automatically_finalizes_at: zTimestamp().optional(),
      /** A draft's automatic tax: false removes it, true determines it afresh (its customer's location now). */
      automatic_tax: zAutomaticTax.optional(),
      /** A draft's discount, replacing the one it has (a coupon or promotion code redeemed for it); `""` for none. */
      discounts: zInvoiceDiscounts(),
      /** The card this invoice is charged with (draft, open or uncollectible); `""` goes back to the subscription's or customer's. */
      default_payment_method: z.string().max(255).optional(),
      metadata: zMetadata().optional(),
      auto_advance: zBool().optional(),
      collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
      days_until_due: zInt().pipe(z.number().int().min(0).max(365)).optional(),
      due_date: zTimestamp().optional(),
      expand: zExpand(),
    }),
    handler: async ({ q, now: requestNow, deps, params, body }) => {
      const inv = await getInvoiceRow(q, params.id, true);
      const now = await effectiveNow(q, inv.test_clock, requestNow);
      // Stripe: "Draft invoices are fully editable. Once an invoice is finalized, monetary values, as
      // well as collection_method, become uneditable" — and the due terms with it; description and
      // metadata stay editable, auto_advance while the invoice is open.
      const draftOnly = DRAFT_ONLY_FIELDS.find((f) => body[f] !== undefined);
      if (inv.status !== 'draft' && draftOnly) {
        throw new InvalidRequestError(`${draftOnly} can only change on a draft invoice; this one is ${inv.status}.`, draftOnly, 'invoice_not_editable');
      }
      if (inv.status !== 'draft' && inv.status !== 'open' && body.auto_advance !== undefined) {
        throw new InvalidRequestError(`auto_advance can only change on a draft or open invoice; this one is ${inv.status}.`, 'auto_advance', 'invoice_not_editable');
      }
      if ((inv.status === 'paid' || inv.status === 'void') && body.default_payment_method !== undefined) {
        throw new InvalidRequestError(`default_payment_method can only change on an invoice still to be paid; this one is ${inv.status}.`, 'default_payment_method', 'invoice_not_editable');
      }
      const pm = body.default_payment_method ? await invoicePaymentMethod(q, deps, body.default_payment_method, inv.customer, now) : null;
      const finalizes = inv.status === 'draft' ? finalizesAt(body, now) : undefined;
      const row = await updateInvoiceRow(q, inv.id, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.custom_fields !== undefined ? { custom_fields: body.custom_fields } : {}),
        ...(body.footer !== undefined ? { footer: body.footer } : {}),
        ...(body.shipping_details !== undefined ? { shipping_details: normalizeShipping(body.shipping_details) } : {}),
        ...(inv.status === 'draft' ? draftTerms(inv, body, now) : {}),
        ...(body.auto_advance !== undefined ? { auto_advance: body.auto_advance } : {}),
        // A draft turned to auto_advance that has no finalization time (a manual draft created without
        // it, a keep_as_draft or unpaid renewal) is finalized after the configured delay, as Stripe's hour.
        ...(inv.status === 'draft' && body.auto_advance === true && inv.finalize_at === null
          ? { finalize_at: finalizeAtFrom(now, deps.config.finalizeDelaySeconds) }
          : {}),
        ...(inv.status === 'open' && body.auto_advance !== undefined ? await collectionSchedule(q, inv, body.auto_advance, now) : {}),
        ...(finalizes ? { finalize_at: finalizes, auto_advance: true } : {}),
        ...(body.effective_at !== undefined ? { effective_at: fromUnix(body.effective_at) } : {}),
        ...(body.default_payment_method !== undefined ? { default_payment_method: pm } : {}),
        // Stripe's rules (a "" value unsets its key, metadata="" unsets all, at most 50 keys after the merge).
        ...(body.metadata !== undefined ? { metadata: mergeMetadata(inv.metadata, body.metadata) } : {}),
        updated: now,
      });
      // A draft's tax or discount changes its lines and totals: rebuilt, then one invoice.updated for the whole change.
      const rebuilt =
        body.automatic_tax !== undefined || body.discounts !== undefined
          ? await rebuildDraft(q, inv.id, now, {
              automaticTax: body.automatic_tax?.enabled,
              taxConfig: deps.config.tax,
              discounts: body.discounts ? await replaceInvoiceDiscounts(q, row, body.discounts, now) : undefined,
              record: false,
            })
          : row;
      await recordInvoiceUpdated(q, inv, rebuilt, now);
      return invoiceObject(q, rebuilt);
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/invoices/{id}',
    summary: 'Delete a draft invoice',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    handler: async ({ q, now, params }) => deleteDraft(q, params.id, await clockNow(q, 'invoices', params.id, now)),
  });
  // Stripe's line editing of a draft: invoice items added, removed (deleted or back to pending) or changed.
  const lineRoute = <B extends z.ZodType<Record<string, unknown>>>(url: string, body: B, run: (q: Queryable, now: Date, inv: InvoiceRow, input: z.output<B>) => Promise<void>, summary: string) =>
    r.route({
      method: 'POST',
      url,
      summary,
      tag: 'Invoices',
      scope: 'write',
      params: idParams,
      body,
      response: invoiceObjectSchema,
      handler: async ({ q, now: requestNow, params, body: input }) => {
        const inv = await getInvoiceRow(q, params.id, true);
        await run(q, await effectiveNow(q, inv.test_clock, requestNow), inv, input);
        return invoiceObject(q, await getInvoiceRow(q, params.id));
      },
    });
  lineRoute('/v1/invoices/{id}/add_lines', addLinesBody, addLines, 'Add lines to a draft invoice (invoice items on it)');
  lineRoute('/v1/invoices/{id}/remove_lines', removeLinesBody, removeLines, "Remove a draft invoice's item lines: deleted, or unassigned back to pending");
  lineRoute('/v1/invoices/{id}/update_lines', updateLinesBody, updateLines, "Change a draft invoice's item lines");
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/finalize',
    summary: 'Finalize a draft invoice: assigns its number and opens it',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ auto_advance: zBool().optional(), expand: zExpand() }),
    handler: async ({ q, now: requestNow, deps, params, body }) => {
      const inv = await getInvoiceRow(q, params.id, true);
      if (inv.status !== 'draft') throw new InvalidRequestError(`This invoice is already ${inv.status}.`, 'id', 'invoice_not_draft');
      const now = await effectiveNow(q, inv.test_clock, requestNow);
      // Stripe: auto_advance=false finalizes without automatic collection (no payment attempt scheduled).
      if (body.auto_advance !== undefined && body.auto_advance !== inv.auto_advance) await updateInvoiceRow(q, inv.id, { auto_advance: body.auto_advance, updated: now });
      await finalizeInvoices(q, [inv.id], now, { config: deps.config });
      return invoiceObject(q, await getInvoiceRow(q, inv.id));
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/send',
    summary: 'Email an invoice to the customer now, out of the automatic schedule (a draft is finalized first)',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ expand: zExpand() }),
    handler: async ({ q, now: requestNow, deps, params }) => {
      const now = await clockNow(q, 'invoices', params.id, requestNow);
      const { invoice: inv } = await finalizeIfDraft(q, deps, params.id, now);
      if (inv.status !== 'open' && inv.status !== 'paid') {
        throw new InvalidRequestError(`Only a finalized invoice (open or paid) can be sent; this one is ${inv.status}.`, 'id', 'invoice_not_finalized');
      }
      await sendInvoiceNow(q, deps.config, inv, now);
      const obj = await invoiceObject(q, inv);
      // Stripe's invoice.sent: the invoice was emailed to the customer.
      await recordEvent(q, now, { type: 'invoice.sent', object: obj, customerId: inv.customer });
      return obj;
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/pay',
    summary: 'Pay an open or uncollectible invoice now, a draft after finalizing it (card on file, a given payment_method, or out of band)',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: z.strictObject({
      payment_method: z.string().min(1).optional(),
      paid_out_of_band: zBool().optional(),
      /** Recur: how an out-of-band payment was made (cheque number, bank reference). */
      payment_reference: z.string().min(1).max(200).optional(),
      /**
       * Stripe: the customer is not present (Stripe's default here is true). It only decides whether a
       * card that needs authentication (3-D Secure) fails at once instead of waiting for the customer.
       * Accepted and changes nothing: the simulated gateway has no authentication step, and every
       * invoice charge here is already made off-session (the Stripe gateway sends off_session: true).
       */
      off_session: zBool().optional(),
      expand: zExpand(),
    }),
    handler: async ({ q, now: requestNow, deps, params, body }) => {
      const now = await clockNow(q, 'invoices', params.id, requestNow);
      if (body.payment_reference !== undefined && !body.paid_out_of_band) {
        throw new InvalidRequestError('payment_reference goes with paid_out_of_band=true.', 'payment_reference', 'parameter_invalid');
      }
      // A draft is finalized first; one that nothing is due on is paid by its finalization.
      const { invoice: inv, finalized } = await finalizeIfDraft(q, deps, params.id, now);
      if (finalized && inv.status === 'paid') return invoiceObject(q, inv);
      if (body.paid_out_of_band) return invoiceObject(q, await payOutOfBand(q, params.id, now, body.payment_reference));
      // Nothing to charge is a 400 that records nothing (no payment intent, attempt_count unchanged).
      const res = await payInvoice(q, deps, params.id, now, { paymentMethod: body.payment_method, missingPaymentMethod: 'throw', manual: true });
      if (res.succeeded) return invoiceObject(q, res.invoice);
      // The failed attempt (payment intent, attempt count, events) is kept: commit, then answer as
      // the payment intents do: 402 card_error for a decline, 502 when the gateway did not answer.
      const error = paymentErrorFor(res.attempt!)!;
      return new Respond(error.status, error.toJSON());
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
    handler: async ({ q, now, params }) => invoiceObject(q, await voidInvoice(q, params.id, await clockNow(q, 'invoices', params.id, now))),
  });
  r.route({
    method: 'POST',
    url: '/v1/invoices/{id}/mark_uncollectible',
    summary: 'Mark an open invoice uncollectible',
    tag: 'Invoices',
    scope: 'write',
    params: idParams,
    body: expandOnly,
    handler: async ({ q, now, params }) => invoiceObject(q, await markUncollectible(q, params.id, await clockNow(q, 'invoices', params.id, now), { byApi: true })),
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
      collection_method: z.enum(['charge_automatically', 'send_invoice']).optional(),
      created: zCreatedFilter.optional(),
      /** A send_invoice invoice's due date: a second or a range, as created. */
      due_date: zCreatedFilter.optional(),
    }),
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await listInvoiceRows(
        q,
        {
          customer: query.customer,
          subscription: query.subscription,
          status: query.status,
          collection_method: query.collection_method,
          due_date: createdBounds(query.due_date),
        },
        query,
      );
      return listObject('/v1/invoices', await invoiceObjects(q, rows), hasMore);
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/invoiceitems',
    summary: 'Create an invoice item (pending until the next invoice, or on a draft)',
    tag: 'Invoice items',
    scope: 'write',
    body: createInvoiceItemBody,
    handler: async ({ q, now, body }) => createInvoiceItem(q, await customerNow(q, body.customer, now), body),
  });
  r.route({
    method: 'GET',
    url: '/v1/invoiceitems/{id}',
    summary: 'Retrieve an invoice item',
    tag: 'Invoice items',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    handler: async ({ q, params }) => invoiceItemObject(q, await getInvoiceItemRow(q, params.id)),
  });
  r.route({
    method: 'POST',
    url: '/v1/invoiceitems/{id}',
    summary: 'Update a pending invoice item, or one on a draft invoice',
    tag: 'Invoice items',
    scope: 'write',
    params: idParams,
    body: updateInvoiceItemBody,
    handler: async ({ q, now, params, body }) => updateInvoiceItem(q, await clockNow(q, 'invoice_items', params.id, now), params.id, body),
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

/**
 * Stripe finalizes a draft before sending it or attempting its payment: sending or paying a draft
 * finalizes it first, in the same transaction (a payment refused with a 400 leaves it a draft).
 */
async function finalizeIfDraft(q: Queryable, deps: AppDeps, id: string, now: Date): Promise<{ invoice: InvoiceRow; finalized: boolean }> {
  const inv = await getInvoiceRow(q, id, true);
  if (inv.status !== 'draft') return { invoice: inv, finalized: false };
  await finalizeInvoices(q, [inv.id], now, { config: deps.config });
  return { invoice: await getInvoiceRow(q, inv.id), finalized: true };
}
