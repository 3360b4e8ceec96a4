import type { Queryable } from '../../db/index.js';
import type { AnchorConfig } from './domain/anchor-config.js';
import { bulkInsert, type Column } from '../../db/bulk.js';
import type { Interval } from '../../core/time/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';

export type SubscriptionStatus = 'incomplete' | 'incomplete_expired' | 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled' | 'paused';

export interface PendingSchedule {
  /** `sched_…` (schedule_at_period_end) or the `sub_sched_…` subscription schedule whose next step this is. */
  id: string;
  /** The items from effective_at on; null: a subscription schedule ends there and the items stay. */
  items: { price: string; quantity: number }[] | null;
  effective_at: string; // ISO
  /**
   * Set (Unix seconds, = effective_at) when a schedule's step falls inside a billing period: the
   * worker applies it then, prorated (jobs.ts applyScheduleSteps); without it the renewal at
   * effective_at applies it.
   */
  step_at?: number;
  /**
   * Set (Unix seconds) when the schedule's next phase starts with a trial: the renewal at effective_at
   * bills the trial ($0) up to it, and the cycle is anchored there.
   */
  trial_end?: number;
  /** Set when the next phase changes how the subscription collects (its own or the schedule's default_settings). */
  collection_method?: 'charge_automatically' | 'send_invoice';
  days_until_due?: number | null;
  /** Set when the next phase restarts the billing cycle at its start (billing_cycle_anchor=phase_start). */
  reset_anchor?: true;
}

export interface PaymentSettings {
  /** Recur's payment methods are all cards: null (any) or ['card']. */
  payment_method_types: 'card'[] | null;
  save_default_payment_method: 'off' | 'on_subscription';
}

export interface SubscriptionRow {
  id: string;
  customer: string;
  status: SubscriptionStatus;
  currency: string;
  interval: Interval;
  interval_count: number;
  collection_method: 'charge_automatically' | 'send_invoice';
  days_until_due: number | null;
  default_payment_method: string | null;
  /** Stripe's payment_settings (migration 0041); null: the defaults (any type, save_default_payment_method off). */
  payment_settings: PaymentSettings | null;
  /** Stripe's automatic_tax[enabled] (migration 0042): false keeps its invoices untaxed; true: taxed where Recur collects. */
  automatic_tax: boolean;
  billing_cycle_anchor: Date;
  current_period_start: Date;
  current_period_end: Date;
  trial_start: Date | null;
  trial_end: Date | null;
  trial_missing_pm_behavior: 'cancel' | 'create_invoice' | 'pause';
  trial_will_end_sent: boolean;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  ended_at: Date | null;
  cancellation_details: { reason?: string | null; comment?: string | null; feedback?: string | null };
  pause_collection: { behavior: 'keep_as_draft' | 'mark_uncollectible' | 'void'; resumes_at: number | null } | null;
  latest_invoice: string | null;
  pending_schedule: PendingSchedule | null;
  /** A change waiting for its invoice to be paid (payment_behavior=pending_if_incomplete). */
  pending_update: PendingUpdate | null;
  pending_update_expires_at: Date | null;
  incomplete_expires_at: Date | null;
  test_clock: string | null;
  metadata: Record<string, string>;
  description: string | null;
  billing_cycle_anchor_config: AnchorConfig | null;
  /** The stretch from the trial end to a later anchor is free (created with proration_behavior none). */
  free_stub: boolean;
  /** At cancel_at, credit the time after it (false: proration_behavior none, or already billed short). */
  cancel_at_prorate: boolean;
  /** The current period was billed only up to this time (a renewal short of cancel_at). */
  cancel_billed_to: Date | null;
  /** backdate_start_date; null or absent: the subscription started when it was created. */
  start_date?: Date | null;
  /** The setup intent collecting its card (setup-intent.ts); absent on rows made before migration 0048. */
  pending_setup_intent?: string | null;
  created: Date;
  updated: Date;
}

/**
 * An update made with payment_behavior=pending_if_incomplete whose invoice is not paid yet: the items
 * and subscription fields it sets once the invoice is paid (times as ISO strings, as stored in jsonb).
 * `charging` marks the request's own first attempt, during which paying the invoice must not apply it
 * (the request applies it itself, as one update).
 */
export interface PendingUpdate {
  invoice: string;
  items: { id: string; price: string; quantity: number; metadata: Record<string, string>; created: string }[];
  patch: Record<string, unknown>;
  charging?: boolean;
}

export interface ItemRow {
  id: string;
  subscription: string;
  price: string;
  quantity: number;
  metadata: Record<string, string>;
  created: Date;
}

