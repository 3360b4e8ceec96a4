import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';
import type { Clock } from './core/time/index.js';
import type { Db } from './db/index.js';
import type { Authenticator, RateLimiter } from './http/auth.js';
import type { Metrics } from './http/metrics.js';
import type { Gateways } from './modules/payments/gateway.js';
import type { Notifier } from './modules/notifications/channels.js';

/** Everything a request or job needs, passed explicitly: no module-level singletons. */
export interface AppDeps {
  db: Db;
  clock: Clock;
  config: Config;
  logger: FastifyBaseLogger;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  metrics: Metrics;
  gateways: Gateways;
  /** Email and SMS transports (SMTP/Twilio, or the outbox) and the optional personaliser. */
  notifier: Notifier;
}
