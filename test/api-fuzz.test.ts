import formEncoding from 'qs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBillingApp } from './helpers/billing.js';
import type { TestApp } from './helpers/app.js';
import type { BillingHelpers } from './helpers/billing.js';
import { rng, type Rng } from './helpers/rng.js';

// "A 500 is a bug": every operation of the OpenAPI document is called with bodies, queries and path
// ids generated from its own schema — mostly valid (real ids of real objects, values inside the
// bounds), sometimes at or past the edges (huge numbers, far timestamps, wrong types, unknown keys).
// Every answer must be below 500. The generator is seeded, so a failure replays exactly. On
// PostgreSQL eight requests are in flight at once, racing in real transactions.

type Schema = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Pool = Map<string, string[]>;

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 40);
/** Requests in flight at once: on PostgreSQL they race in real transactions (PGlite has one connection). */
const PARALLEL = Number(process.env.FUZZ_PARALLEL ?? (process.env.DATABASE_URL ? 8 : 1));


// Which collection an id-like field or path segment refers to.
const FIELD_COLLECTION: Record<string, string> = {
  customer: 'customers',
  price: 'prices',
  product: 'products',
  grants_product: 'products',
  subscription: 'subscriptions',
  from_subscription: 'subscriptions',
  invoice: 'invoices',
  payment_method: 'payment_methods',
  default_payment_method: 'payment_methods',
  payment_intent: 'payment_intents',
  coupon: 'coupons',
  promotion_code: 'promotion_codes',
  test_clock: 'test_clocks',
  default_price: 'prices',
  tax_rates: 'tax_rates',
  default_tax_rates: 'tax_rates',
  invoice_item: 'invoiceitems',
  credit_note: 'credit_notes',
};

function collectionOfPath(path: string): string | null {
  const m = /\/v1\/(?:test_helpers\/)?([a-z_/]+?)\/\{id\}/.exec(path);
  return m ? m[1]!.split('/').pop()! : null;
}

function nowUnix(t: TestApp): number {
  return Math.floor(t.clock.now().getTime() / 1000);
}

function genString(key: string, s: Schema, r: Rng, pool: Pool, t: TestApp, tame: boolean): unknown {
  if (s.enum) return r.pick(s.enum);
  if (s.const !== undefined) return s.const;
  const coll = FIELD_COLLECTION[key];
  if (coll && pool.get(coll)?.length && r.chance(tame ? 0.97 : 0.85)) return r.pick(pool.get(coll)!);
  if (tame) {
    if (key === 'currency') return r.pick(['usd', 'usd', 'eur']);
    if (key === 'email') return 'fuzz@example.com';
    if (key === 'country') return r.pick(['US', 'DE', 'GB']);
    return r.pick(['x', 'Fuzz', 'fuzz-1']);
  }
  const anyId = [...pool.values()].flat();
  return r.pick([
    'x',
    '',
    'now',
    'usd',
    'eur',
    'jpy',
    'ann@example.com',
    '4242424242424242',
    'pm_card_visa',
    'pm_card_chargeCustomerFail',
    String(nowUnix(t) + 86400),
    '9007199254740993',
    'a'.repeat(600),
    '../../etc/passwd',
    "'; DROP TABLE invoices; --",
    '\u0000',
    anyId.length ? r.pick(anyId) : 'cus_missing',
    'cus_doesnotexist',
  ]);
}

function genNumber(key: string, s: Schema, r: Rng, t: TestApp, tame: boolean): number {
  const now = nowUnix(t);
  const inBounds = tame || r.chance(0.7);
  const timeLike = /(_at|_end|_date|time|anchor|^end|^start|^to|^from|until|redeem_by)$/.test(key);
  const tameSet = timeLike ? [now + 3600, now + 86400 * r.int(1, 60), now - 86400] : [0, 1, 2, 3, 10, 100, 9700];
  const candidates = tame ? tameSet : [0, 1, 2, 3, 12, 100, 9700, 250000, now, now + 3600, now + 86400 * r.int(1, 800), now - 86400 * r.int(1, 400), 2 ** 31, 253402300799, 253402300800, 1e12, 1e15, Number.MAX_SAFE_INTEGER, -1, -Number.MAX_SAFE_INTEGER];
  if (s.type === 'number') candidates.push(0.5, 12.345, 99.999, 1e-9);
  let v = r.pick(candidates);
  if (inBounds) {
    if (typeof s.minimum === 'number' && v < s.minimum) v = s.minimum;
    if (typeof s.maximum === 'number' && v > s.maximum) v = s.maximum;
  }
  return v;
}

