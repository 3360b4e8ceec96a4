import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../config.js';
import { toUnix } from '../../core/time/index.js';
import { allEvents } from '../events/batches.js';
import type { ChargeRequest, Gateways } from '../payments/gateway.js';
import { createBillingApp, type BillingHelpers } from '../../../test/helpers/billing.js';
import type { TestApp } from '../../../test/helpers/app.js';
import { finalizeDue, runBillingPass, type BillingDeps } from './jobs.js';

// chargeOnFinalize (ADR 0008): the transaction that finalises an invoice for automatic collection also makes its
// first charge, and writes the invoice once, paid — a renewal finalised at once (no finalisation delay), or the
// finalisation pass (Stripe's hour). These tests hold it to what finalisation and the payment pass write apart —
// the same rows and events, in the same order, for a card that pays, a card that declines, no card and a customer
// credit — and show that a renewal whose transaction is lost after the charge does not charge again when it is
// rerun, and that a charge the gateway did not answer is asked again with the key first sent.

let t: TestApp & BillingHelpers;
let price: string;
/** Charge calls seen by the gateway, by the key they were sent with. */
const calls = new Map<string, number>();

/** The worker's deps, with a gateway that counts its calls; `timesOut`: a call it answers by timing out. */
const depsWith = (chargeOnFinalize: boolean, finalizeDelaySeconds = 0, timesOut: (req: ChargeRequest) => boolean = () => false): BillingDeps => {
  const gateways: Gateways = {
    default: t.deps.gateways.default,
    get(name) {
      const g = t.deps.gateways.get(name);
      return Object.assign(Object.create(g) as typeof g, {
        charge: async (req: ChargeRequest) => {
          calls.set(req.idempotencyKey, (calls.get(req.idempotencyKey) ?? 0) + 1);
          if (timesOut(req)) throw new Error('timeout');
          return g.charge(req);
        },
      });
    },
  };
  return { gateways, config: testConfig({ ...t.deps.config, finalizeDelaySeconds, chargeOnFinalize }) };
};

beforeAll(async () => {
  t = await createBillingApp();
  price = await t.priceId('community_monthly');
});
afterAll(() => t.close());
// Each test starts a day after the one before.
afterEach(() => t.clock.set(new Date(t.clock.now().getTime() + 86_400_000)));

async function subscribe(opts: { card: string | null; clock?: string; balance?: number }): Promise<{ sub: string; customer: string }> {
  const customer = await t.customer({ ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.card ? { card: opts.card } : {}) });
  // A first invoice paid out of band, so that only the renewal touches the card.
  const s = await t.ok('POST', '/v1/subscriptions', { customer, items: [{ price }], trial_end: 'now', collection_method: 'send_invoice', days_until_due: 30 });
  expect(s.latest_invoice).toMatch(/^in_/);
  await t.ok('POST', `/v1/invoices/${s.latest_invoice}/pay`, { paid_out_of_band: true });
  await t.ok('POST', `/v1/subscriptions/${s.id}`, { collection_method: 'charge_automatically' });
  // A credit the renewal's finalisation applies before the charge.
  if (opts.balance) await t.ok('POST', `/v1/customers/${customer}`, { balance: opts.balance });
  return { sub: s.id, customer };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

