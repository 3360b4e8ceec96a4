import { z } from 'zod';
import type { AnyRouteDef } from './router.js';
import { zErrorBody } from './schemas.js';

type Def = { type: string; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/**
 * zInt() and its kin are z.preprocess(…) pipes (form bodies send numbers as strings). Rendered as
 * input, zod shows the first stage only — the bounds of a later .pipe(min…max) are lost — and counts
 * the field as optional, since a preprocess accepts undefined. Such a chain is documented as its
 * last stage, and a field is required unless it is optional or defaulted.
 */
function isPreprocessChain(s: z.ZodType): boolean {
  let cur = defOf(s);
  while (cur.type === 'pipe' && cur.in) {
    if (defOf(cur.in).type === 'transform') return true;
    cur = defOf(cur.in);
  }
  return false;
}

function lastStage(s: z.ZodType): z.ZodType {
  let cur = s;
  while (defOf(cur).type === 'pipe') cur = defOf(cur).out!;
  return cur;
}

function isOptionalInput(s: z.ZodType): boolean {
  const d = defOf(s);
  if (d.type === 'optional' || d.type === 'default' || d.type === 'prefault') return true;
  if (d.type === 'pipe') return isPreprocessChain(s) ? isOptionalInput(lastStage(s)) : isOptionalInput(d.in!);
  return false;
}

/** Requests are documented as what clients send (io: input), responses as what we return. */
function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      if (io !== 'input') return;
      const zs = ctx.zodSchema as unknown as z.ZodType;
      const d = defOf(zs);
      if (d.type === 'pipe' && isPreprocessChain(zs)) {
        const { $schema: _drop, ...last } = toSchema(lastStage(zs), 'output');
        for (const k of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[k];
        Object.assign(ctx.jsonSchema, last);
      } else if (d.type === 'object' && d.shape) {
        const required = Object.entries(d.shape).filter(([, v]) => !isOptionalInput(v)).map(([k]) => k);
        if (required.length) (ctx.jsonSchema as { required?: string[] }).required = required;
        else delete (ctx.jsonSchema as { required?: string[] }).required;
      }
    },
  }) as Record<string, unknown>;
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
