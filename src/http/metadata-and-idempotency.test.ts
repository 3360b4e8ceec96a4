import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../test/helpers/billing.js';
import { mergeMetadata } from '../modules/customers/service.js';
import { requestHash } from './idempotency.js';
import { clearsAllMetadata, zMetadata } from './schemas.js';

// Shared input rules: Stripe's metadata shape (no brackets in keys; metadata="" unsets every key, as the
// Stripe SDKs send `metadata: ''`), and an Idempotency-Key's request identity including the query.

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const n = async (sql: string) => Number((await t.testDb.db.query<{ n: string }>(sql)).rows[0]!.n);
const form = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('zMetadata and mergeMetadata', () => {
  it('"" parses to a patch that clears every key; a record stays a record', () => {
    const cleared = zMetadata().parse('');
    expect(Object.keys(cleared)).toEqual([]);
    expect(clearsAllMetadata(cleared)).toBe(true);
    expect(JSON.stringify(cleared)).toBe('{}');
    expect(mergeMetadata({ a: '1', b: '2' }, cleared)).toEqual({});
    expect(mergeMetadata({}, cleared)).toEqual({});
    const patch = zMetadata().parse({ b: '', c: '3' });
    expect(clearsAllMetadata(patch)).toBe(false);
    expect(mergeMetadata({ a: '1', b: '2' }, patch)).toEqual({ a: '1', c: '3' });
    expect(clearsAllMetadata(undefined)).toBe(false);
  });

  it('refuses keys with [ or ], and any string other than ""', () => {
    for (const key of ['a[b]', '[x', 'y]']) {
      const res = zMetadata().safeParse({ [key]: 'v' });
      expect(res.success).toBe(false);
      expect(JSON.stringify(res.error!.issues)).toContain("metadata keys must not contain '[' or ']'");
    }
    expect(zMetadata().safeParse('x').success).toBe(false);
  });
});

describe('metadata over HTTP', () => {
  it('a key with brackets is a 400 on metadata[…], and nothing is written', async () => {
    const before = await n(`SELECT count(*) AS n FROM customers`);
    const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'b@example.com', metadata: { 'a[b]': 'x' } } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'metadata[a[b]]' });
    expect(await n(`SELECT count(*) AS n FROM customers`)).toBe(before);
  });

  it('metadata= (form-encoded empty) unsets every key on update; JSON "" does too; on create it is {}', async () => {
    const cus = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'm@example.com', metadata: { a: '1', b: '2' } } });
    expect(cus.body.metadata).toEqual({ a: '1', b: '2' });
    const cleared = await t.call({ method: 'POST', url: `/v1/customers/${cus.body.id}`, payload: 'metadata=', headers: form });
    expect(cleared.status, JSON.stringify(cleared.body)).toBe(200);
    expect(cleared.body.metadata).toEqual({});
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus.body.id}` })).body.metadata).toEqual({});

    await t.call({ method: 'POST', url: `/v1/customers/${cus.body.id}`, payload: { metadata: { c: '3' } } });
    const json = await t.call({ method: 'POST', url: `/v1/customers/${cus.body.id}`, payload: { metadata: '' } });
    expect(json.body.metadata).toEqual({});

    const created = await t.call({ method: 'POST', url: '/v1/customers', payload: 'email=e%40example.com&metadata=', headers: form });
    expect(created.status).toBe(200);
    expect(created.body.metadata).toEqual({});
  });

  it('metadata="" also clears a subscription (the subscriptions service merges through mergeMetadata)', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({
      method: 'POST',
      url: '/v1/subscriptions',
      payload: { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_period_days: 0, metadata: { a: '1', b: '2' } },
    });
    expect(sub.status).toBe(200);
    const res = await t.call({ method: 'POST', url: `/v1/subscriptions/${sub.body.id}`, payload: 'metadata=', headers: form });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata).toEqual({});
  });
});

describe('Idempotency-Key and the query string', () => {
  it('requestHash: the query is part of the request; an empty query hashes as before', () => {
    const a = requestHash('DELETE', '/v1/subscriptions/sub_1', {}, { invoice_now: 'false' });
    const b = requestHash('DELETE', '/v1/subscriptions/sub_1', {}, { invoice_now: 'true' });
    expect(a).not.toBe(b);
    expect(requestHash('DELETE', '/v1/x', {}, { b: '1', a: '2' })).toBe(requestHash('DELETE', '/v1/x', {}, { a: '2', b: '1' }));
    expect(requestHash('POST', '/v1/x', { a: 1 }, {})).toBe(requestHash('POST', '/v1/x', { a: 1 }));
  });

  it('the same key on a DELETE with other query parameters is a 409 idempotency_error; the same query replays', async () => {
    const cus = await t.customer({ card: 'pm_card_visa' });
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: await t.priceId('group_monthly') }], trial_period_days: 0 } });
    const url = `/v1/subscriptions/${sub.body.id}`;
    const headers = { 'idempotency-key': 'http-del-query-1' };
    const first = await t.call({ method: 'DELETE', url: `${url}?invoice_now=false&prorate=false`, headers });
    expect(first.status).toBe(200);
    const replay = await t.call({ method: 'DELETE', url: `${url}?prorate=false&invoice_now=false`, headers });
    expect(replay.status).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const other = await t.call({ method: 'DELETE', url: `${url}?invoice_now=true&prorate=true`, headers });
    expect(other.status).toBe(409);
    expect(other.body.error.type).toBe('idempotency_error');
    expect(other.headers['idempotent-replayed']).toBeUndefined();
  });
});
