import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers/app.js';
import { gatewaysOf, type CardDetails, type ChargeRequest, type Gateway } from './gateway.js';
import { attemptPayment, paymentErrorFor, type AttemptPaymentInput, type PaymentDeps } from './service.js';

/** Delegates to the real simulated gateway and counts what reaches it. */
class CountingGateway implements Gateway {
  readonly name: string;
  charges: ChargeRequest[] = [];
  /** Simulates a timeout after the charge went through, this many times. */
  timeoutsAfterCharge = 0;

  constructor(private readonly inner: Gateway) {
    this.name = inner.name;
  }

  tokenizeCard(card: CardDetails) {
    return this.inner.tokenizeCard(card);
  }

  async charge(req: ChargeRequest) {
    this.charges.push(req);
    const out = await this.inner.charge(req);
    if (this.timeoutsAfterCharge > 0) {
      this.timeoutsAfterCharge--;
      throw new Error('ETIMEDOUT');
    }
    return out;
  }

  retrieveCharge(key: string) {
    return this.inner.retrieveCharge(key);
  }
}

let t: TestApp;
let gateway: CountingGateway;
let deps: PaymentDeps;
beforeAll(async () => {
  t = await createTestApp();
  gateway = new CountingGateway(t.deps.gateways.get('simulated'));
  deps = { gateways: gatewaysOf([gateway]) };
});
afterAll(() => t.close());

let keySeq = 0;
const nextKey = () => `attempt-${++keySeq}`;

async function newCustomer(): Promise<string> {
  return (await t.call({ method: 'POST', url: '/v1/customers', payload: { email: 'pi@example.com' } })).body.id;
}

async function cardFor(customer: string, number: string): Promise<string> {
  const pm = await t.call({ method: 'POST', url: '/v1/payment_methods', payload: { type: 'card', card: { number, exp_month: 12, exp_year: 2030, cvc: '123' } } });
  expect(pm.status).toBe(200);
  const att = await t.call({ method: 'POST', url: `/v1/payment_methods/${pm.body.id}/attach`, payload: { customer } });
  expect(att.status).toBe(200);
  return pm.body.id;
}

async function newInvoice(customer: string, amount = 2500): Promise<string> {
  const id = `in_test${String(++keySeq).padStart(6, '0')}`;
  const now = t.clock.now();
  await t.testDb.db.query(
    `INSERT INTO invoices (id, customer, status, number, series, currency, billing_reason, period_start, period_end, total, amount_due, amount_remaining, created, updated)
     VALUES ($1, $2, 'open', $3, 'TEST', 'usd', 'manual', $4, $4, $5, $5, $5, $4, $4)`,
    [id, customer, `TEST-${keySeq}`, now, amount],
  );
  return id;
}

function attempt(input: Omit<AttemptPaymentInput, 'now' | 'currency' | 'idempotencyKey'> & Partial<AttemptPaymentInput>) {
  return t.testDb.db.tx((q) => attemptPayment(q, deps, { currency: 'usd', idempotencyKey: nextKey(), now: t.clock.now(), ...input }));
}

async function piRow(id: string) {
  return (await t.testDb.db.query<{ failure_class: string | null; gateway: string | null; idempotency_key: string }>('SELECT * FROM payment_intents WHERE id = $1', [id])).rows[0]!;
}

async function eventTypes(objectId: string): Promise<string[]> {
  const { rows } = await t.testDb.db.query<{ type: string }>('SELECT type FROM events WHERE object_id = $1 ORDER BY id', [objectId]);
  return rows.map((r) => r.type);
}

