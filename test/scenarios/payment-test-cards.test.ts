import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/time/index.js';
import { createApiKey } from '../../src/modules/api-keys/service.js';
import { createBillingApp } from '../helpers/billing.js';
import { openTestDb } from '../helpers/db.js';
import { get, type BillingApp } from './support.js';

// Stripe's documented test cards in the simulated gateway (https://docs.stripe.com/testing: declined
// payments, fraud prevention, cards by brand and by country), the CVC check of 4000000000000101, and
// card data sent in a query string kept out of the request log (issue 3, item 8).

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

const newCard = (number: string) =>
  t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2030, cvc: '123' } } });

async function openInvoice(customer: string, amount = 5000): Promise<string> {
  await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, amount, currency: 'usd' } });
  const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { customer, pending_invoice_items_behavior: 'include', auto_advance: false } });
  const fin = await t.call({ method: 'POST', url: `/v1/invoices/${inv.body.id}/finalize`, payload: {} });
  expect([fin.status, fin.body.status]).toEqual([200, 'open']);
  return inv.body.id;
}

describe('simulated gateway: Stripe test cards', () => {
  it('4000000000006975 ("Exceeding velocity limit") declines with card_declined / card_velocity_exceeded; the invoice stays open', async () => {
    const customer = await t.customer();
    const pm = (await newCard('4000000000006975')).body;
    expect((await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}/attach`, payload: { customer } })).status).toBe(200);
    const inv = await openInvoice(customer);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm.id } });
    expect([pay.status, pay.body.error?.code, pay.body.error?.decline_code]).toEqual([402, 'card_declined', 'card_velocity_exceeded']);
    expect((await get(t, `/v1/invoices/${inv}`)).status).toBe('open');
  });

  it('pm_card_visa_chargeDeclinedVelocityLimitExceeded attaches as the Visa ending 6975 and declines with card_velocity_exceeded', async () => {
    const customer = await t.customer();
    const a = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa_chargeDeclinedVelocityLimitExceeded/attach', payload: { customer } });
    expect([a.status, a.body.card?.brand, a.body.card?.last4], JSON.stringify(a.body)).toEqual([200, 'visa', '6975']);
    const inv = await openInvoice(customer);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: a.body.id } });
    expect([pay.status, pay.body.error?.code, pay.body.error?.decline_code]).toEqual([402, 'card_declined', 'card_velocity_exceeded']);
  });

  it('pm_card_radarBlock (4100000000000019, "Always blocked") attaches and declines as fraudulent', async () => {
    const customer = await t.customer();
    const a = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_radarBlock/attach', payload: { customer } });
    expect([a.status, a.body.card?.brand, a.body.card?.last4], JSON.stringify(a.body)).toEqual([200, 'visa', '0019']);
    const inv = await openInvoice(customer);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: a.body.id } });
    expect([pay.status, pay.body.error?.code, pay.body.error?.decline_code]).toEqual([402, 'card_declined', 'fraudulent']);
  });

  it('6200000000000005 (UnionPay test card) has brand unionpay', async () => {
    const r = await newCard('6200000000000005');
    expect([r.status, r.body.card?.brand, r.body.card?.last4]).toEqual([200, 'unionpay', '0005']);
  });

  it('5105105105105100 (Mastercard prepaid) has brand mastercard and funding prepaid', async () => {
    const r = await newCard('5105105105105100');
    expect([r.status, r.body.card?.brand, r.body.card?.funding]).toEqual([200, 'mastercard', 'prepaid']);
  });

  it('international test cards carry their country: 4000000400000008 AT, 4000002500000003 FR, 4000003920000003 JP', async () => {
    const got: [string, string][] = [];
    for (const n of ['4000000400000008', '4000002500000003', '4000003920000003']) got.push([n, (await newCard(n)).body.card?.country]);
    expect(got).toEqual([
      ['4000000400000008', 'AT'],
      ['4000002500000003', 'FR'],
      ['4000003920000003', 'JP'],
    ]);
  });
});

describe('card checks and the request log', () => {
  it('4000000000000101 with a CVC reports cvc_check fail, and a charge on it still succeeds', async () => {
    const r = await newCard('4000000000000101');
    expect([r.status, r.body.card?.checks?.cvc_check]).toEqual([200, 'fail']);
    const customer = await t.customer();
    expect((await t.call({ method: 'POST', url: `/v1/payment_methods/${r.body.id}/attach`, payload: { customer } })).status).toBe(200);
    const inv = await openInvoice(customer);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: r.body.id } });
    expect([pay.status, pay.body.status]).toEqual([200, 'paid']);
  });

  it('a card number and CVC sent in the query string of POST /v1/payment_methods are logged as [REDACTED] (default info level)', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const testDb = await openTestDb();
    const clock = new ManualClock('2026-01-15T12:00:00Z');
    // buildApp's own logger options (level 'info' as the config's default, same redact list), into a buffer.
    const logger = { level: 'info', redact: ['req.headers.authorization', 'req.body.card', 'req.body.number', 'req.body.cvc'], stream };
    const { app } = await buildApp({ db: testDb.db, clock, config: testConfig({ logLevel: 'info' }), logger });
    await app.ready();
    const key = (await createApiKey(testDb.db, { name: 'log', scope: 'admin' }, clock.now())).secret;
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/payment_methods?type=card&card[number]=4000000000009995&card[exp_month]=12&card[exp_year]=2030&card[cvc]=8642',
        headers: { authorization: `Bearer ${key}` },
        payload: {},
      });
      expect(res.statusCode).toBe(400); // refused, but logged before
    } finally {
      await app.close();
      await testDb.close();
    }
    // The logger's own fields (wall-clock time, pid, response time, the random request id) can contain
    // any four digits, the CVC's included: the check reads what the request put in the log.
    const all = lines
      .map((l) => {
        const { time: _t, pid: _p, hostname: _h, responseTime: _r, reqId: _i, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return JSON.stringify(rest);
      })
      .join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(all).not.toContain('4000000000009995');
    expect(all).not.toContain('8642');
    const incoming = lines.map((l) => JSON.parse(l) as { msg: string; req?: { url: string } }).find((l) => l.msg === 'incoming request');
    expect(incoming?.req?.url).toBe('/v1/payment_methods?type=card&card[number]=[REDACTED]&card[exp_month]=[REDACTED]&card[exp_year]=[REDACTED]&card[cvc]=[REDACTED]');
  });
});
