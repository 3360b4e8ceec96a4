import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../../test/fakes/http.js';
import { PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, startFakePayPal, type FakePayPal } from '../../../test/fakes/paypal-server.js';
import { STRIPE_TEST_KEY } from '../../../test/fakes/stripe-server.js';
import { decodeStoredRef, decodeVaultToken, encodeChargeRef, encodeTriedRef, encodeVaultToken, publicChargeRef } from './codec.js';
import { CircuitBreaker } from './domain/circuit-breaker.js';
import { selectRoute } from './domain/routing-rules.js';
import { orderBySuccessRate, SuccessRates } from './domain/success-rates.js';
import { faultOutcome, type CardDetails, type ChargeOutcome, type ChargeRequest, type Gateway, type TokenizedCard } from './gateway.js';
import { PayPalGateway } from './paypal-gateway.js';
import { GatewayRouter } from './router.js';
import { StripeGateway } from './stripe-gateway.js';

// The router's parts without a database: rules, circuit breaker, rolling success rates and the
// exploration share, the encodings it keeps in Recur's rows, and the routing decisions with scripted
// gateways (what each returns is set per test).

describe('routing rules', () => {
  const rules = [
    { name: 'big-eur', currencies: ['eur'], min_amount: 100_000, gateways: ['paypal'] },
    { name: 'eur', currencies: ['eur'], gateways: ['paypal', 'stripe'] },
    { name: 'brazil', countries: ['BR'], gateways: ['stripe'] },
    { name: 'amex-small', brands: ['amex'], max_amount: 999, payment_method_types: ['card'], gateways: ['paypal', 'stripe'] },
  ];
  const input = { amount: 5000, currency: 'usd', country: 'US', paymentMethodType: 'card', brand: 'visa' };
  it('the first matching rule wins; no match means the default order', () => {
    expect(selectRoute(rules, { ...input, currency: 'eur', amount: 200_000 }, ['stripe', 'paypal'])).toEqual({ rule: 'big-eur', gateways: ['paypal'] });
    expect(selectRoute(rules, { ...input, currency: 'eur' }, ['stripe', 'paypal'])).toEqual({ rule: 'eur', gateways: ['paypal', 'stripe'] });
    expect(selectRoute(rules, { ...input, country: 'BR' }, ['stripe', 'paypal'])).toEqual({ rule: 'brazil', gateways: ['stripe'] });
    expect(selectRoute(rules, { ...input, brand: 'amex', amount: 999 }, ['stripe', 'paypal'])).toEqual({ rule: 'amex-small', gateways: ['paypal', 'stripe'] });
    expect(selectRoute(rules, { ...input, brand: 'amex', amount: 1000 }, ['stripe', 'paypal'])).toEqual({ rule: null, gateways: ['stripe', 'paypal'] });
    expect(selectRoute(rules, { ...input, country: null }, ['stripe'])).toEqual({ rule: null, gateways: ['stripe'] });
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive faults, lets one probe through after the cooldown, closes on success', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 30_000 });
    b.onFault(0);
    b.onFault(1);
    b.onSuccess(); // a success (or a decline) resets the count
    b.onFault(2);
    b.onFault(3);
    expect(b.tryAcquire(4)).toBe(true);
    b.onFault(4);
    expect(b.state(5)).toBe('open');
    expect(b.tryAcquire(29_999)).toBe(false);
    expect(b.tryAcquire(34_004)).toBe(true); // the probe
    expect(b.tryAcquire(34_005)).toBe(false); // one probe at a time
    b.onFault(34_010);
    expect(b.tryAcquire(40_000)).toBe(false); // re-opened
    expect(b.tryAcquire(64_010)).toBe(true);
    b.onSuccess();
    expect(b.state(64_011)).toBe('closed');
    expect(b.tryAcquire(64_012)).toBe(true);
  });
});

