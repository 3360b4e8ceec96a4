import { purgeExpiredKeys } from '../http/idempotency.js';
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
  ];
}
