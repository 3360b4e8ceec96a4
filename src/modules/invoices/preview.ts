import { AppError, InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { findSubscription } from '../subscriptions/repository.js';
import type { CreatePreviewInput, PreviewInvoiceItem, UpdateSubscriptionRequest } from '../subscriptions/schemas.js';
import { createInvoiceItem } from './items.js';
import { withInlinePrices } from '../catalog/inline-prices.js';
import { createCustomer, updateCustomer } from '../customers/service.js';
import { createSubscription, effectiveNow, updateSubscription } from '../subscriptions/service.js';
import { removeCustomerDiscounts } from '../customers/discount.js';
import { catchUpPeriods, periodDue } from '../subscriptions/catch-up.js';
import type { InvoiceObject } from './serialize.js';
import { getInvoiceRow, invoiceObject } from './service.js';

// Which invoice a preview (GET /v1/invoices/upcoming, POST /v1/invoices/create_preview) shows, as
// Stripe's "Create a preview invoice" chooses it: the named subscription's next invoice; with only a
// customer, the next invoice "from among the customer's subscriptions"; with a customer and
// subscription_details.items but no subscription, the first invoice of a new subscription.

/**
 * The preview service names upcoming's query params (and the real create or update a preview runs names
 * its own trial_end); create_preview nests them under subscription_details.
 */
export function inPreviewSpelling(err: unknown): unknown {
  if (!(err instanceof AppError) || !(err.param?.startsWith('subscription_') || err.param === 'trial_end')) return err;
  const param = err.param.replace(/^subscription_items/, 'subscription_details[items]').replace(/^subscription_proration_date$/, 'subscription_details[proration_date]')
    .replace(/^subscription_billing_cycle_anchor$/, 'subscription_details[billing_cycle_anchor]').replace(/^trial_end$/, 'subscription_details[trial_end]');
  return new AppError(err.status, err.type, err.code, err.message, param, err.extra);
}

/**
 * The subscription a preview is about: the one named (which must be the customer's when both are
 * given), else the customer's subscription invoiced next (the earliest period end; one set to cancel
 * at its period end has no next invoice).
 */
export async function previewedSubscription(q: Queryable, input: { customer?: string; subscription?: string }): Promise<string> {
  if (!input.subscription) {
    if (!input.customer) throw new InvalidRequestError('Pass subscription or customer.', 'subscription', 'parameter_missing');
    const { rows } = await q.query<{ id: string }>(
      `SELECT id FROM subscriptions WHERE customer = $1 AND status IN ('trialing', 'active', 'past_due', 'unpaid') AND NOT cancel_at_period_end
        AND (cancel_at IS NULL OR cancel_at > current_period_end)
        ORDER BY current_period_end, id LIMIT 1`,
      [input.customer],
    );
    if (!rows[0]) throw new InvalidRequestError(`The customer ${input.customer} has no subscription with an upcoming invoice.`, 'customer', 'invoice_upcoming_none');
    return rows[0].id;
  }
  const sub = await findSubscription(q, input.subscription);
  if (!sub) throw new NotFoundError('subscription', input.subscription, 'subscription');
  if (input.customer !== undefined && input.customer !== sub.customer) {
    throw new InvalidRequestError(`The subscription ${sub.id} does not belong to the customer ${input.customer}.`, 'customer', 'parameter_invalid');
  }
  return sub.id;
}

type PreviewDiscounts = NonNullable<CreatePreviewInput['discounts']>;

/**
 * create_preview's `discounts`, put in place by the real update in the preview's rolled-back
 * transaction: the subscription's replaced by them. With none ("") the customer's own discount is
 * taken off too: Stripe's "pass an empty string to avoid inheriting any discounts".
 */
export async function previewDiscounts(q: Queryable, deps: AppDeps, now: Date, subscription: string, discounts: PreviewDiscounts): Promise<void> {
  // default_incomplete: whatever the update invoices is never charged (the gateway is outside the rollback).
  const sub = await updateSubscription({ q, deps, now }, subscription, { discounts, payment_behavior: 'default_incomplete' });
  if (discounts.length === 0) await removeCustomerDiscounts(q, sub.customer, await effectiveNow(q, sub.test_clock, now));
}

/**
 * create_preview's `invoice_items`, made as pending items (of the subscription, or of the customer for
 * a new one) by the real POST /v1/invoiceitems code in the preview's rolled-back transaction. Errors
 * name the item: `invoice_items[0][price_data][product]`.
 */
export async function previewInvoiceItems(q: Queryable, now: Date, customer: string, subscription: string | null, items: readonly PreviewInvoiceItem[]): Promise<void> {
  for (const [i, item] of items.entries()) {
    try {
      await createInvoiceItem(q, now, { customer, ...(subscription ? { subscription } : {}), ...item });
    } catch (err) {
      if (!(err instanceof AppError) || !err.param) throw err;
      const [head, ...rest] = err.param.split('[');
      throw new AppError(err.status, err.type, err.code, err.message, `invoice_items[${i}][${head}]${rest.length ? `[${rest.join('[')}` : ''}`, err.extra);
    }
  }
}

/** subscription_details[trial_end] on an existing subscription: the real update, in the rolled-back transaction. */
export async function previewTrialEnd(q: Queryable, deps: AppDeps, now: Date, subscription: string, trialEnd: number | 'now', prorationBehavior?: 'create_prorations' | 'always_invoice' | 'none'): Promise<void> {
  // default_incomplete: a trial ended now invoices now, never charged here (the gateway is outside the rollback).
  await updateSubscription({ q, deps, now }, subscription, { trial_end: trialEnd, payment_behavior: 'default_incomplete', ...(prorationBehavior ? { proration_behavior: prorationBehavior } : {}) });
}

class Rollback {
  constructor(readonly invoice: InvoiceObject | null) {}
}

class RollbackWith<T> {
  constructor(readonly value: T) {}
}

/**
 * A subscription whose period has ended before the worker renewed it: the worker is about to renew
 * it (and an update would renew it first: catchUpPeriods), so the preview does the same in a
 * transaction that is always rolled back, and shows the invoice after that renewal — the same answer
 * as once the worker has run. Otherwise `preview` runs as it is — unless `writes` (the proposed items'
 * price_data made into prices), which also runs in that rolled-back transaction.
 */
export async function previewAfterDueRenewals<T>(deps: AppDeps, q: Queryable, now: Date, subscription: string, preview: (q: Queryable) => Promise<T>, writes = false): Promise<T> {
  const sub = await findSubscription(q, subscription);
  const subNow = sub ? await effectiveNow(q, sub.test_clock, now) : now;
  const due = sub !== null && periodDue(sub, subNow);
  if (!due && !writes) return preview(q);
  try {
    await deps.db.tx(async (tq) => {
      if (due) await catchUpPeriods(tq, deps, subscription, subNow);
      throw new RollbackWith(await preview(tq));
    });
    throw new Error('unreachable: the preview transaction always rolls back');
  } catch (err) {
    if (err instanceof RollbackWith) return err.value as T;
    throw err;
  }
}

/**
 * The first invoice of a subscription not yet created: created by the real code in a transaction that
 * is always rolled back, so the preview is exactly what the create would bill (trial, coupon-free
 * first period, tax, the customer's balance) and nothing is written. payment_behavior
 * default_incomplete, so no gateway is ever called.
 */
export async function previewNewSubscription(
  deps: AppDeps,
  now: Date,
  customer: string | null,
  items: NonNullable<UpdateSubscriptionRequest['items']>,
  automaticTax?: { enabled: boolean },
  customerDetails?: CreatePreviewInput['customer_details'],
  discounts?: PreviewDiscounts,
  invoiceItems?: readonly PreviewInvoiceItem[],
  trialEnd?: number | 'now',
): Promise<InvoiceObject> {
  items.forEach((i, idx) => {
    if ((!i.price && !i.price_data) || i.id || i.deleted) throw new InvalidRequestError('A new subscription item needs a price (and no id).', `subscription_details[items][${idx}][price]`, 'parameter_missing');
  });
  discounts?.forEach((d, idx) => {
    if (d.discount !== undefined) throw new InvalidRequestError('A new subscription has no discount to keep: name a coupon or promotion code.', `discounts[${idx}][discount]`, 'parameter_invalid');
  });
  let invoice: InvoiceObject | null;
  try {
    await deps.db.tx(async (q) => {
      // price_data: the prices are made here, and rolled back with the rest.
      const priced = (await withInlinePrices(q, now, items, 'subscription_details[items]'))!.map((i) => ({ price: i.price!, quantity: i.quantity, metadata: i.metadata, priceChecked: i.priceChecked }));
      // customer_details: a customer made for the preview, or the customer's details replaced, then rolled back.
      const details = customerDetails ? { ...customerDetails, tax: { validate_location: 'deferred' as const } } : undefined;
      const id = customer === null ? (await createCustomer(q, deps, now, details ?? {})).id : customer;
      if (customer !== null && details) await updateCustomer(q, deps, now, customer, details);
      // discounts: "" — none at all, not even the customer's.
      if (discounts?.length === 0) await removeCustomerDiscounts(q, id, now);
      // The customer's pending items go on a new subscription's first invoice: the previewed ones too.
      if (invoiceItems) await previewInvoiceItems(q, now, id, null, invoiceItems);
      const sub = await createSubscription(
        { q, deps, now },
        {
          customer: id,
          items: priced,
          payment_behavior: 'default_incomplete',
          ...(automaticTax ? { automatic_tax: automaticTax } : {}),
          ...(discounts?.length ? { discounts } : {}),
          ...(trialEnd !== undefined ? { trial_end: trialEnd } : {}),
        },
      );
      throw new Rollback(sub.latest_invoice ? await invoiceObject(q, await getInvoiceRow(q, sub.latest_invoice)) : null);
    });
    throw new Error('unreachable: the preview transaction always rolls back');
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
    invoice = err.invoice;
  }
  if (!invoice) throw new InvalidRequestError('This subscription would have no invoice at creation.', 'subscription_details[items]', 'invoice_upcoming_none');
  // As a preview: not finalized, not numbered, and about no subscription that exists.
  return {
    ...invoice,
    id: customer ? `upcoming_${customer}` : 'upcoming',
    // Previewed from customer_details alone: about no customer that exists.
    customer: customer,
    status: 'draft',
    number: null,
    subscription: null,
    parent: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    ending_balance: null,
    status_transitions: { ...invoice.status_transitions, finalized_at: null },
  } as InvoiceObject;
}

/** An existing subscription's preview with `invoice_items`: pending items of that subscription, at its (test clock's) time. */
export async function previewItemsOf(q: Queryable, now: Date, subscription: string, items: readonly PreviewInvoiceItem[]): Promise<void> {
  const sub = (await findSubscription(q, subscription))!;
  await previewInvoiceItems(q, await effectiveNow(q, sub.test_clock, now), sub.customer, sub.id, items);
}
