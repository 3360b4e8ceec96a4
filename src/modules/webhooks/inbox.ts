import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import { outsideRequest } from '../../core/context/index.js';

// The inbound webhook inbox: every verified event, stored once per (source, event id) — the unique
// constraint is the deduplication, whatever the number of API processes receiving deliveries — and
// processed later by the worker with retries, backoff and a dead-letter status.

export type InboxSource = 'stripe' | 'paypal';
export type InboxStatus = 'pending' | 'processed' | 'failed' | 'dead';

export interface InboxRow {
  id: string;
  source: InboxSource;
  event_id: string;
  type: string;
  event_created: Date | null;
  payload: Record<string, unknown>;
  status: InboxStatus;
  result: string | null;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  received_at: Date;
  processed_at: Date | null;
}

export interface IncomingEvent {
  source: InboxSource;
  eventId: string;
  type: string;
  eventCreated: Date | null;
  /** The event's JSON text as received. */
  payload: string;
}

/** Stores events, one statement for the lot; returns which (source, event id) were new. */
export async function insertEvents(q: Queryable, unordered: readonly IncomingEvent[], now: Date): Promise<Set<string>> {
  if (unordered.length === 0) return new Set();
  // Concurrent batches take their unique-index locks in one global order (source, event id): two
  // batches holding the same two repeated events can never wait on each other (no deadlock).
  const events = [...unordered].sort((a, b) => (a.source === b.source ? (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0) : a.source < b.source ? -1 : 1));
  // The payloads travel as one JSON array built by joining the received texts (each is valid JSON):
  // nothing is re-encoded or escaped here, and PostgreSQL splits the array once.
  const { rows } = await q.query<{ source: string; event_id: string }>(
    `INSERT INTO webhook_inbox (id, source, event_id, type, event_created, payload, status, next_attempt_at, received_at)
     SELECT u.id, u.source, u.event_id, u.type, u.created, p.payload, 'pending', $7, $7
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS u(id, source, event_id, type, created, n)
       JOIN json_array_elements($6::json) WITH ORDINALITY AS p(payload, n) ON p.n = u.n
      ORDER BY u.n
     ON CONFLICT (source, event_id) DO NOTHING
     RETURNING source, event_id`,
    [
      events.map(() => newId('whin')),
      events.map((e) => e.source),
      events.map((e) => e.eventId),
      events.map((e) => e.type),
      events.map((e) => (e.eventCreated ? e.eventCreated.toISOString() : null)),
      `[${events.map((e) => e.payload).join(',')}]`,
      now,
    ],
  );
  return new Set(rows.map((r) => `${r.source}:${r.event_id}`));
}

/**
 * Group commit for the webhook endpoints: deliveries arriving while batches are being written wait
 * for the next one, so under load each INSERT (and its commit, i.e. its WAL flush) carries many
 * events; alone, an event is written at once. Up to `maxInFlight` batches are written at the same time
 * on separate connections, so a delivery waits for at most one commit besides its own. A delivery is
 * answered only after its batch committed.
 */
export class InboxWriter {
  private queue: { event: IncomingEvent; resolve: (inserted: boolean) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly q: Queryable,
    private readonly now: () => Date,
    private readonly opts: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  /** Resolves true when the event was new, false for a duplicate delivery. */
  store(event: IncomingEvent): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (this.inFlight < (this.opts.maxInFlight ?? 1)) void outsideRequest(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.opts.maxBatch ?? 500);
        // The same event twice in one batch: one row, the first delivery counts as new.
        const unique = new Map<string, IncomingEvent>();
        for (const b of batch) {
          const k = `${b.event.source}:${b.event.eventId}`;
          if (!unique.has(k)) unique.set(k, b.event);
        }
        try {
          const inserted = await insertEvents(this.q, [...unique.values()], this.now());
          const answered = new Set<string>();
          for (const b of batch) {
            const k = `${b.event.source}:${b.event.eventId}`;
            b.resolve(inserted.has(k) && !answered.has(k));
            answered.add(k);
          }
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}

export function serializeInboxRow(r: InboxRow, opts: { payload?: boolean } = {}) {
  return {
    id: r.id,
    object: 'inbound_webhook_event' as const,
    source: r.source,
    event_id: r.event_id,
    type: r.type,
    event_created: r.event_created ? toUnix(new Date(r.event_created)) : null,
    status: r.status,
    result: r.result,
    attempts: r.attempts,
    next_attempt_at: r.next_attempt_at ? toUnix(new Date(r.next_attempt_at)) : null,
    last_error: r.last_error,
    received_at: toUnix(new Date(r.received_at)),
    processed_at: r.processed_at ? toUnix(new Date(r.processed_at)) : null,
    ...(opts.payload ? { payload: r.payload } : {}),
  };
}

export async function listInbox(q: Queryable, filter: { status?: InboxStatus; source?: InboxSource; type?: string }, list: ListParams) {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const col of ['status', 'source', 'type'] as const) {
    if (filter[col] === undefined) continue;
    params.push(filter[col]);
    where.push(`${col} = $${params.length}`);
  }
  const { rows, hasMore } = await paginate<InboxRow>(q, { table: 'webhook_inbox', where: where.join(' AND ') || undefined, params }, list);
  return { data: rows.map((r) => serializeInboxRow(r)), hasMore };
}

export async function findInboxRow(q: Queryable, id: string): Promise<InboxRow | null> {
  const { rows } = await q.query<InboxRow>(`SELECT * FROM webhook_inbox WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** Makes events due again now: one by id, or every failed and dead-lettered one. Returns their ids. */
export async function markForReplay(q: Queryable, target: { id: string } | { failed: true }, now: Date): Promise<string[]> {
  const { rows } =
    'id' in target
      ? await q.query<{ id: string }>(
          `UPDATE webhook_inbox SET status = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL WHERE id = $1 OR event_id = $1 RETURNING id`,
          [target.id, now],
        )
      : await q.query<{ id: string }>(
          `UPDATE webhook_inbox SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE status IN ('failed', 'dead') RETURNING id`,
          [now],
        );
  return rows.map((r) => r.id);
}
