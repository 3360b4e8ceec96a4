import Handlebars from 'handlebars';
import { InvalidRequestError } from '../../core/errors/index.js';

// Templates are data (stored, editable through the API, one row per key × locale × channel) and are
// rendered with Handlebars: HTML escaped, text and subjects verbatim. The layout, not the template,
// adds the unsubscribe footer to non-essential messages, so no edit can drop it.

export interface TemplateRow {
  id: string;
  key: string;
  locale: string;
  channel: 'email' | 'sms';
  description: string | null;
  essential: boolean;
  category: string;
  subject: string | null;
  html: string | null;
  text: string;
  required_lines: string[];
  personalize: boolean;
  created: Date;
  updated: Date;
}

export interface Rendered {
  subject: string | null;
  text: string;
  html: string | null;
  /** Rendered required lines (for the personalisation guardrail). */
  required: string[];
}

const hb = Handlebars.create();

function compile(source: string, escape: boolean): Handlebars.TemplateDelegate {
  return hb.compile(source, { noEscape: !escape, strict: false, knownHelpersOnly: false });
}

/** Throws a 400 naming `param` when a template does not compile. */
export function assertCompiles(source: string | null | undefined, param: string): void {
  if (source === null || source === undefined) return;
  try {
    hb.precompile(source);
  } catch (err) {
    throw new InvalidRequestError(`The template does not compile: ${(err as Error).message.split('\n')[0]}`, param, 'template_invalid');
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Wraps an HTML fragment in a minimal responsive layout (inline styles: mail clients drop <style>). */
export function htmlLayout(fragment: string, opts: { unsubscribeLink: string | null; title: string }): string {
  const footer = opts.unsubscribeLink
    ? `<p style="margin-top:32px;font-size:12px;color:#6b7280">You receive this because you have an account with us. <a href="${escapeHtml(opts.unsubscribeLink)}" style="color:#6b7280">Unsubscribe</a> from these notices.</p>`
    : '';
  return (
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(opts.title)}</title></head>` +
    `<body style="margin:0;padding:0;background:#f3f4f6"><div style="max-width:560px;margin:0 auto;padding:24px;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#111827;background:#ffffff">` +
    `${fragment}${footer}</div></body></html>`
  );
}

/** Plain text turned into the same layout (used for personalised rewrites). */
export function textToHtml(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>').replace(/https?:\/\/[^\s<]+/g, (u) => `<a href="${u}">${u}</a>`)}</p>`)
    .join('');
}

export function render(t: Pick<TemplateRow, 'channel' | 'subject' | 'html' | 'text' | 'required_lines' | 'essential'>, vars: Record<string, unknown>): Rendered {
  const unsubscribe = t.essential ? null : typeof vars.unsubscribe_link === 'string' ? vars.unsubscribe_link : null;
  const subject = t.subject !== null ? compile(t.subject, false)(vars).replace(/\s+/g, ' ').trim() : null;
  let text = compile(t.text, false)(vars).trim();
  if (unsubscribe && !text.includes(unsubscribe)) text += `\n\nUnsubscribe from these notices: ${unsubscribe}`;
  const html = t.channel === 'email' && t.html ? htmlLayout(compile(t.html, true)(vars), { unsubscribeLink: unsubscribe, title: subject ?? '' }) : null;
  const required = t.required_lines.map((l) => compile(l, false)(vars).trim()).filter((l) => l.length > 0);
  return { subject, text, html, required };
}