describe('attemptPayment with Stripe test cards', () => {
  it('4242 succeeds: amount_received, latest_charge, events', async () => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, '4242424242424242');
    const inv = await newInvoice(cus);
    const { paymentIntent: pi, outcome, replayed } = await attempt({ customer: cus, invoice: inv, amount: 2500, paymentMethodId: pm, currency: 'USD' });
    expect(replayed).toBe(false);
    expect(outcome).toMatchObject({ status: 'succeeded', gatewayRef: expect.stringMatching(/^ch_sim_/) });
    expect(pi).toMatchObject({
      object: 'payment_intent',
      amount: 2500,
      amount_received: 2500,
      currency: 'usd',
      status: 'succeeded',
      customer: cus,
      invoice: inv,
      payment_method: pm,
      last_payment_error: null,
      latest_charge: outcome.status === 'succeeded' ? outcome.gatewayRef : 'x',
      livemode: false,
      created: 1768478400,
    });
    expect(pi.id).toMatch(/^pi_[0-9A-Za-z]{22}$/);
    const row = await piRow(pi.id);
    expect(row).toMatchObject({ gateway: 'simulated', failure_class: null });
    expect(await eventTypes(pi.id)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
    const paidAgain = await attempt({ customer: cus, invoice: inv, amount: 2500, paymentMethodId: pm }).catch((e) => e);
    expect(paidAgain.status).toBe(400);
    expect(paidAgain.code).toBe('invoice_already_paid');
  });

  it.each([
    ['4000000000000341', 'card_declined', 'generic_decline', 'soft_decline'],
    ['4000000000000002', 'card_declined', 'generic_decline', 'soft_decline'],
    ['4000000000009995', 'card_declined', 'insufficient_funds', 'soft_decline'],
    ['4000000000009987', 'card_declined', 'lost_card', 'hard_decline'],
    ['4000000000009979', 'card_declined', 'stolen_card', 'hard_decline'],
    // Not card_declined: no decline_code (Stripe's testing table: "n/a").
    ['4000000000000069', 'expired_card', undefined, 'hard_decline'],
    ['4000000000000127', 'incorrect_cvc', undefined, 'hard_decline'],
    ['4000000000000119', 'processing_error', undefined, 'soft_decline'],
    ['4100000000000019', 'card_declined', 'fraudulent', 'fraud'],
  ])('%s attaches, then its charge fails with %s / %s (%s)', async (number, code, declineCode, failureClass) => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, number);
    const { paymentIntent: pi, outcome } = await attempt({ customer: cus, amount: 1999, paymentMethodId: pm });
    expect(outcome).toMatchObject({ status: 'failed', code, declineCode, failureClass });
    expect(pi).toMatchObject({ status: 'requires_payment_method', amount: 1999, amount_received: 0, payment_method: pm, invoice: null });
    expect(pi.last_payment_error).toMatchObject({ type: 'card_error', code, message: expect.any(String) });
    expect(pi.last_payment_error!.decline_code).toBe(declineCode);
    expect(pi.last_payment_error!.payment_method).toMatchObject({ id: pm, object: 'payment_method', card: { last4: number.slice(-4) } });
    expect(pi.latest_charge).toMatch(/^ch_sim_/);
    expect(pi.last_payment_error!.charge).toBe(pi.latest_charge);
    expect((await piRow(pi.id)).failure_class).toBe(failureClass);
    expect(await eventTypes(pi.id)).toEqual(['payment_intent.created', 'payment_intent.payment_failed']);

    const err = paymentErrorFor({ paymentIntent: pi, outcome, replayed: false })!;
    expect(err.status).toBe(402);
    expect(err.toJSON().error).toMatchObject({ type: 'card_error', code, charge: pi.latest_charge, payment_intent: { id: pi.id } });
    expect((err.toJSON().error as { decline_code?: string }).decline_code).toBe(declineCode);
  });

  it('0341 fails on every attempt, each attempt its own intent', async () => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, '4000000000000341');
    const a = await attempt({ customer: cus, amount: 500, paymentMethodId: pm });
    const b = await attempt({ customer: cus, amount: 500, paymentMethodId: pm });
    expect([a.outcome.status, b.outcome.status]).toEqual(['failed', 'failed']);
    expect(a.paymentIntent.id).not.toBe(b.paymentIntent.id);
  });

  it('a test id (pm_card_chargeDeclinedInsufficientFunds) is turned into an attached payment method and charged', async () => {
    const cus = await newCustomer();
    const { paymentIntent: pi, outcome } = await attempt({ customer: cus, amount: 700, paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' });
    expect(outcome).toMatchObject({ status: 'failed', declineCode: 'insufficient_funds' });
    expect(pi.payment_method).toMatch(/^pm_[0-9A-Za-z]{22}$/);
    const list = await t.call({ method: 'GET', url: `/v1/customers/${cus}/payment_methods` });
    expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([pi.payment_method]);
  });
});