describe('success rates', () => {
  it('keep a rolling window per gateway × currency × brand', () => {
    const r = new SuccessRates(4);
    for (const ok of [false, false, true, true, true, true]) r.record('stripe', 'usd', 'visa', ok);
    expect(r.get('stripe', 'USD', 'VISA')).toEqual({ rate: 1, samples: 4 });
    expect(r.get('stripe', 'usd', 'amex')).toEqual({ rate: 0, samples: 0 });
  });

  it('reorder only with enough samples; explore a small share; a permutation always', () => {
    const rates: Record<string, { rate: number; samples: number }> = { stripe: { rate: 0.6, samples: 50 }, paypal: { rate: 0.9, samples: 50 } };
    const base = { minSamples: 20, exploration: 0, random: () => 0.5 };
    expect(orderBySuccessRate(['stripe', 'paypal'], (g) => rates[g]!, base)).toEqual({ order: ['paypal', 'stripe'], explored: false });
    expect(orderBySuccessRate(['stripe', 'paypal'], (g) => ({ ...rates[g]!, samples: 5 }), base).order).toEqual(['stripe', 'paypal']);
    expect(orderBySuccessRate(['stripe', 'paypal'], (g) => rates[g]!, { ...base, exploration: 0.05, random: () => 0.01 })).toEqual({ order: ['stripe', 'paypal'], explored: true });
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (gs, rnd) => {
        const { order } = orderBySuccessRate(gs, () => ({ rate: rnd, samples: 100 }), { minSamples: 1, exploration: 0.5, random: () => rnd });
        expect([...order].sort()).toEqual([...gs].sort());
      }),
    );
  });
});

describe('the encodings kept in rows', () => {
  it('vault tokens and stored references round-trip', () => {
    const v = { tokens: { stripe: 'cus_a:pm_b', paypal: '8kk8451t' }, brand: 'visa', country: 'US', funding: 'credit', type: 'card' as const };
    expect(decodeVaultToken(encodeVaultToken(v))).toEqual(v);
    expect(decodeVaultToken('simtok_succeed_abcdefabcdefabcd')).toBeNull();
    expect(decodeStoredRef(encodeChargeRef('paypal', '5O190127TN364715T'))).toEqual({ gateway: 'paypal', ref: '5O190127TN364715T', tried: [] });
    expect(decodeStoredRef(encodeTriedRef(['stripe']))).toEqual({ gateway: null, ref: null, tried: ['stripe'] });
    expect(decodeStoredRef('ch_sim_0123')).toEqual({ gateway: null, ref: 'ch_sim_0123', tried: [] });
    expect(publicChargeRef('stripe:pi_123')).toBe('pi_123');
    expect(publicChargeRef('tried:stripe')).toBeNull();
  });
});

/** A gateway whose answers a test scripts. */
class Scripted implements Gateway {
  readonly charges: ChargeRequest[] = [];
  readonly lookups: string[] = [];
  next: (ChargeOutcome | 'throw')[] = [];
  fallback: ChargeOutcome = { status: 'succeeded', gatewayRef: 'ok' };
  stored = new Map<string, ChargeOutcome>();
  lookupFails = false;

  constructor(readonly name: string) {}

  async tokenizeCard(card: CardDetails): Promise<TokenizedCard> {
    return { token: `${this.name}_tok`, brand: 'visa', last4: card.number.slice(-4), exp_month: card.exp_month, exp_year: card.exp_year, country: 'US', fingerprint: 'fp', funding: 'credit' };
  }

  async charge(req: ChargeRequest): Promise<ChargeOutcome> {
    this.charges.push(req);
    const n = this.next.shift() ?? this.fallback;
    if (n === 'throw') throw new Error('socket hang up');
    return n;
  }

  async retrieveCharge(key: string): Promise<ChargeOutcome | null> {
    this.lookups.push(key);
    if (this.lookupFails) throw new Error('unreachable');
    return this.stored.get(key) ?? null;
  }
}

