import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('customers API', () => {
  it('creates, retrieves, updates and soft-deletes a customer, writing events', async () => {
    const created = await t.call({
      method: 'POST',
      url: '/v1/customers',
      payload: { email: 'ann@example.com', name: 'Ann', phone: '+14155552671', address: { country: 'gb', postal_code: 'SW1A 1AA' }, metadata: { tier: 'elite' } },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      object: 'customer',
      email: 'ann@example.com',
      address: { country: 'GB', postal_code: 'SW1A 1AA', city: null },
      balance: 0,
      currency: null,
      tax_exempt: 'none',
      metadata: { tier: 'elite' },
      created: 1768478400, // 2026-01-15T12:00:00Z from the manual clock
    });
    expect(created.body.id).toMatch(/^cus_[0-9A-Za-z]{22}$/);
    const id = created.body.id;

    const upd = await t.call({ method: 'POST', url: `/v1/customers/${id}`, payload: { name: 'Ann B', metadata: { tier: '', seg: 'x' } } });
    expect(upd.status).toBe(200);
    expect(upd.body.name).toBe('Ann B');
    expect(upd.body.metadata).toEqual({ seg: 'x' });

    const events = await t.call({ method: 'GET', url: `/v1/events?customer=${id}` });
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['customer.updated', 'customer.created']);
    // metadata by its changed keys only, as Stripe's: tier removed (old value), seg added (null before).
    expect(events.body.data[0].data.previous_attributes).toEqual({ name: 'Ann', metadata: { tier: 'elite', seg: null } });

    const del = await t.call({ method: 'DELETE', url: `/v1/customers/${id}` });
    expect(del.body).toEqual({ id, object: 'customer', deleted: true });
    const again = await t.call({ method: 'GET', url: `/v1/customers/${id}` });
    expect(again.body).toEqual({ id, object: 'customer', deleted: true });
    const upd2 = await t.call({ method: 'POST', url: `/v1/customers/${id}`, payload: { name: 'x' } });
    expect(upd2.status).toBe(404);
  });

  it('rejects bad input with the offending param and writes nothing', async () => {
    const before = await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    const cases: [unknown, string, string][] = [
      [{ email: 'not-an-email' }, 'email', 'parameter_invalid'],
      [{ phone: '0123' }, 'phone', 'parameter_invalid'],
      [{ address: { country: 'XX' } }, 'address[country]', 'parameter_invalid'],
      [{ nickname: 'x' }, 'nickname', 'parameter_unknown'],
      [{ balance: 'abc' }, 'balance', 'parameter_invalid'],
      [{ tax_ids: [{ type: 'eu_vat' }] }, 'tax_ids[0][value]', 'parameter_missing'],
      [{ metadata: { ['k'.repeat(41)]: 'v' } }, `metadata[${'k'.repeat(41)}]`, 'parameter_invalid'],
      [{ currency: 'zzz' }, 'currency', 'parameter_invalid'],
    ];
    for (const [payload, param, code] of cases) {
      const res = await t.call({ method: 'POST', url: '/v1/customers', payload: payload as object });
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    const after = await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  it('accepts form-encoded bodies with bracket notation, coercing strings', async () => {
    const res = await t.call({
      method: 'POST',
      url: '/v1/customers',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'email=form%40example.com&balance=-500&address[country]=DE&tax_ids[0][type]=eu_vat&tax_ids[0][value]=DE123456789&preferred_locales[]=de&metadata[a]=1',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      email: 'form@example.com',
      balance: -500,
      address: { country: 'DE' },
      tax_ids: { object: 'list', data: [{ type: 'eu_vat', value: 'DE123456789' }] },
      preferred_locales: ['de'],
      metadata: { a: '1' },
    });
  });

  it('lists with email filter and cursor pagination, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'page@example.com', name: `P${i}` } });
      ids.push(r.body.id);
    }
    const page1 = await t.call({ method: 'GET', url: '/v1/customers?email=page@example.com&limit=2' });
    expect(page1.body.object).toBe('list');
    expect(page1.body.data.map((c: { id: string }) => c.id)).toEqual([ids[4], ids[3]]);
    expect(page1.body.has_more).toBe(true);
    const page2 = await t.call({ method: 'GET', url: `/v1/customers?email=page@example.com&limit=2&starting_after=${ids[3]}` });
    expect(page2.body.data.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    const page3 = await t.call({ method: 'GET', url: `/v1/customers?email=page@example.com&limit=2&starting_after=${ids[1]}` });
    expect(page3.body.data.map((c: { id: string }) => c.id)).toEqual([ids[0]]);
    expect(page3.body.has_more).toBe(false);
    const back = await t.call({ method: 'GET', url: `/v1/customers?email=page@example.com&limit=2&ending_before=${ids[2]}` });
    expect(back.body.data.map((c: { id: string }) => c.id)).toEqual([ids[4], ids[3]]);
    const bad = await t.call({ method: 'GET', url: '/v1/customers?limit=1000' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('limit');
  });
});