const SUB_COLUMNS: Column[] = [
  { name: 'id', type: 'text' },
  { name: 'customer', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'currency', type: 'text' },
  { name: 'interval', type: 'text' },
  { name: 'interval_count', type: 'integer' },
  { name: 'collection_method', type: 'text' },
  { name: 'days_until_due', type: 'integer' },
  { name: 'default_payment_method', type: 'text' },
  { name: 'payment_settings', type: 'jsonb' },
  { name: 'automatic_tax', type: 'boolean' },
  { name: 'billing_cycle_anchor', type: 'timestamptz' },
  { name: 'current_period_start', type: 'timestamptz' },
  { name: 'current_period_end', type: 'timestamptz' },
  { name: 'trial_start', type: 'timestamptz' },
  { name: 'trial_end', type: 'timestamptz' },
  { name: 'trial_missing_pm_behavior', type: 'text' },
  { name: 'trial_will_end_sent', type: 'boolean' },
  { name: 'cancel_at_period_end', type: 'boolean' },
  { name: 'cancel_at', type: 'timestamptz' },
  { name: 'canceled_at', type: 'timestamptz' },
  { name: 'ended_at', type: 'timestamptz' },
  { name: 'cancellation_details', type: 'jsonb' },
  { name: 'pause_collection', type: 'jsonb' },
  { name: 'latest_invoice', type: 'text' },
  { name: 'pending_schedule', type: 'jsonb' },
  { name: 'pending_update', type: 'jsonb' },
  { name: 'pending_update_expires_at', type: 'timestamptz' },
  { name: 'incomplete_expires_at', type: 'timestamptz' },
  { name: 'test_clock', type: 'text' },
  { name: 'metadata', type: 'jsonb' },
  { name: 'description', type: 'text' },
  { name: 'billing_cycle_anchor_config', type: 'jsonb' },
  { name: 'free_stub', type: 'boolean' },
  { name: 'cancel_at_prorate', type: 'boolean' },
  { name: 'cancel_billed_to', type: 'timestamptz' },
  { name: 'start_date', type: 'timestamptz' },
  { name: 'pending_setup_intent', type: 'text' },
  { name: 'created', type: 'timestamptz' },
  { name: 'updated', type: 'timestamptz' },
];
const SUB_TYPES = new Map(SUB_COLUMNS.map((c) => [c.name, c.type]));

export const ITEM_COLUMNS: Column[] = [
  { name: 'id', type: 'text' },
  { name: 'subscription', type: 'text' },
  { name: 'price', type: 'text' },
  { name: 'quantity', type: 'integer' },
  { name: 'metadata', type: 'jsonb' },
  { name: 'created', type: 'timestamptz' },
];

export async function insertSubscriptions(q: Queryable, rows: SubscriptionRow[]): Promise<void> {
  await bulkInsert(q, 'subscriptions', SUB_COLUMNS, rows as unknown as Record<string, unknown>[]);
}

export async function insertItems(q: Queryable, rows: ItemRow[]): Promise<void> {
  await bulkInsert(q, 'subscription_items', ITEM_COLUMNS, rows as unknown as Record<string, unknown>[]);
}

export async function findSubscription(q: Queryable, id: string, forUpdate = false): Promise<SubscriptionRow | null> {
  const { rows } = await q.query<SubscriptionRow>(`SELECT * FROM subscriptions WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

export async function itemsOf(q: Queryable, subIds: string[]): Promise<Map<string, ItemRow[]>> {
  const out = new Map<string, ItemRow[]>(subIds.map((id) => [id, []]));
  if (subIds.length === 0) return out;
  const { rows } = await q.query<ItemRow>(`SELECT * FROM subscription_items WHERE subscription = ANY($1::text[]) ORDER BY subscription, id`, [subIds]);
  for (const r of rows) out.get(r.subscription)!.push(r);
  return out;
}

export async function updateSubscriptionRow(q: Queryable, id: string, patch: Partial<SubscriptionRow>): Promise<SubscriptionRow> {
  const cols = Object.keys(patch).filter((c) => SUB_TYPES.has(c) && c !== 'id');
  const values = cols.map((c) => {
    const v = (patch as Record<string, unknown>)[c];
    return SUB_TYPES.get(c) === 'jsonb' && v !== null && v !== undefined ? JSON.stringify(v) : v;
  });
  const { rows } = await q.query<SubscriptionRow>(`UPDATE subscriptions SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [id, ...values]);
  return rows[0]!;
}

export async function replaceItems(q: Queryable, subId: string, items: ItemRow[]): Promise<void> {
  await q.query(`DELETE FROM subscription_items WHERE subscription = $1`, [subId]);
  await insertItems(q, items);
}

export interface SubscriptionFilter {
  customer?: string;
  status?: string;
  price?: string;
  test_clock?: string;
  collection_method?: string;
  automatic_tax?: boolean;
  current_period_start?: Array<['>=' | '<', number]>;
  current_period_end?: Array<['>=' | '<', number]>;
}

export async function listSubscriptionRows(q: Queryable, f: SubscriptionFilter, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.customer) {
    params.push(f.customer);
    where.push(`customer = $${params.length}`);
  }
  if (f.status === 'ended') {
    // Stripe: every subscription that has ended, whether canceled or expired while incomplete.
    where.push(`status IN ('canceled', 'incomplete_expired')`);
  } else if (f.status && f.status !== 'all') {
    params.push(f.status);
    where.push(`status = $${params.length}`);
  } else if (!f.status) {
    // Stripe's default list hides canceled subscriptions.
    where.push(`status <> 'canceled' AND status <> 'incomplete_expired'`);
  }
  if (f.price) {
    params.push(f.price);
    where.push(`id IN (SELECT subscription FROM subscription_items WHERE price = $${params.length})`);
  }
  if (f.test_clock) {
    params.push(f.test_clock);
    where.push(`test_clock = $${params.length}`);
  }
  if (f.collection_method) {
    params.push(f.collection_method);
    where.push(`collection_method = $${params.length}`);
  }
  if (f.automatic_tax !== undefined) {
    params.push(f.automatic_tax);
    where.push(`automatic_tax = $${params.length}`);
  }
  const ranges = [['current_period_start', f.current_period_start ?? []], ['current_period_end', f.current_period_end ?? []]] as const;
  return paginate<SubscriptionRow>(q, { table: 'subscriptions', where: where.join(' AND ') || undefined, params, ranges }, list);
}
