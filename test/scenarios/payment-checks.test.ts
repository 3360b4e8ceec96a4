import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { ManualClock } from '../../src/core/time/index.js';
import { createApiKey } from '../../src/modules/api-keys/service.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { createBillingApp } from '../helpers/billing.js';
import { openTestDb } from '../helpers/db.js';
import { events, get, subscribe, type BillingApp } from './support.js';

// Payment methods, test cards and payment intents (issue 3, item 8): regression checks from an audit
// that pass today — card numbers and their brand/country/funding, fingerprints, card errors, secrets
// never stored or logged, attach and detach, which method pays, Stripe's test ids and decline cards,
// payment intents per attempt.

let t: BillingApp;
beforeAll(async () => {
  t = await createBillingApp();
});
afterAll(() => t.close());

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const newCard = (number: string, extra: Record<string, unknown> = {}) =>
  t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2030, cvc: '123', ...extra } } });

async function attach(pm: string, customer: string) {
  const r = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** A customer with an open (finalized, not attempted) manual invoice of `amount` usd. */
async function openInvoice(customer: string, amount = 5000): Promise<string> {
  const ii = await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer, amount, currency: 'usd' } });
  expect(ii.status, JSON.stringify(ii.body)).toBe(200);
  const inv = await t.call({ method: 'POST', url: '/v1/invoices', payload: { customer, pending_invoice_items_behavior: 'include', auto_advance: false } });
  expect(inv.status, JSON.stringify(inv.body)).toBe(200);
  const fin = await t.call({ method: 'POST', url: `/v1/invoices/${inv.body.id}/finalize`, payload: {} });
  expect([fin.status, fin.body.status]).toEqual([200, 'open']);
  return inv.body.id;
}

describe('card numbers', () => {
  it('Stripe test numbers give brand, last4, expiry, country and funding', async () => {
    const cases: [string, string, string, string, string][] = [
      ['4242424242424242', 'visa', '4242', 'US', 'credit'],
      ['4000056655665556', 'visa', '5556', 'US', 'debit'],
      ['5555555555554444', 'mastercard', '4444', 'US', 'credit'],
      ['2223003122003222', 'mastercard', '3222', 'US', 'credit'],
      ['5200828282828210', 'mastercard', '8210', 'US', 'debit'],
      ['378282246310005', 'amex', '0005', 'US', 'credit'],
      ['6011111111111117', 'discover', '1117', 'US', 'credit'],
      ['3566002020360505', 'jcb', '0505', 'US', 'credit'],
      ['4000000000000077', 'visa', '0077', 'US', 'credit'],
      ['4000000760000002', 'visa', '0002', 'BR', 'credit'],
      ['4000000000000341', 'visa', '0341', 'US', 'credit'],
      ['4000000000000002', 'visa', '0002', 'US', 'credit'],
      ['4000000000009995', 'visa', '9995', 'US', 'credit'],
      ['4000000000009987', 'visa', '9987', 'US', 'credit'],
      ['4000000000009979', 'visa', '9979', 'US', 'credit'],
      ['4000000000000069', 'visa', '0069', 'US', 'credit'],
      ['4000000000000127', 'visa', '0127', 'US', 'credit'],
      ['4000000000000119', 'visa', '0119', 'US', 'credit'],
    ];
    for (const [n, brand, last4, country, funding] of cases) {
      const r = await newCard(n, { exp_month: 7, exp_year: 2031 });
      expect(r.status, n).toBe(200);
      expect([r.body.card.brand, r.body.card.last4, r.body.card.exp_month, r.body.card.exp_year, r.body.card.country, r.body.card.funding, r.body.customer, r.body.type], n).toEqual([brand, last4, 7, 2031, country, funding, null, 'card']);
      expect(r.body.id).toMatch(/^pm_/);
      expect(JSON.stringify(r.body)).not.toContain(n);
    }
  });

  it('the same number has the same fingerprint, different numbers different ones', async () => {
    const a = (await newCard('4242424242424242')).body.card.fingerprint;
    const b = (await newCard('4242 4242 4242 4242', { exp_month: 3, exp_year: 2029, cvc: '999' })).body.card.fingerprint;
    const c = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: await t.customer() } })).body.card.fingerprint;
    const d = (await newCard('4000056655665556')).body.card.fingerprint;
    const e = (await newCard('5555555555554444')).body.card.fingerprint;
    expect(a).toBeTypeOf('string');
    expect(a.length).toBeGreaterThan(8);
    expect([b, c]).toEqual([a, a]);
    expect(new Set([a, d, e]).size).toBe(3);
  });

  it('Luhn failure is 402 card_error incorrect_number on card[number]; nothing stored', async () => {
    const before = (await t.testDb.db.query<{ n: string }>('SELECT count(*) AS n FROM payment_methods')).rows[0]!.n;
    const r = await newCard('4242424242424241');
    expect(r.status).toBe(402);
    expect(r.body.error).toMatchObject({ type: 'card_error', code: 'incorrect_number', param: 'card[number]' });
    const after = (await t.testDb.db.query<{ n: string }>('SELECT count(*) AS n FROM payment_methods')).rows[0]!.n;
    expect(after).toBe(before);
  });

  it('expiry in the past and invalid month/cvc are card errors as on Stripe', async () => {
    const pastYear = await newCard('4242424242424242', { exp_year: 2025 });
    expect([pastYear.status, pastYear.body.error.type, pastYear.body.error.code, pastYear.body.error.param]).toEqual([402, 'card_error', 'invalid_expiry_year', 'card[exp_year]']);
    const month13 = await newCard('4242424242424242', { exp_month: 13 });
    expect([month13.status, month13.body.error.type, month13.body.error.code, month13.body.error.param]).toEqual([402, 'card_error', 'invalid_expiry_month', 'card[exp_month]']);
    const cvc2 = await newCard('4242424242424242', { cvc: '12' });
    expect([cvc2.status, cvc2.body.error.type, cvc2.body.error.code, cvc2.body.error.param]).toEqual([402, 'card_error', 'invalid_cvc', 'card[cvc]']);
    // The current month is still valid (Jan 2026 on Jan 15 2026).
    const thisMonth = await newCard('4242424242424242', { exp_month: 1, exp_year: 2026 });
    expect(thisMonth.status).toBe(200);
    // CVC is optional (Stripe: cvc "highly recommended", not required); cvc_check is then null.
    const noCvc = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030 } } });
    expect([noCvc.status, noCvc.body.card.checks.cvc_check]).toEqual([200, null]);
    const missing = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number: '4242424242424242', exp_month: 12 } } });
    expect([missing.status, missing.body.error.code, missing.body.error.param]).toEqual([400, 'parameter_missing', 'card[exp_year]']);
  });
});

