import { z } from 'zod';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { zDeleted, zExpand, zList } from '../../http/schemas.js';
import {
  couponObject,
  createCouponBody,
  createPromotionCodeBody,
  listCouponsQuery,
  listPromotionCodesQuery,
  promotionCodeObject,
  updateCouponBody,
  updatePromotionCodeBody,
} from './schemas.js';
import {
  createCoupon,
  createPromotionCode,
  deleteActiveDiscount,
  deleteCoupon,
  listCoupons,
  listPromotionCodes,
  retrieveCoupon,
  retrievePromotionCode,
  updateCoupon,
  updatePromotionCode,
} from './service.js';

import { subscriptionObject } from '../subscriptions/serialize.js';
import { assertNotEnded, effectiveNow, getSubscriptionRow } from '../subscriptions/service.js';
import { transition } from '../subscriptions/state.js';

const idParams = z.object({ id: z.string().min(1) });
const expandQuery = z.strictObject({ expand: zExpand() });

export function couponRoutes(r: Router): void {
  r.route({
    method: 'DELETE',
    url: '/v1/subscriptions/{id}/discount',
    summary: "End the subscription's discount",
    tag: 'Coupons',
    scope: 'write',
    params: idParams,
    handler: async ({ q, now, params }) => {
      // The subscription's discounts change: customer.subscription.updated with the old list, as any
      // change the object shows.
      const sub = await getSubscriptionRow(q, params.id, true);
      assertNotEnded(sub);
      const before = await subscriptionObject(q, sub);
      const removed = await deleteActiveDiscount(q, now, params.id);
      await transition(q, sub, {}, await effectiveNow(q, sub.test_clock, now), undefined, before);
      return removed;
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/coupons',
    summary: 'Create a coupon',
    tag: 'Coupons',
    scope: 'write',
    body: createCouponBody,
    response: couponObject,
    handler: ({ q, now, body }) => createCoupon(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/coupons/{id}',
    summary: 'Retrieve a coupon',
    tag: 'Coupons',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: couponObject.or(zDeleted('coupon')),
    handler: ({ q, now, params }) => retrieveCoupon(q, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/coupons/{id}',
    summary: 'Update a coupon (name and metadata only)',
    tag: 'Coupons',
    scope: 'write',
    params: idParams,
    body: updateCouponBody,
    response: couponObject,
    handler: ({ q, now, params, body }) => updateCoupon(q, now, params.id, body),
  });
  r.route({
    method: 'DELETE',
    url: '/v1/coupons/{id}',
    summary: 'Delete a coupon (existing discounts keep applying; no new redemptions)',
    tag: 'Coupons',
    scope: 'write',
    params: idParams,
    response: zDeleted('coupon'),
    handler: ({ q, now, params }) => deleteCoupon(q, now, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/coupons',
    summary: 'List coupons',
    tag: 'Coupons',
    scope: 'read',
    query: listCouponsQuery,
    response: zList(couponObject),
    handler: async ({ q, now, query }) => {
      const { data, hasMore } = await listCoupons(q, now, query);
      return listObject('/v1/coupons', data, hasMore);
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/promotion_codes',
    summary: 'Create a promotion code',
    tag: 'Promotion codes',
    scope: 'write',
    body: createPromotionCodeBody,
    response: promotionCodeObject,
    handler: ({ q, now, body }) => createPromotionCode(q, now, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/promotion_codes/{id}',
    summary: 'Retrieve a promotion code',
    tag: 'Promotion codes',
    scope: 'read',
    params: idParams,
    query: expandQuery,
    response: promotionCodeObject,
    handler: ({ q, now, params }) => retrievePromotionCode(q, now, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/promotion_codes/{id}',
    summary: 'Update a promotion code (active and metadata)',
    tag: 'Promotion codes',
    scope: 'write',
    params: idParams,
    body: updatePromotionCodeBody,
    response: promotionCodeObject,
    handler: ({ q, now, params, body }) => updatePromotionCode(q, now, params.id, body),
  });
  r.route({
    method: 'GET',
    url: '/v1/promotion_codes',
    summary: 'List promotion codes',
    tag: 'Promotion codes',
    scope: 'read',
    query: listPromotionCodesQuery,
    response: zList(promotionCodeObject),
    handler: async ({ q, now, query }) => {
      const { code, coupon, customer, active } = query;
      const { data, hasMore } = await listPromotionCodes(q, now, { code, coupon, customer, active }, query);
      return listObject('/v1/promotion_codes', data, hasMore);
    },
  });
}
