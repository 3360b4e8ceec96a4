import { z } from 'zod';
import type { AnyRouteDef } from './router.js';
import { zErrorBody } from './schemas.js';

/** Requests are documented as what clients send (io: input), responses as what we return. */
function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
}

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(defs: AnyRouteDef[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = { description: 'Error', content: { 'application/json': { schema: toSchema(zErrorBody) } } };
  for (const def of defs) {
    const parameters: unknown[] = [];
    const addParams = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
      if (!schema) return;
      const js = toSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    };
    addParams(def.params, 'path');
    addParams(def.query, 'query');
    const op: Record<string, unknown> = {
      summary: def.summary,
      tags: [def.tag],
      parameters,
      responses: {
        '200': { description: 'OK', ...(def.response ? { content: { 'application/json': { schema: toSchema(def.response) } } } : {}) },
        '4XX': errorResponse,
      },
      ...(def.scope ? { security: [{ bearerAuth: [] }] } : {}),
    };
    if (def.body) {
      const schema = toSchema(def.body, 'input');
      op.requestBody = { content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } } };
    }
    if (def.method !== 'GET' && def.scope) {
      parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } });
    }
    (paths[def.url] ??= {})[def.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Recur API', version, description: 'Billing and revenue engine with a Stripe-shaped API.' },
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
