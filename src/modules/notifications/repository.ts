import type { Queryable } from '../../db/index.js';
import { paginate, type ListParams } from '../../http/pagination.js';
import type { TemplateRow } from './templates.js';

// All of the notifications module's SQL.

export type MessageStatus = 'queued' | 'sending' | 'sent' | 'outbox' | 'failed' | 'suppressed';

export interface MessageRow {
  id: string;
  customer: string | null;
  channel: 'email' | 'sms';
  template: string;
  locale: string;
  essential: boolean;
  recipient: string | null;
  subject: string | null;
  text: string;
  html: string | null;
  status: MessageStatus;
  provider: string | null;
  provider_id: string | null;
  error: string | null;
  attempts: number;
  send_after: Date;
  lease_until: Date | null;
  personalize: boolean;
  personalized: boolean;
  required: string[];
  dedupe_key: string;
  campaign: string | null;
  object_id: string | null;
  test_clock: string | null;
  created: Date;
  updated: Date;
  sent_at: Date | null;
}

export interface PreferencesRow {
  customer: string;
  timezone: string | null;
  locale: string | null;
  unsubscribed: string[];
  updated: Date;
}

const MESSAGE_COLUMNS = [
  'id', 'customer', 'channel', 'template', 'locale', 'essential', 'recipient', 'subject', 'text', 'html', 'status', 'provider', 'provider_id', 'error',
  'attempts', 'send_after', 'lease_until', 'personalize', 'personalized', 'required', 'dedupe_key', 'campaign', 'object_id', 'test_clock', 'created', 'updated', 'sent_at',
] as const;

/** Inserts unless a message with the same dedupe key exists (then null: it was sent or is on its way). */
export async function insertMessageOnce(q: Queryable, row: MessageRow): Promise<MessageRow | null> {
  const { rows } = await q.query<MessageRow>(
    `INSERT INTO notification_messages (${MESSAGE_COLUMNS.join(', ')}) VALUES (${MESSAGE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING *`,
    MESSAGE_COLUMNS.map((c) => (c === 'required' ? JSON.stringify(row.required) : row[c])),
  );
  return rows[0] ?? null;
}

export async function findMessage(q: Queryable, id: string): Promise<MessageRow | null> {
  const { rows } = await q.query<MessageRow>(`SELECT * FROM notification_messages WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export function listMessageRows(q: Queryable, f: { customer?: string; channel?: string; status?: string; template?: string; campaign?: string }, list: ListParams) {
  return paginate<MessageRow>(q, { table: 'notification_messages', equals: f }, list);
}

export async function findTemplate(q: Queryable, id: string): Promise<TemplateRow | null> {
  const { rows } = await q.query<TemplateRow>(`SELECT * FROM notification_templates WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The best template for a locale: exact (pt-BR), then its language (pt), then English. */
export async function templateFor(q: Queryable, key: string, channel: 'email' | 'sms', locale: string): Promise<TemplateRow | null> {
  const lang = locale.split('-')[0]!;
  const { rows } = await q.query<TemplateRow>(
    `SELECT * FROM notification_templates WHERE key = $1 AND channel = $2 AND locale = ANY($3::text[])
      ORDER BY array_position($3::text[], locale) LIMIT 1`,
    [key, channel, [locale, lang, 'en']],
  );
  return rows[0] ?? null;
}

export function listTemplateRows(q: Queryable, f: { key?: string; locale?: string }, list: ListParams) {
  return paginate<TemplateRow>(q, { table: 'notification_templates', equals: f }, list);
}

export async function findPreferences(q: Queryable, customer: string): Promise<PreferencesRow | null> {
  const { rows } = await q.query<PreferencesRow>(`SELECT * FROM notification_preferences WHERE customer = $1`, [customer]);
  return rows[0] ?? null;
}

export async function upsertPreferences(q: Queryable, p: PreferencesRow): Promise<PreferencesRow> {
  const { rows } = await q.query<PreferencesRow>(
    `INSERT INTO notification_preferences (customer, timezone, locale, unsubscribed, updated) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (customer) DO UPDATE SET timezone = EXCLUDED.timezone, locale = EXCLUDED.locale, unsubscribed = EXCLUDED.unsubscribed, updated = EXCLUDED.updated
     RETURNING *`,
    [p.customer, p.timezone, p.locale, JSON.stringify(p.unsubscribed), p.updated],
  );
  return rows[0]!;
}