function routerOf(gs: Scripted[], over: Partial<ConstructorParameters<typeof GatewayRouter>[0]> = {}) {
  let now = 1_000_000;
  const router = new GatewayRouter({
    gateways: gs,
    order: gs.map((g) => g.name),
    breaker: { failureThreshold: 3, cooldownMs: 30_000 },
    exploration: 0,
    now: () => now,
    ...over,
  });
  return { router, advance: (ms: number) => (now += ms) };
}

const vault = encodeVaultToken({ tokens: { a: 'a_tok', b: 'b_tok' }, brand: 'visa', country: 'US', funding: 'credit', type: 'card' });
const req = (key: string, extra: Partial<ChargeRequest> = {}): ChargeRequest => ({ amount: 1000, currency: 'usd', token: vault, idempotencyKey: key, ...extra });
const decline: ChargeOutcome = { status: 'failed', failureClass: 'soft_decline', code: 'card_declined', declineCode: 'insufficient_funds', message: 'no' };

describe('routing decisions', () => {
  it('saves a card at every gateway into one vault token', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    const tok = await routerOf([a, b]).router.default.tokenizeCard({ number: '4242424242424242', exp_month: 1, exp_year: 2030 });
    expect(decodeVaultToken(tok.token)!.tokens).toEqual({ a: 'a_tok', b: 'b_tok' });
  });

  it('fails over at once when the request never reached the gateway; each gateway gets its own token', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    a.next = [faultOutcome('gateway_unavailable', 'refused', { notProcessed: true })];
    const out = await routerOf([a, b]).router.default.charge(req('k1'));
    expect(out).toMatchObject({ status: 'succeeded', gateway: 'b' });
    expect(a.lookups).toEqual([]);
    expect(b.charges[0]).toMatchObject({ token: 'b_tok', idempotencyKey: 'k1' });
  });

  it('never fails over after a decline', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    a.next = [decline];
    expect(await routerOf([a, b]).router.default.charge(req('k2'))).toMatchObject({ status: 'failed', failureClass: 'soft_decline', gateway: 'a' });
    expect(b.charges).toHaveLength(0);
  });

  it('on an unknown outcome, looks the key up first: found → that outcome; unknowable → stays unknown, no failover', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    a.next = ['throw'];
    a.stored.set('k3', { status: 'succeeded', gatewayRef: 'a_charge' });
    const { router } = routerOf([a, b]);
    expect(await router.default.charge(req('k3'))).toMatchObject({ status: 'succeeded', gateway: 'a', gatewayRef: 'a_charge', routing: { reconciled: true } });
    expect(b.charges).toHaveLength(0);

    a.next = ['throw'];
    a.lookupFails = true;
    const unknown = await router.default.charge(req('k4'));
    expect(unknown).toMatchObject({ status: 'failed', failureClass: 'gateway_fault', tried: ['a'] });
    expect(b.charges).toHaveLength(0);

    // The retry names the gateway that may have seen the key: it is asked before anything else.
    a.lookupFails = false;
    a.stored.set('k4', { status: 'succeeded', gatewayRef: 'a_late' });
    const resumed = await router.default.charge(req('k4', { context: { previousRef: encodeTriedRef(['a']) } }));
    expect(resumed).toMatchObject({ status: 'succeeded', gateway: 'a', gatewayRef: 'a_late' });
    expect(a.charges.filter((c) => c.idempotencyKey === 'k4')).toHaveLength(1);
    expect(b.charges).toHaveLength(0);
  });

  it('opens the circuit after repeated faults and skips the gateway until a probe succeeds', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    const { router, advance } = routerOf([a, b]);
    a.next = [faultOutcome('gateway_error', '503', { notProcessed: true }), faultOutcome('gateway_error', '503', { notProcessed: true }), faultOutcome('gateway_error', '503', { notProcessed: true })];
    for (const k of ['c1', 'c2', 'c3']) expect(await router.default.charge(req(k))).toMatchObject({ status: 'succeeded', gateway: 'b' });
    const skipped = await router.default.charge(req('c4'));
    expect(skipped).toMatchObject({ gateway: 'b', routing: { steps: [{ gateway: 'a', result: 'skipped_open_circuit' }, { gateway: 'b', result: 'succeeded' }] } });
    expect(a.charges).toHaveLength(3);
    expect(router.status().gateways.find((g) => g.gateway === 'a')!.circuit.state).toBe('open');
    advance(30_000);
    expect(await router.default.charge(req('c5'))).toMatchObject({ gateway: 'a' }); // the probe succeeds
    expect(router.status().gateways.find((g) => g.gateway === 'a')!.circuit.state).toBe('closed');
  });

  it('orders by success rate once there is evidence, explores a small share, and can be switched off', async () => {
    const a = new Scripted('a');
    const b = new Scripted('b');
    a.fallback = decline;
    const { router } = routerOf([a, b], { minSamples: 5, exploration: 0.1, random: () => 0.5 });
    for (let i = 0; i < 5; i++) await router.default.charge(req(`s${i}`)); // a declines every time (no failover)
    for (let i = 0; i < 5; i++) await router.get('b').charge(req(`t${i}`, { token: 'b_tok', context: { brand: 'visa' } })); // b succeeds
    expect(await router.default.charge(req('s-next'))).toMatchObject({ gateway: 'b', routing: { candidates: ['b', 'a'], explored: false } });

    const exploring = routerOf([a, b], { minSamples: 5, exploration: 0.1, random: () => 0.05 });
    for (let i = 0; i < 5; i++) {
      exploring.router.rates.record('a', 'usd', 'visa', false);
      exploring.router.rates.record('b', 'usd', 'visa', true);
    }
    expect(await exploring.router.default.charge(req('e1'))).toMatchObject({ gateway: 'a', routing: { candidates: ['a', 'b'], explored: true } });

    const off = routerOf([a, b], { minSamples: 5, successRateRouting: false });
    for (let i = 0; i < 5; i++) off.router.rates.record('a', 'usd', 'visa', false);
    expect(await off.router.default.charge(req('o1'))).toMatchObject({ gateway: 'a', routing: { candidates: ['a', 'b'], explored: false } });
  });
});

