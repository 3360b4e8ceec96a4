import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { FinalAction, OfferSpec, PlanStep } from './domain/plans.js';
import type { QuietHours } from './domain/quiet-hours.js';

// All of the dunning module's SQL.

export interface PlanRow {
  id: string;
  key: string;
  name: string;
  description: string | null;
  steps: PlanStep[];
  final_action: FinalAction;
  quiet_hours: QuietHours | null;
  active: boolean;
  metadata: Record<string, string>;
  created: Date;
  updated: Date;
}

export type CampaignStatus = 'active' | 'recovered' | 'exhausted' | 'resolved' | 'canceled' | 'skipped';

export interface CampaignRow {
  id: string;
  invoice: string;
  customer: string;
  subscription: string | null;
  plan: string | null;
  segment: string;
  segment_rule: Record<string, unknown>;
  status: CampaignStatus;
  amount: number;
  currency: string;
  first_failed_at: Date;
  next_step: number;
  next_step_at: Date | null;
  last_payment_method: string | null;
  blocked_payment_methods: string[];
  needs_payment_method: boolean;
  promise_until: Date | null;
  no_answer_count: number;
  escalated_at: Date | null;
  recovered_at: Date | null;
  recovered_amount: number | null;
  recovered_step: number | null;
  recovered_channel: string | null;
  closed_at: Date | null;
  close_reason: string | null;
  test_clock: string | null;
  created: Date;
  updated: Date;
}

export interface StepRunRow {
  id: string;
  campaign: string;
  step: number;
  scheduled_at: Date;
  ran_at: Date;
  retry: 'succeeded' | 'failed' | 'skipped' | 'pending' | null;
  failure_class: string | null;
  payment_intent: string | null;
  actions: { type: string; id?: string; detail?: string }[];
}

export interface OfferRow {
  id: string;
  campaign: string;
  customer: string;
  subscription: string | null;
  kind: OfferSpec['kind'];
  step: number;
  terms: OfferSpec;
  coupon: string | null;
  status: 'offered' | 'accepted' | 'expired';
  offered_at: Date;
  accepted_at: Date | null;
  result: Record<string, unknown>;
}

export type TaskOutcome = 'reached' | 'no_answer' | 'promised_to_pay' | 'refused';

export interface TaskRow {
  id: string;
  campaign: string;
  customer: string;
  invoice: string;
  step: number;
  kind: string;
  amount: number;
  currency: string;
  due_at: Date;
  script_hints: string[];
  assignee: string | null;
  status: 'open' | 'completed' | 'canceled';
  outcome: TaskOutcome | null;
  notes: string | null;
  promised_date: Date | null;
  completed_at: Date | null;
  test_clock: string | null;
  created: Date;
  updated: Date;
}

const J = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

// ---- plans and settings ----

export async function insertPlanOnce(q: Queryable, p: PlanRow): Promise<PlanRow | null> {
  const { rows } = await q.query<PlanRow>(
    `INSERT INTO dunning_plans (id, key, name, description, steps, final_action, quiet_hours, active, metadata, created, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (key) DO NOTHING RETURNING *`,
    [p.id, p.key, p.name, p.description, J(p.steps), J(p.final_action), J(p.quiet_hours), p.active, J(p.metadata), p.created, p.updated],
  );
  return rows[0] ?? null;
}

export async function updatePlanRow(q: Queryable, p: PlanRow): Promise<PlanRow> {
  const { rows } = await q.query<PlanRow>(
    `UPDATE dunning_plans SET name = $2, description = $3, steps = $4, final_action = $5, quiet_hours = $6, active = $7, metadata = $8, updated = $9 WHERE id = $1 RETURNING *`,
    [p.id, p.name, p.description, J(p.steps), J(p.final_action), J(p.quiet_hours), p.active, J(p.metadata), p.updated],
  );
  return rows[0]!;
}

export async function findPlan(q: Queryable, idOrKey: string): Promise<PlanRow | null> {
  const { rows } = await q.query<PlanRow>(`SELECT * FROM dunning_plans WHERE id = $1 OR key = $1 ORDER BY (id = $1) DESC LIMIT 1`, [idOrKey]);
  return rows[0] ?? null;
}

