import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zExpand, zList } from '../../http/schemas.js';
import { cancelSetupIntentBody, confirmSetupIntentBody, createSetupIntentBody, listSetupIntentsQuery, setupIntentObject, updateSetupIntentBody } from './schemas.js';
import { cancelSetupIntent, confirmSetupIntent, createSetupIntent, listSetupIntents, retrieveSetupIntent, updateSetupIntent } from './service.js';

const idParams = z.object({ id: z.string().min(1) });
const tag = 'Setup intents';

export function setupIntentRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/setup_intents',
    summary: 'Create a setup intent: a card saved for later payments without a charge (confirm=true saves it at once)',
    tag,
    scope: 'write',
    body: createSetupIntentBody,
    response: setupIntentObject,
    handler: ({ q, deps, now, body }) => createSetupIntent(q, deps, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/setup_intents',
    summary: 'List setup intents (filters customer, payment_method, created)',
    tag,
    scope: 'read',
    query: listSetupIntentsQuery,
    response: zList(setupIntentObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listSetupIntents(q, { customer: query.customer, payment_method: query.payment_method }, query);
      return listObject('/v1/setup_intents', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/setup_intents/{id}',
    summary: 'Retrieve a setup intent',
    tag,
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    response: setupIntentObject,
    handler: ({ q, params }) => retrieveSetupIntent(q, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/setup_intents/{id}',
    summary: 'Update a setup intent that waits (customer if it has none, payment method, description, metadata)',
    tag,
    scope: 'write',
    params: idParams,
    body: updateSetupIntentBody,
    response: setupIntentObject,
    handler: ({ q, deps, now, params, body }) => updateSetupIntent(q, deps, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/setup_intents/{id}/confirm',
    summary: "Confirm a setup intent: its payment method is attached to its customer",
    tag,
    scope: 'write',
    params: idParams,
    body: confirmSetupIntentBody,
    response: setupIntentObject,
    handler: ({ q, deps, now, params, body }) => confirmSetupIntent(q, deps, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/setup_intents/{id}/cancel',
    summary: 'Cancel a setup intent that waits',
    tag,
    scope: 'write',
    params: idParams,
    body: cancelSetupIntentBody,
    response: setupIntentObject,
    handler: ({ q, now, params, body }) => cancelSetupIntent(q, now, params.id, body.cancellation_reason),
  });
}
