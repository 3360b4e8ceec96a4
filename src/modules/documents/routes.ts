import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../core/errors/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { listObject } from '../../http/pagination.js';
import { Respond, type Router } from '../../http/router.js';
import { listQuery, zExpand } from '../../http/schemas.js';
import { getCreditNoteRow } from '../credit-notes/service.js';
import { escapeHtml } from '../notifications/templates.js';
import { messagePage, shell } from '../pay-page/html.js';
import { findInvoice, linesOf, type InvoiceRow } from '../invoices/repository.js';
import { getInvoiceRow, payInvoice } from '../invoices/service.js';
import { attachPaymentMethod, createPaymentMethod, defaultPaymentMethodFor } from '../payments/service.js';
import { effectiveNow } from '../subscriptions/service.js';
import { readHostedToken } from './links.js';
import { invoiceModel, loadCreditNoteDocument, money, type DocumentModel } from './model.js';
import { bankTransferBody, getBankTransfer, invoiceForReference, listBankTransfers, recordBankTransfer } from './net-terms.js';
import { renderPdf } from './pdf.js';

const idParams = z.object({ id: z.string().min(1) });
const pdfHeaders = (name: string) => ({ 'content-type': 'application/pdf', 'content-disposition': `inline; filename="${name.replace(/[^A-Za-z0-9_-]/g, '_')}.pdf"` });

export async function invoicePdf(q: Queryable, deps: AppDeps, inv: InvoiceRow): Promise<Buffer> {
  const lines = (await linesOf(q, [inv.id])).get(inv.id)!;
  return renderPdf(invoiceModel(inv, lines, deps.config.documents));
}

export function documentRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/invoices/{id}/pdf',
    summary: 'The invoice as PDF (the same bytes every time for the same invoice state)',
    tag: 'Invoices',
    scope: 'read',
    params: idParams,
    handler: async ({ q, deps, params }) => {
      const inv = await getInvoiceRow(q, params.id);
      return new Respond(200, await invoicePdf(q, deps, inv), pdfHeaders(`invoice-${inv.number ?? inv.id}`));
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/credit_notes/{id}/pdf',
    summary: 'The credit note as PDF',
    tag: 'Credit notes',
    scope: 'read',
    params: idParams,
    handler: async ({ q, deps, params }) => {
      const cn = await getCreditNoteRow(q, params.id);
      return new Respond(200, await renderPdf(await loadCreditNoteDocument(q, cn, deps.config.documents)), pdfHeaders(`credit-note-${cn.number}`));
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/bank_transfers',
    summary: 'Record a bank transfer received; its reference (the invoice number) says which invoice it pays — partial transfers leave the rest open',
    tag: 'Invoices',
    scope: 'write',
    body: bankTransferBody,
    handler: async ({ q, now, body }) => {
      // The transfer lands at the invoice's time (its customer's test clock, if any).
      const inv = await invoiceForReference(q, body.reference);
      return recordBankTransfer(q, await effectiveNow(q, inv.test_clock, now), body);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/bank_transfers/{id}',
    summary: 'Retrieve a bank transfer',
    tag: 'Invoices',
    scope: 'read',
    params: idParams,
    query: z.strictObject({ expand: zExpand() }),
    handler: ({ q, params }) => getBankTransfer(q, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/bank_transfers',
    summary: 'List bank transfers',
    tag: 'Invoices',
    scope: 'read',
    query: z.strictObject({ ...listQuery, invoice: z.string().optional(), customer: z.string().optional() }),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listBankTransfers(q, { invoice: query.invoice, customer: query.customer }, query);
      return listObject('/v1/bank_transfers', data, hasMore);
    },
  });
}

// ---- the hosted invoice page: public, the signed token is the credential ----

type Resolved = { ok: true; invoice: InvoiceRow; now: Date } | { ok: false; status: number; title: string; text: string };

async function resolve(q: Queryable, deps: AppDeps, token: string): Promise<Resolved> {
  const check = await readHostedToken(q, deps.config, deps.clock.now(), token);
  const invalid = { ok: false as const, status: 400, title: 'This link is not valid', text: 'The invoice link is incomplete or has been altered. Please use the link from your invoice email, or contact us.' };
  if (!check.ok) return invalid;
  const invoice = await findInvoice(q, check.invoice);
  if (!invoice) return invalid;
  const now = await effectiveNow(q, invoice.test_clock, deps.clock.now());
  if (check.expiresAt * 1000 <= now.getTime()) {
    return { ok: false, status: 410, title: 'This link has expired', text: 'For your security, invoice links expire. Please contact us for a new one.' };
  }
  return { ok: true, invoice, now };
}

function send(reply: FastifyReply, status: number, html: string) {
  return reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send(html);
}

interface SavedCard {
  id: string;
  brand: string;
  last4: string;
}

