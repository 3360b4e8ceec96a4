import { z } from 'zod';
import { ConflictError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery } from '../../http/schemas.js';
import { mergeMetadata } from '../customers/service.js';
import { payLink } from '../notifications/links.js';
import { effectiveNow } from '../subscriptions/service.js';
import type { SegmentRule } from './domain/plans.js';
import { acceptOffer, serializeOffer } from './offers.js';
import {
  findCampaign,
  findOffer,
  findPlan,
  insertPlanOnce,
  listCampaignRows,
  listPlanRows,
  offersOf,
  putSetting,
  stepRunsOf,
  tasksOf,
  updatePlanRow,
  type PlanRow,
} from './repository.js';
import { createPlanBody, listCampaignsQuery, listTasksQuery, segmentationBody, statsQuery, updatePlanBody, updateTaskBody } from './schemas.js';
import { campaignObject, SEGMENTATION_KEY, segmentRules } from './service.js';
import { dunningStats } from './stats.js';
import { getTask, listTasks, serializeTask, updateTask } from './tasks.js';

const idParams = z.object({ id: z.string().min(1) });

export function serializePlan(p: PlanRow) {
  return {
    id: p.id,
    object: 'dunning_plan' as const,
    active: p.active,
    created: toUnix(new Date(p.created)),
    description: p.description,
    final_action: p.final_action,
    key: p.key,
    metadata: p.metadata,
    name: p.name,
    quiet_hours: p.quiet_hours,
    steps: p.steps,
    updated: toUnix(new Date(p.updated)),
  };
}

