// npm run bench:billing [-- --n 100000 --pglite-n N --workers 2 --db postgres|pglite|both --batch 1000 --processes --cpu-prof DIR --no-write]
// Bulk-creates N subscriptions due at the same instant, runs the billing worker(s) until every
// renewal is invoiced, finalized, charged (simulated gateway) and evented, and reports renewals/s,
// peak RSS and the floor: one set-based INSERT … SELECT writing the same rows, measured in the same run.
// On PostgreSQL the workers are connection pools in this process, or with --processes one process each
// (bench/billing-worker.ts), as production runs several `recur worker` processes. With --processes,
// --cpu-prof DIR writes each worker process's V8 CPU profiles there: the main thread's (the larger file)
// and tsx's module loader thread's (scripts/cpuprofile-top.mjs reads them).
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fork } from 'node:child_process';
import { ManualClock } from '../src/core/time/index.js';
import type { Db } from '../src/db/index.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { openPostgres } from '../src/db/postgres.js';
import { seedCatalog } from '../src/modules/catalog/seed.js';
import { drainBilling } from '../src/modules/subscriptions/jobs.js';
import { freshDatabase } from './fresh-db.js';
import { benchBillingDeps } from './billing-deps.js';
import { createDueSubscriptions, renewalCounts } from '../test/helpers/due-subscriptions.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    'pglite-n': { type: 'string' },
    workers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    db: { type: 'string', default: 'both' },
    'no-write': { type: 'boolean', default: false },
    processes: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
  },
});
// In-process workers are profiled with `node --cpu-prof --import tsx bench/billing.ts …` instead.
if (values['cpu-prof'] && !values.processes) throw new Error('--cpu-prof profiles worker processes: add --processes (and --db postgres)');
const N_ARG = Number(values.n);
/** PGlite is several times slower: --pglite-n runs it on fewer subscriptions (default: --n). */
const PGLITE_N = Number(values['pglite-n'] ?? values.n);
const WORKERS = Number(values.workers);
const BATCH = Number(values.batch);
const DUE = new Date('2026-03-01T00:00:00Z');
const NOW = new Date('2026-03-01T00:00:10Z');

interface Result {
  db: string;
  n: number;
  workers: number;
  seconds: number;
  perSecond: number;
  floorSeconds: number;
  floorPerSecond: number;
  peakRssMb: number;
  /** Renewals/s if a renewal cost only the writing of its events (this run's own rows, copied set-based). */
  eventsPerSecond: number;
  eventBytesPerRenewal: number;
}

/** The floor: the same rows (invoice, line, payment intent, 4 events) written by one INSERT … SELECT each. */
async function floor(db: Db): Promise<number> {
  const t0 = performance.now();
  await db.tx(async (q) => {
    await q.query(`CREATE TEMP TABLE floor_inv ON COMMIT DROP AS SELECT * FROM invoices WITH NO DATA`);
    await q.query(`CREATE TEMP TABLE floor_line ON COMMIT DROP AS SELECT * FROM invoice_lines WITH NO DATA`);
    await q.query(`CREATE TEMP TABLE floor_pi ON COMMIT DROP AS SELECT * FROM payment_intents WITH NO DATA`);
    await q.query(`CREATE TEMP TABLE floor_evt ON COMMIT DROP AS SELECT * FROM events WITH NO DATA`);
    await q.query(
      `INSERT INTO floor_inv (id, customer, subscription, status, number, series, currency, billing_reason, period_start, period_end, subtotal, total,
         amount_due, amount_paid, created, updated)
       SELECT 'in_f' || s.id, s.customer, s.id, 'paid', 'F-' || s.id, 'F', s.currency, 'subscription_cycle', s.current_period_end,
              s.current_period_end + interval '1 month', 9700, 9700, 9700, 9700, $1, $1 FROM subscriptions s WHERE s.id LIKE 'sub_bench%'`,
      [NOW],
    );
    await q.query(
      `INSERT INTO floor_line (id, invoice, type, subscription, price, description, quantity, unit_amount, amount, currency, period_start, period_end)
       SELECT 'il_f' || i.id, i.id, 'subscription', i.subscription, 'p', '1 × Community Access (at $97.00 / month)', 1, 9700, 9700, 'usd', i.period_start, i.period_end FROM floor_inv i`,
    );
    await q.query(
      `INSERT INTO floor_pi (id, customer, invoice, amount, amount_received, currency, status, idempotency_key, created, updated)
       SELECT 'pi_f' || i.id, i.customer, i.id, 9700, 9700, 'usd', 'succeeded', i.id || ':1', $1, $1 FROM floor_inv i`,
      [NOW],
    );
    await q.query(
      `INSERT INTO floor_evt (id, type, created, object_id, customer_id, data)
       SELECT 'evt_f' || k || i.id, 'invoice.paid', $1, i.id, i.customer, jsonb_build_object('object', to_jsonb(i)) FROM floor_inv i, generate_series(1, 4) k`,
      [NOW],
    );
  });
  return (performance.now() - t0) / 1000;
}

