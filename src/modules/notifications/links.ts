import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NotificationConfig } from '../../config.js';
import type { Queryable } from '../../db/index.js';

// Signed links for customers (the payment-update page, one-click unsubscribe): a base64url JSON
// payload and an HMAC-SHA256 over it. The secret is RECUR_PAY_LINK_SECRET, or a random one created
// once and kept in the database, so every process of an installation signs and verifies alike.

export type TokenCheck<T> = { ok: true; payload: T } | { ok: false; reason: 'malformed' | 'bad_signature' };

export async function linkSecret(q: Queryable, cfg: NotificationConfig, now: Date): Promise<string> {
  if (cfg.payLinkSecret) return cfg.payLinkSecret;
  const fresh = randomBytes(32).toString('base64url');
  await q.query(`INSERT INTO dunning_settings (key, value, updated) VALUES ('link_secret', $1, $2) ON CONFLICT (key) DO NOTHING`, [JSON.stringify(fresh), now]);
  const { rows } = await q.query<{ value: string }>(`SELECT value FROM dunning_settings WHERE key = 'link_secret'`);
  return rows[0]!.value;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}

export function signToken(secret: string, payload: object): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

export function verifyToken<T>(secret: string, token: string): TokenCheck<T> {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(mac(secret, m[1]!));
  const given = Buffer.from(m[2]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad_signature' };
  try {
    return { ok: true, payload: JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as T };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

/** A pay link: one customer, one invoice, an expiry (Unix seconds), and the message that carried it. */
export interface PayToken {
  c: string;
  i: string;
  e: number;
  m?: string;
}

export async function payLink(q: Queryable, cfg: NotificationConfig, now: Date, t: { customer: string; invoice: string; message?: string }): Promise<string> {
  const secret = await linkSecret(q, cfg, now);
  const token = signToken(secret, { c: t.customer, i: t.invoice, e: Math.floor(now.getTime() / 1000) + cfg.payLinkTtlHours * 3600, ...(t.message ? { m: t.message } : {}) });
  return `${cfg.publicUrl}/pay/${token}`;
}

export interface UnsubscribeToken {
  c: string;
  k: string;
}

export async function unsubscribeLink(q: Queryable, cfg: NotificationConfig, now: Date, customer: string, category: string): Promise<string> {
  const secret = await linkSecret(q, cfg, now);
  return `${cfg.publicUrl}/notifications/unsubscribe/${signToken(secret, { c: customer, k: category })}`;
}