async function savedCard(q: Queryable, inv: InvoiceRow): Promise<SavedCard | null> {
  const sub = inv.subscription ? (await q.query<{ default_payment_method: string | null }>(`SELECT default_payment_method FROM subscriptions WHERE id = $1`, [inv.subscription])).rows[0] : undefined;
  const id = inv.default_payment_method ?? (await defaultPaymentMethodFor(q, { subscriptionDefault: sub?.default_payment_method ?? null, customerId: inv.customer }));
  if (!id) return null;
  const { rows } = await q.query<{ id: string; brand: string; last4: string }>(
    `SELECT id, card->>'brand' AS brand, card->>'last4' AS last4 FROM payment_methods WHERE id = $1 AND customer = $2 AND detached_at IS NULL`,
    [id, inv.customer],
  );
  return rows[0] ?? null;
}

function documentHtml(m: DocumentModel): string {
  const rows = m.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.description)}${l.period ? `<div class="muted">${escapeHtml(l.period)}</div>` : ''}</td><td class="r">${escapeHtml(l.quantity)}</td><td class="r">${escapeHtml(l.tax)}</td><td class="r">${escapeHtml(l.amount)}</td></tr>`,
    )
    .join('');
  const totals = m.totals.map((t) => `<tr${t.strong ? ' class="strong"' : ''}><td colspan="3" class="r">${escapeHtml(t.label)}</td><td class="r">${escapeHtml(t.value)}</td></tr>`).join('');
  const taxes = m.taxBreakdown.length
    ? `<h2>Tax summary</h2><table><tr class="muted"><td>Rate</td><td class="r">Taxable amount</td><td class="r">Tax</td></tr>${m.taxBreakdown
        .map((t) => `<tr><td>${escapeHtml(t.label)}</td><td class="r">${escapeHtml(t.taxable)}</td><td class="r">${escapeHtml(t.amount)}</td></tr>`)
        .join('')}</table>`
    : '';
  const meta = m.meta.map(([k, v]) => `<div><span class="muted">${escapeHtml(k)}</span> ${escapeHtml(v)}</div>`).join('');
  return `<p class="muted">${escapeHtml(m.seller.name)}${m.seller.lines.length ? ' · ' + m.seller.lines.map(escapeHtml).join(' · ') : ''}</p>
