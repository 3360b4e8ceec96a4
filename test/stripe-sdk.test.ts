import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeClient } from './helpers/stripe-sdk.js';
import { createTestApp, type TestApp } from './helpers/app.js';

// The official Stripe SDK, pointed at Recur by host, port and protocol only, must get back the
// objects it expects (ADR 0002). This drives a real listening server, not app.inject.

let t: TestApp;
let stripe: Stripe;

beforeAll(async () => {
  t = await createTestApp();
  stripe = await stripeClient(t);
});
afterAll(() => t.close());

describe('the official stripe SDK against Recur', () => {
  it('creates, retrieves, updates, lists and deletes customers', async () => {
    const created = await stripe.customers.create({
      email: 'sdk@example.com',
      name: 'Sdk User',
      address: { line1: '1 Main St', city: 'Springfield', postal_code: '12345', country: 'US', state: 'IL' },
      metadata: { source: 'sdk', tier: 'gold' },
      preferred_locales: ['en'],
    });
    expect(created).toMatchObject({
      object: 'customer',
      email: 'sdk@example.com',
      name: 'Sdk User',
      address: { line1: '1 Main St', line2: null, city: 'Springfield', postal_code: '12345', country: 'US', state: 'IL' },
      metadata: { source: 'sdk', tier: 'gold' },
      preferred_locales: ['en'],
      balance: 0,
      livemode: false,
      created: 1768478400,
    });
    expect(created.id).toMatch(/^cus_/);

    const got = await stripe.customers.retrieve(created.id);
    expect(got).toEqual(created);

    const updated = await stripe.customers.update(created.id, { name: 'Sdk User 2', metadata: { tier: '' } });
    expect(updated).toMatchObject({ name: 'Sdk User 2', metadata: { source: 'sdk' } });

    await stripe.customers.create({ email: 'other@example.com' });
    const listed = await stripe.customers.list({ email: 'sdk@example.com', limit: 5 });
    expect(listed.object).toBe('list');
    expect(listed.has_more).toBe(false);
    expect(listed.data.map((c) => c.id)).toEqual([created.id]);

    const deleted = await stripe.customers.del(created.id);
    expect(deleted).toEqual({ id: created.id, object: 'customer', deleted: true });
    expect(await stripe.customers.retrieve(created.id)).toEqual({ id: created.id, object: 'customer', deleted: true });
  });

  it('surfaces Recur errors as the SDK’s typed errors', async () => {
    const err = await stripe.customers.retrieve('cus_missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
    const bad = await stripe.prices.create({ product: 'prod_missing', currency: 'usd', unit_amount: 100 }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 404, code: 'resource_missing', param: 'product' });
  });

  it('creates products and prices, lists prices by lookup key and updates a nickname', async () => {
    const product = await stripe.products.create({ name: 'Group Coaching (SDK)', description: 'Two weekly sessions', metadata: { line: 'coaching' } });
    expect(product).toMatchObject({ object: 'product', name: 'Group Coaching (SDK)', active: true, default_price: null, marketing_features: [], livemode: false });

    const quarterly = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 420_000,
      recurring: { interval: 'month', interval_count: 3, trial_period_days: 14 },
      currency_options: { eur: { unit_amount: 390_000 } },
      lookup_key: 'sdk_group_quarterly',
      nickname: 'Quarterly',
    });
    expect(quarterly).toMatchObject({
      object: 'price',
      product: product.id,
      type: 'recurring',
      currency: 'usd',
      unit_amount: 420_000,
      recurring: { interval: 'month', interval_count: 3, trial_period_days: 14, usage_type: 'licensed' },
      lookup_key: 'sdk_group_quarterly',
      nickname: 'Quarterly',
    });
    // The SDK turns decimal strings into its Decimal type; the value must survive the trip.
    expect(String(quarterly.unit_amount_decimal)).toBe('420000');
    expect(quarterly.currency_options?.eur?.unit_amount).toBe(390_000);
    expect(quarterly.currency_options?.usd?.unit_amount).toBe(420_000);

    const monthly = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 150_000,
      recurring: { interval: 'month' },
      lookup_key: 'sdk_group_monthly',
    });
    const oneTime = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 5_000 });
    expect(oneTime).toMatchObject({ type: 'one_time', recurring: null });

    const byKeys = await stripe.prices.list({ lookup_keys: ['sdk_group_quarterly', 'sdk_group_monthly'], expand: ['data.product'] });
    expect(byKeys.data.map((p) => p.id)).toEqual([monthly.id, quarterly.id]);
    expect((byKeys.data[0]!.product as Stripe.Product).name).toBe('Group Coaching (SDK)');

    const renamed = await stripe.prices.update(quarterly.id, { nickname: 'Quarterly (3 months)', metadata: { promo: 'spring' } });
    expect(renamed).toMatchObject({ id: quarterly.id, nickname: 'Quarterly (3 months)', metadata: { promo: 'spring' }, unit_amount: 420_000 });

    const retrieved = await stripe.prices.retrieve(quarterly.id, { expand: ['product'] });
    expect((retrieved.product as Stripe.Product).id).toBe(product.id);

    const withDefault = await stripe.products.update(product.id, { default_price: monthly.id });
    expect(withDefault.default_price).toBe(monthly.id);
    const products = await stripe.products.list({ ids: [product.id], active: true });
    expect(products.data.map((p) => p.id)).toEqual([product.id]);

    const autoPaged: string[] = [];
    for await (const p of stripe.prices.list({ product: product.id, limit: 2 })) autoPaged.push(p.id);
    expect(autoPaged).toEqual([oneTime.id, monthly.id, quarterly.id]);

    const immutable = await stripe.prices.update(quarterly.id, { unit_amount: 1 } as Stripe.PriceUpdateParams).catch((e: unknown) => e);
    expect(immutable).toMatchObject({ statusCode: 400, code: 'parameter_immutable', param: 'unit_amount' });

    const refused = await stripe.products.del(product.id).catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 400, code: 'product_has_prices' });
    const empty = await stripe.products.create({ name: 'Disposable' });
    expect(await stripe.products.del(empty.id)).toEqual({ id: empty.id, object: 'product', deleted: true });
  });
});
