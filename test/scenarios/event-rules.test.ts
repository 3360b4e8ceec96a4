import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../helpers/billing.js';
import { communityOnClock, get, update, type BillingApp } from './support.js';

// Events (issue 3 item 9) and the Stripe SDK as a client (item 12): rules an audit found broken once.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const latest = async (type: string, customer: string): Promise<any> => (await get(t, `/v1/events?type=${type}&customer=${customer}&limit=1`)).data[0];

describe('data.previous_attributes of nested hashes', () => {
  // Stripe changelog 2015-01-26: "Updates the presentation of nested hashes in the previous_attributes
  // property of events to only show the difference. For example, a change from {address: {line1: "Foo",
  // line2: "Bar"}} to {address: {line1: "Foo", line2: "Baz"}} is represented as
  // {previous_attributes: {address: {line2: "Bar"}}}". Arrays are shown whole.
  it('lists only the changed sub-keys of a nested object (address, metadata, items)', async () => {
    const { customer, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { address: { line1: 'Foo', city: 'Bar' }, metadata: { k: 'v' } } });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { address: { line1: 'Foo', city: 'Baz' }, metadata: { k2: 'v2' } } });
    const cu = await latest('customer.updated', customer);
    expect.soft(cu.data.object.address).toMatchObject({ line1: 'Foo', city: 'Baz' });
    expect.soft(cu.data.previous_attributes).toEqual({ address: { city: 'Bar' }, metadata: { k2: null } });

    await update(t, sub.id, { metadata: { a: '1' } });
    await update(t, sub.id, { metadata: { b: '2' } });
    const su = await latest('customer.subscription.updated', customer);
    expect.soft(su.data.previous_attributes).toEqual({ metadata: { b: null } });

    // items is a list hash: only its changed `data` array, not object/url/has_more.
    await update(t, sub.id, { items: [{ id: sub.items.data[0].id, quantity: 2 }] });
    const qu = await latest('customer.subscription.updated', customer);
    expect.soft(Object.keys(qu.data.previous_attributes.items)).toEqual(['data']);
    expect.soft(qu.data.previous_attributes.items.data[0].quantity).toBe(1);
  });
});

describe('DELETE /v1/subscriptions/{id} with invoice_now', () => {
  // Stripe Subscription.latest_invoice: "The most recent invoice this subscription has generated."
  // invoice_now: "Will generate a final invoice that invoices for any un-invoiced metered usage and
  // new/pending proration invoice items."
  it('points latest_invoice at the final invoice it generates', async () => {
    const { clock, sub } = await communityOnClock(t, '2026-03-01T00:00:00Z');
    await t.advance(clock, '2026-03-16T12:00:00Z');
    const res = await t.call({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}?invoice_now=true&prorate=true` });
    expect(res.status).toBe(200);
    const invoices = await t.invoices(sub.id);
    expect(invoices).toHaveLength(2);
    const final = invoices[1]!;
    // 9 700 × 15.5 / 31 days unused → −4 850 credited on the final invoice.
    expect(final).toMatchObject({ total: -4_850 });
    expect(res.body.latest_invoice).toBe(final.id);
    expect((await get(t, `/v1/subscriptions/${sub.id}`)).latest_invoice).toBe(final.id);
  });
});

describe('GET /v1/events pagination cursors', () => {
  // Stripe answers an unknown cursor with invalid_request_error "No such …" on param starting_after
  // (stripe/stripe-node#258, brandur: {"error": {"type": "invalid_request_error", "message": "No such
  // account: acct_…false", "param": "starting_after"}}). Recur compares the string with ids instead and
  // answers the newest page (has_more true), so a typo restarts a sync from the top.
  it('starting_after naming no event is an invalid_request_error on starting_after', async () => {
    await communityOnClock(t, '2026-03-01T00:00:00Z');
    const res = await t.call({ method: 'GET', url: '/v1/events?starting_after=evt_missing' });
    expect([400, 404]).toContain(res.status);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing', param: 'starting_after' });
  });

  // Stripe: "Received both starting_after and ending_before parameters. Please pass in only one." (400)
  it('starting_after together with ending_before is a 400', async () => {
    await communityOnClock(t, '2026-03-01T00:00:00Z');
    const ids = (await get(t, '/v1/events?limit=5')).data.map((e: { id: string }) => e.id);
    const res = await t.call({ method: 'GET', url: `/v1/events?starting_after=${ids[1]}&ending_before=${ids[4]}` });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error' });
  });
});
