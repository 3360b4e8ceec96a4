import { sameJson } from './domain/same-json.js';
import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import { currentRequest } from '../../core/context/index.js';
import { EVENT_BATCH_MIN, writeEventBatch } from './batches.js';

// Every state change writes an event in the same transaction as the change, shaped as Stripe's.
// Analytics (MRR movements, churn, cohorts) will be computed from the events, so each event keeps
// the full object after the change and the attributes it had before. A row of `events` each, or, for
// a worker pass's large group, one compressed row of `event_batches` (batches.ts reads both).

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
/** The stored `data` of an event, as JSON: its object, and what changed when there is a before. */
const dataJson = (e: EventInput): string => JSON.stringify({ object: e.object, ...(e.previousAttributes ? { previous_attributes: e.previousAttributes } : {}) });

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
      dataJson(e),
      e.requestId ?? currentRequest()?.id ?? null,
      e.idempotencyKey ?? currentRequest()?.idempotencyKey ?? null,
    ],
  );
  return id;
}

/**
 * Many events in one statement (worker batches). Same shape as recordEvent. Events of the batch that
 * carry the very same object (the same JavaScript object, with no previous_attributes — e.g.
 * invoice.paid and invoice.payment_succeeded) send and parse its JSON once: the statement joins each
 * event to its payload by number. Each row still stores its own whole `data`.
 */
export async function recordEvents(q: Queryable, now: Date, events: EventInput[]): Promise<void> {
  if (events.length === 0) return;
  const request = currentRequest();
  // A large group outside any request (a worker pass over a batch): one compressed row (batches.ts).
  if (!request && events.length >= EVENT_BATCH_MIN) {
    await writeEventBatch(
      q,
      now,
      events.map((e) => ({
        id: newId('evt'),
        type: e.type,
        object_id: objectIdOf(e),
        customer_id: e.customerId ?? null,
        data: { object: e.object, ...(e.previousAttributes ? { previous_attributes: e.previousAttributes } : {}) },
        request_id: e.requestId ?? null,
        idempotency_key: e.idempotencyKey ?? null,
      })),
    );
    return;
  }
  const payloads: string[] = [];
  const shared = new Map<Record<string, unknown>, number>();
  const payloadOf = events.map((e) => {
    const reuse = e.previousAttributes ? undefined : shared.get(e.object);
    if (reuse !== undefined) return reuse;
    payloads.push(dataJson(e));
    if (!e.previousAttributes) shared.set(e.object, payloads.length);
    return payloads.length;
  });
  await q.query(
    `INSERT INTO events (id, type, created, object_id, customer_id, data, request_id, idempotency_key)
     SELECT u.id, u.type, $3, u.object_id, u.customer_id, p.data, u.request_id, u.idempotency_key
       FROM unnest($1::text[], $2::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[])
              AS u(id, type, object_id, customer_id, request_id, idempotency_key, payload)
       JOIN (SELECT n, d::jsonb AS data FROM unnest(string_to_array($9::text, E'\\n')) WITH ORDINALITY AS t(d, n)) p ON p.n = u.payload`,
    [
      events.map(() => newId('evt')),
      events.map((e) => e.type),
      now,
      events.map(objectIdOf),
      events.map((e) => e.customerId ?? null),
      events.map((e) => e.requestId ?? request?.id ?? null),
      events.map((e) => e.idempotencyKey ?? request?.idempotencyKey ?? null),
      payloadOf,
      // JSON.stringify never emits a raw newline: one text of newline-separated documents (src/db/bulk.ts).
      payloads.join('\n'),
    ],
  );
}

export interface EventRow {
  id: string;
  type: string;
  object_id: string;
  customer_id: string | null;
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
    if (!sameJson(before[k], after[k])) out[k] = previousValue(before[k], after[k]);
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
    if (!sameJson(before[k], after[k])) out[k] = previousValue(before[k], after[k]);
  }
  return out;
}
