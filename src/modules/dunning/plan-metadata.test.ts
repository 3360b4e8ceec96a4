import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { checkMetadataRules } from '../../../test/helpers/metadata-rules.js';

// Dunning plan metadata updates follow the shared rules (mergeMetadata): at most 50
// keys after the merge (400 on metadata, nothing written), a "" value unsets its key, metadata=""
// unsets every key.

let t: Awaited<ReturnType<typeof createBillingApp>>;

beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('metadata updates', () => {
  it('POST /v1/dunning_plans/{id}', async () => {
    const plan = await t.call({
      method: 'POST',
      url: '/v1/dunning_plans',
      payload: { key: 'metadata_rules', name: 'Metadata rules', steps: [{ after_hours: 24 }], final_action: { subscription: 'cancel', invoice: 'leave_open' }, metadata: { a: '' } },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(200);
    expect(plan.body.metadata).toEqual({});
    await checkMetadataRules(t, `/v1/dunning_plans/${plan.body.id}`, async () => (await t.call({ method: 'GET', url: `/v1/dunning_plans/${plan.body.id}` })).body.metadata);
  });
});