<h1>${escapeHtml(m.title)} ${escapeHtml(m.number)}</h1>${meta}
<p><strong>Bill to</strong><br>${[m.buyer.title, ...m.buyer.lines].map(escapeHtml).join('<br>')}</p>
${m.shipTo ? `<p><strong>Ship to</strong><br>${[m.shipTo.title, ...m.shipTo.lines].map(escapeHtml).join('<br>')}</p>` : ''}
<table><tr class="muted"><td>Description</td><td class="r">Qty</td><td class="r">Tax</td><td class="r">Amount</td></tr>${rows}${totals}</table>${taxes}
${m.notes.map((n) => `<p class="muted">${escapeHtml(n)}</p>`).join('')}
${m.payment ? `<div class="notice info">${m.payment.lines.map(escapeHtml).join('<br>')}</div>` : ''}`;
}

const EXTRA_CSS = `<style>main{max-width:720px}table{width:100%;border-collapse:collapse;margin:12px 0;font-size:14px}td{padding:6px 4px;border-bottom:1px solid #eee;vertical-align:top}
.r{text-align:right}.strong td{font-weight:700}h2{font-size:16px;margin-top:20px}.status{font-size:18px;font-weight:700;margin:12px 0}.pay{border-top:1px solid #eee;margin-top:20px;padding-top:12px}</style>`;

async function hostedPage(q: Queryable, deps: AppDeps, token: string, inv: InvoiceRow, notice: { kind: 'error' | 'success' | 'info'; text: string } | null): Promise<string> {
  const lines = (await linesOf(q, [inv.id])).get(inv.id)!;
  const model = invoiceModel(inv, lines, deps.config.documents);
  const base = `/invoice/${token}`;
  let pay = '';
  if (inv.status === 'open' && Number(inv.amount_remaining) > 0) {
    const amount = escapeHtml(money(inv.amount_remaining, inv.currency));
    const card = await savedCard(q, inv);
    const saved = card
      ? `<form method="post" action="${base}/pay"><input type="hidden" name="use_saved" value="1"><button type="submit">Pay ${amount} with ${escapeHtml(card.brand)} •••• ${escapeHtml(card.last4)}</button></form><p class="muted">Or pay with another card:</p>`
      : '';
    pay = `<div class="pay"><h2>Pay this invoice</h2>${saved}<form method="post" action="${base}/pay" autocomplete="on">
<label for="name">Name on card</label><input id="name" name="name" autocomplete="cc-name">
<label for="number">Card number</label><input id="number" name="number" inputmode="numeric" autocomplete="cc-number" required>
<div class="row"><div><label for="exp_month">Month</label><input id="exp_month" name="exp_month" inputmode="numeric" placeholder="MM" required></div>
<div><label for="exp_year">Year</label><input id="exp_year" name="exp_year" inputmode="numeric" placeholder="YYYY" required></div>
<div><label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc"></div></div>
<button type="submit">Pay ${amount}</button></form><p class="muted">Card details go to the payment processor; they are never stored by us.</p></div>`;
  }
  const noticeHtml = notice ? `<div class="notice ${notice.kind}" role="status">${escapeHtml(notice.text)}</div>` : '';
  const body = `${noticeHtml}<div class="status">${escapeHtml(model.status)}</div><p><a href="${base}/pdf">Download PDF</a></p>${documentHtml(model)}${pay}`;
  return shell(`${model.title} ${model.number}`, body, EXTRA_CSS);
}

interface PayForm {
  use_saved?: string;
  number?: string;
  exp_month?: string;
  exp_year?: string;
  cvc?: string;
  name?: string;
}

/** `/invoice/<token>`, `/invoice/<token>/pdf`, `/invoice/<token>/pay` (a wildcard: tokens exceed Fastify's parameter limit). */
function parsePath(rest: string): { token: string; action: '' | 'pdf' | 'pay' } | null {
  const [token, action, ...more] = rest.split('/');
  if (!token || more.length) return null;
  if (action === undefined) return { token, action: '' };
  if (action === 'pdf' || action === 'pay') return { token, action };
  return null;
}

export function hostedInvoiceRoutes(app: FastifyInstance, deps: AppDeps): void {
  const notFound = (reply: FastifyReply) => send(reply, 404, messagePage('Page not found', 'This address does not lead to an invoice.'));

  app.get<{ Params: { '*': string } }>('/invoice/*', async (req, reply) => {
    const path = parsePath(req.params['*']);
    if (!path || path.action === 'pay') return notFound(reply);
    const r = await resolve(deps.db, deps, path.token);
    if (!r.ok) return send(reply, r.status, messagePage(r.title, r.text));
    if (path.action === 'pdf') {
      const pdf = await invoicePdf(deps.db, deps, r.invoice);
      return reply.code(200).headers(pdfHeaders(`invoice-${r.invoice.number ?? r.invoice.id}`)).header('Cache-Control', 'no-store').send(pdf);
    }
    return send(reply, 200, await hostedPage(deps.db, deps, path.token, r.invoice, null));
  });

  app.post<{ Params: { '*': string }; Body: PayForm }>('/invoice/*', async (req, reply) => {
    const path = parsePath(req.params['*']);
    if (!path || path.action !== 'pay') return notFound(reply);
    const form = (req.body ?? {}) as PayForm;
    try {
      const out = await deps.db.tx(async (q) => {
        const r = await resolve(q, deps, path.token);
        if (!r.ok) return { status: r.status, html: messagePage(r.title, r.text) };
        const inv = (await findInvoice(q, r.invoice.id, true))!;
        if (inv.status !== 'open') return { status: 200, html: await hostedPage(q, deps, path.token, inv, null) };
        let pm: string | undefined;
        if (form.use_saved) {
          const card = await savedCard(q, inv);
          if (!card) return { status: 400, html: await hostedPage(q, deps, path.token, inv, { kind: 'error', text: 'There is no saved card; enter a card below.' }) };
          pm = card.id;
        } else {
          const created = await createPaymentMethod(q, deps, r.now, {
            type: 'card',
            card: { number: (form.number ?? '').replace(/[\s-]/g, ''), exp_month: Number(form.exp_month), exp_year: Number(form.exp_year), ...(form.cvc ? { cvc: form.cvc } : {}) },
            ...(form.name ? { billing_details: { name: form.name } } : {}),
          } as Parameters<typeof createPaymentMethod>[3]);
          await attachPaymentMethod(q, deps, r.now, created.id, inv.customer);
          pm = created.id;
        }
        const res = await payInvoice(q, deps, inv.id, r.now, { paymentMethod: pm, manual: true });
        const after = (await findInvoice(q, inv.id))!;
        if (res.succeeded) return { status: 200, html: await hostedPage(q, deps, path.token, after, { kind: 'success', text: 'Thank you! Your payment went through.' }) };
        return { status: 402, html: await hostedPage(q, deps, path.token, after, { kind: 'error', text: `The payment did not go through: ${res.error?.message ?? 'declined'} Please try another card.` }) };
      });
      return send(reply, out.status, out.html);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // A card the gateway refuses to tokenise: nothing was saved or charged.
      const r = await resolve(deps.db, deps, path.token);
      if (!r.ok) return send(reply, r.status, messagePage(r.title, r.text));
      return send(reply, err.status >= 500 ? 502 : 400, await hostedPage(deps.db, deps, path.token, r.invoice, { kind: 'error', text: err.message }));
    }
  });
}
