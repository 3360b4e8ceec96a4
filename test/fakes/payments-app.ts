import type { FastifyInstance, InjectOptions } from 'fastify';
import Stripe from 'stripe';
import { buildApp } from '../../src/app.js';
import { testConfig, type Config } from '../../src/config.js';
import { toUnix } from '../../src/core/time/index.js';
import { ManualClock } from '../../src/core/time/index.js';
import type { AppDeps } from '../../src/deps.js';
import { createApiKey } from '../../src/modules/api-keys/service.js';
import { loadPaymentsConfig } from '../../src/modules/payments/config.js';
import { buildGateways } from '../../src/modules/payments/gateways-from-config.js';
import { readFingerprintSecret } from '../../src/modules/payments/installation-secret.js';
import type { GatewayRouter } from '../../src/modules/payments/router.js';
import { processInbox } from '../../src/modules/webhooks/jobs.js';
import { openTestDb, type TestDb } from '../helpers/db.js';
import { PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID, startFakePayPal, type FakePayPal } from './paypal-server.js';
import { STRIPE_TEST_KEY, startFakeStripe, type FakeStripe } from './stripe-server.js';

// A whole Recur app whose gateways are the real Stripe and PayPal adapters (official SDKs) pointed at
// the local fake Stripe and PayPal servers, routed by the router — configured exactly as a deployment
// would be, through the environment variables.

export const WEBHOOK_SECRETS = ['whsec_previous_0123456789abcdef', 'whsec_current_fedcba9876543210'];

export interface PaymentsTestApp {
  app: FastifyInstance;
  deps: AppDeps;
  clock: ManualClock;
  testDb: TestDb;
  stripe: FakeStripe;
  paypal: FakePayPal;
  router: GatewayRouter;
  config: Config;
  key: string;
  call: (opts: InjectOptions & { key?: string | null }) => Promise<{ status: number; body: any; headers: Record<string, unknown> }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A Stripe-Signature header for `payload` at the app's clock time (the official SDK's helper). */
  stripeSignature: (payload: string, opts?: { secret?: string; timestamp?: number }) => string;
  /** Runs the inbox worker until nothing is due. */
  drainInbox: () => Promise<number>;
  close: () => Promise<void>;
}

export async function createPaymentsTestApp(opts: { env?: Record<string, string>; start?: string } = {}): Promise<PaymentsTestApp> {
  const [stripe, paypal] = await Promise.all([startFakeStripe(), startFakePayPal()]);
  const env: Record<string, string> = {
    STRIPE_SECRET_KEY: STRIPE_TEST_KEY,
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(stripe.port),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_MAX_NETWORK_RETRIES: '0',
    STRIPE_TIMEOUT_MS: '2000',
    STRIPE_WEBHOOK_SECRETS: WEBHOOK_SECRETS.join(','),
    PAYPAL_CLIENT_ID,
    PAYPAL_CLIENT_SECRET,
    PAYPAL_API_BASE: paypal.url,
    PAYPAL_WEBHOOK_ID,
    PAYPAL_TIMEOUT_MS: '2000',
    RECUR_GATEWAYS: 'stripe,paypal',
    RECUR_ROUTING_EXPLORATION: '0',
    ...opts.env,
  };
  const payments = loadPaymentsConfig(env);
  const config = testConfig({ payments });
  const testDb = await openTestDb();
  const clock = new ManualClock(opts.start ?? '2026-03-02T10:00:00Z');
  const gateways = buildGateways(payments, clock, await readFingerprintSecret(testDb.db));
  const { app, deps } = await buildApp({ db: testDb.db, clock, config, gateways });
  await app.ready();
  const key = (await createApiKey(testDb.db, { name: 'test-admin', scope: 'admin' }, clock.now())).secret;
  const sdk = new Stripe(STRIPE_TEST_KEY);
  const call: PaymentsTestApp['call'] = async ({ key: k, headers, ...rest }) => {
    const auth = k === null ? {} : { authorization: `Bearer ${k ?? key}` };
    const res = await app.inject({ ...rest, headers: { ...auth, ...(headers ?? {}) } } as InjectOptions);
    let body: unknown = res.body;
    try {
      body = JSON.parse(res.body);
    } catch {
      /* not JSON */
    }
    return { status: res.statusCode, body, headers: res.headers as Record<string, unknown> };
  };
  return {
    app,
    deps,
    clock,
    testDb,
    stripe,
    paypal,
    router: gateways as GatewayRouter,
    config,
    key,
    call,
    stripeSignature: (payload, o = {}) =>
      sdk.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? WEBHOOK_SECRETS[1]!, timestamp: o.timestamp ?? toUnix(clock.now()) }),
    drainInbox: async () => {
      let total = 0;
      for (;;) {
        const n = await processInbox(testDb.db, deps, clock.now(), 100);
        total += n;
        if (n === 0) return total;
      }
    },
    close: async () => {
      await app.close();
      await testDb.close();
      await Promise.all([stripe.stop(), paypal.stop()]);
    },
  };
}

/** Inserts an open invoice to pay (the invoicing engine is exercised elsewhere). */
export async function openInvoice(t: Pick<PaymentsTestApp, 'testDb' | 'clock'>, customer: string, amount: number, currency = 'usd'): Promise<string> {
  const id = `in_test${Math.random().toString(36).slice(2, 12)}`;
  const now = t.clock.now();
  await t.testDb.db.query(
    `INSERT INTO invoices (id, customer, status, number, series, currency, billing_reason, period_start, period_end, total, amount_due, amount_remaining, created, updated)
     VALUES ($1, $2, 'open', $3, 'TEST', $4, 'manual', $5, $5, $6, $6, $6, $5, $5)`,
    [id, customer, `TEST-${id}`, currency, now, amount],
  );
  return id;
}
