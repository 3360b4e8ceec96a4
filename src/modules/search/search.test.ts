import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from '../../../test/helpers/billing.js';
import { errorOf, ok } from '../../../test/scenarios/support.js';

// GET /v1/<resource>/search with Stripe's query language, against the real tables.

let t: Awaited<ReturnType<typeof createBillingApp>>;
const ids: Record<string, string> = {};

const search = async (resource: string, query: string, extra = '') =>
  t.call({ method: 'GET', url: `/v1/${resource}/search?query=${encodeURIComponent(query)}${extra}` });
const found = async (resource: string, query: string) => {
  const r = await search(resource, query);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.data as { id: string }[]).map((o) => o.id);
};

beforeAll(async () => {
  t = await createBillingApp('2026-02-01T00:00:00Z');
  const customer = async (name: string, payload: Record<string, unknown>) => {
    ids[name] = (await ok(t, 'POST', '/v1/customers', payload)).id;
    t.clock.advance(86_400_000); // a day apart, for the created ranges
  };
  await customer('ann', { email: 'ann@example.com', name: 'Ann Lee', metadata: { tier: 'elite' } });
  await customer('bob', { email: 'Bob@Example.com', name: 'Bob Stone', phone: '+14155550100', metadata: { tier: 'community' } });
  await customer('carol', { name: 'Carol Lee' });
  await customer('dave', { email: 'dave@example.com', name: 'Dave Gone' });
  await ok(t, 'DELETE', `/v1/customers/${ids.dave}`);

  for (const who of ['ann', 'bob']) {
    const pm = await ok(t, 'POST', '/v1/payment_methods/pm_card_visa/attach', { customer: ids[who] });
    await ok(t, 'POST', `/v1/customers/${ids[who]}`, { invoice_settings: { default_payment_method: pm.id } });
  }
  ids.annSub = (await ok(t, 'POST', '/v1/subscriptions', { customer: ids.ann, items: [{ price: await t.priceId('group_monthly') }], trial_end: 'now', metadata: { source: 'web' } })).id;
  ids.bobSub = (await ok(t, 'POST', '/v1/subscriptions', { customer: ids.bob, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' })).id;
  await ok(t, 'DELETE', `/v1/subscriptions/${ids.bobSub}`);
});
afterAll(() => t.close());

describe('search', () => {
  it('finds customers by email (any case), name substring, phone, metadata and created, newest first', async () => {
    expect(await found('customers', 'email:"bob@example.com"')).toEqual([ids.bob]);
    expect(await found('customers', 'name~"lee"')).toEqual([ids.carol, ids.ann]);
    expect(await found('customers', 'phone:"+14155550100"')).toEqual([ids.bob]);
    expect(await found('customers', `metadata['tier']:'elite'`)).toEqual([ids.ann]);
    // Metadata values are tokens: case-sensitive.
    expect(await found('customers', `metadata['tier']:'Elite'`)).toEqual([]);
    // Ann was created on Feb 1, Bob on Feb 2, Carol on Feb 3 (00:00 UTC).
    expect(await found('customers', `created>=${unix('2026-02-02T00:00:00Z')} created<${unix('2026-02-03T00:00:00Z')}`)).toEqual([ids.bob]);
    expect(await found('customers', `created:${unix('2026-02-03T00:00:00Z')}`)).toEqual([ids.carol]);
    expect(await found('customers', `created>${unix('2026-02-02T00:00:00Z')}`)).toEqual([ids.carol]);
    // Deleted customers are not found.
    expect(await found('customers', 'email:"dave@example.com"')).toEqual([]);
  });

  it('negates (rows without the field match), ORs and tests for null', async () => {
    // Carol has no email: she is among those whose email is not Ann's.
    expect(await found('customers', '-email:"ann@example.com"')).toEqual([ids.carol, ids.bob]);
    expect(await found('customers', 'email:null')).toEqual([ids.carol]);
    expect(await found('customers', `-metadata['tier']:null`)).toEqual([ids.bob, ids.ann]);
    expect(await found('customers', 'name:"Carol Lee" OR email:"ann@example.com"')).toEqual([ids.carol, ids.ann]);
  });

  it('searches subscriptions, invoices, payment intents, prices and products by their fields', async () => {
    expect(await found('subscriptions', `status:"active" metadata["source"]:"web"`)).toEqual([ids.annSub]);
    expect(await found('subscriptions', `status:"canceled"`)).toEqual([ids.bobSub]);

    const annInvoice = (await ok(t, 'GET', `/v1/subscriptions/${ids.annSub}`)).latest_invoice as string;
    const bobInvoice = (await ok(t, 'GET', `/v1/subscriptions/${ids.bobSub}`)).latest_invoice as string;
    // Group is 150,000 a month, Community 9,700.
    expect(await found('invoices', 'total>100000 status:"paid"')).toEqual([annInvoice]);
    expect(await found('invoices', `customer:"${ids.bob}"`)).toEqual([bobInvoice]);
    expect(await found('invoices', `subscription:"${ids.annSub}" currency:"USD"`)).toEqual([annInvoice]);

    const pis = await found('payment_intents', 'amount:9700 status:"succeeded"');
    expect(pis).toHaveLength(1);
    expect((await ok(t, 'GET', `/v1/payment_intents/${pis[0]}`)).customer).toBe(ids.bob);

    const elite = await found('prices', 'lookup_key:"elite_monthly" active:"true"');
    expect(elite).toEqual([await t.priceId('elite_monthly')]);
    const product = (await ok(t, 'GET', `/v1/prices/${elite[0]}`)).product as string;
    expect(await found('prices', `product:"${product}" lookup_key:"elite_monthly"`)).toEqual(elite);
    const products = (await search('products', 'name~"coaching"')).body.data as { id: string; name: string }[];
    expect(products.map((p) => p.id)).toContain(product);
    expect(products.every((p) => /coaching/i.test(p.name))).toBe(true);
  });

  it('pages with next_page, counts with expand[]=total_count, expands data.customer', async () => {
    const first = await search('customers', '-name:"nobody"', '&limit=2&expand[]=total_count');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'search_result', url: '/v1/customers/search', has_more: true, total_count: 3 });
    expect(first.body.data.map((c: { id: string }) => c.id)).toEqual([ids.carol, ids.bob]);
    const second = await search('customers', '-name:"nobody"', `&limit=2&page=${first.body.next_page}`);
    expect(second.body).toMatchObject({ has_more: false, next_page: null });
    expect(second.body.data.map((c: { id: string }) => c.id)).toEqual([ids.ann]);
    expect(second.body.total_count).toBeUndefined();

    const expanded = await search('subscriptions', 'status:"active"', '&expand[]=data.customer');
    expect(expanded.body.data[0].customer).toMatchObject({ id: ids.ann, object: 'customer', email: 'ann@example.com' });
  });

  it('answers a bad query or page with a 400 on its parameter', async () => {
    expect(errorOf(await search('customers', 'shoe_size:"9"'))).toEqual([400, 'parameter_invalid', 'query']);
    expect((await search('customers', 'shoe_size:"9"')).body.error.message).toContain('Field `shoe_size` is an unsupported search field for resource `customers`');
    expect(errorOf(await search('subscriptions', 'status:"active" AND created>1 OR created<2'))).toEqual([400, 'parameter_invalid', 'query']);
    expect(errorOf(await search('customers', 'name~"an"'))).toEqual([400, 'parameter_invalid', 'query']);
    expect(errorOf(await search('invoices', 'total>"lots"'))).toEqual([400, 'parameter_invalid', 'query']);
    expect(errorOf(await search('customers', 'email:"x"', '&page=page_bm90IGFuIGlk!'))).toEqual([400, 'parameter_invalid', 'page']);
    expect(errorOf(await t.call({ method: 'GET', url: '/v1/customers/search' }))).toEqual([400, 'parameter_missing', 'query']);
    expect(errorOf(await search('customers', 'email:"x"', '&limit=101'))).toEqual([400, 'parameter_invalid', 'limit']);
  });

  it('answers any query built from the language with 200 or a 400 on query, never a 5xx', async () => {
    const resources = ['customers', 'subscriptions', 'invoices', 'payment_intents', 'prices', 'products'];
    const fields = ['email', 'name', 'phone', 'created', 'status', 'total', 'amount', 'currency', 'customer', 'active', 'lookup_key', 'metadata["tier"]', 'metadata', 'number', 'nope'];
    const values = ['"ann"', "'x'", '"true"', 'null', '0', '-5', '1700000000', '9223372036854775808', '253402300800', '99999999999999', '"é\\"q"', '""', '1.5'];
    const clause = fc.tuple(fc.constantFrom('', '-'), fc.constantFrom(...fields), fc.constantFrom(':', '~', '>', '<', '>=', '<='), fc.constantFrom(...values)).map((p) => p.join(''));
    const query = fc.tuple(fc.array(clause, { minLength: 1, maxLength: 4 }), fc.constantFrom(' ', ' AND ', ' OR ', ' and ')).map(([cs, j]) => cs.join(j));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...resources), query, async (resource, q) => {
        const r = await search(resource, q);
        if (r.status === 200) expect(r.body.object).toBe('search_result');
        else expect([r.status, r.body.error?.param], `${resource}: ${q}`).toEqual([400, 'query']);
      }),
      { numRuns: Number(process.env.SEARCH_FUZZ_RUNS ?? 300), seed: process.env.SEARCH_FUZZ_SEED ? Number(process.env.SEARCH_FUZZ_SEED) : undefined },
    );
  });
});
