import { z } from 'zod';
import { fromUnix } from '../../core/time/index.js';
import { listObject } from '../../http/pagination.js';
import { Respond, type Router } from '../../http/router.js';
import { createdBounds, zExpand, zList } from '../../http/schemas.js';
import { usageError } from './errors.js';
import {
  createFeatureBody,
  createGrantBody,
  creditBalanceObject,
  creditGrantObject,
  creditPlanObject,
  creditSettingsBody,
  creditTransactionObject,
  featureObject,
  listFeaturesQuery,
  listGrantsQuery,
  listTransactionsQuery,
  updateCreditPlanBody,
  updateFeatureBody,
  usageEventsBody,
  usageEventsResponse,
  usageSummariesQuery,
  usageSummaryObject,
  voidGrantBody,
} from './schemas.js';
import {
  createFeature,
  createPromotionalGrant,
  creditBalance,
  customerNow,
  listCreditPlans,
  listFeatures,
  listGrants,
  listTransactions,
  retrieveFeature,
  retrieveGrant,
  retrieveTransaction,
  serializeGrant,
  transactionsCsv,
  updateCreditPlan,
  updateCreditSettings,
  updateFeature,
  usageSummaries,
  voidGrant,
} from './service.js';
import type { TransactionFilter } from './repository.js';
import { recordUsage, serializeOutcome } from './usage.js';

const idParams = z.object({ id: z.string().min(1) });
const expandOnly = z.strictObject({ expand: zExpand() });