export function dunningRoutes(r: Router): void {
  const tag = 'Dunning';
  r.route({
    method: 'GET',
    url: '/v1/dunning_plans',
    summary: 'List dunning plans',
    tag,
    scope: 'read',
    query: z.strictObject({ ...listQuery }),
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await listPlanRows(q, query);
      return listObject('/v1/dunning_plans', rows.map(serializePlan), hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning_plans/{id}',
    summary: 'Retrieve a dunning plan (by id or key)',
    tag,
    scope: 'read',
    params: idParams,
    handler: async ({ q, params }) => {
      const p = await findPlan(q, params.id);
      if (!p) throw new NotFoundError('dunning_plan', params.id);
      return serializePlan(p);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/dunning_plans',
    summary: 'Create a dunning plan',
    tag,
    scope: 'admin',
    body: createPlanBody,
    handler: async ({ q, now, body }) => {
      const row = await insertPlanOnce(q, {
        id: newId('dplan'),
        key: body.key,
        name: body.name,
        description: body.description ?? null,
        steps: body.steps,
        final_action: body.final_action,
        quiet_hours: body.quiet_hours ?? null,
        active: body.active ?? true,
        metadata: mergeMetadata({}, body.metadata),
        created: now,
        updated: now,
      });
      if (!row) throw new ConflictError(`A dunning plan with the key '${body.key}' already exists.`, 'resource_already_exists', 'key');
      return serializePlan(row);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/dunning_plans/{id}',
    summary: 'Update a dunning plan (campaigns already open follow the new steps from their next one)',
    tag,
    scope: 'admin',
    params: idParams,
    body: updatePlanBody,
    handler: async ({ q, now, params, body }) => {
      const p = await findPlan(q, params.id);
      if (!p) throw new NotFoundError('dunning_plan', params.id);
      const next: PlanRow = {
        ...p,
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.steps !== undefined ? { steps: body.steps } : {}),
        ...(body.final_action !== undefined ? { final_action: body.final_action } : {}),
        ...(body.quiet_hours !== undefined ? { quiet_hours: body.quiet_hours } : {}),
        ...(body.active !== undefined ? { active: body.active } : {}),
        ...(body.metadata !== undefined ? { metadata: mergeMetadata(p.metadata, body.metadata) } : {}),
        updated: now,
      };
      return serializePlan(await updatePlanRow(q, next));
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/segmentation',
    summary: 'The segmentation rules: the first that matches chooses the segment and its plan',
    tag,
    scope: 'read',
    handler: async ({ q }) => ({ object: 'dunning_segmentation', rules: await segmentRules(q) }),
  });
  r.route({
    method: 'POST',
    url: '/v1/dunning/segmentation',
    summary: 'Replace the segmentation rules',
    tag,
    scope: 'admin',
    body: segmentationBody,
    handler: async ({ q, now, body }) => {
      for (const [i, rule] of body.rules.entries()) {
        if (!(await findPlan(q, rule.plan))) throw new NotFoundError('dunning_plan', rule.plan, `rules[${i}][plan]`);
      }
      await putSetting(q, SEGMENTATION_KEY, body.rules as SegmentRule[], now);
      return { object: 'dunning_segmentation', rules: body.rules };
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/campaigns',
    summary: 'List dunning campaigns',
    tag,
    scope: 'read',
    query: listCampaignsQuery,
    handler: async ({ q, query }) => {
      const { rows, hasMore } = await listCampaignRows(q, { customer: query.customer, status: query.status, invoice: query.invoice, segment: query.segment }, query);
      return listObject('/v1/dunning/campaigns', await Promise.all(rows.map((c) => campaignObject(q, c))), hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/campaigns/{id}',
    summary: 'Retrieve a campaign with its steps, offers and tasks',
    tag,
    scope: 'read',
    params: idParams,
    handler: async ({ q, params }) => {
      const c = await findCampaign(q, params.id);
      if (!c) throw new NotFoundError('dunning_campaign', params.id);
      const runs = await stepRunsOf(q, c.id);
      return {
        ...(await campaignObject(q, c)),
        steps: runs.map((s) => ({ step: s.step + 1, scheduled_at: toUnix(new Date(s.scheduled_at)), ran_at: toUnix(new Date(s.ran_at)), retry: s.retry, failure_class: s.failure_class, payment_intent: s.payment_intent, actions: s.actions })),
        offers: (await offersOf(q, c.id)).map(serializeOffer),
        tasks: (await tasksOf(q, c.id)).map(serializeTask),
      };
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/dunning/campaigns/{id}/payment_link',
    summary: 'A signed payment-update link for the campaign’s invoice (for staff to send by hand)',
    tag,
    scope: 'write',
    params: idParams,
    handler: async ({ q, deps, now, params }) => {
      const c = await findCampaign(q, params.id);
      if (!c) throw new NotFoundError('dunning_campaign', params.id);
      const at = await effectiveNow(q, c.test_clock, now);
      return { object: 'payment_link', url: await payLink(q, deps.config.notifications, at, { customer: c.customer, invoice: c.invoice }) };
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/offers/{id}',
    summary: 'Retrieve an offer',
    tag,
    scope: 'read',
    params: idParams,
    handler: async ({ q, params }) => {
      const o = await findOffer(q, params.id);
      if (!o) throw new NotFoundError('dunning_offer', params.id);
      return serializeOffer(o);
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/dunning/offers/{id}/accept',
    summary: 'Take an offer on the customer’s behalf (e.g. a payment plan agreed on the phone)',
    tag,
    scope: 'write',
    params: idParams,
    handler: async ({ q, now, params }) => {
      const o = await findOffer(q, params.id);
      if (!o) throw new NotFoundError('dunning_offer', params.id);
      const c = await findCampaign(q, o.campaign);
      return serializeOffer(await acceptOffer(q, o.id, await effectiveNow(q, c?.test_clock ?? null, now)));
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/tasks',
    summary: 'List phone tasks for staff',
    tag,
    scope: 'read',
    query: listTasksQuery,
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listTasks(q, { status: query.status, assignee: query.assignee, customer: query.customer, campaign: query.campaign }, query);
      return listObject('/v1/dunning/tasks', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/dunning/tasks/{id}',
    summary: 'Retrieve a phone task',
    tag,
    scope: 'read',
    params: idParams,
    handler: ({ q, params }) => getTask(q, params.id),
  });
  for (const method of ['POST', 'PATCH'] as const) {
    r.route({
      method,
      url: '/v1/dunning/tasks/{id}',
      summary: 'Update a phone task: assignee, notes, outcome (reached | no_answer | promised_to_pay | refused), which the campaign acts on',
      tag,
      scope: 'write',
      params: idParams,
      body: updateTaskBody,
      handler: async ({ q, deps, now, params, body }) => {
        const { rows } = await q.query<{ test_clock: string | null }>(`SELECT test_clock FROM dunning_tasks WHERE id = $1`, [params.id]);
        return updateTask(q, deps, await effectiveNow(q, rows[0]?.test_clock ?? null, now), params.id, body);
      },
    });
  }
  r.route({
    method: 'GET',
    url: '/v1/dunning/stats',
    summary: 'Recovery metrics for campaigns opened in [from, to): rates by count and amount, by segment, step and channel, median time to recovery, offers taken',
    tag,
    scope: 'read',
    query: statsQuery,
    handler: ({ q, now, query }) =>
      dunningStats(q, { from: new Date((query.from ?? 0) * 1000), to: query.to !== undefined ? new Date(query.to * 1000) : new Date(now.getTime() + 100 * 365 * 86_400_000) }),
  });
}
