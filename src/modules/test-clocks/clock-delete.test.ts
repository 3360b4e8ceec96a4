import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, unix } from '../../../test/helpers/billing.js';

// Deleting a test clock deletes the test objects attached to it, as on Stripe: its customers'
// subscriptions end at the clock's frozen time, their open invoices are voided and their drafts
// deleted, and the customers are deleted, each with its usual event. A clock that is advancing is
// not deleted.

let t: Awaited<ReturnType<typeof createBillingApp>>;
let monthly: string;
let course: string;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
  monthly = await t.priceId('community_monthly');
  course = await t.priceId('course_onetime');
});
afterAll(() => t.close());

const url = '/v1/test_helpers/test_clocks';

async function ok(req: Parameters<typeof t.call>[0]) {
  const res = await t.call(req);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

async function events(customer: string, type: string): Promise<{ type: string; created: number; data: { object: Record<string, unknown> } }[]> {
  return (await ok({ method: 'GET', url: `/v1/events?type=${type}&customer=${customer}&limit=100` })).data;
}

describe('deleting a test clock', () => {
  it('ends its customers’ subscriptions at the clock’s time, voids or deletes their invoices, and deletes the customers', async () => {
    const clock = await t.clockAt('2026-01-10T08:00:00Z');
    // A: an active subscription with a renewal draft pending (finalized an hour after the period
    // starts), and a trialing one.
    const a = await t.customer({ clock, card: 'pm_card_visa' });
    const active = await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: monthly }], trial_end: 'now' } });
    const trialing = await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: monthly }], trial_period_days: 30 } });
    expect([active.status, trialing.status]).toEqual(['active', 'trialing']);
    await t.advance(clock, '2026-02-10T08:30:00Z');
    const FROZEN = unix('2026-02-10T08:30:00Z');
    const renewalDraft = (await t.invoices(active.id)).at(-1)!;
    expect([renewalDraft.billing_reason, renewalDraft.status]).toEqual(['subscription_cycle', 'draft']);

    // B: one open manual invoice and one draft.
    const b = await t.customer({ clock });
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: b, price: course } });
    const open = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: b, collection_method: 'send_invoice', days_until_due: 30 } });
    expect((await ok({ method: 'POST', url: `/v1/invoices/${open.id}/finalize` })).status).toBe('open');
    await ok({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: b, price: course } });
    const draft = await ok({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: b } });
    expect(draft.status).toBe('draft');

    // C: deleted before the clock, its subscription still active (deleting a customer leaves them).
    const c = await t.customer({ clock, card: 'pm_card_visa' });
    const cSub = await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: c, items: [{ price: monthly }], trial_end: 'now' } });
    await ok({ method: 'DELETE', url: `/v1/customers/${c}` });

    // D: off the clock, untouched.
    const d = await t.customer({ card: 'pm_card_visa' });
    const dSub = await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: d, items: [{ price: monthly }], trial_end: 'now' } });

    const del = await t.call({ method: 'DELETE', url: `${url}/${clock}` });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: clock, object: 'test_helpers.test_clock', deleted: true });
    expect((await t.call({ method: 'GET', url: `${url}/${clock}` })).status).toBe(404);

    // Subscriptions: ended at the clock's frozen time.
    for (const id of [active.id, trialing.id, cSub.id]) {
      expect(await t.sub(id), id).toMatchObject({
        status: 'canceled',
        canceled_at: FROZEN,
        ended_at: FROZEN,
        cancel_at_period_end: false,
        cancellation_details: { reason: 'cancellation_requested', comment: null, feedback: null },
      });
    }
    expect((await t.sub(dSub.id)).status).toBe('active');

    // Invoices: the open one voided at the clock's time, the manual draft deleted. A subscription's
    // draft stays a draft (deleteDraft refuses those); nothing ever finalizes it now.
    expect(await ok({ method: 'GET', url: `/v1/invoices/${open.id}` })).toMatchObject({ status: 'void', amount_remaining: 0, status_transitions: { voided_at: FROZEN } });
    const gone = await t.call({ method: 'GET', url: `/v1/invoices/${draft.id}` });
    expect([gone.status, gone.body.error?.code]).toEqual([404, 'resource_missing']);
    expect((await ok({ method: 'GET', url: `/v1/invoices/${renewalDraft.id}` })).status).toBe('draft');
    const stillPending = await ok({ method: 'GET', url: `/v1/invoiceitems?customer=${b}&pending=true` });
    expect(stillPending.data).toHaveLength(1);

    // Customers: deleted, as DELETE /v1/customers/:id leaves them.
    for (const id of [a, b, c]) expect(await ok({ method: 'GET', url: `/v1/customers/${id}` })).toEqual({ id, object: 'customer', deleted: true });
    expect((await ok({ method: 'GET', url: `/v1/customers/${d}` })).deleted).toBeUndefined();

    // A deleted customer takes no new subscription.
    const again = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: a, items: [{ price: monthly }], trial_end: 'now' } });
    expect(again.status).toBe(404);
    expect(again.body.error).toMatchObject({ type: 'invalid_request_error', code: 'resource_missing' });

    // Events, written at the clock's time.
    const subDeleted = await events(a, 'customer.subscription.deleted');
    expect(subDeleted.map((e) => [e.data.object.id, e.data.object.status, e.created]).sort()).toEqual(
      [
        [active.id, 'canceled', FROZEN],
        [trialing.id, 'canceled', FROZEN],
      ].sort(),
    );
    expect((await events(c, 'customer.subscription.deleted')).map((e) => [e.data.object.id, e.created])).toEqual([[cSub.id, FROZEN]]);
    expect((await events(a, 'customer.deleted')).map((e) => [e.data.object.id, e.created])).toEqual([[a, FROZEN]]);
    expect((await events(b, 'customer.deleted')).map((e) => [e.data.object.id, e.created])).toEqual([[b, FROZEN]]);
    // C was deleted once, before the clock, at the clock's time as every change of a clock's customer
    // (its subscription ended with it, above).
    expect((await events(c, 'customer.deleted')).map((e) => [e.data.object.id, e.created])).toEqual([[c, FROZEN]]);
    expect((await events(b, 'invoice.voided')).map((e) => [e.data.object.id, e.created])).toEqual([[open.id, FROZEN]]);
    expect((await events(b, 'invoice.deleted')).map((e) => [e.data.object.id, e.created])).toEqual([[draft.id, FROZEN]]);
    expect(await events(d, 'customer.subscription.deleted')).toEqual([]);
  });

  it('refuses while the clock is advancing, and deletes one whose advance died or failed', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await ok({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: monthly }], trial_end: 'now' } });
    await t.testDb.db.query(`UPDATE test_clocks SET status = 'advancing', advancing_since = $2 WHERE id = $1`, [clock, t.clock.now()]);

    const busy = await t.call({ method: 'DELETE', url: `${url}/${clock}` });
    expect(busy.status).toBe(400);
    expect(busy.body.error).toMatchObject({ type: 'invalid_request_error', code: 'test_clock_advancing', param: 'id' });
    // Nothing was touched.
    expect((await ok({ method: 'GET', url: `${url}/${clock}` })).status).toBe('advancing');
    expect((await t.sub(sub.id)).status).toBe('active');
    expect((await ok({ method: 'GET', url: `/v1/customers/${cus}` })).deleted).toBeUndefined();
    expect(await events(cus, 'customer.deleted')).toEqual([]);

    // Past the advance lease the advance is dead (another advance could take the clock over): deletable.
    const start = t.clock.now();
    t.clock.set(new Date(start.getTime() + 301_000));
    try {
      expect((await t.call({ method: 'DELETE', url: `${url}/${clock}` })).status).toBe(200);
    } finally {
      t.clock.set(start);
    }
    expect(await t.sub(sub.id)).toMatchObject({ status: 'canceled', ended_at: unix('2026-03-01T00:00:00Z') });
    expect((await ok({ method: 'GET', url: `/v1/customers/${cus}` })).deleted).toBe(true);

    // A clock that failed while advancing can only be deleted.
    const failed = await t.clockAt('2026-03-01T00:00:00Z');
    const fCus = await t.customer({ clock: failed });
    await t.testDb.db.query(`UPDATE test_clocks SET status = 'internal_failure' WHERE id = $1`, [failed]);
    expect((await t.call({ method: 'DELETE', url: `${url}/${failed}` })).status).toBe(200);
    expect((await ok({ method: 'GET', url: `/v1/customers/${fCus}` })).deleted).toBe(true);
  });
});
