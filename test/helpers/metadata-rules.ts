import { expect } from 'vitest';
import type { TestApp } from './app.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));

/**
 * The shared metadata rules (mergeMetadata) against one update endpoint: a "" value unsets its key,
 * metadata="" unsets every key, at most 50 keys after the merge (400 on metadata, nothing written).
 * `get` reads the object back.
 */
export async function checkMetadataRules(t: Pick<TestApp, 'call'>, url: string, get: () => Promise<Record<string, string>>): Promise<void> {
  const first = await t.call({ method: 'POST', url, payload: { metadata: { keep: '1', drop: '2' } } });
  expect(first.status, JSON.stringify(first.body)).toBe(200);
  const unset = await t.call({ method: 'POST', url, payload: { metadata: { drop: '' } } });
  expect(unset.body.metadata).toEqual({ keep: '1' });
  const all = await t.call({ method: 'POST', url, payload: 'metadata=', headers: form });
  expect(all.status).toBe(200);
  expect(all.body.metadata).toEqual({});
  expect((await t.call({ method: 'POST', url, payload: { metadata: fifty } })).status).toBe(200);
  const tooMany = await t.call({ method: 'POST', url, payload: { metadata: { extra: 'v' } } });
  expect(tooMany.status).toBe(400);
  expect(tooMany.body.error).toMatchObject({ type: 'invalid_request_error', param: 'metadata' });
  expect(Object.keys(await get())).toHaveLength(50);
}
