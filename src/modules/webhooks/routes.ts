import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors/index.js';
import { toUnix } from '../../core/time/index.js';
import type { AppDeps } from '../../deps.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery, zList } from '../../http/schemas.js';
import { createPayPalClient, verifyPayPalWebhook } from '../payments/paypal-gateway.js';
import { findInboxRow, InboxWriter, listInbox, markForReplay, serializeInboxRow, type IncomingEvent } from './inbox.js';
import { verifyStripeSignature } from './stripe-signature.js';

// Inbound webhooks. POST /webhooks/stripe and /webhooks/paypal read the raw body (a content-type
// parser scoped to this plugin: the rest of the API keeps its JSON and form parsing), verify it,
// store the event in the inbox (deduplicated by event id) and answer 200 at once; the worker does the
// rest. A delivery that fails verification is answered 400 and nothing is stored.

function reject(reply: FastifyReply, code: string, message: string) {
  return reply.code(400).send({ error: { type: 'invalid_request_error', code, message } });
}

function parseEvent(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function webhookIngressRoutes(app: FastifyInstance, opts: { deps: AppDeps }): Promise<void> {
  const { deps } = opts;
  const cfg = deps.config.payments;
  // PostgreSQL: a few batches in flight on the pool's connections; PGlite has one connection anyway.
  const writer = new InboxWriter(deps.db, () => deps.clock.now(), { maxInFlight: deps.db.kind === 'postgres' ? Math.max(1, Math.min(4, deps.config.dbPoolSize - 2)) : 1 });
  const paypalClient = cfg.paypal ? createPayPalClient(cfg.paypal) : null;

  // Scoped to this plugin: whatever the content type, the body arrives as the exact bytes sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.config.bodyLimit }, (_req, body, done) => done(null, body));

  const store = async (reply: FastifyReply, e: IncomingEvent) => {
    const inserted = await writer.store(e);
    return reply.code(200).send({ received: true, duplicate: !inserted });
  };

  app.post('/webhooks/stripe', async (req: FastifyRequest, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const header = req.headers['stripe-signature'];
    const v = verifyStripeSignature(raw, typeof header === 'string' ? header : undefined, cfg.webhooks.stripeSecrets, toUnix(deps.clock.now()), cfg.webhooks.toleranceSeconds);
    if (!v.ok) return reject(reply, `signature_${v.reason}`, `The Stripe-Signature could not be verified (${v.reason.replace(/_/g, ' ')}).`);
    const text = raw.toString('utf8');
    const evt = parseEvent(text);
    if (!evt || typeof evt.id !== 'string' || typeof evt.type !== 'string') return reject(reply, 'invalid_event', 'The body is not a Stripe event.');
    return store(reply, {
      source: 'stripe',
      eventId: evt.id,
      type: evt.type,
      eventCreated: typeof evt.created === 'number' ? new Date(evt.created * 1000) : null,
      payload: text,
    });
  });

  app.post('/webhooks/paypal', async (req: FastifyRequest, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!paypalClient || !cfg.webhooks.paypalWebhookId) return reject(reply, 'paypal_not_configured', 'PayPal webhooks are not configured (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID).');
    const h = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const input = {
      authAlgo: h('paypal-auth-algo'),
      certUrl: h('paypal-cert-url'),
      transmissionId: h('paypal-transmission-id'),
      transmissionSig: h('paypal-transmission-sig'),
      transmissionTime: h('paypal-transmission-time'),
      webhookId: cfg.webhooks.paypalWebhookId,
      rawEvent: raw.toString('utf8'),
    };
    if (!input.authAlgo || !input.certUrl || !input.transmissionId || !input.transmissionSig || !input.transmissionTime) {
      return reject(reply, 'signature_missing_header', 'The PayPal transmission headers are missing.');
    }
    const evt = parseEvent(input.rawEvent);
    if (!evt || typeof evt.id !== 'string' || typeof evt.event_type !== 'string') return reject(reply, 'invalid_event', 'The body is not a PayPal event.');
    let verified: boolean;
    try {
      verified = await verifyPayPalWebhook(paypalClient, input);
    } catch (err) {
      // PayPal could not be asked: not stored; PayPal delivers again later.
      req.log.warn({ err: (err as Error).message }, 'PayPal webhook verification call failed');
      return reply.code(503).send({ error: { type: 'api_error', code: 'verification_unavailable', message: 'PayPal could not verify the delivery now; retry later.' } });
    }
    if (!verified) return reject(reply, 'signature_mismatch', 'PayPal did not verify this delivery.');
    return store(reply, {
      source: 'paypal',
      eventId: evt.id,
      type: evt.event_type,
      eventCreated: typeof evt.create_time === 'string' && !Number.isNaN(Date.parse(evt.create_time)) ? new Date(evt.create_time) : null,
      payload: input.rawEvent,
    });
  });
}

const inboxObject = z.object({
  id: z.string(),
  object: z.literal('inbound_webhook_event'),
  source: z.enum(['stripe', 'paypal']),
  event_id: z.string(),
  type: z.string(),
  event_created: z.number().int().nullable(),
  status: z.enum(['pending', 'processed', 'failed', 'dead']),
  result: z.string().nullable(),
  attempts: z.number().int(),
  next_attempt_at: z.number().int().nullable(),
  last_error: z.string().nullable(),
  received_at: z.number().int(),
  processed_at: z.number().int().nullable(),
  payload: z.record(z.string(), z.unknown()).optional(),
});

export function webhookInboxRoutes(r: Router): void {
  r.route({
    method: 'GET',
    url: '/v1/webhook_inbox',
    summary: 'List inbound gateway webhook events with their processing status',
    tag: 'Inbound webhooks',
    scope: 'read',
    query: z.strictObject({
      ...listQuery,
      status: z.enum(['pending', 'processed', 'failed', 'dead']).optional(),
      source: z.enum(['stripe', 'paypal']).optional(),
      type: z.string().optional(),
    }),
    response: zList(inboxObject),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listInbox(q, { status: query.status, source: query.source, type: query.type }, query);
      return listObject('/v1/webhook_inbox', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/webhook_inbox/{id}',
    summary: 'Retrieve an inbound webhook event, with its payload',
    tag: 'Inbound webhooks',
    scope: 'read',
    params: z.object({ id: z.string().min(1) }),
    response: inboxObject,
    handler: async ({ q, params }) => {
      const row = await findInboxRow(q, params.id);
      if (!row) throw new NotFoundError('inbound webhook event', params.id);
      return serializeInboxRow(row, { payload: true });
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/webhook_inbox/{id}/replay',
    summary: 'Process an inbound webhook event again (by inbox id or gateway event id)',
    tag: 'Inbound webhooks',
    scope: 'admin',
    params: z.object({ id: z.string().min(1) }),
    handler: async ({ q, params, now }) => {
      const ids = await markForReplay(q, { id: params.id }, now);
      if (ids.length === 0) throw new NotFoundError('inbound webhook event', params.id);
      return { object: 'list', data: ids, has_more: false };
    },
  });
  r.route({
    method: 'POST',
    url: '/v1/webhook_inbox/replay_failed',
    summary: 'Process every failed and dead-lettered inbound webhook event again',
    tag: 'Inbound webhooks',
    scope: 'admin',
    handler: async ({ q, now }) => ({ object: 'list', data: await markForReplay(q, { failed: true }, now), has_more: false }),
  });
}
