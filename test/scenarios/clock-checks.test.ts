// Test clocks and the billing worker, checked by an audit against Stripe's documented behaviour (regression
// tests; the one defect it found, status_details while advancing, is in src/modules/test-clocks/advance-race.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp, iso, unix } from '../helpers/billing.js';
import { subscribe, get } from './support.js';
import { seedDunning } from '../../src/modules/dunning/seed.js';
import { loadConfig } from '../../src/config.js';
import { Worker } from '../../src/jobs/worker.js';
import { allJobs } from '../../src/jobs/registry.js';
type T = Awaited<ReturnType<typeof createBillingApp>>;
let t: T;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
  await t.testDb.db.tx((q) => seedDunning(q, t.clock.now()));
});
afterAll(async () => { await t.close(); });

const post = (url: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) => t.call({ method: 'POST', url, payload, headers });
const CL = '/v1/test_helpers/test_clocks';

describe('create / retrieve / list / delete', () => {
  it('create validation', async () => {
    const miss = await post(CL, { name: 'x' });
    expect([miss.status, miss.body.error?.param]).toEqual([400, 'frozen_time']);
    const long = await post(CL, { frozen_time: unix('2026-01-01T00:00:00Z'), name: 'x'.repeat(301) });
    expect([long.status, long.body.error?.param]).toEqual([400, 'name']);
    const ok300 = await post(CL, { frozen_time: unix('2026-01-01T00:00:00Z'), name: 'x'.repeat(300) });
    expect(ok300.status).toBe(200);
    const far = await post(CL, { frozen_time: unix('9901-01-01T00:00:00Z') });
    expect([far.status, far.body.error?.param]).toEqual([400, 'frozen_time']);
    const past = await post(CL, { frozen_time: unix('2000-01-01T00:00:00Z') });
    expect(past.status).toBe(200);
    expect(past.body.frozen_time).toBe(unix('2000-01-01T00:00:00Z'));
    const notnum = await post(CL, { frozen_time: 'tomorrow' });
    expect([notnum.status, notnum.body.error?.param]).toEqual([400, 'frozen_time']);
    const extra = await post(CL, { frozen_time: unix('2026-01-01T00:00:00Z'), foo: 1 });
    expect(extra.status).toBe(400);
  });

  it('shape, retrieve, list with pagination, delete', async () => {
    const c = await post(CL, { frozen_time: unix('2026-03-01T00:00:00Z'), name: 'shape' });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ object: 'test_helpers.test_clock', frozen_time: unix('2026-03-01T00:00:00Z'), livemode: false, name: 'shape', status: 'ready', created: unix('2026-01-15T12:00:00Z') });
    expect(c.body.id).toMatch(/^clock_/);
    const got = await get(t, `${CL}/${c.body.id}`);
    expect(got).toEqual(c.body);
    const ids: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await get(t, `${CL}?limit=2${after ? `&starting_after=${after}` : ''}`);
      expect(page.object).toBe('list');
      expect(page.data.length).toBeLessThanOrEqual(2);
      ids.push(...page.data.map((d: { id: string }) => d.id));
      if (!page.has_more) break;
      after = page.data[page.data.length - 1].id;
    }
    expect(ids).toContain(c.body.id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = await get(t, `${CL}?limit=100`);
    expect(all.data.map((d: { id: string }) => d.id)).toEqual(ids);
    const del = await t.call({ method: 'DELETE', url: `${CL}/${c.body.id}` });
    expect(del.body).toEqual({ id: c.body.id, object: 'test_helpers.test_clock', deleted: true });
    expect((await t.call({ method: 'GET', url: `${CL}/${c.body.id}` })).status).toBe(404);
    expect((await t.call({ method: 'DELETE', url: `${CL}/${c.body.id}` })).status).toBe(404);
    expect((await post(`${CL}/${c.body.id}/advance`, { frozen_time: unix('2026-03-02T00:00:00Z') })).status).toBe(404);
    const cus = await post('/v1/customers', { email: 'z@x.com', test_clock: c.body.id });
    expect([cus.status, cus.body.error?.param]).toEqual([404, 'test_clock']);
    const after2 = await get(t, `${CL}?limit=100`);
    expect(after2.data.map((d: { id: string }) => d.id)).not.toContain(c.body.id);
    expect((await t.call({ method: 'GET', url: `${CL}?limit=101` })).status).toBe(400);
  });

  it('delete removes customers and ends subscriptions', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.call({ method: 'DELETE', url: `${CL}/${clock}` });
    const c = await t.call({ method: 'GET', url: `/v1/customers/${cus}` });
    expect(c.body.deleted === true || c.status === 404).toBe(true);
    const s = await t.call({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect(s.body.status).toBe('canceled');
    expect(s.body.ended_at).toBe(unix('2026-01-01T00:00:00Z'));
  });
});

