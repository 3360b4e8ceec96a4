import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from '../../../test/helpers/db.js';
import { buildApp } from '../../app.js';
import { testConfig } from '../../config.js';
import { ManualClock } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { createApiKey } from '../api-keys/service.js';
import { seedCatalog } from '../catalog/seed.js';
import { assessPayments, DEFAULT_FRAUD } from '../payments/fraud.js';
import type { CardDetails, ChargeOutcome, ChargeRequest, Gateway, TokenizedCard } from '../payments/gateway.js';
import type { PaymentMethodRow } from '../payments/repository.js';
import { GatewayRouter } from '../payments/router.js';
import { SimulatedGateway } from '../payments/simulated-gateway.js';
import { payDue } from '../subscriptions/jobs.js';

// The worker's set-based collection (collectInvoices, through payDue and test clock renewals) applies
// what attemptPayment applies one by one: the fraud rules before a new charge (a block records a failed
// attempt and reaches no gateway; a review charges and flags) and the routing context (customer and
// card country, brand, type), so the router's rules hold for renewals too. The app here runs the
// router over two simulated gateways, `alpha` (first by default) and `beta` (first for Brazil), which
// count the charges they receive.

/** A simulated gateway under another name that records every charge request. */
class Counted implements Gateway {
  readonly charges: ChargeRequest[] = [];
  private readonly inner: SimulatedGateway;

  constructor(
    readonly name: string,
    clock: ManualClock,
  ) {
    this.inner = new SimulatedGateway({ fingerprintSecret: 'collect-test-secret', now: () => clock.now() });
  }

  tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    return this.inner.tokenizeCard(card);
  }

  charge(req: ChargeRequest): Promise<ChargeOutcome> {
    this.charges.push(req);
    return this.inner.charge(req);
  }

  retrieveCharge(key: string): Promise<ChargeOutcome | null> {
    return this.inner.retrieveCharge(key);
  }

  chargesFor(key: string): ChargeRequest[] {
    return this.charges.filter((c) => c.idempotencyKey === key);
  }
}

let testDb: TestDb;
let app: FastifyInstance;
let deps: AppDeps;
let key: string;
let alpha: Counted;
let beta: Counted;
const clock = new ManualClock('2026-01-15T12:00:00Z');

beforeAll(async () => {
  testDb = await openTestDb();
  alpha = new Counted('alpha', clock);
  beta = new Counted('beta', clock);
  const router = new GatewayRouter({
    gateways: [alpha, beta],
    order: ['alpha', 'beta'],
    rules: [{ name: 'brazil-via-beta', countries: ['BR'], gateways: ['beta', 'alpha'] }],
    successRateRouting: false,
    now: () => clock.now().getTime(),
  });
  ({ app, deps } = await buildApp({ db: testDb.db, clock, config: testConfig({ finalizeDelaySeconds: 3600 }), gateways: router }));
  await app.ready();
  await testDb.db.tx((q) => seedCatalog(q, clock.now()));
  key = (await createApiKey(testDb.db, { name: 'test-admin', scope: 'admin' }, clock.now())).secret;
});
afterAll(async () => {
  await app.close();
  await testDb.close();
});
beforeEach(() => {
  alpha.charges.length = 0;
  beta.charges.length = 0;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function call(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>): Promise<any> {
  const res = await app.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });
  expect(res.statusCode, res.body).toBe(200);
  return JSON.parse(res.body);
}

const unix = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

/** A customer (in `country`) whose default payment method is a new card (issued in the US). */
async function customerWithCard(opts: { country: string; clock?: string; billingCountry?: string; number?: string }): Promise<{ customer: string; pm: string }> {
  const customer = (await call('POST', '/v1/customers', { email: 'collect@example.com', address: { country: opts.country }, ...(opts.clock ? { test_clock: opts.clock } : {}) })).id;
  const pm = (
    await call('POST', '/v1/payment_methods', {
      type: 'card',
      card: { number: opts.number ?? '4242424242424242', exp_month: 12, exp_year: 2031 },
      ...(opts.billingCountry ? { billing_details: { address: { country: opts.billingCountry } } } : {}),
    })
  ).id;
  await call('POST', `/v1/payment_methods/${pm}/attach`, { customer });
  await call('POST', `/v1/customers/${customer}`, { invoice_settings: { default_payment_method: pm } });
  return { customer, pm };
}

/**
 * A monthly subscription on a test clock from Feb 1 (first invoice paid one by one at creation), then
 * `beforeRenewal`, then the clock advanced past the Mar 1 renewal: the renewal invoice is finalised at
 * 01:00 and collected by the worker's payDue → collectInvoices. Returns the renewal invoice.
 */
