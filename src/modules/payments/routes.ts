import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zExpand, zList } from '../../http/schemas.js';
import { newId } from '../../core/ids/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import { createUnconfirmed } from './intent-flow.js';
import { attemptAnswer, paymentIntentFlowRoutes } from './intent-routes.js';
import { listDisputes, retrieveDispute } from './disputes.js';
import { createRefund, listRefunds, retrieveRefund } from './refunds.js';
import { GatewayRouter } from './router.js';
import {
  attachPaymentMethodBody,
  createPaymentIntentBody,
  createRefundBody,
  disputeObject,
  listDisputesQuery,
  listRefundsQuery,
  refundObject,
  createPaymentMethodBody,
  listCustomerPaymentMethodsQuery,
  listPaymentIntentsQuery,
  listPaymentMethodsQuery,
  paymentIntentObject,
  paymentMethodObject,
  updatePaymentMethodBody,
} from './schemas.js';
import {
  attemptPayment,
  attachPaymentMethod,
  createPaymentMethod,
  detachPaymentMethod,
  listPaymentIntents,
  listPaymentMethods,
  retrieveCustomerPaymentMethod,
  retrievePaymentIntent,
  retrievePaymentMethod,
  updatePaymentMethod,
} from './service.js';

const idParams = z.object({ id: z.string().min(1) });
const expandQuery = z.strictObject({ expand: zExpand() });
const expandBody = z.strictObject({ expand: zExpand() });

