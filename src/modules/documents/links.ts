import type { Config } from '../../config.js';
import type { Queryable } from '../../db/index.js';
import { linkSecret, signToken, verifyToken } from '../notifications/links.js';

// The hosted invoice link (Stripe's hosted_invoice_url): a signed, expiring token naming one
// invoice, made when the invoice is finalised and stored on it. It uses the installation's link
// secret (the one pay links use), with its own payload shape, so neither kind of link opens the
// other's page. It works until RECUR_HOSTED_INVOICE_TTL_DAYS after the due date (or finalisation).

export interface HostedInvoiceToken {
  /** The invoice. */
  h: string;
  /** Expiry, Unix seconds. */
  e: number;
}

export type LinkConfig = Pick<Config, 'notifications' | 'documents'>;

export function hostedInvoiceExpiry(cfg: LinkConfig, finalizedAt: Date, dueDate: Date | null): number {
  const from = dueDate && dueDate > finalizedAt ? dueDate : finalizedAt;
  return Math.floor(from.getTime() / 1000) + cfg.documents.hostedInvoiceTtlDays * 86_400;
}

/** Makes the links of invoices being finalised now (one secret lookup for the batch). */
export async function hostedInvoiceUrls(q: Queryable, cfg: LinkConfig, now: Date, invoices: { id: string; due_date: Date | null }[]): Promise<Map<string, string>> {
  if (invoices.length === 0) return new Map();
  const secret = await linkSecret(q, cfg.notifications, now);
  return new Map(
    invoices.map((inv) => {
      const token = signToken(secret, { h: inv.id, e: hostedInvoiceExpiry(cfg, now, inv.due_date ? new Date(inv.due_date) : null) } satisfies HostedInvoiceToken);
      return [inv.id, `${cfg.notifications.publicUrl}/invoice/${token}`];
    }),
  );
}

export type HostedCheck = { ok: true; invoice: string; expiresAt: number } | { ok: false; reason: 'invalid' };

export async function readHostedToken(q: Queryable, cfg: LinkConfig, now: Date, token: string): Promise<HostedCheck> {
  const secret = await linkSecret(q, cfg.notifications, now);
  const t = verifyToken<HostedInvoiceToken>(secret, token);
  if (!t.ok || typeof t.payload.h !== 'string' || typeof t.payload.e !== 'number') return { ok: false, reason: 'invalid' };
  return { ok: true, invoice: t.payload.h, expiresAt: t.payload.e };
}
