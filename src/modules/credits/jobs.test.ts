import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from '../../../test/helpers/billing.js';
import { get, iso, subscribe, type BillingApp } from '../../../test/scenarios/support.js';
import { allJobs } from '../../jobs/registry.js';
import { Worker } from '../../jobs/worker.js';
import { drainCredits } from './jobs.js';
import { checkLedger, clawbackInvoiceCredits } from './service.js';

// The credit worker: plan credits at each period start under each carryover policy, trials,
// incomplete subscriptions, never granting twice, pack purchases and their refund, and the real-time
// worker (objects without a test clock).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp('2026-01-15T12:00:00Z');
});
afterAll(() => t.close());

interface Grant {
  id: string;
  source: string;
  amount: number;
  remaining: number;
  status: string;
  effective_at: number;
  expires_at: number | null;
}
const grantsOf = async (customer: string): Promise<Grant[]> => (await get(t, `/v1/credit_grants?customer=${customer}&limit=100`)).data.slice().reverse();
const available = async (customer: string): Promise<number> => (await get(t, `/v1/customers/${customer}/credit_balance`)).available;
const tuple = (g: Grant) => [g.amount, g.remaining, iso(g.effective_at), g.expires_at === null ? null : iso(g.expires_at)];

async function onPlan(lookupKey: string, opts: { card?: boolean; quantity?: number; trial?: boolean } = {}) {
  const clock = await t.clockAt('2026-01-15T12:00:00Z');
  const customer = await t.customer({ clock, ...(opts.card === false ? {} : { card: 'pm_card_visa' }) });
  const res = await t.call({
    method: 'POST',
    url: '/v1/subscriptions',
    payload: { customer, items: [{ price: await t.priceId(lookupKey), quantity: opts.quantity ?? 1 }], ...(opts.trial ? {} : { trial_end: 'now' }) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { clock, customer, sub: res.body };
}

describe('plan-included credits', () => {
  it('Starter: unused credits stay usable one more month, then expire', async () => {
    const { clock, customer } = await onPlan('platform_starter_monthly');
    await t.advance(clock, '2026-03-15T14:00:00Z');
    expect((await grantsOf(customer)).map(tuple)).toEqual([
      [1000, 0, '2026-01-15T12:00:00Z', '2026-03-15T12:00:00Z'],
      [1000, 1000, '2026-02-15T12:00:00Z', '2026-04-15T12:00:00Z'],
      [1000, 1000, '2026-03-15T12:00:00Z', '2026-05-15T12:00:00Z'],
    ]);
    expect(await available(customer)).toBe(2000);
    const expired = (await get(t, `/v1/credit_transactions?customer=${customer}&type=expiry`)).data;
    expect(expired.map((x: { amount: number; created: number }) => [x.amount, iso(x.created)])).toEqual([[-1000, '2026-03-15T12:00:00Z']]);
  });

  it('Enterprise: no time limit, but at most 20,000 earlier credits roll into a new month', async () => {
    const { clock, customer } = await onPlan('platform_enterprise_monthly');
    await t.advance(clock, '2026-02-15T14:00:00Z');
    expect(await available(customer)).toBe(40000);
    await t.advance(clock, '2026-03-15T14:00:00Z');
    // 40,000 earlier credits at Mar 15: 20,000 expire (January's lot first), 20,000 + March's 20,000 remain.
    expect(await available(customer)).toBe(40000);
    expect((await grantsOf(customer)).map(tuple)).toEqual([
      [20000, 0, '2026-01-15T12:00:00Z', null],
      [20000, 20000, '2026-02-15T12:00:00Z', null],
      [20000, 20000, '2026-03-15T12:00:00Z', null],
    ]);
  });

  it('a plan without a policy expires its credits at period end; quantity multiplies; the policy is data changed by API', async () => {
    const product = await t.call({
      method: 'POST',
      url: '/v1/products',
      payload: { name: 'Seats with credits', metadata: { included_credits: '300' }, default_price_data: { currency: 'usd', unit_amount: 1000, recurring: { interval: 'month' } } },
    });
    expect(product.status, JSON.stringify(product.body)).toBe(200);
    const plans = (await get(t, '/v1/credit_plans')).data;
    expect(plans.map((p: { product: string; included_credits: number; carryover: unknown }) => [p.product, p.included_credits, p.carryover])).toEqual(
      [
        [product.body.id, 300, { periods: 0, cap: null }],
        ['prod_platform_enterprise', 20000, { periods: null, cap: 20000 }],
        ['prod_platform_professional', 5000, { periods: 1, cap: 2500 }],
        ['prod_platform_starter', 1000, { periods: 1, cap: null }],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await subscribe(t, { customer, items: [{ price: product.body.default_price, quantity: 2 }] });
    await t.advance(clock, '2026-02-15T14:00:00Z');
    expect((await grantsOf(customer)).map(tuple)).toEqual([
      [600, 0, '2026-01-15T12:00:00Z', '2026-02-15T12:00:00Z'],
      [600, 600, '2026-02-15T12:00:00Z', '2026-03-15T12:00:00Z'],
    ]);
    const upd = await t.call({ method: 'POST', url: `/v1/credit_plans/${product.body.id}`, payload: { carryover_periods: 2, carryover_cap: 100 } });
    expect(upd.body.carryover).toEqual({ periods: 2, cap: 100 });
    await t.advance(clock, '2026-03-15T14:00:00Z');
    // February's lot (old policy) expires at Mar 15; March's lot lives 2 more months.
    expect((await grantsOf(customer)).map(tuple).slice(1)).toEqual([
      [600, 0, '2026-02-15T12:00:00Z', '2026-03-15T12:00:00Z'],
      [600, 600, '2026-03-15T12:00:00Z', '2026-06-15T12:00:00Z'],
    ]);
    const notPlan = await t.call({ method: 'POST', url: '/v1/credit_plans/prod_elite_coaching', payload: { carryover_periods: 1 } });
    expect(notPlan.status).toBe(404);
  });

  it('grants during a trial, and nothing for an incomplete (unpaid) first period', async () => {
    const product = await t.call({
      method: 'POST',
      url: '/v1/products',
      payload: { name: 'Trial plan', metadata: { included_credits: '100' }, default_price_data: { currency: 'usd', unit_amount: 500, recurring: { interval: 'month', trial_period_days: 7 } } },
    });
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const trialing = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer: trialing, items: [{ price: product.body.default_price }] });
    expect(sub.status).toBe('trialing');
    const unpaid = await t.customer({ clock });
    const incomplete = await subscribe(t, { customer: unpaid, items: [{ price: await t.priceId('platform_starter_monthly') }] });
    expect(incomplete.status).toBe('incomplete');
    await t.advance(clock, '2026-01-22T14:00:00Z');
    expect((await grantsOf(trialing)).map(tuple)).toEqual([
      [100, 0, '2026-01-15T12:00:00Z', '2026-01-22T12:00:00Z'],
      [100, 100, '2026-01-22T12:00:00Z', '2026-02-22T12:00:00Z'],
    ]);
    expect(await grantsOf(unpaid)).toEqual([]);
  });

  it('never grants a period twice, however often or concurrently the jobs run', async () => {
    const { clock, customer, sub } = await onPlan('platform_professional_monthly');
    await t.advance(clock, '2026-01-15T13:00:00Z');
    const at = new Date('2026-01-15T13:00:00Z');
    await Promise.all([drainCredits(t.testDb.db, t.deps, { clock }, at), drainCredits(t.testDb.db, t.deps, { clock }, at)]);
    expect((await grantsOf(customer)).length).toBe(1);
    // The database refuses a second grant of the same period outright.
    await expect(
      t.testDb.db.query(
        `INSERT INTO credit_grants (id, customer, account, source, amount, effective_at, subscription, period_start, created)
         SELECT 'cgrant_dup', customer, account, 'plan', 1, effective_at, subscription, period_start, created FROM credit_grants WHERE subscription = $1`,
        [sub.id],
      ),
    ).rejects.toThrow(/unique|duplicate/i);
  });
});

describe('credit packs', () => {
  it('grants a paid pack once (not before payment), and a refund claws back what is unused', async () => {
    const clock = await t.clockAt('2026-01-15T12:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, price: await t.priceId('credits_1000'), quantity: 2 } });
    const inv = (await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer } })).body;
    expect(inv.total).toBe(1900); // 2 × 950
    await t.call({ method: 'POST', url: `/v1/invoices/${inv.id}/finalize`, payload: {} });
    await t.advance(clock, '2026-01-15T12:30:00Z');
    expect(await grantsOf(customer)).toEqual([]); // open, not paid yet
    await t.call({ method: 'POST', url: `/v1/invoices/${inv.id}/pay`, payload: {} });
    await t.advance(clock, '2026-01-15T13:00:00Z');
    await t.advance(clock, '2026-01-15T14:00:00Z');
    const [g] = await grantsOf(customer);
    expect([g!.source, g!.amount, g!.expires_at, iso(g!.effective_at)]).toEqual(['purchase', 2000, null, '2026-01-15T12:30:00Z']);
    expect((await grantsOf(customer)).length).toBe(1);

    await t.call({ method: 'POST', url: '/v1/usage_events', payload: { id: 'pack-use', customer, feature: 'lead_enrichment', quantity: 100 } }); // 500
    const clawed = await t.testDb.db.tx((q) => clawbackInvoiceCredits(q, t.deps, new Date('2026-01-15T14:00:00Z'), inv.id));
    expect(clawed.map((x) => [x.id, x.remaining])).toEqual([[g!.id, 0]]);
    expect(await available(customer)).toBe(0);
    const voids = (await get(t, `/v1/credit_transactions?customer=${customer}&type=void`)).data;
    expect(voids.map((x: { amount: number; description: string }) => [x.amount, x.description])).toEqual([[-1500, `Refund of invoice ${inv.id}`]]);
    expect(await checkLedger(t.testDb.db)).toEqual([]);
  });
});

describe('the real-time worker', () => {
  it('grants plan credits for subscriptions on real time through the registered job', async () => {
    const customer = await t.customer({ card: 'pm_card_visa' });
    await subscribe(t, { customer, items: [{ price: await t.priceId('platform_starter_monthly') }], trial_end: 'now' });
    expect(allJobs().map((j) => j.name)).toContain('credits');
    const worker = new Worker({ db: t.testDb.db, clock: t.clock, logger: t.app.log, deps: t.deps }, allJobs());
    await worker.drain();
    expect((await grantsOf(customer)).map(tuple)).toEqual([[1000, 1000, '2026-01-15T12:00:00Z', '2026-03-15T12:00:00Z']]);
  });
});
