import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../../../test/helpers/billing.js';

// Test clocks (Stripe's test_helpers): CRUD, the refusals of advance, and an advance that runs the
// billing of the clock's customers at the clock's time.

let t: Awaited<ReturnType<typeof createBillingApp>>;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const NOW = unix('2026-01-15T12:00:00Z');
const url = '/v1/test_helpers/test_clocks';

describe('test clocks', () => {
  it('creates, retrieves, lists and deletes clocks', async () => {
    const created = await t.call({ method: 'POST', url, payload: { frozen_time: unix('2026-03-01T00:00:00Z'), name: 'March' } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      id: created.body.id,
      object: 'test_helpers.test_clock',
      created: NOW,
      deletes_after: NOW + 30 * 86400,
      frozen_time: unix('2026-03-01T00:00:00Z'),
      livemode: false,
      name: 'March',
      status: 'ready',
      status_details: {},
    });
    expect(created.body.id).toMatch(/^clock_/);
    const second = await t.call({ method: 'POST', url, payload: { frozen_time: String(unix('2025-12-31T23:59:59Z')) } });
    expect(second.body).toMatchObject({ name: null, frozen_time: unix('2025-12-31T23:59:59Z') });

    const got = await t.call({ method: 'GET', url: `${url}/${created.body.id}` });
    expect(got.body).toEqual(created.body);

    const listed = await t.call({ method: 'GET', url: `${url}?limit=2` });
    expect(listed.body).toMatchObject({ object: 'list', url });
    expect(listed.body.data.map((c: { id: string }) => c.id)).toEqual([second.body.id, created.body.id]);
    const paged = await t.call({ method: 'GET', url: `${url}?limit=1` });
    expect(paged.body.data.map((c: { id: string }) => c.id)).toEqual([second.body.id]);
    expect(paged.body.has_more).toBe(true);

    const del = await t.call({ method: 'DELETE', url: `${url}/${second.body.id}` });
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ id: second.body.id, object: 'test_helpers.test_clock', deleted: true });
    const gone = await t.call({ method: 'GET', url: `${url}/${second.body.id}` });
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
    expect((await t.call({ method: 'DELETE', url: `${url}/${second.body.id}` })).status).toBe(404);
    const advanceDeleted = await t.call({ method: 'POST', url: `${url}/${second.body.id}/advance`, payload: { frozen_time: NOW } });
    expect(advanceDeleted.status).toBe(404);
    expect(advanceDeleted.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
    expect((await t.call({ method: 'GET', url: `${url}?limit=100` })).body.data.map((c: { id: string }) => c.id)).not.toContain(second.body.id);
    expect((await t.call({ method: 'GET', url: `${url}/clock_missing` })).status).toBe(404);
    expect((await t.call({ method: 'POST', url: `${url}/clock_missing/advance`, payload: { frozen_time: NOW } })).status).toBe(404);
  });

  it('refuses to advance backwards or to the same instant, and leaves the clock as it was', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    for (const to of ['2026-02-28T00:00:00Z', '2026-03-01T00:00:00Z']) {
      const res = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix(to) } });
      expect(res.status, to).toBe(400);
      expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'frozen_time', code: 'parameter_invalid' });
    }
    // Without subscriptions one advance covers at most two years (Stripe's rule); year 9999 would
    // otherwise be a request that runs for ever.
    for (const [to, code] of [
      ['2028-03-01T00:00:01Z', 'test_clock_advance_too_far'],
      ['9999-12-31T23:59:59Z', 'parameter_invalid'], // past the last time a clock may show (9900-01-01)
    ]) {
      const res = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix(to!) } });
      expect(res.status, to).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'frozen_time', code });
    }
    expect((await t.call({ method: 'GET', url: `${url}/${clock}` })).body).toMatchObject({ status: 'ready', frozen_time: unix('2026-03-01T00:00:00Z') });
    const twoYears = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2028-03-01T00:00:00Z') } });
    expect(twoYears.body).toMatchObject({ status: 'ready', frozen_time: unix('2028-03-01T00:00:00Z') });
  });

  it('refuses to advance a clock that is already advancing, or that failed', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    await t.testDb.db.query(`UPDATE test_clocks SET status = 'advancing', advancing_since = $2 WHERE id = $1`, [clock, t.clock.now()]);
    const busy = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2026-03-02T00:00:00Z') } });
    expect(busy.status).toBe(400);
    expect(busy.body.error.code).toBe('test_clock_advancing');
    await t.testDb.db.query(`UPDATE test_clocks SET status = 'internal_failure' WHERE id = $1`, [clock]);
    const failed = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2026-03-02T00:00:00Z') } });
    expect(failed.status).toBe(400);
    expect(failed.body.error.code).toBe('test_clock_internal_failure');
    expect((await t.call({ method: 'GET', url: `${url}/${clock}` })).body).toMatchObject({ status: 'internal_failure', frozen_time: unix('2026-03-01T00:00:00Z') });
  });

  it('rejects bad params, naming them', async () => {
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    const cases: [string, unknown, string, string][] = [
      [url, {}, 'frozen_time', 'parameter_missing'],
      [url, { frozen_time: 'soon' }, 'frozen_time', 'parameter_invalid'],
      [url, { frozen_time: -1 }, 'frozen_time', 'parameter_invalid'],
      [url, { frozen_time: NOW, name: 'n'.repeat(301) }, 'name', 'parameter_invalid'],
      [url, { frozen_time: NOW, colour: 'red' }, 'colour', 'parameter_unknown'],
      [`${url}/${clock}/advance`, {}, 'frozen_time', 'parameter_missing'],
      [`${url}/${clock}/advance`, { frozen_time: '2026-04-01' }, 'frozen_time', 'parameter_invalid'],
      [`${url}/${clock}/advance`, { frozen_time: NOW + 86400 * 90, name: 'x' }, 'name', 'parameter_unknown'],
    ];
    for (const [u, payload, param, code] of cases) {
      const res = await t.call({ method: 'POST', url: u, payload: payload as object });
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(res.body.error, JSON.stringify(payload)).toMatchObject({ param, code });
    }
    expect((await t.call({ method: 'GET', url: `${url}/${clock}` })).body.frozen_time).toBe(unix('2026-03-01T00:00:00Z'));
  });

  it('puts customers on a clock only if it exists', async () => {
    const missing = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', test_clock: 'clock_missing' } });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'test_clock' });
    const clock = await t.clockAt('2026-03-01T00:00:00Z');
    await t.call({ method: 'DELETE', url: `${url}/${clock}` });
    const deleted = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', test_clock: clock } });
    expect(deleted.status).toBe(404);
    expect(deleted.body.error.param).toBe('test_clock');
    const live = await t.clockAt('2026-03-01T00:00:00Z');
    const ok = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'x@example.com', test_clock: live } });
    expect(ok.status).toBe(200);
    expect(ok.body.test_clock).toBe(live);
    expect((await t.call({ method: 'GET', url: `/v1/customers?test_clock=${live}` })).body.data.map((c: { id: string }) => c.id)).toEqual([ok.body.id]);
  });

  it('advancing runs the clock customers’ renewals at the clock’s time, and nobody else’s', async () => {
    const clock = await t.clockAt('2026-01-31T10:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const other = await t.customer({ card: 'pm_card_visa' });
    const communityMonthly = await t.priceId('community_monthly');
    const sub = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: cus, items: [{ price: communityMonthly }], trial_end: 'now' } });
    expect(sub.body).toMatchObject({ status: 'active', test_clock: clock, current_period_start: unix('2026-01-31T10:00:00Z'), created: unix('2026-01-31T10:00:00Z') });
    const outside = await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: other, items: [{ price: communityMonthly }], trial_end: 'now' } });
    expect(outside.body.current_period_end).toBe(unix('2026-02-15T12:00:00Z'));

    // One advance covers at most two intervals of the clock's shortest subscription (Stripe's rule):
    // two months from Jan 31 10:00 is Mar 31 10:00, so an hour later is refused and nothing runs.
    const tooFar = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2026-03-31T11:00:00Z') } });
    expect(tooFar.status).toBe(400);
    expect(tooFar.body.error).toMatchObject({ code: 'test_clock_advance_too_far', param: 'frozen_time' });
    expect(tooFar.body.error.message).toContain(String(unix('2026-03-31T10:00:00Z')));
    expect((await t.call({ method: 'GET', url: `${url}/${clock}` })).body).toMatchObject({ status: 'ready', frozen_time: unix('2026-01-31T10:00:00Z') });
    expect(await t.invoices(sub.body.id)).toHaveLength(1);

    expect((await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2026-03-01T00:00:00Z') } })).status).toBe(200);
    const res = await t.call({ method: 'POST', url: `${url}/${clock}/advance`, payload: { frozen_time: unix('2026-03-31T11:00:00Z') } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: clock, status: 'ready', frozen_time: unix('2026-03-31T11:00:00Z') });

    const invs = await t.invoices(sub.body.id);
    expect(invs.map((i) => [i.billing_reason, i.status, i.amount_paid, iso(i.period_start), iso(i.period_end)])).toEqual([
      ['subscription_create', 'paid', 9_700, '2026-01-31T10:00:00Z', '2026-02-28T10:00:00Z'],
      ['subscription_cycle', 'paid', 9_700, '2026-02-28T10:00:00Z', '2026-03-31T10:00:00Z'],
      ['subscription_cycle', 'paid', 9_700, '2026-03-31T10:00:00Z', '2026-04-30T10:00:00Z'],
    ]);
    expect((await t.sub(sub.body.id)).current_period_end).toBe(unix('2026-04-30T10:00:00Z'));
    // The customer off the clock lives at the app's time: its subscription did not renew.
    expect((await t.invoices(outside.body.id)).length).toBe(1);
    // Renewal drafts are finalized and charged an hour after the period starts (finalizeDelaySeconds).
    const pis = await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${cus}` });
    expect(pis.body.data.map((p: { amount: number; status: string; created: number }) => [p.amount, p.status, iso(p.created)])).toEqual([
      [9_700, 'succeeded', '2026-03-31T11:00:00Z'],
      [9_700, 'succeeded', '2026-02-28T11:00:00Z'],
      [9_700, 'succeeded', '2026-01-31T10:00:00Z'],
    ]);
  });
});

describe('an advance that died mid-way', () => {
  it('leaves the clock advancing until its heartbeat is older than the lease, then another advance takes it over', async () => {
    const created = await t.call({ method: 'POST', url, payload: { frozen_time: unix('2026-03-01T00:00:00Z') } });
    const id = created.body.id as string;
    // What a process killed between two steps leaves behind: status advancing, its last heartbeat now.
    await t.testDb.db.query(`UPDATE test_clocks SET status = 'advancing', advancing_since = $2 WHERE id = $1`, [id, t.clock.now()]);
    const busy = await t.call({ method: 'POST', url: `${url}/${id}/advance`, payload: { frozen_time: unix('2026-03-02T00:00:00Z') } });
    expect([busy.status, busy.body.error.code]).toEqual([400, 'test_clock_advancing']);

    t.clock.set(new Date(t.clock.now().getTime() + 301_000)); // past the 300 s lease
    try {
      const taken = await t.call({ method: 'POST', url: `${url}/${id}/advance`, payload: { frozen_time: unix('2026-03-02T00:00:00Z') } });
      expect([taken.status, taken.body.status, taken.body.frozen_time]).toEqual([200, 'ready', unix('2026-03-02T00:00:00Z')]);
      const { rows } = await t.testDb.db.query<{ advancing_since: Date | null }>(`SELECT advancing_since FROM test_clocks WHERE id = $1`, [id]);
      expect(rows[0]!.advancing_since).toBeNull();
    } finally {
      t.clock.set(new Date(NOW * 1000));
    }
  });
});
