import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { Phase, PhaseSettings } from './domain/phases.js';

export type ScheduleStatus = 'not_started' | 'active' | 'completed' | 'released' | 'canceled';

export interface ScheduleRow {
  id: string;
  customer: string;
  subscription: string | null;
  released_subscription: string | null;
  status: ScheduleStatus;
  end_behavior: 'release' | 'cancel';
  currency: string;
  phases: Phase[];
  /** Stripe's default_settings: what phases without their own settings put in place. */
  default_settings: PhaseSettings;
  start_date: Date;
  metadata: Record<string, string>;
  test_clock: string | null;
  created: Date;
  canceled_at: Date | null;
  completed_at: Date | null;
  released_at: Date | null;
}

const COLUMNS = [
  'id', 'customer', 'subscription', 'released_subscription', 'status', 'end_behavior', 'currency', 'phases', 'default_settings', 'start_date', 'metadata', 'test_clock',
  'created', 'canceled_at', 'completed_at', 'released_at',
] as const;
const JSON_COLUMNS = new Set(['phases', 'default_settings', 'metadata']);
const toParam = (col: string, v: unknown) => (JSON_COLUMNS.has(col) && v !== null && v !== undefined ? JSON.stringify(v) : v);

export async function insertSchedule(q: Queryable, row: ScheduleRow): Promise<ScheduleRow> {
  const { rows } = await q.query<ScheduleRow>(
    `INSERT INTO subscription_schedules (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    COLUMNS.map((c) => toParam(c, row[c])),
  );
  return rows[0]!;
}

export async function updateSchedule(q: Queryable, id: string, patch: Partial<ScheduleRow>): Promise<ScheduleRow> {
  const cols = Object.keys(patch).filter((c) => (COLUMNS as readonly string[]).includes(c) && c !== 'id');
  // An update that changes nothing (an empty body) has nothing to SET; schedules have no `updated` column.
  if (cols.length === 0) return (await findSchedule(q, id))!;
  const { rows } = await q.query<ScheduleRow>(
    `UPDATE subscription_schedules SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`,
    [id, ...cols.map((c) => toParam(c, (patch as Record<string, unknown>)[c]))],
  );
  return rows[0]!;
}

export async function findSchedule(q: Queryable, id: string, forUpdate = false): Promise<ScheduleRow | null> {
  const { rows } = await q.query<ScheduleRow>(`SELECT * FROM subscription_schedules WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

type Bounds = Array<['>=' | '<', number]>;

export function listScheduleRows(q: Queryable, filter: { customer?: string; scheduled?: boolean; canceled_at?: Bounds; completed_at?: Bounds; released_at?: Bounds }, list: ListParams) {
  const where = filter.scheduled === undefined ? undefined : filter.scheduled ? `status = 'not_started'` : `status <> 'not_started'`;
  const ranges = (['canceled_at', 'completed_at', 'released_at'] as const).map((c) => [c, filter[c] ?? []] as const);
  return paginate<ScheduleRow>(q, { table: 'subscription_schedules', where, equals: { customer: filter.customer }, ranges }, list);
}

/** Schedule ids are `sub_sched_…`; a Recur `schedule_at_period_end` change has a `sched_…` id of its own. */
export const isScheduleId = (id: string | null | undefined): id is string => typeof id === 'string' && id.startsWith('sub_sched_');