describe('secrets never stored', () => {
  it('no table row holds a full card number or the CVC (JSON, form bodies, failures, Idempotency-Key)', async () => {
    const numbers = ['4242424242424242', '5555555555554444', '378282246310005', '4000000000000341', '4000000000009995'];
    const cvc = '7391';
    const customer = await t.customer();
    for (const [i, n] of numbers.entries()) {
      const json = await t.call({ method: 'POST', url: '/v1/payment_methods', headers: { 'idempotency-key': `audit-pm-json-${i}` }, payload: { type: 'card', card: { number: n, exp_month: 12, exp_year: 2030, cvc: n.startsWith('37') ? cvc : cvc.slice(1) } } });
      expect(json.status, JSON.stringify(json.body)).toBe(200);
      const form = await t.call({
        method: 'POST',
        url: '/v1/payment_methods',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': `audit-pm-form-${i}` },
        payload: `type=card&card[number]=${n}&card[exp_month]=11&card[exp_year]=2031&card[cvc]=${n.startsWith('37') ? cvc : cvc.slice(1)}`,
      });
      expect(form.status, JSON.stringify(form.body)).toBe(200);
      await attach(form.body.id, customer);
      const inv = await openInvoice(customer, 1000 + i);
      await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: form.body.id } });
    }
    // Failures too (Luhn, cvc, expiry), with idempotency keys (stored responses).
    await t.call({ method: 'POST', url: '/v1/payment_methods', headers: { 'idempotency-key': 'audit-bad-1' }, payload: { type: 'card', card: { number: '4242424242424241', exp_month: 12, exp_year: 2030, cvc: '391' } } });
    await t.call({ method: 'POST', url: '/v1/payment_methods', headers: { 'idempotency-key': 'audit-bad-2' }, payload: { type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '73911' } } });
    await t.call({ method: 'POST', url: '/v1/payment_methods', headers: { 'idempotency-key': 'audit-bad-3' }, payload: { type: 'card', card: { number: '5555555555554444', exp_month: 12, exp_year: 2020, cvc: '391' } } });

    const { rows: tables } = await t.testDb.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(20);
    const hits: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await t.testDb.db.query<{ j: string }>(`SELECT row_to_json(x)::text AS j FROM "${table_name}" x`);
      for (const { j } of rows) {
        for (const n of [...numbers, '4242424242424241']) if (j.includes(n)) hits.push(`${table_name}: number ${n}`);
        if (table_name === 'payment_methods' || table_name === 'events' || table_name === 'idempotency_keys') {
          if (/"cvc"\s*:\s*"?\d/.test(j) || j.includes(`"${cvc}"`) || j.includes(`"${cvc.slice(1)}"`) || j.includes('73911')) hits.push(`${table_name}: cvc ${j.slice(0, 200)}`);
        }
      }
    }
    expect(hits).toEqual([]);
  });

  it('the server log (trace level) holds no card number or CVC sent in the body (JSON, form, invalid, malformed)', async () => {
    const lines: string[] = [];
    const stream = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const testDb = await openTestDb();
    const clock = new ManualClock('2026-01-15T12:00:00Z');
    // The same options buildApp gives Fastify, at trace level, into a buffer (Fastify takes a stream in its logger options).
    const logger = { level: 'trace', redact: ['req.headers.authorization', 'req.body.card', 'req.body.number', 'req.body.cvc'], stream } as unknown as Parameters<typeof buildApp>[0]['logger'];
    const { app } = await buildApp({ db: testDb.db, clock, config: testConfig({ logLevel: 'trace' }), logger });
    await app.ready();
    await testDb.db.tx((q) => seedCatalog(q, clock.now()));
    const key = (await createApiKey(testDb.db, { name: 'log', scope: 'admin' }, clock.now())).secret;
    const h = { authorization: `Bearer ${key}` };
    try {
      const inputs = [
        { type: 'card', card: { number: '4000000000009995', exp_month: 12, exp_year: 2030, cvc: '8642' } },
        { type: 'card', card: { number: '4000000000009996', exp_month: 12, exp_year: 2030, cvc: '864' } },
        { type: 'card', card: { number: '4000000000009995', exp_month: 12, exp_year: 2030, cvc: '86421' } },
        { type: 'card', card: { number: '4000000000009995', exp_month: 12, exp_year: 2020, cvc: '864' } },
        { type: 'card', card: { number: '4000000000009995', exp_month: 12, exp_year: 2030, cvc: '864', bogus: 1 } },
        { type: 'card', card: { number: 4000000000009995, exp_month: 'x', exp_year: 2030, cvc: '864' } },
      ];
      for (const p of inputs) await app.inject({ method: 'POST', url: '/v1/payment_methods', headers: h, payload: p });
      await app.inject({ method: 'POST', url: '/v1/payment_methods', headers: { ...h, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'type=card&card[number]=4000000000009995&card[exp_month]=12&card[exp_year]=2030&card[cvc]=8642' });
      await app.inject({ method: 'POST', url: '/v1/payment_methods', headers: { ...h, 'content-type': 'application/json' }, payload: '{"type":"card","card":{"number":"4000000000009995","cvc":"8642",' });
    } finally {
      await app.close();
      await testDb.close();
    }
    const all = lines.join("");
    expect(lines.length).toBeGreaterThan(5);
    expect(all).not.toContain('4000000000009995');
    expect(all).not.toContain('4000000000009996');
    // The CVCs as values of their own, not digits inside a log line's millisecond timestamp.
    expect(all).not.toMatch(/(?<!\d)(8642|86421)(?!\d)/);
  });
});