/**
 * The events' share: this run's own event rows (rows of `events` and the worker's compressed groups in
 * `event_batches`) copied, in one INSERT … SELECT each, into tables with the same columns, indexes and
 * storage — no Node, no wire, no other table. N / that time is the most renewals a second could reach on
 * this database if they wrote nothing but their events.
 */
async function eventCeiling(db: Db): Promise<{ seconds: number; bytes: number }> {
  const { rows } = await db.query<{ b: string }>(
    `SELECT (SELECT coalesce(sum(pg_column_size(data)), 0) FROM events WHERE created = $1) + (SELECT coalesce(sum(pg_column_size(data)), 0) FROM event_batches WHERE created = $1) AS b`,
    [NOW],
  );
  const t0 = performance.now();
  await db.tx(async (q) => {
    await q.query(`CREATE TEMP TABLE ceiling_evt (LIKE events INCLUDING ALL) ON COMMIT DROP`);
    await q.query(`INSERT INTO ceiling_evt SELECT * FROM events WHERE created = $1`, [NOW]);
    await q.query(`CREATE TEMP TABLE ceiling_batch (LIKE event_batches INCLUDING ALL) ON COMMIT DROP`);
    await q.query(`INSERT INTO ceiling_batch SELECT * FROM event_batches WHERE created = $1`, [NOW]);
  });
  return { seconds: (performance.now() - t0) / 1000, bytes: Number(rows[0]!.b) };
}

