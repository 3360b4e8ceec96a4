// npm run bench:events [-- --n 20000 --runs 3]
// How long the events API takes to find a customer's or an object's events once a real-time worker has
// written its renewals' events in batches (ADR 0007 option 5) — PGlite, in memory: N subscriptions
// renewed, finalised and charged by the worker, then listEvents (what GET /v1/events runs) with each filter.
import { parseArgs } from 'node:util';
import { ManualClock } from '../src/core/time/index.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { seedCatalog } from '../src/modules/catalog/seed.js';
import { drainBilling } from '../src/modules/subscriptions/jobs.js';
import { findEvent, listEvents, type EventFilter } from '../src/modules/events/batches.js';
import { benchBillingDeps } from './billing-deps.js';
import { createDueSubscriptions } from '../test/helpers/due-subscriptions.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' }, runs: { type: 'string', default: '3' } } });
const N = Number(values.n);
const NOW = new Date('2026-03-01T00:00:10Z');
const db = await openPglite(undefined);
try {
  await migrate(db, new ManualClock(NOW));
  await db.tx((q) => seedCatalog(q, NOW));
  const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
  await db.tx((q) => createDueSubscriptions(q, { n: N, dueAt: new Date('2026-03-01T00:00:00Z'), priceId: price, prefix: 'bench' }));
  await drainBilling(db, await benchBillingDeps(db, NOW, 1000), { clock: null }, NOW);
  const sub = 'sub_bench000000007';
  const customer = (await db.query<{ customer: string }>(`SELECT customer FROM subscriptions WHERE id = $1`, [sub])).rows[0]!.customer;
  const batches = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM event_batches`)).rows[0]!.n;
  console.log(`${N} renewals, ${batches} event batches`);
  const cases: [string, EventFilter][] = [
    ['customer', { customer }],
    ['object_id', { objectId: sub }],
    ['type', { types: ['invoice.paid'] }],
    ['none', {}],
  ];
  for (const [name, f] of cases) {
    const ms: number[] = [];
    let found = 0;
    for (let r = 0; r < Number(values.runs); r++) {
      const t0 = performance.now();
      found = (await listEvents(db, f, { limit: 10 })).rows.length;
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    console.log(`${name.padEnd(10)} ${found} events, median ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms (${ms.map((m) => m.toFixed(0)).join(' / ')})`);
  }
  const any = (await listEvents(db, {}, { limit: 1 })).rows[0]!;
  const t0 = performance.now();
  await findEvent(db, any.id);
  console.log(`retrieve   1 event, ${(performance.now() - t0).toFixed(0)} ms`);
} finally {
  await db.close();
}
