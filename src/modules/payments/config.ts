import { z } from 'zod';
import { envBool, envInt, envNumber } from '../../core/env/index.js';

// Payment and inbound-webhook settings from the environment. src/config.ts embeds them as
// `config.payments`; the README's configuration table lists every variable read here.

/** A routing rule: when every given condition holds, try these gateways in this order. */
export const routingRuleSchema = z.strictObject({
  name: z.string().min(1),
  currencies: z.array(z.string().toLowerCase()).optional(),
  /** Customer country (ISO 3166-1 alpha-2); the card's country when the customer's is unknown. */
  countries: z.array(z.string().toUpperCase()).optional(),
  min_amount: z.number().int().min(0).optional(),
  max_amount: z.number().int().min(0).optional(),
  payment_method_types: z.array(z.string()).optional(),
  brands: z.array(z.string().toLowerCase()).optional(),
  gateways: z.array(z.string().min(1)).min(1),
});
export type RoutingRule = z.output<typeof routingRuleSchema>;

export interface StripeSettings {
  secretKey: string;
  publishableKey?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  timeoutMs: number;
  maxNetworkRetries: number;
}

export interface PayPalSettings {
  clientId: string;
  clientSecret: string;
  environment: 'sandbox' | 'production';
  /** Overrides the API host (tests, proxies): e.g. http://127.0.0.1:8080 */
  apiBase?: string;
  timeoutMs: number;
}

export interface FraudSettings {
  /** More failures than this for one payment method within an hour block it. */
  paymentMethodFailuresPerHour: number;
  customerFailuresPerHour: number;
  ipFailuresPerHour: number;
  /** How long a velocity or card-testing block lasts. */
  blockHours: number;
  /** Card testing: this many distinct cards in `cardTestingWindowMinutes`, each attempt ≤ the small amount. */
  cardTestingDistinctCards: number;
  cardTestingWindowMinutes: number;
  cardTestingSmallAmount: number;
  /** Card issued in another country than the billing address. */
  countryMismatch: 'allow' | 'review' | 'block';
}

export interface PaymentsConfig {
  stripe: StripeSettings | null;
  paypal: PayPalSettings | null;
  /** Gateways in default priority order (RECUR_GATEWAYS); defaults to the configured ones, else simulated. */
  gateways: string[];
  routingRules: RoutingRule[];
  /** Reorder eligible gateways by their rolling success rate (gateway × currency × card brand). */
  successRateRouting: boolean;
  /** Share of attempts that explore a gateway other than the best-rated one. */
  exploration: number;
  breakerFailureThreshold: number;
  breakerCooldownMs: number;
  fraud: FraudSettings;
  webhooks: {
    stripeSecrets: string[];
    paypalWebhookId: string | null;
    toleranceSeconds: number;
    maxAttempts: number;
    backoffBaseSeconds: number;
  };
}




