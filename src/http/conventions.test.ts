import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { testConfig } from '../config.js';
import { ManualClock } from '../core/time/index.js';
import type { Db } from '../db/index.js';
import { createTestApp, type TestApp } from '../../test/helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const countCustomers = async () => (await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers')).rows[0]!.n;

describe('authentication and scopes', () => {
  it('401 without a key or with a wrong one, in the error format', async () => {
    const none = await t.call({ method: 'GET', url: '/v1/customers', key: null });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ type: 'authentication_error', code: 'api_key_invalid' });
    const wrong = await t.call({ method: 'GET', url: '/v1/customers', key: 'sk_nope' });
    expect(wrong.status).toBe(401);
  });

  it('403 when the scope is too small; read keys read, write keys write, admin manages keys', async () => {
    const read = await t.keyFor('read');
    expect((await t.call({ method: 'GET', url: '/v1/customers', key: read })).status).toBe(200);
    const denied = await t.call({ method: 'POST', url: '/v1/customers', payload: { name: 'x' }, key: read });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ type: 'permission_error', code: 'insufficient_scope' });
    const write = await t.keyFor('write');
    expect((await t.call({ method: 'POST', url: '/v1/customers', payload: { name: 'x' }, key: write })).status).toBe(200);
    expect((await t.call({ method: 'GET', url: '/v1/api_keys', key: write })).status).toBe(403);
  });

  it('creates and revokes keys through the API; a revoked key is refused at once', async () => {
    const created = await t.call({ method: 'POST', url: '/v1/api_keys', payload: { name: 'ci', scope: 'read' } });
    expect(created.status).toBe(200);
    expect(created.body.secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.body.redacted).toBe(`sk_…${created.body.secret.slice(-4)}`);
    const stored = await t.testDb.db.query<{ hash: string }>('SELECT hash FROM api_keys WHERE id = $1', [created.body.id]);
    expect(stored.rows[0]!.hash).not.toContain(created.body.secret.slice(3));
    expect((await t.call({ method: 'GET', url: '/v1/customers', key: created.body.secret })).status).toBe(200);
    const revoked = await t.call({ method: 'POST', url: `/v1/api_keys/${created.body.id}/revoke` });
    expect(revoked.body.revoked).toBe(1768478400);
    expect((await t.call({ method: 'GET', url: '/v1/customers', key: created.body.secret })).status).toBe(401);
  });
});

describe('idempotency', () => {
  it('replays the stored response for the same key and body, with Idempotent-Replayed', async () => {
    const before = await countCustomers();
    const req = { method: 'POST' as const, url: '/v1/customers', payload: { email: 'idem@example.com' }, headers: { 'idempotency-key': 'k-1' } };
    const first = await t.call(req);
    const second = await t.call(req);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await countCustomers()).toBe(before + 1);
  });

  it('refuses the same key with a different body', async () => {
    await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'a@example.com' }, headers: { 'idempotency-key': 'k-2' } });
    const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'b@example.com' }, headers: { 'idempotency-key': 'k-2' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ type: 'idempotency_error', code: 'idempotency_key_in_use' });
  });

  it('executes concurrent requests with the same key once', async () => {
    const before = await countCustomers();
    const req = { method: 'POST' as const, url: '/v1/customers', payload: { email: 'race@example.com' }, headers: { 'idempotency-key': 'k-race' } };
    const results = await Promise.all(Array.from({ length: 8 }, () => t.call(req)));
    // The later requests wait for the first to commit, then replay its response.
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(7);
    expect(await countCustomers()).toBe(before + 1);
  });

  it('stores a business error for the key: a retry gets the same error', async () => {
    const req = { method: 'POST' as const, url: '/v1/customers/cus_missing', payload: { name: 'x' }, headers: { 'idempotency-key': 'k-err' } };
    const first = await t.call(req);
    const second = await t.call(req);
    expect(first.status).toBe(404);
    expect(second.status).toBe(404);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');
  });

  it('keys expire after 24 hours', async () => {
    const req = { method: 'POST' as const, url: '/v1/customers', payload: { email: 'exp@example.com' }, headers: { 'idempotency-key': 'k-exp' } };
    const first = await t.call(req);
    t.clock.advance(24 * 3600 * 1000 + 1000);
    const second = await t.call(req);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('bad input', () => {
  it('malformed JSON → 400 invalid_request_error, nothing written', async () => {
    const before = await countCustomers();
    const res = await t.call({ method: 'POST', url: '/v1/customers', headers: { 'content-type': 'application/json' }, payload: '{"email": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(await countCustomers()).toBe(before);
  });

  it('body over 1 MB → 413', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { description: 'x'.repeat(1024 * 1024 + 10) } });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'body_too_large' });
  });

  it('unknown route → 404 in the error format; unknown query param → 400 naming it', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/nope' });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'route_not_found' });
    const q = await t.call({ method: 'GET', url: '/v1/customers?colour=red' });
    expect(q.status).toBe(400);
    expect(q.body.error).toMatchObject({ param: 'colour', code: 'parameter_unknown' });
  });

  it('unsupported content type → 415', async () => {
    const res = await t.call({ method: 'POST', url: '/v1/customers', headers: { 'content-type': 'text/xml' }, payload: '<a/>' });
    expect(res.status).toBe(415);
    expect(res.body.error.type).toBe('invalid_request_error');
  });
});