async function renew(opts: { country: string; billingCountry?: string; beforeRenewal?: (customer: string) => Promise<void> }) {
  const tc = (await call('POST', '/v1/test_helpers/test_clocks', { frozen_time: unix('2026-02-01T00:00:00Z') })).id;
  const { customer, pm } = await customerWithCard({ country: opts.country, clock: tc, billingCountry: opts.billingCountry });
  const price = (await call('GET', '/v1/prices?lookup_keys[]=community_monthly')).data[0].id;
  const sub = await call('POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now' });
  expect(sub.status).toBe('active');
  await opts.beforeRenewal?.(customer);
  await call('POST', `/v1/test_helpers/test_clocks/${tc}/advance`, { frozen_time: unix('2026-03-01T02:00:00Z') });
  const invoices = (await call('GET', `/v1/invoices?subscription=${sub.id}&limit=10`)).data;
  const renewal = invoices.find((i: { billing_reason: string }) => i.billing_reason === 'subscription_cycle');
  expect(renewal).toBeDefined();
  const intents = (await call('GET', `/v1/payment_intents?invoice=${renewal.id}`)).data;
  expect(intents).toHaveLength(1);
  const row = (await testDb.db.query<Record<string, unknown>>('SELECT * FROM payment_intents WHERE id = $1', [intents[0].id])).rows[0]!;
  return { customer, pm, sub: sub.id as string, invoice: await call('GET', `/v1/invoices/${renewal.id}`), pi: intents[0], row, key: `${renewal.id}:attempt:1` };
}

async function eventTypes(customer: string, type: string): Promise<{ type: string; data: { object: { id: string } } }[]> {
  return (await call('GET', `/v1/events?type=${type}&customer=${customer}&limit=100`)).data;
}

describe("the worker's renewal charges", () => {
  it('a customer under an active payment block: a failed intent (payment_blocked), no gateway call, the invoice open after one attempt', async () => {
    const r = await renew({
      country: 'US',
      beforeRenewal: async (customer) => {
        await testDb.db.query(`INSERT INTO payment_blocks (id, scope, value, rule, reason, until, created) VALUES ($1, 'customer', $2, 'operator', 'Blocked by an operator.', $3, $4)`, [
          `pblk_test_${customer}`,
          customer,
          new Date('2026-04-01T00:00:00Z'),
          new Date('2026-02-01T00:00:00Z'),
        ]);
      },
    });
    expect(alpha.chargesFor(r.key)).toHaveLength(0);
    expect(beta.chargesFor(r.key)).toHaveLength(0);
    expect(r.pi).toMatchObject({
      status: 'requires_payment_method',
      amount: 9700,
      amount_received: 0,
      payment_method: r.pm,
      latest_charge: null,
      last_payment_error: { type: 'card_error', code: 'payment_blocked', message: 'Blocked by an operator.', payment_method: { id: r.pm } },
      risk: { outcome: 'block', rule: 'operator', score: 100, level: 'highest' },
    });
    expect(r.row).toMatchObject({ failure_class: 'fraud', gateway_ref: null, gateway: 'router', routing: null, risk_outcome: 'block', risk_rule: 'operator', risk_score: 100, idempotency_key: r.key });
    expect(r.invoice).toMatchObject({ status: 'open', attempt_count: 1, amount_paid: 0, amount_remaining: 9700, next_payment_attempt: null });
    expect((await call('GET', `/v1/subscriptions/${r.sub}`)).status).toBe('past_due');
    // The events of a blocked attempt one by one: created and payment_failed, then the invoice's failure.
    expect((await eventTypes(r.customer, 'payment_intent.created')).filter((e) => e.data.object.id === r.pi.id)).toHaveLength(1);
    expect((await eventTypes(r.customer, 'payment_intent.payment_failed')).map((e) => e.data.object.id)).toEqual([r.pi.id]);
    expect((await eventTypes(r.customer, 'invoice.payment_failed')).map((e) => e.data.object.id)).toEqual([r.invoice.id]);
  });

  it("a routing rule by the customer's country sends the renewal to its gateway, and the intent records where and why", async () => {
    // A Brazilian customer with a US card billed in the US: the fraud rules see no mismatch (the card's
    // billing country wins), the router routes by the customer's country.
    const r = await renew({ country: 'BR', billingCountry: 'US' });
    expect(alpha.chargesFor(r.key)).toHaveLength(0);
    const sent = beta.chargesFor(r.key);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      amount: 9700,
      currency: 'usd',
      customerId: r.customer,
      context: { paymentMethodId: r.pm, paymentMethodType: 'card', brand: 'visa', cardCountry: 'US', customerCountry: 'BR', ip: null, previousRef: null },
    });
    expect(r.pi).toMatchObject({ status: 'succeeded', gateway: 'beta', amount_received: 9700, risk: { outcome: 'allow', rule: null, score: 0 } });
    expect(r.row).toMatchObject({ gateway: 'beta', risk_outcome: 'allow', risk_score: 0, risk_rule: null });
    expect(r.row.gateway_ref).toMatch(/^beta:ch_sim_/);
    expect(r.row.routing).toEqual({ rule: 'brazil-via-beta', candidates: ['beta', 'alpha'], steps: [{ gateway: 'beta', result: 'succeeded' }], explored: false, reconciled: false });
    expect(r.invoice).toMatchObject({ status: 'paid', attempt_count: 1, amount_paid: 9700 });
  });

  it('a country mismatch is reviewed: charged, and the intent flagged', async () => {
    const r = await renew({ country: 'GB' });
    expect(alpha.chargesFor(r.key)).toHaveLength(1);
    expect(alpha.chargesFor(r.key)[0]!.context).toMatchObject({ cardCountry: 'US', customerCountry: 'GB' });
    expect(beta.chargesFor(r.key)).toHaveLength(0);
    expect(r.pi).toMatchObject({ status: 'succeeded', gateway: 'alpha', risk: { outcome: 'review', rule: 'country_mismatch', score: 65, level: 'elevated' } });
    expect(r.row).toMatchObject({ risk_outcome: 'review', risk_rule: 'country_mismatch', risk_score: 65, gateway: 'alpha' });
    expect(r.row.routing).toEqual({ rule: null, candidates: ['alpha', 'beta'], steps: [{ gateway: 'alpha', result: 'succeeded' }], explored: false, reconciled: false });
    expect(r.invoice).toMatchObject({ status: 'paid', attempt_count: 1, amount_paid: 9700 });
    expect((await call('GET', `/v1/subscriptions/${r.sub}`)).status).toBe('active');
  });
});

