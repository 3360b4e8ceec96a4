import { z } from 'zod';
import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { listObject, paginate } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { createdBounds, listQuery, zCreatedFilter } from '../../http/schemas.js';
import { serializeEvent, type EventRow } from './service.js';

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
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (cond: (n: string) => string, v: unknown) => {
        params.push(v);
        where.push(cond(`$${params.length}`));
      };
      if (query.type && query.types?.length) {
        // Stripe: "You may pass either type or types, but not both."
        throw new InvalidRequestError('Pass either type or types, not both.', 'types', 'parameter_invalid');
      }
      if (query.type) {
        // Stripe allows a trailing wildcard: customer.subscription.*
        if (query.type.endsWith('*')) add((p) => `type LIKE ${p}`, query.type.slice(0, -1) + '%');
        else add((p) => `type = ${p}`, query.type);
      }
      if (query.types?.length) add((p) => `type = ANY(${p})`, query.types);
      if (query.customer) add((p) => `customer_id = ${p}`, query.customer);
      if (query.object_id) add((p) => `object_id = ${p}`, query.object_id);
      for (const [op, at] of createdBounds(query.created)) add((p) => `created ${op} to_timestamp(${p})`, at);
      const { rows, hasMore } = await paginate<EventRow>(q, { table: 'events', where: where.join(' AND ') || undefined, params }, query);
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
      const { rows } = await q.query<EventRow>(`SELECT * FROM events WHERE id = $1`, [params.id]);
      if (!rows[0]) throw new NotFoundError('event', params.id);
      return serializeEvent(rows[0]);
    },
  });
}