describe('attach and detach', () => {
  it('attaching to a second customer is a 400; detaching the default clears invoice_settings.default_payment_method', async () => {
    const c1 = await t.customer();
    const c2 = await t.customer();
    const pm = (await newCard('4242424242424242')).body;
    const a = await attach(pm.id, c1);
    expect(a.customer).toBe(c1);
    const again = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}/attach`, payload: { customer: c2 } });
    expect([again.status, again.body.error.type]).toEqual([400, 'invalid_request_error']);
    expect((await get(t, `/v1/payment_methods/${pm.id}`)).customer).toBe(c1);
    const upd = await t.call({ method: 'POST', url: `/v1/customers/${c1}`, payload: { invoice_settings: { default_payment_method: pm.id } } });
    expect(upd.body.invoice_settings.default_payment_method).toBe(pm.id);
    const d = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}/detach`, payload: {} });
    expect([d.status, d.body.customer]).toEqual([200, null]);
    expect((await get(t, `/v1/customers/${c1}`)).invoice_settings.default_payment_method).toBe(null);
    expect((await events(t, c1, 'payment_method.detached')).map((e) => e.data.object.id)).toEqual([pm.id]);
    // A detached payment method cannot be reattached or used.
    const re = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.id}/attach`, payload: { customer: c1 } });
    expect(re.status).toBe(400);
    const inv = await openInvoice(c1);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm.id } });
    expect(pay.status).toBe(400);
    // With no default left, paying is a 400 that records nothing.
    const pay2 = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: {} });
    expect([pay2.status, pay2.body.error.code]).toEqual([400, 'payment_method_missing']);
    expect((await get(t, `/v1/payment_intents?invoice=${inv}`)).data).toHaveLength(0);
  });

  it('a payment method of another customer cannot pay an invoice (400, nothing charged)', async () => {
    const c1 = await t.customer();
    const c2 = await t.customer();
    const pm = await attach('pm_card_visa', c2);
    const inv = await openInvoice(c1);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm.id } });
    expect([pay.status, pay.body.error.type]).toEqual([400, 'invalid_request_error']);
    expect((await get(t, `/v1/invoices/${inv}`)).status).toBe('open');
    expect((await get(t, `/v1/payment_intents?invoice=${inv}`)).data).toHaveLength(0);
  });
});

describe('resolution order', () => {
  it('subscription default_payment_method first, then the customer default; a detached subscription default falls back', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const custDefault = (await get(t, `/v1/customers/${customer}`)).invoice_settings.default_payment_method;
    const mc = await attach('pm_card_mastercard', customer);
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', default_payment_method: mc.id });
    expect(sub.status).toBe('active');
    const first = (await get(t, `/v1/payment_intents?invoice=${sub.latest_invoice}`)).data;
    expect(first.map((p: Any) => [p.payment_method, p.status])).toEqual([[mc.id, 'succeeded']]);
    // Renewal (worker's batch path) uses the subscription's.
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const renewal = (await t.sub(sub.id)).latest_invoice;
    expect(renewal).not.toBe(sub.latest_invoice);
    expect((await get(t, `/v1/payment_intents?invoice=${renewal}`)).data.map((p: Any) => [p.payment_method, p.status])).toEqual([[mc.id, 'succeeded']]);
    // Detach the subscription's: the next renewal falls back to the customer's default.
    const d = await t.call({ method: 'POST', url: `/v1/payment_methods/${mc.id}/detach`, payload: {} });
    expect(d.status).toBe(200);
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const renewal2 = (await t.sub(sub.id)).latest_invoice;
    expect((await get(t, `/v1/payment_intents?invoice=${renewal2}`)).data.map((p: Any) => [p.payment_method, p.status])).toEqual([[custDefault, 'succeeded']]);
    expect((await t.sub(sub.id)).status).toBe('active');
  });

  it('a failing subscription default is charged even when the customer default would succeed (no silent fallback)', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now', default_payment_method: 'pm_card_chargeCustomerFail' });
    expect(sub.status).toBe('incomplete');
    const pis = (await get(t, `/v1/payment_intents?invoice=${sub.latest_invoice}`)).data;
    expect(pis).toHaveLength(1);
    expect([pis[0].status, pis[0].last_payment_error.code, pis[0].last_payment_error.decline_code]).toEqual(['requires_payment_method', 'card_declined', 'generic_decline']);
    expect(sub.default_payment_method).toBe(pis[0].payment_method);
  });
});

describe('test tokens and decline cards', () => {
  const table: [string, string, number, string | null, string | undefined][] = [
    ['pm_card_visa', 'visa', 200, null, undefined],
    ['pm_card_mastercard', 'mastercard', 200, null, undefined],
    ['pm_card_amex', 'amex', 200, null, undefined],
    ['pm_card_chargeCustomerFail', 'visa', 402, 'card_declined', 'generic_decline'],
    ['pm_card_visa_chargeDeclined', 'visa', 402, 'card_declined', 'generic_decline'],
    ['pm_card_visa_chargeDeclinedInsufficientFunds', 'visa', 402, 'card_declined', 'insufficient_funds'],
    ['pm_card_visa_chargeDeclinedLostCard', 'visa', 402, 'card_declined', 'lost_card'],
    ['pm_card_visa_chargeDeclinedStolenCard', 'visa', 402, 'card_declined', 'stolen_card'],
    ['pm_card_chargeDeclinedExpiredCard', 'visa', 402, 'expired_card', undefined],
    ['pm_card_chargeDeclinedIncorrectCvc', 'visa', 402, 'incorrect_cvc', undefined],
    ['pm_card_chargeDeclinedProcessingError', 'visa', 402, 'processing_error', undefined],
  ];
  for (const [tok, brand, status, code, decline] of table) {
    it(`${tok}: attaches, pay answers ${status} ${code ?? ''} ${decline ?? ''}`, async () => {
      const customer = await t.customer();
      const pm = await attach(tok, customer);
      expect([pm.card.brand, pm.customer, pm.id.startsWith('pm_'), pm.id === tok]).toEqual([brand, customer, true, false]);
      const inv = await openInvoice(customer, 4321);
      const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm.id } });
      expect(pay.status, JSON.stringify(pay.body)).toBe(status);
      const pis = (await get(t, `/v1/payment_intents?invoice=${inv}`)).data;
      expect(pis).toHaveLength(1);
      const pi = pis[0];
      expect([pi.amount, pi.currency, pi.customer, pi.invoice, pi.payment_method, pi.gateway]).toEqual([4321, 'usd', customer, inv, pm.id, 'simulated']);
      if (status === 200) {
        expect([pay.body.status, pi.status, pi.amount_received, pi.last_payment_error]).toEqual(['paid', 'succeeded', 4321, null]);
        expect((await events(t, customer, 'payment_intent.succeeded')).map((e) => e.data.object.id)).toEqual([pi.id]);
      } else {
        const e = pay.body.error;
        expect([e.type, e.code, e.decline_code, typeof e.message, e.payment_intent?.id, e.payment_intent?.status]).toEqual(['card_error', code, decline, 'string', pi.id, 'requires_payment_method']);
        expect(e.payment_method?.id ?? e.payment_intent?.last_payment_error?.payment_method?.id).toBe(pm.id);
        const lpe = pi.last_payment_error;
        expect([pi.status, pi.amount_received, lpe.type, lpe.code, lpe.decline_code, lpe.message, lpe.payment_method?.id]).toEqual(['requires_payment_method', 0, 'card_error', code, decline, e.message, pm.id]);
        expect((await get(t, `/v1/invoices/${inv}`)).status).toBe('open');
        expect((await events(t, customer, 'payment_intent.payment_failed')).map((ev) => ev.data.object.id)).toEqual([pi.id]);
        expect((await events(t, customer, 'invoice.payment_failed')).length).toBe(1);
      }
      expect((await events(t, customer, 'payment_intent.created')).map((ev) => ev.data.object.id)).toEqual([pi.id]);
    });
  }

  it('4000000000000341 attaches and every charge on it fails', async () => {
    const customer = await t.customer();
    const pm = (await newCard('4000000000000341')).body;
    await attach(pm.id, customer);
    for (let i = 0; i < 2; i++) {
      const inv = await openInvoice(customer, 2000 + i);
      const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: pm.id } });
      expect([pay.status, pay.body.error.code, pay.body.error.decline_code]).toEqual([402, 'card_declined', 'generic_decline']);
    }
    const pi = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 999, currency: 'usd', customer, payment_method: pm.id, confirm: true } });
    expect([pi.status, pi.body.error?.code]).toEqual([402, 'card_declined']);
  });
});

describe('payment intents', () => {
  it('one per attempt, each with its own idempotency key; list filters and pagination; retrieve', async () => {
    const customer = await t.customer();
    const bad = await attach('pm_card_visa_chargeDeclinedInsufficientFunds', customer);
    const good = await attach('pm_card_visa', customer);
    const inv = await openInvoice(customer, 7777);
    const p1 = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: bad.id } });
    const p2 = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: bad.id } });
    const p3 = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: good.id } });
    expect([p1.status, p2.status, p3.status, p3.body.status, p3.body.attempt_count, p3.body.amount_paid]).toEqual([402, 402, 200, 'paid', 3, 7777]);
    const list = (await get(t, `/v1/payment_intents?invoice=${inv}`)).data;
    expect(list.map((p: Any) => [p.status, p.payment_method, p.amount])).toEqual([
      ['succeeded', good.id, 7777],
      ['requires_payment_method', bad.id, 7777],
      ['requires_payment_method', bad.id, 7777],
    ]);
    expect(list[0].latest_charge).toMatch(/^ch_/);
    const { rows } = await t.testDb.db.query<{ id: string; idempotency_key: string }>(`SELECT id, idempotency_key FROM payment_intents WHERE invoice = $1 ORDER BY id`, [inv]);
    expect(rows.map((r) => r.idempotency_key)).toEqual([`${inv}:attempt:1`, `${inv}:attempt:2`, `${inv}:attempt:3`]);
    // Paying the paid invoice again: 400, no new intent.
    const p4 = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: good.id } });
    expect(p4.status).toBe(400);
    expect((await get(t, `/v1/payment_intents?invoice=${inv}`)).data).toHaveLength(3);
    // Filters.
    expect((await get(t, `/v1/payment_intents?customer=${customer}`)).data.map((p: Any) => p.id)).toEqual(list.map((p: Any) => p.id));
    expect((await get(t, `/v1/payment_intents?customer=${customer}&status=succeeded`)).data.map((p: Any) => p.id)).toEqual([list[0].id]);
    expect((await get(t, `/v1/payment_intents?customer=${customer}&status=requires_payment_method`)).data.map((p: Any) => p.id)).toEqual([list[1].id, list[2].id]);
    // Pagination.
    const page1 = await get(t, `/v1/payment_intents?customer=${customer}&limit=2`);
    expect([page1.object, page1.has_more, page1.data.length, page1.url]).toEqual(['list', true, 2, '/v1/payment_intents']);
    const page2 = await get(t, `/v1/payment_intents?customer=${customer}&limit=2&starting_after=${page1.data[1].id}`);
    expect([page2.has_more, page2.data.map((p: Any) => p.id)]).toEqual([false, [list[2].id]]);
    const back = await get(t, `/v1/payment_intents?customer=${customer}&limit=2&ending_before=${list[2].id}`);
    expect(back.data.map((p: Any) => p.id)).toEqual([list[0].id, list[1].id]);
    // Retrieve.
    const one = await get(t, `/v1/payment_intents/${list[1].id}`);
    expect(one).toEqual(list[1]);
    expect([one.object, one.last_payment_error.decline_code, one.last_payment_error.code, one.last_payment_error.type]).toEqual(['payment_intent', 'insufficient_funds', 'card_declined', 'card_error']);
    const missing = await t.call({ method: 'GET', url: '/v1/payment_intents/pi_nope' });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'resource_missing']);
    // Events per attempt.
    expect((await events(t, customer, 'payment_intent.created')).map((e) => e.data.object.id)).toEqual([list[2].id, list[1].id, list[0].id]);
    expect((await events(t, customer, 'payment_intent.payment_failed')).map((e) => e.data.object.id)).toEqual([list[2].id, list[1].id]);
    expect((await events(t, customer, 'payment_intent.succeeded')).map((e) => [e.data.object.id, e.data.object.status])).toEqual([[list[0].id, 'succeeded']]);
  });

  it('invalid list filters are 400s', async () => {
    const r = await t.call({ method: 'GET', url: '/v1/payment_intents?status=bogus' });
    expect(r.status).toBe(400);
  });
});

describe('payment intents, idempotency, lists, test ids', () => {
  it('renewal batch path writes payment_intent events; failing renewal intent shaped as Stripe', async () => {
    const clock = await t.clockAt('2026-02-01T00:00:00Z');
    const customer = await t.customer({ clock, card: 'pm_card_visa' });
    const sub = await subscribe(t, { customer, items: [{ price: await t.priceId('community_monthly') }], trial_end: 'now' });
    await t.advance(clock, '2026-03-01T02:00:00Z');
    const renewal = (await t.sub(sub.id)).latest_invoice;
    const pis = (await get(t, `/v1/payment_intents?invoice=${renewal}`)).data;
    expect(pis.map((p: Any) => p.status)).toEqual(['succeeded']);
    const created = (await events(t, customer, 'payment_intent.created')).map((e) => e.data.object.id);
    const succeeded = (await events(t, customer, 'payment_intent.succeeded')).map((e) => e.data.object.id);
    expect(created).toContain(pis[0].id);
    expect(succeeded).toContain(pis[0].id);
    // Switch to a failing card and renew again.
    const f = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa_chargeDeclinedInsufficientFunds/attach', payload: { customer } });
    await t.call({ method: 'POST', url: `/v1/customers/${customer}`, payload: { invoice_settings: { default_payment_method: f.body.id } } });
    await t.advance(clock, '2026-04-01T02:00:00Z');
    const r2 = (await t.sub(sub.id)).latest_invoice;
    const p2 = (await get(t, `/v1/payment_intents?invoice=${r2}`)).data;
    expect(p2[0].last_payment_error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' });
    expect(p2[0].last_payment_error.payment_method.id).toBe(f.body.id);
    expect((await events(t, customer, 'payment_intent.payment_failed')).map((e) => e.data.object.id)).toContain(p2[0].id);
  });

  it('a declined pay retried with the same Idempotency-Key replays the 402 without a second intent', async () => {
    const customer = await t.customer();
    const pm = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa_chargeDeclined/attach', payload: { customer } });
    const inv = await openInvoice(customer);
    const a = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, headers: { 'idempotency-key': 'audit-pay-1' }, payload: { payment_method: pm.body.id } });
    const b = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, headers: { 'idempotency-key': 'audit-pay-1' }, payload: { payment_method: pm.body.id } });
    expect([a.status, b.status]).toEqual([402, 402]);
    expect(b.body).toEqual(a.body);
    expect((await get(t, `/v1/payment_intents?invoice=${inv}`)).data).toHaveLength(1);
    expect((await get(t, `/v1/invoices/${inv}`)).attempt_count).toBe(1);
  });

  it('test ids work directly as payment_method on pay, and card[token] on create', async () => {
    const customer = await t.customer();
    const inv = await openInvoice(customer);
    const pay = await t.call({ method: 'POST', url: `/v1/invoices/${inv}/pay`, payload: { payment_method: 'pm_card_mastercard' } });
    expect([pay.status, pay.body.status]).toEqual([200, 'paid']);
    const pi = (await get(t, `/v1/payment_intents?invoice=${inv}`)).data[0];
    const pm = await get(t, `/v1/payment_methods/${pi.payment_method}`);
    expect([pm.customer, pm.card.brand]).toEqual([customer, 'mastercard']);
    const tok = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { token: 'tok_visa' } } });
    expect([tok.status, tok.body.card?.brand, tok.body.card?.last4]).toEqual([200, 'visa', '4242']);
    const list = await get(t, `/v1/payment_methods?customer=${customer}&type=card`);
    expect(list.data.map((p: Any) => p.id)).toEqual([pm.id]);
  });

  it('detached payment methods leave the customer list', async () => {
    const customer = await t.customer();
    const a = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    const b = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_amex/attach', payload: { customer } });
    await t.call({ method: 'POST', url: `/v1/payment_methods/${a.body.id}/detach`, payload: {} });
    expect((await get(t, `/v1/customers/${customer}/payment_methods`)).data.map((p: Any) => p.id)).toEqual([b.body.id]);
    const g = await t.call({ method: 'GET', url: `/v1/customers/${customer}/payment_methods/${a.body.id}` });
    expect(g.status).toBe(404);
    // detach twice → 400
    const d2 = await t.call({ method: 'POST', url: `/v1/payment_methods/${a.body.id}/detach`, payload: {} });
    expect(d2.status).toBe(400);
  });

  it('POST /v1/payment_intents declined: 402 with payment_intent; succeeded: 200', async () => {
    const customer = await t.customer();
    const good = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer } });
    const ok = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 1234, currency: 'eur', customer, payment_method: good.body.id, confirm: true } });
    expect([ok.status, ok.body.status, ok.body.amount, ok.body.currency, ok.body.amount_received, ok.body.invoice]).toEqual([200, 'succeeded', 1234, 'eur', 1234, null]);
    const bad = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa_chargeDeclinedLostCard/attach', payload: { customer } });
    const ko = await t.call({ method: 'POST', url: '/v1/payment_intents', payload: { amount: 1234, currency: 'eur', customer, payment_method: bad.body.id, confirm: true } });
    expect([ko.status, ko.body.error.type, ko.body.error.code, ko.body.error.decline_code, ko.body.error.payment_intent.status]).toEqual([402, 'card_error', 'card_declined', 'lost_card', 'requires_payment_method']);
    const got = await get(t, `/v1/payment_intents/${ko.body.error.payment_intent.id}`);
    expect(got.status).toBe('requires_payment_method');
  });
});
