import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { usingPostgres } from '../../../test/helpers/db.js';
import type { Queryable } from '../../db/index.js';
import { activeDiscountsFor, endDiscount, getCouponRow, redeem, resolveDiscountSource, type DiscountSource } from './service.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

// The manual clock starts at 2026-01-15T12:00:00Z.
const NOW = 1768478400;
const DAY = 86_400;

async function post(url: string, payload: object) {
  return t.call({ method: 'POST', url, payload });
}
async function newCoupon(payload: object): Promise<string> {
  const res = await post('/v1/coupons', payload);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id;
}
async function newCustomer(): Promise<string> {
  return (await post('/v1/customers', { email: 'c@example.com' })).body.id;
}
async function newPromo(payload: object) {
  const res = await post('/v1/promotion_codes', payload);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}
const tx = <T>(fn: (q: Queryable) => Promise<T>) => t.testDb.db.tx(fn);
const count = async (sql: string, params: unknown[] = []) => (await t.testDb.db.query<{ n: number }>(sql, params)).rows[0]!.n;

describe('coupons API', () => {
  it('creates a 25.5 % coupon stored as 2550 hundredths, retrieves, updates name/metadata, soft-deletes, with events', async () => {
    const created = await post('/v1/coupons', { percent_off: 25.5, duration: 'forever', name: 'Launch', metadata: { camp: 'x' } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      id: created.body.id,
      object: 'coupon',
      amount_off: null,
      created: NOW,
      currency: null,
      duration: 'forever',
      duration_in_months: null,
      livemode: false,
      max_redemptions: null,
      metadata: { camp: 'x' },
      name: 'Launch',
      percent_off: 25.5,
      redeem_by: null,
      times_redeemed: 0,
      valid: true,
    });
    const id = created.body.id as string;
    expect(id).toMatch(/^coupon_[0-9A-Za-z]{22}$/);
    const stored = await t.testDb.db.query<{ percent_off_bp: number }>('SELECT percent_off_bp FROM coupons WHERE id = $1', [id]);
    expect(stored.rows[0]!.percent_off_bp).toBe(2550);

    const got = await t.call({ method: 'GET', url: `/v1/coupons/${id}` });
    expect(got.body).toEqual(created.body);

    const upd = await post(`/v1/coupons/${id}`, { name: 'Launch 2', metadata: { camp: '', k: 'v' } });
    expect(upd.status).toBe(200);
    expect(upd.body).toMatchObject({ name: 'Launch 2', metadata: { k: 'v' }, percent_off: 25.5 });
    const terms = await post(`/v1/coupons/${id}`, { percent_off: 50 });
    expect(terms.status).toBe(400);
    expect(terms.body.error).toMatchObject({ param: 'percent_off', code: 'parameter_unknown' });

    const del = await t.call({ method: 'DELETE', url: `/v1/coupons/${id}` });
    expect(del.body).toEqual({ id, object: 'coupon', deleted: true });
    expect((await t.call({ method: 'GET', url: `/v1/coupons/${id}` })).body).toEqual({ id, object: 'coupon', deleted: true });
    expect((await post(`/v1/coupons/${id}`, { name: 'x' })).status).toBe(404);
    expect((await t.call({ method: 'DELETE', url: `/v1/coupons/${id}` })).status).toBe(404);
    expect((await t.call({ method: 'GET', url: '/v1/coupons/nope' })).body.error).toMatchObject({ code: 'resource_missing', param: 'id' });

    const events = await t.testDb.db.query<{ type: string; data: { previous_attributes?: unknown; object: { valid: boolean } } }>(
      'SELECT type, data FROM events WHERE object_id = $1 ORDER BY id',
      [id],
    );
    expect(events.rows.map((e) => e.type)).toEqual(['coupon.created', 'coupon.updated', 'coupon.deleted']);
    // metadata by its changed keys only (null: not there before), as Stripe's.
    expect(events.rows[1]!.data.previous_attributes).toEqual({ name: 'Launch', metadata: { camp: 'x', k: null } });
    expect(events.rows[2]!.data.object.valid).toBe(false);
  });

  it('creates amount_off, repeating and custom-id coupons, also form-encoded, with applies_to', async () => {
    const prod = (await post('/v1/products', { name: 'Pro' })).body.id as string;
    const amount = await post('/v1/coupons', {
      id: 'SAVE5-EUR',
      amount_off: 500,
      currency: 'EUR',
      duration: 'repeating',
      duration_in_months: 3,
      max_redemptions: 10,
      redeem_by: NOW + 30 * DAY,
      applies_to: { products: [prod] },
    });
    expect(amount.status).toBe(200);
    expect(amount.body).toMatchObject({
      id: 'SAVE5-EUR',
      amount_off: 500,
      currency: 'eur',
      percent_off: null,
      duration: 'repeating',
      duration_in_months: 3,
      max_redemptions: 10,
      redeem_by: NOW + 30 * DAY,
      applies_to: { products: [prod] },
      valid: true,
    });
    const dup = await post('/v1/coupons', { id: 'SAVE5-EUR', percent_off: 5 });
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatchObject({ code: 'resource_already_exists', param: 'id' });

    const form = await t.call({
      method: 'POST',
      url: '/v1/coupons',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `percent_off=33.33&duration=once&applies_to[products][]=${prod}&max_redemptions=2`,
    });
    expect(form.status).toBe(200);
    expect(form.body).toMatchObject({ percent_off: 33.33, duration: 'once', max_redemptions: 2, applies_to: { products: [prod] } });
    const bp = await t.testDb.db.query<{ percent_off_bp: number }>('SELECT percent_off_bp FROM coupons WHERE id = $1', [form.body.id]);
    expect(bp.rows[0]!.percent_off_bp).toBe(3333);
  });

  it('rejects bad coupons with the offending param and writes nothing', async () => {
    const before = await count('SELECT count(*)::int AS n FROM coupons');
    const cases: [object, number, string, string][] = [
      [{ duration: 'once' }, 400, 'percent_off', 'parameter_missing'],
      [{ percent_off: 10, amount_off: 100, currency: 'usd' }, 400, 'amount_off', 'parameter_invalid'],
      [{ amount_off: 100 }, 400, 'currency', 'parameter_missing'],
      [{ percent_off: 10, currency: 'usd' }, 400, 'currency', 'parameter_invalid'],
      [{ percent_off: 0 }, 400, 'percent_off', 'parameter_invalid'],
      [{ percent_off: 100.01 }, 400, 'percent_off', 'parameter_invalid'],
      [{ percent_off: 12.345 }, 400, 'percent_off', 'parameter_invalid'],
      [{ percent_off: '12.345' }, 400, 'percent_off', 'parameter_invalid'],
      [{ percent_off: 'ten' }, 400, 'percent_off', 'parameter_invalid'],
      [{ amount_off: 0, currency: 'usd' }, 400, 'amount_off', 'parameter_invalid'],
      [{ amount_off: 1.5, currency: 'usd' }, 400, 'amount_off', 'parameter_invalid'],
      [{ amount_off: 100, currency: 'zzz' }, 400, 'currency', 'parameter_invalid'],
      [{ percent_off: 10, duration: 'repeating' }, 400, 'duration_in_months', 'parameter_missing'],
      [{ percent_off: 10, duration: 'forever', duration_in_months: 3 }, 400, 'duration_in_months', 'parameter_invalid'],
      [{ percent_off: 10, duration: 'weekly' }, 400, 'duration', 'parameter_invalid'],
      [{ percent_off: 10, max_redemptions: 0 }, 400, 'max_redemptions', 'parameter_invalid'],
      [{ percent_off: 10, redeem_by: NOW }, 400, 'redeem_by', 'parameter_invalid'],
      [{ percent_off: 10, id: 'has space' }, 400, 'id', 'parameter_invalid'],
      [{ percent_off: 10, applies_to: { products: ['prod_missing'] } }, 404, 'applies_to[products][0]', 'resource_missing'],
      [{ percent_off: 10, applies_to: { products: [] } }, 400, 'applies_to[products]', 'parameter_invalid'],
      [{ percent_off: 10, amount: 5 }, 400, 'amount', 'parameter_unknown'],
    ];
    for (const [payload, status, param, code] of cases) {
      const res = await post('/v1/coupons', payload);
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    expect(await count('SELECT count(*)::int AS n FROM coupons')).toBe(before);
  });

  it('computes valid from redeem_by and max_redemptions, and lists live coupons newest first', async () => {
    const expiring = await newCoupon({ percent_off: 10, redeem_by: NOW + DAY });
    const used = await newCoupon({ percent_off: 10, max_redemptions: 1 });
    const gone = await newCoupon({ percent_off: 10 });
    await t.call({ method: 'DELETE', url: `/v1/coupons/${gone}` });
    const customer = await newCustomer();
    await tx(async (q) => redeem(q, { coupon: await getCouponRow(q, used), promotionCode: null, customerId: customer, now: t.clock.now() }));
    expect((await t.call({ method: 'GET', url: `/v1/coupons/${used}` })).body).toMatchObject({ times_redeemed: 1, valid: false });
    expect((await t.call({ method: 'GET', url: `/v1/coupons/${expiring}` })).body.valid).toBe(true);

    const page = await t.call({ method: 'GET', url: '/v1/coupons?limit=2' });
    expect(page.body.data.map((c: { id: string }) => c.id)).toEqual([used, expiring]);
    expect(page.body.has_more).toBe(true);
    const all = await t.call({ method: 'GET', url: '/v1/coupons?limit=100' });
    expect(all.body.data.map((c: { id: string }) => c.id)).not.toContain(gone);

    t.clock.advance(DAY * 1000);
    try {
      expect((await t.call({ method: 'GET', url: `/v1/coupons/${expiring}` })).body.valid).toBe(false);
    } finally {
      t.clock.set('2026-01-15T12:00:00Z');
    }
  });
});

describe('promotion codes API', () => {
  it('creates with the flat coupon or promotion[coupon], generates codes, updates and records events', async () => {
    const coupon = await newCoupon({ percent_off: 20, duration: 'once' });
    const customer = await newCustomer();
    const promo = await newPromo({
      coupon,
      code: 'Spring-26',
      customer,
      expires_at: NOW + 10 * DAY,
      max_redemptions: 5,
      restrictions: { first_time_transaction: true, minimum_amount: 1000, minimum_amount_currency: 'USD' },
      metadata: { a: '1' },
    });
    expect(promo).toMatchObject({
      object: 'promotion_code',
      active: true,
      code: 'Spring-26',
      coupon: { id: coupon, object: 'coupon', percent_off: 20 },
      promotion: { type: 'coupon', coupon },
      created: NOW,
      customer,
      expires_at: NOW + 10 * DAY,
      livemode: false,
      max_redemptions: 5,
      metadata: { a: '1' },
      restrictions: { first_time_transaction: true, minimum_amount: 1000, minimum_amount_currency: 'usd' },
      times_redeemed: 0,
    });
    expect(promo.id).toMatch(/^promo_[0-9A-Za-z]{22}$/);

    const nested = await newPromo({ promotion: { type: 'coupon', coupon } });
    expect(nested.promotion.coupon).toBe(coupon);
    expect(nested.code).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(nested.restrictions).toEqual({ first_time_transaction: false, minimum_amount: null, minimum_amount_currency: null });

    const got = await t.call({ method: 'GET', url: `/v1/promotion_codes/${promo.id}` });
    expect(got.body).toEqual(promo);
    expect((await t.call({ method: 'GET', url: '/v1/promotion_codes/promo_nope' })).body.error).toMatchObject({ code: 'resource_missing', param: 'id' });

    const off = await post(`/v1/promotion_codes/${promo.id}`, { active: false, metadata: { b: '2' } });
    expect(off.body).toMatchObject({ active: false, metadata: { a: '1', b: '2' } });
    const bad = await post(`/v1/promotion_codes/${promo.id}`, { code: 'OTHER' });
    expect(bad.body.error).toMatchObject({ param: 'code', code: 'parameter_unknown' });
    const events = await t.testDb.db.query<{ type: string; customer_id: string | null; data: { previous_attributes?: unknown } }>(
      'SELECT type, customer_id, data FROM events WHERE object_id = $1 ORDER BY id',
      [promo.id],
    );
    expect(events.rows.map((e) => [e.type, e.customer_id])).toEqual([
      ['promotion_code.created', customer],
      ['promotion_code.updated', customer],
    ]);
    expect(events.rows[1]!.data.previous_attributes).toEqual({ active: true, metadata: { b: null } });
  });

  it('keeps active codes unique ignoring case; inactive duplicates are allowed but cannot be reactivated', async () => {
    const coupon = await newCoupon({ percent_off: 10 });
    const first = await newPromo({ coupon, code: 'Summer' });
    const clash = await post('/v1/promotion_codes', { coupon, code: 'SUMMER' });
    expect(clash.status).toBe(400);
    expect(clash.body.error).toMatchObject({ type: 'invalid_request_error', code: 'promotion_code_exists', param: 'code' });

    const dormant = await newPromo({ coupon, code: 'summer', active: false });
    expect(dormant.active).toBe(false);
    const revive = await post(`/v1/promotion_codes/${dormant.id}`, { active: true });
    expect(revive.status).toBe(400);
    expect(revive.body.error).toMatchObject({ code: 'promotion_code_exists', param: 'active' });

    await post(`/v1/promotion_codes/${first.id}`, { active: false });
    const revived = await post(`/v1/promotion_codes/${dormant.id}`, { active: true });
    expect(revived.status).toBe(200);
    expect(revived.body.active).toBe(true);

    const byCode = await t.call({ method: 'GET', url: '/v1/promotion_codes?code=sUmMeR' });
    expect(byCode.body.data.map((p: { id: string }) => p.id)).toEqual([dormant.id, first.id]);
    const activeOnly = await t.call({ method: 'GET', url: '/v1/promotion_codes?code=SUMMER&active=true' });
    expect(activeOnly.body.data.map((p: { id: string }) => p.id)).toEqual([dormant.id]);
  });

  it('lists by coupon, customer and active, with cursor pagination', async () => {
    const coupon = await newCoupon({ percent_off: 15 });
    const other = await newCoupon({ percent_off: 16 });
    const customer = await newCustomer();
    const a = await newPromo({ coupon });
    const b = await newPromo({ coupon, customer });
    const c = await newPromo({ coupon, active: false });
    await newPromo({ coupon: other });
    const byCoupon = await t.call({ method: 'GET', url: `/v1/promotion_codes?coupon=${coupon}` });
    expect(byCoupon.body.data.map((p: { id: string }) => p.id)).toEqual([c.id, b.id, a.id]);
    const byCustomer = await t.call({ method: 'GET', url: `/v1/promotion_codes?customer=${customer}` });
    expect(byCustomer.body.data.map((p: { id: string }) => p.id)).toEqual([b.id]);
    const inactive = await t.call({ method: 'GET', url: `/v1/promotion_codes?coupon=${coupon}&active=false` });
    expect(inactive.body.data.map((p: { id: string }) => p.id)).toEqual([c.id]);
    const page = await t.call({ method: 'GET', url: `/v1/promotion_codes?coupon=${coupon}&limit=2&starting_after=${c.id}` });
    expect(page.body).toMatchObject({ object: 'list', url: '/v1/promotion_codes', has_more: false });
    expect(page.body.data.map((p: { id: string }) => p.id)).toEqual([b.id, a.id]);
    expect(page.body.data[0].coupon.id).toBe(coupon);
    const bad = await t.call({ method: 'GET', url: '/v1/promotion_codes?active=maybe' });
    expect(bad.body.error).toMatchObject({ param: 'active', code: 'parameter_invalid' });
  });

  it('rejects bad promotion codes with the offending param', async () => {
    const coupon = await newCoupon({ percent_off: 10, redeem_by: NOW + 5 * DAY });
    const otherCoupon = await newCoupon({ percent_off: 10 });
    const deleted = await newCoupon({ percent_off: 10 });
    await t.call({ method: 'DELETE', url: `/v1/coupons/${deleted}` });
    const before = await count('SELECT count(*)::int AS n FROM promotion_codes');
    const cases: [object, number, string, string][] = [
      [{ code: 'X1' }, 400, 'coupon', 'parameter_missing'],
      [{ coupon: 'coupon_missing' }, 404, 'coupon', 'resource_missing'],
      [{ promotion: { type: 'coupon', coupon: 'coupon_missing' } }, 404, 'promotion[coupon]', 'resource_missing'],
      [{ coupon: deleted }, 404, 'coupon', 'resource_missing'],
      [{ coupon, promotion: { coupon: otherCoupon } }, 400, 'promotion[coupon]', 'parameter_invalid'],
      [{ coupon, promotion: { type: 'price', coupon } }, 400, 'promotion[type]', 'parameter_invalid'],
      [{ coupon, code: 'has space' }, 400, 'code', 'parameter_invalid'],
      [{ coupon, code: 'under_score' }, 400, 'code', 'parameter_invalid'],
      [{ coupon, customer: 'cus_missing' }, 404, 'customer', 'resource_missing'],
      [{ coupon, expires_at: NOW - 1 }, 400, 'expires_at', 'parameter_invalid'],
      [{ coupon, expires_at: NOW + 6 * DAY }, 400, 'expires_at', 'parameter_invalid'],
      [{ coupon, max_redemptions: -1 }, 400, 'max_redemptions', 'parameter_invalid'],
      [{ coupon, restrictions: { minimum_amount: 100 } }, 400, 'restrictions[minimum_amount_currency]', 'parameter_missing'],
      [{ coupon, restrictions: { minimum_amount_currency: 'usd' } }, 400, 'restrictions[minimum_amount]', 'parameter_missing'],
      [{ coupon, restrictions: { first_time_transaction: 'maybe' } }, 400, 'restrictions[first_time_transaction]', 'parameter_invalid'],
    ];
    for (const [payload, status, param, code] of cases) {
      const res = await post('/v1/promotion_codes', payload);
      expect(res.status, JSON.stringify(payload)).toBe(status);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    expect(await count('SELECT count(*)::int AS n FROM promotion_codes')).toBe(before);

    // A code cannot be created for, or reactivated on, a coupon that can no longer be redeemed.
    const promo = await newPromo({ coupon, active: false });
    t.clock.advance(5 * DAY * 1000);
    try {
      const expired = await post('/v1/promotion_codes', { coupon });
      expect(expired.body.error).toMatchObject({ code: 'coupon_expired', param: 'coupon' });
      const revive = await post(`/v1/promotion_codes/${promo.id}`, { active: true });
      expect(revive.body.error).toMatchObject({ code: 'coupon_expired', param: 'active' });
    } finally {
      t.clock.set('2026-01-15T12:00:00Z');
    }
  });
});

describe('redemption', () => {
  const resolve = (args: Omit<Parameters<typeof resolveDiscountSource>[1], 'now' | 'param'> & { param?: string }) =>
    tx((q) => resolveDiscountSource(q, { now: t.clock.now(), param: 'discounts[0][coupon]', ...args }));
  const redeemSource = (src: DiscountSource, customerId: string, extra: { subscriptionId?: string; now?: Date } = {}) =>
    tx((q) => redeem(q, { ...src, customerId, now: extra.now ?? t.clock.now(), subscriptionId: extra.subscriptionId }));

  it('grants a repeating discount whose end is clamped: Jan 31 + 3 months = Apr 30', async () => {
    const coupon = await newCoupon({ amount_off: 700, currency: 'usd', duration: 'repeating', duration_in_months: 3 });
    const customer = await newCustomer();
    const start = new Date('2026-01-31T09:30:00Z');
    const src = await tx((q) => resolveDiscountSource(q, { coupon, customerId: customer, now: start, param: 'coupon', currency: 'usd' }));
    expect(src.promotionCode).toBeNull();
    const discount = await redeemSource(src, customer, { now: start });
    expect(discount).toEqual({
      id: discount.id,
      object: 'discount',
      checkout_session: null,
      coupon: expect.objectContaining({ id: coupon, amount_off: 700, currency: 'usd', times_redeemed: 1 }),
      source: { type: 'coupon', coupon },
      customer,
      subscription: null,
      subscription_item: null,
      invoice: null,
      invoice_item: null,
      promotion_code: null,
      start: Date.parse('2026-01-31T09:30:00Z') / 1000,
      end: Date.parse('2026-04-30T09:30:00Z') / 1000,
    });
    expect(discount.id).toMatch(/^di_[0-9A-Za-z]{22}$/);
    const ev = await t.testDb.db.query<{ type: string }>('SELECT type FROM events WHERE object_id = $1', [discount.id]);
    expect(ev.rows.map((e) => e.type)).toEqual(['customer.discount.created']);

    // In force from its start up to (not including) its end.
    const at = (iso: string) => tx((q) => activeDiscountsFor(q, { customerId: customer, at: new Date(iso) }));
    expect(await at('2026-01-31T09:29:59Z')).toEqual([]);
    const during = await at('2026-04-30T09:29:59Z');
    expect(during.map((d) => [d.discount.id, d.coupon.id, d.coupon.amount_off])).toEqual([[discount.id, coupon, 700]]);
    expect(await at('2026-04-30T09:30:00Z')).toEqual([]);
  });

  it('max_redemptions 1: the second redeem fails even when resolved before the first', async () => {
    const coupon = await newCoupon({ percent_off: 50, max_redemptions: 1 });
    const customer = await newCustomer();
    const a = await resolve({ coupon, customerId: customer });
    const b = await resolve({ coupon, customerId: customer });
    await redeemSource(a, customer);
    await expect(redeemSource(b, customer)).rejects.toMatchObject({ status: 400, code: 'coupon_max_redemptions', param: 'coupon' });
    await expect(resolve({ coupon, customerId: customer })).rejects.toMatchObject({ status: 400, code: 'coupon_max_redemptions', param: 'discounts[0][coupon]' });
    expect(await count('SELECT times_redeemed AS n FROM coupons WHERE id = $1', [coupon])).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM discounts WHERE coupon = $1', [coupon])).toBe(1);
  });

  it('10 concurrent redeems of a max_redemptions=3 coupon: exactly 3 succeed', async () => {
    const coupon = await newCoupon({ percent_off: 10, max_redemptions: 3 });
    const customer = await newCustomer();
    const src = await resolve({ coupon, customerId: customer });
    // On PostgreSQL these are 10 transactions on 10 pooled connections racing for the row lock;
    // on PGlite they queue on its single connection.
    const db = usingPostgres ? await t.testDb.openAnother(10) : t.testDb.db;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => db.tx((q) => redeem(q, { ...src, customerId: customer, now: t.clock.now() }))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(3);
    expect(failed).toHaveLength(7);
    for (const f of failed) expect(f.reason).toMatchObject({ status: 400, code: 'coupon_max_redemptions' });
    expect(await count('SELECT times_redeemed AS n FROM coupons WHERE id = $1', [coupon])).toBe(3);
    expect(await count('SELECT count(*)::int AS n FROM discounts WHERE coupon = $1', [coupon])).toBe(3);
  });

  it('resolves promotion codes by id or by code in any case, and counts their redemptions', async () => {
    const coupon = await newCoupon({ percent_off: 30, duration: 'once' });
    const customer = await newCustomer();
    const promo = await newPromo({ coupon, code: 'WELCOME-30', max_redemptions: 1 });
    const byCode = await resolve({ promotionCode: 'welcome-30', customerId: customer, param: 'promotion_code' });
    expect(byCode.coupon.id).toBe(coupon);
    expect(byCode.promotionCode!.id).toBe(promo.id);
    const byId = await resolve({ promotionCode: promo.id, coupon, customerId: customer });
    expect(byId.promotionCode!.code).toBe('WELCOME-30');

    const discount = await redeemSource(byCode, customer, {});
    expect(discount).toMatchObject({ promotion_code: promo.id, end: null, coupon: { id: coupon, times_redeemed: 1 } });
    const after = await t.call({ method: 'GET', url: `/v1/promotion_codes/${promo.id}` });
    expect(after.body).toMatchObject({ times_redeemed: 1, coupon: { times_redeemed: 1 } });
    await expect(redeemSource(byId, customer)).rejects.toMatchObject({ code: 'promotion_code_max_redemptions', param: 'promotion_code' });
    await expect(resolve({ promotionCode: 'WELCOME-30', customerId: customer, param: 'promotion_code' })).rejects.toMatchObject({
      code: 'promotion_code_max_redemptions',
      param: 'promotion_code',
    });
    // The failed redeem rolled back with its transaction: the coupon counted one redemption only.
    expect(await count('SELECT times_redeemed AS n FROM coupons WHERE id = $1', [coupon])).toBe(1);
  });

  it('refuses unknown, inactive, expired, foreign, mismatched and deleted sources with stable codes', async () => {
    const customer = await newCustomer();
    const stranger = await newCustomer();
    const coupon = await newCoupon({ percent_off: 10 });
    const usd = await newCoupon({ amount_off: 500, currency: 'usd' });
    const inactive = await newPromo({ coupon, active: false });
    const expiring = await newPromo({ coupon, expires_at: NOW + DAY });
    const mine = await newPromo({ coupon, customer });
    const expiringCoupon = await newCoupon({ percent_off: 10, redeem_by: NOW + DAY });
    const deleted = await newCoupon({ percent_off: 10 });
    await t.call({ method: 'DELETE', url: `/v1/coupons/${deleted}` });
    const param = 'discounts[0][coupon]';

    await expect(resolve({ coupon: 'coupon_nope', customerId: customer })).rejects.toMatchObject({ status: 404, code: 'resource_missing', param });
    await expect(resolve({ promotionCode: 'NOPE', customerId: customer })).rejects.toMatchObject({ status: 404, code: 'resource_missing', param });
    await expect(resolve({ promotionCode: 'not a code', customerId: customer })).rejects.toMatchObject({ status: 404, code: 'resource_missing' });
    await expect(resolve({ customerId: customer })).rejects.toMatchObject({ status: 400, code: 'parameter_missing', param });
    await expect(resolve({ coupon: deleted, customerId: customer })).rejects.toMatchObject({ status: 400, code: 'coupon_expired', param });
    await expect(resolve({ promotionCode: inactive.id, customerId: customer })).rejects.toMatchObject({ status: 400, code: 'promotion_code_inactive', param });
    await expect(resolve({ promotionCode: mine.code, customerId: stranger })).rejects.toMatchObject({
      status: 400,
      code: 'promotion_code_customer_mismatch',
      param,
    });
    expect((await resolve({ promotionCode: mine.code, customerId: customer })).promotionCode!.id).toBe(mine.id);
    await expect(resolve({ promotionCode: mine.id, coupon: usd, customerId: customer })).rejects.toMatchObject({ code: 'promotion_code_coupon_mismatch' });
    await expect(resolve({ coupon: usd, customerId: customer, currency: 'eur' })).rejects.toMatchObject({ status: 400, code: 'coupon_currency_mismatch', param });
    expect((await resolve({ coupon: usd, customerId: customer, currency: 'usd' })).coupon.amount_off).toBe(500);
    expect((await resolve({ coupon, customerId: customer, currency: 'eur' })).coupon.percent_off_bp).toBe(1000);

    // A stale resolution still cannot redeem a deleted coupon or an inactive code.
    const stale = await resolve({ coupon: expiringCoupon, customerId: customer });
    const stalePromo = await resolve({ promotionCode: expiring.id, customerId: customer });
    await post(`/v1/promotion_codes/${expiring.id}`, { active: false });
    await expect(redeemSource(stalePromo, customer)).rejects.toMatchObject({ code: 'promotion_code_inactive' });
    await post(`/v1/promotion_codes/${expiring.id}`, { active: true });

    t.clock.advance(DAY * 1000);
    try {
      await expect(resolve({ promotionCode: expiring.code, customerId: customer })).rejects.toMatchObject({ status: 400, code: 'promotion_code_expired', param });
      await expect(resolve({ coupon: expiringCoupon, customerId: customer })).rejects.toMatchObject({ status: 400, code: 'coupon_expired', param });
      await expect(redeemSource(stale, customer)).rejects.toMatchObject({ code: 'coupon_expired' });
    } finally {
      t.clock.set('2026-01-15T12:00:00Z');
    }
  });

  it('first_time_transaction refuses a customer who already has a paid invoice; minimum_amount is enforced', async () => {
    const coupon = await newCoupon({ percent_off: 25 });
    const promo = await newPromo({
      coupon,
      code: 'FIRSTONLY',
      restrictions: { first_time_transaction: true, minimum_amount: 2000, minimum_amount_currency: 'usd' },
    });
    const fresh = await newCustomer();
    const returning = await newCustomer();
    await t.testDb.db.query(
      `INSERT INTO invoices (id, customer, status, number, series, currency, billing_reason, period_start, period_end, subtotal, total,
         amount_due, amount_paid, created, updated)
       VALUES ('in_test_paid', $1, 'paid', 'TEST-0001', 'TEST', 'usd', 'manual', $2, $2, 5000, 5000, 5000, 5000, $2, $2)`,
      [returning, t.clock.now()],
    );
    const ok = await resolve({ promotionCode: 'firstonly', customerId: fresh, currency: 'usd', amount: 2000 });
    expect(ok.promotionCode!.id).toBe(promo.id);
    await expect(resolve({ promotionCode: 'FIRSTONLY', customerId: returning })).rejects.toMatchObject({
      status: 400,
      code: 'promotion_code_first_time_only',
      param: 'discounts[0][coupon]',
    });
    await expect(resolve({ promotionCode: 'FIRSTONLY', customerId: fresh, currency: 'usd', amount: 1999 })).rejects.toMatchObject({
      code: 'promotion_code_minimum_amount',
    });
    await expect(resolve({ promotionCode: 'FIRSTONLY', customerId: fresh, currency: 'eur', amount: 5000 })).rejects.toMatchObject({
      code: 'promotion_code_minimum_amount',
    });
  });

  it('first_time_transaction also refuses a customer whose only payment is a one-off payment intent (no invoice)', async () => {
    const coupon = await newCoupon({ percent_off: 10 });
    await newPromo({ coupon, code: 'WELCOME-PI', restrictions: { first_time_transaction: true } });
    const payer = await newCustomer();
    const declined = await newCustomer();
    const charge = async (customer: string, card: string) => {
      const pm = await post(`/v1/payment_methods/${card}/attach`, { customer });
      expect(pm.status, JSON.stringify(pm.body)).toBe(200);
      return post('/v1/payment_intents', { amount: 4500, currency: 'usd', customer, payment_method: pm.body.id, confirm: true });
    };
    const paid = await charge(payer, 'pm_card_visa');
    expect(paid.body).toMatchObject({ status: 'succeeded', customer: payer, invoice: null, amount_received: 4500 });
    // A declined attempt is not a successful payment.
    expect((await charge(declined, 'pm_card_chargeDeclinedInsufficientFunds')).status).toBe(402);
    expect(await count(`SELECT count(*)::int AS n FROM invoices WHERE customer = ANY($1::text[])`, [[payer, declined]])).toBe(0);

    await expect(resolve({ promotionCode: 'welcome-pi', customerId: payer, param: 'promotion_code' })).rejects.toMatchObject({
      status: 400,
      code: 'promotion_code_first_time_only',
      param: 'promotion_code',
    });
    expect((await resolve({ promotionCode: 'welcome-pi', customerId: declined })).promotionCode!.code).toBe('WELCOME-PI');
  });

  it('minimum_amount: an amount below it, or in another currency, is refused naming the given param; equal passes; no amount, no check', async () => {
    const coupon = await newCoupon({ percent_off: 10, duration: 'once' });
    const amountOff = await newCoupon({ amount_off: 500, currency: 'usd', duration: 'once' });
    await newPromo({ coupon, code: 'BIGSPEND', restrictions: { minimum_amount: 5000, minimum_amount_currency: 'usd' } });
    const customer = await newCustomer();
    const param = 'discounts[0][promotion_code]';
    const below = resolve({ promotionCode: 'BIGSPEND', customerId: customer, currency: 'usd', amount: 4999, param });
    await expect(below).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', code: 'promotion_code_minimum_amount', param });
    await expect(below).rejects.toThrow("Promotion code 'BIGSPEND' needs a minimum amount of 5000 usd; this amount is 4999 usd.");
    // Without a currency the amount is taken in the restriction's.
    await expect(resolve({ promotionCode: 'BIGSPEND', customerId: customer, amount: 1, param })).rejects.toMatchObject({ code: 'promotion_code_minimum_amount', param });
    await expect(resolve({ promotionCode: 'BIGSPEND', customerId: customer, currency: 'eur', amount: 9000, param })).rejects.toThrow(
      "Promotion code 'BIGSPEND' needs a minimum amount of 5000 usd; this amount is in eur.",
    );
    expect((await resolve({ promotionCode: 'BIGSPEND', customerId: customer, currency: 'usd', amount: 5000, param })).coupon.id).toBe(coupon);
    // A currency in upper case is the same currency (for the minimum and for an amount_off coupon).
    expect((await resolve({ promotionCode: 'BIGSPEND', customerId: customer, currency: 'USD', amount: 5000, param })).coupon.id).toBe(coupon);
    expect((await resolve({ coupon: amountOff, customerId: customer, currency: 'USD', param })).coupon.id).toBe(amountOff);
    // Callers that pass no amount (yet) are not refused: the signature stays compatible.
    expect((await resolve({ promotionCode: 'BIGSPEND', customerId: customer, currency: 'usd', param })).coupon.id).toBe(coupon);
  });

  it('a deleted coupon keeps its discounts in force; endDiscount ends them once, idempotently', async () => {
    const coupon = await newCoupon({ percent_off: 10, duration: 'forever' });
    const subCoupon = await newCoupon({ percent_off: 5, duration: 'once' });
    const customer = await newCustomer();
    const wide = await redeemSource(await resolve({ coupon, customerId: customer }), customer);
    // A discount attached to a subscription row; the subscription service will create these.
    const subId = `sub_test_${wide.id.slice(3, 12)}`;
    const now = t.clock.now();
    await t.testDb.db.query(
      `INSERT INTO subscriptions (id, customer, status, currency, interval, interval_count, billing_cycle_anchor, current_period_start,
         current_period_end, created, updated) VALUES ($1, $2, 'active', 'usd', 'month', 1, $3, $3, $3, $3, $3)`,
      [subId, customer, now],
    );
    const onSub = await redeemSource(await resolve({ coupon: subCoupon, customerId: customer }), customer, { subscriptionId: subId });
    expect(onSub.subscription).toBe(subId);

    await t.call({ method: 'DELETE', url: `/v1/coupons/${coupon}` });
    const forSub = await tx((q) => activeDiscountsFor(q, { customerId: customer, subscriptionId: subId, at: now }));
    expect(forSub.map((d) => [d.discount.id, d.coupon.id])).toEqual([
      [onSub.id, subCoupon],
      [wide.id, coupon],
    ]);
    expect(forSub[1]!.coupon.deleted_at).not.toBeNull();
    // Without the subscription, only the customer-wide discount applies.
    const customerOnly = await tx((q) => activeDiscountsFor(q, { customerId: customer, at: now }));
    expect(customerOnly.map((d) => d.discount.id)).toEqual([wide.id]);

    const later = new Date(now.getTime() + 3_600_000);
    const ended = await tx((q) => endDiscount(q, onSub.id, later));
    expect(ended.end).toBe(NOW + 3600);
    const again = await tx((q) => endDiscount(q, onSub.id, new Date(later.getTime() + 3_600_000)));
    expect(again.end).toBe(NOW + 3600);
    const ev = await t.testDb.db.query<{ type: string }>('SELECT type FROM events WHERE object_id = $1 ORDER BY id', [onSub.id]);
    expect(ev.rows.map((e) => e.type)).toEqual(['customer.discount.created', 'customer.discount.deleted']);
    const atLater = await tx((q) => activeDiscountsFor(q, { customerId: customer, subscriptionId: subId, at: later }));
    expect(atLater.map((d) => d.discount.id)).toEqual([wide.id]);
    await expect(tx((q) => endDiscount(q, 'di_missing', later))).rejects.toMatchObject({ status: 404, code: 'resource_missing' });
  });
});
