import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';

// Stripe's customer.subscriptions: absent from a customer unless expanded (expand[]=subscriptions, as
// integrations ask for it to show a member's plans), then the first page of the customer's
// subscriptions not ended, newest first — the list GET /v1/customers/{id}/subscriptions pages through.

let t: TestApp & BillingHelpers;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

describe('customer.subscriptions', () => {
  it('is included only when expanded: the live subscriptions, newest first, expandable further', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    const sub = (lookup: string) => t.priceId(lookup).then((price) => t.ok('POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now' }));
    const community = await sub('community_monthly');
    const group = await sub('group_monthly');
    const ended = await sub('elite_monthly');
    await t.ok('DELETE', `/v1/subscriptions/${ended.id}`);

    expect(Object.hasOwn(await t.ok('GET', `/v1/customers/${customer}`), 'subscriptions')).toBe(false);
    const c = await t.ok('GET', `/v1/customers/${customer}?expand[]=subscriptions&expand[]=subscriptions.data.latest_invoice`);
    expect([c.subscriptions.object, c.subscriptions.url, c.subscriptions.has_more]).toEqual(['list', `/v1/customers/${customer}/subscriptions`, false]);
    expect(c.subscriptions.data.map((s: { id: string }) => s.id)).toEqual([group.id, community.id]);
    expect(c.subscriptions.data.map((s: { latest_invoice: { total: number } }) => s.latest_invoice.total)).toEqual([150_000, 9_700]);
    // In a list of customers too, and the list itself pages and filters as GET /v1/subscriptions does.
    const listed = await t.ok('GET', `/v1/customers?email=${encodeURIComponent((await t.ok('GET', `/v1/customers/${customer}`)).email)}&expand[]=data.subscriptions`);
    expect(listed.data.find((x: { id: string }) => x.id === customer).subscriptions.data.length).toBe(2);
    const page = await t.ok('GET', `/v1/customers/${customer}/subscriptions?limit=1`);
    expect([page.data.map((s: { id: string }) => s.id), page.has_more]).toEqual([[group.id], true]);
    expect((await t.ok('GET', `/v1/customers/${customer}/subscriptions?status=canceled`)).data.map((s: { id: string }) => s.id)).toEqual([ended.id]);
    const missing = await t.call({ method: 'GET', url: '/v1/customers/cus_missing/subscriptions' });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'resource_missing']);
  });
});
