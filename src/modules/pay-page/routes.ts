import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../../core/errors/index.js';
import { newId } from '../../core/ids/index.js';
import { formatMoney } from '../../core/money/index.js';
import type { Queryable } from '../../db/index.js';
import type { AppDeps } from '../../deps.js';
import { findCustomer } from '../customers/repository.js';
import { updateCustomer } from '../customers/service.js';
import { describeOffer } from '../dunning/domain/plans.js';
import { acceptOffer } from '../dunning/offers.js';
import { findCampaignByInvoice, offersOf, updateCampaign } from '../dunning/repository.js';
import { currentPaymentMethod, localeTag, noteFailure, planNameOf, recover, type RecoveryChannel } from '../dunning/service.js';
import { recordEvent } from '../events/service.js';
import { findInvoice, type InvoiceRow } from '../invoices/repository.js';
import { payInvoice } from '../invoices/service.js';
import { linkSecret, verifyToken, type PayToken } from '../notifications/links.js';
import { insertPaymentMethod } from '../payments/repository.js';
import { attachPaymentMethod, createPaymentMethod, serializePaymentMethod } from '../payments/service.js';
import { effectiveNow } from '../subscriptions/service.js';
import { messagePage, payPage, type PayPageModel } from './html.js';

// GET /pay/:token — the hosted payment-update page. The token (signed, expiring) names one customer
// and one invoice; the page shows the amount due and a card form. Posting a card tokenises it with
// the default gateway (the simulated one unless another is configured), attaches it, makes it the
// customer's default, retries the invoice at once and shows the outcome. Offers of the invoice's
// campaign can be taken on the same page. A bad or expired link gets a page that says so.

type Resolved =
  | { ok: true; token: PayToken; invoice: InvoiceRow; now: Date; locale: string }
  | { ok: false; status: number; title: string; text: string };

async function resolve(q: Queryable, deps: AppDeps, raw: string): Promise<Resolved> {
  const secret = await linkSecret(q, deps.config.notifications, deps.clock.now());
  const t = verifyToken<PayToken>(secret, raw);
  const invalid = { ok: false as const, status: 400, title: 'This link is not valid', text: 'The payment link is incomplete or has been altered. Please use the link from your most recent email, or contact us for a new one.' };
  if (!t.ok || typeof t.payload.c !== 'string' || typeof t.payload.i !== 'string' || typeof t.payload.e !== 'number') return invalid;
  const invoice = await findInvoice(q, t.payload.i);
  const customer = await findCustomer(q, t.payload.c);
  if (!invoice || !customer || invoice.customer !== customer.id) return invalid;
  const now = await effectiveNow(q, customer.test_clock, deps.clock.now());
  if (t.payload.e * 1000 <= now.getTime()) {
    return { ok: false, status: 410, title: 'This link has expired', text: 'For your security, payment links expire. Please use the link from your most recent email, or contact us for a new one.' };
  }
  return { ok: true, token: t.payload, invoice, now, locale: customer.preferred_locales[0] ?? 'en' };
}

async function model(q: Queryable, deps: AppDeps, r: Extract<Resolved, { ok: true }>, action: string, notice: PayPageModel['notice']): Promise<PayPageModel> {
  const inv = (await findInvoice(q, r.invoice.id))!;
  const amount = formatMoney({ amount: inv.status === 'paid' ? inv.amount_paid : inv.amount_remaining, currency: inv.currency }, localeTag(r.locale));
  const campaign = await findCampaignByInvoice(q, inv.id);
  const pm = await currentPaymentMethod(q, inv);
  const offers =
    campaign?.status === 'active'
      ? (await offersOf(q, campaign.id))
          .filter((o) => o.status === 'offered')
          .map((o) => ({ id: o.id, text: describeOffer(o.terms, (m) => formatMoney({ amount: m, currency: inv.currency }, localeTag(r.locale)), inv.amount_remaining) }))
      : [];
  const payable = inv.status === 'open';
  return {
    title: inv.status === 'paid' ? 'Paid — thank you' : payable ? 'Update your payment details' : 'Nothing to pay',
    amount,
    invoiceNumber: inv.number,
    planName: await planNameOf(q, inv.id),
    cardOnFile: pm ? `•••• ${pm.last4}` : null,
    needsNewCard: Boolean(campaign && pm && (campaign.blocked_payment_methods.includes(pm.id) || campaign.needs_payment_method)),
    action,
    offers,
    notice: notice ?? (payable ? null : inv.status === 'paid' ? { kind: 'success', text: 'This invoice is paid.' } : { kind: 'info', text: `This invoice is ${inv.status}; there is nothing to pay.` }),
    stripePublishableKey: deps.config.notifications.stripePublishableKey ?? null,
    showForm: payable,
  };
}