describe('advance', () => {
  it('refuses non-later frozen_time and enforces the two-interval limit', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    for (const ft of [unix('2026-01-01T00:00:00Z'), unix('2025-12-31T00:00:00Z')]) {
      const r = await post(`${CL}/${clock}/advance`, { frozen_time: ft });
      expect([r.status, r.body.error?.param]).toEqual([400, 'frozen_time']);
    }
    // no subscription: two years
    const tooFar = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2028-01-01T00:00:01Z') });
    expect([tooFar.status, tooFar.body.error?.code]).toEqual([400, 'test_clock_advance_too_far']);
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    await subscribe(t, { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const r2 = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-03-01T00:00:01Z') });
    expect([r2.status, r2.body.error?.code]).toEqual([400, 'test_clock_advance_too_far']);
    expect((await get(t, `${CL}/${clock}`)).frozen_time).toBe(unix('2026-01-01T00:00:00Z'));
    const ok = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-03-01T00:00:00Z') });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: 'ready', frozen_time: unix('2026-03-01T00:00:00Z'), status_details: {} });
  });

  it('runs due work in time order with created = due instant; other clocks and real-time objects untouched', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const other = await t.clockAt('2026-01-01T00:00:00Z');
    const price = await t.priceId('community_monthly');
    const a = await t.customer({ clock, card: 'pm_card_visa', email: 'a@x.com' });
    const b = await t.customer({ clock, card: 'pm_card_chargeCustomerFail', email: 'b@x.com' });
    const o = await t.customer({ clock: other, card: 'pm_card_visa', email: 'o@x.com' });
    const r = await t.customer({ card: 'pm_card_visa', email: 'r@x.com' });
    const s1 = await subscribe(t, { customer: a, items: [{ price }], trial_period_days: 10 });
    const s2 = await subscribe(t, { customer: b, items: [{ price }], trial_period_days: 5 });
    const s3 = await subscribe(t, { customer: a, items: [{ price }], trial_end: 'now', cancel_at_period_end: true });
    const so = await subscribe(t, { customer: o, items: [{ price }], trial_end: 'now' });
    const sr = await subscribe(t, { customer: r, items: [{ price }], trial_end: 'now' });
    expect([s1.created, s1.current_period_start, s1.trial_end]).toEqual([unix('2026-01-01T00:00:00Z'), unix('2026-01-01T00:00:00Z'), unix('2026-01-11T00:00:00Z')]);
    expect([sr.created, sr.current_period_start]).toEqual([unix('2026-01-15T12:00:00Z'), unix('2026-01-15T12:00:00Z')]);
    const before = (await get(t, `/v1/events?limit=1`)).data[0].id as string;
    const res = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-02-15T00:00:00Z') });
    expect(res.status).toBe(200);
    const evs: { id: string; type: string; created: number; data: { object: any } }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    let after: string | undefined;
    for (;;) {
      const page = await get(t, `/v1/events?limit=100${after ? `&starting_after=${after}` : ''}`);
      const fresh = page.data.filter((e: { id: string }) => e.id > before);
      evs.push(...fresh);
      if (!page.has_more || fresh.length < page.data.length) break;
      after = page.data[page.data.length - 1].id;
    }
    evs.sort((x, y) => (x.id < y.id ? -1 : 1));
    // created non-decreasing in insertion order
    for (let i = 1; i < evs.length; i++) expect(evs[i]!.created, `${evs[i - 1]!.type} then ${evs[i]!.type}`).toBeGreaterThanOrEqual(evs[i - 1]!.created);
    const objId = (e: any) => e.data.object.subscription ?? e.data.object.id; // eslint-disable-line @typescript-eslint/no-explicit-any
    const at = (type: string, id: string) => evs.filter((e) => e.type === type && objId(e) === id).map((e) => iso(e.created));
    expect(at('customer.subscription.trial_will_end', s2.id)).toEqual(['2026-01-03T00:00:00Z']);
    expect(at('customer.subscription.trial_will_end', s1.id)).toEqual(['2026-01-08T00:00:00Z']);
    expect(at('invoice.created', s1.id)).toEqual(['2026-01-11T00:00:00Z', '2026-02-11T00:00:00Z']);
    expect(at('invoice.paid', s1.id)).toEqual(['2026-01-11T01:00:00Z', '2026-02-11T01:00:00Z']);
    expect(at('customer.subscription.deleted', s3.id)).toEqual(['2026-02-01T00:00:00Z']);
    const fails = at('invoice.payment_failed', s2.id);
    expect(fails[0]).toBe('2026-01-06T01:00:00Z');
    expect(fails.length).toBeGreaterThan(2); // retries
    // no event of the advance carries the target time unless due then; none after target
    expect(evs.every((e) => e.created <= unix('2026-02-15T00:00:00Z'))).toBe(true);
    expect(evs.every((e) => e.data.object.customer === undefined || [a, b].includes(e.data.object.customer) || e.data.object.id === a || e.data.object.id === b)).toBe(true);
    // other clock / real time untouched
    expect((await t.invoices(so.id)).length).toBe(1);
    expect((await t.invoices(sr.id)).length).toBe(1);
    expect((await get(t, `${CL}/${other}`)).frozen_time).toBe(unix('2026-01-01T00:00:00Z'));
    // invoices use clock time
    const inv = (await t.invoices(s1.id))[1]!;
    const full = await get(t, `/v1/invoices/${inv.id}`);
    expect([full.created, full.status_transitions.finalized_at, full.status_transitions.paid_at, full.period_start]).toEqual([
      unix('2026-01-11T00:00:00Z'), unix('2026-01-11T01:00:00Z'), unix('2026-01-11T01:00:00Z'), unix('2026-01-11T00:00:00Z'),
    ]);
    const s1now = await t.sub(s1.id);
    expect([s1now.status, s1now.current_period_start, s1now.current_period_end]).toEqual(['active', unix('2026-02-11T00:00:00Z'), unix('2026-03-11T00:00:00Z')]);
  }, 60_000);

});

