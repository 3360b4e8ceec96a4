import { purgeExpiredKeys } from '../http/idempotency.js';
import { maintainTables } from '../db/maintenance.js';
import { runBillingPass } from '../modules/subscriptions/jobs.js';
import { runCreditPass } from '../modules/credits/jobs.js';
import { runDunningPass } from '../modules/dunning/jobs.js';
import type { Notifier } from '../modules/notifications/channels.js';
import { retryPendingRefunds } from '../modules/payments/refunds.js';
import { processInbox } from '../modules/webhooks/jobs.js';
import type { Job } from './worker.js';

/** Every job the worker runs, in order. Modules add theirs here. */
export function allJobs(opts: { notifier?: Notifier } = {}): Job[] {
  let lastPurge = 0;
  let lastLifecycleScan = 0;
  let lastMaintenance: number | null = null;
  return [
    {
      // Renewals, trial ends, period-end cancellations, finalisation and payment of objects on real
      // time (test-clock objects move only when their clock is advanced).
      name: 'billing',
      run: ({ db, clock, deps }) => runBillingPass(db, deps, { clock: null }, clock.now()),
    },
    {
      // Credit lot expiry, plan-included credits at each period start, purchased packs' credits.
      name: 'credits',
      run: ({ db, clock, deps }) => runCreditPass(db, deps, { clock: null }, clock.now()),
    },
    {
      // Dunning campaigns and customer notifications: the event inbox, due steps, time-driven notices
      // (scanned at most once a minute on real time) and message delivery.
      name: 'dunning',
      run: ({ db, clock, deps, logger }) => {
        const now = clock.now();
        const lifecycle = now.getTime() - lastLifecycleScan >= 60_000;
        if (lifecycle) lastLifecycleScan = now.getTime();
        return runDunningPass(db, { ...deps, notifier: opts.notifier }, { clock: null }, now, { lifecycle, logger });
      },
    },
    {
      // Inbound gateway webhooks (Stripe, PayPal): verified events waiting in the inbox, with retries.
      name: 'webhooks.inbox',
      run: ({ db, clock, deps, logger }) => processInbox(db, deps, clock.now(), deps.config.workerBatchSize, { logger }),
    },
    {
      // Refunds whose gateway answer was lost: asked again with the same idempotency key.
      name: 'payments.refunds',
      run: ({ db, clock, deps }) => db.tx((q) => retryPendingRefunds(q, deps, clock.now(), 100)),
    },
    {
      name: 'idempotency.purge',
      run: async ({ db, clock }) => {
        const now = clock.now().getTime();
        if (now - lastPurge < 60_000) return 0;
        lastPurge = now;
        await purgeExpiredKeys(db, clock.now());
        return 0; // housekeeping never keeps the loop busy
      },
    },
    {
      // PGlite has no autovacuum (src/db/maintenance.ts): once a minute, as autovacuum's naptime, the
      // tables past its thresholds are vacuumed or analyzed. PostgreSQL's own autovacuum does this there.
      name: 'db.maintenance',
      run: async ({ db, clock, logger }) => {
        const now = clock.now().getTime();
        if (db.kind !== 'pglite') return 0;
        // The first look is a minute after the worker starts, not at once (a test's short-lived worker never vacuums).
        lastMaintenance ??= now;
        if (now - lastMaintenance < 60_000) return 0;
        lastMaintenance = now;
        const started = performance.now();
        const done = await maintainTables(db);
        if (done.length) logger.info({ tables: done, ms: Math.round(performance.now() - started) }, 'vacuumed and analyzed');
        return 0;
      },
    },
  ];
}
