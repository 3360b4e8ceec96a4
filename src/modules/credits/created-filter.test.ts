import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { MAX_TIMESTAMP } from '../../http/schemas.js';

// GET /v1/credit_transactions?created=…: a transaction shows `created` in whole seconds while its row
// keeps the milliseconds of the request. The filter works on the second the transaction shows, as
// Stripe's does (and as GET /v1/events), and takes either an exact Unix timestamp or a range
// (gt, gte, lt, lte). The CSV export uses the same filter.

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const T0 = unix('2026-01-15T12:00:00Z');

let t: TestApp;
let customer = '';
let other = '';
/** Grant transactions of `customer`, one per second: A at T0 + 0.7 s, B at T0 + 1.2 s, C at T0 + 2 s. */
const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
const amounts = { a: 10, b: 20, c: 30 } as const;

async function grant(customerId: string, amount: number): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/credit_grants', payload: { customer: customerId, amount } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const tx = await t.call({ method: 'GET', url: `/v1/credit_transactions?grant=${res.body.id}` });
  expect(tx.body.data).toHaveLength(1);
  return tx.body.data[0].id;
}

beforeAll(async () => {
  t = await createTestApp({ start: '2026-01-15T12:00:00.700Z' });
  customer = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'c@example.com' } })).body.id;
  other = (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'o@example.com' } })).body.id;
  ids.a = await grant(customer, amounts.a);
  t.clock.set('2026-01-15T12:00:01.200Z');
  ids.b = await grant(customer, amounts.b);
  await grant(other, 99); // another customer's transaction in the same second as B
  t.clock.set('2026-01-15T12:00:02.000Z');
  ids.c = await grant(customer, amounts.c);
});
afterAll(() => t.close());

const letterOf = () => Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));

