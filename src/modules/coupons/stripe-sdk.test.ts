import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeClient } from '../../../test/helpers/stripe-sdk.js';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';

// The official SDK sends form-encoded bodies: percent_off as "25.5" and the promotion code's coupon
// nested as promotion[type]/promotion[coupon] (its current API version). Both must round-trip.

let t: TestApp;
let stripe: Stripe;

beforeAll(async () => {
  t = await createTestApp();
  stripe = await stripeClient(t);
});
afterAll(() => t.close());

describe('coupons and promotion codes through the stripe SDK', () => {
  it('creates, updates, lists and deletes a coupon; creates and finds a promotion code', async () => {
    const coupon = await stripe.coupons.create({ percent_off: 25.5, duration: 'repeating', duration_in_months: 3, name: '25.5% off' });
    expect(coupon).toMatchObject({ object: 'coupon', percent_off: 25.5, duration: 'repeating', duration_in_months: 3, valid: true, created: 1768478400 });
    const updated = await stripe.coupons.update(coupon.id, { metadata: { k: 'v' } });
    expect(updated.metadata).toEqual({ k: 'v' });

    const promo = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'Sdk-Code', max_redemptions: 2 });
    expect(promo).toMatchObject({ object: 'promotion_code', code: 'Sdk-Code', active: true, max_redemptions: 2, promotion: { type: 'coupon', coupon: coupon.id } });
    const found = await stripe.promotionCodes.list({ code: 'SDK-CODE' });
    expect(found.data.map((p) => p.id)).toEqual([promo.id]);

    const dup = await stripe.promotionCodes.create({ promotion: { type: 'coupon', coupon: coupon.id }, code: 'sdk-code' }).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(dup).toMatchObject({ code: 'promotion_code_exists', param: 'code', statusCode: 400 });

    const listed = await stripe.coupons.list({ limit: 10 });
    expect(listed.data.map((c) => c.id)).toEqual([coupon.id]);
    expect(await stripe.coupons.del(coupon.id)).toEqual({ id: coupon.id, object: 'coupon', deleted: true });
  });
});
