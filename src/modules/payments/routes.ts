import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zExpand, zList } from '../../http/schemas.js';
import {
  attachPaymentMethodBody,
  createPaymentMethodBody,
  listCustomerPaymentMethodsQuery,
  listPaymentIntentsQuery,
  listPaymentMethodsQuery,
  paymentIntentObject,
  paymentMethodObject,
  updatePaymentMethodBody,
} from './schemas.js';
import {
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
      const { data, hasMore } = await listPaymentMethods(q, { customer: query.customer }, query);
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

export function paymentIntentRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/payment_intents',
    summary: 'List payment intents (one per attempt to collect a payment)',
    tag: 'Payment intents',
    scope: 'read',
    query: listPaymentIntentsQuery,
    response: zList(paymentIntentObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listPaymentIntents(q, { customer: query.customer, invoice: query.invoice, status: query.status }, query);
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
}
