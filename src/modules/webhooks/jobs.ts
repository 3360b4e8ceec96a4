import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/index.js';
import { claimRows } from '../../db/index.js';
import type { PaymentsConfig } from '../payments/config.js';
import type { PaymentDeps } from '../payments/service.js';
import { handlePayPalEvent, handleStripeEvent, type HandlerResult } from './handlers.js';
import type { InboxRow } from './inbox.js';

// The inbox worker: due events are claimed in small batches (FOR UPDATE SKIP LOCKED, so several
// workers share the inbox), each handled under its own savepoint, its status written in the same
// transaction as its effects, one commit per batch. A handler that throws is rolled back to its
// savepoint and the event retried later with exponential backoff; after `maxAttempts` it is
// dead-lettered (status dead) for an operator.

export interface InboxDeps extends PaymentDeps {
  config: { payments: PaymentsConfig };
}

const MAX_BACKOFF_SECONDS = 6 * 3600;

export function backoffSeconds(attempts: number, baseSeconds: number): number {
  return Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
}

async function handle(row: InboxRow, ctx: Parameters<typeof handleStripeEvent>[0]): Promise<HandlerResult> {
  return row.source === 'stripe' ? handleStripeEvent(ctx) : handlePayPalEvent(ctx);
}

/** Events claimed per transaction: one commit for the lot (each event still has its own savepoint). */
const CLAIM = 50;
/** A handler that lost a deadlock (another worker's batch held a row it needed) is run again at once. */
const DEADLOCK_RETRIES = 3;

/** The object an event is about: a batch handles events in this order, so concurrent workers lock rows in one order. */
function objectKey(row: InboxRow): string {
  const p = row.payload as { data?: { object?: { id?: unknown } }; resource?: { id?: unknown; dispute_id?: unknown } };
  const id = p.data?.object?.id ?? p.resource?.dispute_id ?? p.resource?.id;
  return typeof id === 'string' ? id : '';
}

function isDeadlock(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '40P01';
}

/** Processes up to `limit` due inbox events; returns how many it took. `ids`: only these. */
export async function processInbox(db: Db, deps: InboxDeps, now: Date, limit: number, opts: { logger?: Pick<FastifyBaseLogger, 'warn' | 'error'>; ids?: string[] } = {}): Promise<number> {
  const { maxAttempts, backoffBaseSeconds } = deps.config.payments.webhooks;
  let n = 0;
  while (n < limit) {
    const took = await db.tx(async (q) => {
      const { rows } = await claimRows<InboxRow>(
        q,
        `SELECT * FROM webhook_inbox WHERE status IN ('pending', 'failed') AND next_attempt_at <= $1${opts.ids ? ' AND id = ANY($2::text[])' : ''} ORDER BY next_attempt_at, id`,
        opts.ids ? [now, opts.ids] : [now],
        Math.min(CLAIM, limit - n),
      );
      // Per object in time order (versions make any order correct; this order avoids lock cycles).
      const ordered = [...rows].sort((a, b) => {
        const ka = objectKey(a);
        const kb = objectKey(b);
        return ka < kb ? -1 : ka > kb ? 1 : new Date(a.event_created ?? 0).getTime() - new Date(b.event_created ?? 0).getTime() || (a.id < b.id ? -1 : 1);
      });
      for (const row of ordered) {
        await q.query('SAVEPOINT inbox_event');
        try {
          let result: HandlerResult;
          for (let attempt = 1; ; attempt++) {
            try {
              result = await handle(row, { q, deps, now, row, log: opts.logger });
              break;
            } catch (err) {
              if (!isDeadlock(err) || attempt > DEADLOCK_RETRIES) throw err;
              await q.query('ROLLBACK TO SAVEPOINT inbox_event');
            }
          }
          await q.query('RELEASE SAVEPOINT inbox_event');
          await q.query(
            `UPDATE webhook_inbox SET status = 'processed', result = $2, attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL, processed_at = $3 WHERE id = $1`,
            [row.id, result, now],
          );
        } catch (err) {
          // The handler's work is undone; the event is retried later, or dead-lettered.
          await q.query('ROLLBACK TO SAVEPOINT inbox_event');
          const attempts = row.attempts + 1;
          const dead = attempts >= maxAttempts;
          const message = err instanceof Error ? err.message : String(err);
          opts.logger?.warn({ event: row.event_id, source: row.source, type: row.type, attempts, dead, err: message }, 'inbound webhook failed');
          await q.query(`UPDATE webhook_inbox SET status = $2, attempts = $3, next_attempt_at = $4, last_error = $5 WHERE id = $1`, [
            row.id,
            dead ? 'dead' : 'failed',
            attempts,
            dead ? null : new Date(now.getTime() + backoffSeconds(attempts, backoffBaseSeconds) * 1000),
            message.slice(0, 2000),
          ]);
        }
      }
      return rows.length;
    });
    n += took;
    if (took === 0) break;
  }
  return n;
}