describe('clock time for objects', () => {
  it('customer cannot change clock', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const other = await t.clockAt('2026-01-01T00:00:00Z');
    const c = await t.customer({ clock });
    const r = await post(`/v1/customers/${c}`, { test_clock: other });
    expect(r.status).toBe(400);
    expect((await get(t, `/v1/customers/${c}`)).test_clock).toBe(clock);
    const list = await get(t, `/v1/customers?test_clock=${clock}`);
    expect(list.data.map((x: any) => x.id)).toEqual([c]); // eslint-disable-line @typescript-eslint/no-explicit-any
  });

  it('timestamps validated against the clock time (clock behind real time)', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z'); // real time Jan 15 12:00
    const price = await t.priceId('community_monthly');
    const c = await t.customer({ clock, card: 'pm_card_visa' });
    const s = await post('/v1/subscriptions', { customer: c, items: [{ price }], trial_end: unix('2026-01-10T00:00:00Z') });
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.trial_end).toBe(unix('2026-01-10T00:00:00Z'));
    const s2 = await post('/v1/subscriptions', { customer: c, items: [{ price }], trial_end: 'now', billing_cycle_anchor: unix('2026-01-10T00:00:00Z') });
    expect(s2.status, JSON.stringify(s2.body)).toBe(200);
    const s3 = await post(`/v1/subscriptions/${s2.body.id}`, { cancel_at: unix('2026-01-12T00:00:00Z') });
    expect(s3.status, JSON.stringify(s3.body)).toBe(200);
  });

  it('timestamps validated against the clock time (clock ahead of real time)', async () => {
    const clock = await t.clockAt('2027-01-01T00:00:00Z');
    const price = await t.priceId('community_monthly');
    const c = await t.customer({ clock, card: 'pm_card_visa' });
    const s = await post('/v1/subscriptions', { customer: c, items: [{ price }], trial_end: unix('2026-06-01T00:00:00Z') });
    expect([s.status, s.body.error?.param]).toEqual([400, 'trial_end']);
    const ok = await subscribe(t, { customer: c, items: [{ price }], trial_end: 'now' });
    expect([ok.created, ok.current_period_start, ok.current_period_end]).toEqual([unix('2027-01-01T00:00:00Z'), unix('2027-01-01T00:00:00Z'), unix('2027-02-01T00:00:00Z')]);
    const u = await post(`/v1/subscriptions/${ok.id}`, { cancel_at: unix('2026-06-01T00:00:00Z') });
    expect([u.status, u.body.error?.param]).toEqual([400, 'cancel_at']);
    const p = await post(`/v1/subscriptions/${ok.id}`, { pause_collection: { behavior: 'void', resumes_at: unix('2026-06-01T00:00:00Z') } });
    expect(p.status).toBe(400);
  });
});