export function listPlanRows(q: Queryable, list: ListParams) {
  return paginate<PlanRow>(q, { table: 'dunning_plans' }, list);
}

export async function getSetting<T>(q: Queryable, key: string): Promise<T | null> {
  const { rows } = await q.query<{ value: T }>(`SELECT value FROM dunning_settings WHERE key = $1`, [key]);
  return rows[0]?.value ?? null;
}

export async function putSetting(q: Queryable, key: string, value: unknown, now: Date, onlyIfMissing = false): Promise<void> {
  await q.query(
    `INSERT INTO dunning_settings (key, value, updated) VALUES ($1, $2, $3) ON CONFLICT (key) DO ${onlyIfMissing ? 'NOTHING' : 'UPDATE SET value = EXCLUDED.value, updated = EXCLUDED.updated'}`,
    [key, JSON.stringify(value), now],
  );
}

// ---- campaigns ----

const CAMPAIGN_COLUMNS = [
  'id', 'invoice', 'customer', 'subscription', 'plan', 'segment', 'segment_rule', 'status', 'amount', 'currency', 'first_failed_at', 'next_step', 'next_step_at',
  'last_payment_method', 'blocked_payment_methods', 'needs_payment_method', 'promise_until', 'no_answer_count', 'escalated_at', 'recovered_at', 'recovered_amount',
  'recovered_step', 'recovered_channel', 'closed_at', 'close_reason', 'test_clock', 'created', 'updated',
] as const;
const CAMPAIGN_JSON = new Set(['segment_rule', 'blocked_payment_methods']);

/** One campaign per invoice: a second opening (another worker, a replayed event) gets null. */
export async function insertCampaignOnce(q: Queryable, c: CampaignRow): Promise<CampaignRow | null> {
  const { rows } = await q.query<CampaignRow>(
    `INSERT INTO dunning_campaigns (${CAMPAIGN_COLUMNS.join(', ')}) VALUES (${CAMPAIGN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (invoice) DO NOTHING RETURNING *`,
    CAMPAIGN_COLUMNS.map((k) => (CAMPAIGN_JSON.has(k) ? J(c[k]) : c[k])),
  );
  return rows[0] ?? null;
}

