import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import qs from 'qs';
import { AppError } from './core/errors/index.js';
import type { Config } from './config.js';
import type { Clock } from './core/time/index.js';
import type { Db } from './db/index.js';
import type { AppDeps } from './deps.js';
import { Authenticator, RateLimiter } from './http/auth.js';
import { requestLogSerializer } from './http/log-redaction.js';
import { Metrics } from './http/metrics.js';
import { heldCounts } from './jobs/holds.js';
import { buildOpenApi } from './http/openapi.js';
import { opsRoutes } from './http/ops.js';
import { Router } from './http/router.js';
import { apiKeyRoutes } from './modules/api-keys/routes.js';
import { catalogRoutes } from './modules/catalog/routes.js';
import { couponRoutes } from './modules/coupons/routes.js';
import { subscriptionScheduleRoutes } from './modules/subscription-schedules/routes.js';
import { creditRoutes } from './modules/credits/routes.js';
import { customerRoutes } from './modules/customers/routes.js';
import { eventRoutes } from './modules/events/routes.js';
import { invoiceRoutes } from './modules/invoices/routes.js';
import { subscriptionRoutes } from './modules/subscriptions/routes.js';
import { testClockRoutes } from './modules/test-clocks/routes.js';
import { dunningRoutes } from './modules/dunning/routes.js';
import { notifierFromConfig, type Notifier } from './modules/notifications/channels.js';
import { notificationRoutes, unsubscribeRoutes } from './modules/notifications/routes.js';
import { payPageRoutes } from './modules/pay-page/routes.js';
import { disputeRoutes, paymentIntentRoutes, paymentMethodRoutes, refundRoutes } from './modules/payments/routes.js';
import { setupIntentRoutes } from './modules/setup-intents/routes.js';
import { webhookInboxRoutes, webhookIngressRoutes } from './modules/webhooks/routes.js';
import { gatewaysOf, type Gateways } from './modules/payments/gateway.js';
import { SimulatedGateway } from './modules/payments/simulated-gateway.js';
import { readFingerprintSecret } from './modules/payments/installation-secret.js';
import { taxRateRoutes } from './modules/taxes/routes.js';
import { creditNoteRoutes } from './modules/credit-notes/routes.js';
import { entitlementRoutes } from './modules/entitlements/routes.js';
import { documentRoutes, hostedInvoiceRoutes } from './modules/documents/routes.js';
import { searchRoutes } from './modules/search/routes.js';

export interface BuildAppOptions {
  db: Db;
  clock: Clock;
  config: Config;
  /**
   * Fastify logger options (level, stream, redact, …) in place of the defaults from the config. The
   * request serializer that keeps card data and secrets in query strings out of the log is always added.
   */
  logger?: LoggerOptions;
  /** Payment gateways; defaults to the built-in simulated gateway, keyed by the database's fingerprint secret. */
  gateways?: Gateways;
  /** Email/SMS transports; defaults to what the config describes (SMTP, Twilio) or the outbox. */
  notifier?: Notifier;
}

type LoggerOptions = Exclude<NonNullable<FastifyServerOptions['logger']>, boolean>;

// Stripe's bracket notation: items[0][price]=…, expand[]=…, metadata[k]=v — in bodies and queries.
const QS_OPTIONS = { arrayLimit: 1000, depth: 10, parameterLimit: 10_000, allowDots: false } as const;

export const API_VERSION = '0.1.0';

