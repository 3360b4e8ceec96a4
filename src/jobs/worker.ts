import type { Clock } from '../core/time/index.js';
import type { Db } from '../db/index.js';
import type { FastifyBaseLogger } from 'fastify';
import type { BillingDeps } from '../modules/subscriptions/jobs.js';

// The worker loop. Each job claims its due rows itself (FOR UPDATE SKIP LOCKED on PostgreSQL), so
// any number of worker processes can run against one database. A job returns how many items it
// handled; the loop sleeps only when a full pass found nothing to do.

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
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly ctx: JobContext,
    private readonly jobs: Job[],
    private readonly idleMs = 1000,
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
    if (this.loop) return;
    this.loop = (async () => {
      while (!this.stopped) {
        const n = await this.drain(1);
        if (n === 0 && !this.stopped) await new Promise<void>((r) => ((this.wake = r), setTimeout(r, this.idleMs)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
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
