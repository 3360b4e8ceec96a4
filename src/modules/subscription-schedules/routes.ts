import { z } from 'zod';
import type { Router } from '../../http/router.js';
import { createdBounds, zExpand, zList } from '../../http/schemas.js';
import { subscriptionObjectSchema } from '../subscriptions/schemas.js';
import { releaseSchedule } from '../subscriptions/service.js';
import { isScheduleId } from './repository.js';
import { cancelScheduleBody, createScheduleBody, listSchedulesQuery, releaseScheduleBody, subscriptionScheduleObject, updateScheduleBody } from './schemas.js';
import { pricedPhases } from './price-data.js';
import { cancelScheduleById, createSchedule, listSchedules, releaseScheduleById, retrieveSchedule, updateScheduleById } from './service.js';

const idParams = z.object({ id: z.string().min(1) });
const tag = 'Subscription schedules';

export function subscriptionScheduleRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/subscription_schedules',
    summary: 'Create a schedule from a subscription (from_subscription) or for a customer (phases, start_date)',
    tag,
    scope: 'write',
    body: createScheduleBody,
    response: subscriptionScheduleObject,
    handler: async ({ q, deps, now, body }) => {
      const { phases, made } = await pricedPhases(q, now, body.phases);
      return createSchedule({ q, deps, now }, { ...body, phases }, made);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/subscription_schedules/{id}',
    summary: 'Retrieve a subscription schedule',
    tag,
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    response: subscriptionScheduleObject,
    handler: ({ q, now, params }) => retrieveSchedule(q, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscription_schedules/{id}',
    summary: "Update a schedule's phases (the phase in force keeps its items and start), end_behavior or metadata",
    tag,
    scope: 'write',
    params: idParams,
    body: updateScheduleBody,
    response: subscriptionScheduleObject,
    handler: async ({ q, deps, now, params, body }) => {
      const { phases, made } = await pricedPhases(q, now, body.phases);
      return updateScheduleById({ q, deps, now }, params.id, { ...body, phases }, made);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/subscription_schedules',
    summary: 'List subscription schedules',
    tag,
    scope: 'read',
    query: listSchedulesQuery,
    response: zList(subscriptionScheduleObject),
    handler: ({ q, now, query }) =>
      listSchedules(
        q,
        now,
        {
          customer: query.customer,
          scheduled: query.scheduled,
          canceled_at: createdBounds(query.canceled_at),
          completed_at: createdBounds(query.completed_at),
          released_at: createdBounds(query.released_at),
        },
        query,
      ),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscription_schedules/{id}/cancel',
    summary: 'Cancel a schedule and its subscription now',
    tag,
    scope: 'write',
    params: idParams,
    body: cancelScheduleBody,
    response: subscriptionScheduleObject,
    handler: ({ q, deps, now, params, body }) => cancelScheduleById({ q, deps, now }, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/subscription_schedules/{id}/release',
    summary: 'Release a schedule (the subscription stays as it is); for a schedule_at_period_end change (sched_…), drop the change',
    tag,
    scope: 'write',
    params: idParams,
    body: releaseScheduleBody,
    // A sched_… id (schedule_at_period_end) answers with its subscription.
    response: subscriptionScheduleObject.or(subscriptionObjectSchema),
    handler: ({ q, deps, now, params, body }) =>
      isScheduleId(params.id) ? releaseScheduleById({ q, deps, now }, params.id, body) : releaseSchedule({ q, deps, now }, params.id),
  });
}
