import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { defaultPaymentMethodFor, resolvePaymentMethod } from './service.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function newCustomer(payload: object = {}): Promise<string> {
  const res = await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'pm@example.com', ...payload } });
  expect(res.status).toBe(200);
  return res.body.id;
}

async function createCard(card: Record<string, unknown>, extra: object = {}) {
  return t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card, ...extra } });
}

async function eventTypes(objectId: string): Promise<string[]> {
  const { rows } = await t.testDb.db.query<{ type: string }>('SELECT type FROM events WHERE object_id = $1 ORDER BY id', [objectId]);
  return rows.map((r) => r.type);
}

describe('POST /v1/payment_methods (tokenisation)', () => {
  it('stores brand, last4, expiry, country, funding and fingerprint — never the number or CVC', async () => {
    const number = '378282246310005';
    const cvc = '7391';
    const res = await createCard(
      { number, exp_month: 8, exp_year: 2030, cvc },
      { billing_details: { name: 'Jenny Rosen', address: { country: 'us', postal_code: '94102' } }, metadata: { order: '42' } },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'payment_method',
      type: 'card',
      customer: null,
      livemode: false,
      created: 1768478400,
      metadata: { order: '42' },
      billing_details: {
        name: 'Jenny Rosen',
        email: null,
        phone: null,
        address: { country: 'US', postal_code: '94102', city: null, line1: null, line2: null, state: null },
      },
      card: {
        brand: 'amex',
        display_brand: 'amex',
        last4: '0005',
        exp_month: 8,
        exp_year: 2030,
        country: 'US',
        funding: 'credit',
        checks: { cvc_check: 'pass', address_line1_check: null, address_postal_code_check: null },
        networks: { available: ['amex'], preferred: null },
      },
    });
    expect(res.body.id).toMatch(/^pm_[0-9A-Za-z]{22}$/);
    expect(res.body.card.fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(res.body).not.toHaveProperty('gateway_token');

    const { rows } = await t.testDb.db.query<Record<string, unknown>>('SELECT * FROM payment_methods WHERE id = $1', [res.body.id]);
    const row = rows[0]!;
    expect(Object.keys(row.card as object).sort()).toEqual(['brand', 'country', 'cvc_check', 'exp_month', 'exp_year', 'fingerprint', 'funding', 'last4']);
    expect(row.gateway).toBe('simulated');
    expect(row.gateway_token).toMatch(/^simtok_succeed_[a-p]{16}$/);
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(number);
    expect(stored).not.toContain(number.slice(0, 6)); // not even the BIN
    expect(stored).not.toContain(cvc);
    expect(stored).not.toMatch(/"cvc"/);
    // Nothing else in the database holds it either (events, idempotency keys…).
    const everywhere = await t.testDb.db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM events WHERE data::text LIKE $1 OR data::text LIKE $2)::int AS n`,
      [`%${number}%`, `%${cvc}%`],
    );
    expect(everywhere.rows[0]!.n).toBe(0);
  });

  it('gives the same card the same fingerprint, a different card another', async () => {
    const a = await createCard({ number: '4242424242424242', exp_month: 1, exp_year: 2027 });
    const b = await createCard({ number: '4242 4242 4242 4242', exp_month: 12, exp_year: 2031, cvc: '314' });
    const c = await createCard({ number: '5555555555554444', exp_month: 1, exp_year: 2027 });
    expect(a.body.card.fingerprint).toBe(b.body.card.fingerprint);
    expect(a.body.id).not.toBe(b.body.id);
    expect(c.body.card.fingerprint).not.toBe(a.body.card.fingerprint);
    expect(c.body.card.brand).toBe('mastercard');
    expect(a.body.card.checks.cvc_check).toBeNull();
  });

  it('answers 402 card_error with code and param for a bad card, writing nothing', async () => {
    const before = (await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_methods')).rows[0]!.n;
    const cases: [Record<string, unknown>, string, string][] = [
      [{ number: '4242424242424241', exp_month: 1, exp_year: 2027 }, 'incorrect_number', 'card[number]'],
      [{ number: '4242424242424242', exp_month: 12, exp_year: 2025 }, 'invalid_expiry_year', 'card[exp_year]'],
      [{ number: '4242424242424242', exp_month: 0, exp_year: 2027 }, 'invalid_expiry_month', 'card[exp_month]'],
      [{ number: '4242424242424242', exp_month: 1, exp_year: 2027, cvc: '1' }, 'invalid_cvc', 'card[cvc]'],
    ];
    for (const [card, code, param] of cases) {
      const res = await createCard(card);
      expect(res.status, JSON.stringify(card)).toBe(402);
      expect(res.body).toEqual({ error: { type: 'card_error', code, param, message: expect.any(String) } });
    }
    const missing = await createCard({ exp_month: 1, exp_year: 2027 });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'parameter_missing', param: 'card[number]' });
    const wrongType = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'sepa_debit', card: {} } });
    expect(wrongType.body.error).toMatchObject({ code: 'parameter_invalid', param: 'type' });
    const after = (await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_methods')).rows[0]!.n;
    expect(after).toBe(before);
  });

  it('accepts form encoding (Stripe SDKs) and keeps the number and CVC out of the logs', async () => {
    const lt = await createTestApp({ config: { logLevel: 'trace' } });
    const written: string[] = [];
    const capture = (fd: unknown, data: unknown) => {
      if (fd === 1 || fd === 2) written.push(typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString());
    };
    // Fastify's pino writes through sonic-boom, which calls fs.write / fs.writeSync on fd 1.
    const realWrite = fs.write.bind(fs) as (...args: unknown[]) => void;
    const spies = [
      vi.spyOn(fs, 'write').mockImplementation(((fd: number, data: unknown, ...rest: unknown[]) => {
        if (fd !== 1 && fd !== 2) return realWrite(fd, data, ...rest);
        capture(fd, data);
        const cb = rest.at(-1) as (err: null, n: number) => void;
        cb(null, Buffer.byteLength(data as string));
      }) as unknown as typeof fs.write),
      vi.spyOn(fs, 'writeSync').mockImplementation((fd: number, data: unknown) => {
        capture(fd, data);
        return Buffer.byteLength(data as string);
      }),
    ];
    try {
      const ok = await lt.call({
        method: 'POST',
        url: '/v1/payment_methods',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'type=card&card[number]=4000056655665556&card[exp_month]=4&card[exp_year]=2029&card[cvc]=8642',
      });
      expect(ok.status).toBe(200);
      expect(ok.body.card).toMatchObject({ brand: 'visa', last4: '5556', funding: 'debit', exp_month: 4, exp_year: 2029 });
      const bad = await lt.call({
        method: 'POST',
        url: '/v1/payment_methods',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'type=card&card[number]=4000056655665557&card[exp_month]=4&card[exp_year]=2029&card[cvc]=8642',
      });
      expect(bad.status).toBe(402);
      await new Promise((r) => setTimeout(r, 50)); // let the logger flush
    } finally {
      for (const s of spies) s.mockRestore();
      await lt.close();
    }
    const log = written.join('');
    expect(log).toContain('/v1/payment_methods'); // the capture works: request lines were logged
    expect(log).not.toContain('400005665566555');
    // The CVC is four digits, which a timestamp or a random request id can hold by chance: look for it
    // in every logged value except those.
    const values: unknown[] = [];
    const walk = (v: unknown, key = ''): void => {
      if (['time', 'pid', 'reqId', 'responseTime'].includes(key)) return;
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
      else values.push(v);
    };
    for (const line of log.split('\n').filter((l) => l.trim() !== '')) walk(JSON.parse(line) as unknown);
    expect(values.length).toBeGreaterThan(8);
    expect(values.filter((v) => v === 8642 || (typeof v === 'string' && v.includes('8642')))).toEqual([]);
  });
});

describe('attach, detach, list', () => {
  it('attaches, lists per customer, detaches (final) and writes events', async () => {
    const cus = await newCustomer();
    const other = await newCustomer();
    const pm = (await createCard({ number: '4242424242424242', exp_month: 1, exp_year: 2027 })).body.id;
    const pm2 = (await createCard({ number: '5555555555554444', exp_month: 1, exp_year: 2027 })).body.id;

    const attached = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
    expect(attached.status).toBe(200);
    expect(attached.body.customer).toBe(cus);
    const again = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
    expect(again.status).toBe(200);
    const elsewhere = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: other } });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.code).toBe('payment_method_unexpected_state');
    expect((await t.call({ method: 'POST', url: `/v1/payment_methods/${pm2}/attach`, payload: { customer: cus } })).status).toBe(200);
    const noCustomer = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm2}/attach`, payload: { customer: 'cus_missing' } });
    expect(noCustomer.status).toBe(404);
    expect(noCustomer.body.error).toMatchObject({ code: 'resource_missing', param: 'customer' });

    const list = await t.call({ method: 'GET', url: `/v1/customers/${cus}/payment_methods` });
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false, url: `/v1/customers/${cus}/payment_methods` });
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([pm2, pm]);
    const filtered = await t.call({ method: 'GET', url: `/v1/payment_methods?customer=${cus}&type=card&limit=1` });
    expect(filtered.body.data.map((p: { id: string }) => p.id)).toEqual([pm2]);
    expect(filtered.body.has_more).toBe(true);
    expect((await t.call({ method: 'GET', url: `/v1/customers/${other}/payment_methods` })).body.data).toEqual([]);
    expect((await t.call({ method: 'GET', url: `/v1/customers/${cus}/payment_methods/${pm}` })).body.id).toBe(pm);
    expect((await t.call({ method: 'GET', url: `/v1/customers/${other}/payment_methods/${pm}` })).status).toBe(404);
    expect((await t.call({ method: 'GET', url: `/v1/payment_methods?type=sepa_debit` })).status).toBe(400);

    const detached = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/detach` });
    expect(detached.status).toBe(200);
    expect(detached.body.customer).toBeNull();
    const listAfter = await t.call({ method: 'GET', url: `/v1/customers/${cus}/payment_methods` });
    expect(listAfter.body.data.map((p: { id: string }) => p.id)).toEqual([pm2]);
    const twice = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/detach` });
    expect(twice.status).toBe(400);
    const reattach = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });
    expect(reattach.status).toBe(400);
    expect(reattach.body.error.code).toBe('payment_method_unexpected_state');

    expect(await eventTypes(pm)).toEqual(['payment_method.attached', 'payment_method.detached']);
    const ev = await t.call({ method: 'GET', url: `/v1/events?customer=${cus}&type=payment_method.detached` });
    expect(ev.body.data).toHaveLength(1);
    expect(ev.body.data[0].data.object).toMatchObject({ id: pm, customer: null });
    expect(ev.body.data[0].data.previous_attributes).toEqual({ customer: cus });
  });

  it('attaching a Stripe test id creates a new payment method from that test card', async () => {
    const cus = await newCustomer();
    const res = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: cus } });
    expect(res.status).toBe(200);
    expect(res.body.id).toMatch(/^pm_[0-9A-Za-z]{22}$/);
    expect(res.body).toMatchObject({ customer: cus, card: { brand: 'visa', last4: '4242', exp_month: 1, exp_year: 2027, country: 'US' } });
    const mc = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_mastercard/attach', payload: { customer: cus } });
    expect(mc.body.card).toMatchObject({ brand: 'mastercard', last4: '4444' });
    const fail = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_chargeCustomerFail/attach', payload: { customer: cus } });
    expect(fail.status).toBe(200); // 0341 attaches; its charges fail
    expect(fail.body.card.last4).toBe('0341');
    const second = await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: cus } });
    expect(second.body.id).not.toBe(res.body.id);
    const list = await t.call({ method: 'GET', url: `/v1/customers/${cus}/payment_methods` });
    expect(list.body.data).toHaveLength(4);
    expect(await eventTypes(res.body.id)).toEqual(['payment_method.attached']);
    expect((await t.call({ method: 'GET', url: '/v1/payment_methods/pm_card_visa' })).status).toBe(404);
  });

  it("detaching the customer's default payment method clears invoice_settings.default_payment_method", async () => {
    const cus = await newCustomer();
    const pm = (await t.call({ method: 'POST', url: '/v1/payment_methods/pm_card_visa/attach', payload: { customer: cus } })).body.id;
    const set = await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { invoice_settings: { default_payment_method: pm } } });
    expect(set.body.invoice_settings.default_payment_method).toBe(pm);
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/detach` });
    const after = await t.call({ method: 'GET', url: `/v1/customers/${cus}` });
    expect(after.body.invoice_settings.default_payment_method).toBeNull();
    const ev = await t.call({ method: 'GET', url: `/v1/events?customer=${cus}&type=customer.updated&limit=1` });
    expect(ev.body.data[0].data.previous_attributes).toEqual({ invoice_settings: { default_payment_method: pm } });
  });
});

describe('POST /v1/payment_methods/{id}', () => {
  it('updates expiry, billing details and metadata of an attached card, writing payment_method.updated', async () => {
    const cus = await newCustomer();
    const pm = (await createCard({ number: '4242424242424242', exp_month: 1, exp_year: 2027 }, { billing_details: { name: 'Ann', email: 'a@x.io' } })).body.id;
    const unattached = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}`, payload: { metadata: { a: '1' } } });
    expect(unattached.status).toBe(400);
    expect(unattached.body.error.code).toBe('payment_method_unexpected_state');
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/attach`, payload: { customer: cus } });

    const upd = await t.call({
      method: 'POST',
      url: `/v1/payment_methods/${pm}`,
      payload: { card: { exp_month: 11, exp_year: 31 }, billing_details: { name: 'Ann B', address: { city: 'Oslo' } }, metadata: { a: '1' } },
    });
    expect(upd.status).toBe(200);
    expect(upd.body.card).toMatchObject({ exp_month: 11, exp_year: 2031, last4: '4242' });
    expect(upd.body.billing_details).toMatchObject({ name: 'Ann B', email: 'a@x.io', address: { city: 'Oslo', country: null } });
    expect(upd.body.metadata).toEqual({ a: '1' });
    const ev = await t.call({ method: 'GET', url: `/v1/events?object_id=${pm}&type=payment_method.updated` });
    expect(ev.body.data).toHaveLength(1);
    expect(ev.body.data[0].data.previous_attributes.card).toMatchObject({ exp_month: 1, exp_year: 2027 });
    expect(Object.keys(ev.body.data[0].data.previous_attributes).sort()).toEqual(['billing_details', 'card', 'metadata']);

    const expired = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}`, payload: { card: { exp_year: 2025 } } });
    expect(expired.status).toBe(402);
    expect(expired.body.error).toMatchObject({ type: 'card_error', code: 'invalid_expiry_year', param: 'card[exp_year]' });
    const number = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}`, payload: { card: { number: '4242424242424242' } } });
    expect(number.status).toBe(400);
    expect(number.body.error).toMatchObject({ code: 'parameter_unknown', param: 'card[number]' });
    expect((await t.call({ method: 'GET', url: `/v1/payment_methods/${pm}` })).body.card.exp_year).toBe(2031);
    expect((await t.call({ method: 'GET', url: '/v1/payment_methods/pm_nope' })).status).toBe(404);
  });
});

describe('resolvePaymentMethod and defaultPaymentMethodFor', () => {
  it("resolves a test id to a new attached payment method and refuses another customer's", async () => {
    const cus = await newCustomer();
    const other = await newCustomer();
    const now = t.clock.now();
    const viaToken = await t.testDb.db.tx((q) => resolvePaymentMethod(q, t.deps, 'pm_card_visa', cus, now, { param: 'default_payment_method' }));
    expect(viaToken).toMatchObject({ customer: cus, card: { last4: '4242', brand: 'visa' } });
    const same = await t.testDb.db.tx((q) => resolvePaymentMethod(q, t.deps, viaToken.id, cus, now));
    expect(same.id).toBe(viaToken.id);
    const foreign = await t.testDb.db.tx((q) => resolvePaymentMethod(q, t.deps, viaToken.id, other, now, { param: 'default_payment_method' })).catch((e) => e);
    expect(foreign.toJSON()).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        param: 'default_payment_method',
        message: `The customer does not have a payment method with the ID ${viaToken.id}. The payment method must be attached to the customer.`,
      },
    });
    expect(foreign.status).toBe(400);
    const missing = await t.testDb.db.tx((q) => resolvePaymentMethod(q, t.deps, 'pm_missing', cus, now)).catch((e) => e);
    expect(missing.toJSON().error).toMatchObject({ code: 'resource_missing', param: 'payment_method', message: "No such PaymentMethod: 'pm_missing'" });
    expect(missing.status).toBe(400);
  });

  it("picks the invoice's, then the subscription's, then the customer's default, skipping detached ones", async () => {
    const cus = await newCustomer();
    const attach = async (token: string) => (await t.call({ method: 'POST', url: `/v1/payment_methods/${token}/attach`, payload: { customer: cus } })).body.id;
    const custPm = await attach('pm_card_visa');
    const subPm = await attach('pm_card_mastercard');
    const invPm = await attach('pm_card_amex');
    const db = t.testDb.db;
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: null, customerId: cus })).toBeNull();
    await t.call({ method: 'POST', url: `/v1/customers/${cus}`, payload: { invoice_settings: { default_payment_method: custPm } } });
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: null, customerId: cus })).toBe(custPm);
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: subPm, customerId: cus })).toBe(subPm);
    expect(await defaultPaymentMethodFor(db, { invoiceDefault: invPm, subscriptionDefault: subPm, customerId: cus })).toBe(invPm);
    await t.call({ method: 'POST', url: `/v1/payment_methods/${subPm}/detach` });
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: subPm, customerId: cus })).toBe(custPm);
    await t.call({ method: 'POST', url: `/v1/payment_methods/${custPm}/detach` });
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: subPm, customerId: cus })).toBeNull();
    expect(await defaultPaymentMethodFor(db, { subscriptionDefault: 'pm_card_visa', customerId: cus })).toBe('pm_card_visa');
  });
});

describe('billing_details shape', () => {
  it('a row written without billing_details (bulk loaders) still has Stripe full shape, so charges can read it', async () => {
    const customer = await newCustomer();
    await t.testDb.db.query(
      `INSERT INTO payment_methods (id, customer, type, card, gateway, gateway_token, created)
       VALUES ('pm_bulkshape', $1, 'card', $2, 'simulated', 'tok_visa', $3)`,
      [customer, JSON.stringify({ brand: 'visa', last4: '4242', exp_month: 1, exp_year: 2040, country: 'US', funding: 'credit', fingerprint: 'fp_bulk' }), t.clock.now()],
    );
    const { rows } = await t.testDb.db.query<{ billing_details: unknown }>(`SELECT billing_details FROM payment_methods WHERE id = 'pm_bulkshape'`);
    expect(rows[0]!.billing_details).toEqual({
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
    });
  });
});
