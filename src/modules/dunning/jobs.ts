import type { FastifyBaseLogger } from 'fastify';
import { claimRows, type Db, type Queryable } from '../../db/index.js';
import { drainPasses } from '../../jobs/holds.js';
import { getInvoiceRow } from '../invoices/service.js';
import { defaultNotifier, type Notifier } from '../notifications/channels.js';
import { nextLifecycleDueAt, runLifecycleScans, sendInvoiceSent, sendReceipt, sendTrialEnding } from '../notifications/lifecycle.js';
import { deliverDue, nextMessageDueAt, type Scope } from '../notifications/service.js';
import type { BillingDeps } from '../subscriptions/jobs.js';
import { activeCampaignsOf, findCampaignByInvoice, type CampaignRow } from './repository.js';
import { openCampaign, noteFailure, retryWithNewCard, runStep, settleFromInvoice, type DunningDeps } from './service.js';

// The worker's side of dunning and notifications, per scope (real time, or one test clock):
//   1. the inbox — events written by the billing engine (a payment failed, an invoice was paid …);
//   2. campaign steps that are due;
//   3. time-driven lifecycle notices (card expiring, renewals, overdue invoices);
//   4. delivery of queued messages (outside any transaction).
// Each inbox row and each campaign is handled inside a savepoint: one that throws is rolled back
// alone, logged, and tried again later (an inbox row at most 5 times; a campaign 15 minutes later).

export interface InboxRow {
  event_id: string;
  type: string;
  object_id: string;
  customer_id: string | null;
  test_clock: string | null;
  created: Date;
  attempts: number;
}

const MAX_INBOX_ATTEMPTS = 5;
const STEP_ERROR_DELAY_MS = 15 * 60_000;

export type DunningJobDeps = BillingDeps & { notifier?: Notifier };

export function withNotifier(deps: DunningJobDeps): DunningDeps {
  return { gateways: deps.gateways, config: deps.config, notifier: deps.notifier ?? defaultNotifier(deps.config.notifications) };
}

function scopeSql(scope: Scope, param: number): string {
  return scope.clock === null ? 'test_clock IS NULL' : `test_clock = $${param}`;
}
const scopeParams = (scope: Scope) => (scope.clock === null ? [] : [scope.clock]);

async function inSavepoint(q: Queryable, fn: () => Promise<void>): Promise<Error | null> {
  await q.query('SAVEPOINT dunning_item');
  try {
    await fn();
    await q.query('RELEASE SAVEPOINT dunning_item');
    return null;
  } catch (err) {
    await q.query('ROLLBACK TO SAVEPOINT dunning_item');
    return err as Error;
  }
}

async function handleEvent(q: Queryable, deps: DunningDeps, row: InboxRow, now: Date): Promise<void> {
  switch (row.type) {
    case 'invoice.payment_failed':
      await openCampaign(q, deps, row.object_id, new Date(row.created), now);
      return;
    case 'invoice.paid': {
      const inv = await getInvoiceRow(q, row.object_id);
      const c = await findCampaignByInvoice(q, inv.id, true);
      if (c) await settleFromInvoice(q, deps, c, inv, now);
      await sendReceipt(q, deps.config, inv, now);
      return;
    }
    case 'invoice.voided':
    case 'invoice.marked_uncollectible': {
      const c = await findCampaignByInvoice(q, row.object_id, true);
      if (c) await settleFromInvoice(q, deps, c, await getInvoiceRow(q, row.object_id), now);
      return;
    }
    case 'invoice.finalized':
    case 'invoice.sent':
      await sendInvoiceSent(q, deps.config, await getInvoiceRow(q, row.object_id), now);
      return;
    case 'customer.subscription.trial_will_end':
      await sendTrialEnding(q, deps.config, row.object_id, now);
      return;
    case 'customer.updated':
    case 'customer.subscription.updated':
    case 'payment_method.attached': {
      if (!row.customer_id) return;
      for (const c of await activeCampaignsOf(q, row.customer_id)) await retryWithNewCard(q, deps, await noteFailure(q, c, now), now);
      return;
    }
  }
}

