import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AppDeps } from '../../deps.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { listQuery, zBool, zNullableText } from '../../http/schemas.js';
import { linkSecret, verifyToken, type UnsubscribeToken } from './links.js';
import {
  createTemplate,
  getMessage,
  getPreferences,
  getTemplateRow,
  listMessages,
  listTemplates,
  previewTemplate,
  serializeTemplate,
  unsubscribe,
  updatePreferences,
  updateTemplate,
} from './service.js';
import { escapeHtml } from './templates.js';

const idParams = z.object({ id: z.string().min(1) });

const templateFields = {
  description: zNullableText(1000).optional(),
  essential: zBool().optional(),
  category: z.string().min(1).max(100).regex(/^[a-z0-9_]+$/).optional(),
  subject: zNullableText(1000).optional(),
  html: zNullableText(100_000).optional(),
  text: z.string().min(1).max(50_000).optional(),
  required_lines: z.array(z.string().max(1000)).max(20).optional(),
  personalize: zBool().optional(),
};

export function notificationRoutes(r: Router): void {
  const tag = 'Notifications';
  r.route({
    method: 'GET',
    url: '/v1/notification_messages',
    summary: 'List messages (every email and SMS, sent, in the outbox, failed or suppressed)',
    tag,
    scope: 'read',
    query: z.strictObject({
      ...listQuery,
      customer: z.string().optional(),
      channel: z.enum(['email', 'sms']).optional(),
      status: z.enum(['queued', 'sending', 'sent', 'outbox', 'failed', 'suppressed']).optional(),
      template: z.string().optional(),
      campaign: z.string().optional(),
    }),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listMessages(q, { customer: query.customer, channel: query.channel, status: query.status, template: query.template, campaign: query.campaign }, query);
      return listObject('/v1/notification_messages', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/notification_messages/{id}',
    summary: 'Retrieve a message',
    tag,
    scope: 'read',
    params: idParams,
    handler: ({ q, params }) => getMessage(q, params.id),
  });
  r.route({
    method: 'GET',
    url: '/v1/notification_templates',
    summary: 'List templates',
    tag,
    scope: 'read',
    query: z.strictObject({ ...listQuery, key: z.string().optional(), locale: z.string().optional() }),
    handler: async ({ q, query }) => {
      const { data, hasMore } = await listTemplates(q, { key: query.key, locale: query.locale }, query);
      return listObject('/v1/notification_templates', data, hasMore);
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/notification_templates/{id}',
    summary: 'Retrieve a template',
    tag,
    scope: 'read',
    params: idParams,
    handler: async ({ q, params }) => serializeTemplate(await getTemplateRow(q, params.id)),
  });
  r.route({
    method: 'POST',
    url: '/v1/notification_templates',
    summary: 'Create a template (a new locale of a key, or a new key)',
    tag,
    scope: 'admin',
    body: z.strictObject({
      key: z.string().min(1).max(100).regex(/^[a-z0-9_]+$/),
      locale: z.string().min(2).max(20),
      channel: z.enum(['email', 'sms']),
      ...templateFields,
      text: z.string().min(1).max(50_000),
    }),
    handler: ({ q, now, body }) => createTemplate(q, now, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/notification_templates/{id}',
    summary: 'Update a template (Handlebars; checked to compile)',
    tag,
    scope: 'admin',
    params: idParams,
    body: z.strictObject(templateFields),
    handler: ({ q, now, params, body }) => updateTemplate(q, now, params.id, body),
  });
  r.route({
    method: 'POST',
    url: '/v1/notification_templates/{id}/preview',
    summary: 'Render a template with sample variables (any given variable replaces its sample); writes nothing',
    tag,
    scope: 'read',
    params: idParams,
    body: z.strictObject({ variables: z.record(z.string(), z.string()).optional() }),
    transaction: false,
    handler: ({ q, params, body }) => previewTemplate(q, params.id, body.variables),
  });
  r.route({
    method: 'GET',
    url: '/v1/customers/{id}/notification_preferences',
    summary: 'A customer’s timezone, locale and unsubscribed categories',
    tag,
    scope: 'read',
    params: idParams,
    handler: ({ q, params }) => getPreferences(q, params.id),
  });
  r.route({
    method: 'POST',
    url: '/v1/customers/{id}/notification_preferences',
    summary: 'Set a customer’s timezone (IANA; used for quiet hours and dates), locale and unsubscribed categories',
    tag,
    scope: 'write',
    params: idParams,
    body: z.strictObject({
      timezone: zNullableText(100).optional(),
      locale: zNullableText(20).optional(),
      unsubscribed: z.array(z.string().min(1).max(100)).max(50).optional(),
    }),
    handler: ({ q, now, params, body }) => updatePreferences(q, now, params.id, body),
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f3f4f6;color:#111827;margin:0}main{max-width:480px;margin:48px auto;background:#fff;padding:32px;border-radius:8px}button{padding:10px 18px;background:#111827;color:#fff;border:0;border-radius:6px;font-size:15px}</style>
</head><body><main>${body}</main></body></html>`;
}

/** The public unsubscribe page: GET shows a button (link scanners must not unsubscribe anyone), POST unsubscribes (also RFC 8058 one-click). */
export function unsubscribeRoutes(app: FastifyInstance, deps: AppDeps): void {
  const check = async (token: string) => {
    const secret = await linkSecret(deps.db, deps.config.notifications, deps.clock.now());
    return verifyToken<UnsubscribeToken>(secret, token);
  };
  // Wildcards: signed tokens are longer than Fastify's path-parameter limit.
  app.get<{ Params: { '*': string } }>('/notifications/unsubscribe/*', async (req, reply) => {
    reply.type('text/html; charset=utf-8');
    const t = await check(req.params['*']);
    if (!t.ok) return reply.code(400).send(page('Link not valid', '<h1>This link is not valid</h1><p>It may have been copied incompletely.</p>'));
    const action = `/notifications/unsubscribe/${encodeURIComponent(req.params['*'])}`;
    return page('Unsubscribe', `<h1>Unsubscribe</h1><p>Stop receiving <strong>${escapeHtml(t.payload.k.replace(/_/g, ' '))}</strong> messages? Billing notices (receipts, failed payments) still reach you.</p><form method="post" action="${action}"><button type="submit">Unsubscribe</button></form>`);
  });
  app.post<{ Params: { '*': string } }>('/notifications/unsubscribe/*', async (req, reply) => {
    reply.type('text/html; charset=utf-8');
    const t = await check(req.params['*']);
    if (!t.ok) return reply.code(400).send(page('Link not valid', '<h1>This link is not valid</h1>'));
    await deps.db.tx((q) => unsubscribe(q, deps.clock.now(), t.payload.c, t.payload.k));
    return page('Unsubscribed', '<h1>You are unsubscribed</h1><p>You will not receive these messages any more.</p>');
  });
}
