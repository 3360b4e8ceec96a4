import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// Dunning plan metadata updates follow the shared rules (mergeMetadata): at most 50
// keys after the merge (400 on metadata, nothing written), a "" value unsets its key, metadata=""
// unsets every key.

type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

/** Runs the shared metadata checks against one update endpoint; `get` reads the object back. */
async function checkMetadataRules(url: string, get: () => Promise<Record<string, string>>) {
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

describe('metadata updates', () => {
  it('POST /v1/dunning_plans/{id}', async () => {
    const plan = await t.call({
      method: 'POST',
      url: '/v1/dunning_plans',
      payload: { key: 'metadata_rules', name: 'Metadata rules', steps: [{ after_hours: 24 }], final_action: { subscription: 'cancel', invoice: 'leave_open' }, metadata: { a: '' } },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.metadata).toEqual({});
    await checkMetadataRules(`/v1/dunning_plans/${plan.body.id}`, async () => (await t.call({ method: 'GET', url: `/v1/dunning_plans/${plan.body.id}` })).body.metadata);
  });
});
