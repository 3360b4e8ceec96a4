import { purgeExpiredKeys } from '../http/idempotency.js';
import type { Job } from './worker.js';

/** Every job the worker runs, in order. Modules add theirs here. */
export function allJobs(): Job[] {
  return [
    {
      name: 'idempotency.purge',
      run: async ({ db, clock }) => {
        await purgeExpiredKeys(db, clock.now());
        return 0; // housekeeping never keeps the loop busy
      },
    },
  ];
}