describe('real adapters: Stripe down, PayPal up', () => {
  let paypal: FakePayPal;
  beforeAll(async () => {
    paypal = await startFakePayPal();
  });
  afterAll(() => paypal.stop());

  it('a refused connection to Stripe fails over to PayPal without a lookup', async () => {
    const pp = new PayPalGateway({ clientId: PAYPAL_CLIENT_ID, clientSecret: PAYPAL_CLIENT_SECRET, environment: 'sandbox', apiBase: paypal.url, timeoutMs: 2000 });
    const st = new StripeGateway({ secretKey: STRIPE_TEST_KEY, host: '127.0.0.1', port: await closedPort(), protocol: 'http', timeoutMs: 2000, maxNetworkRetries: 0 });
    const router = new GatewayRouter({ gateways: [st, pp], order: ['stripe', 'paypal'], now: () => 0 });
    const ppToken = (await pp.tokenizeCard({ number: '4242424242424242', exp_month: 5, exp_year: 2031 })).token;
    const token = encodeVaultToken({ tokens: { stripe: 'cus_x:pm_y', paypal: ppToken }, brand: 'visa', country: 'US', funding: 'credit', type: 'card' });
    const out = await router.default.charge({ amount: 1200, currency: 'usd', token, idempotencyKey: 'down-1' });
    expect(out).toMatchObject({ status: 'succeeded', gateway: 'paypal' });
    expect(out.routing!.steps).toEqual([
      { gateway: 'stripe', result: 'gateway_fault', code: 'gateway_unavailable' },
      { gateway: 'paypal', result: 'succeeded' },
    ]);
  });
});
