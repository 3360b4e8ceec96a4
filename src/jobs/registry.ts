import { purgeExpiredKeys } from '../http/idempotency.js';
import { runBillingPass } from '../modules/subscriptions/jobs.js';
import type { Job } from './worker.js';

/** Every job the worker runs, in order. Modules add theirs here. */
export function allJobs(): Job[] {
  let lastPurge = 0;
  return [
    {
      // Renewals, trial ends, period-end cancellations, finalisation and payment of objects on real
      // time (test-clock objects move only when their clock is advanced).
      name: 'billing',
      run: ({ db, clock, deps }) => runBillingPass(db, deps, { clock: null }, clock.now()),
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