export async function updateCampaign(q: Queryable, id: string, patch: Partial<CampaignRow>): Promise<CampaignRow> {
  const cols = Object.keys(patch).filter((c) => (CAMPAIGN_COLUMNS as readonly string[]).includes(c) && c !== 'id');
  const { rows } = await q.query<CampaignRow>(`UPDATE dunning_campaigns SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [
    id,
    ...cols.map((c) => {
      const v = (patch as Record<string, unknown>)[c];
      return CAMPAIGN_JSON.has(c) ? J(v) : v;
    }),
  ]);
  return rows[0]!;
}

export async function findCampaign(q: Queryable, id: string, forUpdate = false): Promise<CampaignRow | null> {
  const { rows } = await q.query<CampaignRow>(`SELECT * FROM dunning_campaigns WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function findCampaignByInvoice(q: Queryable, invoice: string, forUpdate = false): Promise<CampaignRow | null> {
  const { rows } = await q.query<CampaignRow>(`SELECT * FROM dunning_campaigns WHERE invoice = $1${forUpdate ? ' FOR UPDATE' : ''}`, [invoice]);
  return rows[0] ?? null;
}

export async function activeCampaignsOf(q: Queryable, customer: string): Promise<CampaignRow[]> {
  const { rows } = await q.query<CampaignRow>(`SELECT * FROM dunning_campaigns WHERE customer = $1 AND status = 'active' ORDER BY id FOR UPDATE`, [customer]);
  return rows;
}

export function listCampaignRows(q: Queryable, f: { customer?: string; status?: string; invoice?: string; segment?: string }, list: ListParams) {
  return paginate<CampaignRow>(q, { table: 'dunning_campaigns', equals: f }, list);
}

export async function insertStepRun(q: Queryable, r: StepRunRow): Promise<void> {
  await q.query(
    `INSERT INTO dunning_step_runs (id, campaign, step, scheduled_at, ran_at, retry, failure_class, payment_intent, actions)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (campaign, step) DO NOTHING`,
    [r.id, r.campaign, r.step, r.scheduled_at, r.ran_at, r.retry, r.failure_class, r.payment_intent, J(r.actions)],
  );
}

export async function stepRunsOf(q: Queryable, campaign: string): Promise<StepRunRow[]> {
  const { rows } = await q.query<StepRunRow>(`SELECT * FROM dunning_step_runs WHERE campaign = $1 ORDER BY step`, [campaign]);
  return rows;
}

// ---- offers ----

export async function insertOfferOnce(q: Queryable, o: OfferRow): Promise<OfferRow | null> {
  const { rows } = await q.query<OfferRow>(
    `INSERT INTO dunning_offers (id, campaign, customer, subscription, kind, step, terms, coupon, status, offered_at, accepted_at, result)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (campaign, kind, step) DO NOTHING RETURNING *`,
    [o.id, o.campaign, o.customer, o.subscription, o.kind, o.step, J(o.terms), o.coupon, o.status, o.offered_at, o.accepted_at, J(o.result)],
  );
  return rows[0] ?? null;
}

export async function findOffer(q: Queryable, id: string, forUpdate = false): Promise<OfferRow | null> {
  const { rows } = await q.query<OfferRow>(`SELECT * FROM dunning_offers WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function offersOf(q: Queryable, campaign: string): Promise<OfferRow[]> {
  const { rows } = await q.query<OfferRow>(`SELECT * FROM dunning_offers WHERE campaign = $1 ORDER BY step, id`, [campaign]);
  return rows;
}

export async function updateOffer(q: Queryable, id: string, patch: { status: OfferRow['status']; accepted_at?: Date | null; result?: Record<string, unknown> }): Promise<OfferRow> {
  const { rows } = await q.query<OfferRow>(
    `UPDATE dunning_offers SET status = $2, accepted_at = COALESCE($3, accepted_at), result = COALESCE($4::jsonb, result) WHERE id = $1 RETURNING *`,
    [id, patch.status, patch.accepted_at ?? null, patch.result ? J(patch.result) : null],
  );
  return rows[0]!;
}

export async function expireOpenOffers(q: Queryable, campaign: string): Promise<void> {
  await q.query(`UPDATE dunning_offers SET status = 'expired' WHERE campaign = $1 AND status = 'offered'`, [campaign]);
}

// ---- tasks ----

const TASK_COLUMNS = [
  'id', 'campaign', 'customer', 'invoice', 'step', 'kind', 'amount', 'currency', 'due_at', 'script_hints', 'assignee', 'status', 'outcome', 'notes',
  'promised_date', 'completed_at', 'test_clock', 'created', 'updated',
] as const;

export async function insertTaskOnce(q: Queryable, t: TaskRow): Promise<TaskRow | null> {
  const { rows } = await q.query<TaskRow>(
    `INSERT INTO dunning_tasks (${TASK_COLUMNS.join(', ')}) VALUES (${TASK_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (campaign, step, kind) DO NOTHING RETURNING *`,
    TASK_COLUMNS.map((c) => (c === 'script_hints' ? J(t[c]) : t[c])),
  );
  return rows[0] ?? null;
}

export async function findTask(q: Queryable, id: string, forUpdate = false): Promise<TaskRow | null> {
  const { rows } = await q.query<TaskRow>(`SELECT * FROM dunning_tasks WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function updateTaskRow(q: Queryable, id: string, patch: Partial<TaskRow>): Promise<TaskRow> {
  const cols = Object.keys(patch).filter((c) => (TASK_COLUMNS as readonly string[]).includes(c) && c !== 'id');
  const { rows } = await q.query<TaskRow>(`UPDATE dunning_tasks SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [
    id,
    ...cols.map((c) => {
      const v = (patch as Record<string, unknown>)[c];
      return c === 'script_hints' ? J(v) : v;
    }),
  ]);
  return rows[0]!;
}

export async function tasksOf(q: Queryable, campaign: string): Promise<TaskRow[]> {
  const { rows } = await q.query<TaskRow>(`SELECT * FROM dunning_tasks WHERE campaign = $1 ORDER BY step, id`, [campaign]);
  return rows;
}

export function listTaskRows(q: Queryable, f: { status?: string; assignee?: string; customer?: string; campaign?: string }, list: ListParams) {
  return paginate<TaskRow>(q, { table: 'dunning_tasks', equals: f }, list);
}