/** Counts the statements sent through `q`. */
function counting(q: Queryable): { q: Queryable; count: () => number } {
  let n = 0;
  return {
    q: {
      query: (sql, params) => {
        n++;
        return q.query(sql, params);
      },
      exec: (sql) => {
        n++;
        return q.exec(sql);
      },
    },
    count: () => n,
  };
}

/** An open invoice of `customer` on real time, due for its first automatic attempt now. */
async function dueInvoice(customer: string, amount: number): Promise<string> {
  const id = `in_collect${Math.random().toString(36).slice(2, 12)}`;
  const now = clock.now();
  await testDb.db.query(
    `INSERT INTO invoices (id, customer, status, number, series, currency, billing_reason, period_start, period_end, total, amount_due, amount_remaining, next_payment_attempt, created, updated)
     VALUES ($1, $2, 'open', $1, 'COLLECT', 'usd', 'manual', $3, $3, $4, $4, $4, $3, $3, $3)`,
    [id, customer, now, amount],
  );
  return id;
}

async function piOf(invoice: string) {
  return (await testDb.db.query<Record<string, unknown>>('SELECT * FROM payment_intents WHERE invoice = $1', [invoice])).rows;
}

describe('set-based', () => {
  it('a batch of allowed and reviewed renewals takes the same number of statements whatever its size', async () => {
    const run = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(await dueInvoice((await customerWithCard({ country: i % 2 ? 'GB' : 'US' })).customer, 1500));
      const c = await testDb.db.tx(async (q) => {
        const cq = counting(q);
        expect(await payDue(cq.q, deps, { clock: null }, clock.now(), 100)).toBe(n);
        return cq.count();
      });
      for (const id of ids) expect((await piOf(id)).map((p) => [p.status, p.risk_outcome])).toEqual([['succeeded', ids.indexOf(id) % 2 ? 'review' : 'allow']]);
      return c;
    };
    const small = await run(2);
    const large = await run(6);
    expect(large).toBe(small);
    expect(alpha.charges).toHaveLength(8);
  });

  it('a velocity rule met in the batch blocks that attempt alone and records its blocks; the others are charged', async () => {
    // A card of its own (its fingerprint blocked for a day would block the other tests' cards).
    const failing = await customerWithCard({ country: 'US', number: '5555555555554444' });
    const fine = await customerWithCard({ country: 'US' });
    // Saved with no billing details at all (the column's default, as rows written set-based have).
    await testDb.db.query(`UPDATE payment_methods SET billing_details = '{}' WHERE id = $1`, [failing.pm]);
    const now = clock.now();
    // Six declined attempts of the card within the last hour.
    for (let i = 0; i < 6; i++) {
      await testDb.db.query(
        `INSERT INTO payment_intents (id, customer, amount, amount_received, currency, status, payment_method, gateway, idempotency_key, failure_class, last_payment_error, created, updated)
         VALUES ($1, $2, 1000, 0, 'usd', 'requires_payment_method', $3, 'router', $1, 'soft_decline', '{"type":"card_error","code":"card_declined","message":"Your card was declined."}', $4, $4)`,
        [`pi_velocity_${failing.customer}_${i}`, failing.customer, failing.pm, new Date(now.getTime() - (i + 1) * 60_000)],
      );
    }
    const blockedInv = await dueInvoice(failing.customer, 2000);
    const fineInv = await dueInvoice(fine.customer, 2000);
    await testDb.db.tx((q) => payDue(q, deps, { clock: null }, now, 100));

    const [blocked] = await piOf(blockedInv);
    expect(blocked).toMatchObject({
      status: 'requires_payment_method',
      failure_class: 'fraud',
      risk_outcome: 'block',
      risk_rule: 'payment_method_velocity',
      risk_score: 100,
      last_payment_error: {
        type: 'card_error',
        code: 'payment_blocked',
        message: 'This payment method failed 6 times in the last hour; it is blocked for 24 hours.',
        payment_method: { id: failing.pm, billing_details: { address: { country: null } } },
      },
    });
    expect(alpha.chargesFor(`${blockedInv}:attempt:1`)).toHaveLength(0);
    expect(beta.chargesFor(`${blockedInv}:attempt:1`)).toHaveLength(0);
    const { rows: blocks } = await testDb.db.query<{ scope: string; value: string; rule: string; until: Date }>(
      `SELECT scope, value, rule, until FROM payment_blocks WHERE rule = 'payment_method_velocity' AND created = $1 ORDER BY scope`,
      [now],
    );
    const pmRow = (await testDb.db.query<PaymentMethodRow>('SELECT * FROM payment_methods WHERE id = $1', [failing.pm])).rows[0]!;
    expect(blocks.map((b) => [b.scope, b.value, new Date(b.until).toISOString()])).toEqual([
      ['fingerprint', pmRow.card.fingerprint, '2026-01-16T12:00:00.000Z'],
      ['payment_method', failing.pm, '2026-01-16T12:00:00.000Z'],
    ]);
    const invoice = await call('GET', `/v1/invoices/${blockedInv}`);
    expect(invoice).toMatchObject({ status: 'open', attempt_count: 1 });

    // The other customer's attempt in the same batch went through.
    expect((await piOf(fineInv)).map((p) => [p.status, p.risk_outcome])).toEqual([['succeeded', 'allow']]);
    expect(alpha.chargesFor(`${fineInv}:attempt:1`)).toHaveLength(1);
  });

  it('assessPayments answers in the order of its inputs', async () => {
    const a = await customerWithCard({ country: 'US' });
    const b = await customerWithCard({ country: 'GB' });
    const pmOf = async (id: string) => (await testDb.db.query<PaymentMethodRow>('SELECT * FROM payment_methods WHERE id = $1', [id])).rows[0]!;
    const now = clock.now();
    await testDb.db.query(`INSERT INTO payment_blocks (id, scope, value, rule, reason, until, created) VALUES ('pblk_order', 'customer', $1, 'operator', 'No.', $2, $3)`, [
      a.customer,
      new Date(now.getTime() + 3600_000),
      now,
    ]);
    const [pmA, pmB] = [await pmOf(a.pm), await pmOf(b.pm)];
    const decisions = await testDb.db.tx((q) =>
      assessPayments(q, DEFAULT_FRAUD, [
        { customer: b.customer, paymentMethod: pmB, amount: 5000, ip: null, billingCountry: 'GB', now },
        { customer: a.customer, paymentMethod: pmA, amount: 5000, ip: null, billingCountry: 'US', now },
        { customer: b.customer, paymentMethod: pmB, amount: 5000, ip: '203.0.113.9', billingCountry: 'US', now },
      ]),
    );
    expect(decisions.map((d) => [d.outcome, d.rule])).toEqual([
      ['review', 'country_mismatch'],
      ['block', 'operator'],
      ['allow', null],
    ]);
    await testDb.db.query(`DELETE FROM payment_blocks WHERE id = 'pblk_order'`);
  });
});