describe('rate limit', () => {
  it('429 with Retry-After once a key exceeds its rate', async () => {
    const limited = await createTestApp({ config: { rateLimit: 2 } });
    try {
      const statuses: number[] = [];
      let retryAfter: unknown;
      for (let i = 0; i < 6; i++) {
        const r = await limited.call({ method: 'GET', url: '/v1/customers' });
        statuses.push(r.status);
        if (r.status === 429) retryAfter = r.headers['retry-after'];
      }
      // Burst is 2 × rate = 4 requests.
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses[4]).toBe(429);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('operations', () => {
  it('health answers ok with a database round trip, 503 when the database is down', async () => {
    const ok = await t.call({ method: 'GET', url: '/health', key: null });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'ok', database: 'ok' });
    const broken: Db = {
      kind: 'postgres',
      query: async () => {
        throw new Error('connection refused');
      },
      exec: async () => undefined,
      tx: async () => {
        throw new Error('connection refused');
      },
      close: async () => undefined,
    };
    const { app } = await buildApp({ db: broken, clock: new ManualClock('2026-01-01T00:00:00Z'), config: testConfig() });
    const down = await app.inject({ method: 'GET', url: '/health' });
    expect(down.statusCode).toBe(503);
    expect(JSON.parse(down.body)).toMatchObject({ status: 'unavailable', database: 'down' });
    await app.close();
  });

  it('metrics expose process metrics and the HTTP histogram by route and status', async () => {
    await t.call({ method: 'GET', url: '/v1/customers' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('recur_process_cpu_user_seconds_total');
    expect(res.body).toMatch(/recur_http_request_duration_seconds_count\{method="GET",route="\/v1\/customers",status_code="200"\} \d+/);
  });

  it('serves the OpenAPI 3.1 document and the docs page', async () => {
    const doc = await t.call({ method: 'GET', url: '/openapi.json', key: null });
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/customers', '/v1/customers/{id}', '/v1/events']));
    expect(doc.body.paths['/v1/customers'].post.requestBody.content['application/x-www-form-urlencoded']).toBeDefined();
    // Numbers accept their string spelling (zInt is a preprocess): documented as the final check, and required when they are.
    const pi = doc.body.paths['/v1/payment_intents'].post.requestBody.content['application/json'].schema;
    expect(pi.required).toEqual(expect.arrayContaining(['amount', 'currency', 'customer']));
    expect(pi.required).not.toContain('payment_method');
    expect(pi.properties.amount).toMatchObject({ type: 'integer', minimum: 1 });
    expect(pi.properties.metadata).toBeDefined();
    expect(pi.required).not.toContain('metadata');
    const limit = doc.body.paths['/v1/customers'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit).toMatchObject({ required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } });
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('a NUL character anywhere in the input is a 400 naming the parameter, not a database error', async () => {
    const body = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'nul@example.com', address: { line1: 'a\u0000b' } } });
    expect(body.status).toBe(400);
    expect(body.body.error).toMatchObject({ type: 'invalid_request_error', code: 'parameter_invalid', param: 'address[line1]' });
    const path = await t.call({ method: 'GET', url: '/v1/customers/cus_%00' });
    expect(path.status).toBe(400);
    expect(path.body.error.param).toBe('id');
    const query = await t.call({ method: 'GET', url: '/v1/customers?starting_after=%00' });
    expect(query.status).toBe(400);
    expect(query.body.error.param).toBe('starting_after');
    const list = await t.call({ method: 'GET', url: '/v1/customers?email=nul@example.com' });
    expect(list.body.data).toEqual([]);
  });

  it('every response carries a Request-Id', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/customers' });
    expect(String(res.headers['request-id'])).toMatch(/^req_/);
  });
});