describe('attemptPayment idempotency and edge cases', () => {
  it('the same idempotency key charges once: one row, one gateway call, the stored answer replayed', async () => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, '4242424242424242');
    const inv = await newInvoice(cus, 4200);
    const key = `${inv}:attempt:1`;
    const before = gateway.charges.length;
    const first = await attempt({ customer: cus, invoice: inv, amount: 4200, paymentMethodId: pm, idempotencyKey: key });
    const second = await attempt({ customer: cus, invoice: inv, amount: 4200, paymentMethodId: pm, idempotencyKey: key });
    expect(gateway.charges.length - before).toBe(1);
    expect(gateway.charges.at(-1)).toMatchObject({ amount: 4200, currency: 'usd', idempotencyKey: key, customerId: cus });
    expect(gateway.charges.at(-1)!.token).toMatch(/^simtok_succeed_/);
    expect(second.replayed).toBe(true);
    expect(second.paymentIntent).toEqual(first.paymentIntent);
    expect(second.outcome).toEqual(first.outcome);
    const rows = await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_intents WHERE idempotency_key = $1', [key]);
    expect(rows.rows[0]!.n).toBe(1);
    expect(await eventTypes(first.paymentIntent.id)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);

    const failedKey = nextKey();
    const declined = await cardFor(cus, '4000000000000002');
    const f1 = await attempt({ customer: cus, amount: 300, paymentMethodId: declined, idempotencyKey: failedKey });
    const f2 = await attempt({ customer: cus, amount: 300, paymentMethodId: declined, idempotencyKey: failedKey });
    expect(f2.replayed).toBe(true);
    expect(f2.outcome).toEqual(f1.outcome);
    expect(gateway.charges.filter((c) => c.idempotencyKey === failedKey)).toHaveLength(1);

    const misuse = await attempt({ customer: cus, amount: 301, paymentMethodId: declined, idempotencyKey: failedKey }).catch((e) => e);
    expect(misuse.status).toBe(409);
    expect(misuse.type).toBe('idempotency_error');
  });

  it('concurrent attempts with one key charge once; concurrent keys on one invoice pay it once', async () => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, '4242424242424242');
    const key = nextKey();
    const same = await Promise.all(Array.from({ length: 5 }, () => attempt({ customer: cus, amount: 1100, paymentMethodId: pm, idempotencyKey: key })));
    expect(new Set(same.map((r) => r.paymentIntent.id)).size).toBe(1);
    expect(same.filter((r) => !r.replayed)).toHaveLength(1);
    expect(gateway.charges.filter((c) => c.idempotencyKey === key)).toHaveLength(1);

    const inv = await newInvoice(cus, 1200);
    const keys = [nextKey(), nextKey(), nextKey(), nextKey()];
    const settled = await Promise.allSettled(keys.map((k) => attempt({ customer: cus, invoice: inv, amount: 1200, paymentMethodId: pm, idempotencyKey: k })));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(refused.map((s) => s.reason.code)).toEqual(['invoice_already_paid', 'invoice_already_paid', 'invoice_already_paid']);
    expect(gateway.charges.filter((c) => keys.includes(c.idempotencyKey))).toHaveLength(1);
  });

  it('a gateway timeout leaves the intent processing; retrying with the same key settles it without a second charge', async () => {
    const cus = await newCustomer();
    const pm = await cardFor(cus, '4242424242424242');
    const key = nextKey();
    gateway.timeoutsAfterCharge = 1;
    const first = await attempt({ customer: cus, amount: 900, paymentMethodId: pm, idempotencyKey: key });
    expect(first.outcome).toMatchObject({ status: 'failed', failureClass: 'gateway_fault', code: 'gateway_unavailable' });
    expect(first.paymentIntent).toMatchObject({ status: 'processing', amount_received: 0, last_payment_error: { type: 'api_error', code: 'gateway_unavailable' } });
    expect(paymentErrorFor(first)!.status).toBe(502);
    expect(await eventTypes(first.paymentIntent.id)).toEqual(['payment_intent.created']);

    const retry = await attempt({ customer: cus, amount: 900, paymentMethodId: pm, idempotencyKey: key });
    expect(retry.outcome.status).toBe('succeeded');
    expect(retry.paymentIntent).toMatchObject({ id: first.paymentIntent.id, status: 'succeeded', amount_received: 900, last_payment_error: null });
    const calls = gateway.charges.filter((c) => c.idempotencyKey === key);
    expect(calls).toHaveLength(2); // asked twice, with the same key: the gateway charged once
    expect(await gateway.retrieveCharge(key)).toEqual(retry.outcome);
    expect((await piRow(first.paymentIntent.id)).failure_class).toBeNull();
    expect(await eventTypes(first.paymentIntent.id)).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
  });

  it('no payment method: a failed intent with payment_method_missing, no charge; 400 for the caller', async () => {
    const cus = await newCustomer();
    const inv = await newInvoice(cus);
    const before = gateway.charges.length;
    const res = await attempt({ customer: cus, invoice: inv, amount: 2500, paymentMethodId: null });
    expect(gateway.charges.length).toBe(before);
    expect(res.outcome).toMatchObject({ status: 'failed', code: 'payment_method_missing', failureClass: 'hard_decline' });
    expect(res.paymentIntent).toMatchObject({
      status: 'requires_payment_method',
      payment_method: null,
      latest_charge: null,
      last_payment_error: { type: 'invalid_request_error', code: 'payment_method_missing' },
    });
    expect((await piRow(res.paymentIntent.id)).gateway).toBeNull();
    expect(await eventTypes(res.paymentIntent.id)).toEqual(['payment_intent.created', 'payment_intent.payment_failed']);
    const err = paymentErrorFor(res)!;
    expect(err.status).toBe(400);
    expect(err.toJSON().error).toMatchObject({ type: 'invalid_request_error', code: 'payment_method_missing' });
    expect(paymentErrorFor({ ...res, outcome: { status: 'succeeded', gatewayRef: 'ch_x' } })).toBeNull();
  });

  it("refuses a detached or another customer's payment method with 400, writing nothing", async () => {
    const cus = await newCustomer();
    const other = await newCustomer();
    const pm = await cardFor(cus, '4242424242424242');
    const foreign = await attempt({ customer: other, amount: 100, paymentMethodId: pm }).catch((e) => e);
    expect(foreign.status).toBe(400);
    expect(foreign.toJSON().error).toMatchObject({ code: 'resource_missing', param: 'payment_method' });
    await t.call({ method: 'POST', url: `/v1/payment_methods/${pm}/detach` });
    const detached = await attempt({ customer: cus, amount: 100, paymentMethodId: pm }).catch((e) => e);
    expect(detached.status).toBe(400);
    const zero = await attempt({ customer: cus, amount: 0, paymentMethodId: pm }).catch((e) => e);
    expect(zero.toJSON().error).toMatchObject({ code: 'parameter_invalid', param: 'amount' });
    const n = await t.testDb.db.query<{ n: number }>('SELECT count(*)::int AS n FROM payment_intents WHERE customer = ANY($1)', [[cus, other]]);
    expect(n.rows[0]!.n).toBe(0);
  });
});

