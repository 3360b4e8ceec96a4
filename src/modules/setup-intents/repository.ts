import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { SetupCancellationReason, SetupIntentStatus } from './schemas.js';

export interface SetupIntentRow {
  id: string;
  customer: string | null;
  payment_method: string | null;
  status: SetupIntentStatus;
  usage: 'off_session' | 'on_session';
  description: string | null;
  metadata: Record<string, string>;
  cancellation_reason: SetupCancellationReason | null;
  created: Date;
  updated: Date;
}

const COLUMNS = ['id', 'customer', 'payment_method', 'status', 'usage', 'description', 'metadata', 'cancellation_reason', 'created', 'updated'] as const;
const param = (c: string, v: unknown) => (c === 'metadata' ? JSON.stringify(v) : v);

export async function insertSetupIntent(q: Queryable, row: SetupIntentRow): Promise<SetupIntentRow> {
  const { rows } = await q.query<SetupIntentRow>(
    `INSERT INTO setup_intents (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
    COLUMNS.map((c) => param(c, row[c])),
  );
  return rows[0]!;
}

export async function findSetupIntent(q: Queryable, id: string, opts: { forUpdate?: boolean } = {}): Promise<SetupIntentRow | null> {
  const { rows } = await q.query<SetupIntentRow>(`SELECT * FROM setup_intents WHERE id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function updateSetupIntentRow(q: Queryable, id: string, patch: Partial<SetupIntentRow>): Promise<SetupIntentRow> {
  const cols = Object.keys(patch).filter((c) => (COLUMNS as readonly string[]).includes(c) && c !== 'id');
  const { rows } = await q.query<SetupIntentRow>(`UPDATE setup_intents SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [
    id,
    ...cols.map((c) => param(c, (patch as Record<string, unknown>)[c])),
  ]);
  return rows[0]!;
}

export async function listSetupIntentRows(q: Queryable, filter: { customer?: string; payment_method?: string }, list: ListParams) {
  return paginate<SetupIntentRow>(q, { table: 'setup_intents', equals: { customer: filter.customer, payment_method: filter.payment_method } }, list);
}