/** Handles a batch of inbox rows of the scope, oldest first. */
export async function processInbox(db: Db, deps: DunningDeps, scope: Scope, now: Date, limit: number, logger?: FastifyBaseLogger): Promise<number> {
  return db.tx(async (q) => {
    const { rows } = await claimRows<InboxRow>(q, `SELECT * FROM notification_inbox WHERE attempts < ${MAX_INBOX_ATTEMPTS} AND ${scopeSql(scope, 1)} ORDER BY event_id`, scopeParams(scope), limit);
    for (const row of rows) {
      const err = await inSavepoint(q, () => handleEvent(q, deps, row, now));
      if (err) {
        logger?.error({ err, event: row.event_id, type: row.type }, 'dunning: inbox event failed');
        await q.query(`UPDATE notification_inbox SET attempts = attempts + 1, error = $2 WHERE event_id = $1`, [row.event_id, err.message.slice(0, 1000)]);
      } else {
        await q.query(`DELETE FROM notification_inbox WHERE event_id = $1`, [row.event_id]);
      }
    }
    return rows.length;
  });
}

/** Runs the campaign steps that are due. */
export async function runDueSteps(db: Db, deps: DunningDeps, scope: Scope, now: Date, limit: number, logger?: FastifyBaseLogger): Promise<number> {
  return db.tx(async (q) => {
    const { rows } = await claimRows<CampaignRow>(q, `SELECT * FROM dunning_campaigns WHERE status = 'active' AND next_step_at <= $1 AND ${scopeSql(scope, 2)} ORDER BY next_step_at, id`, [now, ...scopeParams(scope)], limit);
    for (const c of rows) {
      const err = await inSavepoint(q, () => runStep(q, deps, c, now));
      if (err) {
        logger?.error({ err, campaign: c.id }, 'dunning: step failed');
        await q.query(`UPDATE dunning_campaigns SET next_step_at = $2 WHERE id = $1`, [c.id, new Date(now.getTime() + STEP_ERROR_DELAY_MS)]);
      }
    }
    return rows.length;
  });
}

export interface PassOptions {
  /** Time-driven scans (card expiry, renewals, overdue): every pass on a test clock; throttled on real time. */
  lifecycle?: boolean;
  logger?: FastifyBaseLogger;
}

/** One pass of every dunning and notification job for a scope at `now`. */
export async function runDunningPass(db: Db, jobDeps: DunningJobDeps, scope: Scope, now: Date, opts: PassOptions = {}): Promise<number> {
  const deps = withNotifier(jobDeps);
  const limit = deps.config.workerBatchSize;
  let n = 0;
  n += await processInbox(db, deps, scope, now, limit, opts.logger);
  n += await runDueSteps(db, deps, scope, now, limit, opts.logger);
  if (opts.lifecycle !== false) n += await db.tx((q) => runLifecycleScans(q, deps.config, scope, now));
  n += await deliverDue(db, deps.notifier, scope, now, limit);
  return n;
}

/** Runs passes until nothing of the scope is due at `now` (test clocks, tests). */
export async function drainDunning(db: Db, deps: DunningJobDeps, scope: Scope, now: Date, maxPasses = 10_000): Promise<number> {
  return drainPasses(() => runDunningPass(db, deps, scope, now), { maxPasses });
}

/** The earliest instant some dunning or notification work of this scope becomes due (test-clock stepping). */
export async function dunningNextDueAt(q: Queryable, scope: Scope, now: Date): Promise<Date | null> {
  const { rows } = await q.query<{ t: Date | null; inbox: boolean }>(
    `SELECT (SELECT min(next_step_at) FROM dunning_campaigns WHERE status = 'active' AND ${scopeSql(scope, 1)}) AS t,
            EXISTS (SELECT 1 FROM notification_inbox WHERE attempts < ${MAX_INBOX_ATTEMPTS} AND ${scopeSql(scope, 1)}) AS inbox`,
    scopeParams(scope),
  );
  const times = [rows[0]?.t ? new Date(rows[0].t).getTime() : null, rows[0]?.inbox ? now.getTime() : null];
  const msg = await nextMessageDueAt(q, scope);
  const life = await nextLifecycleDueAt(q, scope, now);
  const all = [...times, msg?.getTime() ?? null, life?.getTime() ?? null].filter((t): t is number => t !== null);
  return all.length ? new Date(Math.min(...all)) : null;
}