function send(reply: FastifyReply, status: number, html: string) {
  return reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').send(html);
}

async function channelOf(q: Queryable, token: PayToken): Promise<RecoveryChannel> {
  if (!token.m) return 'email';
  const { rows } = await q.query<{ channel: 'email' | 'sms' }>(`SELECT channel FROM notification_messages WHERE id = $1`, [token.m]);
  return rows[0]?.channel ?? 'email';
}

interface CardForm {
  number?: string;
  exp_month?: string;
  exp_year?: string;
  cvc?: string;
  name?: string;
  stripe_payment_method?: string;
  card_brand?: string;
  card_last4?: string;
  card_exp_month?: string;
  card_exp_year?: string;
}

/** Saves the posted card for the customer and makes it their default; returns its id. */
async function saveCard(q: Queryable, deps: AppDeps, customer: string, now: Date, f: CardForm): Promise<string> {
  let pmId: string;
  if (f.stripe_payment_method) {
    try {
      deps.gateways.get('stripe');
    } catch {
      throw new AppError(400, 'invalid_request_error', 'stripe_not_configured', 'Card payments through Stripe are not configured on this server.');
    }
    const row = await insertPaymentMethod(q, {
      id: newId('pm'),
      customer,
      type: 'card',
      card: {
        brand: f.card_brand ?? 'unknown',
        last4: (f.card_last4 ?? '').slice(-4),
        exp_month: Number(f.card_exp_month) || 1,
        exp_year: Number(f.card_exp_year) || 2000,
        country: null,
        fingerprint: f.stripe_payment_method,
        funding: 'unknown',
        cvc_check: null,
      },
      billing_details: { address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null }, email: null, name: f.name ?? null, phone: null },
      gateway: 'stripe',
      gateway_token: f.stripe_payment_method,
      metadata: {},
      created: now,
      detached_at: null,
    });
    await recordEvent(q, now, { type: 'payment_method.attached', object: serializePaymentMethod(row), customerId: customer });
    pmId = row.id;
  } else {
    const expYear = Number(f.exp_year);
    const pm = await createPaymentMethod(q, deps, now, {
      type: 'card',
      card: { number: (f.number ?? '').replace(/[\s-]/g, ''), exp_month: Number(f.exp_month), exp_year: expYear, ...(f.cvc ? { cvc: f.cvc } : {}) },
      ...(f.name ? { billing_details: { name: f.name } } : {}),
    } as Parameters<typeof createPaymentMethod>[3]);
    await attachPaymentMethod(q, deps, now, pm.id, customer);
    pmId = pm.id;
  }
  await updateCustomer(q, deps, now, customer, { invoice_settings: { default_payment_method: pmId } });
  return pmId;
}

/** `/pay/<token>` and `/pay/<token>/offers/<id>`: a wildcard, because tokens are longer than Fastify's parameter limit. */
function parsePath(rest: string): { token: string; offer: string | null } | null {
  const parts = rest.split('/');
  if (parts.length === 1 && parts[0]) return { token: parts[0], offer: null };
  if (parts.length === 3 && parts[0] && parts[1] === 'offers' && parts[2]) return { token: parts[0], offer: parts[2] };
  return null;
}

