import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { Config } from '../../src/config.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { seedEntitlementRules } from '../../src/modules/entitlements/service.js';
import { seedTaxRates } from '../../src/modules/taxes/service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { unix } from '../helpers/billing.js';

// The tax scenarios' setting: the coaching business is a US seller in New York (nexus in NY only),
// registered for VAT/GST abroad, with documents carrying its details and bank instructions.

export const TAX_CONFIG: Config['tax'] = { sellerCountry: 'US', sellerState: 'NY', usNexus: ['NY'], missingAddress: 'seller', defaultTaxBehavior: 'exclusive' };

export const DOCUMENTS_CONFIG: Config['documents'] = {
  sellerName: 'Peak Coaching LLC',
  sellerAddress: ['350 Fifth Avenue', 'New York, NY 10118', 'United States'],
  sellerTaxId: 'EIN 12-3456789',
  sellerEmail: 'billing@peak.example',
  logoPath: null,
  bank: { accountName: 'Peak Coaching LLC', bankName: 'Example Bank', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX', achRouting: '021000021', achAccount: '000123456789' },
  hostedInvoiceTtlDays: 90,
};

export type TaxApp = Awaited<ReturnType<typeof createTaxApp>>;

/** A billing app (seeded catalog, test-clock helpers) with automatic tax and documents configured. */
export async function createTaxApp(start = '2026-01-15T12:00:00Z') {
  const t = await createTestApp({ start, config: { finalizeDelaySeconds: 3600, tax: TAX_CONFIG, documents: DOCUMENTS_CONFIG } });
  await t.testDb.db.tx(async (q) => {
    await seedCatalog(q, t.clock.now());
    await seedTaxRates(q, t.clock.now());
    await seedEntitlementRules(q, t.clock.now());
  });
  return withHelpers(t);
}

function withHelpers(t: TestApp) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const ok = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>): Promise<any> => {
    const res = await t.call({ method, url, ...(payload ? { payload } : {}) });
    expect(res.status, `${method} ${url} → ${JSON.stringify(res.body)}`).toBe(200);
    return res.body;
  };
  const priceId = async (lookupKey: string): Promise<string> => (await ok('GET', `/v1/prices?lookup_keys[]=${lookupKey}`)).data[0].id;
  return Object.assign(t, {
    ok,
    priceId,
    async customer(payload: Record<string, unknown>, card = 'pm_card_visa'): Promise<string> {
      const c = await ok('POST', '/v1/customers', { email: 'buyer@example.com', ...payload });
      if (card) {
        const pm = await ok('POST', `/v1/payment_methods/${card}/attach`, { customer: c.id });
        await ok('POST', `/v1/customers/${c.id}`, { invoice_settings: { default_payment_method: pm.id } });
      }
      return c.id as string;
    },
    async clockAt(iso: string): Promise<string> {
      return (await ok('POST', '/v1/test_helpers/test_clocks', { frozen_time: unix(iso) })).id;
    },
    async advance(clock: string, iso: string) {
      return ok('POST', `/v1/test_helpers/test_clocks/${clock}/advance`, { frozen_time: unix(iso) });
    },
    /** Subscribes with no trial and returns the first (finalized, charged) invoice. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async firstInvoice(customer: string, price: string, extra: Record<string, unknown> = {}): Promise<any> {
      const sub = await ok('POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now', ...extra });
      return ok('GET', `/v1/invoices/${sub.latest_invoice}`);
    },
    async pdfText(url: string): Promise<string> {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.key}` } });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
      expect(res.headers['content-type']).toBe('application/pdf');
      return pdfToText(res.rawPayload);
    },
    async pdfBytes(url: string): Promise<Buffer> {
      const res = await t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${t.key}` } });
      return res.rawPayload;
    },
  });
}

/** The PDF's text through poppler's pdftotext (installed by .ci/run), spaces collapsed per line. */
export function pdfToText(pdf: Buffer): string {
  const out = execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', '-', '-'], { input: pdf });
  return out
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n');
}