/** The customer's transactions a `created` query selects, as letters (newest first, as listed). */
async function pick(created: string): Promise<string[]> {
  const res = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${customer}&${created}` });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const byId = letterOf();
  return res.body.data.map((x: { id: string }) => byId[x.id] ?? x.id);
}

describe('GET /v1/credit_transactions created filter', () => {
  it('shows created in whole seconds', async () => {
    const res = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${customer}` });
    expect(res.body.data.map((x: { id: string; created: number }) => [x.id, x.created])).toEqual([
      [ids.c, T0 + 2],
      [ids.b, T0 + 1],
      [ids.a, T0],
    ]);
  });

  it('created[lte] includes transactions shown at that second, even with stored milliseconds', async () => {
    expect(await pick(`created[lte]=${T0 - 1}`)).toEqual([]);
    expect(await pick(`created[lte]=${T0}`)).toEqual(['a']);
    expect(await pick(`created[lte]=${T0 + 1}`)).toEqual(['b', 'a']);
    expect(await pick(`created[lte]=${T0 + 2}`)).toEqual(['c', 'b', 'a']);
  });

  it('created[gt] excludes transactions shown at that second', async () => {
    expect(await pick(`created[gt]=${T0 - 1}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gt]=${T0}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gt]=${T0 + 1}`)).toEqual(['c']);
    expect(await pick(`created[gt]=${T0 + 2}`)).toEqual([]);
  });

  it('created[gte] includes and created[lt] excludes transactions shown at that second', async () => {
    expect(await pick(`created[gte]=${T0}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gte]=${T0 + 1}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gte]=${T0 + 2}`)).toEqual(['c']);
    expect(await pick(`created[gte]=${T0 + 3}`)).toEqual([]);
    expect(await pick(`created[lt]=${T0}`)).toEqual([]);
    expect(await pick(`created[lt]=${T0 + 1}`)).toEqual(['a']);
    expect(await pick(`created[lt]=${T0 + 2}`)).toEqual(['b', 'a']);
    expect(await pick(`created[lt]=${T0 + 3}`)).toEqual(['c', 'b', 'a']);
  });

  it('combines bounds into one range', async () => {
    expect(await pick(`created[gte]=${T0 + 1}&created[lte]=${T0 + 1}`)).toEqual(['b']);
    expect(await pick(`created[gt]=${T0}&created[lt]=${T0 + 2}`)).toEqual(['b']);
    expect(await pick(`created[gt]=${T0}&created[lte]=${T0 + 2}`)).toEqual(['c', 'b']);
    expect(await pick(`created[gt]=${T0 + 1}&created[lt]=${T0 + 2}`)).toEqual([]);
  });

  it('accepts an exact timestamp (created=<integer>), matching the transactions shown at that second', async () => {
    expect(await pick(`created=${T0}`)).toEqual(['a']);
    expect(await pick(`created=${T0 + 1}`)).toEqual(['b']);
    expect(await pick(`created=${T0 + 2}`)).toEqual(['c']);
    expect(await pick(`created=${T0 - 1}`)).toEqual([]);
    expect(await pick(`created=${T0 + 3}`)).toEqual([]);
    // Without the customer filter: both customers' grants at T0 + 1, and only those.
    const all = await t.call({ method: 'GET', url: `/v1/credit_transactions?type=grant&created=${T0 + 1}` });
    expect(all.status).toBe(200);
    expect(all.body.data.map((x: { customer: string; amount: number; created: number }) => [x.customer, x.amount, x.created])).toEqual([
      [other, 99, T0 + 1],
      [customer, amounts.b, T0 + 1],
    ]);
  });

  it('accepts the extreme timestamps', async () => {
    expect(await pick(`created[lte]=${MAX_TIMESTAMP}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gt]=${MAX_TIMESTAMP}`)).toEqual([]);
    expect(await pick(`created=${MAX_TIMESTAMP}`)).toEqual([]);
    expect(await pick(`created[lt]=${MAX_TIMESTAMP}`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[gte]=0`)).toEqual(['c', 'b', 'a']);
    expect(await pick(`created[lte]=0`)).toEqual([]);
    expect(await pick(`created=0`)).toEqual([]);
  });

  it('paginates within the filter', async () => {
    const url = `/v1/credit_transactions?customer=${customer}&created[lte]=${T0 + 1}&limit=1`;
    const first = await t.call({ method: 'GET', url });
    expect(first.body.data.map((x: { id: string }) => x.id)).toEqual([ids.b]);
    expect(first.body.has_more).toBe(true);
    const next = await t.call({ method: 'GET', url: `${url}&starting_after=${ids.b}` });
    expect(next.body.data.map((x: { id: string }) => x.id)).toEqual([ids.a]);
    expect(next.body.has_more).toBe(false);
  });

  it('filters the CSV export the same way', async () => {
    /** The transaction ids of a CSV export (one row per entry, oldest first), without repeats. */
    const csvIds = async (created: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/credit_transactions?customer=${customer}&format=csv&${created}` });
      expect(res.status).toBe(200);
      const rows = (res.body as string).trim().split('\r\n').slice(1);
      const byId = letterOf();
      return [...new Set(rows.map((l) => l.split(',')[0]!))].map((id) => byId[id] ?? id);
    };
    expect(await csvIds(`created[lte]=${T0}`)).toEqual(['a']);
    expect(await csvIds(`created[gt]=${T0}`)).toEqual(['b', 'c']);
    expect(await csvIds(`created=${T0 + 1}`)).toEqual(['b']);
    expect(await csvIds(`created[lte]=${MAX_TIMESTAMP}`)).toEqual(['a', 'b', 'c']);
  });

  it('rejects malformed created filters with a 400 naming the parameter', async () => {
    const bad = async (query: string) => {
      const res = await t.call({ method: 'GET', url: `/v1/credit_transactions?${query}` });
      expect(res.status, query).toBe(400);
      return res.body.error as { type: string; code: string; param?: string; message: string };
    };
    expect(await bad('created=abc')).toMatchObject({ type: 'invalid_request_error', param: 'created', code: 'parameter_invalid' });
    expect((await bad('created=abc')).message).toContain('Unix timestamp');
    expect(await bad('created=-1')).toMatchObject({ param: 'created', code: 'parameter_invalid' });
    expect(await bad('created=1.5')).toMatchObject({ param: 'created' });
    expect(await bad(`created=${MAX_TIMESTAMP + 1}`)).toMatchObject({ param: 'created' });
    expect(await bad(`created[lte]=${MAX_TIMESTAMP + 1}`)).toMatchObject({ param: 'created[lte]', code: 'parameter_invalid' });
    expect(await bad('created[gte]=abc')).toMatchObject({ param: 'created' });
    expect(await bad('created[eq]=1')).toMatchObject({ param: 'created[eq]', code: 'parameter_unknown' });
  });
});
