import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { bulkInsert } from '../../db/bulk.js';
import { currentRequest } from '../../core/context/index.js';

// Every state change writes an event in the same transaction as the change, shaped as Stripe's.
// Analytics (MRR movements, churn, cohorts) will be computed from this table, so each event keeps
// the full object after the change and the attributes it had before.

interface EventBase {
  type: string;
  previousAttributes?: Record<string, unknown>;
  customerId?: string | null;
  requestId?: string | null;
  idempotencyKey?: string | null;
}

/**
 * An event's object, stored whole in `data.object`. The object_id column (the `object_id` filter of
 * GET /v1/events) is the object's id, or `objectId` for objects without one: an upcoming invoice
 * (invoice.upcoming) has no id, as on Stripe, and is filed under its subscription.
 */
export type EventInput = EventBase &
  ({ object: Record<string, unknown> & { id: string }; objectId?: string } | { object: Record<string, unknown>; objectId: string });

const objectIdOf = (e: EventInput): string => e.objectId ?? (e.object.id as string);

export async function recordEvent(q: Queryable, now: Date, e: EventInput): Promise<string> {
  const id = newId('evt');
  await q.query(
    `INSERT INTO events (id, type, created, object_id, customer_id, data, request_id, idempotency_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      id,
      e.type,
      now,
      objectIdOf(e),
      e.customerId ?? null,
      JSON.stringify({ object: e.object, ...(e.previousAttributes ? { previous_attributes: e.previousAttributes } : {}) }),
      e.requestId ?? currentRequest()?.id ?? null,
      e.idempotencyKey ?? currentRequest()?.idempotencyKey ?? null,
    ],
  );
  return id;
}

const EVENT_COLUMNS = [
  { name: 'id', type: 'text' },
  { name: 'type', type: 'text' },
  { name: 'created', type: 'timestamptz' },
  { name: 'object_id', type: 'text' },
  { name: 'customer_id', type: 'text' },
  { name: 'data', type: 'jsonb' },
  { name: 'request_id', type: 'text' },
  { name: 'idempotency_key', type: 'text' },
] as const;

/** Many events in one statement (worker batches). Same shape as recordEvent. */
export async function recordEvents(q: Queryable, now: Date, events: EventInput[]): Promise<void> {
  const request = currentRequest();
  await bulkInsert(
    q,
    'events',
    EVENT_COLUMNS,
    events.map((e) => ({
      id: newId('evt'),
      type: e.type,
      created: now,
      object_id: objectIdOf(e),
      customer_id: e.customerId ?? null,
      data: { object: e.object, ...(e.previousAttributes ? { previous_attributes: e.previousAttributes } : {}) },
      request_id: e.requestId ?? request?.id ?? null,
      idempotency_key: e.idempotencyKey ?? request?.idempotencyKey ?? null,
    })),
  );
}

export interface EventRow {
  id: string;
  type: string;
  created: Date;
  data: unknown;
  request_id: string | null;
  idempotency_key: string | null;
}

export function serializeEvent(r: EventRow) {
  return {
    id: r.id,
    object: 'event' as const,
    api_version: '2024-06-20',
    created: toUnix(new Date(r.created)),
    data: r.data,
    livemode: false,
    pending_webhooks: 0,
    request: { id: r.request_id, idempotency_key: r.idempotency_key },
    type: r.type,
  };
}

/** Which top-level fields differ between two API objects: Stripe's `previous_attributes`. */
export function previousAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k] = previousValue(before[k], after[k]);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The old value of a changed attribute. A hash changed in place shows only its changed keys, each
 * with its old value (null for a key it did not have), as Stripe's events have since 2015-01-26
 * ("only show the difference": `{address: {line2: "Bar"}}`); arrays and scalars show the whole old value.
 */
function previousValue(before: unknown, after: unknown): unknown {
  if (!isPlainObject(before) || !isPlainObject(after)) return before ?? null;
  const out: Record<string, unknown> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k] = previousValue(before[k], after[k]);
  }
  return out;
}
