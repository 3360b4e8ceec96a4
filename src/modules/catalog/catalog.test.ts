import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const CREATED = 1768478400; // 2026-01-15T12:00:00Z from the manual clock
const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function count(table: string): Promise<number> {
  const { rows } = await t.testDb.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

async function eventsFor(objectId: string): Promise<{ type: string; data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> } }[]> {
  const res = await t.call({ method: 'GET', url: `/v1/events?object_id=${objectId}` });
  expect(res.status).toBe(200);
  return res.body.data;
}

async function product(payload: object = {}): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/products', payload: { name: 'Widget', ...payload } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id;
}

async function price(payload: object): Promise<{ id: string } & Record<string, unknown>> {
  const res = await t.call({ method: 'POST', url: '/v1/prices', payload });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const ids = (body: { data: { id: string }[] }) => body.data.map((x) => x.id);

describe('products API', () => {
  it('creates a product with a custom id and structured features, shaped like Stripe', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/products',
      payload: {
        id: 'prod_test_elite',
        name: 'Elite',
        description: 'One to one',
        features: [
          { key: 'sessions_per_week', name: '4 weekly sessions', value: 4 },
          { key: 'priority_support', name: 'Priority support' },
          { key: 'tier', name: 'Tier', value: 'gold' },
        ],
        metadata: { segment: 'high_value' },
        unit_label: 'seat',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: 'prod_test_elite',
      object: 'product',
      active: true,
      created: CREATED,
      default_price: null,
      description: 'One to one',
      features: [
        { key: 'sessions_per_week', name: '4 weekly sessions', value: 4 },
        { key: 'priority_support', name: 'Priority support', value: null },
        { key: 'tier', name: 'Tier', value: 'gold' },
      ],
      images: [],
      livemode: false,
      marketing_features: [{ name: '4 weekly sessions' }, { name: 'Priority support' }, { name: 'Tier' }],
      metadata: { segment: 'high_value' },
      name: 'Elite',
      package_dimensions: null,
      shippable: null,
      statement_descriptor: null,
      tax_code: null,
      type: 'service',
      unit_label: 'seat',
      updated: CREATED,
      url: null,
    });
    const got = await t.call({ method: 'GET', url: '/v1/products/prod_test_elite' });
    expect(got.body).toEqual(res.body);
    const events = await eventsFor('prod_test_elite');
    expect(events.map((e) => e.type)).toEqual(['product.created']);
    expect(events[0]!.data.object).toEqual(res.body);

    const generated = await product();
    expect(generated).toMatch(/^prod_[0-9A-Za-z]{22}$/);
  });

  it('accepts features form-encoded, coercing numeric and boolean values', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/products',
      headers: form,
      payload: 'name=Form&features[0][key]=seats&features[0][name]=Seats&features[0][value]=8&features[1][key]=sso&features[1][name]=SSO&features[1][value]=true&active=false',
    });
    expect(res.status).toBe(200);
    expect(res.body.features).toEqual([
      { key: 'seats', name: 'Seats', value: 8 },
      { key: 'sso', name: 'SSO', value: true },
    ]);
    expect(res.body.active).toBe(false);
    // Like Stripe, an archived product can still get prices.
    const p = await price({ product: res.body.id, currency: 'usd', unit_amount: 0 });
    expect(p).toMatchObject({ product: res.body.id, unit_amount: 0, active: true });
  });

  it('rejects bad product input with the offending param and writes nothing', async () => {
    await product({ id: 'prod_taken' });
    const before = await count('products');
    const cases: [object, number, string, string | undefined][] = [
      [{}, 400, 'parameter_missing', 'name'],
      [{ name: '' }, 400, 'parameter_invalid', 'name'],
      [{ name: 'x', nickname: 'x' }, 400, 'parameter_unknown', 'nickname'],
      [{ name: 'x', id: 'prod bad!' }, 400, 'parameter_invalid', 'id'],
      [{ name: 'x', id: 'prod_taken' }, 400, 'resource_already_exists', 'id'],
      [{ name: 'x', features: [{ key: 'Bad-Key', name: 'n' }] }, 400, 'parameter_invalid', 'features[0][key]'],
      [{ name: 'x', features: [{ key: 'a', name: 'A' }, { key: 'a', name: 'B' }] }, 400, 'parameter_invalid', 'features[1][key]'],
      [{ name: 'x', features: [{ key: 'a' }] }, 400, 'parameter_missing', 'features[0][name]'],
      [{ name: 'x', features: [{ key: 'a', name: 'A', extra: 1 }] }, 400, 'parameter_unknown', 'features[0][extra]'],
      [{ name: 'x', unit_label: 'much too long a label' }, 400, 'parameter_invalid', 'unit_label'],
      [{ name: 'x', expand: ['nope'] }, 400, 'parameter_invalid', 'expand[0]'],
      [{ name: 'x', default_price_data: { currency: 'usd' } }, 400, 'parameter_missing', 'default_price_data[unit_amount]'],
    ];
    for (const [payload, status, code, param] of cases) {
      const res = await t.call({ method: 'POST', url: '/v1/products', payload });
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ type: 'invalid_request_error', code, param });
    }
    expect(await count('products')).toBe(before);
    const missing = await t.call({ method: 'GET', url: '/v1/products/prod_nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
  });

  it('updates a product, merging metadata and replacing features, with previous_attributes', async () => {
    const id = await product({ features: [{ key: 'a', name: 'A' }], metadata: { keep: '1', drop: '2' } });
    t.clock.advance(60_000);
    const upd = await t.call({
      method: 'POST',
      url: `/v1/products/${id}`,
      payload: { name: 'Widget 2', description: 'new', metadata: { drop: '', added: '3' }, features: [{ key: 'b', name: 'B', value: 2 }] },
    });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({
      name: 'Widget 2',
      description: 'new',
      metadata: { keep: '1', added: '3' },
      features: [{ key: 'b', name: 'B', value: 2 }],
      marketing_features: [{ name: 'B' }],
      created: CREATED,
      updated: CREATED + 60,
    });
    const cleared = await t.call({ method: 'POST', url: `/v1/products/${id}`, headers: form, payload: 'features=&description=' });
    expect(cleared.body).toMatchObject({ features: [], marketing_features: [], description: null });
    const events = await eventsFor(id);
    expect(events.map((e) => e.type)).toEqual(['product.updated', 'product.updated', 'product.created']);
    expect(events[1]!.data.previous_attributes).toEqual({
      name: 'Widget',
      description: null,
      features: [{ key: 'a', name: 'A', value: null }],
      marketing_features: [{ name: 'A' }],
      metadata: { drop: '2', added: null },
      updated: CREATED,
    });
    // Nothing changes: no event.
    await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { name: 'Widget 2' } });
    expect(await eventsFor(id)).toHaveLength(3);

    const bad = await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { id: 'prod_other' } });
    expect(bad.body.error).toMatchObject({ code: 'parameter_unknown', param: 'id' });
    const missing = await t.call({ method: 'POST', url: '/v1/products/prod_missing', payload: { name: 'x' } });
    expect(missing.status).toBe(404);
  });

  it('deletes a product without prices (soft, like customers) and refuses one with prices', async () => {
    const id = await product();
    const del = await t.call({ method: 'DELETE', url: `/v1/products/${id}` });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id, object: 'product', deleted: true });
    expect((await t.call({ method: 'GET', url: `/v1/products/${id}` })).body).toEqual({ id, object: 'product', deleted: true });
    expect((await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { name: 'x' } })).status).toBe(404);
    expect((await t.call({ method: 'DELETE', url: `/v1/products/${id}` })).status).toBe(404);
    const list = await t.call({ method: 'GET', url: `/v1/products?ids[]=${id}` });
    expect(list.body.data).toEqual([]);
    expect((await eventsFor(id)).map((e) => e.type)).toEqual(['product.deleted', 'product.created']);
    // Its id stays taken.
    const again = await t.call({ method: 'POST', url: '/v1/products', payload: { id, name: 'again' } });
    expect(again.body.error.code).toBe('resource_already_exists');
    // A price for it is a 404 on `product`.
    const p = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: id, currency: 'usd', unit_amount: 100 } });
    expect(p.status).toBe(404);
    expect(p.body.error).toMatchObject({ code: 'resource_missing', param: 'product' });

    const withPrice = await product();
    await price({ product: withPrice, currency: 'usd', unit_amount: 100 });
    const refused = await t.call({ method: 'DELETE', url: `/v1/products/${withPrice}` });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'product_has_prices' });
    expect((await t.call({ method: 'GET', url: `/v1/products/${withPrice}` })).body.object).toBe('product');
  });

  it('lists products newest first with active and ids[] filters in both bracket spellings', async () => {
    const a = await product({ name: 'A' });
    const b = await product({ name: 'B', active: false });
    const c = await product({ name: 'C' });
    const both = await t.call({ method: 'GET', url: `/v1/products?ids[]=${a}&ids[]=${b}&ids[]=${c}` });
    expect(both.status).toBe(200);
    expect(both.body).toMatchObject({ object: 'list', has_more: false, url: '/v1/products' });
    expect(ids(both.body)).toEqual([c, b, a]);
    const indexed = await t.call({ method: 'GET', url: `/v1/products?ids[0]=${a}&ids[1]=${b}&ids[2]=${c}&active=true` });
    expect(ids(indexed.body)).toEqual([c, a]);
    const inactive = await t.call({ method: 'GET', url: `/v1/products?ids[]=${a}&ids[]=${b}&ids[]=${c}&active=false` });
    expect(ids(inactive.body)).toEqual([b]);
    const page = await t.call({ method: 'GET', url: `/v1/products?ids[]=${a}&ids[]=${b}&ids[]=${c}&limit=2` });
    expect(ids(page.body)).toEqual([c, b]);
    expect(page.body.has_more).toBe(true);
    const next = await t.call({ method: 'GET', url: `/v1/products?ids[]=${a}&ids[]=${b}&ids[]=${c}&limit=2&starting_after=${b}` });
    expect(ids(next.body)).toEqual([a]);
    const bad = await t.call({ method: 'GET', url: '/v1/products?shippable=true' });
    expect(bad.body.error).toMatchObject({ code: 'parameter_unknown', param: 'shippable' });
  });

  it('creates a default price from default_price_data and guards the default price', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/products',
      payload: { name: 'Bundle', default_price_data: { currency: 'usd', unit_amount: 2500, recurring: { interval: 'month' } }, expand: ['default_price'] },
    });
    expect(res.status).toBe(200);
    const id = res.body.id;
    expect(res.body.default_price).toMatchObject({ object: 'price', product: id, unit_amount: 2500, currency: 'usd', type: 'recurring' });
    const priceId = res.body.default_price.id;
    const plain = await t.call({ method: 'GET', url: `/v1/products/${id}` });
    expect(plain.body.default_price).toBe(priceId);
    const badOpt = await t.call({
      method: 'POST',
      url: '/v1/products',
      payload: { name: 'Bad', default_price_data: { currency: 'usd', unit_amount: 1, currency_options: { usd: { unit_amount: 2 } } } },
    });
    expect(badOpt.body.error).toMatchObject({ param: 'default_price_data[currency_options][usd]' });

    // The default price cannot be archived; another price of the product can become the default.
    const archive = await t.call({ method: 'POST', url: `/v1/prices/${priceId}`, payload: { active: false } });
    expect(archive.status).toBe(400);
    expect(archive.body.error).toMatchObject({ code: 'price_is_default', param: 'active' });
    const other = await price({ product: id, currency: 'usd', unit_amount: 27000, recurring: { interval: 'year' } });
    const foreign = await price({ product: await product(), currency: 'usd', unit_amount: 1 });
    const wrong = await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { default_price: foreign.id } });
    expect(wrong.body.error).toMatchObject({ code: 'parameter_invalid', param: 'default_price' });
    const missing = await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { default_price: 'price_nope' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error.param).toBe('default_price');
    const moved = await t.call({ method: 'POST', url: `/v1/products/${id}`, payload: { default_price: other.id } });
    expect(moved.body.default_price).toBe(other.id);
    const archived = await t.call({ method: 'POST', url: `/v1/prices/${priceId}`, payload: { active: false } });
    expect(archived.body.active).toBe(false);
    const list = await t.call({ method: 'GET', url: `/v1/products?ids[]=${id}&expand[]=data.default_price` });
    expect(list.body.data[0].default_price).toMatchObject({ id: other.id, unit_amount: 27000 });
  });
});

