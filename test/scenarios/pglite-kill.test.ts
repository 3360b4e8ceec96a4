import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addMonths, systemClock } from '../../src/core/time/index.js';
import { openPglite } from '../../src/db/pglite.js';
import { seedCatalog } from '../../src/modules/catalog/seed.js';
import { allEvents } from '../../src/modules/events/batches.js';
import { createDueSubscriptions, renewalCounts, type RenewalCounts } from '../helpers/due-subscriptions.js';
import { openMigratedDataDir, usingPostgres } from '../helpers/db.js';

// The embedded setup: `recur worker` on a PGlite data folder, SIGKILLed twice in the middle of renewing,
// so PostgreSQL's crash recovery runs inside PGlite at each restart. Every subscription must still get
// exactly one invoice and one successful charge. (On PostgreSQL, worker-race.test.ts kills one of
// several workers; on PGlite one process owns the folder, so the whole database dies with it.)

const N = 400;
const PREFIX = 'crash';
const root = mkdtempSync(join(tmpdir(), 'recur-pglite-kill-'));
const dataDir = join(root, 'data');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Small batches while it is to be killed (the kill lands inside a run), large ones to finish. */
function startWorker(batch: number): { proc: ChildProcess; started: Promise<void> } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RECUR_DATA_DIR: dataDir,
    RECUR_FINALIZE_DELAY_SECONDS: '0',
    RECUR_WORKER_BATCH_SIZE: String(batch),
    RECUR_LOG_LEVEL: 'info',
    RECUR_SEED: 'false',
  };
  delete env.DATABASE_URL;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('recur started')) resolve();
    });
    proc.once('exit', (code, signal) => reject(new Error(`worker exited before starting (${code ?? signal})`)));
  });
  return { proc, started };
}

const walMtime = () => {
  const wal = join(dataDir, 'pg_wal');
  return Math.max(...readdirSync(wal).map((f) => statSync(join(wal, f)).mtimeMs));
};

/** Waits until the worker writes WAL after `since` (it has committed work). */
async function walWrittenSince(since: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (walMtime() <= since) {
    if (Date.now() > until) throw new Error('the worker committed nothing');
    await sleep(20);
  }
}

/** Waits until the worker has written no WAL for `quietMs` (its due work is done: idle passes only read). */
async function walQuiet(quietMs: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const latest = walMtime;
  let seen = latest();
  let since = Date.now();
  while (Date.now() < until) {
    await sleep(200);
    const now = latest();
    if (now !== seen) [seen, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return;
  }
}

const exited = (p: ChildProcess) => new Promise<void>((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve() : p.once('exit', () => resolve())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function counts(nextEnd: Date): Promise<RenewalCounts & { paidEvents: number }> {
  const db = await openPglite(dataDir);
  try {
    const c = await renewalCounts(db, PREFIX, nextEnd);
    // The worker writes its passes' large groups of events compressed (event_batches): read both storages.
    const { rows: crashInvoices } = await db.query<{ id: string }>(`SELECT id FROM invoices WHERE subscription LIKE 'sub\\_crash%'`);
    const ids = new Set(crashInvoices.map((r) => r.id));
    const paidEvents = (await allEvents(db, { types: ['invoice.paid'] })).filter((e) => ids.has(e.object_id)).length;
    return { ...c, paidEvents };
  } finally {
    await db.close();
  }
}

describe.skipIf(usingPostgres)('recur worker on PGlite, killed mid-run and restarted', () => {
  it(`renews ${N} due subscriptions exactly once each across two crashes`, async () => {
    const dueAt = new Date(Math.floor(systemClock.now().getTime() / 1000) * 1000 - 60_000);
    // A copy of the run's migrated template (test/helpers/db.ts): no migrations to apply here.
    const db = await openMigratedDataDir(dataDir);
    await db.tx((q) => seedCatalog(q, systemClock.now()));
    const priceId = (await db.query<{ id: string }>(`SELECT id FROM prices WHERE lookup_key = 'community_monthly'`)).rows[0]!.id;
    await createDueSubscriptions(db, { n: N, dueAt, priceId, prefix: PREFIX });
    await db.close();
    const nextEnd = addMonths(new Date(dueAt.getTime() - 31 * 86_400_000), 2);

    // Two hard kills, each a moment after the run's first commit (not a fixed time after the start: on a
    // loaded machine the worker may not have committed anything a second after it says it started).
    for (const after of [300, 150]) {
      const w = startWorker(20);
      await w.started;
      await walWrittenSince(Date.now(), 60_000);
      await sleep(after);
      w.proc.kill('SIGKILL');
      await exited(w.proc);
      const mid = await counts(nextEnd);
      // The kill fell inside the run: some of the work was done, not all of it.
      expect(mid.invoices).toBeGreaterThan(0);
      expect(mid.paidInvoices).toBeLessThan(N);
      expect(mid.duplicatePeriods).toBe(0);
    }

    // Then a run stopped politely once it has gone quiet, again if anything is left.
    let last = await counts(nextEnd);
    for (let run = 0; run < 5 && last.paidInvoices < N; run++) {
      const w = startWorker(250);
      await w.started;
      await walQuiet(2000, 60_000);
      w.proc.kill('SIGTERM');
      await exited(w.proc);
      last = await counts(nextEnd);
    }
    expect(last).toEqual({
      invoices: N,
      paidInvoices: N,
      subscriptionsWithOneInvoice: N,
      duplicatePeriods: 0,
      succeededIntents: N,
      intentsPerInvoiceMax: 1,
      advanced: N,
      paidEvents: N,
    });
  }, 240_000);
});
