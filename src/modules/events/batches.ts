import { deflateSync, inflateSync } from 'node:zlib';
import type { Queryable } from '../../db/index.js';
import { newId } from '../../core/ids/index.js';
import { InvalidRequestError } from '../../core/errors/index.js';
import type { EventRow } from './service.js';
import { bloomHashes, buildBloom } from './domain/bloom.js';

// Events stored a group per row (migration 0049, ADR 0007 option 5): the JSON of the group's events,
// deflated. Written for large groups outside API requests (the worker's passes); everything that reads
// events reads both storages through this file.

/** Smaller groups stay rows of `events`: compression needs volume, and rows stay readable by SQL. */
export const EVENT_BATCH_MIN = 50;

/**
 * The inbox trigger's WHEN clause (migration 0009), so that a batch sends SQL only the events the
 * trigger would have looked at; recur_inbox_wanted() then decides, as the trigger does.
 */
const INBOX_ALWAYS = new Set(['invoice.payment_failed', 'invoice.paid', 'customer.subscription.trial_will_end']);
const INBOX_SEND_INVOICE = new Set(['invoice.finalized', 'invoice.sent']);
const INBOX_WHILE_CAMPAIGN = new Set(['invoice.voided', 'invoice.marked_uncollectible', 'customer.updated', 'customer.subscription.updated', 'payment_method.attached']);
const inboxMayWant = (e: StoredEvent): boolean =>
  INBOX_ALWAYS.has(e.type) || INBOX_WHILE_CAMPAIGN.has(e.type) || (INBOX_SEND_INVOICE.has(e.type) && e.data.object.collection_method === 'send_invoice');

/** One event as a batch stores it: what a row of `events` holds. */
export interface StoredEvent {
  id: string;
  type: string;
  object_id: string;
  customer_id: string | null;
  /** `{ object, previous_attributes? }`, as the row's jsonb. */
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  request_id: string | null;
  idempotency_key: string | null;
}

/**
 * An event as the batch's JSON holds it: either its object, or — when it is the very object an earlier
 * event of the group holds (invoice.paid and invoice.payment_succeeded share one) — that event's index,
 * so the object is serialised, compressed and parsed once. Batches written before this have no index.
 */
type PackedEvent = Omit<StoredEvent, 'data'> & { data: { object?: Record<string, unknown>; same_object_as?: number; previous_attributes?: Record<string, unknown> } };

function pack(events: readonly StoredEvent[]): PackedEvent[] {
  const first = new Map<Record<string, unknown>, number>();
  return events.map((e, i) => {
    const k = first.get(e.data.object);
    if (k === undefined) {
      first.set(e.data.object, i);
      return e;
    }
    const { object: _object, ...rest } = e.data;
    return { ...e, data: { same_object_as: k, ...rest } };
  });
}

function unpack(packed: readonly PackedEvent[]): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const e of packed) {
    const { same_object_as: k, object, ...rest } = e.data;
    // The two events then share one object, as they did when written; readers only serialise it.
    out.push({ ...e, data: { object: k === undefined ? object! : out[k]!.data.object, ...rest } });
  }
  return out;
}

/** The customer and object ids of a group's events, each once. */
function keysOf(events: readonly StoredEvent[]): Set<string> {
  const keys = new Set<string>();
  for (const e of events) {
    keys.add(e.object_id);
    if (e.customer_id !== null) keys.add(e.customer_id);
  }
  return keys;
}

