import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';

// Credit note metadata updates follow the shared rules (mergeMetadata): at most 50
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
  it('POST /v1/credit_notes/{id}', async () => {
    const cus = await t.customer({});
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: cus, amount: 5_000, currency: 'usd' } });
    const inv = (await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: cus, collection_method: 'send_invoice', days_until_due: 30 } })).body;
    await t.call({ method: 'POST', url: `/v1/invoices/${inv.id}/finalize`, payload: {} });
    const cn = await t.call({ method: 'POST', url: '/v1/credit_notes', payload: { invoice: inv.id, amount: 1_000, metadata: { a: '' } } });
    expect(cn.status, JSON.stringify(cn.body)).toBe(200);
    // On create, a "" value is no key at all.
    expect(cn.body.metadata).toEqual({});
    await checkMetadataRules(`/v1/credit_notes/${cn.body.id}`, async () => (await t.call({ method: 'GET', url: `/v1/credit_notes/${cn.body.id}` })).body.metadata);
  });
});
