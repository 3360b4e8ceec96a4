import { NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { formatMoney } from '../../core/money/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import type { ListParams } from '../../http/pagination.js';
import { recordEvent } from '../events/service.js';
import type { InvoiceRow } from '../invoices/repository.js';
import { getInvoiceRow } from '../invoices/service.js';
import { findCampaign, findTask, insertTaskOnce, listTaskRows, updateCampaign, updateTaskRow, type CampaignRow, type TaskOutcome, type TaskRow } from './repository.js';
import { escalate, type DunningDeps } from './service.js';

// Phone tasks for staff. High-value steps create them; staff record who called and how it went, and
// the campaign reads the outcome: a promise to pay holds the outreach (retries go on) until the
// promised date; a refusal, or a second call nobody answered, escalates to the owner at once.

const PROMISE_DEFAULT_HOURS = 72;

export async function createPhoneTask(q: Queryable, c: CampaignRow, inv: InvoiceRow, step: number, script: string[], now: Date): Promise<TaskRow | null> {
  const { rows } = await q.query<{ name: string | null; phone: string | null; email: string | null }>(`SELECT name, phone, email FROM customers WHERE id = $1`, [c.customer]);
  const who = rows[0];
  const { rows: pis } = await q.query<{ decline: string | null }>(
    `SELECT COALESCE(last_payment_error->>'decline_code', last_payment_error->>'code') AS decline FROM payment_intents WHERE invoice = $1 ORDER BY id DESC LIMIT 1`,
    [inv.id],
  );
  const hints = [
    `Call ${who?.name ?? 'the customer'}${who?.phone ? ` on ${who.phone}` : ''}${who?.email ? ` (${who.email})` : ''}.`,
    `${formatMoney({ amount: inv.amount_remaining, currency: inv.currency })} is due on invoice ${inv.number}; the last decline was '${pis[0]?.decline ?? 'unknown'}'.`,
    ...(c.needs_payment_method ? ['The card on file cannot be charged again: ask for a new card (send them the payment link).'] : []),
    ...script,
  ];
  const task = await insertTaskOnce(q, {
    id: newId('task'),
    campaign: c.id,
    customer: c.customer,
    invoice: inv.id,
    step,
    kind: 'phone_call',
    amount: inv.amount_remaining,
    currency: inv.currency,
    due_at: now,
    script_hints: hints,
    assignee: null,
    status: 'open',
    outcome: null,
    notes: null,
    promised_date: null,
    completed_at: null,
    test_clock: c.test_clock,
    created: now,
    updated: now,
  });
  if (task) await recordEvent(q, now, { type: 'dunning.task.created', object: serializeTask(task), customerId: c.customer });
  return task;
}

const unix = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeTask(t: TaskRow) {
  return {
    id: t.id,
    object: 'dunning_task' as const,
    amount: t.amount,
    assignee: t.assignee,
    campaign: t.campaign,
    completed_at: unix(t.completed_at),
    created: unix(t.created)!,
    currency: t.currency,
    customer: t.customer,
    due_at: unix(t.due_at)!,
    invoice: t.invoice,
    kind: t.kind,
    notes: t.notes,
    outcome: t.outcome,
    promised_date: unix(t.promised_date),
    script_hints: t.script_hints,
    status: t.status,
    step: t.step + 1,
  };
}

export async function getTask(q: Queryable, id: string) {
  const t = await findTask(q, id);
  if (!t) throw new NotFoundError('dunning_task', id);
  return serializeTask(t);
}

export async function listTasks(q: Queryable, f: Parameters<typeof listTaskRows>[1], list: ListParams) {
  const { rows, hasMore } = await listTaskRows(q, f, list);
  return { data: rows.map(serializeTask), hasMore };
}

export interface UpdateTaskInput {
  assignee?: string | null;
  outcome?: TaskOutcome;
  notes?: string | null;
  promised_date?: number;
  status?: 'open' | 'completed' | 'canceled';
}

export async function updateTask(q: Queryable, deps: DunningDeps, now: Date, id: string, input: UpdateTaskInput) {
  const before = await findTask(q, id, true);
  if (!before) throw new NotFoundError('dunning_task', id);
  const patch: Partial<TaskRow> = { updated: now };
  if (input.assignee !== undefined) patch.assignee = input.assignee;
  if (input.notes !== undefined) patch.notes = input.notes;
  if (input.status !== undefined) patch.status = input.status;
  if (input.promised_date !== undefined) patch.promised_date = new Date(input.promised_date * 1000);
  const newOutcome = input.outcome !== undefined && input.outcome !== before.outcome ? input.outcome : null;
  if (input.outcome !== undefined) {
    patch.outcome = input.outcome;
    patch.status = input.status ?? 'completed';
    patch.completed_at = now;
  }
  const after = await updateTaskRow(q, id, patch);
  if (newOutcome) await applyOutcome(q, deps, after, newOutcome, now);
  await recordEvent(q, now, { type: 'dunning.task.updated', object: serializeTask(after), customerId: after.customer });
  return serializeTask(after);
}

async function applyOutcome(q: Queryable, deps: DunningDeps, t: TaskRow, outcome: TaskOutcome, now: Date): Promise<void> {
  const c = await findCampaign(q, t.campaign, true);
  if (!c || c.status !== 'active') return;
  if (outcome === 'promised_to_pay') {
    const until = t.promised_date ? new Date(t.promised_date) : new Date(now.getTime() + PROMISE_DEFAULT_HOURS * 3_600_000);
    await updateCampaign(q, c.id, { promise_until: until, updated: now });
  } else if (outcome === 'no_answer') {
    const after = await updateCampaign(q, c.id, { no_answer_count: c.no_answer_count + 1, updated: now });
    if (after.no_answer_count >= 2 && !after.escalated_at) {
      await escalate(q, deps, after, await getInvoiceRow(q, c.invoice), now, `${after.no_answer_count} unanswered calls`);
      await updateCampaign(q, c.id, { escalated_at: now, updated: now });
    }
  } else if (outcome === 'refused' && !c.escalated_at) {
    await escalate(q, deps, c, await getInvoiceRow(q, c.invoice), now, 'the customer refused to pay on the phone');
    await updateCampaign(q, c.id, { escalated_at: now, updated: now });
  }
}