/** Writes a group of events as one row, and their notification-inbox rows. */
export async function writeEventBatch(q: Queryable, now: Date, events: StoredEvent[]): Promise<void> {
  const blob = deflateSync(JSON.stringify(pack(events)), { level: 1 });
  const ids = events.map((e) => e.id).sort();
  await q.query(`INSERT INTO event_batches (id, created, first_event, last_event, n, types, data, keys) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
    newId('evb'),
    now,
    ids[0],
    ids[ids.length - 1],
    events.length,
    [...new Set(events.map((e) => e.type))],
    blob,
    // What the events API's `customer` and `object_id` filters search for (listEvents).
    buildBloom(keysOf(events)),
  ]);
  // The rows the trigger on `events` would have written, by the same rule.
  const inbox = events.filter(inboxMayWant);
  if (inbox.length === 0) return;
  await q.query(
    `INSERT INTO notification_inbox (event_id, type, object_id, customer_id, test_clock, created)
     SELECT u.id, u.type, u.oid, u.cid, (SELECT c.test_clock FROM customers c WHERE c.id = u.cid), $6
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(id, type, oid, cid, cm)
      WHERE recur_inbox_wanted(u.type, u.cm, u.cid)`,
    [
      inbox.map((e) => e.id),
      inbox.map((e) => e.type),
      inbox.map((e) => e.object_id),
      inbox.map((e) => e.customer_id),
      inbox.map((e) => (typeof e.data.object.collection_method === 'string' ? e.data.object.collection_method : null)),
      now,
    ],
  );
}

interface BatchRow {
  id: string;
  created: Date;
  first_event: string;
  last_event: string;
  data: Uint8Array;
}

function eventsOf(b: BatchRow): EventRow[] {
  const created = new Date(b.created);
  return unpack(JSON.parse(inflateSync(b.data).toString('utf8')) as PackedEvent[]).map((e) => ({ ...e, created }));
}

/** An event by id, from either storage. */
export async function findEvent(q: Queryable, id: string): Promise<EventRow | null> {
  const { rows } = await q.query<EventRow>(`SELECT * FROM events WHERE id = $1`, [id]);
  if (rows[0]) return rows[0];
  const { rows: batches } = await q.query<BatchRow>(`SELECT * FROM event_batches WHERE first_event <= $1 AND last_event >= $1`, [id]);
  for (const b of batches) {
    const found = eventsOf(b).find((e) => e.id === id);
    if (found) return found;
  }
  return null;
}

export interface EventFilter {
  /** Exact types. */
  types?: string[];
  /** A type prefix (Stripe's trailing wildcard, `customer.subscription.*` → `customer.subscription.`). */
  typePrefix?: string;
  customer?: string;
  objectId?: string;
  /** [operator, Unix seconds] bounds on `created`. */
  created?: ReadonlyArray<readonly ['>=' | '<' | '>' | '<=', number]>;
}

export interface EventPage {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

function matches(e: EventRow, f: EventFilter): boolean {
  if (f.types && !f.types.includes(e.type)) return false;
  if (f.typePrefix !== undefined && !e.type.startsWith(f.typePrefix)) return false;
  if (f.customer !== undefined && e.customer_id !== f.customer) return false;
  if (f.objectId !== undefined && e.object_id !== f.objectId) return false;
  return true;
}

/**
 * A page of events, newest first, from both storages — as paginate() pages a table: by id, with
 * Stripe's cursors (both at once, or one naming no event, is a 400).
 */
export async function listEvents(q: Queryable, f: EventFilter, page: EventPage): Promise<{ rows: EventRow[]; hasMore: boolean }> {
  const limit = page.limit ?? 10;
  if (page.starting_after !== undefined && page.ending_before !== undefined) {
    throw new InvalidRequestError('Received both starting_after and ending_before parameters. Please pass in only one.', 'ending_before', 'parameter_invalid');
  }
  const cursor = page.starting_after ?? page.ending_before;
  if (cursor !== undefined && !(await findEvent(q, cursor))) {
    throw new InvalidRequestError(`No such object: '${cursor}'`, page.starting_after !== undefined ? 'starting_after' : 'ending_before', 'resource_missing');
  }
  const desc = page.ending_before === undefined;
  const beyond = (id: string) => cursor === undefined || (desc ? id < cursor : id > cursor);

  // Rows of `events`: the first limit + 1 beyond the cursor.
  const params: unknown[] = [];
  const conds: string[] = [];
  const add = (cond: (p: string) => string, v: unknown) => {
    params.push(v);
    conds.push(cond(`$${params.length}`));
  };
  if (f.types) add((p) => `type = ANY(${p})`, f.types);
  if (f.typePrefix !== undefined) add((p) => `type LIKE ${p}`, f.typePrefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%');
  if (f.customer !== undefined) add((p) => `customer_id = ${p}`, f.customer);
  if (f.objectId !== undefined) add((p) => `object_id = ${p}`, f.objectId);
  for (const [op, at] of f.created ?? []) add((p) => `created ${op} to_timestamp(${p})`, at);
  if (cursor !== undefined) add((p) => `id ${desc ? '<' : '>'} ${p}`, cursor);
  params.push(limit + 1);
  const { rows } = await q.query<EventRow>(
    `SELECT * FROM events ${conds.length ? 'WHERE ' + conds.join(' AND ') : ''} ORDER BY id ${desc ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
    params,
  );
  const found: EventRow[] = [...rows];
  const before = (a: string, b: string) => (desc ? a > b : a < b);
  const sort = () => found.sort((a, b) => (a.id === b.id ? 0 : before(a.id, b.id) ? -1 : 1));

  // Batches, nearest to the cursor first, until no batch can hold an event before the page's last one.
  const bParams: unknown[] = [];
  const bConds: string[] = [];
  const bAdd = (cond: (p: string) => string, v: unknown) => {
    bParams.push(v);
    bConds.push(cond(`$${bParams.length}`));
  };
  for (const [op, at] of f.created ?? []) bAdd((p) => `created ${op} to_timestamp(${p})`, at);
  if (f.types) bAdd((p) => `types && ${p}::text[]`, f.types);
  if (f.typePrefix !== undefined) bAdd((p) => `EXISTS (SELECT 1 FROM unnest(types) t WHERE starts_with(t, ${p}))`, f.typePrefix);
  // Only batches whose filter may hold the customer or object (batches written before filters: always).
  for (const key of [f.customer, f.objectId]) {
    if (key === undefined) continue;
    const [h1, h2] = bloomHashes(key);
    bParams.push(h1, h2);
    bConds.push(`(keys IS NULL OR recur_bloom_has(keys, $${bParams.length - 1}, $${bParams.length}))`);
  }
  if (cursor !== undefined) bAdd((p) => (desc ? `first_event < ${p}` : `last_event > ${p}`), cursor);
  const CHUNK = 8;
  for (let offset = 0; ; offset += CHUNK) {
    const { rows: batches } = await q.query<BatchRow>(
      `SELECT * FROM event_batches ${bConds.length ? 'WHERE ' + bConds.join(' AND ') : ''}
        ORDER BY ${desc ? 'last_event DESC' : 'first_event ASC'}, id LIMIT ${CHUNK} OFFSET ${offset}`,
      bParams,
    );
    let stop = batches.length < CHUNK;
    for (const b of batches) {
      // Every event of this batch and of the ones after it comes after the page's last candidate.
      sort();
      const edge = desc ? b.last_event : b.first_event;
      if (found.length > limit && !before(edge, found[limit]!.id)) {
        stop = true;
        break;
      }
      for (const e of eventsOf(b)) if (beyond(e.id) && matches(e, f)) found.push(e);
    }
    if (stop) break;
  }
  sort();
  const hasMore = found.length > limit;
  const pageRows = found.slice(0, limit);
  if (!desc) pageRows.reverse();
  return { rows: pageRows, hasMore };
}

/** Every event stored in batches, oldest first (tests and tools). */
export async function batchedEvents(q: Queryable): Promise<EventRow[]> {
  const { rows } = await q.query<BatchRow>(`SELECT * FROM event_batches ORDER BY first_event, id`);
  return rows.flatMap(eventsOf).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every event matching `f`, oldest first, from both storages (tests and tools; not paged). */
export async function allEvents(q: Queryable, f: EventFilter = {}): Promise<EventRow[]> {
  const { rows } = await q.query<EventRow>(`SELECT * FROM events ORDER BY id`);
  const { rows: batches } = await q.query<BatchRow>(`SELECT * FROM event_batches ORDER BY first_event, id`);
  const bounds = f.created ?? [];
  const inCreated = (e: EventRow) =>
    bounds.every(([op, at]) => {
      const t = new Date(e.created).getTime() / 1000;
      return op === '>=' ? t >= at : op === '>' ? t > at : op === '<' ? t < at : t <= at;
    });
  return [...rows, ...batches.flatMap(eventsOf)].filter((e) => matches(e, f) && inCreated(e)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
