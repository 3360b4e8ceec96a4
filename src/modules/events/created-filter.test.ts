import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { MAX_TIMESTAMP } from '../../http/schemas.js';
import { createdBounds } from '../../http/schemas.js';

// GET /v1/events?created=…: an event shows `created` in whole seconds while its row keeps the
// milliseconds of the request. The filter works on the second the event shows, as Stripe's does,
// and takes either an exact Unix timestamp or a range (gt, gte, lt, lte).

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const T0 = unix('2026-01-15T12:00:00Z');

let t: TestApp;
/** customer.created events, one per second: A at T0 + 0.7 s, B at T0 + 1.2 s, C at T0 + 2 s. */
const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
/** The customers those events are about. */
const customers: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };

async function createCustomer(key: 'a' | 'b' | 'c'): Promise<void> {
  const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: `${key}@example.com` } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const ev = await t.call({ method: 'GET', url: `/v1/events?type=customer.created&object_id=${res.body.id}` });
  expect(ev.body.data).toHaveLength(1);
  customers[key] = res.body.id;
  ids[key] = ev.body.data[0].id;
}

beforeAll(async () => {
  t = await createTestApp({ start: '2026-01-15T12:00:00.700Z' });
  await createCustomer('a');
  t.clock.set('2026-01-15T12:00:01.200Z');
  await createCustomer('b');
  t.clock.set('2026-01-15T12:00:02.000Z');
  await createCustomer('c');
});
afterAll(() => t.close());

/** The customer.created events a `created` query selects, as letters (newest first, as listed). */
async function pick(created: string): Promise<string[]> {
  const res = await t.call({ method: 'GET', url: `/v1/events?type=customer.created&${created}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return res.body.data.map((e: { id: string }) => byId[e.id] ?? e.id);
}

describe('GET /v1/events created filter', () => {
  it('shows created in whole seconds', async () => {
    const res = await t.call({ method: 'GET', url: '/v1/events?type=customer.created' });
    expect(res.body.data.map((e: { id: string; created: number }) => [e.id, e.created])).toEqual([
      [ids.c, T0 + 2],
      [ids.b, T0 + 1],
      [ids.a, T0],
    ]);
  });

  it('created[lte] includes events shown at that second, even with stored milliseconds', async () => {
    expect(await pick(`created[lte]=${T0 - 1}`)).toEqual([]);
    expect(await pick(`created[lte]=${T0}`)).toEqual(['a']);
    expect(await pick(`created[lte]=${T0 + 1}`)).toEqual(['b', 'a']);
    expect(await pick(`created[lte]=${T0 + 2}`)).toEqual(['c', 'b', 'a']);
  });

  it('created[gt] excludes events shown at that second', async () => {
    expect(await pick(`created[gt]=${T0 - 1}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gt]=${T0}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gt]=${T0 + 1}`)).toEqual(['c']);
    expect(await pick(`created[gt]=${T0 + 2}`)).toEqual([]);
  });

  it('created[gte] includes and created[lt] excludes events shown at that second', async () => {
    expect(await pick(`created[gte]=${T0}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gte]=${T0 + 1}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gte]=${T0 + 3}`)).toEqual([]);
    expect(await pick(`created[lt]=${T0}`)).toEqual([]);
    expect(await pick(`created[lt]=${T0 + 1}`)).toEqual(['a']);
    expect(await pick(`created[lt]=${T0 + 2}`)).toEqual(['b', 'a']);
  });

  it('combines bounds into one range', async () => {
    expect(await pick(`created[gte]=${T0 + 1}&created[lte]=${T0 + 1}`)).toEqual(['b']);
    expect(await pick(`created[gt]=${T0}&created[lt]=${T0 + 2}`)).toEqual(['b']);
    expect(await pick(`created[gt]=${T0}&created[lte]=${T0 + 2}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gt]=${T0 + 1}&created[lt]=${T0 + 2}`)).toEqual([]);
  });

  it('accepts an exact timestamp (created=<integer>), matching the events shown at that second', async () => {
    expect(await pick(`created=${T0}`)).toEqual(['a']);
    expect(await pick(`created=${T0 + 1}`)).toEqual(['b']);
    expect(await pick(`created=${T0 + 2}`)).toEqual(['c']);
    expect(await pick(`created=${T0 - 1}`)).toEqual([]);
    expect(await pick(`created=${T0 + 3}`)).toEqual([]);
    // With other filters: one object's events at the second they show.
    const r = await t.call({ method: 'GET', url: `/v1/events?object_id=${customers.b}&created=${T0 + 1}` });
    expect(r.status).toBe(200);
    expect(r.body.data.map((e: { id: string }) => e.id)).toEqual([ids.b]);
    const other = await t.call({ method: 'GET', url: `/v1/events?object_id=${customers.b}&created=${T0}` });
    expect([other.status, other.body.data]).toEqual([200, []]);
  });

  it('accepts the extreme timestamps', async () => {
    expect(await pick(`created[lte]=${MAX_TIMESTAMP}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gt]=${MAX_TIMESTAMP}`)).toEqual([]);
    expect(await pick(`created=${MAX_TIMESTAMP}`)).toEqual([]);
    expect(await pick(`created[gte]=0`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created=0`)).toEqual([]);
  });

  it('paginates within the filter', async () => {
    const first = await t.call({ method: 'GET', url: `/v1/events?type=customer.created&created[lte]=${T0 + 1}&limit=1` });
    expect(first.body.data.map((e: { id: string }) => e.id)).toEqual([ids.b]);
    expect(first.body.has_more).toBe(true);
    const next = await t.call({ method: 'GET', url: `/v1/events?type=customer.created&created[lte]=${T0 + 1}&limit=1&starting_after=${ids.b}` });
    expect(next.body.data.map((e: { id: string }) => e.id)).toEqual([ids.a]);
    expect(next.body.has_more).toBe(false);
  });

  it('rejects malformed created filters with a 400 naming the parameter', async () => {
    const bad = async (query: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/events?${query}` });
      expect(res.status, query).toBe(400);
      return res.body.error as { type: string; code: string; param?: string; message: string };
    };
    expect(await bad('created=abc')).toMatchObject({ type: 'invalid_request_error', param: 'created', code: 'parameter_invalid' });
    expect((await bad('created=abc')).message).toContain('Unix timestamp');
    expect(await bad('created=-1')).toMatchObject({ param: 'created', code: 'parameter_invalid' });
    expect(await bad('created=1.5')).toMatchObject({ param: 'created' });
    expect(await bad(`created=${MAX_TIMESTAMP + 1}`)).toMatchObject({ param: 'created' });
    expect(await bad('created[gte]=abc')).toMatchObject({ param: 'created' });
    expect(await bad('created[eq]=1')).toMatchObject({ param: 'created[eq]', code: 'parameter_unknown' });
  });
});

describe('createdBounds', () => {
  it('turns whole-second filters into half-open bounds (Unix seconds) on the stored instant', () => {
    expect(createdBounds(undefined)).toEqual([]);
    expect(createdBounds(100)).toEqual([
      ['>=', 100],
      ['<', 101],
    ]);
    expect(createdBounds({})).toEqual([]);
    expect(createdBounds({ gte: 100 })).toEqual([['>=', 100]]);
    expect(createdBounds({ gt: 100 })).toEqual([['>=', 101]]);
    expect(createdBounds({ lte: 100 })).toEqual([['<', 101]]);
    expect(createdBounds({ lt: 100 })).toEqual([['<', 100]]);
    expect(createdBounds({ gt: 1, lte: 5 })).toEqual([
      ['>=', 2],
      ['<', 6],
    ]);
  });
});
