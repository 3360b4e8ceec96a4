// npm run bench:clock [-- --customers 1 --months 30 --runs 3]
// How long a test clock takes to advance through months of billing on the embedded database (PGlite),
// as `recur clock advance` and POST /v1/test_helpers/test_clocks/{id}/advance run it: customers on the
// monthly Community plan with a card, the clock advanced from Jan 1 2026 in the steps the API allows
// (two billing intervals each) until `--months` have passed. Each run uses a new in-memory database.
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { testConfig } from '../src/config.js';
import { ManualClock, addMonths } from '../src/core/time/index.js';
import { openPglite } from '../src/db/pglite.js';
import { migrate } from '../src/db/migrate.js';
import { createApiKey } from '../src/modules/api-keys/service.js';
import { seedCatalog } from '../src/modules/catalog/seed.js';
import { advanceLimit, advanceTestClock, createTestClock } from '../src/modules/test-clocks/service.js';
import { benchBillingDeps } from './billing-deps.js';

const { values } = parseArgs({
  options: { customers: { type: 'string', default: '1' }, months: { type: 'string', default: '30' }, runs: { type: 'string', default: '3' } },
});
const CUSTOMERS = Number(values.customers);
const MONTHS = Number(values.months);
const START = new Date('2026-01-01T00:00:00Z');

async function run(): Promise<{ ms: number; paid: number }> {
  const db = await openPglite(undefined);
  try {
    await migrate(db, new ManualClock(START));
    await seedCatalog(db, START);
    const clock = await createTestClock(db, START, { frozen_time: START.getTime() / 1000, name: 'bench' });
    const { app } = await buildApp({ db, clock: new ManualClock(START), config: testConfig({ logLevel: 'warn' }) });
    const key = (await createApiKey(db, { name: 'bench', scope: 'admin' }, START)).secret;
    const call = async (url: string, payload: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${key}` } });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      return JSON.parse(res.body) as { id: string };
    };
    const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    for (let i = 0; i < CUSTOMERS; i++) {
      const customer = await call('/v1/customers', { email: `c${i}@example.com`, test_clock: clock.id });
      const pm = await call('/v1/payment_methods/pm_card_visa/attach', { customer: customer.id });
      await call(`/v1/customers/${customer.id}`, { invoice_settings: { default_payment_method: pm.id } });
      await call('/v1/subscriptions', { customer: customer.id, items: [{ price }], trial_end: 'now' });
    }
    await app.close();
    const deps = { ...(await benchBillingDeps(db, START, 500)), config: testConfig({}), clock: new ManualClock(START) };
    const to = addMonths(START, MONTHS);
    const t0 = performance.now();
    for (let at = START; at < to; ) {
      const limit = await advanceLimit(db, clock.id, at);
      const next = limit < to ? limit : to;
      await advanceTestClock(db, deps, clock.id, next);
      at = next;
    }
    const ms = performance.now() - t0;
    const paid = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM invoices WHERE status = 'paid'`)).rows[0]!.n;
    return { ms, paid };
  } finally {
    await db.close();
  }
}

const times: number[] = [];
for (let r = 0; r < Number(values.runs); r++) {
  const { ms, paid } = await run();
  times.push(ms);
  console.log(`run ${r + 1}: ${CUSTOMERS} customer(s), ${MONTHS} months in ${(ms / 1000).toFixed(2)} s (${paid} invoices paid)`);
}
times.sort((a, b) => a - b);
console.log(`median ${(times[Math.floor(times.length / 2)]! / 1000).toFixed(2)} s`);
