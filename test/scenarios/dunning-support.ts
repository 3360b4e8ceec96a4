import { expect } from 'vitest';
import { testConfig, type Config } from '../../src/config.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { seedDunning } from '../../src/modules/dunning/seed.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// Shared pieces of the dunning scenarios: an app with the seeded catalog, dunning plans and
// templates, whose notifications go where the test says (a real SMTP server, a fake Twilio …).

export const unix = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);
export const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

export type DunningApp = TestApp & {
  priceId(lookupKey: string): Promise<string>;
  clockAt(iso: string): Promise<string>;
  advance(clock: string, iso: string): Promise<void>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ok(opts: Parameters<TestApp['call']>[0]): Promise<any>;
  customer(opts: { clock: string; card?: string; email?: string; name?: string; phone?: string; timezone?: string }): Promise<string>;
  setDefaultCard(customer: string, card: string): Promise<string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  campaignOf(invoice: string): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  messages(customer: string): Promise<any[]>;
};

export async function createDunningApp(start: string, notifications: Partial<Config['notifications']> = {}): Promise<DunningApp> {
  const base = testConfig();
  const t = await createTestApp({ start, config: { finalizeDelaySeconds: 3600, notifications: { ...base.notifications, publicUrl: 'https://billing.example.com', ...notifications } } });
  await t.testDb.db.tx(async (q) => {
    await seedCatalog(q, t.clock.now());
    await seedDunning(q, t.clock.now());
  });
  const ok: DunningApp['ok'] = async (opts) => {
    const res = await t.call(opts);
    expect(res.status, `${opts.method} ${opts.url}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const app: DunningApp = Object.assign(t, {
    ok,
    async priceId(lookupKey: string) {
      const res = await ok({ method: 'GET', url: `/v1/prices?lookup_keys[]=${lookupKey}` });
      return res.data[0].id as string;
    },
    async clockAt(at: string) {
      return (await ok({ method: 'POST', url: '/v1/test_helpers/test_clocks', payload: { frozen_time: unix(at) } })).id as string;
    },
    async advance(clock: string, at: string) {
      await ok({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: unix(at) } });
    },
    async customer(o: { clock: string; card?: string; email?: string; name?: string; phone?: string; timezone?: string }) {
      const c = await ok({
        method: 'POST',
        url: '/v1/customers',
        payload: { email: o.email ?? 'customer@example.com', name: o.name ?? 'Casey Customer', ...(o.phone ? { phone: o.phone } : {}), test_clock: o.clock },
      });
      if (o.timezone) await ok({ method: 'POST', url: `/v1/customers/${c.id}/notification_preferences`, payload: { timezone: o.timezone } });
      if (o.card) await app.setDefaultCard(c.id, o.card);
      return c.id as string;
    },
    async setDefaultCard(customer: string, card: string) {
      const pm = await ok({ method: 'POST', url: `/v1/payment_methods/${card}/attach`, payload: { customer } });
      await ok({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: pm.id } } });
      return pm.id as string;
    },
    async campaignOf(invoice: string) {
      const list = await ok({ method: 'GET', url: `/v1/dunning/campaigns?invoice=${invoice}` });
      expect(list.data).toHaveLength(1);
      return ok({ method: 'GET', url: `/v1/dunning/campaigns/${list.data[0].id}` });
    },
    async messages(customer: string) {
      const list = await ok({ method: 'GET', url: `/v1/notification_messages?customer=${customer}&limit=100` });
      return (list.data as unknown[]).slice().reverse();
    },
  });
  return app;
}

/** The payment-update link in a message's text. */
export function payLinkIn(text: string): string {
  const m = /https:\/\/billing\.example\.com(\/pay\/[A-Za-z0-9_.-]+)/.exec(text);
  if (!m) throw new Error(`no pay link in: ${text}`);
  return m[1]!;
}
