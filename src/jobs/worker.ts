import type { Clock } from '../core/time/index.js';
import type { Db } from '../db/index.js';
import type { FastifyBaseLogger } from 'fastify';
import type { BillingDeps } from '../modules/subscriptions/jobs.js';

// The worker loop. Each job claims its due rows itself (FOR UPDATE SKIP LOCKED on PostgreSQL), so
// any number of worker processes — or loops in one process — can run against one database. A job
// returns how many items it handled; a loop sleeps only when a full pass found nothing to do.

export interface JobContext {
  db: Db;
  clock: Clock;
  logger: FastifyBaseLogger;
  deps: BillingDeps;
}

export interface Job {
  name: string;
  /** Handles one batch of due work; returns the number of items processed. */
  run(ctx: JobContext): Promise<number>;
}

export class Worker {
  private stopped = false;
  private wakes = new Set<() => void>();
  private loops: Promise<void>[] = [];

  /**
   * `concurrency` loops run side by side, each holding a connection while it works: on PostgreSQL one
   * loop's database waits are another's CPU time (on 2 cores, where PostgreSQL takes one, 4 loops renew
   * 5–10 % more than 2: docs/BENCHMARKS.md; more cores leave more to overlap). PGlite has one
   * connection, so more than one loop only takes turns.
   */
  constructor(
    private readonly ctx: JobContext,
    private readonly jobs: Job[],
    private readonly idleMs = 1000,
    private readonly concurrency = 1,
  ) {}

  /** One pass over every job until none has work left; used by tests and test clocks. */
  async drain(maxPasses = 10_000): Promise<number> {
    let total = 0;
    for (let pass = 0; pass < maxPasses; pass++) {
      let n = 0;
      for (const job of this.jobs) n += await this.runJob(job);
      total += n;
      if (n === 0) break;
    }
    return total;
  }

  start(): void {
    if (this.loops.length) return;
    for (let i = 0; i < Math.max(1, this.concurrency); i++) {
      this.loops.push(
        (async () => {
          while (!this.stopped) {
            const n = await this.drain(1);
            if (n === 0 && !this.stopped) await this.idle();
          }
        })(),
      );
    }
  }

  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakes.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, this.idleMs);
      this.wakes.add(wake);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.wakes]) wake();
    await Promise.all(this.loops);
  }

  private async runJob(job: Job): Promise<number> {
    try {
      return await job.run(this.ctx);
    } catch (err) {
      // A failing job must not stop the others; it is retried on the next pass.
      this.ctx.logger.error({ err, job: job.name }, 'job failed');
      return 0;
    }
  }
}
