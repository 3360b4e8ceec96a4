import { InvalidRequestError, NotFoundError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { toUnix } from '../../core/time/index.js';
import type { Config, NotificationConfig } from '../../config.js';
import type { Db, Queryable } from '../../db/index.js';
import type { ListParams } from '../../http/pagination.js';
import { findCustomer, type CustomerRow } from '../customers/repository.js';
import { DeliveryError, type Delivery, type Notifier } from './channels.js';
import { payLink, unsubscribeLink } from './links.js';
import {
  findMessage,
  findPreferences,
  findTemplate,
  insertMessageOnce,
  listMessageRows,
  listTemplateRows,
  templateFor,
  upsertPreferences,
  type MessageRow,
  type PreferencesRow,
} from './repository.js';
import { assertCompiles, render, textToHtml, htmlLayout, type TemplateRow } from './templates.js';

// Messages are written in the business transaction that causes them (status `queued`, rendered,
// unique per object and kind), then delivered by the worker outside any transaction: a short
// transaction leases a batch, the transports run, another records the outcome. A transient failure
// is retried with backoff; a permanent one (or the last try) ends `failed` with the error. Nothing
// is dropped silently: a message that must not go out is stored `suppressed` with the reason.

export interface Scope {
  clock: string | null;
}

const RETRY_DELAYS_S = [60, 300, 1800, 7200, 21_600];
const LEASE_MS = 10 * 60_000;

export interface CustomerContext {
  customer: CustomerRow;
  preferences: PreferencesRow | null;
  timezone: string;
  locale: string;
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A customer's timezone: their notification preferences, else `metadata.timezone` (settable with
 * Stripe's SDK), else the installation default. Invalid names fall through to the next source.
 */
export function timezoneOf(customer: Pick<CustomerRow, 'metadata'>, prefs: Pick<PreferencesRow, 'timezone'> | null, cfg: Pick<NotificationConfig, 'defaultTimezone'>): string {
  for (const tz of [prefs?.timezone, customer.metadata?.timezone]) if (tz && isValidTimezone(tz)) return tz;
  return cfg.defaultTimezone;
}

export async function customerContext(q: Queryable, customerId: string, cfg: NotificationConfig): Promise<CustomerContext | null> {
  const customer = await findCustomer(q, customerId);
  if (!customer) return null;
  const preferences = await findPreferences(q, customerId);
  const locale = preferences?.locale ?? customer.preferred_locales[0] ?? 'en';
  return { customer, preferences, timezone: timezoneOf(customer, preferences, cfg), locale };
}

/** A date as people read it, in the customer's timezone and language. */
export function formatDate(d: Date, ctx: { timezone: string; locale: string }, withTime = false): string {
  try {
    return new Intl.DateTimeFormat(ctx.locale, { dateStyle: 'long', ...(withTime ? { timeStyle: 'short' } : {}), timeZone: ctx.timezone }).format(d);
  } catch {
    return new Intl.DateTimeFormat('en-US', { dateStyle: 'long', ...(withTime ? { timeStyle: 'short' } : {}), timeZone: 'UTC' }).format(d);
  }
}

export interface EnqueueInput {
  /** null for messages to the operator (escalations). */
  customer: string | null;
  template: string;
  channel: 'email' | 'sms';
  vars: Record<string, unknown>;
  dedupeKey: string;
  /** Overrides the customer's address (the owner's email for escalations). */
  to?: string | null;
  /** Adds `payment_update_link`: a signed link to this invoice's payment page that names this message. */
  payLinkFor?: { customer: string; invoice: string };
  campaign?: string | null;
  objectId?: string | null;
  sendAfter?: Date;
  testClock?: string | null;
  now: Date;
}

/** Renders and queues one message; returns null when one with the same dedupe key already exists. */
export async function enqueueMessage(q: Queryable, config: Config, input: EnqueueInput): Promise<MessageRow | null> {
  const cfg = config.notifications;
  const { now } = input;
  const exists = await q.query(`SELECT 1 FROM notification_messages WHERE dedupe_key = $1`, [input.dedupeKey]);
  if (exists.rowCount) return null;
  const ctx = input.customer ? await customerContext(q, input.customer, cfg) : null;
  const locale = ctx?.locale ?? 'en';
  const id = newId('msg');
  const template = await templateFor(q, input.template, input.channel, locale);
  const vars: Record<string, unknown> = { customer_name: ctx?.customer.name ?? ctx?.customer.email ?? 'there', ...input.vars };
  if (input.payLinkFor) vars.payment_update_link = await payLink(q, cfg, now, { ...input.payLinkFor, message: id });
  let suppressed: string | null = null;
  const recipient = input.to !== undefined ? input.to : input.channel === 'email' ? (ctx?.customer.email ?? null) : (ctx?.customer.phone ?? null);
  if (!template) suppressed = `no ${input.channel} template '${input.template}' for locale ${locale}`;
  else if (!recipient) suppressed = input.to !== undefined ? 'no recipient configured (RECUR_OWNER_EMAIL)' : `the customer has no ${input.channel === 'email' ? 'email address' : 'phone number'}`;
  else if (ctx?.customer.deleted_at) suppressed = 'the customer is deleted';
  else if (!template.essential && ctx && (ctx.preferences?.unsubscribed ?? []).some((c) => c === template.category || c === 'all')) {
    suppressed = `the customer unsubscribed from ${template.category}`;
  }
  if (template && !template.essential && ctx) vars.unsubscribe_link = await unsubscribeLink(q, cfg, now, ctx.customer.id, template.category);
  const rendered = template ? render(template, vars) : { subject: null, text: '', html: null, required: [] };
  return insertMessageOnce(q, {
    id,
    customer: input.customer,
    channel: input.channel,
    template: input.template,
    locale: template?.locale ?? locale,
    essential: template?.essential ?? true,
    recipient,
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    status: suppressed ? 'suppressed' : 'queued',
    provider: null,
    provider_id: null,
    error: suppressed,
    attempts: 0,
    send_after: input.sendAfter ?? now,
    lease_until: null,
    personalize: Boolean(template?.personalize && input.channel === 'email'),
    personalized: false,
    required: [...new Set([...(rendered.required ?? []), ...(typeof vars.payment_update_link === 'string' ? [vars.payment_update_link] : [])])],
    dedupe_key: input.dedupeKey,
    campaign: input.campaign ?? null,
    object_id: input.objectId ?? null,
    test_clock: input.testClock !== undefined ? input.testClock : (ctx?.customer.test_clock ?? null),
    created: now,
    updated: now,
    sent_at: null,
  });
}

function scopeSql(scope: Scope, param: number): string {
  return scope.clock === null ? 'test_clock IS NULL' : `test_clock = $${param}`;
}

/** Leases due messages, sends them through the notifier, records each outcome. Returns how many were handled. */
export async function deliverDue(db: Db, notifier: Notifier, scope: Scope, now: Date, limit: number): Promise<number> {
  const params: unknown[] = [now, new Date(now.getTime() + LEASE_MS), limit];
  if (scope.clock !== null) params.push(scope.clock);
  const { rows: batch } = await db.tx((q) =>
    q.query<MessageRow>(
      `UPDATE notification_messages SET status = 'sending', attempts = attempts + 1, lease_until = $2, updated = $1
        WHERE id IN (SELECT id FROM notification_messages
                      WHERE ((status = 'queued' AND send_after <= $1) OR (status = 'sending' AND lease_until <= $1)) AND ${scopeSql(scope, 4)}
                      ORDER BY send_after, id LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      params,
    ),
  );
  if (batch.length === 0) return 0;
  const ids = [...new Set(batch.map((m) => m.customer).filter((c): c is string => c !== null))];
  const { rows: names } = await db.query<{ id: string; name: string | null }>(`SELECT id, name FROM customers WHERE id = ANY($1::text[])`, [ids]);
  const nameOf = new Map(names.map((r) => [r.id, r.name]));
  const outcomes: { m: MessageRow; patch: Partial<MessageRow> }[] = [];
  for (const m of batch.sort((a, b) => (a.id < b.id ? -1 : 1))) outcomes.push({ m, patch: await deliverOne(notifier, m, now, m.customer ? (nameOf.get(m.customer) ?? null) : null) });
  await db.tx(async (q) => {
    for (const { m, patch } of outcomes) {
      await q.query(
        `UPDATE notification_messages SET status = $2, provider = $3, provider_id = $4, error = $5, send_after = $6, lease_until = NULL,
                text = $7, html = $8, personalized = $9, sent_at = $10, updated = $11 WHERE id = $1`,
        [
          m.id,
          patch.status,
          patch.provider ?? m.provider,
          patch.provider_id ?? m.provider_id,
          patch.error ?? null,
          patch.send_after ?? m.send_after,
          patch.text ?? m.text,
          patch.html ?? m.html,
          patch.personalized ?? m.personalized,
          patch.sent_at ?? null,
          now,
        ],
      );
    }
  });
  return batch.length;
}

async function deliverOne(notifier: Notifier, m: MessageRow, now: Date, customerName: string | null): Promise<Partial<MessageRow>> {
  let text = m.text;
  let html = m.html;
  let personalized = m.personalized;
  let note: string | null = null;
  if (m.channel === 'email' && m.personalize && !m.personalized && notifier.personalizer) {
    const res = await notifier.personalizer.personalize({ text, required: m.required, customerName, locale: m.locale });
    if (res.ok) {
      text = res.text;
      html = htmlLayout(textToHtml(res.text), { unsubscribeLink: null, title: m.subject ?? '' });
      personalized = true;
    } else {
      note = `personalisation skipped: ${res.reason}`;
    }
  }
  try {
    let d: Delivery;
    if (m.channel === 'email') {
      d = await notifier.email.send({
        id: m.id,
        to: m.recipient!,
        subject: m.subject ?? '',
        text,
        html,
        headers: m.essential ? undefined : unsubscribeHeaders(m.text),
      });
    } else {
      d = await notifier.sms.send({ id: m.id, to: m.recipient!, body: text });
    }
    return { status: d.status, provider: d.provider, provider_id: d.providerId, error: note, text, html, personalized, sent_at: now };
  } catch (err) {
    const transient = err instanceof DeliveryError ? err.transient : true;
    const message = (err as Error).message;
    if (transient && m.attempts <= RETRY_DELAYS_S.length) {
      return { status: 'queued', error: message, send_after: new Date(now.getTime() + RETRY_DELAYS_S[m.attempts - 1]! * 1000), text, html, personalized };
    }
    return { status: 'failed', error: message, text, html, personalized };
  }
}

/** RFC 8058 one-click unsubscribe, for mail clients that show an unsubscribe button. */
function unsubscribeHeaders(text: string): Record<string, string> | undefined {
  const link = /https?:\/\/\S+\/notifications\/unsubscribe\/\S+/.exec(text)?.[0];
  return link ? { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : undefined;
}

/** The earliest instant a queued (or leased) message of this scope becomes due. */
export async function nextMessageDueAt(q: Queryable, scope: Scope): Promise<Date | null> {
  const { rows } = await q.query<{ t: Date | null }>(
    `SELECT min(CASE WHEN status = 'queued' THEN send_after ELSE lease_until END) AS t FROM notification_messages
      WHERE status IN ('queued', 'sending') AND ${scopeSql(scope, 1)}`,
    scope.clock === null ? [] : [scope.clock],
  );
  return rows[0]?.t ? new Date(rows[0].t) : null;
}

// ---------- API objects ----------

const unix = (d: Date | null) => (d ? toUnix(new Date(d)) : null);

export function serializeMessage(m: MessageRow) {
  return {
    id: m.id,
    object: 'notification_message' as const,
    attempts: m.attempts,
    campaign: m.campaign,
    channel: m.channel,
    created: unix(m.created)!,
    customer: m.customer,
    error: m.error,
    essential: m.essential,
    html: m.html,
    locale: m.locale,
    object_id: m.object_id,
    personalized: m.personalized,
    provider: m.provider,
    provider_id: m.provider_id,
    recipient: m.recipient,
    send_after: unix(m.send_after)!,
    sent_at: unix(m.sent_at),
    status: m.status,
    subject: m.subject,
    template: m.template,
    text: m.text,
  };
}

export function serializeTemplate(t: TemplateRow) {
  return {
    id: t.id,
    object: 'notification_template' as const,
    category: t.category,
    channel: t.channel,
    created: unix(t.created)!,
    description: t.description,
    essential: t.essential,
    html: t.html,
    key: t.key,
    locale: t.locale,
    personalize: t.personalize,
    required_lines: t.required_lines,
    subject: t.subject,
    text: t.text,
    updated: unix(t.updated)!,
  };
}

export async function getMessage(q: Queryable, id: string) {
  const m = await findMessage(q, id);
  if (!m) throw new NotFoundError('notification_message', id);
  return serializeMessage(m);
}

export async function listMessages(q: Queryable, f: Parameters<typeof listMessageRows>[1], list: ListParams) {
  const { rows, hasMore } = await listMessageRows(q, f, list);
  return { data: rows.map(serializeMessage), hasMore };
}

export async function getTemplateRow(q: Queryable, id: string): Promise<TemplateRow> {
  const t = await findTemplate(q, id);
  if (!t) throw new NotFoundError('notification_template', id);
  return t;
}

export async function listTemplates(q: Queryable, f: { key?: string; locale?: string }, list: ListParams) {
  const { rows, hasMore } = await listTemplateRows(q, f, list);
  return { data: rows.map(serializeTemplate), hasMore };
}

export interface TemplateInput {
  key?: string;
  locale?: string;
  channel?: 'email' | 'sms';
  description?: string | null;
  essential?: boolean;
  category?: string;
  subject?: string | null;
  html?: string | null;
  text?: string;
  required_lines?: string[];
  personalize?: boolean;
}

function checkTemplate(t: TemplateInput): void {
  assertCompiles(t.subject, 'subject');
  assertCompiles(t.html, 'html');
  assertCompiles(t.text, 'text');
  (t.required_lines ?? []).forEach((l, i) => assertCompiles(l, `required_lines[${i}]`));
}

export async function createTemplate(q: Queryable, now: Date, input: Required<Pick<TemplateInput, 'key' | 'locale' | 'channel' | 'text'>> & TemplateInput) {
  checkTemplate(input);
  if (input.channel === 'email' && !input.subject) throw new InvalidRequestError('An email template needs a subject.', 'subject', 'parameter_missing');
  const { rows } = await q.query<TemplateRow>(
    `INSERT INTO notification_templates (id, key, locale, channel, description, essential, category, subject, html, text, required_lines, personalize, created, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ON CONFLICT (key, locale, channel) DO NOTHING RETURNING *`,
    [
      newId('tmpl'),
      input.key,
      input.locale,
      input.channel,
      input.description ?? null,
      input.essential ?? false,
      input.category ?? 'account_notices',
      input.subject ?? null,
      input.html ?? null,
      input.text,
      JSON.stringify(input.required_lines ?? []),
      input.personalize ?? false,
      now,
    ],
  );
  if (!rows[0]) throw new InvalidRequestError(`A ${input.channel} template '${input.key}' for locale ${input.locale} already exists; update it instead.`, 'key', 'template_exists');
  return serializeTemplate(rows[0]);
}

export async function updateTemplate(q: Queryable, now: Date, id: string, input: TemplateInput) {
  const before = await getTemplateRow(q, id);
  checkTemplate(input);
  const after = { ...before, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as TemplateRow;
  const { rows } = await q.query<TemplateRow>(
    `UPDATE notification_templates SET description = $2, essential = $3, category = $4, subject = $5, html = $6, text = $7, required_lines = $8, personalize = $9, updated = $10
      WHERE id = $1 RETURNING *`,
    [id, after.description, after.essential, after.category, after.subject, after.html, after.text, JSON.stringify(after.required_lines), after.personalize, now],
  );
  return serializeTemplate(rows[0]!);
}

/** Sample values for previews; any given variable replaces its sample. */
export const SAMPLE_VARS: Record<string, string> = {
  customer_name: 'Ada Lovelace',
  customer_email: 'ada@example.com',
  customer_id: 'cus_sample',
  plan_name: 'Community Access',
  amount: '$97.00',
  payment_update_link: 'https://billing.example.com/pay/sample',
  last4: '4242',
  due_date: 'March 1, 2026',
  offer: 'Update your card this week and take 20% off your next invoice.',
  next_attempt_date: 'February 3, 2026',
  invoice_number: 'RECUR-000042',
  paid_date: 'February 1, 2026',
  expiry: '03/2026',
  days_left: '30',
  renewal_date: 'March 1, 2026',
  trial_end_date: 'February 4, 2026',
  days_overdue: '7',
  first_failed_date: 'February 1, 2026',
  attempts: '3',
  decline_reason: 'insufficient_funds',
  call_summary: 'no answer (Feb 2)',
  unsubscribe_link: 'https://billing.example.com/notifications/unsubscribe/sample',
};

export async function previewTemplate(q: Queryable, id: string, vars: Record<string, string> | undefined) {
  const t = await getTemplateRow(q, id);
  const r = render(t, { ...SAMPLE_VARS, ...(vars ?? {}) });
  return { object: 'notification_template_preview' as const, template: t.id, channel: t.channel, locale: t.locale, subject: r.subject, text: r.text, html: r.html };
}

// ---------- preferences ----------

export function serializePreferences(customer: string, p: PreferencesRow | null) {
  return {
    object: 'notification_preferences' as const,
    customer,
    locale: p?.locale ?? null,
    timezone: p?.timezone ?? null,
    unsubscribed: p?.unsubscribed ?? [],
  };
}

export async function getPreferences(q: Queryable, customerId: string) {
  if (!(await findCustomer(q, customerId))) throw new NotFoundError('customer', customerId);
  return serializePreferences(customerId, await findPreferences(q, customerId));
}

export async function updatePreferences(q: Queryable, now: Date, customerId: string, input: { timezone?: string | null; locale?: string | null; unsubscribed?: string[] }) {
  if (!(await findCustomer(q, customerId))) throw new NotFoundError('customer', customerId);
  if (input.timezone && !isValidTimezone(input.timezone)) throw new InvalidRequestError(`'${input.timezone}' is not an IANA timezone (e.g. America/New_York).`, 'timezone');
  const before = await findPreferences(q, customerId);
  const row = await upsertPreferences(q, {
    customer: customerId,
    timezone: input.timezone !== undefined ? input.timezone : (before?.timezone ?? null),
    locale: input.locale !== undefined ? input.locale : (before?.locale ?? null),
    unsubscribed: input.unsubscribed ?? before?.unsubscribed ?? [],
    updated: now,
  });
  return serializePreferences(customerId, row);
}

export async function unsubscribe(q: Queryable, now: Date, customerId: string, category: string): Promise<void> {
  const before = await findPreferences(q, customerId);
  const set = new Set(before?.unsubscribed ?? []);
  set.add(category);
  await upsertPreferences(q, { customer: customerId, timezone: before?.timezone ?? null, locale: before?.locale ?? null, unsubscribed: [...set], updated: now });
}
