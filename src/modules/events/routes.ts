import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { createdBounds, listQuery, zCreatedFilter } from '../../http/schemas.js';
import { serializeEvent } from './service.js';
import { findEvent, listEvents } from './batches.js';

const eventSchema = z.object({
  id: z.string(),
  object: z.literal('event'),
  created: z.number().int(),
  type: z.string(),
  data: z.object({ object: z.record(z.string(), z.unknown()), previous_attributes: z.record(z.string(), z.unknown()).optional() }),
});

export function eventRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/events',
    summary: 'List events',
    tag: 'Events',
    scope: 'read',
    query: z.strictObject({
      ...listQuery,
      type: z.string().optional(),
      types: z.array(z.string()).optional(),
      customer: z.string().optional(),
      object_id: z.string().optional(),
      created: zCreatedFilter.optional(),
    }),
    response: z.object({ object: z.literal('list'), data: z.array(eventSchema), has_more: z.boolean() }),
    handler: async ({ q, query }) => {
      if (query.type && query.types?.length) {
        // Stripe: "You may pass either type or types, but not both."
        throw new InvalidRequestError('Pass either type or types, not both.', 'types', 'parameter_invalid');
      }
      const { rows, hasMore } = await listEvents(
        q,
        {
          // Stripe allows a trailing wildcard: customer.subscription.*
          ...(query.type ? (query.type.endsWith('*') ? { typePrefix: query.type.slice(0, -1) } : { types: [query.type] }) : {}),
          ...(query.types?.length ? { types: query.types } : {}),
          ...(query.customer ? { customer: query.customer } : {}),
          ...(query.object_id ? { objectId: query.object_id } : {}),
          created: createdBounds(query.created),
        },
        query,
      );
      return listObject('/v1/events', rows.map(serializeEvent), hasMore);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/events/{id}',
    summary: 'Retrieve an event',
    tag: 'Events',
    scope: 'read',
    params: z.object({ id: z.string() }),
    query: z.strictObject({ expand: z.array(z.string()).optional() }),
    response: eventSchema,
    handler: async ({ q, params }) => {
      const event = await findEvent(q, params.id);
      if (!event) throw new NotFoundError('event', params.id);
      return serializeEvent(event);
    },
  });
}
