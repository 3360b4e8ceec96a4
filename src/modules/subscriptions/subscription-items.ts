import { AppError, NotFoundError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import { createInlinePrice } from '../catalog/inline-prices.js';
import { pageByPosition, type ListParams } from '../../http/pagination.js';
import type { z } from 'zod';
import { getSubscriptionRow, updateSubscription, type Ctx } from './service.js';
import type { createSubscriptionItemBody, deleteSubscriptionItemBody, updateSubscriptionItemBody } from './schemas.js';
import { subscriptionObject, type SubscriptionObject } from './serialize.js';

// Stripe's /v1/subscription_items: one item created, changed or removed. Each is an update of its
// subscription (updateSubscription, with the same proration, payment_behavior and events), so the two
// APIs cannot disagree; errors name this endpoint's parameters (`price`, not `items[0][price]`). A
// `price_data` is made into its price first (catalog/inline-prices.ts).

type ItemObject = SubscriptionObject['items']['data'][number];

async function itemRow(q: Queryable, id: string): Promise<{ id: string; subscription: string }> {
  const { rows } = await q.query<{ id: string; subscription: string }>(`SELECT id, subscription FROM subscription_items WHERE id = $1`, [id]);
  if (!rows[0]) throw new NotFoundError('subscription_item', id);
  return rows[0];
}

/** The item as its subscription shows it — or, if the change is waiting for payment, as its pending update does. */
function itemOf(sub: SubscriptionObject, id: string): ItemObject {
  const found = sub.items.data.find((i) => i.id === id) ?? sub.pending_update?.subscription_items.find((i) => i.id === id);
  if (!found) throw new NotFoundError('subscription_item', id);
  return found as ItemObject;
}

/** Runs an item change as a subscription update, renaming `items[0][x]` in errors to `x`. */
async function asUpdate(ctx: Ctx, subscription: string, input: Parameters<typeof updateSubscription>[2]): Promise<SubscriptionObject> {
  try {
    return await updateSubscription(ctx, subscription, input);
  } catch (err) {
    const m = err instanceof AppError && err.param ? /^items(?:\[0\]\[(\w+)\])?$/.exec(err.param) : null;
    if (!m || !(err instanceof AppError)) throw err;
    throw new AppError(err.status, err.type, err.code, err.message, m[1] ?? 'id', err.extra);
  }
}

export async function retrieveSubscriptionItem(q: Queryable, id: string): Promise<ItemObject> {
  const row = await itemRow(q, id);
  return itemOf(await subscriptionObject(q, await getSubscriptionRow(q, row.subscription)), id);
}

export async function listSubscriptionItems(q: Queryable, subscription: string, list: ListParams) {
  const sub = await subscriptionObject(q, await getSubscriptionRow(q, subscription, false, 'subscription'));
  return pageByPosition(sub.items.data, list);
}

export async function createSubscriptionItem(ctx: Ctx, body: z.output<typeof createSubscriptionItemBody>): Promise<ItemObject> {
  const { subscription, price: given, price_data, quantity, metadata, ...change } = body;
  const price = given ?? (await createInlinePrice(ctx.q, ctx.now, price_data!, 'price_data'));
  const before = new Set((await subscriptionObject(ctx.q, await getSubscriptionRow(ctx.q, subscription, false, 'subscription'))).items.data.map((i) => i.id));
  const sub = await asUpdate(ctx, subscription, { items: [{ price, quantity, metadata, priceChecked: price_data !== undefined }], ...change });
  const added = [...sub.items.data, ...(sub.pending_update?.subscription_items ?? [])].find((i) => !before.has(i.id));
  return added as ItemObject;
}

export async function updateSubscriptionItem(ctx: Ctx, id: string, body: z.output<typeof updateSubscriptionItemBody>): Promise<ItemObject> {
  const { price: given, price_data, quantity, metadata, ...change } = body;
  const row = await itemRow(ctx.q, id);
  const price = price_data ? await createInlinePrice(ctx.q, ctx.now, price_data, 'price_data') : given;
  return itemOf(await asUpdate(ctx, row.subscription, { items: [{ id, price, quantity, metadata, priceChecked: price_data !== undefined }], ...change }), id);
}

export async function deleteSubscriptionItem(ctx: Ctx, id: string, body: z.output<typeof deleteSubscriptionItemBody>) {
  const row = await itemRow(ctx.q, id);
  await asUpdate(ctx, row.subscription, { items: [{ id, deleted: true }], ...body });
  return { id, object: 'subscription_item' as const, deleted: true as const };
}