function gen(key: string, s: Schema, r: Rng, pool: Pool, t: TestApp, depth: number, tame: boolean): unknown {
  // Now and then a value of the wrong type, to reach the edges of validation.
  if (!tame && depth > 0 && r.chance(0.04)) return r.pick([null, {}, [], 'x', 1.5, true, -1]);
  if (s.anyOf || s.oneOf) return gen(key, r.pick(s.anyOf ?? s.oneOf), r, pool, t, depth, tame);
  if (s.allOf) return gen(key, s.allOf[0], r, pool, t, depth, tame);
  const type = Array.isArray(s.type) ? r.pick(s.type) : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props: Record<string, Schema> = s.properties ?? {};
      const required = new Set<string>(s.required ?? []);
      for (const [k, ps] of Object.entries(props)) {
        if (k === 'expand') continue;
        if (required.has(k) ? r.chance(tame ? 1 : 0.95) : r.chance(tame ? 0.15 : depth === 0 ? 0.35 : 0.5)) out[k] = gen(k, ps, r, pool, t, depth + 1, tame);
      }
      if (!s.properties && s.additionalProperties && r.chance(0.7)) {
        for (let i = r.int(1, 3); i > 0; i--) out[`k${i}`] = gen(key, s.additionalProperties, r, pool, t, depth + 1, tame);
      }
      if (!tame && r.chance(0.03)) out.unknown_param = 'x';
      return out;
    }
    case 'array': {
      const min = s.minItems ?? 0;
      const n = tame || r.chance(0.9) ? r.int(min, Math.min(s.maxItems ?? 3, Math.max(min, tame ? 1 : 3))) : r.int(0, 25);
      return Array.from({ length: n }, () => gen(key, s.items ?? {}, r, pool, t, depth + 1, tame));
    }
    case 'integer':
    case 'number':
      return genNumber(key, s, r, t, tame);
    case 'boolean':
      return r.chance(0.5);
    case 'null':
      return null;
    case 'string':
      return genString(key, s, r, pool, t, tame);
    default:
      return r.pick(['x', 1, null]);
  }
}

/** Every listable collection's ids, by collection name. */
async function gatherIds(t: TestApp, paths: Record<string, Schema>): Promise<Pool> {
  const pool: Pool = new Map();
  for (const p of Object.keys(paths)) {
    const m = /^\/v1\/(?:test_helpers\/)?([a-z_/]+)$/.exec(p);
    if (!m || !paths[p]?.get) continue;
    const res = await t.call({ method: 'GET', url: `${p}?limit=100` });
    if (res.status !== 200 || !Array.isArray(res.body?.data)) continue;
    const ids = res.body.data.map((o: { id?: string }) => o.id).filter((x: unknown): x is string => typeof x === 'string');
    if (ids.length) pool.set(m[1]!.split('/').pop()!, ids);
  }
  pool.delete('api_keys'); // revoking the admin key would end the run
  return pool;
}