export function payPageRoutes(app: FastifyInstance, deps: AppDeps): void {
  const notFound = (reply: FastifyReply) => send(reply, 404, messagePage('Page not found', 'This address does not lead to a payment page.'));

  app.get<{ Params: { '*': string } }>('/pay/*', async (req, reply) => {
    const path = parsePath(req.params['*']);
    if (!path || path.offer) return notFound(reply);
    const r = await resolve(deps.db, deps, path.token);
    if (!r.ok) return send(reply, r.status, messagePage(r.title, r.text));
    return send(reply, 200, payPage(await model(deps.db, deps, r, `/pay/${path.token}`, null)));
  });

  app.post<{ Params: { '*': string }; Body: CardForm }>('/pay/*', async (req, reply) => {
    const path = parsePath(req.params['*']);
    if (!path) return notFound(reply);
    if (path.offer) return takeOffer(reply, path.token, path.offer);
    const action = `/pay/${path.token}`;
    const params = { token: path.token };
    const form = (req.body ?? {}) as CardForm;
    try {
      const out = await deps.db.tx(async (q) => {
        const r = await resolve(q, deps, params.token);
        if (!r.ok) return { status: r.status, html: messagePage(r.title, r.text) };
        const inv = (await findInvoice(q, r.invoice.id, true))!;
        if (inv.status !== 'open') return { status: 200, html: payPage(await model(q, deps, r, action, null)) };
        const pmId = await saveCard(q, deps, inv.customer, r.now, form);
        const campaign = await findCampaignByInvoice(q, inv.id, true);
        const res = await payInvoice(q, deps, inv.id, r.now, { paymentMethod: pmId, manual: true });
        if (res.succeeded) {
          if (campaign?.status === 'active') await recover(q, campaign, r.now, await channelOf(q, r.token), campaign.next_step > 0 ? campaign.next_step - 1 : 0);
          return { status: 200, html: payPage(await model(q, deps, r, action, { kind: 'success', text: 'Thank you! Your card was saved and the payment went through.' })) };
        }
        if (campaign?.status === 'active') await noteFailure(q, await updateCampaign(q, campaign.id, { last_payment_method: pmId, needs_payment_method: false, updated: r.now }), r.now);
        const why = res.error?.message ?? 'The payment did not go through.';
        return { status: 402, html: payPage(await model(q, deps, r, action, { kind: 'error', text: `Your card was saved, but the payment did not go through: ${why} Please try another card.` })) };
      });
      return send(reply, out.status, out.html);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      // A card the gateway refuses to tokenise (wrong number, past expiry): nothing was saved.
      const r = await resolve(deps.db, deps, params.token);
      if (!r.ok) return send(reply, r.status, messagePage(r.title, r.text));
      return send(reply, err.status >= 500 ? 502 : 400, payPage(await model(deps.db, deps, r, action, { kind: 'error', text: err.message })));
    }
  });

  async function takeOffer(reply: FastifyReply, token: string, offerId: string) {
    const action = `/pay/${token}`;
    try {
      const out = await deps.db.tx(async (q) => {
        const r = await resolve(q, deps, token);
        if (!r.ok) return { status: r.status, html: messagePage(r.title, r.text) };
        const campaign = await findCampaignByInvoice(q, r.invoice.id);
        const offer = campaign ? (await offersOf(q, campaign.id)).find((o) => o.id === offerId) : undefined;
        if (!offer) return { status: 404, html: payPage(await model(q, deps, r, action, { kind: 'error', text: 'This offer is not available.' })) };
        const taken = await acceptOffer(q, offer.id, r.now, { customer: r.token.c });
        const text =
          taken.kind === 'discount'
            ? 'Done: the discount applies to your next invoices. You can update your card below.'
            : taken.kind === 'trial_extension'
              ? 'Done: your trial is extended. Nothing is due today.'
              : 'Done: the amount is split into installments; the first one is charged shortly.';
        return { status: 200, html: payPage(await model(q, deps, r, action, { kind: 'success', text })) };
      });
      return send(reply, out.status, out.html);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      const r = await resolve(deps.db, deps, token);
      if (!r.ok) return send(reply, r.status, messagePage(r.title, r.text));
      return send(reply, 409, payPage(await model(deps.db, deps, r, action, { kind: 'error', text: err.message })));
    }
  }
}
