import { expect } from 'vitest';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { createTestApp, type TestApp } from './app.js';

/**
 * Renewal invoices wait Stripe's hour before finalisation, or FINALIZE_DELAY_SECONDS (0: a renewal writes
 * its invoice finalised at once, stageInvoices with `finalize`) — so a randomised run can take either path.
 */
export const finalizeDelaySeconds = (): number => Number(process.env.FINALIZE_DELAY_SECONDS ?? 3600);

/** CHARGE_ON_FINALIZE=true|false: whether the worker's finalisation also charges (ADR 0008); unset, the database's default. */
export const chargeOnFinalize = (): { chargeOnFinalize?: boolean } => (process.env.CHARGE_ON_FINALIZE ? { chargeOnFinalize: process.env.CHARGE_ON_FINALIZE === 'true' } : {});

/** A test app with the seeded catalog, plus helpers to drive subscriptions through test clocks. */
export async function createBillingApp(start = '2026-01-15T12:00:00Z'): Promise<TestApp & BillingHelpers> {
  const t = await createTestApp({ start, config: { finalizeDelaySeconds: finalizeDelaySeconds(), ...chargeOnFinalize() } });
  await t.testDb.db.tx((q) => seedCatalog(q, t.clock.now()));
  const priceId = async (lookupKey: string): Promise<string> => {
    const res = await t.call({ method: 'GET', url: `/v1/prices?lookup_keys[]=${lookupKey}` });
    if (!res.body.data?.[0]) throw new Error(`no price ${lookupKey}`);
    return res.body.data[0].id;
  };
  const helpers: BillingHelpers = {
    priceId,
    async ok(method, url, payload) {
      const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
      expect(res.status, `${method} ${url}: ${JSON.stringify(res.body)}`).toBe(200);
      return res.body;
    },
    async clockAt(iso: string) {
      const res = await t.call({ method: 'POST', url: '/v1/test_helpers/test_clocks', payload: { frozen_time: unix(iso), name: iso } });
      return res.body.id as string;
    },
    /** Advances in steps of at most 28 days, as a Stripe user must: one advance covers at most two intervals. */
    async advance(clock: string, iso: string) {
      const target = unix(iso);
      let res = await t.call({ method: 'GET', url: `/v1/test_helpers/test_clocks/${clock}` });
      do {
        const step = Math.min(target, res.body.frozen_time + 28 * 86_400);
        res = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: step } });
        if (res.status !== 200) throw new Error(`advance failed: ${JSON.stringify(res.body)}`);
      } while (res.body.frozen_time < target);
      return res.body;
    },
    async customer(opts: { clock?: string; card?: string; email?: string } = {}) {
      const c = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: opts.email ?? 'c@example.com', ...(opts.clock ? { test_clock: opts.clock } : {}) } });
      if (c.status !== 200) throw new Error(JSON.stringify(c.body));
      if (opts.card) {
        const pm = await t.call({ method: 'POST', url: `/v1/payment_methods/${opts.card}/attach`, payload: { customer: c.body.id } });
        if (pm.status !== 200) throw new Error(JSON.stringify(pm.body));
        await t.call({ method: 'POST', url: `/v1/customers/${c.body.id}`, payload: { invoice_settings: { default_payment_method: pm.body.id } } });
      }
      return c.body.id as string;
    },
    async invoices(subscription: string) {
      const res = await t.call({ method: 'GET', url: `/v1/invoices?subscription=${subscription}&limit=100` });
      return (res.body.data as Inv[]).slice().reverse();
    },
    async sub(id: string) {
      return (await t.call({ method: 'GET', url: `/v1/subscriptions/${id}` })).body;
    },
  };
  return Object.assign(t, helpers);
}

export interface Inv {
  id: string;
  status: string;
  number: string | null;
  total: number;
  amount_due: number;
  amount_paid: number;
  billing_reason: string;
  period_start: number;
  period_end: number;
  subtotal: number;
  lines: { data: { amount: number; description: string; proration: boolean; period: { start: number; end: number } }[] };
}

export interface BillingHelpers {
  priceId(lookupKey: string): Promise<string>;
  /** A call that must answer 200; its body. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ok(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<any>;
  clockAt(iso: string): Promise<string>;
  advance(clock: string, iso: string): Promise<unknown>;
  customer(opts?: { clock?: string; card?: string; email?: string }): Promise<string>;
  invoices(subscription: string): Promise<Inv[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  sub(id: string): Promise<any>;
}

export const unix = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);
export const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
