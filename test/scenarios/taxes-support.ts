import { getDocument, VerbosityLevel } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { TextItem } from 'pdfjs-dist/types/src/display/api.js';
import { expect } from 'vitest';
import type { Config } from '../../src/config.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { seedEntitlementRules } from '../../src/modules/entitlements/service.js';
import { seedTaxRates } from '../../src/modules/taxes/service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { chargeOnFinalize, finalizeDelaySeconds, unix } from '../helpers/billing.js';

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
  const t = await createTestApp({ start, config: { finalizeDelaySeconds: finalizeDelaySeconds(), ...chargeOnFinalize(), tax: TAX_CONFIG, documents: DOCUMENTS_CONFIG } });
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

/**
 * The PDF's text, read back with pdfjs-dist (pure JS, no system package), laid out like
 * `pdftotext -layout`: per page, text items grouped into lines by their baseline (y, within a
 * small tolerance), ordered by x, joined with single spaces; whitespace collapsed, empty lines
 * dropped, pages joined by newlines.
 */
export async function pdfToText(pdf: Buffer): Promise<string> {
  // A copy: pdfjs takes ownership of (and may detach) the bytes it is given.
  const doc = await getDocument({ data: new Uint8Array(pdf), verbosity: VerbosityLevel.ERRORS, isEvalSupported: false }).promise;
  try {
    const out: string[] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      const items = content.items
        .filter((i): i is TextItem => 'str' in i && i.str.trim() !== '')
        .map((i) => ({ x: i.transform[4] as number, y: i.transform[5] as number, str: i.str }));
      // Top of the page first (PDF y grows upwards), then left to right.
      items.sort((a, b) => b.y - a.y || a.x - b.x);
      const lines: { y: number; items: typeof items }[] = [];
      for (const item of items) {
        const line = lines.find((l) => Math.abs(l.y - item.y) <= LINE_TOLERANCE);
        if (line) line.items.push(item);
        else lines.push({ y: item.y, items: [item] });
      }
      for (const line of lines) {
        const text = line.items
          .sort((a, b) => a.x - b.x)
          .map((i) => i.str)
          .join(' ')
          .replace(/\s+/g, ' ')
          .trim();
        if (text) out.push(text);
      }
      page.cleanup();
    }
    return out.join('\n');
  } finally {
    await doc.destroy();
  }
}

/** Items whose baselines differ by at most this many points are on the same line. */
const LINE_TOLERANCE = 2;
