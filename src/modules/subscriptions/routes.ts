import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { createdBounds, listQuery, zExpand } from '../../http/schemas.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import { listSubscriptionRows } from './repository.js';
import {
  cancelSubscriptionBody,
  createSubscriptionBody,
  createSubscriptionItemBody,
  deleteSubscriptionItemBody,
  listSubscriptionItemsQuery,
  listSubscriptionsQuery,
  resumeSubscriptionBody,
  subscriptionObjectSchema,
  updateSubscriptionBody,
  updateSubscriptionItemBody,
} from './schemas.js';
import { createSubscriptionItem, deleteSubscriptionItem, listSubscriptionItems, retrieveSubscriptionItem, updateSubscriptionItem } from './subscription-items.js';
import { subscriptionObject, subscriptionObjects } from './serialize.js';
import { cancelSubscription, createSubscription, customerSubscriptions, getSubscriptionRow, resumeSubscription, updateSubscription } from './service.js';
import { getCustomerRow } from '../customers/service.js';
import { pricedCreate, pricedUpdate } from './price-data.js';

const idParams = z.object({ id: z.string().min(1) });

export function subscriptionRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/subscriptions',
    summary: 'Create a subscription',
    tag: 'Subscriptions',
    scope: 'write',
    body: createSubscriptionBody,
    response: subscriptionObjectSchema,
    handler: async ({ q, deps, now, body }) => createSubscription({ q, deps, now }, await pricedCreate(q, now, body)),
  });
  r.route({
    method: 'GET',
    url: '/v1/subscriptions/{id}',
    summary: 'Retrieve a subscription',
    tag: 'Subscriptions',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    response: subscriptionObjectSchema,
    handler: async ({ q, params }) => subscriptionObject(q, await getSubscriptionRow(q, params.id)),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscriptions/{id}',
    summary: 'Update a subscription: items and quantities (with proration), cancel at period end, pause collection, …',
    tag: 'Subscriptions',
    scope: 'write',
    params: idParams,
    body: updateSubscriptionBody,
    response: subscriptionObjectSchema,
    handler: async ({ q, deps, now, params, body }) => updateSubscription({ q, deps, now }, params.id, await pricedUpdate(q, now, body)),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/subscriptions/{id}',
    summary: 'Cancel a subscription now (optionally prorating a credit and invoicing now)',
    tag: 'Subscriptions',
    scope: 'write',
    params: idParams,
    // Stripe's SDKs send a DELETE's params in the query string; plain HTTP clients may use a body.
    query: cancelSubscriptionBody,
    body: cancelSubscriptionBody,
    response: subscriptionObjectSchema,
    handler: ({ q, deps, now, params, query, body }) => cancelSubscription({ q, deps, now }, params.id, { ...query, ...body }),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscriptions/{id}/resume',
    summary: 'Resume a paused subscription',
    tag: 'Subscriptions',
    scope: 'write',
    params: idParams,
    body: resumeSubscriptionBody,
    response: subscriptionObjectSchema,
    handler: ({ q, deps, now, params, body }) => resumeSubscription({ q, deps, now }, params.id, { billing_cycle_anchor: body.billing_cycle_anchor, proration_behavior: body.proration_behavior, proration_date: body.proration_date }),
  });
  r.route({
    method: 'GET',
    url: '/v1/subscriptions',
    summary: 'List subscriptions',
    tag: 'Subscriptions',
    scope: 'read',
    query: listSubscriptionsQuery,
    handler: async ({ q, query }) => {
      const status = query.status;
      if (query.price !== undefined && query.plan !== undefined) throw new InvalidRequestError('Pass price or plan (its older name), not both.', 'plan', 'parameter_invalid');
      const filter = {
        customer: query.customer,
        status,
        price: query.price ?? query.plan,
        test_clock: query.test_clock,
        collection_method: query.collection_method,
        automatic_tax: query.automatic_tax?.enabled,
        current_period_start: createdBounds(query.current_period_start),
        current_period_end: createdBounds(query.current_period_end),
      };
      const { rows, hasMore } = await listSubscriptionRows(q, filter, query);
      return listObject('/v1/subscriptions', await subscriptionObjects(q, rows), hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/subscriptions',
    summary: "List a customer's subscriptions (the list a customer's expand[]=subscriptions shows the first page of)",
    tag: 'Subscriptions',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ ...listQuery, status: listSubscriptionsQuery.shape.status }),
    handler: async ({ q, params, query }) => {
      await getCustomerRow(q, params.id);
      return customerSubscriptions(q, params.id, query, query.status);
    },
  });
  subscriptionItemRoutes(r);
}


/** /v1/subscription_items: Stripe's per-item API, each call an update of the item's subscription. */
function subscriptionItemRoutes(r: Router): void {
  const tag = 'Subscription items';
  r.route({
    method: 'POST',
    url: '/v1/subscription_items',
    summary: "Add an item to a subscription (prorated as an update of the subscription's items)",
    tag,
    scope: 'write',
    body: createSubscriptionItemBody,
    handler: ({ q, deps, now, body }) => createSubscriptionItem({ q, deps, now }, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/subscription_items/{id}',
    summary: 'Retrieve a subscription item',
    tag,
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    handler: ({ q, params }) => retrieveSubscriptionItem(q, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscription_items/{id}',
    summary: "Change an item's price, quantity or metadata (prorated as an update of the subscription)",
    tag,
    scope: 'write',
    params: idParams,
    body: updateSubscriptionItemBody,
    handler: ({ q, deps, now, params, body }) => updateSubscriptionItem({ q, deps, now }, params.id, body),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/subscription_items/{id}',
    summary: 'Remove an item from its subscription (prorated; the last item cannot be removed)',
    tag,
    scope: 'write',
    params: idParams,
    query: deleteSubscriptionItemBody,
    body: deleteSubscriptionItemBody,
    handler: ({ q, deps, now, params, query, body }) => deleteSubscriptionItem({ q, deps, now }, params.id, { ...query, ...body }),
  });
  r.route({
    method: 'GET',
    url: '/v1/subscription_items',
    summary: "List a subscription's items",
    tag,
    scope: 'read',
    query: listSubscriptionItemsQuery,
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await listSubscriptionItems(q, query.subscription, query);
      return listObject('/v1/subscription_items', rows, hasMore);
    },
  });
}