function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function loadPaymentsConfig(env: NodeJS.ProcessEnv): PaymentsConfig {
  const stripe: StripeSettings | null = env.STRIPE_SECRET_KEY
    ? {
        secretKey: env.STRIPE_SECRET_KEY,
        publishableKey: env.STRIPE_PUBLISHABLE_KEY || undefined,
        host: env.STRIPE_API_HOST || undefined,
        port: env.STRIPE_API_PORT ? envInt(env, 'STRIPE_API_PORT', 443) : undefined,
        protocol: ((): 'http' | 'https' | undefined => {
          const p = env.STRIPE_API_PROTOCOL;
          if (!p) return undefined;
          if (p !== 'http' && p !== 'https') throw new Error(`STRIPE_API_PROTOCOL must be http or https, got '${p}'`);
          return p;
        })(),
        timeoutMs: envInt(env, 'STRIPE_TIMEOUT_MS', 30_000),
        maxNetworkRetries: envInt(env, 'STRIPE_MAX_NETWORK_RETRIES', 1),
      }
    : null;
  const paypal: PayPalSettings | null =
    env.PAYPAL_CLIENT_ID && env.PAYPAL_CLIENT_SECRET
      ? {
          clientId: env.PAYPAL_CLIENT_ID,
          clientSecret: env.PAYPAL_CLIENT_SECRET,
          environment: ((): 'sandbox' | 'production' => {
            const e = env.PAYPAL_ENVIRONMENT || 'sandbox';
            if (e !== 'sandbox' && e !== 'production') throw new Error(`PAYPAL_ENVIRONMENT must be sandbox or production, got '${e}'`);
            return e;
          })(),
          apiBase: env.PAYPAL_API_BASE || undefined,
          timeoutMs: envInt(env, 'PAYPAL_TIMEOUT_MS', 30_000),
        }
      : null;
  const configured = [...(stripe ? ['stripe'] : []), ...(paypal ? ['paypal'] : [])];
  const gateways = list(env.RECUR_GATEWAYS);
  const order = gateways.length ? gateways : configured.length ? configured : ['simulated'];
  for (const g of order) {
    if (g === 'stripe' && !stripe) throw new Error('RECUR_GATEWAYS names stripe but STRIPE_SECRET_KEY is not set');
    if (g === 'paypal' && !paypal) throw new Error('RECUR_GATEWAYS names paypal but PAYPAL_CLIENT_ID / PAYPAL_CLIENT_SECRET are not set');
    if (!['stripe', 'paypal', 'simulated'].includes(g)) throw new Error(`RECUR_GATEWAYS: unknown gateway '${g}' (stripe, paypal, simulated)`);
  }
  let routingRules: RoutingRule[] = [];
  if (env.RECUR_ROUTING_RULES) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.RECUR_ROUTING_RULES);
    } catch {
      throw new Error('RECUR_ROUTING_RULES must be a JSON array of rules');
    }
    const res = z.array(routingRuleSchema).safeParse(parsed);
    if (!res.success) throw new Error(`RECUR_ROUTING_RULES is invalid: ${res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    routingRules = res.data;
  }
  const countryMismatch = env.RECUR_FRAUD_COUNTRY_MISMATCH || 'review';
  if (!['allow', 'review', 'block'].includes(countryMismatch)) throw new Error(`RECUR_FRAUD_COUNTRY_MISMATCH must be allow, review or block`);
  return {
    stripe,
    paypal,
    gateways: order,
    routingRules,
    successRateRouting: envBool(env, 'RECUR_ROUTING_SUCCESS_RATE', true),
    exploration: envNumber(env, 'RECUR_ROUTING_EXPLORATION', 0.05, 0, 1),
    breakerFailureThreshold: envInt(env, 'RECUR_BREAKER_FAILURES', 5),
    breakerCooldownMs: envInt(env, 'RECUR_BREAKER_COOLDOWN_SECONDS', 30) * 1000,
    fraud: {
      paymentMethodFailuresPerHour: envInt(env, 'RECUR_FRAUD_PM_FAILURES_PER_HOUR', 5),
      customerFailuresPerHour: envInt(env, 'RECUR_FRAUD_CUSTOMER_FAILURES_PER_HOUR', 10),
      ipFailuresPerHour: envInt(env, 'RECUR_FRAUD_IP_FAILURES_PER_HOUR', 20),
      blockHours: envInt(env, 'RECUR_FRAUD_BLOCK_HOURS', 24),
      cardTestingDistinctCards: envInt(env, 'RECUR_FRAUD_CARD_TESTING_CARDS', 4),
      cardTestingWindowMinutes: envInt(env, 'RECUR_FRAUD_CARD_TESTING_MINUTES', 60),
      cardTestingSmallAmount: envInt(env, 'RECUR_FRAUD_CARD_TESTING_AMOUNT', 500),
      countryMismatch: countryMismatch as FraudSettings['countryMismatch'],
    },
    webhooks: {
      stripeSecrets: list(env.STRIPE_WEBHOOK_SECRETS),
      paypalWebhookId: env.PAYPAL_WEBHOOK_ID || null,
      toleranceSeconds: envInt(env, 'STRIPE_WEBHOOK_TOLERANCE_SECONDS', 300),
      maxAttempts: envInt(env, 'RECUR_WEBHOOK_MAX_ATTEMPTS', 8),
      backoffBaseSeconds: envInt(env, 'RECUR_WEBHOOK_BACKOFF_SECONDS', 30),
    },
  };
}
