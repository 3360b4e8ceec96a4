import { z } from 'zod';
import { toUnix } from '../../core/time/index.js';
import { listObject } from '../../http/pagination.js';
import type { Router } from '../../http/router.js';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyRow } from './service.js';

const apiKeyObject = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  name: z.string(),
  scope: z.enum(['read', 'write', 'admin']),
  redacted: z.string(),
  created: z.number().int(),
  revoked: z.number().int().nullable(),
});

export function serializeApiKey(k: ApiKeyRow) {
  return {
    id: k.id,
    object: 'api_key' as const,
    name: k.name,
    scope: k.scope,
    redacted: `sk_…${k.last4}`,
    created: toUnix(new Date(k.created)),
    revoked: k.revoked_at ? toUnix(new Date(k.revoked_at)) : null,
  };
}

/** API keys are managed by admin-scoped keys (and by `recur keys` on the server's machine). */
export function apiKeyRoutes(r: Router): void {
  r.route({
    method: 'POST',
    url: '/v1/api_keys',
    summary: 'Create an API key (the secret is returned once)',
    tag: 'API keys',
    scope: 'admin',
    body: z.strictObject({ name: z.string().min(1).max(100), scope: z.enum(['read', 'write', 'admin']).default('write') }),
    response: apiKeyObject.extend({ secret: z.string() }),
    handler: async ({ q, now, body }) => {
      const { key, secret } = await createApiKey(q, body, now);
      return { ...serializeApiKey(key), secret };
    },
  });
  r.route({
    method: 'GET',
    url: '/v1/api_keys',
    summary: 'List API keys',
    tag: 'API keys',
    scope: 'admin',
    response: z.object({ object: z.literal('list'), data: z.array(apiKeyObject) }),
    handler: async ({ q }) => listObject('/v1/api_keys', (await listApiKeys(q)).map(serializeApiKey), false),
  });
  r.route({
    method: 'POST',
    url: '/v1/api_keys/{id}/revoke',
    summary: 'Revoke an API key',
    tag: 'API keys',
    scope: 'admin',
    params: z.object({ id: z.string() }),
    response: apiKeyObject,
    handler: async ({ q, now, params, deps }) => {
      const key = await revokeApiKey(q, params.id, now);
      deps.authenticator.forget();
      return serializeApiKey(key);
    },
  });
}
