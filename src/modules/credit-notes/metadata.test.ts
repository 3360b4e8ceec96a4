import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { checkMetadataRules } from '../../../test/helpers/metadata-rules.js';

// Credit note metadata updates follow the shared rules (mergeMetadata): at most 50
// keys after the merge (400 on metadata, nothing written), a "" value unsets its key, metadata=""
// unsets every key.

let t: Awaited<ReturnType<typeof createBillingApp>>;

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

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
    await checkMetadataRules(t, `/v1/credit_notes/${cn.body.id}`, async () => (await t.call({ method: 'GET', url: `/v1/credit_notes/${cn.body.id}` })).body.metadata);
  });
});
