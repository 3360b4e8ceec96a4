import { loadPaymentsConfig, type PaymentsConfig } from './modules/payments/config.js';
import { loadCreditsConfig, type CreditsConfig } from './modules/credits/config.js';
import { loadTaxConfig, type TaxConfig } from './modules/taxes/config.js';
import { loadDocumentsConfig, type DocumentsConfig } from './modules/documents/config.js';
import { envBool, envInt } from './core/env/index.js';

// Every setting Recur reads from the environment, with its default. The README's configuration
// table mirrors this file (gateway, routing, fraud and inbound-webhook settings: modules/payments/config.ts).

export interface Config {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  dbPoolSize: number;
  rateLimit: number;
  logLevel: string;
  worker: boolean;
  seed: boolean;
  bodyLimit: number;
  /** Seconds a renewal invoice stays draft before it is finalised and charged (Stripe: 1 hour). */
  finalizeDelaySeconds: number;
  /**
   * Whether the worker's finalisation (a renewal finalised at once, or the finalisation pass) also makes the first
   * automatic charge in its transaction, writing each invoice once, paid (ADR 0008). Unset: on PGlite, where a
   * transaction already excludes every other; off on PostgreSQL, where it would keep the batch's customers (and a
   * renewal's subscriptions) locked during the gateway calls.
   */
  chargeOnFinalize?: boolean;
  /** Rows a worker claims per batch. */
  workerBatchSize: number;
  /** Worker loops per process (PostgreSQL; PGlite runs one). */
  workerConcurrency: number;
  /** Dunning and customer notifications (email, SMS, pay links, personalisation). */
  notifications: NotificationConfig;
  /** Gateways (Stripe, PayPal), routing, fraud rules, inbound webhooks. */
  payments: PaymentsConfig;
  /** Credits and usage: overage, low-balance thresholds, usage event time window, request coalescing. */
  credits: CreditsConfig;
  /** Tax: seller location, US nexus, missing-address fallback (modules/taxes/config.ts). */
  tax: TaxConfig;
  /** Seller details, bank transfer instructions and hosted invoice links on documents (modules/documents/config.ts). */
  documents: DocumentsConfig;
}

export interface NotificationConfig {
  /** smtp://user:pass@host:587 (or smtps://); unset: emails go to the outbox. */
  smtpUrl?: string;
  emailFrom: string;
  /** Who receives escalations (the business owner). */
  ownerEmail?: string;
  twilioAccountSid?: string;
  twilioAuthToken?: string;
  twilioFrom?: string;
  /** Twilio's API base URL (tests point it at a local server speaking Twilio's wire format). */
  twilioApiBaseUrl?: string;
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  openaiModel: string;
  /** Where hosted pages (/pay/…) and unsubscribe links point. */
  publicUrl: string;
  /** HMAC secret of pay links; unset: a random one is created once and kept in the database. */
  payLinkSecret?: string;
  payLinkTtlHours: number;
  /** IANA timezone for customers who set none. */
  defaultTimezone: string;
  /** Also write outbox messages as files here (default under `recur serve` on PGlite: next to the data folder). */
  outboxDir?: string;
  stripePublishableKey?: string;
}



export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: envInt(env, 'PORT', 3000),
    host: env.HOST || '0.0.0.0',
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.RECUR_DATA_DIR || './.recur/data',
    dbPoolSize: envInt(env, 'RECUR_DB_POOL_SIZE', 10),
    rateLimit: envInt(env, 'RECUR_RATE_LIMIT', 100),
    logLevel: env.RECUR_LOG_LEVEL || 'info',
    worker: envBool(env, 'RECUR_WORKER', true),
    seed: envBool(env, 'RECUR_SEED', true),
    bodyLimit: 1024 * 1024,
    finalizeDelaySeconds: envInt(env, 'RECUR_FINALIZE_DELAY_SECONDS', 3600),
    chargeOnFinalize: env.RECUR_CHARGE_ON_FINALIZE ? envBool(env, 'RECUR_CHARGE_ON_FINALIZE', false) : undefined,
    workerBatchSize: envInt(env, 'RECUR_WORKER_BATCH_SIZE', 500),
    workerConcurrency: envInt(env, 'RECUR_WORKER_CONCURRENCY', 1),
    notifications: {
      smtpUrl: env.SMTP_URL || undefined,
      emailFrom: env.RECUR_EMAIL_FROM || 'Recur Billing <billing@localhost>',
      ownerEmail: env.RECUR_OWNER_EMAIL || undefined,
      twilioAccountSid: env.TWILIO_ACCOUNT_SID || undefined,
      twilioAuthToken: env.TWILIO_AUTH_TOKEN || undefined,
      twilioFrom: env.TWILIO_FROM || undefined,
      twilioApiBaseUrl: env.TWILIO_API_BASE_URL || undefined,
      openaiApiKey: env.OPENAI_API_KEY || undefined,
      openaiBaseUrl: env.OPENAI_BASE_URL || undefined,
      openaiModel: env.RECUR_OPENAI_MODEL || 'gpt-4o-mini',
      publicUrl: (env.RECUR_PUBLIC_URL || `http://localhost:${env.PORT || 3000}`).replace(/\/+$/, ''),
      payLinkSecret: env.RECUR_PAY_LINK_SECRET || undefined,
      payLinkTtlHours: envInt(env, 'RECUR_PAY_LINK_TTL_HOURS', 30 * 24),
      defaultTimezone: env.RECUR_DEFAULT_TIMEZONE || 'UTC',
      outboxDir: env.RECUR_OUTBOX_DIR || undefined,
      stripePublishableKey: env.STRIPE_PUBLISHABLE_KEY || undefined,
    },
    payments: loadPaymentsConfig(env),
    credits: loadCreditsConfig(env),
    tax: loadTaxConfig(env),
    documents: loadDocumentsConfig(env),
  };
}

/** Defaults for in-process tests: no rate limit surprises, quiet logs. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), rateLimit: 0, logLevel: 'silent', worker: false, seed: false, ...overrides };
}
