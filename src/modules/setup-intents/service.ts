// Stripe's SetupIntent, server-side: a card saved for later off-session payments without a charge.
// Created without `confirm` (Stripe's default) it waits — `requires_payment_method`, or
// `requires_confirmation` once it has one; confirming it attaches the payment method to its customer
// (payment_method.attached, as POST /v1/payment_methods/{id}/attach) and it succeeds. As for attach,
// every test card is saved, the declining ones too: they decline when charged (ADR 0006), which is
// what dunning must be able to play. No card ever asks for an action (3-D Secure), so no status
// between those is reached.
import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import type { ListParams } from '../../http/pagination.js';
import { recordEvent } from '../events/service.js';
import { customerNow, getCustomerRow, mergeMetadata } from '../customers/service.js';
import { attachPaymentMethod, setupPaymentMethod, type PaymentDeps } from '../payments/service.js';
import { setupIntentSucceeded } from '../subscriptions/setup-intent.js';
import { findSetupIntent, insertSetupIntent, listSetupIntentRows, updateSetupIntentRow, type SetupIntentRow } from './repository.js';
import type { CreateSetupIntentInput, SetupCancellationReason, SetupIntentObject, UpdateSetupIntentInput } from './schemas.js';

export function serializeSetupIntent(r: SetupIntentRow): SetupIntentObject {
  return {
    id: r.id,
    object: 'setup_intent',
    application: null,
    automatic_payment_methods: null,
    cancellation_reason: r.cancellation_reason,
    created: toUnix(new Date(r.created)),
    customer: r.customer,
    description: r.description,
    flow_directions: null,
    last_setup_error: null,
    latest_attempt: null,
    livemode: false,
    mandate: null,
    metadata: r.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: r.payment_method,
    payment_method_options: {},
    payment_method_types: ['card'],
    single_use_mandate: null,
    status: r.status,
    usage: r.usage,
  };
}

const WAITING = new Set(['requires_payment_method', 'requires_confirmation']);
const unexpectedState = (r: SetupIntentRow, action: string) =>
  new InvalidRequestError(`You cannot ${action} this SetupIntent because it has a status of ${r.status}.`, undefined, 'setup_intent_unexpected_state');

/** The request's time, or the customer's test clock's. */
const timeFor = (q: Queryable, customer: string | null, now: Date) => (customer ? customerNow(q, customer, now) : Promise.resolve(now));

async function record(q: Queryable, now: Date, type: string, row: SetupIntentRow): Promise<SetupIntentObject> {
  const obj = serializeSetupIntent(row);
  await recordEvent(q, now, { type, object: obj, customerId: row.customer });
  return obj;
}

export async function createSetupIntent(q: Queryable, deps: PaymentDeps, requestNow: Date, input: CreateSetupIntentInput): Promise<SetupIntentObject> {
  if (input.customer) await getCustomerRow(q, input.customer, { param: 'customer' });
  const customer = input.customer ?? null;
  const now = await timeFor(q, customer, requestNow);
  if (input.confirm && !input.payment_method) {
    throw new InvalidRequestError('A setup intent confirmed at creation needs a payment_method.', 'payment_method', 'parameter_missing');
  }
  const pm = input.payment_method ? await setupPaymentMethod(q, deps, now, input.payment_method, customer, 'payment_method') : null;
  const row = await insertSetupIntent(q, {
    id: newId('seti'),
    customer,
    payment_method: pm?.id ?? null,
    status: pm ? 'requires_confirmation' : 'requires_payment_method',
    usage: input.usage,
    description: input.description ?? null,
    metadata: mergeMetadata({}, input.metadata),
    cancellation_reason: null,
    created: now,
    updated: now,
  });
  const created = await record(q, now, 'setup_intent.created', row);
  return input.confirm ? confirmSetupIntent(q, deps, requestNow, row.id, {}) : created;
}

export async function retrieveSetupIntent(q: Queryable, id: string): Promise<SetupIntentObject> {
  const row = await findSetupIntent(q, id);
  if (!row) throw new NotFoundError('setup_intent', id);
  return serializeSetupIntent(row);
}