/** A forked worker process (bench/billing-worker.ts), loaded and connected; run() starts it and gives its peak RSS. */
function startWorkerProcess(url: string): Promise<{ run: () => Promise<number> }> {
  const child = fork(new URL('./billing-worker.ts', import.meta.url), [url, NOW.toISOString(), String(BATCH)], {
    execArgv: ['--import', 'tsx', ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [])],
  });
  const failed = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`))));
  const next = () => Promise.race([new Promise<{ peak?: number }>((resolve) => child.once('message', (m) => resolve(m as { peak?: number }))), failed]);
  return next().then(() => ({
    run: async () => {
      const done = next();
      child.send('go');
      return (await done).peak!;
    },
  }));
}

async function run(kind: 'postgres' | 'pglite'): Promise<Result> {
  const N = kind === 'pglite' ? PGLITE_N : N_ARG;
  let dbs: Db[] = [];
  let pgUrl: string | undefined;
  let cleanup: () => Promise<void>;
  const clock = new ManualClock(NOW);
  if (kind === 'postgres') {
    const fresh = await freshDatabase(`recur_bench_billing_${process.pid}`);
    pgUrl = fresh.url;
    for (let i = 0; i < WORKERS; i++) dbs.push(await openPostgres({ connectionString: fresh.url, max: 2 }));
    cleanup = async () => {
      for (const d of dbs) await d.close();
      await fresh.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'recur-bench-'));
    const d = await openPglite(join(dir, 'data'));
    dbs = [d]; // one connection: one writer
    cleanup = async () => {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const db = dbs[0]!;
  try {
    await migrate(db, clock);
    await db.tx((q) => seedCatalog(q, clock.now()));
    const price = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    process.stdout.write(`[${kind}] creating ${N} due subscriptions… `);
    const t0 = performance.now();
    await db.tx((q) => createDueSubscriptions(q, { n: N, dueAt: DUE, priceId: price, prefix: 'bench' }));
    if (kind === 'postgres') await db.query('ANALYZE');
    process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const floorSeconds = await floor(db);
    const deps = await benchBillingDeps(db, NOW, BATCH);
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
    const workers = kind === 'postgres' ? dbs : [db];
    const forked = kind === 'postgres' && values.processes;
    let started: number;
    if (forked) {
      // Each process loads the code and connects before the clock starts, as a running worker would have.
      const children = await Promise.all(workers.map(() => startWorkerProcess(pgUrl!)));
      started = performance.now();
      const peaks = await Promise.all(children.map((c) => c.run()));
      peak = Math.max(...peaks); // the largest worker process's, as in production each runs alone
    } else {
      started = performance.now();
      await Promise.all(workers.map((w) => drainBilling(w, deps, { clock: null }, NOW)));
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    if (!forked) peak = Math.max(peak, process.memoryUsage().rss);

    const anchor = new Date(DUE.getTime() - 31 * 86_400_000);
    const next = new Date(anchor);
    next.setUTCMonth(next.getUTCMonth() + 2);
    const counts = await renewalCounts(db, 'bench', next);
    if (counts.paidInvoices !== N || counts.duplicatePeriods !== 0 || counts.succeededIntents !== N || counts.intentsPerInvoiceMax !== 1) {
      throw new Error(`wrong result: ${JSON.stringify(counts)}`);
    }
    const ceiling = await eventCeiling(db);
    return {
      db: kind,
      eventsPerSecond: N / ceiling.seconds,
      eventBytesPerRenewal: ceiling.bytes / N,
      n: N,
      workers: workers.length,
      seconds,
      perSecond: N / seconds,
      floorSeconds,
      floorPerSecond: N / floorSeconds,
      peakRssMb: peak / 1024 / 1024,
    };
  } finally {
    await cleanup();
  }
}

function table(results: Result[]): string {
  const head =
    '| database | N | workers | renewals/s | end-to-end s | floor rows/s (same rows, set-based) | ratio | peak RSS MB | events alone: renewals/s bound | event bytes per renewal |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n';
  return (
    head +
    results
      .map(
        (r) =>
          `| ${r.db} | ${r.n.toLocaleString('en-US')} | ${r.workers} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.seconds.toFixed(1)} | ${Math.round(r.floorPerSecond).toLocaleString('en-US')} | ${(r.perSecond / r.floorPerSecond).toFixed(2)} | ${Math.round(r.peakRssMb)} | ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} | ${Math.round(r.eventBytesPerRenewal).toLocaleString('en-US')} |`,
      )
      .join('\n') +
    '\n'
  );
}

const kinds: ('postgres' | 'pglite')[] = values.db === 'both' ? ['postgres', 'pglite'] : [values.db as 'postgres' | 'pglite'];
const results: Result[] = [];
for (const k of kinds) {
  const r = await run(k);
  results.push(r);
  process.stdout.write(`[${k}] ${r.n} renewals in ${r.seconds.toFixed(1)} s = ${Math.round(r.perSecond)}/s; floor ${Math.round(r.floorPerSecond)}/s; peak RSS ${Math.round(r.peakRssMb)} MB\n`);
}
const out = table(results);
process.stdout.write('\n' + out);
if (!values['no-write']) {
  const file = new URL('../docs/BENCHMARKS.md', import.meta.url);
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const section =
    `## Billing renewals (bench:billing)\n\nRun ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores, Node ${process.version}: ` +
    `\`npm run bench:billing -- --n ${N_ARG}${PGLITE_N !== N_ARG ? ` --pglite-n ${PGLITE_N}` : ''} --workers ${WORKERS} --batch ${BATCH}\`. Each renewal = invoice + line + finalization (gapless number) + simulated charge ` +
    `(payment intent) + events (invoice.created, customer.subscription.updated, invoice.finalized, payment_intent.created/succeeded, invoice.paid, ` +
    `invoice.payment_succeeded; each pass's group of 50 or more stored whole as one compressed row, ADR 0007 option 5). Workers are in-process connection pools running the real worker code concurrently; the floor writes the same ` +
    `rows (invoice, line, payment intent, 4 events) with one INSERT … SELECT per table. "Events alone" copies this run's own event rows, set-based inside the ` +
    `database, into a table with the same indexes: N divided by that time bounds what any renewal path writing these events could reach.\n\n${out}`;
  const re = /## Billing renewals \(bench:billing\)[\s\S]*?(?=\n## |$)/;
  writeFileSync(file, re.test(doc) ? doc.replace(re, section) : doc.trimEnd() + '\n\n' + section);
}
