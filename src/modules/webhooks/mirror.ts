import type { Queryable } from '../../db/index.js';

// The newest version seen of each gateway object an event carried. An event applies only if it is
// newer than what is stored: by the event's creation time, then — for two events in the same second —
// by how far along the object's status is (a canceled subscription outranks an active one, a deleted
// customer outranks an updated one). One conditional upsert decides, so concurrent workers agree.

const STATUS_RANK: Record<string, number> = {
  // subscriptions
  incomplete: 1,
  trialing: 2,
  active: 3,
  past_due: 4,
  unpaid: 5,
  paused: 5,
  canceled: 9,
  incomplete_expired: 9,
  // invoices
  draft: 1,
  open: 2,
  paid: 9,
  void: 9,
  uncollectible: 8,
  // payment intents / charges
  requires_payment_method: 1,
  requires_confirmation: 1,
  requires_action: 2,
  processing: 3,
  succeeded: 9,
  failed: 8,
  // disputes
  warning_needs_response: 1,
  needs_response: 1,
  warning_under_review: 2,
  under_review: 2,
  warning_closed: 9,
  won: 9,
  lost: 9,
};

export function statusRank(object: Record<string, unknown>, deleted: boolean): number {
  if (deleted) return 100;
  const s = object.status;
  return typeof s === 'string' ? (STATUS_RANK[s] ?? 0) : 0;
}

export interface MirrorInput {
  gateway: string;
  object: Record<string, unknown> & { id: string };
  objectType: string;
  deleted: boolean;
  /** The event's time in milliseconds. */
  version: number;
  eventId: string;
  now: Date;
}

/** Stores the object's state if newer than the stored one; true when it was applied. */
export async function mirrorObject(q: Queryable, m: MirrorInput): Promise<boolean> {
  const { rows } = await q.query(
    `INSERT INTO gateway_objects (gateway, object_id, object_type, data, deleted, version, rank, event_id, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (gateway, object_id) DO UPDATE
        SET data = EXCLUDED.data, deleted = EXCLUDED.deleted, version = EXCLUDED.version, rank = EXCLUDED.rank,
            event_id = EXCLUDED.event_id, updated = EXCLUDED.updated, object_type = EXCLUDED.object_type
      WHERE gateway_objects.version < EXCLUDED.version
         OR (gateway_objects.version = EXCLUDED.version AND gateway_objects.rank < EXCLUDED.rank)
     RETURNING object_id`,
    [m.gateway, m.object.id, m.objectType, JSON.stringify(m.object), m.deleted, m.version, statusRank(m.object, m.deleted), m.eventId, m.now],
  );
  return rows.length === 1;
}

export async function mirroredObject(q: Queryable, gateway: string, objectId: string): Promise<{ data: Record<string, unknown>; deleted: boolean; version: number } | null> {
  const { rows } = await q.query<{ data: Record<string, unknown>; deleted: boolean; version: number }>(
    `SELECT data, deleted, version FROM gateway_objects WHERE gateway = $1 AND object_id = $2`,
    [gateway, objectId],
  );
  return rows[0] ?? null;
}
