import { addSeconds } from '../core/time/index.js';
import { logClaims, txWithRetry, type Db, type Queryable } from '../db/index.js';

// Poison rows. A worker job handles a claimed batch in one transaction (set-based: one statement per
// table for the whole batch), so one row that fails — bad data, a bug only that row reaches — rolls
// the batch back, and the next claim takes the same rows in the same order and fails again: one bad
// subscription would stop every renewal behind it. After a batch fails, the job reruns row by row;
// a row that fails alone is held (work_holds, migration 0014) for a backoff and claims skip it, so
// the other rows go on. When the hold ends the row is claimed again, and held longer if it fails again.

export interface HoldableJob {
  /** Stable name, stored with the hold: the claim's heldFilter must use the same one. */
  name: string;
  run(q: Queryable, limit: number): Promise<number>;
}

/** First hold one minute, doubling with each failure, at most a day. */
export function holdSeconds(failures: number): number {
  return Math.min(60 * 2 ** Math.min(failures - 1, 20), 86_400);
}

/**
 * The claim's condition that skips held rows: `key` is the SQL expression of the claimed row's id (as
 * the job logs it), `now` the SQL expression of the job's current time (a timestamptz parameter).
 */
export function heldFilter(job: string, key: string, now: string): string {
  return `NOT EXISTS (SELECT 1 FROM work_holds h WHERE h.job = '${job}' AND h.object_id = ${key} AND h.held_until > ${now})`;
}

/** Rows that failed alone: held (or held longer) from `now`. */
export async function holdRows(q: Queryable, job: string, ids: string[], error: unknown, now: Date): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  for (const id of ids) {
    const { rows } = await q.query<{ failures: number }>(
      `INSERT INTO work_holds (job, object_id, failures, first_failed_at, last_failed_at, held_until, last_error)
       VALUES ($1, $2, 1, $3, $3, $4, $5)
       ON CONFLICT (job, object_id) DO UPDATE SET failures = work_holds.failures + 1, last_failed_at = $3, last_error = $5
       RETURNING failures`,
      [job, id, now, addSeconds(now, holdSeconds(1)), message.slice(0, 2000)],
    );
    const failures = rows[0]!.failures;
    if (failures > 1) await q.query(`UPDATE work_holds SET held_until = $3 WHERE job = $1 AND object_id = $2`, [job, id, addSeconds(now, holdSeconds(failures))]);
  }
}

/** Rows held at `now`, by job (the /metrics gauge recur_work_holds). */
export async function heldCounts(q: Queryable, now: Date): Promise<Map<string, number>> {
  const { rows } = await q.query<{ job: string; n: string | number }>(`SELECT job, count(*) AS n FROM work_holds WHERE held_until > $1 GROUP BY job`, [now]);
  return new Map(rows.map((r) => [r.job, Number(r.n)]));
}

/** The jobs that have held rows (on real time), read once per pass: only their batches need releasing. */
export async function jobsWithHolds(q: Queryable): Promise<Set<string>> {
  const { rows } = await q.query<{ job: string }>(`SELECT DISTINCT job FROM work_holds`);
  return new Set(rows.map((r) => r.job));
}

/**
 * Runs a job's batch in the caller's transaction and, if `release`, drops the holds of the rows it
 * handled: a held row that now succeeds starts from one failure again should it ever fail later.
 */
export async function runReleasing(q: Queryable, job: HoldableJob, limit: number, release: boolean, claimed: string[] = []): Promise<number> {
  if (!release) return job.run(q, limit);
  logClaims(q, claimed);
  const n = await job.run(q, limit);
  if (claimed.length > 0) await q.query(`DELETE FROM work_holds WHERE job = $1 AND object_id = ANY($2)`, [job.name, claimed]);
  return n;
}

export interface OneByOne {
  handled: number;
  held: string[];
}

/**
 * Reruns a job whose batch failed, one claimed row per transaction, for at most `limit` rows. A row
 * that fails alone is held; one that succeeds loses any hold it had. When the first three rows all fail,
 * that looks like a fault of the job rather than of rows (a missing migration, every row failing the
 * same way): the rerun stops there and throws, so it does not hold a whole table.
 */
export async function runOneByOne(db: Db, job: HoldableJob, limit: number, now: Date): Promise<OneByOne> {
  const result: OneByOne = { handled: 0, held: [] };
  let failedInARow = 0;
  for (let i = 0; i < limit; i++) {
    const ids: string[] = [];
    try {
      const n = await txWithRetry(db, (q) => {
        ids.length = 0;
        return runReleasing(q, job, 1, true, ids);
      });
      if (n === 0) break;
      result.handled += n;
      failedInARow = 0;
    } catch (error) {
      // Failed before it claimed anything: not a row's fault.
      if (ids.length === 0) throw error;
      await db.tx((q) => holdRows(q, job.name, ids, error, now));
      result.held.push(...ids);
      if (++failedInARow >= 3 && result.handled === 0) throw error;
    }
  }
  return result;
}

/**
 * Runs each job once, each batch in its own transaction (rerun if it lost a deadlock). A job whose
 * batch fails does not keep the others from running: the pass goes on and then throws the first
 * failure (the worker logs it; a test clock's advance fails with it). With `hold` (real time) the failed
 * job is first rerun row by row and each row that fails alone is held, so one bad row holds up neither
 * its batch nor the rows claimed after it. Returns the number of rows handled.
 */
export async function runPass(db: Db, jobs: readonly HoldableJob[], limit: number, now: Date, hold: boolean): Promise<number> {
  const held = hold ? await jobsWithHolds(db) : new Set<string>();
  let n = 0;
  let failure: { error: unknown } | null = null;
  for (const job of jobs) {
    try {
      n += await txWithRetry(db, (q) => runReleasing(q, job, limit, held.has(job.name)));
    } catch (error) {
      failure ??= { error };
      if (!hold) continue;
      try {
        n += (await runOneByOne(db, job, limit, now)).handled;
      } catch {
        // The job fails whatever row it takes: reported below with the batch's failure.
      }
    }
  }
  if (failure) throw failure.error;
  return n;
}

/**
 * Repeats a pass (runPass over one kind of work at one instant) until one finds nothing, or until
 * `stillDue` says nothing more is due (a test clock asks its due query, sparing the pass that would only
 * confirm it), or `maxPasses` is reached. Returns the rows handled.
 */
export async function drainPasses(pass: () => Promise<number>, opts: { maxPasses: number; stillDue?: () => Promise<boolean> }): Promise<number> {
  let total = 0;
  for (let i = 0; i < opts.maxPasses; i++) {
    const n = await pass();
    total += n;
    if (n === 0 || (opts.stillDue && !(await opts.stillDue()))) break;
  }
  return total;
}