describe('GET /v1/payment_intents', () => {
  it('lists newest first with customer, invoice and status filters, and retrieves one', async () => {
    const cus = await newCustomer();
    const good = await cardFor(cus, '4242424242424242');
    const bad = await cardFor(cus, '4000000000009995');
    const inv = await newInvoice(cus, 1500);
    const f1 = await attempt({ customer: cus, invoice: inv, amount: 1500, paymentMethodId: bad });
    const f2 = await attempt({ customer: cus, invoice: inv, amount: 1500, paymentMethodId: bad });
    const ok = await attempt({ customer: cus, invoice: inv, amount: 1500, paymentMethodId: good });
    const loose = await attempt({ customer: cus, amount: 800, paymentMethodId: good });

    const ids = async (qs: string) => (await t.call({ method: 'GET', url: `/v1/payment_intents?${qs}` })).body.data.map((p: { id: string }) => p.id);
    expect(await ids(`customer=${cus}`)).toEqual([loose, ok, f2, f1].map((a) => a.paymentIntent.id));
    expect(await ids(`invoice=${inv}`)).toEqual([ok, f2, f1].map((a) => a.paymentIntent.id));
    expect(await ids(`customer=${cus}&status=succeeded`)).toEqual([loose, ok].map((a) => a.paymentIntent.id));
    expect(await ids(`invoice=${inv}&status=requires_payment_method`)).toEqual([f2, f1].map((a) => a.paymentIntent.id));
    const page = await t.call({ method: 'GET', url: `/v1/payment_intents?customer=${cus}&limit=2&starting_after=${ok.paymentIntent.id}` });
    expect(page.body).toMatchObject({ object: 'list', url: '/v1/payment_intents', has_more: false });
    expect(page.body.data.map((p: { id: string }) => p.id)).toEqual([f2.paymentIntent.id, f1.paymentIntent.id]);
    expect((await t.call({ method: 'GET', url: '/v1/payment_intents?status=bogus' })).body.error).toMatchObject({ param: 'status' });

    const one = await t.call({ method: 'GET', url: `/v1/payment_intents/${f1.paymentIntent.id}` });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(f1.paymentIntent);
    expect(one.body.last_payment_error).toMatchObject({ code: 'card_declined', decline_code: 'insufficient_funds' });
    const missing = await t.call({ method: 'GET', url: '/v1/payment_intents/pi_nope' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('resource_missing');
  });
});