describe('API fuzz: no operation answers 5xx', () => {
  let t: TestApp & BillingHelpers;
  let paths: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let clock: string;

  beforeAll(async () => {
    t = await createBillingApp();
    paths = (await t.call({ method: 'GET', url: '/openapi.json' })).body.paths;
    clock = await t.clockAt('2026-01-15T12:00:00Z');
    // Real objects in several states, so generated ids reach the business logic.
    const card = await t.customer({ card: 'pm_card_visa', clock });
    const failing = await t.customer({ card: 'pm_card_chargeCustomerFail', clock });
    const plain = await t.customer({});
    const community = await t.priceId('community_monthly');
    const group = await t.priceId('group_quarterly');
    await t.call({ method: 'POST', url: '/v1/coupons', payload: { id: 'FUZZ10', percent_off: 10, duration: 'repeating', duration_in_months: 3 } });
    await t.call({ method: 'POST', url: '/v1/promotion_codes', payload: { coupon: 'FUZZ10', code: 'FUZZCODE' } });
    await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: card, items: [{ price: community }] } });
    await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: failing, items: [{ price: group }], payment_behavior: 'allow_incomplete' } });
    await t.call({ method: 'POST', url: '/v1/subscriptions', payload: { customer: card, items: [{ price: group }], trial_period_days: 7, coupon: 'FUZZ10' } });
    await t.call({ method: 'POST', url: '/v1/invoiceitems', payload: { customer: plain, amount: 5000, currency: 'usd', description: 'x' } });
    await t.call({ method: 'POST', url: '/v1/invoices', payload: { pending_invoice_items_behavior: 'include', customer: plain, collection_method: 'send_invoice', days_until_due: 30 } });
    await t.call({ method: 'POST', url: '/v1/tax_rates', payload: { display_name: 'VAT', percentage: 20, inclusive: false, country: 'DE' } });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('answers every generated request below 500', async () => {
    const r = rng(SEED);
    const failures: string[] = [];
    let requests = 0;
    let pool: Pool = new Map();
    const statuses = new Map<string, number>();
    const ops = Object.entries(paths).flatMap(([p, byMethod]) => Object.entries<any>(byMethod).map(([m, op]) => ({ path: p, method: m.toUpperCase(), op }))); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 8 === 0) pool = await gatherIds(t, paths);
      const pending: Promise<void>[] = [];
      for (const { path, method, op } of ops) {
        pending.push(
          (async () => {
            // Deleting the seeded objects early would starve the rest of the round.
            if (method === 'DELETE' && round < ROUNDS - 1 && r.chance(0.7)) return;
            // Most requests stay inside the schema (to reach the business rules), the rest probe its edges.
            const tame = r.chance(0.6);
            let url = path.replace(/\{(\w+)\}/g, (_m, name: string) => {
              const coll = name === 'id' ? collectionOfPath(path) : FIELD_COLLECTION[name] ?? `${name}s`;
              const ids = coll ? pool.get(coll) : undefined;
              if (ids?.length && r.chance(0.9)) return encodeURIComponent(r.pick(ids));
              return r.pick(['missing', 'cus_x', '%00', 'a'.repeat(300)]);
            });
            const query = (op.parameters ?? []).filter((p: Schema) => p.in === 'query');
            const qs = new URLSearchParams();
            for (const qp of query) {
              if (qp.name === 'expand' || !r.chance(qp.required ? 0.95 : 0.3)) continue;
              const v = gen(qp.name, qp.schema ?? {}, r, pool, t, 1, tame);
              if (v !== null && typeof v !== 'object') qs.set(qp.name, String(v));
            }
            if ([...qs.keys()].length) url += `?${qs}`;
            const schema = op.requestBody?.content?.['application/json']?.schema;
            const payload = method === 'GET' || method === 'DELETE' && !schema ? undefined : schema ? gen('', schema, r, pool, t, 0, tame) : {};
            const headers = method !== 'GET' && r.chance(0.2) ? { 'idempotency-key': `fuzz-${r.int(1, 40)}` } : undefined;
            const started = performance.now();
            if (process.env.FUZZ_VERBOSE) console.log(`> ${method} ${url} ${JSON.stringify(payload)?.slice(0, 300)}`);
            // A quarter of the bodies travel as Stripe's SDKs send them: form-encoded, numbers as strings.
            const form = payload !== undefined && r.chance(0.25);
            const body = payload === undefined ? {} : form ? { payload: formEncoding.stringify(payload, { arrayFormat: 'indices' }) } : { payload: payload as object };
            const allHeaders = { ...(headers ?? {}), ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) };
            const res = await t.call({ method: method as 'GET', url, ...body, headers: allHeaders });
            requests++;
            if (process.env.FUZZ_VERBOSE && performance.now() - started > 1000) console.log(`slow ${Math.round(performance.now() - started)} ms: ${method} ${url} ${JSON.stringify(payload)?.slice(0, 300)}`);
            const sk = `${method} ${path} ${res.status}${process.env.FUZZ_VERBOSE && res.status >= 400 ? ` ${res.body?.error?.code} ${res.body?.error?.param}` : ""}`;
            statuses.set(sk, (statuses.get(sk) ?? 0) + 1);
            if (res.status >= 500) failures.push(`${res.status} ${method} ${url}${form ? ' (form)' : ''} ${JSON.stringify(payload)?.slice(0, 600)} ${JSON.stringify(res.body).slice(0, 200)}`);
          })(),
        );
        if (pending.length >= PARALLEL) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending.splice(0));
    }
    if (process.env.FUZZ_VERBOSE) console.log([...statuses.entries()].sort().map(([k, n]) => `${n} ${k}`).join('\n'));
    // The jobs run over whatever the requests left behind: four months of the seeded clock, in steps
    // one advance allows, must not fail either (a 4xx is fine: the fuzz may have deleted the clock).
    let frozen = (await t.call({ method: 'GET', url: `/v1/test_helpers/test_clocks/${clock}` })).body.frozen_time as number | undefined;
    for (let step = 0; frozen !== undefined && step < 5; step++) {
      const adv = await t.call({ method: 'POST', url: `/v1/test_helpers/test_clocks/${clock}/advance`, payload: { frozen_time: frozen + 28 * 86_400 } });
      expect(adv.status, JSON.stringify(adv.body)).toBeLessThan(500);
      frozen = adv.status === 200 ? adv.body.frozen_time : undefined;
    }
    expect(requests).toBeGreaterThan(ROUNDS * 100);
    expect(failures).toEqual([]);
  }, 600_000);
});