async function lockWaiting(q: Queryable, id: string, action: string): Promise<SetupIntentRow> {
  const row = await findSetupIntent(q, id, { forUpdate: true });
  if (!row) throw new NotFoundError('setup_intent', id);
  if (!WAITING.has(row.status)) throw unexpectedState(row, action);
  return row;
}

/** POST /v1/setup_intents/{id}: while it waits (no event: Stripe writes none for an update). */
export async function updateSetupIntent(q: Queryable, deps: PaymentDeps, requestNow: Date, id: string, input: UpdateSetupIntentInput): Promise<SetupIntentObject> {
  const row = await lockWaiting(q, id, 'update');
  const patch: Partial<SetupIntentRow> = {};
  if (input.customer !== undefined && input.customer !== row.customer) {
    if (row.customer) throw new InvalidRequestError('This SetupIntent already has a customer; it cannot be changed.', 'customer', 'parameter_invalid');
    await getCustomerRow(q, input.customer, { param: 'customer' });
    patch.customer = input.customer;
  }
  const customer = patch.customer ?? row.customer;
  const now = await timeFor(q, customer, requestNow);
  if (input.payment_method !== undefined) {
    const pm = input.payment_method === '' ? null : await setupPaymentMethod(q, deps, now, input.payment_method, customer, 'payment_method');
    Object.assign(patch, { payment_method: pm?.id ?? null, status: pm ? 'requires_confirmation' : 'requires_payment_method' });
  } else if (patch.customer && row.payment_method) {
    // The payment method set before the customer must be one the customer may have.
    await setupPaymentMethod(q, deps, now, row.payment_method, customer, 'customer');
  }
  if (input.description !== undefined) patch.description = input.description;
  if (input.metadata !== undefined) patch.metadata = mergeMetadata(row.metadata, input.metadata);
  return serializeSetupIntent(await updateSetupIntentRow(q, id, { ...patch, updated: now }));
}

/** POST /v1/setup_intents/{id}/confirm: the payment method is saved to the customer. */
export async function confirmSetupIntent(q: Queryable, deps: PaymentDeps, requestNow: Date, id: string, input: { payment_method?: string }): Promise<SetupIntentObject> {
  const row = await lockWaiting(q, id, 'confirm');
  const now = await timeFor(q, row.customer, requestNow);
  const pmId = input.payment_method ? (await setupPaymentMethod(q, deps, now, input.payment_method, row.customer, 'payment_method')).id : row.payment_method;
  if (!pmId) {
    throw new InvalidRequestError("You cannot confirm this SetupIntent because it's missing a payment method. Update it with a payment_method, or pass one to confirm.", 'payment_method', 'parameter_missing');
  }
  if (row.customer) await attachPaymentMethod(q, deps, requestNow, pmId, row.customer, { param: 'payment_method' });
  const done = await updateSetupIntentRow(q, id, { payment_method: pmId, status: 'succeeded', updated: now });
  const obj = await record(q, now, 'setup_intent.succeeded', done);
  await setupIntentSucceeded(q, id, pmId, now);
  return obj;
}

/** POST /v1/setup_intents/{id}/cancel: while it waits. */
export async function cancelSetupIntent(q: Queryable, requestNow: Date, id: string, reason: SetupCancellationReason | undefined): Promise<SetupIntentObject> {
  const row = await lockWaiting(q, id, 'cancel');
  const now = await timeFor(q, row.customer, requestNow);
  const canceled = await updateSetupIntentRow(q, id, { status: 'canceled', cancellation_reason: reason ?? null, updated: now });
  return record(q, now, 'setup_intent.canceled', canceled);
}

export async function listSetupIntents(q: Queryable, filter: { customer?: string; payment_method?: string }, list: ListParams) {
  const { rows, hasMore } = await listSetupIntentRows(q, filter, list);
  return { data: rows.map(serializeSetupIntent), hasMore };
}