describe('prices API', () => {
  it('creates a recurring price with currency options and a trial, shaped like Stripe', async () => {
    const prod = await product();
    const res = await t.call({
      method: 'POST',
      url: '/v1/prices',
      payload: {
        product: prod,
        currency: 'USD',
        unit_amount: 5000,
        recurring: { interval: 'month', trial_period_days: 7 },
        currency_options: { EUR: { unit_amount: 4500 }, gbp: { unit_amount_decimal: '3900' } },
        lookup_key: 'test_monthly',
        nickname: 'Monthly',
        tax_behavior: 'exclusive',
        metadata: { plan: 'm' },
      },
    });
    expect(res.status).toBe(200);
    const option = (amount: number) => ({ custom_unit_amount: null, tax_behavior: 'exclusive', unit_amount: amount, unit_amount_decimal: String(amount) });
    expect(res.body).toEqual({
      id: expect.stringMatching(/^price_[0-9A-Za-z]{22}$/),
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      created: Math.floor(t.clock.now().getTime() / 1000),
      currency: 'usd',
      currency_options: { usd: option(5000), eur: option(4500), gbp: option(3900) },
      custom_unit_amount: null,
      customer: null,
      livemode: false,
      lookup_key: 'test_monthly',
      metadata: { plan: 'm' },
      nickname: 'Monthly',
      product: prod,
      recurring: { interval: 'month', interval_count: 1, meter: null, trial_period_days: 7, usage_type: 'licensed' },
      tax_behavior: 'exclusive',
      tiers_mode: null,
      transform_quantity: null,
      type: 'recurring',
      unit_amount: 5000,
      unit_amount_decimal: '5000',
    });
    const got = await t.call({ method: 'GET', url: `/v1/prices/${res.body.id}` });
    expect(got.body).toEqual(res.body);
    const events = await eventsFor(res.body.id);
    expect(events.map((e) => e.type)).toEqual(['price.created']);
    expect(events[0]!.data.object).toEqual(res.body);
  });

  it('accepts a form-encoded quarterly price with currency options', async () => {
    const prod = await product();
    const res = await t.call({
      method: 'POST',
      url: '/v1/prices',
      headers: form,
      payload: `product=${prod}&currency=usd&recurring[interval]=month&recurring[interval_count]=3&unit_amount=420000&currency_options[eur][unit_amount]=390000&trial_period_days=14&metadata[k]=v`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      type: 'recurring',
      unit_amount: 420000,
      unit_amount_decimal: '420000',
      recurring: { interval: 'month', interval_count: 3, trial_period_days: 14, usage_type: 'licensed' },
      currency_options: { usd: { unit_amount: 420000 }, eur: { unit_amount: 390000, unit_amount_decimal: '390000' } },
      metadata: { k: 'v' },
    });
    const onetime = await price({ product: prod, currency: 'jpy', unit_amount_decimal: '1500.00' });
    expect(onetime).toMatchObject({ type: 'one_time', recurring: null, unit_amount: 1500, currency: 'jpy' });
  });

  it('rejects bad price input with the offending param and writes nothing', async () => {
    const prod = await product();
    await price({ product: prod, currency: 'usd', unit_amount: 1, lookup_key: 'taken_key' });
    const before = await count('prices');
    const base = { product: prod, currency: 'usd', unit_amount: 100 };
    const cases: [object, number, string, string][] = [
      [{ currency: 'usd', unit_amount: 1 }, 400, 'parameter_missing', 'product'],
      [{ product: prod, unit_amount: 1 }, 400, 'parameter_missing', 'currency'],
      [{ product: prod, currency: 'usd' }, 400, 'parameter_missing', 'unit_amount'],
      [{ ...base, unit_amount: -1 }, 400, 'parameter_invalid', 'unit_amount'],
      [{ ...base, unit_amount: 1.5 }, 400, 'parameter_invalid', 'unit_amount'],
      [{ ...base, unit_amount: undefined, unit_amount_decimal: '10.5' }, 400, 'parameter_invalid', 'unit_amount_decimal'],
      [{ ...base, unit_amount_decimal: '100' }, 400, 'parameter_invalid', 'unit_amount_decimal'],
      [{ ...base, currency: 'zzz' }, 400, 'parameter_invalid', 'currency'],
      [{ ...base, product: 'prod_missing' }, 404, 'resource_missing', 'product'],
      [{ ...base, customer: 'cus_missing' }, 404, 'resource_missing', 'customer'],
      [{ ...base, tiers: [] }, 400, 'parameter_unknown', 'tiers'],
      [{ ...base, type: 'recurring' }, 400, 'parameter_missing', 'recurring'],
      [{ ...base, type: 'one_time', recurring: { interval: 'month' } }, 400, 'parameter_invalid', 'recurring'],
      [{ ...base, recurring: { interval: 'fortnight' } }, 400, 'parameter_invalid', 'recurring[interval]'],
      [{ ...base, recurring: { interval: 'month', interval_count: 37 } }, 400, 'parameter_invalid', 'recurring[interval_count]'],
      [{ ...base, recurring: { interval: 'year', interval_count: 0 } }, 400, 'parameter_invalid', 'recurring[interval_count]'],
      [{ ...base, recurring: { interval: 'month', usage_type: 'metered' } }, 400, 'parameter_invalid', 'recurring[usage_type]'],
      [{ ...base, trial_period_days: 7 }, 400, 'parameter_invalid', 'trial_period_days'],
      [{ ...base, recurring: { interval: 'month', trial_period_days: 7 }, trial_period_days: 8 }, 400, 'parameter_invalid', 'trial_period_days'],
      [{ ...base, recurring: { interval: 'month', trial_period_days: 731 } }, 400, 'parameter_invalid', 'recurring[trial_period_days]'],
      [{ ...base, tax_behavior: 'sometimes' }, 400, 'parameter_invalid', 'tax_behavior'],
      [{ ...base, currency_options: { xyz: { unit_amount: 1 } } }, 400, 'parameter_invalid', 'currency_options[xyz]'],
      [{ ...base, currency_options: { usd: { unit_amount: 1 } } }, 400, 'parameter_invalid', 'currency_options[usd]'],
      [{ ...base, currency_options: { eur: {} } }, 400, 'parameter_missing', 'currency_options[eur][unit_amount]'],
      [{ ...base, currency_options: { eur: { unit_amount: -5 } } }, 400, 'parameter_invalid', 'currency_options[eur][unit_amount]'],
      [{ ...base, lookup_key: 'taken_key' }, 400, 'lookup_key_in_use', 'lookup_key'],
      [{ ...base, expand: ['data.product'] }, 400, 'parameter_invalid', 'expand[0]'],
    ];
    for (const [payload, status, code, param] of cases) {
      const res = await t.call({ method: 'POST', url: '/v1/prices', payload });
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ type: 'invalid_request_error', code, param });
    }
    expect(await count('prices')).toBe(before);
    const missing = await t.call({ method: 'GET', url: '/v1/prices/price_nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
  });

  it('refuses to change amount, currency, type or interval, naming the param', async () => {
    const p = await price({ product: await product(), currency: 'usd', unit_amount: 100, recurring: { interval: 'month' } });
    const cases: [string, string][] = [
      ['unit_amount=200', 'unit_amount'],
      ['currency=eur', 'currency'],
      ['type=one_time', 'type'],
      ['recurring[interval]=year', 'recurring'],
      ['recurring[interval_count]=3', 'recurring'],
      ['product=prod_x', 'product'],
      ['unit_amount_decimal=200', 'unit_amount_decimal'],
      ['trial_period_days=3', 'trial_period_days'],
      ['nickname=ok&unit_amount=100', 'unit_amount'],
    ];
    for (const [payload, param] of cases) {
      const res = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, headers: form, payload });
      expect(res.status, payload).toBe(400);
      expect(res.body.error, payload).toMatchObject({ type: 'invalid_request_error', code: 'parameter_immutable', param });
    }
    const unknown = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { tiers_mode: 'graduated' } });
    expect(unknown.body.error).toMatchObject({ code: 'parameter_unknown', param: 'tiers_mode' });
    const after = await t.call({ method: 'GET', url: `/v1/prices/${p.id}` });
    expect(after.body).toEqual(p);
    expect((await eventsFor(p.id)).map((e) => e.type)).toEqual(['price.created']);
  });

  it('updates the mutable fields with previous_attributes; tax_behavior only while unspecified', async () => {
    const p = await price({ product: await product(), currency: 'usd', unit_amount: 9700, currency_options: { eur: { unit_amount: 9000 } }, metadata: { a: '1' } });
    const upd = await t.call({
      method: 'POST',
      url: `/v1/prices/${p.id}`,
      payload: { nickname: 'Monthly', metadata: { a: '', b: '2' }, tax_behavior: 'inclusive', currency_options: { gbp: { unit_amount: 8000 }, eur: { unit_amount: 8900 } } },
    });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({
      nickname: 'Monthly',
      metadata: { b: '2' },
      tax_behavior: 'inclusive',
      unit_amount: 9700,
      currency_options: {
        usd: { unit_amount: 9700, tax_behavior: 'inclusive' },
        eur: { unit_amount: 8900, tax_behavior: 'inclusive' },
        gbp: { unit_amount: 8000, tax_behavior: 'inclusive' },
      },
    });
    const events = await eventsFor(p.id);
    expect(events.map((e) => e.type)).toEqual(['price.updated', 'price.created']);
    // Hashes by their changed keys only (Stripe since 2015-01-26); null: a key that was not there.
    expect(events[0]!.data.previous_attributes).toEqual({
      nickname: null,
      metadata: { a: '1', b: null },
      tax_behavior: 'unspecified',
      currency_options: { usd: { tax_behavior: 'unspecified' }, eur: { tax_behavior: 'unspecified', unit_amount: 9000, unit_amount_decimal: '9000' }, gbp: null },
    });

    const locked = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { tax_behavior: 'exclusive' } });
    expect(locked.status).toBe(400);
    expect(locked.body.error).toMatchObject({ code: 'tax_behavior_locked', param: 'tax_behavior' });
    const same = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { tax_behavior: 'inclusive' } });
    expect(same.status).toBe(200);

    // Remove one currency form-encoded, then all of them.
    const removed = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, headers: form, payload: 'currency_options[eur]=' });
    expect(Object.keys(removed.body.currency_options)).toEqual(['usd', 'gbp']);
    const ownCurrency = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { currency_options: { usd: { unit_amount: 1 } } } });
    expect(ownCurrency.body.error).toMatchObject({ code: 'parameter_invalid', param: 'currency_options[usd]' });
    const cleared = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, headers: form, payload: 'currency_options=&nickname=' });
    expect(cleared.body).toMatchObject({ currency_options: { usd: { unit_amount: 9700 } }, nickname: null });
    expect(Object.keys(cleared.body.currency_options)).toEqual(['usd']);

    const archived = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { active: 'false' } });
    expect(archived.body.active).toBe(false);
    const missing = await t.call({ method: 'POST', url: '/v1/prices/price_nope', payload: { nickname: 'x' } });
    expect(missing.status).toBe(404);
  });

  it('keeps lookup keys unique and moves one with transfer_lookup_key', async () => {
    const prod = await product();
    const old = await price({ product: prod, currency: 'usd', unit_amount: 100, lookup_key: 'std_monthly' });
    const dup = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: prod, currency: 'usd', unit_amount: 120, lookup_key: 'std_monthly' } });
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatchObject({ type: 'invalid_request_error', code: 'lookup_key_in_use', param: 'lookup_key' });
    expect(dup.body.error.message).toContain(old.id);

    const moved = await price({ product: prod, currency: 'usd', unit_amount: 120, lookup_key: 'std_monthly', transfer_lookup_key: true });
    expect(moved.lookup_key).toBe('std_monthly');
    expect((await t.call({ method: 'GET', url: `/v1/prices/${old.id}` })).body.lookup_key).toBeNull();
    const oldEvents = await eventsFor(old.id);
    expect(oldEvents.map((e) => e.type)).toEqual(['price.updated', 'price.created']);
    expect(oldEvents[0]!.data.previous_attributes).toEqual({ lookup_key: 'std_monthly' });

    // On update too: refused without transfer, moved with it.
    const third = await price({ product: prod, currency: 'usd', unit_amount: 130 });
    const refused = await t.call({ method: 'POST', url: `/v1/prices/${third.id}`, payload: { lookup_key: 'std_monthly' } });
    expect(refused.body.error).toMatchObject({ code: 'lookup_key_in_use', param: 'lookup_key' });
    const took = await t.call({ method: 'POST', url: `/v1/prices/${third.id}`, headers: form, payload: 'lookup_key=std_monthly&transfer_lookup_key=true' });
    expect(took.body.lookup_key).toBe('std_monthly');
    const found = await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=std_monthly' });
    expect(ids(found.body)).toEqual([third.id]);
    const unset = await t.call({ method: 'POST', url: `/v1/prices/${third.id}`, headers: form, payload: 'lookup_key=' });
    expect(unset.body.lookup_key).toBeNull();
    expect((await t.call({ method: 'GET', url: '/v1/prices?lookup_keys[]=std_monthly' })).body.data).toEqual([]);
  });

  it('gives a lookup key to exactly one of several concurrent creates (no 500)', async () => {
    const prod = await product();
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        t.call({ method: 'POST', url: '/v1/prices', payload: { product: prod, currency: 'usd', unit_amount: 100 + i, lookup_key: 'race_key' } }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
    for (const r of results.filter((x) => x.status === 400)) expect(r.body.error).toMatchObject({ code: 'lookup_key_in_use', param: 'lookup_key' });
    expect(ids((await t.call({ method: 'GET', url: `/v1/prices?product=${prod}` })).body)).toHaveLength(1);
  });

  it('creates a custom price for one customer', async () => {
    const cus = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'buyer@corp.example' } });
    const prod = await product({ name: 'Enterprise' });
    const p = await price({ product: prod, currency: 'usd', unit_amount: 2_500_000, customer: cus.body.id, nickname: 'Corp deal' });
    expect(p).toMatchObject({ customer: cus.body.id, type: 'one_time', unit_amount: 2_500_000 });
    const events = await t.call({ method: 'GET', url: `/v1/events?customer=${cus.body.id}&type=price.created` });
    expect(ids({ data: events.body.data.map((e: { data: { object: { id: string } } }) => e.data.object) })).toEqual([p.id]);
    const other = await price({ product: prod, currency: 'usd', unit_amount: 1 });
    const list = await t.call({ method: 'GET', url: `/v1/prices?customer=${cus.body.id}` });
    expect(ids(list.body)).toEqual([p.id]);
    const byProduct = await t.call({ method: 'GET', url: `/v1/prices?product=${prod}` });
    expect(ids(byProduct.body)).toEqual([other.id, p.id]);
    const imm = await t.call({ method: 'POST', url: `/v1/prices/${p.id}`, payload: { customer: '' } });
    expect(imm.body.error).toMatchObject({ code: 'parameter_immutable', param: 'customer' });

    await t.call({ method: 'DELETE', url: `/v1/customers/${cus.body.id}` });
    const gone = await t.call({ method: 'POST', url: '/v1/prices', payload: { product: prod, currency: 'usd', unit_amount: 1, customer: cus.body.id } });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'resource_missing', param: 'customer' });
  });

  it('lists prices with every filter, lookup_keys[] in both spellings, and expands products', async () => {
    const prod = await product({ name: 'Listed' });
    const other = await product({ name: 'Other' });
    const monthly = await price({ product: prod, currency: 'usd', unit_amount: 100, recurring: { interval: 'month' }, lookup_key: 'lst_monthly' });
    const yearly = await price({ product: prod, currency: 'usd', unit_amount: 1000, recurring: { interval: 'year' }, lookup_key: 'lst_yearly' });
    const eur = await price({ product: prod, currency: 'eur', unit_amount: 90, lookup_key: 'lst_eur', active: false });
    const foreign = await price({ product: other, currency: 'usd', unit_amount: 5, lookup_key: 'lst_other' });

    const q = async (qs: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/prices?${qs}` });
      expect(res.status, qs + JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    expect(ids(await q(`product=${prod}`))).toEqual([eur.id, yearly.id, monthly.id]);
    expect(ids(await q(`product=${prod}&active=true`))).toEqual([yearly.id, monthly.id]);
    expect(ids(await q(`product=${prod}&active=false`))).toEqual([eur.id]);
    expect(ids(await q(`product=${prod}&currency=EUR`))).toEqual([eur.id]);
    expect(ids(await q(`product=${prod}&type=one_time`))).toEqual([eur.id]);
    expect(ids(await q(`product=${prod}&type=recurring`))).toEqual([yearly.id, monthly.id]);
    expect(ids(await q(`product=${prod}&recurring[interval]=year`))).toEqual([yearly.id]);
    expect(ids(await q(`product=${prod}&recurring[usage_type]=metered`))).toEqual([]);
    expect(ids(await q('lookup_keys[]=lst_monthly&lookup_keys[]=lst_other'))).toEqual([foreign.id, monthly.id]);
    expect(ids(await q('lookup_keys[0]=lst_yearly'))).toEqual([yearly.id]);
    expect(ids(await q('lookup_keys[0]=lst_yearly&lookup_keys[1]=lst_eur'))).toEqual([eur.id, yearly.id]);
    expect(ids(await q('lookup_keys=lst_other'))).toEqual([foreign.id]);
    expect(ids(await q(`product=${prod}&limit=1&starting_after=${yearly.id}`))).toEqual([monthly.id]);

    const expanded = await q('lookup_keys[]=lst_monthly&lookup_keys[]=lst_other&expand[]=data.product');
    expect(expanded.data.map((p: { product: { id: string; name: string } }) => [p.product.id, p.product.name])).toEqual([
      [other, 'Other'],
      [prod, 'Listed'],
    ]);
    const one = await t.call({ method: 'GET', url: `/v1/prices/${monthly.id}?expand[]=product&expand[]=currency_options` });
    expect(one.body.product).toMatchObject({ id: prod, object: 'product', name: 'Listed' });
    const upd = await t.call({ method: 'POST', url: `/v1/prices/${monthly.id}`, payload: { nickname: 'M', expand: ['product'] } });
    expect(upd.body.product.id).toBe(prod);

    const badExpand = await t.call({ method: 'GET', url: '/v1/prices?expand[]=product' });
    expect(badExpand.body.error).toMatchObject({ code: 'parameter_invalid', param: 'expand[0]' });
    const tooMany = await t.call({ method: 'GET', url: `/v1/prices?${Array.from({ length: 11 }, (_, i) => `lookup_keys[]=k${i}`).join('&')}` });
    expect(tooMany.body.error).toMatchObject({ code: 'parameter_invalid', param: 'lookup_keys' });
    const badType = await t.call({ method: 'GET', url: '/v1/prices?type=metered' });
    expect(badType.body.error).toMatchObject({ code: 'parameter_invalid', param: 'type' });
    const unknown = await t.call({ method: 'GET', url: '/v1/prices?lookup_key=x' });
    expect(unknown.body.error).toMatchObject({ code: 'parameter_unknown', param: 'lookup_key' });
  });

  it('needs a write key to create and a read key to list', async () => {
    const read = await t.keyFor('read');
    const denied = await t.call({ method: 'POST', url: '/v1/products', payload: { name: 'x' }, key: read });
    expect(denied.status).toBe(403);
    const listed = await t.call({ method: 'GET', url: '/v1/prices?limit=1', key: read });
    expect(listed.status).toBe(200);
    const anon = await t.call({ method: 'GET', url: '/v1/products', key: null });
    expect(anon.status).toBe(401);
  });

  it('replays a create with the same Idempotency-Key', async () => {
    const prod = await product();
    const headers = { 'idempotency-key': 'price-create-1' };
    const payload = { product: prod, currency: 'usd', unit_amount: 777 };
    const first = await t.call({ method: 'POST', url: '/v1/prices', payload, headers });
    const second = await t.call({ method: 'POST', url: '/v1/prices', payload, headers });
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(ids((await t.call({ method: 'GET', url: `/v1/prices?product=${prod}` })).body)).toEqual([first.body.id]);
  });
});
