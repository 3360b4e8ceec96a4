import { idReplayScope } from '../core/ids/index.js';
import type { Db, Queryable } from './types.js';

// PostgreSQL aborts one of two transactions that wait on each other's row locks (deadlock) and, under
// stricter isolation, a transaction that lost a serialization race. Both are rolled back whole, so
// running the transaction again is safe and is what PostgreSQL's documentation prescribes. Work with
// outside effects inside such a transaction (a gateway charge or refund) sends an idempotency key
// derived from ids and database state; the rollback restored the state and the rerun is given the
// same ids (idReplayScope), so it sends the same key and cannot charge or refund twice.

/** A deadlock (40P01) or serialization failure (40001): the transaction was rolled back and may be rerun. */
export function isTransientTxError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** db.tx, rerun (up to `attempts` times in all) when PostgreSQL aborted it for a deadlock or serialization failure. */
export async function txWithRetry<T>(db: Db, fn: (q: Queryable) => Promise<T>, attempts = 4): Promise<T> {
  const sameIds = idReplayScope();
  for (let attempt = 1; ; attempt++) {
    try {
      return await sameIds(() => db.tx(fn));
    } catch (err) {
      if (attempt >= attempts || !isTransientTxError(err)) throw err;
      // A short random pause, so the two losers of a deadlock do not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 20 * attempt)));
    }
  }
}