describe('worker and config', () => {
  it('real-time worker leaves test-clock objects alone', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const price = await t.priceId('community_monthly');
    const c = await t.customer({ clock, card: 'pm_card_visa' });
    const sc = await subscribe(t, { customer: c, items: [{ price }], trial_end: 'now' });
    const r = await t.customer({ card: 'pm_card_visa' });
    const sr = await subscribe(t, { customer: r, items: [{ price }], trial_end: 'now' });
    const worker = new Worker({ db: t.testDb.db, clock: t.clock, logger: t.app.log, deps: t.deps as any }, allJobs()); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const when of ['2026-02-15T12:00:00Z', '2026-02-15T13:00:00Z', '2026-03-15T12:00:00Z', '2026-03-15T13:00:00Z', '2026-03-20T00:00:00Z']) {
      t.clock.set(new Date(when));
      await worker.drain();
    }
    expect((await t.invoices(sc.id)).length).toBe(1);
    expect((await t.sub(sc.id)).current_period_end).toBe(unix('2026-02-01T00:00:00Z'));
    const ri = await t.invoices(sr.id);
    expect(ri.map((i) => [i.status, iso(i.period_start)])).toEqual([['paid', '2026-01-15T12:00:00Z'], ['paid', '2026-02-15T12:00:00Z'], ['paid', '2026-03-15T12:00:00Z']]);
    expect((await get(t, `${CL}/${clock}`)).frozen_time).toBe(unix('2026-01-01T00:00:00Z'));
    t.clock.set(new Date('2026-01-15T12:00:00Z'));
  }, 60_000);

  it('RECUR_WORKER', () => {
    expect(loadConfig({}).worker).toBe(true);
    expect(loadConfig({ RECUR_WORKER: 'false' }).worker).toBe(false);
    expect(loadConfig({ RECUR_WORKER: '0' }).worker).toBe(false);
    expect(() => loadConfig({ RECUR_WORKER: 'nope' })).toThrow(/RECUR_WORKER/);
  });
});

describe('more clock checks', () => {
  it('idempotent retry of an advance replays the first answer', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    await subscribe(t, { customer: cus, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    const h = { 'idempotency-key': 'adv-1' };
    const first = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-02-10T00:00:00Z') }, h);
    expect(first.status).toBe(200);
    const again = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-02-10T00:00:00Z') }, h);
    expect([again.status, again.body]).toEqual([200, first.body]);
    const other = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-02-11T00:00:00Z') }, h);
    expect(other.status).toBe(409); // ADR 0002: idempotency conflict is 409
    expect(other.body.error?.type).toBe('idempotency_error');
  });
  it('manual invoice and payment on a clock customer use clock time; events automatic', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const ii = await post('/v1/invoiceitems', { customer: cus, amount: 5000, currency: 'usd', description: 'x' });
    expect(ii.status, JSON.stringify(ii.body)).toBe(200);
    expect(ii.body.date ?? ii.body.created).toBe(unix('2026-01-01T00:00:00Z'));
    const inv = await post('/v1/invoices', { customer: cus, pending_invoice_items_behavior: 'include' });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    expect(inv.body.created).toBe(unix('2026-01-01T00:00:00Z'));
    const fin = await post(`/v1/invoices/${inv.body.id}/finalize`, {});
    expect(fin.body.status_transitions.finalized_at).toBe(unix('2026-01-01T00:00:00Z'));
    const paid = await post(`/v1/invoices/${inv.body.id}/pay`, {});
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body.status_transitions.paid_at).toBe(unix('2026-01-01T00:00:00Z'));
    const pis = await get(t, `/v1/payment_intents?customer=${cus}`);
    expect(pis.data.map((p: any) => p.created)).toEqual([unix('2026-01-01T00:00:00Z')]); // eslint-disable-line @typescript-eslint/no-explicit-any
    const adv = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-01-20T00:00:00Z') }, { 'request-id': 'req_probe' });
    expect(adv.status).toBe(200);
  });
  it('advance limit with a weekly subscription is two weeks', async () => {
    const clock = await t.clockAt('2026-01-01T00:00:00Z');
    const cus = await t.customer({ clock, card: 'pm_card_visa' });
    const prod = await post('/v1/products', { name: 'w' });
    const wk = await post('/v1/prices', { product: prod.body.id, currency: 'usd', unit_amount: 1000, recurring: { interval: 'week' } });
    await subscribe(t, { customer: cus, items: [{ price: wk.body.id }], trial_end: 'now' });
    const tooFar = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-01-15T00:00:01Z') });
    expect(tooFar.body.error?.code).toBe('test_clock_advance_too_far');
    const ok = await post(`${CL}/${clock}/advance`, { frozen_time: unix('2026-01-15T00:00:00Z') });
    expect(ok.status).toBe(200);
  });
});