/** Ids replaced by their kind and order of first appearance, invoice numbers and links by placeholders. */
function canonical(value: unknown): unknown {
  const seen = new Map<string, string>();
  const counts = new Map<string, number>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (/^[A-Z0-9]+-\d{4,}$/.test(v)) return 'NUMBER';
      // A hosted link signs its invoice's id.
      if (/^https?:\/\/[^/]+\/invoice\//.test(v)) return 'LINK';
      // Also inside paths and links (a list's url, a hosted invoice link).
      return v.replace(/(ch_sim|[a-z]+)_([A-Za-z0-9]{20,22})(?![A-Za-z0-9])/g, (id: string, kind: string) => {
        if (!seen.has(id)) {
          const n = (counts.get(kind) ?? 0) + 1;
          counts.set(kind, n);
          seen.set(id, `${kind}#${n}`);
        }
        return seen.get(id)!;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Date) return v.toISOString();
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** A renewal's events when its charge succeeds, in order, whichever way it is written. */
const PAID_RENEWAL_EVENTS = [
  'invoice.created',
  'customer.subscription.updated',
  'invoice.finalized',
  'payment_intent.created',
  'payment_intent.succeeded',
  'invoice.paid',
  'invoice.payment_succeeded',
];

/** A subscriber on a new test clock at the suite's time, and when its first renewal is due. */
async function onNewClock(opts: { card: string | null; balance?: number }) {
  const start = t.clock.now();
  const clock = (await t.ok('POST', '/v1/test_helpers/test_clocks', { frozen_time: toUnix(start) })).id as string;
  return { clock, s: await subscribe({ ...opts, clock }), renewal: new Date(start.getTime() + 31 * 86_400_000) };
}

/** What a renewal at `at` left for one customer: its events since then, invoice rows, intents and subscription. */
async function outcome(customer: string, sub: string, at: Date) {
  const db = t.testDb.db;
  const events = (await allEvents(db, { customer, created: [['>=', toUnix(at)]] })).map((e) => ({ type: e.type, object: (e.data as { object: Obj }).object }));
  const { rows: invoices } = await db.query<Obj>(`SELECT * FROM invoices WHERE subscription = $1 AND billing_reason = 'subscription_cycle' ORDER BY id`, [sub]);
  const { rows: intents } = await db.query<Obj>(
    `SELECT pi.* FROM payment_intents pi JOIN invoices i ON i.id = pi.invoice WHERE i.subscription = $1 AND i.billing_reason = 'subscription_cycle' ORDER BY pi.id`,
    [sub],
  );
  const { rows: subscription } = await db.query<Obj>(`SELECT * FROM subscriptions WHERE id = $1`, [sub]);
  return {
    events,
    invoices,
    // The gateway key is the one column told apart (asserted on its own).
    intents: intents.map(({ gateway_key, ...rest }): Obj => ({ ...rest, gateway_key: gateway_key === null ? null : 'set' })),
    subscription: subscription.map(({ test_clock, ...rest }): Obj => ({ ...rest, test_clock: test_clock === null ? null : 'clock' })),
  };
}

describe('an invoice charged as it is finalised (chargeOnFinalize)', () => {
  for (const delay of [0, 3600])
    for (const [label, card, expected] of [
      ['a card that pays', 'pm_card_visa', { status: 'paid', intents: ['succeeded'], sub: 'active' }],
      ['a card that declines', 'pm_card_chargeCustomerFail', { status: 'open', intents: ['requires_payment_method'], sub: 'past_due' }],
      ['no card', null, { status: 'open', intents: [], sub: 'past_due' }],
      ['a card that pays what a credit of 2,000 leaves', 'pm_card_visa', { status: 'paid', intents: ['succeeded'], sub: 'active', balance: -2000, charged: 7700 }],
    ] as const) {
      it(`writes what finalisation and the payment pass write apart, finalisation delay ${delay} s: ${label}`, async () => {
        const results = [];
        for (const fused of [true, false]) {
          const { clock, s, renewal } = await onNewClock({ card, balance: 'balance' in expected ? expected.balance : undefined });
          calls.clear();
          const deps = depsWith(fused, delay);
          await runBillingPass(t.testDb.db, deps, { clock }, renewal);
          // With the hour, the renewal wrote a draft; the finalisation pass takes it an hour on.
          if (delay) await runBillingPass(t.testDb.db, deps, { clock }, new Date(renewal.getTime() + delay * 1000));
          const got = await outcome(s.customer, s.sub, renewal);
          expect(got.invoices.map((i) => i.billing_reason)).toEqual(['subscription_cycle']);
          // One charge at most, and with the key the path gives it: a renewal's own invoice (made in the
          // transaction that charges it) is charged with a key of its subscription and period.
          const renewalKey = fused && delay === 0;
          const keys = [...calls.keys()];
          expect(keys.length).toBe(card ? 1 : 0);
          if (card) expect(keys[0]).toBe(renewalKey ? `${s.sub}:${toUnix(renewal)}:renewal:attempt:1` : `${got.invoices[0]!.id}:attempt:1`);
          expect(got.intents.map((i) => i.gateway_key)).toEqual(got.intents.map(() => (renewalKey ? 'set' : null)));
          results.push(got);
        }
        const [fused, apart] = results;
        expect([fused!.invoices.map((i) => i.status), fused!.intents.map((i) => i.status), fused!.subscription[0]!.status]).toEqual([[expected.status], expected.intents, expected.sub]);
        if ('charged' in expected) expect(fused!.intents.map((i) => i.amount)).toEqual([expected.charged]);
        expect(fused!.events.map((e) => e.type)).toEqual(apart!.events.map((e) => e.type));
        expect(canonical({ ...fused, intents: fused!.intents.map((i) => ({ ...i, gateway_key: null })) })).toEqual(canonical(apart));
      });
    }

  it('a paying renewal writes its seven events and its invoice once', async () => {
    const { clock, s, renewal } = await onNewClock({ card: 'pm_card_visa' });
    await runBillingPass(t.testDb.db, depsWith(true), { clock }, renewal);
    const got = await outcome(s.customer, s.sub, renewal);
    expect(got.events.map((e) => e.type)).toEqual(PAID_RENEWAL_EVENTS);
    const finalized = got.events[2]!.object;
    const paid = got.events[5]!.object;
    expect([finalized.status, finalized.amount_paid, finalized.attempt_count, finalized.number]).toEqual(['open', 0, 0, got.invoices[0]!.number]);
    expect([paid.status, paid.amount_paid, paid.attempt_count, paid.status_transitions.paid_at, paid.payment_intent]).toEqual(['paid', 9700, 1, toUnix(renewal), got.intents[0]!.id]);
    // The API shows the stored row as invoice.paid showed it.
    expect((await t.call({ method: 'GET', url: `/v1/invoices/${got.invoices[0]!.id}` })).body).toEqual(paid);
  });

  it('the finalisation pass pays what it finalises, in its own transaction, with the invoice id\'s key', async () => {
    const { clock, s, renewal } = await onNewClock({ card: 'pm_card_visa' });
    await runBillingPass(t.testDb.db, depsWith(true, 3600), { clock }, renewal);
    expect((await outcome(s.customer, s.sub, renewal)).invoices.map((i) => i.status)).toEqual(['draft']);
    calls.clear();
    // The finalisation job alone (no payment pass after it).
    await t.testDb.db.tx((q) => finalizeDue(q, { clock }, new Date(renewal.getTime() + 3600_000), 100, depsWith(true, 3600), true));
    const got = await outcome(s.customer, s.sub, renewal);
    expect([got.invoices.map((i) => [i.status, i.attempt_count, i.amount_paid]), got.intents.map((i) => [i.status, i.gateway_key])]).toEqual([[['paid', 1, 9700]], [['succeeded', null]]]);
    expect([...calls]).toEqual([[`${got.invoices[0]!.id}:attempt:1`, 1]]);
    expect(got.events.map((e) => e.type)).toEqual(PAID_RENEWAL_EVENTS);
  });

  it('retries a charge the gateway did not answer with the key the renewal sent', async () => {
    const { clock, s, renewal } = await onNewClock({ card: 'pm_card_visa' });
    // The first call times out before it reaches the gateway.
    let fault = true;
    const faulty = depsWith(true, 0, () => {
      const now = fault;
      fault = false;
      return now;
    });
    calls.clear();
    await runBillingPass(t.testDb.db, faulty, { clock }, renewal);
    const key = `${s.sub}:${toUnix(renewal)}:renewal:attempt:1`;
    let got = await outcome(s.customer, s.sub, renewal);
    expect([got.invoices[0]!.status, got.invoices[0]!.next_payment_attempt, got.intents.map((i) => [i.status, i.gateway_key])]).toEqual([
      'open',
      new Date(renewal.getTime() + 5 * 60_000),
      [['processing', 'set']],
    ]);
    // Five minutes on, the payment pass asks again with the same key.
    await runBillingPass(t.testDb.db, faulty, { clock }, new Date(renewal.getTime() + 5 * 60_000));
    got = await outcome(s.customer, s.sub, renewal);
    expect([got.invoices[0]!.status, got.intents.map((i) => i.status)]).toEqual(['paid', ['succeeded']]);
    expect([...calls]).toEqual([[key, 2]]);
  });

  it('charges once when the renewal is rerun after its transaction was lost past the charge', async () => {
    const db = t.testDb.db;
    const start = t.clock.now();
    const a = await subscribe({ card: 'pm_card_visa' });
    const b = await subscribe({ card: 'pm_card_visa' });
    // The batch's payment intents cannot be written the first time (after the gateway has charged): the
    // transaction rolls back, and the pass reruns the renewals one by one, with new invoice ids.
    await db.exec(`CREATE SEQUENCE lost_once;
      CREATE FUNCTION lost_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF nextval('lost_once') = 1 THEN RAISE EXCEPTION 'lost after the charge'; END IF; RETURN NULL; END $$;
      CREATE TRIGGER lost_once BEFORE INSERT ON payment_intents FOR EACH STATEMENT EXECUTE FUNCTION lost_once();`);
    try {
      calls.clear();
      const renewal = new Date(start.getTime() + 31 * 86_400_000);
      await expect(runBillingPass(db, depsWith(true), { clock: null }, renewal)).rejects.toThrow('lost after the charge');
      for (const s of [a, b]) {
        const got = await outcome(s.customer, s.sub, renewal);
        expect(got.invoices.map((i) => [i.status, i.amount_paid])).toEqual([['paid', 9700]]);
        expect(got.intents.map((i) => i.status)).toEqual(['succeeded']);
        const key = `${s.sub}:${toUnix(renewal)}:renewal:attempt:1`;
        // Asked twice (the lost batch, then the rerun), with the same key: the gateway answered the rerun
        // with the first charge. With keys made of the invoice ids, the rerun would have charged again.
        expect(calls.get(key)).toBe(2);
      }
      expect(calls.size).toBe(2);
    } finally {
      await db.exec(`DROP TRIGGER lost_once ON payment_intents; DROP FUNCTION lost_once(); DROP SEQUENCE lost_once;`);
    }
  });
});
