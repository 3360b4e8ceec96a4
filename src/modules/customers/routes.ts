import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zDeleted, zExpand, zList } from '../../http/schemas.js';
import { createCustomerBody, customerObject, listCustomersQuery, updateCustomerBody } from './schemas.js';
import { cancelCustomerSubscriptions } from '../subscriptions/service.js';
import { stopInvoiceCollection } from '../invoices/stop-collection.js';
import { detachCustomerPaymentMethods } from '../payments/service.js';
import { createCustomer, customerNow, deleteCustomer, getCustomerRow, listCustomers, retrieveCustomer, updateCustomer } from './service.js';
import { discountObject } from '../coupons/schemas.js';
import { deleteCustomerDiscount } from './discount.js';
import { taxIdRoutes } from './tax-ids.js';

const idParams = z.object({ id: z.string().min(1) });
const expandQuery = z.strictObject({ expand: zExpand() });

export function customerRoutes(r: Router): void {
  taxIdRoutes(r);
  r.route({
    method: 'POST',
    url: '/v1/customers',
    summary: 'Create a customer',
    tag: 'Customers',
    scope: 'write',
    body: createCustomerBody,
    response: customerObject,
    handler: ({ q, deps, now, body }) => createCustomer(q, deps, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}',
    summary: 'Retrieve a customer',
    tag: 'Customers',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: customerObject.or(zDeleted('customer')),
    handler: ({ q, params, now }) => retrieveCustomer(q, params.id, now),
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}',
    summary: 'Update a customer',
    tag: 'Customers',
    scope: 'write',
    params: idParams,
    body: updateCustomerBody,
    response: customerObject,
    handler: async ({ q, deps, now, params, body }) => updateCustomer(q, deps, await customerNow(q, params.id, now), params.id, body),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/customers/{id}',
    summary: 'Delete a customer (soft: invoices and history are kept); cancels its subscriptions',
    tag: 'Customers',
    scope: 'write',
    params: idParams,
    response: zDeleted('customer'),
    handler: async ({ q, deps, now: requestNow, params }) => {
      // Locked first, so a concurrent subscription create waits and then finds the customer deleted.
      await getCustomerRow(q, params.id, { forUpdate: true });
      const now = await customerNow(q, params.id, requestNow);
      await cancelCustomerSubscriptions({ q, deps, now }, params.id);
      // Nothing is collected from a deleted customer: invoices outside those subscriptions (one-off
      // drafts, open invoices) stop collecting, and the cards are detached (Stripe removes them).
      await stopInvoiceCollection(q, { customer: params.id }, now);
      await detachCustomerPaymentMethods(q, now, params.id);
      return deleteCustomer(q, now, params.id);
    },
  });
  r.route({
    method: 'DELETE',
    url: '/v1/customers/{id}/discount',
    summary: "Remove the customer's own discount (its subscriptions' own discounts stay)",
    tag: 'Customers',
    scope: 'write',
    params: idParams,
    response: discountObject.extend({ deleted: z.literal(true) }),
    handler: async ({ q, now, params }) => {
      await getCustomerRow(q, params.id, { forUpdate: true });
      return deleteCustomerDiscount(q, params.id, await customerNow(q, params.id, now));
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/customers',
    summary: 'List customers',
    tag: 'Customers',
    scope: 'read',
    query: listCustomersQuery,
    response: zList(customerObject),
    handler: async ({ q, query, now }) => {
      const { data, hasMore } = await listCustomers(q, { email: query.email, test_clock: query.test_clock }, query, now);
      return listObject('/v1/customers', data, hasMore);
    },
  });
}
