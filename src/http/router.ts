import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError, PermissionError, AppError as RateError } from '../core/errors/index.js';
import { txWithRetry, type Queryable } from '../db/index.js';
import type { AppDeps } from '../deps.js';
import { SCOPE_RANK, type Scope } from '../modules/api-keys/service.js';
import type { AuthInfo } from './auth.js';
import { runInRequest } from '../core/context/index.js';
import { expandComputed, expandFetchers } from '../modules/expandable.js';
import { expandResponse } from './expand.js';
import { claimKey, requestHash, storeError, storeResponse, validateKey } from './idempotency.js';
import { rejectNul, toInvalidRequest } from './zod-errors.js';

// One way to declare a route: zod schemas for params/query/body (the single source of types and of
// the OpenAPI document), a scope, and a handler that receives parsed input and a Queryable.
// Mutations run in one transaction per request, with Idempotency-Key handled inside it.

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type AnyObject = z.ZodType<Record<string, unknown>>;

export interface HandlerContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  q: Queryable;
  deps: AppDeps;
  auth: AuthInfo | null;
  now: Date;
  req: FastifyRequest;
}

/** Return this from a handler to answer with a status other than 200 while still committing. */
export class Respond {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface RouteDef<P extends AnyObject, Q extends AnyObject, B extends AnyObject> {
  method: Method;
  url: string;
  summary: string;
  tag: string;
  /** Omit for public routes (health, hosted pages, inbound webhooks). */
  scope?: Scope;
  params?: P;
  query?: Q;
  body?: B;
  response?: z.ZodType;
  /** Default: mutations get a transaction, reads do not. */
  transaction?: boolean;
  handler: (ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>) => Promise<unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteDef = RouteDef<any, any, any>;

const empty = z.object({});

export class Router {
  readonly defs: AnyRouteDef[] = [];

  constructor(
    private readonly app: FastifyInstance,
    private readonly deps: AppDeps,
  ) {}

  route<P extends AnyObject = typeof empty, Q extends AnyObject = typeof empty, B extends AnyObject = typeof empty>(def: RouteDef<P, Q, B>): void {
    this.defs.push(def);
    const fastifyUrl = def.url.replace(/\{(\w+)\}/g, ':$1');
    this.app.route({
      method: def.method,
      url: fastifyUrl,
      handler: (req, reply) => this.handle(def, req, reply),
    });
  }

  private async handle(def: AnyRouteDef, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { deps } = this;
    const auth = def.scope ? await this.authorize(def.scope, req, reply) : null;

    rejectNul(req.params, req.query, req.body);
    const params = parseOrThrow(def.params ?? empty, req.params ?? {});
    const query = parseOrThrow(def.query ?? empty, req.query ?? {});
    const rawBody = req.body === undefined || req.body === null || req.body === '' ? {} : req.body;
    const body = def.method === 'GET' ? {} : parseOrThrow(def.body ?? empty, rawBody);

    const now = deps.clock.now();
    const mutation = def.method !== 'GET';
    const idemHeader = req.headers['idempotency-key'];
    const idemKey = mutation && auth && typeof idemHeader === 'string' ? idemHeader : null;
    if (idemKey !== null) validateKey(idemKey);
    const hash = idemKey ? requestHash(def.method, req.url.split('?')[0]!, rawBody, req.query) : '';

    const run = async (q: Queryable): Promise<{ status: number; body: unknown; headers: Record<string, string>; replayed: boolean }> => {
      if (idemKey && auth) {
        const stored = await claimKey(q, auth.keyId, idemKey, hash, now);
        if (stored) return { ...stored, headers: {}, replayed: true };
      }
      const out = await def.handler({ params, query, body, q, deps, auth, now, req });
      const res = out instanceof Respond ? { status: out.status, body: out.body, headers: out.headers } : { status: 200, body: out, headers: {} };
      // expand[] (query for GET and DELETE, body otherwise), inside the transaction and before the
      // response is stored for its Idempotency-Key, so a replay answers the same expanded body.
      const expand = (body as { expand?: string[] }).expand ?? (query as { expand?: string[] }).expand;
      if (expand?.length && res.status === 200) await expandResponse(q, res.body, expand, expandFetchers, now, expandComputed(deps.config));
      if (idemKey && auth) await storeResponse(q, auth.keyId, idemKey, res);
      return { ...res, replayed: false };
    };

    let result;
    const transactional = def.transaction ?? mutation;
    try {
      // A transaction PostgreSQL aborted for a deadlock with a worker or another request is run again.
      // The events the work writes name this request (Stripe's event.request).
      result = await runInRequest({ id: req.id, idempotencyKey: idemKey }, () => (transactional ? txWithRetry(deps.db, run) : run(deps.db)));
    } catch (err) {
      // Without a transaction the claimed key was committed before the work: release it.
      if (!transactional && idemKey && auth) {
        await deps.db.query(`DELETE FROM idempotency_keys WHERE api_key_id = $1 AND key = $2 AND status_code IS NULL`, [auth.keyId, idemKey]);
      }
      // A business error is the answer to this key too: record it so a retry gets the same one.
      if (idemKey && auth && err instanceof AppError && err.type !== 'idempotency_error' && err.status < 500) {
        await storeError(deps.db, auth.keyId, idemKey, hash, { status: err.status, body: err.toJSON() }, now);
      }
      throw err;
    }
    if (result.replayed) reply.header('Idempotent-Replayed', 'true');
    for (const [k, v] of Object.entries(result.headers)) reply.header(k, v);
    reply.code(result.status);
    return result.body;
  }

  private async authorize(scope: Scope, req: FastifyRequest, reply: FastifyReply): Promise<AuthInfo> {
    const nowMs = performance.timeOrigin + performance.now();
    const auth = await this.deps.authenticator.authenticate(req.headers.authorization, nowMs);
    const wait = this.deps.rateLimiter.take(auth.keyId, nowMs);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      throw new RateError(429, 'rate_limit_error', 'rate_limit', 'Too many requests hit the API too quickly. Retry after the delay in Retry-After.');
    }
    if (SCOPE_RANK[auth.scope] < SCOPE_RANK[scope]) {
      throw new PermissionError(`This API key has scope '${auth.scope}'; this request needs '${scope}'.`);
    }
    (req as FastifyRequest & { auth?: AuthInfo }).auth = auth;
    return auth;
  }
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const res = schema.safeParse(input);
  if (!res.success) throw toInvalidRequest(res.error, input);
  return res.data;
}