/** Builds the whole HTTP app around injected dependencies; no globals, so tests build many. */
export async function buildApp(opts: BuildAppOptions): Promise<{ app: FastifyInstance; deps: AppDeps }> {
  const logger: LoggerOptions = opts.logger ?? {
    level: opts.config.logLevel,
    // Never log secrets or card data: requests are logged by method and URL only, and these are cut.
    redact: ['req.headers.authorization', 'req.body.card', 'req.body.number', 'req.body.cvc'],
  };
  const app = Fastify({
    // The URL of every request line (Fastify's "incoming request", at info) goes through
    // requestLogSerializer: the values of query parameters such as card[number], card[cvc], *token*,
    // *secret* and anything shaped like a card number are [REDACTED], whatever logger options are given.
    logger: { ...logger, serializers: { ...logger.serializers, req: requestLogSerializer } },
    bodyLimit: opts.config.bodyLimit,
    routerOptions: { querystringParser: (str) => qs.parse(str, QS_OPTIONS) },
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 8)}`,
    requestIdHeader: 'x-request-id',
  });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, qs.parse(body as string, QS_OPTIONS));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  const deps: AppDeps = {
    db: opts.db,
    clock: opts.clock,
    config: opts.config,
    logger: app.log,
    authenticator: new Authenticator(opts.db),
    rateLimiter: new RateLimiter(opts.config.rateLimit),
    metrics: new Metrics({ heldRows: () => heldCounts(opts.db, opts.clock.now()) }),
    // The simulated gateway keys card fingerprints with this installation's secret (migration 0015). The
    // read starts now, before any request opens a transaction, and the first card tokenised awaits it.
    gateways: opts.gateways ?? gatewaysOf([new SimulatedGateway({ fingerprintSecret: readFingerprintSecret(opts.db), now: () => opts.clock.now() })]),
    notifier: opts.notifier ?? notifierFromConfig(opts.config.notifications),
  };

  app.addHook('onRequest', async (req, reply) => {
    reply.header('Request-Id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AppError) {
      // Stripe's SDKs retry 409s unless told not to. Business conflicts are 400s (ConflictError), and an
      // idempotency mismatch will not change on retry; a request still in flight under the same
      // Idempotency-Key is the one 409 worth retrying.
      const retryable = err.status === 429 || err.status >= 500 || (err.type === 'idempotency_error' && /still being processed/.test(err.message));
      if (err.status < 500) reply.header('Stripe-Should-Retry', retryable ? 'true' : 'false');
      reply.code(err.status).send(err.toJSON());
      return;
    }
    const e = err as { statusCode?: number; code?: string; message: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status < 500) {
      // Fastify's own client errors: malformed JSON, body too large, unsupported media type.
      const code = e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large' : e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : 'invalid_body';
      reply.code(status).send({ error: { type: 'invalid_request_error', code, message: e.message } });
      return;
    }
    req.log.error({ err }, 'unhandled error');
    reply.code(500).send({ error: { type: 'api_error', code: 'internal_error', message: 'An unexpected error occurred. It has been logged.' } });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: { type: 'invalid_request_error', code: 'route_not_found', message: `Unrecognized request URL (${req.method}: ${req.url.split('?')[0]}).` },
    });
  });

  const router = new Router(app, deps);
  apiKeyRoutes(router);
  customerRoutes(router);
  catalogRoutes(router);
  eventRoutes(router);
  paymentMethodRoutes(router);
  paymentIntentRoutes(router);
  setupIntentRoutes(router);
  couponRoutes(router);
  subscriptionScheduleRoutes(router);
  subscriptionRoutes(router);
  invoiceRoutes(router);
  testClockRoutes(router);
  refundRoutes(router);
  disputeRoutes(router);
  webhookInboxRoutes(router);
  dunningRoutes(router);
  notificationRoutes(router);
  creditRoutes(router);
  taxRateRoutes(router);
  creditNoteRoutes(router);
  entitlementRoutes(router);
  documentRoutes(router);
  searchRoutes(router);

  const openapi = buildOpenApi(router.defs, API_VERSION);
  app.get('/openapi.json', async () => openapi);
  await app.register((await import('@fastify/swagger')).default, { mode: 'static', specification: { document: openapi as never } });
  await app.register((await import('@fastify/swagger-ui')).default, { routePrefix: '/docs' });
  opsRoutes(app, deps);
  // Inbound gateway webhooks: public, verified by signature, raw body (a parser scoped to the plugin).
  await app.register(webhookIngressRoutes, { deps });
  // Hosted pages for customers: public (the signed token is the credential), HTML.
  payPageRoutes(app, deps);
  unsubscribeRoutes(app, deps);
  hostedInvoiceRoutes(app, deps);

  return { app, deps };
}