export function paymentMethodRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/payment_methods',
    summary: 'Create a card payment method (tokenised by the gateway; the number and CVC are never stored)',
    tag: 'Payment methods',
    scope: 'write',
    body: createPaymentMethodBody,
    response: paymentMethodObject,
    handler: ({ q, deps, now, body }) => createPaymentMethod(q, deps, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/payment_methods/{id}',
    summary: 'Retrieve a payment method',
    tag: 'Payment methods',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: paymentMethodObject,
    handler: ({ q, params }) => retrievePaymentMethod(q, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/payment_methods/{id}',
    summary: 'Update a payment method (expiry, billing details, metadata)',
    tag: 'Payment methods',
    scope: 'write',
    params: idParams,
    body: updatePaymentMethodBody,
    response: paymentMethodObject,
    handler: ({ q, now, params, body }) => updatePaymentMethod(q, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/payment_methods/{id}/attach',
    summary: 'Attach a payment method to a customer (a test id such as pm_card_visa creates a new one)',
    tag: 'Payment methods',
    scope: 'write',
    params: idParams,
    body: attachPaymentMethodBody,
    response: paymentMethodObject,
    handler: ({ q, deps, now, params, body }) => attachPaymentMethod(q, deps, now, params.id, body.customer),
  });
  r.route({
    method: 'POST',
    url: '/v1/payment_methods/{id}/detach',
    summary: 'Detach a payment method from its customer (final; clears the customer default)',
    tag: 'Payment methods',
    scope: 'write',
    params: idParams,
    body: expandBody,
    response: paymentMethodObject,
    handler: ({ q, now, params }) => detachPaymentMethod(q, now, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/payment_methods',
    summary: 'List payment methods',
    tag: 'Payment methods',
    scope: 'read',
    query: listPaymentMethodsQuery,
    response: zList(paymentMethodObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listPaymentMethods(q, { customer: query.customer, allowRedisplay: query.allow_redisplay }, query);
      return listObject('/v1/payment_methods', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/payment_methods',
    summary: "List a customer's payment methods",
    tag: 'Payment methods',
    scope: 'read',
    params: idParams,
    query: listCustomerPaymentMethodsQuery,
    response: zList(paymentMethodObject),
    handler: async ({ q, params, query }) => {
      const { data, hasMore } = await listPaymentMethods(q, { customer: params.id }, query);
      return listObject(`/v1/customers/${params.id}/payment_methods`, data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/payment_methods/{payment_method}',
    summary: "Retrieve a customer's payment method",
    tag: 'Payment methods',
    scope: 'read',
    params: z.object({ id: z.string().min(1), payment_method: z.string().min(1) }),
    query: expandQuery,
    response: paymentMethodObject,
    handler: ({ q, params }) => retrieveCustomerPaymentMethod(q, params.id, params.payment_method),
  });
}

/** A gateway idempotency key derived from the request's Idempotency-Key, so a retried request reuses it. */
function derivedKey(prefix: string, req: { headers: Record<string, unknown> }, auth: { keyId: string } | null, fallback: string): string {
  const header = req.headers['idempotency-key'];
  return typeof header === 'string' && auth ? `${prefix}:${auth.keyId}:${header}` : fallback;
}

export function paymentIntentRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/payment_intents',
    summary: 'Create a payment intent; with confirm=true, charged at once (fraud rules, routing), else it waits for POST …/confirm',
    tag: 'Payment intents',
    scope: 'write',
    body: createPaymentIntentBody,
    response: paymentIntentObject,
    handler: async ({ q, deps, now, body, req, auth }) => {
      const idempotencyKey = derivedKey('pi', req, auth, newId('pikey'));
      if (!body.confirm) {
        return createUnconfirmed(q, deps, {
          customer: body.customer,
          amount: body.amount,
          currency: body.currency,
          paymentMethod: body.payment_method,
          description: body.description ?? null,
          metadata: body.metadata,
          idempotencyKey,
          now,
        });
      }
      if (!body.payment_method) {
        throw new InvalidRequestError('A payment intent confirmed at creation needs a payment_method.', 'payment_method', 'parameter_missing');
      }
      const attempt = await attemptPayment(q, deps, {
        customer: body.customer,
        amount: body.amount,
        currency: body.currency,
        paymentMethodId: body.payment_method,
        idempotencyKey,
        now,
        description: body.description ?? null,
        metadata: body.metadata,
        // An off-session payment has no customer present: no client IP to rate.
        ip: body.off_session ? null : req.ip,
      });
      return attemptAnswer(attempt);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/payment_intents',
    summary: 'List payment intents (one per attempt to collect a payment)',
    tag: 'Payment intents',
    scope: 'read',
    query: listPaymentIntentsQuery,
    response: zList(paymentIntentObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listPaymentIntents(q, { customer: query.customer, invoice: query.invoice, status: query.status, risk_outcome: query.risk_outcome }, query);
      return listObject('/v1/payment_intents', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/payment_intents/{id}',
    summary: 'Retrieve a payment intent',
    tag: 'Payment intents',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: paymentIntentObject,
    handler: ({ q, params }) => retrievePaymentIntent(q, params.id),
  });
  paymentIntentFlowRoutes(r);
}

export function refundRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/refunds',
    summary: 'Refund a payment, fully or partly, through the gateway that took the money (never more than captured)',
    tag: 'Refunds',
    scope: 'write',
    body: createRefundBody,
    response: refundObject,
    handler: ({ q, deps, now, body, req, auth }) =>
      createRefund(q, deps, now, {
        payment_intent: body.payment_intent,
        amount: body.amount,
        reason: body.reason,
        metadata: body.metadata,
        idempotencyKey: derivedKey('refund', req, auth, newId('rekey')),
      }),
  });
  r.route({
    method: 'GET',
    url: '/v1/refunds/{id}',
    summary: 'Retrieve a refund',
    tag: 'Refunds',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: refundObject,
    handler: ({ q, params }) => retrieveRefund(q, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/refunds',
    summary: 'List refunds',
    tag: 'Refunds',
    scope: 'read',
    query: listRefundsQuery,
    response: zList(refundObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listRefunds(q, { payment_intent: query.payment_intent }, query);
      return listObject('/v1/refunds', data, hasMore);
    },
  });
}

export function disputeRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/disputes',
    summary: 'List disputes (from the gateways\' webhooks; lost disputes included)',
    tag: 'Disputes',
    scope: 'read',
    query: listDisputesQuery,
    response: zList(disputeObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listDisputes(q, { status: query.status, customer: query.customer, payment_intent: query.payment_intent }, query);
      return listObject('/v1/disputes', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/disputes/{id}',
    summary: 'Retrieve a dispute',
    tag: 'Disputes',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: disputeObject,
    handler: ({ q, params }) => retrieveDispute(q, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/payment_routing',
    summary: 'Gateway routing state: circuit breakers and rolling success rates (this process)',
    tag: 'Payment intents',
    scope: 'admin',
    handler: async ({ deps }) =>
      deps.gateways instanceof GatewayRouter
        ? { object: 'payment_routing', ...deps.gateways.status() }
        : { object: 'payment_routing', gateways: [{ gateway: deps.gateways.default.name, circuit: null }], success_rates: [], success_rate_routing: false, exploration: 0 },
  });
}
