import { outsideRequest } from '../../core/context/index.js';
import { z } from 'zod';
import { listObject, paginate } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery, zExpand, zTimestamp } from '../../http/schemas.js';
import { MAX_CLOCK_TIME, advanceTestClock, createTestClock, deleteTestClock, getTestClock, serializeTestClock, type TestClockRow } from './service.js';

const zClockTime = () => zTimestamp().pipe(z.number().max(MAX_CLOCK_TIME, `must be no later than 9900-01-01 (Unix ${MAX_CLOCK_TIME})`));

const idParams = z.object({ id: z.string().min(1) });

export function testClockRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/test_helpers/test_clocks',
    summary: 'Create a test clock',
    tag: 'Test clocks',
    scope: 'write',
    body: z.strictObject({ frozen_time: zClockTime(), name: z.string().max(300).optional(), expand: zExpand() }),
    handler: ({ q, now, body }) => createTestClock(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/test_helpers/test_clocks/{id}',
    summary: 'Retrieve a test clock',
    tag: 'Test clocks',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    handler: async ({ q, params }) => serializeTestClock(await getTestClock(q, params.id)),
  });
  r.route({
    method: 'GET',
    url: '/v1/test_helpers/test_clocks',
    summary: 'List test clocks',
    tag: 'Test clocks',
    scope: 'read',
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await paginate<TestClockRow>(q, { table: 'test_clocks', where: 'deleted_at IS NULL' }, query);
      return listObject('/v1/test_helpers/test_clocks', rows.map(serializeTestClock), hasMore);
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/test_helpers/test_clocks/{id}',
    summary: 'Delete a test clock',
    tag: 'Test clocks',
    scope: 'write',
    params: idParams,
    handler: ({ q, now, params }) => deleteTestClock(q, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/test_helpers/test_clocks/{id}/advance',
    summary: "Advance a test clock, running its customers' due billing work in time order",
    tag: 'Test clocks',
    scope: 'write',
    params: idParams,
    body: z.strictObject({ frozen_time: zClockTime(), expand: zExpand() }),
    // Each step of the advance commits on its own.
    transaction: false,
    // The work an advance runs is the worker's, not this request's: its events are automatic (request null).
    handler: ({ deps, params, body }) => outsideRequest(() => advanceTestClock(deps.db, deps, params.id, new Date(body.frozen_time * 1000))),
  });
}