export function creditRoutes(r: Router): void {
  // ---------- usage ----------
  r.route({
    method: 'POST',
    url: '/v1/usage_events',
    summary: 'Record usage: one event, or a batch of up to 1,000 with a result per event (idempotent on each event id)',
    tag: 'Usage',
    scope: 'write',
    body: usageEventsBody,
    response: usageEventsResponse,
    // Usage runs in its own (coalesced) transaction: concurrent requests share one commit.
    transaction: false,
    handler: async ({ deps, body }) => {
      const outcomes = await recordUsage(
        deps,
        body.events.map((e) => ({
          id: e.id,
          customer: e.customer,
          feature: e.feature,
          quantity: e.quantity,
          timestamp: e.timestamp === undefined ? null : fromUnix(e.timestamp),
          properties: e.properties ?? null,
        })),
      );
      if (!body.batch) {
        const o = outcomes[0]!;
        if (o.status === 'failed') throw usageError(o.error);
        return serializeOutcome(o);
      }
      return {
        object: 'usage_event_batch',
        accepted: outcomes.filter((o) => o.status === 'accepted').length,
        duplicates: outcomes.filter((o) => o.status === 'duplicate').length,
        failed: outcomes.filter((o) => o.status === 'failed').length,
        data: outcomes.map(serializeOutcome),
      };
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/usage_summaries',
    summary: 'Usage per feature and UTC day (events, quantity, credits), for one customer or all',
    tag: 'Usage',
    scope: 'read',
    query: usageSummariesQuery,
    response: zList(usageSummaryObject),
    handler: async ({ q, now, query }) => listObject('/v1/usage_summaries', await usageSummaries(q, now, query), false),
  });

  // ---------- balances ----------
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/credit_balance',
    summary: "A customer's available credits, by grant, with what expires soon",
    tag: 'Credits',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    response: creditBalanceObject,
    handler: ({ q, deps, now, params }) => creditBalance(q, deps, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/credit_settings',
    summary: "Set a customer's overage behaviour and low-balance thresholds",
    tag: 'Credits',
    scope: 'write',
    params: idParams,
    body: creditSettingsBody,
    response: creditBalanceObject,
    handler: ({ q, deps, now, params, body }) => updateCreditSettings(q, deps, now, params.id, body),
  });

  // ---------- grants ----------
  r.route({
    method: 'POST',
    url: '/v1/credit_grants',
    summary: 'Grant promotional credits to a customer (optionally expiring)',
    tag: 'Credits',
    scope: 'write',
    body: createGrantBody,
    response: creditGrantObject,
    handler: ({ q, now, body }) => createPromotionalGrant(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_grants',
    summary: 'List credit grants',
    tag: 'Credits',
    scope: 'read',
    query: listGrantsQuery,
    response: zList(creditGrantObject),
    handler: async ({ q, now, query }) => {
      const { data, hasMore } = await listGrants(q, now, { customer: query.customer, source: query.source, subscription: query.subscription, invoice: query.invoice }, query);
      return listObject('/v1/credit_grants', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_grants/{id}',
    summary: 'Retrieve a credit grant',
    tag: 'Credits',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    response: creditGrantObject,
    handler: ({ q, now, params }) => retrieveGrant(q, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/credit_grants/{id}/void',
    summary: 'Void a grant, clawing back its unused credits (used when a pack purchase is refunded)',
    tag: 'Credits',
    scope: 'write',
    params: idParams,
    body: voidGrantBody,
    response: creditGrantObject,
    handler: async ({ q, deps, now, params, body }) => {
      const g = await voidGrant(q, deps, now, params.id, body.reason ?? null);
      return serializeGrant(g, await customerNow(q, g.customer, now));
    },
  });

  // ---------- transactions ----------
  r.route({
    method: 'GET',
    url: '/v1/credit_transactions',
    summary: 'List ledger transactions with their entries (newest first), or export them as CSV',
    tag: 'Credits',
    scope: 'read',
    query: listTransactionsQuery,
    response: zList(creditTransactionObject),
    handler: async ({ q, query, req }) => {
      // Whole seconds as shown (created[lte]=X takes X.999; created=X is the second [X, X + 1)).
      const created = createdBounds(query.created);
      const filter: TransactionFilter = { customer: query.customer, type: query.type, grant: query.grant, created };
      const wantsCsv = query.format === 'csv' || (query.format === undefined && /\btext\/csv\b/.test(req.headers.accept ?? ''));
      if (wantsCsv) {
        return new Respond(200, await transactionsCsv(q, filter), {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': 'attachment; filename="credit_transactions.csv"',
        });
      }
      const { data, hasMore } = await listTransactions(q, filter, query);
      return listObject('/v1/credit_transactions', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_transactions/{id}',
    summary: 'Retrieve a ledger transaction with its entries',
    tag: 'Credits',
    scope: 'read',
    params: idParams,
    query: expandOnly,
    response: creditTransactionObject,
    handler: ({ q, params }) => retrieveTransaction(q, params.id),
  });

  // ---------- features ----------
  r.route({
    method: 'GET',
    url: '/v1/features',
    summary: 'List the features priced in credits (credits per unit now, and their price schedule)',
    tag: 'Credits',
    scope: 'read',
    query: listFeaturesQuery,
    response: zList(featureObject),
    handler: async ({ q, now, query }) => listObject('/v1/features', await listFeatures(q, query.at !== undefined ? fromUnix(query.at) : now), false),
  });
  r.route({
    method: 'GET',
    url: '/v1/features/{id}',
    summary: 'Retrieve a feature by key',
    tag: 'Credits',
    scope: 'read',
    params: idParams,
    query: listFeaturesQuery,
    response: featureObject,
    handler: ({ q, now, params, query }) => retrieveFeature(q, params.id, query.at !== undefined ? fromUnix(query.at) : now),
  });
  r.route({
    method: 'POST',
    url: '/v1/features',
    summary: 'Create a feature priced in credits',
    tag: 'Credits',
    scope: 'write',
    body: createFeatureBody,
    response: featureObject,
    handler: ({ q, now, body }) => createFeature(q, now, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/features/{id}',
    summary: "Rename a feature or change its price from an effective date on (history keeps the old price)",
    tag: 'Credits',
    scope: 'write',
    params: idParams,
    body: updateFeatureBody,
    response: featureObject,
    handler: ({ q, now, params, body }) => updateFeature(q, now, params.id, body),
  });

  // ---------- plans ----------
  r.route({
    method: 'GET',
    url: '/v1/credit_plans',
    summary: 'Plans that include credits, with their carryover policy',
    tag: 'Credits',
    scope: 'read',
    query: expandOnly,
    response: zList(creditPlanObject),
    handler: async ({ q }) => listObject('/v1/credit_plans', await listCreditPlans(q), false),
  });
  r.route({
    method: 'POST',
    url: '/v1/credit_plans/{id}',
    summary: "Set a plan's carryover policy (periods, cap); takes effect from the next grant",
    tag: 'Credits',
    scope: 'write',
    params: idParams,
    body: updateCreditPlanBody,
    response: creditPlanObject,
    handler: ({ q, now, params, body }) => updateCreditPlan(q, now, params.id, body),
  });
}
